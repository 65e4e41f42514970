"""Two-sample Mendelian randomization estimators, as a typed registry.

Every kernel takes numpy arrays of harmonised per-variant summary statistics, shape ``[k]``:
``b_exp, b_out, se_exp, se_out`` (variant -> exposure and variant -> outcome effects of the same
effect allele) and returns a frozen :class:`MRResult`. The numbers follow the R package
TwoSampleMR (``R/mr.R``, ``R/mr_mode.R``) so that results can be compared one to one:

- ``Inverse variance weighted``: weighted regression through the origin (weights ``se_out^-2``),
  multiplicative random effects SE ``se_fixed * max(1, sigma)``, normal p-value.
- ``Inverse variance weighted (fixed effects)``: SE ``se_fixed``, normal p-value.
- ``MR Egger``: variants oriented so ``b_exp > 0``; weighted regression with intercept;
  SEs divided by ``min(1, sigma)``; p-values from t with ``k - 2`` df.
- ``Weighted median`` / ``Simple median``: interpolated (weighted) median of the Wald ratios with
  second-order weights; SE = SD of a parametric bootstrap (``nboot`` draws, all at once).
- ``Simple mode`` / ``Weighted mode``: mode of a Gaussian kernel density of the Wald ratios
  (R ``stats::density`` reproduced exactly: linear binning on 1024 points, FFT convolution,
  512-point output grid, cut = 3), bandwidth ``phi * 0.9 min(sd, mad) k^-1/5`` (Bickel's modified
  Silverman rule); SE = MAD of the bootstrap modes; p-value from t with ``k - 1`` df.
- ``Wald ratio`` (one variant): ``b_out / b_exp``, SE ``se_out / |b_exp|`` (first order; or second order).

Bootstraps draw from ``numpy.random.Generator`` and are seedable; they cannot reproduce R's RNG
stream, so bootstrap SEs agree with TwoSampleMR only up to Monte-Carlo error.

Examples
--------
>>> import numpy as np
>>> from edfgen.kernels.mr.methods import METHODS, get_method
>>> rng = np.random.default_rng(1)
>>> bx = rng.uniform(0.05, 0.1, 30); sx = np.full(30, 0.01); sy = np.full(30, 0.02)
>>> by = 0.4 * bx + rng.normal(0, sy)
>>> r = get_method("ivw")(bx, by, sx, sy)
>>> round(r.b, 1), r.nsnp
(0.4, 30)
>>> sorted(m.name for m in METHODS.values() if m.heterogeneity)
['Inverse variance weighted', 'MR Egger']

References
----------
Burgess S, Butterworth A, Thompson SG (2013) Genet Epidemiol 37:658. doi:10.1002/gepi.21758 (IVW; PMID 24114802)
Bowden J, Davey Smith G, Burgess S (2015) Int J Epidemiol 44:512. doi:10.1093/ije/dyv080 (MR-Egger; PMID 26050253)
Bowden J et al. (2016) Genet Epidemiol 40:304. doi:10.1002/gepi.21965 (weighted median; PMID 27061298)
Hartwig FP, Davey Smith G, Bowden J (2017) Int J Epidemiol 46:1985. doi:10.1093/ije/dyx102 (mode; PMID 29040600)
Hemani G et al. (2018) eLife 7:e34408. doi:10.7554/eLife.34408 (TwoSampleMR / MR-Base)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from edfgen.exceptions import InputError
from edfgen.kernels.mr.points import r_density_mode, weighted_median_point
from edfgen.kernels.robust import robust_sd, sample_sd

__all__ = [
    "MRResult", "MRMethod", "METHODS", "DEFAULT_METHODS", "get_method", "run_method",
    "wald_ratio", "wald_se", "ivw", "ivw_fixed", "egger", "weighted_median", "simple_median",
    "simple_mode", "weighted_mode", "weighted_median_point", "r_density_mode",
]

NAN = float("nan")

def _stats():
    """``scipy.stats``, imported on first use: it costs ~0.5 s, and the commands that only import this
    module's registry (clump's truth scoring, ``edfgen --help``) never compute a p-value."""
    from scipy import stats

    return stats


@dataclass(frozen=True)
class MRResult:
    """One MR estimate.

    Attributes
    ----------
    b, se, pval
        Causal estimate (outcome units per exposure unit), its standard error and p-value.
    nsnp
        Number of variants used.
    b_i, se_i, pval_i
        Intercept (MR Egger only; NaN otherwise).
    Q, Q_df, Q_pval
        Heterogeneity statistic of the method's residuals (IVW: Cochran's Q; Egger: Rücker's Q).
    """

    b: float
    se: float
    pval: float
    nsnp: int
    b_i: float = NAN
    se_i: float = NAN
    pval_i: float = NAN
    Q: float = NAN
    Q_df: float = NAN
    Q_pval: float = NAN


class MRKernel(Protocol):
    def __call__(self, b_exp: np.ndarray, b_out: np.ndarray, se_exp: np.ndarray, se_out: np.ndarray, *,
                 nboot: int = 1000, rng: np.random.Generator | None = None, phi: float = 1.0) -> MRResult: ...


@dataclass(frozen=True)
class MRMethod:
    """A registered MR method (TwoSampleMR's ``mr_method_list()`` as typed objects).

    Attributes
    ----------
    name
        Name exactly as TwoSampleMR prints it (``mr_results.tsv`` ``method`` column).
    func
        Kernel ``func(b_exp, b_out, se_exp, se_out, *, nboot, rng, phi) -> MRResult``.
    pmid
        PubMed id of the method paper ("" if none).
    min_variants
        Fewest variants the method accepts (fewer -> not run).
    heterogeneity
        Whether the method reports a heterogeneity Q (``mr_heterogeneity.tsv``).
    max_variants
        Most variants (Wald ratio: 1); ``None`` for no limit.
    """

    name: str
    func: MRKernel = field(repr=False)
    pmid: str
    min_variants: int
    heterogeneity: bool
    max_variants: int | None = None

    def accepts(self, k: int) -> bool:
        return k >= self.min_variants and (self.max_variants is None or k <= self.max_variants)

    def __call__(self, b_exp, b_out, se_exp, se_out, **kw) -> MRResult:
        return self.func(*_arrays(b_exp, b_out, se_exp, se_out), **kw)


def _arrays(*xs):
    out = [np.asarray(x, dtype=float).ravel() for x in xs]
    k = out[0].size
    if any(x.size != k for x in out):
        raise InputError(f"MR kernel: b_exp, b_out, se_exp, se_out must have equal length (got {[x.size for x in out]})")
    return out


def _p_norm(z):
    return 2.0 * _stats().norm.sf(np.abs(z))


def _p_t(t, df):
    return 2.0 * _stats().t.sf(np.abs(t), df)


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


# --------------------------------------------------------------------------- Wald ratio / IVW

def wald_ratio(b_exp, b_out, se_exp, se_out, *, second_order: bool = False, **_) -> MRResult:
    """Wald ratio of a single variant: ``b_out / b_exp``, SE :func:`wald_se` (first order by default, as
    TwoSampleMR ``mr_wald_ratio``; ``second_order``: the delta-method SE), normal p.

    Parameters
    ----------
    b_exp, b_out, se_exp, se_out : array [1]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele) and their SEs.
    second_order : bool, default False
        The second-order (delta-method) SE instead of the first-order one.

    Returns
    -------
    MRResult
    """
    b = float(b_out[0] / b_exp[0])
    se = float(wald_se(b_exp[:1], b_out[:1], se_exp[:1], se_out[:1], second_order=second_order)[0])
    return MRResult(b, se, float(_p_norm(b / se)), 1)


def wald_se(b_exp, b_out, se_exp, se_out, *, second_order: bool = False) -> np.ndarray:
    """SEs of Wald ratios: ``se_out / |b_exp|``, or (``second_order``) the delta method's ``sqrt(se_out² / b_exp²
    + b_out² se_exp² / b_exp⁴)`` (MendelianRandomization ``"delta"``, no overlap): larger for a weak instrument.

    Parameters
    ----------
    b_exp, b_out, se_exp, se_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects and their SEs.
    second_order : bool, default False
        The second-order (delta-method) SEs.

    Returns
    -------
    array [k]
    """
    b_exp, b_out, se_exp, se_out = (np.asarray(x, float) for x in (b_exp, b_out, se_exp, se_out))
    return (np.sqrt(se_out ** 2 / b_exp ** 2 + b_out ** 2 * se_exp ** 2 / b_exp ** 4) if second_order
            else se_out / np.abs(b_exp))


def _ivw_core(b_exp, b_out, se_out):
    """Weighted regression through the origin; returns (b, se_fixed, sigma, Q, df)."""
    w = se_out ** -2.0
    sxx = np.sum(w * b_exp ** 2)
    b = np.sum(w * b_exp * b_out) / sxx
    se_fixed = 1.0 / math.sqrt(sxx)
    df = b_exp.size - 1
    Q = float(np.sum(w * (b_out - b * b_exp) ** 2))
    sigma = math.sqrt(Q / df) if df > 0 else NAN
    return float(b), se_fixed, sigma, Q, df


def ivw(b_exp, b_out, se_exp, se_out, **_) -> MRResult:
    """Inverse variance weighted estimate, multiplicative random effects (TwoSampleMR ``mr_ivw``).

    ``b = sum(w x y) / sum(w x^2)``, ``w = se_out^-2``; ``se = se_fixed * max(1, sigma)`` where
    ``sigma^2 = Q / (k - 1)`` is the residual variance of the weighted regression; normal p-value;
    ``Q`` is Cochran's Q with ``k - 1`` df.

    Parameters
    ----------
    b_exp, b_out, se_exp, se_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele) and their SEs.

    Returns
    -------
    MRResult

    References
    ----------
    Burgess S, Butterworth A, Thompson SG (2013) Genet Epidemiol 37:658. doi:10.1002/gepi.21758
    """
    b, se_fixed, sigma, Q, df = _ivw_core(b_exp, b_out, se_out)
    se = se_fixed * max(1.0, sigma)
    return MRResult(b, se, float(_p_norm(b / se)), b_exp.size, Q=Q, Q_df=df, Q_pval=float(_stats().chi2.sf(Q, df)))


def ivw_mre(b_exp, b_out, se_exp, se_out, **_) -> MRResult:
    """Inverse variance weighted, multiplicative random effects without the floor (TwoSampleMR ``mr_ivw_mre``):
    ``se = se_fixed * sigma``, the weighted regression's own SE (smaller than the fixed-effect SE when the
    variants are under-dispersed, sigma < 1); normal p-value.

    Parameters
    ----------
    b_exp, b_out, se_exp, se_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele) and their SEs.

    Returns
    -------
    MRResult
    """
    b, se_fixed, sigma, Q, df = _ivw_core(b_exp, b_out, se_out)
    se = se_fixed * sigma
    return MRResult(b, se, float(_p_norm(b / se)) if se > 0 else NAN, b_exp.size, Q=Q, Q_df=df,
                    Q_pval=float(_stats().chi2.sf(Q, df)))


def ivw_fixed(b_exp, b_out, se_exp, se_out, **_) -> MRResult:
    """Inverse variance weighted estimate, fixed effects (TwoSampleMR ``mr_ivw_fe``): ``se = se_fixed``.

    Parameters
    ----------
    b_exp, b_out, se_exp, se_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele) and their SEs.

    Returns
    -------
    MRResult
    """
    b, se_fixed, sigma, Q, df = _ivw_core(b_exp, b_out, se_out)
    return MRResult(b, se_fixed, float(_p_norm(b / se_fixed)), b_exp.size, Q=Q, Q_df=df,
                    Q_pval=float(_stats().chi2.sf(Q, df)))


# --------------------------------------------------------------------------- MR Egger

def egger(b_exp, b_out, se_exp, se_out, **_) -> MRResult:
    """MR-Egger regression (TwoSampleMR ``mr_egger_regression``).

    Variants are oriented so that ``b_exp >= 0`` (``b_out`` multiplied by ``sign0(b_exp)``), then
    ``b_out = a + b * b_exp`` is fitted by weighted least squares (weights ``se_out^-2``). SEs are the
    WLS SEs divided by ``min(1, sigma)``; p-values from a t distribution with ``k - 2`` df. ``Q`` is
    Rücker's Q ``sigma^2 (k - 2)``.

    Parameters
    ----------
    b_exp, b_out, se_exp, se_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele) and their SEs.

    Returns
    -------
    MRResult
        ``b_i``, ``se_i``, ``pval_i``: the intercept; ``Q``: Rücker's Q.

    References
    ----------
    Bowden J, Davey Smith G, Burgess S (2015) Int J Epidemiol 44:512. doi:10.1093/ije/dyv080
    """
    k = b_exp.size
    s = np.where(b_exp < 0, -1.0, 1.0)
    y = b_out * s
    x = np.abs(b_exp)
    w = se_out ** -2.0
    sw, swx, swy = w.sum(), (w * x).sum(), (w * y).sum()
    xm, ym = swx / sw, swy / sw
    sxx = np.sum(w * (x - xm) ** 2)
    if sxx <= 0 or k < 3:
        return MRResult(NAN, NAN, NAN, k)
    b = np.sum(w * (x - xm) * (y - ym)) / sxx
    a = ym - b * xm
    df = k - 2
    Q = float(np.sum(w * (y - a - b * x) ** 2))
    sigma = math.sqrt(Q / df)
    # unscaled covariance of (a, b) for WLS: inverse of X'WX
    se_b_unscaled = 1.0 / math.sqrt(sxx)
    se_a_unscaled = math.sqrt(1.0 / sw + xm ** 2 / sxx)
    scale = max(1.0, sigma)  # TwoSampleMR's se / min(1, sigma) for sigma > 0; at a perfect fit (sigma = 0) R
    # gives 0/0 = NaN, here the fixed-effect SE (the limit from sigma > 0), not a ZeroDivisionError
    se = se_b_unscaled * scale
    se_i = se_a_unscaled * scale
    return MRResult(float(b), float(se), float(_p_t(b / se, df)), k, b_i=float(a), se_i=float(se_i),
                    pval_i=float(_p_t(a / se_i, df)), Q=Q, Q_df=df, Q_pval=float(_stats().chi2.sf(Q, df)))


# --------------------------------------------------------------------------- medians

def _median_bootstrap(b_exp, b_out, se_exp, se_out, weights, nboot, rng) -> float:
    """SD of ``nboot`` parametric-bootstrap weighted medians of the ratios. Each instrument is drawn oriented to
    its exposure-increasing allele (the ratio is the same; the normal draws symmetric), so the same seed gives the
    same SE whichever allele a file reports (review s35d: plink2 A1 = REF rows moved the SE by 3-12 %)."""
    rng = _rng(rng)
    k = b_exp.size
    sign = np.where(np.asarray(b_exp) < 0, -1.0, 1.0)
    bx = rng.normal(sign * b_exp, se_exp, size=(nboot, k))
    by = rng.normal(sign * b_out, se_out, size=(nboot, k))
    med = weighted_median_point(by / bx, weights)
    return float(sample_sd(med))        # (nboot < 2: NA, as R's sd(); no numpy warning)


def weighted_median(b_exp, b_out, se_exp, se_out, *, nboot: int = 1000, rng=None, **_) -> MRResult:
    """Weighted median estimator (TwoSampleMR ``mr_weighted_median``).

    Weights are inverse second-order variances of the ratios,
    ``1 / (se_out^2 / b_exp^2 + b_out^2 se_exp^2 / b_exp^4)``; SE is the SD of ``nboot`` parametric
    bootstrap medians (all drawn as one ``[nboot, k]`` array); normal p-value.

    Parameters
    ----------
    b_exp, b_out, se_exp, se_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele) and their SEs.
    nboot : int, default 1000
        Parametric bootstrap draws for the SE.
    rng : numpy.random.Generator or int, optional
        Random generator or seed of the bootstrap.

    Returns
    -------
    MRResult

    References
    ----------
    Bowden J et al. (2016) Genet Epidemiol 40:304. doi:10.1002/gepi.21965
    """
    b_iv = b_out / b_exp
    vbj = se_out ** 2 / b_exp ** 2 + b_out ** 2 * se_exp ** 2 / b_exp ** 4
    b = float(weighted_median_point(b_iv, 1.0 / vbj))
    se = _median_bootstrap(b_exp, b_out, se_exp, se_out, 1.0 / vbj, nboot, rng)
    return MRResult(b, se, float(_p_norm(b / se)), b_exp.size)


def simple_median(b_exp, b_out, se_exp, se_out, *, nboot: int = 1000, rng=None, **_) -> MRResult:
    """Simple (unweighted, interpolated) median of the Wald ratios; bootstrap SE; normal p-value.

    Parameters
    ----------
    b_exp, b_out, se_exp, se_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele) and their SEs.
    nboot : int, default 1000
        Parametric bootstrap draws for the SE.
    rng : numpy.random.Generator or int, optional
        Random generator or seed of the bootstrap.

    Returns
    -------
    MRResult
    """
    k = b_exp.size
    w = np.full(k, 1.0 / k)
    b = float(weighted_median_point(b_out / b_exp, w))
    se = _median_bootstrap(b_exp, b_out, se_exp, se_out, w, nboot, rng)
    return MRResult(b, se, float(_p_norm(b / se)), k)


# --------------------------------------------------------------------------- modes

def _r_sd(x):
    return sample_sd(x, axis=-1)


def _r_mad(x):
    return robust_sd(x, axis=-1)


def _mode_points(b_iv, se_iv_sets, phi, fft_dtype=np.float64):
    """TwoSampleMR ``mr_mode`` inner ``beta()`` for several weightings, batched over rows of ``b_iv`` [B, k].

    ``se_iv_sets`` [W, k]: one row of SEs per weighting (ones for the simple mode). Returns [W, B].
    """
    b_iv = np.atleast_2d(b_iv)
    k = b_iv.shape[1]
    s = 0.9 * np.minimum(_r_sd(b_iv), _r_mad(b_iv)) / k ** 0.2  # Bickel's modified Silverman rule
    w = np.asarray(se_iv_sets, float) ** -2.0
    w = w / w.sum(axis=-1, keepdims=True)
    h = np.maximum(1e-8, s * phi)
    return r_density_mode(b_iv, np.broadcast_to(w[:, None, :], (w.shape[0],) + b_iv.shape), h, fft_dtype=fft_dtype)


def _mode_point(b_iv, se_iv, phi, fft_dtype=np.float64):
    """One weighting of :func:`_mode_points`: [B] modes."""
    return _mode_points(b_iv, np.asarray(se_iv, float)[None, :], phi, fft_dtype)[0]


#: the last joint simple/weighted mode computation, so that asking for both modes with one
#: generator uses one set of bootstrap draws (as TwoSampleMR's ``mr_mode`` does) and one pass
_MODE_CACHE: dict = {}


def _rng_key(rng: np.random.Generator):
    return id(rng), repr(rng.bit_generator.state)


def _modes(b_exp, b_out, se_exp, se_out, *, nboot: int, rng, phi: float) -> tuple[MRResult, MRResult]:
    """Simple and weighted mode estimates from the same ``nboot`` bootstrap draws."""
    rng = _rng(rng)
    data_key = (b_exp.tobytes(), b_out.tobytes(), se_exp.tobytes(), se_out.tobytes(), nboot, phi)
    hit = _MODE_CACHE.get("key")
    if hit == (data_key, _rng_key(rng)):
        return _MODE_CACHE["value"]
    k = b_exp.size
    b_iv = b_out / b_exp
    se_iv = np.sqrt(se_out ** 2 / b_exp ** 2 + b_out ** 2 * se_exp ** 2 / b_exp ** 4)
    sets = np.stack([np.ones(k), se_iv])
    b = _mode_points(b_iv, sets, phi)[:, 0]
    boot = rng.normal(b_iv, se_iv, size=(nboot, k))
    bb = _mode_points(boot, sets, phi, np.float32)
    out = []
    for q in range(2):
        se = float(_r_mad(bb[q]))
        out.append(MRResult(float(b[q]), se, float(_p_t(b[q] / se, k - 1)), k))
    _MODE_CACHE.clear()
    _MODE_CACHE.update(key=(data_key, _rng_key(rng)), value=tuple(out))
    return out[0], out[1]


def simple_mode(b_exp, b_out, se_exp, se_out, *, nboot: int = 1000, rng=None, phi: float = 1.0, **_) -> MRResult:
    """Simple mode-based estimate (TwoSampleMR ``mr_simple_mode``): unweighted KDE mode of ratios.

    SE is the MAD of ``nboot`` bootstrap modes (ratios redrawn from ``N(ratio, se_ratio)``,
    second-order ``se_ratio``); p-value from t with ``k - 1`` df. Simple and weighted modes are
    computed together from the same draws; a following :func:`weighted_mode` call on the same data
    and generator returns its half without drawing again (TwoSampleMR's ``mr_mode`` semantics).

    Parameters
    ----------
    b_exp, b_out, se_exp, se_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele) and their SEs.
    nboot : int, default 1000
        Parametric bootstrap draws for the SE.
    rng : numpy.random.Generator or int, optional
        Random generator or seed of the bootstrap.
    phi : float, default 1.0
        Bandwidth multiplier of the kernel density (TwoSampleMR ``phi``).

    Returns
    -------
    MRResult

    References
    ----------
    Hartwig FP, Davey Smith G, Bowden J (2017) Int J Epidemiol 46:1985. doi:10.1093/ije/dyx102
    """
    return _modes(b_exp, b_out, se_exp, se_out, nboot=nboot, rng=rng, phi=phi)[0]


def weighted_mode(b_exp, b_out, se_exp, se_out, *, nboot: int = 1000, rng=None, phi: float = 1.0, **_) -> MRResult:
    """Weighted mode-based estimate (TwoSampleMR ``mr_weighted_mode``): KDE weights ``se_ratio^-2``
    (second-order SEs of the ratios); bootstrap as :func:`simple_mode`.

    Parameters
    ----------
    b_exp, b_out, se_exp, se_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele) and their SEs.
    nboot : int, default 1000
        Parametric bootstrap draws for the SE.
    rng : numpy.random.Generator or int, optional
        Random generator or seed of the bootstrap.
    phi : float, default 1.0
        Bandwidth multiplier of the kernel density (TwoSampleMR ``phi``).

    Returns
    -------
    MRResult
    """
    return _modes(b_exp, b_out, se_exp, se_out, nboot=nboot, rng=rng, phi=phi)[1]


# --------------------------------------------------------------------------- registry

METHODS: dict[str, MRMethod] = {m.name: m for m in [
    MRMethod("Wald ratio", wald_ratio, "", 1, False, max_variants=1),
    MRMethod("MR Egger", egger, "26050253", 3, True),
    MRMethod("Weighted median", weighted_median, "27061298", 3, False),
    MRMethod("Simple median", simple_median, "27061298", 3, False),
    MRMethod("Inverse variance weighted", ivw, "24114802", 2, True),
    MRMethod("Inverse variance weighted (fixed effects)", ivw_fixed, "", 2, False),
    MRMethod("Inverse variance weighted (multiplicative random effects)", ivw_mre, "", 2, False),
    MRMethod("Simple mode", simple_mode, "29040600", 3, False),
    MRMethod("Weighted mode", weighted_mode, "29040600", 3, False),
]}
#: TwoSampleMR's ``use_by_default`` set, in its order.
DEFAULT_METHODS = ("Wald ratio", "MR Egger", "Weighted median", "Inverse variance weighted", "Simple mode",
                   "Weighted mode")

_ALIASES = {"wald": "Wald ratio", "wald_ratio": "Wald ratio", "egger": "MR Egger", "mr_egger": "MR Egger",
            "ivw": "Inverse variance weighted", "ivw_fe": "Inverse variance weighted (fixed effects)",
            "ivw_mre": "Inverse variance weighted (multiplicative random effects)", "simple_median": "Simple median",
            "ivw_fixed": "Inverse variance weighted (fixed effects)", "weighted_median": "Weighted median",
            "simple_mode": "Simple mode", "weighted_mode": "Weighted mode", "wm": "Weighted median"}


def get_method(name: str | MRMethod) -> MRMethod:
    """Look a method up by its TwoSampleMR name or a short alias (``ivw``, ``egger``, ``ivw_fe``, ...).

    Parameters
    ----------
    name : str or MRMethod
        TwoSampleMR name (``"MR Egger"``), function (``mr_ivw``, ``mr_egger_regression``) or alias (``ivw``, ...).

    Returns
    -------
    MRMethod
    """
    if isinstance(name, MRMethod):
        return name
    k = str(name).strip().lower().replace("-", "_").replace(" ", "_")  # (mr_ivw, mr_egger_regression: functions)
    key = _ALIASES.get(k, _ALIASES.get(k.removeprefix("mr_").removesuffix("_regression"), str(name).strip()))
    if key not in METHODS:
        raise InputError(f"unknown MR method {name!r}; choose from {', '.join(METHODS)} "
                         f"(or aliases {', '.join(sorted(_ALIASES))})")
    return METHODS[key]


def run_method(method: MRMethod | str, b_exp, b_out, se_exp, se_out, *, nboot: int = 1000,
               rng=None, phi: float = 1.0) -> MRResult | None:
    """Run one method if it accepts ``k`` variants, else return ``None``.

    Parameters
    ----------
    method : MRMethod or str
        Method or its name/alias (:func:`get_method`).
    b_exp, b_out, se_exp, se_out : array-like [k]
        Harmonised variant -> exposure and variant -> outcome effects and their SEs.
    nboot : int, default 1000
        Parametric bootstrap draws for the SE.
    rng : numpy.random.Generator or int, optional
        Random generator or seed of the bootstrap.
    phi : float, default 1.0
        Bandwidth multiplier of the kernel density (TwoSampleMR ``phi``).

    Returns
    -------
    MRResult or None
    """
    m = get_method(method)
    arrs = _arrays(b_exp, b_out, se_exp, se_out)
    if not m.accepts(arrs[0].size):
        return None
    return m.func(*arrs, nboot=nboot, rng=rng, phi=phi)


def primary_estimates(results: pd.DataFrame) -> pd.DataFrame:
    """One row per exposure/outcome of an ``mr_results`` table: IVW where there are >= 2 instruments,
    else the Wald ratio (the estimate the report and the truth scoring quote for a pair).

    Parameters
    ----------
    results : DataFrame
        ``mr_results`` rows (``exposure``, ``outcome``, ``method``, ...).

    Returns
    -------
    DataFrame
        The IVW or Wald-ratio row of each exposure/outcome pair.
    """
    ivw_name, wald_name = "Inverse variance weighted", "Wald ratio"
    res = results[results["method"].isin([ivw_name, wald_name])].copy()
    res["_rank"] = (res["method"] != ivw_name).astype(int)
    return res.sort_values("_rank").drop_duplicates(["exposure", "outcome"]).drop(columns="_rank")
