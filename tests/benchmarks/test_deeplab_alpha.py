import numpy as np
import pytest

from benchmarks.deeplab_alpha import built_in_temperature, calibrated, margin, measure
from rtseg.models.registry import resolve
from tests.conftest import shared_file


def test_the_margin_is_recovered_from_a_calibrated_alpha():
    m = np.linspace(-4, 4, 17, dtype=np.float32)  # float32 alpha saturates beyond about 5
    np.testing.assert_allclose(margin(calibrated(m, 3.0), 3.0), m, atol=0.01)


def test_the_bundled_deeplab_models_sharpen_the_margin_and_others_do_not():
    assert built_in_temperature(resolve("deeplabv3_mnv2_voc")) == 3.0
    assert built_in_temperature(resolve("selfie_general")) == 1.0


def test_a_temperature_alone_keeps_the_mask_and_solidifies_the_person(monkeypatch):
    shared_file("portraits/p3m")
    monkeypatch.setattr("benchmarks.deeplab_alpha.TEMPERATURES", (1.0, 3.0))
    monkeypatch.setattr("benchmarks.deeplab_alpha.OFFSETS", (0.0,))
    plain, sharp = measure("deeplabv3_mnv2_voc_257", quick=True)
    assert sharp["iou"] == pytest.approx(plain["iou"], abs=1e-3)  # same 0.5 level, upscaled
    assert sharp["grey_share"] < plain["grey_share"] and sharp["mae"] < plain["mae"]
