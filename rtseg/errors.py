"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class RtsegError(Exception):
    """An expected failure (bad input, missing model, unwritable output): no traceback shown."""


class CameraUnavailable(RtsegError):
    """No camera at the index or path asked for (absent, or held by another program)."""


class Stopped(RtsegError):
    """A run stopped early by a signal (Ctrl-C, SIGTERM); file outputs were kept as partial.

    The message says how many frames were written and where; `exit_status` is the shell's
    convention for a process ended by that signal (130 for SIGINT, 143 for SIGTERM).
    """

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal's number."""
        return 128 + self.signum
