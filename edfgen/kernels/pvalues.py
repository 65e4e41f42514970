"""p-values that do not underflow: ``-log10 p`` from the test statistic in log space where a float64
``p`` is 0 or below 1e-300 (two-sided normal or Student t), for the ``neg_log_10_p_value`` column of
GWAS-SSF files, the upper tail of a gamma distribution (MOSTest's null: :func:`neg_log10_gamma_sf`), and from p-values written as text below a double's range (:func:`neg_log10_text`). Arrays in,
arrays out."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: below this p-value, ``neg_log_10_p_value`` comes from the test statistic in log space and
#: ``p_value`` is printed from it (a float64 p underflows to 0 near 1e-308)
TINY_P = 1e-300
_LN10 = float(np.log(10.0))


def _log_t_two_sided(t: np.ndarray, df: np.ndarray, *, max_iter: int = 20000) -> np.ndarray:
    """Natural log of the two-sided Student-t p-value, ``log I_x(df/2, 1/2)`` with ``x = df/(df+t²)``.

    The regularised incomplete beta function is evaluated as its continued fraction (modified Lentz)
    times a prefactor kept in log space, so it does not underflow where ``p`` is far below 1e-308.
    Valid where ``x < (a+1)/(a+b+2)`` (here: ``t² > ~3``), which holds wherever it is used (p < 1e-300).

    References
    ----------
    Press WH, Teukolsky SA, Vetterling WT, Flannery BP (2007) Numerical Recipes, 3rd ed., section 6.4
    (incomplete beta function, ``betacf``). Lentz WJ (1976) Appl Opt 15:668. doi:10.1364/AO.15.000668
    """
    from scipy.special import betaln

    t = np.abs(np.asarray(t, dtype=float))
    a = np.asarray(df, dtype=float) / 2.0
    b = 0.5
    t2 = t * t
    x = a * 2.0 / (a * 2.0 + t2)
    log_x = -np.log1p(t2 / (2.0 * a))
    log_1mx = np.log(t2) - np.log(2.0 * a + t2)
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = np.where(np.abs(d) < tiny, tiny, d)
    d = 1.0 / d
    h = d.copy()
    for m in range(1, max_iter + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h *= delta
        if np.all(np.abs(delta - 1.0) < 1e-15):
            break
    return a * log_x + b * log_1mx - np.log(a) - betaln(a, b) + np.log(h)


def neg_log10_p(p, *, beta=None, standard_error=None, df=None) -> np.ndarray:
    """``-log10(p)`` that does not saturate where ``p`` underflowed.

    Where ``p >= 1e-300`` it is ``-log10(p)``. Where ``p < 1e-300`` (or 0) and ``beta`` and
    ``standard_error`` are given, it is recomputed in log space from the Wald statistic
    ``z = beta / standard_error``: two-sided Student t with ``df`` degrees of freedom (linear
    regression, ``df = n - k - 1``) or, with ``df=None``, two-sided normal (logistic Wald test;
    the Firth likelihood-ratio statistic, stored as ``beta/se = sqrt(chi2)``, gives the same).

    Parameters
    ----------
    p, beta, standard_error, df : array-like of the same length (``df`` may be a scalar)

    Returns
    -------
    float64 array; NaN where ``p`` is NaN.
    """
    from scipy.special import log_ndtr

    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.log10(p)
    if beta is None or standard_error is None:
        return out
    tiny = np.isfinite(p) & (p < TINY_P)
    if not tiny.any():
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(np.asarray(beta, dtype=float) / np.asarray(standard_error, dtype=float))
    tiny &= np.isfinite(z)
    if df is None:
        log_p = np.log(2.0) + log_ndtr(-z[tiny])
    else:
        dfa = np.broadcast_to(np.asarray(df, dtype=float), p.shape)[tiny]
        log_p = _log_t_two_sided(z[tiny], dfa)
    out[tiny] = -log_p / _LN10
    return out


def neg_log10_gamma_sf(x, shape: float, scale: float = 1.0, *, max_iter: int = 10000) -> np.ndarray:
    """``-log10`` of the upper tail ``P(X > x)`` of a gamma distribution (``shape``, ``scale``), exact where the tail
    is below 1e-300 (MOSTest's p of a strong hit underflows to 0 as a double).

    Where ``scipy.stats.gamma.sf`` is at least :data:`TINY_P` it is ``-log10`` of it; below, ``log Q(a, y)`` with
    ``y = x / scale`` is ``-y + a log y - log Γ(a) + log h``, ``h`` the continued fraction of the regularised upper
    incomplete gamma function (modified Lentz), valid for ``y > a + 1`` (which a tail below 1e-300 implies).

    Parameters
    ----------
    x : array-like
        Values of the statistic (>= 0; NaN kept).
    shape, scale : float
        The gamma distribution's parameters.
    max_iter : int
        Most terms of the continued fraction (it converges in a few where it is used).

    Returns
    -------
    float64 array of ``x``'s shape.

    References
    ----------
    Press WH, Teukolsky SA, Vetterling WT, Flannery BP (2007) Numerical Recipes, 3rd ed., section 6.2
    (incomplete gamma function, ``gcf``). Lentz WJ (1976) Appl Opt 15:668. doi:10.1364/AO.15.000668
    """
    from scipy.special import gammaincc, gammaln

    y = np.asarray(x, dtype=float) / scale
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.log10(gammaincc(shape, y))
    tiny = np.isfinite(y) & ~(out <= -np.log10(TINY_P))
    if not tiny.any():
        return out
    yt, fpmin = y[tiny], 1e-300
    b = yt + 1.0 - shape
    c = np.full_like(yt, 1.0 / fpmin)
    d = 1.0 / b
    h = d.copy()
    for i in range(1, max_iter + 1):
        an = -i * (i - shape)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < fpmin, fpmin, d)
        c = b + an / c
        c = np.where(np.abs(c) < fpmin, fpmin, c)
        d = 1.0 / d
        delta = d * c
        h *= delta
        if np.all(np.abs(delta - 1.0) < 1e-15):
            break
    out[tiny] = -(-yt + shape * np.log(yt) - gammaln(shape) + np.log(h)) / _LN10
    return out


def neg_log10_or_given(p, given=None, p_text=None) -> np.ndarray:
    """``-log10 p``, or a table's own ``neg_log_10_p_value`` where it has one (clump's ``loci.tsv``: exact where
    ``p`` was written 0 below a double's range); where ``p`` is below 1e-300 (0 or subnormal as a double) and
    no value is given, from ``p_text`` as written (:func:`neg_log10_text`: ``"1e-400"`` gives 400: a lead list
    not written by clump); NaN for a p of 0 without either.

    Parameters
    ----------
    p : array-like
        p-values (text that is not a number gives NaN).
    given : array-like or None
        The table's ``-log10 p`` column, same length (NaN where it has none).
    p_text : array-like or None
        The p-values as the table writes them, same length (read as text: a double reads ``1e-400`` as 0).

    Returns
    -------
    float64 array.
    """
    p = pd.to_numeric(pd.Series(np.asarray(p, dtype=object)), errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(p > 0, -np.log10(p), np.nan)
    given = (np.full(len(p), np.nan) if given is None else
             pd.to_numeric(pd.Series(np.asarray(given, dtype=object)), errors="coerce").to_numpy(dtype=float))
    tiny = (p < 1e-300) & ~np.isfinite(given) if p_text is not None else np.zeros(len(p), bool)
    if tiny.any():              # (a literal 0, whose -log10 is inf, stays NaN)
        text = pd.Series(np.asarray(p_text, dtype=object)[tiny]).astype(str)
        nlp = neg_log10_text(text).to_numpy(dtype=float)
        own[tiny] = np.where(np.isfinite(nlp), nlp, np.nan)
    return np.where(np.isfinite(given), given, own)


#: a p-value in scientific notation: mantissa and exponent (read apart by :func:`neg_log10_text`)
_SCIENTIFIC = r"^\s*([0-9]*\.?[0-9]+)\s*[eE]\s*([-+]?[0-9]+)\s*$"


def neg_log10_text(p_text: pd.Series) -> pd.Series:
    """``-log10 p`` of p-values written as text, exact where the value is below a double's range.

    ``"3E-400"`` gives 399.52 (``float("3E-400")`` is 0); text that is not a number, or a number outside
    (0, 1], gives NA (0 gives ``inf``). The mantissa and exponent are read apart, so
    ``-log10 p = -(log10 mantissa + exponent)``.

    Parameters
    ----------
    p_text : pandas.Series of str
        p-values as written in a file (e.g. ``"3E-400"``, ``"0.01"``).

    Returns
    -------
    pandas.Series of float
        ``-log10 p`` on the same index; NA where the text is not a p-value in [0, 1].
    """
    parts = p_text.astype(str).str.extract(_SCIENTIFIC)
    mantissa = pd.to_numeric(parts[0], errors="coerce")
    exponent = pd.to_numeric(parts[1], errors="coerce")
    with np.errstate(divide="ignore"):
        sci = -(np.log10(mantissa.to_numpy(float)) + exponent.to_numpy(float))
        plain = -np.log10(pd.to_numeric(p_text, errors="coerce").to_numpy(float))
    out = np.where(np.isfinite(sci), sci, plain)
    out = np.where(out >= -1e-12, np.maximum(out, 0.0), np.nan)   # p above 1 (or negative) is not a p-value
    return pd.Series(out, index=p_text.index, dtype=float)
