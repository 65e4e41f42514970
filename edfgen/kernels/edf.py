"""Kernels on ECG-derived features (EDFs): the frozen encoder's windows -> EDFs, PCA, associations
with known biomarkers and clusters of EDFs.

What this module knows: arrays (and an encoder object with an ``embed`` method); no paths. The
commands :mod:`edfgen.commands.extract` and :mod:`edfgen.commands.interpret` read and write the files.

Associations: for every pair (EDF *j*, biomarker *k*) the model is

``edf_j ~ 1 + covariates + biomarker_k``   (ordinary least squares)

and the biomarker's coefficient is reported with its standard error, t statistic and two-sided p
value. All pairs are fitted at once by the Frisch–Waugh–Lovell theorem: EDFs and biomarkers are
residualised on the covariates with one least-squares solve, and the slopes, residual sums of squares
and standard errors follow from matrix products (degrees of freedom ``n − n_covariates − 2``).
Participants with a missing value of a biomarker are dropped for that biomarker only.

EDF clusters: k-means (scikit-learn) on the EDFs' standardised profiles across participants (each EDF
is a point whose coordinates are its z-scored values; squared Euclidean distance between two such
profiles is ``2(n−1)(1 − r)``, so EDFs cluster by correlation). At most ``max_samples``
participants (seeded random subset) are used.

References
----------
Frisch R, Waugh FV. Partial time regressions as compared with individual trends.
Econometrica 1933;1:387-401. doi:10.2307/1907330
Lovell MC. Seasonal adjustment of economic time series. JASA 1963;58:993-1010. doi:10.1080/01621459.1963.10480682
Lloyd SP. Least squares quantization in PCM. IEEE Trans Inf Theory 1982;28:129-137. doi:10.1109/TIT.1982.1056489
(k-means; scikit-learn's ``KMeans`` with k-means++ seeding, Arthur & Vassilvitskii, SODA 2007).
Jolliffe IT, Cadima J. Principal component analysis: a review and recent developments.
Phil Trans R Soc A 2016;374:20150202. doi:10.1098/rsta.2015.0202
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edfgen.exceptions import InputError
from edfgen.kernels.ecg.preprocessing_config import Preprocessing

__all__ = ["AssociationResult", "PcaResult", "associate", "cluster_edfs", "edf_pca", "embed_preprocessed",
           "embed_windows"]


def embed_preprocessed(model, x):
    """``model.embed(x)`` of crops from :func:`edfgen.kernels.ecg.preprocess.preprocess`, without the encoder's
    batch-level units check (``check_units=False``): preprocess judged each record's amplitude against the user's
    quality thresholds, and a noisy record they let through must not stop a run because of the batch it fell in.

    Parameters
    ----------
    model
        An encoder with ``embed(x) -> [N, D]``; ``check_units=False`` is passed where its ``embed`` takes it.
    x
        ``[N, 12, T]`` mV crops of preprocessed windows (a torch tensor on the model's device).

    Returns
    -------
    ``[N, D]`` tensor: the crop embeddings.
    """
    import inspect

    try:
        takes = "check_units" in inspect.signature(model.embed).parameters
    except (TypeError, ValueError):
        takes = False
    return model.embed(x, check_units=False) if takes else model.embed(x)


def embed_windows(model, x: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """EDFs of preprocessed 10 s windows with a frozen encoder.

    Parameters
    ----------
    model
        An encoder with ``embed(x [N, 12, T_crop]) -> [N, D]`` (averaged over time), in ``eval()`` mode.
    x
        ``float32 [N, 12, prep.window_samples]`` in mV (from :func:`edfgen.kernels.ecg.preprocess.preprocess`).
    prep
        Gives the crop length; the window is split into ``window_samples // crop_samples`` crops.

    Returns
    -------
    ``float32 [N, D]``: the mean of each window's crop embeddings.
    """
    import torch

    n, L, W = x.shape
    c = prep.crop_samples
    k = W // c
    if k < 1:
        raise InputError(f"preprocessing: crop_s {prep.crop_s} longer than window_s {prep.window_s}")
    crops = torch.from_numpy(np.ascontiguousarray(x[:, :, :k * c]))
    crops = crops.reshape(n, L, k, c).permute(0, 2, 1, 3).reshape(n * k, L, c)
    with torch.inference_mode():
        emb = embed_preprocessed(model, crops.to(next(model.parameters()).device))
    return emb.float().reshape(n, k, -1).mean(dim=1).cpu().numpy()


@dataclass(frozen=True)
class PcaResult:
    """PCA of an EDF table (on standardised EDFs).

    Attributes
    ----------
    scores
        ``[n, k]`` principal component scores ``Z @ loadings``.
    loadings
        ``[D, k]`` unit-norm component directions (sign: largest-|.| entry positive).
    mean, sd
        ``[D]`` the standardisation (``Z = (X - mean) / sd``; constant columns get ``sd = 1``).
    explained_variance_ratio
        ``[k]``.
    """

    scores: np.ndarray
    loadings: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    explained_variance_ratio: np.ndarray


def edf_pca(x: np.ndarray, k: int) -> PcaResult:
    """PCA by thin SVD of the standardised EDF matrix ``x [n, D]`` (numpy, float64).

    References
    ----------
    Jolliffe IT, Cadima J. Principal component analysis: a review and recent developments.
    Phil Trans R Soc A 2016;374:20150202. doi:10.1098/rsta.2015.0202
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    if not 1 <= k <= min(n, d):
        raise InputError(f"--pca {k}: must be between 1 and min(participants, EDFs) = {min(n, d)}")
    mean = x.mean(axis=0)
    sd = x.std(axis=0, ddof=1) if n > 1 else np.ones(d)
    sd = np.where(sd > 0, sd, 1.0)
    z = (x - mean) / sd
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    v = vt[:k].T
    sign = np.sign(v[np.abs(v).argmax(axis=0), np.arange(k)])
    v = v * np.where(sign == 0, 1.0, sign)
    var = s ** 2
    return PcaResult(scores=z @ v, loadings=v, mean=mean, sd=sd,
                     explained_variance_ratio=var[:k] / var.sum())


@dataclass(frozen=True)
class AssociationResult:
    """Adjusted associations of ``p`` EDFs with ``q`` biomarkers (arrays ``[p, q]``).

    Attributes
    ----------
    beta, se, t, p_value
        Biomarker coefficient, its standard error, t statistic and two-sided p value.
    n
        ``[q]`` participants used per biomarker (complete cases).
    dof
        ``[q]`` residual degrees of freedom.
    """

    beta: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p_value: np.ndarray
    n: np.ndarray
    dof: np.ndarray


def _varies(residuals: np.ndarray, values: np.ndarray, rtol: float = 1e-14) -> np.ndarray:
    """Whether each column still varies after the covariates: its residual sum of squares exceeds ``rtol``
    times its raw sum of squares (R's ``lm`` tolerance, 1e-7 on the norm; the round-off of an exactly
    explained column is ~1e-30 of it)."""
    rss = np.einsum("ij,ij->j", residuals, residuals)
    raw = np.einsum("ij,ij->j", values, values)
    return rss > rtol * raw


def associate(edfs: np.ndarray, biomarkers: np.ndarray, covariates: np.ndarray | None = None, *,
              intercept: bool = True) -> AssociationResult:
    """OLS of every EDF on every biomarker, adjusted for covariates (vectorised, see module docstring).

    Parameters
    ----------
    edfs
        ``[n, p]``, finite.
    biomarkers
        ``[n, q]``; NaN marks a missing value (that participant is dropped for that biomarker).
    covariates
        ``[n, c]`` (finite) or ``None``.
    intercept
        Add an intercept column to the covariates.

    Returns
    -------
    AssociationResult
        NaN beta, se, t and p for a pair that is not estimable: fewer participants with the biomarker
        than covariates + 2, or a biomarker or EDF that the covariates explain (constant, or a copy of one).
    """
    from scipy import stats

    y = np.asarray(edfs, dtype=np.float64)
    b = np.asarray(biomarkers, dtype=np.float64)
    n, p = y.shape
    q = b.shape[1]
    cov = np.zeros((n, 0)) if covariates is None else np.asarray(covariates, dtype=np.float64).reshape(n, -1)
    for what, arr in (("edfs", y), ("covariates", cov)):
        bad = np.argwhere(~np.isfinite(arr))
        if len(bad):
            r, c = bad[0]
            raise InputError(f"associate: {what} must be finite; {len(bad)} non-finite value(s), first "
                             f"{arr[r, c]} at row {r}, column {c} (drop incomplete participants first)")
    if intercept:
        cov = np.column_stack([np.ones(n), cov])
    out = {k: np.full((p, q), np.nan) for k in ("beta", "se", "t", "p_value")}
    ns = np.zeros(q, dtype=np.int64)
    dofs = np.zeros(q, dtype=np.int64)
    present = np.isfinite(b)
    # group biomarkers by missingness pattern: one lstsq per pattern (usually a single one)
    patterns: dict[bytes, list[int]] = {}
    for k in range(q):
        patterns.setdefault(np.packbits(present[:, k]).tobytes(), []).append(k)
    for ks in patterns.values():
        m = present[:, ks[0]]
        nk = int(m.sum())
        c = cov[m]
        dof = nk - np.linalg.matrix_rank(c) - 1
        ns[ks], dofs[ks] = nk, dof
        if dof < 1:
            continue
        stack = np.column_stack([y[m], b[m][:, ks]])
        coef, *_ = np.linalg.lstsq(c, stack, rcond=None)
        r = stack - c @ coef
        ry, rb = r[:, :p], r[:, p:]
        sxx = np.einsum("ij,ij->j", rb, rb)                      # [k]
        sxy = ry.T @ rb                                            # [p, k]
        syy = np.einsum("ij,ij->j", ry, ry)[:, None]               # [p, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = sxy / sxx
            rss = np.maximum(syy - beta * sxy, 0.0)
            se = np.sqrt(rss / dof / sxx)
            t = beta / se
        # a column the covariates explain (a constant, a copy of a covariate) leaves round-off residuals whose
        # "coefficients" are ~1e10: not estimable, NaN (review s30j F5)
        t[:, ~_varies(rb, stack[:, p:])] = np.nan
        t[~_varies(ry, stack[:, :p])] = np.nan
        beta, se = np.where(np.isnan(t), np.nan, beta), np.where(np.isnan(t), np.nan, se)
        pv = 2.0 * stats.t.sf(np.abs(t), dof)
        out["beta"][:, ks], out["se"][:, ks], out["t"][:, ks], out["p_value"][:, ks] = beta, se, t, pv
    return AssociationResult(beta=out["beta"], se=out["se"], t=out["t"], p_value=out["p_value"], n=ns, dof=dofs)


def cluster_edfs(edfs: np.ndarray, k: int, *, seed: int = 0, max_samples: int = 20000) -> np.ndarray:
    """k-means labels ``[p]`` of EDFs from their standardised profiles (module docstring).

    Labels are renumbered 1..k in order of first appearance (deterministic for a seed).
    """
    from sklearn.cluster import KMeans

    x = np.asarray(edfs, dtype=np.float64)
    n, p = x.shape
    if not 1 <= k <= p:
        raise InputError(f"--clusters {k}: must be between 1 and the number of EDFs ({p})")
    rng = np.random.default_rng(seed)
    if n > max_samples:
        x = x[np.sort(rng.choice(n, max_samples, replace=False))]
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(z.T)
    remap: dict[int, int] = {}
    for lab in labels:
        remap.setdefault(int(lab), len(remap) + 1)
    return np.array([remap[int(lab)] for lab in labels])
