"""Pacing stimuli (edfgen.kernels.ecg.pacing) and the delineator on paced records: real LUDB paced records
against their cardiologists' QRS onsets, real unpaced and paced records of PTB-XL / CinC 2021 / LUDB through the
detector, and simulated spikes with a known position."""

from __future__ import annotations

import numpy as np
import pytest

from edfgen.formats.ecg.records import read_ecg
from edfgen.kernels.ecg import biomarkers
from edfgen.kernels.ecg.biomarkers import _INDEPENDENT, delineate, detect_r_peaks
from edfgen.kernels.ecg.delineation_score import global_reference, wave_table
from edfgen.kernels.ecg.leads import canonicalise_leads
from edfgen.kernels.ecg.pacing import Pacing, detect_pacing, remove_spikes, spike_candidates
from edfgen.simulate.ecg import BeatParams, synthesize_ecg
from tests.conftest import SHARED_DATA

ECG = SHARED_DATA / "ecg"
LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
# LUDB unipolar ventricular pacing (34: the record the spike suppression of stop 23 lost; 74: 3rd-degree block)
PACED_LUDB = (34, 74)
# real unpaced records, among them those nearest the detector's limits: LUDB 17 and PTB-XL 137 (a narrow notch
# that looser spike rules took for a stimulus train), CinC JS20007 and PTB-XL 182 (the steepest QRS slopes)
UNPACED = ("ludb_dev/data/1", "ludb_dev/data/17", "ptbxl/records500/00000/00137_hr",
           "ptbxl/records500/00000/00182_hr", "cinc2021/JS20007", "cinc2021/E07500")
# labelled paced: PTB-XL 'PACE' (385), CinC 10370003 (JS23463: a +-10 mV ringing stimulus; HR12083)
PACED_OTHER = ("ptbxl/records500/00000/00385_hr", "cinc2021_extra/JS23463", "cinc2021_extra/HR12083")


def _ludb(rid: int):
    import wfdb

    base = str(ECG / "ludb_dev" / "data" / str(rid))
    rec = wfdb.rdrecord(base)
    names = [n.lower() for n in rec.sig_name]
    sig = rec.p_signal.T[[names.index(n) for n in LUDB_LEADS]]
    tables = [wave_table(*(lambda a: (a.sample, a.symbol))(wfdb.rdann(base, lead))) for lead in LUDB_LEADS]
    return float(rec.fs), sig, global_reference(tables, rec.fs)


def _qrs_onset_error_ms(sig, fs, beats) -> float:
    """Median over the cardiologists' beats of (detected - marked) global QRS onset (ms)."""
    d = delineate(sig, fs)
    det = d.r_peaks + (d.qrs_onset - d.r_index)
    ref = beats["qrs_on"].dropna().to_numpy()
    return float(np.median(det[np.abs(det[None, :] - ref[:, None]).argmin(1)] - ref) * 1000.0 / fs)


def _raw(rel: str):
    rec = canonicalise_leads(read_ecg(ECG / f"{rel}.hea"))
    x = np.asarray(rec.signal, dtype=float)[_INDEPENDENT]
    return x, rec.fs


@pytest.mark.parametrize("rid", PACED_LUDB)
def test_delineate__paced_ludb_qrs_onset_at_the_cardiologists_mark(rid, monkeypatch):
    fs, sig, beats = _ludb(rid)
    d = delineate(sig, fs)
    assert np.isfinite(d.stimulus_index) and d.stimulus_index < d.qrs_onset < d.r_index
    assert abs(_qrs_onset_error_ms(sig, fs, beats)) <= 8.0
    # the bound bites: without the stimulus handling the onset lands on the ringing spike, >= 50 ms early
    monkeypatch.setattr(biomarkers, "detect_pacing", lambda x, fs, peaks: Pacing(False, np.zeros(0, int), np.nan, 0.0))
    assert _qrs_onset_error_ms(sig, fs, beats) <= -50.0


@pytest.mark.parametrize("rel", UNPACED)
def test_detect_pacing__real_unpaced_records_not_flagged(rel):
    x, fs = _raw(rel)
    p = detect_pacing(x, fs, detect_r_peaks(x, fs))
    assert not p.paced and p.beat_fraction < 0.3, p
    d = delineate(canonicalise_leads(read_ecg(ECG / f"{rel}.hea")).signal, fs)
    assert np.isnan(d.stimulus_index)


@pytest.mark.parametrize("rel", PACED_OTHER)
def test_detect_pacing__real_labelled_paced_records_flagged(rel):
    x, fs = _raw(rel)
    p = detect_pacing(x, fs, detect_r_peaks(x, fs))
    assert p.paced and 0.016 <= p.ventricular_lag_s <= 0.4, p


def _simulated(lag_s: float = 0.06, every: int = 1, mv: float = 0.6):
    """Simulated 8 independent leads with a 1-sample spike ``lag_s`` before every ``every``-th R peak."""
    fs = 500
    x = synthesize_ecg(BeatParams(70, 160, 140, 420, 0, 1.2, 0.3, 0.1, 0.0), rng=np.random.default_rng(7),
                       fs=fs)[_INDEPENDENT].astype(float)
    peaks = detect_r_peaks(x, fs)
    spikes = peaks[::every] - int(lag_s * fs)
    spikes = spikes[spikes > 10]
    y = x.copy()
    y[:, spikes] += mv * np.sign(np.arange(8) - 3.5)[:, None]     # opposite polarity on half the leads
    return x, y, fs, peaks, spikes


def test_spike_candidates__finds_simulated_stimuli_not_r_waves():
    x, y, fs, peaks, spikes = _simulated()
    assert len(spike_candidates(x, fs)) == 0                        # the clean ECG: no candidate
    got = spike_candidates(y, fs)
    assert set(spikes.tolist()) <= set(got.tolist()) and len(got) == len(spikes)
    p = detect_pacing(y, fs, peaks)
    assert p.paced and p.beat_fraction >= 0.9 and abs(p.ventricular_lag_s - 0.06) <= 0.006
    # the 0.6 mV stimulus is interpolated away: the clean signal back within its noise over 14 ms (0.15 mV)
    assert np.max(np.abs(remove_spikes(y, fs, got) - x)) < 0.15
    assert np.max(np.abs(y - x)) >= 0.6


def test_detect_pacing__sparse_spikes_low_rate_and_short_lags_not_flagged():
    _, y, fs, peaks, _ = _simulated(every=3)        # a third of the beats: below the 40 % rule
    assert not detect_pacing(y, fs, peaks).paced
    _, y, fs, peaks, _ = _simulated(lag_s=0.01)     # 10 ms before R: inside a QRS, not a stimulus
    assert not detect_pacing(y, fs, peaks).paced
    _, y, fs, peaks, _ = _simulated()
    assert detect_pacing(y, fs, peaks).paced
    assert not detect_pacing(y[:, ::5], fs / 5, peaks // 5).paced    # 100 Hz: never assessed


def test_delineate__conducted_atrial_stimulus_leaves_the_qrs_onset():
    # spikes 200 ms before each R (before the P wave: atrial pacing, conducted): detected, interpolated away, and
    # the QRS onset stays where the clean record has it (the paced-onset rule is for a stimulus at the QRS)
    fs = 500
    ecg = synthesize_ecg(BeatParams(70, 160, 100, 400, 30, 1.2, 0.3, 0.1, 0.0), rng=np.random.default_rng(3), fs=fs)
    clean = delineate(ecg, fs)
    spiked = ecg.copy()
    at = clean.r_peaks - int(0.2 * fs)
    spiked[:, at[at > 10]] += 0.8
    d = delineate(spiked, fs)
    assert np.isfinite(d.stimulus_index) and d.stimulus_index < clean.qrs_onset - 0.1 * fs
    assert abs(d.qrs_onset - clean.qrs_onset) <= 2


@pytest.mark.parametrize("rel", UNPACED)
def test_detect_pacing__noise_and_mains_synchronous_spikes_are_not_a_pacemaker(rel):
    """Review of stop 24: a fixed 40 % of beats was reached by chance when candidates are dense, so 0.05 mV of
    broadband noise flagged 15 % of 314 real unpaced records and 50 Hz one-sample spikes all of them (the QRS then
    re-timed after a 'stimulus' inside it). The train must now beat chance at the record's own candidate density
    and stand out of the lag histogram."""
    x, fs = _raw(rel)
    rng = np.random.default_rng(7)
    noisy = x + rng.normal(0, 0.05, x.shape)
    mains = x.copy()
    mains[:, ::int(fs / 50)] += 0.2
    for y in (noisy, mains):
        assert not detect_pacing(y, fs, detect_r_peaks(y, fs)).paced


@pytest.mark.parametrize("rel", PACED_OTHER + ("ludb_dev/data/34", "ludb_dev/data/74"))
def test_detect_pacing__paced_records_at_1000_hz_flagged(rel):
    """Was: the 'most of the jump within one sample' rule missed 9 of 10 paced records resampled to 1 kHz (one
    sample is 1 ms there); the leading edge is now 2 ms whatever the rate."""
    from scipy.signal import resample_poly

    x, fs = _raw(rel)
    y = resample_poly(x, 2, 1, axis=1) if fs == 500 else x
    assert detect_pacing(y, 1000.0, detect_r_peaks(y, 1000.0)).paced


def _spike_candidates_by_definition(x, fs, *, min_mv=0.1, min_leads=2):
    """The module docstring's step 1 over every sample (maximum_filter1d, np.split): the former code, as reference."""
    from scipy.ndimage import maximum_filter1d
    x = np.nan_to_num(np.asarray(x, dtype=float))
    T = x.shape[-1]

    def shift(k):
        return x[..., np.clip(np.arange(T) + k, 0, T - 1)]

    kb, ke, kj = max(1, round(0.006 * fs)), max(1, round(0.004 * fs)), max(1, round(0.002 * fs))
    near = 2 * max(1, round(0.004 * fs)) + 1
    base = shift(-kb)
    amp = np.abs(x - base)
    edge = (np.abs(shift(-ke) - base) <= 0.3 * amp) & (np.abs(shift(-kj) - base) <= 0.5 * amp)
    if ke == 1:   # below 375 Hz, a stimulus split over two samples
        edge |= (np.abs(shift(1) - base) <= 0.3 * amp) & ((shift(-1) - base) * (x - base) >= 0)
    ok = (amp >= min_mv) & edge
    ok &= (np.abs(shift(kb) - base) <= 0.5 * amp) & (amp >= maximum_filter1d(amp, near, axis=-1, mode="nearest"))
    jump = np.abs(np.diff(x, axis=-1, prepend=x[..., :1])) * fs
    ok |= (jump >= 2500.0) & (jump >= maximum_filter1d(jump, near, axis=-1, mode="nearest"))
    ok[:, :kb] = False
    ok[:, -kb:] = False
    lead, t = np.nonzero(ok)
    order = np.argsort(t, kind="stable")
    lead, t = lead[order], t[order]
    groups = np.split(np.arange(len(t)), np.flatnonzero(np.diff(t) > max(1, round(0.002 * fs))) + 1) if len(t) else []
    return np.asarray([int(np.median(t[g])) for g in groups if len(np.unique(lead[g])) >= min_leads], dtype=np.int64)


@pytest.mark.parametrize("path", ["ludb_dev/data/7", "ludb_dev/data/1", "ludb_dev/data/34"])
def test_spike_candidates_equal_the_definition_evaluated_everywhere(path):
    """The candidates evaluated only where a sample deviates (s36: `extract` checks every record for a `paced` note)
    are those of the whole-array definition, on paced and unpaced real records and with a lower threshold."""
    from scipy.signal import resample_poly

    rec = read_ecg(ECG / f"{path}.hea")
    x = rec.signal.astype(np.float64)
    # and at 250 Hz (the edge one sample: the two-sample stimulus test), samples caught and not caught
    for y, fs in ((x, rec.fs), (resample_poly(x, 1, 2, axis=1), 250.0), (resample_poly(x[:, 1:], 1, 2, axis=1), 250.0)):
        for kw in ({}, {"min_mv": 0.03, "min_leads": 1}):
            assert np.array_equal(spike_candidates(y, fs, **kw), _spike_candidates_by_definition(y, fs, **kw))
        assert len(spike_candidates(y, fs, min_mv=0.03, min_leads=1)) > 0
