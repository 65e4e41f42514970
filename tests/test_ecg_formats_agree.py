"""Metamorphic check across ECG file formats: one real 12-lead ECG written as WFDB, GE MUSE XML, GE CardioSoft XML
(UK Biobank), HL7 aECG, EDF and DICOM, each in its published layout at the same resolution, must give the same
signal in mV (to 1e-6), the same biomarkers and the same EDFs from ``edfgen extract``. A reader that scaled, ordered,
derived or cut differently from the others shows here as a disagreement, whichever it is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edfgen.formats.ecg.records import discover_records, read_record
from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.leads import canonicalise_leads
from fuzz_ecg_cases import edf_channel, write_edf
from test_ecg_aecg import write_aecg
from test_ecg_dicom import write_dicom
from test_ecg_xml import write_cardiosoft, write_muse

#: microvolts per count in every file (MUSE exports write 4.88; 5 keeps the EDF physical range exact in 8 characters)
UV = 5.0


@pytest.fixture(scope="module")
def same_ecg(shared_data, tmp_path_factory):
    """``(folder, signal in mV)``: PTB-XL record 1 as whole counts, with I and II even so that the limb leads MUSE
    leaves out (III, aVR, aVL, aVF, derived from I and II) are whole counts too, stored in the five other formats."""
    import wfdb
    from pydicom.data import get_testdata_file

    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    c = np.round(ref.p_signal.T * 1000.0 / UV).astype(np.int64)
    c[:2] = 2 * np.round(c[:2] / 2).astype(np.int64)
    i, ii = c[0], c[1]
    c[2:6] = ii - i, -(i + ii) // 2, i - ii // 2, ii - i // 2        # Einthoven, Goldberger, exact in counts
    mv = c * (UV / 1000.0)
    d = tmp_path_factory.mktemp("same_ecg")
    wfdb.wrsamp("wfdb", fs=500, units=["mV"] * 12, sig_name=list(LEADS), d_signal=c.T.astype(np.int16),
                fmt=["16"] * 12, adc_gain=[1000.0 / UV] * 12, baseline=[0] * 12, write_dir=str(d))
    write_muse(d / "muse.xml", mv, 500.0, units_per_bit=UV)
    write_cardiosoft(d / "1000001_20205_2_0.xml", mv, 500.0, resolution_uv=UV)
    write_aecg(d / "aecg.xml", mv, 500.0, scale_uv=UV)
    write_edf(d / "edf.edf", [edf_channel(f"ECG {n}", "mV", row, -32768 * UV / 1000, 32767 * UV / 1000, -32768, 32767,
                                          500) for n, row in zip(LEADS, mv)])
    write_dicom(get_testdata_file("waveform_ecg.dcm"), d / "dicom.dcm", mv, 500.0, sensitivity=UV)
    return d, mv


def test_read_record__six_formats_give_the_same_millivolts_and_biomarkers(same_ecg):
    from edfgen.kernels.ecg.biomarkers import measure_record

    d, mv = same_ecg
    refs = discover_records([d])
    assert sorted((r.record_id, r.fmt) for r in refs) == [("1000001", "cardiosoft"), ("aecg", "aecg"),
                                                         ("dicom", "dicom"), ("edf", "edf"), ("muse", "muse"),
                                                         ("wfdb", "wfdb")]
    measures = {}
    for ref in refs:
        rec = canonicalise_leads(read_record(ref))
        assert rec.fs == 500.0 and rec.leads == LEADS, ref.record_id
        np.testing.assert_allclose(rec.signal, mv, atol=1e-6, rtol=0, err_msg=ref.fmt)
        measures[ref.fmt] = pd.Series(measure_record(rec.signal, rec.fs))
    table = pd.DataFrame(measures)
    assert table.notna().sum().min() >= 10          # a real ECG: intervals, axis and amplitudes measured
    pd.testing.assert_frame_equal(table, pd.DataFrame({f: table["wfdb"] for f in table}), check_exact=False,
                                  rtol=1e-5, atol=1e-6)


def test_cli_extract__six_formats_give_the_same_edfs(same_ecg, tmp_path):
    import torch
    from click.testing import CliRunner

    from edfgen.cli import cli
    from edfgen.kernels.ecg.preprocessing_config import Preprocessing
    from edfgen.model.checkpoint import save_checkpoint
    from edfgen.model.config import get_config
    from edfgen.model.encoder import ECGEncoder

    d, _ = same_ecg
    torch.manual_seed(0)
    cfg = get_config("tiny")
    ckpt = save_checkpoint(ECGEncoder(cfg), cfg, Preprocessing(), tmp_path / "ck" / "rand")
    out = tmp_path / "o" / "edfs.tsv"
    r = CliRunner().invoke(cli, ["extract", "--ecg", str(d), "--out", str(out), "--checkpoint", str(ckpt),
                                 "--workers", "0", "-q"])
    assert r.exit_code == 0, r.output
    got = pd.read_csv(out, sep="\t", dtype={"IID": str}).set_index("IID")
    assert sorted(got.index) == ["1000001", "aecg", "dicom", "edf", "muse", "wfdb"]
    x = got.to_numpy()
    assert np.abs(x).max() > 0.1
    np.testing.assert_allclose(x, np.broadcast_to(got.loc["wfdb"].to_numpy(), x.shape), rtol=0, atol=1e-5)
