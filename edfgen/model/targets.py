"""Auxiliary measurement targets: ECG intervals the encoder is asked to keep in its pooled embedding.

The self-supervised objectives (contrastive, masked code prediction, CMSC) are solved well without
localising QRS onset/offset or T end, so an encoder trained on them alone lets its deeper layers
discard interval information that matters as a phenotype (QRS duration, QT). A small linear head on
the pooled final layer (:class:`~edfgen.model.encoder.ECGEncoder` ``aux_head``) predicts these
quantities during pre-training, so the EDFs keep them linearly decodable.

The targets are **measured from the signal itself, never from diagnoses**: for simulated ECGs the
simulator's known physiology, for real ECGs the classical delineator
(:func:`edfgen.kernels.ecg.biomarkers.measure_biomarkers`); a record where a measurement is missing simply
does not contribute to that target. Each target is standardised with fixed, documented population
constants (below), so checkpoints do not depend on the training set's statistics. The QRS axis enters
as its sine and cosine (it is circular).

References
----------
Multi-task self-supervision with signal-derived targets: Pascual S, et al. Learning problem-agnostic
speech representations from multiple self-supervised tasks (PASE). Interspeech 2019. arXiv:1904.03416.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from edfgen.exceptions import ConfigError

#: target -> (source column, centre, scale); the standardised target is ``(value - centre) / scale``.
#: Centres and scales are typical adult values (heart rate 70 ± 15 bpm, PR 160 ± 30 ms, QRS 95 ± 15 ms,
#: QT 400 ± 40 ms); the axis targets are sin/cos of ``qrs_axis_deg``.
AUX_TARGETS: dict[str, tuple[str, float, float]] = {
    "heart_rate": ("heart_rate_bpm", 70.0, 15.0),
    "pr_interval": ("pr_interval_ms", 160.0, 30.0),
    "qrs_duration": ("qrs_duration_ms", 95.0, 15.0),
    "qt_interval": ("qt_interval_ms", 400.0, 40.0),
    "qrs_axis_sin": ("qrs_axis_deg", 0.0, 1.0),
    "qrs_axis_cos": ("qrs_axis_deg", 0.0, 1.0),
}


def check_targets(names) -> tuple[str, ...]:
    """Validate target names (raises :class:`ConfigError` naming the unknown ones)."""
    names = tuple(names)
    bad = [n for n in names if n not in AUX_TARGETS]
    if bad:
        raise ConfigError(f"ModelConfig aux_targets: unknown target(s) {bad}; choose from {list(AUX_TARGETS)}")
    return names


def encode_targets(table: pd.DataFrame, names) -> np.ndarray:
    """Standardised targets ``float32 [N, len(names)]`` from a physiology/biomarker table (NaN = missing).

    Parameters
    ----------
    table
        One row per recording with the source columns of :data:`AUX_TARGETS` (simulated physiology
        or :func:`~edfgen.kernels.ecg.biomarkers.measure_biomarkers` output); a missing column gives NaN.
    names
        Target names, in the order of the auxiliary head's outputs.
    """
    out = np.full((len(table), len(names)), np.nan, dtype=np.float32)
    for j, name in enumerate(check_targets(names)):
        col, centre, scale = AUX_TARGETS[name]
        if col not in table:
            continue
        v = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=np.float64)
        if name == "qrs_axis_sin":
            v = np.sin(np.deg2rad(v))
        elif name == "qrs_axis_cos":
            v = np.cos(np.deg2rad(v))
        out[:, j] = (v - centre) / scale
    return out


def decode_targets(z: np.ndarray, names) -> pd.DataFrame:
    """Inverse of :func:`encode_targets`: the auxiliary head's standardised outputs back in their units.

    Parameters
    ----------
    z
        ``[N, len(names)]`` standardised values (e.g. ``ECGEncoder.aux_head`` applied to the EDFs: the head is
        linear on the pooled final layer, so it applies to EDFs averaged over crops too).
    names
        Target names, in the order of ``z``'s columns.

    Returns
    -------
    pandas.DataFrame
        One column per source column of :data:`AUX_TARGETS` (``heart_rate_bpm``, ``pr_interval_ms``, ...); the QRS
        axis, when both its sine and cosine are present, as ``qrs_axis_deg = atan2(sin, cos)`` in degrees.
    """
    z = np.asarray(z, dtype=np.float64)
    names = check_targets(names)
    if z.ndim != 2 or z.shape[1] != len(names):
        raise ValueError(f"decode_targets: expected [N, {len(names)}] values, got shape {z.shape}")
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        col, centre, scale = AUX_TARGETS[name]
        if col != "qrs_axis_deg":
            out[col] = z[:, j] * scale + centre
    if "qrs_axis_sin" in names and "qrs_axis_cos" in names:
        out["qrs_axis_deg"] = np.rad2deg(np.arctan2(z[:, names.index("qrs_axis_sin")],
                                                    z[:, names.index("qrs_axis_cos")]))
    return pd.DataFrame(out)
