"""Tests of ECG measurement (edfgen.kernels.ecg.biomarkers) against simulated truth and wfdb's XQRS."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.wave_bounds import _trapezium_end
from edfgen.kernels.ecg.biomarkers import (BIOMARKER_COLUMNS, delineate, detect_r_peaks,
                                    measure_biomarkers, measure_record)
from edfgen.simulate.ecg import BeatParams, random_physiology, synthesize_batch, synthesize_ecg
from edfgen.exceptions import InputError
from tests.conftest import SIM_INTERVAL_CONVENTION

# Tolerances per record (noisy simulated ECG, 10 s at 500 Hz) and on the mean bias over records; the
# intervals (PR, QRS, QT) follow the cardiologists' convention, checked by conftest.SIM_INTERVAL_CONVENTION.
# QRS axis -8 deg (net area includes Q and S).
TOLERANCE = {  # column: (per-record max |error|, max |mean bias|)
    "heart_rate_bpm": (1.0, 0.3),
    "qrs_axis_deg": (25.0, 12.0),
    "r_amplitude_mv": (0.1, 0.03),
    "t_amplitude_mv": (0.15, 0.03),
}


@pytest.fixture(scope="module")
def simulated():
    truth = random_physiology(80, rng=np.random.default_rng(2024))
    ecg = synthesize_batch(truth, seed=5, noise=True)
    return truth, ecg, measure_biomarkers(ecg)


@pytest.mark.parametrize("column", list(TOLERANCE))
def test_measure_biomarkers__matches_simulated_physiology(simulated, column):
    truth, _, measured = simulated
    err = measured[column] - truth[column]
    per_record, bias = TOLERANCE[column]
    assert not err.isna().any()
    assert err.abs().max() <= per_record, err.abs().max()
    assert abs(err.mean()) <= bias, err.mean()
    assert np.corrcoef(measured[column], truth[column])[0, 1] > 0.9


@pytest.mark.parametrize("column", list(SIM_INTERVAL_CONVENTION))
def test_measure_biomarkers__intervals_follow_simulated_physiology(simulated, column):
    truth, _, measured = simulated
    err = measured[column] - truth[column]
    (lo, hi), spread = SIM_INTERVAL_CONVENTION[column]
    assert not err.isna().any()
    assert lo <= err.mean() <= hi, err.mean()
    assert (err - err.mean()).abs().max() <= spread, (err - err.mean()).abs().max()
    assert np.corrcoef(measured[column], truth[column])[0, 1] > 0.9


def test_measure_biomarkers__columns_and_batch_shapes(simulated):
    _, ecg, measured = simulated
    assert list(measured.columns) == [*BIOMARKER_COLUMNS, "pr_missing_reason"]
    assert len(measured) == len(ecg)
    single = measure_biomarkers(ecg[0])
    assert single.iloc[0].equals(measured.iloc[0])


def test_measure_biomarkers__flat_record_is_nan_not_error():
    m = measure_biomarkers(np.zeros((12, 5000), dtype=np.float32))
    assert m.loc[0, "n_beats"] == 0
    assert m[["heart_rate_bpm", "qt_interval_ms"]].isna().all().all()


def test_measure_biomarkers__bad_shape_names_it():
    with pytest.raises(InputError, match="12, T"):
        measure_biomarkers(np.zeros((8, 5000)))


def _cinc_records(shared_data):
    wfdb = pytest.importorskip("wfdb")
    heads = sorted((shared_data / "ecg" / "cinc2021").glob("*.hea"))
    if not heads:
        pytest.skip("no CinC 2021 records in shared data")
    for h in heads:
        rec = wfdb.rdrecord(str(h.with_suffix("")))
        assert all(u.lower() == "mv" for u in rec.units), rec.units   # p_signal is gain-scaled to mV
        yield h.stem, rec.fs, rec.p_signal.T[[rec.sig_name.index(n) for n in LEADS]]


def test_detect_r_peaks__heart_rate_agrees_with_wfdb_xqrs_on_real_records(shared_data):
    """On real 12-lead records (PhysioNet/CinC 2021), the heart rate from our R peaks (lead II and
    all leads) agrees with wfdb's independent XQRS detector on lead II within 3 bpm for >= 90 %
    of the records where XQRS finds at least 5 beats."""
    from wfdb import processing

    agree_ii, agree_all, total = 0, 0, 0
    for _, fs, x in _cinc_records(shared_data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = processing.xqrs_detect(np.nan_to_num(x[1]), fs=fs, verbose=False)
        if len(ref) < 5:
            continue
        total += 1
        hr_ref = 60 * fs / np.diff(ref).mean()
        ours_ii = detect_r_peaks(x[1], fs)
        ours_all = measure_biomarkers(x, fs).loc[0, "heart_rate_bpm"]
        agree_ii += abs(60 * fs / np.diff(ours_ii).mean() - hr_ref) < 3
        agree_all += abs(ours_all - hr_ref) < 3
    assert total >= 20
    assert agree_ii / total >= 0.9, (agree_ii, total)
    assert agree_all / total >= 0.9, (agree_all, total)


def test_measure_biomarkers__real_record_intervals_plausible(shared_data):
    rows = [measure_biomarkers(x, fs).iloc[0] for _, fs, x in list(_cinc_records(shared_data))[:20]]
    qt = np.array([r["qt_interval_ms"] for r in rows])
    qrs = np.array([r["qrs_duration_ms"] for r in rows])
    assert np.nanmedian(qt) == pytest.approx(370, abs=80)
    assert np.nanmedian(qrs) == pytest.approx(90, abs=30)
    assert np.isfinite(qt).mean() >= 0.9


def _cos2_tail(n: int = 400, peak: int = 100, width: int = 50, tail: int = 0) -> np.ndarray:
    """A cos^2 half-wave falling from ``peak`` to zero over ``width`` samples (optionally followed by a
    slow exponential tail of ``tail`` samples' time constant, as real T waves have)."""
    t = np.arange(n, dtype=float)
    u = (t - peak) / width
    y = np.where((u >= -1) & (u <= 1), np.cos(0.5 * np.pi * u) ** 2, 0.0)
    if tail:
        end = peak + int(0.8 * width)
        y[end:] = y[end] * np.exp(-(t[end:] - end) / tail)
    return y


def test_trapezium_end__between_tangent_and_support_end_and_offset_invariant():
    """On a cos^2 wave the trapezium end lies after the tangent-method end (0.5 + 1/pi of the width
    after the peak) and before the wave's support ends; adding a constant baseline does not move it."""
    width = 50
    y = _cos2_tail(width=width)[None, :]
    end = _trapezium_end(y, np.array([100]), np.array([399]), reach=width, floor=10)[0]
    tangent = 100 + (0.5 + 1 / np.pi) * width
    assert tangent < end < 100 + width, (tangent, end)
    shifted = _trapezium_end(y + 0.3, np.array([100]), np.array([399]), reach=width, floor=10)[0]
    assert shifted == end


def test_delineate__fiducials_ordered_and_t_end_after_tangent_on_real_records(shared_data):
    """On real 12-lead records (CinC 2021): P onset < QRS onset < QRS offset < T end, and the global
    T end (return to baseline) lies between 10 ms before and 80 ms after the tangent-method T end of
    the lead with the largest T wave (an independent construction from the same median beat) in
    >= 90 % of records (the tangent meets the baseline before the wave has returned to it)."""
    n, later, ordered = 0, 0, 0
    for _, fs, x in list(_cinc_records(shared_data)):
        d = delineate(x, fs)
        if d is None or not np.isfinite(d.t_end):
            continue
        n += 1
        ordered += (not np.isfinite(d.p_onset) or d.p_onset < d.qrs_onset) and d.qrs_onset < d.qrs_offset < d.t_end
        lo = int(d.qrs_offset + 0.06 * fs)
        hi = int(min(d.beat.shape[1], d.r_index + min(0.7 * d.rr_s, 0.7) * fs))
        lead = int(np.argmax(np.abs(d.beat[:, lo:hi]).max(1)))
        y = d.beat[lead] * np.sign(d.beat[lead, lo + np.argmax(np.abs(d.beat[lead, lo:hi]))])
        pk = lo + int(np.argmax(y[lo:hi]))
        slope = np.gradient(y)
        i = pk + int(np.argmin(slope[pk:hi]))
        tangent = i - y[i] / slope[i]
        later += tangent - 0.01 * fs <= d.t_end <= tangent + 0.08 * fs
    assert n >= 30
    assert ordered == n
    assert later / n >= 0.9, (later, n)


def test_delineate__noise_free_simulated_t_end_independent_of_lead_amplitude():
    """One dipole drives every lead of the simulator, so scaling the ECG (all leads) must not move
    any fiducial, and a flat record gives None."""
    p = BeatParams(70, 160, 90, 400, 45, 1.5, 0.4, 0.12, 0.0)
    x = synthesize_ecg(p, rng=np.random.default_rng(0), noise=False).astype(float)
    a, b = delineate(x), delineate(3.0 * x)
    for f in ("p_onset", "qrs_onset", "qrs_offset", "t_end"):
        assert getattr(a, f) == pytest.approx(getattr(b, f), abs=1.0), f
    assert delineate(np.zeros((12, 5000))) is None


@pytest.mark.parametrize("folder, record, rhythm", [
    ("cinc2021_extra", "A1041", "AF"), ("ludb_dev/data", "83", "AF"),
    ("cinc2021_extra", "HR08883", "sinus"), ("ludb_dev/data", "1", "sinus")])
def test_measure_biomarkers__no_pr_in_atrial_fibrillation_pr_kept_in_sinus_rhythm(shared_data, folder, record, rhythm):
    """Review s32g F1: atrial fibrillation has no P wave, yet PR was 323 ms (CinC A1041, SNOMED 164889003) and
    314.5 ms (LUDB 83, cardiologists: AF, no P marked), f waves timed as a P onset. With an irregular RR and P
    windows unlike from beat to beat, PR and the P amplitude are NaN; a sinus record keeps both, also one with
    an irregular RR (HR08883, sinus with premature beats: 62 % of RR steps > 10 %) whose P waves are alike."""
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.leads import canonicalise_leads
    from edfgen.kernels.ecg.p_wave import rr_irregularity

    rec = canonicalise_leads(read_wfdb(shared_data / "ecg" / folder / f"{record}.hea"))
    m = measure_biomarkers(rec.signal, rec.fs).iloc[0]
    if rhythm == "AF":
        assert np.isnan(m["pr_interval_ms"]) and np.isnan(m["p_amplitude_mv"]), m
    else:
        assert 100 < m["pr_interval_ms"] < 250 and m["p_amplitude_mv"] > 0.05, m
    assert np.isfinite(m[["heart_rate_bpm", "qrs_duration_ms", "qt_interval_ms"]].astype(float)).all()
    if record == "HR08883":
        assert rr_irregularity(delineate(rec.signal, rec.fs).r_peaks) > 0.45


@pytest.mark.parametrize("fs", [100, 250, 257])
def test_measure_biomarkers__same_intervals_when_real_records_are_decimated(shared_data, fs):
    """Review s39real: the delineation's holds and slopes are tuned at 500 Hz; on LUDB records decimated to 100 Hz
    (``scipy.signal.resample_poly``, as PTB-XL's records100 were made) QRS came out 16 ms longer, QT 9 ms longer
    and PR 7 ms shorter than on the same records at 500 Hz (median over LUDB 1-100; 2-3 ms at 250/257 Hz). A
    record sampled below 500 Hz is now measured on a copy resampled to 500 Hz: the same intervals within a few ms."""
    from fractions import Fraction

    import pandas as pd

    from scipy.signal import resample_poly

    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.leads import canonicalise_leads

    cols = ["pr_interval_ms", "qrs_duration_ms", "qt_interval_ms", "heart_rate_bpm"]
    f = Fraction(fs, 500)
    diffs = []
    for record in range(1, 13):   # LUDB 1-12, unpaced (paced records at 250 Hz: test_measure_record__paced_ludb_*)
        rec = canonicalise_leads(read_wfdb(shared_data / "ecg" / "ludb_dev" / "data" / f"{record}.hea"))
        assert rec.fs == 500
        base = measure_biomarkers(rec.signal, rec.fs).iloc[0][cols].astype(float)
        low = resample_poly(np.asarray(rec.signal, float), f.numerator, f.denominator, axis=1)
        diffs.append(measure_biomarkers(low, float(fs)).iloc[0][cols].astype(float) - base)
    med = pd.DataFrame(diffs).abs().median()
    assert (med[cols[:3]] <= 3.0).all() and med["heart_rate_bpm"] < 0.5, med


def test_measure_biomarkers__same_intervals_when_real_records_are_upsampled(shared_data):
    """Review s39real: the same LUDB records upsampled to 1000 Hz measured up to 15 ms apart from their 500 Hz
    originals (LUDB 59: PR -17, QRS +15, QT +14 ms; 17 and 80: QRS +12 ms), the 500 Hz-tuned settings meeting
    other sample steps; a record at any rate other than 500 Hz is now measured on a 500 Hz copy."""
    from scipy.signal import resample_poly

    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.leads import canonicalise_leads

    cols = ["pr_interval_ms", "qrs_duration_ms", "qt_interval_ms"]
    for record in (17, 59, 80):
        rec = canonicalise_leads(read_wfdb(shared_data / "ecg" / "ludb_dev" / "data" / f"{record}.hea"))
        base = measure_biomarkers(rec.signal, rec.fs).iloc[0][cols].astype(float)
        high = measure_biomarkers(resample_poly(np.asarray(rec.signal, float), 2, 1, axis=1), 1000.0).iloc[0]
        assert np.allclose(high[cols].astype(float), base, atol=3.0), (record, (high[cols] - base).to_dict())


def test_measure_biomarkers__agree_with_ptbxl_rhythm_labels(shared_data):
    """Review s39real, measurements against the labels real sources carry: on the 500 Hz PTB-XL records labelled
    atrial fibrillation (AFIB, 9) no PR is timed, sinus bradycardia (SBRAD, 7) measures < 60 bpm and sinus
    tachycardia (STACH, 5) > 100 bpm (the labels' definitions; nearest: SBRAD 225 at 59.6, STACH 270 at 101.3
    bpm), and every one of these records has QT > QRS. The same records decimated to 100 Hz (as PTB-XL made its
    records100; the shared 100 Hz records carry no rhythm label) measured on the 500 Hz copy: the same verdicts."""
    import ast

    import pandas as pd

    from scipy.signal import resample_poly

    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.leads import canonicalise_leads

    db = pd.read_csv(shared_data / "ecg" / "ptbxl" / "ptbxl_database.csv")
    db["codes"] = db["scp_codes"].map(ast.literal_eval)
    seen = {"AFIB": 0, "SBRAD": 0, "STACH": 0}
    for row in db.itertuples():
        label = next((c for c in seen if c in row.codes), None)
        if label is None:
            continue
        rec = canonicalise_leads(read_wfdb(shared_data / "ecg" / "ptbxl" / f"{row.filename_hr}.hea"))
        seen[label] += 1
        x = np.asarray(rec.signal, dtype=float)
        for fs, sig in ((rec.fs, x), (100.0, resample_poly(x, 1, 5, axis=1))):
            m = measure_biomarkers(sig, fs).iloc[0]
            ok = {"AFIB": np.isnan(m["pr_interval_ms"]), "SBRAD": m["heart_rate_bpm"] < 60,
                  "STACH": m["heart_rate_bpm"] > 100}[label]
            assert ok and m["qt_interval_ms"] > m["qrs_duration_ms"], (row.ecg_id, fs, label, m.to_dict())
    assert seen == {"AFIB": 9, "SBRAD": 7, "STACH": 5}


def _ludb_with_reference(shared_data, rid: int):
    """LUDB record ``rid`` [12, T] at 500 Hz and its cardiologists' PR, QRS, QT (ms, medians over the beats)."""
    wfdb = pytest.importorskip("wfdb")
    from edfgen.kernels.ecg.delineation_score import global_reference, reference_intervals, wave_table

    base = str(shared_data / "ecg" / "ludb_dev" / "data" / str(rid))
    rec = wfdb.rdrecord(base)
    leads = [n.lower() for n in LEADS]
    names = [n.lower() for n in rec.sig_name]
    sig = np.asarray(rec.p_signal.T[[names.index(n) for n in leads]], dtype=float)
    tables = [wave_table(*(lambda a: (a.sample, a.symbol))(wfdb.rdann(base, lead))) for lead in leads]
    return sig, reference_intervals(global_reference(tables, rec.fs), rec.fs)


def _resampled(x: np.ndarray, fs: int) -> np.ndarray:
    from fractions import Fraction

    from scipy.signal import resample_poly

    f = Fraction(fs, 500)
    return resample_poly(x, f.numerator, f.denominator, axis=1)


# LUDB paced records at 250 and 257 Hz: (record, largest |QRS error| vs the cardiologists, ms, stimulus found at
# (250 Hz from sample 0, 250 Hz from sample 1, 257 Hz)). The error allowed is the one measured at 250 Hz before the
# 500 Hz copy (commit a6b449e^) + 4 ms. 8's stimulus is not found below 500 Hz (QRS 170-172 ms, cardiologists 134,
# as before); 34: 134-144 (138); 74: 146 (147); 95: 86-88 (91). 72 (cardiologists 117) is found only where a
# sample catches its stimulus (250 Hz from sample 0: QRS 94; elsewhere not found, 134): found, it is WORSE than
# not found (134 -> 94, 88 at 360 Hz), not better: the paced QRS onset is placed after the stimulus, which cuts its
# fusion beats (intrinsic QRS begun before the stimulus, P-synchronous pacing) short, the paced delineator's known
# limit, the same at 500 Hz (QRS 92). 45, 90 and 93 carry none the detector finds at 500 Hz in the delineator.
# Not tested, at 360 Hz (benchmarks/results/pacing_coarse_rates.md): 74 gives 168-170 (found at 360 Hz; its
# removal there is worse than on the copy, 154-164 before) and 95 from sample 0 148 (not found: beat fraction 0.36).
PACED_AT_250 = ((8, 42.0, (False, False, False)), (34, 10.0, (True, True, True)), (72, 29.0, (True, False, False)),
                (74, 13.0, (True, True, True)), (95, 7.0, (True, True, True)))


@pytest.mark.parametrize("which, fs, offset", [(0, 250, 0), (1, 250, 1), (2, 257, 0)])
@pytest.mark.parametrize("rid, max_err, found", PACED_AT_250)
def test_measure_record__paced_ludb_below_500_hz_whichever_samples_catch_the_stimulus(shared_data, rid, max_err,
                                                                                       found, which, fs, offset):
    """Review s39real F1: pacing was detected on the 500 Hz copy of a 250 Hz record, where the interpolated
    stimulus no longer passes the spike tests, so the paced QRS onset was left on the ringing (LUDB 34: QRS 228 ms,
    cardiologists 138; 74: 208 / 147; 95: 148 / 91); it is found and removed at the record's own rate. Review
    s39realfix F1: that worked only where a sample caught the stimulus: decimated from sample 1 instead of 0, or to
    257 Hz, a stimulus split over two samples failed the one-sample leading-edge test (74: 208 ms; 95: 148; 72:
    134), now passed by the two-sample test below 375 Hz (74 and 95). The stimulus is where delineate reports it."""
    found = found[which]
    sig, ref = _ludb_with_reference(shared_data, rid)
    x = _resampled(sig[:, offset:], fs)
    m = measure_biomarkers(x, float(fs)).iloc[0]
    err = abs(m["qrs_duration_ms"] - ref["qrs_duration_ms"])
    assert err <= max_err, (rid, m["qrs_duration_ms"], ref["qrs_duration_ms"])
    # LUDB 95 (atrial fibrillation, demand pacing): no P marked; a stimulus removed over 2 samples only left a slope
    # timed as a P onset (PR 50 ms) and QRS 68 ms. From sample 1 (250 and 257 Hz) a P onset IS found, 318 ms before
    # the QRS (its fibrillation waves pass the P-consistency check, as at 300 Hz from sample 0 before the two-sample
    # test: PR 322): a known wrong PR, not fixed
    assert rid != 95 or offset == 1 or np.isnan(m["pr_interval_ms"]), m["pr_interval_ms"]
    d = delineate(x, float(fs))
    assert np.isfinite(d.stimulus_index) == found
    assert not found or d.stimulus_index < d.qrs_onset < d.r_index, d.stimulus_index


def test_delineate__r_peak_on_the_copys_last_sample_stays_inside_the_record(shared_data):
    """Review s39realfix nit: delineate maps the 500 Hz copy's R peaks back by rounding, and the copy's last sample
    rounds to the record's length n itself at most lengths (a 2500-sample 257 Hz record: copy sample 4863 ->
    2499.58 -> 2500), an index out of the record; now clipped to n - 1."""
    from dataclasses import replace

    from edfgen.kernels.ecg import biomarkers

    sig, _ = _ludb_with_reference(shared_data, 1)
    x = _resampled(sig, 257)[:, :2500]
    copy, fs_copy, _ = biomarkers._record_pass(x, 257.0, biomarkers.DEFAULT_SETTINGS, "test")
    last = int(np.ceil(2500 * fs_copy / 257.0)) - 1      # the copy's last sample
    assert round(last * 257.0 / fs_copy) == 2500
    d = biomarkers._at_rate(replace(copy, r_peaks=np.r_[copy.r_peaks, last]), 257.0, 2500)
    assert d.r_peaks.max() == 2499 and d.beats_used.max() < 2500
    assert np.array_equal(d.r_peaks[:-1], delineate(x, 257.0).r_peaks)


def test_measure_biomarkers__bad_sampling_rate_names_measure_biomarkers():
    """Review s39realfix nit: measure_biomarkers(x, 0) said "measure_record: the sampling rate must be ...", a
    function the user never called."""
    with pytest.raises(InputError, match="^measure_biomarkers: the sampling rate"):
        measure_biomarkers(np.zeros((12, 5000)), 0)
    with pytest.raises(InputError, match="^measure_record: the sampling rate"):
        measure_record(np.zeros((12, 5000)), 0)


@pytest.mark.parametrize("fs", [100, 250, 1000])
def test_delineate__agrees_with_measure_record_at_the_records_own_rate(shared_data, fs):
    """Review s39real F3: measure_record delineated a 500 Hz copy but the public delineate did not, so the two
    disagreed off 500 Hz (median |QRS diff| 14 ms at 100 Hz). Both now make the one pass, and delineate maps its
    indices back to the record's rate: the same intervals, R peaks at the record's rate, a beat of its width."""
    from edfgen.kernels.ecg import biomarkers

    for rid in (1, 2, 3):
        sig, _ = _ludb_with_reference(shared_data, rid)
        x = _resampled(sig, fs)
        d, m = delineate(x, float(fs)), measure_biomarkers(x, float(fs)).iloc[0]
        assert d.fs == fs
        got = {"qrs_duration_ms": d.qrs_offset - d.qrs_onset, "qt_interval_ms": d.t_end - d.qrs_onset,
               "pr_interval_ms": d.qrs_onset - d.p_onset}
        for k, v in got.items():
            assert 1000.0 * v / fs == pytest.approx(m[k], abs=1e-6), (rid, k)
        peaks = detect_r_peaks(x[[0, 1, 6, 7, 8, 9, 10, 11]], float(fs))
        assert len(d.r_peaks) == len(peaks) and np.abs(d.r_peaks - peaks).max() <= max(2, fs // 100)
        copy, fs_copy, _ = biomarkers._record_pass(x, float(fs), biomarkers.DEFAULT_SETTINGS, "test")
        assert abs(d.beat.shape[1] - copy.beat.shape[1] * fs / fs_copy) <= 1 and len(d.p_onset_leads) == 12
        assert abs(np.argmax(np.abs(d.beat[1])) - d.r_index) <= max(2, fs // 50)
        assert d.t_window[1] <= d.beat.shape[1] and 0 <= d.p_window[0]


def test_measure_record__below_90_hz_no_intervals_heart_rate_kept(shared_data):
    """Review s39real F4: between 50 and 99 Hz the 500 Hz copy invented intervals (LUDB 1 at 50 Hz: PR 48,
    QRS 244, QT 590 ms; cardiologists about 137 / 78 / 476). Below MIN_INTERVAL_FS (90 Hz: LUDB 1-100 decimated
    to 85 Hz gave median |QRS error| 7.5 ms, at 90 Hz 5.0, at 100 Hz 4.0) the intervals are NaN and the heart
    rate is kept; at 90 Hz they are measured."""
    sig, ref = _ludb_with_reference(shared_data, 1)
    hr500 = measure_biomarkers(sig, 500.0).loc[0, "heart_rate_bpm"]
    for fs in (50, 75, 85):
        m = measure_biomarkers(_resampled(sig, fs), float(fs)).iloc[0]
        assert m[["pr_interval_ms", "qrs_duration_ms", "qt_interval_ms", "qrs_axis_deg"]].isna().all(), (fs, m)
        assert abs(m["heart_rate_bpm"] - hr500) < 1.0 and m["n_beats"] >= 2
        assert delineate(_resampled(sig, fs), float(fs)) is None
    from edfgen.kernels.ecg.biomarkers import MIN_INTERVAL_FS

    assert MIN_INTERVAL_FS == 90.0
    m = measure_biomarkers(_resampled(sig, 90), 90.0).iloc[0]
    assert abs(m["qrs_duration_ms"] - ref["qrs_duration_ms"]) < 15


@pytest.mark.parametrize("path, fs, reason", [
    ("ludb_dev/data/83", None, "irregular_rhythm"), ("cinc2021_extra/A1041", None, "irregular_rhythm"),
    ("ludb_dev/data/1", None, ""), ("ludb_dev/data/1", 75, "sampling_rate"), ("cinc2021_extra/JS21341", None,
                                                                              "p_window_too_short"),
    ("cinc2021/JS20013", None, "no_p_wave"), ("flat", None, "no_median_beat")])
def test_measure_biomarkers__pr_missing_reason_says_why_there_is_no_pr(shared_data, path, fs, reason):
    """s40 brief (b): PR was NaN in atrial fibrillation with no column saying why, so a user could not tell "no P
    wave in this rhythm" (LUDB 83, CinC A1041: AF) from "not measurable" (LUDB 1 decimated to 75 Hz, a flat
    record) or "P wave not found" (CinC JS20013, sinus tachycardia 143 bpm; JS21341 at 175 bpm, its T end within
    40 ms of the QRS). pr_missing_reason names it, one of PR_MISSING_REASONS, and is empty when a PR was measured."""
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.biomarkers import PR_MISSING_REASONS
    from edfgen.kernels.ecg.leads import canonicalise_leads

    if path == "flat":
        sig, rate = np.zeros((12, 5000)), 500.0
    else:
        rec = canonicalise_leads(read_wfdb(shared_data / "ecg" / f"{path}.hea"))
        sig, rate = (rec.signal, rec.fs) if fs is None else (_resampled(np.asarray(rec.signal, float), fs), float(fs))
    m = measure_biomarkers(sig, rate).iloc[0]
    assert m["pr_missing_reason"] == reason, m
    assert np.isnan(m["pr_interval_ms"]) == bool(reason) and (reason == "" or reason in PR_MISSING_REASONS)
    if reason == "p_window_too_short":   # review s40ecg #5: said "less than 40 ms"; JS21341 has 58 ms between them
        d = delineate(sig, rate)
        gap_ms = (d.qrs_onset - (d.t_end - np.median(np.diff(d.r_peaks)))) / d.fs * 1000
        assert 40 < gap_ms <= 80, gap_ms
        assert "at most 80 ms between" in PR_MISSING_REASONS[reason], PR_MISSING_REASONS[reason]


@pytest.mark.parametrize("path, rhythm", [
    ("ludb_dev/data/52", "flutter"), ("ludb_dev/data/78", "sinus"),
    ("ptbxl/records500/00000/00168_hr", "sinus"), ("ptbxl/records500/00000/00276_hr", "sinus")])
def test_measure_record__no_pr_in_atrial_flutter_with_its_waves_before_the_qrs(shared_data, path, rhythm):
    """s40 brief (a): LUDB 52 (cardiologists: typical atrial flutter, no P wave marked) had PR 229.5 ms: its
    conduction ratio varies little (RR irregularity 0.22, under the AF gate's 0.45) and the flutter wave before each
    QRS, locked to it, was timed as a P wave. The wave repeats, alike, one flutter cycle (214 ms) earlier in the
    diastole (each beat against its own: median correlation 0.89, RMS ratio 1.15): no PR, reason flutter_waves, at
    500 Hz, on copies at 250 and 1000 Hz, and on the record repeated twice (which moved the median beat's P peak:
    compared on the median beat, the correlation fell to 0.59). The sinus records whose P wave looks most like a
    repeat (LUDB 78: 0.50 at a ratio 0.76; PTB-XL 168 and 276: 0.64 and 0.67 at ratios 0.57 and 0.59, a small TP
    wave) keep their PR."""
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.leads import canonicalise_leads

    sig = np.asarray(canonicalise_leads(read_wfdb(shared_data / "ecg" / f"{path}.hea")).signal, float)
    for fs in (("twice", 500, 250, 1000) if rhythm == "flutter" else (500,)):
        x = np.tile(sig, (1, 2)) if fs == "twice" else sig if fs == 500 else _resampled(sig, fs)
        fs = 500 if fs == "twice" else fs
        m = measure_record(x, float(fs))
        if rhythm == "flutter":
            assert np.isnan(m["pr_interval_ms"]) and np.isnan(m["p_amplitude_mv"]), (fs, m)
            assert m["pr_missing_reason"] == "flutter_waves", (fs, m)
        else:
            assert 100 < m["pr_interval_ms"] < 260 and m["pr_missing_reason"] == "", m


@pytest.mark.parametrize("path, rate, pr", [
    ("cinc2021/JS20005", 110, 148.0), ("cinc2021/JS20016", 137, None), ("cinc2021_extra/JS21298", 177, None),
    ("ludb_dev/data/35", 132, None)])
def test_measure_record__pr_in_sinus_tachycardia_whose_p_wave_follows_the_t_wave(shared_data, path, rate, pr):
    """s40 brief (c): in sinus tachycardia (CinC SNOMED 427084000) the P wave starts where the T wave ends; its
    peak lay within 40 ms of the P window's start (previous T end + 20 ms), where a peak is taken for the T wave's
    tail, so no P was timed (PR NaN, no_p_wave) in these three. When none is found so, a peak 20 ms inside is
    accepted. Atrial flutter (LUDB 35, 132/min, no P wave marked) still has none. Review s40ecg #2: JS20016 and
    JS21298's onsets lay exactly at the window's start (PR 118, 90 ms: the window timed, not a wave): none again."""
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.leads import canonicalise_leads

    rec = canonicalise_leads(read_wfdb(shared_data / "ecg" / f"{path}.hea"))
    m = measure_record(np.asarray(rec.signal, float), rec.fs)
    assert abs(m["heart_rate_bpm"] - rate) < 2, m
    if pr is None:   # nor a P amplitude: it was the largest deflection of a window holding no P wave (0.09 mV)
        assert np.isnan(m["pr_interval_ms"]) and m["pr_missing_reason"] == "no_p_wave", m
        assert np.isnan(m["p_amplitude_mv"]), m
    else:
        assert m["pr_interval_ms"] == pytest.approx(pr, abs=4) and m["pr_missing_reason"] == "", m


@pytest.mark.parametrize("record", ["00923", "01473", "00858", "00855"])
def test_measure_record__no_pr_invented_from_the_edge_of_the_p_window(shared_data, record):
    """Review s40ecg #2: the 20 ms P-window fallback (for the P wave right after the T wave) fired at any window
    start, also the 330 ms cap, and took an onset right at the window's start: PTB-XL records100 00923 (68/min,
    window = cap, no P) got PR 318 ms, 01473 276 ms, 00858 82 ms (T tail at 148/min), 00855 132 ms where the code
    before gave none. Now the fallback needs a window starting at the T end and an onset 7 ms inside it."""
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.leads import canonicalise_leads

    rec = canonicalise_leads(read_wfdb(next((shared_data / "ecg" / "ptbxl" / "records100").glob(f"*/{record}_lr.hea"))))
    m = measure_record(np.asarray(rec.signal, float), rec.fs)
    assert np.isnan(m["pr_interval_ms"]) and m["pr_missing_reason"] == "no_p_wave", m


def test_median_beat__flutter_gate_looks_back_over_at_most_64_beats(shared_data):
    """Review s40ecg #4: the flutter gate kept every beat's diastole: a 30-min Holter in interpret took 5.7 -> 8.9 s
    and 731 -> 1046 MB (LUDB 1 tiled 180 times: 9.0 s, 1046 MB before; 4.5 s, 731 MB after). At most 64 evenly
    spaced beats now; the same PR."""
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.biomarkers import median_beat
    from edfgen.kernels.ecg.leads import canonicalise_leads

    rec = canonicalise_leads(read_wfdb(shared_data / "ecg" / "ludb_dev" / "data" / "1.hea"))
    x = np.asarray(rec.signal, float)
    mb = median_beat(np.tile(x, (1, 12)), rec.fs)
    assert len(mb.r_peaks) > 90 and mb.lookback.shape[1] == 64, mb.lookback.shape
    assert measure_record(np.tile(x, (1, 12)), rec.fs)["pr_interval_ms"] == measure_record(x, rec.fs)["pr_interval_ms"]


def _sinus_with_u_wave(hr: float, u_mv: float, seed: int, fs: float = 500.0) -> np.ndarray:
    """10 s of sinus rhythm (8 independent leads I, II, V1-V6 -> 12) with a U wave 170 ms after the T wave."""
    from edfgen.kernels.ecg.leads import twelve_from_eight

    amp = {"p": [0.08, 0.15, 0.06, 0.08, 0.08, 0.08, 0.07, 0.06], "q": [-0.05, -0.08, 0, 0, -0.05, -0.1, -0.15, -0.1],
           "r": [0.8, 1.2, 0.3, 0.6, 0.9, 1.4, 1.6, 1.2], "s": [-0.1, -0.2, -1.2, -1.5, -0.9, -0.4, -0.2, -0.1],
           "t": [0.25, 0.35, 0.05, 0.45, 0.5, 0.45, 0.35, 0.25], "u": [0.2, 0.27, 0.33, 1, 1, 0.67, 0.4, 0.27]}
    waves = [("p", -0.16, 0.022, 1.0), ("q", -0.025, 0.008, 1.0), ("r", 0, 0.01, 1.0), ("s", 0.03, 0.01, 1.0),
             ("t", 0.3, 0.05, 1.0), ("u", 0.47, 0.04, u_mv)]
    t = np.arange(int(10 * fs)) / fs
    x = 0.01 * np.random.default_rng(seed).standard_normal((8, len(t)))
    for r in np.arange(0.4, 9.5, 60 / hr):
        for name, at, width, scale in waves:
            x += scale * np.array(amp[name])[:, None] * np.exp(-0.5 * ((t - r - at) / width) ** 2)
    return twelve_from_eight(x)


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_measure_record__a_u_wave_before_the_p_wave_is_not_flutter(seed):
    """Review s40ecg #3: sinus rhythm at 64/min with a 0.25 mV U wave in V2-V3 was taken for atrial flutter (the
    U wave repeats the P wave's shape one "cycle" earlier: r 0.7505 against 0.75): PR NaN, flutter_waves, in 3 of
    5 seeds. The TP segment between them is flat, which flutter waves never are: PR 165 ms (synthetic 160 ms)."""
    m = measure_record(_sinus_with_u_wave(64, 0.25, seed), 500.0)
    assert m["pr_missing_reason"] == "" and 150 <= m["pr_interval_ms"] <= 180, m


def test_measure_record__qrs_of_right_bundle_branch_block_ends_after_its_late_r_prime(shared_data):
    """s40 brief (d): in right bundle branch block the late, slow R' dips below the QRS-offset threshold before it
    begins, so the QRS ended there: LUDB 10 (cardiologists 123.5 ms) measured 84 ms, CinC JS20052 (CRBBB) 92 ms.
    A deflection above 15 % of the QRS velocity for 8 ms within 30 ms of that offset is part of the QRS; a narrow
    QRS (LUDB 1, 3) keeps its offset."""
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.leads import canonicalise_leads

    sig, ref = _ludb_with_reference(shared_data, 10)
    m = measure_record(sig, 500.0)
    assert abs(m["qrs_duration_ms"] - ref["qrs_duration_ms"]) <= 10, (m["qrs_duration_ms"], ref)
    rec = canonicalise_leads(read_wfdb(shared_data / "ecg" / "cinc2021_extra" / "JS20052.hea"))
    assert measure_record(np.asarray(rec.signal, float), rec.fs)["qrs_duration_ms"] >= 110
    for rid in (1, 3):
        sig, ref = _ludb_with_reference(shared_data, rid)
        assert abs(measure_record(sig, 500.0)["qrs_duration_ms"] - ref["qrs_duration_ms"]) <= 8, rid


@pytest.mark.parametrize("fs", [0, 0.0, -250.0, float("nan"), float("inf"), 0.001, 49.9, "fast"])
def test_measure_record__bad_sampling_rate_is_one_input_error(fs):
    """Review s39real F4: fs 0.001 asked for 224 GiB (MemoryError), fs 0 raised ZeroDivisionError; below 50 Hz
    (what extract accepts) the R-peak filters cannot be built."""
    x = np.zeros((12, 5000))
    for f in (measure_biomarkers, delineate):
        with pytest.raises(InputError, match="sampling rate"):
            f(x, fs)
    assert measure_biomarkers(x, 50.0).loc[0, "n_beats"] == 0


def test_qrs_bounds__a_late_deflection_loud_past_r_plus_200_ms_keeps_the_offset_found():
    """Second read of s40: the late-R' rule looked for the next quiet stretch after a loud one starting within
    30 ms of the offset; when the deflection was still loud at R + 200 ms none was found and the offset found
    before was lost (None): the record lost QRS, QT and PR. Now the offset found stays."""
    from edfgen.kernels.ecg.wave_bounds import _qrs_bounds

    fs, r, t = 500.0, 300, np.arange(600)
    beat = np.zeros((8, 600)) + np.exp(-0.5 * ((t - r) / 6) ** 2)          # a QRS on every lead
    late = (t > r + 25) & (t < r + 240)                                      # loud from 20 ms after it to R + 240 ms
    beat[:, late] += 0.3 * np.sin(2 * np.pi * 25 * (t[late] - r - 25) / fs)
    plain = _qrs_bounds(beat, r, fs, 0.08, 0.008)
    assert plain[1] is not None
    assert _qrs_bounds(beat, r, fs, 0.08, 0.008, rejoin_rel=0.15, rejoin_s=0.03) == plain


#: U-wave weights per lead (I, II, III, aVR, aVL, aVF, V1-V6): largest in V2-V3, as in hypokalaemia.
_U_WEIGHTS = np.array([0.2, 0.27, 0.07, -0.23, 0.06, 0.17, 0.33, 1, 1, 0.67, 0.4, 0.27])


@pytest.mark.parametrize("rid", [87, 91, 99])
def test_measure_record__a_u_wave_after_the_t_wave_is_not_timed_as_the_p_wave(shared_data, rid):
    """s41 brief (a): LUDB sinus records at 80-88/min with a 0.2 mV U wave (peak 90 ms after each T end, SD 40 ms,
    largest in V2-V3) had the U wave timed as the P wave, the largest deflection of the P window: PR 279, 330 and
    318 ms where the record without it gives 128, 142 and 156 (cardiologists 134, 144.5, 154). The P wave is now
    sought after the baseline between the window's last wave and an earlier one."""
    sig, u, ref = _ludb_with_u_wave(shared_data, rid)
    clean, with_u = measure_record(sig, 500.0), measure_record(sig + u, 500.0)
    assert abs(with_u["pr_interval_ms"] - clean["pr_interval_ms"]) <= 10, (with_u, clean)
    assert abs(with_u["pr_interval_ms"] - ref["pr_interval_ms"]) <= 15, (with_u, ref)


def _ludb_with_u_wave(shared_data, rid: int, u_mv: float = 0.2):
    """LUDB record ``rid`` [12, T], a U wave to add to it (peak 90 ms after each T end, SD 40 ms, largest in
    V2-V3: ``benchmarks/ecg_u_wave.py``) and the cardiologists' intervals."""
    from edfgen.kernels.ecg.biomarkers import DelineationSettings

    sig, ref = _ludb_with_reference(shared_data, rid)
    d = delineate(sig, 500.0, DelineationSettings(p_last_wave_rel=None, t_first_wave_rel=None))
    t = np.arange(sig.shape[1]) / 500.0
    centres = (d.r_peaks + d.t_end - d.r_index) / 500.0 + 0.09
    bumps = np.exp(-0.5 * ((t[None, :] - centres[:, None]) / 0.04) ** 2).sum(0)
    return sig, u_mv * _U_WEIGHTS[:, None] * bumps[None, :], ref


@pytest.mark.parametrize("rid", [46, 71, 94])
def test_measure_record__qt_ends_at_the_t_wave_not_at_the_u_wave_after_it(shared_data, rid):
    """A 0.2 mV U wave after the T wave (LUDB sinus records at 58-78/min) was taken for the T wave in the leads where
    it is the largest deflection of the T window, and the median over the leads ended the QT at the U wave's end: QT
    505, 609, 473 ms where the records without it give 403, 434, 386 (cardiologists 401, 430, 377). The T peak is now
    sought before the nadir between the T and a later wave of at least half its size, 100 ms or more after it."""
    sig, u, ref = _ludb_with_u_wave(shared_data, rid)
    clean, with_u = measure_record(sig, 500.0), measure_record(sig + u, 500.0)
    assert abs(with_u["qt_interval_ms"] - clean["qt_interval_ms"]) <= 12, (with_u, clean)
    assert abs(with_u["qt_interval_ms"] - ref["qt_interval_ms"]) <= 15, (with_u, ref)


@pytest.mark.parametrize("rid", [46, 71, 94])
def test_measure_record__t_amplitude_and_st_deviation_are_the_t_waves_not_the_u_waves(shared_data, rid):
    """The QT ended at the T wave with a 0.2 mV U wave after it, but the T amplitude and the ST direction were still
    the largest magnitude of the whole T window, the U wave's: t_amplitude_mv 0.124 -> 0.147, 0.126 -> 0.167,
    0.137 -> 0.190 mV, st_deviation_mv 0.020 -> 0.033 on LUDB 94. They are now taken before the T-U nadir."""
    sig, u, _ = _ludb_with_u_wave(shared_data, rid)
    clean, with_u = measure_record(sig, 500.0), measure_record(sig + u, 500.0)
    assert abs(with_u["t_amplitude_mv"] - clean["t_amplitude_mv"]) <= 0.01, (with_u, clean)
    assert abs(with_u["st_deviation_mv"] - clean["st_deviation_mv"]) <= 0.005, (with_u, clean)


@pytest.mark.parametrize("path, pr, qt, reason", [
    ("cinc2021_extra/E10256", 180, 410, ""),            # notched P: min_gap 40 ms gave PR 128 (the second hump)
    ("cinc2021_extra/E05526", 228, 406, ""),            # notched P: min_gap 40 ms gave PR 181
    ("cinc2021_extra/JS19852", np.nan, 296, "no_p_wave"),    # atrial flutter: min_gap 40 ms timed a PR of 124
    ("ptbxl/records500/00000/00182_hr", 266, 410, ""),  # min_gap 40 ms gave PR 206
    ("ptbxl/records500/00000/00421_hr", 144, 400, ""),  # a U-wave size limit of 0.25 (not 0.5) gave QT 292
])
def test_measure_record__last_wave_guards_keep_real_records_pr_and_qt(shared_data, path, pr, qt, reason):
    """The guards of :func:`edfgen.kernels.ecg.p_wave.last_wave_start` on real records: its least gap between the
    two waves (100 ms; a notched P wave's humps are 30-90 ms apart) and, in the T window, the later wave's least
    size (half the window's largest). Loosened, each moves one of these records' PR or QT (s41 review)."""
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.leads import canonicalise_leads

    rec = canonicalise_leads(read_wfdb(shared_data / "ecg" / f"{path}.hea"))
    m = measure_record(rec.signal, rec.fs)
    assert m["pr_missing_reason"] == reason, m
    np.testing.assert_allclose([m["pr_interval_ms"], m["qt_interval_ms"]], [pr, qt], atol=4, err_msg=str(m))


def test_last_wave_start__a_t_tail_larger_than_the_u_wave_does_not_keep_the_u_wave_in_the_p_search():
    """The cut was the lowest point after the LARGEST earlier wave: with a T tail (0.3 mV) larger than the U wave
    (0.2 mV) after it, that was the T-U dip (0.062 s) and the U wave stayed in the P search, the P wave (0.1 mV,
    330 ms) lost to it. The cut is now after the latest earlier wave that returns to baseline: the U-P dip."""
    from edfgen.kernels.ecg.p_wave import last_wave_start

    t = np.arange(200) / 500.0

    def g(a, c, s):
        return a * np.exp(-0.5 * ((t - c) / s) ** 2)

    mag = g(0.3, -0.02, 0.025) + g(0.2, 0.17, 0.035) + g(0.1, 0.33, 0.02)     # T tail, U wave, P wave
    cut = last_wave_start(mag, 0, 200, min_mv=0.03, min_gap=50, rel=0.5, size_rel=0.3) / 500.0
    assert 0.25 < cut < 0.29, cut
    assert last_wave_start(g(0.3, -0.02, 0.025) + g(0.1, 0.33, 0.02), 0, 200, min_mv=0.03, min_gap=50) / 500 < 0.2


@pytest.mark.parametrize("rid", [31, 57, 81])
def test_measure_record__qt_of_a_flat_t_wave_kept_at_half_the_gain(shared_data, rid):
    """Stop 42: LUDB sinus records whose T wave stays under 0.1 mV on every lead (0.07-0.09 mV at most) recorded at
    half the gain (another recorder's scale) had no QT at all: no lead reached the 0.05 mV floor (t_min_mv). The
    floor is now halved when no lead reaches it, so the copy at half the gain is timed on the leads the record is,
    and gives its QT (434, 392, 368 ms; cardiologists 441.5, 403, 394). At a quarter of the gain, too."""
    sig, ref = _ludb_with_reference(shared_data, rid)
    full = measure_record(sig, 500.0)["qt_interval_ms"]
    assert abs(full - ref["qt_interval_ms"]) <= 30, (full, ref)
    for gain in (0.5, 0.25):
        assert abs(measure_record(gain * sig, 500.0)["qt_interval_ms"] - full) <= 2, gain


def test_measure_record__a_t_wave_shrunk_into_noise_gives_no_qt(shared_data):
    """Review of stop 42: the halved T floor (down to 12.5 uV) had no check against noise. LUDB 14 (R 1 mV) with its
    T wave shrunk to 10 % (bridged to the baseline between QRS offset + 20 ms and T end + 40 ms, beat by beat) plus
    10 uV RMS noise had no QT before the halving and QT 532 ms with it (its true QT 354 ms): the halved floor timed
    the noise. The floor is now halved only when the QRS is small too (a low gain: R below t_floor_max_r_mv)."""
    sig, _ = _ludb_with_reference(shared_data, 14)
    d = delineate(sig, 500.0)
    a, b = int(d.qrs_offset - d.r_index + 10), int(d.t_end - d.r_index + 20)
    x = sig.copy()
    for p in d.r_peaks:
        lo, hi = p + a, p + b
        if lo >= 0 and hi < x.shape[1]:
            br = np.linspace(x[:, lo], x[:, hi], hi - lo + 1).T
            x[:, lo:hi + 1] = br + 0.1 * (x[:, lo:hi + 1] - br)
    y = x + 0.01 * np.random.default_rng(0).standard_normal(x.shape)
    m = measure_record(y, 500.0)
    assert m["r_amplitude_mv"] > 0.5 and np.isnan(m["qt_interval_ms"]), m


@pytest.mark.parametrize("bad", [-1, 1.5, "2", None, True])
def test_delineation_settings__t_floor_halvings_must_be_a_non_negative_integer(bad):
    """A negative count silently gave no T floor at all (an empty halving loop: every QT NaN); 1.5 a float range."""
    import dataclasses

    from edfgen.kernels.ecg.biomarkers import DEFAULT_SETTINGS

    with pytest.raises(InputError, match="t_floor_halvings"):
        dataclasses.replace(DEFAULT_SETTINGS, t_floor_halvings=bad)
