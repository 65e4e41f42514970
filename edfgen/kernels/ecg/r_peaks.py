"""R peaks of a 12-lead record (:func:`detect_r_peaks`; the method is step 1 of
:mod:`edfgen.kernels.ecg.biomarkers`), and the zero-phase Butterworth filters the delineator shares."""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from edfgen.kernels.ecg import SAMPLING_RATE
from edfgen.exceptions import InputError

__all__ = ["detect_r_peaks"]


def _sos(fs: float, lo: float | None, hi: float | None, order: int = 2):
    nyq = fs / 2.0
    if lo and hi and hi < nyq:
        return sps.butter(order, [lo, hi], btype="band", fs=fs, output="sos")
    if lo:
        return sps.butter(order, lo, btype="high", fs=fs, output="sos")
    return sps.butter(order, min(hi, 0.45 * fs), btype="low", fs=fs, output="sos")


def _filt(x: np.ndarray, fs: float, lo: float | None, hi: float | None, order: int = 2) -> np.ndarray:
    padlen = min(x.shape[-1] - 1, int(fs))
    return sps.sosfiltfilt(_sos(fs, lo, hi, order), x, axis=-1, padlen=padlen)


def detect_r_peaks(signal: np.ndarray, fs: float = SAMPLING_RATE, *, refractory_s: float = 0.25,
                   threshold: float = 0.25) -> np.ndarray:
    """R-peak sample indices of one ECG (one lead ``[T]`` or several ``[L, T]``).

    Parameters
    ----------
    signal
        ``[T]`` or ``[L, T]`` in any units (mV usual); NaNs are treated as 0.
    fs
        Sampling rate (Hz).
    refractory_s
        Minimum distance between two beats (s).
    threshold
        Candidate peaks need this fraction of the 98th percentile of the QRS energy; a second
        pass drops peaks below 40 % of the median candidate energy.

    Returns
    -------
    numpy.ndarray
        Sorted ``int64`` sample indices (empty when the record is flat or too short).

    Examples
    --------
    >>> import numpy as np
    >>> from edfgen.simulate.ecg import BeatParams, synthesize_ecg
    >>> x = synthesize_ecg(BeatParams(60, 160, 90, 400, 45, 1.5, 0.4, 0.12, 0.0), rng=np.random.default_rng(1))
    >>> len(detect_r_peaks(x[1], 500)) in (9, 10, 11)
    True
    """
    x = np.nan_to_num(np.asarray(signal, dtype=float))
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise InputError(f"detect_r_peaks: signal must be [T] or [L, T], got shape {np.shape(signal)}")
    n = x.shape[-1]
    if n < int(fs):
        return np.zeros(0, dtype=np.int64)
    y = _filt(x, fs, 5.0, 25.0)
    w = max(1, int(0.1 * fs))
    e = sps.fftconvolve(np.diff(y, axis=-1, prepend=y[:, :1]) ** 2, np.ones((1, w)) / w, mode="same", axes=-1)
    # each lead scaled by its own 98th percentile and capped, so one lead's artefact cannot dominate
    scale = np.quantile(e, 0.98, axis=-1, keepdims=True)
    live = scale[:, 0] > 0
    if not live.any():
        return np.zeros(0, dtype=np.int64)
    e = np.minimum(e[live] / scale[live], 2.0).sum(0)
    top = np.quantile(e, 0.98)
    if not np.isfinite(top) or top <= 0:
        return np.zeros(0, dtype=np.int64)
    cand, props = sps.find_peaks(e, height=threshold * top, distance=max(1, int(refractory_s * fs)))
    if len(cand) == 0:
        return cand.astype(np.int64)
    cand = cand[props["peak_heights"] >= 0.4 * np.median(props["peak_heights"])]
    # refine on the broadband signal magnitude
    z = _filt(x, fs, 0.5, 40.0)
    mag = np.sqrt((z ** 2).sum(0)) if z.shape[0] > 1 else np.abs(z[0])
    half = int(0.06 * fs)
    idx = cand[:, None] + np.arange(-half, half + 1)[None, :]
    idx = np.clip(idx, 0, n - 1)
    peaks = idx[np.arange(len(cand)), np.argmax(mag[idx], axis=1)]
    peaks = np.unique(peaks)
    if len(peaks) > 1:   # refinement may pull two candidates together
        keep = np.concatenate([[True], np.diff(peaks) >= refractory_s * fs])
        peaks = peaks[keep]
    return peaks.astype(np.int64)
