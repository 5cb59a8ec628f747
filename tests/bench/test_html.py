"""The HTML report: one file, the plots inside it, every text escaped."""

from __future__ import annotations

import base64
import copy
from html import escape

from rtseg.bench import html


def test_without_plots_the_page_says_how_to_get_them(engine_run):
    out, results = engine_run
    page = (out / "engine.html").read_text()
    assert page == html.render(results, [])
    assert escape(html.PLOTS_NEED) in page and "<img" not in page
    for row in results["variants"]:
        assert f"<code>{escape(row['command'])}</code>" in page


def test_plots_are_embedded_not_linked(engine_run, tmp_path):
    _, results = engine_run
    png = tmp_path / "engine-latency.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n made up")
    page = html.render(results, [png])
    assert f'src="data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}"' in page
    assert escape(html.PLOTS_NEED) not in page and str(tmp_path) not in page


def test_text_from_the_run_is_escaped(engine_run):
    _, results = engine_run
    odd = copy.deepcopy(results)
    odd["variants"][0]["label"] = "<script>alert(1)</script>"
    page = html.render(odd, [])
    assert "<script>" not in page and "&lt;script&gt;" in page
