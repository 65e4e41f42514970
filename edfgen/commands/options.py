"""The options of every command, declared once: what the per-command options dataclasses share.

This module knows what each ``edfgen <command>`` can be told: every option's name, type, default,
range, choices and help text. It is the **only** place one of those is written. The command line
(:func:`edfgen.cli._options.options_from`) generates its click options from these fields and
``edfgen run`` builds the same classes from its TOML sections (:meth:`CommandOptions.from_mapping`),
so a TOML key is the command's option name (``batch_size = 64`` is ``--batch-size 64``; ``covariates`` is
``--covariates``, whose field is ``covar_cols``: both keys work, :func:`cli_spellings`).
Each command's own options class and its ``run(options)`` live in that command's module
(:class:`edfgen.commands.gwas.GwasOptions` and :func:`edfgen.commands.gwas.run`, ...); this module
holds what they share: the field factory :func:`opt`, TOML validation (:meth:`CommandOptions.from_mapping`),
the genotype and Hail option groups and the wiring helpers.

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
``number_text``
    a text option whose TOML value may be written as a number (``missing_code = -9`` reads as ``"-9"``);
``multiple``, ``comma``, ``argument``, ``required``
    repeatable option, ``a,b,c`` list, trailing arguments, required on the command line;
``secondary``
    the ``--no-...`` name of an on/off flag whose default is on.
``metavar``
    the value's name in ``--help`` (``NAME=VALUE``).

Values of the wrong type or out of range in a TOML section are one-line
:class:`~edfgen.exceptions.ConfigError` s naming the section and key (``[gwas] maf: expected a number,
got 'abc'``); there is no string-to-bool or string-to-number coercion (``"false"`` is not false).
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import numbers
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from edfgen.exceptions import ConfigError, InputError
from edfgen.kernels.thresholds import DEFAULT_REFERENCE_GENOME, REFERENCE_GENOMES

#: where the shipped checkpoints (small, tiny) are (edfgen.model.checkpoint.PACKAGE_DIR, without importing torch)
SHIPPED_CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"

log = logging.getLogger(__name__)


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


ALLOW_INCOMPLETE_HELP = ("Use input folders/files whose manifest.json says the edfgen command that wrote them did "
                         "not finish (killed: outputs may be missing); refused otherwise.")


def allow_incomplete_opt() -> Any:
    return opt(False, ALLOW_INCOMPLETE_HELP)


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
        # paths of a list option against the TOML's folder too (review s31e #4: [annotate] sumstats was not)
        return tuple(_toml_path(v, meta["path"], base) for v in value) if meta.get("path") else tuple(value)
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
        if meta.get("number_text") and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)                   # a code TOML wrote as a number (missing_code = -9)
        if not isinstance(value, str):
            raise ConfigError(f"{where} {key}: expected a string, got {value!r}")
        if meta.get("path") == "checkpoint" and not value.strip():
            return value                         # said empty by resolve_checkpoint, not the TOML's folder (rev34 #8)
        if meta.get("path") == "checkpoint" and "/" not in value and not Path(value).suffix \
                and (SHIPPED_CHECKPOINTS / f"{value}.json").is_file() and not (base / f"{value}.json").exists():
            return value                         # a shipped checkpoint's name (small, tiny), not a local prefix
        if meta.get("path"):
            return _toml_path(value, meta["path"], base)
    _check_allowed(where, key, value, meta, ConfigError)
    return value


def _check_allowed(where: str, key: str, value: Any, meta: dict, error: type[InputError]) -> None:
    """Raise ``error`` naming ``where`` and ``key`` when ``value`` is not one of the field's ``choices`` or is
    outside its ``range``."""
    choices = meta.get("choices")
    if choices and value not in choices:
        raise error(f"{where} {key}: {value!r} is not one of {', '.join(map(str, choices))}")
    lo, hi = meta.get("range") or (None, None)
    lo_open, hi_open = meta.get("open") or (False, False)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise error(f"{where} {key}: {value!r} must be {'>' if lo_open else '>='} {lo:g}")
    if hi is not None and (value > hi or (hi_open and value == hi)):
        raise error(f"{where} {key}: {value!r} must be {'<' if hi_open else '<='} {hi:g}")


def _toml_path(value: str, kind: str, base: Path) -> str:
    """A path of a TOML section (option of path kind ``kind``), ``~`` expanded, resolved against ``base`` (the
    TOML's folder) unless absolute; a prefix's trailing "/" means "a folder" (``model export --out runs/new/``):
    kept."""
    p = Path(value).expanduser()
    p = str(p if p.is_absolute() else (base / p).resolve())
    return p + "/" if kind == "prefix" and value.endswith(("/", os.sep)) else p


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
        spelled = cli_spellings(cls)               # covariates -> covar_cols, max_plots -> plots_max, chr -> ...
        values: dict[str, Any] = {}
        given_as: dict[str, str] = {}
        deprecated: dict[str, Any] = {}
        for key, value in options.items():
            name = str(key).replace("-", "_")
            name = spelled.get(name, name) if name not in fields else name
            if name in given_as:
                raise ConfigError(f"[{section}] {given_as[name]} and {key} are the same option: give one")
            given_as[name] = str(key)
            if name in wiring:
                hint = {"outcome": "external outcome files go in [mr] outcomes"}.get(
                    name, "genotypes, filters and tables go in [inputs], with the same names")
                raise ConfigError(f"[{section}] {key}: set by the pipeline itself ({hint}); remove it")
            if name in aliases:
                deprecated[aliases[name]] = (name, value)
                continue
            if name not in fields:
                known = sorted(k for k, f in spelled.items() if f not in wiring)
                near = difflib.get_close_matches(name, [*known, *set(fields) - wiring], n=1)
                raise ConfigError(f"[{section}] unknown key {key!r} for 'edfgen {cls.command}'"
                                  + (f" (did you mean {near[0]}?)" if near else "") + f" (known: {', '.join(known)})")
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

    def checked(self) -> CommandOptions:
        """These options with the checks the command line and a TOML make, for options built in Python.

        A list field given one string is read as the command line reads it (``"age,sex"``: two names);
        a required field left ``None``, a number that is not one, a value outside the field's range or
        choices is an :class:`~edfgen.exceptions.InputError` naming the class and the field
        (``GwasOptions maf: 2.0 must be <= 0.5``). Ranges the library function checks itself
        (``cli_range=False``) are left to it. :func:`edfgen.commands.run` calls this.

        Returns
        -------
        CommandOptions
            ``self``, or a copy with list fields given as a string split into names, numpy numbers made
            Python ones and an integral float of an ``int`` field made an int.

        Raises
        ------
        InputError
            The first field that fails.
        """
        where = type(self).__name__
        hints = typing.get_type_hints(type(self))
        split: dict[str, Any] = {}   # (a field given otherwise: a string list split, a number made a Python one)
        for f in dataclasses.fields(self):
            meta, value = dict(f.metadata), getattr(self, f.name)
            if value is None:
                if meta.get("required"):
                    raise InputError(f"{where} {f.name}: required (got None)")
                continue
            hint = hints[f.name]
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            hint = args[0] if len(args) == 1 else hint
            if typing.get_origin(hint) in (tuple, list):
                if isinstance(value, str):      # "age,sex" as on the command line, not the letters a, g, e, ...
                    split[f.name] = tuple(v.strip() for v in value.split(",") if v.strip())
                continue
            if hint in (int, float):
                number = _number(where, f.name, value, hint)
                if number is not value:
                    value = split[f.name] = number
            if meta.get("cli_range", True):
                _check_allowed(where, f.name, value, meta, InputError)
        return dataclasses.replace(self, **split) if split else self

    def to_dict(self, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
        """The options as JSON-able values (for stage keys and manifests), without the names in ``exclude``."""
        conv = (lambda v: [str(x) if isinstance(x, Path) else x for x in v] if isinstance(v, (tuple, list))
                else str(v) if isinstance(v, Path) else v)
        return {f.name: conv(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in exclude}


def _number(where: str, name: str, value: Any, hint: type) -> int | float:
    """``value`` of the ``int`` or ``float`` field ``name`` as a Python number: numpy numbers accepted, an integral
    float for an ``int`` field taken as that int (review s32h F7).

    Raises
    ------
    InputError
        Not a number (``bool`` included), or a non-integral number for an ``int`` field.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):   # (numpy's bool is no numbers.Real)
        raise InputError(f"{where} {name}: expected a number, got {value!r}")
    if hint is int and not isinstance(value, numbers.Integral):
        if not float(value).is_integer():
            raise InputError(f"{where} {name}: expected an integer, got {value!r}")
        return int(value)
    if type(value) in (int, float):   # (unchanged: the stage keys of a Python number stay as they were)
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def cli_spellings(cls: type[CommandOptions]) -> dict[str, str]:
    """The TOML keys that name each field of ``cls`` as its command-line option does: the long option's names
    (``--covariates``, the hidden ``--covar-cols``) without dashes, ``-`` as ``_`` -> the field name
    (``covar_cols``). The field names themselves are accepted too (:meth:`CommandOptions.from_mapping`)."""
    out: dict[str, str] = {}
    for f in dataclasses.fields(cls):
        names = [*(f.metadata.get("cli") or (f"--{f.name.replace('_', '-')}",)), *(f.metadata.get("hidden") or ())]
        for n in names:
            if n.startswith("--"):
                out.setdefault(n[2:].replace("-", "_"), f.name)
    return out


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
    pfile: str | None = opt(None, "PLINK 2 fileset prefix (.pgen/.pvar/.psam; .pvar.zst or .pvar.gz too; dosages "
                            "read; not by the Hail engine).", path="text")
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
                               "IID/eid (tab-, comma- or space-separated).", cli=("--keep",), path="file",
                               exists=True)
    remove_ids: str | None = opt(None, "Participants to leave out (same formats as --keep).", cli=("--remove",),
                                 path="file", exists=True)
    extract: str | None = opt(None, "Variants to use: variant ids or rsids, separated by line ends or blanks (as "
                                    "plink reads --extract).", path="file", exists=True)
    chromosomes: str | None = opt(None, "Chromosomes to use, e.g. 1-22,X.", cli=("--chr",))
    min_info: float | None = opt(None, "Keep variants with imputation INFO (MaCH r², plink2 MACH_R2, from the "
                                 "dosages of the samples analysed) >= X.", range=(0, None))
    reference_genome: str = opt(DEFAULT_REFERENCE_GENOME, "Build of the genotype positions; recorded in every "
                                "output (each GWAS-SSF file's -meta.yaml genome_assembly).",
                                choices=REFERENCE_GENOMES, deprecated="--genome-assembly")
    skip_bad_variants: bool = opt(False, "BGEN: set aside a variant whose genotype block is bad (corrupt "
                                  "compression, a ploidy above 2, probabilities summing above 1) instead of "
                                  "stopping with an error naming it: gwas counts it in qc_report.tsv (bad_variant; "
                                  "fast engine only); the other commands read its calls as missing (ldsc, finemap, coloc: out of their LD).")


def genotype_field_names() -> tuple[str, ...]:
    """The names of :class:`GenotypeOptions`' fields, in ``--help`` order."""
    return tuple(f.name for f in dataclasses.fields(GenotypeOptions))


# ----------------------------------------------------------------------------------------------- Hail


@dataclass(frozen=True)
class HailOptions(CommandOptions):
    """The Spark/Hail options, ``--out``, ``--threads`` and ``--force`` of the commands that can run on
    Hail (gwas, pca): the last options of their ``--help``."""

    spark_master: str | None = opt(None, "Spark master (default local[THREADS]); e.g. yarn.")
    tmp_dir: str | None = opt(None, "Hail/Spark temporary directory (a bucket on clusters); default: a private "
                                   "<system temp>/edfgen-hail-<uid>.")
    driver_memory: str | None = opt(None, "Spark driver memory, e.g. 8g.")
    executor_memory: str | None = opt(None, "Spark executor memory, e.g. 8g.")
    out: str | None = out_opt()
    threads: int | None = threads_opt()
    force: bool = force_opt()


def hail_field_names() -> tuple[str, ...]:
    """The names of :class:`HailOptions`' fields, in ``--help`` order."""
    return tuple(f.name for f in dataclasses.fields(HailOptions))


# ----------------------------------------------------------------------------------------------- wiring helpers

def path_str(v: Any) -> str | None:
    """A path option as the library takes it (``str``), None when not given."""
    return str(v) if v else None


def as_list(v: Any) -> list | None:
    """A tuple option as a list, None when empty."""
    return list(v) if v else None


def genotype_source(o: GenotypeOptions, *, bfile: Any = None, required: bool = True):
    """The :class:`~edfgen.formats.genotypes.source.GenotypeSource` of a command's genotype options
    (``bfile`` in place of ``o.bfile``: MR's ``ld_bfile``), or None when no genotype file is given and
    ``required`` is False."""
    from edfgen.formats.genotypes.source import GenotypeSource

    bfile = o.bfile if bfile is None else bfile
    if not any((bfile, o.pfile, o.bgen, o.vcf, o.mt)) and not required:
        if o.sample:                 # a .sample without its --bgen was accepted and unused (review s34a #2)
            raise InputError(f"--sample {o.sample[0]} is the .sample file of a --bgen: give --bgen too")
        return None
    one = (lambda v: None if not v else str(v[0]) if len(v) == 1 else tuple(map(str, v)))
    return GenotypeSource(
        bfile=path_str(bfile), pfile=path_str(o.pfile), bgen=one(o.bgen), sample=one(o.sample), vcf=path_str(o.vcf),
        mt=path_str(o.mt), vcf_field=o.vcf_field, keep=path_str(o.keep_ids), remove=path_str(o.remove_ids),
        extract=path_str(o.extract), chromosomes=(o.chromosomes,) if o.chromosomes else None, min_info=o.min_info,
        reference_genome=o.reference_genome, skip_bad_variants=o.skip_bad_variants)


def filtered_panel(o: GenotypeOptions, prefix: Any):
    """A separate PLINK 1 LD panel (``clump --ld-bfile``) with the command's sample and variant filters, as plink
    applies them to the one data set it reads.

    Parameters
    ----------
    o : GenotypeOptions
        The options (``keep_ids``, ``remove_ids``, ``extract``, ``chromosomes``, ``reference_genome``).
    prefix : str or None
        The panel's PLINK 1 prefix.

    Returns
    -------
    str, GenotypeSource or None
        ``prefix`` as it is without filters (or ``None``), else a
        :class:`~edfgen.formats.genotypes.source.GenotypeSource` of it with ``--keep/--remove/--extract/--chr``
        (``--chr`` so restricts what is clumped too, as it does with ``--bfile``).
    """
    from edfgen.formats.genotypes.source import GenotypeSource

    if prefix is None or not any((o.keep_ids, o.remove_ids, o.extract, o.chromosomes)):
        return prefix
    return GenotypeSource(bfile=path_str(prefix), keep=path_str(o.keep_ids), remove=path_str(o.remove_ids),
                          extract=path_str(o.extract), chromosomes=(o.chromosomes,) if o.chromosomes else None,
                          reference_genome=o.reference_genome)


def hail_settings(o: HailOptions):
    """The :class:`~edfgen.engines.hail.HailSettings` of a command's Spark/Hail options."""
    from edfgen.engines.hail import HailSettings

    return HailSettings(spark_master=o.spark_master, tmp_dir=o.tmp_dir, driver_memory=o.driver_memory,
                        executor_memory=o.executor_memory, threads=o.threads)
