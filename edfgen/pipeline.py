"""The main job end to end: ``edfgen run --config pipeline.toml`` and ``edfgen demo``.

The pipeline chains the stage commands (simulate ▸ extract ▸ interpret ▸ gwas ▸ clump ▸
annotate ▸ mr) into one output directory with a subdirectory per stage. Each stage is the
documented command (``edfgen extract``, ``edfgen gwas``, ...) run in-process, so a stage's
TOML section takes exactly that command's options (``batch_size = 64`` is ``--batch-size 64``)
and a user can rerun any stage by hand with the same options.

Resume: after a stage succeeds, its key (sha256 of the stage's arguments and of its inputs' names,
sizes and modification times) is recorded in ``pipeline_state.json``; a rerun skips every stage whose key is unchanged
and whose ``manifest.json`` is present, so a crash or Ctrl-C costs only the unfinished stage.

Configuration (TOML; unknown sections or keys are errors)::

    [run]
    out = "edfgen-run"          # output directory (required)
    two_sample_split = false    # exposure GWAS on one half of the samples, outcome GWAS on the other
    biomarker_gwas = false      # also GWAS/clump/MR the biomarker table (truth checks, EDF↔trait comparison)

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
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from edfgen.exceptions import ConfigError, EdfgenError, InputError, StageError
from edfgen.io.tables import atomic_write, read_table, write_table
from edfgen.provenance import MANIFEST, Manifest, fingerprint

log = logging.getLogger(__name__)

STATE_FILE = "pipeline_state.json"

RUN_KEYS = {"out", "two_sample_split", "biomarker_gwas"}
INPUT_KEYS = {"ecg", "bfile", "covar", "biomarkers", "outcomes", "catalog", "genes", "truth", "id_map"}
STAGE_SECTIONS = {
    # section -> command name; wiring options the pipeline sets itself (not allowed in the TOML)
    "simulate": ("simulate", {"out", "force"}),
    "extract": ("extract", {"ecg", "out", "force", "id_map"}),
    "interpret": ("interpret", {"edf", "biomarkers", "covar", "out", "force"}),
    "gwas": ("gwas", {"bfile", "vcf", "bgen", "mt", "pheno", "covar", "out", "force", "binary"}),
    "gwas_outcomes": ("gwas", {"bfile", "vcf", "bgen", "mt", "pheno", "covar", "out", "force", "binary"}),
    "clump": ("clump", {"sumstats", "bfile", "out", "force"}),
    "annotate": ("annotate", {"loci", "catalog", "genes", "out", "force"}),
    "mr": ("mr", {"exposure", "outcome", "out", "force", "instruments"}),
}


def _command(name: str) -> click.Command:
    from edfgen.cli import cli

    cmd = cli.get_command(click.Context(cli), name)
    if cmd is None:
        raise ConfigError(f"pipeline: command 'edfgen {name}' is not available in this installation")
    return cmd


def _options_of(cmd: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in cmd.params if isinstance(p, click.Option)}


def options_to_args(section: str, cmd: click.Command, options: dict[str, Any], wiring: set[str]) -> list[str]:
    """Turn a TOML section into command-line arguments, validating every key against the command.

    Raises
    ------
    ConfigError
        Unknown key, or a key the pipeline sets itself.
    """
    params = _options_of(cmd)
    args: list[str] = []
    for key, value in options.items():
        name = key.replace("-", "_")
        if name in wiring:
            raise ConfigError(f"[{section}] {key}: set by the pipeline itself (from [inputs]/[run]); remove it")
        if name not in params:
            known = sorted(k for k in params if k not in wiring | {"verbose", "quiet", "help"})
            raise ConfigError(f"[{section}] unknown key {key!r} for 'edfgen {cmd.name}' (known: {', '.join(known)})")
        p = params[name]
        flag = max(p.opts, key=len)
        if p.is_flag:
            if isinstance(value, bool):
                if p.secondary_opts:  # --x/--no-x
                    args.append(flag if value else max(p.secondary_opts, key=len))
                elif value:
                    args.append(flag)
            else:
                raise ConfigError(f"[{section}] {key}: expected true or false, got {value!r}")
        elif isinstance(value, list):
            if p.multiple or p.nargs == -1:
                for v in value:
                    args += [flag, str(v)]
            else:
                args += [flag, ",".join(map(str, value))]
        else:
            args += [flag, str(value)]
    return args


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


@dataclass
class PipelineConfig:
    """A validated pipeline configuration (see module docstring)."""

    out: Path
    inputs: dict[str, Path]
    stages: dict[str, dict[str, Any]]
    two_sample_split: bool = False
    biomarker_gwas: bool = False
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline TOML file; relative paths are resolved against its directory."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"--config {path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    return config_from_dict(raw, base=path.parent, source=path)


def config_from_dict(raw: dict[str, Any], *, base: Path = Path("."), source: Path | None = None) -> PipelineConfig:
    where = str(source) if source else "config"
    unknown = set(raw) - {"run", "inputs"} - set(STAGE_SECTIONS)
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {sorted(unknown)} (known: run, inputs, {', '.join(STAGE_SECTIONS)})")
    run = raw.get("run", {})
    bad = set(run) - RUN_KEYS
    if bad:
        raise ConfigError(f"{where}: [run] unknown key(s) {sorted(bad)} (known: {sorted(RUN_KEYS)})")
    if "out" not in run:
        raise ConfigError(f"{where}: [run] out is required (the output directory)")
    inputs_raw = raw.get("inputs", {})
    bad = set(inputs_raw) - INPUT_KEYS
    if bad:
        raise ConfigError(f"{where}: [inputs] unknown key(s) {sorted(bad)} (known: {sorted(INPUT_KEYS)})")
    inputs = {k: (base / v).resolve() for k, v in inputs_raw.items()}
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
    stages = {name: dict(raw.get(name, {})) for name in STAGE_SECTIONS if name in raw or name != "simulate"}
    for name, options in stages.items():
        if not isinstance(options, dict):
            raise ConfigError(f"{where}: [{name}] must be a table of options")
        cmd_name, wiring = STAGE_SECTIONS[name]
        options_to_args(name, _command(cmd_name), options, wiring)  # validate now, before any work
    out = Path(run["out"])
    out = out if out.is_absolute() else (base / out).resolve()
    return PipelineConfig(out=out, inputs=inputs, stages=stages, two_sample_split=bool(run.get("two_sample_split", False)),
                          biomarker_gwas=bool(run.get("biomarker_gwas", False)), source=source, raw=raw)


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
            return json.loads(self.state_path.read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    def _write_state(self) -> None:
        with atomic_write(self.state_path) as fh:
            json.dump(self.state, fh, indent=2)

    def stage(self, name: str, command: str, wiring_args: list[str], inputs: list[Path | None], out_dir: Path,
              options: dict[str, Any] | None = None, *, section: str | None = None,
              manifest: Path | None = None) -> Path:
        """Run ``edfgen <command>`` unless its key is unchanged and its manifest (default
        ``out_dir/manifest.json``; written last, so it marks a finished stage) is present."""
        manifest = manifest or out_dir / MANIFEST
        section = section or name
        cmd = _command(command)
        extra = options_to_args(section, cmd, options or {}, STAGE_SECTIONS[section][1])
        args = wiring_args + extra
        h = hashlib.sha256(json.dumps([command, args], sort_keys=True).encode())
        for p in inputs:
            if p is not None:
                h.update(f"{p}\0{fingerprint(p) if p.exists() else 'absent'}".encode())
        key = h.hexdigest()
        done = self.state.get(name, {})
        if done.get("key") == key and manifest.exists():
            log.info("stage %s: up to date, skipped", name)
            self.records.append(StageRecord(name, "skipped", 0.0, out_dir))
            return out_dir
        shown = " ".join(args)
        click.echo(f"[edfgen run] {name}: edfgen {command} {shown if len(shown) < 400 else shown[:400] + ' ...'}", err=True)
        t0 = time.perf_counter()
        try:
            # --force lets a stage overwrite its own earlier, outdated output; commands that resume
            # (extract) keep their partial work across reruns themselves.
            force = ["--force"] if "force" in _options_of(cmd) and out_dir.exists() else []
            cmd.main(args=[*args, *force], prog_name=f"edfgen {command}", standalone_mode=False)
        except EdfgenError as exc:
            exc.args = (f"stage {name}: {exc}",)
            raise
        except click.ClickException as exc:
            raise ConfigError(f"stage {name}: {exc.format_message()}") from None
        dt = time.perf_counter() - t0
        self.state[name] = {"key": key, "command": ["edfgen", command, *args], "seconds": round(dt, 2),
                            "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self._write_state()
        self.records.append(StageRecord(name, "ran", dt, out_dir))
        return out_dir


def _split_halves(ids, seed: int = 0):
    """Deterministic split of participant ids into two halves (by hash), for two-sample MR."""
    import numpy as np

    ids = list(ids)
    h = np.array([int(hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()[:8], 16) for i in ids])
    return {i for i, v in zip(ids, h) if v % 2 == 0}


def run_pipeline(cfg: PipelineConfig, *, force: bool = False) -> PipelineResult:
    """Run every configured stage in order, skipping those already up to date.

    Parameters
    ----------
    cfg
        From :func:`load_config`.
    force
        Ignore the recorded state and rerun every stage.

    Returns
    -------
    PipelineResult
        Stage records and the main output files (``edfs``, ``loci``, ``mr_results``, ...).
    """
    out = cfg.out
    out.mkdir(parents=True, exist_ok=True)
    r = _Runner(cfg, force=force)
    inputs = dict(cfg.inputs)
    files: dict[str, Path] = {}

    if "simulate" in cfg.stages:
        cohort = r.stage("simulate", "simulate", ["--out", str(out / "cohort")], [], out / "cohort",
                         cfg.stages["simulate"])
        defaults = {"ecg": cohort / "ecg", "bfile": cohort / "genotypes", "covar": cohort / "covariates.tsv",
                    "biomarkers": cohort / "physiology.tsv", "outcomes": cohort / "outcomes.tsv",
                    "truth": cohort / "truth.json"}
        for k, v in defaults.items():
            inputs.setdefault(k, v)
    bfile = inputs["bfile"]
    bed_inputs = [Path(f"{bfile}.bed"), Path(f"{bfile}.bim"), Path(f"{bfile}.fam")]

    # 1. EDFs from the frozen encoder
    edfs = out / "extract" / "edfs.tsv"
    wiring = ["--ecg", str(inputs["ecg"]), "--out", str(edfs)]
    if "id_map" in inputs:
        wiring += ["--id-map", str(inputs["id_map"])]
    r.stage("extract", "extract", wiring, [inputs["ecg"], inputs.get("id_map")], out / "extract", cfg.stages["extract"])
    files["edfs"] = edfs

    # 2. which EDFs track which biomarkers
    if "biomarkers" in inputs:
        r.stage("interpret", "interpret", ["--edf", str(edfs), "--biomarkers", str(inputs["biomarkers"]),
                                           "--covar", str(inputs["covar"]), "--out", str(out / "interpret")],
                [edfs, inputs["biomarkers"], inputs["covar"]], out / "interpret", cfg.stages["interpret"])

    # 3. GWAS (exposures on half A and outcomes on half B when two_sample_split)
    exposure_pheno, outcome_pheno = edfs, inputs.get("outcomes")
    split_dir = out / "split"
    if cfg.two_sample_split:
        split_dir.mkdir(exist_ok=True)
        edf_df = read_table(edfs, id_column="IID")
        half_a = _split_halves(edf_df["IID"])
        exposure_pheno = split_dir / "edfs.half_a.tsv"
        write_table(edf_df[edf_df["IID"].isin(half_a)], exposure_pheno)
        if outcome_pheno is not None:
            o = read_table(outcome_pheno, id_column="IID")
            outcome_pheno = split_dir / "outcomes.half_b.tsv"
            write_table(o[~o["IID"].isin(half_a)], outcome_pheno)
    gw = ["--bfile", str(bfile), "--covar", str(inputs["covar"])]
    r.stage("gwas", "gwas", gw + ["--pheno", str(exposure_pheno), "--out", str(out / "gwas")],
            bed_inputs + [exposure_pheno, inputs["covar"]], out / "gwas", cfg.stages["gwas"])
    if outcome_pheno is not None:
        r.stage("gwas_outcomes", "gwas", gw + ["--pheno", str(outcome_pheno), "--binary", "--out", str(out / "gwas_outcomes")],
                bed_inputs + [outcome_pheno, inputs["covar"]], out / "gwas_outcomes", cfg.stages["gwas_outcomes"])
    if cfg.biomarker_gwas and "biomarkers" in inputs:
        bio = inputs["biomarkers"]
        if cfg.two_sample_split:
            b = read_table(bio, id_column="IID")
            bio = split_dir / "biomarkers.half_a.tsv"
            write_table(b[b["IID"].isin(half_a)], bio)
        r.stage("gwas_biomarkers", "gwas", gw + ["--pheno", str(bio), "--out", str(out / "gwas_biomarkers")],
                bed_inputs + [bio, inputs["covar"]], out / "gwas_biomarkers", cfg.stages["gwas"], section="gwas")

    # 4. independent loci
    def clump(name: str, gwas_dir: Path) -> Path:
        sumstats = sorted(gwas_dir.glob("*.tsv.gz"))
        if not sumstats:
            raise StageError(f"stage {name}: {gwas_dir} holds no summary statistics (*.tsv.gz)")
        repeated = [a for f in sumstats for a in ("--sumstats", str(f))]
        return r.stage(name, "clump", [*repeated, "--bfile", str(bfile), "--out", str(out / name)],
                       [gwas_dir] + bed_inputs, out / name, cfg.stages["clump"], section="clump")

    clump_dir = clump("clump", out / "gwas")
    files["loci"] = clump_dir / "loci.tsv"
    files["clumps"] = clump_dir / "clumps.tsv"
    if cfg.biomarker_gwas and (out / "gwas_biomarkers").exists():
        clump("clump_biomarkers", out / "gwas_biomarkers")

    # 5. novelty against the GWAS Catalog
    if "catalog" in inputs:
        annotated = out / "annotate" / "annotated_loci.tsv"
        wiring = ["--loci", str(files["loci"]), "--catalog", str(inputs["catalog"]), "--out", str(annotated)]
        if "genes" in inputs:
            wiring += ["--genes", str(inputs["genes"])]
        r.stage("annotate", "annotate", wiring, [files["loci"], inputs["catalog"], inputs.get("genes")],
                out / "annotate", cfg.stages["annotate"], manifest=Path(f"{annotated}.manifest.json"))
        files["annotated_loci"] = annotated

    # 6. Mendelian randomization: EDFs (instruments = clumped index variants) -> diseases
    if (out / "gwas_outcomes").exists():
        def mr(name: str, gwas_dir: Path, clumps: Path) -> Path | None:
            if len(read_table(clumps)) == 0:
                log.warning("stage %s: no index variants in %s, so no instruments: MR skipped", name, clumps)
                r.records.append(StageRecord(name, "no-instruments", 0.0, out / name))
                return None
            return r.stage(name, "mr", ["--exposure", str(gwas_dir), "--outcome", str(out / "gwas_outcomes"),
                                        "--instruments", str(clumps), "--out", str(out / name)],
                           [gwas_dir, out / "gwas_outcomes", clumps], out / name, cfg.stages["mr"], section="mr")

        mr_dir = mr("mr", out / "gwas", files["clumps"])
        if mr_dir is not None:
            files["mr_results"] = mr_dir / "mr_results.tsv"
        if cfg.biomarker_gwas and (out / "clump_biomarkers").exists():
            mr("mr_biomarkers", out / "gwas_biomarkers", out / "clump_biomarkers" / "clumps.tsv")

    for key in ("loci", "mr_results"):
        if key in files and files[key].exists():
            shutil.copyfile(files[key], out / files[key].name)
    from edfgen.report import write_report

    files["report"] = write_report(out, bfile=bfile, biomarkers=inputs.get("biomarkers"),
                                   outcomes=inputs.get("outcomes"), truth=inputs.get("truth"))
    m = Manifest(command="edfgen run", parameters={"config": cfg.raw, "force": force})
    m.extra["stages"] = [{"name": s.name, "status": s.status, "seconds": round(s.seconds, 2)} for s in r.records]
    m.add_inputs([cfg.source])
    m.outputs = sorted({str(p.relative_to(out)) for p in out.iterdir() if p.is_file() and p.name != MANIFEST})
    m.write(out)
    return PipelineResult(out=out, stages=r.records, files=files)
