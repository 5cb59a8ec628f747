import os
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

import rtseg
from rtseg.errors import RtsegError
from rtseg.job import Job, JobConfig
from rtseg.matte.effects import (
    AlphaOut,
    Blur,
    Classes,
    Color,
    GivesAlpha,
    MaskView,
    NeedsForeground,
    NeedsLabels,
    Replace,
    TakesForeground,
    alpha_u8,
    apply_effect,
    draw,
    parse_effect,
    voc_palette,
)


def scene(h: int = 120, w: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """A bright disc (the person) on a dark, busy background, and its soft alpha."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 50, (h, w, 3), dtype=np.uint8)
    alpha = np.zeros((h, w), np.float32)
    cv2.circle(alpha, (w // 2, h // 2), h // 4, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha, (5, 5), 0)
    image[alpha > 0.5] = (240, 250, 255)
    return image, alpha


def test_blur_keeps_the_person_and_smooths_the_background():
    image, alpha = scene()
    out = Blur(strength=15).apply(image, alpha)
    person = alpha > 0.99
    background = alpha < 0.01
    assert np.abs(out[person].astype(int) - image[person]).max() <= 2
    # the background's pixel-to-pixel noise is gone
    noise_in = np.abs(np.diff(image.astype(int), axis=1))[background[:, 1:]].mean()
    noise_out = np.abs(np.diff(out.astype(int), axis=1))[background[:, 1:]].mean()
    assert noise_out < noise_in / 3


def test_blur_does_not_leak_the_person_into_the_background_as_a_halo():
    image, alpha = scene()
    out = Blur(strength=31).apply(image, alpha)
    ring = (cv2.dilate((alpha > 0.01).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0) & (
        alpha < 0.01
    )
    naive = cv2.GaussianBlur(image, (31, 31), 0)
    assert out[ring].mean() < 60  # stays as dark as the background
    assert naive[ring].mean() > out[ring].mean() + 30  # where a plain blur glows


def test_replace_with_an_image(tmp_path):
    image, alpha = scene()
    bg_path = tmp_path / "bg.png"
    cv2.imwrite(str(bg_path), np.full((60, 80, 3), (0, 0, 200), np.uint8))
    out = Replace(str(bg_path)).apply(image, alpha)
    assert tuple(out[0, 0]) == (0, 0, 200)
    assert tuple(out[60, 80]) == (240, 250, 255)


def test_a_reused_replace_gives_each_frame_size_its_own_background(tmp_path):
    """A small frame, then a large one, then the small one again: each gets the background
    brought to its own size from the original, not a copy resized for another frame."""
    background = np.zeros((240, 320, 3), np.uint8)
    background[:, ::2] = 255  # stripes one pixel wide: any resize through a small size shows
    path = tmp_path / "stripes.png"
    cv2.imwrite(str(path), background)
    effect = Replace(path)
    nobody = {size: np.zeros((*size, 3), np.uint8) for size in ((60, 80), (240, 320))}
    outputs = [
        effect.apply(nobody[size], np.zeros(size, np.float32))
        for size in ((60, 80), (240, 320), (60, 80))
    ]
    np.testing.assert_array_equal(outputs[1], background)
    expected = cv2.resize(background, (80, 60), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(outputs[0], expected)
    np.testing.assert_array_equal(outputs[2], expected)


def test_photos_of_two_sizes_get_their_own_background_in_a_run(tmp_path):
    background = np.zeros((240, 320, 3), np.uint8)
    background[:, ::2] = 255
    bg_path = tmp_path / "stripes.png"
    cv2.imwrite(str(bg_path), background)
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "1.png"), np.zeros((60, 80, 3), np.uint8))  # nobody in either
    cv2.imwrite(str(folder / "2.png"), np.zeros((240, 320, 3), np.uint8))
    outputs = []
    rtseg.process_video(
        folder, effect=rtseg.Replace(bg_path), on_frame=lambda f: outputs.append(f.output)
    )
    assert np.abs(outputs[1].astype(int) - background).max() <= 2


def test_replace_with_a_video_loops(tmp_path):
    path = tmp_path / "bg.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (32, 32))
    for value in (0, 255):
        writer.write(np.full((32, 32, 3), value, np.uint8))
    writer.release()
    effect = Replace(str(path))
    image, alpha = np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32), np.float32)
    corners = [int(effect.apply(image, alpha)[0, 0, 0]) for _ in range(4)]
    assert corners[0] < 30 and corners[1] > 220 and corners[2] < 30 and corners[3] > 220


def files_open(path) -> int:
    """How many of this process's file descriptors are `path`."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(Path(path).resolve()))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count open files")
def test_a_video_background_is_released_when_the_run_ends(tmp_path, bright_model):
    path = tmp_path / "bg.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (32, 32))
    for value in (0, 255):
        writer.write(np.full((32, 32, 3), value, np.uint8))
    writer.release()
    effect = rtseg.Replace(path)
    assert files_open(path) == 1
    for _ in range(2):  # the same effect serves a second run
        stats = rtseg.process_video(
            "sample",
            rtseg.Null(),
            model=bright_model,
            effect=effect,
            max_frames=3,
            width=64,
            height=48,
        )
        assert stats.frames_out == 3
        assert files_open(path) == 0


def test_color_is_a_soft_blend():
    image = np.full((4, 4, 3), 200, np.uint8)
    alpha = np.full((4, 4), 0.5, np.float32)
    out = Color("#00ff00").apply(image, alpha)
    assert tuple(out[0, 0]) == pytest.approx((100, 228, 100), abs=1)


def test_mask_and_alpha_views():
    image, alpha = scene()
    grey = MaskView().apply(image, alpha)
    assert grey.shape == image.shape and int(grey[60, 80, 0]) == 255 and int(grey[0, 0, 0]) == 0
    rgba = AlphaOut().apply(image, alpha)
    assert rgba.shape == (120, 160, 4)
    assert np.array_equal(rgba[..., :3], image)
    assert np.abs(rgba[..., 3].astype(int) - np.round(alpha * 255)).max() <= 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sparkle", "unknown effect"),
        ("blur:x", "whole number"),
        ("color:#12", "#RRGGBB"),
        ("replace:/nonexistent.png", "background not found"),
    ],
)
def test_bad_effect_specs(spec, message):
    with pytest.raises(RtsegError, match=message):
        parse_effect(spec)


def test_voc_palette_matches_the_published_colours():
    palette = voc_palette()
    assert tuple(palette[0]) == (0, 0, 0)
    assert tuple(palette[1]) == (128, 0, 0)  # aeroplane
    assert tuple(palette[15]) == (192, 128, 128)  # person


def test_classes_paints_each_class_and_names_it():
    image = np.zeros((60, 80, 3), np.uint8)
    labels = np.zeros((6, 8), np.uint8)
    labels[:, 4:] = 15
    names = (*(f"c{i}" for i in range(15)), "person")
    out = Classes(names).paint(image, labels)
    assert tuple(out[50, 70]) == tuple(int(v * 0.6 + 0.5) for v in (128, 128, 192))  # BGR
    assert tuple(out[50, 10]) == (0, 0, 0)
    # The legend sits over class 0 (black here, x < 40): the person's swatch, then its name
    # in white from x = 30.
    assert tuple(out[16, 16]) == (128, 128, 192)
    name_row = out[5:25, 28:40]
    assert (name_row == 255).all(axis=2).any()
    # Without a class to name, the same black frame gets no legend at all.
    assert not Classes(names).paint(image, np.zeros_like(labels)).any()


def test_classes_is_refused_for_a_person_only_model(tmp_path):
    from tests.conftest import write_clip

    clip = write_clip(tmp_path / "c.mp4", frames=2)
    with pytest.raises(RtsegError, match="segments people only"):
        Job(JobConfig(source=str(clip), effect="classes", sinks=["null"]))


@pytest.mark.parametrize("effect", [Blur(9), Color("#00ff00"), AlphaOut()], ids=lambda e: e.name)
def test_a_model_s_foreground_colours_are_put_over_the_new_background(effect):
    image, alpha = scene()
    foreground = np.full_like(image, (10, 20, 30))
    out = apply_effect(effect, image, alpha, foreground)
    inside = alpha > 0.99
    np.testing.assert_array_equal(out[inside][:, :3], foreground[inside])
    plain = apply_effect(effect, image, alpha, None)
    np.testing.assert_array_equal(plain[inside][:, :3], image[inside])


def test_an_effect_that_does_not_take_a_foreground_gets_the_frame():
    class Invert:
        name = "invert"

        def apply(self, image, alpha):
            return 255 - image

    image, alpha = scene()
    out = apply_effect(Invert(), image, alpha, np.zeros_like(image))
    np.testing.assert_array_equal(out, 255 - image)


class Edges(NeedsLabels):
    """A user's own effect drawn from the class labels: white where a class begins."""

    name = "edges"

    def paint(self, image, labels):
        big = cv2.resize(labels, image.shape[1::-1], interpolation=cv2.INTER_NEAREST)
        edges = cv2.Canny(big * 50, 10, 20)
        return cv2.cvtColor(edges, cv2.COLOR_GRAY2BGR)


class Cutout(TakesForeground):
    """A user's own effect that takes the foreground colours: the person on black."""

    name = "cutout"

    def apply(self, image, alpha, foreground=None):
        person = image if foreground is None else foreground
        return np.rint(person * alpha[..., None]).astype(np.uint8)


class Colours(NeedsForeground):
    """A user's own effect that shows nothing but the foreground colours."""

    name = "colours"

    def apply(self, image, alpha, foreground=None):
        return foreground


class Invert:
    """A user's effect of no rtseg type: the frame and its alpha, nothing else."""

    name = "invert"

    def apply(self, image, alpha):
        return 255 - image


def test_draw_calls_each_effect_as_its_type_says():
    image, alpha = scene()
    labels = np.zeros((12, 16), np.uint8)
    labels[:, 8:] = 3
    foreground = np.full_like(image, 90)
    frame = SimpleNamespace(image=image, alpha=alpha, labels=labels, fgr=foreground)
    painted = draw(Edges(), frame)
    assert painted[:, 78:82].any() and not painted[:, :70].any()  # the class edge, and only it
    inside = alpha > 0.999
    np.testing.assert_array_equal(draw(Cutout(), frame)[inside], foreground[inside])
    np.testing.assert_array_equal(draw(Invert(), frame), 255 - image)
    # Without labels (a frame inferred before a switch to a labelled model): the frame as is;
    # without foreground colours, a foreground effect draws the frame's own.
    assert draw(Edges(), SimpleNamespace(**{**vars(frame), "labels": None})) is image
    plain = draw(Cutout(), SimpleNamespace(**{**vars(frame), "fgr": None}))
    np.testing.assert_array_equal(plain[inside], image[inside])
    with pytest.raises(RtsegError, match="edges effect needs a model with a 'labels' output"):
        Edges().apply(image, alpha)


@pytest.mark.parametrize(
    ("effect", "message"),
    [
        (Edges(), "the edges effect needs a semantic model"),
        (Colours(), "the colours output needs a matting model"),
    ],
    ids=lambda e: getattr(e, "name", ""),
)
def test_a_user_s_effect_is_refused_by_its_type_for_a_model_without_what_it_needs(
    tmp_path, effect, message
):
    from tests.conftest import write_clip

    clip = write_clip(tmp_path / "c.mp4", frames=2)
    with pytest.raises(RtsegError, match=message):
        Job(JobConfig(source=str(clip), effect=effect, sinks=["null"], device="cpu"))


class Matte(GivesAlpha):
    """A user's effect with an alpha channel: the frame over its alpha, BGRA."""

    name = "matte"

    def apply(self, image, alpha):
        return np.dstack([image, alpha_u8(alpha)])


@pytest.mark.parametrize("effect", [AlphaOut(), Matte()], ids=lambda e: e.name)
def test_an_alpha_effect_is_refused_up_front_for_a_file_without_alpha(
    tmp_path, bright_model, effect
):
    from tests.conftest import write_clip

    clip = write_clip(tmp_path / "c.mp4", frames=2)
    mp4 = tmp_path / "o.mp4"
    with pytest.raises(RtsegError, match=r"\.mp4 cannot hold alpha"):
        Job(JobConfig(source=str(clip), model=bright_model, effect=effect, sinks=[str(mp4)]))
    assert not mp4.exists()
    out = tmp_path / "o.webm"
    Job(JobConfig(source=str(clip), model=bright_model, effect=effect, sinks=[str(out)])).run()
    assert out.exists()


def test_an_effect_s_repr_is_how_to_make_it(tmp_path):
    background = tmp_path / "beach.png"
    cv2.imwrite(str(background), np.zeros((8, 8, 3), np.uint8))
    effects = [rtseg.Blur(31), rtseg.Replace(background), rtseg.Color("#00B140"),
               rtseg.MaskView(), rtseg.AlphaOut(), rtseg.Foreground(), rtseg.Classes(),
               rtseg.Classes(("background", "person"))]  # fmt: skip
    for effect in effects:
        again = eval(repr(effect), {**vars(rtseg)})  # the repr is the call that makes it
        assert type(again) is type(effect) and repr(again) == repr(effect)
    assert repr(effects[0]) == "Blur(31)" and repr(effects[2]) == "Color('#00b140')"
    assert "effect=Blur(5)" in repr(rtseg.VideoFile("o.mp4", effect=rtseg.Blur(5)))
