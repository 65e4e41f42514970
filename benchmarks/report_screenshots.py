"""Screenshots of a run's report.html in headless Chromium at 1400 and 800 px, with item 5's layout
checks (tables wider than their box, page wider than the window, figures without caption/alt text, the smallest
text of the report's own figures in screen pixels, gene labels on the Manhattan plots, λGC and the LDSC intercept
on the QQ plot).

Usage: ``python benchmarks/report_screenshots.py RUN_DIR [--tag demo]`` (RUN_DIR: an ``edfgen run``/``demo``
output). Writes ``results/report_<tag>_<width>.png`` and ``results/report_<tag>.json`` + ``.md``.
The layout probe is the one ``tests/test_report.py`` checks (imported from there).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from test_report import CHROMIUM_FLAGS, LAYOUT_PROBE, MIN_TEXT_PX, _layout, _png_texts, legibility  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--tag", default="demo")
    a = ap.parse_args()
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    report = a.run_dir / "report.html"
    results, res = HERE / "results", {"report": str(report), "bytes": report.stat().st_size,
                                     "load_average": os.getloadavg()}
    text = report.read_text()
    texts = _png_texts(text)
    drawn = {alt: [t for t, _ in v] for alt, v in texts.items()}
    res["figures_listing_texts"] = {alt: {"texts": len(v), "smallest_font_px_in_png": min(px for _, px in v)}
                                    for alt, v in texts.items()}
    res["manhattan_labels"] = {alt: [t for t in v if t.isupper() or t.startswith("rs")]
                               for alt, v in drawn.items() if alt.startswith("Manhattan")}
    res["qq_notes"] = {alt: [t for t in v if "λGC" in t] for alt, v in drawn.items() if alt.startswith("QQ")}
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "layout.html"
        page.write_text(text.replace("</body>", LAYOUT_PROBE + "</body>"))
        for width in (1400, 800):
            shot = results / f"report_{a.tag}_{width}.png"
            subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/p", f"--window-size={width},2400",
                            f"--screenshot={shot}", report.resolve().as_uri()], capture_output=True, timeout=300)
            got = _layout(exe, page, width, Path(tmp) / "p")
            got["smallest_text_px"] = {k: round(v, 1) for k, v in legibility(got, texts).items()}
            got.pop("shown")
            res[str(width)] = {**got, "screenshot": shot.name}
    (results / f"report_{a.tag}.json").write_text(json.dumps(res, indent=2))
    lines = [f"# report.html layout ({a.tag})", "", f"{report} ({res['bytes']:,} bytes), headless Chromium.", "",
             "| width | figures | unlabelled figures | tables wider than their box | page / window px | smallest text "
             "of the report's Manhattan/QQ plots (screen px) | screenshot |",
             "|---|---|---|---|---|---|---|"]
    for w in ("1400", "800"):
        r = res[w]
        small = min(r["smallest_text_px"].values()) if r["smallest_text_px"] else float("nan")
        lines.append(f"| {w} | {r['figures']} | {len(r['unlabelled'])} | {', '.join(r['over']) or 'none'} | "
                     f"{r['page']} / {r['window']} | {small:.1f} (goal at 1400: >= {MIN_TEXT_PX:g}) | "
                     f"`{r['screenshot']}` |")
    lines += ["", "At 800 px the wide tables scroll inside their own box (the page is never wider than the window); "
              "the smallest-text column covers the figures the report draws itself (their PNGs list their texts).",
              "", "Gene labels on the Manhattan plots:", ""]
    lines += [f"* {alt}: {', '.join(v) or 'none'}" for alt, v in res["manhattan_labels"].items()]
    lines += ["", "QQ plot notes:", ""]
    lines += [f"* {alt}: {' / '.join(x.replace(chr(10), '; ') for x in v) or 'none'}" for alt, v in res["qq_notes"].items()]
    (results / f"report_{a.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
