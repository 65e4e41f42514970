"""Real ``kill -9`` of a command's subprocess mid-write (s42files): a ``--force`` rerun killed beside a Finder
``.DS_Store``, and each downstream command (clump, annotate, mr, ldsc, finemap, coloc) killed at an atomic rename:
no partial file under a final name, and a plain rerun writes the bytes of an uninterrupted run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from edfgen.cli import cli
from tests.test_fault_injection import _edfgen, _killed, _no_temp_files, _tables


#: the atomic renames at which the --force rerun is killed (before its in-progress manifest; writing its outputs)
KILL_POINTS = (3, 5)


def _invoke(args: list) -> str:
    res = CliRunner().invoke(cli, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


def _pheno(cohort: Path, path: Path) -> Path:
    iids = pd.read_csv(cohort / "covariates.tsv", sep="\t", dtype={"IID": str})["IID"]
    pd.DataFrame({"IID": iids, "x": np.random.default_rng(0).normal(size=len(iids))}).to_csv(path, sep="\t", index=False)
    return path


def test_gwas__a_kill_during_a_force_rerun_beside_a_ds_store_leaves_a_folder_the_next_run_takes(tiny_sim_cohort,
                                                                                                   tmp_path):
    """s42files #4: `gwas --force` over an older edfgen's output (manifest listing plots/ whole) with a Finder
    plots/.DS_Store keeps the .DS_Store; killed (SIGKILL) while writing, its in-progress manifest lists its files one
    by one, so the .DS_Store was 'not written by an earlier edfgen gwas' and the next plain rerun AND every --force
    were refused (exit 2) whatever the user did (so was a --force over a current output once the Finder had shown
    plots/). A desktop's junk is no one's data and never written: the runs now proceed, it kept, the tables those of
    an uninterrupted run."""
    import time

    pheno = _pheno(tiny_sim_cohort, tmp_path / "a.tsv")
    args = ["gwas", "--bfile", tiny_sim_cohort / "genotypes", "--pheno", pheno, "--covar",
            tiny_sim_cohort / "covariates.tsv", "--covar-cols", "age,sex", "--maf", "0.05"]
    ref, out = tmp_path / "ref", tmp_path / "gw"
    _invoke([*args, "--out", ref])
    _invoke([*args, "--out", out])
    m = json.loads((out / "manifest.json").read_text())
    m["outputs"] = [o for o in m["outputs"] if not o.startswith("plots/")] + ["plots/"]     # as an older edfgen wrote it
    (out / "manifest.json").write_text(json.dumps(m))
    time.sleep(1.05)                                       # (the Finder came later than that run's last second)
    (out / "plots" / ".DS_Store").write_bytes(b"finder")
    for kill_at in KILL_POINTS:
        _killed(_edfgen(*args, "--out", out, "--force", kill_at=kill_at))
        assert json.loads((out / "manifest.json").read_text())["finished"] is None
        for extra in ([], ["--force"]):
            _invoke([*args, "--out", out, *extra])
            assert (out / "plots" / ".DS_Store").read_bytes() == b"finder"
            assert _tables(out) == {**_tables(ref), "plots/.DS_Store": b"finder"}
        _no_temp_files(out)
