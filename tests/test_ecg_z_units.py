"""Records in units ``z`` (per-lead z-scores: ``../shared/data/ecg/ptbxl_extra``) and pre-training on every
real ECG folder (issue 22 item 2).

Units ``z`` carry no amplitude in mV: every reader refuses them by default (so ``extract``'s biomarker amplitudes
never treat a z value as a millivolt); ``edfgen pretrain`` reads them with each lead multiplied by a typical SD
in mV (:data:`edfgen.formats.ecg.units.Z_LEAD_SD_MV`) and skips the QRS-axis auxiliary target for them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.formats.ecg.records import RecordRejected, read_wfdb
from edfgen.formats.ecg.units import Z_LEAD_SD_MV, Z_NOTE
from edfgen.kernels.ecg import LEADS

EXTRA = ("pia02014", "pia02024", "pia02034")


def _copy(src: Path, names, dst: Path, suffixes=(".hea", ".dat")) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for n in names:
        for s in suffixes:
            shutil.copy(src / f"{n}{s}", dst / f"{n}{s}")
    return dst


def test_units_z__refused_by_default_read_rescaled_for_pretraining(shared_data: Path):
    """Reference: ``wfdb.rdrecord``'s physical signal (z) times the documented lead SD (mV)."""
    import wfdb

    folder = shared_data / "ecg" / "ptbxl_extra" / "records100"
    for name in EXTRA:
        with pytest.raises(RecordRejected, match=r"signal units 'z' \(a per-lead z-score, no amplitude in mV\)"):
            read_wfdb(folder / f"{name}.hea")
        ref = wfdb.rdrecord(str(folder / name))
        assert ref.units == ["z"] * 12 and ref.sig_name == list(LEADS)
        rec = read_wfdb(folder / f"{name}.hea", z_scale=Z_LEAD_SD_MV)
        assert rec.notes == (Z_NOTE,) and rec.fs == 100.0 and rec.leads == LEADS
        want = ref.p_signal.T * np.array([Z_LEAD_SD_MV[lead] for lead in LEADS])[:, None]
        np.testing.assert_allclose(rec.signal, want, atol=1e-6)
        # z-scored per lead over 10 s (before the 500 -> 100 Hz resampling): SD ~ the typical SD in mV
        np.testing.assert_allclose(rec.signal.std(axis=1), list(Z_LEAD_SD_MV.values()), rtol=0.02)
    # a lead without a typical SD is a reject, not a guess; other units are unaffected by z_scale
    from edfgen.formats.ecg.common import _unit_factor

    with pytest.raises(RecordRejected, match="on lead 'X1': no typical amplitude"):
        _unit_factor("z", record_id="r", path="p", lead="X1", z_scale=Z_LEAD_SD_MV)
    assert _unit_factor("uV", record_id="r", path="p", lead="V2", z_scale=Z_LEAD_SD_MV) == 1e-3
    assert _unit_factor("Z", record_id="r", path="p", lead="avr", z_scale=Z_LEAD_SD_MV) == Z_LEAD_SD_MV["aVR"]
    # edfgen extract's reader (biomarker amplitudes in mV): the z record is a reject with the reason, never read
    from edfgen.commands.extract import _load_batch
    from edfgen.formats.ecg.records import discover_records
    from edfgen.kernels.ecg.preprocess import DEFAULT_QUALITY
    from edfgen.kernels.ecg.preprocessing_config import Preprocessing

    ids, signals, rejects, _ = _load_batch(discover_records([folder / f"{EXTRA[0]}.hea"]), Preprocessing(), None,
                                           DEFAULT_QUALITY)
    assert ids == [] and len(signals) == 0 and rejects[0][0] == EXTRA[0] and "units 'z'" in rejects[0][2]


def test_z_lead_sd__equals_median_sd_of_ptbxl_500hz(shared_data: Path):
    """The constants are what their documented measurement gives (wfdb + scipy here, not edfgen's reader)."""
    import wfdb
    from scipy.signal import butter, sosfiltfilt

    folder = shared_data / "ecg" / "ptbxl" / "records500"
    sds = []
    for hea in sorted(folder.rglob("*.hea")):
        r = wfdb.rdrecord(str(hea.with_suffix("")))
        x = r.p_signal[:, [r.sig_name.index(lead.upper()) if lead.upper() in r.sig_name else r.sig_name.index(lead)
                           for lead in LEADS]]
        sos = butter(4, [0.5, 40.0], btype="band", fs=r.fs, output="sos")
        sds.append(sosfiltfilt(sos, np.nan_to_num(x), axis=0).std(axis=0))
    assert len(sds) == 353
    np.testing.assert_allclose(np.median(sds, axis=0), [Z_LEAD_SD_MV[lead] for lead in LEADS], atol=6e-4)


def test_pretrain__every_real_folder_z_records_without_axis_target(tmp_path: Path, shared_data: Path):
    """``pretrain --ecg`` repeated over z-scored PTB-XL, Georgia (CinC 2020 record line), CinC and LUDB records:
    all are read (0 rejected); the z records keep interval targets and lose only the QRS axis."""
    from edfgen.model.checkpoint import load_checkpoint
    from edfgen.model.data import load_ecgs
    from edfgen.model.pretrain import AMPLITUDE_TARGETS, measured_targets

    ecg = shared_data / "ecg"
    z = _copy(ecg / "ptbxl_extra" / "records100", EXTRA, tmp_path / "z")
    ga = _copy(ecg / "cinc2021_extra", ("E07520", "E07521"), tmp_path / "georgia", (".hea", ".mat"))
    assert (ga / "E07520.hea").read_text().split()[0] == "E07520.mat"
    lu = _copy(ecg / "ludb_dev" / "data", ("1",), tmp_path / "ludb")
    folders = [z, ga, lu]
    arr = load_ecgs(folders, z_scale=Z_LEAD_SD_MV)
    assert arr.rejects == [] and arr.ids == [*EXTRA, "E07520", "E07521", "1"]
    assert arr.z_scored.tolist() == [True] * 3 + [False] * 3
    assert load_ecgs(folders).z_scored is None and len(load_ecgs(folders).rejects) == 3   # default: refused
    names = ("heart_rate", "qrs_duration", "qt_interval", "qrs_axis_sin", "qrs_axis_cos")
    plain = measured_targets(arr.signals, names, fs=500.0)
    y = measured_targets(arr.signals, names, fs=500.0, z_scored=arr.z_scored)
    axis = [j for j, n in enumerate(names) if n in AMPLITUDE_TARGETS]
    assert np.isnan(y[:3][:, axis]).all() and np.isfinite(plain[:3][:, axis]).all()
    np.testing.assert_array_equal(np.delete(y, axis, 1), np.delete(plain, axis, 1))
    assert np.isfinite(y[:3, 0]).all()                                                      # heart rate kept
    out = tmp_path / "pt"
    args = ["pretrain", "--config", "tiny", *sum((["--ecg", str(f)] for f in folders), []), "--steps", "2",
            "--batch-size", "4", "--warmup", "1", "--out", str(out)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    meta = load_checkpoint(out / "checkpoint").metadata
    assert meta["data"]["ecg"] == [str(f) for f in folders] and meta["steps_done"] == 2
    assert set(json.loads((out / "manifest.json").read_text())["inputs"]) == {str(f) for f in folders}
