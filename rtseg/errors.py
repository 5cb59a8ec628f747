"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class RtsegError(Exception):
    """An expected failure (bad input, missing model, unwritable output): no traceback shown."""


class CameraUnavailable(RtsegError):
    """No camera at the index or path asked for (absent, or held by another program)."""
