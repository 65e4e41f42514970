"""Synthetic 12-lead ECGs from a cardiac dipole (vectorcardiogram) model.

Each heartbeat is a sum of smooth, compactly supported components of the heart's electrical
dipole ``d(t) = [X, Y, Z]`` (Frank orientation: X to the left, Y to the feet, Z to the back):
a P wave, a QRS loop made of septal (Q), main (R) and terminal (S) vectors, an ST-segment
shift and an asymmetric T wave. Timings and amplitudes come from one participant's
:class:`BeatParams` (the columns of ``physiology.tsv``); the frontal-plane direction of the R
vector is set so that the QRS axis measured from leads I and aVF (Einthoven) equals
``qrs_axis_deg``. The dipole is projected onto leads I, II and V1–V6 with the Dower matrix
(the transform whose least-squares inverse is the inverse Dower matrix of Edenbrandt & Pahlm
1988), and III, aVR, aVL and aVF are derived from I and II (both in :mod:`edfgen.kernels.ecg.leads`),
so Einthoven's and Goldberger's identities hold exactly (bit-for-bit in float32)::

    III = II - I,   aVR = -(I + II) / 2,   aVL = I - II / 2,   aVF = II - I / 2

Rhythm: RR intervals vary beat to beat (respiratory sinus arrhythmia at the breathing rate plus
random variability, 2–5 % in all) around ``60000 / heart_rate_bpm`` ms; each beat's QT follows
its preceding RR (Fridericia, ``QT_i = QT * (RR_{i-1} / RR)^(1/3)``), so the median QT equals
the row's ``qt_interval_ms``. QT and PR are defined as a tangent-method reader measures them: QRS
onset to the point where the tangent at the steepest T-wave downslope meets the baseline, and from
the point where the tangent at the steepest P-wave upslope meets the baseline to QRS onset.

Noise (``noise=True``) is added per *electrode* (RA, LA, LL, V1–V6) before the leads are formed,
as it arises in a recording: baseline wander (respiration and slow drift), 50 or 60 Hz powerline
interference and muscle (EMG) noise. Because leads are electrode differences the identities
above still hold exactly.

The generator is vectorised numpy (a few milliseconds per 10 s record on one core).

References
----------
Dower GE, Machado HB, Osborne JA. On deriving the electrocardiogram from vectorcardiographic
leads. Clin Cardiol 1980;3:87-95.
Edenbrandt L, Pahlm O. Vectorcardiogram synthesized from a 12-lead ECG: superiority of the
inverse Dower matrix. J Electrocardiol 1988;21:361-367. doi:10.1016/0022-0736(88)90113-6.
McSharry PE, Clifford GD, Tarassenko L, Smith LA. A dynamical model for generating synthetic
electrocardiogram signals. IEEE Trans Biomed Eng 2003;50:289-294. doi:10.1109/TBME.2003.808805
(Gaussian-component beat model this generator follows in spirit).
Fridericia LS. Die Systolendauer im Elektrokardiogramm bei normalen Menschen und bei
Herzkranken. Acta Med Scand 1920;53:469-486.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.kernels.ecg import SAMPLING_RATE
from edfgen.kernels.ecg.leads import DOWER, limb_leads

__all__ = [
    "PHYSIOLOGY_COLUMNS", "TRAIT_SPECS",
    "BeatParams", "synthesize_ecg", "synthesize_batch", "random_physiology", "participant_rng",
]

#: Columns of ``physiology.tsv`` (after ``IID``), in order; the fields of :class:`BeatParams`.
PHYSIOLOGY_COLUMNS: tuple[str, ...] = (
    "heart_rate_bpm", "pr_interval_ms", "qrs_duration_ms", "qt_interval_ms", "qrs_axis_deg",
    "r_amplitude_mv", "t_amplitude_mv", "p_amplitude_mv", "st_deviation_mv",
)


@dataclass(frozen=True)
class TraitSpec:
    """Population distribution of one physiology trait in healthy middle-aged adults.

    ``mean`` and ``sd`` describe the population; values are clipped to ``[lo, hi]`` (the range
    :class:`BeatParams` accepts is wider: ``valid``).
    """

    mean: float
    sd: float
    lo: float
    hi: float
    valid: tuple[float, float]
    units: str


#: Population means/SDs (adult reference ranges, e.g. Rijnbeek et al. 2014,
#: doi:10.1016/j.jelectrocard.2014.07.020); ``qt_interval_ms`` is the QT at the mean heart rate.
TRAIT_SPECS: dict[str, TraitSpec] = {
    "heart_rate_bpm": TraitSpec(68.0, 10.0, 42.0, 125.0, (30.0, 180.0), "beats/min"),
    "pr_interval_ms": TraitSpec(160.0, 20.0, 110.0, 260.0, (80.0, 350.0), "ms"),
    "qrs_duration_ms": TraitSpec(92.0, 9.0, 70.0, 150.0, (50.0, 200.0), "ms"),
    "qt_interval_ms": TraitSpec(400.0, 28.0, 300.0, 520.0, (220.0, 650.0), "ms"),
    "qrs_axis_deg": TraitSpec(45.0, 28.0, -60.0, 120.0, (-180.0, 180.0), "degrees"),
    "r_amplitude_mv": TraitSpec(1.6, 0.4, 0.5, 3.5, (0.1, 6.0), "mV"),
    "t_amplitude_mv": TraitSpec(0.45, 0.12, 0.1, 1.0, (0.0, 2.0), "mV"),
    "p_amplitude_mv": TraitSpec(0.15, 0.035, 0.05, 0.3, (0.0, 0.6), "mV"),
    "st_deviation_mv": TraitSpec(0.0, 0.03, -0.2, 0.2, (-0.6, 0.6), "mV"),
}

# Tangent at the steepest point of a cos^2 half-bump of width w meets zero at 0.5 + 1/pi of w.
_TANGENT_FRACTION = 0.5 + 1.0 / math.pi


@dataclass(frozen=True)
class BeatParams:
    """One participant's ECG physiology (the columns of ``physiology.tsv``).

    Attributes
    ----------
    heart_rate_bpm
        Mean heart rate over the record (beats/min).
    pr_interval_ms
        P-wave onset to QRS onset (ms).
    qrs_duration_ms
        QRS onset to QRS offset (J point) (ms).
    qt_interval_ms
        QRS onset to T-wave end by the tangent method, at the mean RR (ms).
    qrs_axis_deg
        Frontal-plane axis of the main QRS (R) vector, Einthoven convention: 0° points to lead I,
        +90° to aVF (degrees).
    r_amplitude_mv
        Peak magnitude of the R (main QRS) dipole (mV, Frank-lead scale).
    t_amplitude_mv
        Peak magnitude of the T-wave dipole (mV).
    p_amplitude_mv
        Peak magnitude of the P-wave dipole (mV).
    st_deviation_mv
        ST-segment shift along the T-wave vector (mV; positive = elevation where T is upright).

    Raises
    ------
    InputError
        A value is not finite or outside the range the generator supports (``TRAIT_SPECS[...].valid``),
        or the timings cannot fit in one cardiac cycle.
    """

    heart_rate_bpm: float
    pr_interval_ms: float
    qrs_duration_ms: float
    qt_interval_ms: float
    qrs_axis_deg: float
    r_amplitude_mv: float
    t_amplitude_mv: float
    p_amplitude_mv: float
    st_deviation_mv: float

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise InputError(f"BeatParams: {f.name}={v!r} is not a number") from None
            lo, hi = TRAIT_SPECS[f.name].valid
            if not (math.isfinite(v) and lo <= v <= hi):
                raise InputError(f"BeatParams: {f.name}={v!r} outside the supported range [{lo}, {hi}]")
            object.__setattr__(self, f.name, v)
        rr = 60000.0 / self.heart_rate_bpm
        if self.qt_interval_ms >= rr:
            raise InputError(f"BeatParams: qt_interval_ms={self.qt_interval_ms} does not fit in one RR interval "
                             f"({rr:.0f} ms at heart_rate_bpm={self.heart_rate_bpm})")
        if self.qrs_duration_ms >= 0.6 * self.qt_interval_ms:
            raise InputError(f"BeatParams: qrs_duration_ms={self.qrs_duration_ms} too long for "
                             f"qt_interval_ms={self.qt_interval_ms}")

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | pd.Series) -> "BeatParams":
        """Build from a dict or pandas row holding (at least) :data:`PHYSIOLOGY_COLUMNS`."""
        missing = [c for c in PHYSIOLOGY_COLUMNS if c not in row]
        if missing:
            raise InputError(f"BeatParams.from_row: missing column(s) {', '.join(missing)}")
        return cls(**{c: row[c] for c in PHYSIOLOGY_COLUMNS})

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def participant_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of participant ``index`` under ``seed``: independent of batching,
    so a cohort's ECGs are the same however they are chunked."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), 0xEC6, int(index)]))


# --------------------------------------------------------------------------- waveform kernels

def _frontal_direction(axis_deg: float, z: float) -> np.ndarray:
    """Unit dipole direction whose Einthoven frontal axis (from leads I and aVF) is ``axis_deg``.

    Solves ``I(v) = cos(a)`` and ``aVF(v) = (sqrt(3)/2) sin(a)`` for (X, Y) with the Dower rows,
    given the sagittal component ``z``; the ratio (hence the axis) survives normalisation.
    """
    a = math.radians(axis_deg)
    row_i = DOWER[0]
    row_avf = DOWER[1] - DOWER[0] / 2.0
    m = np.array([row_i[:2], row_avf[:2]])
    rhs = np.array([math.cos(a), math.sqrt(3.0) / 2.0 * math.sin(a)]) - z * np.array([row_i[2], row_avf[2]])
    xy = np.linalg.solve(m, rhs)
    v = np.array([xy[0], xy[1], z])
    return v / np.linalg.norm(v)


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def _place(n: int, fs: float, peak_s: np.ndarray, left_s: np.ndarray, right_s: np.ndarray,
           amp: np.ndarray, *, plateau_s: np.ndarray | None = None) -> np.ndarray:
    """Sum of per-beat bumps on a grid of ``n`` samples.

    Beat ``b`` contributes ``amp[b] * cos^2(pi/2 * u)``, rising over ``left_s[b]`` seconds
    to its peak at ``peak_s[b]`` and falling over ``right_s[b]`` (asymmetric, compact support,
    continuous first derivative). With ``plateau_s`` the shape stays at its peak for that long
    after ``peak_s`` before falling. Evaluated only on each bump's support and accumulated with
    ``np.bincount`` (no dense beats x samples array).
    """
    plateau = np.zeros_like(peak_s) if plateau_s is None else plateau_s
    start = np.floor((peak_s - left_s) * fs).astype(np.int64)
    width = int(np.ceil(np.max(left_s + plateau + right_s) * fs)) + 2
    idx = start[:, None] + np.arange(width)[None, :]                  # [B, W]
    t = idx / fs
    rel = t - peak_s[:, None]
    left = left_s[:, None]
    right = right_s[:, None]
    fall = rel - plateau[:, None]
    u = np.where(rel < 0, rel / left, np.where(fall > 0, fall / right, 0.0))
    val = np.where(np.abs(u) < 1.0, np.cos(0.5 * np.pi * u) ** 2, 0.0) * amp[:, None]
    ok = (idx >= 0) & (idx < n) & (val != 0.0)
    return np.bincount(idx[ok], weights=val[ok], minlength=n)[:n]


def _beat_times(params: BeatParams, rng: np.random.Generator, duration_s: float, resp_hz: float,
                resp_phase: float) -> tuple[np.ndarray, np.ndarray]:
    """QRS-onset times (s) and the RR interval preceding each beat (s).

    RR_i = RR * (1 + a_rsa * sin(2 pi f_resp t_i + phi) + e_i), e_i ~ N(0, sd); rescaled so the
    mean RR of the intervals inside the record equals ``60 / heart_rate_bpm`` exactly.
    """
    rr0 = 60.0 / params.heart_rate_bpm
    n_beats = int(math.ceil((duration_s + 2.5) / (0.8 * rr0))) + 3
    a_rsa = rng.uniform(0.01, 0.04)
    sd = rng.uniform(0.01, 0.025)
    t_guess = np.arange(n_beats) * rr0
    rr = rr0 * (1.0 + a_rsa * np.sin(2 * np.pi * resp_hz * t_guess + resp_phase) + rng.normal(0.0, sd, n_beats))
    rr = np.clip(rr, 0.75 * rr0, 1.25 * rr0)
    first = -rng.uniform(0.05, 1.0) * rr0          # first QRS onset: before the record starts
    onsets = first + np.concatenate([[0.0], np.cumsum(rr[1:])])
    inside = (onsets[1:] >= 0) & (onsets[:-1] >= 0) & (onsets[1:] < duration_s)
    if inside.sum() >= 2:                            # exact mean RR over the measured intervals
        scale = rr0 / rr[1:][inside].mean()
        rr = rr * scale
        onsets = first + np.concatenate([[0.0], np.cumsum(rr[1:])])
    keep = onsets < duration_s + 0.3
    return onsets[keep], rr[keep]


def _dipole(params: BeatParams, rng: np.random.Generator, n: int, fs: float, duration_s: float,
            resp_hz: float, resp_phase: float) -> np.ndarray:
    """The heart's dipole ``[3, n]`` (mV) for one record."""
    on, rr = _beat_times(params, rng, duration_s, resp_hz, resp_phase)
    b = len(on)
    ones = np.ones(b)
    rr0 = 60.0 / params.heart_rate_bpm
    qrs = params.qrs_duration_ms / 1000.0
    pr = params.pr_interval_ms / 1000.0
    qt = params.qt_interval_ms / 1000.0 * (rr / rr0) ** (1.0 / 3.0)    # Fridericia, per beat
    resp = np.sin(2 * np.pi * resp_hz * on + resp_phase)
    jitter = lambda: rng.normal(0.0, 0.08, 3)  # noqa: E731  per-record individuality of loop shape

    r_dir = _frontal_direction(params.qrs_axis_deg, 0.35)
    q_dir = _unit(np.array([-0.55, 0.25, -0.8]) + jitter())
    s_dir = _unit(np.array([-0.45, -0.55, 0.7]) + jitter())
    t_dir = _frontal_direction(0.6 * params.qrs_axis_deg + 15.0, -0.3)
    p_dir = _unit(_frontal_direction(55.0, -0.15) + jitter())

    r_amp = params.r_amplitude_mv * (1.0 + 0.05 * resp)               # respiratory amplitude modulation
    d = np.zeros((3, n))

    def add(direction, wave):
        d[:] += np.outer(direction, wave)

    # P wave: symmetric, duration min(110 ms, 0.6 PR); its tangent-method onset (tangent at the
    # steepest upslope meeting the baseline, mirror of the T end) lies PR before the QRS onset.
    p_dur = min(0.11, 0.6 * pr)
    p_start = on - pr - (1.0 - _TANGENT_FRACTION) * p_dur / 2
    add(p_dir, _place(n, fs, p_start + p_dur / 2, ones * p_dur / 2, ones * p_dur / 2, ones * params.p_amplitude_mv))
    # QRS loop: septal Q, main R, terminal S; supports tile [onset, onset + QRS].
    add(q_dir, _place(n, fs, on + 0.11 * qrs, ones * 0.11 * qrs, ones * 0.14 * qrs, 0.12 * r_amp))
    add(r_dir, _place(n, fs, on + 0.42 * qrs, ones * 0.32 * qrs, ones * 0.30 * qrs, r_amp))
    add(s_dir, _place(n, fs, on + 0.76 * qrs, ones * 0.26 * qrs, ones * 0.24 * qrs, 0.28 * r_amp))
    # T wave: tangent-method end at onset + QT; steep fall (w_f), slow rise (w_r), not before J.
    w_f = 0.26 * qt
    t_peak = on + qt - _TANGENT_FRACTION * w_f
    j = on + qrs
    w_r = np.clip(0.42 * qt, 0.03, np.maximum(t_peak - j, 0.03))
    add(t_dir, _place(n, fs, t_peak, w_r, w_f, ones * params.t_amplitude_mv))
    # ST shift (injury current): builds up over the last 20 ms of the QRS so the J point is
    # already shifted, stays flat to the T peak and falls with the T wave.
    if params.st_deviation_mv != 0.0:
        ramp = min(0.02, 0.25 * qrs)
        add(t_dir, _place(n, fs, j, ones * ramp, w_f, ones * params.st_deviation_mv,
                          plateau_s=np.maximum(t_peak - j, 0.0)))
    return d


def _electrode_noise(rng: np.random.Generator, n: int, fs: float, resp_hz: float) -> np.ndarray:
    """Noise at the 9 electrodes RA, LA, LL, V1..V6: ``[9, n]`` (mV).

    Baseline wander (respiration-rate sinusoid plus slow drift, 0.02-0.12 mV), powerline
    interference (50 or 60 Hz, up to 0.02 mV) and EMG (white, SD 1-12 uV, larger on the limbs).
    """
    t = np.arange(n) / fs
    k = 9
    wander = (rng.uniform(0.02, 0.12, (k, 1)) * np.sin(2 * np.pi * resp_hz * t + rng.uniform(0, 2 * np.pi, (k, 1)))
              + rng.uniform(0.0, 0.08, (k, 1))
              * np.sin(2 * np.pi * rng.uniform(0.03, 0.15, (k, 1)) * t + rng.uniform(0, 2 * np.pi, (k, 1))))
    mains = 50.0 if rng.random() < 0.5 else 60.0
    line = rng.uniform(0.0, 0.02, (k, 1)) * np.sin(2 * np.pi * mains * t + rng.uniform(0, 2 * np.pi, (k, 1)))
    emg_sd = np.concatenate([rng.uniform(0.003, 0.012, 3), rng.uniform(0.001, 0.006, 6)])[:, None]
    emg = rng.standard_normal((k, n)) * emg_sd
    return wander + line + emg


def synthesize_ecg(params: BeatParams, *, rng: np.random.Generator, fs: int = SAMPLING_RATE,
                   duration_s: float = 10.0, noise: bool = True) -> np.ndarray:
    """Simulate one 12-lead ECG.

    Parameters
    ----------
    params
        The participant's physiology.
    rng
        Random generator (RR variability, loop shape, noise); use :func:`participant_rng` for
        batch-independent streams.
    fs
        Sampling rate (Hz).
    duration_s
        Record length (s).
    noise
        Add baseline wander, powerline and EMG noise (electrode level). RR variability and
        loop-shape individuality are physiology and are always present.

    Returns
    -------
    numpy.ndarray
        ``float32 [12, round(duration_s * fs)]`` in mV, leads in :data:`edfgen.kernels.ecg.LEADS` order.
        Limb-lead identities hold exactly in float32.

    Examples
    --------
    >>> import numpy as np
    >>> p = BeatParams(70, 160, 90, 400, 45, 1.5, 0.4, 0.12, 0.0)
    >>> x = synthesize_ecg(p, rng=np.random.default_rng(0))
    >>> x.shape, bool((x[2] == x[1] - x[0]).all())
    ((12, 5000), True)
    """
    if not isinstance(params, BeatParams):
        raise InputError(f"synthesize_ecg: params must be BeatParams, got {type(params).__name__}")
    if fs < 100 or duration_s <= 0:
        raise InputError(f"synthesize_ecg: need fs >= 100 and duration_s > 0 (got fs={fs}, duration_s={duration_s})")
    n = int(round(duration_s * fs))
    resp_hz = rng.uniform(0.15, 0.33)
    resp_phase = rng.uniform(0, 2 * np.pi)
    d = _dipole(params, rng, n, float(fs), duration_s, resp_hz, resp_phase)
    leads8 = DOWER @ d                                             # I, II, V1..V6
    if noise:
        e = _electrode_noise(rng, n, float(fs), resp_hz)
        ra, la, ll = e[0], e[1], e[2]
        wct = (ra + la + ll) / 3.0
        leads8[0] += la - ra
        leads8[1] += ll - ra
        leads8[2:] += e[3:] - wct
    leads8 = leads8.astype(np.float32)
    lead_i, lead_ii = leads8[0], leads8[1]
    out = np.empty((12, n), dtype=np.float32)
    out[0], out[1] = lead_i, lead_ii
    out[2], out[3], out[4], out[5] = limb_leads(lead_i, lead_ii).values()
    out[6:] = leads8[2:]
    return out


def synthesize_batch(physiology: pd.DataFrame, *, seed: int, fs: int = SAMPLING_RATE, duration_s: float = 10.0,
                     noise: bool = True, start_index: int = 0) -> np.ndarray:
    """Simulate one ECG per row of ``physiology``.

    Parameters
    ----------
    physiology
        Rows with :data:`PHYSIOLOGY_COLUMNS` (extra columns ignored).
    seed
        Row ``i`` uses :func:`participant_rng(seed, start_index + i) <participant_rng>`, so results
        do not depend on how a cohort is split into batches.
    start_index
        Index of the first row within the whole cohort.

    Returns
    -------
    numpy.ndarray
        ``float32 [N, 12, T]`` (mV).
    """
    missing = [c for c in PHYSIOLOGY_COLUMNS if c not in physiology.columns]
    if missing:
        raise InputError(f"synthesize_batch: physiology lacks column(s) {', '.join(missing)}")
    n = int(round(duration_s * fs))
    out = np.empty((len(physiology), 12, n), dtype=np.float32)
    records = physiology[list(PHYSIOLOGY_COLUMNS)].to_dict("records")
    for i, row in enumerate(records):
        out[i] = synthesize_ecg(BeatParams(**row), rng=participant_rng(seed, start_index + i), fs=fs,
                                duration_s=duration_s, noise=noise)
    return out


def qt_from_qtc(qtc_ms: np.ndarray, heart_rate_bpm: np.ndarray) -> np.ndarray:
    """QT (ms) from a Fridericia-corrected QTc (ms) at a heart rate: ``QTc * (RR/1 s)^(1/3)``."""
    return np.asarray(qtc_ms) * np.cbrt(60.0 / np.asarray(heart_rate_bpm))


def random_physiology(n: int, *, rng: np.random.Generator) -> pd.DataFrame:
    """Plausible physiology rows for ``n`` people (no genotypes): e.g. encoder pretraining data.

    Each trait is drawn from :data:`TRAIT_SPECS` (normal, clipped); QT is drawn as a
    Fridericia-corrected QTc and converted at the person's heart rate, so QT falls with heart
    rate as in real populations; the other traits are independent.

    Returns
    -------
    pandas.DataFrame
        ``n`` rows, columns :data:`PHYSIOLOGY_COLUMNS`; every row is a valid :class:`BeatParams`.
    """
    if n < 0:
        raise InputError(f"random_physiology: n={n} must be >= 0")
    cols = {}
    for name, spec in TRAIT_SPECS.items():
        cols[name] = np.clip(rng.normal(spec.mean, spec.sd, n), spec.lo, spec.hi)
    qt = TRAIT_SPECS["qt_interval_ms"]
    qtc = rng.normal(qt.mean * np.cbrt(60.0 / TRAIT_SPECS["heart_rate_bpm"].mean) ** -1, qt.sd * 0.7, n)
    cols["qt_interval_ms"] = np.clip(qt_from_qtc(qtc, cols["heart_rate_bpm"]), qt.lo, qt.hi)
    return finalize_physiology(pd.DataFrame(cols, columns=list(PHYSIOLOGY_COLUMNS)))


def finalize_physiology(df: pd.DataFrame) -> pd.DataFrame:
    """Make every row a valid :class:`BeatParams`: QT below 92 % of RR, QRS below 55 % of QT.

    Rounded to the precision a physiology table is written with (0.1 ms/bpm/degree, 0.001 mV).
    """
    df = df.copy()
    rr_ms = 60000.0 / df["heart_rate_bpm"]
    df["qt_interval_ms"] = np.minimum(df["qt_interval_ms"], 0.92 * rr_ms)
    df["qrs_duration_ms"] = np.minimum(df["qrs_duration_ms"], 0.55 * df["qt_interval_ms"])
    for c in PHYSIOLOGY_COLUMNS:
        df[c] = df[c].round(3 if c.endswith("_mv") else 1)
    return df
