"""Review s30g: hostile ECG files through ``edfgen extract`` / ``edfgen evaluate`` (one test per finding).

Each test names what was wrong (``Was: ...``); the record files are written by hand, small (10 s, 12 leads).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.formats.ecg.records import RecordRejected, discover_records, read_record, read_wfdb
from edfgen.kernels.ecg import LEADS
from test_untrusted_ecg import _wfdb


@pytest.fixture(scope="module")
def standin():
    from test_extract import StandInEncoder, StandInLoaded

    from edfgen.kernels.ecg.preprocessing_config import Preprocessing

    return StandInLoaded(StandInEncoder().eval(), Preprocessing())


def _edfs(res) -> pd.DataFrame:
    return pd.read_csv(res.table, sep="\t", dtype={"IID": str}).set_index("IID")


def _crash_after_first_chunk(chunk, n_done):
    if chunk == 1:
        raise KeyboardInterrupt


# --------------------------------------------------------------------------- 1: symlink loop
def test_extract__symlink_loop_in_the_folder_is_a_reject_not_a_traceback(tmp_path: Path, standin):
    """Was: ``own_file`` resolved every path with ``Path.resolve``, which raises RuntimeError on a link loop, so
    the run ended with a traceback and no record was written."""
    from edfgen.commands.extract import extract_edfs

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    _wfdb(ecg, "GOOD")
    (ecg / "loop2.hea").symlink_to("loop1.hea")
    (ecg / "loop1.hea").symlink_to("loop2.hea")
    res = extract_edfs([ecg], tmp_path / "o" / "edfs.tsv", checkpoint=standin)
    assert list(_edfs(res).index) == ["GOOD"]
    rej = pd.read_csv(res.rejects, sep="\t", dtype=str).set_index("record")
    assert set(rej.index) == {"loop1", "loop2"}
    assert rej["reason"].str.contains("symbolic link loop").all()


def test_extract__utf16_wfdb_header_is_a_reject_not_a_traceback(tmp_path: Path, standin):
    """Was: the resume key stats every file a header names; a header saved as UTF-16 names a signal file with NUL
    bytes in it, ``os.stat`` raised ValueError ('embedded null byte') and the whole run ended with a traceback,
    the good records unwritten (``benchmarks/fuzz_s22.py``, case 'WFDB: UTF-16 .hea')."""
    from edfgen.commands.extract import extract_edfs

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    _wfdb(ecg, "GOOD")
    _wfdb(ecg, "BAD")
    hea = ecg / "BAD.hea"
    hea.write_bytes(hea.read_bytes().decode().encode("utf-16"))
    res = extract_edfs([ecg], tmp_path / "o" / "edfs.tsv", checkpoint=standin)
    assert list(_edfs(res).index) == ["GOOD"]
    rej = pd.read_csv(res.rejects, sep="\t", dtype=str).set_index("record")
    assert list(rej.index) == ["BAD"]
    # was: "unreadable sampling frequency '\x005\x000\x000\x00' in the WFDB header" (review of b819dba)
    assert "the header is UTF-16 text (little-endian, byte-order mark); WFDB headers are ASCII" in rej.loc["BAD",
                                                                                                           "reason"]


@pytest.mark.parametrize(("codec", "seen"), [("utf-16", "UTF-16 text (little-endian, byte-order mark)"),
                                             ("utf-16-le", "UTF-16 text (little-endian, no byte-order mark)"),
                                             ("utf-16-be", "UTF-16 text (big-endian, no byte-order mark)"),
                                             ("utf-32", "UTF-32 text (little-endian, byte-order mark)")])
def test_extract__utf16_multi_segment_wfdb_header_is_one_reject_not_a_traceback(tmp_path: Path, standin, codec, seen):
    """Was: a multi-segment header saved as UTF-16 (or UTF-32) ended ``edfgen extract`` with a traceback
    (ValueError: embedded null byte: the segment names read from it held NUL bytes and were opened as paths), the
    good records unwritten (review of b819dba). Now one reject naming the encoding, and its segments are parts of the
    rejected record, not participants of their own."""
    from edfgen.commands.extract import extract_edfs

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    _wfdb(ecg, "GOOD")
    _multi_segment(ecg, "BAD", seed=3)
    hea = ecg / "BAD.hea"
    hea.write_bytes(hea.read_text().encode(codec))
    res = extract_edfs([ecg], tmp_path / "o" / "edfs.tsv", checkpoint=standin)
    assert list(_edfs(res).index) == ["GOOD"]
    rej = pd.read_csv(res.rejects, sep="\t", dtype=str).set_index("record")
    assert list(rej.index) == ["BAD"]
    assert f"the header is {seen}; WFDB headers are ASCII" in rej.loc["BAD", "reason"]


def test_read_wfdb__nul_byte_in_a_comment_line_is_read_as_before(tmp_path: Path):
    """Was (review of 6d252d9): a NUL byte anywhere made the header "not text (NUL bytes)", so a header whose
    '#' comment holds one (a converter's padded patient field), read at 6993999 as (12, 5000), was rejected. A NUL
    on a signal or record line is still not text; UTF-16/UTF-32 headers are still rejected (the tests above)."""
    from edfgen.formats.ecg.wfdb_header import wide_encoding

    counts = _wfdb(tmp_path, "COM")
    hea = tmp_path / "COM.hea"
    lines = hea.read_bytes().splitlines(keepends=True)
    hea.write_bytes(lines[0] + b"# patient: ANON\x00\x00\x00\n" + b"".join(lines[1:]) + b"#\x00 end\n")
    rec = read_record(next(iter(discover_records([tmp_path]))))
    assert rec.signal.shape == (12, 5000)
    np.testing.assert_allclose(rec.signal, counts / 1000, atol=1e-6)
    assert wide_encoding(b"COM 12 500 5000\nCOM.dat 16 1000/mV\x00 16 0 0 0 0 I\n") == ("latin-1",
                                                                                          "not text (NUL bytes)")
    assert wide_encoding(b"# c\x00\nCOM 12 500 5000\n") is None
    assert wide_encoding("COM 12 500 5000\n# x\n".encode("utf-16-le"))[0] == "utf-16-le"
    assert wide_encoding("COM 12 500 5000\n".encode("utf-32-be"))[0] == "utf-32-be"


# --------------------------------------------------------------------------- 2: resume key covers named files
def _multi_segment(folder: Path, name: str, seed: int) -> None:
    """``name.hea`` of two segments ``name_1``/``name_2`` (each a 5 s 12-lead format-16 record)."""
    for k in (1, 2):
        counts = np.random.default_rng(seed + k).integers(-900, 900, (12, 2500)).astype("<i2")
        counts.T.tofile(folder / f"{name}_{k}.dat")
        (folder / f"{name}_{k}.hea").write_text(f"{name}_{k} 12 500 2500\n" + "".join(
            f"{name}_{k}.dat 16 1000/mV 16 0 0 0 0 {lead}\n" for lead in LEADS))
    (folder / f"{name}.hea").write_text(f"{name}/2 12 500 5000\n{name}_1 2500\n{name}_2 2500\n")


def test_extract__resume_recomputes_a_record_whose_differently_named_signal_files_changed(tmp_path: Path, standin):
    """Was: the resume fingerprint covered only files named after the record (``0rec.*``), so after a kill a
    changed ``sigdata.dat`` named by ``0rec.hea``, or a changed segment of a multi-segment record, was resumed
    with the EDFs of its old signals. Reference: a fresh run on the changed folder."""
    from edfgen.commands.extract import extract_edfs

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    _wfdb(ecg, "0rec", signal_file="sigdata.dat", seed=1)
    _multi_segment(ecg, "0ms", seed=2)
    for i in range(4):
        _wfdb(ecg, f"R{i}", seed=10 + i)
    out = tmp_path / "run" / "edfs.tsv"
    with pytest.raises(KeyboardInterrupt):
        extract_edfs([ecg], out, checkpoint=standin, batch_size=2, chunk_size=2, on_chunk=_crash_after_first_chunk)
    _wfdb(tmp_path, "donor", signal_file=str(ecg / "sigdata.dat"), seed=99)   # new signals, same file names
    for k in (1, 2):
        np.random.default_rng(50 + k).integers(-900, 900, (2500, 12)).astype("<i2").tofile(ecg / f"0ms_{k}.dat")
    res = extract_edfs([ecg], out, checkpoint=standin, batch_size=2, chunk_size=2)
    assert res.resumed == 2     # R0, R1 (the 2 chunks done before the kill also held 0ms, 0rec: changed)
    fresh = extract_edfs([ecg], tmp_path / "fresh" / "edfs.tsv", checkpoint=standin, batch_size=2, chunk_size=2)
    pd.testing.assert_frame_equal(_edfs(res), _edfs(fresh))


# --------------------------------------------------------------------------- 3: evaluate and a dangling header
def test_evaluate_labels__dangling_or_looping_header_is_a_reject_not_an_error(tmp_path: Path):
    """Was: the '# Dx:' label reader raised InputError ('unreadable header') on a dangling or looping ``.hea``
    symlink, so ``edfgen evaluate`` stopped; ``extract`` rejects such a file. Now it is read as a record and
    rejected with its reason, and the labels of the other headers are kept."""
    from edfgen.formats.labels import read_label_set
    from edfgen.model.data import load_ecgs

    for i in range(2):
        _wfdb(tmp_path, f"R{i}", seed=i)
        hea = tmp_path / f"R{i}.hea"
        hea.write_text(hea.read_text() + f"# Dx: {164889003 if i else 426783006}\n")
    (tmp_path / "dangling.hea").symlink_to("nothere.hea")
    (tmp_path / "l2.hea").symlink_to("l1.hea")
    (tmp_path / "l1.hea").symlink_to("l2.hea")
    ls = read_label_set([tmp_path])
    assert ls.layout == "dx-header" and ls.labels["IID"].tolist() == ["R0", "R1"]
    assert ls.notes["unreadable_header"] == 3
    arr = load_ecgs(list(ls.records))
    assert sorted(arr.ids) == ["R0", "R1"]
    reasons = {rid: reason for rid, _, reason in arr.rejects}
    assert reasons == {"dangling": "symbolic link to a missing file ('nothere.hea')",
                       "l1": "a symbolic link loop ('l2.hea')", "l2": "a symbolic link loop ('l1.hea')"}


# --------------------------------------------------------------------------- 4: WFDB baseline precision
def _wfdb_counts(folder: Path, name: str, counts: np.ndarray, fmt: str, baseline: int) -> Path:
    """A 12-lead record of ``counts [12, T]`` stored in WFDB format ``fmt`` (16 or 32) with ADC zero ``baseline``."""
    counts.T.astype("<i2" if fmt == "16" else "<i4").tofile(folder / f"{name}.dat")
    (folder / f"{name}.hea").write_text(f"{name} 12 500 {counts.shape[1]}\n" + "".join(
        f"{name}.dat {fmt} 1000({baseline})/mV {fmt} 0 0 0 0 {lead}\n" for lead in LEADS))
    return folder / f"{name}.hea"


def test_read_wfdb__large_adc_zero_subtracted_exactly_or_rejected(tmp_path: Path):
    """Was: ``d - baseline`` was computed in float32, exact only to 2**24: a 32-bit record with ADC zero 10**9 lost up
    to 64 counts per sample (a few distinct steps left), and 16-bit samples under a baseline of 10**9 (-10**6 mV)
    were quantised silently. Now the subtraction is exact (reference: the counts / 1000, to float32), and a sample
    more than 2**24 counts from its zero rejects the record."""
    from edfgen.formats.ecg.records import read_wfdb

    rng = np.random.default_rng(3)
    counts = rng.integers(-3000, 3000, (12, 5000))
    rec = read_wfdb(_wfdb_counts(tmp_path, "big32", counts + 10 ** 9, "32", 10 ** 9))
    np.testing.assert_allclose(rec.signal, counts / 1000, rtol=0, atol=1e-6)   # one count is 1e-3 mV
    ok = read_wfdb(_wfdb_counts(tmp_path, "ok16", counts, "16", 0))             # the fast path, same numbers
    np.testing.assert_array_equal(ok.signal, rec.signal)
    with pytest.raises(RecordRejected, match=r"lead I: a sample -1e\+09 ADC counts from its ADC zero 1000000000 "
                                             r"\(-1e\+06 mV\), more than 2\*\*24"):
        read_wfdb(_wfdb_counts(tmp_path, "huge16", counts, "16", 10 ** 9))


def test_read_wfdb__32_bit_record_as_wfdb_wrsamp_writes_it_reads_as_wfdb(shared_data, tmp_path: Path):
    """Was: every 32-bit record ``wfdb.wrsamp(p_signal=..., fmt=['32'])`` writes was rejected ('a sample 3.187e+09 ADC
    counts from its ADC zero ... more than 2**24'): wrsamp spreads the signal over the 32-bit range, 2e-10 mV a count,
    finer than float32 keeps 0.69 mV, but no amplitude is lost. Now read as wfdb reads it, to float32 rounding; a
    sample beyond 2**24 counts and 2**24 uV (above) is still a reject."""
    import wfdb

    from edfgen.formats.ecg.records import read_wfdb

    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    wfdb.wrsamp("p32", fs=ref.fs, units=ref.units, sig_name=ref.sig_name, p_signal=ref.p_signal, fmt=["32"] * 12,
                write_dir=str(tmp_path))
    rec = read_wfdb(tmp_path / "p32.hea")
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, rtol=0, atol=1e-6)


# --------------------------------------------------------------------------- 5: memory cap per record
def test_read_record__cap_is_1_gib_of_memory_not_2_to_the_30_values(tmp_path: Path):
    """Was: the cap let 2**30 values in (about 14 GiB at the ~14 bytes per value a record takes while read); a 6 KB
    HDF5 file of one unwritten (12, 40e6) dataset took 6.5 GB. Now 1 GiB of memory, with that reason. The arrays are
    never written: an ``.npy`` header alone, and an HDF5 dataset of fill values (a few KB on disk)."""
    import h5py

    from edfgen.formats.ecg.common import MAX_RECORD_VALUES, PEAK_BYTES_PER_VALUE

    assert MAX_RECORD_VALUES * PEAK_BYTES_PER_VALUE <= 2 ** 30
    shape = (12, 7_000_000)    # 84 M values: under 2**30, over 1 GiB of memory
    with open(tmp_path / "long.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<i2", "fortran_order": False, "shape": shape})
    with h5py.File(tmp_path / "bomb.h5", "w") as f:
        f.create_dataset("rec1", shape=shape, dtype="<i2", chunks=(12, 100_000), compression="gzip").attrs["fs"] = 500
    got = {r.record_id: r for r in discover_records([tmp_path])}
    for rid in ("long", "rec1"):     # a one-record HDF5 file is named by its dataset (review s31h #2)
        with pytest.raises(RecordRejected, match=r"shape \(12, 7000000\): more than 76695844 values \(one record "
                                                 r"may take at most 1 GiB of memory to read"):
            read_record(got[rid], fs=500)


# --------------------------------------------------------------------------- 6: HDF5 stacked record ids
def test_hdf5_stacked_ids__unusable_ids_rejected_by_row_the_others_kept(tmp_path: Path):
    """Was: one duplicated or empty ``record_id`` renamed every row ``<stem>_<i>`` without a word, and one id that
    is not UTF-8 made the whole file one reject ('unreadable HDF5 file (UnicodeDecodeError ...)')."""
    import h5py

    sig = np.random.default_rng(6).standard_normal((6, 12, 5000)).astype(np.float32)
    with h5py.File(tmp_path / "stack.h5", "w") as f:
        f.create_dataset("ecg", data=sig).attrs["fs"] = 500
        f.create_dataset("record_id", data=np.array([b"a", b"a", b"c", b"\xff\xfe", b"", b"d"], dtype=object),
                         dtype=h5py.string_dtype("ascii"))
    refs = discover_records([tmp_path])
    got = [(r.record_id, r.key[0] if r.fmt == "rejected" else None) for r in refs]
    assert got == [("a", None), ("a", "duplicated record id /record_id[1] 'a' (also row 0 of /ecg)"), ("c", None),
                   ("stack_3", "record id /record_id[3] is not UTF-8 text (b'\\xff\\xfe')"),
                   ("stack_4", "record id /record_id[4] is empty"), ("d", None)]
    np.testing.assert_array_equal(read_record(refs[5]).signal, sig[5])


# --------------------------------------------------------------------------- 7, 8: CardioSoft / MUSE XML
@pytest.fixture(scope="module")
def strip_mv():
    t = np.arange(5000) / 500
    return np.sin(2 * np.pi * 1.2 * t)[None] * np.linspace(0.3, 1.2, 12)[:, None]


def test_xml_resolution_overflow__one_reason_no_runtime_warning(tmp_path: Path, strip_mv):
    """Was: ``<Resolution>1e300</Resolution>`` (or a MUSE ``LeadAmplitudeUnitsPerBit`` of 1e300) overflowed float32:
    numpy RuntimeWarnings on stderr even with -q, then a misleading 'NaN/inf samples' reject."""
    import warnings

    from test_ecg_xml import write_cardiosoft, write_muse

    write_cardiosoft(tmp_path / "3000002_20205_2_0.xml", strip_mv, 500)
    write_muse(tmp_path / "m.xml", strip_mv, 500, units_per_bit=4.88)
    for name, field in (("3000002_20205_2_0.xml", "Resolution"), ("m.xml", "LeadAmplitudeUnitsPerBit")):
        f = tmp_path / name
        text = f.read_bytes().decode("latin-1")
        f.write_bytes(re.sub(rf"<{field}([^>]*)>[^<]*<", rf"<{field}\g<1>>1e300<", text).encode("latin-1"))
    got = {r.record_id: r for r in discover_records([tmp_path])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RecordRejected, match=r"<Resolution> 1e\+300 uVperLsb is 1e\+297 mV per count: "
                                                 r"implausible \(more than 1000 mV per count\)"):
            read_record(got["3000002"])
        with pytest.raises(RecordRejected, match=r"<LeadAmplitudeUnitsPerBit> 1e\+300 MICROVOLTS is 1e\+297 mV"):
            read_record(got["m"])


def test_xml_root_after_8_kib__read_and_ukb_ids_kept_for_broken_files(tmp_path: Path, strip_mv):
    """Was: a valid file with a 9 KB comment (or a 100 KB DOCTYPE internal subset) before its root element was
    rejected as 'not an XML file (no root element in its first 8 KiB)' under its file stem, not its eid; an empty or
    NUL-only UK Biobank file was listed under its stem too."""
    from test_ecg_xml import write_cardiosoft

    want = write_cardiosoft(tmp_path / "base.xml", strip_mv, 500)
    text = (tmp_path / "base.xml").read_bytes().decode("latin-1")
    comment = text.replace("<CardiologyXML>", "<!--" + "x" * 9000 + "-->\n<CardiologyXML>", 1)
    subset = text.replace('"CardiologyXML.dtd">', '"CardiologyXML.dtd" [\n'
                          + "".join(f'<!ENTITY e{i} "{"y" * 90}">\n' for i in range(1100)) + "]>", 1)
    (tmp_path / "base.xml").unlink()
    (tmp_path / "3000001_20205_2_0.xml").write_bytes(comment.encode("latin-1"))
    (tmp_path / "3000005_20205_2_0.xml").write_bytes(subset.encode("latin-1"))
    (tmp_path / "3000019_20205_2_0.xml").write_bytes(b"\0" * 4096)
    (tmp_path / "3000020_20205_2_0.xml").write_bytes(b"")
    (tmp_path / "3000021_20205_2_0.xml").write_bytes(b"<?xml version='1.0'?>\n<!--" + b"z" * (1 << 20 + 1))
    got = {r.record_id: r for r in discover_records([tmp_path])}
    assert {k: r.fmt for k, r in got.items()} == {"3000001": "cardiosoft", "3000005": "cardiosoft",
                                                  "3000019": "notxml", "3000020": "notxml", "3000021": "notxml"}
    for rid in ("3000001", "3000005"):
        np.testing.assert_allclose(read_record(got[rid]).signal, want, atol=1e-6)
    for rid, reason in (("3000019", "not an XML file (it does not start with '<')"), ("3000020", "empty file"),
                        ("3000021", "not an XML file (no root element in its first 1 MiB)")):
        with pytest.raises(RecordRejected, match=re.escape(reason)):
            read_record(got[rid])


# --------------------------------------------------------------------------- 9: control characters in ids
def test_extract__record_id_with_a_tab_or_newline_is_a_reject_and_the_pheno_stays_whitespace_clean(tmp_path: Path,
                                                                                                      standin):
    """Was: ``tab<TAB>name.npy`` and ``nl<LF>name.npy`` were extracted under those ids; the CSV-quoted ids broke the
    PLINK ``.pheno`` ('Line 7 has fewer tokens than expected') for the whole GWAS."""
    from edfgen.commands.extract import extract_edfs

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for i in range(2):
        _wfdb(ecg, f"GOOD{i}", seed=i)
    sig = read_record(discover_records([ecg / "GOOD0.hea"])[0]).signal
    for name in ("tab\tname", "nl\nname", "ok name"):
        np.save(ecg / f"{name}.npy", sig)
    res = extract_edfs([ecg], tmp_path / "o" / "edfs.tsv", checkpoint=standin, fs=500)
    assert sorted(_edfs(res).index) == ["GOOD0", "GOOD1", "ok name"]
    rejects = res.rejects.read_text().splitlines()
    assert len(rejects) == 3 and sorted(r.split("\t")[0] for r in rejects[1:]) == ["nl\\nname", "tab\\tname"]
    assert "holds a tab, newline or other control character" in rejects[1]
    pheno = res.pheno.read_text().splitlines()
    assert len(pheno) == 4 and len({len(line.split("\t")) for line in pheno}) == 1


# --------------------------------------------------------------------------- 10: negative WFDB gain; 12: npz fs
@pytest.mark.parametrize("fmt", ["16", "212"])     # the fast path, and wfdb.rdrecord's
def test_read_wfdb__negative_adc_gain_on_a_lead_is_a_reject(tmp_path: Path, fmt: str):
    """Was: gains ``-1000/mV`` were read silently, every lead inverted (wfdb's field check says 'adc_gain values must
    be positive')."""
    import wfdb

    from edfgen.formats.ecg.records import read_wfdb

    x = np.clip(np.random.default_rng(10).standard_normal((5000, 12)) * 0.3, -2, 2)   # fits 12 bits at 1000/mV
    wfdb.wrsamp("neg", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=[fmt] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    hea = tmp_path / "neg.hea"
    read_wfdb(hea)
    lines = hea.read_text().splitlines()
    assert " 1000.0(0)/mV " in lines[2]
    lines[2] = lines[2].replace(" 1000.0(0)/mV ", " -1000.0(0)/mV ")
    hea.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordRejected, match=r"ADC gain -1000 on signal line 2 \(II\) of the WFDB header: "
                                             r"negative"):
        read_wfdb(hea)


@pytest.mark.parametrize("fmt", ["16", "212"])     # the fast path, and wfdb.rdrecord's
@pytest.mark.parametrize("field", ["nan/mV", "abc", "inf(0)/mV"])
def test_read_wfdb__unreadable_adc_gain_on_a_lead_is_a_reject(tmp_path: Path, fmt: str, field: str):
    """Was: a gain field with no number (``nan/mV``) was handed to ``wfdb.rdrecord``, which reads it as its default
    200 units/mV: the record was used with every amplitude 5 times too large (1000/mV written)
    (``benchmarks/fuzz_s22.py``, case 'WFDB: gain nan')."""
    import wfdb

    from edfgen.formats.ecg.records import read_wfdb

    x = np.clip(np.random.default_rng(10).standard_normal((5000, 12)) * 0.3, -2, 2)
    wfdb.wrsamp("g", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=[fmt] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    hea = tmp_path / "g.hea"
    read_wfdb(hea)
    lines = hea.read_text().splitlines()
    lines[1] = lines[1].replace(" 1000.0(0)/mV ", f" {field} ")
    hea.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordRejected, match=r"unreadable ADC gain '.*' on signal line 1 \(I\) of the WFDB header"):
        read_wfdb(hea)


@pytest.mark.parametrize("field", ["nan/mV", "0(0)/mV"])
def test_read_wfdb__gain_of_a_lead_with_no_block_size_field_is_checked(tmp_path: Path, field: str):
    """Was: the lead's name was taken from the 9th field of its signal line; with the block-size field left out
    (8 fields, ``R.dat 16 nan/mV 16 0 0 0 I``, which ``wfdb`` reads as lead I) the name was empty, so a gain with
    no number was not rejected and ``wfdb`` read lead I at its default 200 units/mV (5 times the amplitude), and
    gain 0 was rejected as 'WFDB record has no samples' (review of b819dba)."""
    import wfdb

    from edfgen.formats.ecg.records import read_wfdb

    x = np.clip(np.random.default_rng(11).standard_normal((5000, 12)) * 0.3, -2, 2)
    wfdb.wrsamp("g", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=["16"] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    hea = tmp_path / "g.hea"
    lines = hea.read_text().splitlines()
    tok = lines[1].split()
    assert tok[2] == "1000.0(0)/mV" and tok[7:] == ["0", "I"]
    lines[1] = " ".join([*tok[:2], field, *tok[3:7], "I"])     # 8 fields: no block size
    hea.write_text("\n".join(lines) + "\n")
    assert wfdb.rdheader(str(tmp_path / "g")).sig_name[0] == "I"
    want = (r"unreadable ADC gain 'nan/mV' on signal line 1 \(I\)" if field == "nan/mV" else
            r"ADC gain 0 on signal line 1 \(I\) of the WFDB header: an uncalibrated signal")
    with pytest.raises(RecordRejected, match=want):
        read_wfdb(hea)


def test_read_npz__sampling_rate_of_several_values_is_a_reject(tmp_path: Path):
    """Was: ``fs=[250, 500]`` was read as its first value, 250 Hz."""
    sig = np.random.default_rng(12).standard_normal((12, 5000)).astype(np.float32)
    np.savez(tmp_path / "two.npz", ecg=sig, fs=[250, 500], units="mV")
    np.savez(tmp_path / "one.npz", ecg=sig, fs=[500], units="mV")
    got = {r.record_id: r for r in discover_records([tmp_path])}
    assert read_record(got["one"]).fs == 500
    with pytest.raises(RecordRejected, match=r"sampling rate holds 2 values \(\[250, 500\]\), expected one"):
        read_record(got["two"])


# --------------------------------------------------------------------------- 11: WFDB checksums
def test_read_wfdb__signal_file_that_fails_the_header_checksum_is_a_reject(shared_data: Path, tmp_path: Path):
    """Was: checksums were never compared: 200 samples overwritten with +32.6 mV passed unseen. Reference: the real
    CinC 2021 record (signed checksums) and PTB-XL record (unsigned) read as before."""
    from edfgen.formats.ecg.records import read_wfdb

    for src in (shared_data / "ecg" / "cinc2021" / "JS20000", shared_data / "ecg" / "ptbxl" / "records500" / "00000"
                / "00001_hr"):
        for suffix in (".hea", ".mat", ".dat"):
            if src.with_suffix(suffix).exists():
                shutil.copy(src.with_suffix(suffix), tmp_path)
        hea = tmp_path / f"{src.name}.hea"
        sig = read_wfdb(hea).signal
        np.testing.assert_array_equal(sig, read_wfdb(src.with_suffix(".hea")).signal)
        data = next(tmp_path.glob(f"{src.name}.[dm]at"))
        raw = bytearray(data.read_bytes())
        raw[60000:60400] = b"\x7f" * 400
        data.write_bytes(bytes(raw))
        with pytest.raises(RecordRejected, match=rf"WFDB signal file {data.name} fails the header's checksum on "
                                                 r"signal line \d+ \(\w+\): header -?\d+, samples \d+ \(mod 65536\)"):
            read_wfdb(hea)


# --------------------------------------------------------------------------- review s33a F5
def test_extract__an_unreadable_sub_folder_is_a_reject_and_a_warning(tmp_path: Path, standin, monkeypatch, caplog):
    """Was: ``Path.rglob`` skipped a sub-folder it could not list, so its records were simply missing (rc 0, no
    reject row, no warning). Faked for root (who may list any folder): ``os.scandir`` refuses ``sub``."""
    import os

    from edfgen.commands.extract import extract_edfs

    ecg = tmp_path / "ecg"
    (ecg / "sub").mkdir(parents=True)
    _wfdb(ecg, "GOOD")
    _wfdb(ecg / "sub", "HIDDEN")
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == ecg / "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    res = extract_edfs([ecg], tmp_path / "o" / "edfs.tsv", checkpoint=standin)
    assert list(_edfs(res).index) == ["GOOD"]
    rej = pd.read_csv(res.rejects, sep="\t", dtype=str)
    assert rej["record"].tolist() == ["sub"] and rej["path"].tolist() == [str(ecg / "sub")]
    assert rej["reason"].str.startswith("folder not readable (Permission denied)").all()
    assert "folder not readable" in caplog.text


def _no_checksums(hea_text: str, how: str) -> str:
    """The CinC header with its checksum fields 0 (unset: not checked) or cut after the ADC zero (Georgia-2020-like
    short signal lines, which go through ``wfdb.rdrecord``)."""
    out = []
    for i, line in enumerate(hea_text.splitlines()):
        tok = line.split()
        if 0 < i <= 12:
            line = " ".join(tok[:6] + ["0"] + tok[7:]) if how == "zero" else " ".join(tok[:5] + tok[8:])
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("how", ["zero", "short"], ids=["checksums 0", "short signal lines"])
@pytest.mark.parametrize("saved", ["v5", "v4 double", "v4 transposed"])
def test_read_wfdb__a_mat_file_that_is_not_the_v4_int16_matrix_of_its_header_is_a_reject(shared_data, tmp_path,
                                                                                         how, saved):
    """A CinC-style ``.hea`` + ``.mat`` whose ``.mat`` was re-saved by MATLAB's default ``save`` or
    ``scipy.io.savemat`` (MAT v5), or as doubles, or transposed ``[5000, 12]``: the header's ``16+24`` (int16 from
    byte 24) read the file's own header and other numbers as samples. With the header's checksums the record was
    rejected; without them (unset, or short signal lines) it was read as noise in mV, silently (MAT v5: passed every
    quality check). The MAT v4 header (type, rows, columns, name length) is now checked against the WFDB header."""
    import scipy.io

    src = shared_data / "ecg" / "cinc2021" / "E07500"
    val = scipy.io.loadmat(f"{src}.mat")["val"]
    hea = _no_checksums((src.parent / "E07500.hea").read_text(), how)
    (tmp_path / "E07500.hea").write_text(hea)
    shutil.copy(f"{src}.mat", tmp_path / "E07500.mat")
    np.testing.assert_allclose(read_wfdb(tmp_path / "E07500.hea").signal, read_wfdb(f"{src}.hea").signal)
    arr, fmt = {"v5": (val, "5"), "v4 double": (val.astype(float), "4"), "v4 transposed": (val.T.copy(), "4")}[saved]
    scipy.io.savemat(tmp_path / "E07500.mat", {"val": arr}, format=fmt)
    with pytest.raises(RecordRejected) as e:
        read_wfdb(tmp_path / "E07500.hea")
    msg = str(e.value)
    assert "\n" not in msg and "E07500.mat is not the MATLAB matrix of int16 [12 x 5000]" in msg, msg


@pytest.mark.parametrize("header", ["12 of 15 signals", "half the samples"])
def test_read_wfdb__a_signal_file_longer_than_its_header_is_a_reject(shared_data, tmp_path, header):
    """A real PTB-XL record written with 3 Frank leads beside its 12 (15 interleaved signals), under a header that
    lists only the 12 (a converter that dropped lines) or half the samples, with no checksums: the 12 signals were read
    from misaligned frames (every 'lead' a mixture of channels: noise that passed every quality check), silently.
    The file holds a frame or more beyond what the header reads: a one-line reject (the 3,419 signal files of
    shared/data/ecg all have exactly their header's size)."""
    import wfdb

    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    p = np.hstack([ref.p_signal, ref.p_signal[:, :3] * 0.5])
    names = list(ref.sig_name) + ["vx", "vy", "vz"]
    wfdb.wrsamp("r", fs=500, units=["mV"] * 15, sig_name=names, p_signal=p, fmt=["16"] * 15, adc_gain=[1000.0] * 15,
                baseline=[0] * 15, write_dir=str(tmp_path))
    full = (tmp_path / "r.hea").read_text().splitlines()
    np.testing.assert_allclose(read_wfdb(tmp_path / "r.hea").signal[:12], ref.p_signal.T, atol=1e-6)
    lines = [" ".join(ln.split()[:6] + ["0"] + ln.split()[7:]) for ln in full[1:]]     # checksums unset
    if header == "12 of 15 signals":
        text = [f"r 12 500 {ref.sig_len}"] + lines[:12]
    else:
        text = [f"r 15 500 {ref.sig_len // 2}"] + lines
    (tmp_path / "r.hea").write_text("\n".join(text) + "\n")
    with pytest.raises(RecordRejected) as e:
        read_wfdb(tmp_path / "r.hea")
    assert "\n" not in str(e.value) and "r.dat is longer than its header says: 150000 bytes" in str(e.value)


#: the start of a macOS AppleDouble file (magic 0x00051607, version 2, filler): Finder metadata that macOS writes as
#: ``._NAME`` beside every file it copies to a FAT/exFAT/SMB volume or into a zip/tar
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02" + b"\x00" * 60


def test_discover_records__macos_appledouble_twins_are_skipped_not_rejected(shared_data, tmp_path, caplog):
    """A folder of real ECGs copied from a Mac holds a ``._NAME`` twin of each file. They were listed as records and
    rejected, with misleading reasons ("._r1: the header is UTF-16 text (big-endian, no byte-order mark)", "._M1:
    not an XML file"), doubling the rejects of a UK Biobank folder. They are now skipped with one log line; a file
    named ``._`` that is not AppleDouble is still read (or rejected) as before."""
    import logging

    import wfdb

    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    wfdb.wrsamp("r1", fs=500, units=["mV"] * 12, sig_name=ref.sig_name, p_signal=ref.p_signal, fmt=["16"] * 12,
                write_dir=str(tmp_path))
    for name in ("._r1.hea", "._r1.dat", "._1234567_20205_2_0.xml", "._P1.edf", "._P1.dcm"):
        (tmp_path / name).write_bytes(APPLE_DOUBLE)
    (tmp_path / "._odd.hea").write_text("not an AppleDouble file\n")
    with caplog.at_level(logging.INFO, logger="edfgen"):
        refs = discover_records([tmp_path])
    assert [(r.record_id, r.fmt) for r in refs] == [("._odd", "wfdb"), ("r1", "wfdb")]
    assert "skipped 4 macOS AppleDouble file(s)" in caplog.text
    np.testing.assert_allclose(read_record(refs[1]).signal, wfdb.rdrecord(str(tmp_path / "r1")).p_signal.T, atol=1e-6)


@pytest.mark.parametrize("units", [np.bytes_(b"uV"), np.array([b"uV"]), np.array(["uV"])], ids=["bytes", "bytes[1]",
                                                                                                "str[1]"])
def test_read_npz__units_stored_as_bytes_or_a_one_element_array_read_as_the_hdf5_reader_reads_them(shared_data,
                                                                                                   tmp_path, units):
    """``np.savez(..., units=b"uV")`` (or a one-element array, as ``leads`` are stored) was rejected ("unknown signal
    units \\"np.bytes_(b'uV')\\"" / "\\"['uV']\\""), while the same attribute in HDF5 and byte-string lead names in
    .npz are decoded: read as microvolts, a real PTB-XL record equal to wfdb."""
    import wfdb

    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    np.savez(tmp_path / "p1.npz", signal=ref.p_signal.T * 1000, fs=500.0, leads=np.array(LEADS), units=units)
    rec = read_record(discover_records([tmp_path / "p1.npz"])[0])
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-6)


def test_read_hdf5__per_lead_units_that_differ_scale_each_lead_not_the_first_for_every_lead(shared_data, tmp_path):
    """An HDF5 ``units`` attribute of one unit per lead was read as its first value for every lead: limb leads in mV
    and chest leads in uV became chest leads 1000x too large (or, the other way round, 1000x too small: flat).
    Each lead is now scaled by its own unit (a real PTB-XL record, equal to wfdb)."""
    import h5py
    import wfdb

    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    sig = ref.p_signal.T.copy()
    for name, units in (("same", [b"mV"] * 12), ("mixed", [b"mV"] * 6 + [b"uV"] * 6)):
        (tmp_path / name).mkdir()
        with h5py.File(tmp_path / name / "p1.h5", "w") as f:
            ds = f.create_dataset("p1", data=np.vstack([sig[:6], sig[6:] * (1000.0 if name == "mixed" else 1.0)]))
            ds.attrs.update({"fs": 500.0, "leads": np.array([n.encode() for n in LEADS]), "units": np.array(units)})
        np.testing.assert_allclose(read_record(discover_records([tmp_path / name])[0]).signal, sig, atol=1e-6)


@pytest.mark.parametrize("store", ["npz", "hdf5"])
@pytest.mark.parametrize("case", ["uV + microvolts", "12 x uV + RESP in mmHg"])
def test_read_arrays__per_channel_units_of_one_voltage_or_beside_a_non_ecg_channel_are_read(shared_data, tmp_path,
                                                                                            store, case):
    """Was (after per-lead units were checked): 'units holds 2 different values' rejected records read right before:
    the same unit spelled twice ('uV' x 6, 'microvolts' x 6), and 12 leads in 'uV' beside a RESP channel in 'mmHg'
    (read with RESP dropped). Each channel now has its own unit: both read, in mV, equal to wfdb (a real PTB-XL
    record); RESP is dropped with a note, as in WFDB. A units array of another length than the channels rejects."""
    import h5py
    import wfdb

    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    uv = ref.p_signal.T * 1000.0
    if case == "uV + microvolts":
        data, leads, units = uv, list(LEADS), ["uV"] * 6 + ["microvolts"] * 6
    else:
        data, leads, units = np.vstack([uv, uv[:1] * 0.01]), [*LEADS, "RESP"], ["uV"] * 12 + ["mmHg"]
    for k, unit_list in enumerate((units, units[1:])):
        path = tmp_path / f"p{k}.{'npz' if store == 'npz' else 'h5'}"
        if store == "npz":
            np.savez(path, signal=data, fs=500.0, leads=np.array(leads), units=np.array(unit_list))
        else:
            with h5py.File(path, "w") as f:
                ds = f.create_dataset(f"p{k}", data=data)
                ds.attrs.update({"fs": 500.0, "leads": np.array([n.encode() for n in leads]),
                                 "units": np.array([u.encode() for u in unit_list])})
        if k == 0:
            rec = read_record(discover_records([path])[0])
            np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-6)
            assert rec.leads == tuple(LEADS)
            assert rec.notes == (("dropped channel(s) not in volts: RESP (mmHg)",) if "RESP" in case else ())
        else:
            with pytest.raises(RecordRejected) as e:
                read_record(discover_records([path])[0])
            assert f"units holds {len(unit_list)} values for {len(leads)} channels" in str(e.value)


def test_discover_records__an_appledouble_name_linked_to_a_fifo_does_not_hang(shared_data, tmp_path):
    """Was: the AppleDouble check opened every ``._NAME`` entry to read its magic, so ``._y.hea`` linked to a named
    pipe (FIFO) blocked the scan of the folder for ever (the open waits for a writer). Only a regular file is opened
    now; the link is passed over as a link to anything but a regular file always was, the real record beside it read."""
    import os
    import threading

    import wfdb

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    wfdb.wrsamp("r1", fs=500, units=["mV"] * 12, sig_name=ref.sig_name, p_signal=ref.p_signal, fmt=["16"] * 12,
                write_dir=str(ecg))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (ecg / "._y.hea").symlink_to(fifo)
    found: list = []
    scan = threading.Thread(target=lambda: found.extend(discover_records([ecg])), daemon=True)
    scan.start()
    scan.join(timeout=10)
    if scan.is_alive():   # let the blocked open return (a writer appears), then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        scan.join(timeout=10)
        pytest.fail("discover_records blocked on a ._NAME link to a FIFO")
    assert [r.record_id for r in found] == ["r1"]
    np.testing.assert_allclose(read_record(found[0]).signal, wfdb.rdrecord(str(ecg / "r1")).p_signal.T, atol=1e-6)


def _wfdb2mat(shared_data: Path, folder: Path, monkeypatch) -> Path:
    """PTB-XL 00001_hr converted by wfdb-python's ``wfdb_to_mat`` (the ``wfdb2mat`` of WFDB >= 10.5.25: MAT v5,
    ``val`` int16 [12 x 5000] from byte 192, header ``00001_hrm.mat 16x1+192``), its checksums set to 0 (unset:
    not checked, so only the matrix check stands between a wrong file and a silent misread)."""
    from wfdb.io.convert.matlab import wfdb_to_mat

    monkeypatch.chdir(folder)
    wfdb_to_mat(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    hea = folder / "00001_hrm.hea"
    hea.write_text(_no_checksums(hea.read_text(), "zero"))
    return hea


@pytest.mark.parametrize("saved", ["wfdb2mat", "scipy v5 int16"])
def test_read_wfdb__a_mat_v5_file_as_wfdb2mat_writes_it_reads_as_wfdb(shared_data, tmp_path, monkeypatch, capsys,
                                                                        saved):
    """Was: ``wfdb2mat`` of WFDB >= 10.5.25 (and wfdb-python's ``wfdb_to_mat``) write the ``.mat`` as MAT v5 (a
    192-byte prolog, then ``val`` int16 [signals x samples]; header ``16+192``), which ``wfdb.rdrecord`` reads
    exactly; the check for MATLAB v4 rejected it ("a MATLAB v5/v7 file"), the record lost. A v5 file is now read when
    the data tag ending at the header's byte offset is the format's type, long enough, and the matrix is
    [signals x >= samples]; ``scipy.io.savemat`` v5 (its name in a 4-byte element: samples from byte 184) too."""
    import scipy.io
    import wfdb

    hea = _wfdb2mat(shared_data, tmp_path, monkeypatch)
    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    if saved == "scipy v5 int16":
        val = np.frombuffer((tmp_path / "00001_hrm.mat").read_bytes()[192:], dtype="<i2").reshape(5000, 12).T
        scipy.io.savemat(tmp_path / "00001_hrm.mat", {"val": val}, format="5")
        hea.write_text(hea.read_text().replace("16x1+192", "16x1+184"))
    assert np.abs(wfdb.rdrecord(str(tmp_path / "00001_hrm")).p_signal - ref.p_signal).max() == 0
    np.testing.assert_allclose(read_wfdb(hea).signal, ref.p_signal.T, atol=1e-6)


@pytest.mark.parametrize("saved", ["double", "transposed", "compressed", "offset 184", "big-endian"])
def test_read_wfdb__a_mat_v5_file_that_is_not_the_matrix_its_header_reads_is_a_reject(shared_data, tmp_path,
                                                                                       monkeypatch, saved):
    """The v5 checks reject what would be misread (checksums unset): ``val`` saved as doubles, transposed
    [5000 x 12], compressed (MATLAB's default -v7), or a header reading from another byte than the data's."""
    import scipy.io

    hea = _wfdb2mat(shared_data, tmp_path, monkeypatch)
    mat = tmp_path / "00001_hrm.mat"
    val = np.frombuffer(mat.read_bytes()[192:], dtype="<i2").reshape(5000, 12).T
    if saved in ("double", "transposed", "compressed"):
        arr = {"double": val.astype(float), "transposed": val.T.copy(), "compressed": val}[saved]
        scipy.io.savemat(mat, {"val": arr}, format="5", do_compression=saved == "compressed")
        hea.write_text(hea.read_text().replace("16x1+192", "16x1+184"))
    elif saved == "offset 184":
        hea.write_text(hea.read_text().replace("16x1+192", "16x1+184"))
    else:
        mat.write_bytes(mat.read_bytes()[:126] + b"MI" + mat.read_bytes()[128:])
    with pytest.raises(RecordRejected) as e:
        read_wfdb(hea)
    msg = str(e.value)
    assert "\n" not in msg and "\\x00" not in msg and "00001_hrm.mat is not the MATLAB matrix of int16 [12 x 5000]" in msg, msg
    assert {"double": "double", "transposed": "[5000 x 12]", "compressed": "compressed", "offset 184": "byte 184",
            "big-endian": "big-endian"}[saved] in msg, msg


def _ptbxl_digital(shared_data: Path):
    import wfdb

    return wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"), physical=False)


@pytest.mark.parametrize("fmt", ["16", "212"])     # the fast path, and wfdb.rdrecord's
def test_read_wfdb__a_signal_file_longer_than_its_header_whose_checksums_pass_is_read(shared_data, tmp_path, fmt):
    """Was: a ``.dat`` holding 100 frames more than its header's samples was rejected as "longer than its header
    says" although the header's (non-zero) checksums match its first samples: a header cropped to its first
    samples, the frames aligned. Read now, as ``wfdb.rdrecord`` reads it (in format 212 too, where the checksums are
    compared after ``wfdb.rdrecord``); the same file under a header listing 12 of its 15 signals, with the 15-signal
    header's checksums, fails them and is still a reject."""
    import wfdb

    ref = _ptbxl_digital(shared_data)
    d = np.hstack([ref.d_signal, ref.d_signal[:, :3] // 2]) if fmt == "212" else ref.d_signal
    names = list(ref.sig_name) + (["vx", "vy", "vz"] if fmt == "212" else [])
    n = d.shape[1]
    wfdb.wrsamp("r", fs=500, units=["mV"] * n, sig_name=names, d_signal=d, fmt=[fmt] * n, adc_gain=[1000.0] * n,
                baseline=[0] * n, write_dir=str(tmp_path))
    hea, dat = tmp_path / "r.hea", tmp_path / "r.dat"
    full = hea.read_text().splitlines()
    if fmt == "212":   # the 12 leads alone, in their own file, then the 15-signal file under a 12-line header
        (tmp_path / "twelve").mkdir()
        wfdb.wrsamp("r", fs=500, units=["mV"] * 12, sig_name=names[:12], d_signal=d[:, :12], fmt=[fmt] * 12,
                    adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path / "twelve"))
        shutil.move(dat, tmp_path / "r15.dat")
        hea, dat = tmp_path / "twelve" / "r.hea", tmp_path / "twelve" / "r.dat"
    frame = dat.stat().st_size // ref.sig_len
    dat.write_bytes(dat.read_bytes() + dat.read_bytes()[:100 * frame])
    np.testing.assert_allclose(read_wfdb(hea).signal, wfdb.rdrecord(str(hea.with_suffix(""))).p_signal.T, atol=1e-6)
    if fmt == "212":
        (tmp_path / "r.hea").write_text("\n".join([f"r 12 500 {ref.sig_len}"] + full[1:13]) + "\n")
        shutil.move(tmp_path / "r15.dat", tmp_path / "r.dat")
        with pytest.raises(RecordRejected) as e:
            read_wfdb(tmp_path / "r.hea")
        assert "r.dat is longer than its header says and fails the header's checksum on signal line" in str(e.value)


def test_read_wfdb__a_mat_file_of_more_columns_than_its_header_has_samples_is_read(shared_data, tmp_path):
    """Was: a CinC ``.mat`` (real E07500) whose MATLAB v4 matrix has 100 columns more than the header's samples,
    its rows the header's 12 signals (a header cropped to its first samples, checksums unset), was rejected as
    "longer than its header says"; the matrix header proves the frames aligned: read, as the original."""
    import scipy.io

    src = shared_data / "ecg" / "cinc2021" / "E07500"
    val = scipy.io.loadmat(f"{src}.mat")["val"]
    (tmp_path / "E07500.hea").write_text(_no_checksums((src.parent / "E07500.hea").read_text(), "zero"))
    scipy.io.savemat(tmp_path / "E07500.mat", {"val": np.hstack([val, val[:, :100]])}, format="4")
    np.testing.assert_allclose(read_wfdb(tmp_path / "E07500.hea").signal, read_wfdb(f"{src}.hea").signal)


def _pack_310(x: np.ndarray, pad: bool) -> bytes:
    """WFDB format 310 (signal(5)): 3 ten-bit samples in two little-endian 16-bit words, the first two in bits 1-10
    of each word, the third's low and high 5 bits in bits 11-15 of the first and second; ``pad``: a last group of
    one sample written whole (4 bytes) rather than as its first word (2 bytes, as WFDB writes it)."""
    y = np.zeros(-(-len(x) // 3) * 3, dtype=np.int64)
    y[:len(x)] = x.astype(np.int64) & 0x3FF
    a, b, c = y[0::3], y[1::3], y[2::3]
    words = np.empty(2 * len(a), dtype="<u2")
    words[0::2], words[1::2] = (a << 1) | ((c & 0x1F) << 11), (b << 1) | ((c >> 5) << 11)
    out = words.tobytes()
    return out[:-2] if len(x) % 3 == 1 and not pad else out


def test_read_wfdb__format_310_files_with_their_last_group_of_samples_padded_are_read(shared_data, tmp_path):
    """Was: 12 one-signal format-310 files of a real PTB-XL record (4999 samples: 1666 groups of 3 and one sample),
    the last group written whole (6668 bytes, not 6666), were rejected as "longer than its header says ... 1.33333
    bytes a frame". The size check now rounds up to the format's groups (4 bytes per 3 samples); read as wfdb reads
    it, and as the unpadded files."""
    import wfdb

    d = np.clip(_ptbxl_digital(shared_data).d_signal[:4999] // 8, -511, 511)
    for pad in (False, True):
        folder = tmp_path / f"pad{int(pad)}"
        folder.mkdir()
        lines = ["r 12 500 4999"]
        for i, lead in enumerate(LEADS):
            (folder / f"r_{i}.dat").write_bytes(_pack_310(d[:, i], pad))
            lines.append(f"r_{i}.dat 310 125/mV 10 0 0 0 0 {lead}")
        (folder / "r.hea").write_text("\n".join(lines) + "\n")
        assert (folder / "r_0.dat").stat().st_size == (6668 if pad else 6666)
        assert np.array_equal(wfdb.rdrecord(str(folder / "r"), physical=False).d_signal, d)   # the packing is 310's
        np.testing.assert_allclose(read_wfdb(folder / "r.hea").signal, d.T / 125, atol=1e-6)


@pytest.mark.parametrize("store", ["npz", "hdf5"])
def test_read_arrays__units_holding_a_latin1_micro_sign_are_microvolts(shared_data, tmp_path, store):
    """Was: units written as the Latin-1 byte 0xB5 + 'V' (``np.savez(units=b'\\xb5V')``, an HDF5 attribute of those
    bytes, which h5py returns as '\\udcb5V') were 'unreadable .npz (UnicodeDecodeError ...)' or 'unknown signal
    units'. Decoded as UTF-8, else Latin-1 (as the EDF and WFDB header readers do): microvolts (real PTB-XL record)."""
    import h5py
    import wfdb

    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    path = tmp_path / f"p1.{'npz' if store == 'npz' else 'h5'}"
    if store == "npz":
        np.savez(path, signal=ref.p_signal.T * 1000, fs=500.0, leads=np.array(LEADS), units=b"\xb5V")
    else:
        with h5py.File(path, "w") as f:
            ds = f.create_dataset("p1", data=ref.p_signal.T * 1000)
            ds.attrs.update({"fs": 500.0, "leads": np.array([n.encode() for n in LEADS]), "units": b"\xb5V"})
    np.testing.assert_allclose(read_record(discover_records([path])[0]).signal, ref.p_signal.T, atol=1e-6)
