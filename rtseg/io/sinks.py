"""Where frames go: a window, an image sequence, or nowhere (benchmarks); video files are
written by `rtseg.io.video.writer`.

Sinks set themselves up from the first frame they get. `close()` finalises a run that ended
well; `abort()` one that failed or was stopped. File sinks lock their output for the run,
write under a temporary name and move it onto the final name only in `close()`, so an
existing output is never overwritten half-way; after `abort()` the partial output stays
under the temporary name (`partial_path`).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from rtseg.errors import RtsegError
from rtseg.io.outputs import claim_output, partial_name
from rtseg.pipeline.frame import Frame


class NullSink:
    """Discards frames; the pipeline's stats still count them."""

    def write(self, frame: Frame) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


# The list of frames rtseg wrote into a folder, kept in it, so that overwriting the folder
# later removes those frames and nothing else a user put there.
WRITTEN_LIST = ".rtseg-written"


def written_by_rtseg(folder: Path) -> set[str]:
    """The file names an earlier run wrote into `folder` (none when it has no list)."""
    try:
        names = (folder / WRITTEN_LIST).read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return set()
    return {name for name in names if name and Path(name).name == name}  # in the folder only


class ImageSequenceSink:
    """One PNG per frame in a directory; frames from image files keep their input's stem.

    The frames are written into `partial_path` and moved to `path` when the run completes.
    Overwriting a folder replaces what rtseg wrote there before (its `WRITTEN_LIST`) and
    leaves any other file as it was.
    """

    def __init__(
        self, path: Path, overwrite: bool = False, replace_partial: bool | None = None
    ) -> None:
        # clears a kept partial folder once locked, if `replace_partial` (or `overwrite`)
        self._lock = claim_output(path, overwrite, replace_partial)
        self.path = path
        self.partial_path = partial_name(path)
        self.frames = 0
        self._names: set[str] = set()  # written, without case (as Windows and macOS compare)
        self._files: list[str] = []
        try:
            self.partial_path.mkdir()
        except OSError as exc:
            self._lock.release()
            raise RtsegError(f"cannot write {self.partial_path}: {exc.strerror}") from exc

    def write(self, frame: Frame) -> None:
        name = frame.name if frame.name is not None else f"{frame.seq:06d}"
        if name.casefold() in self._names:  # never one frame over another
            raise RtsegError(
                f"two frames are both named {name}: the second would replace the first "
                f"in {self.path}"
            )
        self._names.add(name.casefold())
        target = self.partial_path / f"{name}.png"
        ok, data = cv2.imencode(".png", frame.output)
        if not ok:
            raise RtsegError(f"cannot encode frame {frame.seq} as PNG")
        try:
            target.write_bytes(data.tobytes())
        except OSError as exc:
            target.unlink(missing_ok=True)  # keep only whole frames in the partial output
            raise RtsegError(
                f"cannot write {target}: {exc.strerror}; free some space and run again"
            ) from exc
        self._files.append(target.name)
        self.frames += 1

    def close(self) -> None:
        try:
            if not self.partial_path.exists():
                return
            (self.partial_path / WRITTEN_LIST).write_text("".join(f + "\n" for f in self._files))
            if self.path.is_file():  # a file where the folder goes, replaced as asked
                self.path.unlink()
            if not self.path.exists():
                os.replace(self.partial_path, self.path)
            else:
                self._replace_folder()
        finally:
            self._lock.release()

    def _replace_folder(self) -> None:
        """Put the new frames in place of the ones an earlier run wrote into `path`."""
        earlier = written_by_rtseg(self.path)
        present = set(os.listdir(self.path))
        if present <= earlier | {WRITTEN_LIST}:  # only rtseg's: swap the folders at once
            aside = partial_name(self.path, "replaced")
            os.replace(self.path, aside)
            os.replace(self.partial_path, self.path)
            shutil.rmtree(aside)
            return
        # Files of the user's are in it: the frames move in one by one, the list last.
        for name in self._files:
            os.replace(self.partial_path / name, self.path / name)
        for name in earlier - set(self._files) - {WRITTEN_LIST}:
            (self.path / name).unlink(missing_ok=True)
        os.replace(self.partial_path / WRITTEN_LIST, self.path / WRITTEN_LIST)
        self.partial_path.rmdir()

    def abort(self) -> None:
        """Leave the frames written so far in `partial_path` (nothing, if there are none)."""
        if self.partial_path.exists() and not self.frames:
            shutil.rmtree(self.partial_path)
        self._lock.release()


def has_display() -> bool:
    """Whether a window can open: always on Windows and macOS, with X11/Wayland on Linux."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


KEYS = {ord("q"): "quit", 27: "quit", ord("e"): "effect", ord("m"): "mask", ord("h"): "hud"}
# g/G, f/F, s/S: grow, feather and smoothing strength down/up a step.
KEYS |= {ord(k): f"{name}-" for k, name in zip("gfs", ("grow", "feather", "smooth"), strict=True)}
KEYS |= {ord(k): f"{name}+" for k, name in zip("GFS", ("grow", "feather", "smooth"), strict=True)}


class WindowSink:
    """An OpenCV window. Keys: q/Esc quit, e next effect, m mask view, h HUD on/off, g/G
    grow, f/F feather and s/S smoothing strength down/up.

    HighGUI (its Qt build above all) must run in the main thread, so `write()` only leaves
    the newest frame in a slot and the pipeline's main-thread loop calls `pump()` to show it.
    """

    def __init__(
        self,
        title: str = "rtseg",
        on_key: Callable[[str], None] | None = None,
        hud: Callable[[], list[str]] | None = None,
    ) -> None:
        if not has_display():
            raise RtsegError("no display for a window; write a file instead, e.g. --sink out.mp4")
        self.title = title
        self.frames = 0
        self.show_hud = hud is not None
        self._on_key = on_key
        self._hud = hud
        self._opened = False
        self._latest: np.ndarray | None = None
        self._lock = threading.Lock()

    def write(self, frame: Frame) -> None:
        with self._lock:
            self._latest = frame.output

    def pump(self) -> None:
        """Show the newest frame and handle keys; call from the main thread."""
        with self._lock:
            image, self._latest = self._latest, None
        if image is not None:
            self._show(image)
        if self._opened:
            self._handle(cv2.waitKey(1))

    def _show(self, image: np.ndarray) -> None:
        if self.show_hud and self._hud is not None:
            image = image.copy()
            for i, line in enumerate(self._hud()):
                org = (10, 24 + 22 * i)
                cv2.putText(image, line, org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3)
                cv2.putText(image, line, org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        if not self._opened:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
            cv2.resizeWindow(self.title, image.shape[1], image.shape[0])
            self._opened = True
        cv2.imshow(self.title, image)
        self.frames += 1

    def _handle(self, key: int) -> None:
        action = KEYS.get(key & 0xFF) if key >= 0 else None
        if action == "hud":
            self.show_hud = not self.show_hud
        elif action and self._on_key is not None:
            self._on_key(action)

    def close(self) -> None:
        if self._opened:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
            self._opened = False

    abort = close
