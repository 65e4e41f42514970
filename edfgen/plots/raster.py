"""The raster drawing behind :class:`edfgen.plots.thin.GwasPlotAccumulator`: colours, the genome x
layout, axes backgrounds drawn once by matplotlib (cached per y range), pixel layers composited onto
them and written as PNG with fast compression; and the QQ plot's null band (:func:`qq_band`)."""

from __future__ import annotations

import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.formats.bgzf import zlib_stream
from edfgen.formats.sumstats import chrom_key
from edfgen.formats.tables import atomic_path
from edfgen.plots._mpl import new_figure

#: smallest p drawn (-log10 p = 300); p = 0 (underflow) is drawn there
P_FLOOR = 1e-300
#: bins of the uniform-in-p histogram behind :meth:`GwasPlotAccumulator.median_p`
N_UNIFORM_BINS = 2 ** 14
#: bins of the ``-log10 p`` histogram of the QQ plot bulk (p >= keep_p)
N_QQ_BINS = 2 ** 12
#: QQ ranks up to this one are drawn one by one; beyond, a pixel column is filled over its ranks' span
QQ_SINGLE_RANKS = 4096
#: colours of odd / even chromosome keys (as in the earlier scatter plots), points of the QQ plot, its band
EVEN_COLOUR, ODD_COLOUR = "#4a6fa5", "#1b2a41"
QQ_COLOUR, BAND_COLOUR, BAND_ALPHA = "#1b2a41", "#c0392b", 0.15
#: nice upper y limits (-log10 p) so that plots share a cached background
_Y_TOPS = (2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200, 250, 320)
#: lowest upper y limit of a Manhattan plot (the occupancy grid is as fine as its pixel rows there)
_MANHATTAN_MIN_TOP = 8.0
#: figure margins in pixels (left, right, bottom, top) of the Manhattan and QQ plots
_MARGINS = (56, 12, 42, 24)
_PNG = {"compress_level": 1}
_BG_CACHE = 16  # backgrounds kept (<= 2.4 MB each at 1600 x 400)


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def _nice_top(v: float) -> float:
    """Smallest of :data:`_Y_TOPS` at or above ``v`` (or ``v`` rounded up to 50)."""
    for t in _Y_TOPS:
        if t >= v:
            return float(t)
    return float(np.ceil(v / 50) * 50)


@dataclass(frozen=True)
class _Box:
    """Pixel geometry of a figure with one axes (rows of the image count from the top); ``margins``
    (left, right, bottom, top) in pixels."""

    width: int
    height: int
    margins: tuple[int, int, int, int] = _MARGINS

    @classmethod
    def for_text(cls, width: int, height: int, fontsize: float) -> "_Box":
        """A box whose margins hold tick labels, axis labels and a title of ``fontsize`` points (at 100 dpi)."""
        px = fontsize * 100 / 72
        return cls(int(width), int(height), (int(5.2 * px), int(0.8 * px) + 6, int(3.4 * px), int(2.4 * px)))

    @property
    def left(self) -> int:
        return self.margins[0]

    @property
    def bottom(self) -> int:
        return self.margins[2]

    @property
    def aw(self) -> int:
        return self.width - self.margins[0] - self.margins[1]

    @property
    def ah(self) -> int:
        return self.height - self.margins[2] - self.margins[3]

    def fraction(self) -> list[float]:
        return [self.left / self.width, self.bottom / self.height, self.aw / self.width, self.ah / self.height]

    def rows(self) -> slice:
        top = self.height - self.bottom - self.ah
        return slice(top, top + self.ah)

    def cols(self) -> slice:
        return slice(self.left, self.left + self.aw)


@dataclass(frozen=True)
class _Layout:
    """x layout of a Manhattan plot: chromosomes side by side in :func:`edfgen.formats.sumstats.chrom_key`
    order, each from its first to its last position, 2% gaps (as the earlier scatter plots)."""

    labels: tuple[str, ...]
    keys: np.ndarray         # [C] chrom_key of each chromosome (colour parity)
    lo: np.ndarray           # [C] first position
    offset: np.ndarray       # [C] x of the first position
    ticks: np.ndarray        # [C] x of each chromosome label
    x0: float
    x1: float

    def x(self, chrom_index: np.ndarray, position: np.ndarray) -> np.ndarray:
        """Plot x of variants given their chromosome index and position."""
        return np.asarray(position, dtype=float) - self.lo[chrom_index] + self.offset[chrom_index]


def _layout(chromosome: np.ndarray, position: np.ndarray) -> tuple[_Layout, np.ndarray, np.ndarray]:
    """The layout, the chromosome index [M] (int16) and the plot x [M] of every variant."""
    # factorize the raw labels (no per-variant strings), then merge labels equal once "chr" is dropped
    raw_codes, raw_uniq = pd.factorize(np.asarray(chromosome), sort=False)
    if (raw_codes < 0).any():
        raise ValueError("GwasPlotAccumulator: chromosome has missing values")
    label_codes, uniq = pd.factorize(pd.Series([str(u) for u in raw_uniq], dtype=object)
                                     .str.replace("^chr", "", regex=True), sort=False)
    codes = label_codes[raw_codes] if len(raw_codes) else raw_codes
    uniq = np.asarray(uniq, dtype=object)
    ukey = chrom_key(pd.Series(uniq, dtype=object)).to_numpy() if len(uniq) else np.zeros(0, int)
    order = np.lexsort((uniq.astype(str), ukey)) if len(uniq) else np.zeros(0, int)
    rank = np.empty(len(uniq), dtype=np.int16 if len(uniq) < 2 ** 15 else np.int32)
    rank[order] = np.arange(len(uniq))
    ci = rank[codes] if len(codes) else np.zeros(0, np.int16)
    pos = np.asarray(position, dtype=float)
    if not np.isfinite(pos).all():
        raise ValueError("GwasPlotAccumulator: position has missing or non-finite values")
    n_c = len(uniq)
    lo = np.full(n_c, np.inf)
    hi = np.full(n_c, -np.inf)
    np.minimum.at(lo, ci, pos)
    np.maximum.at(hi, ci, pos)
    span = hi - lo
    gap = np.maximum(span * 0.02, 1.0)
    offset = np.concatenate([[0.0], np.cumsum(span + gap)[:-1]])
    layout = _Layout(labels=tuple(str(u) for u in uniq[order]), keys=ukey[order], lo=lo, offset=offset,
                     ticks=offset + span / 2, x0=-1.0, x1=1.0)
    x = layout.x(ci, pos)
    if len(x):
        layout = _Layout(labels=layout.labels, keys=layout.keys, lo=lo, offset=offset, ticks=layout.ticks,
                         x0=float(x.min()) - 1, x1=float(x.max()) + 1)
    return layout, ci, x


def _manhattan_axes(ax, layout: _Layout, top: float, *, threshold: float, suggestive: float | None,
                    study_wide: float | None, fontsize: float | None = None) -> None:
    """Lines, legend, chromosome ticks and limits of a Manhattan plot (the same in every renderer);
    ``fontsize`` (points) for every text (default: the compact 6-10 pt of the GWAS stage's plots)."""
    ax.axhline(-np.log10(threshold), color="#c0392b", lw=0.8, ls="--", label=f"genome-wide {threshold:g}")
    if suggestive is not None:
        ax.axhline(-np.log10(suggestive), color="#7f8c8d", lw=0.7, ls=":", label=f"suggestive {suggestive:g}")
    if study_wide is not None:
        ax.axhline(-np.log10(study_wide), color="#8e44ad", lw=0.8, ls="-.", label=f"study-wide {study_wide:.2g}")
    if fontsize:   # legible plots: the legend above the axes, right (the title goes left), out of the labels' way
        ax.legend(fontsize=fontsize, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, frameon=False,
                  borderaxespad=0.1, handlelength=2.5, columnspacing=1.5)
    else:
        ax.legend(fontsize=6, loc="upper right", frameon=False)
    ax.set_xticks(layout.ticks)
    ax.set_xticklabels(layout.labels, fontsize=fontsize or 7)
    ax.set_xlabel("chromosome", fontsize=fontsize)
    ax.set_ylabel("-log10 p", fontsize=fontsize)
    if fontsize:
        ax.tick_params(axis="y", labelsize=fontsize)
    ax.set_xlim(layout.x0, layout.x1)
    ax.set_ylim(0, top)


def _qq_axes(ax, xtop: float, ytop: float, fontsize: float | None = None) -> None:
    ax.plot([0, 2 * _Y_TOPS[-1]], [0, 2 * _Y_TOPS[-1]], color="#c0392b", lw=0.8)  # the diagonal, clipped
    ax.set_xlabel("expected -log10 p", fontsize=fontsize)
    ax.set_ylabel("observed -log10 p", fontsize=fontsize)
    if fontsize:
        ax.tick_params(labelsize=fontsize)
    ax.set_xlim(0, xtop)
    ax.set_ylim(0, ytop)


def _dilate(lab: np.ndarray) -> np.ndarray:
    """Paint each non-zero pixel as a 2x2 dot (like the 3 pt^2 markers of a scatter)."""
    out = lab.copy()
    for sl_to, sl_from in (((slice(1, None), slice(None)), (slice(None, -1), slice(None))),
                           ((slice(None), slice(1, None)), (slice(None), slice(None, -1)))):
        src = out[sl_from].copy()
        dst = out[sl_to]
        np.copyto(dst, src, where=(dst == 0) & (src != 0))
    return out


def _figure(box: _Box):
    """A figure (outside pyplot) of ``box``'s size with its axes on ``box``'s pixels."""
    fig = new_figure(figsize=(box.width / 100, box.height / 100), dpi=100)
    return fig, fig.add_axes(box.fraction())


def place_labels(ax, points, *, fontsize: float, max_labels: int = 20, colour: str = "#222222") -> list[str]:
    """Write text labels next to points of ``ax`` without overlapping each other.

    ``points``: ``(x, y, text)`` in data coordinates, most important first. Each label goes above its point (centred,
    else ending or starting at it, else beside it); when it would overlap a label already placed it is lifted by one line height (up
    to 4 times, with a leader line), else left out. Returns the texts placed. The axes' limits must be set (labels are laid out in pixels).
    """
    fig = ax.figure
    to_px = ax.transData.transform
    line = fontsize * fig.dpi / 72 * 1.25
    placed: list[tuple[float, float, float, float]] = []   # pixel boxes taken: the legend, the title, labels
    renderer = fig.canvas.get_renderer()
    for artist in (ax.get_legend(), ax.title):
        if artist is not None and (artist is not ax.title or artist.get_text()):
            e = artist.get_window_extent(renderer)
            placed.append((e.x0, e.y0, e.x1, e.y1))
    done: list[str] = []
    x_left, x_right = ax.get_window_extent().x0, ax.get_window_extent().x1
    y_top = ax.get_window_extent().y1
    for x, y, text in points:
        if len(done) >= max_labels:
            break
        px, py = to_px((x, y))
        probe = ax.text(0, 0, text, fontsize=fontsize, transform=None)   # the label's real width in pixels
        w = probe.get_window_extent(renderer).width + 4
        probe.remove()
        spot = None
        for lift in range(5):       # above the point: centred, ending at it, starting at it (at lift 0 also beside it)
            y0 = py + 6 + lift * line
            if y0 + line > y_top + 2 * line:
                break
            tries = [(min(px - w / 2, x_right - w), y0), (px - w + 4, y0), (px - 4, y0)]
            if lift == 0:
                tries += [(px + 6, py - line / 2), (px - w - 6, py - line / 2)]
            for x0, y0 in tries:
                box = (max(x0, x_left), y0, max(x0, x_left) + w, y0 + line)
                if box[2] <= x_right + 1 and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3]
                                                     and b[1] < box[3] for b in placed):
                    spot = box, lift
                    break
            if spot:
                break
        if spot:
            (x0, y0, _, _), lift = spot
            placed.append(spot[0])
            ax.annotate(text, (x, y), xytext=(x0 + w / 2 - px, y0 - py), textcoords="offset pixels",
                        ha="center", va="bottom", fontsize=fontsize, color=colour, annotation_clip=False,
                        arrowprops=dict(arrowstyle="-", lw=0.5, color="#888888") if lift else None)
            done.append(text)
    return done


def _rgba(layers, box: _Box) -> np.ndarray:
    """Top-down RGBA image [ah, aw, 4] of ``layers`` (first layer wins), transparent elsewhere."""
    img = np.zeros((box.ah, box.aw, 4), dtype=np.uint8)
    area = img[::-1]
    free = np.ones((box.ah, box.aw), dtype=bool)
    for layer in layers:
        mask, colour = layer[:2]
        sel = mask & free
        area[sel, :3] = colour
        area[sel, 3] = 255
        free &= ~sel
    return img


def _png_bytes(rgb: np.ndarray) -> bytes:
    """PNG file of an RGB image [h, w, 3] uint8: filter type 0 on every row, deflated at level 1 by ISA-L
    (:func:`edfgen.formats.bgzf.zlib_stream`: a seventh of zlib's time, ~6 % larger; zlib level 1 already
    took half the time of Pillow's adaptive filters, and no more space for these mostly white plots).

    References
    ----------
    W3C (2003) Portable Network Graphics (PNG) Specification, 2nd ed., sections 5 and 11.2.
    """
    h, w, _ = rgb.shape
    raw = np.zeros((h, 3 * w + 1), dtype=np.uint8)  # a 0 (no filter) byte before each row
    raw[:, 1:] = rgb.reshape(h, 3 * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib_stream(raw.tobytes(), 1)) + chunk(b"IEND", b""))


class _Canvas:
    """A cached matplotlib figure (no pyplot state) whose rendered pixels serve as a background."""

    def __init__(self, width: int, height: int) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(width / 100, height / 100), dpi=100)
        self.canvas = FigureCanvasAgg(self.fig)

    def pixels(self) -> np.ndarray:
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def artist_pixels(self, artist) -> np.ndarray:
        """Pixels of the figure's background and ``artist`` alone, drawn on the canvas's renderer without the
        figure's own draw: the pixels of :meth:`pixels` for a figure holding only ``artist`` (a title strip),
        in a third less time."""
        renderer = self.canvas.get_renderer()
        renderer.clear()
        self.fig.patch.draw(renderer)
        artist.draw(renderer)
        return np.asarray(renderer.buffer_rgba())[..., :3].copy()


class _Renderer:
    """Raster renderer: cached backgrounds (axes per y range) + painted points + a title strip."""

    def __init__(self) -> None:
        self._bg: OrderedDict = OrderedDict()
        self._templates: dict = {}
        self._title: dict = {}

    def background(self, style, limits: tuple[float, ...], box: _Box, decorate, set_limits) -> tuple[np.ndarray,
                                                                                                     np.ndarray]:
        """Pixels of the figure drawn by ``decorate(ax)`` then ``set_limits(ax, *limits)``, and the
        mask [ah, aw] (bottom-up) of its white pixels in the axes box, where points may be painted.

        One figure per ``style`` is decorated once and redrawn for each new ``limits`` (ticks are
        recomputed, everything else is kept); the pixels are cached per ``(style, limits)``."""
        key = (style, limits)
        hit = self._bg.get(key)
        if hit is None:
            if style not in self._templates:
                c = _Canvas(box.width, box.height)
                ax = c.fig.add_axes(box.fraction())
                decorate(ax)
                self._templates[style] = (c, ax)
            c, ax = self._templates[style]
            set_limits(ax, *limits)
            pixels = c.pixels()
            free = np.all(pixels[box.rows(), box.cols()][::-1] == 255, axis=-1)
            hit = self._bg[key] = (pixels, free)
            if len(self._bg) > _BG_CACHE:
                self._bg.popitem(last=False)
        else:
            self._bg.move_to_end(key)
        return hit

    def title(self, text: str, box: _Box, fontsize: float) -> np.ndarray:
        """The title strip (top margin) with ``text`` centred over the axes."""
        key = (box.width, fontsize)
        if key not in self._title:
            c = _Canvas(box.width, _MARGINS[3])
            t = c.fig.text((box.left + box.aw / 2) / box.width, 0.42, "", ha="center", va="center",
                           fontsize=fontsize)
            self._title[key] = (c, t)
        c, t = self._title[key]
        t.set_text(text)
        return c.artist_pixels(t)

    def write(self, path, box: _Box, bg: tuple[np.ndarray, np.ndarray], layers, title: str,
              fontsize: float) -> Path:
        """Composite ``layers`` (``(mask [ah, aw] bottom-up, rgb)``, drawn in order on white
        background pixels only, so lines, legend and spines stay on top; ``(mask, rgb, True)`` paints
        over them too) and the title; write a PNG."""
        img = bg[0].copy()
        area = img[box.rows(), box.cols()][::-1]  # bottom-up view of the axes box
        free = bg[1].copy()
        for layer in layers:
            mask, colour = layer[:2]
            sel = mask if len(layer) > 2 and layer[2] else mask & free  # (mask, rgb, True): over lines too
            area[sel] = colour
            free &= ~sel
        if title:
            strip = self.title(title, box, fontsize)
            np.minimum(img[:strip.shape[0]], strip, out=img[:strip.shape[0]])
        data = _png_bytes(img)
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(data)
        return Path(path)


def qq_band(n: int, ranks: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise ``level`` band of the ``ranks``-th smallest of ``n`` uniform p-values, in -log10 units.

    The i-th order statistic of n U(0, 1) draws is Beta(i, n - i + 1) distributed.

    References
    ----------
    Casella G, Berger RL (2002) Statistical Inference, 2nd ed., section 5.4 (order statistics).
    """
    from scipy import special  # betaincinv = scipy.stats.beta.ppf, without importing scipy.stats (~0.5 s)

    a = (1 - level) / 2
    lo = special.betaincinv(ranks, n - ranks + 1, a)
    hi = special.betaincinv(ranks, n - ranks + 1, 1 - a)
    return -np.log10(hi), -np.log10(lo)
