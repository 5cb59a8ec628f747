"""Cover pictures and attachments of an input, carried into a video output where its
container holds them, and said where it does not.

A song, a podcast or a video may carry cover art: an attached picture, which FFmpeg shows as
a video stream of one still image (never the video itself, see `reader.video_stream`).
MP4 keeps it as cover art; Matroska keeps it, and any other attachment (subtitle fonts), as an
attachment. WebM and MOV hold neither, so what is left out is said in one line.
"""

from __future__ import annotations

import logging

import av

from rtseg.io.location import Location
from rtseg.io.video.reader import is_cover, open_media

log = logging.getLogger(__name__)

# How each output format (FFmpeg's muxer name) keeps a cover: as an attached-picture stream,
# or as an attachment. Formats not named keep none.
COVER_STREAM_FORMATS = {"mp4"}
ATTACHMENT_FORMATS = {"matroska"}
# Pictures by codec: their MIME type and file suffix, for an attachment named as Matroska's
# cover art is (`cover.jpg`).
PICTURES = {
    "mjpeg": ("image/jpeg", ".jpg"),
    "png": ("image/png", ".png"),
    "bmp": ("image/bmp", ".bmp"),
}


def carry_covers(
    media: Location, source: av.container.InputContainer, output: av.container.OutputContainer
) -> list[tuple[av.Packet, av.stream.Stream]]:
    """Add the covers and attachments of `source` (opened from `media`) to `output`, before
    its header is written.

    Returns the cover packets still to be muxed, each with the output stream it goes to
    (attachments are written with the header)."""
    covers = [s for s in source.streams.video if is_cover(s)]
    attachments = list(source.streams.attachments)
    if not covers and not attachments:
        return []
    pictures = _pictures(media, {s.index for s in covers})
    kind = output.format.name
    to_mux: list[tuple[av.Packet, av.stream.Stream]] = []
    left: list[str] = []
    for stream in covers:
        packet = pictures.get(stream.index)
        codec = stream.codec_context.name
        if packet is not None and kind in COVER_STREAM_FORMATS and codec in output.supported_codecs:
            target = output.add_stream_from_template(stream)
            target.disposition = av.stream.Disposition.attached_pic
            to_mux.append((packet, target))
        elif packet is not None and kind in ATTACHMENT_FORMATS:
            mime, suffix = PICTURES.get(codec, (f"image/{codec}", f".{codec}"))
            name = stream.metadata.get("filename") or f"cover{len(to_mux) or ''}{suffix}"
            output.add_attachment(name, stream.metadata.get("mimetype") or mime, bytes(packet))
        else:
            left.append("cover picture")
    for attachment in attachments:
        if kind in ATTACHMENT_FORMATS:
            output.add_attachment(attachment.name, attachment.mimetype, bytes(attachment.data))
        else:
            left.append(f"attachment {attachment.name}")
    if left:
        log.warning(
            "%s: its %s left out: %s holds no covers or attachments (.mkv keeps both, "
            ".mp4 covers)",
            media, " and ".join(left), output.format.name,
        )  # fmt: skip
    return to_mux


def _pictures(media: Location, covers: set[int]) -> dict[int, av.Packet]:
    """The picture of each cover stream (by index), read from a container of its own so the
    caller's demuxing is left where it is. FFmpeg hands attached pictures out ahead of every
    other packet, so reading stops at the first packet of another stream."""
    found: dict[int, av.Packet] = {}
    if not covers:
        return found
    with open_media(media) as container:
        for packet in container.demux():
            if packet.stream.index not in covers:
                break
            if packet.size:
                found[packet.stream.index] = packet
    return found
