"""DICOM ECG waveforms (edfgen.formats.ecg.dicom), checked against independent references: the real 12-lead ECG that
pydicom ships (its cart's own measurements stored in the file), and real PTB-XL records written into the same DICOM
layout, compared with the signal ``wfdb.rdrecord`` reads from WFDB."""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest

from edfgen.formats.ecg.dicom import read_dicom
from edfgen.formats.ecg.records import RecordRejected, discover_records, read_record
from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.leads import canonicalise_leads


@pytest.fixture(scope="module")
def real_dcm():
    from pydicom.data import get_testdata_file

    return get_testdata_file("waveform_ecg.dcm")  # a real 12-lead ECG Waveform Storage object (10 s at 1 kHz)


def cart_measurements(path) -> dict[str, float]:
    """The numeric measurements the recording cart stored in the file (WaveformAnnotationSequence)."""
    ds = pydicom.dcmread(path)
    out = {}
    for a in ds.WaveformAnnotationSequence:
        if "NumericValue" in a and "ConceptNameCodeSequence" in a:
            out[a.ConceptNameCodeSequence[0].CodeMeaning] = float(a.NumericValue)
    return out


def write_dicom(template, path, signal_mv: np.ndarray, fs: float, *, sensitivity=2.5, unit="uV", leads=LEADS):
    """The template's dataset with its rhythm group replaced by ``signal_mv`` ``[L, T]`` quantised to ``sensitivity``
    ``unit`` per count (int16); the median-beat group is kept."""
    ds = pydicom.dcmread(template)
    g = ds.WaveformSequence[0]
    per_mv = {"uV": 1000.0, "mV": 1.0}[unit]
    counts = np.round(signal_mv * per_mv / sensitivity).astype("<i2")
    g.NumberOfWaveformChannels = len(leads)
    g.NumberOfWaveformSamples = counts.shape[1]
    g.SamplingFrequency = fs
    chans = list(g.ChannelDefinitionSequence)[:len(leads)]
    for ch, name in zip(chans, leads):
        ch.ChannelSourceSequence[0].CodeMeaning = f"Lead {name}"
        ch.ChannelSensitivity = sensitivity
        ch.ChannelSensitivityUnitsSequence[0].CodeValue = unit
    g.ChannelDefinitionSequence = chans
    g.WaveformData = counts.T.tobytes()
    ds.save_as(path)
    return counts.astype(np.float64) * sensitivity / per_mv


def test_read_dicom__real_cart_ecg_consistent_and_measured_as_the_cart_did(real_dcm):
    """The shipped real ECG: 12 leads at 1 kHz in mV, Einthoven's law holds to one count (1.25 uV), the samples equal
    pydicom's own conversion, and edfgen's delineator measures what the cart stored (heart rate, PR, QRS, QT, axis)."""
    from edfgen.kernels.ecg.biomarkers import measure_record

    rec = read_dicom(real_dcm)
    assert rec.fs == 1000.0 and rec.signal.shape == (12, 10000) and rec.record_id == "waveform_ecg"
    ref = pydicom.dcmread(real_dcm).waveform_array(0).T / 1000.0       # pydicom: uV, samples x channels
    np.testing.assert_allclose(rec.signal, ref, atol=1e-6)
    c = canonicalise_leads(rec)
    assert c.leads == LEADS and not c.notes
    i, ii, iii = c.signal[:3].astype(np.float64)
    assert np.abs(iii - (ii - i)).max() <= 1.25e-3 + 1e-9
    assert 0.5 < np.abs(c.signal).max() < 5.0                            # millivolts, not microvolts
    cart = cart_measurements(real_dcm)
    m = measure_record(c.signal, c.fs)
    assert m["heart_rate_bpm"] == pytest.approx(60000.0 / cart["RR Interval"], abs=2.0)
    assert m["qrs_duration_ms"] == pytest.approx(cart["QRS Duration"], abs=10.0)
    assert m["qt_interval_ms"] == pytest.approx(cart["QT Interval"], abs=15.0)
    assert m["pr_interval_ms"] == pytest.approx(cart["PR Interval"], abs=20.0)
    assert m["qrs_axis_deg"] == pytest.approx(cart["QRS Axis"], abs=10.0)


@pytest.mark.parametrize("unit,sensitivity", [("uV", 2.5), ("mV", 0.001)])
def test_read_dicom__real_ptbxl_records_written_as_dicom_equal_wfdb(real_dcm, shared_data, tmp_path, unit,
                                                                    sensitivity):
    """Real PTB-XL signals written into the DICOM layout (either unit) read back as wfdb reads them from WFDB, to the
    quantisation step."""
    import wfdb

    base = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"
    ref = wfdb.rdrecord(str(base))
    sig = ref.p_signal.T.astype(np.float64)
    names = [{"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}.get(n.upper(), n) for n in ref.sig_name]
    write_dicom(real_dcm, tmp_path / "00001.dcm", sig, float(ref.fs), sensitivity=sensitivity, unit=unit,
                leads=names)
    rec = canonicalise_leads(read_dicom(tmp_path / "00001.dcm"))
    assert rec.fs == ref.fs and rec.leads == LEADS
    step = sensitivity / (1000.0 if unit == "uV" else 1.0)
    np.testing.assert_allclose(rec.signal, sig, atol=step / 2 + 1e-6)


def test_discover__dicom_in_folders_and_by_name_without_extension(real_dcm, tmp_path):
    """``.dcm``/``.dicom`` files and extensionless DICOM files (not DICOMDIR) are found in folders; a DICOM file given
    by name is read whatever its extension."""
    d = tmp_path / "ecgs"
    (d / "sub").mkdir(parents=True)
    shutil.copy(real_dcm, d / "a.dcm")
    shutil.copy(real_dcm, d / "sub" / "b.DICOM")
    shutil.copy(real_dcm, tmp_path / "IM000001")             # PACS exports often have no extension
    shutil.copy(real_dcm, d / "sub" / "IM0002")              # a PACS folder: extensionless files and a DICOMDIR
    shutil.copy(real_dcm, d / "sub" / "DICOMDIR")
    (d / "sub" / "RECORDS").write_text("not an ECG\n")       # other extensionless files are not records
    refs = discover_records([d])
    assert [(r.record_id, r.fmt) for r in refs] == [("a", "dicom"), ("IM0002", "dicom"), ("b", "dicom")]
    (ref,) = discover_records([tmp_path / "IM000001"])
    assert ref.fmt == "dicom" and read_record(ref).signal.shape == (12, 10000)


def _edited(real_dcm, path, edit):
    ds = pydicom.dcmread(real_dcm)
    edit(ds)
    ds.save_as(path)
    return path


def test_read_dicom__bad_files_are_rejected_with_one_line_reasons(real_dcm, tmp_path):
    from pydicom.data import get_testdata_file

    def reason(path) -> str:
        with pytest.raises(RecordRejected) as e:
            read_dicom(path)
        assert "\n" not in str(e.value)
        return e.value.reason

    (tmp_path / "text.dcm").write_text("not a dicom file")
    assert "not a DICOM file" in reason(tmp_path / "text.dcm")
    assert "CT Image Storage" in reason(get_testdata_file("CT_small.dcm"))

    def median_only(ds):
        del ds.WaveformSequence[0]
    assert "only median" in reason(_edited(real_dcm, tmp_path / "median.dcm", median_only))

    def truncated(ds):
        ds.WaveformSequence[0].WaveformData = ds.WaveformSequence[0].WaveformData[:1000]
    assert "need 240000" in reason(_edited(real_dcm, tmp_path / "short.dcm", truncated))

    def furlongs(ds):
        ds.WaveformSequence[0].ChannelDefinitionSequence[3].ChannelSensitivityUnitsSequence[0].CodeValue = "mm"
    r = reason(_edited(real_dcm, tmp_path / "units.dcm", furlongs))
    assert "'mm'" in r and "Lead aVR" in r

    def uncalibrated(ds):
        ds.WaveformSequence[0].ChannelDefinitionSequence[0].ChannelSensitivity = 0
    assert "uncalibrated" in reason(_edited(real_dcm, tmp_path / "zero.dcm", uncalibrated))

    def mulaw(ds):
        ds.WaveformSequence[0].WaveformSampleInterpretation = "MB"
    assert "'MB'" in reason(_edited(real_dcm, tmp_path / "mulaw.dcm", mulaw))


def test_read_dicom__padding_is_missing_like_wfdbs_missing_value(real_dcm, tmp_path):
    """Samples equal to WaveformPaddingValue are missing (NaN, the rest unchanged), as WFDB's missing value: the
    preprocessing then uses the longest stretch without any. Was: padding at the ends trimmed by the reader, but
    inside the recording, or on one lead only at the end, a reject ('inside the recording') where the same gap read
    from WFDB was cut and kept."""
    from edfgen.kernels.ecg.preprocess import keep_finite_stretch

    ds = pydicom.dcmread(real_dcm)
    g = ds.WaveformSequence[0]
    counts = np.frombuffer(g.WaveformData, dtype="<i2").reshape(10000, 12).copy()
    counts[:100] = -32768
    counts[-50:, 5] = -32768                        # one lead's last 0.1 s
    counts[5000:5010, 5] = -32768                   # and 10 samples inside
    g.WaveformData = counts.tobytes()
    g.add_new(0x5400100A, "OW", np.array([-32768], dtype="<i2").tobytes())   # WaveformPaddingValue
    ds.save_as(tmp_path / "pad.dcm")
    rec, ref = read_dicom(tmp_path / "pad.dcm"), read_dicom(real_dcm).signal
    pad = counts.T == -32768
    assert np.isnan(rec.signal[pad]).all() and rec.notes == ()
    np.testing.assert_array_equal(rec.signal[~pad], ref[~pad])
    np.testing.assert_array_equal(keep_finite_stretch(rec).signal, ref[:, 5010:-50])   # the longer side of the gap
    # said as the file holds it (s37: not "NaN/inf")
    assert rec.missing_note.startswith("DICOM's WaveformPaddingValue in Lead I, 100 samples; Lead II, 100 samples")
    assert f"{rec.leads[5]}, 160 samples" in rec.missing_note
    assert keep_finite_stretch(rec).notes[-1].endswith(f"(the file holds {rec.missing_note})")
    counts[:] = -32768
    g.WaveformData = counts.tobytes()
    ds.save_as(tmp_path / "all.dcm")
    with pytest.raises(RecordRejected, match="padding only"):
        read_dicom(tmp_path / "all.dcm")


def test_read_dicom__baseline_and_correction_factor_applied_as_the_standard_says(real_dcm, tmp_path):
    """value = sample x sensitivity x correction factor + baseline (PS3.3 C.10.9.1.4.3), in the sensitivity's units:
    checked against the raw counts and against pydicom's own conversion of the same file."""
    ds = pydicom.dcmread(real_dcm)
    ch = ds.WaveformSequence[0].ChannelDefinitionSequence
    ch[0].ChannelBaseline = 100.0                 # uV
    ch[0].ChannelSensitivityCorrectionFactor = 0.5
    ch[1].ChannelSensitivityUnitsSequence[0].CodeValue = "mV"
    ch[1].ChannelSensitivity = 0.00125            # same scale, given in mV
    ds.save_as(tmp_path / "cal.dcm")
    rec = read_dicom(tmp_path / "cal.dcm")
    raw = np.frombuffer(ds.WaveformSequence[0].WaveformData, "<i2").reshape(10000, 12).T.astype(float)
    np.testing.assert_allclose(rec.signal[0], (raw[0] * 1.25 * 0.5 + 100.0) / 1000.0, atol=1e-6)
    np.testing.assert_allclose(rec.signal[1], raw[1] * 0.00125, atol=1e-6)
    np.testing.assert_allclose(rec.signal[0], pydicom.dcmread(tmp_path / "cal.dcm").waveform_array(0)[:, 0] / 1000,
                               atol=1e-6)
    for bad, match in (({"ChannelSensitivityCorrectionFactor": 0}, "CorrectionFactor 0.0 is not positive"),
                       ({"ChannelBaseline": float("nan")}, "ChannelBaseline nan is not finite"),
                       ({"ChannelSensitivity": "9.876543"}, "unreadable DICOM element|not a number")):
        ds2 = pydicom.dcmread(real_dcm)
        for k, v in bad.items():
            setattr(ds2.WaveformSequence[0].ChannelDefinitionSequence[2], k, v)
        ds2.save_as(tmp_path / "bad.dcm")
        raw = (tmp_path / "bad.dcm").read_bytes()   # a value pydicom cannot convert, as a broken file may hold
        (tmp_path / "bad.dcm").write_bytes(raw.replace(b"9.876543", b"abc     "))
        with pytest.raises(RecordRejected, match=match):
            read_dicom(tmp_path / "bad.dcm")


@pytest.mark.parametrize("bits,interp,sens_uv,offset", [(8, "UB", 20.0, 128), (8, "SB", 20.0, 0),
                                                         (32, "SL", 0.1, 0), (32, "UL", 0.1, 2 ** 31)])
def test_read_dicom__8_and_32_bit_samples_equal_wfdb(real_dcm, shared_data, tmp_path, bits, interp, sens_uv, offset):
    """A real CinC 2021 record stored as 8-bit (unsigned with a baseline, or signed) and as 32-bit samples (General
    32-bit ECG Waveform Storage) reads as wfdb reads it, to the quantisation step."""
    import wfdb

    ref = wfdb.rdrecord(str(shared_data / "ecg" / "cinc2021" / "E07500"))
    sig = ref.p_signal.T.astype(np.float64)
    names = [{"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}.get(n.upper(), n) for n in ref.sig_name]
    if bits == 8:
        sig = np.clip(sig, -2.5, 2.5)                         # what 8 bits at 20 uV can hold
    code = {"UB": "u1", "SB": "i1", "SL": "<i4", "UL": "<u4"}[interp]
    counts = (np.round(sig * 1000.0 / sens_uv) + offset).astype(code)
    ds = pydicom.dcmread(real_dcm)
    if bits == 32:
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.9.1.4"
    g = ds.WaveformSequence[0]
    g.WaveformBitsAllocated, g.WaveformSampleInterpretation = bits, interp
    g.NumberOfWaveformSamples, g.SamplingFrequency = counts.shape[1], ref.fs
    for ch, name in zip(g.ChannelDefinitionSequence, names):
        ch.ChannelSourceSequence[0].CodeMeaning = f"Lead {name}"
        ch.ChannelSensitivity = sens_uv
        ch.ChannelBaseline = -offset * sens_uv
    g.WaveformData = counts.T.tobytes()
    ds.save_as(tmp_path / "w.dcm")
    rec = canonicalise_leads(read_dicom(tmp_path / "w.dcm"))
    assert rec.leads == LEADS and rec.fs == ref.fs
    np.testing.assert_allclose(rec.signal, sig, atol=sens_uv / 2000.0 + 1e-6)


def test_read_dicom__simultaneous_groups_joined_and_the_12_lead_group_preferred(real_dcm, tmp_path):
    """A 3-lead RHYTHM group (right-sided leads) before the 12-lead group: joined when simultaneous (same rate, length
    and offset; the extra leads then dropped with a note); read alone, with a note, when not."""
    ds = pydicom.dcmread(real_dcm)
    import copy

    extra = copy.deepcopy(ds.WaveformSequence[0])
    extra.MultiplexGroupLabel = "RHYTHM"
    ds.WaveformSequence[0].MultiplexGroupLabel = "LEADS12"
    counts = np.frombuffer(extra.WaveformData, "<i2").reshape(10000, 12)[:, :3].copy()
    extra.NumberOfWaveformChannels = 3
    extra.ChannelDefinitionSequence = list(extra.ChannelDefinitionSequence)[:3]
    for ch, name in zip(extra.ChannelDefinitionSequence, ("V3R", "V4R", "V5R")):
        ch.ChannelSourceSequence[0].CodeMeaning = f"Lead {name}"
    extra.WaveformData = counts.tobytes()
    ds.WaveformSequence = [extra, *ds.WaveformSequence]
    ds.save_as(tmp_path / "joined.dcm")
    rec = read_dicom(tmp_path / "joined.dcm")
    assert rec.leads[:3] == ("Lead V3R", "Lead V4R", "Lead V5R") and len(rec.leads) == 15 and not rec.notes
    c = canonicalise_leads(rec)
    np.testing.assert_array_equal(c.signal, canonicalise_leads(read_dicom(real_dcm)).signal)
    assert any("V4R" in n for n in c.notes)
    extra.MultiplexGroupTimeOffset = 10000.0         # a later strip: not simultaneous
    ds.save_as(tmp_path / "later.dcm")
    rec = read_dicom(tmp_path / "later.dcm")
    assert len(rec.leads) == 12 and "left out: RHYTHM" in rec.notes[0]


def test_cli_extract__folder_of_dicom_end_to_end(real_dcm, tmp_path):
    """`edfgen extract` on a folder with a DICOM ECG and a broken one: one participant, the broken file listed in
    the rejects file with its reason."""
    import pandas as pd
    import torch
    from click.testing import CliRunner

    from edfgen.cli import cli
    from edfgen.kernels.ecg.preprocessing_config import Preprocessing
    from edfgen.model.checkpoint import save_checkpoint
    from edfgen.model.config import get_config
    from edfgen.model.encoder import ECGEncoder

    torch.manual_seed(0)
    cfg = get_config("tiny")
    ckpt = save_checkpoint(ECGEncoder(cfg), cfg, Preprocessing(), tmp_path / "ck" / "rand")
    d = tmp_path / "dcm"
    d.mkdir()
    shutil.copy(real_dcm, d / "P0001.dcm")
    (d / "P0002.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")   # marker, then nothing readable
    out = tmp_path / "o" / "edfs.tsv"
    r = CliRunner().invoke(cli, ["extract", "--ecg", str(d), "--out", str(out), "--checkpoint", str(ckpt),
                                 "--workers", "0", "-q"])
    assert r.exit_code == 0, r.output
    got = pd.read_csv(out, sep="\t", dtype={"IID": str})
    assert list(got["IID"]) == ["P0001"] and np.isfinite(got.drop(columns="IID").to_numpy()).all()
    rejects = pd.read_csv(out.parent / "edfs.tsv.rejects.tsv", sep="\t", dtype=str)
    assert list(rejects["record"]) == ["P0002"] and "DICOM" in rejects["reason"].iloc[0]


def test_read_dicom__big_endian_transfer_syntax_reads_the_same_samples(real_dcm, tmp_path):
    """Explicit VR Big Endian (retired, still found in archives): the samples are big-endian words and must read as
    the little-endian original does (a reader assuming little endian gets garbage)."""
    from pydicom.filewriter import dcmwrite
    from pydicom.uid import ExplicitVRBigEndian

    ds = pydicom.dcmread(real_dcm)
    for g in ds.WaveformSequence:
        g.WaveformData = np.frombuffer(g.WaveformData, "<i2").astype(">i2").tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    dcmwrite(tmp_path / "be.dcm", ds, little_endian=False, implicit_vr=False, force_encoding=True)
    np.testing.assert_array_equal(read_dicom(tmp_path / "be.dcm").signal, read_dicom(real_dcm).signal)
