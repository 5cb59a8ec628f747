"""Audio tracks carried to the output: a damaged packet while re-encoding."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

from rtseg.io.video.writer import VideoWriter
from rtseg.pipeline.frame import Frame
from tests.media import MARKER_S, audio_seconds, beep_time, marker_clip


def damage_audio(src: Path, dst: Path, first: int, count: int) -> None:
    """`src` remuxed to `dst` with audio packets first..first+count-1 replaced by noise bytes."""
    rng = np.random.default_rng(0)
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        n = 0
        for packet in inp.demux():
            if packet.size == 0:
                continue
            target = streams[packet.stream.index]
            if packet.stream.type == "audio":
                if first <= n < first + count:
                    noise = av.Packet(rng.integers(0, 256, packet.size, np.uint8).tobytes())
                    noise.pts, noise.dts = packet.pts, packet.dts
                    noise.time_base, noise.duration = packet.time_base, packet.duration
                    packet = noise
                n += 1
            packet.stream = target
            out.mux(packet)


def undecodable_audio_packets(path: Path) -> int:
    with av.open(str(path)) as container:
        count = 0
        for packet in container.demux(container.streams.audio[0]):
            try:
                packet.decode()
            except av.FFmpegError:
                count += 1
        return count


def test_a_damaged_packet_becomes_silence_and_the_audio_stays_in_sync(tmp_path, caplog):
    # AAC into .webm is re-encoded (Opus). Five packets (about 0.1 s) before the beep are
    # noise: they must become silence of their length, so the beep, counted in samples from
    # the start as a player plays them, stays with the white frame.
    clip = marker_clip(tmp_path / "clip.mp4", seconds=2.0)
    damaged = tmp_path / "damaged.mp4"
    damage_audio(clip, damaged, first=10, count=5)
    assert undecodable_audio_packets(damaged) == 5
    out = tmp_path / "out.webm"
    sink = VideoWriter(out, fps=30, audio_from=damaged)
    with av.open(str(damaged)) as container:
        for seq, frame in enumerate(container.decode(video=0)):
            image = frame.to_ndarray(format="bgr24")
            sink.write(
                Frame(seq=seq, image=image, pts=frame.pts, time_base=frame.time_base,
                      duration=frame.duration)
            )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="rtseg"):
        sink.close()
    assert "5 damaged audio packets could not be decoded" in caplog.text
    assert abs(beep_time(out) - MARKER_S) < 1 / 30
    assert abs(audio_seconds(out) - 2.0) < 1 / 30
