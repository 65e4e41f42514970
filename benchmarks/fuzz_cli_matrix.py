"""Hostile-input matrix over the whole CLI (stop 39): every command x every path option x every hostile variant.

The subcommands and their path options are enumerated from the click group (``edfgen.cli.cli``); each command has a
small valid invocation (inputs of ``benchmarks/_fuzz_s22_cases.write_base`` plus a few derived files, built once),
which must run (exit 0). Then each path option's value is replaced, one at a time, by a hostile variant of its valid
file: nonexistent, a folder, empty (0 bytes), header only, binary garbage (with NUL), a gzip cut in the middle,
a ``.gz`` name that is not gzip, UTF-8 BOM + CRLF (must be accepted), UTF-16, one 50 MB line without newline,
a symlink loop, a FIFO fed with the valid content (must not hang), duplicated header columns, the columns in
another order (must be accepted), and one number written ``1,5`` / ``inf`` / ``nan`` / ``NA`` / ``-9``; for
``--out``: an existing file, a path under a missing parent, the path of an input.

Each case runs ``edfgen`` in-process (click's runner) in a forked child of a process that imported edfgen once
(about 10 ms a case instead of 1-2 s of imports), killed after 30 s (``HANG``); its peak memory is read from
``wait4``. Outcome classes (defects in capitals):

- ``ok-error``: exit != 0 and one ``edfgen <cmd>: error:`` / ``Error:`` line;
- ``ok-ran``: exit 0 where the variant may be accepted (BOM, other column order, a FIFO, NA, -9 ...);
- ``ok-warned``: exit 0 on a variant that cannot be valid input, with a warning on stderr (an option the command
  ignores without another option, a ``--remove`` list that names no sample: plink2 does the same);
- ``TRACEBACK`` (an exception other than the CLI's one-line error), ``UNCLEAR`` (exit != 0 without one error
  line, or several), ``SILENT`` (exit 0 on a variant that cannot be valid input), ``REFUSED`` (a variant that must be
  accepted refused), ``HANG`` (killed at 30 s), ``MEMORY`` (peak RSS over 1.5 GiB), ``LOST`` (an input file
  changed or gone after the run).

Not in the matrix: ``pca``'s accepted variants (each starts Hail's JVM, 60-80 s: the same ``--keep``/``--extract``
reader runs them under ``gwas``), ``run``'s accepted ones (a valid config runs the pipeline for minutes), the
genotype filesets (``benchmarks/fuzz_inputs_genotypes.py``) and ECG records (``benchmarks/fuzz_ecg.py``).

Run: ``nice -n 10 python benchmarks/fuzz_cli_matrix.py [--only gwas,mr] [--variants fifo,empty]`` ->
``benchmarks/results/fuzz_cli_matrix.{json,md}`` (with ``--tag before``: ``fuzz_cli_matrix_before.*``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
TIMEOUT_S = 30.0
#: commands that start Hail's JVM on a valid input (pca: 25-40 s on 2 busy cores): their longer limit
SLOW_TIMEOUT_S = {"pca": 120.0}
MEMORY_LIMIT_MB = 1536
MARK = "<!-- findings below are kept on rerun -->"
HUGE_BYTES = 50 * 2 ** 20

#: variant -> (applies to kinds, expectation): "error" (exit 0 is SILENT), "accept" (exit != 0 is REFUSED),
#: "either" (a one-line error or a run)
VARIANTS = {
    "nonexistent": ("file list text dir", "error"),
    "directory": ("file list text", "error"),
    "empty": ("file list text", "error"),
    "header_only": ("file", "error"),
    "binary": ("file list text", "error"),
    "gzip_truncated": ("file list", "error"),
    "gz_not_gzip": ("file list", "either"),
    "bom_crlf": ("file list", "accept"),
    "utf16": ("file list text", "either"),
    "huge_line": ("file list text", "error"),
    "symlink_loop": ("file list text dir", "error"),
    "fifo": ("file list text", "either"),
    "dup_header": ("file", "error"),
    "reordered": ("file", "accept"),
    "comma_decimal": ("file", "either"),
    "inf": ("file", "either"),
    "nan": ("file", "either"),
    "NA": ("file", "either"),
    "-9": ("file", "either"),
    "a_file": ("dir", "error"),
    "empty_dir": ("dir", "error"),
    "dir_of_garbage": ("dir", "error"),
}
OUT_VARIANTS = {"out_existing_file": "error", "out_missing_parent": "either", "out_is_input": "error"}


# ----------------------------------------------------------------------------------------------- valid inputs
def build_base(d: Path) -> None:
    """The valid inputs: ``_fuzz_s22_cases.write_base`` (PLINK fileset g, pheno/covar, ss/qt.tsv.gz, MR pair,
    catalog, 3 WFDB records, the tiny checkpoint) and files derived from them."""
    import numpy as np
    import pandas as pd

    sys.path[:0] = [str(ROOT / "tests"), str(HERE)]
    import _fuzz_s22_cases as cases
    import test_bad_input as tb

    cases.write_base(d)
    for i in range(3, 8):                                   # 8 records: evaluate's folds need a few per class
        tb._write_wfdb(d / "ecg", f"R{i}", seed=i)
    ids = [f"R{i}" for i in range(8)]
    pd.DataFrame({"IID": ids, "AF": [0, 1] * 4, "LBBB": [1, 0, 0, 1] * 2}).to_csv(d / "labels.tsv", sep="\t",
                                                                                    index=False)
    pd.DataFrame({"IID": ids, "hr": np.linspace(55, 90, 8), "qt": np.linspace(380, 440, 8)}).to_csv(
        d / "biomarkers.tsv", sep="\t", index=False)
    rng = np.random.default_rng(3)
    pd.DataFrame({"IID": ids, "edf_001": rng.normal(size=8), "edf_002": rng.normal(size=8)}).to_csv(
        d / "edfs.tsv", sep="\t", index=False)
    iid = [f"S{i:04d}" for i in range(tb.N)]
    (d / "keep.txt").write_text("\n".join(iid[:100]) + "\n")
    (d / "remove.txt").write_text("\n".join(iid[:10]) + "\n")
    (d / "extract.txt").write_text("\n".join(f"rs{j}" for j in range(1, 51)) + "\n")
    pd.DataFrame({"locus": [1, 2], "variant_id": ["rs10", "rs41"], "chromosome": ["1", "1"],
                  "base_pair_location": [10000, 41000], "p_value": [1e-12, 1e-10], "phenotype": "qt_ss",
                  "phenotypes": "qt_ss"}).to_csv(d / "loci_g.tsv", sep="\t", index=False)
    tb._write_bfile(d / "g250", m=250, seed=5)            # ldsc: at least 200 variants
    tb._tsv(tb._sumstats(rng, m=250), d / "ss250.tsv")
    ss = pd.read_csv(d / "ss" / "qt.tsv.gz", sep="\t")
    ss.to_csv(d / "qt_ss.tsv", sep="\t", index=False, na_rep="NA")
    out = ss.assign(beta=ss["beta"] * 0.5 + rng.normal(0, 0.01, len(ss)))
    out.to_csv(d / "outcome_ss.tsv", sep="\t", index=False, na_rep="NA")
    pd.DataFrame({"record": ids, "IID": [f"P{i}" for i in range(8)]}).to_csv(d / "idmap.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": ids, "age": np.arange(40, 48), "sex": [0, 1] * 4}).to_csv(d / "covar8.tsv", sep="\t",
                                                                                  index=False)
    pd.DataFrame({"variant_id": [f"rs{100 + j}" for j in range(12)]}).to_csv(d / "instruments.tsv", sep="\t",
                                                                             index=False)
    (d / "genes.bed").write_text("chr1\t500\t20000\tGENEA\t0\t+\nchr1\t30000\t61000\tGENEB\t0\t-\n")
    (d / "pipeline.toml").write_text('[run]\nout = "run_out"\n[simulate]\nn = 40\n')


#: command -> (argument list with {d} for the inputs folder and {o} for the output; the input options:
#: option -> (kind, number column or None))
COMMANDS = {
    "gwas": (["gwas", "--bfile", "{d}/g", "--pheno", "{d}/pheno.tsv", "--covar", "{d}/covar.tsv", "--keep",
              "{d}/keep.txt", "--remove", "{d}/remove.txt", "--extract", "{d}/extract.txt", "--no-plots", "--maf",
              "0", "--hwe", "0", "--out", "{o}"],
             {"--pheno": ("file", "qt"), "--covar": ("file", "age"), "--keep": ("list", None),
              "--remove": ("list", None), "--extract": ("list", None)}),
    "pca": (["pca", "--bfile", "{d}/g", "--k", "2", "--keep", "{d}/keep.txt", "--extract", "{d}/extract.txt",
             "--out", "{o}"], {"--keep": ("list", None), "--extract": ("list", None)}),
    "clump": (["clump", "--sumstats", "{d}/qt_ss.tsv", "--bfile", "{d}/g", "--p1", "1e-6", "--genes",
               "{d}/genes.bed", "--extract", "{d}/extract.txt", "--out", "{o}"],
              {"--sumstats": ("file", "p_value"), "--genes": ("list", None), "--extract": ("list", None)}),
    "clump_dir": (["clump", "--sumstats", "{d}/ss", "--bfile", "{d}/g", "--p1", "1e-6", "--out", "{o}"],
                  {"--sumstats": ("dir", None)}),
    "annotate": (["annotate", "--loci", "{d}/loci_g.tsv", "--catalog", "{d}/catalog.tsv", "--any-trait", "--genes",
                  "{d}/genes.bed", "--out", "{o}/annotated.tsv"],
                 {"--loci": ("file", "base_pair_location"), "--catalog": ("file", "CHR_POS"), "--genes": ("list", None)}),
    "mr": (["mr", "--no-clump", "--exposure", "{d}/exposure.tsv", "--outcome", "{d}/outcome.tsv", "--nboot", "10",
            "--presso-sims", "0", "--no-plots", "--out", "{o}"],
           {"--exposure": ("file", "beta"), "--outcome": ("file", "beta")}),
    "coloc": (["coloc", "--exposure", "{d}/qt_ss.tsv", "--outcome", "{d}/outcome_ss.tsv", "--loci", "{d}/loci_g.tsv",
               "--bfile", "{d}/g", "--out", "{o}"],
              {"--exposure": ("file", "beta"), "--outcome": ("file", "beta"), "--loci": ("file", "base_pair_location")}),
    "finemap": (["finemap", "--loci", "{d}/loci_g.tsv", "--sumstats", "{d}/qt_ss.tsv", "--bfile", "{d}/g",
                 "--keep", "{d}/keep.txt", "--out", "{o}"],
                {"--loci": ("file", "base_pair_location"), "--sumstats": ("file", "beta"), "--keep": ("list", None)}),
    "ldsc": (["ldsc", "--sumstats", "{d}/ss250.tsv", "--bfile", "{d}/g250", "--out", "{o}"],
             {"--sumstats": ("file", "beta")}),
    "extract": (["extract", "--ecg", "{d}/ecg", "--checkpoint", "{d}/ckpt/tiny.json", "--workers", "0", "--out",
                 "{o}/edfs.tsv", "-q"], {"--ecg": ("dir", None), "--checkpoint": ("text", None)}),
    "interpret": (["interpret", "--edf", "{d}/edfs.tsv", "--biomarkers", "{d}/biomarkers.tsv", "--clusters", "2",
                   "--out", "{o}"], {"--edf": ("file", "edf_001"), "--biomarkers": ("file", "hr")}),
    "evaluate": (["evaluate", "--checkpoint", "{d}/ckpt/tiny.json", "--ecg", "{d}/ecg", "--labels", "{d}/labels.tsv",
                  "--probe", "linear", "--folds", "2", "--min-positives", "1", "--bootstrap", "10", "--threads", "1",
                  "--out", "{o}"], {"--labels": ("file", "AF"), "--ecg": ("dir", None)}),
    "finetune": (["finetune", "--checkpoint", "{d}/ckpt/tiny.json", "--ecg", "{d}/ecg", "--labels", "{d}/labels.tsv",
                  "--epochs", "1", "--batch-size", "4", "--linear-probe", "--threads", "1", "--out", "{o}"],
                 {"--labels": ("file", "AF")}),
    "pretrain": (["pretrain", "--config", "tiny", "--ecg", "{d}/ecg", "--steps", "1", "--batch-size", "2",
                  "--warmup", "1", "--threads", "1", "--device", "cpu", "--out", "{o}"], {"--ecg": ("dir", None)}),
    "model info": (["model", "info", "--checkpoint", "{d}/ckpt/tiny.json"], {"--checkpoint": ("text", None)}),
    "model export": (["model", "export", "--checkpoint", "{d}/ckpt/tiny.json", "--out", "{o}/exported"],
                     {"--checkpoint": ("text", None)}),
    "run": (["run", "--config", "{d}/pipeline.toml"], {"--config": ("text", None)}),
    "simulate": (["simulate", "--out", "{o}", "--n", "50", "--no-ecg"], {}),
    # second options of commands above (a run of their own: --only extract_idmap,interpret_covar,mr_instruments)
    "extract_idmap": (["extract", "--ecg", "{d}/ecg", "--checkpoint", "{d}/ckpt/tiny.json", "--workers", "0",
                       "--id-map", "{d}/idmap.tsv", "--out", "{o}/edfs.tsv", "-q"], {"--id-map": ("file", None)}),
    "interpret_covar": (["interpret", "--edf", "{d}/edfs.tsv", "--biomarkers", "{d}/biomarkers.tsv", "--covar",
                         "{d}/covar8.tsv", "--clusters", "2", "--out", "{o}"], {"--covar": ("file", "age")}),
    "mr_instruments": (["mr", "--no-clump", "--exposure", "{d}/exposure.tsv", "--outcome", "{d}/outcome.tsv",
                        "--instruments", "{d}/instruments.tsv", "--nboot", "10", "--presso-sims", "0", "--no-plots",
                        "--out", "{o}"], {"--instruments": ("file", None)}),
}
#: a valid run of these is not part of the matrix (minutes): only their hostile variants run
NO_VALID_RUN = {"run"}
#: commands whose accepted inputs start Hail's JVM (pca: 60-80 s a case on 2 busy cores): only the variants that
#: must be refused run, and the valid run (the accepted variants of the same --keep/--extract reader run under gwas)
REFUSED_ONLY = {"pca"}
#: commands whose --out is a prefix of the files written, not a file or folder
OUT_PREFIX = {"model export"}


def path_options() -> dict[str, list[str]]:
    """Every subcommand of the click group -> its options taking a path (click.Path/File, or a name that says
    path), for the coverage line of the report."""
    import click

    from edfgen.cli import cli

    ctx = click.Context(cli)
    found = {}

    def walk(cmd, prefix):
        if isinstance(cmd, click.Group):
            for n in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, n), [*prefix, n])
            return
        names = re.compile(r"ecg|geno|pheno|covar|sumstats|exposure|outcome|loci|genes|keep|remove|extract|config|"
                           r"checkpoint|labels|biomarkers|edf|catalog|truth|instruments|coloc|id_map|fam|measure|"
                           r"loco|liftover|init|out")
        found[" ".join(prefix)] = [p.opts[0] if getattr(p, "opts", None) else p.name for p in cmd.params
                                   if isinstance(p.type, (click.Path, click.File))
                                   or (isinstance(p, click.Option) and names.fullmatch(p.name or ""))]

    walk(cli, [])
    return found


# ----------------------------------------------------------------------------------------------- variants
def _lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    return text.splitlines()


def make_variant(src: Path, variant: str, kind: str, col: str | None, where: Path) -> Path | None:
    """The hostile version of ``src`` for ``variant``, written under ``where``; ``None`` where it does not apply
    (no number column, a file with no header)."""
    where.mkdir(parents=True, exist_ok=True)
    name = src.name
    p = where / name
    if variant == "nonexistent":
        return where / ("missing_" + name)
    if variant in ("directory", "empty_dir"):
        p = where / ("d_" + name)
        p.mkdir()
        return p
    if variant == "a_file":
        p = where / "a_file.tsv"
        p.write_text("IID\tx\nA\t1\n")
        return p
    if variant == "dir_of_garbage":
        p = where / "garbage_dir"
        p.mkdir()
        (p / "x.tsv.gz").write_bytes(b"\x00\x01garbage" * 100)
        (p / "R9.hea").write_bytes(b"\x00\xff\xfe" * 50)
        return p
    if variant == "symlink_loop":
        p = where / ("loop_" + name)
        os.symlink(where / ("loop2_" + name), p)
        os.symlink(p, where / ("loop2_" + name))
        return p
    if kind == "dir":
        return None
    lines = _lines(src)
    gz = name.endswith(".gz")
    if variant == "empty":
        p.write_bytes(b"")
    elif variant == "header_only":
        p.write_text(lines[0] + "\n")
    elif variant == "binary":
        p.write_bytes(bytes(range(256)) * 8 + b"\x00" * 100 + os.urandom(2048))
    elif variant == "gzip_truncated":
        data = gzip.compress(("\n".join(lines * (1 + 20000 // max(1, len(lines)))) + "\n").encode())
        p = where / (name if gz else name + ".gz")
        p.write_bytes(data[: len(data) // 2])
    elif variant == "gz_not_gzip":
        p = where / (name if gz else name + ".gz")
        p.write_text("\n".join(lines) + "\n")
    elif variant == "bom_crlf":
        p = where / (name[:-3] if gz else name)
        p.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode())
    elif variant == "utf16":
        p = where / (name[:-3] if gz else name)
        p.write_bytes(("\n".join(lines) + "\n").encode("utf-16"))
    elif variant == "huge_line":
        with open(p, "wb") as fh:
            chunk = b"A\t1\t" * (2 ** 18)
            for _ in range(HUGE_BYTES // len(chunk)):
                fh.write(chunk)
    elif variant == "fifo":
        p = where / (name[:-3] if gz else name)
        os.mkfifo(p)
    elif kind != "file":
        return None
    else:
        sep = "\t"
        head = lines[0].split(sep)
        rows = [ln.split(sep) for ln in lines[1:]]
        if variant == "dup_header":
            j = 1 if len(head) > 1 else 0
            head = [*head, head[j]]
            rows = [[*r, r[j]] for r in rows]
        elif variant == "reordered":
            order = list(range(len(head)))[::-1]
            head = [head[i] for i in order]
            rows = [[r[i] for i in order] for r in rows]
        else:
            if col not in head:
                return None
            j = head.index(col)
            value = {"comma_decimal": None, "inf": "inf", "nan": "nan", "NA": "NA", "-9": "-9"}[variant]
            r = rows[0]
            if value is None:
                v = r[j]
                value = v.replace(".", ",") if "." in v else f"{v},5"
            r[j] = value
        p = where / (name[:-3] if gz else name)
        p.write_text("\n".join(sep.join(r) for r in [head, *rows]) + "\n")
    return p


# ----------------------------------------------------------------------------------------------- running
def _fingerprint(d: Path) -> dict[str, str]:
    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_symlink() or not p.is_file() or "out" in p.relative_to(d).parts[:1]:
            continue
        out[str(p.relative_to(d))] = hashlib.md5(p.read_bytes()).hexdigest()
    return out


def _child_run(args: list[str], fd: int) -> None:
    import warnings

    warnings.simplefilter("ignore")
    os.environ["EDFGEN_PROGRESS"] = "none"
    try:
        import torch
        torch.set_num_threads(1)
    except Exception:  # noqa: BLE001
        pass
    from click.testing import CliRunner

    from edfgen.cli import cli

    res = {}
    try:
        r = CliRunner().invoke(cli, args, catch_exceptions=True, prog_name="edfgen")
        exc = r.exception if r.exception is not None and not isinstance(r.exception, SystemExit) else None
        res = {"code": r.exit_code, "stderr": r.stderr, "stdout": r.stdout}
        if exc is not None:
            tb = traceback.extract_tb(exc.__traceback__)
            at = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"
            res["exc"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]} [at {at}]"
    except BaseException as e:  # noqa: BLE001
        res = {"code": -1, "stderr": "", "stdout": "", "exc": f"harness {type(e).__name__}: {e}"}
    os.write(fd, json.dumps(res).encode())
    os.close(fd)
    os._exit(0)


def _feed_fifo(fifo: Path, data: bytes) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            with open(fifo, "wb") as fh:
                fh.write(data)
        except Exception:  # noqa: BLE001
            pass
        os._exit(0)
    return pid


def run_case(args: list[str], fifo: tuple[Path, bytes] | None, timeout: float = TIMEOUT_S) -> dict:
    """``edfgen args`` in a forked child: exit code, stderr, exception, seconds, peak MiB, or a hang."""
    t0 = time.perf_counter()
    feeder = _feed_fifo(*fifo) if fifo else None      # (before the pipe: a feeder holding its end would look hung)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.setpgid(0, 0)
        _child_run(args, w)
    os.close(w)
    chunks, hung = [], False
    while True:
        left = timeout - (time.perf_counter() - t0)
        if left <= 0:
            hung = True
            break
        ready, _, _ = select.select([r], [], [], left)
        if ready:
            b = os.read(r, 1 << 20)
            if not b:
                break
            chunks.append(b)
    if hung:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, _, usage = os.wait4(pid, 0)
    os.close(r)
    if feeder:
        try:
            os.kill(feeder, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(feeder, 0)
    seconds = round(time.perf_counter() - t0, 2)
    try:
        res = json.loads(b"".join(chunks)) if chunks else {"code": None, "stderr": "", "stdout": "",
                                                            "exc": "child died" if not hung else None}
    except json.JSONDecodeError:
        res = {"code": None, "stderr": "", "stdout": "", "exc": "child output unreadable"}
    res.update(seconds=seconds, hung=hung, peak_mb=round(usage.ru_maxrss / 1024))
    return res


def classify(res: dict, expect: str, lost: list[str]) -> str:
    """The outcome class of one case (see the module docstring)."""
    if res["hung"]:
        return "HANG"
    if res.get("exc"):
        return "TRACEBACK"
    if lost:
        return "LOST"
    if res["peak_mb"] > MEMORY_LIMIT_MB:
        return "MEMORY"
    if res["code"] == 0:
        warned = any("warning" in ln.lower() for ln in res["stderr"].splitlines())
        return ("ok-warned" if warned else "SILENT") if expect == "error" else "ok-ran"
    errors = [ln for ln in res["stderr"].splitlines() if re.match(r"(edfgen [\w -]+: error: |Error: )", ln)]
    if len(errors) != 1:
        return "UNCLEAR"
    return "REFUSED" if expect == "accept" else "ok-error"


def first_line(res: dict) -> str:
    if res.get("exc"):
        return res["exc"]
    lines = [ln for ln in res["stderr"].splitlines() if re.match(r"(edfgen [\w -]+: error: |Error: )", ln)]
    lines = lines or [ln for ln in res["stderr"].splitlines() if "warning" in ln.lower() or ln.startswith("  - ")]
    return (lines or [""])[0][:300]


def cases(only: set[str] | None) -> list[dict]:
    """Every (command, option, variant) of the matrix."""
    out = []
    for cmd, (argv, inputs) in COMMANDS.items():
        if only and cmd.split()[0] not in only and cmd not in only:
            continue
        if cmd not in NO_VALID_RUN:
            out.append({"command": cmd, "option": "-", "variant": "valid", "expect": "accept"})
        for opt, (kind, col) in inputs.items():
            for variant, (kinds, expect) in VARIANTS.items():
                if ((cmd in NO_VALID_RUN and (expect == "accept" or variant == "fifo"))   # (a fed FIFO is valid: minutes)
                        or (cmd in REFUSED_ONLY and expect != "error")):
                    continue
                if kind in kinds.split():
                    out.append({"command": cmd, "option": opt, "variant": variant, "expect": expect,
                                "kind": kind, "col": col})
        if "{o}" in " ".join(argv) or any(a.startswith("{o}") for a in argv):
            for variant, expect in OUT_VARIANTS.items():
                if cmd in REFUSED_ONLY and expect != "error":
                    continue
                if cmd in OUT_PREFIX and variant == "out_existing_file":
                    expect = "either"     # <prefix>.json/.safetensors are written beside it; lost if changed
                out.append({"command": cmd, "option": "--out", "variant": variant, "expect": expect})
    return out


def _argv(cmd: str, case: dict, d: Path, o: Path, vdir: Path) -> tuple[list[str] | None, tuple | None]:
    argv, inputs = COMMANDS[cmd]
    args = [a.replace("{d}", str(d)).replace("{o}", str(o)) for a in argv]
    fifo = None
    opt, variant = case["option"], case["variant"]
    if opt in inputs:
        k = args.index(opt) + 1
        src = Path(args[k])
        p = make_variant(src, variant, case["kind"], case["col"], vdir)
        if p is None:
            return None, None
        if variant == "fifo":
            fifo = (p, ("\n".join(_lines(src)) + "\n").encode())
        args[k] = str(p)
    elif opt == "--out":
        k = args.index("--out") + 1
        target = Path(args[k])
        if variant == "out_existing_file":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("a file of the user's\n")
            args[k] = str(target)
        elif variant == "out_missing_parent":
            args[k] = str(o / "no" / "such" / target.name)
        elif variant == "out_is_input":
            first_input = next((args[args.index(x) + 1] for x in inputs if x in args), None)
            first_input = first_input or next((a for a in args if a.startswith(str(d)) and Path(a).is_file()), None)
            if first_input is None or not Path(first_input).is_file():
                return None, None
            args[k] = first_input
    return args, fifo


def run_matrix(only: set[str] | None, work: Path, variants: set[str] | None = None) -> list[dict]:
    base = work / "base"
    build_base(base)
    rows = []
    for n, case in enumerate(c for c in cases(only) if not variants or c["variant"] in variants):
        d = work / f"c{n}"
        shutil.copytree(base, d, symlinks=True)
        o = d / "out"
        cmd = case["command"]
        args, fifo = _argv(cmd, case, d, o, d / "variant")
        if args is None:
            shutil.rmtree(d, ignore_errors=True)
            continue
        before = _fingerprint(d)
        res = run_case(args, fifo, SLOW_TIMEOUT_S.get(cmd, TIMEOUT_S))
        after = _fingerprint(d)
        lost = sorted(k for k, v in before.items() if after.get(k) != v and not k.startswith("variant/"))
        if case["variant"] == "out_existing_file":    # the user's file under --out must survive when refused
            tgt = Path(args[args.index("--out") + 1])
            if not tgt.is_file() or tgt.read_text() != "a file of the user's\n":
                lost.append(str(tgt.relative_to(d)))
        row = {**{k: case[k] for k in ("command", "option", "variant", "expect")}, "code": res["code"],
               "outcome": classify(res, case["expect"], lost), "line": first_line(res).replace(str(d), "<d>"),
               "seconds": res["seconds"], "peak_mb": res["peak_mb"], "lost": lost}
        rows.append(row)
        print(f"{row['outcome']:10s} {cmd:12s} {case['option']:13s} {case['variant']:18s} {row['code']!s:4s} "
              f"{row['seconds']:6.2f}s {row['line'][:150]}", flush=True)
        shutil.rmtree(d, ignore_errors=True)
    return rows


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


DEFECTS = ("TRACEBACK", "UNCLEAR", "SILENT", "REFUSED", "HANG", "MEMORY", "LOST")


def report(rows: list[dict], seconds: float, tag: str, coverage: dict) -> str:
    import collections

    counts = collections.Counter(r["outcome"] for r in rows)
    md = ["# Hostile-input matrix over the CLI (stop 39)", "",
          f"`python benchmarks/fuzz_cli_matrix.py{' --tag ' + tag if tag else ''}`, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {len(rows)} cases in {seconds:.0f} s "
          f"(load average {os.getloadavg()[0]:.1f}). Classes and variants: the docstring of "
          "`benchmarks/fuzz_cli_matrix.py`.", "",
          "Summary: " + ", ".join(f"{k} {counts[k]}" for k in (*DEFECTS, "ok-error", "ok-ran", "ok-warned")), "",
          "Path options of every subcommand (enumerated from the click group; those in the matrix are the options "
          "of `COMMANDS`):", ""]
    md += [f"- `{c}`: {', '.join(f'`{o}`' for o in opts) or '(none)'}" for c, opts in coverage.items()]
    md += ["", "| command | option | variant | exit | outcome | first line of stderr | s | MiB |", "|---" * 8 + "|"]
    for r in rows:
        md.append(f"| {r['command']} | {r['option']} | {r['variant']} | {r['code']} | {r['outcome']} | "
                  f"{_cell(r['line'])} | {r['seconds']} | {r['peak_mb']} |")
    return "\n".join(md) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated commands (default: all)")
    ap.add_argument("--tag", default="", help="suffix of the result files (e.g. before)")
    ap.add_argument("--variants", help="comma-separated variants (default: all; 'valid' for the valid runs)")
    a = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import numpy  # noqa: F401  (imported once here, before the forks)
    import pandas  # noqa: F401
    import torch  # noqa: F401

    import edfgen.cli
    import importlib
    import pkgutil

    import edfgen.commands
    for m in pkgutil.iter_modules(edfgen.commands.__path__):
        importlib.import_module(f"edfgen.commands.{m.name}")
    for mod in ("edfgen.cli.genetics", "edfgen.cli.loci", "edfgen.cli.mr", "edfgen.cli.post", "edfgen.cli.extract",
                "edfgen.cli.model", "edfgen.cli.pipeline", "edfgen.cli.simulate"):
        __import__(mod)
    only = set(a.only.split(",")) if a.only else None
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edfgen-matrix-") as tmp:
        rows = run_matrix(only, Path(tmp), set(a.variants.split(",")) if a.variants else None)
    seconds = time.perf_counter() - t0
    name = "fuzz_cli_matrix" + (f"_{a.tag}" if a.tag else "")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"seconds": round(seconds, 1), "edfgen": str(Path(
        edfgen.cli.__file__).parents[1]), "rows": rows}, indent=1))
    md = RESULTS / f"{name}.md"
    kept = md.read_text().split(MARK, 1)[1] if md.exists() and MARK in md.read_text() else "\n"
    md.write_text(report(rows, seconds, a.tag, path_options()) + "\n" + MARK + kept)
    import collections
    print(collections.Counter(r["outcome"] for r in rows))


if __name__ == "__main__":
    main()
