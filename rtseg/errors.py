"""rtseg's exceptions: every failure a caller can see is an `RtsegError` (its cause chained
where another exception caused it), and a run that was stopped raises `Stopped`, a
`KeyboardInterrupt`, so `except Exception:` in an app never swallows a Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TypeVar

from rtseg.redaction import redact


def one_line(message: object) -> str:
    """`message` with its line breaks escaped and no secret in it (`redact`), so a one-line
    error stays one line and safe to print."""
    return redact(str(message)).replace("\r", "\\r").replace("\n", "\\n")


class RtsegError(Exception):
    """Every failure rtseg raises: an expected one (bad input, missing model, unwritable
    output), which the CLI shows in one line without a traceback, or a `StageError`.

    The message is one line whatever it quotes: a line break in a name the user gave (a file
    name, an effect's spelling) is shown escaped, as a backslash and `n`, so the CLI's
    one-line error stays one line. Whatever it quotes, no secret is in it (`redact`).
    """

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(one_line(message), *args)


class OutputExists(RtsegError):
    """The output is already there and replacing it was not asked for (`overwrite`)."""


class OutputBusy(RtsegError):
    """Another rtseg run holds the output's lock: it is writing that output now."""


class CameraUnavailable(RtsegError):
    """No camera at the index or path asked for (absent, or held by another program)."""


class StageError(RtsegError):
    """An unexpected exception inside a pipeline stage (a frame source that raised, a model
    that failed); `__cause__` is the original exception and the message names its type."""


class Stopped(KeyboardInterrupt):
    """A run that ended before its source did; file outputs were kept as partial.

    A signal (Ctrl-C, SIGTERM), `abort()`, a stop that did not drain in time, or a stop of a
    file before its end. It derives from `KeyboardInterrupt`, not `RtsegError`: a stop is
    no failure, and an app's `except Exception:` lets it through as it lets Ctrl-C through.
    The message says how many frames were written and where; `exit_status` is the shell's
    convention for a process ended by a signal (130 for SIGINT, 143 for SIGTERM), and 1 for
    the other causes (`signum` None).
    """

    def __init__(self, message: str, signum: int | None = None) -> None:
        super().__init__(one_line(message))
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, or 1 for a run stopped without a signal."""
        return 1 if self.signum is None else 128 + self.signum


def describe(exc: BaseException) -> str:
    """An exception in one line: rtseg's own by its message, any other as `Type: first line`
    (the type says what failed where nothing expected it, e.g. an ONNX Runtime `Fail`)."""
    lines = redact(str(exc)).strip().splitlines()
    if isinstance(exc, RtsegError | Stopped):
        return lines[0] if lines else type(exc).__name__
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def close_under(error: BaseException | None, close: Callable[[], object]) -> None:
    """Run `close` in a context manager's exit: when `error` is in flight, a failure of
    `close` is added to it as a note (Python 3.11 on) rather than raised in its place, so
    leaving a `with` block never replaces the caller's own exception."""
    if error is None:
        close()
        return
    try:
        close()
    except Exception as exc:
        add_note = getattr(error, "add_note", None)
        if add_note is not None:
            add_note(f"closing afterwards failed too: {describe(exc)}")


_C = TypeVar("_C", bound="Closing")


class Closing:
    """A context manager for an object with `close()`: leaving the block closes it, and a
    failure of closing never replaces an exception already in flight (`close_under`)."""

    def close(self) -> None:
        raise NotImplementedError

    def _close_for(self, error: BaseException | None) -> Callable[[], object]:
        """What leaving the block calls, given how the block ended: `close`, by default."""
        return self.close

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        close_under(error, self._close_for(error))


# Whose words a message uses for an option: a Python caller's (`overwrite=True`) unless the
# command line said it is the caller (`--overwrite`).
_cli_words = False


@contextmanager
def cli_words() -> Iterator[None]:
    """Name options as the command line spells them in messages raised inside the block
    (`rtseg`'s entry points run in one; a Python program never needs to)."""
    global _cli_words
    before, _cli_words = _cli_words, True
    try:
        yield
    finally:
        _cli_words = before


def speaking_cli() -> bool:
    """Whether messages now name options as the command line spells them (`cli_words`)."""
    return _cli_words


def option(name: str, value: object = ...) -> str:
    """`name` as the caller spells it: `--mask-every` or `mask_every=` (with `value`:
    `--overwrite` or `overwrite=True`)."""
    if _cli_words:
        return "--" + name.replace("_", "-")
    return f"{name}={value!r}" if value is not ... else f"{name}="
