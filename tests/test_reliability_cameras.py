"""Issue 31, files from cameras and players: front-camera mirroring, cover art, raw DV, camera
cards in batches, audio languages and titles, damaged files in batches and `--split` over a
change of frame size.

Every input is built by FFmpeg around the master clip (burnt-in frame numbers, a flash and a
beep); every check measures the files left on disk with PyAV.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import ffmpeg, frame_numbers, frame_times, marker_clip
from tests.reliability import assert_clean_failure, run_cli
from tests.test_reliability_files import assert_in_sync

# An output as close to its input as the pipeline writes: a blur of 1 pixel changes nothing
# (with --crf 0 the colours are kept too).
AS_IS = ("--effect", "blur:1", "--no-refine", "--no-smooth", "-q")


def run_to(source: Path, model: Path, sink: Path, *extra: str):
    """`rtseg run` writing each frame as it came in."""
    return run_cli("run", "--source", str(source), "--model", str(model), "--sink", str(sink),
                   *AS_IS, *extra)  # fmt: skip


def shown(path: Path) -> list[np.ndarray]:
    """Every frame as FFmpeg's own player logic shows it (autorotation: the display matrix,
    flips included), in grey."""
    upright = path.with_name(f"shown-{path.stem}.mkv")
    ffmpeg("-i", str(path), "-an", "-c:v", "ffv1", str(upright))
    return grey_frames(upright)


def grey_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(float) for f in container.decode(video=0)]


# -- 1: the whole display matrix -------------------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "matrix",
    [("-display_rotation", "90", "-display_hflip"), ("-display_hflip",), ("-display_vflip",),
     ("-display_rotation", "180", "-display_vflip")],
    ids=["front-camera-90-hflip", "hflip", "vflip", "180-vflip"],
)  # fmt: skip
def test_a_flipped_display_matrix_comes_out_as_players_show_it(tmp_path, bright_model, matrix):
    clip = marker_clip(tmp_path / "clip.mp4", seconds=1.0, numbered=True, audio=None)
    front = tmp_path / "front.mp4"
    ffmpeg(*matrix, "-i", str(clip), "-c", "copy", str(front))
    out = tmp_path / "out.mp4"
    outcome = run_to(front, bright_model, out, "--crf", "0")
    assert outcome.returncode == 0, outcome.stderr
    want, got = shown(front), grey_frames(out)
    assert len(got) == len(want) == 30
    assert got[0].shape == want[0].shape
    assert max(np.abs(g - w).mean() for g, w in zip(got, want, strict=True)) < 3


# -- 2: attached pictures are covers, never the video ----------------------------------------
def cover_png(tmp_path: Path) -> Path:
    cover = tmp_path / "cover.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", str(cover))
    return cover


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("name", "codec"),
    [("song.m4a", "copy"), ("song.mp3", "libmp3lame"), ("podcast.mp4", "copy")],
)
def test_audio_with_only_a_cover_is_refused_in_run_and_batch(tmp_path, bright_model, name, codec):
    clip = marker_clip(tmp_path / "clip.mp4", seconds=1.0)
    (tmp_path / "in").mkdir()
    song = tmp_path / "in" / name
    ffmpeg("-i", str(clip), "-i", str(cover_png(tmp_path)), "-map", "0:a", "-map", "1:v",
           "-c:a", codec, "-c:v", "png", "-disposition:v", "attached_pic", str(song))  # fmt: skip
    outcome = run_to(song, bright_model, tmp_path / "out.mp4")
    assert_clean_failure(outcome, "has no video stream, only a cover picture")
    assert not (tmp_path / "out.mp4").exists()
    report = tmp_path / "report.jsonl"
    batch = run_cli("batch", str(song), "--out", str(tmp_path / "batch"),
                    "--model", str(bright_model), "--report", str(report), "-q")  # fmt: skip
    assert batch.returncode == 1, batch.stderr
    (line,) = [json.loads(text) for text in report.read_text().splitlines()]
    assert line["status"] == "failed" and "only a cover picture" in line["error"]


@pytest.mark.timeout(120)
def test_covers_and_attachments_are_kept_where_the_container_holds_them(tmp_path, bright_model):
    clip = marker_clip(tmp_path / "clip.mp4", seconds=1.5, numbered=True)
    font = tmp_path / "font.ttf"
    font.write_bytes(b"not really a font")
    film = tmp_path / "film.mkv"  # a cover as Matroska's cover.png attachment, and a font
    ffmpeg("-i", str(clip), "-attach", str(cover_png(tmp_path)), "-attach", str(font),
           "-metadata:s:t:0", "mimetype=image/png", "-metadata:s:t:0", "filename=cover.png",
           "-metadata:s:t:1", "mimetype=font/ttf", "-c", "copy", str(film))  # fmt: skip
    kept = {".mkv": ["cover.png", "font.ttf"], ".mp4": ["cover"], ".webm": []}
    for suffix, names in kept.items():
        out = tmp_path / f"out{suffix}"
        outcome = run_to(film, bright_model, out)
        assert outcome.returncode == 0, outcome.stderr
        assert frame_numbers(out) == list(range(45))  # the cover is not a frame
        assert_in_sync(out)
        assert extras(out) == names
        said = [line for line in outcome.stderr.splitlines() if "left out" in line]
        lost = {".mkv": [], ".mp4": ["attachment font.ttf"], ".webm": ["cover picture"]}
        assert all(what in " ".join(said) for what in lost[suffix]) and bool(said) == bool(
            lost[suffix]
        )


def extras(path: Path) -> list[str]:
    """The covers ("cover" for an attached picture stream, its file name for an attachment)
    and attachments of a file."""
    with av.open(str(path)) as container:
        found = []
        for stream in container.streams:
            if stream.type == "attachment" or stream.metadata.get("filename"):
                found.append(stream.metadata.get("filename"))
            elif stream.type == "video" and stream.disposition & av.stream.Disposition.attached_pic:
                found.append("cover")
        return sorted(found)


# -- 3: a stated frame rate the encoder cannot take ------------------------------------------
@pytest.mark.timeout(180)
def test_raw_dv_goes_into_every_container(tmp_path, bright_model):
    clip = marker_clip(tmp_path / "clip.mp4", seconds=1.5)
    dv = tmp_path / "tape.dv"  # raw DV states its 1/60000 s clock as its rate: 60000 fps
    ffmpeg("-i", str(clip), "-vf", "scale=720:480", "-r", "30000/1001", "-c:v", "dvvideo",
           "-pix_fmt", "yuv411p", "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2",
           "-f", "dv", str(dv))  # fmt: skip
    with av.open(str(dv)) as container:
        assert container.streams.video[0].average_rate == 60000
    want = frame_times(dv)
    for suffix in (".webm", ".mp4", ".mkv", ".mov"):
        out = tmp_path / f"out{suffix}"
        outcome = run_to(dv, bright_model, out)
        assert outcome.returncode == 0, outcome.stderr
        got = frame_times(out)
        assert len(got) == len(want) >= 44
        assert np.abs(np.array(got) - np.array(want)).max() <= 1e-3
        assert_in_sync(out, at=None)


# -- 5: audio languages, titles and flags ----------------------------------------------------
# ISO 639-2 spells some languages two ways; QuickTime keeps the "B" one (ger for deu).
GERMAN = {"deu", "ger"}
# Containers whose tracks hold no flag but `default` (and `forced`).
PLAIN_FLAGS = {".webm", ".mov"}


def track_tags(path: Path) -> list[tuple[str | None, str | None, int]]:
    """(language, title, disposition flags) of each audio track; MP4 reads a title back as
    `name`."""
    with av.open(str(path)) as container:
        return [
            (
                s.metadata.get("language"),
                s.metadata.get("title") or s.metadata.get("name"),
                s.disposition.value,
            )
            for s in container.streams.audio
        ]


@pytest.mark.timeout(180)
def test_audio_languages_titles_and_flags_are_kept_in_run_and_batch(tmp_path, bright_model):
    clip = marker_clip(tmp_path / "clip.mp4", seconds=1.5)
    (tmp_path / "in").mkdir()
    film = tmp_path / "in" / "film.mkv"
    ffmpeg("-i", str(clip), "-map", "0:v", "-map", "0:a", "-map", "0:a", "-c", "copy",
           "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=deu",
           "-metadata:s:a:1", "title=Deutsch", "-disposition:a:0", "default",
           "-disposition:a:1", "comment", str(film))  # fmt: skip
    default, comment = av.stream.Disposition.default.value, av.stream.Disposition.comment.value
    outputs = []
    for suffix in (".mp4", ".mkv", ".webm", ".mov"):
        out = tmp_path / f"out{suffix}"
        outcome = run_cli("run", "--source", str(film), "--model", str(bright_model),
                          "--sink", str(out), "--effect", "mask", "-q")  # fmt: skip
        assert outcome.returncode == 0, outcome.stderr
        outputs.append(out)
    batch = run_cli("batch", str(tmp_path / "in"), "--out", str(tmp_path / "batch"),
                    "--model", str(bright_model), "--effect", "mask", "-q")  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    outputs.append(tmp_path / "batch" / "film.mp4")
    for out in outputs:
        (eng, eng_title, eng_flags), (deu, deu_title, deu_flags) = track_tags(out)
        assert (eng, eng_title, eng_flags & default) == ("eng", None, default), out.name
        assert deu in GERMAN and deu_title == "Deutsch", out.name
        assert not deu_flags & default, out.name
        assert deu_flags & comment or out.suffix in PLAIN_FLAGS, out.name
        for track in (0, 1):
            assert_in_sync(out, track)


# -- 4: camera cards in a batch --------------------------------------------------------------
# How each camera-card file is made from the master clip: its video and audio codecs, and
# FFmpeg's container when the suffix does not name one.
CARD_FILES = {
    "00000.m2ts": ("libx264", "ac3", ("-f", "mpegts", "-mpegts_m2ts_mode", "1")),
    "00001.mts": ("libx264", "ac3", ("-f", "mpegts", "-mpegts_m2ts_mode", "1")),
    "tape.dv": ("dvvideo", "pcm_s16le", ("-vf", "scale=720:480", "-r", "30000/1001",
                                         "-pix_fmt", "yuv411p", "-ac", "2", "-f", "dv")),
    "MOV001.MOD": ("mpeg2video", "mp2", ("-f", "vob")),
    "MOV002.TOD": ("mpeg2video", "mp2", ("-f", "mpegts")),
    "VTS_01_1.VOB": ("mpeg2video", "mp2", ("-f", "vob")),
    "phone.3gp": ("libx264", "aac", ()),
    "studio.mxf": ("mpeg2video", "pcm_s16le", ("-f", "mxf")),
    "old.wmv": ("wmv2", "wmav2", ()),
    "web.flv": ("flv", "aac", ()),
    "CLIP0001": ("libx264", "aac", ("-f", "mp4")),  # no suffix: probed
    "holiday.partial.mp4": ("libx264", "aac", ()),  # a user's file, not rtseg's
}  # fmt: skip


@pytest.mark.timeout(300)
def test_a_camera_card_folder_is_processed_whole_and_what_is_passed_over_is_said(
    tmp_path, bright_model
):
    clip = marker_clip(tmp_path / "clip.mp4", seconds=1.0, numbered=True)
    card = tmp_path / "card"
    card.mkdir()
    for name, (video, audio, extra) in CARD_FILES.items():
        ffmpeg("-i", str(clip), "-c:v", video, "-c:a", audio, "-ar", "48000", *extra,
               str(card / name))  # fmt: skip
    ffmpeg("-i", str(clip), "-frames:v", "1", "-f", "mjpeg", str(card / "00000.THM"))  # a JPEG
    (card / "index.bdmv").write_bytes(b"INDX0200" + bytes(100))
    (card / "notes.txt").write_text("day one")
    report = tmp_path / "report.jsonl"
    batch = run_cli("batch", str(card), "--out", str(tmp_path / "out"), "--model",
                    str(bright_model), "--report", str(report), "--workers", "2",
                    "--effect", "mask", "--no-refine", "--no-smooth", "--quality", "fast",
                    timeout=240)  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    lines = [json.loads(text) for text in report.read_text().splitlines()]
    assert sorted(Path(line["source"]).name for line in lines) == sorted(CARD_FILES)
    for line in lines:
        assert line["status"] == "done", line
        want = frame_numbers(Path(line["source"]))
        assert frame_numbers(Path(line["output"])) == want and len(want) >= 29, line
    count = len(CARD_FILES)
    assert re.search(rf"^files +{count}: {count} done$", batch.stdout, re.MULTILINE)
    (said,) = [row for row in batch.stdout.splitlines() if row.startswith("passed over")]
    assert "3 not a video" in said
    assert all(name in said for name in ("00000.THM", "index.bdmv", "notes.txt"))


# -- 6: what a run warns of reaches a batch's progress, summary and report -------------------
def truncated(clip: Path, name: str, share: float = 0.6) -> Path:
    """`clip` remuxed as `name` (an MP4 with its index first, as downloads are) and cut
    in the middle of the first video packet after `share` of its bytes: a download that
    broke off."""
    whole = clip.with_name(f"whole-{name}")
    ffmpeg("-i", str(clip), "-c", "copy", "-movflags", "+faststart", str(whole))
    data = whole.read_bytes()
    with av.open(str(whole)) as container:
        packet = next(p for p in container.demux(video=0) if p.pos >= len(data) * share)
        end = packet.pos + packet.size // 2
    cut = clip.parent / "in" / name
    cut.write_bytes(data[:end])
    return cut


def lost_in_run(path: Path, model: Path, tmp_path: Path) -> int:
    """How many frames `rtseg run` says it lost from `path`."""
    outcome = run_to(path, model, tmp_path / f"run-{path.name}.mp4")
    assert outcome.returncode == 0, outcome.stderr
    (said,) = [line for line in outcome.stderr.splitlines() if "could not be decoded" in line]
    return int(re.search(r": (\d+) of \d+ frames", said)[1])


@pytest.mark.timeout(300)
@pytest.mark.parametrize("split", [None, "2"], ids=["batch", "split"])
def test_lost_frames_and_dropped_tracks_reach_the_batch(tmp_path, bright_model, split):
    clip = marker_clip(tmp_path / "clip.mp4", seconds=4.0, numbered=True)
    (tmp_path / "in").mkdir()
    cut_mp4 = truncated(clip, "download.mp4")
    cut_mkv = truncated(clip, "broken.mkv")
    subtitled = tmp_path / "in" / "subtitled.mkv"
    (tmp_path / "subs.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    ffmpeg("-i", str(clip), "-i", str(tmp_path / "subs.srt"), "-map", "0", "-map", "1",
           "-c", "copy", "-c:s", "srt", str(subtitled))  # fmt: skip
    lost = {cut_mp4.name: lost_in_run(cut_mp4, bright_model, tmp_path),
            cut_mkv.name: lost_in_run(cut_mkv, bright_model, tmp_path)}  # fmt: skip
    assert min(lost.values()) > 30  # both lost their second half, and run says so
    report = tmp_path / "report.jsonl"
    args = ("--split", split) if split else ()
    batch = run_cli("batch", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                    "--model", str(bright_model), "--report", str(report), *AS_IS[:-1],
                    *args, timeout=240)  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    lines = {
        Path(line["source"]).name: line for line in map(json.loads, report.read_text().splitlines())
    }
    for name, count in lost.items():
        line = lines[name]
        assert (line["status"], line["frames_lost"]) == ("damaged", count), line
        (warning,) = [w for w in line["warnings"] if "could not be decoded" in w]
        assert f"{count} of {line['frames_in'] + count} frames could not be decoded" in warning
        assert f"rtseg: warning: {warning}" in batch.stderr  # the progress says it as it ends
        assert warning in batch.stdout  # and the summary
        out = Path(line["output"])
        assert frame_numbers(out) == list(range(line["frames_in"]))
    line = lines["subtitled.mkv"]
    assert line["status"] == "done" and line["frames_lost"] == 0
    assert any("subtitle track(s) not carried" in w for w in line["warnings"]), line
    assert re.search(r"^files +3: 2 damaged, 1 done$", batch.stdout, re.MULTILINE)
    again = run_cli("batch", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                    "--model", str(bright_model), *AS_IS[:-1], *args)  # fmt: skip
    assert again.returncode == 0, again.stderr  # a rerun skips what holds every decodable frame
    assert re.search(r"^files +3: 3 skipped$", again.stdout, re.MULTILINE), again.stdout


# -- 7: --split over a change of frame size --------------------------------------------------
@pytest.mark.timeout(240)
def test_split_over_a_frame_size_change_is_refused_like_a_single_run(tmp_path, bright_model):
    parts = []
    for i, size in enumerate([(96, 64), (128, 96)]):
        part = marker_clip(tmp_path / f"p{i}.mp4", seconds=2.0, size=size, numbered=True)
        parts.append(tmp_path / f"p{i}.ts")
        ffmpeg("-i", str(part), "-c", "copy", str(parts[-1]))
    listing = tmp_path / "parts.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    (tmp_path / "in").mkdir()
    sizes = tmp_path / "in" / "sizes.ts"  # 96x64, then 128x96, timestamps running on
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(sizes))
    with av.open(str(sizes)) as container:
        frames = [(f.width, f.pts) for f in container.decode(video=0)]
    assert [w for w, _ in frames] == [96] * 60 + [128] * 60
    assert all(b > a for (_, a), (_, b) in itertools.pairwise(frames))
    single = run_to(sizes, bright_model, tmp_path / "single.mp4")
    assert_clean_failure(single, "a video holds one frame size")
    report = tmp_path / "report.jsonl"
    for split in ("2", "3"):  # the change at a seam, and inside a segment
        batch = run_cli("batch", str(sizes), "--out", str(tmp_path / f"out{split}"),
                        "--model", str(bright_model), "--report", str(report),
                        "--split", split, "-q")  # fmt: skip
        assert batch.returncode == 1, batch.stderr
        (line,) = [json.loads(text) for text in report.read_text().splitlines()]
        assert line["status"] == "failed" and "a video holds one frame size" in line["error"]
        assert not (tmp_path / f"out{split}" / "sizes.mp4").exists()
