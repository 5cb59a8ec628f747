"""The input's audio, carried into a video output: every track, at its own time.

Packets are copied as they are when the output container can hold their codec, and decoded
and re-encoded (AAC or Opus) only when it cannot. Timestamps are shifted by the same origin
the video frames were (`media_origin`), so sound and picture keep their offset, and the audio
is cut where the written video ends, so a stopped or `--max-frames` run stays in sync.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

from rtseg.errors import RtsegError
from rtseg.io.location import Location
from rtseg.io.video.covers import carry_covers
from rtseg.io.video.reader import media_origin, open_media
from rtseg.io.video.timeline import TS_DISCONT, timeline

log = logging.getLogger(__name__)

# What a track says about itself, kept on its copy: its language, its title (MP4 reads it
# back as `name`) and the handler name MP4 players may show. Muxers write the rest
# (encoder, duration) themselves.
KEPT_TAGS = ("language", "title", "handler_name")
# QuickTime (.mov) stores a language as one of Apple's codes, which FFmpeg looks up by the
# ISO 639-2 "B" spelling; the "T" spelling other files use (deu) would be dropped there.
QUICKTIME_LANGUAGES = {
    "deu": "ger", "fra": "fre", "nld": "dut", "zho": "chi", "ces": "cze", "ell": "gre",
    "fas": "per", "hye": "arm", "isl": "ice", "kat": "geo", "mkd": "mac", "mri": "mao",
    "msa": "may", "mya": "bur", "ron": "rum", "slk": "slo", "sqi": "alb", "bod": "tib",
    "cym": "wel", "eus": "baq",
}  # fmt: skip
# Bit rate for audio that has to be re-encoded, by encoder.
AUDIO_BIT_RATES = {"aac": 160_000, "libopus": 128_000}


def _encoder_rate(encoder: str, rate: int) -> int:
    """`rate` if the encoder takes it, else the nearest it takes at or above (Opus: 48 kHz)."""
    rates = av.codec.Codec(encoder, "w").audio_rates
    if not rates or rate in rates:
        return rate
    return min((r for r in rates if r >= rate), default=max(rates))


def _known_layout(layout: av.AudioLayout) -> av.AudioLayout:
    """`layout`, or where the file does not say which channel is which (stereo PCM in AVI
    from webcams and capture cards), FFmpeg's default layout for as many channels, the guess
    FFmpeg's own tools make; encoders refuse a layout without channel names."""
    if any(channel.name == "NONE" for channel in layout.channels):
        return av.AudioLayout(f"{layout.nb_channels}c")
    return layout


def _describe_like(target: av.stream.Stream, source: av.stream.Stream, muxer: str) -> None:
    """Give `target` (in a file of FFmpeg's format `muxer`) the language, title and flags
    (default, forced, commentary...) of `source`, so a player offers the tracks as the input
    did."""
    tags = dict(source.metadata)
    if "title" not in tags and "name" in tags:
        tags["title"] = tags["name"]
    if muxer == "mov" and "language" in tags:
        tags["language"] = QUICKTIME_LANGUAGES.get(tags["language"], tags["language"])
    for key in KEPT_TAGS:
        if tags.get(key):
            target.metadata[key] = tags[key]
    target.disposition = source.disposition


class _Track:
    """One input audio stream and where it goes in the output: a copy or an encoder."""

    def __init__(self, source: av.audio.AudioStream, target: av.stream.Stream, copy: bool):
        self.source = source
        self.target = target
        self.copy = copy
        self.end: int | None = None  # where the last packet muxed ends, in its time base


class AudioTracks:
    """Every audio track of `media`, muxed into an output alongside its video.

    Call `add_to(output, encoder)` before the output's first packet, then `write_until(t)`
    as the video advances (keeps the two interleaved) and `finish(end)` once it has ended.
    """

    def __init__(self, media: Location | Path | str) -> None:
        media = Location.of(media)
        if not media.is_remote and not media.path.is_file():
            raise RtsegError(f"audio source {media} does not exist")
        self._media = media
        self._input = open_media(media, "audio")
        self._streams = list(self._input.streams.audio)
        self._origin = media_origin(self._input)
        self._timeline = timeline(self._input)  # recordings joined with `cat`
        self._tracks: dict[int, _Track] = {}
        self._pending: av.Packet | None = None
        self._packets: Iterator[av.Packet] | None = None
        self._output: av.container.OutputContainer | None = None
        self.damaged = 0  # audio packets that could not be decoded for re-encoding
        others = [s for s in self._input.streams if s.type not in ("video", "audio", "attachment")]
        if others:
            kinds = ", ".join(sorted({s.type for s in others}))
            log.warning(
                "%s: %d %s track(s) not carried into the output (rtseg writes video and audio)",
                media, len(others), kinds,
            )  # fmt: skip

    def add_to(self, output: av.container.OutputContainer, encoder: str) -> None:
        """Add an output stream per track: a copy if `output` can hold the codec, else
        `encoder` (its name as FFmpeg knows it, e.g. `aac`)."""
        self._output = output
        for stream in self._streams:
            try:
                self._add_track(output, stream, encoder)
            except (av.FFmpegError, ValueError) as exc:
                raise RtsegError(
                    f"cannot carry audio track {stream.index} ({stream.codec_context.name}) "
                    f"into {output.format.name}: {exc}"
                ) from exc
        for packet, target in carry_covers(self._media, self._input, output):
            packet.stream = target
            output.mux(packet)
        if self._streams:
            self._packets = self._input.demux(*self._streams)

    def _add_track(
        self, output: av.container.OutputContainer, stream: av.audio.AudioStream, encoder: str
    ) -> None:
        codec = stream.codec_context.codec.canonical_name
        if codec in output.supported_codecs:
            target = output.add_stream_from_template(stream)
            target.codec_context.layout = _known_layout(stream.codec_context.layout)
            self._tracks[stream.index] = _Track(stream, target, copy=True)
            _describe_like(target, stream, output.format.name)
            return
        target = output.add_stream(encoder, rate=_encoder_rate(encoder, stream.sample_rate))
        target.layout = _known_layout(stream.codec_context.layout)
        target.bit_rate = AUDIO_BIT_RATES.get(encoder, 128_000)
        self._tracks[stream.index] = _Track(stream, target, copy=False)
        _describe_like(target, stream, output.format.name)
        log.info(
            "audio track %d (%s) re-encoded as %s: %s cannot hold %s",
            stream.index, codec, target.codec_context.name, output.format.name, codec,
        )  # fmt: skip

    def _start_s(self, packet: av.Packet) -> Fraction | None:
        stamp = packet.pts if packet.pts is not None else packet.dts
        if stamp is None or packet.time_base is None:
            return None
        return stamp * packet.time_base - self._origin

    def _next(self) -> av.Packet | None:
        if self._pending is None and self._packets is not None:
            try:
                self._pending = next(self._packets)
            except (StopIteration, av.FFmpegError):  # the end, or a file cut short
                self._packets = None
            else:
                self._timeline.shift(self._pending)
        return self._pending

    def write_until(self, end_s: Fraction) -> None:
        """Mux every packet that starts before `end_s` (seconds from the origin)."""
        while (packet := self._next()) is not None:
            start = self._start_s(packet)
            if start is not None and start >= end_s:
                return
            self._pending = None
            if packet.size == 0 or start is None:
                continue  # a flush marker, or a packet with no time to place it at
            self._mux(packet)

    def _mux(self, packet: av.Packet) -> None:
        track = self._tracks[packet.stream.index]
        if packet.dts is not None:
            # Where joined recordings meet (`rtseg.io.video.timeline`), the earlier part's sound may
            # run into the next one's: a packet that mostly overlaps the one before is left
            # out, so the sound played back to back stays within half a packet of the video.
            length = packet.duration or 1
            if track.end is not None and packet.dts + length // 2 < track.end:
                return
            track.end = packet.dts + length
        shift = round(self._origin / packet.time_base)
        if track.copy:
            packet.pts = None if packet.pts is None else packet.pts - shift
            packet.dts = None if packet.dts is None else packet.dts - shift
            packet.stream = track.target
            self._output.mux(packet)
            return
        try:
            frames = packet.decode()
        except av.FFmpegError:  # a damaged audio packet: a moment of silence, not a failed run
            self.damaged += 1
            frames = _silence(track.source, packet)
        for frame in frames:
            if frame.pts is not None:
                frame.pts -= shift
            self._output.mux(track.target.encode(frame))

    def finish(self, end_s: Fraction) -> None:
        """Mux the audio up to the video's end and flush the encoders."""
        self.write_until(end_s)
        for track in self._tracks.values():
            if not track.copy:
                self._output.mux(track.target.encode(None))

    def left_after(self, end_s: Fraction) -> Fraction:
        """How much audio the input holds after `end_s` (seconds), once `finish` cut it there:
        from the streams' own durations, or, in MPEG-TS and -PS (whose durations FFmpeg
        estimates, and which recordings joined with `cat` make wrong), by reading the packets
        left."""
        if not self._tracks:
            return Fraction(0)
        ends = [
            (s.start_time + s.duration) * s.time_base - self._origin
            for s in self._streams
            if s.start_time is not None and s.duration and s.time_base
        ]
        estimated = self._input.format.flags & TS_DISCONT
        if len(ends) == len(self._streams) and not estimated:
            return max(Fraction(0), max(ends) - end_s)
        end = end_s
        while (packet := self._next()) is not None:
            self._pending = None
            start = self._start_s(packet)
            if start is not None:
                end = max(end, start + (packet.duration or 0) * packet.time_base)
        return end - end_s

    def close(self) -> None:
        """Release the input; safe to call more than once."""
        self._packets = None
        self._pending = None
        self._input.close()


def _silence(stream: av.audio.AudioStream, packet: av.Packet) -> list[av.AudioFrame]:
    """Silence as long as a packet that could not be decoded, at its time: without it, a
    player that plays samples back to back would hear everything after it that much early.
    None known (nothing decoded yet, or no duration): nothing."""
    ctx = stream.codec_context
    if ctx.format is None or not ctx.sample_rate or not packet.duration or packet.pts is None:
        return []
    samples = round(packet.duration * packet.time_base * ctx.sample_rate)
    frame = av.AudioFrame(format=ctx.format.name, layout=ctx.layout.name, samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))  # zero: silence in signed and float samples
    frame.sample_rate = ctx.sample_rate
    frame.pts, frame.time_base = packet.pts, packet.time_base
    return [frame]
