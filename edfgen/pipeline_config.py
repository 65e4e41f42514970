"""Validation of ``edfgen run`` configurations (TOML): sections, keys, every value's type and range,
checked before any stage runs (see :mod:`edfgen.pipeline` for the layout)."""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from edfgen.commands import study_inputs as si
from edfgen.commands.annotate import AnnotateOptions
from edfgen.commands.clump import ClumpOptions
from edfgen.commands.coloc import ColocOptions
from edfgen.commands.extract import ExtractOptions
from edfgen.commands.finemap import FinemapOptions
from edfgen.commands.gwas import GwasOptions
from edfgen.commands.interpret import InterpretOptions
from edfgen.commands.ldsc import LdscOptions
from edfgen.commands.mr import MROptions
from edfgen.commands.options import CommandOptions, force_opt, opt, seed_opt
from edfgen.commands.pca import PcaOptions
from edfgen.commands.simulate import SimulateOptions
from edfgen.exceptions import ConfigError, InputError
from edfgen.pipeline_checks import check_configuration

#: [run] key -> its type
RUN_KEYS: dict[str, type] = {"out": str, "two_sample_split": bool, "biomarker_gwas": bool, "pca": bool,
                              "genetics": bool}
INPUT_KEYS = si.INPUT_KEYS
#: the genotype formats other than the PLINK fileset of [inputs] bfile (the pipeline reads that one only)
_OTHER_GENOTYPES = frozenset({"pfile", "bgen", "sample", "vcf", "vcf_field", "mt"})
_GWAS_WIRING = frozenset({"bfile", "pheno", "covar", "out", "force", "binary"}) | _OTHER_GENOTYPES
STAGE_SECTIONS: dict[str, tuple[type[CommandOptions], frozenset[str]]] = {
    # section -> options class; wiring options the pipeline sets itself (not allowed in the TOML)
    "simulate": (SimulateOptions, frozenset({"out", "force"})),
    "extract": (ExtractOptions, frozenset({"ecg", "out", "force", "id_map"})),
    "interpret": (InterpretOptions, frozenset({"edf", "biomarkers", "covar", "out", "force"})),
    "gwas": (GwasOptions, _GWAS_WIRING),
    "gwas_outcomes": (GwasOptions, _GWAS_WIRING),
    "pca": (PcaOptions, frozenset({"out", "force"}) | _OTHER_GENOTYPES | {"bfile"}),
    "clump": (ClumpOptions, frozenset({"sumstats", "more_sumstats", "bfile", "out", "force"}) | _OTHER_GENOTYPES),
    "annotate": (AnnotateOptions, frozenset({"loci", "catalog", "genes", "out", "force"})),
    "mr": (MROptions, frozenset({"exposure", "outcome", "out", "force", "instruments", "bfile", "case_counts"})
           | _OTHER_GENOTYPES),
    "ldsc": (LdscOptions, frozenset({"sumstats", "more_sumstats", "bfile", "out", "force"}) | _OTHER_GENOTYPES),
    "finemap": (FinemapOptions, frozenset({"loci", "sumstats", "more_sumstats", "bfile", "out", "force"}) | _OTHER_GENOTYPES),
    "coloc": (ColocOptions, frozenset({"exposure", "outcome", "loci", "bfile", "out", "force"}) | _OTHER_GENOTYPES),
}


def render_toml(raw: dict[str, dict[str, Any]]) -> str:
    """Write a configuration (sections of scalar or list values) as TOML text that :func:`load_config` reads back."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v))

    return "\n".join(f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in section.items())
                     for name, section in raw.items())


@dataclass(frozen=True)
class DemoOptions(CommandOptions):
    """``edfgen demo`` (:func:`edfgen.pipeline.run_demo`)."""

    command: ClassVar[str] = "demo"
    out: str = opt("edfgen-demo", "Output directory.", path="dir")
    n: int = opt(5000, "Participants with ECGs to simulate (a biobank twice as large, without ECGs, gives the disease "
                 "GWAS of two-sample MR).", range=(10, None))
    seed: int = seed_opt("Simulation seed.")
    force: bool = force_opt()


@dataclass(frozen=True)
class RunOptions(CommandOptions):
    """``edfgen run`` (:func:`edfgen.pipeline.run_pipeline` of :func:`edfgen.pipeline.load_config`)."""

    command: ClassVar[str] = "run"
    config: str | None = opt(None, "Pipeline TOML (see `edfgen.pipeline` docs / README).", path="file",
                             required=True)
    force: bool = force_opt("Rerun every stage, ignoring what is already done.")
    ignore_code_changes: bool = opt(False, "Keep (skip, with a warning) the stages that are up to date but for "
                                           "edfgen's code (an upgrade or an edit reruns every stage otherwise).")


@dataclass
class PipelineConfig:
    """A validated pipeline configuration (see module docstring): ``stages`` maps each section to its
    typed options (:mod:`edfgen.commands.options`), less the wiring the pipeline sets."""

    out: Path
    inputs: dict[str, Path]
    stages: dict[str, CommandOptions]
    two_sample_split: bool = False
    biomarker_gwas: bool = False
    pca: bool | None = None            # None: when the covariates hold no PC columns
    mr_outcomes: list = field(default_factory=list)   # [mr] outcomes (study_inputs.Outcome)
    genotype_files: list = field(default_factory=list)
    genetics: bool = False
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline TOML file; relative paths are resolved against its directory."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))    # a BOM (Windows editors) is not TOML's
    except FileNotFoundError:
        raise InputError(f"--config {path}: file not found") from None
    except OSError as exc:      # a folder, a symlink loop, unreadable: was a traceback (stop 39 matrix)
        raise InputError(f"--config {path}: cannot be read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    return config_from_dict(raw, base=path.parent, source=path)


def _table(where: str, name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table of options, got {value!r}")
    return value


def config_from_dict(raw: dict[str, Any], *, base: Path = Path("."), source: Path | None = None) -> PipelineConfig:
    """Validate a configuration (the parsed TOML): sections, keys and every value's type and range,
    before anything runs. Raises :class:`ConfigError` (or :class:`InputError` for a missing input
    path) naming the section and key."""
    where = str(source) if source else "config"
    base = Path(base)
    unknown = set(raw) - {"run", "inputs"} - set(STAGE_SECTIONS)
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {sorted(unknown)} (known: run, inputs, {', '.join(STAGE_SECTIONS)})")
    run = _table(where, "run", raw.get("run", {}))
    bad = set(run) - set(RUN_KEYS)
    if bad:
        raise ConfigError(f"{where}: [run] unknown key(s) {sorted(bad)} (known: {sorted(RUN_KEYS)})")
    if "out" not in run:
        raise ConfigError(f"{where}: [run] out is required (the output directory)")
    for key, typ in RUN_KEYS.items():
        if key in run and not isinstance(run[key], typ):
            what = "true or false (unquoted)" if typ is bool else "a string (a path)"
            raise ConfigError(f"{where}: [run] {key}: expected {what}, got {run[key]!r}")
    if not run["out"].strip():
        raise ConfigError(f"{where}: [run] out: empty path")
    inputs = si.parse_inputs(_table(where, "inputs", raw.get("inputs", {})), base=base, where=where)
    mr_section = dict(_table(where, "mr", raw.get("mr", {})))
    outcomes = si.mr_outcomes(mr_section, base=base, where=where)
    stages: dict[str, CommandOptions] = {}
    for name, (cls, wiring) in STAGE_SECTIONS.items():   # every value checked now, before any work
        if name in raw or name not in ("simulate",):
            section = mr_section if name == "mr" else _table(where, name, raw.get(name, {}))
            try:
                stages[name] = cls.from_mapping(name, section, base=base, wiring=wiring)
            except (ConfigError, InputError) as exc:    # the section's message, with the file it is in
                raise type(exc)(f"{where}: {exc}") from None
    si.filter_conflicts(inputs, raw, ["gwas", "gwas_outcomes", "clump", "pca", "annotate"], where)
    si.one_build(inputs, raw, ["gwas", "gwas_outcomes", "clump", "pca", "annotate"], where)
    simulating = "simulate" in raw
    for req in ("ecg", "covar"):
        if req not in inputs and not simulating:
            raise ConfigError(f"{where}: [inputs] {'covariates' if req == 'covar' else req} is required "
                              "(or add a [simulate] section)")
    genotype_files: list[Path] = []
    if not simulating:
        if si.genotype_kind(inputs) is None:
            raise ConfigError(f"{where}: [inputs] give the genotypes: bfile, pfile, bgen (+ sample) or vcf "
                              "(or add a [simulate] section)")
        for k, p in inputs.items():
            if k == "outcomes_bfile":
                if not Path(str(p) + ".bed").exists():
                    raise InputError(f"{where}: [inputs] outcomes_bfile {p}.bed not found")
            elif k in si.PATH_KEYS and k not in ("bfile", "pfile", "vcf") and not p.exists():
                raise InputError(f"{where}: [inputs] {k} {p} not found")
        genotype_files = si.check_genotypes(inputs, where)
    if run.get("pca") and not (simulating or "covar" in inputs):
        raise ConfigError(f"{where}: [run] pca = true needs [inputs] covariates")
    out = Path(run["out"]).expanduser()
    out = out if out.is_absolute() else (base / out).resolve()
    # files the sections name exist (a [gwas] keep typo found before extract, not after it); unused sections named
    check_configuration(raw, stages, inputs, out, where, has_outcomes=bool(outcomes))
    return PipelineConfig(out=out, inputs=inputs, stages=stages, two_sample_split=run.get("two_sample_split", False),
                          biomarker_gwas=run.get("biomarker_gwas", False), pca=run.get("pca", "pca" in raw or None),
                          genetics=run.get("genetics", False), mr_outcomes=outcomes, genotype_files=genotype_files, source=source, raw=raw)
