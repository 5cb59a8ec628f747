"""`Location`: names that climb are refused, staging stays inside its folder, and the
display form holds no secret. Property-based (hypothesis) over key and path names, for the
names `rtseg run` stages, a batch derives (outputs, resume) and a split cuts (segments)."""

from __future__ import annotations

import pickle
from pathlib import Path, PurePosixPath

import fsspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rtseg.batch.discover import discover, output_for
from rtseg.batch.resume import is_complete
from rtseg.batch.split import segments_dir
from rtseg.errors import RtsegError
from rtseg.io.location import Location, climbs

NAMES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Segments an attacker or an unlucky user might put in a key or a name.
TRICKY = ["..", ".", "", "%2e%2e", "%2E%2e", ".%2e", "%252e%252e", "..\\..", "a#b", "c?d=1",
          "sp ace", "ü", "名前", "\u202e", "/", "~", "$HOME", "a..b", "...", "%00"]  # fmt: skip
segment = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=6),
)
relative = st.lists(segment, min_size=1, max_size=6).map("/".join)


def inside(child: Path, root: Path) -> bool:
    return child.resolve().is_relative_to(root.resolve())


def one_line(exc: RtsegError) -> bool:
    return "\n" not in str(exc) and "Traceback" not in str(exc)


@NAMES
@given(key=relative)
@example(key="x/../../../../../../etc/passwd.mp4")
@example(key="%2e%2e/%2e%2e/escaped.mp4")
@example(key="/etc/passwd.mp4")
def test_a_url_key_is_refused_or_staged_inside_the_staging_folder(tmp_path, key):
    """`rtseg run --sink URL` stages the output at `staging_path` before its upload."""
    root = tmp_path / "staging"
    for scheme in ("s3", "memory"):
        try:
            where = Location.of(f"{scheme}://bucket/{key}")
        except RtsegError as exc:
            assert one_line(exc) and any(climbs(s) for s in key.split("/"))
            continue
        assert inside(where.staging_path(root), root)
        assert Location.of(where.url) == where == pickle.loads(pickle.dumps(where))


@NAMES
@given(name=relative, fmt=st.sampled_from(["mp4", "webm", "png"]))
@example(name="../escaped.mp4", fmt="mp4")
@example(name="a/%2e%2e/%2e%2e/b.mp4", fmt="mp4")
def test_a_batch_output_and_its_segments_are_refused_or_inside_out(tmp_path, name, fmt):
    """A batch names each output after its input's path under its root, and a split output
    keeps its segments beside it: neither may leave `--out`."""
    out = tmp_path / "out"
    for base in (Location.of(out), Location.of("s3://results/out")):
        try:
            output = output_for(PurePosixPath(name), base, fmt)
        except (RtsegError, ValueError) as exc:  # ValueError: pathlib, a name with no stem
            assert isinstance(exc, ValueError) or one_line(exc)
            continue
        if base.is_remote:
            assert output.key.startswith("out/") and not any(map(climbs, output.key.split("/")))
            assert segments_dir(output).key.startswith("out/")
        else:
            assert inside(output.path, out)
            assert inside(Path(segments_dir(output).join("000.mp4")), out)


def emptied(fs: fsspec.AbstractFileSystem) -> fsspec.AbstractFileSystem:
    """The memory filesystem with nothing in it (keys `rm` cannot walk included)."""
    fs.store.clear()
    fs.pseudo_dirs[:] = [""]
    return fs


@pytest.fixture
def memory():
    yield emptied(fsspec.filesystem("memory"))
    emptied(fsspec.filesystem("memory"))


@NAMES
@given(keys=st.lists(relative.map(lambda k: k + ".mp4"), min_size=1, max_size=4))
@example(keys=["in/../escaped.mp4", "../../outside.mp4", "ok.mp4"])
def test_batch_discovery_and_resume_over_tricky_keys_stay_inside_out(tmp_path, memory, keys):
    """Keys written into an input bucket by anyone: each input is refused (reported, one
    line) or gets an output inside `--out`, and checking whether it is done writes nothing."""
    emptied(memory)
    for key in keys:
        memory.pipe_file(f"/in/{key}", b"not a video")
    out = tmp_path / "out"
    try:
        items, missing, _ = discover(["memory://in/"], out, "mp4")
    except RtsegError as exc:  # two keys for one output (`a.mp4`, `./a.mp4`): refused whole
        assert one_line(exc) and "would both write" in str(exc)
        return
    for item in items:
        assert inside(item.output.path, out)
        assert not is_complete(item.source, item.output)
    for refused in missing:
        assert "\n" not in refused.reason
    assert not out.exists()  # discovering and checking wrote nothing


def test_a_climbing_key_in_an_input_bucket_is_reported_and_the_others_go_on(memory, tmp_path):
    memory.pipe_file("/in/ok.mp4", b"x")
    memory.pipe_file("/in/../escaped.mp4", b"x")  # a key, as S3 keeps it: literal
    memory.pipe_file("/in/sub/%2e%2e/%2e%2e/deep.mp4", b"x")
    items, missing, _ = discover(["memory://in/"], tmp_path / "out", "mp4")
    assert [Path(item.output) for item in items] == [tmp_path / "out" / "ok.mp4"]
    assert all("'..'" in m.reason for m in missing) and len(missing) >= 1


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://alice:hunter2-pass@example.com/a.mp4", "hunter2-pass"),
        ("https://h/a.mp4?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=f00dcafe", "f00dcafe"),
        ("https://h/a.mp4?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=f00dcafe", "AKIAEXAMPLE"),
        ("https://acct.blob.core.windows.net/c/a.mp4?sv=2022&sig=c2VjcmV0c2ln", "c2VjcmV0c2ln"),
        ("https://h/a.mp4?access_token=ya29.tokenvalue", "ya29.tokenvalue"),
    ],
)
def test_the_display_form_holds_no_secret_but_the_url_does(url, secret):
    where = Location.of(url)
    assert secret not in str(where) and secret not in repr(where)
    assert secret in where.url  # what the backend is given
    assert where.name == "a.mp4"
    with pytest.raises(RtsegError) as refused:
        where.path  # noqa: B018
    assert secret not in str(refused.value)


def test_credentials_in_a_storage_url_are_refused_without_being_shown():
    with pytest.raises(RtsegError, match="credentials do not go in") as refused:
        Location.of("s3://AKIAKEYID:VerySecretKey@bucket/a.mp4")
    assert "VerySecretKey" not in str(refused.value) and "AKIAKEYID" not in str(refused.value)
