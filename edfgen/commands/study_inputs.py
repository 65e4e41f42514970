"""The ``[inputs]`` of ``edfgen run`` and the wiring they make: the same inputs, with the same names, as
the commands take (``edfgen gwas --bgen ... --sample ... --keep ... --chr ...``), checked before any stage.

* ECGs and tables: ``ecg``, ``covariates`` (or ``covar``), ``id_map``, ``biomarkers``, ``outcomes``,
  ``catalog``, ``genes``, ``truth``: paths.
* Genotypes: one of ``bfile`` | ``pfile`` | ``bgen`` (+ ``sample``; a path, a ``{chr}`` template or a
  list) | ``vcf``, and the filters ``keep``, ``remove``, ``extract``, ``chr``, ``min_info``,
  ``reference_genome``, ``vcf_field``: handed to every genotype-reading stage (pca, gwas, clump) as
  that command's ``--keep`` ... options (:func:`genotype_wiring`).
* ``[mr] outcomes``: external summary statistics (any layout ``edfgen mr`` reads), each a path or a
  table ``{path = "...", n_cases = 1, n_controls = 2}`` (:func:`mr_outcomes`).

The pca stage (:func:`covariates_with_pcs`): genotype PCs joined to the covariates for the GWAS,
by default when the covariate table holds no ``PC<k>`` columns.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edfgen.exceptions import ConfigError, InputError
from edfgen.kernels.thresholds import REFERENCE_GENOMES

log = logging.getLogger(__name__)

#: [inputs] keys that are paths (``covariates`` is stored as ``covar``)
PATH_KEYS = frozenset({"ecg", "bfile", "pfile", "vcf", "covar", "covariates", "biomarkers", "outcomes", "catalog",
                       "genes", "truth", "id_map", "keep", "remove", "extract", "outcomes_bfile",
                       "outcomes_covar"})
#: [inputs] keys that take a path, a ``{chr}`` template, or a list of them
LIST_KEYS = frozenset({"bgen", "sample"})
#: [inputs] keys that are values, with their types
VALUE_KEYS: dict[str, type | tuple[type, ...]] = {"chr": str, "min_info": (int, float), "reference_genome": str,
                                                  "vcf_field": str}
INPUT_KEYS = PATH_KEYS | LIST_KEYS | set(VALUE_KEYS)
GENOTYPE_KINDS = ("bfile", "pfile", "bgen", "vcf")
#: [inputs] key -> the genotype option of the commands it sets
FILTERS = {"keep": "keep_ids", "remove": "remove_ids", "extract": "extract", "chr": "chromosomes",
           "min_info": "min_info", "reference_genome": "reference_genome", "vcf_field": "vcf_field"}
_PC = re.compile(r"^PC\d+$", re.IGNORECASE)


def parse_inputs(raw: dict[str, Any], *, base: Path, where: str) -> dict[str, Any]:
    """Validate ``[inputs]``: keys, types, paths resolved against ``base`` (``{chr}`` templates kept)."""
    bad = set(raw) - INPUT_KEYS
    if bad:
        raise ConfigError(f"{where}: [inputs] unknown key(s) {sorted(bad)} (known: {sorted(INPUT_KEYS)})")
    if "covar" in raw and "covariates" in raw:
        raise ConfigError(f"{where}: [inputs] give covariates once (covariates, or its old name covar)")
    resolve = (lambda v: str((base / Path(v).expanduser()).resolve()) if "://" not in v else v)
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if k in PATH_KEYS:
            if not isinstance(v, str) or not v.strip():
                raise ConfigError(f"{where}: [inputs] {k}: expected a path (a string), got {v!r}")
            out["covar" if k == "covariates" else k] = Path(resolve(v))
        elif k in LIST_KEYS:
            vals = [v] if isinstance(v, str) else v
            if not isinstance(vals, list) or not vals or not all(isinstance(x, str) and x.strip() for x in vals):
                raise ConfigError(f"{where}: [inputs] {k}: expected a path, a {{chr}} template or a list of them, "
                                  f"got {v!r}")
            out[k] = tuple(resolve(x) for x in vals)
        else:
            if isinstance(v, bool) or not isinstance(v, VALUE_KEYS[k]):
                raise ConfigError(f"{where}: [inputs] {k}: expected a {'number' if k == 'min_info' else 'string'}, "
                                  f"got {v!r}")
            out[k] = v
    if "reference_genome" in out and out["reference_genome"] not in REFERENCE_GENOMES:
        raise ConfigError(f"{where}: [inputs] reference_genome {out['reference_genome']!r}: choose "
                          f"{' or '.join(REFERENCE_GENOMES)}")
    kinds = [k for k in GENOTYPE_KINDS if k in out]
    if len(kinds) > 1:
        raise ConfigError(f"{where}: [inputs] give one genotype input, not {' and '.join(kinds)}")
    if "sample" in out and "bgen" not in out:    # as genotype_source words it for --sample (review rev34 #8)
        raise ConfigError(f"{where}: [inputs] sample is for bgen genotypes, not {kinds[0]} {out[kinds[0]]}: leave "
                          "it out" if kinds else f"{where}: [inputs] sample is the .sample file of bgen: give bgen too")
    return out


def genotype_kind(inputs: dict[str, Any]) -> str | None:
    """Which genotype input ``[inputs]`` gives (``bfile`` ... ``vcf``), or None."""
    return next((k for k in GENOTYPE_KINDS if k in inputs), None)


def genotype_wiring(inputs: dict[str, Any]) -> dict[str, Any]:
    """The genotype options of pca/gwas/clump set from ``[inputs]`` (only those given)."""
    w: dict[str, Any] = {}
    for k in GENOTYPE_KINDS + ("sample",):
        if k in inputs:
            w[k] = inputs[k] if k in LIST_KEYS else str(inputs[k])
    for k, name in FILTERS.items():
        if k in inputs:
            w[name] = str(inputs[k]) if isinstance(inputs[k], Path) else inputs[k]
    return w


def check_genotypes(inputs: dict[str, Any], where: str) -> list[Path]:
    """Open the genotype selection of ``[inputs]`` as the commands would (files exist, ``{chr}``
    templates expand, filters parse) and return its files, for the stages' keys."""
    from edfgen.commands.options import GenotypeOptions, genotype_source

    try:
        src = genotype_source(GenotypeOptions(**genotype_wiring(inputs)))
    except InputError as exc:
        # the options named as [inputs] keys: --vcf-field -> vcf_field (review rev34 #8)
        said = re.sub(r"(?<![\w-])--([a-z][a-z0-9-]*)", lambda m: m.group(1).replace("-", "_"), str(exc))
        raise InputError(f"{where}: [inputs] {said}") from None
    return [Path(p) for p in src.paths()]


def filter_conflicts(inputs: dict[str, Any], raw: dict[str, Any], sections: list[str], where: str) -> None:
    """A filter given in ``[inputs]`` (``chr``) and in a stage section (``[gwas] chromosomes`` or ``chr``) is an error."""
    for k, name in FILTERS.items():
        if k not in inputs:
            continue
        for s in sections:
            section = raw.get(s) or {}
            given = next((x for x in (name, k) for key in (x, x.replace("_", "-")) if key in section), None)
            if given:       # (the field's name or the option's: keep_ids or keep)
                raise ConfigError(f"{where}: [{s}] {given} and [inputs] {k} both given: keep the one in [inputs]")


def one_build(inputs: dict[str, Any], raw: dict[str, Any], sections: list[str], where: str) -> None:
    """One genome build for the whole run: a ``reference_genome`` set in stage sections (``[gwas]``, ``[clump]``,
    ``[annotate]`` ...) rather than in ``[inputs]`` is handed to every stage as if given in ``[inputs]``
    (a GWAS on GRCh37 was clumped and annotated as GRCh38: positions compared with the catalog's GRCh38 ones
    and genes from the GRCh38 table); sections that name different builds are an error."""
    given = {s: v for s in sections for k in ("reference_genome", "reference-genome", "genome_assembly",
                                              "genome-assembly")       # (the deprecated name too)
             if (v := (raw.get(s) or {}).get(k)) is not None and v != "NR"}
    if "reference_genome" in inputs:
        given["inputs"] = inputs["reference_genome"]
    if len(set(given.values())) > 1:
        raise ConfigError(f"{where}: reference_genome differs between sections ("
                          + ", ".join(f"[{s}] {v}" for s, v in given.items()) + "): one run has one genome build")
    if given and "reference_genome" not in inputs:
        build = next(iter(given.values()))
        if build not in REFERENCE_GENOMES:
            raise ConfigError(f"{where}: reference_genome {build!r}: choose {' or '.join(REFERENCE_GENOMES)}")
        inputs["reference_genome"] = build


def has_pcs(covar: Path) -> bool:
    """Whether a covariate table's header has genotype PC columns (``PC1``, ``pc2`` ...)."""
    from edfgen.formats.tables import read_table

    return any(_PC.match(str(c)) for c in read_table(covar).columns)


def check_stage_covariates(inputs: dict[str, Any], stages: dict[str, Any], *, run_pca: bool) -> None:
    """Refuse, before any stage runs, a ``[gwas]``/``[gwas_outcomes]`` covariate or categorical column that the
    stage's covariate table will not have (it was found hours later, after extraction).

    Parameters
    ----------
    inputs
        The run's ``[inputs]`` (``covar``; ``outcomes_bfile``/``outcomes_covar`` for the outcome GWAS's biobank).
    stages
        The configured stages' options (``covar_cols``, ``categorical``).
    run_pca
        Whether the pca stage runs: it joins PC1..PCk (k of ``[pca]``) to the study covariates, never to the
        biobank's of ``outcomes_bfile``.
    """
    from edfgen.commands.gwas_design import expand_columns
    from edfgen.commands.pca import PcaOptions
    from edfgen.formats.tables import read_table, some_names

    for section in ("gwas", "gwas_outcomes"):
        if section == "gwas_outcomes" and "outcomes" not in inputs:     # no outcome GWAS
            continue
        o = stages.get(section)
        chosen, categorical = getattr(o, "covar_cols", None) or (), getattr(o, "categorical", None) or ()
        outside = [c for c in categorical if chosen and c not in expand_columns(list(chosen))]
        if outside:     # (gwas refuses it too, after the stages before it)
            raise ConfigError(f"[{section}] categorical {', '.join(outside)}: not among its covariates "
                              f"{','.join(chosen)}; add it there")
        wanted = expand_columns([*chosen, *categorical])
        biobank = section == "gwas_outcomes" and "outcomes_bfile" in inputs
        covar = (inputs.get("outcomes_covar") or inputs["covar"]) if biobank else inputs["covar"]
        if not wanted or not Path(covar).is_file():
            continue
        k = getattr(stages.get("pca"), "k", PcaOptions.k)
        have = list(read_table(covar).columns) + ([] if biobank or not run_pca else [f"PC{i}" for i in range(1, k + 1)])
        missing = [c for c in dict.fromkeys(wanted) if c not in have]
        if not missing:
            continue
        hint = ""
        if any(_PC.match(c) for c in missing):
            hint = ("; the pca stage makes PCs of the study genotypes only, not of outcomes_bfile: give "
                    "outcomes_covar with the biobank's own PC columns (edfgen pca on it, pcs.tsv joined by IID) or "
                    f"leave PCs out of [{section}] covariates" if biobank else
                    "; the pca stage ([pca] section or [run] pca = true) adds PC1..PCk (k of [pca], default 10)")
        raise ConfigError(f"[{section}] covariates: column(s) {some_names(missing)} not in {covar} "
                          f"(has: {some_names(have)}){hint}")


def covar_cols_with_pcs(chosen, pc_names) -> tuple[str, ...]:
    """A stage's ``covar_cols`` with the pca stage's PCs appended, those already listed (by name or in a range,
    ``PC1..PC10``) not twice (a README example listing ``PC1..PC10`` got PC1..PC10 again and stopped: "covariate
    'PC1' is a linear combination of 'PC1')."""
    from edfgen.commands.gwas_design import expand_columns

    have = set(expand_columns(list(chosen)))
    return tuple(chosen) + tuple(c for c in pc_names if c not in have)


def covariates_with_pcs(covar: Path, pcs: Path):
    """The covariate table with the columns of ``pcs.tsv`` (IID, PC1..PCk) joined by participant id
    (left join: a participant without PCs has them missing and leaves the GWAS), and the PC names."""
    from edfgen.formats.tables import read_table

    cov = read_table(covar, id_column="IID")
    pc = read_table(pcs, id_column="IID")
    names = [c for c in pc.columns if _PC.match(str(c))]
    replaced = [c for c in names if c in cov.columns]
    if replaced:
        log.warning("%s: its column(s) %s replaced by the pca stage's genotype PCs of the same name%s (to use the "
                    "table's own PCs, leave out [pca] and set [run] pca = false)", covar, ", ".join(replaced),
                    f"; {', '.join(c for c in cov.columns if _PC.match(str(c)) and c not in names)} kept"
                    if any(_PC.match(str(c)) and c not in names for c in cov.columns) else "")
    cov = cov.drop(columns=replaced)
    return cov.merge(pc[["IID", *names]], on="IID", how="left"), names


@dataclass(frozen=True)
class Outcome:
    """One external outcome file of ``[mr] outcomes``."""

    path: Path
    n_cases: int | None = None
    n_controls: int | None = None

    def case_counts(self) -> str | None:
        """``FILE=CASES,CONTROLS`` for ``edfgen mr --case-counts``."""
        return None if self.n_cases is None else f"{self.path}={self.n_cases},{self.n_controls}"


def mr_outcomes(section: dict[str, Any], *, base: Path, where: str) -> list[Outcome]:
    """Pop and check ``outcomes`` of the ``[mr]`` table: a list of paths or ``{path, n_cases, n_controls}`` tables."""
    value = section.pop("outcomes", [])
    items = [value] if isinstance(value, (str, dict)) else value
    if not isinstance(items, list):
        raise ConfigError(f"{where}: [mr] outcomes: expected a list of files or {{path, n_cases, n_controls}} tables")
    out = []
    for i, item in enumerate(items, 1):
        entry = {"path": item} if isinstance(item, str) else item
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"].strip():
            raise ConfigError(f"{where}: [mr] outcomes entry {i}: expected a path or a table with path = \"...\"")
        bad = set(entry) - {"path", "n_cases", "n_controls"}
        if bad:
            raise ConfigError(f"{where}: [mr] outcomes entry {i}: unknown key(s) {sorted(bad)} "
                              "(known: path, n_cases, n_controls)")
        counts = [entry.get("n_cases"), entry.get("n_controls")]
        if (counts[0] is None) != (counts[1] is None) or any(
                c is not None and (isinstance(c, bool) or not isinstance(c, int) or c <= 0) for c in counts):
            raise ConfigError(f"{where}: [mr] outcomes entry {i} ({entry['path']}): give n_cases and n_controls "
                              "together, as positive whole numbers")
        p = Path(entry["path"]).expanduser()
        p = p if p.is_absolute() else (base / p).resolve()
        if not p.exists():
            raise InputError(f"{where}: [mr] outcomes entry {i}: {p} not found")
        out.append(Outcome(p, *counts))
    return out


def result_counts(result: Any) -> str:
    """The counts of a command's result for the stage's finish line: its ``n_*`` integers and the
    number of its ``phenotypes`` (``n_participants=5000, n_edfs=128, phenotypes=128``)."""
    if not dataclasses.is_dataclass(result):
        return ""
    parts = []
    for f in dataclasses.fields(result):
        v = getattr(result, f.name, None)
        if f.name.startswith("n_") and isinstance(v, int) and not isinstance(v, bool):
            parts.append(f"{f.name[2:]}={v}")
        elif f.name in ("phenotypes", "clumps", "loci") and hasattr(v, "__len__") and not isinstance(v, str):
            parts.append(f"{f.name}={len(v)}")
        elif f.name == "samples" and isinstance(getattr(v, "used", None), int):
            parts.append(f"samples={v.used}")
    return ", ".join(parts[:6])


def split_halves(ids, seed: int = 0):
    """Deterministic split of participant ids into two halves (by hash), for two-sample MR."""
    import numpy as np

    ids = list(ids)
    h = np.array([int(hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()[:8], 16) for i in ids])
    return {i for i, v in zip(ids, h) if v % 2 == 0}


def write_if_changed(df, path: Path) -> Path:
    """Write a pipeline-made table atomically, leaving it untouched when the content is the same
    (so that the stages reading it keep their keys)."""
    import io

    buf = io.StringIO()
    df.to_csv(buf, sep="\t", index=False, na_rep="NA")
    if path.exists() and path.read_text() == buf.getvalue():
        return path
    from edfgen.formats.tables import write_table

    return write_table(df, path)
