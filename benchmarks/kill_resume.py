"""Kill every long-running command at seeded random instants and check that nothing is lost.

For each command (``extract``, ``gwas`` linear / ``--model ridge-loco`` / ``--binary``, ``clump``, ``annotate``,
``finemap``, ``coloc``, ``ldsc``, ``mr``, ``run``, ``pretrain`` on a micro config) on a small simulated cohort
(n = 120, 2 chromosomes of 200 variants):

1. an uninterrupted reference run (timed); then ``--kills`` runs killed at seeded instants spread over the
   reference's runtime, cycling SIGKILL, SIGTERM and SIGINT (as a scheduler or Ctrl-C does); every second one is a
   ``--force`` rerun over a copy of the complete reference (where the command has ``--force``). After each kill:
   every file under ``--out`` with a final name must load (TSV, gzip/BGZF, JSON, PNG, safetensors, npz, parquet);
   a complete manifest's listed outputs must exist; no temporary file may look like an output; a lock left behind
   must be stale (:func:`edfgen.formats.lock.lock_owner` is None). Then the same command again (``--resume`` for pretrain)
   must finish and give the reference's outputs (bytes, gzip and .tbi decompressed; manifests, PNGs and the GWAS-SSF
   metadata date excluded; numbers to 1e-12 where bytes differ; extract's EDFs to 1e-6, the batch-dependent float32
   sums of its encoder, as tests/test_fault_injection.py).
2. changed inputs (``run``, ``extract``): an input edited to the same size with its modification time restored,
   an ECG record renamed, an option changed: the rerun must recompute what depends on it.
3. ``--force`` over a complete run with a user's file, a user's sub-folder and a user's file inside each folder
   edfgen wrote: every user file must survive (or the run refuse in one line).

Run: ``PYTHONPATH=. python benchmarks/kill_resume.py [--kills 6] [--seed 39]`` -> benchmarks/results/kill_resume.md.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edfgen.formats.atomic import is_temp_name  # noqa: E402
from edfgen.formats.lock import LOCK_NAME, lock_owner  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)

PRETRAIN = """
import sys
from edfgen.model.config import get_config
from edfgen.model.pretrain import PretrainSettings, pretrain
micro = get_config("tiny").replace(name="micro", conv_layers=((16, 10, 5), (32, 4, 4), (32, 2, 2)), width=32, depth=1,
                                   mlm_depth=1, heads=2, ffn=64, codebook_size=16, codevector_dim=32, final_dim=32,
                                   cmsc_dim=16, pos_conv_groups=4, num_negatives=5)
pretrain(sys.argv[1], config=micro, settings=PretrainSettings(steps=8, batch_size=4, warmup=2, checkpoint_every=2,
         log_every=1), simulated=20, sim_seed=3, resume=sys.argv[2] == "resume")
"""


def edfgen(args, *, wait=True) -> subprocess.Popen | subprocess.CompletedProcess:
    if args and args[0] == "pretrain-micro":
        cmd = [sys.executable, "-c", PRETRAIN, *map(str, args[1:])]
    else:
        cmd = [sys.executable, "-m", "edfgen", *map(str, args)]
    if wait:
        return subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def ok(args) -> float:
    t0 = time.monotonic()
    r = edfgen(args)
    if r.returncode != 0:
        raise SystemExit(f"reference failed: {args}\n{r.stderr[-3000:]}")
    return time.monotonic() - t0


# ------------------------------------------------------------------------------------------ checking a folder
def load_check(p: Path) -> str | None:
    """Why ``p`` (a file with a final name) does not load, or None."""
    name = p.name
    try:
        data = p.read_bytes()
        if name.endswith(".gz") or name.endswith(".bgz"):
            data = gzip.decompress(data)
            name = name.rsplit(".", 1)[0]
        if name.endswith((".tsv", ".txt", ".csv")):
            if data.strip():
                pd.read_csv(io.BytesIO(data), sep="\t" if not name.endswith(".csv") else ",", comment=None,
                            low_memory=False)
        elif name.endswith(".json"):
            json.loads(data)
        elif name.endswith(".png"):
            from PIL import Image
            Image.open(io.BytesIO(data)).verify()
        elif name.endswith(".safetensors"):
            from safetensors.numpy import load
            load(data)
        elif name.endswith(".npz") or name.endswith(".npy"):
            np.load(io.BytesIO(data), allow_pickle=False)
        elif name.endswith(".parquet"):
            pd.read_parquet(io.BytesIO(data))
        elif name.endswith((".html", ".toml", ".yaml", ".md")):
            if not data:
                return "empty"
    except Exception as exc:      # noqa: BLE001 - any failure to load is a finding
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return None


def check_killed(out: Path) -> list[str]:
    """Findings on a killed command's output (file or folder)."""
    bad = []
    folder = out if out.is_dir() else out.parent
    if not folder.exists():
        return bad
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(is_temp_name(x) for x in rel.parts) or not p.is_file():
            continue
        if p.name == LOCK_NAME:
            if lock_owner(folder) is not None:
                bad.append(f"lock {p} not stale")
            continue
        if any(x.endswith((".tmp", ".part", ".partial")) for x in rel.parts):
            bad.append(f"temporary-looking name {rel}")
        why = load_check(p)
        if why:
            bad.append(f"{rel}: does not load ({why})")
    for m in folder.rglob("*manifest.json"):
        if any(is_temp_name(x) for x in m.relative_to(folder).parts):
            continue
        try:
            doc = json.loads(m.read_text())
        except ValueError:
            continue
        if doc.get("finished"):
            for o in doc.get("outputs") or []:
                if not (m.parent / o).exists():
                    bad.append(f"{m.relative_to(folder)} complete but lists missing {o}")
    return bad


def complete(out: Path) -> bool:
    """Whether the manifest of ``out`` (a folder's, or a file's ``<file>.manifest.json``) is complete."""
    m = out / "manifest.json" if out.is_dir() else out.parent / f"{out.name}.manifest.json"
    try:
        return bool(json.loads(m.read_text()).get("finished"))
    except (OSError, ValueError):
        return False


def content(d: Path) -> dict[str, bytes]:
    skip = ("manifest.json", "pipeline_state.json", "report.html", "pipeline.toml", LOCK_NAME, ".log")
    out = {}
    base = d if d.is_dir() else d.parent
    for p in sorted(base.rglob("*")):
        rel = p.relative_to(base)
        if (not p.is_file() or p.name.endswith(skip) or p.name.endswith(".png")
                or any(is_temp_name(x) for x in rel.parts) or "log" in p.name):
            continue
        data = p.read_bytes()
        # (BGZF files and .tbi indexes by content: ISA-L's deflate once gave a .tbi block one byte longer from the
        # same bytes, benchmarks/results/kill_resume.md)
        data = gzip.decompress(data) if p.name.endswith((".gz", ".tbi")) else data
        if p.name.endswith("-meta.yaml"):
            data = b"".join(x for x in data.splitlines(True) if not x.startswith(b"date_metadata"))
        out[rel.as_posix()] = data
    return out


def temp_left(d: Path) -> list[str]:
    base = d if d.is_dir() else d.parent
    return [str(p.relative_to(base)) for p in base.rglob("*") if is_temp_name(p.name)]


def numeric_same(a: bytes, b: bytes, name: str, rtol: float) -> bool:
    if not name.endswith((".tsv", ".txt", ".csv", ".tsv.gz")):
        if name.endswith(".safetensors"):
            from safetensors.numpy import load
            x, y = load(a), load(b)
            return x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
        return False
    try:
        x = pd.read_csv(io.BytesIO(a), sep="\t")
        y = pd.read_csv(io.BytesIO(b), sep="\t")
        pd.testing.assert_frame_equal(x, y, rtol=rtol, atol=0)
        return True
    except Exception:     # noqa: BLE001
        return False


def compare(got: Path, ref: Path, rtol: float) -> list[str]:
    a, b = content(got), content(ref)
    bad = []
    if sorted(a) != sorted(b):
        bad.append(f"files differ: extra {sorted(set(a) - set(b))[:4]} missing {sorted(set(b) - set(a))[:4]}")
    for k in sorted(set(a) & set(b)):
        if a[k] != b[k] and not numeric_same(a[k], b[k], k, rtol):
            bad.append(f"{k} differs from the uninterrupted run")
    return bad


# ------------------------------------------------------------------------------------------ the commands
def setup(work: Path) -> dict:
    from edfgen.pipeline import packaged_catalog
    from edfgen.simulate.cohort import simulate_cohort

    coh = work / "cohort"
    if not (coh / "manifest.json").exists():
        simulate_cohort(coh, n=120, seed=11, chromosomes=2, variants_per_chromosome=200, effect_scale=6.0)
    return {"coh": coh, "catalog": packaged_catalog()}


def commands(work: Path, env: dict) -> dict[str, dict]:
    """name -> {args(out) -> argv, out: 'dir' or 'file' name, rtol}. Inputs are the references' outputs."""
    coh, ref = env["coh"], work / "ref"
    bf = coh / "genotypes"
    edfs = ref / "extract" / "edfs.tsv"
    gw = ["--bfile", bf, "--covar", coh / "covariates.tsv", "--covar-cols", "age,sex,centre"]
    toml = work / "pipeline.toml"
    return {
        "extract": dict(args=lambda o: ["extract", "--ecg", coh / "ecg", "--out", o / "edfs.tsv", "--checkpoint", "tiny",
                                        "--workers", "0", "--batch-size", "16", "--chunk-size", "32"],
                        file="edfs.tsv", rtol=1e-6),
        "gwas": dict(args=lambda o: ["gwas", *gw, "--pheno", edfs, "--out", o]),
        "gwas_ridge": dict(args=lambda o: ["gwas", *gw, "--pheno", edfs, "--pheno-cols", "edf_001..edf_004",
                                           "--model", "ridge-loco", "--no-plots", "--out", o]),
        "gwas_binary": dict(args=lambda o: ["gwas", *gw, "--pheno", coh / "outcomes.tsv", "--pheno-cols", "AF,HYP,STTC,PAC", "--binary", "--no-plots",
                                            "--out", o]),
        "clump": dict(args=lambda o: ["clump", "--sumstats", ref / "gwas", "--bfile", bf, "--p1", "1e-4", "--out", o]),
        "annotate": dict(args=lambda o: ["annotate", "--loci", ref / "clump" / "loci.tsv", "--catalog", env["catalog"],
                                         "--any-trait", "--ld-bfile", bf, "--regional-plots", "2", "--sumstats",
                                         ref / "gwas", "--out", o / "annotated.tsv"], file="annotated.tsv", force=False),
        "finemap": dict(args=lambda o: ["finemap", "--loci", ref / "clump" / "loci.tsv", "--sumstats", ref / "gwas",
                                        "--bfile", bf, "--max-causal", "3", "--out", o]),
        "coloc": dict(args=lambda o: ["coloc", "--exposure", ref / "gwas", "--outcome", ref / "gwas_binary",
                                      "--loci", ref / "clump" / "loci.tsv", "--bfile", bf, "--max-causal", "3",
                                      "--out", o]),
        "ldsc": dict(args=lambda o: ["ldsc", "--sumstats", ref / "gwas", "--bfile", bf, "--n-blocks", "20", "--out", o]),
        "mr": dict(args=lambda o: ["mr", "--exposure", ref / "gwas", "--outcome", ref / "gwas_binary", "--instruments",
                                   ref / "clump" / "clumps.tsv", "--nboot", "20", "--presso-sims", "0", "--no-plots",
                                   "--p-threshold", "1e-4", "--out", o]),
        "pretrain": dict(args=lambda o: ["pretrain-micro", o, "fresh"], resume=lambda o: ["pretrain-micro", o, "resume"]),
        "run": dict(args=lambda o: ["run", "--config", run_config(o, toml)]),
    }


def write_config(work: Path, env: dict) -> None:
    from edfgen.pipeline import render_toml

    coh = env["coh"]
    raw = {"run": {"out": "run", "pca": False},
           "inputs": {"ecg": str(coh / "ecg"), "bfile": str(coh / "genotypes"), "covar": str(coh / "covariates.tsv"),
                      "outcomes": str(coh / "outcomes.tsv")},
           "extract": {"checkpoint": "tiny", "workers": 0, "batch_size": 16, "chunk_size": 32},
           "gwas": {"covar_cols": "age,sex,centre", "no_plots": True},
           "gwas_outcomes": {"covar_cols": "age,sex", "no_plots": True},
           "clump": {"p1": 1e-4},
           "mr": {"nboot": 20, "presso_sims": 0, "plots": False, "p_threshold": 1e-4}}
    (work / "pipeline.toml").write_text(render_toml(raw))


def run_config(o: Path, toml: Path) -> Path:
    """A copy of the pipeline config whose run folder is ``o`` (written beside it)."""
    o.parent.mkdir(parents=True, exist_ok=True)
    cfg = o.parent / f"{o.name}.toml"
    cfg.write_text(toml.read_text().replace('out = "run"', f'out = "{o}"'))
    return cfg


def out_of(spec: dict, d: Path) -> Path:
    return d / spec["file"] if "file" in spec else d


# ------------------------------------------------------------------------------------------ the trials
def kill_trials(name: str, spec: dict, work: Path, t_ref: float, t_import: float, kills: int,
                rng: random.Random) -> tuple[int, list[str]]:
    found = []
    done = 0
    lo, hi = t_import, max(t_ref * 0.97, t_import + 0.2)
    instants = sorted(rng.uniform(lo, hi) for _ in range(kills))
    for i, t in enumerate(instants):
        sig = SIGNALS[i % len(SIGNALS)]
        d = work / "trials" / f"{name}_{i}"
        shutil.rmtree(d, ignore_errors=True)
        # odd trials: a --force rerun over a complete earlier run is killed (its files half replaced)
        forced = i % 2 == 1 and spec.get("force", True) and "resume" not in spec
        if forced:
            shutil.copytree(work / "ref" / name, d)
            if name == "run":
                run_config(d, work / "pipeline.toml")
        else:
            d.mkdir(parents=True)
            if "file" not in spec:
                d.rmdir()
        args = spec["args"](d) + (["--force"] if forced else [])
        p = edfgen(args, wait=False)
        time.sleep(t)
        if p.poll() is None:
            os.killpg(p.pid, sig)
            done += 1
        _, err = p.communicate(timeout=120)
        if p.returncode == 0:
            continue          # finished before the instant: nothing was interrupted
        tag = f"{name} #{i}{' --force' if forced else ''} ({signal.Signals(sig).name} at {t:.1f}s, exit {p.returncode})"
        if sig != signal.SIGKILL and "Traceback" in err and "resume" not in spec:   # (pretrain: a script, no CLI)
            found.append(f"{tag}: traceback on {signal.Signals(sig).name}: {err.strip().splitlines()[-1][:150]}")
        for b in check_killed(out_of(spec, d)):
            found.append(f"{tag}: after the kill: {b}")
        parts = out_of(spec, d).with_name(out_of(spec, d).name + ".parts")
        if complete(out_of(spec, d)) and parts.is_dir():
            # extract --force killed while encoding: the earlier table and its complete manifest are intact, the
            # new run's chunks beside them; the same command again resumes from them
            r = edfgen(args if "--force" in args else args + ["--force"])
        elif complete(out_of(spec, d)):   # killed after its complete manifest (at exit): the outputs are final
            r = subprocess.CompletedProcess([], 0)
        elif "resume" in spec and not (d / "train_state.safetensors").exists():   # killed before its first state
            r = edfgen(spec["args"](d))
        else:              # the same command again (pretrain: --resume)
            r = edfgen(spec["resume"](d) if "resume" in spec else args)
        if r.returncode != 0:
            found.append(f"{tag}: plain rerun failed: {r.stderr.strip().splitlines()[-1][:200] if r.stderr else ''}")
            continue
        for b in compare(out_of(spec, d), out_of(spec, work / "ref" / name), spec.get("rtol", 1e-12)):
            found.append(f"{tag}: rerun: {b}")
        left = temp_left(out_of(spec, d))
        if left:
            found.append(f"{tag}: rerun left temporary files {left[:3]}")
    return done, found


def force_trial(name: str, spec: dict, work: Path) -> list[str]:
    """--force over a complete run holding a user's file, sub-folder, and a file inside each edfgen folder."""
    if name in ("pretrain",):
        return []
    d = work / "force" / name
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(work / "ref" / name, d)
    ref_cmd = json.loads((out_of(spec, d).parent / (out_of(spec, d).name + ".manifest.json") if "file" in spec
                          else d / "manifest.json").read_text())
    del ref_cmd
    user = [d / "my_notes.txt", d / "mine" / "a.txt"]
    for sub in [x for x in d.rglob("*") if x.is_dir() and not is_temp_name(x.name)]:
        user.append(sub / "my_notes_in_here.txt")
    for u in user:
        u.parent.mkdir(parents=True, exist_ok=True)
        u.write_text("user data")
    r = edfgen(spec["args"](d) + (["--force"] if spec.get("force", True) else []))
    gone = [str(u.relative_to(d)) for u in user if not u.exists()]
    bad = []
    if gone:
        bad.append(f"{name} --force: removed user files {gone} (exit {r.returncode})")
    if r.returncode not in (0, 2) or (r.returncode == 2 and len(r.stderr.strip().splitlines()) > 1
                                      and "Traceback" in r.stderr):
        bad.append(f"{name} --force: exit {r.returncode}: {r.stderr.strip()[-200:]}")
    if r.returncode != 0 and "Traceback" in r.stderr:
        bad.append(f"{name} --force: traceback {r.stderr.strip().splitlines()[-1][:150]}")
    return bad


# ------------------------------------------------------------------------------------------ changed inputs
def same_size_edit(path: Path, old: bytes, new: bytes) -> None:
    """Replace ``old`` by ``new`` (same length) in ``path`` and restore its modification and access times."""
    st = path.stat()
    data = path.read_bytes()
    assert len(old) == len(new) and old in data, (path, old)
    path.write_bytes(data.replace(old, new, 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def statuses(run: Path) -> dict[str, str]:
    return {s["name"]: s["status"] for s in json.loads((run / "manifest.json").read_text())["extra"]["stages"]}


def changed_inputs(work: Path, env: dict) -> tuple[int, list[str]]:
    """Resume after an input or option changed: ``extract`` killed, one record edited (same size and time), resumed;
    ``run`` complete, then an edited covariate file (same size and time), a renamed ECG record, a changed option."""
    found, n = [], 0
    d = work / "changed"
    shutil.rmtree(d, ignore_errors=True)
    coh = d / "cohort"
    shutil.copytree(env["coh"], coh)
    spec = commands(work, {**env, "coh": coh})
    # extract: killed after its first durable chunk; a record of that chunk edited in place; resumed
    out = d / "x" / "edfs.tsv"
    out.parent.mkdir(parents=True)
    p = edfgen(spec["extract"]["args"](out.parent), wait=False)
    t0 = time.monotonic()
    while not list((d / "x" / "edfs.tsv.parts").glob("chunk_*.npz")) and p.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.01)
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        n += 1
    p.communicate()
    dat = coh / "ecg" / "P000001.dat"
    raw = dat.read_bytes()
    same_size_edit(dat, raw[4000:4040], bytes(40))
    if edfgen(spec["extract"]["args"](out.parent)).returncode != 0:
        found.append("extract: resume after an edited record failed")
    else:
        fresh = d / "x_fresh"
        fresh.mkdir()
        ok(spec["extract"]["args"](fresh))
        for b in compare(out, fresh / "edfs.tsv", 1e-6):
            found.append(f"extract resumed after P000001.dat changed (same size, same mtime): {b}")
        a = pd.read_csv(out, sep="\t", index_col=0)
        r = pd.read_csv(work / "ref" / "extract" / "edfs.tsv", sep="\t", index_col=0)
        if np.allclose(a.iloc[0].to_numpy(float), r.iloc[0].to_numpy(float), rtol=1e-6):
            found.append("extract: the edited record's EDFs are the old ones (stale result reused)")
    # run: complete, then three changes, each compared with a fresh run on the changed inputs
    toml = d / "pipeline.toml"
    toml.write_text((work / "pipeline.toml").read_text().replace(str(env["coh"]), str(coh)))
    run = d / "run"
    ok(["run", "--config", run_config(run, toml)])

    def check(what: str, expect_ran: set[str], expect_skipped: set[str]) -> None:
        r = edfgen(["run", "--config", run_config(run, toml)])
        if r.returncode != 0:
            found.append(f"run after {what}: failed: {r.stderr.strip().splitlines()[-1][:200]}")
            return
        st = statuses(run)
        wrong = sorted(k for k in expect_ran if st.get(k) != "ran") + sorted(
            k for k in expect_skipped if st.get(k) != "skipped")
        if wrong:
            found.append(f"run after {what}: stages {wrong} have status {[st.get(k) for k in wrong]}")
        fresh = d / f"fresh_{len(list(d.glob('fresh_*')))}"
        ok(["run", "--config", run_config(fresh, toml)])
        for b in compare(run, fresh, 1e-6):
            found.append(f"run after {what}: {b}")

    cov = coh / "covariates.tsv"
    line = cov.read_text().splitlines()[1]
    age = line.split("\t")[1]
    same_size_edit(cov, line.encode(), line.replace(f"\t{age}\t", f"\t{int(age) % 90 + 10}\t", 1).encode())
    # (downstream stages rerun only where the GWAS changed: the edited participant may be one QC left out)
    check("covariates.tsv edited (same size, same mtime)", {"gwas", "gwas_outcomes"}, {"extract"})
    toml.write_text(toml.read_text().replace("p1 = 0.0001", "p1 = 0.0005"))
    check("[clump] p1 changed", {"clump", "mr"}, {"extract", "gwas", "gwas_outcomes"})
    ecg = coh / "ecg"
    for f in ecg.glob("P000120.*"):    # a record renamed (header and signal file: the record's name is inside)
        f.rename(ecg / f.name.replace("P000120", "P000121"))
    hea = ecg / "P000121.hea"
    hea.write_text(hea.read_text().replace("P000120", "P000121"))
    check("ECG record P000120 renamed P000121", {"extract", "gwas"}, set())
    return n, found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=39)
    ap.add_argument("--only", default="")
    ap.add_argument("--work", default="")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "kill_resume.md"))
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="kill_resume_"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    env = setup(work)
    write_config(work, env)
    specs = commands(work, env)
    only = [x for x in a.only.split(",") if x]
    t_import = min(ok(["--version"]) for _ in range(2))
    times = json.loads((work / "times.json").read_text()) if (work / "times.json").exists() else {}
    for name, spec in specs.items():      # references, in order (later ones read earlier ones' outputs)
        d = work / "ref" / name
        if name not in times:
            shutil.rmtree(d, ignore_errors=True)
            if "file" in spec:
                d.mkdir(parents=True)
            times[name] = ok(spec["args"](d))
            (work / "times.json").write_text(json.dumps(times))
    rng = random.Random(a.seed)
    rows = []
    for name, spec in specs.items():
        if only and name not in only:
            continue
        t1 = time.monotonic()
        n, found = kill_trials(name, spec, work, times[name], t_import, a.kills, random.Random(rng.random()))
        found += force_trial(name, spec, work)
        rows.append((name, times[name], n, found, time.monotonic() - t1))
        print(f"{name}: {n} kills, {len(found)} findings ({time.monotonic() - t1:.0f} s)", flush=True)
        for f in found:
            print("   ", f, flush=True)
    if not only or "changed" in only:
        t1 = time.monotonic()
        n, found = changed_inputs(work, env)
        rows.append(("changed inputs (extract, run)", 0.0, n, found, time.monotonic() - t1))
        print(f"changed inputs: {len(found)} findings ({time.monotonic() - t1:.0f} s)", flush=True)
        for f in found:
            print("   ", f, flush=True)
    lines = ["# Kill and resume (benchmarks/kill_resume.py)", "",
             f"Seed {a.seed}, {a.kills} kill instants per command spread over its uninterrupted runtime, cycling "
             "SIGKILL/SIGTERM/SIGINT to the process group; n = 120, 2 x 200 variants; then a plain rerun compared with the "
             "uninterrupted run (every second run a killed `--force` over a complete one), changed inputs, and `--force` "
             "over a complete run with user files. Total "
             f"{time.monotonic() - t0:.0f} s.", "",
             f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.", "",
             "| command | uninterrupted s | kills | failures | notes |", "|---|---:|---:|---:|---:|"]
    for name, t, n, found, _ in rows:
        notes = sum(f.startswith("note:") for f in found)
        lines.append(f"| {name} | {t:.1f} | {n} | {len(found) - notes} | {notes} |")
    lines += ["", "## Failures and notes", ""]
    for name, _, _, found, _ in rows:
        lines += [f"- {f}" for f in found]
    if not any(r[3] for r in rows):
        lines.append("none")
    Path(a.out).write_text("\n".join(lines) + "\n")
    print(f"-> {a.out} ({time.monotonic() - t0:.0f} s)")


if __name__ == "__main__":
    main()
