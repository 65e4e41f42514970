"""The documentation names only commands and options that exist: a user who types what the README, the model card,
the benchmarks' README or the data dictionary shows gets that command, not `No such command` or `No such option`."""

from __future__ import annotations

import re
from functools import cache

import click

from edfgen.cli import COMMANDS, cli

from conftest import REPO

#: the documents whose command lines users copy
COMMAND_DOCS = ("README.md", "benchmarks/README.md", "edfgen/checkpoints/README.md")

#: options of other tools that the README and the data dictionary name beside edfgen's (plink 1.9/2, REGENIE,
#: torchrun, Spark, hailctl, gcloud): each with the tool it belongs to, so that a new one is added knowingly
FOREIGN_OPTIONS = {
    "--approx": "REGENIE", "--af-cc": "REGENIE", "--clump-verbose": "plink1.9", "--hard-call-threshold": "plink2",
    "--input-missing-phenotype": "plink2", "--interaction": "plink2 --glm", "--king-cutoff": "plink2",
    "--ld-xchr": "plink1.9", "--linear": "plink1.9", "--logistic": "plink1.9", "--make-king-table": "plink2",
    "--mendel": "plink1.9", "--output-chr": "plink2", "--require-covar": "plink2", "--require-pheno": "plink2",
    "--set-all-var-ids": "plink2", "--split-par": "plink2", "--vcf-half-call": "plink2", "--xchr-model": "plink1.9",
    "--glm": "plink2", "--make-bed": "plink", "--export": "plink2", "--geno": "plink", "--mind": "plink",
    "--l2": "ldsc", "--lmm": "BOLT-LMM", "--host": "spark-class", "--master": "spark-submit",
    "--driver-memory": "spark-submit", "--executor-memory": "spark-submit", "--num-workers": "hailctl",
    "--packages": "hailctl", "--recurse": "gcloud compute scp", "--nproc_per_node": "torchrun",
    "--nnodes": "torchrun", "--node_rank": "torchrun", "--rdzv_endpoint": "torchrun",
    "--covar-variance-standardize": "plink2", "--assoc": "plink1.9", "--ci": "plink1.9",
    "--keep-allele-order": "plink1.9", "--freq": "plink",
}

_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9_-]*[a-z0-9])")


def _options(command: click.Command) -> set[str]:
    names = {"--help"}
    for p in command.params:
        names.update(o for o in (*p.opts, *p.secondary_opts) if o.startswith("--"))
    return names


@cache
def command_options() -> dict[str, set[str]]:
    """``{"gwas": {...}, "model info": {...}, "model": <every option of its subcommands>}``."""
    out = {}
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        if isinstance(command, click.Group):
            subs = {f"{name} {s}": _options(c) for s, c in command.commands.items()}
            out.update(subs)
            out[name] = set().union(*subs.values())
        else:
            out[name] = _options(command)
    return out


def command_lines(text: str) -> list[tuple[str, str]]:
    """``(command, the rest of its line)`` of every edfgen command the text shows: code spans that start with
    ``edfgen <command>`` and command lines of fenced code blocks (continuation lines joined; ``-m edfgen.cli``)."""
    found = [(m.group(1), m.group(2)) for m in re.finditer(r"`edfgen ([a-z][\w-]*)([^`]*)`", text)]
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            m = re.match(r"\s*(?:[A-Z_]+=\S*\s+)*(?:nice(?: -n \d+)?\s+)?(?:\S*torchrun .*?-m )?edfgen(?:\.cli)?"
                         r" ([a-z][\w-]*)(.*)", line)
            if m:
                found.append((m.group(1), m.group(2)))
    return found


def test_every_edfgen_command_line_in_the_docs_names_a_command_and_its_options():
    """README "(or `edfgen qc --remove-related`)": there is no qc command; --remove-related is gwas's."""
    options = command_options()
    wrong = []
    for doc in COMMAND_DOCS:
        for name, rest in command_lines((REPO / doc).read_text()):
            if name not in options:
                wrong.append(f"{doc}: edfgen {name}: no such command")
                continue
            sub = rest.split()[0] if rest.split() else ""
            known = options.get(f"{name} {sub}", options[name])
            wrong += [f"{doc}: edfgen {name}{rest[:60]}: {o} is not an option of {name}"
                      for o in _OPTION.findall(rest) if o not in known]
    assert not wrong, "\n".join(wrong)


def test_every_option_the_readme_and_the_data_dictionary_name_exists():
    """An --option in the README or the data dictionary is one of edfgen's commands', one of a benchmark
    script's (its quoted name in benchmarks/*.py) or another tool's (FOREIGN_OPTIONS)."""
    known = set().union(*command_options().values()) | set(FOREIGN_OPTIONS)
    benchmark_sources = "".join(p.read_text() for p in (REPO / "benchmarks").glob("*.py"))
    docs = [REPO / "README.md", *sorted((REPO / "data_dictionary").iterdir())]
    unknown = {f"{d.relative_to(REPO)}: {o}" for d in docs for o in _OPTION.findall(d.read_text())
               if o not in known and f'"{o}"' not in benchmark_sources}
    assert not unknown, "\n".join(sorted(unknown))


def test_the_readme_command_lines_are_found():
    """The parser above sees the README's command lines (a test that checks nothing cannot fail)."""
    lines = command_lines((REPO / "README.md").read_text())
    names = {name for name, _ in lines}
    assert {"simulate", "extract", "interpret", "gwas", "pca", "clump", "annotate", "mr", "ldsc", "finemap",
            "coloc", "pretrain", "finetune", "evaluate", "run", "model", "catalog"} <= names
    assert sum("--remove-related" in rest for _, rest in lines) >= 1


def test_skip_bad_variants_help_promises_qc_report_only_for_the_command_that_writes_it():
    """ldsc, finemap and coloc --help said a bad BGEN variant is 'counted in qc_report.tsv (bad_variant)': only
    gwas writes qc_report.tsv (data_dictionary/index.tsv); the LD panels read the variant's calls as missing."""
    from click.testing import CliRunner

    index = (REPO / "data_dictionary" / "index.tsv").read_text().splitlines()
    writers = {line.split("\t")[2] for line in index if line.startswith("qc_report\t")}
    assert writers == {"edfgen gwas"}
    for name in ("gwas", "ldsc", "finemap", "coloc"):
        text = " ".join(CliRunner().invoke(cli, [name, "--help"], terminal_width=10_000).output.split())
        assert "--skip-bad-variants" in text, name
        helptext = text.split("--skip-bad-variants", 1)[1].split(" --", 1)[0]
        assert "gwas counts it in qc_report.tsv" in helptext, (name, helptext)
        if name != "gwas":
            assert f"{name}" in helptext and "read its calls as missing" in helptext, (name, helptext)


def test_the_readme_requirements_name_every_tool_the_ci_installs():
    """`.ci/run` installs chromium for tests/test_report.py, but the README's requirements named only Java, plink2 and
    plink1.9: `make test` on a machine set up from the README skipped the report's rendering tests."""
    ci = (REPO / ".ci" / "run").read_text()
    tools = set(re.findall(r"need\+=\(([\w.-]+)\)", ci))
    assert {"plink2", "plink1.9", "chromium"} <= tools
    readme = (REPO / "README.md").read_text()
    requirements = readme[readme.index("Requirements:"):readme.index("`make demo` simulates")]
    assert all(tool in requirements for tool in tools), (tools, requirements)
