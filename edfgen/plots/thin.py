"""Cheap Manhattan and QQ plots of many phenotypes from p-values streamed block by block.

A GWAS of P phenotypes over M variants used to keep the whole ``[M, P]`` p-value matrix for its
plots and to draw every phenotype with a matplotlib scatter of ~M points. :class:`GwasPlotAccumulator`
instead keeps, per phenotype, summaries whose size does not depend on M:

* the points with ``p < keep_p`` exactly (variant row and p; few by construction),
* a pixel-occupancy grid of every other point (x: pixel column of the genome position at plot
  width, y: a bin of ``-log10 p`` in ``[0, -log10 keep_p)``), which is all a raster Manhattan plot
  needs of them,
* a histogram of ``-log10 p`` on ``[0, -log10 keep_p)`` (QQ plot bulk) and a fine uniform-in-p
  histogram (median p and lambda_GC).

Drawing is a raster: the points are painted into a pixel array that is composited onto the axes,
ticks, lines and legend drawn once by matplotlib (cached per y range), and written as a PNG with
fast compression. The look follows the earlier scatter plots (alternating chromosome colours,
genome-wide, suggestive and study-wide lines, chromosome labels, QQ null band and lambda_GC).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from edfgen.formats.tables import atomic_path
from edfgen.plots._mpl import save_png
from edfgen.plots.raster import (BAND_ALPHA, BAND_COLOUR, EVEN_COLOUR, N_QQ_BINS, N_UNIFORM_BINS, ODD_COLOUR,
                                 P_FLOOR, QQ_COLOUR, QQ_SINGLE_RANKS, _manhattan_axes, _qq_axes, _Box, _dilate,
                                 _figure, _layout, _MANHATTAN_MIN_TOP, _PNG, _nice_top, _Renderer, _rgb,
                                 _rgba, place_labels, qq_band)
from edfgen.kernels.thresholds import GENOME_WIDE, SUGGESTIVE


class GwasPlotAccumulator:
    """Bounded-memory summaries of streamed p-values for Manhattan and QQ plots of many phenotypes.

    Parameters
    ----------
    chromosome, position : array [M]
        Chromosome label and base-pair position of ALL variants to be tested (known before the
        pass), in output order; they give the x layout (chromosomes side by side, in
        :func:`edfgen.formats.sumstats.chrom_key` order).
    n_phenotypes : int
        Columns P of every block given to :meth:`add`.
    keep_p : float
        Points with ``p < keep_p`` are kept exactly (default 1e-3); every other point is reduced
        to pixel occupancy and histograms.
    width, height : int
        Manhattan plot size in pixels (the QQ plot is ``height`` x ``height``).

    Notes
    -----
    Memory:

    * per phenotype (and once more for the minimum p over phenotypes) an occupancy grid of
      ``(ceil(ah * -log10(keep_p) / 8) + 1) x aw`` bytes (axes height/width ``ah``, ``aw`` in pixels: 127 x 1532
      for the defaults, 195 kB), a uniform-in-p histogram of 2^14 and a ``-log10 p`` histogram of
      2^12 int32 counts (80 kB): about 0.28 MB per phenotype, **independent of M**;
    * the kept points, 16 bytes each (row as int64, p as float64) plus 2 bytes of phenotype index;
      under the null about ``M * keep_p`` per phenotype;
    * the x layout shared by all phenotypes: 2 bytes (uint16 pixel column) + 2 bytes (int16 chromosome)
      per variant;
    * the renderer: up to 16 cached backgrounds (axes drawn per y range, ``width x height x 3``
      bytes each, 1.9 MB for the defaults) and one matplotlib figure per plot style.

    Each variant row must be added once, with all P phenotypes (NaN where not tested). The result
    does not depend on the order or the sizes of the blocks. Not thread-safe (one renderer with
    cached matplotlib figures per accumulator).
    """

    def __init__(self, chromosome: np.ndarray, position: np.ndarray, n_phenotypes: int, *,
                 keep_p: float = 1e-3, width: int = 1600, height: int = 400) -> None:
        chromosome = np.asarray(chromosome)
        position = np.asarray(position)
        if chromosome.ndim != 1 or position.shape != chromosome.shape:
            raise ValueError(f"GwasPlotAccumulator: chromosome {chromosome.shape} and position {position.shape} "
                             "must be 1-D arrays of the same length")
        if int(n_phenotypes) < 1:
            raise ValueError(f"GwasPlotAccumulator: n_phenotypes={n_phenotypes} must be >= 1")
        if not 0 < keep_p < 1:
            raise ValueError(f"GwasPlotAccumulator: keep_p={keep_p} must be in (0, 1)")
        if width < 200 or height < 150:
            raise ValueError(f"GwasPlotAccumulator: width={width}, height={height} too small (>= 200 x 150 pixels)")
        self.n_variants = len(chromosome)
        self.n_phenotypes = P = int(n_phenotypes)
        self.keep_p = float(keep_p)
        self.box = _Box(int(width), int(height))
        self.qq_box = _Box(int(height), int(height))
        self.layout, self.chrom_index, x = _layout(chromosome, position)
        aw = self.box.aw
        lay = self.layout
        self.xpix = np.clip(((x - lay.x0) / (lay.x1 - lay.x0) * aw).astype(np.int64), 0, aw - 1).astype(np.uint16)
        del x
        # colour of each pixel column: parity of the chromosome under the column's centre
        centre = lay.x0 + (np.arange(aw) + 0.5) * ((lay.x1 - lay.x0) / aw)
        col_chrom = np.clip(np.searchsorted(lay.offset, centre, side="right") - 1, 0, None)
        self._col_odd = lay.keys[col_chrom] % 2 == 1 if len(lay.keys) else np.zeros(aw, bool)
        self._y_low = -np.log10(self.keep_p)
        self.grid_height = int(np.ceil(self.box.ah * self._y_low / _MANHATTAN_MIN_TOP)) + 1
        # channel P is the minimum p across phenotypes
        self.grid = np.zeros((P + 1, self.grid_height, aw), dtype=np.uint8)
        self.hist_uniform = np.zeros((P, N_UNIFORM_BINS), dtype=np.int32)
        self.hist_log = np.zeros((P, N_QQ_BINS), dtype=np.int32)
        self.n_tested_ = np.zeros(P, dtype=np.int64)
        self.y_max = np.zeros(P + 1)
        self._kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._kept_cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.rows_added = 0
        self._renderer = _Renderer()

    # ------------------------------------------------------------------ accumulation
    def add(self, rows: np.ndarray, p: np.ndarray) -> None:
        """Add a block.

        Parameters
        ----------
        rows : int array [B]
            Indices into ``chromosome``/``position`` (any order).
        p : float array [B, n_phenotypes]
            p-values; NaN (or any non-finite value) = not tested; values are clipped to [0, 1].
        """
        rows = np.asarray(rows)
        p = np.asarray(p, dtype=float)
        P = self.n_phenotypes
        if p.ndim == 1 and P == 1:
            p = p[:, None]
        if rows.ndim != 1 or p.shape != (len(rows), P):
            raise ValueError(f"GwasPlotAccumulator.add: rows {rows.shape} and p {p.shape} must be [B] and [B, {P}]")
        if not len(rows):
            return
        if not np.issubdtype(rows.dtype, np.integer) or rows.min() < 0 or rows.max() >= self.n_variants:
            raise ValueError(f"GwasPlotAccumulator.add: rows must be integers in [0, {self.n_variants})")
        self.rows_added += len(rows)
        if self.rows_added > self.n_variants:
            raise ValueError(f"GwasPlotAccumulator.add: {self.rows_added} rows added for {self.n_variants} variants "
                             "(a row was added twice)")
        with np.errstate(invalid="ignore"):
            pmin = np.fmin.reduce(p, axis=1)
        pe = np.empty((len(rows), P + 1))
        pe[:, :P] = p
        pe[:, P] = pmin
        fin = np.isfinite(pe)
        np.clip(pe, 0.0, 1.0, out=pe)
        pe[~fin] = 1.0  # placeholders, masked below
        fin_p = fin[:, :P]
        self.n_tested_ += fin_p.sum(axis=0)
        ch = np.broadcast_to(np.arange(P + 1), pe.shape)
        # fine uniform histogram of all tested p (median p, lambda_GC)
        ub = np.minimum((pe[:, :P] * N_UNIFORM_BINS).astype(np.int64), N_UNIFORM_BINS - 1)
        ub += ch[:, :P] * N_UNIFORM_BINS
        self.hist_uniform += np.bincount(ub[fin_p], minlength=P * N_UNIFORM_BINS).reshape(P, N_UNIFORM_BINS)
        y = -np.log10(np.maximum(pe, P_FLOOR))
        small = fin & (pe < self.keep_p)
        bulk = fin & ~small
        # -log10 p histogram of the bulk (QQ)
        qb = np.minimum((y[:, :P] * (N_QQ_BINS / self._y_low)).astype(np.int64), N_QQ_BINS - 1)
        qb += ch[:, :P] * N_QQ_BINS
        self.hist_log += np.bincount(qb[bulk[:, :P]], minlength=P * N_QQ_BINS).reshape(P, N_QQ_BINS)
        # occupancy grid of the bulk
        gh, aw = self.grid_height, self.box.aw
        gb = np.minimum((y * (gh / self._y_low)).astype(np.int64), gh - 1)
        flat = (ch * gh + gb) * aw + self.xpix[rows].astype(np.int64)[:, None]
        self.grid.reshape(-1)[flat[bulk]] = 1
        # exact small p
        r_i, c_i = np.nonzero(small)
        if len(r_i):
            self._kept.append((rows[r_i].astype(np.int64), c_i.astype(np.int16), pe[r_i, c_i]))
            self._kept_cache = None
        ymax = np.where(fin, y, 0.0).max(axis=0)
        np.maximum(self.y_max, ymax, out=self.y_max)

    def _kept_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Kept points (row, channel, p) sorted by channel then p then row (independent of block order)."""
        if self._kept_cache is None:
            if self._kept:
                r = np.concatenate([k[0] for k in self._kept])
                c = np.concatenate([k[1] for k in self._kept])
                p = np.concatenate([k[2] for k in self._kept])
                o = np.lexsort((r, p, c))
                self._kept = [(r[o], c[o], p[o])]
            else:
                self._kept = [(np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0))]
            self._kept_cache = self._kept[0]
        return self._kept_cache

    def _kept_of(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        r, c, p = self._kept_arrays()
        a, b = np.searchsorted(c, [j, j + 1])
        return r[a:b], p[a:b]

    def _check(self, j: int, *, combined: bool = False) -> int:
        j = int(j)
        if not 0 <= j < self.n_phenotypes + combined:
            raise ValueError(f"GwasPlotAccumulator: phenotype index {j} not in [0, {self.n_phenotypes})")
        return j

    def state_nbytes(self) -> dict[str, int]:
        """Bytes held: ``per_phenotype`` (grids, histograms: independent of M), ``kept`` (the
        exact points with p < keep_p) and ``layout`` (x pixel and chromosome per variant)."""
        r, c, p = self._kept_arrays()
        return {"per_phenotype": int(self.grid.nbytes + self.hist_uniform.nbytes + self.hist_log.nbytes
                                     + self.n_tested_.nbytes + self.y_max.nbytes),
                "kept": int(r.nbytes + c.nbytes + p.nbytes),
                "layout": int(self.xpix.nbytes + self.chrom_index.nbytes)}

    # ------------------------------------------------------------------ statistics
    def n_tested(self, j: int) -> int:
        """Number of finite p-values of phenotype ``j``."""
        return int(self.n_tested_[self._check(j)])

    def n_below(self, j: int, threshold: float) -> int:
        """Exact number of p-values of phenotype ``j`` below ``threshold`` (``threshold <= keep_p``)."""
        j = self._check(j)
        if not threshold <= self.keep_p:
            raise ValueError(f"GwasPlotAccumulator.n_below: threshold={threshold} above keep_p={self.keep_p}; "
                             "only p < keep_p are kept exactly")
        _, p = self._kept_of(j)
        return int(np.searchsorted(p, threshold, side="left"))

    def _order_stat(self, j: int, k: int) -> float:
        """The k-th smallest (0-based) p of phenotype j: exact among the kept points, else from the
        uniform histogram with the bin's points spread evenly inside it."""
        _, kp = self._kept_of(j)
        if k < len(kp):
            return float(kp[k])
        h = self.hist_uniform[j]
        cum = np.cumsum(h)
        b = int(np.searchsorted(cum, k, side="right"))
        before = cum[b] - h[b]
        return float((b + (k - before + 0.5) / h[b]) / N_UNIFORM_BINS)

    def _middle(self, j: int) -> list[float]:
        n = self.n_tested(j)
        if n == 0:
            return []
        return [self._order_stat(j, n // 2)] if n % 2 else [self._order_stat(j, n // 2 - 1),
                                                            self._order_stat(j, n // 2)]

    def median_p(self, j: int) -> float:
        """Median p of phenotype ``j`` (NaN when none was tested), from a 2^14-bin histogram with
        linear interpolation inside the median's bin (exact where the median is below keep_p)."""
        mid = self._middle(j)
        return float(np.mean(mid)) if mid else float("nan")

    def lambda_gc(self, j: int) -> float:
        """Genomic inflation factor: median chi-square(1) of the p-values / 0.4549364, as
        :func:`edfgen.kernels.association.lambda_gc`, with the median p of :meth:`median_p`.

        References
        ----------
        Devlin B, Roeder K (1999) Genomic control for association studies. Biometrics 55:997-1004.
        """
        from scipy import special  # scipy only when a plot is drawn

        mid = self._middle(j)
        if not mid:
            return float("nan")
        return float(np.mean(special.chdtri(1, np.array(mid))) / special.chdtri(1, 0.5))

    # ------------------------------------------------------------------ Manhattan
    def _manhattan_top(self, c: int, threshold: float, study_wide: float | None) -> float:
        lines = [-np.log10(threshold)] + ([-np.log10(study_wide)] if study_wide is not None else [])
        return max(_nice_top(max(self.y_max[c], *lines) * 1.05), _MANHATTAN_MIN_TOP)

    def _manhattan_labels(self, c: int, top: float) -> np.ndarray:
        """[ah, aw] uint8 image, bottom-up: 0 empty, 1 even-key colour, 2 odd-key colour."""
        ah, aw, gh = self.box.ah, self.box.aw, self.grid_height
        lab = np.zeros((ah, aw), dtype=np.uint8)
        # bulk: OR of the grid rows falling into each pixel row
        centre = (np.arange(gh) + 0.5) * (self._y_low / gh)
        prow = np.minimum((centre / top * ah).astype(np.int64), ah - 1)
        starts = np.flatnonzero(np.r_[True, prow[1:] != prow[:-1]])
        occ = np.maximum.reduceat(self.grid[c], starts, axis=0).astype(bool)
        colour = np.where(self._col_odd, 2, 1).astype(np.uint8)
        lab[prow[starts]] = np.where(occ, colour[None, :], 0)
        # kept points
        r, p = self._kept_of(c)
        if len(r):
            y = -np.log10(np.maximum(p, P_FLOOR))
            yp = np.minimum((y / top * ah).astype(np.int64), ah - 1)
            odd = self.layout.keys[self.chrom_index[r]] % 2 == 1
            lab[yp, self.xpix[r]] = np.where(odd, 2, 1)
        return _dilate(lab)

    def _manhattan_layers(self, c: int, top: float):
        lab = self._manhattan_labels(c, top)
        return [(lab == 1, _rgb(EVEN_COLOUR)), (lab == 2, _rgb(ODD_COLOUR))]

    def _manhattan(self, c: int, path, *, title: str, study_wide: float | None, threshold: float = GENOME_WIDE,
                   suggestive: float | None = SUGGESTIVE) -> Path:
        top = self._manhattan_top(c, threshold, study_wide)
        bg = self._renderer.background(
            ("manhattan", threshold, suggestive, study_wide), (top,), self.box,
            lambda ax: _manhattan_axes(ax, self.layout, top, threshold=threshold, suggestive=suggestive,
                                       study_wide=study_wide),
            lambda ax, t: ax.set_ylim(0, t))
        return self._renderer.write(path, self.box, bg, self._manhattan_layers(c, top), title, 9)

    def _manhattan_figure(self, c: int, path, *, title: str, study_wide: float | None, threshold: float,
                          suggestive: float | None, annotate=(), fontsize: float | None = None) -> Path:
        """The same plot as a matplotlib figure (the points as an image), with ``annotate``
        ``(x, -log10 p, text)`` labels (most important first, placed without overlaps); for
        :func:`edfgen.plots.manhattan_plot`. ``fontsize`` (points): every text that large, margins to fit."""
        top = self._manhattan_top(c, threshold, study_wide)
        fig, ax = _figure(_Box.for_text(self.box.width, self.box.height, fontsize) if fontsize else self.box)
        ax.imshow(_rgba(self._manhattan_layers(c, top), self.box), extent=(self.layout.x0, self.layout.x1, 0, top),
                  origin="upper", aspect="auto", interpolation="nearest", zorder=1)
        _manhattan_axes(ax, self.layout, top, threshold=threshold, suggestive=suggestive, study_wide=study_wide,
                        fontsize=fontsize)
        ax.set_title(title, fontsize=fontsize or 9, loc="left" if fontsize else "center")
        place_labels(ax, annotate, fontsize=fontsize or 6)
        return save_png(fig, path, texts=True, pil_kwargs=_PNG)

    def save_manhattan_points(self, c: int, path, *, title: str = "", study_wide: float | None = None,
                              threshold: float = GENOME_WIDE, suggestive: float | None = SUGGESTIVE) -> Path:
        """Write the points of Manhattan plot ``c`` (a phenotype, or :attr:`n_phenotypes` for the minimum p) as
        ``.npz``: the pixel image (``points`` [ah, aw] uint8 bottom-up, 0 empty / 1 even / 2 odd chromosome),
        its y range ``top``, the lines and the genome layout, so that
        :func:`edfgen.plots.manhattan.manhattan_from_points` can redraw it later (larger text, gene labels)
        without the p-values. A few hundred kB whatever the number of variants."""
        self._check(c, combined=True)
        top = self._manhattan_top(c, threshold, study_wide)
        lay = self.layout
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, points=self._manhattan_labels(c, top), top=top, threshold=threshold,
                                suggestive=np.nan if suggestive is None else suggestive,
                                study_wide=np.nan if study_wide is None else study_wide, title=np.array(title),
                                chromosomes=np.array(lay.labels, dtype=str), keys=lay.keys, lo=lay.lo,
                                offset=lay.offset, ticks=lay.ticks, x_range=np.array([lay.x0, lay.x1]))
        return Path(path)

    def manhattan(self, j: int, path, *, title: str = "", study_wide: float | None = None) -> Path:
        """Write the Manhattan plot PNG of phenotype ``j`` (genome-wide 5e-8 and suggestive 1e-5
        lines, a study-wide line when given)."""
        return self._manhattan(self._check(j), path, title=title, study_wide=study_wide)

    def manhattan_min_p(self, path, *, title: str = "", study_wide: float | None = None) -> Path:
        """Write the Manhattan plot PNG of the minimum p across phenotypes per variant, and its points
        (:meth:`save_manhattan_points`) next to it as ``<path stem>.npz`` (``combined_min_p.manhattan.npz``),
        from which the report redraws it with gene labels."""
        path = Path(path)
        self.save_manhattan_points(self.n_phenotypes, path.with_suffix(".npz"), title=title, study_wide=study_wide)
        return self._manhattan(self.n_phenotypes, path, title=title, study_wide=study_wide)

    # ------------------------------------------------------------------ QQ
    def _qq_quantile(self, j: int, ranks: np.ndarray) -> np.ndarray:
        """Observed -log10 p of the given 1-based ranks (ascending p): exact for kept points,
        interpolated in the -log10 p histogram beyond."""
        _, kp = self._kept_of(j)
        nk = len(kp)
        ranks = np.asarray(ranks, dtype=np.int64)
        out = np.empty(len(ranks))
        exact = ranks <= nk
        out[exact] = -np.log10(np.maximum(kp[ranks[exact] - 1], P_FLOOR))
        rest = ranks[~exact] - nk  # 1-based ranks in the bulk, largest -log10 p first
        h = self.hist_log[j][::-1]
        cum = np.cumsum(h)
        b = np.minimum(np.searchsorted(cum, rest - 1, side="right"), len(h) - 1)
        before = cum[b] - h[b]
        frac = (rest - 1 - before + 0.5) / np.maximum(h[b], 1)
        width = self._y_low / N_QQ_BINS
        top_edge = (N_QQ_BINS - b) * width
        out[~exact] = top_edge - np.clip(frac, 0, 1) * width
        return out

    def _qq_limits(self, j: int) -> tuple[float, float, int]:
        n = self.n_tested(j)
        xmax = -np.log10(0.5 / max(n, 1))
        xtop = float(np.ceil(max(xmax, 1.0) * 1.05 * 2) / 2)
        ytop = _nice_top(max(self.y_max[j], xtop) * 1.05)
        return xtop, ytop, n

    def _qq_points(self, j: int, xtop: float, ytop: float, n: int, aw: int, ah: int) -> np.ndarray:
        """[ah, aw] bool image, bottom-up, of the QQ points."""
        img = np.zeros((ah, aw), dtype=bool)
        if n == 0:
            return img
        single = np.arange(1, min(n, QQ_SINGLE_RANKS) + 1)
        ex = -np.log10((single - 0.5) / n)
        ob = self._qq_quantile(j, single)
        img[np.minimum((ob / ytop * ah).astype(np.int64), ah - 1),
            np.minimum((ex / xtop * aw).astype(np.int64), aw - 1)] = True
        if n > QQ_SINGLE_RANKS:
            # each pixel column: the span of observed values over its ranks (ranks > QQ_SINGLE_RANKS)
            edges = np.arange(aw + 1) * (xtop / aw)
            r_hi = np.floor(n * 10.0 ** -edges[:-1] + 0.5).astype(np.int64)  # largest rank in the column
            r_lo = np.ceil(n * 10.0 ** -edges[1:] + 0.5).astype(np.int64)
            r_hi = np.minimum(r_hi, n)
            r_lo = np.maximum(r_lo, QQ_SINGLE_RANKS + 1)
            cols = np.flatnonzero(r_lo <= r_hi)
            if len(cols):
                y_top = self._qq_quantile(j, r_lo[cols])
                y_bot = self._qq_quantile(j, r_hi[cols])
                p_top = np.minimum((y_top / ytop * ah).astype(np.int64), ah - 1)
                p_bot = np.minimum((y_bot / ytop * ah).astype(np.int64), ah - 1)
                rr = np.arange(ah)[:, None]
                img[:, cols] |= (rr >= p_bot[None, :]) & (rr <= p_top[None, :])
        return img

    @staticmethod
    @functools.lru_cache(maxsize=16)
    def _qq_band_curve(n: int, xtop: float, aw: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Pointwise 95% band of the null (:func:`edfgen.plots.raster.qq_band`) at the pixel column
        centres: ``(x, lo, hi, ok)``, ``ok`` marking the columns with a rank in [1, n]. Read-only arrays,
        kept for the next QQ plot with the same ``n`` and x range (every phenotype tested on the same
        variants: ~1 ms of ``betaincinv`` each)."""
        xc = (np.arange(aw) + 0.5) * (xtop / aw)
        rank = n * 10.0 ** -xc + 0.5
        ok = (rank >= 1) & (rank <= n)
        lo, hi = qq_band(n, rank[ok]) if n and ok.any() else (np.zeros(0), np.zeros(0))
        for a in (xc, lo, hi, ok):
            a.flags.writeable = False
        return xc, lo, hi, ok

    def _qq_band(self, n: int, xtop: float, ytop: float, aw: int, ah: int) -> np.ndarray:
        """[ah, aw] bool image, bottom-up, of the pointwise 95% band of the null."""
        img = np.zeros((ah, aw), dtype=bool)
        if n == 0:
            return img
        _, lo, hi, ok = self._qq_band_curve(n, xtop, aw)
        if ok.any():
            rr = np.arange(ah)[:, None]
            a = np.floor(lo / ytop * ah)
            b = np.ceil(hi / ytop * ah)
            img[:, ok] = (rr >= a[None, :]) & (rr < np.maximum(b, a + 1)[None, :])
        return img

    def qq(self, j: int, path, *, title: str = "") -> Path:
        """Write the QQ plot PNG of phenotype ``j``: observed against expected -log10 p with the
        pointwise 95% band of the null; lambda_GC in the title (as :func:`edfgen.plots.qq_plot`)."""
        j = self._check(j)
        xtop, ytop, n = self._qq_limits(j)
        box = self.qq_box
        bg = self._renderer.background("qq", (xtop, ytop), box, lambda ax: _qq_axes(ax, xtop, ytop),
                                       lambda ax, x, y: (ax.set_xlim(0, x), ax.set_ylim(0, y)))
        band_rgb = np.round(255 * (1 - BAND_ALPHA) + _rgb(BAND_COLOUR) * BAND_ALPHA).astype(np.uint8)
        pts = _dilate(self._qq_points(j, xtop, ytop, n, box.aw, box.ah).view(np.uint8)).astype(bool)
        band = self._qq_band(n, xtop, ytop, box.aw, box.ah)
        lam = self.lambda_gc(j)
        text = (title + f"  (lambda_GC = {lam:.3f})") if np.isfinite(lam) else title
        # points over the diagonal (they are what the plot shows), the band under both
        return self._renderer.write(path, box, bg, [(pts, _rgb(QQ_COLOUR), True), (band, band_rgb)], text, 8)

    def _qq_figure(self, j: int, path, *, title: str, fontsize: float | None = None, note: str = "") -> Path:
        """The same plot as a matplotlib figure (band: ``fill_between``, points: a rasterized scatter
        of the lit pixels), titled ``title``; for :func:`edfgen.plots.qq_plot`. ``fontsize`` (points): every
        text that large, margins to fit; ``note``: lines written in the upper left corner (λGC, LDSC intercept)."""
        xtop, ytop, n = self._qq_limits(j)
        box = _Box.for_text(self.qq_box.width, self.qq_box.height, fontsize) if fontsize else self.qq_box
        fig, ax = _figure(box)
        xc, lo, hi, ok = self._qq_band_curve(n, xtop, box.aw)
        if ok.any():
            ax.fill_between(xc[ok], lo, hi, color=BAND_COLOUR, alpha=BAND_ALPHA, lw=0, label="95% null band")
        rows, cols = np.nonzero(self._qq_points(j, xtop, ytop, n, box.aw, box.ah))
        ax.scatter((cols + 0.5) * (xtop / box.aw), (rows + 0.5) * (ytop / box.ah), s=3, c=QQ_COLOUR, linewidths=0,
                   rasterized=True, zorder=3)
        _qq_axes(ax, xtop, ytop, fontsize)
        if note:
            ax.text(0.03, 0.97, note, transform=ax.transAxes, ha="left", va="top", fontsize=fontsize or 8,
                    linespacing=1.4)
        ax.set_title(title, fontsize=fontsize or 8)
        return save_png(fig, path, texts=True, pil_kwargs=_PNG)
