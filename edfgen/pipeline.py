"""The main job end to end: ``edfgen run --config pipeline.toml`` and ``edfgen demo``.

The pipeline chains the stages (simulate ▸ extract ▸ interpret ▸ gwas ▸ clump ▸ annotate ▸ mr) into
one output directory with a subdirectory per stage. Each stage calls the library function of the
documented command: ``run(options)`` of the command's module (:func:`edfgen.commands.run`) with its options
dataclass (``edfgen.commands.<command>.<Command>Options``), built from the stage's TOML section, which takes exactly
that command's options (``batch_size = 64`` is ``edfgen extract --batch-size 64``), so a user can
rerun any stage by hand; the pipeline sets the wiring options (inputs, ``out``) itself.
Every key and every value's type is checked when the configuration is read, before any stage runs
(``maf = "abc"``, ``two_sample_split = "false"`` and ``out = 5`` are one-line errors naming the key).

Resume: after a stage succeeds, its key (sha256 of the stage's command, options and wiring, and of
its inputs by the one provenance rule :func:`edfgen.formats.manifest.input_digest`, each input hashed
once per run: the stage's own manifest reuses the digest) is recorded in
``pipeline_state.json``; a rerun skips every stage whose key is unchanged and whose manifest is
complete, so a crash or Ctrl-C costs only the unfinished stage. A stage that must run again first
removes what its earlier run's manifest lists (complete, or in progress after a crash) and nothing
else; the pipeline never passes ``--force`` to a stage, so a stage folder holding files edfgen did
not write makes that stage refuse with one line instead of deleting them.

``edfgen demo`` (:func:`run_demo`) simulates the default cohort, writes ``pipeline.toml`` beside the
results (so ``edfgen run --config edfgen-demo/pipeline.toml`` repeats or edits the same run), runs the
pipeline with the shipped ``tiny`` checkpoint and writes ``report.html`` with a truth section.

Configuration (TOML; unknown sections or keys are errors)::

    [run]
    out = "edfgen-run"          # output directory (required)
    two_sample_split = false    # exposure GWAS on one half of the samples, outcome GWAS on the other
    biomarker_gwas = false      # also GWAS/clump/MR the biomarker table (truth checks, EDF↔trait comparison)
    genetics = false            # also ldsc (h², rg), finemap (SuSiE) and coloc stages (on in the demo)

    [inputs]                    # paths are relative to the TOML file
    ecg = "cohort/ecg"          # ECG files or a directory (required unless [simulate])
    bfile = "cohort/genotypes"  # PLINK prefix (required unless [simulate])
    covar = "cohort/covariates.tsv"
    biomarkers = "cohort/physiology.tsv"   # optional: interpret and biomarker GWAS
    outcomes = "cohort/outcomes.tsv"       # optional: binary disease GWAS for MR
    catalog = "gwas_catalog.tsv"           # optional: novelty (annotate)
    genes = "genes.bed"                    # optional: nearest genes
    truth = "cohort/truth.json"            # optional: the report's truth section

    [simulate]   # optional: make the cohort first (options of `edfgen simulate`)
    [extract]    # options of `edfgen extract`
    [interpret]  # options of `edfgen interpret`
    [gwas]       # options of `edfgen gwas`, for EDFs (and biomarkers)
    [gwas_outcomes]  # options of `edfgen gwas --binary` for the outcomes
    [clump]      # options of `edfgen clump`
    [annotate]   # options of `edfgen annotate`
    [mr]         # options of `edfgen mr`
    [ldsc]       # options of `edfgen ldsc` (with genetics = true)
    [finemap]    # options of `edfgen finemap`
    [coloc]      # options of `edfgen coloc`
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import sys
import time
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from edfgen import DEFAULT_CHECKPOINT
from edfgen.commands import run as run_command
from edfgen.commands.annotate import AnnotateOptions
from edfgen.commands.clump import ClumpOptions
from edfgen.commands.coloc import ColocOptions
from edfgen.commands.finemap import FinemapOptions
from edfgen.commands.ldsc import LdscOptions
from edfgen.commands.extract import ExtractOptions
from edfgen.commands.gwas import GwasOptions
from edfgen.commands.interpret import InterpretOptions
from edfgen.commands.mr import MROptions
from edfgen.commands.options import CommandOptions, force_opt, opt, seed_opt
from edfgen.commands.simulate import SimulateOptions
from edfgen.exceptions import ConfigError, EdfgenError, InputError, StageError
from edfgen.formats.manifest import (MANIFEST, Manifest, _jsonable, input_digest, memoised_digests, read_manifest,
                                     remove_outputs)
from edfgen.formats.tables import atomic_path, atomic_write, read_table, write_table

log = logging.getLogger(__name__)

STATE_FILE = "pipeline_state.json"

#: [run] key -> its type
RUN_KEYS: dict[str, type] = {"out": str, "two_sample_split": bool, "biomarker_gwas": bool, "genetics": bool}
INPUT_KEYS = {"ecg", "bfile", "covar", "biomarkers", "outcomes", "catalog", "genes", "truth", "id_map"}
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
    "clump": (ClumpOptions, frozenset({"sumstats", "more_sumstats", "bfile", "out", "force"}) | _OTHER_GENOTYPES),
    "annotate": (AnnotateOptions, frozenset({"loci", "catalog", "genes", "out", "force"})),
    "mr": (MROptions, frozenset({"exposure", "outcome", "out", "force", "instruments", "bfile"}) | _OTHER_GENOTYPES),
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


@dataclass
class PipelineConfig:
    """A validated pipeline configuration (see module docstring): ``stages`` maps each section to its
    typed options (:mod:`edfgen.commands.options`), less the wiring the pipeline sets."""

    out: Path
    inputs: dict[str, Path]
    stages: dict[str, CommandOptions]
    two_sample_split: bool = False
    biomarker_gwas: bool = False
    genetics: bool = False
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline TOML file; relative paths are resolved against its directory."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"--config {path}: file not found") from None
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
    inputs_raw = _table(where, "inputs", raw.get("inputs", {}))
    bad = set(inputs_raw) - INPUT_KEYS
    if bad:
        raise ConfigError(f"{where}: [inputs] unknown key(s) {sorted(bad)} (known: {sorted(INPUT_KEYS)})")
    for k, v in inputs_raw.items():
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"{where}: [inputs] {k}: expected a path (a string), got {v!r}")
    inputs = {k: (base / Path(v).expanduser()).resolve() for k, v in inputs_raw.items()}
    stages: dict[str, CommandOptions] = {}
    for name, (cls, wiring) in STAGE_SECTIONS.items():   # every value checked now, before any work
        if name in raw or name != "simulate":
            stages[name] = cls.from_mapping(name, _table(where, name, raw.get(name, {})), base=base, wiring=wiring)
    simulating = "simulate" in raw
    for req in ("ecg", "bfile", "covar"):
        if req not in inputs and not simulating:
            raise ConfigError(f"{where}: [inputs] {req} is required (or add a [simulate] section)")
    if not simulating:
        for k, p in inputs.items():
            if k == "bfile":
                if not Path(str(p) + ".bed").exists():
                    raise InputError(f"{where}: [inputs] bfile {p}.bed not found")
            elif not p.exists():
                raise InputError(f"{where}: [inputs] {k} {p} not found")
    out = Path(run["out"]).expanduser()
    out = out if out.is_absolute() else (base / out).resolve()
    return PipelineConfig(out=out, inputs=inputs, stages=stages, two_sample_split=run.get("two_sample_split", False),
                          biomarker_gwas=run.get("biomarker_gwas", False), genetics=run.get("genetics", False),
                          source=source, raw=raw)


@dataclass(frozen=True)
class StageRecord:
    """What the pipeline did with one stage."""

    name: str
    status: str  # "ran" | "skipped" (up to date) | "no-instruments" (MR without index variants)
    seconds: float
    out: Path


@dataclass(frozen=True)
class PipelineResult:
    """Result of :func:`run_pipeline`."""

    out: Path
    stages: list[StageRecord]
    files: dict[str, Path]


class _Runner:
    def __init__(self, cfg: PipelineConfig, *, force: bool = False):
        self.cfg = cfg
        self.force = force
        self.state_path = cfg.out / STATE_FILE
        self.state = {} if force else self._read_state()
        self.records: list[StageRecord] = []

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self) -> None:
        with atomic_write(self.state_path) as fh:
            json.dump(self.state, fh, indent=2)

    def stage(self, name: str, section: str, wiring: dict[str, Any], inputs: list[Path | None], out_dir: Path, *,
              manifest: Path | None = None) -> Path:
        """Run the command of ``section`` (its options from the TOML, with the pipeline's ``wiring``)
        unless the stage's key is unchanged and its manifest (default ``out_dir/manifest.json``;
        written last, so it marks a finished stage) is complete."""
        options = self.cfg.stages[section]
        manifest = manifest or out_dir / MANIFEST
        command = f"edfgen {options.command}"
        wired = {k: _jsonable(v) for k, v in wiring.items() if v is not None}
        tuned = options.to_dict(exclude=STAGE_SECTIONS[section][1])
        h = hashlib.sha256(json.dumps([command, tuned, wired], sort_keys=True).encode())
        for p in inputs:
            if p is not None:
                h.update(f"{p}\0{input_digest(p)}\n".encode())
        key = h.hexdigest()
        done = self.state.get(name, {})
        if (isinstance(done, dict) and done.get("key") == key
                and read_manifest(manifest.parent, name=manifest.name, complete=True) is not None):
            log.info("stage %s: up to date, skipped", name)
            self.records.append(StageRecord(name, "skipped", 0.0, out_dir))
            return out_dir
        shown = " ".join(f"--{k.replace('_', '-')}" + ("" if isinstance(v, bool) else f" {' '.join(map(str, v)) if isinstance(v, list) else v}")
                         for k, v in wired.items() if v is not False)
        print(f"[edfgen run] {name}: {command} {shown if len(shown) < 400 else shown[:400] + ' ...'}", file=sys.stderr)
        t0 = time.perf_counter()
        try:
            # the stage's earlier output (what its manifest lists, complete or in progress after a crash)
            # is replaced; anything else in the folder makes the stage refuse (no --force on the user's behalf)
            remove_outputs(manifest.parent, command=command, name=manifest.name, option=f"{name}:")
            run_command(dataclasses.replace(options, **wiring))
        except EdfgenError as exc:
            exc.args = (f"stage {name}: {exc}",)
            raise
        dt = time.perf_counter() - t0
        self.state[name] = {"key": key, "command": command, "options": tuned, "wiring": wired,
                            "seconds": round(dt, 2), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self._write_state()
        self.records.append(StageRecord(name, "ran", dt, out_dir))
        return out_dir


def _split_halves(ids, seed: int = 0):
    """Deterministic split of participant ids into two halves (by hash), for two-sample MR."""
    import numpy as np

    ids = list(ids)
    h = np.array([int(hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()[:8], 16) for i in ids])
    return {i for i, v in zip(ids, h) if v % 2 == 0}


def _write_if_changed(df, path: Path) -> Path:
    """Write a pipeline-made table atomically, leaving it untouched when the content is the same
    (so that the stages reading it keep their keys)."""
    import io

    buf = io.StringIO()
    df.to_csv(buf, sep="\t", index=False, na_rep="NA")
    if path.exists() and path.read_text() == buf.getvalue():
        return path
    return write_table(df, path)


def run_pipeline(cfg: PipelineConfig, *, force: bool = False) -> PipelineResult:
    """Run every configured stage in order, skipping those already up to date.

    Parameters
    ----------
    cfg
        From :func:`load_config`.
    force
        Ignore the recorded state and rerun every stage (each still replaces only its own earlier
        outputs, as listed in its manifest).

    Returns
    -------
    PipelineResult
        Stage records and the main output files (``edfs``, ``loci``, ``mr_results``, ...).
    """
    with memoised_digests():     # each input hashed once per run
        return _run_stages(cfg, force=force)


def _run_stages(cfg: PipelineConfig, *, force: bool) -> PipelineResult:
    from edfgen.formats.tables import clean_temp_files

    out = cfg.out
    if out.exists() and not out.is_dir():
        raise InputError(f"[run] out {out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    clean_temp_files(out)
    r = _Runner(cfg, force=force)
    inputs = dict(cfg.inputs)
    files: dict[str, Path] = {}
    st = cfg.stages

    if "simulate" in st:
        cohort = out / "cohort"
        r.stage("simulate", "simulate", {"out": cohort}, [], cohort)
        defaults = {"ecg": cohort / "ecg", "bfile": cohort / "genotypes", "covar": cohort / "covariates.tsv",
                    "biomarkers": cohort / "physiology.tsv", "outcomes": cohort / "outcomes.tsv",
                    "truth": cohort / "truth.json"}
        for k, v in defaults.items():
            inputs.setdefault(k, v)
    bfile = inputs["bfile"]
    bed_inputs = [Path(f"{bfile}.bed"), Path(f"{bfile}.bim"), Path(f"{bfile}.fam")]

    # 1. EDFs from the frozen encoder
    edfs = out / "extract" / "edfs.tsv"
    wiring = {"ecg": [inputs["ecg"]], "out": edfs, "id_map": inputs.get("id_map")}
    r.stage("extract", "extract", wiring, [inputs["ecg"], inputs.get("id_map")],
            out / "extract", manifest=Path(f"{edfs}.manifest.json"))
    files["edfs"] = edfs

    # 2. which EDFs track which biomarkers
    if "biomarkers" in inputs:
        # measure_from (a TOML option) replaces the biomarker table
        biomarkers = None if st["interpret"].measure_from else inputs["biomarkers"]
        w_int = {"edf": edfs, "biomarkers": biomarkers, "covar": inputs["covar"], "out": out / "interpret"}
        r.stage("interpret", "interpret", w_int,
                [edfs, inputs["biomarkers"], inputs["covar"]], out / "interpret")

    # 3. GWAS (exposures on half A and outcomes on half B when two_sample_split)
    exposure_pheno, outcome_pheno = edfs, inputs.get("outcomes")
    split_dir = out / "split"
    if cfg.two_sample_split:
        split_dir.mkdir(exist_ok=True)
        edf_df = read_table(edfs, id_column="IID")
        half_a = _split_halves(edf_df["IID"])
        exposure_pheno = _write_if_changed(edf_df[edf_df["IID"].isin(half_a)], split_dir / "edfs.half_a.tsv")
        if outcome_pheno is not None:
            o = read_table(outcome_pheno, id_column="IID")
            outcome_pheno = _write_if_changed(o[~o["IID"].isin(half_a)], split_dir / "outcomes.half_b.tsv")

    def gwas(name: str, section: str, pheno: Path, binary: bool) -> None:
        w = {"bfile": bfile, "pheno": pheno, "covar": inputs["covar"], "out": out / name, "binary": binary}
        r.stage(name, section, w, bed_inputs + [pheno, inputs["covar"]], out / name)

    gwas("gwas", "gwas", exposure_pheno, False)
    if outcome_pheno is not None:
        gwas("gwas_outcomes", "gwas_outcomes", outcome_pheno, True)
    if cfg.biomarker_gwas and "biomarkers" in inputs:
        bio = inputs["biomarkers"]
        if cfg.two_sample_split:
            b = read_table(bio, id_column="IID")
            bio = _write_if_changed(b[b["IID"].isin(half_a)], split_dir / "biomarkers.half_a.tsv")
        gwas("gwas_biomarkers", "gwas", bio, False)

    # 4. independent loci
    def clump(name: str, gwas_dir: Path) -> Path:
        from edfgen.formats.sumstats import expand_sumstats

        try:
            sumstats = expand_sumstats([gwas_dir])
        except InputError:
            raise StageError(f"stage {name}: {gwas_dir} holds no summary statistics (*.tsv.gz)") from None
        w = {"sumstats": sumstats, "bfile": bfile, "out": out / name}
        return r.stage(name, "clump", w, [gwas_dir] + bed_inputs, out / name)

    clump_dir = clump("clump", out / "gwas")
    files["loci"] = clump_dir / "loci.tsv"
    files["clumps"] = clump_dir / "clumps.tsv"
    if cfg.biomarker_gwas and (out / "gwas_biomarkers").exists():
        clump("clump_biomarkers", out / "gwas_biomarkers")

    # 5. novelty against the GWAS Catalog
    if "catalog" in inputs:
        annotated = out / "annotate" / "annotated_loci.tsv"
        w_ann = {"loci": files["loci"], "catalog": inputs["catalog"], "out": annotated, "genes": inputs.get("genes")}
        r.stage("annotate", "annotate", w_ann,
                [files["loci"], inputs["catalog"], inputs.get("genes")], out / "annotate",
                manifest=Path(f"{annotated}.manifest.json"))
        files["annotated_loci"] = annotated

    # 6. Mendelian randomization: EDFs (instruments = clumped index variants) -> diseases
    if (out / "gwas_outcomes").exists():
        def mr(name: str, gwas_dir: Path, clumps: Path) -> Path | None:
            if len(read_table(clumps)) == 0:
                log.warning("stage %s: no index variants in %s, so no instruments: MR skipped", name, clumps)
                r.records.append(StageRecord(name, "no-instruments", 0.0, out / name))
                return None
            w = {"exposure": (gwas_dir,), "outcome": (out / "gwas_outcomes",), "instruments": clumps, "out": out / name}
            return r.stage(name, "mr", w,
                           [gwas_dir, out / "gwas_outcomes", clumps], out / name)

        mr_dir = mr("mr", out / "gwas", files["clumps"])
        if mr_dir is not None:
            files["mr_results"] = mr_dir / "mr_results.tsv"
        if cfg.biomarker_gwas and (out / "clump_biomarkers").exists():
            mr("mr_biomarkers", out / "gwas_biomarkers", out / "clump_biomarkers" / "clumps.tsv")

    if cfg.genetics:
        _genetics_stages(r, out, files, bfile, bed_inputs)

    for key in ("loci", "mr_results"):
        if key in files and files[key].exists():
            with atomic_path(out / files[key].name) as tmp:
                shutil.copyfile(files[key], tmp)
    from edfgen.report import write_report

    files["report"] = write_report(out, bfile=bfile, biomarkers=inputs.get("biomarkers"),
                                   outcomes=inputs.get("outcomes"), truth=inputs.get("truth"))
    m = Manifest(command="edfgen run", parameters={"config": cfg.raw, "force": force})
    m.extra["stages"] = [{"name": s.name, "status": s.status, "seconds": round(s.seconds, 2)} for s in r.records]
    m.add_inputs([cfg.source])
    m.outputs = sorted({str(p.relative_to(out)) for p in out.iterdir() if p.is_file() and p.name != MANIFEST
                        and not p.name.startswith(".")})
    m.write(out)
    return PipelineResult(out=out, stages=r.records, files=files)


def _genetics_stages(r: "_Runner", out: Path, files: dict[str, Path], bfile: Path, bed_inputs: list[Path]) -> None:
    """7. ([run] genetics = true; on in the demo) LD score regression of EDFs (and outcomes, biomarkers), SuSiE
    fine-mapping of the EDF loci, colocalisation of EDF loci with the diseases."""
    gw = [d for d in (out / "gwas", out / "gwas_outcomes", out / "gwas_biomarkers") if d.exists()]
    r.stage("ldsc", "ldsc", {"sumstats": tuple(gw), "bfile": bfile, "out": out / "ldsc"}, gw + bed_inputs, out / "ldsc")
    if len(read_table(files["loci"])) == 0:
        log.warning("stages finemap, coloc: no loci in %s; skipped", files["loci"])
        return
    r.stage("finemap", "finemap", {"loci": files["loci"], "sumstats": (out / "gwas",), "bfile": bfile,
                                   "out": out / "finemap"}, [files["loci"], out / "gwas"] + bed_inputs, out / "finemap")
    if (out / "gwas_outcomes").exists():
        r.stage("coloc", "coloc", {"exposure": (out / "gwas",), "outcome": (out / "gwas_outcomes",),
                                   "loci": files["loci"], "bfile": bfile, "out": out / "coloc"},
                [files["loci"], out / "gwas", out / "gwas_outcomes"] + bed_inputs, out / "coloc")


# ----------------------------------------------------------------------------------------------- edfgen demo

#: the stages' options shared by the demo and the tests' small run
STAGE_OPTIONS: dict[str, dict] = {
    "extract": {"checkpoint": DEFAULT_CHECKPOINT},
    "gwas": {"covar_cols": "age,sex,centre"},
    "gwas_outcomes": {"covar_cols": "age,sex,centre"},
    "clump": {},
    "annotate": {},
    "mr": {},
    "ldsc": {"rg": True},
    "finemap": {},
    "coloc": {},
}


def demo_config(*, n: int, seed: int) -> dict:
    """The demo's pipeline configuration: simulate, then every stage; the two-sample split makes MR's
    exposure and outcome GWAS use disjoint halves of the cohort."""
    return {"run": {"out": ".", "two_sample_split": True, "biomarker_gwas": True, "genetics": True},
            "inputs": {"catalog": str(packaged_catalog())},
            "simulate": {"n": n, "seed": seed},
            **STAGE_OPTIONS}


def packaged_catalog() -> Path:
    """The GWAS Catalog ECG-trait extract shipped with edfgen (346 rows, release 2016-01-18, GRCh38)."""
    return Path(str(resources.files("edfgen") / "data" / "ecg_traits_associations_2016-01-18.tsv"))


@dataclass(frozen=True)
class DemoResult:
    out: Path
    pipeline: PipelineResult
    report: Path
    seconds: float

    def summary(self) -> str:
        lines = [f"edfgen demo: {self.out} in {self.seconds:.0f} s"]
        lines += [f"  {s.name:18s} {s.status:8s} {s.seconds:7.1f} s" for s in self.pipeline.stages]
        lines.append(f"  report: {self.report}")
        return "\n".join(lines)


def run_demo(options: DemoOptions) -> DemoResult:
    """Run the demo into ``options.out`` (default ``edfgen-demo``), resuming a previous demo there.

    A non-empty ``out`` that is not an earlier demo is refused unless ``options.force``.
    """
    t0 = time.perf_counter()
    out, n, seed, force = Path(options.out).resolve(), options.n, options.seed, options.force
    if out.exists() and any(out.iterdir()) and not (out / STATE_FILE).exists() and not force:
        raise InputError(f"--out {out}: directory exists, is not empty and holds no earlier demo (use --force)")
    out.mkdir(parents=True, exist_ok=True)
    raw = demo_config(n=n, seed=seed)
    header = "# edfgen demo pipeline: `edfgen run --config pipeline.toml` reruns it (finished stages are skipped).\n"
    (out / "pipeline.toml").write_text(header + render_toml(raw))
    cfg = config_from_dict(raw, base=out, source=out / "pipeline.toml")
    res = run_pipeline(cfg, force=force)
    return DemoResult(out=out, pipeline=res, report=res.files["report"], seconds=time.perf_counter() - t0)
