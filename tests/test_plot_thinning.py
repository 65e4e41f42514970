"""GwasPlotAccumulator: bounded summaries of streamed p-values against exact numpy / association references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from edfgen.kernels.association import lambda_gc as exact_lambda
from edfgen.plots import GwasPlotAccumulator
from edfgen.plots.raster import EVEN_COLOUR, ODD_COLOUR, _rgb


def _genome(m: int, n_chrom: int = 22):
    """Equal-length chromosomes 1..n_chrom, sorted by chromosome then position."""
    per = -(-m // n_chrom)
    chrom = np.repeat(np.arange(1, n_chrom + 1), per)[:m].astype(str)
    pos = np.tile(np.arange(per) * 1000 + 1, n_chrom)[:m]
    return chrom, pos


def _feed(acc: GwasPlotAccumulator, p: np.ndarray, *, block: int, seed: int | None = None) -> None:
    """Add p in blocks of ``block`` rows; with a seed, the blocks are shuffled and their rows permuted."""
    starts = np.arange(0, len(p), block)
    rng = None if seed is None else np.random.default_rng(seed)
    if rng is not None:
        starts = rng.permutation(starts)
    for s in starts:
        rows = np.arange(s, min(s + block, len(p)))
        if rng is not None:
            rows = rng.permutation(rows)
        acc.add(rows, p[rows])


def test_lambda_gc__matches_exact_on_uniform_and_inflated_p():
    rng = np.random.default_rng(0)
    m = 100_000
    chrom, pos = _genome(m)
    uniform = rng.random(m)
    inflated = stats.chi2.sf(1.3 * rng.chisquare(1, m), 1)  # lambda ~ 1.3
    deflated = stats.chi2.sf(0.8 * rng.chisquare(1, m), 1)
    p = np.column_stack([uniform, inflated, deflated])
    p[rng.random(p.shape) < 0.05] = np.nan  # not tested
    acc = GwasPlotAccumulator(chrom, pos, 3)
    _feed(acc, p, block=7_000, seed=1)
    for j in range(3):
        col = p[:, j]
        assert acc.n_tested(j) == np.isfinite(col).sum()
        assert acc.median_p(j) == pytest.approx(np.nanmedian(col), abs=2e-5)
        assert acc.lambda_gc(j) == pytest.approx(exact_lambda(col), rel=1e-3)
    assert 1.25 < acc.lambda_gc(1) < 1.35


def test_median_p__exact_when_below_keep_p():
    # strong inflation: the median p falls among the exactly kept points
    rng = np.random.default_rng(2)
    m = 2_001
    chrom, pos = _genome(m)
    p = rng.random(m) * 1e-4
    acc = GwasPlotAccumulator(chrom, pos, 1)
    acc.add(np.arange(m), p[:, None])
    assert acc.median_p(0) == np.median(p)
    assert acc.lambda_gc(0) == pytest.approx(exact_lambda(p), rel=1e-12)


def test_n_below__exact_counts():
    rng = np.random.default_rng(3)
    m, n_ph = 50_000, 4
    chrom, pos = _genome(m)
    p = rng.random((m, n_ph))
    hits = rng.choice(m, 40, replace=False)
    p[hits, 0] = 10.0 ** -rng.uniform(3, 40, 40)
    p[hits[:5], 0] = [5e-8, 4.9999e-8, 1e-3, 0.0, 1e-300]  # on and beside the thresholds; an underflow
    acc = GwasPlotAccumulator(chrom, pos, n_ph)
    _feed(acc, p, block=3_333, seed=4)
    for j in range(n_ph):
        for t in (1e-3, 1e-5, 5e-8, 1e-12):
            assert acc.n_below(j, t) == int((p[:, j] < t).sum())
    with pytest.raises(ValueError, match="keep_p"):
        acc.n_below(0, 0.01)


def test_min_p__equals_numpy_min_across_phenotypes(tmp_path):
    rng = np.random.default_rng(5)
    m, n_ph = 20_000, 6
    chrom, pos = _genome(m)
    p = rng.random((m, n_ph)) ** 2
    p[rng.random(p.shape) < 0.2] = np.nan
    p[:10] = np.nan  # never tested
    p[100, 3] = 1e-20
    acc = GwasPlotAccumulator(chrom, pos, n_ph)
    _feed(acc, p, block=4_096, seed=6)
    pmin = np.nanmin(np.where(np.isnan(p), np.inf, p), axis=1)
    pmin[~np.isfinite(pmin)] = np.nan
    ref = GwasPlotAccumulator(chrom, pos, 1)
    ref.add(np.arange(m), pmin[:, None])
    np.testing.assert_array_equal(acc.grid[n_ph], ref.grid[0])
    r, c, q = acc._kept_arrays()
    sel = c == n_ph
    small = np.flatnonzero(pmin < acc.keep_p)
    np.testing.assert_array_equal(np.sort(r[sel]), small)
    np.testing.assert_array_equal(np.sort(q[sel]), np.sort(pmin[small]))
    a = acc.manhattan_min_p(tmp_path / "a.png", title="min", study_wide=5e-8 / n_ph)
    b = ref.manhattan(0, tmp_path / "b.png", title="min", study_wide=5e-8 / n_ph)
    assert a.read_bytes() == b.read_bytes()


def test_state__per_phenotype_memory_independent_of_m():
    sizes = {}
    for m in (10_000, 1_000_000):
        chrom, pos = _genome(m)
        acc = GwasPlotAccumulator(chrom, pos, 2)
        rng = np.random.default_rng(7)
        for s in range(0, m, 250_000):
            rows = np.arange(s, min(m, s + 250_000))
            acc.add(rows, rng.random((len(rows), 2)))
        sizes[m] = acc.state_nbytes()
    assert sizes[10_000]["per_phenotype"] == sizes[1_000_000]["per_phenotype"]
    assert sizes[1_000_000]["per_phenotype"] < 1_000_000  # ~0.3 MB per phenotype (+ the min-p channel)
    # kept points: ~ M * keep_p per phenotype and ~ P * M * keep_p for the minimum p, 18 bytes each
    assert sizes[1_000_000]["kept"] < 1.5 * (2 + 2) * 1_000_000 * 1e-3 * 18


def _read(path):
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    return (img[..., :3] * 255).round().astype(np.uint8)


def test_manhattan__planted_hit_drawn_in_its_chromosome(tmp_path):
    rng = np.random.default_rng(8)
    m = 22_000
    chrom, pos = _genome(m)
    p = rng.random((m, 2))
    in_chr3 = np.flatnonzero(chrom == "3")
    p[in_chr3[500], 0] = 1e-30
    p[np.flatnonzero(chrom == "20")[100], 1] = 1e-12
    acc = GwasPlotAccumulator(chrom, pos, 2, width=1600, height=400)
    _feed(acc, p, block=5_000)
    img = _read(acc.manhattan(0, tmp_path / "m0.png", title="edf_001"))
    assert img.shape == (400, 1600, 3)
    box = acc.box
    area = img[box.rows(), box.cols()][::-1]  # bottom-up
    top = 40.0  # ylim for -log10 p = 30
    assert acc._manhattan_top(0, 5e-8, None) == top
    # chromosome 3 (odd key): dark dots; everything above -log10 p = 8 is that one point
    dark = np.all(area == _rgb(ODD_COLOUR), axis=-1)
    rows, cols = np.nonzero(dark[int(8 / top * box.ah):])
    assert len(rows) >= 2
    frac = cols / box.aw
    assert np.all((frac > 2 / 22 - 0.01) & (frac < 3 / 22 + 0.01))  # chromosomes have equal spans here
    y = (rows + int(8 / top * box.ah)) / box.ah * top
    assert np.all(np.abs(y - 30) < 0.5)
    # bulk points are drawn in both colours, in many pixel columns
    assert dark[: box.ah // 10].any(axis=0).sum() > 500
    light = np.all(area == _rgb(EVEN_COLOUR), axis=-1)
    assert light[: box.ah // 10].any(axis=0).sum() > 500
    img1 = _read(acc.manhattan(1, tmp_path / "m1.png", title="edf_002", study_wide=1e-9))
    area1 = img1[box.rows(), box.cols()][::-1]
    light1 = np.all(area1 == _rgb(EVEN_COLOUR), axis=-1)
    top1 = acc._manhattan_top(1, 5e-8, 1e-9)
    rows, cols = np.nonzero(light1[int(10 / top1 * box.ah):])
    assert len(rows) and np.all((cols / box.aw > 19 / 22 - 0.01) & (cols / box.aw < 20 / 22 + 0.01))


def test_plots__identical_for_any_block_order(tmp_path):
    rng = np.random.default_rng(9)
    m, n_ph = 30_000, 3
    chrom, pos = _genome(m)
    p = rng.random((m, n_ph)) ** 1.5
    p[rng.choice(m, 30), 1] = 1e-9
    out = []
    for k, (block, seed) in enumerate([(30_000, None), (1_000, 10), (777, 11)]):
        acc = GwasPlotAccumulator(chrom, pos, n_ph, width=900, height=300)
        _feed(acc, p, block=block, seed=seed)
        files = [acc.manhattan(j, tmp_path / f"{k}_m{j}.png", title=f"p{j}") for j in range(n_ph)]
        files += [acc.qq(j, tmp_path / f"{k}_q{j}.png", title=f"p{j}") for j in range(n_ph)]
        files.append(acc.manhattan_min_p(tmp_path / f"{k}_min.png", title="min", study_wide=5e-8 / n_ph))
        out.append([f.read_bytes() for f in files])
        assert all(len(b) > 3000 for b in out[-1])
    assert out[0] == out[1] == out[2]


def test_qq__quantiles_follow_sorted_p(tmp_path):
    rng = np.random.default_rng(12)
    m = 60_000
    chrom, pos = _genome(m)
    p = stats.chi2.sf(1.2 * rng.chisquare(1, m), 1)
    acc = GwasPlotAccumulator(chrom, pos, 1)
    _feed(acc, p[:, None], block=6_000, seed=13)
    ranks = np.unique(np.r_[np.arange(1, 200), np.geomspace(200, m, 300).astype(int)])
    observed = -np.log10(np.sort(p))[ranks - 1]
    got = acc._qq_quantile(0, ranks)
    small = np.sort(p)[ranks - 1] < acc.keep_p
    np.testing.assert_array_equal(got[small], observed[small])  # exact kept points
    np.testing.assert_allclose(got[~small], observed[~small], atol=3 / 4096 + 1e-9)  # one -log10 bin
    img = _read(acc.qq(0, tmp_path / "q.png", title="edf_001"))
    assert img.shape == (400, 400, 3)
    box = acc.qq_box
    area = img[box.rows(), box.cols()][::-1]
    xtop, ytop, n = acc._qq_limits(0)
    pts = np.all(area == _rgb("#1b2a41"), axis=-1)
    # the most significant point: at expected -log10(0.5 / n), observed -log10 min p
    col = int(-np.log10(0.5 / n) / xtop * box.aw)
    row = int(observed[0] / ytop * box.ah)
    assert pts[row - 1:row + 2, col - 1:col + 2].any()


def test_add__rejects_bad_blocks():
    chrom, pos = _genome(100)
    acc = GwasPlotAccumulator(chrom, pos, 2)
    with pytest.raises(ValueError, match=r"\[B, 2\]"):
        acc.add(np.arange(10), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="rows must be integers"):
        acc.add(np.arange(95, 105), np.zeros((10, 2)))
    acc.add(np.arange(100), np.full((100, 2), 0.5))
    with pytest.raises(ValueError, match="added twice"):
        acc.add(np.arange(1), np.zeros((1, 2)))


def test_layout__chromosome_labels_merged_and_ordered():
    chrom = np.array(["chrX", "2", "chr2", "10", "1", 1, "chr10"], dtype=object)
    pos = np.array([5, 10, 20, 7, 3, 4, 9])
    acc = GwasPlotAccumulator(chrom, pos, 1)
    assert acc.layout.labels == ("1", "2", "10", "X")
    x = acc.xpix.astype(int)
    assert x[4] < x[5] < x[1] < x[2] < x[3] < x[6] < x[0]  # by chromosome, then position
    with pytest.raises(ValueError, match="chromosome has missing"):
        GwasPlotAccumulator(np.array(["1", None], dtype=object), np.array([1, 2]), 1)


def test_untested_phenotype__nan_statistics_and_empty_plots(tmp_path):
    chrom, pos = _genome(1_000)
    p = np.random.default_rng(14).random((1_000, 2))
    p[:, 1] = np.nan
    acc = GwasPlotAccumulator(chrom, pos, 2)
    acc.add(np.arange(1_000), p)
    assert acc.n_tested(1) == 0 and np.isnan(acc.median_p(1)) and np.isnan(acc.lambda_gc(1))
    assert acc.n_below(1, 1e-3) == 0
    for f in (acc.manhattan(1, tmp_path / "m.png", title="none"), acc.qq(1, tmp_path / "q.png", title="none")):
        img = _read(f)
        box = acc.box if f.name == "m.png" else acc.qq_box
        area = img[box.rows(), box.cols()]
        assert not np.all(area == _rgb(ODD_COLOUR), axis=-1).any()
        assert not np.all(area == _rgb(EVEN_COLOUR), axis=-1).any()
    with pytest.raises(ValueError, match="phenotype index 2"):
        acc.qq(2, tmp_path / "x.png")
