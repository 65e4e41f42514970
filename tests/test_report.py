"""report.html shows the findings: loci table with novelty and the nearest known association, numbers
formatted and no NaN; MR plots of the strongest multi-SNP pairs; the QQ plot of the strongest EDF;
Manhattan/QQ with their reference lines and band."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest


def _png(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.set_title(path.name, fontsize=3)
    fig.savefig(path)
    plt.close(fig)
    return path


@pytest.fixture
def run_dir(tmp_path):
    out = tmp_path / "run"
    (out / "gwas" / "plots").mkdir(parents=True)
    pd.DataFrame({"phenotype": ["edf_001", "edf_002", "edf_003"], "n": [1000] * 3, "variants_tested": [5000] * 3,
                  "lambda_gc": [1.01, 1.03, 0.99], "n_significant": [0, 12, 3]}).to_csv(
        out / "gwas" / "gwas_summary.tsv", sep="\t", index=False)
    for name in ("edf_001", "edf_002", "edf_003"):
        _png(out / "gwas" / "plots" / f"{name}.qq.png")
    _png(out / "gwas" / "plots" / "combined_min_p.manhattan.png")
    (out / "annotate").mkdir()
    pd.DataFrame({"locus": [1, 2], "variant_id": ["rs1", "rs2"], "chromosome": [1, 2],
                  "base_pair_location": [1234567, 7654321], "p_value": [3.2e-12, 4.5e-9],
                  "phenotypes": [",".join(f"edf_{i:03d}" for i in range(1, 29)), "edf_002"], "novel": [False, True],
                  "known_by": ["nearest", np.nan], "nearest_catalog_variant": ["rs9", np.nan],
                  "nearest_catalog_distance": [1200.0, np.nan], "nearest_catalog_trait": ["QT interval", np.nan],
                  "nearest_catalog_p_value": [1e-20, np.nan], "nearest_catalog_pubmed_id": [123, np.nan],
                  "ld_catalog_variant": [np.nan, np.nan], "ld_r2": [np.nan, np.nan], "nearest_gene": ["SCN5A", "NOS1AP"],
                  "gene_distance": [0, 500]}).to_csv(out / "annotate" / "annotated_loci.tsv", sep="\t", index=False)
    _png(out / "annotate" / "regional" / "locus1.regional.png")
    (out / "mr" / "plots").mkdir(parents=True)
    pd.DataFrame({"exposure": ["aaa_edf", "edf_002", "edf_002", "edf_003"], "outcome": ["AF", "AF", "AF", "MI"],
                  "method": ["Wald ratio", "Inverse variance weighted", "MR Egger", "Inverse variance weighted"],
                  "nsnp": [1, 5, 5, 3], "b": [0.5, 0.2, 0.25, 0.1], "se": [0.1, 0.02, 0.05, 0.05],
                  "pval": [1e-30, 1e-12, 1e-3, 0.04]}).to_csv(out / "mr" / "mr_results.tsv", sep="\t", index=False)
    for stem in ("aaa_edf__AF", "edf_002__AF", "edf_003__MI"):
        for kind in ("scatter", "leaveoneout"):
            _png(out / "mr" / "plots" / f"{stem}.{kind}.png")
    return out


def _gwas_of(rng, m: int = 4000) -> pd.DataFrame:
    """Summary statistics on chromosomes 1 and 2 with peaks at the fixture's loci (1:1234567, 2:7654321)."""
    chrom = np.repeat(["1", "2"], m // 2)
    pos = np.concatenate([np.linspace(1e6, 2e6, m // 2), np.linspace(7e6, 8.5e6, m // 2)]).round().astype(int)
    p = rng.random(m)
    for c, at, best in (("1", 1234567, 3.2e-12), ("2", 7654321, 4.5e-9)):
        i = int(np.flatnonzero(chrom == c)[np.argmin(np.abs(pos[chrom == c] - at))])
        pos[i], p[i] = at, best
        p[i + 1:i + 6] = best * 10 ** rng.uniform(1, 4, 5)
    return pd.DataFrame({"chromosome": chrom, "base_pair_location": pos, "effect_allele": "A", "other_allele": "G",
                         "beta": rng.normal(0, 0.1, m), "standard_error": 0.05, "effect_allele_frequency": 0.3,
                         "p_value": p, "variant_id": [f"v{j}" for j in range(m)], "n": 1000})


@pytest.fixture
def genetics_run_dir(run_dir):
    """``run_dir`` with what the report draws its own figures from: the GWAS stage's combined Manhattan points
    (.npz), the summary statistics of the EDF with most hits (edf_002) and the ldsc stage's h2.tsv."""
    from edfgen.plots.thin import GwasPlotAccumulator

    rng = np.random.default_rng(5)
    frames = {name: _gwas_of(rng) for name in ("edf_001", "edf_002", "edf_003")}
    for name, d in frames.items():
        d.to_csv(run_dir / "gwas" / f"{name}.tsv.gz", sep="\t", index=False)
    d = frames["edf_002"]
    acc = GwasPlotAccumulator(d["chromosome"].to_numpy(), d["base_pair_location"].to_numpy(), 3)
    acc.add(np.arange(len(d)), np.column_stack([f["p_value"] for f in frames.values()]))
    acc.manhattan_min_p(run_dir / "gwas" / "plots" / "combined_min_p.manhattan.png", study_wide=5e-8 / 3)
    (run_dir / "ldsc").mkdir()
    pd.DataFrame({"phenotype": ["edf_001", "edf_002", "edf_003"], "n": 1000, "mean_chi2": 1.1, "lambda_gc": 1.02,
                  "h2": [0.1, 0.2, 0.15], "h2_se": 0.03, "intercept": [1.01, 1.0234, 0.99], "intercept_se": 0.0123,
                  "ratio": 0.1, "ratio_se": 0.1}).to_csv(run_dir / "ldsc" / "h2.tsv", sep="\t", index=False)
    return run_dir


def _png_texts(html_text: str) -> dict[str, list]:
    """alt text -> the ``edfgen:texts`` chunk ([text, font px]) of every embedded PNG that carries one."""
    import base64
    import io
    import json

    from PIL import Image

    from edfgen.plots._mpl import TEXTS_KEY

    out = {}
    for alt, data in re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', html_text):
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            if TEXTS_KEY in im.text:
                out[alt] = json.loads(im.text[TEXTS_KEY])
    return out


def test_write_report__shows_findings_formatted(run_dir):
    from edfgen.report import write_report

    text = write_report(run_dir, command="edfgen run --config x.toml", reference_genome="GRCh38",
                        catalog="GWAS Catalog 2016-01-18 ECG-trait extract (346 rows)").read_text()
    assert "NaN" not in text and "nan" not in re.sub(r"data:image/png;base64,[^\"']+", "", text)
    captions = re.findall(r"<figcaption>([^<]+)</figcaption>", text)
    assert not [c for c in captions if c.endswith(".png")]       # captions say what a figure shows
    # QQ of the EDF with most hits (edf_002), not the alphabetically first
    assert any(c.startswith("QQ plot of edf_002, λGC = 1.030") for c in captions)
    assert not any("edf_001" in c for c in captions)
    # MR plots: strongest multi-SNP pairs; the 1-SNP Wald pair (smallest p) is not drawn
    mr_caps = [c for c in captions if c.startswith("MR ")]
    assert "MR scatter plot: edf_002 → AF" in mr_caps and not any("aaa_edf" in c for c in mr_caps)
    assert mr_caps.index("MR scatter plot: edf_002 → AF") < mr_caps.index("MR scatter plot: edf_003 → MI")
    assert any(c.startswith("Regional plot of locus") for c in captions)
    head = text[:text.index("<h2>Cohort")]
    for item in ("edfgen run --config x.toml", "GRCh38", "2016-01-18 ECG-trait extract (346 rows)", "gwas: 3 phenotypes"):
        assert item in head, item
    loci_html = text[text.index("Independent loci"):text.index("Mendelian randomization")].replace("\u200b", "")
    assert "novel against the GWAS Catalog 2016-01-18 ECG-trait extract (346 rows)" in loci_html
    header = re.findall(r"<th>([^<]+)</th>", loci_html)
    assert header.index("position") < header.index("p_value") < header.index("nearest_gene") < header.index("novel")
    assert header.index("phenotypes") > header.index("nearest_gene") and header[-1] != "novel"
    assert "edf_001, edf_002, edf_003 (+25 more)" in loci_html
    assert "3.20e-12" in loci_html and "1:1234567" in loci_html and "QT interval" in loci_html
    assert "white-space:nowrap" in text and "table.t th" in text and "sort" in text   # no wrapping; sortable
    mr_html = text[text.index("Mendelian randomization"):]
    assert "<td>1.00e-12</td>" in mr_html and "<td>0.2 (1.00e-12)</td>" in mr_html  # p scientific; b 3 digits
    assert "<td>0.25 (0.001)</td>" in mr_html and "<th>IVW / Wald b (p)</th>" in mr_html   # b (p) per method

def test_loci_table__neg_log10_p_shown_as_itself_and_ranks_leads_below_a_doubles_range():
    """Review s39edgefix: ``neg_log_10_p_value`` ends in ``_p_value``, so the report showed 1211.43 as a p
    ("1.21e+03") and 0 as "< 1e-300", and leads at p 0 (below a double's range) sat in file order. Now the
    column is shown as a -log10 (1211.43), the table ranks by it, and such a p is printed from it."""
    from edfgen.report import _loci_table

    loci = pd.DataFrame({"locus": [1, 2, 3, 4], "variant_id": ["a", "b", "c", "d"], "chromosome": ["1"] * 4,
                         "base_pair_location": [10, 20, 30, 40], "p_value": [1e-9, 0.0, 0.0, 0.5],
                         "neg_log_10_p_value": [9.0, 400.0 - np.log10(2.5), 1211.43, 0.30103],
                         "phenotypes": ["edf_001"] * 4})
    html = _loci_table(loci).replace("\u200b", "")
    rows = re.findall(r"<tr>\s*<td>(\d)</td>", html)
    assert rows == ["3", "2", "1", "4"], rows
    assert "1211.43" in html and "399.60" in html and "1.21e+03" not in html and "&lt; 1e-300" not in html
    assert "3.72e-1212" in html and "2.50e-400" in html and "1.00e-09" in html


def test_loci_table__lead_at_p_zero_without_its_neg_log10_ranked_first():
    """Review s39vif F1: a lead list with a literal p 0 and no ``neg_log_10_p_value`` (NaN) sorted last, so the
    40-row cap dropped the study's strongest lead from the page. It is ranked first now."""
    from edfgen.report import _loci_table

    n = 45
    p = np.r_[0.0, np.logspace(-9, -20, n - 1)]
    loci = pd.DataFrame({"locus": np.arange(1, n + 1), "variant_id": [f"rs{i}" for i in range(n)],
                         "chromosome": ["1"] * n, "base_pair_location": np.arange(n) * 1000 + 1,
                         "p_value": p, "neg_log_10_p_value": np.r_[np.nan, -np.log10(p[1:])],
                         "phenotypes": ["edf_001"] * n})
    html = _loci_table(loci).replace("\u200b", "")
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>", html)
    assert len(rows) == 40 and rows[0] == "1", rows[:3]                  # the p-0 lead kept, first
    assert rows[1:4] == ["45", "44", "43"], rows[:5]                       # then by -log10 p
    assert "5 more rows in the file" in html


def test_write_report__cohort_tables_keyed_by_eid(tmp_path):
    """UK Biobank tables name the participant ``eid`` (review s29 F1: the report raised KeyError 'IID'
    after every stage had run); the summary equals pandas' on the numbers, whichever id name or format."""
    from edfgen.report import write_report

    rng = np.random.default_rng(1)
    bio = pd.DataFrame({"eid": np.arange(1_000_001, 1_000_041), "QRS": rng.normal(90, 10, 40)})
    dis = pd.DataFrame({"eid": bio["eid"], "AF": (rng.random(40) < 0.25).astype(int)})
    bio.to_csv(tmp_path / "ecg_measures.tsv", sep="\t", index=False)
    dis.to_csv(tmp_path / "diseases.csv", index=False)
    out = tmp_path / "run"
    out.mkdir()
    text = write_report(out, biomarkers=tmp_path / "ecg_measures.tsv", outcomes=tmp_path / "diseases.csv").read_text()
    assert "eid" not in text
    cells = {m[0]: [float(v) for v in re.findall(r"<td>([-0-9.e]+)</td>", m[1])]
             for m in re.findall(r"<tr>\s*<td>(QRS|AF)</td>(.*?)</tr>", text, flags=re.S)}
    # QRS: count, mean, std, min, quartiles, max (shown to 3 significant digits); AF: the prevalence
    want = bio["QRS"].describe().to_numpy()
    assert cells["QRS"] == pytest.approx(want, rel=5e-3)
    assert cells["AF"] == pytest.approx([dis["AF"].mean()], rel=5e-3)
    # each table names its file and n (review s30j F6: a biobank's prevalences read as the cohort's)
    assert "Disease prevalence in the outcome GWAS sample (" in text and "diseases.csv, n = 40)" in text
    assert "Biomarkers (ecg_measures.tsv, n = 40)" in text


def test_qq_band__matches_simulated_order_statistics():
    from edfgen.plots.raster import qq_band

    rng = np.random.default_rng(0)
    n = 200
    sims = -np.log10(np.sort(rng.random((4000, n)), axis=1))
    ranks = np.array([1.0, 10.0, 100.0])
    lo, hi = qq_band(n, ranks)
    q = np.quantile(sims[:, ranks.astype(int) - 1], [0.025, 0.975], axis=0)
    np.testing.assert_allclose(lo, q[0], rtol=0.05)
    np.testing.assert_allclose(hi, q[1], rtol=0.05)


@pytest.fixture
def saved_figures(monkeypatch):
    """Every matplotlib figure saved during the test, in order (edfgen draws outside pyplot, so its figures are
    caught where they are written)."""
    from matplotlib.figure import Figure

    figs = []
    real_savefig = Figure.savefig

    def keep(self, *args, **kwargs):
        figs.append(self)
        return real_savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figs


def test_manhattan_and_qq__draw_lines_labels_and_band(tmp_path, saved_figures):
    from edfgen.plots import manhattan_plot, qq_plot

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"chromosome": np.repeat(["1", "2"], 500), "base_pair_location": np.tile(np.arange(500) * 1e4, 2),
                       "p_value": rng.random(1000), "variant_id": [f"v{i}" for i in range(1000)]})
    df.loc[[100, 101, 700], "p_value"] = [1e-12, 1e-10, 1e-9]  # 101 is within 1 Mb of 100: one label there
    manhattan_plot(df, tmp_path / "m.png", study_wide=5e-8 / 8)
    ax = saved_figures[-1].axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["v100", "v700"]
    ys = sorted(round(float(ln.get_ydata()[0]), 3) for ln in ax.lines)
    assert ys == sorted([round(-np.log10(v), 3) for v in (5e-8, 1e-5, 5e-8 / 8)])
    qq_plot(df["p_value"].to_numpy(), tmp_path / "q.png")
    ax = saved_figures[-1].axes[0]
    assert len(ax.collections) == 2  # the band (fill_between) and the points


def test_plots__leave_the_callers_matplotlib_backend_and_pyplot_figures_alone(tmp_path):
    """A notebook's backend (inline, widget, ...) stays selected after edfgen draws: edfgen's figures are made
    outside pyplot (review s32c: every edfgen plot switched it to Agg and the user's own figures stopped showing)."""
    import subprocess
    import sys

    code = f"""
import matplotlib
matplotlib.use("pdf")
import matplotlib.pyplot as plt
import numpy as np
mine = plt.figure()
from edfgen.plots import qq_plot
from edfgen.plots.heatmap import plot_heatmap
qq_plot(np.random.default_rng(0).random(500), {str(tmp_path / "q.png")!r})
plot_heatmap(np.ones((3, 2)), np.zeros((3, 2), bool), ["e1", "e2", "e3"], ["hr", "qt"], {str(tmp_path / "h.png")!r})
print(matplotlib.get_backend(), plt.get_fignums(), plt.gcf() is mine)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["pdf", "[1]", "True"]
    assert (tmp_path / "q.png").stat().st_size > 0 and (tmp_path / "h.png").stat().st_size > 0


def test_manhattan__gene_labels_strongest_first_without_overlaps(tmp_path, saved_figures):
    """Gene labels (one per gene, its strongest locus) are placed above their points, lifted when two would
    overlap, left out when there is no room; their font is the one asked for."""
    from edfgen.plots import manhattan_plot

    rng = np.random.default_rng(2)
    df = _gwas_of(rng)
    # six loci 20 kb apart on chromosome 1 (their labels collide), one gene twice, one on a chromosome not plotted
    # and one under the legend (upper right)
    genes = pd.DataFrame({"chromosome": ["1"] * 6 + ["2", "X", "2"],
                          "base_pair_location": [1234567 + 20000 * i for i in range(6)] + [7654321, 100, 8500000],
                          "p_value": [1e-12, 1e-11, 1e-10, 1e-9, 1e-9, 1e-8, 4.5e-9, 1e-30, 1e-12],
                          "label": ["AAA1", "BBB2", "CCC3", "DDD4", "AAA1", "EEE5", "SCN5A", "XGENE", "ZZZ9"]})
    figs = saved_figures
    manhattan_plot(df, tmp_path / "m.png", labels=genes, fontsize=10, width=1400, height=480)
    ax = figs[-1].axes[0]
    texts = [t for t in ax.texts]
    names = [t.get_text() for t in texts]
    assert names[0] == "AAA1" and "SCN5A" in names and "XGENE" not in names and names.count("AAA1") == 1
    assert all(t.get_fontsize() == 10 for t in texts)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    r = FigureCanvasAgg(figs[-1]).get_renderer()
    from matplotlib.text import Text

    boxes = [Text.get_window_extent(t, r) for t in texts]      # the text alone (an Annotation adds its leader line)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    legend = ax.get_legend().get_window_extent(r)
    assert not any(b.overlaps(legend) for b in boxes)
    assert len(names) >= 4      # lifted rather than dropped while there is room above


def test_manhattan_points__keys_match_data_dictionary_and_redraw_the_same_points(tmp_path):
    """The combined Manhattan's .npz holds the documented keys, and the plot redrawn from it puts the points
    where the GWAS stage's raster does (same pixel image, same x layout of a known variant)."""
    from edfgen.formats.dictionary import DICTIONARY_DIR
    from edfgen.plots.manhattan import _x_of, manhattan_from_points
    from edfgen.plots.raster import _Layout
    from edfgen.plots.thin import GwasPlotAccumulator

    doc = (DICTIONARY_DIR / "manhattan_points_npz.md").read_text()
    documented = {k for cell in re.findall(r"^\| (.+?) \|", doc, flags=re.M) for k in re.findall(r"`([^`]+)`", cell)}
    d = _gwas_of(np.random.default_rng(3))
    acc = GwasPlotAccumulator(d["chromosome"].to_numpy(), d["base_pair_location"].to_numpy(), 2)
    acc.add(np.arange(len(d)), np.column_stack([d["p_value"], d["p_value"].to_numpy()[::-1]]))
    acc.manhattan_min_p(tmp_path / "c.png", title="t")
    with np.load(tmp_path / "c.npz") as z:
        assert set(z.files) == documented
        top = float(z["top"])
        np.testing.assert_array_equal(z["points"], acc._manhattan_labels(2, acc._manhattan_top(2, 5e-8, None)))
        lay = _Layout(labels=tuple(z["chromosomes"]), keys=z["keys"], lo=z["lo"], offset=z["offset"], ticks=z["ticks"],
                      x0=float(z["x_range"][0]), x1=float(z["x_range"][1]))
    i = int(np.flatnonzero(d["base_pair_location"] == 7654321)[0])
    assert _x_of(lay, "2", 7654321) == pytest.approx(float(acc.layout.x(acc.chrom_index[i:i + 1],
                                                                           np.array([7654321.0]))[0]))
    assert top >= 8 and manhattan_from_points(tmp_path / "c.npz", tmp_path / "r.png").stat().st_size > 5000


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions", "--disable-sync",
                  "--hide-scrollbars", "--mute-audio"]

#: appended to a copy of the report: records console errors, script errors and images that fail to
#: decode into the DOM, which --dump-dom prints after the page has loaded
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push('error: ' + e.message), true);
const _ce = console.error; console.error = (...a) => { window.__errors.push('console: ' + a.join(' ')); _ce(...a); };
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt || i.src.slice(0, 40));
  const d = document.createElement('pre'); d.id = 'probe';
  d.textContent = 'PROBE images=' + imgs.length + ' broken=' + JSON.stringify(broken) +
                  ' errors=' + JSON.stringify(window.__errors) + ' width=' + document.documentElement.scrollWidth;
  document.body.appendChild(d);
});
</script>"""


def _chromium():
    import os
    import shutil

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):  # .ci/run installs Debian's chromium: never skip silently in CI
            pytest.fail("chromium not found (apt-get install chromium)")
        pytest.skip("chromium not installed")
    return exe


def test_report__renders_in_headless_chromium_without_errors_or_broken_images(run_dir, tmp_path):
    import json
    import subprocess

    from edfgen.report import write_report

    exe = _chromium()
    report = write_report(run_dir)
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    profile = tmp_path / "profile"
    r = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                        "--window-size=1280,2000", "--enable-logging=stderr", "--v=0", "--dump-dom", probe.as_uri()],
                       capture_output=True, text=True, timeout=180)
    m = re.search(r"PROBE images=(\d+) broken=(\[.*?\]) errors=(\[.*?\]) width=(\d+)", r.stdout)
    assert m, (r.stdout[-2000:], r.stderr[-2000:])
    n_img, broken, errors, width = int(m.group(1)), json.loads(m.group(2)), json.loads(m.group(3)), int(m.group(4))
    assert n_img >= 6 and broken == [] and errors == []
    # negative control: the probe does see a broken image and a console error
    bad = tmp_path / "bad.html"
    bad.write_text(probe.read_text().replace("<body>", "<body><img alt='x' src='data:image/png;base64,AAAA'>", 1)
                   .replace("</body>", "<script>console.error('boom')</script></body>"))
    rb = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                         "--dump-dom", bad.as_uri()], capture_output=True, text=True, timeout=180)
    mb = re.search(r"PROBE images=(\d+) broken=(\[.*?\]) errors=(\[.*?\])", rb.stdout)
    assert mb and json.loads(mb.group(2)) == ["x"] and "console: boom" in json.loads(mb.group(3))
    assert width <= 1280  # the loci table wraps instead of widening the page
    assert "Uncaught" not in r.stderr and "CONSOLE" not in r.stderr.replace("CONSOLE(0)", "")
    shot = tmp_path / "report.png"
    r = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,3000",
                        f"--screenshot={shot}", report.as_uri()], capture_output=True, text=True, timeout=180)
    assert shot.exists() and shot.stat().st_size > 10_000, r.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1280, 3000)
        assert len(np.unique(np.asarray(im.convert("L").resize((64, 150))))) > 5  # not a blank page


#: appended to a copy of the report: tables wider than their box (or than the page), figures without a
#: caption or alt text (or captioned with a file name), and whether the page is wider than the window
LAYOUT_PROBE = """<script>
window.addEventListener('load', () => {
  const over = Array.from(document.querySelectorAll('table')).filter(t => {
    const box = t.parentElement; const w = Math.min(box.clientWidth, document.documentElement.clientWidth);
    return t.scrollWidth > w + 1; }).map(t => (t.querySelector('th') || {}).innerText || t.className);
  const unlabelled = Array.from(document.images).filter(i => {
    const f = i.closest('figure'); const c = f && f.querySelector('figcaption');
    return !i.alt || !c || !c.innerText.trim() || /\\.png$/.test(c.innerText.trim()); }).map(i => i.alt || i.src.slice(0, 30));
  const shown = Array.from(document.images).map(i => [i.alt, i.clientWidth, i.naturalWidth]);
  const d = document.createElement('pre');
  d.textContent = 'LAYOUT ' + JSON.stringify({over: over, unlabelled: unlabelled, figures: document.images.length,
    page: document.documentElement.scrollWidth, window: window.innerWidth, shown: shown});
  document.body.appendChild(d);
});
</script>"""


def _layout(exe, page, width, profile):
    import json
    import subprocess

    r = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                        f"--window-size={width},2000", "--dump-dom", page.as_uri()], capture_output=True, text=True,
                       timeout=180)
    m = re.search(r"LAYOUT (\{.*\})", r.stdout)
    assert m, (r.stdout[-2000:], r.stderr[-2000:])
    return json.loads(m.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


#: smallest text (px on screen) of the report's own figures at a 1400 px window
MIN_TEXT_PX = 11.0


def legibility(got: dict, texts: dict[str, list]) -> dict[str, float]:
    """alt text -> the smallest font of that figure in screen pixels (font px in the PNG x shown / natural
    width), for the figures that list their texts."""
    import html as _html

    small = {}
    for alt, shown, natural in got["shown"]:
        t = texts.get(_html.escape(alt, quote=True)) or texts.get(alt)
        if t and natural:
            small[alt] = min(px for _, px in t) * shown / natural
    return small


@pytest.mark.parametrize("width", [1400, 800])
def test_report__no_overflowing_table_or_unlabelled_figure_at_1400_and_800_px(genetics_run_dir, tmp_path, width):
    """Item 5's check: at 1400 px no table is wider than its box; at 800 px wide tables scroll inside
    their box (the page never gets wider than the window); every figure has a caption and alt text
    that is not a file name. The Manhattan plots carry chromosome labels and the nearest gene of the loci,
    the QQ plot λGC and the LDSC intercept, and at 1400 px their text is at least 11 px on screen.
    Negative controls show the probe catches each fault."""
    from edfgen.report import write_report

    exe = _chromium()
    run_dir = genetics_run_dir
    report = write_report(run_dir, command="edfgen demo", reference_genome="GRCh38")
    page = tmp_path / "layout.html"
    text = report.read_text()
    page.write_text(text.replace("</body>", LAYOUT_PROBE + "</body>"))
    got = _layout(exe, page, width, tmp_path / "profile")
    assert got["figures"] >= 6 and got["unlabelled"] == []
    assert got["page"] <= got["window"]
    if width >= 1400:
        assert got["over"] == []
    # labelled figures: what the PNGs say they draw
    texts = _png_texts(text)
    man = {alt: [t for t, _ in v] for alt, v in texts.items() if alt.startswith("Manhattan plot")}
    qq = {alt: [t for t, _ in v] for alt, v in texts.items() if alt.startswith("QQ plot")}
    assert len(man) == 2 and len(qq) == 1, list(texts)
    for alt, drawn in man.items():
        assert {"1", "2", "chromosome"} <= set(drawn), (alt, drawn)          # chromosome labels
        assert {"SCN5A", "NOS1AP"} <= set(drawn), (alt, drawn)               # loci's nearest genes
    (qq_alt, drawn), = qq.items()
    assert "λGC = 1.030\nLDSC intercept = 1.023 (0.012)" in drawn and "LDSC intercept = 1.023" in qq_alt
    small = legibility(got, texts)
    assert set(small) == set(man) | set(qq)
    if width >= 1400:
        assert min(small.values()) >= MIN_TEXT_PX, small
    bad = tmp_path / "bad.html"
    wide = "<table><tr>" + "".join(f"<th>column_{i}_with_a_long_name</th>" for i in range(40)) + "</tr></table>"
    # negative control of legibility too: the combined Manhattan drawn with the GWAS stage's 7 pt text
    import base64

    from edfgen.plots.manhattan import manhattan_from_points

    compact = manhattan_from_points(run_dir / "gwas" / "plots" / "combined_min_p.manhattan.npz", tmp_path / "c.png",
                                    fontsize=7)
    combined = next(alt for alt in man if alt.startswith("Manhattan plot of the smallest p"))
    bad_text = re.sub(r'(<img alt="' + re.escape(combined) + r'" src="data:image/png;base64,)[^"]+',
                      lambda m: m.group(1) + base64.b64encode(compact.read_bytes()).decode(), page.read_text())
    bad.write_text(bad_text.replace("<body>", f"<body><figure><img alt='' src='x.png'></figure>{wide}", 1))
    got = _layout(exe, bad, width, tmp_path / "profile")
    assert got["unlabelled"] and "column_0_with_a_long_name" in got["over"] and got["page"] > got["window"]
    assert legibility(got, _png_texts(bad_text))[combined] < MIN_TEXT_PX


def test_mr_plots__binary_outcomes_on_the_log_odds_scale_with_labelled_axes(tmp_path, saved_figures):
    from edfgen.plots.mr import forest_plot, leaveoneout_plot, scatter_plot

    figs = saved_figures
    h = pd.DataFrame({"exposure": "edf_071", "outcome": "AF", "SNP": ["rs1", "rs2", "rs3"], "mr_keep": True,
                      "beta.exposure": [0.2, -0.3, 0.25], "se.exposure": 0.02, "beta.outcome": [0.1, -0.12, 0.11],
                      "se.outcome": 0.03})
    res = pd.DataFrame({"method": ["Inverse variance weighted"], "b": [0.45]})
    single = pd.DataFrame({"exposure": "edf_071", "outcome": "AF", "SNP": ["rs1", "rs2", "All - IVW"],
                           "method": ["Wald ratio", "Wald ratio", "Inverse variance weighted"],
                           "b": [0.5, 0.4, 0.45], "se": [0.1, 0.1, 0.07]})
    loo = pd.DataFrame({"exposure": "edf_071", "outcome": "AF", "SNP": ["rs1", "rs2", "All"], "b": [0.4, 0.5, 0.45],
                        "se": [0.1, 0.1, 0.07], "method": "Inverse variance weighted"})
    for binary in (True, False):
        figs.clear()
        scatter_plot(h, res, tmp_path / "s.png", binary=binary)
        forest_plot(single, tmp_path / "f.png", binary=binary)
        leaveoneout_plot(loo, tmp_path / "l.png", binary=binary)
        s, f, l = (fig.axes[0] for fig in figs[:3])
        assert s.get_xlabel() == "SNP effect on edf_071 (beta per allele)"
        assert s.get_ylabel() == f"SNP effect on AF ({'log odds ratio' if binary else 'beta'} per allele)"
        unit = "log odds ratio of AF per unit of edf_071" if binary else "AF per unit of edf_071"
        assert f.get_xlabel() == f"MR effect: {unit} (95% CI)" and unit in l.get_xlabel()
        # the log-odds scale: the plotted estimates are the betas themselves, not exp(beta)
        assert np.allclose(sorted(np.asarray(f.collections[-1].get_offsets())[:, 0]), [0.4, 0.45, 0.5])


def test_write_report__all_na_biomarker_named_not_estimable_and_model_from_manifest(tmp_path):
    """A biomarker without an estimable row (all NA in interpret's associations) made the report raise
    KeyError after every stage of ``edfgen run`` had finished (review s30j F3); the model line says which
    covariates interpret used (review s30j F7), not always "age and sex"."""
    import json

    from edfgen.report import write_report

    out = tmp_path / "run"
    (out / "interpret").mkdir(parents=True)
    pd.DataFrame({"edf": ["edf_001", "edf_002"] * 2, "biomarker": ["qt"] * 2 + ["troponin"] * 2,
                  "beta": [0.1, -0.3, np.nan, np.nan], "se": [0.05] * 2 + [np.nan] * 2,
                  "t": [2.0, -6.0, np.nan, np.nan], "p_value": [0.05, 1e-9, np.nan, np.nan],
                  "significant": [False, True, False, False]}).to_csv(
        out / "interpret" / "associations.tsv", sep="\t", index=False)
    (out / "interpret" / "manifest.json").write_text(json.dumps({"parameters": {"covariates": ["age"]}}))
    section = write_report(out).read_text()
    section = section[section.index("EDFs and known biomarkers"):]
    assert "OLS adjusted for age)" in section and "Not estimable" in section and "troponin" in section
    rows = re.findall(r"<tr>\s*<td>(edf_\d+)</td>\s*<td>(\w+)</td>", section)
    assert rows == [("edf_002", "qt")]
    (out / "interpret" / "manifest.json").write_text(json.dumps({"parameters": {"covariates": []}}))
    assert "OLS unadjusted)" in write_report(out).read_text()
