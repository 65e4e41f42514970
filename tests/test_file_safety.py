"""Nothing lost, nothing mixed, nothing half-written (issue 11): --force replaces only what edfgen wrote,
temporary files follow one rule that readers skip and commands clean, no command writes over its input,
and a failed command leaves no empty folder behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.exceptions import InputError
from edfgen.formats.tables import atomic_path, clean_temp_files, is_temp_name, prepare_out_dir, temp_name, write_table
from edfgen.formats.manifest import STREAM, Manifest, input_digest, plan_outputs, read_manifest, recording


# ------------------------------------------------------------------------------------------- temp files
def test_temp_files__one_naming_rule_recognised_and_cleaned(tmp_path):
    with atomic_path(tmp_path / "x.tsv.gz") as tmp:
        assert tmp.name.startswith(".x.tsv.gz.edfgen-tmp-") and tmp.name.endswith(".tsv.gz") and is_temp_name(tmp)
        tmp.write_text("partial")
        assert not (tmp_path / "x.tsv.gz").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["x.tsv.gz"]
    dead = tmp_path / "sub" / ".a.tsv.gz.edfgen-tmp-999999999-0a1b2c3d4e5f.tsv.gz"    # a killed writer's (no such pid)
    dead.parent.mkdir()
    dead.write_text("x")
    live = temp_name(tmp_path / "c.tsv")                                         # this process is alive: kept
    live.write_text("x")
    for name in ("a.tsv.gz", ".hidden", "x.edfgen-tmp.tsv", ".a.tsv.edfgen-tmp-12-zz", ".a.edfgen-tmp-12-0a1b2c3d4e5"):
        assert not is_temp_name(name)
    assert is_temp_name(".a.tsv.edfgen-tmp-12-0a1b2c3d4e5f") and is_temp_name(".a.tsv.edfgen-tmp-12-0a1b2c3d4e5f.tsv")
    removed = clean_temp_files(tmp_path)
    assert removed == [dead] and live.exists() and (tmp_path / "x.tsv.gz").exists()


@pytest.mark.parametrize("name", [".thesis.20261206.tmp", ".keep.abcd1234.tmp", ".b.tsv.gz.k3j_x9az.tmp.tsv.gz",
                                  ".notes.edfgen-tmp-999999999-mine.txt", ".x.edfgen-tmp-999999999-0a1b2c3d4e5fg"])
def test_clean_temp_files__never_takes_a_users_file_for_a_temporary_one(tmp_path, name):
    """Names of edfgen < 0.2's temporary-file rule (``.<name>.<8 chars>.tmp``, no marker, no pid) were removed at
    once by every command, without --force: a user's ``.thesis.20261206.tmp`` went (review s30e F2). Only
    ``.<name>.edfgen-tmp-<pid>-<12 hex>`` is edfgen's."""
    (tmp_path / "sub").mkdir()
    for f in (tmp_path / name, tmp_path / "sub" / name):
        f.write_text("precious")
    assert not is_temp_name(name) and clean_temp_files(tmp_path) == []
    assert (tmp_path / name).read_text() == (tmp_path / "sub" / name).read_text() == "precious"


def test_temp_dir__a_scratch_folder_of_a_killed_process_is_cleaned(tmp_path):
    """gwas --model ridge-loco's LOCO store (temp_dir): a folder named by the temporary-file rule, so the next
    command on the folder removes it when its process is gone (kill -9 leaves no 11 GB store behind)."""
    from edfgen.formats.atomic import temp_dir

    live = temp_dir(tmp_path / "loco-scratch")
    (live / "chr1.bin").write_bytes(b"x" * 8)
    assert live.is_dir() and is_temp_name(live) and live.name.startswith(".loco-scratch.edfgen-tmp-")
    dead = tmp_path / live.name.replace(f"-tmp-{__import__('os').getpid()}-", "-tmp-999999999-")
    live.rename(dead)
    assert clean_temp_files(tmp_path) == [dead] and not dead.exists()


def test_sumstats_discovery__skips_temporary_files(tmp_path):
    """clump and mr list the sumstats of a folder without the temporary file a killed gwas left."""
    from edfgen.formats.sumstats import MR_REQUIRED, expand_sumstats

    df = pd.DataFrame({"chromosome": ["1"], "base_pair_location": [10], "effect_allele": ["A"], "other_allele": ["G"],
                       "beta": [0.1], "standard_error": [0.01], "effect_allele_frequency": [0.3], "p_value": [1e-9],
                       "variant_id": ["1:10:G:A"], "rsid": ["rs1"], "n": [100]})
    write_table(df, tmp_path / "edf_001.tsv.gz")
    (tmp_path / ".edf_002.tsv.gz.edfgen-tmp-999999999-abcdef012345.tsv.gz").write_bytes(b"\x1f\x8b half a gzip")
    assert expand_sumstats([tmp_path]) == [tmp_path / "edf_001.tsv.gz"]
    assert expand_sumstats([tmp_path], "--exposure", required=MR_REQUIRED) == [tmp_path / "edf_001.tsv.gz"]


# ------------------------------------------------------------------------------------------- --force
def test_recording__force_replaces_only_the_listed_outputs(tmp_path):
    out = tmp_path / "o"
    with recording(out, "edfgen demo-cmd", planned=["a.tsv", "b.tsv"]):
        (out / "a.tsv").write_text("1")
        (out / "b.tsv").write_text("1")
    (out / "mine.txt").write_text("a user's notes")
    with pytest.raises(InputError, match="--force"):
        prepare_out_dir(out, command="edfgen demo-cmd")
    prepare_out_dir(out, force=True, command="edfgen demo-cmd")
    with recording(out, "edfgen demo-cmd", planned=["c.tsv"]):   # the earlier a/b go, the notes stay
        (out / "c.tsv").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["c.tsv", "manifest.json", "mine.txt"]
    assert read_manifest(out)["outputs"] == ["c.tsv"]                # the new manifest lists only the new files
    # a planned name taken by a file edfgen did not write: refused with one line, the file is kept
    (out / "d.tsv").write_text("a user's table")
    with pytest.raises(InputError, match=r"d\.tsv exists and was not written by an earlier 'edfgen demo-cmd'"):
        with recording(out, "edfgen demo-cmd", planned=["d.tsv"]):
            (out / "d.tsv").write_text("overwritten")
    assert (out / "d.tsv").read_text() == "a user's table"
    # another command's folder is refused even with --force
    with pytest.raises(InputError, match="holds the output of 'edfgen demo-cmd'"):
        prepare_out_dir(out, force=True, command="edfgen other")


def _strict_json(path: Path):
    """``path`` parsed as RFC 8259 JSON (no NaN/Infinity), as JavaScript's JSON.parse reads it."""
    import json

    return json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c} in {path}"))


def test_manifest__non_finite_numbers_are_written_null(tmp_path):
    """Review finding: evaluate's manifest.json held a bare NaN (JavaScript's JSON.parse refuses the file)."""
    import json

    out = tmp_path / "o"
    with recording(out, "edfgen demo-cmd", parameters={"alpha": float("nan")}) as m:
        m.extra["evaluation"] = {"encoder_minus": [float("nan"), np.float64("inf"), -np.inf], "auroc": np.float64(0.75)}
    doc = _strict_json(out / "manifest.json")
    assert doc["extra"]["evaluation"] == {"encoder_minus": [None, None, None], "auroc": 0.75}
    assert doc["parameters"] == {"alpha": None}
    # a manifest an older edfgen wrote with NaN is rewritten strict when marked in progress (--force, a rerun)
    (out / "manifest.json").write_text(json.dumps({**doc, "extra": {"x": float("nan")}}))
    from edfgen.formats.manifest import mark_in_progress

    mark_in_progress(out / "manifest.json")
    assert _strict_json(out / "manifest.json")["extra"] == {"x": None, "in_progress": True}


def test_manifest__a_fifo_input_is_recorded_as_a_stream_without_opening_it_again(fed_fifo):
    """Review s32b F2: a FIFO input, once read by the command, was opened again to be hashed for the manifest,
    and the command waited for ever for a writer. It is recorded as a stream and never opened again."""
    fifo, within = fed_fifo("pheno.tsv", b"FID\tIID\ty\n1\t1\t0.5\n")
    assert within(10, fifo.read_bytes).startswith(b"FID")          # the command reads it, once
    m = Manifest("edfgen gwas")
    within(10, lambda: m.add_inputs([fifo]))
    assert m.inputs == {os.path.abspath(fifo): STREAM}


def test_manifest__a_pipe_input_is_a_stream_not_the_digest_of_nothing():
    """Review s32b F3: `cat x | edfgen ... --pheno /dev/stdin` (or `<(...)`) recorded the sha256 of b"" (the pipe,
    already read, opened again gives nothing): the manifest claimed an empty input."""
    r, w = os.pipe()
    os.write(w, b"FID\tIID\ty\n")
    os.close(w)
    path = f"/dev/fd/{r}"
    try:
        with open(path, "rb") as fh:                                 # the command reads it, once
            assert fh.read() == b"FID\tIID\ty\n"
        assert input_digest(path) == STREAM != hashlib.sha256(b"").hexdigest()
    finally:
        os.close(r)


def test_recording__a_crash_leaves_an_in_progress_manifest_that_force_cleans(tmp_path):
    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        with recording(out, "edfgen demo-cmd", planned=["a.tsv", "b.tsv", "plots/p.png"]):   # (plots by name: a
            (out / "a.tsv").write_text("1")                                                    # folder listed whole
            #                                               is edfgen's only in part, review s40)
            (out / "plots").mkdir()
            (out / "plots" / "p.png").write_text("1")
            raise KeyboardInterrupt
    m = read_manifest(out)
    assert m["finished"] is None and m["outputs"] == ["a.tsv", "b.tsv", "plots/p.png"]
    assert read_manifest(out, complete=True) is None
    # review s31d #6: a rerun of the same command restarts by itself in a folder holding only the killed run's files
    # ("a rerun resumes"); another command, or a file edfgen did not write there, still needs a word
    assert prepare_out_dir(out, command="edfgen demo-cmd") == out
    with pytest.raises(InputError, match=r"holds the output of 'edfgen demo-cmd'"):
        prepare_out_dir(out, command="edfgen other-cmd")
    (out / "mine.txt").write_text("kept")
    # the rerun without --force is told that the earlier run never finished, and what --force replaces
    with pytest.raises(InputError, match=r"not empty, with an unfinished 'edfgen demo-cmd' run started .*"
                                         r"\(use --force to overwrite \(its files listed"):
        prepare_out_dir(out, command="edfgen demo-cmd")
    with recording(out, "edfgen demo-cmd", planned=["b.tsv"]):
        (out / "b.tsv").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b.tsv", "manifest.json", "mine.txt"]


def test_recording__never_over_an_input_and_no_empty_folder_after_failure(tmp_path):
    inp = tmp_path / "o" / "a.tsv"
    inp.parent.mkdir()
    inp.write_text("input")
    with pytest.raises(InputError, match="is also an input"):
        with recording(tmp_path / "o", "edfgen demo-cmd", inputs=[inp], planned=["a.tsv"]):
            pass
    assert inp.read_text() == "input"
    with pytest.raises(ValueError):
        with recording(tmp_path / "new", "edfgen demo-cmd", planned=["x.tsv"]):
            raise ValueError("failed")
    assert not (tmp_path / "new").exists()


def _fake_simulate_into(stage: Path, *, ecg: bool, **kw) -> dict:
    """Stands in for the (slow) coalescent simulation: the file handling around it is under test."""
    from edfgen.simulate.cohort import OUTPUT_FILES

    for name in OUTPUT_FILES:
        if name == "ecg":
            if ecg:
                (stage / "ecg").mkdir()
                (stage / "ecg" / "P000001.hea").write_text("simulated")
        else:
            (stage / name).write_text(f"{name} seed {kw['seed']}")
    return {"n_variants": 60, "related_pairs": [], "families": [], "heritability": {}, "causal": [],
            "chromosomes": [1], "loci": []}


@pytest.mark.parametrize("previous", ["manifest without ecg", "no manifest"])
def test_simulate_force__keeps_a_folder_it_did_not_write(tmp_path, previous, monkeypatch):
    """Item 1: `simulate --out DIR --no-ecg --force` deleted a user's DIR/ecg/."""
    import edfgen.simulate.cohort as cohort

    monkeypatch.setattr(cohort, "_simulate_into", _fake_simulate_into)
    out = tmp_path / "cohort"
    args = ["simulate", "--out", str(out), "--n", "40", "--chromosomes", "1", "--variants-per-chromosome", "60"]
    if previous == "manifest without ecg":
        res = CliRunner().invoke(cli, [*args, "--no-ecg"])
        assert res.exit_code == 0, res.output
    (out / "ecg").mkdir(parents=True)
    (out / "ecg" / "precious.hea").write_text("a user's record")
    res = CliRunner().invoke(cli, [*args, "--no-ecg", "--force", "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert (out / "ecg" / "precious.hea").read_text() == "a user's record"
    assert "ecg" not in read_manifest(out)["outputs"] and (out / "genotypes.bed").read_text().endswith("seed 2")
    # writing ECGs there would overwrite the user's folder: one line, exit 2, the folder kept
    res = CliRunner().invoke(cli, [*args, "--force"])
    assert res.exit_code == 2 and "ecg/precious.hea exists and was not written by an earlier 'edfgen simulate'" in res.output
    assert len(res.output.strip().splitlines()) == 1 and (out / "ecg" / "precious.hea").exists()
    assert not [p for p in out.iterdir() if is_temp_name(p.name)]


# ------------------------------------------------------------------------------------------- gwas, clump, annotate
def test_gwas_force__drops_the_earlier_runs_phenotypes(tiny_sim_cohort, tmp_path):
    """Item 5: `gwas --force` over an earlier run kept that run's phenotype files and listed them in the new manifest."""
    rng = np.random.default_rng(0)
    iids = pd.read_csv(tiny_sim_cohort / "covariates.tsv", sep="\t", dtype={"IID": str})["IID"]
    for name, cols in (("a.tsv", ["x", "y"]), ("b.tsv", ["z"])):
        pd.DataFrame({"IID": iids, **{c: rng.normal(size=len(iids)) for c in cols}}).to_csv(tmp_path / name, sep="\t",
                                                                                          index=False)
    out = tmp_path / "gwas"
    base = ["gwas", "--bfile", str(tiny_sim_cohort / "genotypes"), "--covar", str(tiny_sim_cohort / "covariates.tsv"),
            "--covar-cols", "age,sex", "--no-plots", "--maf", "0.05", "--out", str(out)]
    assert CliRunner().invoke(cli, [*base, "--pheno", str(tmp_path / "a.tsv")]).exit_code == 0
    (out / "README.txt").write_text("mine")
    res = CliRunner().invoke(cli, [*base, "--pheno", str(tmp_path / "b.tsv"), "--force"])
    assert res.exit_code == 0, res.output
    assert not (out / "x.tsv.gz").exists() and not (out / "y.tsv.gz").exists() and (out / "z.tsv.gz").exists()
    outputs = read_manifest(out)["outputs"]
    assert "z.tsv.gz" in outputs and not any(o.startswith(("x.", "y.")) for o in outputs)
    assert "README.txt" not in outputs and (out / "README.txt").read_text() == "mine"


def test_clump_failure__leaves_no_empty_folder(tiny_sim_cohort, tmp_path):
    """Item 11: a failed clump left the empty --out folder it had created (here: a truncated .bed)."""
    import shutil

    panel = tmp_path / "panel"
    for ext in ("bim", "fam"):
        shutil.copy(tiny_sim_cohort / f"genotypes.{ext}", f"{panel}.{ext}")
    Path(f"{panel}.bed").write_bytes((tiny_sim_cohort / "genotypes.bed").read_bytes()[:100])
    bim = pd.read_csv(f"{panel}.bim", sep="\t", header=None, dtype=str)
    ss = tmp_path / "edf_001.tsv.gz"
    write_table(pd.DataFrame({"chromosome": [bim.iloc[0, 0]], "base_pair_location": [int(bim.iloc[0, 3])],
                              "effect_allele": [bim.iloc[0, 4]], "other_allele": [bim.iloc[0, 5]], "beta": [0.5],
                              "standard_error": [0.05], "effect_allele_frequency": [0.3], "p_value": [1e-12],
                              "variant_id": [bim.iloc[0, 1]], "rsid": ["rs1"], "n": [120]}), ss)
    res = CliRunner().invoke(cli, ["clump", "--sumstats", str(ss), "--bfile", str(panel), "--out", str(tmp_path / "loci")])
    assert res.exit_code != 0, res.output
    assert not (tmp_path / "loci").exists()


def test_annotate__out_equal_to_loci_is_refused(tmp_path):
    """Item 5: `annotate --out` equal to its `--loci` replaced its own input."""
    from edfgen.pipeline import packaged_catalog

    loci = tmp_path / "loci.tsv"
    pd.DataFrame({"variant_id": ["1:1000:A:G"], "chromosome": ["1"], "base_pair_location": [1000],
                  "p_value": [1e-9]}).to_csv(loci, sep="\t", index=False)
    before = loci.read_bytes()
    res = CliRunner().invoke(cli, ["annotate", "--loci", str(loci), "--catalog", str(packaged_catalog()),
                                   "--out", str(loci)])
    assert res.exit_code == 2 and "is also an input" in res.output and len(res.output.strip().splitlines()) == 1
    assert loci.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["loci.tsv"]


def test_annotate__never_overwrites_a_file_it_did_not_write(tmp_path):
    """`annotate --out` on a user's existing file replaced it (review finding: "my precious notes" gone); now
    refused in one line and the file kept; a file an earlier annotate wrote (listed in <out>.manifest.json) is
    replaced by a rerun, as before."""
    from edfgen.pipeline import packaged_catalog

    loci = tmp_path / "loci.tsv"
    pd.DataFrame({"variant_id": ["1:1000:A:G"], "chromosome": ["1"], "base_pair_location": [1000],
                  "p_value": [1e-9]}).to_csv(loci, sep="\t", index=False)
    mine = tmp_path / "notes.tsv"
    mine.write_text("my precious notes\n")
    args = ["annotate", "--loci", str(loci), "--catalog", str(packaged_catalog()), "--out"]
    res = CliRunner().invoke(cli, [*args, str(mine)])
    assert res.exit_code == 2 and "was not written by an earlier edfgen annotate" in res.output
    assert len(res.output.strip().splitlines()) == 1 and mine.read_text() == "my precious notes\n"
    out = tmp_path / "annotated.tsv"
    for _ in range(2):                                     # written, then replaced by the rerun
        res = CliRunner().invoke(cli, [*args, str(out)])
        assert res.exit_code == 0, res.output
    assert pd.read_csv(out, sep="\t")["variant_id"].tolist() == ["1:1000:A:G"]


def _loci_args(tmp_path) -> list[str]:
    """``edfgen annotate`` arguments up to ``--out`` on one locus (the shipped catalog)."""
    from edfgen.pipeline import packaged_catalog

    loci = tmp_path / "loci.tsv"
    pd.DataFrame({"variant_id": ["1:1000:A:G"], "chromosome": ["1"], "base_pair_location": [1000],
                  "p_value": [1e-9]}).to_csv(loci, sep="\t", index=False)
    return ["annotate", "--loci", str(loci), "--catalog", str(packaged_catalog()), "--out"]


def test_annotate__a_disk_full_run_leaves_nothing_and_the_rerun_works(tmp_path, monkeypatch):
    """Review s32b F4: annotate stopped by a full disk left its table under the final name without a manifest,
    and the rerun refused it as not edfgen's. Its outputs are written inside recording(): removed after a
    disk-full failure, so the same command works once space is freed."""
    import edfgen.commands.annotate as an
    from edfgen.exceptions import OutputError

    real = an.write_table

    def full(df, path, *a, **k):
        real(df, path, *a, **k)
        raise OutputError(f"{path}.manifest.json: cannot write (No space left on device)")

    args, out = _loci_args(tmp_path), tmp_path / "a" / "annotated.tsv"
    monkeypatch.setattr(an, "write_table", full)
    res = CliRunner().invoke(cli, [*args, str(out)])
    assert res.exit_code == 1 and "No space left" in res.output.splitlines()[-1] and "Traceback" not in res.output
    assert not out.exists() and not Path(f"{out}.manifest.json").exists()
    monkeypatch.undo()
    res = CliRunner().invoke(cli, [*args, str(out)])
    assert res.exit_code == 0, res.output
    assert read_manifest(out.parent, name="annotated.tsv.manifest.json", complete=True)["outputs"] == ["annotated.tsv"]


def test_annotate__out_under_a_file_is_one_line_before_the_work(tmp_path, monkeypatch):
    """Review s32b F6: --out under a file was a traceback (FileExistsError, NotADirectoryError) after the whole
    annotation; now one line naming the file in the way, before any work."""
    import edfgen.commands.annotate as an

    monkeypatch.setattr(an, "annotate_loci", lambda *a, **k: pytest.fail("annotated before checking --out"))
    (tmp_path / "afile").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "sub").write_text("x")
    for out, blocker in (("afile/a.tsv", "afile"), ("d/sub/deeper/a.tsv", "sub")):
        res = CliRunner().invoke(cli, [*_loci_args(tmp_path), str(tmp_path / out)])
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
        assert f"{blocker} is a file, not a folder" in res.output


def test_annotate__a_fifo_loci_file_is_read_once(tmp_path, fed_fifo):
    """Review s32b F2: `annotate --loci` a FIFO hung (opened again to be hashed); it is read once and recorded as
    a stream."""
    from edfgen.commands.annotate import run_annotate
    from edfgen.pipeline import packaged_catalog

    fifo, within = fed_fifo("loci_fifo.tsv", b"variant_id\tchromosome\tbase_pair_location\tp_value\n"
                                              b"1:1000:A:G\t1\t1000\t1e-9\n")
    out = tmp_path / "a" / "annotated.tsv"
    res = within(60, lambda: run_annotate(fifo, packaged_catalog(), out))
    assert res["variant_id"].tolist() == ["1:1000:A:G"]
    assert read_manifest(out.parent, name="annotated.tsv.manifest.json")["inputs"][os.path.abspath(fifo)] == STREAM


def test_annotate__a_fifo_genes_file_is_read_once(tmp_path, fed_fifo):
    """`annotate --genes FIFO` hung for ever (stop 39 matrix, benchmarks/results/fuzz_cli_matrix.md): the genome
    build check read the FIFO's head, then read_genes opened it again with no writer left. Read once now, and its
    genes are the nearest genes."""
    from edfgen.commands.annotate import run_annotate
    from edfgen.pipeline import packaged_catalog

    fifo, within = fed_fifo("genes.bed", b"chr1\t500\t20000\tGENEA\t0\t+\nchr1\t30000\t61000\tGENEB\t0\t-\n")
    (tmp_path / "loci.tsv").write_text("variant_id\tchromosome\tbase_pair_location\tp_value\n"
                                       "1:1000:A:G\t1\t1000\t1e-9\n")
    out = tmp_path / "a" / "annotated.tsv"
    res = within(60, lambda: run_annotate(tmp_path / "loci.tsv", packaged_catalog(), out, genes=fifo))
    assert res["nearest_gene"].tolist() == ["GENEA"], res.columns.tolist()


def _lock_holder(folder: Path, command: str):
    """Another process holding ``folder``'s write lock (as a running command does), started and holding it."""
    import os
    import subprocess
    import sys

    code = ("import time; from edfgen.formats.lock import folder_lock\n"
            f"with folder_lock({str(folder)!r}, {command!r}):\n    print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_extract_mr_annotate__a_second_writer_of_the_same_out_is_refused_from_the_start(tmp_path):
    """extract and annotate (file outputs; annotate took no lock at all, review s32b F5: two annotates into one
    --out left one's table with the other's manifest) and mr (which checked its folder first and took the lock only to write, ~15 s later)
    hold the folder's write lock from their start: a second run into the same --out while another holds it is
    refused in one line (review finding: both runs exited 0, the second's output replacing the first's)."""
    from edfgen.commands.mr import run_mr

    held = tmp_path / "busy"
    held.mkdir()
    proc = _lock_holder(held, "edfgen extract")
    try:
        res = CliRunner().invoke(cli, ["extract", "--ecg", str(tmp_path), "--out", str(held / "edfs.tsv"),
                                       "--workers", "0"])
        assert res.exit_code == 2 and "in use by" in res.output and len(res.output.strip().splitlines()) == 1
        with pytest.raises(InputError, match="in use by"):
            run_mr(tmp_path / "exposure", tmp_path / "outcome", held)
        res = CliRunner().invoke(cli, [*_loci_args(tmp_path), str(held / "annotated.tsv")])   # review s32b F5
        assert res.exit_code == 2 and "in use by" in res.output and len(res.output.strip().splitlines()) == 1
        assert sorted(p.name for p in held.iterdir()) == [".edfgen.lock"]
    finally:
        proc.kill()
        proc.wait()


def test_remove_outputs__a_removal_that_fails_halfway_leaves_an_in_progress_manifest(tmp_path, monkeypatch):
    """--force deleted the listed outputs first and the manifest last: a deletion that failed (an immutable or
    read-only file) or a kill in between left a complete manifest listing deleted files, and clump read the
    folder as a whole GWAS with phenotypes missing (review finding). The manifest is now marked in progress
    first, so readers see the earlier output as incomplete."""
    from edfgen.formats.manifest import remove_outputs

    out = tmp_path / "o"
    with recording(out, "edfgen demo-cmd", planned=["a.tsv", "b.tsv", "c.tsv"]):
        for n in "abc":
            (out / f"{n}.tsv").write_text("1")
    assert read_manifest(out, complete=True) is not None
    real_unlink = Path.unlink

    def unlink(self, *a, **k):
        if self.name == "b.tsv":
            raise PermissionError(1, "Operation not permitted", str(self))
        return real_unlink(self, *a, **k)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(PermissionError):
        remove_outputs(out, command="edfgen demo-cmd")
    monkeypatch.undo()
    assert not (out / "a.tsv").exists() and (out / "b.tsv").exists()
    assert read_manifest(out, complete=True) is None and read_manifest(out)["extra"]["in_progress"]
    assert sorted(remove_outputs(out, command="edfgen demo-cmd")) == [out / "b.tsv", out / "c.tsv"]
    assert sorted(p.name for p in out.iterdir()) == []


def test_folder_lock__a_killed_unreaped_writer_does_not_hold_the_folder(tmp_path):
    """A writer killed with SIGKILL whose parent has not reaped it yet (a zombie: `timeout -s KILL` right before
    the rerun) still answered kill(pid, 0), so the rerun said 'in use by ... pid N' for a dead process (review
    finding); its lock is stale now."""
    import os
    import signal
    import time

    from edfgen.formats.lock import folder_lock

    d = tmp_path / "o"
    d.mkdir()
    proc = _lock_holder(d, "edfgen gwas")
    try:
        os.kill(proc.pid, signal.SIGKILL)
        for _ in range(100):                                  # dead, not reaped (no wait() yet): a zombie
            if Path(f"/proc/{proc.pid}/stat").read_text().split(") ")[1].startswith("Z"):
                break
            time.sleep(0.05)
        with folder_lock(d, "edfgen gwas"):                  # taken over: the dead writer's lock is stale
            pass
    finally:
        proc.kill()
        proc.wait()


def test_prepare_out_dir__a_parent_that_is_a_file_is_called_a_file(tmp_path):
    """Review s32b F8: gwas/clump/mr `--out afile/x` said "afile is not writable"; it is a file, not a folder."""
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match=r"afile is a file, not a folder\)$"):
        prepare_out_dir(tmp_path / "afile" / "g", command="edfgen gwas")


def test_folder_lock__a_lock_a_full_disk_cannot_take_names_it_and_leaves_none(tmp_path, monkeypatch):
    """Review s32b F7: on a full disk the lock's content could not be written: "an output file: cannot write" (no
    path), and an empty .edfgen.lock stayed. Now one line naming the lock file, and no lock left."""
    import errno
    import json
    import types

    import edfgen.formats.lock as lock
    from edfgen.exceptions import OutputError

    def full(obj, fh):
        raise OSError(errno.ENOSPC, "No space left on device")   # as a failed write or close of the lock says it

    monkeypatch.setattr(lock, "json", types.SimpleNamespace(dump=full, loads=json.loads))
    with pytest.raises(OutputError, match=r"\.edfgen\.lock: cannot write \(No space left on device\)"):
        with lock.folder_lock(tmp_path, "edfgen clump"):
            pytest.fail("locked")
    assert list(tmp_path.iterdir()) == []


def test_extract__an_out_whose_folder_cannot_be_made_or_locked_is_one_line(tmp_path):
    """--out under a file (its folder cannot be made) and under /proc (no lock file can be written) gave
    tracebacks (FileExistsError, FileNotFoundError); one-line errors now (review finding)."""
    (tmp_path / "afile").write_text("x")
    for out, match in ((tmp_path / "afile" / "edfs.tsv", "cannot create its folder"),
                       (Path("/proc/edfs.tsv"), "cannot write its lock file")):
        res = CliRunner().invoke(cli, ["extract", "--ecg", str(tmp_path), "--out", str(out), "--workers", "0"])
        assert res.exit_code == 2 and match in res.output and len(res.output.strip().splitlines()) == 1, res.output
    (tmp_path / "no_ecg").mkdir()                       # a failed first run leaves none of the folders it made
    res = CliRunner().invoke(cli, ["extract", "--ecg", str(tmp_path / "no_ecg"), "--out",
                                   str(tmp_path / "new" / "a" / "edfs.tsv"), "--workers", "0"])
    assert res.exit_code == 2 and "no ECG records" in res.output and not (tmp_path / "new").exists()


def test_manifest__paths_recorded_absolute_with_the_working_directory(tiny_sim_cohort, tmp_path, monkeypatch):
    """The clump manifest kept `--bfile cohort/genotypes` as typed and no working directory, so notebooks 02/04
    (started in notebooks/) skipped their regional plots ("no PLINK 1 fileset recorded"). Path parameters and
    inputs are recorded absolute, with the working directory; values that are no path from here stay as given."""
    import json
    import os
    import shutil

    work = tmp_path / "work"
    shutil.copytree(tiny_sim_cohort, work / "cohort", ignore=shutil.ignore_patterns("ecg"))
    bim = pd.read_csv(work / "cohort" / "genotypes.bim", sep="\t", header=None, dtype=str)
    write_table(pd.DataFrame({"chromosome": [bim.iloc[0, 0]], "base_pair_location": [int(bim.iloc[0, 3])],
                              "effect_allele": [bim.iloc[0, 4]], "other_allele": [bim.iloc[0, 5]], "beta": [0.5],
                              "standard_error": [0.05], "effect_allele_frequency": [0.3], "p_value": [1e-12],
                              "variant_id": [bim.iloc[0, 1]], "rsid": ["rs1"], "n": [120]}), work / "edf_001.tsv.gz")
    monkeypatch.chdir(work)
    res = CliRunner().invoke(cli, ["clump", "--sumstats", "edf_001.tsv.gz", "--bfile", "cohort/genotypes",
                                   "--out", "loci", "-q"])
    assert res.exit_code == 0, res.output
    man = json.loads((work / "loci" / "manifest.json").read_text())
    assert man["parameters"]["bfile"] == str(work / "cohort" / "genotypes") and man["working_directory"] == str(work)
    assert str(work / "edf_001.tsv.gz") in man["inputs"] and all(os.path.isabs(k) for k in man["inputs"])
    assert Path(man["parameters"]["bfile"] + ".bed").exists()
    # the rule itself: a file, a folder, a prefix, a {chr} template in a folder, a genotype label; else unchanged
    from edfgen.formats.manifest import Manifest, resolved_path

    (work / "imp").mkdir()
    for given, want in [("edf_001.tsv.gz", str(work / "edf_001.tsv.gz")), ("cohort", str(work / "cohort")),
                        ("--pfile cohort/genotypes", f"--pfile {work}/cohort/genotypes"),
                        ("imp/chr{chr}.bgen", str(work / "imp" / "chr{chr}.bgen")), ("small", "small"),
                        ("gs://b/x.vcf.bgz", "gs://b/x.vcf.bgz"), ("nowhere/x", "nowhere/x"), (None, None),
                        (["cohort", "small"], [str(work / "cohort"), "small"])]:
        assert resolved_path(given) == want, given
    m = Manifest("edfgen x", parameters={"checkpoint": "small", "genes": "cohort/genotypes.bim", "method": "cohort",
                                         "out": "new/"})
    assert m.parameters == {"checkpoint": "small", "genes": str(work / "cohort" / "genotypes.bim"),
                            "method": "cohort", "out": str(work / "new")}
    # review s29e F3: gwas records its genotype options one level down (parameters.genotypes): resolved there too
    (work / "keep.txt").write_text("1\n")
    m = Manifest("edfgen gwas", parameters={"genotypes": {"bfile": "cohort/genotypes", "keep": "keep.txt",
                                                          "min_info": None}, "phenotypes": ["cohort"]})
    assert m.parameters["genotypes"] == {"bfile": str(work / "cohort" / "genotypes"),
                                         "keep": str(work / "keep.txt"), "min_info": None}
    assert m.parameters["phenotypes"] == ["cohort"]


def test_a_users_dot_tmp_file__survives_extract_a_folder_command_and_run(tiny_sim_cohort, tmp_path, monkeypatch):
    """A user's hidden ``.thesis.20261206.tmp`` fitted the temporary-name rule of edfgen < 0.2 and was deleted,
    without --force, by extract (in the folder of --out), by every folder command (recursively) and by edfgen run
    (recursively over the run's folder) (review s30e F2)."""
    import shutil

    import edfgen.pipeline as pl
    from edfgen.pipeline import config_from_dict

    name = ".thesis.20261206.tmp"
    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for hea in sorted((tiny_sim_cohort / "ecg").glob("*.hea"))[:4]:
        for f in hea.parent.glob(f"{hea.stem}.*"):
            shutil.copy(f, ecg / f.name)
    proj = tmp_path / "proj"
    (proj / "gwas" / "sub").mkdir(parents=True)
    mine = [proj / name, proj / "gwas" / name, proj / "gwas" / "sub" / name]
    for f in mine:
        f.write_text("precious")
    res = CliRunner().invoke(cli, ["extract", "--ecg", str(ecg), "--out", str(proj / "edf.tsv"), "--checkpoint", "tiny",
                                   "--workers", "0", "--threads", "1", "--device", "cpu", "-q"])
    assert res.exit_code == 0, res.output
    assert mine[0].exists() and (proj / "edf.tsv").exists()
    iids = pd.read_csv(tiny_sim_cohort / "covariates.tsv", sep="\t", dtype={"IID": str})["IID"]
    pd.DataFrame({"IID": iids, "x": np.random.default_rng(0).normal(size=len(iids))}).to_csv(tmp_path / "p.tsv",
                                                                                           sep="\t", index=False)
    res = CliRunner().invoke(cli, ["gwas", "--bfile", str(tiny_sim_cohort / "genotypes"), "--pheno",
                                   str(tmp_path / "p.tsv"), "--no-plots", "--maf", "0.05", "--out", str(proj / "gwas"),
                                   "--force", "-q"])
    assert res.exit_code == 0, res.output
    assert (proj / "gwas" / "x.tsv.gz").exists() and mine[1].exists() and mine[2].exists()

    def fail(options):
        raise InputError("stopped after the run's clean-up")

    monkeypatch.setattr(pl, "run_command", fail)
    with pytest.raises(InputError, match="stopped after"):
        pl.run_pipeline(config_from_dict({"run": {"out": str(proj)}, "simulate": {}}, base=tmp_path))
    assert [f.read_text() for f in mine] == ["precious"] * 3


def _old_style_output(out: Path, *, finished: str) -> None:
    """An output folder as an older edfgen left it: its manifest lists ``plots/`` as a whole folder."""
    import json

    (out / "plots").mkdir(parents=True)
    (out / "summary.tsv").write_text("1")
    (out / "plots" / "edf_001_manhattan.png").write_bytes(b"png")
    (out / "manifest.json").write_text(json.dumps({"command": "edfgen demo-cmd", "started": finished,
                                                   "finished": finished, "outputs": ["plots/", "summary.tsv"]}))


def test_remove_outputs__an_old_manifest_listing_a_folder_whole_keeps_a_users_file_put_there(tmp_path):
    """Manifests of an older edfgen list whole folders (gwas plots/ and loco/, clump regional/, simulate ecg/ ...),
    so --force, a rerun or edfgen run's rerun of a stage deleted a user's file put there later along with the folder
    (review s40). Only the files unchanged since that run finished (status-change time), in folders unchanged too,
    are edfgen's now. The manifest stays (in progress, listing that folder) while the folder holds files edfgen could
    not tell are its own: it was deleted, leaving them no one's, and the next refusal said 'not listed' (review of
    s40)."""
    import json

    from edfgen.formats.manifest import read_manifest, remove_outputs, unlisted_file

    out = tmp_path / "o"
    _old_style_output(out, finished="")
    (out / "plots" / "edf_002_manhattan.png").write_bytes(b"png")
    old = {**json.loads((out / "manifest.json").read_text()), "finished": _finished_now()}
    (out / "manifest.json").write_text(json.dumps(old))
    (out / "plots" / "edf_001_manhattan.png").write_bytes(b"edited")   # changed in place after the run finished
    assert unlisted_file(out) == out / "plots" / "edf_001_manhattan.png"
    removed = remove_outputs(out, command="edfgen demo-cmd")
    assert sorted(p.name for p in removed) == ["edf_002_manhattan.png", "summary.tsv"]
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["edf_001_manhattan.png"]
    m = read_manifest(out)
    assert m["finished"] is None and m["outputs"] == ["plots/"] and m["extra"]["removing"]
    (out / "plots" / "my_notes.txt").write_text("mine")                # a user's file, put there later
    removed = remove_outputs(out, command="edfgen demo-cmd", plan=[out / "plots" / "edf_001_manhattan.png"])
    assert [p.name for p in removed] == ["edf_001_manhattan.png"]      # planned again: edfgen's
    assert (out / "plots" / "my_notes.txt").read_text() == "mine" and read_manifest(out)["outputs"] == ["plots/"]
    with pytest.raises(InputError, match=r"--out .*: plots/my_notes\.txt is in plots/, which manifest\.json \(an "
                                         r"older edfgen's\) lists as a whole folder, and an earlier removal of that "
                                         r"run's outputs \(--force, a rerun\) kept it, so edfgen cannot tell it is "
                                         r"its own: check it, and move or delete it yourself \(or move all of plots/ away if "
                                         r"nothing in it is yours\), or choose another --out$"):
        with recording(out, "edfgen demo-cmd", planned=["plots/edf_001_manhattan.png"]):
            pass
    (out / "plots" / "my_notes.txt").unlink()
    assert remove_outputs(out, command="edfgen demo-cmd") == [] and sorted(out.iterdir()) == []


def test_recording__an_old_manifest_listing_a_folder_whole_is_refused_over_a_users_file_in_it(tmp_path):
    """A rerun over an older edfgen's output whose manifest lists plots/ whole: the plots this run writes again
    are replaced, a user's file in plots/ is refused in one line naming it and kept (it was deleted, review s40)."""
    out = tmp_path / "o"
    _old_style_output(out, finished="2020-01-01T00:00:00+00:00")   # (every file here changed after that time)
    (out / "plots" / "my_notes.txt").write_text("mine")
    planned = ["summary.tsv", "plots/edf_001_manhattan.png"]
    with pytest.raises(InputError, match=r"plots/my_notes\.txt is in plots/, which manifest\.json \(an older "
                                         r"edfgen's\) lists as a whole folder, and it or a folder above it changed "
                                         r"after that run finished \(2020-01-01T00:00:00\+00:00; moved or copied in"):
        with recording(out, "edfgen demo-cmd", planned=planned):
            pass
    assert (out / "plots" / "my_notes.txt").read_text() == "mine"
    assert (out / "plots" / "edf_001_manhattan.png").exists()
    (out / "plots" / "my_notes.txt").rename(tmp_path / "my_notes.txt")
    # a file at a planned name changed after that run is not written over either (s41safefix2 #2: a plain rerun wrote
    # over a user's file there); once the user moved plots/ away, the rerun goes on
    with pytest.raises(InputError, match=r"plots/edf_001_manhattan\.png is in plots/, .*this run writes that very"):
        with recording(out, "edfgen demo-cmd", planned=planned):
            pass
    (out / "plots").rename(tmp_path / "plots_moved")
    with recording(out, "edfgen demo-cmd", planned=planned):
        assert not (out / "plots").exists()
        (out / "plots").mkdir()
        for x in planned:
            (out / x).write_text("2")
    assert read_manifest(out)["outputs"] == sorted(planned)


def test_stage_checks__one_resolve_per_folder_not_per_listed_file(tmp_path, monkeypatch):
    """Review s40: every check of a folder whose manifest lists each of simulate's 10,000 records (a stage done,
    its outputs' fingerprints, a stray file, a rerun's planned names) resolved a path per entry: ~0.5 s each
    (10,000 entries: output_fingerprints 0.70 -> 0.22-0.35 s, unlisted_file 0.8-1.3 -> 0.2-0.35 s, on this shared
    machine). Now the folders are resolved once each: the count of realpath calls does not grow with the files."""
    from edfgen.formats.manifest import unlisted_file
    from edfgen.pipeline_checks import changed_outputs, output_fingerprints

    out = tmp_path / "sim"
    names = [f"ecg/r{i:04d}.npz" for i in range(600)] + ["biobank/cohort.bed"]
    with recording(out, "edfgen simulate", planned=names):
        for d in ("ecg", "biobank"):
            (out / d).mkdir()
        for n in names:
            (out / n).write_bytes(b"x")
    calls = []
    real = os.path.realpath
    monkeypatch.setattr(os.path, "realpath", lambda p, *a, **k: calls.append(p) or real(p, *a, **k))
    recorded = output_fingerprints(out / "manifest.json")
    assert len(recorded) == len(names) and changed_outputs(out / "manifest.json", recorded) == []
    assert unlisted_file(out) is None
    with recording(out, "edfgen simulate", planned=names):      # the rerun's checks of its 601 planned names
        for d in ("ecg", "biobank"):
            (out / d).mkdir(exist_ok=True)
        for n in names:
            (out / n).write_bytes(b"y")
    assert len(calls) < 60, len(calls)


def test_manifest_packages__installed_versions_the_same_whatever_was_imported():
    """Review s40user F1: `packages` listed the __version__ of the libraries the process had imported: cbgen's
    placeholder "x.x.x" for BGEN input (1.0.6 installed), torch under `edfgen run` after extract but not on a rerun
    that skipped extract, no cyvcf2 or h5py. Now the installed versions (importlib.metadata) of a fixed list."""
    import importlib.metadata as md
    import subprocess
    import sys

    from edfgen.formats.manifest import package_versions

    distributions = {"numpy": "numpy", "scipy": "scipy", "sklearn": "scikit-learn", "cbgen": "cbgen",
                     "pgenlib": "Pgenlib", "cyvcf2": "cyvcf2", "h5py": "h5py", "torch": "torch", "pysam": "pysam"}
    want = {}
    for name, dist in distributions.items():
        try:
            want[name] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    import cbgen  # noqa: F401  (its __version__ is "x.x.x")
    got = package_versions()
    assert {k: got.get(k) for k in want} == want and "x.x.x" not in got.values()
    assert "cyvcf2" in got and "h5py" in got                  # dependencies: VCF reading, HDF5 ECG arrays
    # a fresh process that imports none of them records the same list
    code = "import json; from edfgen.formats.recorded import package_versions; print(json.dumps(package_versions()))"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    import json
    assert json.loads(fresh.stdout) == got


def _finished_now() -> str:
    """A ``finished`` stamp for a hand-written old manifest, then a wait until a file changed now is later than it
    (the rule: status-change time no later than the second after ``finished``)."""
    import datetime as dt
    import time

    now = time.time()
    time.sleep(int(now) + 1.02 - time.time())
    return dt.datetime.fromtimestamp(int(now), dt.timezone.utc).isoformat()


def test_owned_files__a_users_folder_moved_into_an_old_whole_folder_is_not_edfgens(tmp_path):
    """Review of s40: moving a folder changes only that folder's status-change time, so `mv ~/notes out/plots/`
    (or `rm -r plots && mv ~/myplots plots`, the listed folder itself replaced) left every file in it looking
    unchanged since the old run finished: the rerun and --force deleted the user's files. A file is edfgen's there
    only when every folder from the listed one down to it is unchanged too (else only when planned)."""
    import json
    import os

    from edfgen.formats.manifest import owned_files, remove_outputs

    notes, myplots = tmp_path / "notes", tmp_path / "myplots"
    for d in (notes, myplots):
        d.mkdir()
        (d / "thesis_fig.txt").write_text("precious")
    plots = ["plots/edf_001_manhattan.png", "plots/edf_002_manhattan.png"]
    outs = {case: tmp_path / case for case in ("moved_in", "replaced")}
    for out in outs.values():
        (out / "plots").mkdir(parents=True)
        for f in plots:
            (out / f).write_bytes(b"png")
    finished = _finished_now()                           # every file above: unchanged since the run "finished"
    old = {"command": "edfgen demo-cmd", "started": finished, "finished": finished, "outputs": ["plots/"]}
    for out in outs.values():
        (out / "manifest.json").write_text(json.dumps(old))
    os.rename(notes, outs["moved_in"] / "plots" / "notes")           # mv ~/notes out/plots/
    replaced = outs["replaced"] / "plots"
    for f in replaced.iterdir():
        f.unlink()
    replaced.rmdir()
    os.rename(myplots, replaced)                                     # rm -r plots && mv ~/myplots plots
    mine = {"moved_in": outs["moved_in"] / "plots" / "notes" / "thesis_fig.txt",
            "replaced": replaced / "thesis_fig.txt"}
    for case, out in outs.items():
        assert mine[case] not in owned_files(old, out, plan=[out / f for f in plots])
        with pytest.raises(InputError, match=r"thesis_fig\.txt is in plots/, which manifest\.json \(an older "
                                             r"edfgen's\) lists as a whole folder, and it or a folder above it changed "
                                             r"after that run finished .*check it, and move or delete it yourself"):
            with recording(out, "edfgen demo-cmd", planned=plots):
                pass
        remove_outputs(out, command="edfgen demo-cmd", plan=[out / f for f in plots])
        assert mine[case].read_text() == "precious"
    assert sorted(p.name for p in (outs["moved_in"] / "plots").iterdir()) == ["notes"]   # edfgen's planned plots went


def test_recording__an_old_killed_run_listing_a_folder_whole_resumes_over_its_planned_files(tmp_path):
    """An older edfgen killed mid-run left an in-progress manifest listing plots/ whole. A rerun that plans the files
    there replaces them (resumes, as before review s40); one that does not is refused saying that run did not finish,
    not that the file 'changed after that run finished' (it never finished), and nothing is removed (review of
    s40: the crash test was changed to plan plots/p.png and no longer covered this)."""
    import json

    out = tmp_path / "o"
    (out / "plots").mkdir(parents=True)
    (out / "a.tsv").write_text("1")
    (out / "plots" / "p.png").write_text("1")
    killed = {"command": "edfgen demo-cmd", "started": "2026-12-01T10:00:00+00:00", "finished": None,
              "outputs": ["a.tsv", "b.tsv", "plots/"], "extra": {"in_progress": True}}
    (out / "manifest.json").write_text(json.dumps(killed))
    with pytest.raises(InputError, match=r"plots/p\.png is in plots/, which manifest\.json \(an older edfgen's\) lists "
                                         r"as a whole folder, and that run did not finish \(started "
                                         r"2026-12-01T10:00:00\+00:00\), so edfgen cannot tell it is its own"):
        with recording(out, "edfgen demo-cmd", planned=["a.tsv", "b.tsv", "plots/q.png"]):
            pass
    assert (out / "plots" / "p.png").read_text() == "1" and (out / "a.tsv").read_text() == "1"
    with recording(out, "edfgen demo-cmd", planned=["a.tsv", "b.tsv", "plots/p.png"]):
        assert not (out / "a.tsv").exists() and not (out / "plots").exists()       # the killed run's: replaced
        (out / "plots").mkdir()
        for f in ("a.tsv", "b.tsv", "plots/p.png"):
            (out / f).write_text("2")
    assert read_manifest(out)["outputs"] == ["a.tsv", "b.tsv", "plots/p.png"]


def test_remove_outputs__a_users_empty_folder_in_an_old_whole_folder_stays(tmp_path):
    """Review of s40: removing an older edfgen's outputs walked the folder its manifest lists whole and removed every
    empty sub-folder, a user's empty ones too. Only folders left empty by removing edfgen's files, and the listed
    folder itself when empty, go."""
    from edfgen.formats.manifest import remove_outputs

    out = tmp_path / "o"
    _old_style_output(out, finished="2020-01-01T00:00:00+00:00")
    (out / "plots" / "drafts" / "figure_2").mkdir(parents=True)          # the user's, empty
    removed = remove_outputs(out, command="edfgen demo-cmd", plan=[out / "plots" / "edf_001_manhattan.png"])
    assert sorted(p.name for p in removed) == ["edf_001_manhattan.png", "summary.tsv"]
    assert (out / "plots" / "drafts" / "figure_2").is_dir() and not (out / "manifest.json").exists()


def test_recording__a_run_writing_nothing_in_an_old_whole_folder_is_refused_over_files_it_cannot_own(tmp_path):
    """Second read of s40 #2: an older manifest lists loco/ whole; a new run writes nothing there while loco/ holds
    files edfgen cannot tell are its own. remove_outputs kept them (and the manifest listing loco/), but recording
    then wrote its in-progress manifest listing only its planned files: loco/pred.loco became no one's, and the next
    run said it 'was not written by edfgen (not listed...)'. Now refused before anything is removed, naming it."""
    import json

    out = tmp_path / "o"
    (out / "loco").mkdir(parents=True)
    (out / "summary.tsv").write_text("1")
    (out / "loco" / "pred.loco").write_text("1")
    killed = {"command": "edfgen demo-cmd", "started": "2026-12-01T10:00:00+00:00", "finished": None,
              "outputs": ["summary.tsv", "loco/"], "extra": {"in_progress": True}}
    (out / "manifest.json").write_text(json.dumps(killed))
    with pytest.raises(InputError, match=r"loco/pred\.loco is in loco/, which manifest\.json \(an older edfgen's\) "
                                         r"lists as a whole folder, and that run did not finish .*move or delete it "
                                         r"yourself \(or move all of loco/ away if nothing in it is yours\), or choose "
                                         r"another --out"):
        with recording(out, "edfgen demo-cmd", planned=["summary.tsv"]):
            pass
    assert (out / "summary.tsv").read_text() == "1" and (out / "loco" / "pred.loco").read_text() == "1"
    assert read_manifest(out)["outputs"] == ["summary.tsv", "loco/"]          # still edfgen's to remove later
    (out / "loco" / "pred.loco").unlink()
    with recording(out, "edfgen demo-cmd", planned=["summary.tsv"]):
        (out / "summary.tsv").write_text("2")
    assert read_manifest(out)["outputs"] == ["summary.tsv"] and not (out / "loco").exists()


def test_refusal__names_the_users_file_in_an_old_whole_folder_not_the_first_unchanged_plot(tmp_path):
    """Second read of s40 #3: a user's file added to an old whole plots/ changes the folder's time, so every file
    there stops counting as edfgen's; the refusal named the alphabetically first (an unchanged edfgen plot 'changed
    after that run finished'), not the user's zz_notes.txt, and each rerun after deleting it named the next."""
    import json

    from edfgen.formats.owned import unlisted_file

    out = tmp_path / "o"
    (out / "plots").mkdir(parents=True)
    for f in ("summary.tsv", "plots/a_manhattan.png", "plots/b_manhattan.png"):
        (out / f).write_text("1")
    (out / "manifest.json").write_text(json.dumps({"command": "edfgen demo-cmd", "started": "",
                                                   "finished": _finished_now(), "outputs": ["summary.tsv", "plots/"]}))
    (out / "plots" / "zz_notes.txt").write_text("mine")
    assert unlisted_file(out) == out / "plots" / "zz_notes.txt"
    with pytest.raises(InputError, match=r"--out \S+: plots/zz_notes\.txt is in plots/"):
        with recording(out, "edfgen demo-cmd", planned=["summary.tsv"]):
            pass
    assert (out / "plots" / "zz_notes.txt").read_text() == "mine"
    # late review of s40: a FOLDER of the user's moved in keeps its files' old times: named too, not a_manhattan.png
    (out / "plots" / "zz_notes.txt").unlink()
    (tmp_path / "home" / "notes").mkdir(parents=True)
    (tmp_path / "home" / "notes" / "x.txt").write_text("mine")
    os.rename(tmp_path / "home" / "notes", out / "plots" / "notes")
    assert unlisted_file(out) == out / "plots" / "notes" / "x.txt"


def test_owned_files__a_file_server_clock_ahead_of_the_machines_keeps_the_runs_files_its_own(tmp_path):
    """Second read of s40 #4: the files' status-change times come from the file server's clock (NFS, Lustre), the
    ``finished`` stamp from the machine's; a server 100 s ahead made every file of an old whole folder look changed
    after the run finished. The manifest file's own status-change time (the server's clock, written last) stands for
    the run's end when later than ``finished`` by at most CLOCK_SKEW_S."""
    import datetime as dt
    import json
    import time

    from edfgen.formats.owned import owned_files

    out = tmp_path / "o"
    (out / "plots" / "sub").mkdir(parents=True)
    (out / "plots" / "p.png").write_text("1")
    behind = dt.datetime.fromtimestamp(int(time.time()) - 100, dt.timezone.utc).isoformat()   # the machine's clock
    old = {"command": "edfgen demo-cmd", "started": behind, "finished": behind, "outputs": ["plots/"]}
    (out / "manifest.json").write_text(json.dumps(old))
    time.sleep(0.05)
    (out / "plots" / "sub" / "later.txt").write_text("mine")            # after the run's end: not edfgen's
    assert owned_files(old, out) == {out.resolve() / "plots" / "p.png"}
    os.utime(out / "manifest.json")                                    # rewritten since (another finished stamp)
    (out / "manifest.json").write_text(json.dumps({**old, "finished": None}))
    assert owned_files(old, out) == set()                              # its time is not that run's end


def test_unlisted_file__a_link_to_a_folder_or_a_broken_link_is_no_stray_file(tmp_path):
    """Second read of s40 #6: a symlink to a folder (``data -> /tmp``) or a broken one in a stage folder counted as a
    stray file, so edfgen run refused a stage it used to run. As before review s40, only files count (a link to a
    file too: it names one)."""
    import json

    from edfgen.formats.owned import unlisted_file

    out = tmp_path / "o"
    out.mkdir()
    (out / "a.tsv").write_text("1")
    (out / "manifest.json").write_text(json.dumps({"command": "edfgen demo-cmd", "outputs": ["a.tsv"]}))
    (out / "data").symlink_to(tmp_path)
    (out / "broken").symlink_to(tmp_path / "nowhere")
    assert unlisted_file(out) is None
    (tmp_path / "notes.txt").write_text("mine")
    (out / "notes").symlink_to(tmp_path / "notes.txt")
    assert unlisted_file(out) == out / "notes"


def test_recording_force__a_ds_store_in_an_old_whole_folder_is_kept_not_refused_forever(tmp_path, caplog):
    """s41safe #1: an older edfgen's manifest lists plots/ whole; a Finder .DS_Store put there changes the folder's
    status-change time, so that none of its plots counts as edfgen's any more: every rerun AND every --force was
    refused (naming .DS_Store, then, once it was deleted, each plot in turn). --force now proceeds: the plots it
    writes again are replaced, the files it cannot tell are its own (.DS_Store, a plot not written again) are kept
    untouched, one warning says so; without --force it is still refused."""
    import json
    import logging

    out = tmp_path / "o"
    _old_style_output(out, finished="")
    (out / "plots" / "edf_002_manhattan.png").write_bytes(b"old png")
    old = {**json.loads((out / "manifest.json").read_text()), "finished": _finished_now()}
    (out / "manifest.json").write_text(json.dumps(old))
    (out / "plots" / ".DS_Store").write_bytes(b"finder")
    planned = ["summary.tsv", "plots/edf_001_manhattan.png"]
    with pytest.raises(InputError, match=r"plots/\.DS_Store is in plots/, which manifest\.json \(an older edfgen's\)"):
        with recording(out, "edfgen demo-cmd", planned=planned):
            pass
    with caplog.at_level(logging.WARNING), recording(out, "edfgen demo-cmd", planned=planned, force=True):
        assert not (out / "plots" / "edf_001_manhattan.png").exists() and not (out / "summary.tsv").exists()
        for x in planned:
            (out / x).write_text("new")
    assert (out / "plots" / ".DS_Store").read_bytes() == b"finder"
    assert (out / "plots" / "edf_002_manhattan.png").read_bytes() == b"old png"      # not edfgen's for sure: kept
    assert read_manifest(out)["outputs"] == sorted(planned) and read_manifest(out)["finished"]
    said = [r.getMessage() for r in caplog.records if "--force kept" in r.getMessage()]
    assert len(said) == 1 and "--force kept 2 file(s)" in said[0] and "plots/edf_002_manhattan.png" in said[0], said


def test_recording_force__a_kept_file_is_never_written_over_by_a_name_planned_later(tmp_path):
    """s41safe #1: what --force keeps in an old whole folder is never written over by a file a command names only
    once its work has begun (clump's regional/, ldsc's ldscores/: plan_outputs): one line, the file kept."""
    import json

    out = tmp_path / "o"
    _old_style_output(out, finished="2020-01-01T00:00:00+00:00")   # (every file here changed after that time)
    (out / "manifest.json").write_text(json.dumps({**json.loads((out / "manifest.json").read_text()),
                                                   "outputs": ["regional/", "summary.tsv"]}))
    (out / "plots").rename(out / "regional")
    with pytest.raises(InputError, match=r"regional/edf_001_manhattan\.png exists and was not written by this run"):
        with recording(out, "edfgen demo-cmd", planned=["summary.tsv"], folders=["regional/"], force=True):
            (out / "summary.tsv").write_text("new")
            plan_outputs(out, ["regional/edf_002.png"])
            plan_outputs(out, ["regional/edf_001_manhattan.png"])
    assert (out / "regional" / "edf_001_manhattan.png").read_bytes() == b"png"


def test_gwas_force__an_older_edfgens_plots_folder_with_a_ds_store_is_run_not_refused(tiny_sim_cohort, tmp_path):
    """s41safe #1, as a user saw it: `gwas --force` over an older edfgen's output (manifest listing plots/ whole) after
    the Finder put plots/.DS_Store there was refused (exit 2) whatever the user did. It now runs: the plots are
    written again, .DS_Store is kept as it was, and one line says what was kept."""
    import json

    iids = pd.read_csv(tiny_sim_cohort / "covariates.tsv", sep="\t", dtype={"IID": str})["IID"]
    pd.DataFrame({"IID": iids, "x": np.random.default_rng(0).normal(size=len(iids))}).to_csv(
        tmp_path / "a.tsv", sep="\t", index=False)
    out = tmp_path / "gwas"
    args = ["gwas", "--bfile", str(tiny_sim_cohort / "genotypes"), "--pheno", str(tmp_path / "a.tsv"), "--covar",
            str(tiny_sim_cohort / "covariates.tsv"), "--covar-cols", "age,sex", "--maf", "0.05", "--out", str(out)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    m["outputs"] = [o for o in m["outputs"] if not o.startswith("plots/")] + ["plots/"]     # as an older edfgen wrote it
    m["finished"] = _finished_now()
    (out / "manifest.json").write_text(json.dumps(m))
    (out / "plots" / ".DS_Store").write_bytes(b"finder")
    res = CliRunner().invoke(cli, [*args, "--force"])
    assert res.exit_code == 0, res.output
    assert (out / "plots" / ".DS_Store").read_bytes() == b"finder" and (out / "plots" / "x.qq.png").exists()
    assert [ln for ln in res.output.splitlines() if "--force kept 1 file(s)" in ln and "plots/.DS_Store" in ln], res.output
    assert "plots/x.qq.png" in read_manifest(out)["outputs"] and "plots/" not in read_manifest(out)["outputs"]


def test_recording_force__a_users_file_at_a_planned_name_in_an_old_whole_folder_is_refused_not_replaced(tmp_path):
    """s41safefix #1: an older edfgen's manifest lists plots/ whole; after that run the user put their own
    plots/edf_001_manhattan.png there, a name this run writes. --force counted it edfgen's for being planned and
    wrote over it (at aaefbdc it was refused). Now refused in one line naming it, the file kept; an unchanged plot of
    that run, at a planned name beside a .DS_Store, is still replaced (the other --force test)."""
    import json

    out = tmp_path / "o"
    _old_style_output(out, finished="")
    (out / "plots" / "edf_002_manhattan.png").write_bytes(b"old png")
    (out / "plots" / "edf_001_manhattan.png").unlink()
    old = {**json.loads((out / "manifest.json").read_text()), "finished": _finished_now()}
    (out / "manifest.json").write_text(json.dumps(old))
    (out / "plots" / "edf_001_manhattan.png").write_bytes(b"USER FILE")
    planned = ["summary.tsv", "plots/edf_001_manhattan.png"]
    with pytest.raises(InputError, match=r"--out \S+: plots/edf_001_manhattan\.png is in plots/, .* changed after "
                                         r"that run finished .*move or delete it yourself \(.*\) \(this run writes that very "
                                         r"name"):
        with recording(out, "edfgen demo-cmd", planned=planned, force=True):
            for x in planned:
                (out / x).write_text("new")
    assert (out / "plots" / "edf_001_manhattan.png").read_bytes() == b"USER FILE"
    assert (out / "summary.tsv").read_text() == "1"


def test_recording__after_a_force_that_kept_files_the_next_refusal_names_them_all_in_one_line(tmp_path):
    """s41safefix2 #3: --force over an older edfgen's whole-listed plots/ with a .DS_Store kept the plots it could
    not tell were its own; the next rerun's refusal then named one of them per try (20 tries for 20 plots). Now one
    line gives the count and the first few."""
    import json

    out = tmp_path / "o"
    _old_style_output(out, finished="")
    for i in range(2, 7):
        (out / "plots" / f"edf_{i:03d}_manhattan.png").write_bytes(b"old png")
    old = {**json.loads((out / "manifest.json").read_text()), "finished": _finished_now()}
    (out / "manifest.json").write_text(json.dumps(old))
    (out / "plots" / ".DS_Store").write_bytes(b"finder")
    planned = ["summary.tsv", "plots/edf_001_manhattan.png"]
    for attempt in ("--force", "rerun"):
        with contextlib.ExitStack() as stack:
            if attempt == "rerun":
                # (the .DS_Store kept too is no one's and named no more: s42files #4)
                stack.enter_context(pytest.raises(InputError, match=r"plots/edf_002_manhattan\.png \(and 4 more such "
                                                  r"file\(s\) there: plots/edf_003_manhattan\.png, plots/edf_004_"
                                                  r"manhattan\.png, plots/edf_005_manhattan\.png, \.\.\.\) exists and "
                                                  r"was not written"))
            with recording(out, "edfgen demo-cmd", planned=planned, force=attempt == "--force"):
                for x in planned:
                    (out / x).write_text("new")
    assert len(list((out / "plots").iterdir())) == 7


@pytest.mark.parametrize("force", [True, False])
def test_recording__a_users_file_at_a_planned_name_in_an_old_whole_folder_is_refused_with_nothing_else_kept(
        tmp_path, force):
    """s41safefix2 #2: the check above ran only when --force kept some other file (a .DS_Store): with nothing else
    there, --force and a plain rerun both counted the user's plots/edf_001_manhattan.png (put there after the older
    edfgen's run, which lists plots/ whole) edfgen's for being planned, and wrote over it. Now both refuse, naming it."""
    import json

    out = tmp_path / "o"
    _old_style_output(out, finished="")
    (out / "plots" / "edf_001_manhattan.png").unlink()
    old = {**json.loads((out / "manifest.json").read_text()), "finished": _finished_now()}
    (out / "manifest.json").write_text(json.dumps(old))
    (out / "plots" / "edf_001_manhattan.png").write_bytes(b"USER FILE")
    planned = ["summary.tsv", "plots/edf_001_manhattan.png"]
    with pytest.raises(InputError, match=r"plots/edf_001_manhattan\.png is in plots/, .* changed after that run "
                                         r"finished .*\(this run writes that very name"):
        with recording(out, "edfgen demo-cmd", planned=planned, force=force):
            for x in planned:
                (out / x).write_text("new")
    assert (out / "plots" / "edf_001_manhattan.png").read_bytes() == b"USER FILE"
    assert (out / "summary.tsv").read_text() == "1"


def test_simulate_force__a_ds_store_in_an_older_edfgens_ecg_folder_is_kept_and_the_cohort_written(tmp_path,
                                                                                                   monkeypatch):
    """s41safefix #2: simulate did not pass --force on to recording, so `simulate --force` over an older edfgen's
    cohort (manifest listing ecg/ whole) after the Finder put ecg/.DS_Store there exited 2 whatever the user did; and
    the new ecg/ went into place with os.replace, which fails on a folder still holding the kept file. Now it runs:
    the records are replaced, .DS_Store kept, the manifest lists the records one by one."""
    import json

    import edfgen.simulate.cohort as cohort

    monkeypatch.setattr(cohort, "_simulate_into", _fake_simulate_into)
    out = tmp_path / "cohort"
    args = ["simulate", "--out", str(out), "--n", "40", "--chromosomes", "1", "--variants-per-chromosome", "60"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    m["outputs"] = [o for o in m["outputs"] if not o.startswith("ecg/")] + ["ecg/"]     # as an older edfgen wrote it
    m["finished"] = _finished_now()
    (out / "manifest.json").write_text(json.dumps(m))
    (out / "ecg" / ".DS_Store").write_bytes(b"finder")
    res = CliRunner().invoke(cli, [*args, "--force", "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert (out / "ecg" / ".DS_Store").read_bytes() == b"finder" and (out / "genotypes.bed").read_text().endswith(
        "seed 2") and (out / "ecg" / "P000001.hea").read_text() == "simulated"
    assert "ecg/P000001.hea" in read_manifest(out)["outputs"] and "ecg/" not in read_manifest(out)["outputs"]
    assert not [p for p in out.iterdir() if is_temp_name(p.name)]


def _records_into(stage: Path, *, ecg: bool, **kw) -> dict:
    """:func:`_fake_simulate_into` with one record per participant, stamped with the seed."""
    truth = _fake_simulate_into(stage, ecg=False, **kw)
    (stage / "ecg").mkdir()
    for i in range(kw["n"]):
        (stage / "ecg" / f"P{i + 1:06d}.hea").write_text(f"seed {kw['seed']}")
    return truth


def test_simulate_force__a_smaller_cohort_over_an_older_one_with_a_ds_store_leaves_no_stale_record(tmp_path,
                                                                                                   monkeypatch):
    """s41safefix2 #1: over an older edfgen's 60-participant cohort (manifest listing ecg/ whole) with a .DS_Store in
    ecg/, `simulate --force --n 40 --seed 2` kept the 20 records P000041-P000060 of the old cohort it could not tell
    were its own (the .DS_Store changed ecg/): 60 .hea files, the manifest listing 40, extract reading both cohorts.
    Now the old cohort's records are simulate's: ecg/ holds exactly the 40 new records and the .DS_Store; a user's
    file there (no record of that cohort, no desktop junk) is refused in one line naming it, nothing replaced."""
    import json

    import edfgen.simulate.cohort as cohort

    monkeypatch.setattr(cohort, "_simulate_into", _records_into)
    out = tmp_path / "cohort"
    args = ["simulate", "--out", str(out), "--chromosomes", "1", "--variants-per-chromosome", "60"]
    assert CliRunner().invoke(cli, [*args, "--n", "60"]).exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    m["outputs"] = [o for o in m["outputs"] if not o.startswith("ecg/")] + ["ecg/"]     # as an older edfgen wrote it
    m["finished"] = _finished_now()
    (out / "manifest.json").write_text(json.dumps(m))
    (out / "ecg" / ".DS_Store").write_bytes(b"finder")
    (out / "ecg" / "mine.txt").write_text("mine")
    res = CliRunner().invoke(cli, [*args, "--n", "40", "--force", "--seed", "2"])
    said = [ln for ln in res.output.splitlines() if "error:" in ln]
    assert res.exit_code == 2 and len(said) == 1 and "ecg/mine.txt (1 such file(s)) is in ecg/" in said[0], res.output
    assert len(list((out / "ecg").glob("*.hea"))) == 60 and (out / "ecg" / "mine.txt").read_text() == "mine"
    (out / "ecg" / "mine.txt").rename(tmp_path / "mine.txt")
    res = CliRunner().invoke(cli, [*args, "--n", "40", "--force", "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "ecg").iterdir()) == [".DS_Store", *(f"P{i:06d}.hea" for i in range(1, 41))]
    assert {p.read_text() for p in (out / "ecg").glob("*.hea")} == {"seed 2"}
    assert sorted(o for o in read_manifest(out)["outputs"] if o.startswith("ecg/")) == [
        f"ecg/P{i:06d}.hea" for i in range(1, 41)]


def test_annotate__a_ds_store_in_an_older_edfgens_regional_folder_is_refused_saying_what_to_do(tmp_path):
    """s41safefix #2: annotate has no --force; an older edfgen's <out>.manifest.json lists <out>_regional/ whole and
    the Finder put .DS_Store there: every rerun was refused, naming .DS_Store, then (deleted, the folder changed)
    each plot in turn, and nothing said how to get out. The refusal now says to move the whole folder away; done,
    the rerun works."""
    import json

    args = _loci_args(tmp_path)
    out = tmp_path / "annotated.tsv"
    assert CliRunner().invoke(cli, [*args, str(out)]).exit_code == 0
    regional = tmp_path / "annotated_regional"
    regional.mkdir()
    (regional / "locus_1.png").write_bytes(b"png")
    mpath = tmp_path / "annotated.tsv.manifest.json"
    m = json.loads(mpath.read_text())
    mpath.write_text(json.dumps({**m, "outputs": [*m["outputs"], "annotated_regional/"], "finished": _finished_now()}))
    (regional / ".DS_Store").write_bytes(b"finder")
    res = CliRunner().invoke(cli, [*args, str(out)])
    said = [ln for ln in res.output.splitlines() if "error:" in ln]
    assert res.exit_code == 2 and len(said) == 1 and said[0].endswith("or choose another --out"), res.output
    assert "annotated_regional/.DS_Store is in annotated_regional/" in res.output
    assert "move all of annotated_regional/ away if nothing in it is yours" in res.output, res.output
    regional.rename(tmp_path / "moved_away")
    res = CliRunner().invoke(cli, [*args, str(out)])
    assert res.exit_code == 0, res.output


def test_recording__a_folder_at_a_planned_file_name_holding_only_a_ds_store_is_refused_not_crashed_on(tmp_path):
    """s42filesfix #1 (a regression of s42files): a folder sat where the command writes a FILE (res.tsv/) holding
    only the Finder's .DS_Store. Junk was skipped there too, so the run went on and crashed writing res.tsv
    (IsADirectoryError traceback after the whole run). Junk is skipped only under folder entries: refused in one
    line naming it, at entry, the folder and its .DS_Store kept."""
    (tmp_path / "res.tsv").mkdir()
    (tmp_path / "res.tsv" / ".DS_Store").write_bytes(b"finder")
    with pytest.raises(InputError, match=r"res\.tsv/\.DS_Store exists and was not written"):
        with recording(tmp_path, "edfgen demo", planned=["res.tsv"]):
            pytest.fail("the run must not start")
    assert (tmp_path / "res.tsv" / ".DS_Store").read_bytes() == b"finder"


def test_gwas__a_folder_at_gwas_summary_tsv_holding_a_ds_store_is_refused_in_one_line(tiny_sim_cohort, tmp_path):
    """s42filesfix #1 as a user saw it: `mkdir gw/gwas_summary.tsv` with a .DS_Store in it, then `edfgen gwas --out
    gw` ran the whole GWAS and ended in an IsADirectoryError traceback. Now exit 2 and one line naming it."""
    out = tmp_path / "gw"
    (out / "gwas_summary.tsv").mkdir(parents=True)
    (out / "gwas_summary.tsv" / ".DS_Store").write_bytes(b"finder")
    args = ["gwas", "--bfile", str(tiny_sim_cohort / "genotypes"), "--pheno", str(tiny_sim_cohort / "physiology.tsv"),
            "--pheno-cols", "qrs_duration_ms", "--covar", str(tiny_sim_cohort / "covariates.tsv"), "--covar-cols",
            "age,sex", "--no-plots", "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert "gwas_summary.tsv/.DS_Store exists" in res.output and "Traceback" not in res.output, res.output
    assert sorted(p.name for p in out.iterdir()) == ["gwas_summary.tsv"]


def test_recording__a_thumbs_db_made_during_a_run_is_no_output_and_a_rerun_keeps_it(tmp_path):
    """s42filesfix #3: the README says a desktop's junk is never written or removed, yet a Thumbs.db (Windows
    Explorer) or desktop.ini that appeared while a run wrote was listed in manifest.json as an output, and the next
    rerun deleted it. Now never listed, and kept by the rerun."""
    with recording(tmp_path, "edfgen demo", planned=["r.tsv", "plots/a.png"]):
        (tmp_path / "plots").mkdir()
        for f, text in (("r.tsv", "x"), ("plots/a.png", "png"), ("Thumbs.db", "explorer"),
                        ("plots/desktop.ini", "shell")):
            (tmp_path / f).write_text(text)
    assert read_manifest(tmp_path)["outputs"] == ["plots/a.png", "r.tsv"]
    with recording(tmp_path, "edfgen demo", planned=["r.tsv", "plots/a.png"]):
        (tmp_path / "r.tsv").write_text("y")
        (tmp_path / "plots" / "a.png").write_text("png2")
    assert (tmp_path / "Thumbs.db").read_text() == "explorer"
    assert (tmp_path / "plots" / "desktop.ini").read_text() == "shell"


def test_owned_files__a_ds_store_unchanged_since_an_old_whole_folder_run_is_not_edfgens_and_is_kept(tmp_path):
    """s42filesfix #3: in a folder an older edfgen's manifest lists whole, a .DS_Store older than the run's finish
    counted as edfgen's (unchanged since) and a rerun removed it; junk is never edfgen's, so it stays."""
    import json

    from edfgen.formats.manifest import owned_files, remove_outputs

    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "a.png").write_bytes(b"png")
    (tmp_path / "plots" / ".DS_Store").write_bytes(b"finder")
    (tmp_path / "Thumbs.db").write_bytes(b"explorer")
    finished = _finished_now()
    old = {"command": "edfgen demo", "started": finished, "finished": finished, "outputs": ["plots/", "Thumbs.db"]}
    (tmp_path / "manifest.json").write_text(json.dumps(old))
    assert owned_files(old, tmp_path) == {tmp_path / "plots" / "a.png"}
    remove_outputs(tmp_path, command="edfgen demo")
    assert not (tmp_path / "plots" / "a.png").exists()
    assert (tmp_path / "plots" / ".DS_Store").read_bytes() == b"finder" and (tmp_path / "Thumbs.db").exists()
