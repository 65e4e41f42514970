"""edfgen extract: EDF table, PLINK pheno, rejects, resume after a crash, id-map averaging, PCA."""

from __future__ import annotations

import json
import shutil
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from edfgen.kernels.ecg import LEADS
from edfgen.formats.ecg.records import read_wfdb
from edfgen.kernels.ecg.preprocess import preprocess
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.exceptions import InputError
from edfgen.commands.extract import extract_edfs
from edfgen.kernels.edf import edf_pca
from edfgen.formats.dictionary import check_file


class StandInEncoder(torch.nn.Module):
    """A tiny encoder with the checkpoint contract: ``embed(x [N, 12, T]) -> [N, D]`` (time-averaged)."""

    def __init__(self, d: int = 8):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(12, d, kernel_size=25, stride=10)

    def embed(self, x):
        return torch.nn.functional.gelu(self.conv(x)).mean(dim=-1)


@dataclass
class StandInLoaded:
    model: torch.nn.Module
    preprocessing: Preprocessing
    sha256: str = "0" * 64
    path: str = "stand-in"


@pytest.fixture(scope="module")
def standin():
    return StandInLoaded(StandInEncoder().eval(), Preprocessing())


@pytest.fixture(scope="module")
def ecg_dir(shared_data, tmp_path_factory):
    """12 real CinC 2021 records plus one with a missing stretch inside (a reject) and one unreadable header."""
    import wfdb

    d = tmp_path_factory.mktemp("ecg")
    src = shared_data / "ecg" / "cinc2021"
    for hea in sorted(src.glob("*.hea"))[::3][:12]:
        shutil.copy(hea, d)
        shutil.copy(hea.with_suffix(".mat"), d)
    x = read_wfdb(src / "E07500.hea").signal.T.astype(np.float64)
    x[2400:2500, 3] = np.nan      # mid-record: no 8-s stretch without missing samples
    wfdb.wrsamp("ZNAN01", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=["16"] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(d))
    (d / "ZBAD02.hea").write_text("ZBAD02 12 500 5000\nthis is not a header\n")
    return d


def _reference_edfs(model, paths, prep=Preprocessing()):
    """Independent reference: preprocess each record alone, embed both 5 s halves, average."""
    out = {}
    with torch.no_grad():
        for p in paths:
            x = torch.from_numpy(preprocess(read_wfdb(p), prep))
            halves = torch.stack([x[:, :2500], x[:, 2500:]])
            out[p.stem] = model.embed(halves).mean(dim=0).numpy()
    return out


def test_extract_edfs__table_pheno_rejects_manifest(ecg_dir, standin, tmp_path):
    out = tmp_path / "res" / "edfs.tsv"
    res = extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=5, chunk_size=10)
    df = pd.read_csv(out, sep="\t", dtype={"IID": str})
    good = sorted(p for p in ecg_dir.glob("*.hea") if not p.stem.startswith("Z"))
    assert list(df["IID"]) == [p.stem for p in good]
    assert list(df.columns) == ["IID"] + [f"edf_{i:03d}" for i in range(1, 9)]
    ref = _reference_edfs(standin.model, good)
    np.testing.assert_allclose(df.set_index("IID").loc[list(ref)].to_numpy(), np.stack(list(ref.values())),
                               rtol=1e-5, atol=1e-6)
    rej = pd.read_csv(res.rejects, sep="\t")
    assert res.rejects == out.parent / "edfs.tsv.rejects.tsv" and res.pheno == out.parent / "edfs.tsv.pheno"
    reasons = dict(zip(rej["record"], rej["reason"]))
    assert set(reasons) == {"ZNAN01", "ZBAD02"}
    assert ("lead aVR: 100 missing samples (1 lead(s) affected; the file holds WFDB's missing-sample value -32768 in "
            "lead aVR, 100 samples)" in reasons["ZNAN01"] and "longest stretch" in reasons["ZNAN01"])   # (s37: not NaN/inf)
    assert "declares 12 signals on its record line but has 1 signal lines" in reasons["ZBAD02"]
    ph = pd.read_csv(res.pheno, sep="\t", dtype={"IID": str, "FID": str})
    assert list(ph.columns[:2]) == ["FID", "IID"] and (ph["FID"] == ph["IID"]).all()
    np.testing.assert_allclose(ph.iloc[:, 2:].to_numpy(), df.iloc[:, 1:].to_numpy())
    man = json.loads((out.parent / "edfs.tsv.manifest.json").read_text())
    assert sorted(man["outputs"]) == ["edfs.tsv", "edfs.tsv.notes.tsv", "edfs.tsv.pheno", "edfs.tsv.rejects.tsv"]
    assert man["extra"]["checkpoint_sha256"] == standin.sha256
    assert man["extra"]["preprocessing"]["sampling_rate"] == 500 and man["extra"]["n_rejected"] == 2
    assert not (out.parent / "edfs.tsv.parts").exists()
    assert (res.n_records, res.n_rejected, res.n_participants) == (14, 2, 12)
    check_file("edf_table", out)
    check_file("edf_pheno", res.pheno)
    check_file("ecg_rejects", res.rejects)
    with pytest.raises(InputError, match="exists"):
        extract_edfs([ecg_dir], out, checkpoint=standin)
    # side files are named after the table: a second table in the same folder touches none of them
    (out.parent / "notes.txt").write_text("mine")
    other = extract_edfs([ecg_dir], out.parent / "other.parquet", checkpoint=standin, batch_size=7)
    assert other.rejects.name == "other.parquet.rejects.tsv"
    assert json.loads((out.parent / "edfs.tsv.manifest.json").read_text()) == man
    # --force replaces what the earlier manifest lists and keeps the rest; a foreign file is refused
    again = extract_edfs([ecg_dir], out, checkpoint=standin, force=True)
    assert again.n_participants == 12 and (out.parent / "notes.txt").read_text() == "mine"
    (out.parent / "x.tsv").write_text("not edfgen's")
    with pytest.raises(InputError, match="not written by an earlier edfgen extract"):
        extract_edfs([ecg_dir], out.parent / "x.tsv", checkpoint=standin, force=True)
    assert (out.parent / "x.tsv").read_text() == "not edfgen's"


def test_extract_edfs__missing_samples_at_the_end_cut_and_counted(shared_data, standin, tmp_path):
    """Was a reject: a record whose aVF is missing (WFDB's missing value) for its last 0.6 s. Now its first
    9.4 s are used: the EDFs equal those of the record cut by hand, the run says so and counts it."""
    import wfdb

    src = shared_data / "ecg" / "cinc2021" / "E07500.hea"
    x = read_wfdb(src).signal.T.astype(np.float64)
    x[4700:, 5] = np.nan
    d = tmp_path / "ecg"
    d.mkdir()
    wfdb.wrsamp("ZEDGE03", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=["16"] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(d))
    res = extract_edfs([d], tmp_path / "edfs.tsv", checkpoint=standin)
    assert (res.n_records, res.n_rejected, res.n_participants) == (1, 0, 1)
    hand = read_wfdb(src)
    hand = dataclasses.replace(hand, signal=hand.signal[:, :4700].copy())
    with torch.no_grad():
        xin = torch.from_numpy(preprocess(hand, Preprocessing()))
        want = standin.model.embed(torch.stack([xin[:, :2500], xin[:, 2500:]])).mean(dim=0).numpy()
    got = pd.read_csv(res.table, sep="\t").iloc[0, 1:].to_numpy(float)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert json.loads(res.manifest.read_text())["extra"]["n_cut_missing_samples"] == 1


def test_extract_edfs__resume_after_crash_equals_uninterrupted(ecg_dir, standin, tmp_path):
    full = tmp_path / "full" / "edfs.tsv"
    extract_edfs([ecg_dir], full, checkpoint=standin, batch_size=2, chunk_size=4)
    out = tmp_path / "crash" / "edfs.tsv"
    seen = []

    def crash(chunk, n_done):
        seen.append(n_done)
        if chunk == 1:
            raise KeyboardInterrupt("simulated kill after the second chunk")

    with pytest.raises(KeyboardInterrupt):
        extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4, on_chunk=crash)
    assert not out.exists() and len(list((out.parent / "edfs.tsv.parts").glob("chunk_*.npz"))) == 2
    res = extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4)
    assert res.resumed == 8
    a, b = pd.read_csv(full, sep="\t"), pd.read_csv(out, sep="\t")
    pd.testing.assert_frame_equal(a, b, rtol=1e-6)
    pd.testing.assert_frame_equal(pd.read_csv(full.parent / "edfs.tsv.rejects.tsv", sep="\t"),
                                  pd.read_csv(res.rejects, sep="\t"))


def test_extract_edfs__a_failed_final_write_keeps_the_chunks_for_the_rerun(ecg_dir, standin, tmp_path, monkeypatch):
    """A disk that fills at the final write (an OutputError) kept nothing: the computed chunks were deleted with the
    failure, so the rerun recomputed everything (review finding). They are kept and the rerun resumes from them."""
    import edfgen.commands.extract as ex
    from edfgen.exceptions import OutputError

    out = tmp_path / "o" / "edfs.tsv"
    real = ex.write_table

    def full_disk(df, path, *a, **k):
        if Path(path).name == "edfs.tsv":
            raise OutputError(f"{path}: cannot write (No space left on device)")
        return real(df, path, *a, **k)

    monkeypatch.setattr(ex, "write_table", full_disk)
    with pytest.raises(OutputError, match="No space left"):
        extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4)
    monkeypatch.undo()
    assert len(list((out.parent / "edfs.tsv.parts").glob("chunk_*.npz"))) >= 2
    res = extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4)
    assert res.resumed > 0 and out.exists()


def test_extract_edfs__killed_during_its_final_writes_resumes_without_force(ecg_dir, standin, tmp_path, monkeypatch):
    """Killed after edfs.tsv was renamed into place but before its side files: a plain rerun said 'edfs.tsv exists
    (use --force)' although the help says extract resumes an interrupted run (review finding). The files the
    interrupted run listed in its in-progress manifest are its own: the rerun resumes and finishes."""
    import edfgen.commands.extract as ex

    full = tmp_path / "full" / "edfs.tsv"
    extract_edfs([ecg_dir], full, checkpoint=standin, batch_size=2, chunk_size=4)
    out = tmp_path / "o" / "edfs.tsv"
    real = ex.write_table

    def killed(df, path, *a, **k):
        if Path(path).name.endswith(".pheno"):
            raise KeyboardInterrupt("killed between the table and its side files")
        return real(df, path, *a, **k)

    monkeypatch.setattr(ex, "write_table", killed)
    with pytest.raises(KeyboardInterrupt):
        extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4)
    monkeypatch.undo()
    assert out.exists() and (out.parent / "edfs.tsv.parts").is_dir()
    res = extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4)
    assert res.resumed > 0
    pd.testing.assert_frame_equal(pd.read_csv(full, sep="\t"), pd.read_csv(out, sep="\t"), rtol=1e-6)


def test_extract_edfs__changed_checkpoint_discards_parts(ecg_dir, standin, tmp_path):
    out = tmp_path / "edfs.tsv"

    def crash(chunk, n_done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4, on_chunk=crash)
    other = StandInLoaded(standin.model, standin.preprocessing, sha256="1" * 64)
    assert extract_edfs([ecg_dir], out, checkpoint=other, batch_size=2, chunk_size=4).resumed == 0


def test_extract_edfs__changed_checkpoint_keeps_files_it_did_not_write(ecg_dir, standin, tmp_path):
    """Review s32b F1: parts of another checkpoint are discarded file by file (its chunks and state.json); a file
    planted among them since makes the run refuse in one line before anything is removed."""
    out = tmp_path / "edfs.tsv"

    def crash(chunk, n_done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4, on_chunk=crash)
    parts = tmp_path / "edfs.tsv.parts"
    (parts / "mine.txt").write_text("mine")
    other = StandInLoaded(standin.model, standin.preprocessing, sha256="1" * 64)
    with pytest.raises(InputError, match=r"edfs\.tsv\.parts holds what edfgen extract did not write \(mine\.txt\)"):
        extract_edfs([ecg_dir], out, checkpoint=other, batch_size=2, chunk_size=4, force=True)
    assert (parts / "mine.txt").read_text() == "mine" and list(parts.glob("chunk_*.npz"))


def test_extract_edfs__an_unreadable_state_json_starts_afresh(ecg_dir, standin, tmp_path, caplog):
    """Review s32h F5: a killed run's state.json left empty (a disk that lost it) was refused as 'chunks without
    the state.json of edfgen extract', even with --force; the module docstring promises a fresh start."""
    out = tmp_path / "edfs.tsv"

    def crash(chunk, n_done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4, on_chunk=crash)
    (tmp_path / "edfs.tsv.parts" / "state.json").write_text("")
    with caplog.at_level("WARNING"):
        res = extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4)
    assert res.resumed == 0 and "state.json cannot be read" in caplog.text and "another checkpoint" not in caplog.text
    assert len(pd.read_csv(out, sep="\t")) == 12


@pytest.mark.parametrize("planted", ["folder", "chunks_only", "symlink", "file"])
def test_extract_edfs__parts_path_edfgen_did_not_write_is_refused(ecg_dir, standin, tmp_path, planted):
    """Review s32b F1: a user's folder named <out>.parts (files of its own, or chunk-like files without extract's
    state.json), a symbolic link or a plain file there: one line naming it, with or without --force; nothing
    is removed or followed."""
    out = tmp_path / "o" / "e.tsv"
    parts = tmp_path / "o" / "e.tsv.parts"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "mine.txt").write_text("mine")
    parts.parent.mkdir()
    if planted == "folder":
        parts.mkdir()
        (parts / "mine.txt").write_text("mine")
    elif planted == "chunks_only":
        parts.mkdir()
        (parts / "chunk_000000.npz").write_text("mine")
    elif planted == "symlink":
        parts.symlink_to(mine)
    else:
        parts.write_text("mine")
    for force in (False, True):
        with pytest.raises(InputError, match=r"e\.tsv\.parts (is a|holds what)") as err:
            extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4, force=force)
        assert "\n" not in str(err.value)
    assert (mine / "mine.txt").read_text() == "mine" and not out.exists()
    assert parts.is_symlink() if planted == "symlink" else parts.exists()
    if planted in ("folder", "chunks_only"):
        assert [p.name for p in parts.iterdir()] in (["mine.txt"], ["chunk_000000.npz"])


def test_extract_edfs__file_it_did_not_write_is_not_offered_force(ecg_dir, standin, tmp_path):
    """Review s32b F10: --out naming a file no earlier extract wrote is refused without suggesting --force (which
    refuses it too)."""
    out = tmp_path / "P000001.hea"
    out.write_text("mine")
    for force in (False, True):
        with pytest.raises(InputError, match="was not written by an earlier edfgen extract") as err:
            extract_edfs([ecg_dir], out, checkpoint=standin, force=force)
        assert "--force" not in str(err.value)
    assert out.read_text() == "mine"


def test_extract_edfs__changed_resample_padding_discards_parts(ecg_dir, standin, tmp_path):
    """Review s31c F2: the resampler's edge padding changes the EDFs of records not at 500 Hz, so it is part of the
    resume key; an unchanged one resumes."""
    out = tmp_path / "edfs.tsv"

    def crash(chunk, n_done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4, on_chunk=crash)
    legacy = StandInLoaded(standin.model, dataclasses.replace(standin.preprocessing, resample_padding="constant"))
    assert extract_edfs([ecg_dir], out, checkpoint=legacy, batch_size=2, chunk_size=4).resumed == 0
    out2 = tmp_path / "again.tsv"
    with pytest.raises(KeyboardInterrupt):
        extract_edfs([ecg_dir], out2, checkpoint=legacy, batch_size=2, chunk_size=4, on_chunk=crash)
    assert extract_edfs([ecg_dir], out2, checkpoint=legacy, batch_size=2, chunk_size=4).resumed > 0


def test_extract_edfs__parquet_workers_and_determinism(ecg_dir, standin, tmp_path):
    a = extract_edfs([ecg_dir], tmp_path / "a" / "edfs.tsv", checkpoint=standin, batch_size=4)
    b = extract_edfs([ecg_dir], tmp_path / "b" / "edfs.tsv", checkpoint=standin, batch_size=4)
    assert a.table.read_bytes() == b.table.read_bytes()  # deterministic
    c = extract_edfs([ecg_dir], tmp_path / "c" / "edfs.parquet", checkpoint=standin, batch_size=4, workers=2)
    check_file("edf_table", c.table)
    pq = pd.read_parquet(c.table)
    tsv = pd.read_csv(a.table, sep="\t", dtype={"IID": str})
    pd.testing.assert_frame_equal(pq, tsv, rtol=1e-6)
    assert (tmp_path / "c" / "edfs.parquet.pheno").exists()


def test_extract_edfs__id_map_averages_a_participants_ecgs(ecg_dir, standin, tmp_path):
    single = extract_edfs([ecg_dir], tmp_path / "s" / "edfs.tsv", checkpoint=standin)
    per_record = pd.read_csv(single.table, sep="\t", dtype={"IID": str}).set_index("IID")
    records = list(per_record.index)
    mapping = pd.DataFrame({"record": records[:-1], "IID": [f"P{i // 2}" for i in range(len(records) - 1)]})
    mapping.to_csv(tmp_path / "map.tsv", sep="\t", index=False)
    res = extract_edfs([ecg_dir], tmp_path / "m" / "edfs.tsv", checkpoint=standin, id_map=tmp_path / "map.tsv")
    got = pd.read_csv(res.table, sep="\t", dtype={"IID": str}).set_index("IID")
    expected = per_record.loc[mapping["record"]].groupby(mapping["IID"].to_numpy()).mean()
    pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index(), check_names=False, rtol=1e-6)
    rej = pd.read_csv(res.rejects, sep="\t")
    assert records[-1] in set(rej["record"]) and "not in --id-map" in " ".join(rej["reason"])


def _plink2_loaded(bfile, pheno, tmp_path) -> str:
    """plink2's count of the EDF values it loaded from ``pheno`` for the samples of ``bfile``."""
    import subprocess

    subprocess.run(["plink2", "--bfile", str(bfile), "--pheno", str(pheno), "--pheno-name", "edf_001",
                    "--glm", "allow-no-covars", "--out", str(tmp_path / "p2")], capture_output=True)
    log = (tmp_path / "p2.log").read_text()
    return next((ln for ln in log.splitlines() if "phenotype loaded" in ln or "Error" in ln), log[-200:])


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_extract_edfs__pheno_takes_the_fids_of_fam_so_plink2_loads_every_relative(ecg_dir, standin, tmp_path,
                                                                                     caplog):
    """Review s32f: ``<out>.pheno`` had FID = IID, so plink2 --pheno on a .fam with family ids (simulate
    --families) silently dropped every relative. With --fam it takes the .fam's FIDs (a .psam without FIDs:
    FID 0, as plink2 reads it) and plink2 loads all 12; a participant not in --fam keeps FID = IID (warned)."""
    import subprocess

    iids = sorted(p.stem for p in ecg_dir.glob("*.hea") if not p.stem.startswith("Z"))
    geno = tmp_path / "g"
    subprocess.run(["plink2", "--dummy", "12", "30", "--make-bed", "--out", str(geno)], check=True,
                   capture_output=True)
    fids = [f"FAM{i // 3}" if i < 9 else iid for i, iid in enumerate(iids)]   # 9 relatives, 3 singletons
    pd.DataFrame({"FID": fids, "IID": iids, "PAT": 0, "MAT": 0, "SEX": 1, "PHENO": -9}).to_csv(
        f"{geno}.fam", sep="\t", header=False, index=False)
    plain = extract_edfs([ecg_dir], tmp_path / "a" / "edfs.tsv", checkpoint=standin)
    assert "(3 values)" in _plink2_loaded(geno, plain.pheno, tmp_path)     # FID = IID: only the singletons
    res = extract_edfs([ecg_dir], tmp_path / "b" / "edfs.tsv", checkpoint=standin, fam=f"{geno}.fam")
    ph = pd.read_csv(res.pheno, sep="\t", dtype=str)
    assert list(ph["FID"]) == fids and list(ph["IID"]) == iids
    assert "(12 values)" in _plink2_loaded(geno, res.pheno, tmp_path)
    check_file("edf_pheno", res.pheno)
    # a .psam without FIDs: FID 0, which plink2 matches (FID = IID it would not)
    psam = tmp_path / "g.psam"
    psam.write_text("#IID\tSEX\n" + "".join(f"{i}\t1\n" for i in iids[1:]))
    with caplog.at_level("WARNING"):
        res = extract_edfs([ecg_dir], tmp_path / "c" / "edfs.tsv", checkpoint=standin, fam=psam)
    ph = pd.read_csv(res.pheno, sep="\t", dtype=str)
    assert list(ph["FID"]) == [iids[0]] + ["0"] * 11
    assert f"1 of 12 participants are not in --fam {psam} (e.g. '{iids[0]}')" in caplog.text
    # the wrong file (none of the participants) and another kind of file are one-line input errors, before any ECG
    other = tmp_path / "o.fam"
    other.write_text("F1 X1 0 0 1 -9\n")
    with pytest.raises(InputError, match=r"--fam .*o.fam: none of the 1\d participants' IIDs is in it"):
        extract_edfs([ecg_dir], tmp_path / "d" / "edfs.tsv", checkpoint=standin, fam=other)
    with pytest.raises(InputError, match=r"--fam .*edfs.tsv: not a .fam or .psam file"):
        extract_edfs([ecg_dir], tmp_path / "e" / "edfs.tsv", checkpoint=standin, fam=plain.table)


def test_extract_edfs__a_wrong_fam_or_pca_keeps_the_encoded_chunks_for_the_corrected_rerun(ecg_dir, standin, tmp_path):
    """Review s32h F1: a wrong --fam (and a --pca larger than the participants) failed only in the final write,
    after every ECG was encoded, and the chunks were deleted: the corrected rerun started from nothing. Now the
    wrong --fam is refused before any encoding, and an error in the final write keeps the chunks to resume."""
    iids = sorted(p.stem for p in ecg_dir.glob("*.hea") if not p.stem.startswith("Z"))
    out = tmp_path / "r" / "edfs.tsv"
    encoded = []
    other = tmp_path / "o.fam"
    other.write_text("F1 X1 0 0 1 -9\n")
    with pytest.raises(InputError, match=r"--fam .*o.fam: none of the 1\d participants' IIDs is in it"):
        extract_edfs([ecg_dir], out, checkpoint=standin, fam=other, chunk_size=4, batch_size=2,
                     on_chunk=lambda c, n: encoded.append(c))
    assert encoded == [] and not out.exists()
    with pytest.raises(InputError, match=r"--pca 40: must be between 1 and the number of participants \(1\d\)"):
        extract_edfs([ecg_dir], out, checkpoint=standin, pca=40, chunk_size=4, batch_size=2,
                     on_chunk=lambda c, n: encoded.append(c))
    assert encoded == [] and not out.exists()
    # 13 records but 12 usable: refused only after encoding; the chunks stay and the rerun encodes nothing
    with pytest.raises(InputError, match=r"--pca 13: must be between 1 and min"):
        extract_edfs([ecg_dir], out, checkpoint=standin, pca=13, chunk_size=4, batch_size=2,
                     on_chunk=lambda c, n: encoded.append(c))
    assert encoded and (tmp_path / "r" / "edfs.tsv.parts").is_dir()
    encoded.clear()
    fam = tmp_path / "g.fam"
    fam.write_text("".join(f"F{i} {i} 0 0 1 -9\n" for i in iids))
    res = extract_edfs([ecg_dir], out, checkpoint=standin, pca=3, fam=fam, chunk_size=4, batch_size=2,
                       on_chunk=lambda c, n: encoded.append(c))
    assert encoded == []
    assert list(pd.read_csv(res.pheno, sep="\t", dtype=str)["FID"]) == [f"F{i}" for i in iids]


def test_edf_pca__matches_sklearn_on_standardised_edfs(ecg_dir, standin, tmp_path):
    from sklearn.decomposition import PCA

    res = extract_edfs([ecg_dir], tmp_path / "edfs.tsv", checkpoint=standin, pca=3)
    check_file("edf_pca", res.pca)
    check_file("edf_pca_loadings", res.pca_loadings)
    edfs = pd.read_csv(res.table, sep="\t").iloc[:, 1:].to_numpy()
    z = (edfs - edfs.mean(0)) / edfs.std(0, ddof=1)
    ref = PCA(n_components=3, svd_solver="full").fit(z)
    pcs = pd.read_csv(res.pca, sep="\t").iloc[:, 1:].to_numpy()
    for k in range(3):  # same components up to sign
        r = np.corrcoef(pcs[:, k], ref.transform(z)[:, k])[0, 1]
        assert abs(r) > 1 - 1e-6
    load = pd.read_csv(res.pca_loadings, sep="\t")
    proj = ((edfs - load["mean"].to_numpy()) / load["sd"].to_numpy()) @ load[["PC1", "PC2", "PC3"]].to_numpy()
    np.testing.assert_allclose(proj, pcs, atol=1e-5)  # loadings reproduce the scores
    # not SD 1 (the dictionary said 'SD units'): each score's variance is its component's eigenvalue
    np.testing.assert_allclose(pcs.var(0, ddof=1), ref.explained_variance_, rtol=1e-4)
    np.testing.assert_allclose(edf_pca(edfs, 3).explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-6)


def test_cli_extract__real_checkpoint_format_and_errors(ecg_dir, tmp_path):
    """The CLI with a checkpoint written by edfgen.model.checkpoint (random-init tiny encoder)."""
    from edfgen.cli import cli
    from edfgen.model.checkpoint import save_checkpoint
    from edfgen.model.config import get_config
    from edfgen.model.encoder import ECGEncoder

    torch.manual_seed(0)
    cfg = get_config("tiny")
    ckpt = save_checkpoint(ECGEncoder(cfg), cfg, Preprocessing(), tmp_path / "ck" / "rand")
    out = tmp_path / "o" / "edfs.tsv"
    r = CliRunner().invoke(cli, ["extract", "--ecg", str(ecg_dir), "--out", str(out), "--checkpoint", str(ckpt),
                                 "--batch-size", "8", "-q"])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out, sep="\t")
    assert df.shape == (12, 1 + cfg.width) and np.isfinite(df.iloc[:, 1:].to_numpy()).all()
    r = CliRunner().invoke(cli, ["extract", "--ecg", str(ecg_dir), "--out", str(out), "--checkpoint", str(ckpt)])
    assert r.exit_code == 2 and "exists (use --force" in r.output
    r = CliRunner().invoke(cli, ["extract", "--ecg", str(ecg_dir), "--out", str(tmp_path / "x.tsv"),
                                 "--checkpoint", str(tmp_path / "nope.json")])
    assert r.exit_code == 2 and "nope" in r.output
    # review s31d #10: a folder-style --out (as every other command takes) wrote a table named 'e40' with no
    # extension and side files beside it; it is refused like an existing folder, before anything is written
    r = CliRunner().invoke(cli, ["extract", "--ecg", str(ecg_dir), "--out", f"{tmp_path / 'e40'}/",
                                 "--checkpoint", str(ckpt)])
    assert r.exit_code == 2 and f"--out {tmp_path / 'e40'}/: is a directory; give the EDF table's file name (e.g. " \
        f"{tmp_path / 'e40'}/edfs.tsv)" in r.output, r.output
    assert not list(tmp_path.glob("e40*"))


def test_extract_edfs__empty_out_is_named_empty(tmp_path, monkeypatch):
    """Review s34b: --out '' said "--out : is a directory; ... (e.g. /edfs.tsv)" (Path('') is '.')."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"^--out '': empty; give the EDF table's file name"):
        extract_edfs(tmp_path, "")
    assert not list(tmp_path.iterdir())


def test_extract_edfs__npz_npy_and_hdf5_inputs_match_wfdb(shared_data, standin, tmp_path):
    """The same real ECGs stored as .npz (1000 Hz, uV), .npy (--fs) and HDF5 give the WFDB EDFs."""
    import h5py
    from scipy import signal as sps

    src = shared_data / "ecg" / "cinc2021"
    heas = sorted(src.glob("JS*.hea"))[:3]
    recs = [read_wfdb(h) for h in heas]
    d = tmp_path / "mixed"
    d.mkdir()
    up = sps.resample_poly(recs[0].signal.astype(np.float64), 2, 1, axis=1)
    np.savez(d / f"{heas[0].stem}.npz", ecg=up * 1000, fs=1000.0, units="uV")
    np.save(d / f"{heas[1].stem}.npy", recs[1].signal.T)
    with h5py.File(d / "more.h5", "w") as f:                # one record: named by its dataset (review s31h #2)
        ds = f.create_dataset(heas[2].stem, data=recs[2].signal)
        ds.attrs["fs"] = 500.0
        ds.attrs["leads"] = np.array(LEADS, dtype="S")
    res = extract_edfs([d], tmp_path / "edfs.tsv", checkpoint=standin, fs=500.0, workers=1)
    got = pd.read_csv(res.table, sep="\t", dtype={"IID": str}).set_index("IID")
    ref = _reference_edfs(standin.model, heas)
    assert sorted(got.index) == sorted(ref)
    for rid, v in ref.items():
        tol = 0.05 if rid == heas[0].stem else 1e-5  # the 1000 Hz copy went through resampling twice
        np.testing.assert_allclose(got.loc[rid].to_numpy(), v, rtol=tol, atol=tol * 0.1)


def test_extract_edfs__hdf5_duplicate_record_id_names_both_datasets(shared_data, standin, tmp_path):
    """Review s31c F1: a folder of one-record HDF5 files all holding ``/ecg`` gave one row, IID ``ecg``, and rejected
    the others as duplicates of 'ecg'; now each is named by its file, and a real duplicate names both datasets."""
    import h5py

    heas = sorted((shared_data / "ecg" / "cinc2021").glob("JS*.hea"))[:2]
    d = tmp_path / "h5"
    d.mkdir()
    for hea in heas:
        with h5py.File(d / f"{hea.stem}.h5", "w") as f:
            f.create_dataset("ecg", data=read_wfdb(hea).signal).attrs["fs"] = 500.0
    with h5py.File(d / "visits.h5", "w") as f:          # groups per record: named by the group; JS20000 again
        f.attrs["fs"] = 500.0
        for rid in (heas[0].stem, "V2"):
            f.create_dataset(f"{rid}/ecg", data=read_wfdb(heas[0]).signal)
    res = extract_edfs([d], tmp_path / "edfs.tsv", checkpoint=standin, workers=0)
    got = pd.read_csv(res.table, sep="\t", dtype={"IID": str})
    assert sorted(got.IID) == sorted([h.stem for h in heas] + ["V2"])
    rej = pd.read_csv(res.rejects, sep="\t", dtype=str)
    assert rej[["record", "reason"]].values.tolist() == [[heas[0].stem, f"duplicated record id of {d / 'visits.h5'}:/"
                                                          f"{heas[0].stem}/ecg (also {d / heas[0].stem}.h5:/ecg)"]]


def test_extract_edfs__sigkilled_process_resumes(ecg_dir, tmp_path):
    """A real kill (SIGKILL after the first durable chunk) leaves no table and no orphaned reader
    process (the subprocess' pipes close at once); the rerun completes it."""
    import os
    import subprocess
    import sys

    script = f"""
import os, signal, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_extract import StandInEncoder, StandInLoaded
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.commands.extract import extract_edfs
def kill(chunk, n_done):
    os.kill(os.getpid(), signal.SIGKILL)
extract_edfs([{str(ecg_dir)!r}], {str(tmp_path / 'edfs.tsv')!r}, checkpoint=StandInLoaded(StandInEncoder().eval(),
             Preprocessing()), batch_size=3, chunk_size=6, workers=1, on_chunk=kill)
"""
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert p.returncode == -9, p.stderr[-2000:]
    assert not (tmp_path / "edfs.tsv").exists()
    standin = StandInLoaded(StandInEncoder().eval(), Preprocessing())
    res = extract_edfs([ecg_dir], tmp_path / "edfs.tsv", checkpoint=standin, batch_size=3, chunk_size=6)
    assert res.resumed == 6 and res.n_participants == 12
    ref = extract_edfs([ecg_dir], tmp_path / "ref" / "edfs.tsv", checkpoint=standin)
    pd.testing.assert_frame_equal(pd.read_csv(res.table, sep="\t"), pd.read_csv(ref.table, sep="\t"), rtol=1e-6)


def test_extract_then_interpret__on_the_simulated_cohort(sim_cohort, standin, tmp_path):
    """`edfgen simulate` ECGs -> extract (no rejects, IIDs = physiology IIDs) -> interpret with age/sex."""
    from edfgen.commands.interpret import interpret_edfs

    res = extract_edfs([sim_cohort / "ecg"], tmp_path / "x" / "edfs.parquet", checkpoint=standin, workers=1,
                       batch_size=128)
    phys = pd.read_csv(sim_cohort / "physiology.tsv", sep="\t", dtype={"IID": str})
    edfs = pd.read_parquet(res.table)
    assert res.n_rejected == 0 and list(edfs["IID"]) == list(phys["IID"])
    it = interpret_edfs(res.table, tmp_path / "interp", biomarkers=sim_cohort / "physiology.tsv",
                        covar=sim_cohort / "covariates.tsv", clusters=3)
    a = pd.read_csv(it.associations, sep="\t")
    # even the random stand-in encoder's EDFs track heart rate (beat density in the 5 s crops)
    assert a[a["biomarker"] == "heart_rate_bpm"]["p_value"].min() < 1e-10


def _replace_record(folder: Path, name: str, source: str) -> None:
    """Give record ``name`` the signals of record ``source`` (same record name, other signals), keeping
    the old file's modification time as a mtime-preserving copy (``cp -p``, ``rsync -t``) would."""
    import os

    for suffix in (".hea", ".mat"):
        old = folder / f"{name}{suffix}"
        st = old.stat()
        data = (folder / f"{source}{suffix}").read_bytes()
        if suffix == ".hea":
            data = data.replace(source.encode(), name.encode())
        old.write_bytes(data)
        os.utime(old, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_extract_edfs__resume_recomputes_records_whose_files_changed(ecg_dir, standin, tmp_path):
    """Killed midway, then the ECG files change (same names, other signals, even with the old mtimes):
    the resumed table equals an uninterrupted run on the changed files, no row from the old signals."""
    src = tmp_path / "ecg"
    shutil.copytree(ecg_dir, src)
    out = tmp_path / "run" / "edfs.tsv"

    def crash(chunk, n_done):
        if chunk == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_edfs([src], out, checkpoint=standin, batch_size=2, chunk_size=4, on_chunk=crash)
    done_before = pd.read_csv(extract_edfs([src], tmp_path / "before" / "edfs.tsv", checkpoint=standin).table,
                              sep="\t", dtype={"IID": str}).set_index("IID")
    names = sorted(p.stem for p in src.glob("*.hea") if not p.stem.startswith("Z"))
    first, donor = names[0], names[-1]          # the first record is in the first (durable) chunk
    _replace_record(src, first, donor)
    res = extract_edfs([src], out, checkpoint=standin, batch_size=2, chunk_size=4)
    assert res.resumed == 7                      # 8 done before the kill, 1 of them changed since
    ref = extract_edfs([src], tmp_path / "ref" / "edfs.tsv", checkpoint=standin, batch_size=2, chunk_size=4)
    got = pd.read_csv(res.table, sep="\t", dtype={"IID": str}).set_index("IID")
    pd.testing.assert_frame_equal(got, pd.read_csv(ref.table, sep="\t", dtype={"IID": str}).set_index("IID"),
                                  rtol=1e-6)
    np.testing.assert_allclose(got.loc[first], done_before.loc[donor], rtol=1e-5)
    assert not np.allclose(got.loc[first], done_before.loc[first], rtol=1e-3)


def test_extract_edfs__out_inside_the_ecg_folder_never_reads_its_own_files(ecg_dir, standin, tmp_path):
    src = tmp_path / "ecg"
    shutil.copytree(ecg_dir, src)
    out = src / "edfs.tsv"

    def crash(chunk, n_done):
        if chunk == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_edfs([src], out, checkpoint=standin, batch_size=2, chunk_size=4, on_chunk=crash)
    chunks = sorted((src / "edfs.tsv.parts").glob("chunk_*.npz"))
    assert len(chunks) == 2
    (src / f".{chunks[0].name}.edfgen-tmp-999999-deadbeef0000.npz").write_bytes(chunks[0].read_bytes())
    res = extract_edfs([src], out, checkpoint=standin, batch_size=2, chunk_size=4)
    assert (res.n_records, res.n_participants, res.resumed) == (14, 12, 8)
    assert not any(p.name.startswith(".") for p in src.iterdir())     # the stale temporary file is gone
    again = extract_edfs([src], src / "again.tsv", checkpoint=standin)  # the table beside the ECGs: not an ECG
    assert again.n_records == 14


def test_extract_edfs__failed_run_leaves_no_parts(tmp_path, standin):
    """Every record rejected: one-line InputError, and no <out>.parts/ (nor table) left behind."""
    d = tmp_path / "ecg"
    d.mkdir()
    np.save(d / "flat.npy", np.zeros((12, 5000), dtype=np.float32))
    out = tmp_path / "o" / "edfs.tsv"
    with pytest.raises(InputError, match="no usable ECG record"):
        extract_edfs([d], out, checkpoint=standin, fs=500)
    assert not (tmp_path / "o" / "edfs.tsv.parts").exists() and not out.exists()


def test_extract_edfs__held_edges_trimmed_kept_and_counted(shared_data, standin, tmp_path):
    """PTB-XL records end in ~0.1 s of held samples: extracted (not rejected), counted in the manifest."""
    src = shared_data / "ecg" / "ptbxl" / "records500" / "00000"
    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for name in ("00001_hr", "00002_hr", "00004_hr"):
        for ext in (".hea", ".dat"):
            shutil.copy(src / f"{name}{ext}", ecg / f"{name}{ext}")
    r = extract_edfs([ecg], tmp_path / "out" / "edfs.tsv", checkpoint=standin, workers=0)
    assert r.n_rejected == 0 and r.n_participants == 3
    manifest = json.loads(r.manifest.read_text())
    assert manifest["extra"]["n_trimmed_flat_edges"] == 3
    assert manifest["extra"]["n_zero_padded"] == 3  # a trimmed 10 s record is shorter than the window


def test_extract_edfs__amplitudes_not_in_mv_rejected_and_npz_without_units_warned(shared_data, standin, tmp_path,
                                                                                caplog):
    """Was: a uV array saved without 'units' (or a calibration off by 1e30) went through as mV, silently. Now a
    record whose median lead SD is far above any real ECG's (> 5 mV; real 0.06-0.54) or with a sample > 1000 mV
    from its lead's median is a reject naming the likely cause, without numpy overflow warnings; an .npz
    without units that is plausible in mV is kept (its EDFs equal the WFDB record's) with a warning."""
    import warnings

    hea = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00031_hr.hea"
    rec = read_wfdb(hea)
    d = tmp_path / "ecg"
    d.mkdir()
    np.savez(d / "mv.npz", ecg=rec.signal, fs=500.0, leads=np.array(rec.leads))
    np.savez(d / "uv.npz", ecg=rec.signal * 1000, fs=500.0, leads=np.array(rec.leads))
    np.savez(d / "counts.npz", ecg=np.round(rec.signal * 200), fs=500.0, leads=np.array(rec.leads))  # gain 200/mV
    np.savez(d / "huge.npz", ecg=rec.signal.astype(np.float64) * 1e30, fs=500.0, leads=np.array(rec.leads),
             units="mV")
    spike = rec.signal.copy()
    spike[0, 2500] = 5.2e6
    np.savez(d / "spike.npz", ecg=spike, fs=500.0, leads=np.array(rec.leads), units="mV")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with caplog.at_level("WARNING", logger="edfgen"):
            r = extract_edfs([d], tmp_path / "out" / "edfs.tsv", checkpoint=standin, workers=0)
    assert (r.n_records, r.n_rejected, r.n_participants) == (5, 4, 1)
    reasons = dict(pd.read_csv(r.rejects, sep="\t")[["record", "reason"]].to_numpy())
    assert set(reasons) == {"uv", "counts", "huge", "spike"}
    assert all("implausible amplitude for mV" in v for v in reasons.values())
    assert all("uV or ADC counts" in reasons[k] for k in ("uv", "counts", "huge"))
    assert "median lead SD 2" in reasons["counts"] and "lead I has a sample 5.2e+06 mV" in reasons["spike"]
    # one corrupt sample in a record in mV: not a units mistake (s36d)
    assert "uV or ADC counts" not in reasons["spike"] and "a spike, an electrode pop or corrupt samples?" in reasons["spike"]
    assert "1 record(s) had no 'units' (.npz): read as mV" in caplog.text
    got = pd.read_csv(r.table, sep="\t").iloc[0, 1:].to_numpy(float)
    np.testing.assert_allclose(got, _reference_edfs(standin.model, [hea])[hea.stem], rtol=1e-5, atol=1e-6)


def test_extract_edfs__records_shorter_than_the_window_noted_and_counted(shared_data, standin, tmp_path, caplog):
    """Was silent: an 8-10 s record is zero-padded to the 10 s window. Now each padded record gets a note
    (listed with -vv), the run a log line and the manifest ``n_zero_padded``; the model input is unchanged
    (reference: the EDFs of the record preprocessed alone)."""
    src = shared_data / "ecg" / "cinc2021" / "E07500.hea"
    rec = read_wfdb(src)
    d = tmp_path / "ecg"
    d.mkdir()
    np.savez(d / "short9.npz", ecg=rec.signal[:, 250:4750], fs=500.0, leads=np.array(rec.leads), units="mV")
    np.savez(d / "full.npz", ecg=rec.signal, fs=500.0, leads=np.array(rec.leads), units="mV")
    with caplog.at_level("DEBUG", logger="edfgen"):
        r = extract_edfs([d], tmp_path / "out" / "edfs.tsv", checkpoint=standin, workers=0)
    assert r.n_participants == 2 and json.loads(r.manifest.read_text())["extra"]["n_zero_padded"] == 1
    assert "short9 (" in caplog.text and "zero-padded 1.000 s at the end (record 9.000 s < window 10 s)" in caplog.text
    assert "1 record(s) had fewer seconds than the 10 s window (held edges trimmed included), zero-padded at the end " \
           "by up to 1.000 s" in caplog.text
    short = dataclasses.replace(rec, signal=rec.signal[:, 250:4750].copy())
    with torch.no_grad():
        x = torch.from_numpy(preprocess(short, Preprocessing()))
        want = standin.model.embed(torch.stack([x[:, :2500], x[:, 2500:]])).mean(dim=0).numpy()
    table = pd.read_csv(r.table, sep="\t").set_index("IID")
    np.testing.assert_allclose(table.loc["short9"].to_numpy(float), want, rtol=1e-5, atol=1e-6)


def test_extract_edfs__unnamed_leads_in_a_wrong_order_warned_not_rejected(shared_data, standin, tmp_path, caplog):
    """Was silent: a .npy (no lead names) with I and II swapped gave EDFs 0.76 SD off. Now a record whose
    unnamed leads break Einthoven's law (RMS of I + III - II above lead II's) is noted and warned about, and
    kept; the same leads in the canonical order, or named, give no note."""
    rec = read_wfdb(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00031_hr.hea")
    d = tmp_path / "ecg"
    d.mkdir()
    swapped = rec.signal[[1, 0, *range(2, 12)]]
    np.save(d / "ok.npy", rec.signal)
    np.save(d / "swapped.npy", swapped)
    np.savez(d / "named.npz", ecg=swapped, fs=500.0, units="mV", leads=np.array(["II", "I", *LEADS[2:]]))
    with caplog.at_level("DEBUG", logger="edfgen"):
        r = extract_edfs([d], tmp_path / "out" / "edfs.tsv", checkpoint=standin, workers=0, fs=500.0)
    assert r.n_participants == 3 and r.n_rejected == 0
    assert "1 record(s) had unnamed leads that break Einthoven's law" in caplog.text
    flagged = [ln for ln in caplog.text.splitlines() if "unnamed leads break Einthoven's law (RMS" in ln]
    assert len(flagged) == 1 and "swapped (" in flagged[0]
    # the ratio recomputed here from the swapped array
    x = swapped[:3].astype(np.float64) - np.median(swapped[:3], axis=1, keepdims=True)
    ratio = np.sqrt(np.mean((x[0] + x[2] - x[1]) ** 2)) / np.sqrt(np.mean(x[1] ** 2))
    assert f"is {ratio:.2f}x lead II's" in flagged[0] and ratio > 1


def test_extract_edfs__zeroed_leads_warned_and_every_note_in_the_notes_file(shared_data, standin, tmp_path, caplog):
    """Was (review s32g): zeroed leads (which shift a record's EDFs) were logged at INFO, their records named only
    at -vv, while the harmless held end of every PTB-XL record was the one warning; no per-record note was
    written. Now zeroed leads are a warning naming the records, the held-end trim is information, and every note
    of every record in the table (resumed chunks included) is a row of <out>.notes.tsv, listed in the manifest."""
    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for name in ("JS20004", "JS20008", "E07500"):                # V2, V4, V6 constant 0 in the first two
        for f in (shared_data / "ecg" / "cinc2021").glob(f"{name}.*"):
            shutil.copy(f, ecg)
    for f in (shared_data / "ecg" / "ptbxl" / "records500" / "00000").glob("00001_hr.*"):   # a held end
        shutil.copy(f, ecg)
    out = tmp_path / "out" / "edfs.tsv"

    def crash(chunk, n_done):
        if chunk == 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):                      # 00001_hr and E07500 done in the first chunk
        extract_edfs([ecg], out, checkpoint=standin, batch_size=2, chunk_size=2, workers=0, on_chunk=crash)
    with caplog.at_level("INFO", logger="edfgen"):
        r = extract_edfs([ecg], out, checkpoint=standin, batch_size=2, chunk_size=2, workers=0)
    assert r.resumed == 2 and r.n_participants == 4
    warned = [rec.getMessage() for rec in caplog.records if rec.levelname == "WARNING"]
    assert len(warned) == 1 and "2 record(s) had flat or entirely missing lead(s) set to zeros" in warned[0]
    assert "JS20004, JS20008" in warned[0] and "edfs.tsv.notes.tsv" in warned[0]
    info = [rec.getMessage() for rec in caplog.records if rec.levelname == "INFO"]
    assert any("1 record(s) had a held (flat) stretch at their start or end" in m for m in info)
    check_file("ecg_notes", r.notes)
    notes = pd.read_csv(r.notes, sep="\t")
    zeroed = notes[notes["note"].str.startswith("zeroed")]
    assert zeroed["record"].tolist() == ["JS20004", "JS20008"]
    assert (zeroed["note"] == "zeroed lead(s) V2, V4, V6: flat (band-passed SD < 0.01 mV)").all()
    assert notes.loc[notes["record"] == "00001_hr", "note"].str.startswith("trimmed").any()
    assert set(notes["path"]) <= {str(p) for p in ecg.glob("*.hea")}
    manifest = json.loads(r.manifest.read_text())
    assert "edfs.tsv.notes.tsv" in manifest["outputs"] and manifest["extra"]["n_zeroed_leads"] == 2


def test_cli_extract__keep_spike_markers_turns_the_injected_spike_reject_off(tmp_path, monkeypatch):
    """The injected-spike reject (a recorder's pace markers drawn alike into every stored lead reject a paced ECG
    too) could be turned off only from Python, while its reason told command-line users to do so (second read
    s37 A3): ``--keep-spike-markers`` does it; by default the check is on."""
    import edfgen.commands.extract as ex
    from edfgen.cli import cli

    seen = []

    def spy(*args, **kw):                   # records the settings the command was given, then stops it
        seen.append(kw["quality"])
        raise InputError("spied")

    monkeypatch.setattr(ex, "extract_edfs", spy)
    (tmp_path / "e").mkdir()
    for extra in ([], ["--keep-spike-markers"]):
        res = CliRunner().invoke(cli, ["extract", "--ecg", str(tmp_path / "e"), "--out", str(tmp_path / "x.tsv"),
                                       *extra])
        assert "spied" in res.output, res.output
    assert [q.reject_injected_spikes for q in seen] == [True, False]


def _spy_on_extract(monkeypatch, tmp_path) -> list:
    """``edfgen extract``'s ``extract_edfs`` replaced by a spy that records the ``quality`` it is given and stops
    the command (an ``InputError`` "spied"); an empty ``tmp_path/e`` folder to give as ``--ecg``."""
    import edfgen.commands.extract as ex

    seen = []

    def spy(*args, **kw):
        seen.append(kw["quality"])
        raise InputError("spied")

    monkeypatch.setattr(ex, "extract_edfs", spy)
    (tmp_path / "e").mkdir()
    return seen


def test_cli_extract__quality_threshold_name_value_sets_the_thresholds(tmp_path, monkeypatch):
    """Known defect s37 (ECG 3): the record-quality thresholds were settable only from Python. A repeatable
    ``--quality-threshold NAME=VALUE`` sets them; an unknown name or a bad value is a one-line error (exit 2)
    naming the valid names or the range, before anything is read."""
    from edfgen.cli import cli
    from edfgen.kernels.ecg.preprocess import QualityThresholds

    seen = _spy_on_extract(monkeypatch, tmp_path)
    base = ["extract", "--ecg", str(tmp_path / "e"), "--out", str(tmp_path / "x.tsv")]
    res = CliRunner().invoke(cli, [*base, "--quality-threshold", "max_flat_leads=0", "--quality-threshold",
                                   "min_chest_r=0.2", "--keep-spike-markers"])
    assert "spied" in res.output, res.output
    assert seen == [QualityThresholds(max_flat_leads=0, min_chest_r=0.2, reject_injected_spikes=False)]
    assert isinstance(seen[0].max_flat_leads, int)
    for bad, msg in (("max_flat_lead=0", "unknown threshold; valid names: flat_std_mv, saturation_run_s, "
                                         "max_flat_leads, rail_fraction"),
                     ("max_flat_leads=1.5", "max_flat_leads=1.5: expected a whole number"),
                     ("rail_fraction=2", "rail_fraction=2: must be in [0, 1]"),
                     ("max_abs_mv=0", "max_abs_mv=0: must be a finite number > 0"),
                     # was "must be > 0" / "must be >= 0" for inf / nan (review of s38)
                     ("max_abs_mv=inf", "max_abs_mv=inf: must be a finite number > 0"),
                     ("flat_std_mv=nan", "flat_std_mv=nan: must be a finite number >= 0"),
                     ("flat_std_mv", "--quality-threshold 'flat_std_mv': expected NAME=VALUE"),
                     # was "'01': expected NAME=VALUE", naming a fragment the user never wrote (review of s38 fixes)
                     ("flat_std_mv=0,01", "--quality-threshold '01' of 'flat_std_mv=0,01': expected NAME=VALUE (a "
                                          "decimal comma? use a decimal point)"),
                     ("rail_fraction=0.5,max_flat", "'max_flat' of 'rail_fraction=0.5,max_flat': expected "
                                                    "NAME=VALUE (names:")):
        res = CliRunner().invoke(cli, [*base, "--quality-threshold", bad])
        assert res.exit_code == 2 and msg in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert "--quality-threshold NAME=VALUE" in CliRunner().invoke(cli, ["extract", "--help"]).output


def test_extract_edfs__parts_under_other_quality_thresholds_are_not_reused(ecg_dir, standin, tmp_path):
    """The thresholds set on the command line are part of the resume key: a rerun with another threshold
    recomputes every record; the same thresholds resume."""
    from edfgen.commands.extract_quality import quality_thresholds

    def crash(chunk, n_done):
        raise KeyboardInterrupt

    q = quality_thresholds(["max_flat_leads=2"])
    for name, again, resumed in (("same", q, True), ("other", quality_thresholds(["max_flat_leads=1"]), False)):
        out = tmp_path / name / "edfs.tsv"
        with pytest.raises(KeyboardInterrupt):
            extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4, quality=q, on_chunk=crash)
        res = extract_edfs([ecg_dir], out, checkpoint=standin, batch_size=2, chunk_size=4, quality=again)
        assert (res.resumed > 0) == resumed, (name, res.resumed)


def test_extract_edfs__the_manifest_records_the_quality_thresholds(ecg_dir, standin, tmp_path):
    """Review s38 finding 5: the thresholds were in the resume key but not in the manifest, so two EDF tables made
    under different thresholds (different records kept) could not be told apart."""
    from dataclasses import asdict

    from edfgen.commands.extract_quality import quality_thresholds
    from edfgen.formats.manifest import read_manifest

    q = quality_thresholds(["max_flat_leads=1", "min_chest_r=0.05"], keep_spike_markers=True)
    res = extract_edfs([ecg_dir], tmp_path / "edfs.tsv", checkpoint=standin, batch_size=2, quality=q)
    params = read_manifest(res.manifest.parent, name=res.manifest.name)["parameters"]
    assert params["quality"] == asdict(q) and params["quality"]["max_flat_leads"] == 1
    assert params["keep_spike_markers"] is True


def test_extract_options__quality_threshold_given_as_one_string_is_split_on_commas(tmp_path, monkeypatch):
    """Review s38 finding 8: ``ExtractOptions(quality_threshold="max_flat_leads=0")`` iterated the string's letters
    ("'m': expected NAME=VALUE"), and the TOML split "a=1,b=2" on commas while the command line did not. Now a
    string is one item and every item is split on commas, from Python, the command line and a TOML alike."""
    from edfgen.cli import cli
    from edfgen.commands.extract import ExtractOptions
    from edfgen.commands.extract_quality import quality_thresholds
    from edfgen.kernels.ecg.preprocess import QualityThresholds

    want = QualityThresholds(max_flat_leads=0, min_chest_r=0.2)
    o = ExtractOptions(ecg=(str(tmp_path),), out=str(tmp_path / "x.tsv"),
                       quality_threshold="max_flat_leads=0,min_chest_r=0.2")
    assert quality_thresholds(o.checked().quality_threshold) == want
    assert quality_thresholds(["max_flat_leads=0, min_chest_r=0.2"]) == want
    seen = _spy_on_extract(monkeypatch, tmp_path)
    res = CliRunner().invoke(cli, ["extract", "--ecg", str(tmp_path / "e"), "--out", str(tmp_path / "y.tsv"),
                                   "--quality-threshold", "max_flat_leads=0,min_chest_r=0.2"])
    assert "spied" in res.output and seen == [want], res.output
    with pytest.raises(InputError, match="max_flat_leads: given twice"):
        quality_thresholds(["max_flat_leads=0,max_flat_leads=1"])
    # a TOML string arrives split on its commas: the decimal-comma hint was lost ("'2': expected NAME=VALUE",
    # review of s38); now both items are named and the hint given
    with pytest.raises(InputError) as exc:
        ExtractOptions.from_mapping("extract", {"ecg": [str(tmp_path / "e")], "out": str(tmp_path / "z.tsv"),
                                                "quality_threshold": "min_chest_r=0,2"}, base=tmp_path).checked()
    assert ("--quality-threshold '2' after 'min_chest_r=0': expected NAME=VALUE (a decimal comma? use a decimal "
            "point)") in str(exc.value), exc.value


def test_check_out__a_listed_output_that_is_a_link_is_judged_by_its_own_name(tmp_path):
    """Review of s40: the --out check compared the path resolved (a link followed to its target) with the manifest's
    outputs, which are kept by name (as the resume check just above compared them): a listed edfs.tsv that is a link
    to a file elsewhere was refused as 'not listed' (it is), and --force, which replaces the link and never its
    target, was not offered."""
    from edfgen.commands.extract import _check_out
    from edfgen.formats.manifest import Manifest

    out, target = tmp_path / "edfs.tsv", tmp_path / "elsewhere.tsv"
    target.write_text("mine")
    out.symlink_to(target)
    Manifest(command="edfgen extract", outputs=["edfs.tsv"]).write(tmp_path, name="edfs.tsv.manifest.json")
    with pytest.raises(InputError, match=r"edfs\.tsv exists \(use --force to replace the files of the earlier"):
        _check_out(out, pca=None, force=False)
    _check_out(out, pca=None, force=True)
    assert target.read_text() == "mine"
