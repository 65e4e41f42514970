"""Every output byte-identical across a refactor: run edfgen's commands on fixed inputs and hash every output.

The script drives edfgen only through its command line (``python -m edfgen <command> ...`` with
``PYTHONPATH=<tree>``; it never imports edfgen), so it runs unchanged on any module layout.

1. Inputs (``--inputs DIR``; made once, only if absent, with the tree being tested, and then reused by
   every later run so that only the code differs): ``edfgen simulate`` (n = 2000, 2 chromosomes x 3000
   SNPs, seed 20251205, effect scale 3), a 1000-record ECG subset (its participants are "half A": EDF and
   trait GWAS; the outcome GWAS uses the other 1000), a 200-record subset for the ``small`` checkpoint
   with an id map (two records per participant), the packaged ECG-trait GWAS Catalog extract and the
   tests' small catalog / gene files copied from the tree, and plink2 exports of the genotypes (PGEN,
   BGEN 1.2 8-bit + .sample, bgzipped VCF). ``inputs.json`` holds the sha256 of every input file; each
   run checks them (and, with ``--compare``, that they are the inputs of the recorded run).
2. Commands (cwd = ``--work``, inputs reached through the symlink ``in`` -> the inputs directory, so the
   command lines and any path an output echoes are the same in every run): see ``steps()``.
3. Every file under ``<work>/out`` is hashed (sha256), except the ``EXCLUDE`` rules (run-specific by
   construction: manifests with times, argv and absolute paths; the pipeline's state file with its
   timestamps). Plain-gzip files (pandas' ``.tsv.gz``: ``loco/*.loco.tsv.gz``, ``multivariate.tsv.gz``)
   are hashed decompressed, since their gzip header holds the write time and a temporary file name
   (BGZF GWAS-SSF files are hashed as written). Two substitutions are made before hashing, and every
   other byte counts: GWAS-SSF
   ``-meta.yaml`` files get their ``date_metadata_last_modified`` value masked (the day the file was
   written), and this run's absolute work, tree and inputs directories are replaced by ``<WORK>``,
   ``<TREE>``, ``<INPUTS>`` wherever they occur uncompressed (``model info`` prints the checkpoint's
   path; ``report.html`` names its directory). ``--record`` writes ``{relative path: sha256}``, the
   normalised and excluded files with their reasons, the commands with wall and CPU times.
4. ``--compare BEFORE.json``: table of identical / different / missing / new files per output
   directory, a unified diff of the first lines of each differing text file (``.gz`` decompressed; the
   BEFORE run's work directory must still exist for the diffs), exit status 1 if anything is not
   identical (or a command failed), 0 otherwise.

Usage::

    python benchmarks/renovation_identity.py --tree /tmp/baseline_tree --work /tmp/ident_before \\
        --record benchmarks/results/renovation_identity_before.json
    python benchmarks/renovation_identity.py --tree /work/main --work /tmp/ident_after \\
        --compare benchmarks/results/renovation_identity_before.json \\
        --record benchmarks/results/renovation_identity_after.json

Determinism: run the BEFORE tree twice (two work directories, the second with ``--compare`` against the
first) before trusting a difference; the exclusions below were chosen that way.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import gzip
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

SCRIPT_VERSION = 1
DEFAULT_INPUTS = Path("/tmp/edfgen_renovation_identity_inputs")
WORK_MARKER = ".renovation_identity_work"
INPUTS_JSON = "inputs.json"
CPU_SECONDS: dict[str, float] = {}   # command name -> user + system CPU seconds of its process tree

SIMULATE = ["--n", "2000", "--seed", "20251205", "--chromosomes", "2", "--variants-per-chromosome", "3000",
            "--effect-scale", "3"]
N_ECG = 1000          # records of the ECG subset (tiny checkpoint; GWAS "half A")
N_ECG_SMALL = 200     # records of the small-checkpoint subset (id map: 2 records per participant)
TREE_FILES = {        # inputs copied from the tree (found by name anywhere in it)
    "ecg_traits_associations_2016-01-18.tsv": "the GWAS Catalog ECG-trait extract shipped in the package",
    "gwas_catalog_v1.0.2_small.tsv": "the tests' small v1.0.2 catalog",
    "genes_small.bed": "the tests' gene BED",
    "genes_small.gtf": "the tests' gene GTF",
}

#: (glob on the path relative to out/, reason): not hashed
EXCLUDE: list[tuple[str, str]] = [
    ("manifest.json", "provenance manifest: start/finish times, run time, argv, absolute input paths, host"),
    ("*/manifest.json", "provenance manifest: start/finish times, run time, argv, absolute input paths, host"),
    ("*.manifest.json", "provenance manifest: start/finish times, run time, argv, absolute input paths, host"),
    ("*/pipeline_state.json", "edfgen run's resume state: per-stage finish timestamps and seconds"),
]
#: (glob, regex, replacement, reason): hashed after the substitution
NORMALIZE: list[tuple[str, str, str, str]] = [
    ("*-meta.yaml", r"(?m)^(date_metadata_last_modified:).*$", r"\1 <masked>",
     "GWAS-SSF metadata: date_metadata_last_modified is the day the file was written (masked; rest hashed)"),
]

GZIP_HEADER_REASON = ("plain gzip whose header holds the write time (MTIME) and the temporary file name (FNAME, "
                      "pid + random): the decompressed content is hashed (BGZF files, whose header is fixed, are "
                      "hashed as written)")

RUN_TOML = """\
# edfgen run --config run.toml (written by benchmarks/renovation_identity.py)
[run]
out = "out/run"
two_sample_split = true
biomarker_gwas = false

[inputs]
ecg = "in/ecg_subset"
bfile = "in/cohort/genotypes"
covar = "in/cohort/covariates.tsv"
biomarkers = "in/cohort/physiology.tsv"
outcomes = "in/cohort/outcomes.tsv"
catalog = "in/ecg_traits_associations_2016-01-18.tsv"
genes = "in/genes_small.bed"
truth = "in/cohort/truth.json"

[extract]
checkpoint = "tiny"
workers = 1
threads = 1

[interpret]
covariates = "age,sex"

[gwas]
covar_cols = "age,sex,centre"
pheno_cols = "edf_001..edf_012"
plots_max = 2
threads = 2

[gwas_outcomes]
covar_cols = "age,sex,centre"
pheno_cols = "AF,LBBB,GSVT"
plots_max = 1
threads = 2

[clump]

[annotate]

[mr]
nboot = 100
presso_sims = 100
max_plots = 2
seed = 5
"""


def steps(hail: bool = False) -> list[dict]:
    """The commands, in order: name, edfgen argv (relative paths; cwd = work), optional stdout file."""
    G = ["--bfile", "in/cohort/genotypes"]
    COV = ["--covar", "in/cohort/covariates.tsv"]
    PHYS = ["--pheno", "in/cohort/physiology.tsv"]
    s = [
        ("version", ["--version"], "out/version.txt"),
        ("model_info_tiny", ["model", "info", "--checkpoint", "tiny"], "out/model/info_tiny.json"),
        ("model_info_base", ["model", "info", "--config", "base"], "out/model/info_base.json"),
        ("model_export", ["model", "export", "--checkpoint", "tiny", "--out", "out/model/tiny_export"], None),
        ("simulate_small", ["simulate", "--out", "out/simulate", "--n", "200", "--seed", "11", "--chromosomes", "2",
                            "--variants-per-chromosome", "1000", "--families", "20", "--effect-scale", "2"], None),
        ("extract_tiny", ["extract", "--ecg", "in/ecg_subset", "--out", "out/extract/edfs.tsv", "--checkpoint", "tiny",
                          "--pca", "4", "--chunk-size", "256", "--batch-size", "32", "--workers", "1", "--threads", "1"],
         None),
        ("extract_small", ["extract", "--ecg", "in/ecg_subset_small", "--out", "out/extract_small/edfs.parquet",
                           "--checkpoint", "small", "--id-map", "in/id_map_small.tsv", "--pca", "3", "--workers", "0",
                           "--threads", "2"], None),
        ("interpret", ["interpret", "--edf", "out/extract/edfs.tsv", "--biomarkers", "in/cohort/physiology.tsv", *COV,
                       "--out", "out/interpret", "--seed", "3"], None),
        ("interpret_measured", ["interpret", "--edf", "out/extract_small/edfs.parquet", "--measure-from",
                                "in/ecg_subset_small", *COV, "--clusters", "3", "--out", "out/interpret_measured"], None),
        ("gwas_edf", ["gwas", *G, "--pheno", "out/extract/edfs.tsv", "--pheno-cols", "edf_001..edf_024", *COV,
                      "--covariates", "age,sex,centre", "--out", "out/gwas_edf", "--threads", "2", "--max-plots", "2"],
         None),
        ("gwas_traits", ["gwas", *G, *PHYS, *COV, "--covariates", "age,sex,centre,height_cm,bmi", "--categorical",
                         "centre", "--keep", "in/half_a.ids", "--multivariate", "--out",
                         "out/gwas_traits", "--threads", "2", "--max-plots", "2"], None),
        ("gwas_ridge_loco", ["gwas", *G, *PHYS, "--pheno-cols", "heart_rate_bpm,qt_interval_ms,qrs_duration_ms", *COV,
                             "--covariates", "age,sex", "--model", "ridge-loco", "--transform", "none", "--out",
                             "out/gwas_ridge_loco", "--threads", "2", "--no-plots"], None),
        ("gwas_outcomes", ["gwas", *G, "--pheno", "in/cohort/outcomes.tsv", "--binary", *COV, "--covariates",
                           "age,sex,centre", "--remove", "in/half_a.ids", "--engine", "fast", "--out",
                           "out/gwas_outcomes", "--threads", "2", "--max-plots", "2"], None),
        ("gwas_pfile", ["gwas", "--pfile", "in/plink2/genotypes", *PHYS, "--pheno-cols", "qt_interval_ms,pr_interval_ms",
                        *COV, "--covariates", "age,sex", "--missing-genotypes", "drop", "--hwe", "0",
                        "--genome-assembly", "GRCh38", "--out", "out/gwas_pfile", "--threads", "2", "--no-plots"], None),
        ("gwas_bgen", ["gwas", "--bgen", "in/plink2/genotypes.bgen", "--sample", "in/plink2/genotypes.sample", *PHYS,
                       "--pheno-cols", "qt_interval_ms", "--chr", "1", *COV, "--covariates", "age,sex", "--out",
                       "out/gwas_bgen", "--threads", "2", "--no-plots"], None),
        ("gwas_vcf", ["gwas", "--vcf", "in/plink2/genotypes.vcf.gz", *PHYS, "--pheno-cols", "qt_interval_ms", "--chr", "2",
                      *COV, "--covariates", "age,sex", "--out", "out/gwas_vcf", "--threads", "2", "--no-plots"], None),
    ]
    if hail:
        s += [
            ("gwas_hail_firth", ["gwas", *G, "--pheno", "in/cohort/outcomes.tsv", "--pheno-cols", "AF,LBBB", "--binary",
                                 "--engine", "hail", "--logistic-test", "firth", "--chr", "1", *COV, "--covariates",
                                 "age,sex", "--remove", "in/half_a.ids", "--out", "out/gwas_hail_firth", "--threads", "2",
                                 "--no-plots", "--tmp-dir", "tmp/hail"], None),
            ("gwas_hail_related", ["gwas", *G, *PHYS, "--pheno-cols", "qt_interval_ms,heart_rate_bpm", *COV, "--covariates",
                                   "age,sex", "--remove-related", "--out", "out/gwas_hail_related", "--threads", "2",
                                   "--no-plots", "--tmp-dir", "tmp/hail"], None),
            ("pca_hail", ["pca", *G, "--k", "4", "--out", "out/pca", "--threads", "2", "--tmp-dir", "tmp/hail"], None),
        ]
    s += [
        ("clump_edf", ["clump", "--sumstats", "out/gwas_edf", *G, "--out", "out/clump_edf"], None),
        ("clump_traits", ["clump", "--sumstats", "out/gwas_traits", *G, "--keep", "in/half_a.ids", "--truth",
                          "in/cohort/truth.json", "--regional-plots", "2", "--genes", "in/genes_small.bed", "--out",
                          "out/clump_traits"], None),
        ("clump_traits_corr", ["clump", "--sumstats", "out/gwas_traits", *G, "--study-wide", "--pheno",
                               "in/cohort/physiology.tsv", "--r2-method", "corr", "--allow-overlap", "--kb", "500",
                               "--r2", "0.05", "--out", "out/clump_traits_corr"], None),
        ("annotate_edf", ["annotate", "--loci", "out/clump_edf/loci.tsv", "--catalog",
                          "in/ecg_traits_associations_2016-01-18.tsv", "--genes", "in/genes_small.bed", "--out",
                          "out/annotate_edf/annotated_loci.tsv"], None),
        ("annotate_traits", ["annotate", "--loci", "out/clump_traits/clumps.tsv", "--catalog",
                             "in/gwas_catalog_v1.0.2_small.tsv", "--any-trait", "--ld-bfile", "in/cohort/genotypes",
                             "--genes", "in/genes_small.gtf", "--regional-plots", "1", "--sumstats", "out/gwas_traits",
                             "--out", "out/annotate_traits/annotated_clumps.tsv"], None),
        ("mr_edf", ["mr", "--exposure", "out/gwas_edf", "--outcome", "out/gwas_outcomes", "--instruments",
                    "out/clump_edf/clumps.tsv", "--out", "out/mr_edf", "--nboot", "200", "--presso-sims", "200",
                    "--max-plots", "2", "--seed", "7"], None),
        ("mr_traits_clump_proxies", ["mr", "--exposure", "out/gwas_traits", "--outcome", "out/gwas_outcomes",
                                     "--p-threshold", "5e-8", "--clump", "--proxies", *G, "--out", "out/mr_traits",
                                     "--nboot", "200", "--presso-sims", "200", "--max-plots", "2", "--seed", "7"], None),
        ("run_pipeline", ["run", "--config", "run.toml"], None),
    ]
    return [{"name": n, "argv": ["edfgen", *a, *([] if a[0] == "--version" or a[:2] == ["model", "info"]
                                                   or a[:2] == ["model", "export"] else ["-q"])], "stdout": o}
            for n, a, o in s]


# ---------------------------------------------------------------------------------------------- helpers

def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def edfgen_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONSTARTUP", "PYTHONHOME")}
    env.update(PYTHONPATH=str(tree), PYTHONHASHSEED="0", MPLBACKEND="Agg", TZ="UTC", PYTHONDONTWRITEBYTECODE="1")
    return env


def run_edfgen(python: str, tree: Path, argv: list[str], cwd: Path, log_dir: Path, name: str,
               stdout_file: Path | None = None) -> tuple[int, float]:
    """``python -m edfgen argv[1:]`` in ``cwd``; stdout/stderr to log_dir (stdout also to stdout_file)."""
    cmd = [python, "-m", "edfgen", *argv[1:]]
    log_dir.mkdir(parents=True, exist_ok=True)
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_dir / f"{name}.stdout", "wb") as out, open(log_dir / f"{name}.stderr", "wb") as err:
        rc = subprocess.call(cmd, cwd=cwd, env=edfgen_env(tree), stdout=out, stderr=err)
    dt, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS[name] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if stdout_file is not None:
        stdout_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_dir / f"{name}.stdout", stdout_file)
    return rc, dt


def tail(p: Path, n: int = 15) -> str:
    try:
        return "\n".join(p.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def find_in_tree(tree: Path, name: str) -> Path | None:
    skip = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", "build", "dist"}
    hits = []
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.endswith(".egg-info"))
        if name in files:
            hits.append(Path(root) / name)
    return sorted(hits, key=lambda p: (len(p.parts), str(p)))[0] if hits else None


def digest_dir(d: Path, skip: set[str]) -> tuple[dict[str, str], str]:
    files = {}
    for p in sorted(d.rglob("*")):
        rel = p.relative_to(d).as_posix()
        if p.is_file() and rel not in skip:
            files[rel] = sha256_file(p)
    combined = sha256_bytes("".join(f"{k}\t{v}\n" for k, v in sorted(files.items())).encode())
    return files, combined


# ---------------------------------------------------------------------------------------------- inputs

def make_inputs(inputs: Path, tree: Path, python: str) -> None:
    """Simulate and prepare the inputs (only when ``inputs`` holds no complete set)."""
    if inputs.exists() and any(inputs.iterdir()):
        raise SystemExit(f"--inputs {inputs}: exists but holds no {INPUTS_JSON} (an interrupted preparation?); "
                         "remove it or name another directory")
    inputs.mkdir(parents=True, exist_ok=True)
    print(f"preparing inputs in {inputs} with {tree}", flush=True)
    t0 = time.perf_counter()
    sim_argv = ["edfgen", "simulate", "--out", "cohort", *SIMULATE, "-q"]
    rc, dt = run_edfgen(python, tree, sim_argv, inputs, inputs / "logs", "simulate")
    if rc:
        raise SystemExit(f"simulate failed (rc {rc}):\n{tail(inputs / 'logs' / 'simulate.stderr')}")
    cohort = inputs / "cohort"
    records = sorted(p.stem for p in (cohort / "ecg").glob("*.hea"))
    if len(records) < N_ECG:
        raise SystemExit(f"simulate wrote {len(records)} ECG records, need {N_ECG}")

    def link_records(names: list[str], dest: Path) -> None:
        dest.mkdir()
        for r in names:
            for src in sorted((cohort / "ecg").glob(f"{r}.*")):
                try:
                    os.link(src, dest / src.name)
                except OSError:
                    shutil.copyfile(src, dest / src.name)

    link_records(records[:N_ECG], inputs / "ecg_subset")
    link_records(records[:N_ECG_SMALL], inputs / "ecg_subset_small")
    # simulated record names are the participants' IIDs
    (inputs / "half_a.ids").write_text("".join(f"{r}\n" for r in records[:N_ECG]))
    small = records[:N_ECG_SMALL]
    (inputs / "id_map_small.tsv").write_text("record\tIID\n" + "".join(f"{r}\t{small[i - i % 2]}\n"
                                                                      for i, r in enumerate(small)))
    copied = {}
    for name, what in TREE_FILES.items():
        src = find_in_tree(tree, name)
        if src is None:
            raise SystemExit(f"{name} ({what}) not found in {tree}")
        shutil.copyfile(src, inputs / name)
        copied[name] = str(src.relative_to(tree))
    plink2 = shutil.which("plink2")
    plink_cmds = []
    if plink2:
        (inputs / "plink2").mkdir()
        base = [plink2, "--bfile", "../cohort/genotypes", "--silent", "--threads", "1", "--out", "genotypes"]
        for extra in (["--make-pgen"], ["--export", "vcf", "bgz", "id-paste=iid"],
                      ["--export", "bgen-1.2", "bits=8", "id-paste=iid"]):
            cmd = base + extra
            subprocess.run(cmd, cwd=inputs / "plink2", check=True)
            plink_cmds.append(" ".join(["plink2", *cmd[1:]]))
        for log in (inputs / "plink2").glob("*.log"):   # plink2 logs hold the date and host
            log.unlink()
    else:
        raise SystemExit("plink2 not on PATH: needed once to export the PGEN/BGEN/VCF inputs")
    files, combined = digest_dir(inputs, skip=set())
    files = {k: v for k, v in files.items() if not k.startswith("logs/")}
    combined = sha256_bytes("".join(f"{k}\t{v}\n" for k, v in sorted(files.items())).encode())
    meta = {"made_by_tree": str(tree), "made_by_tree_head": git_head(tree), "seconds": round(time.perf_counter() - t0, 1),
            "simulate": " ".join(sim_argv), "ecg_subset": f"first {N_ECG} records (sorted names)",
            "ecg_subset_small": f"first {N_ECG_SMALL} records; id_map_small.tsv maps records 2k, 2k+1 to one IID",
            "half_a.ids": "IIDs of ecg_subset", "copied_from_tree": copied, "plink2": plink_cmds,
            "digest": combined, "files": files}
    (inputs / INPUTS_JSON).write_text(json.dumps(meta, indent=1) + "\n")
    print(f"inputs ready ({len(files)} files, digest {combined[:16]}, {meta['seconds']} s)", flush=True)


def check_inputs(inputs: Path) -> dict:
    meta = json.loads((inputs / INPUTS_JSON).read_text())
    files, _ = digest_dir(inputs, skip={INPUTS_JSON})
    files = {k: v for k, v in files.items() if not k.startswith("logs/")}
    if files != meta["files"]:
        changed = sorted(set(files.items()) ^ set(meta["files"].items()))
        raise SystemExit(f"--inputs {inputs}: files differ from {INPUTS_JSON} (first: {changed[:5]}); "
                         "the inputs were modified, make them anew")
    return meta


def git_head(tree: Path) -> str | None:
    try:
        r = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=20)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


# ---------------------------------------------------------------------------------------------- hashing

def classify(rel: str) -> tuple[str, str | None]:
    """('exclude', reason) or ('hash', None)."""
    for pat, reason in EXCLUDE:
        if fnmatch.fnmatchcase(rel, pat):
            return "exclude", reason
    return "hash", None


def path_masks(work: Path, tree: Path, inputs: Path) -> list[tuple[str, str]]:
    """(absolute path, placeholder), longest first: the paths that legitimately differ between runs."""
    pairs = {(v, tag) for tag, p in (("<WORK>", work), ("<TREE>", tree), ("<INPUTS>", inputs))
             for v in (str(p), os.path.realpath(p))}
    return sorted(pairs, key=lambda x: (-len(x[0]), x))


def normalize(rel: str, data: bytes, masks: list[tuple[str, str]]) -> tuple[bytes, list[str]]:
    """``data`` with the NORMALIZE rules applied and this run's absolute paths masked; the reasons."""
    reasons = []
    if rel.endswith(".gz") and data[:2] == b"\x1f\x8b" and len(data) >= 10 and (
            data[3] & 0x08 or data[4:8] != b"\0\0\0\0"):
        # plain gzip (pandas' compression="gzip"), not BGZF: the header holds the write time (MTIME) and
        # the temporary file's name (pid + random suffix), so the decompressed content is what counts
        data = gzip.decompress(data)
        reasons.append(GZIP_HEADER_REASON)
    for pat, rx, repl, reason in NORMALIZE:
        if fnmatch.fnmatchcase(Path(rel).name, pat):
            data, k = re.subn(rx.encode(), repl.encode(), data)
            if k:
                reasons.append(reason)
    masked = []
    for path, tag in masks:
        b = path.encode()
        if b in data:
            data = data.replace(b, tag.encode())
            masked.append(tag)
    if masked:
        reasons.append("absolute path(s) of this run masked as " + ", ".join(sorted(set(masked)))
                       + " (the work directory and tree differ between the runs compared)")
    return data, reasons


def content_text(rel: str, p: Path, masks: list[tuple[str, str]] | None = None) -> str | None:
    """The file as text for diffs and path scans (.gz decompressed, normalised); None if binary."""
    try:
        data = p.read_bytes()
        if rel.endswith(".gz"):
            data = gzip.decompress(data)   # BGZF and plain gzip alike
        if b"\0" in data[:8192]:
            return None
        if masks is not None:
            data = normalize(rel, data, masks)[0]
        return data.decode("utf-8")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, ValueError):
        return None


def hash_outputs(out: Path, masks: list[tuple[str, str]]) -> tuple[dict, dict, dict, dict]:
    """sha256 of every file under ``out`` (normalised where a rule applies), the normalised files with
    the reasons, the excluded files with the reasons, and the files whose (decompressed) text holds an
    absolute path of this run."""
    hashed, normalized, excluded, path_hits = {}, {}, {}, {}
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(out).as_posix()
        kind, reason = classify(rel)
        if kind == "exclude":
            excluded[rel] = reason
            continue
        data, reasons = normalize(rel, p.read_bytes(), masks)
        hashed[rel] = sha256_bytes(data)
        if reasons:
            normalized[rel] = "; ".join(reasons)
        if p.stat().st_size < 64 << 20:
            text = content_text(rel, p)
            if text is not None:
                hits = sorted({tag for path, tag in masks if path in text})
                if hits:
                    path_hits[rel] = hits
    return hashed, normalized, excluded, path_hits


# ---------------------------------------------------------------------------------------------- compare

def stage_of(rel: str) -> str:
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else "(top)"


def compare(before: dict, after: dict, before_out: Path | None, after_out: Path, diff_lines: int) -> int:
    b, a = before["files"], after["files"]
    status = {}
    for rel in sorted(set(b) | set(a)):
        if rel in b and rel in a:
            status[rel] = "identical" if b[rel] == a[rel] else "different"
        elif rel in b:
            status[rel] = "missing" if rel not in after.get("excluded", {}) else "now-excluded"
        else:
            status[rel] = "new" if rel not in before.get("excluded", {}) else "was-excluded"
    cols = ["identical", "different", "missing", "new", "now-excluded", "was-excluded"]
    rows = {}
    for rel, st in status.items():
        rows.setdefault(stage_of(rel), dict.fromkeys(cols, 0))[st] += 1
    w = max([len(s) for s in rows] + [12])
    print("\n" + f"{'output dir':<{w}} " + " ".join(f"{c:>12}" for c in cols))
    for s in sorted(rows):
        print(f"{s:<{w}} " + " ".join(f"{rows[s][c]:>12}" for c in cols))
    tot = {c: sum(r[c] for r in rows.values()) for c in cols}
    print(f"{'TOTAL':<{w}} " + " ".join(f"{tot[c]:>12}" for c in cols))
    bad = [r for r, st in status.items() if st != "identical"]
    for rel in bad:
        print(f"  {status[rel]:>12}  {rel}")
    for rel in [r for r in bad if status[r] == "different"]:
        print(f"\n--- diff {rel} (before {b[rel][:12]}, after {a[rel][:12]})")
        bp = before_out / rel if before_out is not None else None
        if bp is None or not bp.exists():
            print(f"    (before file not available: {bp}; rerun the before tree to keep it for diffs)")
            continue
        tb = content_text(rel, bp, [tuple(m) for m in before.get("masked_paths", [])])
        ta = content_text(rel, after_out / rel, [tuple(m) for m in after.get("masked_paths", [])])
        if tb is None or ta is None:
            print(f"    binary: {bp.stat().st_size} bytes before, {(after_out / rel).stat().st_size} bytes after")
            continue
        diff = list(difflib.unified_diff(tb.splitlines(), ta.splitlines(), f"before/{rel}", f"after/{rel}",
                                         lineterm="", n=1))
        for line in diff[:diff_lines]:
            print("    " + line[:300])
        if len(diff) > diff_lines:
            print(f"    ... ({len(diff) - diff_lines} more diff lines)")
    if before.get("commands_argv") != after.get("commands_argv"):
        print("\nWARNING: the command lists differ between the two records (different script versions?)")
    if before.get("excluded_rules") != after.get("excluded_rules"):
        print("WARNING: the exclusion rules differ between the two records")
    n_ok = tot["identical"]
    print(f"\n{n_ok} of {len(status)} files identical; "
          f"{tot['different']} different, {tot['missing']} missing, {tot['new']} new")
    return 0 if len(bad) == 0 else 1


# ---------------------------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True, type=Path, help="edfgen source tree to run (PYTHONPATH=TREE)")
    ap.add_argument("--work", required=True, type=Path, help="work directory (made anew; out/ holds the outputs)")
    ap.add_argument("--inputs", type=Path, default=None,
                    help=f"inputs directory, made only if absent (default: the --compare record's, else {DEFAULT_INPUTS})")
    ap.add_argument("--record", type=Path, help="write the hashes and the commands to this JSON")
    ap.add_argument("--compare", type=Path, help="compare with this earlier record; exit 1 unless all identical")
    ap.add_argument("--python", default=sys.executable, help="interpreter with edfgen's dependencies")
    ap.add_argument("--hail", action="store_true",
                    help="also run the three Hail (Spark) commands: gwas --engine hail --logistic-test firth, "
                         "gwas --remove-related (KING), pca (~75 s more on an idle 2-core machine); "
                         "give it to both runs of a comparison or neither")
    ap.add_argument("--diff-lines", type=int, default=40, help="unified-diff lines shown per differing file")
    args = ap.parse_args()

    t_start = time.perf_counter()
    tree = args.tree.resolve()
    work = args.work.absolute()
    before = json.loads(args.compare.read_text()) if args.compare else None
    inputs = (args.inputs or (Path(before["inputs"]["dir"]) if before else DEFAULT_INPUTS)).absolute()

    # the tree really is what runs
    chk = subprocess.run([args.python, "-c", "import edfgen; print(edfgen.__file__)"], cwd="/",
                         env=edfgen_env(tree), capture_output=True, text=True)
    edfgen_file = chk.stdout.strip()
    if chk.returncode or not Path(edfgen_file).resolve().is_relative_to(tree):
        raise SystemExit(f"PYTHONPATH={tree} imports edfgen from {edfgen_file!r}, not from the tree:\n{chk.stderr}")
    print(f"tree {tree} (edfgen from {edfgen_file}); work {work}; inputs {inputs}", flush=True)

    if not (inputs / INPUTS_JSON).exists():
        make_inputs(inputs, tree, args.python)
    in_meta = check_inputs(inputs)
    if before is not None and before["inputs"]["digest"] != in_meta["digest"]:
        raise SystemExit(f"inputs digest {in_meta['digest'][:16]} != the compared record's "
                         f"{before['inputs']['digest'][:16]}: not the same inputs")

    if work.exists() and any(work.iterdir()):
        if not (work / WORK_MARKER).exists():
            raise SystemExit(f"--work {work}: not empty and not made by this script; refusing to clear it")
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / WORK_MARKER).write_text("made by benchmarks/renovation_identity.py; cleared by its next run here\n")
    (work / "in").symlink_to(inputs, target_is_directory=True)
    (work / "out").mkdir()
    (work / "tmp").mkdir()
    (work / "run.toml").write_text(RUN_TOML)

    commands, failed = [], []
    for st in steps(hail=args.hail):
        rc, dt = run_edfgen(args.python, tree, st["argv"], work, work / "logs", st["name"],
                            work / st["stdout"] if st["stdout"] else None)
        commands.append({"name": st["name"], "command": "python -m " + " ".join(st["argv"]),
                         **({"stdout_to": st["stdout"]} if st["stdout"] else {}), "rc": rc, "seconds": round(dt, 2), "cpu_seconds": round(CPU_SECONDS[st["name"]], 2)})
        print(f"  {st['name']:<26} rc {rc}  {dt:6.1f} s wall  {CPU_SECONDS[st['name']]:6.1f} s CPU", flush=True)
        if rc:
            failed.append(st["name"])
            print(tail(work / "logs" / f"{st['name']}.stderr"), flush=True)

    masks = path_masks(work, tree, inputs)
    hashed, normalized, excluded, path_hits = hash_outputs(work / "out", masks)
    wall = time.perf_counter() - t_start
    rec = {
        "script": "benchmarks/renovation_identity.py", "script_version": SCRIPT_VERSION,
        "tree": str(tree), "tree_git_head": git_head(tree), "edfgen_imported_from": edfgen_file,
        "python": args.python, "python_version": platform.python_version(), "platform": platform.platform(),
        "work": str(work), "wall_seconds": round(wall, 1),
        "commands_wall_seconds": round(sum(c["seconds"] for c in commands), 1),
        "commands_cpu_seconds": round(sum(c["cpu_seconds"] for c in commands), 1),
        "load_average_at_end": list(os.getloadavg()), "hail": args.hail,
        "inputs": {"dir": str(inputs), "digest": in_meta["digest"], "n_files": len(in_meta["files"]),
                   "made_by_tree": in_meta["made_by_tree"], "made_by_tree_head": in_meta.get("made_by_tree_head"),
                   "simulate": in_meta["simulate"], "plink2": in_meta["plink2"],
                   "copied_from_tree": in_meta["copied_from_tree"]},
        "env": {"PYTHONPATH": str(tree), "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "TZ": "UTC",
                "cwd": "work directory (inputs via the symlink 'in')"},
        "commands": commands, "commands_argv": [c["command"] for c in commands], "failed_commands": failed,
        "run_toml": RUN_TOML,
        "excluded_rules": [{"glob": g, "reason": r} for g, r in EXCLUDE],
        "normalized_rules": [{"glob": g, "regex": rx, "replacement": rp, "reason": r} for g, rx, rp, r in NORMALIZE]
        + [{"glob": "*.gz", "regex": "gzip header with FNAME or a non-zero MTIME", "replacement": "decompressed",
            "reason": GZIP_HEADER_REASON},
           {"glob": "*", "regex": "this run's work, tree and inputs directories (as given and resolved)",
            "replacement": "<WORK>, <TREE>, <INPUTS>", "reason": "absolute paths differ between the runs compared"}],
        "masked_paths": masks,
        "n_files_hashed": len(hashed), "n_files_normalized": len(normalized), "n_files_excluded": len(excluded),
        "files": hashed, "normalized": normalized, "excluded": excluded,
        "files_containing_absolute_paths": path_hits,
    }
    print(f"\n{len(hashed)} files hashed ({len(normalized)} of them after masking), {len(excluded)} excluded; "
          f"{len(failed)} command(s) failed; wall {wall:.0f} s", flush=True)
    if path_hits:
        print(f"note: {len(path_hits)} hashed file(s) contain an absolute path of this run (masked unless compressed): "
              + ", ".join(f"{k} ({'/'.join(v)})" for k, v in list(path_hits.items())[:10]))
    rc = 0
    if before is not None:
        rec["compared_with"] = str(args.compare)
        before_out = Path(before["work"]) / "out"
        rc = compare(before, rec, before_out if before_out.exists() else None, work / "out", args.diff_lines)
    if failed:
        print(f"FAILED commands: {', '.join(failed)} (logs in {work / 'logs'})")
        rc = rc or (1 if before is not None else 2)
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(rec, indent=1) + "\n")
        print(f"recorded {args.record}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
