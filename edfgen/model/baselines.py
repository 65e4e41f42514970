"""Baselines an encoder's frozen EDFs must beat, scored with the same linear probe on the same folds.

* ``random``: the checkpoint's own architecture with **random weights** (``torch.manual_seed(seed)``,
  PyTorch's default initialisation), its mean-pooled features probed like the EDFs. Randomly initialised
  encoders with a linear probe match many pretrained ECG models, which makes them the first bar a
  foundation model has to clear.
* ``biomarkers``: the 10 classical measurements of :func:`edfgen.kernels.ecg.biomarkers.measure_biomarkers`
  (heart rate, PR, QRS, QT, QRS axis, R/T/P amplitudes, ST deviation, RR SD) on the same preprocessed records.
* ``minirocket``: MiniRocket (Dempster et al. 2021; sktime ``MiniRocketMultivariate``, 10,000 random
  convolutional kernels, label-free bias fit on all records) on the records decimated to 100 Hz. Only when
  sktime is installed (it is not an edfgen dependency): otherwise the baseline is skipped and the reason kept.

:func:`paired_difference` gives encoder − baseline per label and for the macro mean with a percentile
bootstrap CI over the same patient resamples for both (a paired comparison).

References
----------
Dempster A, Schmidt DF, Webb GI. MiniRocket: a very fast (almost) deterministic transform for time series
classification. KDD 2021:248-257. doi:10.1145/3447548.3467231.
Ulyanov D, Vedaldi A, Lempitsky V. Deep image prior. CVPR 2018 (random networks as feature extractors).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from edfgen.kernels.ecg.biomarkers import BIOMARKER_COLUMNS, measure_biomarkers
from edfgen.model.metrics import auroc_rows, bootstrap_replicates, bootstrap_samples, percentile_ci

__all__ = ["BASELINES", "BaselineUnavailable", "baseline_features", "paired_difference"]

#: Baselines ``edfgen evaluate --baseline`` knows.
BASELINES = ("random", "minirocket", "biomarkers")


class BaselineUnavailable(RuntimeError):
    """A baseline that cannot run here (MiniRocket without sktime); the message says why."""


def _minirocket(seed: int):
    try:
        from sktime.transformations.rocket import MiniRocketMultivariate
    except ImportError:
        try:                                                # sktime < 0.30 layout
            from sktime.transformations.panel.rocket import MiniRocketMultivariate
        except ImportError as exc:
            raise BaselineUnavailable("minirocket baseline skipped: sktime is not installed "
                                      "(pip install sktime; not an edfgen dependency)") from exc
    return MiniRocketMultivariate(num_kernels=10_000, random_state=seed, n_jobs=1)


def decimated_to_100hz(signals: np.ndarray, fs: float) -> tuple[np.ndarray, int]:
    """``signals [..., T]`` at ``fs`` decimated (zero phase, scipy's anti-aliasing filter) by the integer step nearest
    to ``fs / 100`` as float64, and that step: MiniRocket's input (its kernels are 9 samples long)."""
    from scipy.signal import decimate

    step = max(1, int(round(fs / 100)))
    x = signals.astype(np.float64)
    return np.ascontiguousarray(decimate(x, step, axis=-1, zero_phase=True) if step > 1 else x), step


def baseline_features(name: str, loaded, signals: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, str]:
    """Features ``[N, D]`` of baseline ``name`` on preprocessed records ``signals [N, 12, W]`` and a one-line
    description.

    Parameters
    ----------
    loaded
        The evaluated :class:`~edfgen.model.checkpoint.LoadedModel` (its architecture and preprocessing).

    Raises
    ------
    BaselineUnavailable
        ``minirocket`` without sktime.
    ValueError
        An unknown name.
    """
    prep = loaded.preprocessing
    fs = prep.sampling_rate
    if name == "random":
        import torch

        from edfgen.model.data import embed_ecgs
        from edfgen.model.encoder import ECGEncoder

        torch.manual_seed(seed)
        model = ECGEncoder(loaded.model.config).eval()
        return (embed_ecgs(model, signals, prep.crop_samples),
                f"ECGEncoder({loaded.model.config.name}) with random weights (torch.manual_seed({seed}))")
    if name == "biomarkers":
        cols = [c for c in BIOMARKER_COLUMNS if c != "n_beats"]
        table = measure_biomarkers(signals, fs)
        return table[cols].to_numpy(float), f"the {len(cols)} measured biomarkers ({', '.join(cols)})"
    if name == "minirocket":
        model = _minirocket(seed)
        x, step = decimated_to_100hz(signals, fs)
        import sktime

        return (np.asarray(model.fit_transform(x), dtype=np.float64),
                f"sktime {sktime.__version__} MiniRocketMultivariate, 10,000 kernels, {fs / step:g} Hz, fit label-free "
                "on all records")
    raise ValueError(f"unknown baseline {name!r} (one of {', '.join(BASELINES)})")


def paired_difference(y: np.ndarray, prob_a: np.ndarray, prob_b: np.ndarray, *, groups: Sequence | None = None,
                      n_boot: int = 1000, seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """AUROC of ``a`` minus AUROC of ``b`` per label and ``macro`` (unweighted mean over labels), with a
    percentile bootstrap 95% CI from the same resamples for both (patients resampled when ``groups`` is given).

    Returns
    -------
    dict
        ``{label index as str | "macro": (difference, lower, upper)}``.
    """
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    pa = np.asarray(prob_a, dtype=float).reshape(y.shape)
    pb = np.asarray(prob_b, dtype=float).reshape(y.shape)
    groups = None if groups is None else np.asarray([str(g) for g in groups])
    if groups is not None and len(np.unique(groups)) == len(groups):
        groups = None
    samples = bootstrap_samples(len(y), n_boot=n_boot, seed=seed, groups=groups)
    est = np.array([auroc_rows(y[ok, j][None], pa[ok, j][None])[0] - auroc_rows(y[ok, j][None], pb[ok, j][None])[0]
                    for j in range(y.shape[1]) for ok in [np.isfinite(y[:, j])]])
    reps = (bootstrap_replicates(y, pa, samples, metric=auroc_rows)
            - bootstrap_replicates(y, pb, samples, metric=auroc_rows))
    out = {}
    for j in range(y.shape[1]):
        ci = percentile_ci(est[j], reps[:, j])
        out[str(j)] = (ci.estimate, ci.lower, ci.upper)
    whole = reps.mean(axis=1)   # NaN where a label is undefined
    ci = percentile_ci(float(np.mean(est)), whole)
    out["macro"] = (ci.estimate, ci.lower, ci.upper)
    return out
