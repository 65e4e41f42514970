"""The commands as typed objects: one frozen dataclass per stage of ``edfgen run``.

Each class holds the options of one command (the fields are the command's option names, as
``edfgen <command> --help`` shows them with dashes: ``batch_size`` is ``--batch-size``) and its
:meth:`run` calls the library function with typed settings (``extract_edfs``, ``run_gwas``,
``run_clump``, ``run_annotate``, ``run_mr``, ...). The pipeline builds them from its TOML sections
with :meth:`StageOptions.from_config`, which checks every value's type and range before any stage
runs; the wiring between stages (inputs, outputs) is passed to :meth:`run` by the pipeline, never
taken from the TOML. ``tests/test_pipeline.py`` keeps the fields and defaults equal to the CLI's.

A section value of the wrong type is a :class:`~edfgen.exceptions.ConfigError` naming the section
and key (``[gwas] maf: expected a number, got 'abc'``); there is no string-to-bool or
string-to-number coercion (``"false"`` is not false).
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from edfgen import DEFAULT_CHECKPOINT
from edfgen.exceptions import ConfigError

PathLike = str | os.PathLike


def _opt(default: Any, *, choices: tuple | None = None, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, hi_open: bool = False, path: bool = False) -> Any:
    """A dataclass field with the validation metadata :meth:`StageOptions.from_config` applies."""
    meta = {"choices": choices, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "path": path}
    if isinstance(default, (list, tuple)):
        return field(default=tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


def _type_name(t: Any) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(t, str(t))


def _check_value(where: str, key: str, value: Any, hint: Any, meta: dict, base: Path) -> Any:
    """``value`` converted to the field's type, or a ConfigError naming ``where`` and ``key``."""
    args = typing.get_args(hint)
    if args and type(None) in args:             # X | None: TOML has no null, so the value is an X
        hint = next(a for a in args if a is not type(None))
        args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (tuple, list):                  # a list of strings, or "a,b,c" as on the command line
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} {key}: expected a list of strings (or \"a,b,c\"), got {value!r}")
        return tuple(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} {key}: expected true or false (TOML booleans, unquoted), got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} {key}: expected an integer, got {value!r}")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} {key}: expected a number, got {value!r}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{where} {key}: expected a finite number, got {value!r}")
    elif hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} {key}: expected a string, got {value!r}")
        if meta.get("path"):
            p = Path(value).expanduser()
            return str(p if p.is_absolute() else (base / p).resolve())
    choices = meta.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{where} {key}: {value!r} is not one of {', '.join(map(str, choices))}")
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
        raise ConfigError(f"{where} {key}: {value!r} must be {'>' if meta.get('lo_open') else '>='} {lo:g}")
    if hi is not None and (value > hi or (meta.get("hi_open") and value == hi)):
        raise ConfigError(f"{where} {key}: {value!r} must be {'<' if meta.get('hi_open') else '<='} {hi:g}")
    return value


@dataclass(frozen=True)
class StageOptions:
    """Base class: the options of one command (subclasses list them as fields)."""

    #: the command these options belong to (``edfgen <command>``)
    command: ClassVar[str] = ""

    @classmethod
    def from_config(cls, section: str, options: dict[str, Any], *, base: str | os.PathLike = ".",
                    wiring: frozenset[str] = frozenset()) -> StageOptions:
        """Build the options from a TOML section, checking every key and every value's type.

        Parameters
        ----------
        section
            Section name, for messages (``gwas``, ``gwas_outcomes``, ...).
        options
            The section's table (keys with ``-`` or ``_``).
        base
            Folder that relative paths in the section are resolved against (the TOML file's).
        wiring
            Option names the pipeline sets itself (inputs, outputs): refused in the TOML.

        Raises
        ------
        ConfigError
            Not a table, unknown key, a key the pipeline sets, or a value of the wrong type or range.
        """
        if not isinstance(options, dict):
            raise ConfigError(f"[{section}] must be a table of options, got {options!r}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for key, value in options.items():
            name = str(key).replace("-", "_")
            if name in wiring:
                raise ConfigError(f"[{section}] {key}: set by the pipeline itself (from [inputs]/[run]); remove it")
            if name not in fields:
                raise ConfigError(f"[{section}] unknown key {key!r} for 'edfgen {cls.command}' "
                                  f"(known: {', '.join(sorted(fields))})")
            values[name] = _check_value(f"[{section}]", key, value, hints[name], dict(fields[name].metadata),
                                        Path(base))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The options as JSON-able values (for stage keys and manifests)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class SimulateOptions(StageOptions):
    """``edfgen simulate`` (:func:`edfgen.simulate.cohort.simulate_cohort`)."""

    command: ClassVar[str] = "simulate"
    n: int = _opt(3000, lo=10)
    seed: int = _opt(0, lo=0, hi=2**32 - 1)
    chromosomes: int = _opt(3, lo=1, hi=22)
    variants_per_chromosome: int = _opt(10_000, lo=1)
    no_ecg: bool = False
    effect_scale: float = _opt(1.0, lo=0, lo_open=True)
    families: int | None = _opt(None, lo=0)

    def run(self, *, out: PathLike, force: bool = False):
        from edfgen.simulate.cohort import simulate_cohort

        kw = {"families": self.families} if self.families is not None else {}
        return simulate_cohort(out, n=self.n, seed=self.seed, chromosomes=self.chromosomes,
                               variants_per_chromosome=self.variants_per_chromosome, force=force,
                               ecg=not self.no_ecg, effect_scale=self.effect_scale, **kw)


@dataclass(frozen=True)
class ExtractOptions(StageOptions):
    """``edfgen extract`` (:func:`edfgen.commands.extract.extract_edfs`)."""

    command: ClassVar[str] = "extract"
    checkpoint: str = DEFAULT_CHECKPOINT
    batch_size: int = _opt(64, lo=1)
    workers: int | None = _opt(None, lo=0)
    pca: int | None = _opt(None, lo=1)
    fs: float | None = _opt(None, lo=0, lo_open=True)
    chunk_size: int = _opt(2048, lo=1)
    threads: int | None = _opt(None, lo=1)

    def run(self, *, ecg: list[PathLike], out: PathLike, id_map: PathLike | None = None, force: bool = False):
        from edfgen.commands.extract import extract_edfs

        return extract_edfs(list(ecg), out, checkpoint=self.checkpoint, batch_size=self.batch_size,
                            workers=self.workers, pca=self.pca, id_map=id_map, force=force, fs=self.fs,
                            chunk_size=self.chunk_size, threads=self.threads)


@dataclass(frozen=True)
class InterpretOptions(StageOptions):
    """``edfgen interpret`` (:func:`edfgen.commands.interpret.interpret_edfs`)."""

    command: ClassVar[str] = "interpret"
    measure_from: str | None = _opt(None, path=True)
    covariates: tuple[str, ...] = _opt(("age", "sex"))
    biomarker_columns: tuple[str, ...] | None = None
    p_threshold: float = _opt(0.01, lo=0, hi=1, lo_open=True)
    clusters: int = _opt(4, lo=1)
    seed: int = _opt(0, lo=0, hi=2**32 - 1)

    def run(self, *, edf: PathLike, out: PathLike, biomarkers: PathLike | None = None,
            covar: PathLike | None = None, force: bool = False):
        from edfgen.commands.interpret import interpret_edfs

        return interpret_edfs(edf, out, biomarkers=None if self.measure_from else biomarkers, covar=covar,
                              measure_from=self.measure_from, covariates=list(self.covariates),
                              biomarker_columns=list(self.biomarker_columns) if self.biomarker_columns else None,
                              p_threshold=self.p_threshold, clusters=self.clusters, seed=self.seed, force=force)


@dataclass(frozen=True)
class GenotypeFilterOptions(StageOptions):
    """The genotype filters shared by the genotype-reading commands (``edfgen.cli._options.genotype_options``);
    the pipeline's genotypes are the PLINK fileset of its ``[input] bfile``."""

    keep_ids: str | None = _opt(None, path=True)
    remove_ids: str | None = _opt(None, path=True)
    extract: str | None = _opt(None, path=True)
    chromosomes: str | None = None
    min_info: float | None = _opt(None, lo=0)
    reference_genome: str | None = _opt(None, choices=("GRCh37", "GRCh38"))

    def genotypes(self, bfile: PathLike):
        """``bfile`` with these filters, as the CLI builds it: a
        :class:`~edfgen.formats.genotypes.source.GenotypeSource`."""
        from edfgen.formats.genotypes.source import GenotypeSource

        return GenotypeSource(
            bfile=str(bfile), keep=self.keep_ids and str(self.keep_ids), remove=self.remove_ids and str(self.remove_ids),
            extract=self.extract and str(self.extract), chromosomes=(self.chromosomes,) if self.chromosomes else None,
            min_info=self.min_info, reference_genome=self.reference_genome or "GRCh38")

    def filtered(self, bfile: PathLike | None):
        """``bfile`` as :meth:`genotypes` when a filter is set, else the prefix itself (or None)."""
        on = any(getattr(self, f.name) is not None for f in dataclasses.fields(GenotypeFilterOptions))
        return self.genotypes(bfile) if on and bfile else bfile


@dataclass(frozen=True)
class GwasOptions(GenotypeFilterOptions):
    """``edfgen gwas`` on a PLINK fileset (:func:`edfgen.commands.gwas.run_gwas`)."""

    command: ClassVar[str] = "gwas"
    pheno_cols: tuple[str, ...] | None = None
    pheno_prefix: str | None = None
    covar_cols: tuple[str, ...] | None = None
    categorical: tuple[str, ...] | None = None
    logistic_test: str = _opt("wald", choices=("wald", "firth"))
    transform: str = _opt("inverse-normal", choices=("inverse-normal", "none"))
    missing_genotypes: str = _opt("mean-impute", choices=("mean-impute", "drop"))
    maf: float = _opt(0.01, lo=0, hi=0.5)
    call_rate: float = _opt(0.95, lo=0, hi=1)
    sample_call_rate: float = _opt(0.95, lo=0, hi=1)
    hwe: float = _opt(1e-6, lo=0, hi=1)
    remove_related: bool = False
    kinship: float = 0.0884
    engine: str = _opt("auto", choices=("auto", "fast", "hail"))
    no_plots: bool = False
    plots_max: int | None = _opt(None, lo=0)
    model: str = _opt("linear", choices=("linear", "ridge-loco"))
    loco_predictions: str | None = _opt(None, path=True)
    multivariate: bool = False
    genome_assembly: str = "NR"
    spark_master: str | None = None
    tmp_dir: str | None = None
    driver_memory: str | None = None
    executor_memory: str | None = None
    threads: int | None = _opt(None, lo=1)

    def _model_settings(self, settings_cls) -> dict[str, Any]:
        """The options that are GwasSettings fields of the same name (model, multivariate, ...)."""
        names = {f.name for f in dataclasses.fields(settings_cls)}
        out = {}
        for f in ("model", "loco_predictions", "multivariate", "genome_assembly"):
            value = getattr(self, f)
            if f in names:
                out[f] = value
            elif value != dataclasses.fields(self)[[g.name for g in dataclasses.fields(self)].index(f)].default:
                raise ConfigError(f"[gwas] {f}: not supported by this edfgen's GWAS")
        return out

    def run(self, *, bfile: PathLike, pheno: PathLike, covar: PathLike | None, out: PathLike,
            binary: bool = False, force: bool = False):
        from edfgen.kernels.qc import QCSettings
        from edfgen.commands.gwas import GwasSettings, run_gwas
        from edfgen.engines.hail import HailSettings

        source = self.genotypes(bfile)
        model = self._model_settings(GwasSettings)
        if self.reference_genome and model.get("genome_assembly", "NR") == "NR":
            model["genome_assembly"] = self.reference_genome  # as the CLI: the build recorded in the metadata
        return run_gwas(
            source, pheno, covar, out, pheno_cols=self.pheno_cols,
            pheno_prefix=self.pheno_prefix, covar_cols=self.covar_cols, categorical=self.categorical or (),
            qc=QCSettings(maf=self.maf, call_rate=self.call_rate, hwe_p=self.hwe,
                          sample_call_rate=self.sample_call_rate, remove_related=self.remove_related,
                          kinship=self.kinship),
            settings=GwasSettings(transform=self.transform, missing_genotypes=self.missing_genotypes, binary=binary,
                                  logistic_test=self.logistic_test, engine=self.engine, plots=not self.no_plots,
                                  plots_max=self.plots_max, **model),
            hail=HailSettings(spark_master=self.spark_master, tmp_dir=self.tmp_dir, driver_memory=self.driver_memory,
                              executor_memory=self.executor_memory, threads=self.threads),
            threads=self.threads, force=force)


@dataclass(frozen=True)
class ClumpOptions(GenotypeFilterOptions):
    """``edfgen clump`` (:func:`edfgen.kernels.clump.run_clump`)."""

    command: ClassVar[str] = "clump"
    ld_bfile: str | None = _opt(None, path=True)
    p1: float = _opt(5e-8, lo=0, hi=1, lo_open=True)
    p2: float = _opt(0.01, lo=0, hi=1, lo_open=True)
    r2: float = _opt(0.01, lo=0, hi=1)
    kb: float = _opt(1000.0, lo=0, lo_open=True)
    r2_method: str = _opt("plink", choices=("plink", "corr"))
    allow_overlap: bool = False
    study_wide: bool = False
    pheno: str | None = _opt(None, path=True)
    truth: str | None = _opt(None, path=True)
    regional_plots: int = _opt(0, lo=0)
    genes: str | None = _opt(None, path=True)

    def run(self, *, sumstats: list[PathLike], bfile: PathLike | None, out: PathLike, force: bool = False):
        from edfgen.kernels.clump import ClumpSettings, run_clump

        return run_clump(list(sumstats), out_dir=out, bfile=self.filtered(bfile),
                         ld_bfile=self.ld_bfile, reference_genome=self.reference_genome,
                         settings=ClumpSettings(p1=self.p1, p2=self.p2, r2=self.r2, kb=self.kb,
                                                r2_method=self.r2_method, allow_overlap=self.allow_overlap),
                         study_wide=self.study_wide, pheno=self.pheno, truth=self.truth,
                         regional_plots=self.regional_plots, genes=self.genes, force=force)


@dataclass(frozen=True)
class AnnotateOptions(StageOptions):
    """``edfgen annotate`` (:func:`edfgen.formats.catalog.run_annotate`)."""

    command: ClassVar[str] = "annotate"
    traits: tuple[str, ...] | None = None
    any_trait: bool = False
    window_kb: float = _opt(500.0, lo=0)
    ld_bfile: str | None = _opt(None, path=True)
    ld_r2: float = _opt(0.1, lo=0, hi=1)
    regional_plots: int = _opt(0, lo=0)
    sumstats: tuple[str, ...] = ()
    reference_genome: str = _opt("GRCh38", choices=("GRCh37", "GRCh38"))
    liftover_chain: str | None = _opt(None, path=True)

    def run(self, *, loci: PathLike, catalog: PathLike, out: PathLike, genes: PathLike | None = None):
        from edfgen.formats.catalog import AnnotateSettings, run_annotate

        if self.traits and self.any_trait:
            raise ConfigError("[annotate] traits and any_trait are mutually exclusive")
        return run_annotate(loci, catalog, out, traits=list(self.traits) if self.traits else None,
                            any_trait=self.any_trait, ld_bfile=self.ld_bfile, genes=genes,
                            settings=AnnotateSettings(window_kb=self.window_kb, ld_r2=self.ld_r2),
                            regional_plots=self.regional_plots, sumstats=list(self.sumstats),
                            reference_genome=self.reference_genome, liftover_chain=self.liftover_chain)


@dataclass(frozen=True)
class MROptions(GenotypeFilterOptions):
    """``edfgen mr`` (:func:`edfgen.commands.mr.run_mr`); the genotype filters apply to the LD panel ``ld_bfile``."""

    command: ClassVar[str] = "mr"
    methods: tuple[str, ...] | None = None
    palindromes: str = _opt("infer", choices=("infer", "forward", "drop"))
    maf_threshold: float = _opt(0.42, lo=0, hi=0.5, lo_open=True)
    p_threshold: float | None = None
    proxies: bool = False
    clump: bool = False
    ld_bfile: str | None = _opt(None, path=True)
    proxy_r2: float = _opt(0.8, lo=0, hi=1)
    reverse: bool = False
    nboot: int = _opt(1000, lo=10)
    presso_sims: int = _opt(1000, lo=0)
    prevalence: float | None = _opt(None, lo=0, hi=1, lo_open=True, hi_open=True)
    plots: bool = True
    max_plots: int = _opt(20, lo=0)
    seed: int = _opt(0, lo=0, hi=2**32 - 1)
    columns: str | None = None

    def run(self, *, exposure: PathLike, outcome: PathLike, out: PathLike, instruments: PathLike | None = None,
            force: bool = False):
        from edfgen.formats.sumstats import parse_column_option
        from edfgen.commands.mr import MRSettings, run_mr

        kw = {"methods": tuple(self.methods)} if self.methods else {}
        settings = MRSettings(palindromes=self.palindromes, maf_threshold=self.maf_threshold,
                              p_threshold=self.p_threshold, nboot=self.nboot, seed=self.seed,
                              presso=self.presso_sims > 0, presso_sims=max(self.presso_sims, 1),
                              prevalence=self.prevalence, proxy_r2=self.proxy_r2, **kw)
        return run_mr(exposure, outcome, out, settings=settings, instruments=instruments, reverse=self.reverse,
                      ld_bfile=self.filtered(self.ld_bfile), proxies=self.proxies, clump=self.clump, plots=self.plots,
                      max_plots=self.max_plots, force=force,
                      columns=parse_column_option(self.columns) or None)
