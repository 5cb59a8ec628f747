"""One self-contained HTML page of an `rtseg bench` run: the tables, the warnings, and the
plots embedded as data URIs, so the single file opens in any browser, offline, anywhere."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from rtseg.bench import summary

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f2f2f2; }
.warning { background: #fff3cd; border-left: 4px solid #c60; padding: 0.5em 1em; }
.fell-back { color: #a00; font-weight: bold; }
code { font-size: 13px; }
img { max-width: 100%; border: 1px solid #ddd; }
"""
PLOTS_NEED = "Plots need the plots extra: pip install 'rtseg[plots]', then run again with --plots."


def _cell(text: str, tag: str = "td") -> str:
    numeric = tag == "td" and text.replace(".", "", 1).replace(" ", "").isdecimal()
    css = ' class="num"' if numeric else ""
    if summary.FELL_BACK in text:
        css = ' class="fell-back"'
    return f"<{tag}{css}>{escape(text)}</{tag}>"


def _table(header: list[str], rows: list[list[str]], code: int | None = None) -> str:
    """An HTML table; column `code` is shown as code (the command lines)."""
    head = "".join(_cell(h, "th") for h in header) if any(header) else ""
    body = []
    for row in rows:
        cells = [
            f"<td><code>{escape(c)}</code></td>" if i == code else _cell(c)
            for i, c in enumerate(row)
        ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{''.join(body)}</tbody></table>"


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<p><img alt="{escape(alt)}" src="data:image/png;base64,{data}"></p>'


def render(results: dict, plots: list[Path]) -> str:
    """The page; `plots` (PNG files) are embedded, and without any the page says how to get
    them."""
    mode = results["mode"]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>rtseg bench {escape(mode)}</title><style>{STYLE}</style></head><body>",
        f"<h1>rtseg bench {escape(mode)}</h1>",
        f"<p>{escape(summary.TITLES[mode])}. Latency: {escape(summary.LATENCY[mode])}; "
        f"{results['rounds']} rounds, the variants alternated in each. CPU share: CPU time of "
        "every thread over wall time (1.0 is one core kept busy).</p>",
    ]
    parts += [f'<p class="warning">{escape(w)}</p>' for w in summary.warnings(results)]
    parts += ["<h2>Summary</h2>", _table(*summary.summary(results))]
    steps = summary.stages(results)
    if steps is not None:
        parts += ["<h2>Steps</h2>", _table(*steps)]
    if lines := summary.overload(results):
        parts += ["<h2>Overload</h2><ul>", *(f"<li>{escape(x)}</li>" for x in lines), "</ul>"]
    parts.append("<h2>Distributions</h2>")
    if plots:
        parts += [_image(p, p.stem.replace("_", " ")) for p in plots]
    else:
        parts.append(f"<p>{escape(PLOTS_NEED)}</p>")
    parts += ["<h2>Machine</h2>", _table(*summary.machine(results))]
    parts += ["<h2>Reproduce</h2>", _table(*summary.commands(results), code=1)]
    parts.append(f"<p>Whole run: <code>{escape(results['command'])}</code></p>")
    parts += [f"<p>{escape(note)}</p>" for note in results.get("notes", [])]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
