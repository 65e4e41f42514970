"""Screenshots of a run's report.html in headless Chromium at 1400 and 800 px, with item 5's layout
checks (tables wider than their box, page wider than the window, figures without caption/alt text).

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

from test_report import CHROMIUM_FLAGS, LAYOUT_PROBE, _layout  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--tag", default="demo")
    a = ap.parse_args()
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    report = a.run_dir / "report.html"
    results, res = HERE / "results", {"report": str(report), "bytes": report.stat().st_size,
                                     "load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "layout.html"
        page.write_text(report.read_text().replace("</body>", LAYOUT_PROBE + "</body>"))
        for width in (1400, 800):
            shot = results / f"report_{a.tag}_{width}.png"
            subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/p", f"--window-size={width},2400",
                            f"--screenshot={shot}", report.resolve().as_uri()], capture_output=True, timeout=300)
            res[str(width)] = {**_layout(exe, page, width, Path(tmp) / "p"), "screenshot": shot.name}
    (results / f"report_{a.tag}.json").write_text(json.dumps(res, indent=2))
    lines = [f"# report.html layout ({a.tag})", "", f"{report} ({res['bytes']:,} bytes), headless Chromium.", "",
             "| width | figures | unlabelled figures | tables wider than their box | page / window px | screenshot |",
             "|---|---|---|---|---|---|"]
    for w in ("1400", "800"):
        r = res[w]
        lines.append(f"| {w} | {r['figures']} | {len(r['unlabelled'])} | {', '.join(r['over']) or 'none'} | "
                     f"{r['page']} / {r['window']} | `{r['screenshot']}` |")
    (results / f"report_{a.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
