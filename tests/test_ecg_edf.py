"""EDF / EDF+ / BDF ECGs (edfgen.formats.ecg.edf), checked against independent references: real PTB-XL and CinC 2021
records written as EDF by ``wfdb.io.convert.edf.wfdb_to_edf`` and by a writer of the specs of our own
(``fuzz_ecg_cases.write_edf``), read back and compared with the physical signal ``wfdb.rdrecord`` reads from WFDB."""

from __future__ import annotations

import numpy as np
import pytest

from edfgen.formats.ecg.edf import is_edf, read_edf
from edfgen.formats.ecg.records import RecordRejected, discover_records, read_record, read_records
from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.leads import canonicalise_leads
from fuzz_ecg_cases import annotations_channel, edf_channel, write_edf

PTBXL = ("ecg", "ptbxl", "records500", "00000", "00001_hr")
CINC = ("ecg", "cinc2021", "E07500")


def _wfdb(shared_data, parts):
    import wfdb

    rec = wfdb.rdrecord(str(shared_data.joinpath(*parts)))
    return rec, rec.p_signal.T.astype(np.float64)


def _channels(sig_mv, names, *, unit="mV", lo=-10.0, hi=10.0, bits=16, spr=500, prefix="ECG "):
    """The leads of ``sig_mv`` ``[L, T]`` as EDF signals in ``unit`` over the physical range ``lo..hi`` mV."""
    per = {"mV": 1.0, "uV": 1000.0, "\u00b5V": 1000.0, "V": 1e-3}[unit]
    d = 2 ** (bits - 1)
    return [edf_channel(f"{prefix}{n}", unit, row * per, lo * per, hi * per, -d, d - 1, spr)
            for n, row in zip(names, sig_mv)]


def _step(lo=-10.0, hi=10.0, bits=16) -> float:
    """One count in mV."""
    return (hi - lo) / (2 ** bits - 1)


def reason(path) -> str:
    with pytest.raises(RecordRejected) as e:
        read_edf(path)
    assert "\n" not in str(e.value) and e.value.record_id == path.stem
    return e.value.reason


@pytest.mark.parametrize("unit", ["uV", "mV", "\u00b5V"])
def test_read_edf__real_ptbxl_written_by_our_writer_equals_wfdb(shared_data, tmp_path, unit):
    """A real PTB-XL record (labels ``ECG I`` ... ``ECG AVR``) in uV (also spelt with the Latin-1 micro sign) or mV
    reads as wfdb reads it, to half a count."""
    ref, sig = _wfdb(shared_data, PTBXL)
    path = write_edf(tmp_path / "00001_hr.edf", _channels(sig, ref.sig_name, unit=unit))
    rec = read_edf(path)
    assert rec.record_id == "00001_hr" and rec.fs == 500.0 and rec.signal.dtype == np.float32
    c = canonicalise_leads(rec)
    assert c.leads == LEADS and not c.notes
    np.testing.assert_allclose(c.signal, sig, atol=_step() / 2 + 1e-6)
    assert np.abs(c.signal - sig).max() > 1e-5            # quantised to 20 mV / 65535, not a copy


@pytest.mark.parametrize("parts", [PTBXL, CINC], ids=["ptbxl", "cinc2021"])
def test_read_edf__files_written_by_wfdb_to_edf_equal_wfdb(shared_data, tmp_path, parts):
    """``wfdb_to_edf`` (the PhysioNet converter) output reads back as rdrecord's signal to one count (1 uV at
    gain 1000/mV). wfdb_to_edf always appends one more data record at the digital minimum: those samples read as
    the physical minimum."""
    from wfdb.io.convert.edf import wfdb_to_edf

    ref, sig = _wfdb(shared_data, parts)
    out = tmp_path / f"{parts[-1]}.edf"
    wfdb_to_edf(str(shared_data.joinpath(*parts)), output_filename=str(out))
    rec = canonicalise_leads(read_edf(out))
    assert rec.leads == LEADS and rec.fs == ref.fs
    n = sig.shape[1]
    np.testing.assert_allclose(rec.signal[:, :n], sig, atol=1e-3 / 2 + 1e-5)
    assert rec.signal.shape[1] == n + int(ref.fs)
    np.testing.assert_allclose(rec.signal[:, n:], -32.768, atol=1e-5)


def test_read_bdf__24_bit_real_cinc_record_equals_wfdb(shared_data, tmp_path):
    """BDF (BioSemi 24-bit) of a real CinC 2021 record over +-50 mV (step 6 nV) reads as wfdb reads it; negative
    samples prove the 24-bit sign extension. Labels ``EKG I`` ... (German exports) are the leads."""
    ref, sig = _wfdb(shared_data, CINC)
    path = write_edf(tmp_path / "E07500.bdf", _channels(sig, ref.sig_name, unit="uV", lo=-50, hi=50, bits=24,
                                                        prefix="EKG "), bdf=True)
    assert is_edf(path)
    rec = canonicalise_leads(read_edf(path))
    assert rec.leads == LEADS and rec.fs == 500.0 and (sig < -0.1).any()
    np.testing.assert_allclose(rec.signal, sig, atol=_step(-50, 50, 24) / 2 + 2e-6)


def test_read_edf__formula_on_raw_counts_with_an_inverted_range_and_a_offset_digital_range(tmp_path):
    """physical = (digital - dmin) * (pmax - pmin) / (dmax - dmin) + pmin per signal, checked on the raw counts:
    an unsigned-style digital range 0..4095 and an inverted physical range (pmax < pmin) on different leads."""
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 4096, (12, 2500))
    chans = [{"label": n, "dimension": "mV", "pmin": -5, "pmax": 5, "dmin": 0, "dmax": 4095, "spr": 250,
              "digital": c} for n, c in zip(LEADS, counts)]
    chans[1] = {**chans[1], "pmin": 3000, "pmax": -3000, "dimension": "uV"}
    rec = read_edf(write_edf(tmp_path / "raw.edf", chans, duration=0.5))
    assert rec.fs == 500.0
    np.testing.assert_allclose(rec.signal[0], counts[0] * 10 / 4095 - 5, atol=1e-6)
    np.testing.assert_allclose(rec.signal[1], (counts[1] * -6000 / 4095 + 3000) / 1000, atol=1e-6)
    chans[2] = {**chans[2], "written": {"pmin": "-2,5", "pmax": "2,5"}}       # a decimal comma (some exporters)
    rec = read_edf(write_edf(tmp_path / "comma.edf", chans, duration=0.5))
    np.testing.assert_allclose(rec.signal[2], counts[2] * 5 / 4095 - 2.5, atol=1e-6)


def test_read_edf__extra_channels_and_annotations_left_out_with_notes(shared_data, tmp_path):
    """EDF+C with the 12 leads, a respiration channel (Ohm), a pleth channel in uV at 125 Hz, a right-sided lead
    V4R in mV at the leads' rate and an ``EDF Annotations`` channel: the leads read exactly as without them; the
    others dropped with notes (V4R by canonicalise_leads), the annotations silently."""
    ref, sig = _wfdb(shared_data, PTBXL)
    leads = _channels(sig, ref.sig_name)
    plain = canonicalise_leads(read_edf(write_edf(tmp_path / "plain.edf", leads)))
    extra = [edf_channel("Resp", "Ohm", sig[0], -10, 10, -32768, 32767, 500),
             edf_channel("Pleth", "uV", sig[1][::4] * 1000, -10000, 10000, -32768, 32767, 125),
             edf_channel("ECG V4R", "mV", sig[9], -10, 10, -32768, 32767, 500)]
    path = write_edf(tmp_path / "plus.edf", extra[:2] + leads[:6] + extra[2:] + leads[6:]
                     + [annotations_channel(10, 60)], reserved="EDF+C")
    rec = read_edf(path)
    assert rec.notes == ("dropped channel(s) not in volts: Resp (Ohm)",
                         "dropped channel(s) at another rate than the leads (500 Hz): Pleth (125 Hz)")
    assert len(rec.leads) == 13 and "ECG V4R" in rec.leads
    c = canonicalise_leads(rec)
    np.testing.assert_array_equal(c.signal, plain.signal)
    assert c.notes[-1] == "dropped channel(s) not among the 12 leads: ECG V4R"
    marker = edf_channel("Marker", "uV", sig[0], -10, 10, 0, 0, 500)           # dmin = dmax beside the leads
    rec = read_edf(write_edf(tmp_path / "marker.edf", leads + [marker]))
    assert rec.leads == tuple(f"ECG {n}" for n in ref.sig_name)
    assert rec.notes == ("dropped uncalibrated channel(s) (digital or physical range unreadable): Marker",)


def test_discover__edf_and_bdf_in_folders_and_by_name(shared_data, tmp_path):
    """``.edf``/``.bdf`` (any case) found in folders; a file given by name is read as EDF by its header whatever its
    extension (``.rec``: old EDF exports)."""
    ref, sig = _wfdb(shared_data, PTBXL)
    d = tmp_path / "ecgs"
    (d / "sub").mkdir(parents=True)
    write_edf(d / "a.edf", _channels(sig, ref.sig_name))
    write_edf(d / "sub" / "b.BDF", _channels(sig, ref.sig_name, bits=24), bdf=True)
    (d / "notes.rec").write_bytes((d / "a.edf").read_bytes())     # not listed in a folder
    assert [(r.record_id, r.fmt) for r in discover_records([d])] == [("a", "edf"), ("b", "edf")]
    (r,) = discover_records([d / "notes.rec"])
    assert r.fmt == "edf" and read_record(r).signal.shape == (12, 5000)
    assert not is_edf(shared_data.joinpath(*PTBXL).with_suffix(".hea"))


def test_read_edf__unknown_record_count_taken_from_the_file_length(shared_data, tmp_path):
    """``-1`` data records (a recording never closed): the whole records in the file are read, with a note."""
    ref, sig = _wfdb(shared_data, PTBXL)
    rec = read_edf(write_edf(tmp_path / "open.edf", _channels(sig, ref.sig_name), n_records=-1))
    assert rec.signal.shape == (12, 5000) and "-1" in rec.notes[0]
    raw = (tmp_path / "open.edf").read_bytes()
    (tmp_path / "open2.edf").write_bytes(raw[:-7])
    assert "not a whole number" in reason(tmp_path / "open2.edf")


def test_read_edf__bad_files_rejected_with_one_line_reasons(shared_data, tmp_path):
    ref, sig = _wfdb(shared_data, PTBXL)
    leads = _channels(sig, ref.sig_name)
    good = write_edf(tmp_path / "good.edf", leads).read_bytes()

    (tmp_path / "text.edf").write_text("not an EDF file at all" * 20)
    assert "not an EDF/BDF file" in reason(tmp_path / "text.edf")
    (tmp_path / "tiny.edf").write_bytes(good[:100])
    assert "only 100 bytes" in reason(tmp_path / "tiny.edf")
    (tmp_path / "head.edf").write_bytes(good[:1000])
    assert "truncated EDF header" in reason(tmp_path / "head.edf")
    (tmp_path / "trunc.edf").write_bytes(good[:-1000])                       # last data record cut
    assert "EDF file truncated" in reason(tmp_path / "trunc.edf")
    (tmp_path / "long.edf").write_bytes(good + b"\0" * 24000)                # two records more than declared
    assert "longer than its header says" in reason(tmp_path / "long.edf")
    write_edf(tmp_path / "size.edf", leads, header_bytes=3072)
    assert "header size 3072 disagrees with its 12 signals" in reason(tmp_path / "size.edf")
    write_edf(tmp_path / "disc.edf", leads, reserved="EDF+D")
    assert "EDF+D (discontinuous) without an annotation signal" in reason(tmp_path / "disc.edf")
    write_edf(tmp_path / "zero.edf", leads, n_records=0)
    assert "0 data records" in reason(tmp_path / "zero.edf")
    flat = [dict(c) for c in leads]
    flat[4]["dmax"] = flat[4]["dmin"]
    write_edf(tmp_path / "flat.edf", flat)
    assert reason(tmp_path / "flat.edf") == ("EDF signal 'ECG AVL': digital minimum = maximum (-32768): its "
                                             "amplitude cannot be calibrated")
    for key, value, match in (("pmin", "abc", "physical minimum of signal 'ECG I' 'abc' is not a number"),
                              ("dmax", "nan", "digital maximum of signal 'ECG I' 'nan' is not a number"),
                              ("pmax", "1e400", "physical maximum of signal 'ECG I' '1e400' is not finite"),
                              ("spr", "5OO", "samples per data record of signal 'ECG I' '5OO' is not an integer")):
        bad = [dict(c) for c in leads]
        bad[0]["written"] = {key: value}
        write_edf(tmp_path / "num.edf", bad)
        assert match in reason(tmp_path / "num.edf")
    write_edf(tmp_path / "dur.edf", leads, duration="x")
    assert "duration of a data record 'x'" in reason(tmp_path / "dur.edf")
    rates = leads[:6] + _channels(sig[6:, ::2], ref.sig_name[6:], spr=250)
    write_edf(tmp_path / "rates.edf", rates)
    assert "leads at different sampling rates (ECG I 500 Hz" in reason(tmp_path / "rates.edf")
    mmhg = [dict(c) for c in leads]
    mmhg[7]["dimension"] = "mmHg"
    write_edf(tmp_path / "unit.edf", mmhg)
    assert "EDF lead 'ECG V2': physical dimension 'mmHg'" in reason(tmp_path / "unit.edf")
    nolead = [edf_channel("Resp", "Ohm", sig[0], -10, 10, -32768, 32767, 500)]
    write_edf(tmp_path / "resp.edf", nolead)
    assert "no signal in volts" in reason(tmp_path / "resp.edf")
    huge = [dict(c) for c in leads]
    huge[0].update(pmin=-1e300, pmax=1e300, dmin=-1, dmax=1, dimension="V")
    write_edf(tmp_path / "huge.edf", huge)
    assert "amplitudes overflow" in reason(tmp_path / "huge.edf")


def test_read_edf__discontinuous_longest_gap_free_stretch_read_with_a_note(shared_data, tmp_path):
    """EDF+D / BDF+D (a recording paused and resumed): data records placed by their time-keeping onsets; the
    longest gap-free stretch is read, equal to those records of the continuous file, with a note naming the
    stretches; an EDF+D without gaps reads whole like EDF+C; overlapping records or a record without its onset
    reject the file naming the data record (was: every EDF+D rejected)."""
    ref, sig = _wfdb(shared_data, PTBXL)
    sig3 = np.tile(sig, 3)                                          # 30 s: 30 data records of 1 s
    onsets = [*range(0, 8), *range(20, 32), *range(40, 50)]         # 8 s, gap 12 s, 12 s, gap 8 s, 10 s
    for bdf, bits in ((False, 16), (True, 24)):
        leads = _channels(sig3, ref.sig_name, bits=bits)
        whole = read_edf(write_edf(tmp_path / f"c{bits}.edf", leads, bdf=bdf))
        disc = write_edf(tmp_path / f"d{bits}.edf", leads + [annotations_channel(30, 60, bdf=bdf, onsets=onsets)],
                         bdf=bdf, reserved="BDF+D" if bdf else "EDF+D")
        rec = read_edf(disc)
        np.testing.assert_array_equal(rec.signal, whole.signal[:, 8 * 500:20 * 500])
        kind = "BDF+D" if bdf else "EDF+D"
        assert rec.notes == (f"{kind}: 30 data records in 3 continuous stretches (longest 12 s, gaps 20 s in all); "
                             "read the longest, +20 to +32 s",)
    leads = _channels(sig3, ref.sig_name)
    nogap = read_edf(write_edf(tmp_path / "nogap.edf", leads + [annotations_channel(30, 60, onsets=[
        t + 0.5 for t in range(30)])], reserved="EDF+D"))
    assert nogap.notes == () and nogap.signal.shape == (12, 15000)
    bad = {"overlap.edf": ([*range(0, 10), 9.5, *range(11, 30)], "data record 11 starts at +9.5 s, before data "
                                                                  "record 10 ends (+10 s)"),
           "no_onset.edf": ([*range(0, 4), None, *range(5, 30)], "EDF+D data record 5: no time-keeping annotation"),
           "inf.edf": ([*range(0, 6), "+" + "9" * 320, *range(7, 30)], "EDF+D data record 7: onset +999")}
    for name, (ons, match) in bad.items():
        write_edf(tmp_path / name, leads + [annotations_channel(30, 200, onsets=ons)], reserved="EDF+D")
        assert match in reason(tmp_path / name)


def test_read_records__edf_reject_names_the_file_and_the_batch_goes_on(shared_data, tmp_path):
    """A broken EDF beside a good one: the good one is read, the broken one is a reject with its path and stem."""
    ref, sig = _wfdb(shared_data, PTBXL)
    write_edf(tmp_path / "P1.edf", _channels(sig, ref.sig_name))
    (tmp_path / "P2.edf").write_bytes((tmp_path / "P1.edf").read_bytes()[:5000])
    ok, bad = read_records(discover_records([tmp_path]))
    assert ok.record_id == "P1" and isinstance(bad, RecordRejected)
    assert bad.record_id == "P2" and bad.path.endswith("P2.edf") and "truncated" in bad.reason


def test_cli_extract__folder_of_edf_end_to_end(shared_data, tmp_path):
    """`edfgen extract` on a folder of EDF/BDF files and a broken one: two participants with finite features (the
    EDF and BDF copies of one record give the same features), the broken file in the rejects file."""
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
    ref, sig = _wfdb(shared_data, PTBXL)
    d = tmp_path / "edf"
    d.mkdir()
    write_edf(d / "P0001.edf", _channels(sig, ref.sig_name) + [annotations_channel(10, 30)], reserved="EDF+C")
    write_edf(d / "P0002.bdf", _channels(sig, ref.sig_name, bits=24), bdf=True)
    write_edf(d / "P0003.edf", _channels(sig, ref.sig_name), reserved="EDF+D")
    out = tmp_path / "o" / "edfs.tsv"
    r = CliRunner().invoke(cli, ["extract", "--ecg", str(d), "--out", str(out), "--checkpoint", str(ckpt),
                                 "--workers", "0", "-q"])
    assert r.exit_code == 0, r.output
    got = pd.read_csv(out, sep="\t", dtype={"IID": str})
    assert list(got["IID"]) == ["P0001", "P0002"]
    x = got.drop(columns="IID").to_numpy()
    assert np.isfinite(x).all() and np.allclose(x[0], x[1], atol=1e-3)
    rejects = pd.read_csv(out.parent / "edfs.tsv.rejects.tsv", sep="\t", dtype=str)
    assert list(rejects["record"]) == ["P0003"] and "EDF+D" in rejects["reason"].iloc[0]


def test_cli_extract__default_checkpoint_gives_the_same_edfs_from_edf_as_from_wfdb(shared_data, tmp_path):
    """The shipped default encoder on a real PTB-XL record as WFDB and as EDF (16-bit over -10..10 mV, 0.3 uV a
    count): the same participant, the same EDFs to quantisation noise (the format changes nothing downstream)."""
    import shutil

    import pandas as pd
    from click.testing import CliRunner

    from edfgen.cli import cli

    ref, sig = _wfdb(shared_data, PTBXL)
    src = shared_data.joinpath(*PTBXL)
    (tmp_path / "wfdb").mkdir()
    shutil.copy(src.with_suffix(".dat"), tmp_path / "wfdb" / "00001_hr.dat")
    shutil.copy(src.with_suffix(".hea"), tmp_path / "wfdb" / "00001_hr.hea")
    (tmp_path / "edf").mkdir()
    write_edf(tmp_path / "edf" / "00001_hr.edf", _channels(sig, ref.sig_name) + [annotations_channel(10, 30)],
              reserved="EDF+C")
    tables = []
    for kind in ("wfdb", "edf"):
        out = tmp_path / f"o_{kind}" / "edfs.tsv"
        r = CliRunner().invoke(cli, ["extract", "--ecg", str(tmp_path / kind), "--out", str(out), "--workers", "0",
                                     "-q"])
        assert r.exit_code == 0, r.output
        tables.append(pd.read_csv(out, sep="\t", dtype={"IID": str}))
    wfdb_t, edf_t = tables
    assert list(edf_t["IID"]) == list(wfdb_t["IID"]) == ["00001_hr"] and list(edf_t.columns) == list(wfdb_t.columns)
    a, b = wfdb_t.drop(columns="IID").to_numpy(), edf_t.drop(columns="IID").to_numpy()
    assert np.isfinite(a).all() and a.std() > 0.1
    np.testing.assert_allclose(b, a, atol=0.002 * a.std())         # measured: 3.6e-4 (std 0.71)


@pytest.mark.parametrize("lead", [0, 7], ids=["lead I (8-lead: derived limb leads)", "V2"])
def test_read_edf__physical_minimum_equal_to_maximum_on_a_lead_is_a_reject(shared_data, tmp_path, lead):
    """A lead whose physical minimum equals its physical maximum has no calibration (its counts map to one value):
    it was read as a constant lead at that value (-10 mV here), zeroed as a tolerated flat lead, and, on lead I of an
    8-lead file, turned the derived III, aVR, aVL and aVF into II alone, silently. Like a digital range of 0 it now
    rejects the record naming the signal; the same channel beside the leads is still dropped with a note."""
    ref, sig = _wfdb(shared_data, PTBXL)
    keep = [0, 1, 6, 7, 8, 9, 10, 11] if lead == 0 else list(range(12))
    chans = _channels(sig[keep], [ref.sig_name[i] for i in keep])
    chans[keep.index(lead)]["written"] = {"pmax": "-10"}                    # pmin -10 = pmax -10
    write_edf(tmp_path / "same.edf", chans)
    label = chans[keep.index(lead)]["label"]
    assert reason(tmp_path / "same.edf") == (f"EDF signal {label!r}: physical minimum = maximum (-10): its "
                                             "amplitude cannot be calibrated")
    marker = edf_channel("ECG V4R", "uV", sig[0] * 1000, -10000, 10000, -32768, 32767, 500)
    marker["written"] = {"pmin": "0", "pmax": "0"}
    write_edf(tmp_path / "beside.edf", _channels(sig, ref.sig_name) + [marker])
    rec = canonicalise_leads(read_edf(tmp_path / "beside.edf"))
    assert "dropped uncalibrated channel(s) (digital or physical range unreadable): ECG V4R" in rec.notes
    np.testing.assert_allclose(rec.signal, sig, atol=_step() / 2 + 1e-6)


def test_read_edf__micro_sign_written_in_utf_8_reads_as_microvolts(shared_data, tmp_path):
    """EDF headers are ASCII (Latin-1 in practice); a writer that puts ``µV`` in UTF-8 leaves the bytes C2 B5 56,
    not ``ÂµV`` (an unknown dimension, a reject): read as microvolts, equal to wfdb (checked in s42, already so)."""
    ref, sig = _wfdb(shared_data, PTBXL)
    chans = _channels(sig, ref.sig_name, unit="uV")
    for c in chans:
        c["dimension"] = "\u00b5V".encode("utf-8").decode("latin-1")       # written back as the bytes C2 B5 56
    rec = canonicalise_leads(read_edf(write_edf(tmp_path / "u.edf", chans)))
    np.testing.assert_allclose(rec.signal, sig, atol=_step() / 2 + 1e-6)
