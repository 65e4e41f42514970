"""Kills, reruns and ``--force`` against a user's files (benchmarks/kill_resume.py found these; each case is
deterministic: the kill is a chosen hook, not a timer)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from edfgen.cli import cli


def test_annotate_rerun__keeps_a_users_file_in_its_regional_plots_folder(tiny_sim_cohort, tmp_path, monkeypatch):
    """annotate listed its regional-plot folder as a whole in <out>.manifest.json, so a rerun removed everything in
    it, a user's notes put there included (benchmarks/kill_resume.py, --force trial); it lists the plots it drew, so
    that the rerun refuses in one line (the notes kept), as for a user's file in gwas's plots/."""
    import edfgen.commands.annotate as an
    from edfgen.pipeline import packaged_catalog

    bim = pd.read_csv(tiny_sim_cohort / "genotypes.bim", sep="\t", header=None)
    loci = tmp_path / "loci.tsv"
    pd.DataFrame({"variant_id": [bim[1][0]], "chromosome": [str(bim[0][0])], "base_pair_location": [bim[3][0]],
                  "p_value": [1e-9], "phenotype": ["edf_001"]}).to_csv(loci, sep="\t", index=False)
    sumstats = tmp_path / "edf_001.tsv"
    pd.DataFrame({"variant_id": bim[1][:3], "chromosome": bim[0][:3].astype(str), "base_pair_location": bim[3][:3],
                  "effect_allele": bim[4][:3], "other_allele": bim[5][:3], "beta": 0.1, "standard_error": 0.1,
                  "p_value": 0.5}).to_csv(sumstats, sep="\t", index=False)

    def draw(loci, sumstats, panel, folder, **kw):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "1_edf_001.png").write_bytes(b"png")
        return [folder / "1_edf_001.png"]

    monkeypatch.setattr(an, "write_regional_plots", draw)
    out = tmp_path / "res" / "annotated.tsv"
    args = ["annotate", "--loci", str(loci), "--catalog", str(packaged_catalog()), "--any-trait", "--ld-bfile",
            str(tiny_sim_cohort / "genotypes"), "--regional-plots", "1", "--sumstats", str(sumstats), "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    mine = tmp_path / "res" / "annotated_regional" / "my_notes.txt"
    mine.write_text("mine")
    res = CliRunner().invoke(cli, args)            # refused in one line, as gwas refuses a user's file in its plots/
    assert res.exit_code == 2 and "annotated_regional/my_notes.txt exists and was not written" in res.output
    assert mine.read_text() == "mine"
    assert (tmp_path / "res" / "annotated_regional" / "1_edf_001.png").exists()
    mine.unlink()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
