"""The options of every command, declared once: one frozen dataclass per command.

This module knows what each ``edfgen <command>`` can be told: every option's name, type, default,
range, choices and help text. It is the **only** place one of those is written. The command line
(:func:`edfgen.cli._options.options_from`) generates its click options from these fields and
``edfgen run`` builds the same classes from its TOML sections (:meth:`CommandOptions.from_mapping`),
so a TOML key is the command's option name (``batch_size = 64`` is ``--batch-size 64``).
What a command does with its options is in :mod:`edfgen.commands._run` (``run(options)``).

A field's ``metadata`` (made by :func:`opt`) says:

``help``
    the ``--help`` text;
``cli``
    the option's names on the command line (default: ``--`` + the field name with dashes); the
    first is its name, the others are shown beside it;
``hidden``
    older spellings that still work but ``--help`` does not show;
``deprecated``
    an older option (``--genome-assembly``) that warns and maps onto this field, on the command line
    and as a TOML key (``genome_assembly``);
``choices``, ``range`` (lo, hi), ``open`` (lo_open, hi_open)
    the allowed values (the TOML is checked against them; the command line too unless
    ``cli_range=False``, where the library function checks the value with its own message);
``path``
    ``"file"``, ``"dir"`` or ``"any"``: a path (click ``FILE``/``DIRECTORY``/``PATH``; relative paths
    in a TOML are resolved against the TOML's folder), ``"text"``: a path shown as ``TEXT`` (file
    prefixes); ``exists``: the command line checks it exists;
``multiple``, ``comma``, ``argument``, ``required``
    repeatable option, ``a,b,c`` list, trailing arguments, required on the command line;
``secondary``
    the ``--no-...`` name of an on/off flag whose default is on.

Values of the wrong type or out of range in a TOML section are one-line
:class:`~edfgen.exceptions.ConfigError` s naming the section and key (``[gwas] maf: expected a number,
got 'abc'``); there is no string-to-bool or string-to-number coercion (``"false"`` is not false).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from edfgen import DEFAULT_CHECKPOINT
from edfgen.exceptions import ConfigError, InputError
from edfgen.kernels.thresholds import DEFAULT_REFERENCE_GENOME, GENOME_WIDE, REFERENCE_GENOMES

log = logging.getLogger(__name__)

PathLike = str | os.PathLike

#: seeds feed numpy, torch and msprime: non-negative and < 2**32 (RandomState's range)
SEED_RANGE = (0, 2**32 - 1)
FORCE_HELP = ("Write into a non-empty --out: replaces the files an earlier run of this command listed in its "
              "manifest.json, keeps every other file.")


def opt(default: Any = None, help: str | None = None, **meta: Any) -> Any:
    """A dataclass field: ``default`` and the option's metadata (module docstring)."""
    if isinstance(default, list):
        default = tuple(default)
    return field(default=default, metadata={"help": help, **meta})


def seed_opt(help: str = "Random seed (results are deterministic by seed).") -> Any:
    return opt(0, help, range=SEED_RANGE)


def force_opt(help: str = FORCE_HELP) -> Any:
    return opt(False, help)


def out_opt(path: str = "dir", help: str = "Output directory.", required: bool = True) -> Any:
    return opt(None, help, path=path, required=required)


def threads_opt(help: str = "Worker threads (default: all cores).") -> Any:
    return opt(None, help, range=(1, None))


# ----------------------------------------------------------------------------------------------- checking

def _check_value(where: str, key: str, value: Any, hint: Any, meta: dict, base: Path) -> Any:
    """``value`` (from a TOML section) converted to the field's type, or a ConfigError naming ``where`` and ``key``."""
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
    lo, hi = meta.get("range") or (None, None)
    lo_open, hi_open = meta.get("open") or (False, False)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ConfigError(f"{where} {key}: {value!r} must be {'>' if lo_open else '>='} {lo:g}")
    if hi is not None and (value > hi or (hi_open and value == hi)):
        raise ConfigError(f"{where} {key}: {value!r} must be {'<' if hi_open else '<='} {hi:g}")
    return value


def deprecated_value(name: str, value: Any, alias: str, alias_value: Any, *, explicit: bool) -> Any:
    """The one merge rule of a deprecated alias (``--genome-assembly`` onto ``--reference-genome``):
    the alias's value when given (``NR``, "not reported", counts as not given), an error when it
    contradicts an explicitly given ``name``, else ``value``. ``name`` and ``alias`` are spelled as the
    user wrote them (``--reference-genome`` on the command line, ``reference_genome`` in a TOML)."""
    if alias_value is None or alias_value == "NR":
        return value
    if explicit and alias_value != value:
        raise InputError(f"{alias} {alias_value} contradicts {name} {value}")
    return alias_value


@dataclass(frozen=True)
class CommandOptions:
    """Base class: the options of one command (subclasses list them as fields, in ``--help`` order)."""

    #: the command these options belong to (``edfgen <command>``)
    command: ClassVar[str] = ""

    @classmethod
    def from_mapping(cls, section: str, options: dict[str, Any], *, base: str | os.PathLike = ".",
                     wiring: frozenset[str] = frozenset()) -> CommandOptions:
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
        aliases = {f.metadata["deprecated"].lstrip("-").replace("-", "_"): f.name
                   for f in fields.values() if f.metadata.get("deprecated")}
        values: dict[str, Any] = {}
        deprecated: dict[str, Any] = {}
        for key, value in options.items():
            name = str(key).replace("-", "_")
            if name in wiring:
                raise ConfigError(f"[{section}] {key}: set by the pipeline itself (from [inputs]/[run]); remove it")
            if name in aliases:
                deprecated[aliases[name]] = (name, value)
                continue
            if name not in fields:
                known = sorted(set(fields) - wiring)
                raise ConfigError(f"[{section}] unknown key {key!r} for 'edfgen {cls.command}' "
                                  f"(known: {', '.join(known)})")
            values[name] = _check_value(f"[{section}]", key, value, hints[name], dict(fields[name].metadata),
                                        Path(base))
        for name, (alias, value) in deprecated.items():
            if not isinstance(value, str):
                raise ConfigError(f"[{section}] {alias}: expected a string, got {value!r}")
            log.warning("[%s] %s is deprecated; use %s", section, alias, name)
            meta = dict(fields[name].metadata)
            if value != "NR":
                _check_value(f"[{section}]", alias, value, str, meta, Path(base))
            try:
                values[name] = deprecated_value(name, values.get(name, fields[name].default), alias, value,
                                                explicit=name in values)
            except InputError as exc:
                raise ConfigError(f"[{section}] {exc}") from None
        try:
            return cls(**values)
        except InputError as exc:
            raise ConfigError(f"[{section}] {exc}") from None

    def to_dict(self, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
        """The options as JSON-able values (for stage keys and manifests), without the names in ``exclude``."""
        conv = (lambda v: [str(x) if isinstance(x, Path) else x for x in v] if isinstance(v, (tuple, list))
                else str(v) if isinstance(v, Path) else v)
        return {f.name: conv(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in exclude}


# ----------------------------------------------------------------------------------------------- genotypes

BFILE_HELP = "PLINK 1 fileset prefix (.bed/.bim/.fam)."


@dataclass(frozen=True)
class GenotypeOptions(CommandOptions):
    """The genotype input options shared by every genotype-reading command (gwas, pca, clump, mr):
    one format (``bfile`` .. ``mt``) and the filters applied to it. ``--help`` shows them as one block
    (after ``genotypes_after``, without the names in ``cli_omit``)."""

    #: the field after which the genotype block appears in ``--help`` (None: first)
    genotypes_after: ClassVar[str | None] = None
    #: genotype fields this command does not take on the command line
    cli_omit: ClassVar[tuple[str, ...]] = ()

    bfile: str | None = opt(None, BFILE_HELP, path="text")
    pfile: str | None = opt(None, "PLINK 2 fileset prefix (.pgen/.pvar/.psam; dosages read).", path="text")
    bgen: tuple[str, ...] = opt((), "BGEN 1.2/1.3 file; repeat it, or give a {chr} template such as "
                                "'imp/chr{chr}.bgen' (expanded over --chr, else over the chromosomes whose file "
                                "exists).", multiple=True)
    sample: tuple[str, ...] = opt((), "Oxford .sample file(s) of --bgen: one for all, a {chr} template, or one per "
                                  "--bgen.", multiple=True)
    vcf: str | None = opt(None, "VCF or BCF (.vcf, .vcf.gz/.bgz, .bcf; a .tbi/.csi index speeds up LD reads); "
                          "local, or gs://, hdfs:// with the Hail engine on a cluster.", path="text")
    vcf_field: str = opt("auto", "VCF entry: hard calls (GT) or alt-allele dosages (DS, the GT count where a sample "
                         "has none, as plink2 dosage=DS); auto: DS when the header declares it.",
                         choices=("auto", "GT", "DS"))
    mt: str | None = opt(None, "Hail MatrixTable directory (GT or dosage entries).", path="text")
    keep_ids: str | None = opt(None, "Participants to use: one IID per line, 'FID IID' lines, or a table with "
                               "IID/eid.", cli=("--keep",), path="file", exists=True)
    remove_ids: str | None = opt(None, "Participants to leave out (same formats as --keep).", cli=("--remove",),
                                 path="file", exists=True)
    extract: str | None = opt(None, "Variants to use: one variant id or rsid per line.", path="file", exists=True)
    chromosomes: str | None = opt(None, "Chromosomes to use, e.g. 1-22,X.", cli=("--chr",))
    min_info: float | None = opt(None, "Keep variants with imputation INFO (MaCH r², plink2 MACH_R2, from the "
                                 "dosages of the samples analysed) >= X.", range=(0, None))
    reference_genome: str = opt(DEFAULT_REFERENCE_GENOME, "Build of the genotype positions; recorded in every "
                                "output (each GWAS-SSF file's -meta.yaml genome_assembly).",
                                choices=REFERENCE_GENOMES, deprecated="--genome-assembly")


def genotype_field_names() -> tuple[str, ...]:
    """The names of :class:`GenotypeOptions`' fields, in ``--help`` order."""
    return tuple(f.name for f in dataclasses.fields(GenotypeOptions))


# ----------------------------------------------------------------------------------------------- commands

@dataclass(frozen=True)
class SimulateOptions(CommandOptions):
    """``edfgen simulate`` (:func:`edfgen.simulate.cohort.simulate_cohort`)."""

    command: ClassVar[str] = "simulate"
    out: str | None = out_opt(help="Output directory (must be absent or empty unless --force).")
    # the simulator checks n, chromosomes and variants itself (one line naming the option)
    n: int = opt(3000, "Participants (>= 10).", range=(10, None), cli_range=False)
    seed: int = seed_opt()
    chromosomes: int = opt(3, "Chromosomes (1-22).", range=(1, 22), cli_range=False)
    variants_per_chromosome: int = opt(10_000, "SNPs per chromosome (MAF >= 1 %).", range=(1, None), cli_range=False)
    no_ecg: bool = opt(False, "Skip writing the WFDB ECGs (genetics-only cohort).")
    effect_scale: float = opt(1.0, "Multiply the variance explained by each planted locus (small test cohorts "
                              "use > 1).", range=(0, None), open=(True, False))
    families: int | None = opt(None, "K nuclear families of 2-4 children (of simulated parents) instead of the "
                               "default ~3 % sibling pairs; .fam FID/PAT/MAT name the families (0: no relatives).",
                               range=(0, None))
    force: bool = force_opt()


@dataclass(frozen=True)
class ExtractOptions(CommandOptions):
    """``edfgen extract`` (:func:`edfgen.commands.extract.extract_edfs`)."""

    command: ClassVar[str] = "extract"
    ecg: tuple[str, ...] = opt((), "ECG file(s) or directory(ies): WFDB .hea(+.dat/.mat), .npy, .npz, HDF5, GE "
                               "CardioSoft (UK Biobank) or GE MUSE XML (told by content). Repeatable.",
                               multiple=True, required=True, path="any", exists=True)
    out: str | None = out_opt("file", "EDF table: .tsv, .tsv.gz or .parquet (IID, edf_001 ...). Side files go "
                              "beside it.")
    checkpoint: str = opt(DEFAULT_CHECKPOINT, "Shipped checkpoint name (small, tiny) or path (.json).")
    batch_size: int = opt(64, "ECGs per model call.", range=(1, None))
    workers: int | None = opt(None, "Processes reading/preprocessing ECGs (0: in the main process; default "
                              "min(4, cores/2)).", range=(0, None))
    pca: int | None = opt(None, "Also write the first K principal components.", range=(1, None))
    id_map: str | None = opt(None, "TSV with columns record, IID: participants with several ECGs get the mean EDF.",
                             path="file", exists=True)
    fs: float | None = opt(None, "Sampling rate (Hz) of files that carry none (.npy).", range=(0, None),
                           open=(True, False))
    chunk_size: int = opt(2048, "Records per durable chunk (resume granularity, bounds memory).", range=(1, None))
    threads: int | None = threads_opt("Torch threads for the model (default: torch's; with --workers: cores - "
                                      "workers).")
    force: bool = force_opt("Replace an existing --out table and the side files its <out>.manifest.json lists (an "
                            "interrupted run's parts are resumed; records whose files changed are recomputed).")


@dataclass(frozen=True)
class InterpretOptions(CommandOptions):
    """``edfgen interpret`` (:func:`edfgen.commands.interpret.interpret_edfs`)."""

    command: ClassVar[str] = "interpret"
    edf: str | None = opt(None, "EDF table from `edfgen extract`.", path="file", exists=True, required=True)
    biomarkers: str | None = opt(None, "Table with IID and biomarker columns (e.g. physiology.tsv).", path="file",
                                 exists=True)
    measure_from: str | None = opt(None, "Instead of --biomarkers: measure them on these ECGs (record name = IID).",
                                   path="any", exists=True)
    covar: str | None = opt(None, "Table with IID and the covariates.", path="file", exists=True)
    covariates: tuple[str, ...] = opt(("age", "sex"), "Covariate columns of --covar.", comma=True)
    biomarker_columns: tuple[str, ...] | None = opt(None, "Biomarkers to test (default: every numeric column).",
                                                    comma=True)
    out: str | None = out_opt()
    p_threshold: float = opt(0.01, "Significance threshold.", cli=("--p",), range=(0, 1), open=(True, False))
    clusters: int = opt(4, "k of the EDF k-means.", range=(1, None))
    seed: int = seed_opt()
    force: bool = force_opt()


@dataclass(frozen=True)
class HailOptions(CommandOptions):
    """The Spark/Hail options, ``--out``, ``--threads`` and ``--force`` of the commands that can run on
    Hail (gwas, pca): the last options of their ``--help``."""

    spark_master: str | None = opt(None, "Spark master (default local[THREADS]); e.g. yarn.")
    tmp_dir: str | None = opt(None, "Hail/Spark temporary directory (a bucket on clusters).")
    driver_memory: str | None = opt(None, "Spark driver memory, e.g. 8g.")
    executor_memory: str | None = opt(None, "Spark executor memory, e.g. 8g.")
    out: str | None = out_opt()
    threads: int | None = threads_opt()
    force: bool = force_opt()


def hail_field_names() -> tuple[str, ...]:
    """The names of :class:`HailOptions`' fields, in ``--help`` order."""
    return tuple(f.name for f in dataclasses.fields(HailOptions))


@dataclass(frozen=True)
class GwasOptions(GenotypeOptions, HailOptions):
    """``edfgen gwas`` (:func:`edfgen.commands.gwas.run_gwas`)."""

    command: ClassVar[str] = "gwas"
    pheno: str | None = opt(None, "Phenotype table (IID + columns).", path="file", exists=True, required=True)
    pheno_cols: tuple[str, ...] | None = opt(None, "Phenotype columns (a,b or edf_001..edf_064).", comma=True)
    pheno_prefix: str | None = opt(None, "Use every column starting with this prefix (e.g. edf_).")
    covar: str | None = opt(None, "Covariate table (IID + columns).", path="file", exists=True)
    covar_cols: tuple[str, ...] | None = opt(None, "Covariates, e.g. age,sex,centre,PC1..PC10 (default: all).",
                                             comma=True, cli=("--covariates",), hidden=("--covar-cols",))
    categorical: tuple[str, ...] | None = opt(None, "Treat these covariates as categorical.", comma=True)
    binary: bool = opt(False, "Binary (0/1) outcomes: logistic regression, beta = log-odds.")
    logistic_test: str = opt("wald", None, choices=("wald", "firth"))
    model: str = opt("linear", "ridge-loco: REGENIE (whole-genome ridge, leave-one-chromosome-out predictions in "
                     "<out>/loco/, then each variant tested against the phenotype minus its chromosome's "
                     "prediction); keeps relatives. Fast engine only.", choices=("linear", "ridge-loco"))
    loco_predictions: str | None = opt(None, "With --model ridge-loco: reuse step 1 from a previous run's <out>/loco "
                                       "directory.", path="dir", exists=True)
    multivariate: bool = opt(False, "Also test every variant across all phenotypes at once (MOSTest) -> "
                             "multivariate.tsv.gz.")
    transform: str = opt("inverse-normal", "Rank-based inverse-normal (Blom offset 3/8, ties averaged) or none.",
                         choices=("inverse-normal", "none"))
    missing_genotypes: str = opt("mean-impute", "mean-impute (Hail) or drop the sample for that variant (plink2).",
                                 choices=("mean-impute", "drop"))
    maf: float = opt(0.01, None, range=(0, 0.5))
    call_rate: float = opt(0.95, "Variant call rate.", range=(0, 1))
    sample_call_rate: float = opt(0.95, None, range=(0, 1))
    hwe: float = opt(1e-6, "HWE exact p (0: off).", range=(0, 1))
    remove_related: bool = opt(False, "Remove related samples (KING kinship > --kinship), keeping a maximal "
                               "independent set.")
    kinship: float = opt(0.0884, None)
    engine: str = opt("auto", "fast: blockwise numpy (linear; --binary with Wald) on PLINK 1, PGEN, BGEN and VCF "
                      "input; hail: linear/logistic_regression_rows (Firth, MT, clusters). auto picks fast when "
                      "it can.", choices=("auto", "fast", "hail"))
    no_plots: bool = opt(False, "Skip the Manhattan/QQ PNGs.")
    plots_max: int | None = opt(None, "Plot at most K phenotypes.", range=(0, None), cli=("--max-plots",),
                                hidden=("--plots-max",))


@dataclass(frozen=True)
class PcaOptions(GenotypeOptions, HailOptions):
    """``edfgen pca`` (:func:`edfgen.commands.pca.run_pca`)."""

    command: ClassVar[str] = "pca"
    k: int = opt(10, "Number of PCs.", range=(1, None))
    maf: float = opt(0.05, None, range=(0, 0.5))
    ld_r2: float = opt(0.2, None, range=(0, 1))
    ld_window_kb: int = opt(500, None, range=(1, None))


@dataclass(frozen=True)
class ClumpOptions(GenotypeOptions):
    """``edfgen clump`` (:func:`edfgen.kernels.clump.run_clump`)."""

    command: ClassVar[str] = "clump"
    genotypes_after: ClassVar[str | None] = "more_sumstats"
    cli_omit: ClassVar[tuple[str, ...]] = ("mt",)
    sumstats: tuple[str, ...] = opt((), "GWAS-SSF <phenotype>.tsv.gz files, a directory of them or a quoted glob; "
                                    "`--sumstats gwas/*.tsv.gz` works (extra paths after it are taken too).",
                                    multiple=True, required=True, path="any")
    more_sumstats: tuple[str, ...] = opt((), None, argument=True, path="any")
    ld_bfile: str | None = opt(None, "PLINK prefix of a separate LD reference panel (else the study genotypes "
                               "--bfile/--pfile/--bgen/--vcf with --keep/--remove/--chr/--extract are the panel).",
                               path="any")
    out: str | None = out_opt()
    # cli_range=False: on the command line ClumpSettings checks p1 .. kb (its own one-line error, as before);
    # the ranges here check a TOML before any stage runs (the same bounds)
    p1: float = opt(GENOME_WIDE, "Index-variant threshold (p <= p1).", range=(0, 1), open=(True, False),
                    cli_range=False)
    p2: float = opt(0.01, "Clumped-variant threshold (p < p2).", range=(0, 1), open=(True, False), cli_range=False)
    r2: float = opt(0.01, "LD threshold (r² > r2 joins a clump).", range=(0, 1), open=(False, True), cli_range=False)
    kb: float = opt(1000.0, "Window radius in kb.", range=(0, None), open=(True, False), cli_range=False)
    r2_method: str = opt("plink", "plink: haplotype-ML r² (identical to plink1.9 --clump); corr: allele-count "
                         "correlation².", choices=("plink", "corr"))
    allow_overlap: bool = opt(False, "Variants may join several clumps (plink --clump-allow-overlap).")
    study_wide: bool = opt(False, "p1 = 5e-8 / M_eff (Li & Ji 2005) from --pheno.")
    pheno: str | None = opt(None, "Phenotype/EDF table for --study-wide (columns named like the sumstats files).",
                            path="file", exists=True)
    truth: str | None = opt(None, "truth.json of a simulated cohort: writes truth_recovery.tsv.", path="file",
                            exists=True)
    regional_plots: int = opt(0, "Regional plots of the N strongest loci (regional/*.png).", range=(0, None))
    genes: str | None = opt(None, "GTF/BED genes for the plots.", path="file", exists=True)
    force: bool = force_opt()


@dataclass(frozen=True)
class AnnotateOptions(CommandOptions):
    """``edfgen annotate`` (:func:`edfgen.formats.catalog.run_annotate`)."""

    command: ClassVar[str] = "annotate"
    loci: str | None = opt(None, "loci.tsv / clumps.tsv or any table with variant_id, chromosome, "
                           "base_pair_location, p_value (GRCh38).", path="file", exists=True, required=True)
    catalog: str | None = opt(None, "GWAS Catalog associations TSV (2016 or v1.0.2 layout; see `edfgen catalog "
                              "download`).", path="file", exists=True, required=True)
    traits: tuple[str, ...] | None = opt(None, "Comma list of trait regexes or EFO ids (default: ECG traits).",
                                         comma=True)
    any_trait: bool = opt(False, "Use every catalog association, whatever the trait.")
    window_kb: float = opt(500.0, "A catalog association within this distance makes a locus known.",
                           range=(0, None), cli_range=False)
    ld_bfile: str | None = opt(None, "LD panel: a catalog variant with r² >= --ld-r2 makes a locus known.",
                               path="any")
    ld_r2: float = opt(0.1, None, range=(0, 1), cli_range=False)
    genes: str | None = opt(None, "GTF/BED genes: adds nearest_gene, gene_distance.", path="file", exists=True)
    regional_plots: int = opt(0, "With --sumstats and --ld-bfile: regional plots of the first N loci.",
                              range=(0, None))
    sumstats: tuple[str, ...] = opt((), "For --regional-plots: GWAS-SSF files or directories of them (repeatable); "
                                    "one phenotype's per-chromosome files (chr1/y.tsv.gz, chr2/y.tsv.gz) are "
                                    "combined.", multiple=True, path="any", exists=True)
    reference_genome: str = opt(DEFAULT_REFERENCE_GENOME, "Build of --loci (and --ld-bfile). GRCh37: catalog rows "
                                "(GRCh38) match by rsID, and by position only after --liftover-chain.",
                                choices=REFERENCE_GENOMES, deprecated="--genome-assembly")
    liftover_chain: str | None = opt(None, "UCSC chain file GRCh37 -> GRCh38 (hg19ToHg38.over.chain.gz) to compare "
                                     "GRCh37 loci by position.", path="file", exists=True)
    out: str | None = out_opt("file", "Output file.")

    def __post_init__(self):
        if self.traits and self.any_trait:
            raise InputError("--traits and --any-trait are mutually exclusive")


@dataclass(frozen=True)
class MROptions(GenotypeOptions):
    """``edfgen mr`` (:func:`edfgen.commands.mr.run_mr`); the genotype options give the LD panel
    (``ld_bfile``, shown as ``--bfile``, or the other formats) of ``--proxies``/``--clump``."""

    command: ClassVar[str] = "mr"
    genotypes_after: ClassVar[str | None] = "ld_bfile"
    cli_omit: ClassVar[tuple[str, ...]] = ("bfile", "mt")
    exposure: tuple[str, ...] = opt((), "Exposure sumstats file (instruments, or full sumstats with --p-threshold) "
                                    "or a directory of them; repeat it for more. Files of one phenotype's "
                                    "chromosomes (chr1/y.tsv.gz, chr2/y.tsv.gz or y_chr1.tsv.gz, y_chr2.tsv.gz) are "
                                    "combined into one exposure.", multiple=True, required=True, path="any",
                                    exists=True)
    outcome: tuple[str, ...] = opt((), "Outcome sumstats file or a directory of them, repeatable (several "
                                   "phenotypes run as a matrix; one phenotype's per-chromosome files are combined).",
                                   multiple=True, required=True, path="any", exists=True)
    out: str | None = out_opt()
    methods: tuple[str, ...] | None = opt(None, "Comma-separated methods (TwoSampleMR names or ivw, ivw_fe, egger, "
                                          "weighted_median, simple_median, simple_mode, weighted_mode, wald). "
                                          "Default: all.", comma=True)
    palindromes: str = opt("infer", "TwoSampleMR harmonise action 2 / 1 / 3.", choices=("infer", "forward", "drop"))
    maf_threshold: float = opt(0.42, "Palindromes with allele frequency in (t, 1-t) cannot be inferred.",
                               range=(0, 0.5), open=(True, False))
    p_threshold: float | None = opt(None, "Instruments: exposure variants with p below this.")
    instruments: str | None = opt(None, "Instrument list (e.g. clumps.tsv: variant_id[, phenotype]) joined to the "
                                  "exposure.", path="file", exists=True)
    proxies: bool = opt(False, "Replace instruments missing in the outcome by LD proxies (needs an LD panel: "
                        "--ld-bfile, or --bfile/--pfile/--bgen/--vcf).")
    clump: bool = opt(False, "Pick independent instruments from full exposure sumstats by LD clumping (needs an LD "
                      "panel, --p-threshold).")
    ld_bfile: str | None = opt(None, BFILE_HELP, cli=("--bfile", "--ld-bfile"), path="text")
    proxy_r2: float = opt(0.8, None, range=(0, 1))
    reverse: bool = opt(False, "Reverse direction: instruments from the outcome files.")
    nboot: int = opt(1000, "Bootstrap draws.", range=(10, None))
    presso_sims: int = opt(1000, "MR-PRESSO simulated data sets (0: skip MR-PRESSO).", range=(0, None))
    prevalence: float | None = opt(None, "Disease prevalence for Steiger r² of binary traits (default: the GWAS case "
                                   "fraction).", range=(0, 1), open=(True, True))
    columns: str | None = opt(None, "Column names of a layout that is not recognised, as KEY=COLUMN pairs: "
                              "beta=,se=,p= (or log10p=), ea=,oa=,snp=,eaf=,n=,chr=,pos=, or=,ci_lower=,ci_upper= "
                              "(odds ratios are converted to log-OR and SE). Applied to every --exposure/--outcome "
                              "file that has the column.")
    plots: bool = opt(True, None, secondary="--no-plots")
    max_plots: int = opt(20, "Plot at most this many pairs (most significant first).", range=(0, None))
    seed: int = seed_opt()
    force: bool = force_opt()


@dataclass(frozen=True)
class CatalogDownloadOptions(CommandOptions):
    """``edfgen catalog download`` (:func:`edfgen.formats.catalog.download_catalog`)."""

    command: ClassVar[str] = "catalog download"
    out: str | None = out_opt("file", "Output file.")
    url: str | None = opt(None, "Associations TSV (or .zip) URL (default: the EBI FTP 'latest' release).")
    timeout: float = opt(60.0, "Seconds before giving up.")


@dataclass(frozen=True)
class DemoOptions(CommandOptions):
    """``edfgen demo`` (:func:`edfgen.pipeline.run_demo`)."""

    command: ClassVar[str] = "demo"
    out: str = out_opt(help="Output directory (default: edfgen-demo).", required=False)
    n: int = opt(5000, "Participants to simulate (split in two halves for two-sample MR).", range=(10, None))
    seed: int = seed_opt("Simulation seed.")
    force: bool = force_opt()


@dataclass(frozen=True)
class RunOptions(CommandOptions):
    """``edfgen run`` (:func:`edfgen.pipeline.run_pipeline` of :func:`edfgen.pipeline.load_config`)."""

    command: ClassVar[str] = "run"
    config: str | None = opt(None, "Pipeline TOML (see `edfgen.pipeline` docs / README).", path="file",
                             required=True)
    force: bool = force_opt("Rerun every stage, ignoring what is already done.")
