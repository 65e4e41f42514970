"""ECG readers (WFDB .mat/.dat, .npy, .npz, HDF5) and lead canonicalisation."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from edfgen.kernels.ecg import LEADS
from edfgen.formats.ecg.records import (EcgRecord, RecordRejected, discover_records, iter_records, read_ecg,
                                        read_hdf5, read_npy, read_npz, read_wfdb)
from edfgen.kernels.ecg.leads import canonical_lead_name, canonicalise_leads, limb_leads


@pytest.fixture(scope="module")
def cinc(shared_data):
    return shared_data / "ecg" / "cinc2021"


@pytest.fixture(scope="module")
def real_record(cinc):
    return read_wfdb(cinc / "E07500.hea")


def _sine_ecg(T=5000, fs=500.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(T) / fs
    return (np.sin(2 * np.pi * 1.2 * t)[None] * rng.uniform(0.2, 1.5, (12, 1))
            + 0.02 * rng.standard_normal((12, T))).astype(np.float32)


def test_read_wfdb__mat_records_in_mv_match_wfdb_physical(cinc):
    import wfdb

    heas = sorted(cinc.glob("*.hea"))
    assert len(heas) == 40
    for hea in heas[::7]:
        rec = read_wfdb(hea)
        ref = wfdb.rdrecord(str(hea.with_suffix("")))  # independent: wfdb's own physical conversion
        assert rec.record_id == hea.stem
        assert rec.signal.dtype == np.float32 and rec.signal.shape == (12, 5000)
        assert rec.fs == 500.0 and rec.leads == LEADS
        np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-5)


def test_read_wfdb__format_212_falls_back_to_wfdb_and_nan_for_missing(tmp_path):
    import wfdb

    from edfgen.formats.ecg.records import _read_wfdb_fast

    x = _sine_ecg().T.astype(np.float64)
    x[10:20, 4] = np.nan  # written as WFDB's invalid sample
    for fmt in ("212", "16"):
        wfdb.wrsamp(f"r{fmt}", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=[fmt] * 12,
                    adc_gain=[200.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
        ref = wfdb.rdrecord(str(tmp_path / f"r{fmt}")).p_signal.T
        rec = read_wfdb(tmp_path / f"r{fmt}.hea")
        np.testing.assert_allclose(rec.signal, ref, atol=1e-6)  # NaN positions must agree too
        assert np.isnan(rec.signal[4, 10:20]).all() and np.isfinite(rec.signal[:, 20:]).all()
    assert _read_wfdb_fast(tmp_path / "r212.hea") is None and _read_wfdb_fast(tmp_path / "r16.hea") is not None


def _multi_frequency(src, folder, name: str, spf: list[int]) -> None:
    """``src`` (a 500 Hz format-16 record) stored at 500 / 2 frames/s with ``spf`` samples per frame per signal (a
    signal of 1 keeps every other sample), as WFDB's multi-frequency layout (``16x2``) writes it."""
    import wfdb

    d = wfdb.rdrecord(str(src), physical=False).d_signal
    n = d.shape[0] // 2
    frames = np.concatenate([d[:2 * n, s].reshape(n, 2)[:, :k] for s, k in enumerate(spf)], axis=1)
    frames.astype("<i2").tofile(folder / f"{name}.dat")
    lines = src.with_suffix(".hea").read_text().splitlines()
    signal_lines = [ln.split() for ln in lines[1:]]   # (checksums 0: unset, as a signal of 1 keeps half the samples)
    (folder / f"{name}.hea").write_text("\n".join([f"{name} 12 250 {n}"] + [
        " ".join([f"{name}.dat", f"16x{k}", *tok[2:6], "0", *tok[7:]]) for tok, k in zip(signal_lines, spf)]) + "\n")


def test_read_wfdb__multi_frequency_record_read_at_its_leads_rate_every_sample_kept(shared_data, tmp_path):
    """Was: a 500 Hz record stored as 250 frames/s x 2 samples per frame (WFDB's multi-frequency layout, ``16x2``)
    was read at 250 Hz, each frame's two samples averaged (``wfdb``'s ``smooth_frames``), with no note: its EDFs
    moved 0.15 SD. Now every sample at 500 Hz, equal to the record stored plainly (and to wfdb's expanded
    samples), alone or as the segments of a multi-segment record; leads at different rates are a reject."""
    import wfdb

    src = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"
    plain = read_wfdb(src.with_suffix(".hea"))
    _multi_frequency(src, tmp_path, "mf", [2] * 12)
    rec = read_wfdb(tmp_path / "mf.hea")
    assert rec.fs == 500.0 and rec.signal.shape == (12, 5000) and not rec.notes
    np.testing.assert_array_equal(rec.signal, plain.signal)
    ref = wfdb.rdrecord(str(tmp_path / "mf"), smooth_frames=False)
    np.testing.assert_allclose(rec.signal, np.stack(ref.e_p_signal), atol=1e-6)
    for k in (1, 2):
        _multi_frequency(src, tmp_path, f"s{k}", [2] * 12)
    (tmp_path / "two.hea").write_text("two/2 12 250 5000\ns1 2500\ns2 2500\n")
    two = read_wfdb(tmp_path / "two.hea")
    assert two.fs == 500.0 and two.signal.shape == (12, 10000)
    np.testing.assert_array_equal(two.signal[:, 5000:], plain.signal)
    _multi_frequency(src, tmp_path, "s3", [1] * 12)   # every other sample: 1 per frame
    (tmp_path / "other.hea").write_text("other/2 12 250 5000\ns1 2500\ns3 2500\n")
    with pytest.raises(RecordRejected, match="WFDB segment s3 stores 1 samples per frame, an earlier segment 2"):
        read_wfdb(tmp_path / "other.hea")
    _multi_frequency(src, tmp_path, "mixed", [2] * 11 + [1])
    with pytest.raises(RecordRejected, match=r"WFDB leads stored at different rates \(1 x 250 Hz, 2 x 250 Hz"):
        read_wfdb(tmp_path / "mixed.hea")


def test_read_wfdb__big_endian_format_61_reads_as_format_16(shared_data, tmp_path):
    """A record stored big-endian (format 61) reads as the same counts in format 16 (wfdb 4.3's expanded read,
    used for multi-frequency records, fails on format 61: 'invalid literal for int()'; so only those use it)."""
    src = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"
    np.fromfile(src.with_suffix(".dat"), dtype="<i2").astype(">i2").tofile(tmp_path / "00001_hr.dat")
    text = src.with_suffix(".hea").read_text()
    (tmp_path / "00001_hr.hea").write_text(text.replace("00001_hr.dat 16 ", "00001_hr.dat 61 "))
    assert " 61 " in (tmp_path / "00001_hr.hea").read_text()
    np.testing.assert_array_equal(read_wfdb(tmp_path / "00001_hr.hea").signal, read_wfdb(src.with_suffix(".hea")).signal)


def test_read_wfdb__non_lead_channel_at_another_rate_dropped_with_a_note(shared_data, tmp_path):
    """Was (s35c): 12 leads at 1 sample per frame beside a pacing-spike channel ``PACE`` in mV at 4 were rejected as
    'WFDB leads stored at different rates' (PACE is no lead). Now the rate is the leads': the leads read exactly,
    PACE is dropped with a note (review rev35, finding 1)."""
    import wfdb

    src = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"
    d = wfdb.rdrecord(str(src), physical=False)
    e = [d.d_signal[:, i].astype(np.int64) for i in range(12)] + [np.arange(4 * d.sig_len) % 100]
    chk = [((int(x.sum()) + 32768) % 65536) - 32768 for x in e]
    wfdb.Record(record_name="pace", n_sig=13, fs=500, sig_len=d.sig_len, file_name=["pace.dat"] * 13,
                fmt=["16"] * 13, samps_per_frame=[1] * 12 + [4], adc_gain=list(d.adc_gain) + [1000.0],
                baseline=list(d.baseline) + [0], units=["mV"] * 13, sig_name=list(d.sig_name) + ["PACE"],
                e_d_signal=e, adc_res=[16] * 13, adc_zero=[0] * 13, init_value=[int(x[0]) for x in e], checksum=chk,
                block_size=[0] * 13).wrsamp(expanded=True, write_dir=str(tmp_path))
    rec = read_wfdb(tmp_path / "pace.hea")
    assert rec.fs == 500.0 and rec.leads == tuple(d.sig_name)
    np.testing.assert_allclose(rec.signal, read_wfdb(src.with_suffix(".hea")).signal, atol=1e-6)
    assert "dropped channel(s) at another rate: PACE (4 samples per frame), the leads 1" in rec.notes


def test_read_wfdb__multi_frequency_format_61_is_a_clear_reject(shared_data, tmp_path):
    """Was (s35c): a big-endian multi-frequency record (``61x2``) failed inside wfdb 4.3 ('unreadable WFDB record
    (ValueError: invalid literal for int() ...)'). Now a line that says so (review rev35, finding 3)."""
    src = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"
    _multi_frequency(src, tmp_path, "mf", [2] * 12)
    np.fromfile(tmp_path / "mf.dat", dtype="<i2").astype(">i2").tofile(tmp_path / "mf.dat")
    (tmp_path / "mf.hea").write_text((tmp_path / "mf.hea").read_text().replace(" 16x2 ", " 61x2 "))
    with pytest.raises(RecordRejected, match=r"record mf: multi-frequency WFDB records in format 61 \(big-endian\) "
                                             r"are not supported .*: convert the record to format 16$"):
        read_wfdb(tmp_path / "mf.hea")


def test_read_wfdb__utf_8_units_kept_beside_a_latin_1_comment(shared_data, tmp_path):
    """Was (s35c): a UTF-8 header (units ``1/µV``) with one Latin-1 byte in a comment (``# Name: Müller``) was
    decoded as Latin-1 as a whole, and rejected for its units ``ÂµV``. Now each line is decoded on its own
    (review rev35, finding 2)."""
    import wfdb

    src = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"
    d = wfdb.rdrecord(str(src), physical=False)
    d.d_signal.astype("<i2").tofile(tmp_path / "m.dat")   # gain 1000/mV: 1 count = 1 uV
    text = "m 12 500 5000\n" + "".join(f"m.dat 16 1/\u00b5V 16 0 0 0 0 {n}\n" for n in d.sig_name)
    (tmp_path / "m.hea").write_bytes(text.encode("utf-8") + "# Name: M\u00fcller\n".encode("latin-1"))
    np.testing.assert_allclose(read_wfdb(tmp_path / "m.hea").signal, read_wfdb(src.with_suffix(".hea")).signal,
                               atol=1e-6)


@pytest.mark.parametrize("fmt", ["212", "16"])
def test_read_wfdb__units_micro_sign_in_latin_1_read_as_microvolts(shared_data, tmp_path, fmt):
    """Was: a header whose units are ``µV`` written in Latin-1 (byte 0xB5) was read 10**6 too large in format 212
    (``wfdb`` drops the byte and reads volts) and rejected in format 16 (``unknown signal units '\\ufffdV'``). Now
    both read as the same header with ``uV``."""
    import wfdb

    d = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"), physical=False).d_signal
    wfdb.wrsamp("u", fs=500, units=["uV"] * 12, sig_name=list(LEADS), d_signal=(d // 4).astype(np.int32),
                fmt=[fmt] * 12, adc_gain=[0.25] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    plain = read_wfdb(tmp_path / "u.hea")
    text = (tmp_path / "u.hea").read_text().replace("/uV", "/\u00b5V").replace("u 12", "m 12", 1)
    (tmp_path / "m.hea").write_bytes(text.encode("latin-1"))
    np.testing.assert_array_equal(read_wfdb(tmp_path / "m.hea").signal, plain.signal)


def test_read_wfdb__segments_spelling_a_lead_differently_give_one_lead(shared_data, tmp_path):
    """Was: a multi-segment record whose second segment spells the augmented leads ``avr``, ``avl``, ``avf`` (the
    first, as PTB-XL, ``AVR`` ...) was rejected as ``duplicated lead aVR``. Now the segments join by lead, as the record stored
    in one piece reads."""
    import wfdb

    src = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"
    r = wfdb.rdrecord(str(src), physical=False)
    lower = [n.lower() if n.upper().startswith("AV") else n for n in r.sig_name]
    assert lower != r.sig_name
    for k, (names, rows) in enumerate([(r.sig_name, slice(0, 2500)), (lower, slice(2500, 5000))], start=1):
        wfdb.wrsamp(f"s{k}", fs=500, units=["mV"] * 12, sig_name=names, d_signal=r.d_signal[rows], fmt=["16"] * 12,
                    adc_gain=r.adc_gain, baseline=r.baseline, write_dir=str(tmp_path))
    (tmp_path / "rec.hea").write_text("rec/2 12 500 5000\ns1 2500\ns2 2500\n")
    rec = read_wfdb(tmp_path / "rec.hea")
    assert rec.leads == tuple(r.sig_name)
    np.testing.assert_array_equal(canonicalise_leads(rec).signal, read_wfdb(src.with_suffix(".hea")).signal)


def test_read_wfdb__header_naming_no_signal_is_a_reject_that_says_so(shared_data, tmp_path):
    """Was: a header whose signal lines carry no description was rejected as ``missing lead(s) I, ... V6 (has none;
    channel(s) not among the 12 leads: 'None', 'None', ...)``. Now the reason names the cause, on one line."""
    import shutil

    src = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"
    shutil.copy(src.with_suffix(".dat"), tmp_path / "00001_hr.dat")
    lines = src.with_suffix(".hea").read_text().splitlines()
    (tmp_path / "00001_hr.hea").write_text("\n".join([lines[0]] + [" ".join(ln.split()[:8]) for ln in lines[1:]]))
    with pytest.raises(RecordRejected) as exc:
        read_wfdb(tmp_path / "00001_hr.hea")
    assert exc.value.reason == ("WFDB header names none of its 12 signals (no description field on its signal lines): "
                                "the leads cannot be told apart")


def test_discover_records__directory_gives_one_record_per_hea(cinc):
    refs = discover_records([cinc])
    assert len(refs) == 40
    assert {r.record_id for r in refs} == {p.stem for p in cinc.glob("*.hea")}
    assert all(r.fmt == "wfdb" for r in refs)


def test_read_wfdb__dat_round_trip_and_uv_units(tmp_path):
    import wfdb

    x = _sine_ecg()
    wfdb.wrsamp("rec1", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x.T.astype(np.float64),
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    rec = read_wfdb(tmp_path / "rec1.hea")
    np.testing.assert_allclose(rec.signal, x, atol=1.5e-3)  # 1 uV quantisation
    # the same signal stored in microvolts comes back in mV
    wfdb.wrsamp("rec2", fs=500, units=["uV"] * 12, sig_name=list(LEADS), p_signal=(x.T * 1000).astype(np.float64),
                fmt=["16"] * 12, adc_gain=[1.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    rec2 = read_wfdb(tmp_path / "rec2.hea")
    np.testing.assert_allclose(rec2.signal, x, atol=1.5e-3)
    assert [r.record_id for r in iter_records(tmp_path)] == ["rec1", "rec2"]


def test_read_npy__both_orientations_need_fs(tmp_path):
    x = _sine_ecg()
    np.save(tmp_path / "a.npy", x)
    np.save(tmp_path / "b.npy", x.T)
    for name in ("a", "b"):
        rec = read_npy(tmp_path / f"{name}.npy", fs=500)
        np.testing.assert_array_equal(rec.signal, x)
        assert rec.record_id == name and rec.leads == LEADS
    with pytest.raises(RecordRejected, match="sampling rate"):
        read_npy(tmp_path / "a.npy")


def test_read_npz__keys_fs_leads_units(tmp_path):
    x = _sine_ecg()
    order = list(reversed(LEADS))
    np.savez(tmp_path / "r.npz", signal=x[::-1] * 1000, fs=250.0, leads=np.array(order), units="uV")
    rec = read_npz(tmp_path / "r.npz")
    assert rec.fs == 250.0 and list(rec.leads) == order
    canon = canonicalise_leads(rec)
    np.testing.assert_allclose(canon.signal, x, rtol=1e-6)
    np.savez(tmp_path / "bad.npz", foo=x)
    with pytest.raises(RecordRejected, match="no 'ecg' or 'signal'"):
        read_npz(tmp_path / "bad.npz")


def test_read_hdf5__per_record_datasets_and_stacked_layout(tmp_path):
    import h5py

    xs = [_sine_ecg(seed=s) for s in range(3)]
    with h5py.File(tmp_path / "many.h5", "w") as f:
        f.attrs["fs"] = 500.0
        f.attrs["leads"] = np.array(LEADS, dtype="S")
        g = f.create_group("ecgs")
        for i, x in enumerate(xs):
            g.create_dataset(f"P{i}", data=x.T)  # [T, 12] is accepted too
    recs = read_hdf5(tmp_path / "many.h5")
    assert [r.record_id for r in recs] == ["P0", "P1", "P2"]
    for r, x in zip(recs, xs):
        np.testing.assert_array_equal(r.signal, x)
    with h5py.File(tmp_path / "stack.h5", "w") as f:
        d = f.create_dataset("ecg", data=np.stack(xs) / 1000.0)
        d.attrs["fs"] = 500
        d.attrs["units"] = "V"
        f.create_dataset("record_id", data=np.array(["a", "b", "c"], dtype="S"))
    recs = list(iter_records([tmp_path / "stack.h5"]))
    assert [r.record_id for r in recs] == ["a", "b", "c"]
    np.testing.assert_allclose(recs[1].signal, xs[1], rtol=1e-5)


def test_read_hdf5__record_ids_file_stem_for_one_record_group_path_for_shared_names(tmp_path):
    """Review s31c F1: one-record files all holding ``/ecg`` were all called ``ecg``; ``/<rid>/ecg`` groups too."""
    import h5py

    x = _sine_ecg()

    def write(name, datasets):
        with h5py.File(tmp_path / name, "w") as f:
            f.attrs["fs"] = 500.0
            for path in datasets:
                f.create_dataset(path, data=x)
    write("P7.h5", ["ecg"])                                       # one record per file: the file stem
    write("P8.h5", ["ecg"])
    write("P9.h5", ["visit/ecg"])                                 # ... however deep its only dataset
    write("cohort.h5", ["P1/ecg", "P2/ecg", "site/P3/ecg", "HR9"])  # shared name: the group; a unique name: itself
    write("mixed.h5", ["ecg", "A/ecg", "HR10"])                   # the root group: the file stem
    write("batch2.h5", ["HR11"])                                  # one record of a unique name: itself (s31h #2)
    ids = {r.where[len(str(tmp_path)) + 1:]: r.record_id for r in discover_records([tmp_path])}
    assert ids == {"P7.h5:/ecg": "P7", "P8.h5:/ecg": "P8", "P9.h5:/visit/ecg": "P9", "batch2.h5:/HR11": "HR11",
                   "cohort.h5:/P1/ecg": "P1", "cohort.h5:/P2/ecg": "P2", "cohort.h5:/site/P3/ecg": "site/P3",
                   "cohort.h5:/HR9": "HR9", "mixed.h5:/ecg": "mixed", "mixed.h5:/A/ecg": "A", "mixed.h5:/HR10": "HR10"}
    assert read_ecg(tmp_path / "batch2.h5").record_id == "HR11"


def test_discover_records__one_record_hdf5_keeps_its_dataset_name_unless_shared_across_files(tmp_path, caplog):
    """Review s31h #2: the last batch file holding one record (``batch2.h5:/P000003``) was named ``batch2``, an IID
    that matches nothing, without a word. A one-record file keeps its dataset's name; only names shared by several
    one-record files (the generic ``/ecg``) give way to the file stems, with a warning."""
    import h5py

    x = _sine_ecg()
    for name, datasets in (("batch1.h5", ["P000001", "P000002"]), ("batch2.h5", ["P000003"]),
                           ("up_01.h5", ["ecg"]), ("up_02.h5", ["ecg"])):
        with h5py.File(tmp_path / name, "w") as f:
            f.attrs["fs"] = 500.0
            for d in datasets:
                f.create_dataset(d, data=x)
    with caplog.at_level(logging.WARNING):
        ids = [r.record_id for r in discover_records([tmp_path])]
    assert ids == ["P000001", "P000002", "P000003", "up_01", "up_02"]
    assert "2 one-record HDF5 file(s) hold a dataset named 'ecg': each record is named by its file stem instead " \
           "(up_01.h5 -> up_01)" in caplog.text
    # alone, a generic dataset name (review s31i: 'ecg' was the IID) gives way to the stem too; a specific one not
    assert [r.record_id for r in discover_records([tmp_path / "up_01.h5"])] == ["up_01"]
    assert [r.record_id for r in discover_records([tmp_path / "batch2.h5"])] == ["P000003"]


@pytest.mark.parametrize("alias, canon", [
    ("avr", "aVR"), ("AVR", "aVR"), ("aVR", "aVR"), ("MLII", "II"), ("D1", "I"), ("D3", "III"),
    ("V1 ", "V1"), ("lead II", "II"), ("v6", "V6"), ("ECG_aVF", "aVF"), ("C2", "V2"), ("X", None),
    ("-aVR", None), ("\u2013aVR", None), ("\u2212aVR", None), ("ECG-II", "II"),
    ("Lead -aVR", None), ("MDC_ECG_LEAD_AVRneg", None), ("lead-avr", "aVR"), ("Lead aVR", "aVR"), ("ecg_v2", "V2"),
    ("ECG -aVR", None), ("ECG_-aVR", None), ("ECG Lead -aVR", None),
    # review s29 F9: a dash only separates the prefix; elsewhere it joins two names or trails one (was: 'I-II' -> III,
    # 'aVR-' -> aVR); the unaugmented VR, VL, VF are other leads (2/3 of aVR, aVL, aVF), not aliases
    ("I-II", None), ("aVR-", None), ("V1-Ref", None), ("Lead II-", None), ("ECG-Lead-II", "II"), ("EKG Lead V1", "V1"),
    ("VR", None), ("VL", None), ("VF", None),
    # review s29d F6: a dash between a lead's letter and number is part of its name (these mapped before F9's rule)
    ("D-II", "II"), ("D-I", "I"), ("V-1", "V1"), ("ECG V-6", "V6"), ("C-3", "V3"), ("D-IV", None), ("V-7", None),
    # s40sem: DICOM code meanings kept as WFDB/EDF labels by converters were refused ("not among the 12 leads")
    ("Lead I (Einthoven)", "I"), ("Lead III (Einthoven)", "III"), ("Lead aVR (Goldberger)", "aVR"),
    ("Lead V1 (Wilson)", "V1"), ("Lead -aVR (Goldberger)", None), ("aVR (inverted)", None), ("II (mV)", None),
])
def test_canonical_lead_name__aliases(alias, canon):
    assert canonical_lead_name(alias) == canon


@pytest.mark.parametrize("name, canon", [
    ("MDC_ECG_LEAD_I", "I"), ("MDC_ECG_LEAD_II", "II"), ("MDC_ECG_LEAD_III", "III"), ("MDC_ECG_LEAD_AVR", "aVR"),
    ("MDC_ECG_LEAD_aVL", "aVL"), ("mdc_ecg_lead_avf", "aVF"), ("MDC_ECG_LEAD_V1", "V1"), ("MDC_ECG_LEAD_V6", "V6"),
    ("MDC_ECG_LEAD_V4R", None), ("MDC_ECG_LEAD_VR", None), ("MDC_ECG_LEAD_AVRneg", None), ("MDC_ECG_LEAD_-aVR", None),
    ("MDC_ECG_LEAD_dI", None), ("MDC_ECG_LEAD_dII", None), ("MDC_ECG_LEAD_dIII", None), ("MDC_ECG_LEAD_dV1", None),
    ("MDC_ECG_LEAD_daVR", None), ("MDC_ECG_LEAD_D", None),
])
def test_canonical_lead_name__ieee_11073_mdc_reference_ids(name, canon):
    """Were all None ("missing lead(s) I, II, ... (has none; channel(s) not among the 12 leads: 'MDC_ECG_LEAD_I'
    ...)"): the ISO/IEEE 11073 MDC reference ids that HL7 aECG codes its leads with, kept as channel names by files
    converted from aECG (npz/HDF5 ``leads``, EDF labels, DICOM channel labels). The aECG reader strips the prefix
    itself; every other reader now reads them too. Right-sided (V4R), unaugmented (VR), negated and derived leads
    (``dII``: computed from other electrodes, EASI; ``dI``…``dIII`` read as the measured I…III through the European
    DI…DIII aliases before, review rev37a F1) stay apart; Nehb's ``D`` is not lead II."""
    assert canonical_lead_name(name) == canon


def test_canonicalise_leads__reorders_and_rejects_duplicate_or_missing():
    x = _sine_ecg()
    names = ["v1", "v2", "v3", "v4", "v5", "v6", "D1", "MLII", "D3", "AVR", "AVL", "AVF"]
    perm = [LEADS.index(canonical_lead_name(n)) for n in names]
    rec = EcgRecord("r", x[perm], 500.0, tuple(names))
    np.testing.assert_array_equal(canonicalise_leads(rec).signal, x)
    with pytest.raises(RecordRejected, match="duplicated lead II"):
        canonicalise_leads(EcgRecord("r", x, 500.0, ("MLII",) + LEADS[1:]))
    with pytest.raises(RecordRejected, match="missing lead.*V3"):
        canonicalise_leads(EcgRecord("r", np.delete(x, 8, axis=0), 500.0, LEADS[:8] + LEADS[9:]))
    # PTB Diagnostic ECG Database layout: the 12 leads then the Frank leads vx, vy, vz (were 'unknown lead name')
    ptb = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6", "vx", "vy", "vz")
    out = canonicalise_leads(EcgRecord("r", np.vstack([x, x[:3] * 0.5]), 1000.0, ptb))
    np.testing.assert_array_equal(out.signal, x)
    assert out.leads == LEADS and out.notes == ("dropped Frank lead(s) vx, vy, vz",)


def test_canonicalise_leads__extra_channels_beside_the_12_dropped_with_a_note():
    """Was: any channel that is not a 12-lead alias (V4R, V7, Frank X/Y/Z, RESP, 'Marker') rejected the whole record
    ('unknown lead name'). Now dropped and named in the notes when the 12 leads are all there."""
    x = _sine_ecg()
    extra = ("V3R", "V4R", "V5R", "V6R", "V7", "V8", "V9", "X", "Y", "Z", "RESP", "Pleth", "Marker")
    junk = np.random.default_rng(3).normal(0, 1, (len(extra), x.shape[1])).astype(np.float32)
    order = [11, 0, 5, 1, 2, 3, 4, 6, 7, 8, 9, 10]           # leads shuffled among the extra channels
    names = [LEADS[order[0]], *extra[:7], *(LEADS[k] for k in order[1:6]), *extra[7:], *(LEADS[k] for k in order[6:])]
    sig = np.vstack([x[order[0]], junk[:7], x[order[1:6]], junk[7:], x[order[6:]]])
    out = canonicalise_leads(EcgRecord("r", sig, 500.0, tuple(names), notes=("read",)))
    np.testing.assert_array_equal(out.signal, x)
    assert out.leads == LEADS
    assert out.notes == ("read", "dropped Frank lead(s) X, Y, Z",
                         "dropped channel(s) not among the 12 leads: V3R, V4R, V5R, V6R, V7, V8, V9, RESP, Pleth, Marker")
    # a lead in the place of I that is not a lead name: I follows from II and III (Einthoven), the channel is dropped
    out = canonicalise_leads(EcgRecord("r", x, 500.0, ("foo",) + LEADS[1:]))
    np.testing.assert_allclose(out.signal, np.vstack([x[1] - x[2], x[1:]]), rtol=1e-6)
    assert out.notes == ("dropped channel(s) not among the 12 leads: foo", "derived I from II, III")
    # a standard lead missing: the reason names it and the channels that might be it misnamed
    with pytest.raises(RecordRejected, match=r"record r: missing lead\(s\) V3 \(has I, II, III, aVR, aVL, aVF, V1, V2, "
                                             r"V4, V5, V6; channel\(s\) not among the 12 leads: 'V3x', 'vx', 'RESP'\)$"):
        canonicalise_leads(EcgRecord("r", np.vstack([x[:8], x[9:], junk[:3]]), 500.0, LEADS[:8] + LEADS[9:]
                                     + ("V3x", "vx", "RESP")))
    # Cabrera's inverted aVR ('-aVR') is not aVR: dropped, aVR derived from I and II (was: read as aVR, sign wrong)
    out = canonicalise_leads(EcgRecord("r", np.vstack([x[:3], -x[3:4], x[4:]]), 500.0,
                                       LEADS[:3] + ("-aVR",) + LEADS[4:]))
    np.testing.assert_allclose(out.signal[3], -(x[0] + x[1]) / 2, rtol=1e-6)
    assert out.notes == ("dropped channel(s) not among the 12 leads: -aVR", "derived aVR from I, II")
    # a bipolar channel 'I-II' (= I - II) is not lead III (= II - I): dropped, III derived (was: read as III)
    out = canonicalise_leads(EcgRecord("r", np.vstack([x[:2], x[0:1] - x[1:2], x[3:]]), 500.0,
                                       LEADS[:2] + ("I-II",) + LEADS[3:]))
    np.testing.assert_allclose(out.signal[2], x[1] - x[0], rtol=1e-6)
    assert out.notes == ("dropped channel(s) not among the 12 leads: I-II", "derived III from I, II")
    with pytest.raises(RecordRejected, match="duplicated lead V2"):   # a duplicated lead stays a reject
        canonicalise_leads(EcgRecord("r", np.vstack([x, junk[:2]]), 500.0, LEADS + ("V7", "C2")))


def test_canonicalise_leads__real_record_with_a_rhythm_copy_of_lead_ii_reads_as_its_12_leads(cinc, tmp_path):
    """A real 12-lead ECG (CinC 2021 E07500) written with a 13th channel ``II``, the rhythm strip that carts and
    MUSE/EDF converters add as a copy of lead II (benchmarks/ecg_semantic_variants.py): read as the same 12 leads,
    the copy dropped with a note. Was: rejected as 'duplicated lead II' though nothing in it is ambiguous. A second
    II with other samples (which one is the lead?) stays a reject."""
    import wfdb

    ref = wfdb.rdrecord(str(cinc / "E07500"), physical=False)
    counts = np.hstack([ref.d_signal, ref.d_signal[:, 1:2]])

    def write(name):      # wfdb.wrsamp refuses two channels of one name: the 13th written as 'copy', renamed 'II'
        wfdb.wrsamp(name, fs=500, units=["mV"] * 13, sig_name=[*ref.sig_name, "copy"], d_signal=counts,
                    fmt=["16"] * 13, adc_gain=[ref.adc_gain[0]] * 13, baseline=[0] * 13, write_dir=str(tmp_path))
        hea = tmp_path / f"{name}.hea"
        hea.write_text(hea.read_text().replace(" copy\n", " II\n"))
        return hea

    out = canonicalise_leads(read_wfdb(write("r13")))
    np.testing.assert_array_equal(out.signal, canonicalise_leads(read_wfdb(cinc / "E07500.hea")).signal)
    assert out.leads == LEADS and out.notes == ("dropped channel(s) copying a lead: II (= II)",)
    # late review of s40: a copy of a lead with dropouts (NaN: invalid WFDB samples, DICOM padding) is still a copy
    rec = read_wfdb(cinc / "E07500.hea")
    sig = rec.signal.astype(float)
    sig[:, 100:200] = np.nan
    copy = canonicalise_leads(dataclasses.replace(rec, signal=np.vstack([sig, sig[1:2]]), leads=(*rec.leads, "II")))
    assert copy.notes[-1] == "dropped channel(s) copying a lead: II (= II)"
    counts[:, 12] += 1                                                 # a second II that differs: still ambiguous
    with pytest.raises(RecordRejected, match="duplicated lead II"):
        canonicalise_leads(read_wfdb(write("r13b")))


def test_read_wfdb__real_record_with_extra_channels_reads_as_its_12_leads(cinc, tmp_path):
    """A real 12-lead ECG (CinC 2021 E07500) written again with right-sided, posterior, Frank and non-ECG channels
    beside its leads (PTB Diagnostic / MIMIC style names and units): read as the same 12 leads, extras noted.
    Was: 'unknown signal units' (RESP in Ohm) or 'unknown lead name'."""
    import wfdb

    from edfgen.kernels.ecg.preprocess import preprocess_many

    ref = wfdb.rdrecord(str(cinc / "E07500"))                          # independent: wfdb's physical read
    rng = np.random.default_rng(0)
    extra = {"V4R": "mV", "V7": "mV", "vx": "mV", "X": "mV", "RESP": "Ohm", "ABP": "mmHg", "Pleth": "NU",
             "Marker": "mV"}
    names = ["i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6", *extra]
    p = np.hstack([ref.p_signal, rng.normal(0, 0.5, (ref.sig_len, len(extra)))])
    for fmt in ("16", "24"):                                           # the fast path and wfdb.rdrecord's
        wfdb.wrsamp(f"x{fmt}", fs=500, units=["mV"] * 12 + list(extra.values()), sig_name=names, p_signal=p,
                    fmt=[fmt] * len(names), adc_gain=[1000.0] * len(names), baseline=[0] * len(names),
                    write_dir=str(tmp_path))
        rec = read_wfdb(tmp_path / f"x{fmt}.hea")
        assert rec.notes == ("dropped channel(s) not in volts: RESP (Ohm), ABP (mmHg), Pleth (NU)",)
        out = canonicalise_leads(rec)
        np.testing.assert_allclose(out.signal, ref.p_signal.T, atol=1e-6)
        assert out.notes[1:] == ("dropped Frank lead(s) vx, X", "dropped channel(s) not among the 12 leads: V4R, V7, "
                                 "Marker")
        batch = preprocess_many([rec])
        assert batch.record_ids == [f"x{fmt}"] and not batch.rejects
def test_canonicalise_leads__derived_limb_leads_match_real_records(cinc):
    """Derive III, aVR, aVL, aVF from I and II and compare with the recorded leads of real ECGs."""
    corrs = []
    for hea in sorted(cinc.glob("*.hea"))[::4]:
        rec = read_wfdb(hea)
        keep = [0, 1] + list(range(6, 12))
        partial = EcgRecord(rec.record_id, rec.signal[keep], rec.fs, tuple(rec.leads[i] for i in keep))
        derived = canonicalise_leads(partial)
        assert any("derived III, aVR, aVL, aVF from I, II" in n for n in derived.notes)
        for k in range(2, 6):
            corrs.append(np.corrcoef(derived.signal[k], rec.signal[k])[0, 1])
    assert np.median(corrs) > 0.99 and min(corrs) > 0.95, corrs


def test_limb_leads__goldberger_identities():
    rng = np.random.default_rng(1)
    i, ii = rng.standard_normal((2, 100))
    d = limb_leads(i, ii)
    np.testing.assert_allclose(d["aVR"] + d["aVL"] + d["aVF"], 0, atol=1e-12)
    np.testing.assert_allclose(i + d["III"], ii)


def test_read_ecg__missing_and_unsupported_files_name_the_path(tmp_path):
    from edfgen.exceptions import InputError

    with pytest.raises(InputError, match="nope.hea|nope"):
        read_ecg(tmp_path / "nope.hea")
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(InputError, match="unsupported file type '.csv'"):
        discover_records([tmp_path / "x.csv"])


def test_read_wfdb__upper_case_hea_extension_read(shared_data, tmp_path):
    """Was: R.HEA (a FAT or CD-ROM copy) was found by discovery but refused ("No such file ... R.HEA.hea").
    Reference: the same record under its own name, through the fast reader (format 16) and wfdb.rdrecord
    (format 212, read through a copy of the header named .hea)."""
    import shutil

    import wfdb

    from edfgen.formats.ecg.records import read_record

    src = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"
    want = read_wfdb(f"{src}.hea")
    shutil.copy(f"{src}.dat", tmp_path / "00001_hr.dat")
    shutil.copy(f"{src}.hea", tmp_path / "00001_hr.HEA")
    ref = wfdb.rdrecord(str(src))
    d212 = tmp_path / "f212"
    d212.mkdir()
    wfdb.wrsamp("R212", fs=ref.fs, units=ref.units, sig_name=ref.sig_name, p_signal=ref.p_signal,
                fmt=["212"] * ref.n_sig, adc_gain=ref.adc_gain, baseline=ref.baseline, write_dir=str(d212))
    want212 = read_wfdb(d212 / "R212.hea")
    (d212 / "R212.hea").rename(d212 / "R212.HEA")
    for folder, rid, expect in ((tmp_path, "00001_hr", want), (d212, "R212", want212)):
        refs = [r for r in discover_records([folder]) if r.record_id == rid]
        assert len(refs) == 1
        rec = read_record(refs[0])
        assert rec.leads == expect.leads and rec.fs == expect.fs
        np.testing.assert_array_equal(rec.signal, expect.signal)


@pytest.mark.parametrize("fmt", ["16", "212"])
def test_preprocess__wfdb_missing_sample_value_named_as_the_file_holds_it(tmp_path, fmt):
    """Was (known defect, s37): samples holding WFDB's missing-sample value (-32768 in format 16, -2048 in 212), read
    as NaN as ``wfdb.rdrecord(physical=True)`` reads them, were rejected as "NaN/inf samples", a value the user's file
    does not hold; the reason (and the note of a record cut to its complete stretch) now names the value, the lead and
    the count."""
    import wfdb

    from edfgen.kernels.ecg.preprocess import keep_finite_stretch, preprocess

    x = _sine_ecg().T.astype(np.float64)
    x[1000:4000, 4] = np.nan                        # 3 s missing in aVL: no 8 s stretch left
    wfdb.wrsamp("gap", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=[fmt] * 12,
                adc_gain=[200.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    assert np.isnan(wfdb.rdrecord(str(tmp_path / "gap")).p_signal[1000:4000, 4]).all()     # wfdb: NaN
    value = {"16": -32768, "212": -2048}[fmt]
    assert (wfdb.rdrecord(str(tmp_path / "gap"), physical=False).d_signal[1000:4000, 4] == value).all()
    rec = read_wfdb(tmp_path / "gap.hea")
    with pytest.raises(RecordRejected) as err:
        preprocess(rec)
    assert err.value.reason.startswith(f"lead aVL: 3000 missing samples (1 lead(s) affected; the file holds WFDB's "
                                       f"missing-sample value {value} in lead aVL, 3000 samples); the longest stretch")
    assert "NaN" not in err.value.reason
    x[1000:4000, 4] = x[1000:4000, 3]
    x[:500, 4] = np.nan                             # the first 1 s missing: cut, and said in the file's terms
    wfdb.wrsamp("head", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=[fmt] * 12,
                adc_gain=[200.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    cut = keep_finite_stretch(canonicalise_leads(read_wfdb(tmp_path / "head.hea")))
    assert cut.notes[-1].endswith(f"(the file holds WFDB's missing-sample value {value} in lead aVL, 500 samples)")


def test_preprocess__multi_segment_missing_samples_name_every_source(tmp_path):
    """Was (review s37known F1): a multi-segment record's missing-sample words came only from its segments'
    -32768 samples, so a record missing 3000 samples in every lead to a null ``~`` segment was rejected as "lead I:
    3000 missing samples (12 lead(s) affected; the file holds WFDB's missing-sample value -32768 in lead aVL, 10
    samples (segment s2))", blaming samples lead I does not have. Now the null segment and the leads a segment lacks
    are named too."""
    import wfdb

    from edfgen.kernels.ecg.preprocess import preprocess

    x = _sine_ecg().T.astype(np.float64)
    x[2500:2510, 4] = np.nan                                        # 10 samples of -32768 in aVL of s2
    wfdb.wrsamp("s2", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=["16"] * 12,
                adc_gain=[200.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    wfdb.wrsamp("s1", fs=500, units=["mV"] * 11, sig_name=[n for n in LEADS if n != "V2"],
                p_signal=np.delete(_sine_ecg(T=3000).T.astype(np.float64), 7, axis=1), fmt=["16"] * 11,
                adc_gain=[200.0] * 11, baseline=[0] * 11, write_dir=str(tmp_path))
    (tmp_path / "gap3.hea").write_text("gap3/2 12 500 8000\n~ 3000\ns2 5000\n")
    with pytest.raises(RecordRejected) as err:
        preprocess(read_wfdb(tmp_path / "gap3.hea"))
    assert err.value.reason.startswith(
        "lead I: 3000 missing samples (12 lead(s) affected; the file holds a null segment (~) of 3000 samples (no "
        "signal recorded there); WFDB's missing-sample value -32768 in lead aVL, 10 samples (segment s2)); ")
    (tmp_path / "gap5.hea").write_text("gap5/4 12 500 11000\ns1 3000\n~ 1000\n~ 2000\ns2 5000\n")
    rec = read_wfdb(tmp_path / "gap5.hea")
    assert rec.missing_note == ("2 null segments (~) of 3000 samples in all (no signal recorded there); no lead V2 in "
                                "segment s1 (3000 samples); WFDB's missing-sample value -32768 in lead aVL, 10 "
                                "samples (segment s2)")


@pytest.mark.parametrize("name", ["I_II", "I II", "I.II", "II_I", "I I", "ECG I_II", "Lead I II"])
def test_canonical_lead_name__two_limb_leads_joined_by_a_space_underscore_or_dot_are_no_lead(name):
    """'I-II' (a bipolar channel) was already no lead; the same name joined by an underscore, a space or a dot lost its
    separator and read as III ('I_II' -> 'iii'), and 'I I' as II: a channel of other samples taken for a lead."""
    assert canonical_lead_name(name) is None


def test_read_wfdb__real_8_lead_record_with_a_bipolar_i_ii_channel_derives_iii(cinc, tmp_path):
    """A real ECG (CinC 2021 E07500) written as its 8 independent leads (I, II, V1-V6) plus a bipolar channel
    ``I_II`` (= I - II, the negative of III): III, aVR, aVL, aVF are derived from I and II and equal the record's
    own (to one count), the channel dropped with a note. Was: 'I_II' read as lead III, so III and everything
    measured on it had the wrong sign, silently."""
    import wfdb

    ref = wfdb.rdrecord(str(cinc / "E07500"))                          # independent: wfdb's physical read
    p = ref.p_signal[:, [0, 1, 6, 7, 8, 9, 10, 11]]
    p = np.hstack([p, p[:, :1] - p[:, 1:2]])
    names = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6", "I_II"]
    wfdb.wrsamp("b", fs=500, units=["mV"] * 9, sig_name=names, p_signal=p, fmt=["16"] * 9, adc_gain=[1000.0] * 9,
                baseline=[0] * 9, write_dir=str(tmp_path))
    out = canonicalise_leads(read_wfdb(tmp_path / "b.hea"))
    assert out.notes == ("dropped channel(s) not among the 12 leads: I_II", "derived III, aVR, aVL, aVF from I, II")
    # derived from I and II, each rounded to a count of 1 uV, against the recorded III/aVR...: at most 1.5 counts
    np.testing.assert_allclose(out.signal, ref.p_signal.T, atol=1.5e-3 + 1e-6)
