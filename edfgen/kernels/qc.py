"""Genotype quality control on arrays: the HWE exact test, variant filters, imputation INFO and
sample call rates (counts in, masks and ``qc_report.tsv`` steps out; no files, no readers).

Quality control, in this order, with the number removed by each filter (``qc_report.tsv``):

===================  =========  =========================================================
filter               default    meaning
===================  =========  =========================================================
biallelic            always     variants with exactly two alleles
sample_call_rate     0.95       samples called at >= this fraction of variants
not_in_phenotypes    --         genotyped samples without phenotype/covariate rows
related              off        ``--remove-related``: KING kinship > 0.0884 (2nd degree),
                                one of each related pair kept (maximal independent set)
y_no_males           sex known  chrY left out where no analysed sample is male (plink2)
variant_call_rate    0.95       variants called in >= this fraction of the samples used
maf                  0.01       minor allele frequency in the samples used
hwe                  1e-6       Hardy-Weinberg exact test p (Wigginton 2005); 0 disables;
                                non-PAR X with sex known: females and males together
                                (Graffelman & Weir 2016, plink2's ``--hwe``); not Y, MT
===================  =========  =========================================================

Variant filters are computed on the samples actually analysed. The HWE test of dosage input counts
hard calls as plink2 makes them (:func:`hard_calls`, ``--hard-call-threshold 0.1``): a dosage more than
0.1 from an integer is no call (review s32d F3: rounding every dosage made a poorly imputed variant's
dosages near ``2p`` one genotype). Call rate, MAF and INFO read the dosages.

Imputation quality: :func:`mach_r2` is plink2's ``MACH_R2`` (``--freq cols=+machr2``, the
``--mach-r2-filter`` statistic): the variance of the dosages over the samples analysed divided by
its binomial expectation ``2p(1-p)``.

References
----------
Wigginton JE, Cutler DJ, Abecasis GR (2005) A note on exact tests of Hardy-Weinberg equilibrium.
Am J Hum Genet 76:887. doi:10.1086/429864
Graffelman J, Weir BS (2016) Testing for Hardy-Weinberg equilibrium at biallelic genetic markers on
the X chromosome. Heredity 116:558. doi:10.1038/hdy.2016.20
Manichaikul A et al. (2010) Robust relationship inference in genome-wide association studies
(KING). Bioinformatics 26:2867. doi:10.1093/bioinformatics/btq559
Li Y, Willer CJ, Ding J, Scheet P, Abecasis GR (2010) MaCH: using sequence and genotype data to
estimate haplotypes and unobserved genotypes. Genet Epidemiol 34:816. doi:10.1002/gepi.20533
Marchini J, Howie B (2010) Genotype imputation for genome-wide association studies. Nat Rev Genet
11:499 (Box 3, the r² information measures). doi:10.1038/nrg2796
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.special import chdtrc, gammaln  # not scipy.stats: ~0.5 s of import in every command

from edfgen.exceptions import InputError

KINSHIP_2ND_DEGREE = 0.0884
#: a dosage further than this from an integer is no hard call (plink2's default ``--hard-call-threshold``)
HARD_CALL_THRESHOLD = 0.1
#: the distance compared: float32 dosages read 0.1 as 0.1000000015, still a call for plink2
HARD_CALL_LIMIT = HARD_CALL_THRESHOLD + 1e-6


@dataclass(frozen=True)
class QCSettings:
    """Quality-control thresholds (see the module docstring for the order and meaning)."""

    maf: float = 0.01
    call_rate: float = 0.95
    hwe_p: float = 1e-6
    sample_call_rate: float = 0.95
    remove_related: bool = False
    kinship: float = KINSHIP_2ND_DEGREE

    def __post_init__(self):
        # KING kinship is at most 0.5 (duplicates); a cutoff outside [0, 0.5] (or NaN) would silently
        # remove no one or nearly everyone
        if not 0 <= self.kinship <= 0.5:
            raise InputError(f"qc: kinship cutoff must be in [0, 0.5] (KING kinship; 0.0884 = 2nd degree), "
                             f"got {self.kinship}")


@dataclass(frozen=True)
class QCStep:
    """One row of ``qc_report.tsv``."""

    filter: str
    level: str          # "variant" or "sample"
    threshold: str
    removed: int
    remaining: int


def qc_table(steps: Sequence[QCStep]) -> pd.DataFrame:
    """QC steps as the ``qc_report.tsv`` table."""
    return pd.DataFrame([asdict(s) for s in steps], columns=["filter", "level", "threshold", "removed", "remaining"])


def hard_calls(dosages: np.ndarray) -> np.ndarray:
    """Hard calls of effect-allele dosages as plink2 makes them: the nearest integer where the dosage is within
    :data:`HARD_CALL_THRESHOLD` of it, else NaN (as a missing dosage).

    Parameters
    ----------
    dosages : float array
        Dosages 0-2 (NaN missing); hard calls 0/1/2 stay as they are.

    Returns
    -------
    float array of the same shape: 0, 1, 2 or NaN.
    """
    d = np.asarray(dosages)
    called = np.rint(d)
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(d - called) <= HARD_CALL_LIMIT, called, np.nan)


#: bytes of dosages :func:`hard_call_counts` works on at once (a column slice that stays in the CPU's cache)
_COUNT_CHUNK_BYTES = 256 << 10


def hard_call_counts(dosages: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``dosages`` [N, M] (NaN missing), the samples whose :func:`hard_calls` are 0, 1 and 2:
    ``(n_hom_ref, n_het, n_hom_alt)``, the genotype counts of the HWE test.

    A dosage's hard call is ``v`` exactly when ``|d - v| <= HARD_CALL_LIMIT`` (the limit is below 1/2), computed in
    the dosages' own type as :func:`hard_calls` computes it; the columns are counted in slices that stay in the
    CPU's cache, in reused buffers (3x faster than counting :func:`hard_calls`' output: ~10 passes over memory).
    """
    d = np.asarray(dosages)
    if d.dtype.kind != "f":
        d = d.astype(np.float64)
    N, M = d.shape
    limit = d.dtype.type(HARD_CALL_LIMIT)
    counts = np.zeros((3, M), dtype=np.int64)
    step = max(1, _COUNT_CHUNK_BYTES // max(1, N * d.itemsize))
    buf = np.empty((N, min(step, M)), dtype=d.dtype)
    hit = np.empty(buf.shape, dtype=bool)
    for j in range(0, M, step):
        x = d[:, j:j + step]
        b, h = buf[:, :x.shape[1]], hit[:, :x.shape[1]]
        for v in range(3):
            np.subtract(x, v, out=b)
            np.abs(b, out=b)
            np.less_equal(b, limit, out=h)
            counts[v, j:j + x.shape[1]] = np.add.reduce(h.view(np.uint8), axis=0, dtype=np.int64)
    return counts[0], counts[1], counts[2]


# ----------------------------------------------------------------------------------------------
# Hardy-Weinberg exact test (pure numpy)
# ----------------------------------------------------------------------------------------------
def hwe_exact_p(n_hom1: np.ndarray, n_het: np.ndarray, n_hom2: np.ndarray, *, screen: float = 1e-2,
                midp: bool = False) -> np.ndarray:
    """Hardy-Weinberg exact test p-values (Wigginton et al. 2005), vectorised with a safe screen.

    The exact test is evaluated for variants whose 1-df chi-square p is below ``screen`` or whose
    rare-allele count is below 1000; for the others (large counts, chi-square p >= 1e-2) the
    chi-square p is returned: both are far above any HWE filter threshold there.

    Parameters
    ----------
    n_hom1, n_het, n_hom2 : int arrays [M]
    midp : bool
        Mid-p variant (ties with the observed table count half; Hail's ``hardy_weinberg_test``).
        Default ``False``: the original test, as plink2 ``--hwe`` without ``midp``.

    Returns
    -------
    array [M] of p-values.

    References
    ----------
    Wigginton JE et al. (2005) Am J Hum Genet 76:887. doi:10.1086/429864
    """
    a, b, c = (np.asarray(v, dtype=np.int64) for v in (n_hom1, n_het, n_hom2))
    n = a + b + c
    p1, p2 = 2 * a + b, 2 * c + b
    with np.errstate(invalid="ignore", divide="ignore"):
        chi = n * (4.0 * a * c - b.astype(float) ** 2) ** 2 / (p1.astype(float) ** 2 * p2.astype(float) ** 2)
        pchi = np.where(np.isfinite(chi), chdtrc(1, chi), 1.0)  # = scipy.stats.chi2.sf(chi, 1)
    out = pchi.copy()
    exact = np.flatnonzero((pchi < screen) | (np.minimum(p1, p2) < 1000))
    if not len(exact):
        return out
    # variants with the same number of called samples and rare alleles share one null distribution of
    # the heterozygote count, hence one table of p-values by heterozygote count: built once per (n, n_rare)
    # (and kept between calls), then every variant's p is one lookup in the tables of its block
    n_rare = np.minimum(p1, p2)[exact]
    key = (n[exact] << 32) | n_rare                 # one int64 per (n, n_rare): a 1-D sort, not np.unique(axis=1)
    uniq, group = np.unique(key, return_inverse=True)
    tables = [_hwe_table(int(k >> 32), int(k & 0xFFFFFFFF), midp) for k in uniq.tolist()]
    offsets = np.r_[0, np.cumsum([len(t) for t in tables])[:-1]]
    out[exact] = np.concatenate(tables)[offsets[group] + (b[exact] - n_rare % 2) // 2]
    return out


def hwe_exact_below(n_hom1: np.ndarray, n_het: np.ndarray, n_hom2: np.ndarray, threshold: float) -> np.ndarray:
    """``hwe_exact_p(n_hom1, n_het, n_hom2) < threshold``, with the exact test run only where it can be below.

    The exact p sums the null probabilities of the tables no more likely than the observed one, the
    observed table included, so it is at least the observed table's own probability
    ``P(het | n, n_A) = 2^het n! n_A! n_B! / (n_AA! n_AB! n_BB! (2n)!)`` (Wigginton et al. 2005, eq. 2),
    one closed form per variant. Variants whose observed probability is at least twice ``threshold``
    (a margin far above the rounding of either computation) pass without building their table; the
    others get :func:`hwe_exact_p`, so the mask is the one :func:`hwe_exact_p` gives. Where
    :func:`hwe_exact_p` returns its chi-square screen's p (>= 1e-2) instead of the exact p, that p is
    above ``threshold`` too as long as ``threshold <= 1e-2``; larger thresholds run :func:`hwe_exact_p`
    on every variant.

    Returns
    -------
    bool array [M]: True where the HWE p is below ``threshold``.

    References
    ----------
    Wigginton JE et al. (2005) Am J Hum Genet 76:887. doi:10.1086/429864
    """
    a, b, c = (np.asarray(v, dtype=np.int64) for v in (n_hom1, n_het, n_hom2))
    below = np.zeros(len(a), dtype=bool)
    if threshold <= 0 or not len(a):
        return below
    if threshold <= 1e-2:
        todo = np.flatnonzero(hwe_log_prob_observed(a, b, c) < np.log(2.0 * threshold))
    else:
        todo = np.arange(len(a))
    below[todo] = hwe_exact_p(a[todo], b[todo], c[todo]) < threshold
    return below


def hwe_log_prob_observed(n_hom1: np.ndarray, n_het: np.ndarray, n_hom2: np.ndarray) -> np.ndarray:
    """Log of the observed genotype table's probability under HWE given its allele counts,
    ``log(2^het n! n_A! n_B! / (n_AA! n_AB! n_BB! (2n)!))`` (Wigginton et al. 2005, eq. 2), per variant."""
    a, b, c = (np.asarray(v, dtype=np.int64) for v in (n_hom1, n_het, n_hom2))
    n = a + b + c
    return (gammaln(n + 1.0) + gammaln(2 * a + b + 1.0) + gammaln(2 * c + b + 1.0) + b * np.log(2.0)
            - gammaln(a + 1.0) - gammaln(b + 1.0) - gammaln(c + 1.0) - gammaln(2 * n + 1.0))


def hwe_x_exact_p(f_hom1: np.ndarray, f_het: np.ndarray, f_hom2: np.ndarray, m_1: np.ndarray,
                  m_2: np.ndarray) -> np.ndarray:
    """X-chromosome Hardy-Weinberg exact test p-values (Graffelman & Weir 2016), plink2's ``--hwe`` on X.

    Females' genotype counts ``f_hom1, f_het, f_hom2`` and males' hemizygous allele counts ``m_1, m_2`` are
    tested together: under HWE with one allele frequency in both sexes, the tables with the same numbers of
    females, males and allele-1 copies ``n_1`` have probability
    ``n_m! n_f! n_1! n_2! 2^{f_het} / (m_1! m_2! f_hom1! f_het! f_hom2! (2 n_f + n_m)!)``, the males' allele
    count hypergeometric times the females' (Levene's) het distribution; the p-value sums the tables no more
    likely than the observed one (ties within 1e-7 relative count, as :func:`hwe_exact_p`). A difference in
    allele frequency between the sexes fails it too. Left out of the sum: the male counts whose probability
    is below both ``exp(-75)`` times the likeliest one's and ``exp(-40)`` times the observed table's (or below
    ``exp(-700)`` times the likeliest), and female het counts beyond 40 standard deviations of their mean
    (relative error below ~1e-12); an observed table so unlikely that p < 1e-304 gets that bound. With no female it is 1, with no male the females' test.

    Large samples (review rev29d F3: ~1.6 CPU-s a variant at N = 500k): p is ``1 -`` the sum of the tables
    more likely than the observed one, which lie around the mode (for each male count, a window of female het
    counts around the mode, widened until its edges fall to the observed table's probability: both the male
    and the female factors are log-concave), all male counts in one vectorised pass; the tail sum above runs
    only where that difference is too small to trust (below ``1e4`` x its rounding error, ~3e-4 at N = 500k).

    Parameters
    ----------
    f_hom1, f_het, f_hom2, m_1, m_2 : int arrays [M]

    Returns
    -------
    array [M] of p-values (1 for a monomorphic variant or one without a female).

    References
    ----------
    Graffelman J, Weir BS (2016) Testing for Hardy-Weinberg equilibrium at biallelic genetic markers on the X
    chromosome. Heredity 116:558. doi:10.1038/hdy.2016.20 (plink2 ``--hardy``'s ``.hardy.x`` P and ``--hwe``)
    """
    rows = np.column_stack([np.asarray(v, dtype=np.int64) for v in (f_hom1, f_het, f_hom2, m_1, m_2)])
    return np.array([_hwe_x_p(*map(int, r)) for r in rows], dtype=float).reshape(len(rows))


def hwe_x_log_prob_observed(f_hom1, f_het, f_hom2, m_1, m_2) -> np.ndarray:
    """Log of the observed X table's probability under HWE (the summand of :func:`hwe_x_exact_p`), per variant:
    a lower bound of its p-value."""
    a, b, c, m1, m2 = (np.asarray(v, dtype=np.int64) for v in (f_hom1, f_het, f_hom2, m_1, m_2))
    nf, nm = a + b + c, m1 + m2
    n1, n2 = m1 + 2 * a + b, m2 + 2 * c + b
    return (gammaln(nm + 1.0) + gammaln(nf + 1.0) + gammaln(n1 + 1.0) + gammaln(n2 + 1.0) + b * np.log(2.0)
            - gammaln(m1 + 1.0) - gammaln(m2 + 1.0) - gammaln(a + 1.0) - gammaln(b + 1.0) - gammaln(c + 1.0)
            - gammaln(2 * nf + nm + 1.0))


def hwe_x_exact_below(f_hom1, f_het, f_hom2, m_1, m_2, threshold: float) -> np.ndarray:
    """``hwe_x_exact_p(...) < threshold``, the exact sum run only where the observed table's own probability
    (:func:`hwe_x_log_prob_observed`, a lower bound of p) is below twice ``threshold``."""
    counts = [np.asarray(v, dtype=np.int64) for v in (f_hom1, f_het, f_hom2, m_1, m_2)]
    below = np.zeros(len(counts[0]), dtype=bool)
    if threshold <= 0 or not len(below):
        return below
    lobs = hwe_x_log_prob_observed(*counts)
    nf, nm = counts[0] + counts[1] + counts[2], counts[3] + counts[4]
    # p <= (number of tables) x P(observed): a clear failure costs nothing (review rev29d F3a)
    sure = lobs + np.log((nm + 1.0) * (nf + 1.0)) < np.log(threshold)
    below[sure] = True
    todo = np.flatnonzero((lobs < np.log(2.0 * threshold)) & ~sure)
    for i in todo.tolist():
        below[i] = _hwe_x_p(*(int(v[i]) for v in counts), threshold=threshold) < threshold
    return below


#: below this many tables (``(n_m + 1)(n_f + 1)``), X's exact test sums the tail directly
_HWE_X_SMALL = 5000


def _hwe_x_p(f1: int, fh: int, f2: int, m1: int, m2: int, threshold: float | None = None) -> float:
    """:func:`hwe_x_exact_p` of one variant (``threshold``: only whether p is below it need be exact)."""
    nf, nm = f1 + fh + f2, m1 + m2
    n1, t = m1 + 2 * f1 + fh, 2 * nf + nm
    if nf == 0 or n1 in (0, t):
        return 1.0
    if 2 * n1 > t:      # (one allele labelling: the same arithmetic, bit for bit, for both)
        f1, f2, m1, m2, n1 = f2, f1, m2, m1, t - n1
    lobs = float(hwe_x_log_prob_observed(f1, fh, f2, m1, m2)) + 1e-7      # ties within 1e-7 relative
    bound = lobs + np.log((nm + 1.0) * (nf + 1.0))      # p <= the number of tables times the observed one's
    if bound < -700:
        return float(np.exp(bound))
    const = (gammaln(nm + 1.0) + gammaln(nf + 1.0) + gammaln(n1 + 1.0) + gammaln(t - n1 + 1.0)
             - gammaln(t + 1.0))
    males = np.arange(max(0, n1 - 2 * nf), min(nm, n1) + 1)
    # the males' allele-1 count: hypergeometric (n1 copies among 2 nf female and nm male slots)
    lm = -gammaln(males + 1.0) - gammaln(nm - males + 1.0)            # the males' factor of the table
    marginal = (lm - gammaln(n1 - males + 1.0) - gammaln(2 * nf - n1 + males + 1.0) + gammaln(2 * nf + 1.0)
                - gammaln(nf + 1.0) + const)                           # log P(males' count) = log hypergeometric
    err = 16 * np.finfo(float).eps * gammaln(t + 1.0) + 1e-13     # rounding of the log-probabilities
    if (nm + 1.0) * (nf + 1.0) > _HWE_X_SMALL and bound > np.log(1e4 * err):      # (else p is surely tiny)
        q = 1.0 - _hwe_x_central_mass(nf, n1, const, lobs, males, lm, marginal)
        if q > 1e4 * err or (threshold is not None and abs(q - threshold) > 1e2 * err):
            return min(1.0, max(q, 0.0))
    # male counts whose every table is below 1e-17 times the observed one (or 1e-304 times the likeliest)
    near = marginal > max(min(marginal.max() - 75, lobs - 40), marginal.max() - 700)
    males, lm = males[near], lm[near]
    total = 0.0
    for m, l_m in zip(males.tolist(), lm.tolist()):
        r = n1 - m                                # the females' allele-1 copies
        mode = r * (2 * nf - r) / max(2 * nf - 1, 1)
        half = 40.0 * np.sqrt(mode + 1.0) + 20.0
        lo, hi = max(r % 2, int(mode - half)), min(r, 2 * nf - r, int(mode + half))
        het = np.arange(lo + (lo - r) % 2, hi + 1, 2)
        hom1 = (r - het) // 2
        lp = const + l_m + het * np.log(2.0) - gammaln(het + 1.0) - gammaln(hom1 + 1.0) - gammaln(nf - het - hom1 + 1.0)
        total += float(np.exp(lp[lp <= lobs]).sum())
    return min(1.0, total)


def _hwe_x_central_mass(nf: int, n1: int, const: float, lobs: float, males, lm, marginal) -> float:
    """The summed probability of the X tables more likely than ``exp(lobs)`` (:func:`_hwe_x_p`'s terms): for
    each male count whose own probability exceeds it, the female het counts in a window around the mode
    (Gaussian width from how far the count lies above ``lobs``), doubled where an edge is still above it."""
    sel = marginal > lobs
    m, l_m, mg = males[sel], lm[sel], marginal[sel]
    r = n1 - m                                    # the females' allele-1 copies
    top = np.minimum(r, 2 * nf - r)               # the largest het count
    mode = r * (2 * nf - r) / max(2 * nf - 1, 1)
    half = (np.sqrt(2.0 * (mg - lobs)) + 3.0) * np.sqrt(mode + 1.0) + 10.0
    total = 0.0
    while len(r):
        lo = np.maximum(r % 2, np.floor(mode - half).astype(np.int64))
        lo = lo + (lo - r) % 2
        hi = np.minimum(top, np.floor(mode + half).astype(np.int64))
        hi = hi - (hi - r) % 2
        width = np.maximum((hi - lo) // 2 + 1, 1)
        start = np.cumsum(width) - width
        group = np.repeat(np.arange(len(r)), width)
        het = lo[group] + 2 * (np.arange(int(width.sum())) - start[group])
        hom1 = (r[group] - het) // 2
        lp = (const + l_m[group] + het * np.log(2.0) - gammaln(het + 1.0) - gammaln(hom1 + 1.0)
              - gammaln(nf - het - hom1 + 1.0))
        ok = (((lp[start] <= lobs) | (lo <= r % 2 + 1)) & ((lp[start + width - 1] <= lobs) | (hi >= top - 1)))
        inside = ok[group] & (lp > lobs)
        total += float(np.exp(lp[inside]).sum())
        r, top, mode, half, l_m = r[~ok], top[~ok], mode[~ok], 2.0 * half[~ok], l_m[~ok]
    return total


def _hwe_table(n: int, n_rare: int, midp: bool) -> np.ndarray:
    """Exact HWE p-values of every possible heterozygote count (``n_rare % 2, n_rare % 2 + 2, ...``) given
    ``n`` called samples and ``n_rare`` rare alleles: the sum of the null probabilities of tables no more
    likely than the observed one (ties within 1e-7 relative count fully, or half with ``midp``)."""
    if n_rare <= _HWE_CACHE_MAX_RARE:
        return _hwe_table_cached(n, n_rare, midp)
    return _hwe_table_of(n, n_rare, midp)


def _hwe_table_of(n: int, n_rare: int, midp: bool) -> np.ndarray:
    if n == 0:
        return np.ones(1)
    h = np.arange(n_rare % 2, n_rare + 1, 2)
    hom_r = (n_rare - h) // 2
    hom_c = n - h - hom_r
    logp = (h * np.log(2.0) - gammaln(h + 1) - gammaln(hom_r + 1) - gammaln(hom_c + 1))
    prob = np.exp(logp - logp.max())
    ranked = np.sort(prob)
    cum = np.r_[0.0, np.cumsum(ranked)]
    below = cum[np.searchsorted(ranked, prob - prob * 1e-7, side="left")]      # prob < obs, not tied
    upto = cum[np.searchsorted(ranked, prob + prob * 1e-7, side="right")]      # prob <= obs, ties included
    p = np.minimum(1.0, (below + (0.5 if midp else 1.0) * (upto - below)) / cum[-1])
    p.flags.writeable = False
    return p


#: tables up to this many rare alleles are kept between calls (a streamed GWAS tests the variants block by
#: block, and the blocks share most ``(n, n_rare)`` pairs); at most ~4096 x 4 kB
_HWE_CACHE_MAX_RARE = 1000
_hwe_table_cached = functools.lru_cache(maxsize=4096)(_hwe_table_of)


#: the ``hwe`` row's threshold note where X is tested (``qc_report.tsv``)
X_HWE_NOTE = " (autosomes and PAR; X: females and males, Graffelman-Weir, as plink2)"


def variant_qc_mask(n_called: np.ndarray, n_het: np.ndarray, n_hom_alt: np.ndarray, n_samples: int,
                    settings: QCSettings, alleles_ok: np.ndarray | None = None,
                    dosage_sum: np.ndarray | None = None,
                    hwe_tested: np.ndarray | None = None,
                    allele_frequency: np.ndarray | None = None,
                    x_counts: np.ndarray | None = None,
                    n_hom_ref: np.ndarray | None = None) -> tuple[np.ndarray, list[QCStep]]:
    """Sequential variant filters (biallelic, call rate, MAF, HWE) from per-variant counts.

    Parameters
    ----------
    n_called, n_het, n_hom_alt : arrays [M]
        Called samples, heterozygous and homozygous-alt (effect allele) counts among the samples used.
    n_samples : int or int array [M]
        Samples used (denominator of the call rate; per variant where chrY counts the males only).
    dosage_sum : array [M], optional
        Sum of effect-allele dosages (defaults to ``n_het + 2 n_hom_alt``) for the allele frequency.
    allele_frequency : array [M], optional
        The effect-allele frequency where it is not ``dosage_sum / 2 n_called`` (NaN: that; chrX with sex
        known counts one allele per male, as plink2 does).
    hwe_tested : bool array [M], optional
        Variants the HWE test applies to (default all): the callers pass the autosomal ones
        (:func:`edfgen.formats.chromosomes.autosomal`). Males are hemizygous on X (coded 0/2) and everyone on Y
        and MT, so the diploid exact test rejects every common variant there: Y and MT are not HWE-tested, X
        only with ``x_counts``.
    x_counts : int array [M, 5], optional
        The females' and males' counts of non-PAR X (:attr:`VariantCounts.x_counts`; -1 rows elsewhere): those
        variants get plink2's X test (:func:`hwe_x_exact_p`, Graffelman & Weir 2016, females and males
        together) instead.
    n_hom_ref : array [M], optional
        Homozygous other-allele hard calls for the HWE test (default ``n_called - n_het - n_hom_alt``); dosage
        input passes those of :func:`hard_call_counts`, where a sample may have a dosage but no hard call.

    Returns
    -------
    (keep [M] bool, list of QCStep)
    """
    M = len(n_called)
    keep = np.ones(M, dtype=bool) if alleles_ok is None else np.asarray(alleles_ok, bool).copy()
    steps = [QCStep("biallelic", "variant", "2 alleles", int(M - keep.sum()), int(keep.sum()))]
    with np.errstate(invalid="ignore", divide="ignore"):
        cr = n_called / np.maximum(n_samples, 1)
        ds = dosage_sum if dosage_sum is not None else n_het + 2.0 * n_hom_alt
        af = ds / (2.0 * n_called)
        if allele_frequency is not None:
            af = np.where(np.isnan(allele_frequency), af, allele_frequency)
        maf = np.minimum(af, 1 - af)
    for name, ok, thr in (("variant_call_rate", cr >= settings.call_rate, settings.call_rate),
                          ("maf", np.nan_to_num(maf) >= settings.maf, settings.maf)):
        before = int(keep.sum())
        keep &= ok
        steps.append(QCStep(name, "variant", f">= {thr:g}", before - int(keep.sum()), int(keep.sum())))
    before = int(keep.sum())
    if settings.hwe_p > 0:
        idx = np.flatnonzero(keep if hwe_tested is None else keep & np.asarray(hwe_tested, bool))
        hom_ref = (n_called - n_het - n_hom_alt if n_hom_ref is None else np.asarray(n_hom_ref))[idx]
        keep[idx[hwe_exact_below(hom_ref, n_het[idx], n_hom_alt[idx], settings.hwe_p)]] = False
        if x_counts is not None:
            on_x = np.flatnonzero(keep & (np.asarray(x_counts)[:, 0] >= 0))
            keep[on_x[hwe_x_exact_below(*np.asarray(x_counts)[on_x].T, settings.hwe_p)]] = False
    where = "" if hwe_tested is None else " (autosomes and PAR)" if x_counts is None else X_HWE_NOTE
    steps.append(QCStep("hwe", "variant", f"p >= {settings.hwe_p:g}{where}" if settings.hwe_p > 0 else "off",
                        before - int(keep.sum()), int(keep.sum())))
    return keep, steps


# ----------------------------------------------------------------------------------------------
# counts of a pass over the genotypes, INFO, biallelic, sample call rate
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VariantCounts:
    """Per-variant sums over the samples read (arrays ``[M]``) and per-sample missing calls ``[N]``."""

    n_called: np.ndarray
    n_het: np.ndarray
    n_hom_alt: np.ndarray
    dosage_sum: np.ndarray
    dosage_sumsq: np.ndarray
    sample_missing: np.ndarray
    #: effect-allele frequency counting each sample's copies (chrX with sex known: one per male), else None
    #: (``dosage_sum / 2 n_called``)
    allele_frequency: np.ndarray | None = None
    #: samples each variant was counted over (chrY: the males), else None (the ``n_samples`` of :func:`variant_qc`)
    n_samples: np.ndarray | None = None
    #: variants each sample was counted on (females are not counted on Y), else None (all)
    sample_variants: np.ndarray | None = None
    #: chrX with sex known: [M, 5] hard-call counts of the females (homozygous other allele, heterozygous,
    #: homozygous effect allele) and the males (other, effect allele; heterozygous males left out, as plink2),
    #: -1 on the variants that are not non-PAR X; else None. X's HWE test (:func:`hwe_x_exact_p`) reads them.
    x_counts: np.ndarray | None = None
    #: homozygous other-allele hard calls (:func:`hard_call_counts`; dosages further than 0.1 from an integer are
    #: no call), else None (``n_called - n_het - n_hom_alt``: hard-call input)
    n_hom_ref: np.ndarray | None = None

    @property
    def info(self) -> np.ndarray:
        return mach_r2(self.n_called, self.dosage_sum, self.dosage_sumsq)


def mach_r2(n_called: np.ndarray, dosage_sum: np.ndarray, dosage_sumsq: np.ndarray) -> np.ndarray:
    """MaCH r² (plink2 ``MACH_R2``): ``var(d) / (2 p (1 - p))`` with ``p = mean(d) / 2``.

    ``var`` is the population variance of the called dosages. Monomorphic variants get NaN (plink2
    reports them as ``NA``); values above 1 are returned as computed, as plink2 does.
    """
    n = np.asarray(n_called, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.asarray(dosage_sum, dtype=float) / n
        var = np.asarray(dosage_sumsq, dtype=float) / n - mean * mean
        p = mean / 2.0
        r2 = var / (2.0 * p * (1.0 - p))
    return np.where((p > 0) & (p < 1), r2, np.nan)


def biallelic(variants: pd.DataFrame) -> np.ndarray:
    """Variants with exactly two distinct, defined alleles (``0``/``.`` = undefined), from the standard
    variants table (``n_alleles``, ``effect_allele``, ``other_allele``)."""
    ea, oa = variants["effect_allele"], variants["other_allele"]
    return ((variants["n_alleles"] == 2).to_numpy() & (~ea.isin(["0", "."]) & ~oa.isin(["0", "."])
                                                      & (ea != oa)).to_numpy())


def sample_call_rate_ok(sample_missing: np.ndarray, n_variants: int, settings: QCSettings) -> np.ndarray:
    """Samples called at >= ``settings.sample_call_rate`` of ``n_variants`` (from their missing calls)."""
    return (1 - np.asarray(sample_missing) / np.maximum(n_variants, 1)) >= settings.sample_call_rate


def sample_call_rate_step(ok: np.ndarray, settings: QCSettings) -> QCStep:
    """The ``sample_call_rate`` row of ``qc_report.tsv`` for the mask ``ok`` of :func:`sample_call_rate_ok`."""
    return QCStep("sample_call_rate", "sample", f">= {settings.sample_call_rate:g}", int((~ok).sum()),
                  int(ok.sum()))


def related_step(ok: np.ndarray, settings: QCSettings) -> QCStep:
    """The ``related`` row of ``qc_report.tsv`` (``ok``: samples kept by the kinship filter)."""
    return QCStep("related", "sample", f"kinship <= {settings.kinship:g}", int((~ok).sum()), int(ok.sum()))


def variant_qc(counts: VariantCounts, alleles_ok: np.ndarray, n_samples: int, settings: QCSettings, *, dosages: bool,
               min_info: float | None = None, hwe_tested: np.ndarray | None = None):
    """Variant QC of the candidate variants from their counts: ``(keep [V], steps)``.

    ``counts`` are over the biallelic candidates (``alleles_ok``); the steps are those of
    :func:`variant_qc_mask` (MAF from dosages for dosage input; HWE on the candidates where ``hwe_tested``,
    [V], is True: the engines pass the autosomes; on X with ``counts.x_counts``, plink2's X test), then ``min_info`` (MaCH r² >= ``min_info``; monomorphic
    variants fail) when given.
    """
    V = len(alleles_ok)
    full = [np.zeros(V) for _ in range(4)]
    for f, c in zip(full, (counts.n_called, counts.n_het, counts.n_hom_alt, counts.dosage_sum)):
        f[alleles_ok] = c
    hom_ref = None
    if counts.n_hom_ref is not None:
        hom_ref = np.zeros(V, dtype=np.int64)
        hom_ref[alleles_ok] = counts.n_hom_ref
    if counts.n_samples is not None:
        n_samples = np.full(V, n_samples, dtype=np.int64)
        n_samples[alleles_ok] = counts.n_samples
    frequency = x_counts = None
    if counts.x_counts is not None:
        x_counts = np.full((V, 5), -1, dtype=np.int64)
        x_counts[alleles_ok] = counts.x_counts
    if counts.allele_frequency is not None:
        frequency = np.full(V, np.nan)
        frequency[alleles_ok] = counts.allele_frequency
    keep, steps = variant_qc_mask(full[0].astype(np.int64), full[1].astype(np.int64), full[2].astype(np.int64),
                                  n_samples, settings, alleles_ok=alleles_ok,
                                  dosage_sum=full[3] if dosages else None,
                                  hwe_tested=hwe_tested, allele_frequency=frequency, x_counts=x_counts,
                                  n_hom_ref=hom_ref)
    if min_info is not None:
        info = np.full(V, np.nan)
        info[alleles_ok] = counts.info
        before = int(keep.sum())
        keep &= np.nan_to_num(info, nan=-1.0) >= min_info
        steps.append(QCStep("min_info", "variant", f"MaCH r2 >= {min_info:g}", before - int(keep.sum()),
                            int(keep.sum())))
    return keep, steps
