"""One option vocabulary across commands: canonical names in --help, old spellings still parsed."""

from __future__ import annotations

from click.testing import CliRunner

from edfgen.cli import cli


def _params(command: str, args: list[str]) -> dict:
    import click

    cmd = cli.get_command(click.Context(cli), command)
    ctx = cmd.make_context(command, args, resilient_parsing=True)
    return ctx.params


def test_gwas_options__max_plots_and_covariates_as_in_mr_and_interpret_old_names_hidden():
    help_text = CliRunner().invoke(cli, ["gwas", "--help"]).output
    assert "--max-plots" in help_text and "--covariates" in help_text
    assert "--plots-max" not in help_text and "--covar-cols" not in help_text
    for name, opt in (("mr", "--max-plots"), ("interpret", "--covariates")):
        assert opt in CliRunner().invoke(cli, [name, "--help"]).output
    base = ["--bfile", "g", "--pheno", __file__, "--out", "o"]
    new = _params("gwas", base + ["--covariates", "age,sex", "--max-plots", "3"])
    old = _params("gwas", base + ["--covar-cols", "age,sex", "--plots-max", "3"])
    assert new["covar_cols"] == old["covar_cols"] == ["age", "sex"]
    assert new["plots_max"] == old["plots_max"] == 3
