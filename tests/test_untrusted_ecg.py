"""Issue 19 (ECG readers and checkpoints): every ECG file and checkpoint a user hands edfgen is used
completely and correctly, or is a reject with its reason (batch) / a one-line error (checkpoint).

One test per defect of the issue's Why list (names say which), plus the CinC 2020 record line on the real
Georgia files. Random mutations of every reader are in ``test_fuzz_ecg.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import CheckpointError
from edfgen.formats.ecg.records import RecordRejected, discover_records, read_record, read_records, read_wfdb
from edfgen.kernels.ecg import LEADS

REPO = Path(__file__).resolve().parents[1]


def _wfdb(folder: Path, name: str, *, signal_file: str | None = None, seed: int = 0) -> np.ndarray:
    """A 10 s 12-lead format-16 WFDB record written by hand (header + .dat); returns the counts [12, T]."""
    rng = np.random.default_rng(seed)
    t = np.arange(5000) / 500
    counts = np.round((np.sin(2 * np.pi * 1.1 * t)[None] * rng.uniform(0.3, 1.2, (12, 1))
                       + 0.05 * rng.standard_normal((12, 5000))) * 1000).astype("<i2")
    dat = signal_file or f"{name}.dat"
    target = Path(dat) if Path(dat).is_absolute() else folder / dat
    target.parent.mkdir(parents=True, exist_ok=True)
    counts.T.tofile(target)
    lines = [f"{name} 12 500 5000"] + [f"{dat} 16 1000/mV 16 0 0 0 0 {lead}" for lead in LEADS]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return counts


def _read_all(folder: Path) -> dict:
    """record id -> the record read, or its reject reason."""
    got = {}
    for ref in discover_records([folder]):
        try:
            got[ref.record_id] = read_record(ref)
        except RecordRejected as exc:
            got[ref.record_id] = exc.reason
    return got


# --------------------------------------------------------------------------- Why: reads outside the folder
def test_why_wfdb_signal_file_outside_folder__rejected_never_read(tmp_path: Path):
    ecg = tmp_path / "ecg"
    ecg.mkdir()
    _wfdb(ecg, "GOOD")
    _wfdb(ecg, "UP", signal_file="../outside_up.dat")
    _wfdb(ecg, "ABS", signal_file=str(tmp_path / "outside_abs.dat"))
    _wfdb(tmp_path, "SRC")  # a symlinked signal file whose target lies outside
    _wfdb(ecg, "LINK")
    (ecg / "LINK.dat").unlink()
    (ecg / "LINK.dat").symlink_to(tmp_path / "SRC.dat")
    (ecg / "sub").mkdir()
    _wfdb(ecg / "sub", "DOWN", signal_file="../GOOD.dat")  # ../ that stays inside the --ecg folder is fine
    got = _read_all(ecg)
    assert not isinstance(got["GOOD"], str) and not isinstance(got["DOWN"], str)
    np.testing.assert_array_equal(got["DOWN"].signal, got["GOOD"].signal)
    for rid, name in (("UP", "outside_up.dat"), ("ABS", "outside_abs.dat"), ("LINK", "SRC.dat")):
        assert isinstance(got[rid], str) and "outside the ECG folder" in got[rid] and name in got[rid], got[rid]
    assert "copy them into it rather than link them" in got["LINK"]    # review s32g: a folder of links to a sample
    # the fallback through wfdb.rdrecord (format 212 here) is confined too
    (ecg / "UP.hea").write_text((ecg / "UP.hea").read_text().replace(" 16 1000/mV", " 212 1000/mV"))
    with pytest.raises(RecordRejected, match="outside the ECG folder"):
        read_wfdb(ecg / "UP.hea", root=ecg)


def test_why_hdf5_external_storage_and_links_outside_folder__rejected(tmp_path: Path):
    import h5py

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    sig = np.random.default_rng(1).standard_normal((12, 5000)).astype("<f4")
    sig.tofile(ecg / "inside.bin")
    sig.tofile(tmp_path / "outside.bin")
    with h5py.File(tmp_path / "other.h5", "w") as g:
        g["x"] = sig
    nbytes = sig.nbytes
    with h5py.File(ecg / "a.h5", "w") as f:
        f.attrs["fs"] = 500
        f.create_dataset("INSIDE", shape=sig.shape, dtype="<f4", external=[("inside.bin", 0, nbytes)])
        f.create_dataset("ESCAPE", shape=sig.shape, dtype="<f4", external=[("../outside.bin", 0, nbytes)])
        f.create_dataset("ABSOLUTE", shape=sig.shape, dtype="<f4", external=[(str(tmp_path / "outside.bin"), 0, nbytes)])
        f["LINKED"] = h5py.ExternalLink("../other.h5", "/x")
    (ecg / "sym.h5").symlink_to(tmp_path / "other.h5")
    cwd = os.getcwd()
    os.chdir(tmp_path)  # HDF5 would resolve external raw files against the working directory: not here
    try:
        out = _read_all(ecg)
    finally:
        os.chdir(cwd)
    np.testing.assert_array_equal(out["INSIDE"].signal, sig)  # external raw file inside the folder: used
    for rid in ("ESCAPE", "ABSOLUTE", "sym"):
        assert "outside the ECG folder" in out[rid], out[rid]
    assert "external link" in out["LINKED"] and "not followed" in out["LINKED"]


# --------------------------------------------------------------------------- Why: batch-enders
def _bad_files(ecg: Path) -> dict[str, str]:
    """Broken files of every reader, with a word their reject reason must contain."""
    import h5py

    from test_ecg_xml import write_muse

    sig = np.random.default_rng(2).standard_normal((12, 5000)) * 0.5
    (ecg / "EMPTYNPZ.npz").write_bytes(b"")
    (ecg / "JUNKNPZ.npz").write_bytes(np.random.default_rng(3).bytes(2000))
    np.savez(ecg / "CUTNPZ.npz", ecg=sig, fs=500)
    raw = (ecg / "CUTNPZ.npz").read_bytes()
    (ecg / "CUTNPZ.npz").write_bytes(raw[:len(raw) // 2])
    with h5py.File(ecg / "CUTH5.h5", "w") as f:
        f.attrs["fs"] = 500
        f["CUTH5"] = sig
    raw = (ecg / "CUTH5.h5").read_bytes()
    (ecg / "CUTH5.h5").write_bytes(raw[:len(raw) // 2])
    (ecg / "EMPTYH5.h5").write_bytes(b"")
    write_muse(ecg / "MUSEEXP.xml", sig, 500)
    text = (ecg / "MUSEEXP.xml").read_bytes().decode("latin-1")
    (ecg / "MUSEEXP.xml").write_bytes(text.replace("<SampleExponent>0</SampleExponent>",
                                                   "<SampleExponent>400</SampleExponent>").encode("latin-1"))
    _wfdb(ecg, "CUTDAT")
    (ecg / "CUTDAT.dat").write_bytes((ecg / "CUTDAT.dat").read_bytes()[:1000])
    (ecg / "EMPTYXML.xml").write_bytes(b"<RestingECG><Waveform>")
    return {"EMPTYNPZ": "npz", "JUNKNPZ": "npz", "CUTNPZ": "npz", "CUTH5": "HDF5", "EMPTYH5": "HDF5",
            "MUSEEXP": "SampleExponent", "CUTDAT": "truncated", "EMPTYXML": "XML"}


@pytest.fixture(scope="module")
def standin():
    from test_extract import StandInEncoder, StandInLoaded

    from edfgen.kernels.ecg.preprocessing_config import Preprocessing

    return StandInLoaded(StandInEncoder().eval(), Preprocessing())


def test_why_zero_byte_corrupt_npz_truncated_h5_muse_overflow__rejects_batch_goes_on(tmp_path: Path, standin):
    from edfgen.commands.extract import extract_edfs

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for i in range(3):
        _wfdb(ecg, f"GOOD{i}", seed=i)
    want = _bad_files(ecg)
    (ecg / "OUTSIDE.hea").write_text((ecg / "GOOD0.hea").read_text().replace("GOOD0.dat", "/etc/hostname"))
    want["OUTSIDE"] = "outside the ECG folder"
    for workers in (0, 1):
        res = extract_edfs([ecg], tmp_path / f"o{workers}" / "edfs.tsv", checkpoint=standin, batch_size=4,
                           workers=workers)
        edfs = pd.read_csv(res.table, sep="\t", dtype={"IID": str})
        assert sorted(edfs["IID"]) == ["GOOD0", "GOOD1", "GOOD2"]
        rej = pd.read_csv(res.rejects, sep="\t", dtype=str).set_index("record")
        assert set(rej.index) == set(want), rej
        for rid, word in want.items():
            reason = rej.loc[rid, "reason"]
            assert word.lower() in reason.lower() and "\n" not in reason, (rid, reason)
            assert "Traceback" not in reason


def test_why_corrupt_files_in_read_records__each_a_reject_with_reason(tmp_path: Path):
    ecg = tmp_path / "ecg"
    ecg.mkdir()
    want = _bad_files(ecg)
    items = read_records(discover_records([ecg]), fs=500.0)
    got = {it.record_id: it for it in items}
    assert set(got) == set(want)
    assert all(isinstance(it, RecordRejected) for it in items), [type(i) for i in items]


def test_why_muse_sample_exponent_overflow__reject_not_overflow_error(tmp_path: Path):
    from test_ecg_xml import write_muse

    from edfgen.formats.ecg.xml import read_muse

    sig = np.random.default_rng(4).standard_normal((12, 5000)) * 0.5
    for exp, word in (("400", "SampleExponent"), ("-400", "finite positive"), ("99999999999", "SampleExponent"),
                      ("1e3", "SampleExponent")):
        write_muse(tmp_path / "m.xml", sig, 500)
        text = (tmp_path / "m.xml").read_bytes().decode("latin-1")
        (tmp_path / "m.xml").write_bytes(text.replace("<SampleExponent>0</SampleExponent>",
                                                      f"<SampleExponent>{exp}</SampleExponent>").encode("latin-1"))
        with pytest.raises(RecordRejected, match=word):
            read_muse(tmp_path / "m.xml")


def test_why_wfdb_header_claims_more_samples_than_the_file__truncated_before_allocation(tmp_path: Path):
    _wfdb(tmp_path, "R")
    hea = (tmp_path / "R.hea").read_text()
    for nsamp, word in (("5001", "truncated"), ("99999999999999", "more than")):
        (tmp_path / "R.hea").write_text(hea.replace("R 12 500 5000", f"R 12 500 {nsamp}"))
        with pytest.raises(RecordRejected, match=word):
            read_wfdb(tmp_path / "R.hea")
    (tmp_path / "R.dat").write_bytes(b"")
    (tmp_path / "R.hea").write_text(hea)
    with pytest.raises(RecordRejected, match="truncated: 0 bytes"):
        read_wfdb(tmp_path / "R.hea")


# --------------------------------------------------------------------------- CinC 2020 record line
def test_read_wfdb__cinc2020_record_line_real_georgia_files(shared_data: Path):
    """The 40 Georgia headers of cinc2021_extra name the record ``E07520.mat`` (wfdb.rdrecord refuses them):
    both read paths accept them; the reference is scipy's MATLAB reader of the same ``val`` matrix."""
    import scipy.io
    import wfdb

    from edfgen.formats.ecg.records import _read_wfdb_full

    folder = shared_data / "ecg" / "cinc2021_extra"
    names = re.search(r"Records: (.*)\.", (folder / "README.md").read_text()).group(1).split(", ")
    assert len(names) == 40
    with pytest.raises(Exception):
        wfdb.rdrecord(str(folder / names[0]))  # the defect edfgen works around
    for i, name in enumerate(names):
        hea = (folder / f"{name}.hea").read_text().splitlines()
        assert hea[0].split()[0] == f"{name}.mat"
        gains = [float(ln.split()[2].split("/")[0]) for ln in hea[1:13]]
        zeros = [float(ln.split()[4]) for ln in hea[1:13]]
        ref = (scipy.io.loadmat(folder / f"{name}.mat")["val"] - np.array(zeros)[:, None]) / np.array(gains)[:, None]
        rec = read_wfdb(folder / f"{name}.hea")
        assert rec.fs == float(hea[0].split()[2]) and rec.leads == LEADS
        np.testing.assert_allclose(rec.signal, ref, atol=1e-6)
        if i % 10 == 0:  # the wfdb.rdrecord fallback (used for other storage formats) reads them too
            np.testing.assert_array_equal(_read_wfdb_full(folder / name).signal, rec.signal)


# --------------------------------------------------------------------------- checkpoints
def _copy_tiny(dst: Path) -> Path:
    from edfgen.model.checkpoint import PACKAGE_DIR

    dst.mkdir(parents=True, exist_ok=True)
    for suffix in (".json", ".safetensors"):
        shutil.copy(PACKAGE_DIR / f"tiny{suffix}", dst / f"tiny{suffix}")
    return dst / "tiny.json"


def _edit(meta: Path, fn) -> None:
    doc = json.loads(meta.read_text())
    fn(doc)
    meta.write_text(json.dumps(doc))


@pytest.mark.parametrize("entry", [".", "", "sub", "sub/", "./", "../tiny.safetensors", "/etc/hostname", 3])
def test_why_checkpoint_weights_entry_dot_folder_or_escaping__one_line_error(tmp_path: Path, entry):
    from edfgen.model.checkpoint import load_checkpoint

    meta = _copy_tiny(tmp_path / "ck")
    (meta.parent / "sub").mkdir()
    _edit(meta, lambda d: d.update(weights=entry))
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(meta)
    msg = str(err.value)
    assert "\n" not in msg and str(meta) in msg
    assert re.search(r"folder|file name|outside", msg), msg


@pytest.mark.parametrize("section,key,value,word", [
    ("preprocessing", "sampling_rate", -500, "sampling_rate"),
    ("preprocessing", "sampling_rate", 0, "sampling_rate"),
    ("preprocessing", "window_s", -10.0, "window_s"),
    ("preprocessing", "crop_s", 20.0, "crop_s"),
    ("preprocessing", "highpass_hz", 400.0, "highpass_hz"),
    ("preprocessing", "leads", [], "leads"),
    ("config", "width", -96, "width"),
    ("config", "depth", -1, "depth"),
    ("config", "heads", 0, "heads"),
    ("config", "input_scale_mv", 0.0, "input_scale_mv"),
    ("config", "dropout", 1.5, "dropout"),
    ("config", "conv_layers", [[32, 10, 0]], "stride"),
    ("config", "conv_layers", [], "conv_layers"),
    ("config", "width", 10 ** 9, "width"),
    ("config", "in_channels", 8, "in_channels"),
])
def test_why_checkpoint_negative_or_absurd_config_values__one_line_error(tmp_path: Path, section, key, value, word):
    from edfgen.model.checkpoint import load_checkpoint

    meta = _copy_tiny(tmp_path / "ck")
    _edit(meta, lambda d: d[section].update({key: value}))
    with pytest.raises(CheckpointError, match=word) as err:
        load_checkpoint(meta)
    assert "\n" not in str(err.value)


def test_why_checkpoint_architecture_checked_before_it_is_built(tmp_path: Path, monkeypatch):
    """A config whose weights would take ~19 GB is refused from the safetensors header: the encoder is only
    ever built on the meta device (no memory), never for real."""
    import torch

    import edfgen.model.checkpoint as ck

    built = []
    real_encoder = ck.ECGEncoder

    def spy(config):
        built.append(str(torch.get_default_device()))
        return real_encoder(config)

    monkeypatch.setattr(ck, "ECGEncoder", spy)
    meta = _copy_tiny(tmp_path / "ck")
    _edit(meta, lambda d: d["config"].update(width=4096, heads=16, ffn=16384, depth=20, mlm_depth=4,
                                            pos_conv_groups=16))
    with pytest.raises(CheckpointError, match="shape|missing key|unexpected key"):
        ck.load_checkpoint(meta)
    assert built == ["meta"]
    # a header promising more bytes than the file holds is refused before anything is read
    w = meta.parent / "tiny.safetensors"
    w.write_bytes(w.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        ck.read_safetensors_header(w)


_KILL_AFTER_FIRST_CHUNK = textwrap.dedent("""
    import os, signal, sys
    from edfgen.commands.extract import extract_edfs

    def die(chunk, n_done):
        os.kill(os.getpid(), signal.SIGKILL)

    extract_edfs([sys.argv[1]], sys.argv[2], checkpoint=sys.argv[3], batch_size=2, chunk_size=2, workers=0,
                 on_chunk=die)
""")


def test_why_checkpoint_config_edited_between_kill_and_rerun__no_stale_chunks(tmp_path: Path, shared_data: Path):
    from edfgen.commands.extract import extract_edfs

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for hea in sorted((shared_data / "ecg" / "cinc2021").glob("*.hea"))[:6]:
        shutil.copy(hea, ecg)
        shutil.copy(hea.with_suffix(".mat"), ecg)
    meta = _copy_tiny(tmp_path / "ck")
    out = tmp_path / "run" / "edfs.tsv"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", _KILL_AFTER_FIRST_CHUNK, str(ecg), str(out), str(meta)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    parts = out.with_name(out.name + ".parts")
    assert len(list(parts.glob("chunk_*.npz"))) == 1
    shutil.copytree(out.parent, tmp_path / "control")
    # control: the same checkpoint resumes the killed run's chunk
    assert extract_edfs([ecg], tmp_path / "control" / "edfs.tsv", checkpoint=meta, batch_size=2, chunk_size=2,
                        workers=0).resumed == 2
    # the config edited (weights and their sha256 unchanged): nothing of the killed run is reused
    _edit(meta, lambda d: d["config"].update(input_scale_mv=2.0))
    rerun = extract_edfs([ecg], out, checkpoint=meta, batch_size=2, chunk_size=2, workers=0)
    assert rerun.resumed == 0
    fresh = extract_edfs([ecg], tmp_path / "fresh" / "edfs.tsv", checkpoint=meta, batch_size=2, chunk_size=2,
                         workers=0)
    a, b = (pd.read_csv(p, sep="\t", dtype={"IID": str}) for p in (rerun.table, fresh.table))
    pd.testing.assert_frame_equal(a, b)
    control = pd.read_csv(tmp_path / "control" / "edfs.tsv", sep="\t", dtype={"IID": str})
    assert not np.allclose(control.iloc[:, 1:].to_numpy(), a.iloc[:, 1:].to_numpy())  # the edit matters


def test_why_xml_external_entity_or_fifo_signal_file__reject_nothing_read(tmp_path: Path):
    """XML references are never fetched (an external entity naming a file outside is a reject), and a
    WFDB signal file that is a pipe is refused instead of blocking the batch."""
    from edfgen.formats.ecg.xml import read_xml

    secret = tmp_path / "secret.txt"
    secret.write_text("500")
    ecg = tmp_path / "ecg"
    ecg.mkdir()
    (ecg / "X.xml").write_text(f'<?xml version="1.0"?>\n<!DOCTYPE RestingECG [<!ENTITY s SYSTEM "file://{secret}">]>\n'
                               "<RestingECG><Waveform><WaveformType>Rhythm</WaveformType>"
                               "<SampleBase>&s;</SampleBase></Waveform></RestingECG>\n")
    with pytest.raises(RecordRejected, match="malformed XML|undefined entity"):
        read_xml(ecg / "X.xml", "muse")
    _wfdb(ecg, "P")
    (ecg / "P.dat").unlink()
    os.mkfifo(ecg / "P.dat")
    with pytest.raises(RecordRejected, match="not a regular file"):
        read_wfdb(ecg / "P.hea")


@pytest.mark.parametrize("comment", [b"# Befund: Sinusrhythmus\x85 normal\n", b"# a\x0bb\x0cc\x1cd\x1de\x1ef\n",
                                     "# Befund\u2028normal\n".encode("utf-8")])
def test_read_wfdb__a_comment_with_a_unicode_line_break_reads_as_before(shared_data: Path, tmp_path: Path, comment):
    """Last read of s38 (RISK): header bytes are split at \\n/\\r only but the decoded text was split with
    str.splitlines (also \\x0b, \\x0c, \\x1c-\\x1e, \\x85, \\u2028), so a cp1252 ellipsis (0x85, Latin-1) in a comment of
    a real PTB-XL record made the rest of the comment a signal line: 'declares 12 signals ... but has 13 signal
    lines'. Now one splitter (text_lines) everywhere: the record reads as without the comment, by the fast reader
    and through wfdb.rdrecord (which splits with str.splitlines: given a copy with those characters as spaces)."""
    from edfgen.formats.ecg.records import _read_wfdb_full

    src = shared_data / "ecg" / "ptbxl" / "records100" / "00000" / "00547_lr"
    for ext in (".hea", ".dat"):
        shutil.copy(f"{src}{ext}", tmp_path / f"00547_lr{ext}")
    hea = tmp_path / "00547_lr.hea"
    hea.write_bytes(hea.read_bytes() + comment)
    want = read_wfdb(f"{src}.hea")
    for got in (read_wfdb(hea), _read_wfdb_full(hea)):
        assert got.leads == want.leads and got.fs == want.fs
        np.testing.assert_array_equal(got.signal, want.signal)
