"""The main job end to end: ``edfgen run --config pipeline.toml`` and ``edfgen demo``.

The pipeline chains the stages (simulate ▸ extract ▸ interpret ▸ pca ▸ gwas ▸ clump ▸ annotate ▸ mr ▸ ldsc,
finemap, coloc ▸ report) into one output directory with a subdirectory per stage. Each stage calls the library
function of the documented command: ``run(options)`` of the command's module (:func:`edfgen.commands.run`) with its options
dataclass (``edfgen.commands.<command>.<Command>Options``), built from the stage's TOML section, which takes exactly
that command's options (``batch_size = 64`` is ``edfgen extract --batch-size 64``; a key is the long option
without dashes, ``-`` or ``_``, such as ``covariates`` or ``max_plots``, or the options field's name), so a user can
rerun any stage by hand; the pipeline sets the wiring options (inputs, ``out``) itself.
Every key and every value's type is checked when the configuration is read, before any stage runs
(``maf = "abc"``, ``two_sample_split = "false"`` and ``out = 5`` are one-line errors naming the key).

Resume: after a stage succeeds, its key (sha256 of the stage's command, options and wiring, a checkpoint by its
content, and of its inputs by the one provenance rule :func:`edfgen.formats.manifest.input_digest`, each input hashed
once per run: the stage's own manifest reuses the digest; and of the code, but for its documentation, comments and
version: :func:`edfgen.pipeline_checks.same_code`) is recorded in ``pipeline_state.json`` with the fingerprints of the
outputs its manifest lists; a rerun skips every stage whose key is unchanged, whose manifest is complete and whose
outputs are as it wrote them (:func:`edfgen.pipeline_checks.stage_done`), so a crash or Ctrl-C costs only the
unfinished stage (``edfgen run --ignore-code-changes`` also skips those only edfgen's code changed for). A stage that
must run again first removes what its earlier run's manifest lists (complete, or in progress after a crash) and
nothing else; the pipeline never passes ``--force`` to a stage, so a stage folder holding a file edfgen did not write
makes that stage refuse with one line naming it, checked before anything is removed. Stages are wired by the
configuration only, never by a folder that exists; what an earlier run's stage that this run does not run wrote is
removed at the end (:meth:`_Runner.drop_stale`).

``edfgen demo`` (:func:`run_demo`) simulates the default cohort, writes ``pipeline.toml`` beside the
results (so ``edfgen run --config edfgen-demo/pipeline.toml`` repeats or edits the same run), runs the
pipeline with the shipped ``tiny`` checkpoint and writes ``report.html`` with a truth section.

Configuration (TOML; unknown sections or keys are errors)::

    [run]
    out = "edfgen-run"          # output directory (required)
    two_sample_split = false    # exposure GWAS on one half of the samples, outcome GWAS on the other
    biomarker_gwas = false      # also GWAS/clump/MR the biomarker table (truth checks, EDF↔trait comparison)
    genetics = false            # also ldsc (h², rg), finemap (SuSiE) and coloc stages (on in the demo)

    [inputs]                    # paths are relative to the TOML file (edfgen.commands.study_inputs)
    ecg = "cohort/ecg"          # ECG files or a directory (required unless [simulate])
    bfile = "cohort/genotypes"  # or pfile, vcf, bgen (+ sample, {chr} templates); keep, remove, extract,
                                # chr, min_info, reference_genome: the genotype filters of every stage
    covariates = "cohort/covariates.tsv"   # (or covar); without PC columns the pca stage adds PCs
    biomarkers = "cohort/physiology.tsv"   # optional: interpret and biomarker GWAS
    outcomes = "cohort/outcomes.tsv"       # optional: binary disease GWAS for MR
    catalog = "gwas_catalog.tsv"           # optional: novelty (annotate)
    genes = "genes.bed"                    # optional: nearest genes
    truth = "cohort/truth.json"            # optional: the report's truth section

    [simulate]   # optional: make the cohort first (options of `edfgen simulate`)
    [extract]    # options of `edfgen extract`
    [interpret]  # options of `edfgen interpret`
    [pca]        # options of `edfgen pca` (k = 10); [run] pca = true|false overrides the default
    [gwas]       # options of `edfgen gwas`, for EDFs (and biomarkers: all their columns, whatever pheno_cols/pheno_prefix)
    [gwas_outcomes]  # options of `edfgen gwas --binary` for the outcomes
    [clump]      # options of `edfgen clump`
    [annotate]   # options of `edfgen annotate`
    [mr]         # options of `edfgen mr`; outcomes = [{path = "...", n_cases = 1, n_controls = 2}, ...]
    [ldsc]       # options of `edfgen ldsc` (with genetics = true)
    [finemap]    # options of `edfgen finemap`
    [coloc]      # options of `edfgen coloc`
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from edfgen import DEFAULT_CHECKPOINT
from edfgen.commands import run as run_command
from edfgen.commands import study_inputs as si
from edfgen.commands.study_inputs import result_counts, split_halves, write_if_changed
from edfgen.exceptions import ConfigError, EdfgenError, InputError, OutputError, StageError
from edfgen.formats.lock import HIDDEN_NAMES, folder_lock
from edfgen.formats.manifest import (MANIFEST, Manifest, finite_json, mark_in_progress,
                                     memoised_digests, read_manifest, remove_outputs, unlisted_file_said)
from edfgen.formats.tables import atomic_path, atomic_write, clean_temp_files, read_table, write_table
from edfgen.pipeline_checks import (code_key, current_code, drop_earlier_outputs, earlier_outputs, left_in, stage_key,
                                    output_fingerprints, package_code_digest, ran_with_other_code, stage_done)

log = logging.getLogger(__name__)

STATE_FILE = "pipeline_state.json"

from edfgen.pipeline_config import (  # noqa: F401  (the configuration API, re-exported)
    INPUT_KEYS, RUN_KEYS, STAGE_SECTIONS, DemoOptions, PipelineConfig, RunOptions, config_from_dict, load_config,
    render_toml,
)

@dataclass(frozen=True)
class StageRecord:
    """What the pipeline did with one stage."""

    name: str
    status: str  # "ran" | "skipped" (up to date) | "no-instruments" (MR without index variants)
    seconds: float
    out: Path


@dataclass(frozen=True)
class PipelineResult:
    """Result of :func:`run_pipeline`.

    Attributes
    ----------
    out : Path
    stages : list of StageRecord
        Each stage's name, status (ran, skipped, no-instruments), seconds and folder.
    files : dict of str to Path
        The main outputs by name (``edfs``, ``loci``, ``clumps``, ...).
    """

    out: Path
    stages: list[StageRecord]
    files: dict[str, Path]


class _Runner:
    def __init__(self, cfg: PipelineConfig, *, force: bool = False, ignore_code_changes: bool = False):
        self.cfg, self.force, self.keep_other_code = cfg, force, ignore_code_changes
        self.state_path = cfg.out / STATE_FILE
        # --force reruns every stage (no key matches) but keeps the names of the stages run before (drop_stale)
        self.state = {k: {**v, "key": None} if force and isinstance(v, dict) else v
                      for k, v in self._read_state().items()}
        self.records: list[StageRecord] = []
        self.tables: list[Path] = []   # the tables the run itself writes (covariates with PCs, split halves)

    def table(self, df, path: Path) -> Path:
        """Write a pipeline-made table (:func:`write_if_changed`), one of the run's own files."""
        self.tables.append(path)
        return write_if_changed(df, path)

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
        wired = {k: finite_json(v) for k, v in wiring.items() if v is not None}
        tuned = options.to_dict(exclude=STAGE_SECTIONS[section][1])
        done = self.state.get(name, {})      # (its code kept after a documentation-only upgrade: current_code)
        inputs_key, code = stage_key(command, type(options), tuned, wired, inputs, self.cfg.out), current_code(done)
        key = code_key(inputs_key, code)      # the code that made the outputs keys them too (review s34c #1)
        other = ran_with_other_code(done, inputs_key)     # same options and inputs, other edfgen code
        if isinstance(done, dict) and (done.get("key") == key or other and self.keep_other_code) and stage_done(
                name, manifest, done.get("outputs")):
            log.log(logging.WARNING if other else logging.INFO, "stage %s: %s, skipped", name, "up to date" if not
                    other else f"made by other edfgen code ({str(done.get('code'))[:18]}…), kept (--ignore-code-changes)")
            self.records.append(StageRecord(name, "skipped", 0.0, out_dir))
            clean_temp_files(out_dir)       # (a complete stage: nothing to judge; _run_stages no longer cleans here)
            return out_dir
        if other:
            log.info("edfgen's code changed since %s ran: rerunning", name)
        cli_names = {f.name: (f.metadata.get("cli") or (f"--{f.name.replace('_', '-')}",))[0]
                     for f in dataclasses.fields(options)}
        shown = " ".join(cli_names.get(k, f"--{k.replace('_', '-')}") + ("" if isinstance(v, bool) else f" {' '.join(map(str, v)) if isinstance(v, list) else v}")
                         for k, v in wired.items() if v is not False)
        print(f"[edfgen run] {name}: started: {command} {shown if len(shown) < 400 else shown[:400] + ' ...'}",
              file=sys.stderr)
        t0 = time.perf_counter()
        try:
            # the stage's earlier output (what its manifest lists, complete or in progress after a crash)
            # is replaced; anything else in a stage's folder makes it refuse (no --force on the user's behalf),
            # checked before anything is removed
            stray = unlisted_file_said(out_dir) if manifest == out_dir / MANIFEST else None   # (and why: review s40)
            if stray is not None:
                raise InputError(f"--out {out_dir}: {stray}: edfgen run replaces only its own files, --force or not")
            remove_outputs(manifest.parent, command=command, name=manifest.name, option=f"{name}:")
            clean_temp_files(out_dir)    # once judged: removed first, they made a killed stage's files not its own
            result = run_command(dataclasses.replace(options, **wiring))
        except EdfgenError as exc:
            msg = str(exc)
            if "use --force" in msg:   # edfgen run never passes --force to a stage: that hint cannot help here
                held = left_in(out_dir)    # (named: an empty folder of yours is refused too)
                msg = msg[:msg.index("(use --force")].rstrip() + (
                    f" (holding {held or 'files'} that edfgen did not write: move them away; edfgen run replaces only "
                    "its own files, --force or not)")
            exc.args = (f"stage {name}: {msg}",)
            raise
        dt = time.perf_counter() - t0
        counts = result_counts(result)
        print(f"[edfgen run] {name}: done in {dt:.1f} s" + (f" ({counts})" if counts else ""), file=sys.stderr)
        self.state[name] = {"key": key, "code": code, "code_digest": package_code_digest(), "command": command,
                            "options": tuned, "wiring": wired, "seconds": round(dt, 2),
                            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                            "outputs": output_fingerprints(manifest)}   # a stage is done while they are as written
        self._write_state()
        self.records.append(StageRecord(name, "ran", dt, out_dir))
        return out_dir

    def _configured_paths(self) -> list[Path]:
        """Every path the configuration names ([inputs], the stages' options, [mr] outcomes), resolved: what a
        stale stage's outputs must not be removed from under (review s30i: an earlier run's gwas_outcomes folder
        given as [mr] outcomes was read, then removed)."""
        values = [*self.cfg.inputs.values(), *(o.path for o in self.cfg.mr_outcomes)]
        for options in self.cfg.stages.values():
            for v in options.to_dict().values():
                values += v if isinstance(v, (list, tuple)) else [v]
        return [Path(v).expanduser().resolve() for v in values
                if isinstance(v, (str, Path)) and str(v) and len(str(v)) < 4096]

    def drop_stale(self) -> None:
        """Remove the outputs of the stages that an earlier run of this folder ran and this one did not (an input
        or section no longer configured, MR without instruments, no loci to fine-map), as each one's manifest lists
        them (a file of the user's there is kept), and forget them: no report, reader or later run takes them for
        this run's. The cohort of ``simulate`` is data, not a result: it stays."""
        current = {s.name for s in self.records if s.status != "no-instruments"}
        used = self._configured_paths()
        for name in [n for n in self.state if n not in current and n != "simulate"]:
            entry = self.state.pop(name)
            target = ((entry if isinstance(entry, dict) else {}).get("wiring") or {}).get("out")
            if not isinstance(target, str) or self.cfg.out.resolve() not in Path(target).resolve().parents:
                continue
            if any(u == Path(target).resolve() or Path(target).resolve() in u.parents for u in used):
                log.info("stage %s is no longer part of this run; its outputs are kept: the configuration reads "
                         "them (%s)", name, target)
                continue
            target = Path(target)
            manifest = Path(f"{target}.manifest.json") if target.suffix else target / MANIFEST
            try:
                gone = remove_outputs(manifest.parent, command=entry.get("command"), name=manifest.name,
                                      option=f"{name}:")
            except (InputError, OutputError, OSError) as exc:   # (OutputError: one may not be removed)
                log.warning("stage %s is no longer part of this run; its earlier outputs were kept: %s", name, exc)
                continue
            log.info("stage %s is no longer part of this run: %d earlier output(s) removed", name, len(gone))
            clean_temp_files(manifest.parent)     # once removed (a stage killed there: s41safefix2 #4)
            if manifest.exists() and (left := unlisted_file_said(manifest.parent, name=manifest.name)):
                log.warning("stage %s: %s/%s; its %s stays", name, manifest.parent, left, manifest.name)
            if not any(manifest.parent.iterdir()):
                manifest.parent.rmdir()
        self._write_state()


def run_pipeline(cfg: PipelineConfig, *, force: bool = False, ignore_code_changes: bool = False) -> PipelineResult:
    """Run every configured stage in order, skipping those already up to date.

    Parameters
    ----------
    cfg
        From :func:`load_config`.
    force
        Ignore the recorded state and rerun every stage (each still replaces only its own earlier
        outputs, as listed in its manifest).
    ignore_code_changes
        Keep (skip, with a warning) a stage that is up to date but for edfgen's code (an upgrade or an edit:
        :func:`~edfgen.pipeline_checks.code_identity`), as snakemake's ``--rerun-triggers`` without ``code``;
        its record keeps the code that made it, so a later run without this reruns it.

    Returns
    -------
    PipelineResult
        Stage records and the main output files (``edfs``, ``loci``, ``mr_results``, ...).
    """
    _check_out(cfg.out)
    with memoised_digests(), folder_lock(cfg.out, "edfgen run", option="[run] out"):  # one writer per folder
        return _run_stages(cfg, force=force, ignore_code_changes=ignore_code_changes)


def _check_out(out: Path) -> None:
    """Refuse an ``out`` that is a file or holds another command's output (its ``manifest.json``:
    a ``gwas`` folder, say); create it otherwise."""
    if out.exists() and not out.is_dir():
        raise InputError(f"[run] out {out}: exists and is not a directory")
    previous = read_manifest(out)
    if previous is not None and previous.get("command") != "edfgen run":
        raise InputError(f"[run] out {out}: holds the output of '{previous.get('command')}' ({MANIFEST}); "
                         "give edfgen run a folder of its own")
    out.mkdir(parents=True, exist_ok=True)


def _run_stages(cfg: PipelineConfig, *, force: bool, ignore_code_changes: bool = False) -> PipelineResult:
    out = cfg.out                       # (a folder: run_pipeline's _check_out)
    for d in (out, out / "split", out / "covariates", out / "report_figures"):    # the run's own folders (s41safefix2
        clean_temp_files(d, recursive=d != out)    # #4); the stages': each by _Runner.stage, once judged (s41safefix #3)
    earlier, earlier_owned = earlier_outputs(out)    # the earlier run's own files, judged before the mark below
    # the run's summary files (loci.tsv, report.html ...) stay from the earlier run until this one ends: its manifest
    # says so while stages rerun, so a run that fails halfway does not leave them marked complete beside the new ones
    mark_in_progress(out / MANIFEST, note="an edfgen run is updating this folder; its summary files are the "
                                          "earlier run's until it finishes")
    r = _Runner(cfg, force=force, ignore_code_changes=ignore_code_changes)
    inputs = dict(cfg.inputs)
    files: dict[str, Path] = {}
    st = cfg.stages

    if "simulate" in st:
        cohort = out / "cohort"
        r.stage("simulate", "simulate", {"out": cohort}, [], cohort)
        defaults = {"ecg": cohort / "ecg", "bfile": cohort / "genotypes", "covar": cohort / "covariates.tsv",
                    "biomarkers": cohort / "physiology.tsv", "outcomes": cohort / "outcomes.tsv",
                    "truth": cohort / "truth.json"}
        biobank = cohort / "biobank"
        if (biobank / "genotypes.bed").exists():   # [simulate] biobank = N: the outcome GWAS's own people
            defaults.update({"outcomes": biobank / "outcomes.tsv", "outcomes_bfile": biobank / "genotypes",
                             "outcomes_covar": biobank / "covariates.tsv"})
        for k, v in defaults.items():
            inputs.setdefault(k, v)
    geno = si.genotype_wiring(inputs)
    bfile = inputs.get("bfile")
    run_pca = cfg.pca or (cfg.pca is None and not si.has_pcs(inputs["covar"]))
    if run_pca and "pfile" in inputs:    # refused before any stage runs, not after extract (review s30j F1)
        raise ConfigError(f"[inputs] pfile {inputs['pfile']}: the pca stage (on because "
                          + ("[run] pca = true or a [pca] section" if cfg.pca else "the covariates hold no PC columns")
                          + ") reads bfile, bgen, vcf or mt, not PLINK 2 files; convert with plink2 --pfile "
                          f"{inputs['pfile']} --make-bed, or set [run] pca = false (covariates with PC columns)")
    si.check_stage_covariates(inputs, st, run_pca=run_pca)   # before any stage, not after extract (review s31d)
    bed_inputs = list(cfg.genotype_files) or [Path(f"{bfile}.bed"), Path(f"{bfile}.bim"), Path(f"{bfile}.fam")]

    # 1. EDFs from the frozen encoder
    edfs = out / "extract" / "edfs.tsv"
    wiring = {"ecg": [inputs["ecg"]], "out": edfs, "id_map": inputs.get("id_map")}
    fam = st["extract"].fam or next((p for p in bed_inputs if Path(p).suffix in (".fam", ".psam")), None)
    wiring["fam"] = fam    # edfs.tsv.pheno takes the genotypes' FIDs (FID = IID: plink skips relatives' rows)
    r.stage("extract", "extract", wiring, [inputs["ecg"], inputs.get("id_map"), fam],
            out / "extract", manifest=Path(f"{edfs}.manifest.json"))
    files["edfs"] = edfs

    # 2. which EDFs track which biomarkers
    # ([interpret] measure_from replaces the biomarker table: biomarkers measured on those ECGs, whose folder
    # is keyed like extract's --ecg so that changed ECGs rerun the stage)
    measure_from = st["interpret"].measure_from
    if "biomarkers" in inputs or measure_from:
        bio_input = Path(measure_from) if measure_from else inputs["biomarkers"]
        w_int = {"edf": edfs, "biomarkers": None if measure_from else bio_input, "measure_from": measure_from,
                 "covar": inputs["covar"], "out": out / "interpret"}     # (measure_from also in the 'started' line)
        r.stage("interpret", "interpret", w_int, [edfs, bio_input, inputs["covar"]], out / "interpret")

    # 3. GWAS (exposures on half A and outcomes on half B when two_sample_split)
    exposure_pheno, outcome_pheno = edfs, inputs.get("outcomes")
    split_dir = out / "split"
    if cfg.two_sample_split:
        split_dir.mkdir(exist_ok=True)
        edf_df = read_table(edfs, id_column="IID")
        half_a = split_halves(edf_df["IID"])
        exposure_pheno = r.table(edf_df[edf_df["IID"].isin(half_a)], split_dir / "edfs.half_a.tsv")
        if outcome_pheno is not None and "outcomes_bfile" not in inputs:
            o = read_table(outcome_pheno, id_column="IID")
            outcome_pheno = r.table(o[~o["IID"].isin(half_a)], split_dir / "outcomes.half_b.tsv")

    # 3a. genotype PCs for the GWAS covariates ([pca]; by default when the covariates hold none)
    covar, extra_covs = inputs["covar"], {}
    if run_pca:
        # (PCA and the LD panel take no --min-info: it filters association results)
        r.stage("pca", "pca", {**{k: v for k, v in geno.items() if k != "min_info"}, "out": out / "pca"},
                bed_inputs, out / "pca")
        (out / "covariates").mkdir(exist_ok=True)
        merged, pc_names = si.covariates_with_pcs(covar, out / "pca" / "pcs.tsv")
        covar = r.table(merged, out / "covariates" / "covariates_pcs.tsv")
        for section in ("gwas", "gwas_outcomes"):
            chosen = st[section].covar_cols
            if chosen:
                extra_covs[section] = {"covar_cols": si.covar_cols_with_pcs(chosen, pc_names)}

    def gwas(name: str, section: str, pheno: Path, binary: bool, other_bfile: Path | None = None,
             other_covar: Path | None = None, all_columns: bool = False) -> None:
        if other_bfile is None:   # the study's genotypes and covariates (+ PCs)
            gw, cv, used, extra = geno, covar, bed_inputs, extra_covs.get(section, {})
        else:                     # a separate biobank's PLINK fileset and covariates (the outcome GWAS)
            gw, cv, extra = {"bfile": str(other_bfile)}, other_covar or inputs["covar"], {}
            used = [Path(f"{other_bfile}.{ext}") for ext in ("bed", "bim", "fam")]
        if all_columns:           # [gwas] pheno_cols/pheno_prefix choose EDFs: the biomarker GWAS takes every column
            extra = {**extra, "pheno_cols": None, "pheno_prefix": None}
        w = {**gw, "pheno": pheno, "covar": cv, "out": out / name, "binary": binary, **extra}
        r.stage(name, section, w, used + [pheno, cv], out / name)

    gwas("gwas", "gwas", exposure_pheno, False)
    if outcome_pheno is not None:
        # a separate biobank (simulated: cohort/biobank) gives the disease GWAS its own, larger sample
        gwas("gwas_outcomes", "gwas_outcomes", outcome_pheno, True, inputs.get("outcomes_bfile"),
             inputs.get("outcomes_covar"))
    # only the stages this configuration asks for read each other's folders: never one an earlier run left
    gwas_dirs = [out / "gwas"] + ([out / "gwas_outcomes"] if outcome_pheno is not None else [])
    biomarker_gwas = cfg.biomarker_gwas and "biomarkers" in inputs
    if biomarker_gwas:
        gwas_dirs.append(out / "gwas_biomarkers")
        bio = inputs["biomarkers"]
        if cfg.two_sample_split:
            b = read_table(bio, id_column="IID")
            bio = r.table(b[b["IID"].isin(half_a)], split_dir / "biomarkers.half_a.tsv")
        gwas("gwas_biomarkers", "gwas", bio, False, all_columns=True)

    # 4. independent loci
    def clump(name: str, gwas_dir: Path) -> Path:
        from edfgen.formats.sumstats import expand_sumstats

        try:
            sumstats = expand_sumstats([gwas_dir])
        except InputError:
            raise StageError(f"stage {name}: {gwas_dir} holds no summary statistics (*.tsv.gz)") from None
        w = {"sumstats": sumstats, **{k: v for k, v in geno.items() if k != "min_info"}, "out": out / name}
        return r.stage(name, "clump", w, [gwas_dir] + bed_inputs, out / name)

    clump_dir = clump("clump", out / "gwas")
    files["loci"] = clump_dir / "loci.tsv"
    files["clumps"] = clump_dir / "clumps.tsv"
    if biomarker_gwas:
        clump("clump_biomarkers", out / "gwas_biomarkers")

    # 5. novelty against the GWAS Catalog
    if "catalog" in inputs:
        annotated = out / "annotate" / "annotated_loci.tsv"
        w_ann = {"loci": files["loci"], "catalog": inputs["catalog"], "out": annotated, "genes": inputs.get("genes")}
        a = st["annotate"]
        if bfile is not None and a.ld_bfile is None and not a.sumstats:   # regional plots per locus (report)
            w_ann.update(ld_bfile=str(bfile), sumstats=(str(out / "gwas"),), regional_plots=a.regional_plots or 30)
        if "reference_genome" in inputs:
            w_ann["reference_genome"] = inputs["reference_genome"]
        r.stage("annotate", "annotate", w_ann,
                [files["loci"], inputs["catalog"], inputs.get("genes"), out / "gwas"], out / "annotate",
                manifest=Path(f"{annotated}.manifest.json"))
        files["annotated_loci"] = annotated

    # 6. Mendelian randomization: EDFs (instruments = clumped index variants) -> diseases
    outcome_paths = [d for d in gwas_dirs if d.name == "gwas_outcomes"] + [o.path for o in cfg.mr_outcomes]
    if outcome_paths:
        counts = tuple(c for c in (o.case_counts() for o in cfg.mr_outcomes) if c)

        def mr(name: str, gwas_dir: Path, clumps: Path) -> Path | None:
            if len(read_table(clumps)) == 0:
                log.warning("stage %s: no index variants in %s, so no instruments: MR skipped", name, clumps)
                r.records.append(StageRecord(name, "no-instruments", 0.0, out / name))
                return None
            w = {"exposure": (gwas_dir,), "outcome": tuple(outcome_paths), "instruments": clumps, "out": out / name,
                 **({"case_counts": counts} if counts else {})}
            # the exposure cohort's genotypes are the LD panel: instruments re-clumped at r2 0.001 / 10 Mb, in the
            # people of [inputs] keep/remove as every stage (a bfile too: review s31e #2)
            if st["mr"].ld_bfile is None:
                w.update({k: v for k, v in geno.items() if k not in ("bfile", "min_info")},
                         **({"ld_bfile": str(bfile)} if bfile is not None else {}))
            return r.stage(name, "mr", w, [gwas_dir, *outcome_paths, clumps] + bed_inputs, out / name)

        mr_dir = mr("mr", out / "gwas", files["clumps"])
        if mr_dir is not None:
            files["mr_results"] = mr_dir / "mr_results.tsv"
        if biomarker_gwas:
            mr("mr_biomarkers", out / "gwas_biomarkers", out / "clump_biomarkers" / "clumps.tsv")

    from edfgen.commands.study_loci import catalog_version, study_loci

    if files["loci"].exists():   # the study's loci: lead effects, tracked biomarker, gene, novelty
        from edfgen.formats.genes import packaged_genes

        build = inputs.get("reference_genome", st["gwas"].reference_genome)
        write_table(study_loci(files["loci"], out / "gwas", annotated=files.get("annotated_loci"), edfs=edfs,
                               biomarkers=inputs.get("biomarkers"),
                               genes=inputs.get("genes") or packaged_genes(build),
                               catalog_version=catalog_version(inputs.get("catalog"))), out / "loci.tsv")
    if cfg.genetics:
        _genetics_stages(r, out, files, {k: v for k, v in geno.items() if k != "min_info"}, bed_inputs, gwas_dirs)
    r.drop_stale()

    mr_top = out / "mr_results.tsv" if "mr_results" in files and files["mr_results"].is_file() else None
    if mr_top is not None:
        with atomic_path(mr_top) as tmp:
            shutil.copyfile(files["mr_results"], tmp)
    elif "mr_results.tsv" in earlier:     # the earlier run's MR (no instruments now, or no outcomes): not this run's
        (out / "mr_results.tsv").unlink(missing_ok=True)
    from edfgen.report import score_truth, write_report
    from edfgen.report_mr import truth_summary, write_truth_summary
    from edfgen.simulate.truth import planted_links

    truth = inputs.get("truth")
    if truth is not None and Path(truth).exists():    # a simulated cohort: what was found of what was planted
        planted = json.loads(Path(truth).read_text())
        ts = score_truth(out, planted)
        files["truth_summary"] = write_truth_summary(out, truth_summary(ts.loci, ts.mr, ts.edf_mr,
                                                                        links_in_truth=len(planted_links(planted))))
    files["report"] = write_report(out, bfile=bfile, biomarkers=inputs.get("biomarkers"),
                                   outcomes=inputs.get("outcomes"), truth=inputs.get("truth"),
                                   command=" ".join(["edfgen", *sys.argv[1:]]) if sys.argv[1:2] in (["run"], ["demo"])
                                   else f"edfgen run --config {cfg.source}",
                                   reference_genome=inputs.get("reference_genome", st["gwas"].reference_genome),
                                   catalog=catalog_version(inputs.get("catalog")) if "catalog" in inputs else None)
    m = Manifest(command="edfgen run", parameters={"config": cfg.raw, "force": force})
    m.extra["stages"] = [{"name": s.name, "status": s.status, "seconds": round(s.seconds, 2)} for s in r.records]
    m.add_inputs([cfg.source])
    # only what the run itself wrote in its folder (the stages' folders have their own manifests): a user's file
    # kept there (out = ".", inputs beside the TOML) is not the run's, nor unfinished while a rerun runs
    own = [out / "loci.tsv" if files["loci"].exists() else None, mr_top, files.get("truth_summary"),
           files.get("report"), r.state_path, *r.tables, out / "report_figures"]
    drop_earlier_outputs(out, earlier, own, owned=earlier_owned)    # an earlier configuration's own files
    m.outputs = sorted({str(Path(p).relative_to(out)) for p in own if p is not None and Path(p).is_file()}
                       | ({"report_figures/"} if (out / "report_figures").is_dir() else set()))
    m.write(out)
    return PipelineResult(out=out, stages=r.records, files=files)


def _genetics_stages(r: "_Runner", out: Path, files: dict[str, Path], panel: dict, bed_inputs: list[Path],
                     gw: list[Path]) -> None:
    """7. ([run] genetics = true; on in the demo) LD score regression of EDFs (and outcomes, biomarkers), SuSiE
    fine-mapping of the EDF loci, colocalisation of EDF loci with the diseases; ``panel``: the study's genotype
    options (bfile, pfile or bgen, and the sample filters), the in-sample LD reference of all three; ``gw``: the
    GWAS folders of this run."""
    r.stage("ldsc", "ldsc", {"sumstats": tuple(gw), **panel, "out": out / "ldsc"}, gw + bed_inputs, out / "ldsc")
    if len(read_table(files["loci"])) == 0:
        log.warning("stages finemap, coloc: no loci in %s; skipped", files["loci"])
        return
    r.stage("finemap", "finemap", {"loci": files["loci"], "sumstats": (out / "gwas",), **panel,
                                   "out": out / "finemap"}, [files["loci"], out / "gwas"] + bed_inputs, out / "finemap")
    if out / "gwas_outcomes" in gw:
        r.stage("coloc", "coloc", {"exposure": (out / "gwas",), "outcome": (out / "gwas_outcomes",),
                                   "loci": files["loci"], **panel, "out": out / "coloc"},
                [files["loci"], out / "gwas", out / "gwas_outcomes"] + bed_inputs, out / "coloc")


# ----------------------------------------------------------------------------------------------- edfgen demo

#: the stages' options shared by the demo and the tests' small run
STAGE_OPTIONS: dict[str, dict] = {
    "extract": {"checkpoint": DEFAULT_CHECKPOINT},
    # the simulator writes NA for a missing value, and -9.0 is a real QRS axis of its physiology table (the
    # biomarker GWAS): plink2's missing code (gwas --missing-code) is off
    "gwas": {"covar_cols": "age,sex,centre", "missing_code": "none"},
    "gwas_outcomes": {"covar_cols": "age,sex,centre"},
    "clump": {},
    "annotate": {},
    "mr": {},
    "ldsc": {"rg": True, "rg_across": True},   # EDFs x diseases x biomarkers (not the 8,128 EDF x EDF pairs)
    "finemap": {},
    "coloc": {},
}


#: people in the demo's biobank without ECGs, per cohort participant (its disease GWAS is MR's outcome sample)
DEMO_BIOBANK_RATIO = 2


def demo_config(*, n: int, seed: int) -> dict:
    """The demo's pipeline configuration: simulate (the ECG cohort of ``n`` and a biobank of
    ``DEMO_BIOBANK_RATIO * n`` people without ECGs), then every stage; MR is two-sample as in practice:
    exposures (EDFs, biomarkers) from the cohort's GWAS, diseases from the biobank's."""
    return {"run": {"out": ".", "two_sample_split": False, "biomarker_gwas": True, "pca": False,
                    "genetics": True},
            "inputs": {"catalog": str(packaged_catalog())},
            "simulate": {"n": n, "seed": seed, "biobank": DEMO_BIOBANK_RATIO * n},
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
    held = out.exists() and any(p.name not in HIDDEN_NAMES for p in out.iterdir())   # (a killed run's lock is not data)
    if held and not (out / STATE_FILE).exists() and not force:
        raise InputError(f"--out {out}: directory exists, is not empty and holds no earlier demo (use --force)")
    _check_out(out)                     # never another command's folder, even with --force
    raw = demo_config(n=n, seed=seed)
    header = "# edfgen demo pipeline: `edfgen run --config pipeline.toml` reruns it (finished stages are skipped).\n"
    (out / "pipeline.toml").write_text(header + render_toml(raw))
    cfg = config_from_dict(raw, base=out, source=out / "pipeline.toml")
    res = run_pipeline(cfg, force=force)
    return DemoResult(out=out, pipeline=res, report=res.files["report"], seconds=time.perf_counter() - t0)
