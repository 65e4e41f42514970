"""One option vocabulary across commands: canonical names in --help, old spellings still parsed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
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


def test_every_option_is_generated_from_its_dataclass_field():
    """The click options of every command are its options dataclass's fields: the same names, and the
    default a command receives is the field's default (one place writes it)."""
    import click

    from edfgen.cli._options import cli_fields
    from edfgen.commands.annotate import AnnotateOptions
    from edfgen.commands.catalog import CatalogDownloadOptions
    from edfgen.commands.clump import ClumpOptions
    from edfgen.commands.evaluate import EvaluateOptions
    from edfgen.commands.extract import ExtractOptions
    from edfgen.commands.finetune import FinetuneOptions
    from edfgen.commands.gwas import GwasOptions
    from edfgen.commands.interpret import InterpretOptions
    from edfgen.commands.model import ModelExportOptions, ModelInfoOptions
    from edfgen.commands.mr import MROptions
    from edfgen.commands.pca import PcaOptions
    from edfgen.commands.pretrain import PretrainOptions
    from edfgen.commands.simulate import SimulateOptions
    from edfgen.pipeline import DemoOptions, RunOptions

    for cls in (SimulateOptions, ExtractOptions, InterpretOptions, GwasOptions, PcaOptions,
                ClumpOptions, AnnotateOptions, MROptions, DemoOptions, RunOptions, PretrainOptions,
                FinetuneOptions, EvaluateOptions, ModelInfoOptions, ModelExportOptions, CatalogDownloadOptions):
        cmd = cli
        for name in cls.command.split():                 # "model info": the group, then its command
            cmd = cmd.get_command(click.Context(cmd), name)
        params = {p.name: p for p in cmd.params if p.name not in ("verbose", "quiet", "progress_mode", "help", "genome_assembly")}
        assert list(params) == [f.name for f in cli_fields(cls)], cls.command
        for f in cli_fields(cls):
            p = params[f.name]
            default = p.get_default(click.Context(cmd), call=True)
            if type(default).__name__ == "Sentinel":
                default = False if getattr(p, "is_flag", False) else None
            if (p.multiple or p.nargs == -1) and default in (None, ()):
                default = ()
            if p.callback is not None and isinstance(default, str):   # comma lists: "age,sex" -> ("age", "sex")
                default = tuple(default.split(","))
            assert default == f.default, (cls.command, f.name, default, f.default)
            assert getattr(p, "help", None) == f.metadata.get("help"), (cls.command, f.name)


def test_defaults_reach_the_command_as_the_dataclass_defaults(monkeypatch, tmp_path):
    """`edfgen gwas` with only the required options hands run() exactly the dataclass's defaults."""
    import dataclasses

    import edfgen.commands.gwas as runners
    from edfgen.commands.gwas import GwasOptions

    got = []
    monkeypatch.setattr(runners, "run", lambda o: got.append(o) or (_ for _ in ()).throw(SystemExit(0)))
    out = tmp_path / "o"
    CliRunner().invoke(cli, ["gwas", "--bfile", "g", "--pheno", __file__, "--out", str(out)])
    assert got[0] == dataclasses.replace(GwasOptions(), bfile="g", pheno=Path(__file__), out=out)
    assert (got[0].maf, got[0].engine, got[0].reference_genome, got[0].kinship) == (0.01, "auto", "GRCh38", 0.0884)


def test_genome_assembly_is_a_hidden_deprecated_alias_of_reference_genome(monkeypatch, tmp_path):
    """One genome-build option: --reference-genome (default GRCh38); --genome-assembly is not shown, warns,
    and maps onto it; a contradiction is one line; the TOML key genome_assembly maps the same way."""
    import edfgen.commands.gwas as runners
    from edfgen.commands.gwas import GwasOptions
    from edfgen.exceptions import ConfigError

    for name in ("gwas", "pca", "clump", "mr"):
        text = CliRunner().invoke(cli, [name, "--help"]).output
        assert "--reference-genome" in text and "--genome-assembly" not in text and "[default: GRCh38]" in text
    got = []
    monkeypatch.setattr(runners, "run", lambda o: got.append(o) or (_ for _ in ()).throw(SystemExit(0)))
    base = ["gwas", "--bfile", "g", "--pheno", __file__, "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(cli, base + ["--genome-assembly", "GRCh37"])
    assert got[-1].reference_genome == "GRCh37" and "--genome-assembly is deprecated" in r.output
    CliRunner().invoke(cli, base)
    assert got[-1].reference_genome == "GRCh38"
    CliRunner().invoke(cli, base + ["--genome-assembly", "NR", "--reference-genome", "GRCh37"])
    assert got[-1].reference_genome == "GRCh37"
    n = len(got)
    r = CliRunner().invoke(cli, base + ["--genome-assembly", "GRCh37", "--reference-genome", "GRCh38"])
    assert r.exit_code == 2 and len(got) == n
    assert "--genome-assembly GRCh37 contradicts --reference-genome GRCh38" in r.output.splitlines()[-1]
    assert GwasOptions.from_mapping("gwas", {"genome_assembly": "GRCh37"}).reference_genome == "GRCh37"
    with pytest.raises(ConfigError, match=r"\[gwas\] genome_assembly GRCh37 contradicts reference_genome GRCh38"):
        GwasOptions.from_mapping("gwas", {"genome_assembly": "GRCh37", "reference_genome": "GRCh38"})
    with pytest.raises(ConfigError, match=r"\[gwas\] genome_assembly: 'hg19' is not one of"):
        GwasOptions.from_mapping("gwas", {"genome_assembly": "hg19"})


def test_gwas_run_records_the_given_build_in_the_metadata(monkeypatch, tmp_path):
    """run(GwasOptions) passes the one build to the genotypes, whose build every -meta.yaml records (never NR;
    tests/test_readers.py reads it back from a GRCh37 GWAS on both engines)."""
    import edfgen.commands.gwas as gwas_mod
    from edfgen.commands.gwas import run as gwas
    from edfgen.commands.gwas import GwasOptions

    seen = {}
    monkeypatch.setattr(gwas_mod, "run_gwas", lambda source, *a, settings, **k: seen.update(
        source=source.reference_genome))
    for ext in ("bed", "bim", "fam"):
        (tmp_path / f"g.{ext}").write_text("")
    for build in ("GRCh37", "GRCh38"):
        gwas(GwasOptions(bfile=str(tmp_path / "g"), pheno="p", out="o", reference_genome=build))
        assert seen == {"source": build}


def test_engine_help_names_every_fast_engine_format():
    text = " ".join(CliRunner().invoke(cli, ["gwas", "--help"]).output.split())
    assert "PLINK 1, PGEN, BGEN and VCF" in text and "PLINK input" not in text


def test_every_shown_option_of_every_command_has_help_text():
    """gwas --maf/--sample-call-rate/--kinship, mr --proxy-r2 and annotate --ld-r2 showed no text in --help."""
    import click

    def commands(group, ctx):
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if isinstance(cmd, click.Group):
                yield from commands(cmd, click.Context(cmd, parent=ctx, info_name=name))
            else:
                yield f"{ctx.command_path} {name}", cmd

    bare = [(path, p.opts[0]) for path, cmd in commands(cli, click.Context(cli, info_name="edfgen"))
            for p in cmd.params if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()]
    assert not bare, bare


def test_run_help_lists_every_stage():
    """`edfgen run --help` said "extract > gwas > clump > annotate > mr": it runs more stages than that."""
    text = " ".join(CliRunner().invoke(cli, ["run", "--help"]).output.split())
    for stage in ("simulate", "extract", "interpret", "pca", "gwas", "gwas_outcomes", "gwas_biomarkers", "clump",
                  "annotate", "mr", "ldsc", "finemap", "coloc", "report.html"):
        assert stage in text, stage


def test_an_unquoted_glob_after_an_option_is_taken_or_explained(monkeypatch, tmp_path):
    """Review s31d #9: `annotate --sumstats gwas/*.tsv.gz` (the shell's several paths) failed with click's bare
    "Got unexpected extra argument"; it takes them as clump, ldsc and finemap do. Where extra paths cannot be
    told apart (mr's --exposure and --outcome), the one-line error says what to do."""
    import edfgen.commands.annotate as runners

    files = []
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.tsv.gz").write_text("")
        files.append(str(tmp_path / f"{name}.tsv.gz"))
    got = []
    monkeypatch.setattr(runners, "run", lambda o: got.append(o) or (_ for _ in ()).throw(SystemExit(0)))
    CliRunner().invoke(cli, ["annotate", "--loci", __file__, "--catalog", __file__, "--sumstats", *files,
                             "--out", str(tmp_path / "a.tsv")])
    assert [*got[0].sumstats, *got[0].more_sumstats] == [Path(f) for f in files]
    r = CliRunner().invoke(cli, ["mr", "--exposure", *files[:2], "--outcome", files[2], "--out", str(tmp_path / "m")])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and "Got unexpected extra argument" in lines[0] \
        and "an unquoted glob (gwas/*.tsv.gz) gives it several: pass the folder, or repeat the option" in lines[0]


def test_an_option_of_one_value_given_twice_is_refused(monkeypatch, tmp_path):
    """Review s31d #10: `gwas --covar a.tsv --covar pcs.tsv` used the last table silently (and then said age was
    missing from pcs.tsv); a repeated single-value option is a one-line error. Repeatable options stay so."""
    import edfgen.commands.gwas as runners

    got = []
    monkeypatch.setattr(runners, "run", lambda o: got.append(o) or (_ for _ in ()).throw(SystemExit(0)))
    base = ["gwas", "--bfile", "g", "--pheno", __file__, "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(cli, [*base, "--covar", __file__, "--covar", __file__])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and not got and len(lines) == 1
    assert "--covar is given 2 times and takes one value: give it once; several tables: join them on IID" in lines[0]
    r = CliRunner().invoke(cli, [*base, "--maf", "0.1", "--maf=0.2"])
    assert r.exit_code == 2 and "--maf is given 2 times" in r.output and not got
    r = CliRunner().invoke(cli, [*base, "--pheno-cols", "a", "--pheno-cols", "b"])    # a comma list: once, a,b
    assert r.exit_code == 2 and "--pheno-cols is given 2 times" in r.output and not got
    CliRunner().invoke(cli, [*base, "--covar", __file__, "-v", "-v", "--pheno-cols", "a,b"])
    assert got and got[0].covar == Path(__file__) and tuple(got[0].pheno_cols) == ("a", "b")
    import edfgen.commands.pretrain as pretrain

    monkeypatch.setattr(pretrain, "run", lambda o: got.append(o) or (_ for _ in ()).throw(SystemExit(0)))
    CliRunner().invoke(cli, ["pretrain", "--ecg", str(tmp_path), "--ecg", str(tmp_path), "--out", str(tmp_path / "p")])
    assert got[-1].ecg == (tmp_path, tmp_path)                     # a repeatable option


def test_a_repeated_list_or_catalog_option_is_not_told_to_join_tables_on_iid(tmp_path):
    """Review s34a #3: `annotate --loci a --loci b` (and --extract, --catalog twice) were told "several tables: join
    them on IID into one file"; that hint is for the per-participant tables --pheno/--covar only."""
    for args in (["annotate", "--loci", __file__, "--loci", __file__, "--catalog", __file__],
                 ["clump", "--sumstats", __file__, "--extract", __file__, "--extract", __file__]):
        r = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "o")])
        assert r.exit_code == 2 and "is given 2 times and takes one value: give it once" in r.output
        assert "join them on IID" not in r.output


@pytest.mark.parametrize("command,option", [("coloc", "--p12"), ("finemap", "--window-kb"), ("gwas", "--maf"),
                                            ("annotate", "--window-kb"), ("ldsc", "--two-step")])
@pytest.mark.parametrize("value", ["nan", "inf", "NaN"])
def test_a_number_option_refuses_nan_and_inf_in_one_line(monkeypatch, tmp_path, command, option, value):
    """Review s34a #1: nan passed every range check (`coloc --p12 nan` wrote a coloc.tsv of NA, `finemap --window-kb
    nan` fine-mapped no locus, `gwas --maf nan` said no variant passed QC); inf passed ranges open above. Refused
    before the command runs, as `edfgen run` refuses them in a TOML."""
    import importlib

    module = importlib.import_module(f"edfgen.commands.{command}")
    got = []
    monkeypatch.setattr(module, "run", lambda o: got.append(o) or (_ for _ in ()).throw(SystemExit(0)))
    r = CliRunner().invoke(cli, [command, option, value, "--out", str(tmp_path / "o")])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and not got and len(lines) == 1, r.output
    assert f"{option}: '{value}' is not a finite number" in lines[0] or (    # inf above a range's top: that error
        value == "inf" and f"{option}: inf is not in the range" in lines[0])


def test_gwas_help__firth_fallback_p_is_not_said_to_be_plink2s():
    """Review s31h #6: `--logistic-test` help and GwasSettings said "as plink2 --glm firth", but only beta is: p
    comes from the penalised likelihood-ratio test (plink2 reports the Firth fit's Wald p; up to 8x apart)."""
    from edfgen.commands.gwas import GwasSettings

    text = " ".join(CliRunner().invoke(cli, ["gwas", "--help"], terminal_width=200).output.split())
    assert "beta as plink2 --glm firth; p from the penalised likelihood-ratio test" in text
    doc = " ".join(GwasSettings.__doc__.split())
    assert "beta as plink2 --glm firth; p from the penalised likelihood-ratio test" in doc


#: command module: (its options dataclass, the library function it runs)
LIBRARY_ENTRY_POINTS = {"extract": ("ExtractOptions", "extract_edfs"), "gwas": ("GwasOptions", "run_gwas"),
                        "clump": ("ClumpOptions", "run_clump"), "mr": ("MROptions", "run_mr"),
                        "ldsc": ("LdscOptions", "run_ldsc"), "interpret": ("InterpretOptions", "interpret_edfs"),
                        "pca": ("PcaOptions", "run_pca"), "annotate": ("AnnotateOptions", "run_annotate"),
                        "coloc": ("ColocOptions", "run_coloc"), "finemap": ("FinemapOptions", "run_finemap"),
                        "evaluate": ("EvaluateOptions", "run_evaluate"), "finetune": ("FinetuneOptions", "run_finetune"),
                        "pretrain": ("PretrainOptions", "run_pretrain")}


def test_library_functions_default_to_the_commands_defaults():
    """A keyword of a library function named like its command's option has the option's default, so a notebook
    reproduces the command (review s32c: run_mr used LD proxies, extract_edfs the CPU in fp32, by default).
    ``None``/``()`` for a computed default, and run_clump's reference_genome=None (the GenotypeSource's build,
    else the option's GRCh38), are the exceptions."""
    import dataclasses
    import importlib
    import inspect

    differ = []
    for module, (options, function) in LIBRARY_ENTRY_POINTS.items():
        m = importlib.import_module(f"edfgen.commands.{module}")
        params = inspect.signature(getattr(m, function)).parameters
        for f in dataclasses.fields(getattr(m, options)):
            default = params[f.name].default if f.name in params else inspect.Parameter.empty
            if default is inspect.Parameter.empty or default in (None, ()) or default == f.default:
                continue
            differ.append(f"{function}({f.name}={default!r}) vs edfgen {module}: {f.default!r}")
    assert differ == []


def test_options_built_in_python_get_the_command_lines_checks_before_any_work(tmp_path):
    """edfgen.commands.run(GwasOptions(...)) refuses what ``edfgen gwas`` refuses, in one line naming the field, before
    reading anything (review s32c: maf=2.0 ran the whole QC pass, hwe=-1 ran to the end, pheno=None was a TypeError
    traceback, pheno_cols="heart_rate_bpm" looked for the columns h, e, a, r, t, ...)."""
    from edfgen.commands import run
    from edfgen.commands.gwas import GwasOptions
    from edfgen.exceptions import InputError

    base = {"bfile": str(tmp_path / "absent"), "pheno": str(tmp_path / "absent.tsv"), "out": str(tmp_path / "o")}
    for bad, message in [({"maf": 2.0}, "GwasOptions maf: 2.0 must be <= 0.5"),
                         ({"hwe": -1.0}, "GwasOptions hwe: -1.0 must be >= 0"),
                         ({"pheno": None}, "GwasOptions pheno: required (got None)"),
                         ({"maf": "0.01"}, "GwasOptions maf: expected a number, got '0.01'"),
                         ({"transform": "rank"}, "GwasOptions transform: 'rank' is not one of inverse-normal, none")]:
        with pytest.raises(InputError) as err:
            run(GwasOptions(**{**base, **bad}))
        assert str(err.value) == message
    assert not (tmp_path / "o").exists()
    checked = GwasOptions(**base, pheno_cols="heart_rate_bpm,qt_interval_ms", covar_cols="age").checked()
    assert checked.pheno_cols == ("heart_rate_bpm", "qt_interval_ms") and checked.covar_cols == ("age",)


def test_options_checked__numpy_numbers_accepted_and_a_fraction_for_an_int_field_refused(tmp_path):
    """Review s32h F7: threads=np.int64(2) was refused as 'not a number' and threads=2.7 passed unchanged."""
    import json

    import numpy as np

    from edfgen.commands.gwas import GwasOptions
    from edfgen.exceptions import InputError

    base = {"pheno": "x.tsv", "out": str(tmp_path / "o")}
    checked = GwasOptions(**base, threads=np.int64(2), maf=np.float32(0.25)).checked()
    assert type(checked.threads) is int and checked.threads == 2 and type(checked.maf) is float
    json.dumps(checked.to_dict())                          # (the manifest and stage keys stay JSON)
    assert GwasOptions(**base, threads=2.0).checked().threads == 2
    with pytest.raises(InputError, match=r"^GwasOptions threads: expected an integer, got 2\.7$"):
        GwasOptions(**base, threads=2.7).checked()
    with pytest.raises(InputError, match=r"^GwasOptions threads: expected a number, got True$"):
        GwasOptions(**base, threads=True).checked()


def test_an_option_without_the_option_it_serves_warns_that_it_is_ignored(monkeypatch, tmp_path, caplog):
    """Review s34a #4: `gwas --kinship` without --remove-related, `--firth-threshold` without firth-fallback,
    `--logistic-test` without --binary, `clump --pheno` without --study-wide, `clump --genes` without
    --regional-plots and `annotate --ld-r2` without --ld-bfile ran as if not given, without a word (as `mr --coloc`
    without --coloc-pp4 warns). Each run stops at its first step after the checks."""
    import edfgen.commands.annotate as annotate
    import edfgen.commands.clump as clump
    import edfgen.commands.gwas as gwas
    from edfgen.exceptions import InputError
    from edfgen.formats.genotypes.source import GenotypeSource
    from edfgen.kernels.annotate import AnnotateSettings
    from edfgen.kernels.qc import QCSettings

    class Stop(Exception):
        pass

    def stop(*a, **k):
        raise Stop

    for ext in ("bed", "bim", "fam"):
        (tmp_path / f"g.{ext}").write_text("")
    monkeypatch.setattr(gwas, "read_gwas_tables", stop)
    monkeypatch.setattr(clump, "expand_sumstats", lambda s, columns=None: [Path(__file__)])
    monkeypatch.setattr(clump, "panel_fingerprint", stop)
    with pytest.raises(Stop):
        gwas.run_gwas(GenotypeSource(bfile=str(tmp_path / "g")), __file__, None, tmp_path / "g1",
                      qc=QCSettings(kinship=0.2), settings=gwas.GwasSettings(firth_threshold=0.1,
                                                                              logistic_test="firth-fallback"))
    with pytest.raises(Stop):
        clump.run_clump([__file__], out_dir=tmp_path / "c", bfile=str(tmp_path / "g"), pheno=__file__, genes=__file__)
    with pytest.raises(InputError, match="reference-genome"):
        annotate.run_annotate(__file__, __file__, tmp_path / "a.tsv", settings=AnnotateSettings(ld_r2=0.5),
                              reference_genome="hg19")
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    for line in ("--kinship is used only with --remove-related: ignored",
                 "--firth-threshold is used only with --binary --logistic-test firth-fallback: ignored",
                 "--logistic-test firth-fallback is used only with --binary: ignored",
                 "--pheno is used only with --study-wide: ignored",
                 "--genes is used only with --regional-plots N: ignored",
                 "--ld-r2 is used only with --ld-bfile PANEL: ignored"):
        assert line in said, (line, said)
    caplog.clear()
    with pytest.raises(Stop):    # the defaults, or the options they serve given too: no warning
        gwas.run_gwas(GenotypeSource(bfile=str(tmp_path / "g")), __file__, None, tmp_path / "g2",
                      qc=QCSettings(kinship=0.2, remove_related=True))
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


@pytest.mark.parametrize("kind", ["loop", "dangling", "chain"])
@pytest.mark.parametrize("command,option", [("gwas", "--pheno"), ("mr", "--exposure")])
def test_a_path_option_given_a_broken_symlink_says_so(tmp_path, kind, command, option):
    """A symlink loop or a link to a moved file was 'file ... does not exist' while ls shows the name (stop 39
    matrix, benchmarks/results/fuzz_cli_matrix.md): the line now says it is a link that leads nowhere, and why."""
    link = tmp_path / "in.tsv"
    if kind == "loop":
        (tmp_path / "other.tsv").symlink_to(link)
    if kind == "chain":        # in.tsv -> other.tsv -> gone/x.tsv: was "the links loop" (stop 39 review)
        (tmp_path / "other.tsv").symlink_to(tmp_path / "gone" / "x.tsv")
    link.symlink_to(tmp_path / ("moved.tsv" if kind == "dangling" else "other.tsv"))
    args = {"gwas": ["--bfile", "g", "--out", "o"], "mr": ["--outcome", __file__, "--out", "o"]}[command]
    r = CliRunner().invoke(cli, [command, option, str(link), *args], prog_name="edfgen")
    final = os.path.realpath(tmp_path / ("gone/x.tsv" if kind == "chain" else "moved.tsv"))
    why = "the links loop" if kind == "loop" else f"its target '{tmp_path / 'moved.tsv'}' does not exist"
    why = f"its target '{final}' does not exist" if kind == "chain" else why
    assert r.exit_code == 2 and r.output.strip().splitlines() == [
        f"Error: {option}: {'path' if command == 'mr' else 'file'} '{link}' is a symbolic link that leads nowhere "
        f"({why}) (try 'edfgen {command} -h')"], r.output


def test_library_functions_need_no_keyword_the_command_does_not():
    """Every option the command line may leave out has a default in the library function (README: "each command is
    a function ... with the command's defaults"): run_evaluate and run_finetune required all of theirs, so
    ``run_evaluate(checkpoint="small", ecg=..., out=..., probe="linear")`` from a notebook was a TypeError naming 9
    missing keywords. (run_pretrain, whose options are the training recipe, is left as it is.)"""
    import dataclasses
    import importlib
    import inspect

    required = []
    for module, (options, function) in LIBRARY_ENTRY_POINTS.items():
        if module == "pretrain":
            continue
        m = importlib.import_module(f"edfgen.commands.{module}")
        params = inspect.signature(getattr(m, function)).parameters
        for f in dataclasses.fields(getattr(m, options)):
            if f.metadata.get("required") or f.name not in params or params[f.name].kind is not params[f.name].KEYWORD_ONLY:
                continue   # (positional inputs, run_gwas(source, pheno, covar, out_dir), are the README's call)
            if params[f.name].default is inspect.Parameter.empty:
                required.append(f"{function}({f.name})")
    assert required == []
