"""Weights: published ones from the hub cache, local checkpoints in their usual shapes, none."""

from __future__ import annotations

import urllib.error

import pytest

torch = pytest.importorskip("torch", reason="torch (the export extra) is not installed")

from export.families import get_family  # noqa: E402
from export.weights import load_into, read_checkpoint, resolve  # noqa: E402
from rtseg.errors import RtsegError  # noqa: E402

LRASPP = "lraspp_mobilenet_v3_large"


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """A torch hub folder of our own, and no network: downloads fail as they do offline."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr("torch.hub.download_url_to_file", offline)
    return tmp_path / "hub" / "hub" / "checkpoints"


def test_missing_published_weights_name_the_file_and_where_it_goes(empty_hub):
    with pytest.raises(RtsegError) as caught:
        resolve(get_family(LRASPP), "default")
    message = str(caught.value)
    assert "lraspp_mobilenet_v3_large-d234d4ea.pth" in message
    assert str(empty_hub / "lraspp_mobilenet_v3_large-d234d4ea.pth") in message
    assert "\n" not in message


def test_published_weights_are_found_in_the_hub_cache(empty_hub):
    family = get_family(LRASPP)
    torch.manual_seed(1)
    state = family.build(None).state_dict()
    state["aux_classifier.0.weight"] = torch.zeros(1)  # published files carry a training head
    empty_hub.mkdir(parents=True)
    torch.save(state, empty_hub / "lraspp_mobilenet_v3_large-d234d4ea.pth")
    weights = resolve(family, "default")
    assert weights.trained and weights.tag == "COCO_WITH_VOC_LABELS_V1"
    assert not weights.user_supplied
    net = family.build(weights.state)
    load_into(net, weights)
    assert torch.equal(
        net.state_dict()["classifier.high_classifier.weight"],
        state["classifier.high_classifier.weight"],
    )


@pytest.mark.parametrize("wrap", [None, "model", "state_dict"])
def test_checkpoints_load_in_every_usual_shape(tmp_path, wrap):
    family = get_family("unet")
    torch.manual_seed(2)
    state = family.build(None).state_dict()
    torch.save(state if wrap is None else {wrap: state, "epoch": 3}, tmp_path / "c.pt")
    weights = resolve(family, str(tmp_path / "c.pt"))
    assert weights.trained and weights.user_supplied and weights.tag == "c.pt"
    assert torch.equal(weights.state["head.weight"], state["head.weight"])


def test_random_init_is_marked_untrained():
    weights = resolve(get_family("unet"), "none")
    assert weights.state is None and not weights.trained


def test_bad_checkpoints_are_refused_clearly(tmp_path):
    with pytest.raises(RtsegError, match="not found"):
        read_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RtsegError, match="cannot read weights"):
        read_checkpoint(tmp_path / "junk.pt")
    torch.save({"epoch": 3}, tmp_path / "nostate.pt")
    with pytest.raises(RtsegError, match="holds no state_dict"):
        read_checkpoint(tmp_path / "nostate.pt")


def test_weights_of_another_model_are_refused(tmp_path):
    torch.save(get_family("unet").build(None).state_dict(), tmp_path / "unet.pt")
    family = get_family(LRASPP)
    weights = resolve(family, str(tmp_path / "unet.pt"))
    with pytest.raises(RtsegError, match="do not fit"):
        load_into(family.build(weights.state), weights)


def test_a_unet_checkpoint_of_another_width_builds_its_own_width(tmp_path):
    from export.unet.model import UNet

    torch.save(UNet(8).state_dict(), tmp_path / "u8.pt")
    family = get_family("unet")
    weights = resolve(family, str(tmp_path / "u8.pt"))
    net = family.build(weights.state)
    load_into(net, weights)
    assert net.head.in_channels == 8
