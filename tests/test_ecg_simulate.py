"""Tests of the dipole ECG synthesiser (edfgen.simulate.ecg)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.leads import DOWER, INVERSE_DOWER
from edfgen.simulate.ecg import (PHYSIOLOGY_COLUMNS, BeatParams, participant_rng, random_physiology, synthesize_batch,
                                 synthesize_ecg)
from edfgen.exceptions import InputError

P = BeatParams(heart_rate_bpm=66, pr_interval_ms=165, qrs_duration_ms=94, qt_interval_ms=405, qrs_axis_deg=40,
               r_amplitude_mv=1.6, t_amplitude_mv=0.45, p_amplitude_mv=0.15, st_deviation_mv=0.02)


def test_dower_matrices__published_pair_is_mutually_inverse():
    # Dower (1980) and inverse Dower (Edenbrandt & Pahlm 1988) were fitted independently; a
    # transcription error in either shows up as a product far from the identity.
    np.testing.assert_allclose(INVERSE_DOWER @ DOWER, np.eye(3), atol=0.01)


@pytest.mark.parametrize("noise", [False, True])
def test_synthesize_ecg__limb_lead_identities_exact(noise):
    x = synthesize_ecg(P, rng=np.random.default_rng(1), noise=noise)
    assert x.shape == (12, 5000) and x.dtype == np.float32
    lead = {name: x[i] for i, name in enumerate(LEADS)}
    i, ii = lead["I"], lead["II"]
    # bit-exact in float32, with and without electrode noise
    assert np.array_equal(lead["III"], ii - i)
    assert np.array_equal(lead["aVR"], -(i + ii) / 2)
    assert np.array_equal(lead["aVL"], i - ii / 2)
    assert np.array_equal(lead["aVF"], ii - i / 2)


def test_synthesize_ecg__inverse_dower_recovers_amplitudes():
    """The VCG reconstructed from the 12 leads (inverse Dower) peaks at the R dipole magnitude."""
    x = synthesize_ecg(P, rng=np.random.default_rng(2), noise=False).astype(float)
    leads8 = x[[LEADS.index(n) for n in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")]]
    mag = np.linalg.norm(INVERSE_DOWER @ leads8, axis=0)
    assert mag.max() == pytest.approx(P.r_amplitude_mv * 1.05, rel=0.08)  # +5 % respiratory modulation at most
    # millivolt scale: precordial R waves 0.5-3 mV, no lead beyond 4 mV
    assert 0.5 < np.abs(x).max() < 4.0


def test_synthesize_ecg__deterministic_by_rng_and_noise_differs():
    a = synthesize_ecg(P, rng=np.random.default_rng(7))
    b = synthesize_ecg(P, rng=np.random.default_rng(7))
    c = synthesize_ecg(P, rng=np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_synthesize_ecg__sampling_rate_and_duration():
    x = synthesize_ecg(P, rng=np.random.default_rng(0), fs=250, duration_s=8.0)
    assert x.shape == (12, 2000)


def test_synthesize_ecg__rr_variability_within_physiological_range():
    from edfgen.kernels.ecg.biomarkers import detect_r_peaks

    cvs = []
    for seed in range(10):
        x = synthesize_ecg(P, rng=np.random.default_rng(seed), noise=False)
        rr = np.diff(detect_r_peaks(x[1], 500)) / 500
        cvs.append(rr.std(ddof=1) / rr.mean())
        assert 60 / rr.mean() == pytest.approx(P.heart_rate_bpm, abs=1.0)
    assert 0.01 < np.median(cvs) < 0.06


def test_synthesize_batch__independent_of_batching():
    df = random_physiology(6, rng=np.random.default_rng(3))
    whole = synthesize_batch(df, seed=11)
    tail = synthesize_batch(df.iloc[3:], seed=11, start_index=3)
    assert whole.shape == (6, 12, 5000)
    assert np.array_equal(whole[3:], tail)
    one = synthesize_ecg(BeatParams.from_row(df.iloc[4]), rng=participant_rng(11, 4))
    assert np.array_equal(whole[4], one)


def test_synthesize_batch__missing_column_names_it():
    df = random_physiology(2, rng=np.random.default_rng(3)).drop(columns="qt_interval_ms")
    with pytest.raises(InputError, match="qt_interval_ms"):
        synthesize_batch(df, seed=0)


def test_beat_params__rejects_out_of_range_value_naming_field():
    with pytest.raises(InputError, match="heart_rate_bpm"):
        BeatParams(**{**P.to_dict(), "heart_rate_bpm": 400})
    with pytest.raises(InputError, match="qt_interval_ms"):
        BeatParams(**{**P.to_dict(), "heart_rate_bpm": 160, "qt_interval_ms": 450})
    with pytest.raises(InputError, match="missing"):
        BeatParams.from_row({"heart_rate_bpm": 60})


def test_random_physiology__valid_rows_plausible_ranges():
    df = random_physiology(3000, rng=np.random.default_rng(0))
    assert list(df.columns) == list(PHYSIOLOGY_COLUMNS)
    for _, row in df.head(200).iterrows():
        BeatParams.from_row(row)                      # every row is accepted
    assert 60 < df.heart_rate_bpm.mean() < 76
    assert 380 < df.qt_interval_ms.mean() < 420
    # QT shortens at faster heart rates (Fridericia), as in real populations
    assert np.corrcoef(df.heart_rate_bpm, df.qt_interval_ms)[0, 1] < -0.3
    assert isinstance(df, pd.DataFrame) and not df.isna().any().any()


def test_synthesize_batch__thousands_per_minute_on_one_core():
    import time

    df = random_physiology(100, rng=np.random.default_rng(1))
    t0 = time.process_time()
    synthesize_batch(df, seed=0)
    per_record = (time.process_time() - t0) / 100
    assert per_record < 0.03                          # > 2000 records per CPU-minute (measured ~3 ms)
