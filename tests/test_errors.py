"""rtseg's error type: one line, whatever the message quotes."""

import pytest

from rtseg.cli import build_parser, config_from_args
from rtseg.errors import RtsegError, Stopped


def test_a_line_break_the_user_gave_stays_inside_one_line():
    args = build_parser().parse_args(["run", "--effect", "replace:\n"])
    with pytest.raises(RtsegError) as raised:
        config_from_args(args)
    assert str(raised.value) == "background not found: \\n"


def test_subclasses_keep_their_own_fields():
    stopped = Stopped("stopped early\nby a test", 2)
    assert str(stopped) == "stopped early\\nby a test" and stopped.exit_status == 130
