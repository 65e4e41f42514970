"""Shortcuts of the raster plots draw the same pixels as the long way: a title strip drawn as its text
alone on the canvas's renderer (:meth:`edfgen.plots.raster._Canvas.artist_pixels`) equals matplotlib's
whole-figure draw, and the QQ band kept between plots equals the band computed afresh."""

import numpy as np
import pytest

from edfgen.plots.raster import _MARGINS, _Box, _Canvas, _Renderer, qq_band
from edfgen.plots.thin import GwasPlotAccumulator


@pytest.mark.parametrize("fontsize", [8, 9])
def test_title_strip__same_pixels_as_the_figure_draw(fontsize):
    box = _Box(1600, 400)
    renderer = _Renderer()
    for text in ["edf_001", "combined minimum p  (lambda_GC = 1.012)", "x", "Ünïcode ±"]:
        got = renderer.title(text, box, fontsize)       # the first call on a fresh canvas, then reused
        c = _Canvas(box.width, _MARGINS[3])
        c.fig.text((box.left + box.aw / 2) / box.width, 0.42, text, ha="center", va="center", fontsize=fontsize)
        want = c.pixels()                                # matplotlib's Figure.draw
        assert (want < 255).any()
        np.testing.assert_array_equal(got, want)


def test_qq_band_curve__cached_equals_fresh():
    for n, xtop, aw in [(29952, 5.0, 300), (1000, 3.5, 300), (29952, 5.0, 300)]:
        _, lo, hi, _ = GwasPlotAccumulator._qq_band_curve(n, xtop, aw)
        rank = n * 10.0 ** -((np.arange(aw) + 0.5) * (xtop / aw)) + 0.5
        want_lo, want_hi = qq_band(n, rank[(rank >= 1) & (rank <= n)])
        np.testing.assert_array_equal(lo, want_lo)
        np.testing.assert_array_equal(hi, want_hi)
        assert not lo.flags.writeable                     # shared between plots: nobody may change it


def test_png_bytes__decode_to_the_same_pixels():
    """The PNG writer (ISA-L deflate) gives a file that Pillow decodes to exactly the image given."""
    import io

    from PIL import Image

    from edfgen.plots.raster import _png_bytes

    rng = np.random.default_rng(0)
    img = np.full((400, 1600, 3), 255, dtype=np.uint8)
    img[rng.integers(0, 400, 5000), rng.integers(0, 1600, 5000)] = [27, 42, 65]
    img[:30, :200] = rng.integers(0, 256, (30, 200, 3))             # a noisy corner: incompressible rows
    back = Image.open(io.BytesIO(_png_bytes(img)))
    assert back.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(back), img)
