"""`edfgen run`'s own checks (edfgen.pipeline_checks): a stage is done only while its outputs are as it wrote them,
folders and prefixes named by options key their stage, the configuration's files are checked and its unused
sections named before any stage runs, and an earlier configuration's own files go (review s31e)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.exceptions import InputError
from edfgen.formats.manifest import Manifest, read_manifest
from edfgen.pipeline import STATE_FILE, config_from_dict, load_config, render_toml, run_pipeline


def _fake_stage_command(calls: list):
    """A stand-in for the stages' commands: writes ``result.tsv`` and its complete manifest into the stage's
    folder, and records the command's options."""
    def run(options):
        out = Path(options.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "result.tsv").write_text(f"run {len(calls)}\n")
        m = Manifest(command=f"edfgen {options.command}")
        m.outputs = ["result.tsv"]
        m.write(out)
        calls.append(options)
    return run


def _gwas_stage(tmp_path, monkeypatch, calls: list, inputs=()):
    """``(run_once, gw)``: ``run_once()`` runs the pipeline's gwas stage (its command faked, each run appended to
    ``calls``; ``inputs`` its inputs) into ``gw`` and returns its status (``ran``/``skipped``)."""
    import edfgen.pipeline as pl

    monkeypatch.setattr(pl, "run_command", _fake_stage_command(calls))
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    gw = tmp_path / "o" / "gwas"

    def run_once(**runner):
        r = pl._Runner(cfg, **runner)
        r.stage("gwas", "gwas", {"out": gw}, list(inputs), gw)
        return r.records[-1].status
    return run_once, gw


def test_stage__an_output_deleted_or_edited_since_it_finished_reruns_the_stage(tmp_path, monkeypatch, caplog):
    """Review s31e #1: with one GWAS file deleted by hand, gwas was 'up to date' (its key and complete manifest
    unchanged) and clump ran on the 95 files left, dropping edf_010 from the loci and MR without a word. A stage is
    done only while every output its manifest lists is there with the fingerprint recorded when it finished."""
    calls = []
    run_once, gw = _gwas_stage(tmp_path, monkeypatch, calls)

    assert run_once() == "ran" and run_once() == "skipped" and len(calls) == 1
    (gw / "result.tsv").unlink()                                  # deleted by hand
    with caplog.at_level(logging.WARNING):
        assert run_once() == "ran" and (gw / "result.tsv").exists()
    assert "stage gwas: its output result.tsv is missing or changed since the stage finished: it runs again" \
        in caplog.text
    assert run_once() == "skipped"
    st = os.stat(gw / "result.tsv")
    (gw / "result.tsv").write_text("edited\n")                     # edited by hand, its time put back
    os.utime(gw / "result.tsv", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert run_once() == "ran" and run_once() == "skipped" and len(calls) == 3
    assert list(json.loads((tmp_path / "o" / STATE_FILE).read_text())["gwas"]["outputs"]) == ["result.tsv"]


def test_stage__a_stream_input_never_makes_the_stage_up_to_date(tmp_path, monkeypatch, fed_fifo):
    """Review s32b F2/F3: a FIFO (or pipe) input was opened again to key the stage (a hang once its writer was
    gone). It is never opened again, and being read once it cannot be told unchanged: the stage reruns."""
    calls = []
    fifo, within = fed_fifo("pheno.tsv", b"FID\tIID\ty\n1\t1\t0.5\n")
    run_once, _ = _gwas_stage(tmp_path, monkeypatch, calls, inputs=[fifo])
    assert within(10, run_once) == "ran" and within(10, run_once) == "ran" and len(calls) == 2


def test_stage__a_chmod_or_restore_in_place_of_its_outputs_keeps_the_stage_done(tmp_path, monkeypatch):
    """Review s31h #1: `chmod -R go-w res` (or `cp -a`/`tar -x` back in place) moved the outputs' change times and
    every stage, extract included, ran again. Outputs are keyed by size and modification time only."""
    calls = []
    run_once, gw = _gwas_stage(tmp_path, monkeypatch, calls)

    assert run_once() == "ran"
    res = gw / "result.tsv"
    st = os.stat(res)
    os.chmod(res, 0o600)                                           # only the change time moves
    assert run_once() == "skipped"
    data = res.read_bytes()                                        # restored in place: same bytes and mtime
    res.unlink()
    res.write_bytes(data)
    os.utime(res, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert run_once() == "skipped" and len(calls) == 1


def test_stage__a_chmod_of_an_earlier_stages_large_output_keeps_the_next_stage_done(tmp_path, monkeypatch):
    """Review s31i: inputs over 64 MiB are keyed by stat, change time included, so after `chmod -R` of the results
    gwas was skipped but clump, reading gwas's (biobank-sized) folder, ran again. An earlier stage's output, as an
    input, is keyed without change times; a user's input outside the run's folder still counts them."""
    import edfgen.formats.manifest as mf
    import edfgen.pipeline as pl

    monkeypatch.setattr(mf, "SMALL_INPUT_BYTES", 0)                 # every input is "large"
    calls = []
    monkeypatch.setattr(pl, "run_command", _fake_stage_command(calls))
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    gw, cl, user = tmp_path / "o" / "gwas", tmp_path / "o" / "clump", tmp_path / "user.tsv"
    user.write_text("IID\tx\n")

    def run_once():
        r = pl._Runner(cfg)
        r.stage("gwas", "gwas", {"out": gw}, [user], gw)
        r.stage("clump", "clump", {"out": cl}, [gw], cl)
        return [rec.status for rec in r.records]

    assert run_once() == ["ran", "ran"] and run_once() == ["skipped", "skipped"]
    os.chmod(gw / "result.tsv", 0o600)                              # only the change time moves
    assert run_once() == ["skipped", "skipped"]
    os.chmod(user, 0o600)                                           # a user's input: its change time counts
    assert run_once() == ["ran", "ran"] and len(calls) == 4


def test_run__a_deleted_gwas_file_is_made_again_before_clump_reads_the_folder(tiny_sim_cohort, tmp_path):
    """Review s31e #1, end to end: `rm gwas/edf_010.tsv.gz` then a rerun: the gwas stage runs again (the file is
    back, the same) and clump, whose inputs are then unchanged, is skipped; `rm clump/clumps.tsv`: clump reruns
    (it stopped with 'clumps.tsv: file not found')."""
    c = tiny_sim_cohort
    raw = {"run": {"out": "run", "pca": False},
           "inputs": {"ecg": str(c / "ecg"), "bfile": str(c / "genotypes"), "covar": str(c / "covariates.tsv")},
           "extract": {"checkpoint": "tiny", "workers": 0, "batch_size": 16},
           "gwas": {"covar_cols": "age,sex", "no_plots": True, "pheno_cols": "edf_001,edf_002,edf_003"},
           "clump": {"p1": 1e-3}}
    (tmp_path / "pipeline.toml").write_text(render_toml(raw))

    def run():
        res = run_pipeline(load_config(tmp_path / "pipeline.toml"))
        return {s.name: s.status for s in res.stages}, res.out

    got, out = run()
    gz = out / "gwas" / "edf_002.tsv.gz"
    before = gz.read_bytes()
    gz.unlink()
    got, out = run()
    assert got == {"extract": "skipped", "gwas": "ran", "clump": "skipped"}
    assert gz.read_bytes() == before
    (out / "clump" / "clumps.tsv").unlink()
    got, out = run()
    assert got == {"extract": "skipped", "gwas": "skipped", "clump": "ran"} and (out / "clump" / "clumps.tsv").exists()


def test_run__mr_ld_panel_of_a_bfile_takes_the_inputs_keep_and_remove(tmp_path, monkeypatch):
    """Review s31e #2: with `[inputs] bfile` the MR stage got `--bfile` alone as its LD panel, so its instruments
    were re-clumped with LD of people outside the study's `keep` list (39 of 516 estimates differed from
    `edfgen mr --keep`). The genotype filters of [inputs] go to MR's panel as to every stage."""
    import edfgen.pipeline as pl
    from test_pipeline import wiring_until

    seen, Stop = wiring_until(monkeypatch, "mr")
    (tmp_path / "ecg").mkdir()
    for f in ("g.bed", "g.bim", "g.fam", "c.tsv", "y.tsv", "keep.txt", "remove.txt"):
        (tmp_path / f).write_text("")
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o"), "pca": False},
                            "inputs": {"ecg": "ecg", "bfile": "g", "covar": "c.tsv", "outcomes": "y.tsv",
                                       "keep": "keep.txt", "remove": "remove.txt", "chr": "1"}}, base=tmp_path)
    with pytest.raises(Stop):
        pl._run_stages(cfg, force=False)
    mr = seen["mr"]
    assert mr["ld_bfile"] == str(tmp_path / "g") and "bfile" not in mr
    assert mr["keep_ids"] == str(tmp_path / "keep.txt") and mr["remove_ids"] == str(tmp_path / "remove.txt")
    assert mr["chromosomes"] == seen["clump"]["chromosomes"] == "1"


def test_stage__a_folder_or_prefix_named_by_an_option_keys_the_stage(tmp_path, monkeypatch):
    """Review s31e #3: `[gwas] loco_predictions = "locoA"` (a folder) was left out of the stage key, so the folder
    rewritten with other predictions (times put back) left gwas 'up to date' with the old betas; likewise an
    `[ldsc] ref_ld_chr` prefix, which is never a file."""
    import edfgen.pipeline as pl

    calls = []
    monkeypatch.setattr(pl, "run_command", _fake_stage_command(calls))
    loco = tmp_path / "locoA"
    loco.mkdir()
    (loco / "edf_001.loco").write_text("a\n")
    ld = tmp_path / "ld"
    ld.mkdir()
    (ld / "chr1.l2.ldscore.gz").write_bytes(b"x")
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {},
                            "gwas": {"model": "ridge-loco", "loco_predictions": "locoA"},
                            "ldsc": {"ref_ld_chr": "ld/chr@"}}, base=tmp_path)

    def run_once():
        r = pl._Runner(cfg)
        r.stage("gwas", "gwas", {"out": tmp_path / "o" / "gwas"}, [], tmp_path / "o" / "gwas")
        r.stage("ldsc", "ldsc", {"out": tmp_path / "o" / "ldsc"}, [], tmp_path / "o" / "ldsc")
        r._write_state()
        return [s.status for s in r.records]

    assert run_once() == ["ran", "ran"] and run_once() == ["skipped", "skipped"]
    st = os.stat(loco / "edf_001.loco")
    (loco / "edf_001.loco").write_text("b\n")                     # other predictions, the old time
    os.utime(loco / "edf_001.loco", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert run_once() == ["ran", "skipped"]
    (ld / "chr1.l2.ldscore.gz").write_bytes(b"y")                 # LD scores recomputed
    assert run_once() == ["skipped", "ran"]


def test_load_config__list_paths_are_relative_to_the_toml_too(tmp_path, monkeypatch):
    """Review s31e #4: `[annotate] sumstats = ["results/gwas"]` stayed relative to the working directory (the list
    branch of the value check returned before paths were resolved), unlike `ld_bfile` beside it."""
    monkeypatch.chdir(tmp_path.parent)
    (tmp_path / "results" / "gwas").mkdir(parents=True)
    cfg = config_from_dict({"run": {"out": "o"}, "simulate": {},
                            "annotate": {"ld_bfile": "g", "sumstats": ["results/gwas", "~/x/*.tsv.gz"]}},
                           base=tmp_path)
    a = cfg.stages["annotate"]
    assert a.ld_bfile == str(tmp_path / "g")
    assert a.sumstats == (str(tmp_path / "results" / "gwas"), str(Path("~/x/*.tsv.gz").expanduser()))


def _inputs(tmp_path: Path, **more: str) -> dict:
    (tmp_path / "ecg").mkdir(exist_ok=True)
    for f in ("g.bed", "g.bim", "g.fam", "c.tsv", *more.values()):
        (tmp_path / f).write_text("")
    return {"ecg": "ecg", "bfile": "g", "covar": "c.tsv", **more}


def test_load_config__sections_and_switches_left_unused_are_named(tmp_path, caplog):
    """Review s31e #5: `[ldsc] rg = true` without `[run] genetics = true`, `[annotate]` without a catalog,
    `biomarker_gwas = true` without biomarkers ... were accepted without a word and did nothing. Each is a warning
    naming what it needs; a configuration whose sections all run warns of nothing."""
    raw = {"run": {"out": "o", "pca": False, "biomarker_gwas": True},
           "inputs": _inputs(tmp_path),
           "annotate": {"window_kb": 250}, "interpret": {}, "ldsc": {"rg": True}, "finemap": {}, "coloc": {},
           "gwas_outcomes": {"maf": 0.2}, "mr": {"p_threshold": 1e-5}, "pca": {"k": 3}}
    with caplog.at_level(logging.WARNING):
        config_from_dict(raw, base=tmp_path)
    said = [r.getMessage() for r in caplog.records]
    for section, need in (("annotate", "[inputs] catalog"), ("interpret", "[inputs] biomarkers"),
                          ("ldsc", "[run] genetics = true"), ("finemap", "[run] genetics = true"),
                          ("coloc", "[run] genetics = true"), ("gwas_outcomes", "[inputs] outcomes"),
                          ("mr", "[inputs] outcomes or [mr] outcomes"), ("pca", "[run] pca = true")):
        assert any(s.startswith(f"[{section}] is given but its stage does not run: it needs {need}") for s in said), \
            section
    assert any(s.startswith("[run] biomarker_gwas = true, but no biomarker GWAS runs") for s in said)
    caplog.clear()
    ok = {"run": {"out": "o", "biomarker_gwas": True, "genetics": True},
          "inputs": _inputs(tmp_path, biomarkers="b.tsv", outcomes="y.tsv", catalog="cat.tsv"),
          "annotate": {"window_kb": 250}, "interpret": {}, "ldsc": {"rg": True}, "finemap": {}, "coloc": {},
          "gwas_outcomes": {"maf": 0.2}, "mr": {"p_threshold": 1e-5}, "pca": {"k": 3}}
    with caplog.at_level(logging.WARNING):
        config_from_dict(ok, base=tmp_path)
    assert caplog.records == []


def test_load_config__skip_bad_variants_without_bgen_is_refused_before_any_stage(tmp_path):
    """Review s34a: `--skip-bad-variants` of other genotypes than BGEN is now an error of the gwas stage; a
    configuration's `[gwas] skip_bad_variants = true` with `[inputs] bfile` is refused when it is read, not after
    extract."""
    raw = {"run": {"out": "o", "pca": False}, "inputs": _inputs(tmp_path, outcomes="y.tsv"),
           "gwas_outcomes": {"skip_bad_variants": True}}
    with pytest.raises(InputError, match=r"\[gwas_outcomes\] skip_bad_variants is for \[inputs\] bgen genotypes"):
        config_from_dict(raw, base=tmp_path)
    config_from_dict({**raw, "gwas_outcomes": {"skip_bad_variants": False}}, base=tmp_path)


def test_load_config__skip_bad_variants_hyphenated_is_refused_too(tmp_path):
    """Review rev34 #6: the configuration accepts CLI spellings; `[gwas] skip-bad-variants = true` slipped past the
    early check and was refused by the gwas stage only, after extract and pca."""
    raw = {"run": {"out": "o", "pca": False}, "inputs": _inputs(tmp_path),
           "gwas": {"skip-bad-variants": True}}
    with pytest.raises(InputError, match=r"\[gwas\] skip_bad_variants is for \[inputs\] bgen genotypes"):
        config_from_dict(raw, base=tmp_path)


@pytest.mark.parametrize("section, key, value, message", [
    ("gwas", "keep", "nokeep.txt", r"\[gwas\] keep: .*nokeep.txt: no such file or directory"),
    ("gwas_outcomes", "extract", "snps.txt", r"\[gwas_outcomes\] extract: .*snps.txt: no such file or directory"),
    ("interpret", "measure_from", "nope", r"\[interpret\] measure_from: .*nope: no such file or directory"),
    ("extract", "checkpoint", "tinyy", r"\[extract\] checkpoint: checkpoint .*tinyy' not found .*shipped: "
                                       r"\['small', 'tiny'\]"),
])
def test_load_config__a_missing_file_of_a_section_is_refused_before_any_stage(tmp_path, section, key, value,
                                                                               message):
    """Review s31e #6: a `[gwas] keep` that does not exist, an `[interpret] measure_from` folder (named `--ecg` in
    the message) or an unknown `[extract] checkpoint` stopped the run only when their stage started, after extract
    (and pca): refused when the configuration is read, naming the section and key. A file inside `out` may be
    made by the run and is not refused."""
    raw = {"run": {"out": "o", "pca": False}, "inputs": _inputs(tmp_path, outcomes="y.tsv", biomarkers="b.tsv"),
           section: {key: value}}
    with pytest.raises(InputError, match=message) as err:
        config_from_dict(raw, base=tmp_path)
    assert "\n" not in str(err.value)
    if key != "checkpoint":          # (no stage makes a checkpoint)
        config_from_dict({**raw, section: {key: "o/made_by_the_run"}}, base=tmp_path)


def test_run__an_earlier_configurations_covariates_with_pcs_are_removed(tiny_sim_cohort, tmp_path):
    """Review s31e #7: `covariates/covariates_pcs.tsv` (PCs of a configuration with a pca stage) stayed in the
    folder after a run without one: it is one of the run's own files now, listed in its manifest, and removed as
    the stages no longer run are. A user's file beside it is kept."""
    c = tiny_sim_cohort
    raw = {"run": {"out": "run", "pca": True},
           "inputs": {"ecg": str(c / "ecg"), "bfile": str(c / "genotypes"), "covar": str(c / "covariates.tsv")},
           "extract": {"checkpoint": "tiny", "workers": 0, "batch_size": 16},
           "pca": {"k": 2},
           "gwas": {"covar_cols": "age,sex", "no_plots": True, "pheno_cols": "edf_001"}, "clump": {"p1": 1e-3}}

    def run():
        (tmp_path / "pipeline.toml").write_text(render_toml(raw))
        res = run_pipeline(load_config(tmp_path / "pipeline.toml"))
        return {s.name: s.status for s in res.stages}, res.out

    got, out = run()
    pcs = out / "covariates" / "covariates_pcs.tsv"
    assert got["pca"] == "ran" and "covariates/covariates_pcs.tsv" in read_manifest(out, complete=True)["outputs"]
    (out / "covariates" / "mine.txt").write_text("mine")
    raw["run"]["pca"] = False
    del raw["pca"]
    got, out = run()
    assert "pca" not in got and not pcs.exists() and not (out / "pca").exists()
    assert "covariates/covariates_pcs.tsv" not in read_manifest(out, complete=True)["outputs"]
    assert (out / "covariates" / "mine.txt").read_text() == "mine"


def _upgrade(monkeypatch, version: str, *, code: str | None = None) -> None:
    """Stand for an installed edfgen ``version`` whose source files differ (:func:`code_identity`), and whose code
    but for documentation, comments and version differs too when ``code`` is given (:func:`code_digest`)."""
    import edfgen
    import edfgen.pipeline_checks as pc

    monkeypatch.setattr(edfgen, "__version__", version)
    monkeypatch.setattr(pc, "source_digest", lambda root: f"sources of {version}")
    if code is not None:
        monkeypatch.setattr(pc, "code_digest", lambda root: code)


def test_stage__a_documentation_only_upgrade_keeps_a_stage_a_code_change_reruns_it(tmp_path, monkeypatch, caplog):
    """s41safe #3: every stage keyed edfgen's version and the bytes of its sources, so an upgrade that changed only
    docstrings, comments or the version number recomputed everything (a 3-hour GWAS). The code keys a stage now but
    for its documentation, comments and version (code_digest): such an upgrade keeps the stage, any other change of
    the code reruns it, and so does a changed input whatever the code."""
    calls = []
    inp = tmp_path / "pheno.tsv"
    inp.write_text("IID\ty\n1\t2\n")
    run_once, _ = _gwas_stage(tmp_path, monkeypatch, calls, inputs=[inp])
    assert run_once() == "ran"
    _upgrade(monkeypatch, "0.2.0")                                  # docs-only release: other bytes, same code
    with caplog.at_level(logging.INFO, logger="edfgen.pipeline"):
        assert run_once() == "skipped" and len(calls) == 1
    assert "stage gwas: up to date, skipped" in caplog.text and "code changed" not in caplog.text
    inp.write_text("IID\ty\n1\t3\n")                            # a changed input reruns it
    assert run_once() == "ran" and len(calls) == 2 and run_once() == "skipped"
    _upgrade(monkeypatch, "0.2.1", code="a statement changed")      # a code change reruns it
    assert run_once() == "ran" and len(calls) == 3 and run_once() == "skipped"


def test_code_digest__docstrings_comments_layout_and_version_are_not_code(tmp_path):
    """s41safe #3: what keys a stage's code: not a docstring, a comment, blank lines or ``__version__``'s value; any
    statement, name, constant or message is (by each module's syntax tree)."""
    from edfgen.pipeline_checks import _sources, code_digest

    pkg = tmp_path / "edfgen"
    (pkg / "kernels").mkdir(parents=True)

    def digest(init: str, ols: str) -> str:
        (pkg / "__init__.py").write_text(init)
        (pkg / "kernels" / "ols.py").write_text(ols)
        code_digest.cache_clear()
        _sources.cache_clear()
        return code_digest(pkg)

    first = digest("__version__ = '1'\n", '"""OLS."""\ndef b(x):\n    """Slope."""\n    return x * 2\n')
    assert digest('"""edfgen."""\n__version__ = "2.0"\n',
                  '"""OLS, by least squares."""\n\n# a comment\ndef b(x):\n    """The slope\n    (doi)."""\n'
                  '    return x * 2  # twice\n') == first
    assert digest("__version__ = '1'\n", "def b(x):\n    return x * 2\n") == first    # (docstrings added: docs)
    assert digest("__version__ = '1'\n", '"""OLS."""\ndef b(x):\n    return x * 3\n') != first
    assert digest("__version__ = '1'\n", '"""OLS."""\ndef b(x):\n    return x * 2\nC = "msg"\n') != first
    assert digest("__version__ = '1'\nX = 1\n", '"""OLS."""\ndef b(x):\n    return x * 2\n') != first
    assert digest("__version__ = '1'\n", "def b(x:\n") != first   # (does not parse: by its bytes)
    assert digest("__version__ = '1'\n", '"""OLS."""\ndef b(y):\n    return y * 2\n') != first   # (a name)
    assert digest("__version__ = '1'\n", '"""OLS."""\ndef b(x):\n    return x * 2.0\n') != first


def test_stage__reruns_when_edfgens_code_changed_and_says_so(tmp_path, monkeypatch, caplog):
    """Review s34c #1: a stage's key held its options and inputs but not the code that made its outputs, so an
    upgraded (or edited) edfgen silently kept the old code's results. Its version (and source digest) key it now."""
    calls = []
    run_once, _ = _gwas_stage(tmp_path, monkeypatch, calls)
    assert run_once() == "ran" and run_once() == "skipped"
    _upgrade(monkeypatch, "99.0", code="other")                      # an upgrade that changed code
    with caplog.at_level(logging.INFO, logger="edfgen.pipeline"):
        assert run_once() == "ran"
    assert "edfgen's code changed since gwas ran: rerunning" in caplog.text
    assert run_once() == "skipped" and len(calls) == 2


def test_stage__ignore_code_changes_keeps_a_stage_only_the_code_changed_for(tmp_path, monkeypatch, caplog):
    """`edfgen run --ignore-code-changes` (a biobank run after a patch upgrade: hours of extract): a stage up to
    date but for the code is kept with a warning naming the code that made it; its record keeps that code, so a
    run without the option reruns it; changed inputs rerun it whatever the option."""
    calls = []
    inp = tmp_path / "pheno.tsv"
    inp.write_text("IID\ty\n1\t2\n")
    run_once, _ = _gwas_stage(tmp_path, monkeypatch, calls, inputs=[inp])
    assert run_once() == "ran"
    _upgrade(monkeypatch, "99.0", code="other")                      # an upgrade that changed code
    with caplog.at_level(logging.WARNING, logger="edfgen.pipeline"):
        assert run_once(ignore_code_changes=True) == "skipped"
    assert "stage gwas: made by other edfgen code (0.1.0+" in caplog.text and "--ignore-code-changes" in caplog.text
    assert run_once(ignore_code_changes=True) == "skipped" and len(calls) == 1
    inp.write_text("IID\ty\n1\t3\n")                                 # changed input: reruns anyway
    assert run_once(ignore_code_changes=True) == "ran" and len(calls) == 2
    _upgrade(monkeypatch, "99.1", code="other still")
    assert run_once() == "ran" and len(calls) == 3                 # without the option: the code reruns it
    r = CliRunner().invoke(cli, ["run", "--help"])
    assert "--ignore-code-changes" in r.output


def test_source_digest__changes_with_any_source_file_not_with_the_folder(tmp_path):
    """The code's identity is over every ``*.py`` of the package by relative name and bytes: an edited module
    changes it, a copy of the package elsewhere (another install) does not, nor a compiled cache."""
    from edfgen.pipeline_checks import _sources, source_digest

    pkg = tmp_path / "a" / "edfgen"
    (pkg / "kernels").mkdir(parents=True)
    (pkg / "__init__.py").write_text("__version__ = '1'\n")
    (pkg / "kernels" / "ols.py").write_text("B = 1\n")
    first = source_digest(pkg)
    (tmp_path / "b").mkdir()
    os.system(f"cp -r {pkg} {tmp_path / 'b'}")
    (tmp_path / "b" / "edfgen" / "kernels" / "__pycache__").mkdir()
    (tmp_path / "b" / "edfgen" / "kernels" / "__pycache__" / "ols.cpython-311.pyc").write_bytes(b"x")
    assert source_digest(tmp_path / "b" / "edfgen") == first
    (pkg / "kernels" / "ols.py").write_text("B = 2\n")
    source_digest.cache_clear()
    _sources.cache_clear()
    assert source_digest(pkg) != first


def test_source_digest__skips_editor_links_and_hidden_files(tmp_path):
    """Review rev34 #4: an Emacs lock file ``.#gwas.py`` (a dangling link) in an editable install made every
    ``edfgen run`` end in a FileNotFoundError traceback; hidden names and anything not a regular file are no
    modules."""
    from edfgen.pipeline_checks import _sources, source_digest

    pkg = tmp_path / "edfgen"
    (pkg / "commands").mkdir(parents=True)
    (pkg / "__init__.py").write_text("__version__ = '1'\n")
    first = source_digest(pkg)
    (pkg / "commands" / ".#gwas.py").symlink_to("user@host.1234:1700000000")
    (pkg / "commands" / ".hidden.py").write_text("X = 1\n")
    (pkg / "broken.py").symlink_to(tmp_path / "nowhere.py")
    source_digest.cache_clear()
    _sources.cache_clear()
    assert source_digest(pkg) == first


def test_stage__the_checkpoint_keys_extract_by_its_content_not_its_path(tmp_path, monkeypatch):
    """Review s34c #2: extract's key held the checkpoint's path (another install of the shipped checkpoint, a copied
    project: EDFs recomputed) and, above 64 MiB, its size and times only. It holds the files' bytes now."""
    import shutil

    import edfgen.formats.manifest as mf
    import edfgen.pipeline as pl

    calls = []
    monkeypatch.setattr(pl, "run_command", _fake_stage_command(calls))
    monkeypatch.setattr(mf, "SMALL_INPUT_BYTES", 4)                 # a large checkpoint: hashed all the same
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    (tmp_path / "a" / "ck.json").write_text('{"weights": "ck.safetensors"}')
    (tmp_path / "a" / "ck.safetensors").write_bytes(b"weights 1")
    for f in ("ck.json", "ck.safetensors"):
        shutil.copy2(tmp_path / "a" / f, tmp_path / "b" / f)       # the same checkpoint elsewhere

    def run_once(ck: Path):
        r = pl._Runner(cfg)
        r.stage("extract", "extract", {"checkpoint": str(ck), "out": tmp_path / "o" / "x"}, [], tmp_path / "o" / "x")
        return r.records[-1].status

    assert run_once(tmp_path / "a" / "ck") == "ran" and run_once(tmp_path / "b" / "ck") == "skipped"
    w = tmp_path / "b" / "ck.safetensors"
    st = os.stat(w)
    w.write_bytes(b"weights 2")                                      # same size, its time put back
    os.utime(w, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert run_once(tmp_path / "b" / "ck") == "ran" and len(calls) == 2


@pytest.mark.parametrize("inputs, extract, message", [
    ({"vcf_field": "DS"}, {}, r"\[inputs\] vcf_field DS is for vcf or mt genotypes, not bfile .*: leave it out$"),
    ({"sample": "s.sample"}, {}, r"\[inputs\] sample is for bgen genotypes, not bfile .*: leave it out$"),
    ({}, {"checkpoint": ""}, r"\[extract\] checkpoint: checkpoint '': empty; give a shipped name"),
])
def test_load_config__mistakes_are_worded_as_the_command_line_words_them(tmp_path, inputs, extract, message):
    """Review rev34 #8: `[inputs] vcf_field` was named `vcf-field` (a key [inputs] refuses); `[inputs] sample` with
    bfile said "give bgen too" where the CLI says "leave it out"; `[extract] checkpoint = ""` was the TOML's folder
    ("is a folder: give the checkpoint's prefix") where the CLI says empty."""
    (tmp_path / "s.sample").write_text("")
    raw = {"run": {"out": "o", "pca": False}, "inputs": {**_inputs(tmp_path), **inputs}}
    if extract:
        raw["extract"] = extract
    with pytest.raises(InputError, match=message):
        config_from_dict(raw, base=tmp_path)


def test_drop_earlier_outputs__a_folder_listed_whole_loses_only_edfgens_unchanged_files(tmp_path):
    """Review of s40 (found by s40genfix): the run's clean-up of an earlier configuration's outputs removed a folder
    its earlier manifest listed whole with ``shutil.rmtree``, a user's file put there included. Now only the files
    that are edfgen's by that manifest (unchanged since it finished) go, and the folder only once emptied."""
    import datetime as dt
    import time

    from edfgen.formats.owned import owned_files
    from edfgen.pipeline_checks import drop_earlier_outputs

    out = tmp_path / "run"
    for name in ("old_figures", "kept_figures"):
        (out / name / "sub").mkdir(parents=True)
        (out / name / "sub" / "rg.png").write_bytes(b"png")
    now = time.time()
    time.sleep(int(now) + 1.05 - time.time())        # a file changed from now on is later than `finished` + 1 s
    time.sleep(1.0)
    finished = dt.datetime.fromtimestamp(int(now), dt.timezone.utc).isoformat()
    (out / "kept_figures" / "my_notes.txt").write_text("mine")          # a user's file, put there afterwards
    manifest = {"outputs": ["old_figures/", "kept_figures/"], "finished": finished}
    gone = drop_earlier_outputs(out, manifest["outputs"], [], owned=owned_files(manifest, out))
    assert (out / "kept_figures" / "my_notes.txt").read_text() == "mine"
    assert not (out / "old_figures").exists()          # edfgen's own, unchanged since: removed, folder and all
    assert gone == ["old_figures/sub/rg.png"]


def test_drop_earlier_outputs__an_out_that_is_a_symlink_still_loses_the_earlier_files(tmp_path):
    """Second read of s40 #1: with ``out`` a symlink (pipeline_config leaves an absolute out unresolved) the base kept
    the link's own name while each entry was resolved under its target, so no entry lay "under out" and nothing of
    an earlier configuration was removed (a6ddc55 removed ``old.tsv``)."""
    from edfgen.pipeline_checks import drop_earlier_outputs

    real = tmp_path / "real_run"
    (real / "sub").mkdir(parents=True)
    (real / "old.tsv").write_text("x")
    (real / "sub" / "old2.tsv").write_text("x")
    (real / "mine.tsv").write_text("x")
    out = tmp_path / "run"
    out.symlink_to(real)
    gone = drop_earlier_outputs(out, ["old.tsv", "sub/old2.tsv", "mine.tsv"], [out / "mine.tsv"])
    assert sorted(gone) == ["old.tsv", "sub/old2.tsv"]
    assert not (real / "old.tsv").exists() and not (real / "sub").exists() and (real / "mine.tsv").exists()


def test_earlier_outputs__judged_before_the_run_marks_its_manifest_in_progress(tmp_path):
    """Late review of s40: where the file server's clock runs ahead, the files of a folder an older manifest lists
    whole are edfgen's by the manifest file's own status-change time; `edfgen run` judged them after rewriting that
    manifest in progress, so the rule never applied and edfgen's own files were left, owned by no manifest."""
    import datetime as dt
    import json
    import time

    from edfgen.formats.manifest import mark_in_progress
    from edfgen.pipeline_checks import drop_earlier_outputs, earlier_outputs

    out = tmp_path / "run"
    (out / "old_figures").mkdir(parents=True)
    (out / "old_figures" / "rg.png").write_bytes(b"png")
    finished = dt.datetime.fromtimestamp(int(time.time()) - 100, dt.timezone.utc).isoformat()   # clock 100 s behind
    (out / "manifest.json").write_text(json.dumps({"command": "edfgen run", "outputs": ["old_figures/"],
                                                   "finished": finished}))
    earlier, owned = earlier_outputs(out)
    mark_in_progress(out / "manifest.json", note="an edfgen run is updating this folder")
    assert drop_earlier_outputs(out, earlier, [], owned=owned) == ["old_figures/rg.png"]
    assert not (out / "old_figures").exists()


def test_code_digests__a_release_changing_only_shipped_data_is_other_code(tmp_path):
    """s41safefix #5: source_digest and code_digest read *.py only, so a release changing only the shipped genes
    (edfgen/data/genes_GRCh38.tsv.gz) or a checkpoint kept the stage (annotate's stale nearest genes). The bytes of
    the files under data/ and checkpoints/ key it now; their *.md documentation does not."""
    from edfgen.pipeline_checks import _shipped_data, _sources, code_digest, source_digest

    pkg = tmp_path / "edfgen"
    for d in ("data", "checkpoints"):
        (pkg / d).mkdir(parents=True)
    (pkg / "__init__.py").write_text("__version__ = '1'\n")
    (pkg / "data" / "genes_GRCh38.tsv.gz").write_bytes(b"genes v1")
    (pkg / "data" / "README.md").write_text("the genes\n")
    (pkg / "checkpoints" / "tiny.json").write_text("{}")

    def digests() -> tuple[str, str]:
        for f in (code_digest, source_digest, _sources, _shipped_data):
            f.cache_clear()
        return code_digest(pkg), source_digest(pkg)

    first = digests()
    (pkg / "data" / "README.md").write_text("the genes, documented better\n")
    assert digests() == first
    (pkg / "data" / "genes_GRCh38.tsv.gz").write_bytes(b"genes v2")
    second = digests()
    assert second[0] != first[0] and second[1] != first[1]
    (pkg / "checkpoints" / "mine.json").write_text('{"d": 2}')    # s42files #5: keyed by extract's option instead
    (pkg / "checkpoints" / "tiny.json").write_text('{"d": 3}')
    assert digests() == second


def test_stage_key__a_checkpoint_saved_into_the_package_reruns_only_the_stage_that_loads_it(tmp_path, monkeypatch):
    """s42files #5: the code digest covered every file of edfgen/checkpoints/, so a checkpoint a user saved there (to
    ship it, `model resave`) made `edfgen run` rerun every stage, the 3-hour GWAS too. The checkpoints are read only
    through extract's checkpoint option, which its stage key holds by content: a new file there keeps every key and
    the code digest; the shipped checkpoint retrained in place changes extract's key only."""
    import shutil

    import edfgen.model.checkpoint as ck
    from edfgen.commands.extract import ExtractOptions
    from edfgen.commands.gwas import GwasOptions
    from edfgen.pipeline_checks import _shipped_data, _sources, code_digest, stage_key

    pkg = tmp_path / "edfgen"
    shutil.copytree(Path(ck.PACKAGE_DIR).parent / "data", pkg / "data")
    (pkg / "checkpoints").mkdir()
    for f in ("tiny.json", "tiny.safetensors"):
        shutil.copy(Path(ck.PACKAGE_DIR) / f, pkg / "checkpoints" / f)
    (pkg / "__init__.py").write_text("x = 1\n")
    monkeypatch.setattr(ck, "PACKAGE_DIR", pkg / "checkpoints")

    def keys() -> tuple[str, str, str]:
        for f in (code_digest, _sources, _shipped_data):
            f.cache_clear()
        return (code_digest(pkg), stage_key("edfgen extract", ExtractOptions, {"checkpoint": "tiny"}, {}, [], tmp_path),
                stage_key("edfgen gwas", GwasOptions, {"maf": 0.01}, {}, [], tmp_path))

    first = keys()
    shutil.copy(pkg / "checkpoints" / "tiny.json", pkg / "checkpoints" / "mine.json")   # saved into the package
    assert keys() == first
    (pkg / "checkpoints" / "tiny.safetensors").write_bytes(b"retrained")
    second = keys()
    assert second[0] == first[0] and second[1] != first[1] and second[2] == first[2]
