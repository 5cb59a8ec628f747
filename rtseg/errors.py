"""The one exception type the CLI turns into a one-line message and a non-zero exit."""

from rtseg.redaction import redact


class RtsegError(Exception):
    """An expected failure (bad input, missing model, unwritable output): no traceback shown.

    The message is one line whatever it quotes: a line break in a name the user gave (a file
    name, an effect's spelling) is shown escaped, as a backslash and `n`, so the CLI's
    one-line error stays one line. Whatever it quotes, no secret is in it (`redact`).
    """

    def __init__(self, message: object = "", *args: object) -> None:
        text = redact(str(message)).replace("\r", "\\r").replace("\n", "\\n")
        super().__init__(text, *args)


class OutputExists(RtsegError):
    """The output is already there and replacing it was not asked for (`overwrite`)."""


class OutputBusy(RtsegError):
    """Another rtseg run holds the output's lock: it is writing that output now."""


class CameraUnavailable(RtsegError):
    """No camera at the index or path asked for (absent, or held by another program)."""


class Stopped(RtsegError):
    """A run that ended before its source did; file outputs were kept as partial.

    A signal (Ctrl-C, SIGTERM), `abort()`, a stop that did not drain in time, or a stop of a
    file before its end. The message says how many frames were written and where;
    `exit_status` is the shell's convention for a process ended by a signal (130 for SIGINT,
    143 for SIGTERM), and 1 for the other causes (`signum` None).
    """

    def __init__(self, message: str, signum: int | None = None) -> None:
        super().__init__(message)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, or 1 for a run stopped without a signal."""
        return 1 if self.signum is None else 128 + self.signum


def describe(exc: BaseException) -> str:
    """An exception in one line: rtseg's own by its message, any other as `Type: first line`
    (the type says what failed where nothing expected it, e.g. an ONNX Runtime `Fail`)."""
    lines = redact(str(exc)).strip().splitlines()
    if isinstance(exc, RtsegError):
        return lines[0] if lines else type(exc).__name__
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
