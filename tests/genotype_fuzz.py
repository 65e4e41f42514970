"""Fuzzing the genotype readers (BGEN, PGEN, BED, VCF): mutations of small plink2-written files, each read
by a worker subprocess (a crash signal kills the worker, not pytest, and names the case), each outcome
judged against the rule of issue 19 and plink2.

Used by ``tests/test_fuzz_genotypes.py`` (a few derandomised hypothesis examples per reader) and
``benchmarks/fuzz_inputs.py`` (many more cases, outcome counts in ``benchmarks/results/fuzz_genotypes``).

Outcomes of one case: ``error`` (an :class:`~edfgen.exceptions.EdfgenError` whose message is one line),
``used`` (read completely; the dosages equal plink2's decoding of the same bytes, within 1e-3), and the
failures: ``crash`` (the worker died of a signal), ``traceback`` (any other exception, or an error of
several lines), ``differs`` (read, but not what plink2 reads), ``plink2_rejects`` (read although plink2
refuses the file).

Run as a script, ``python genotype_fuzz.py worker CASES.json RESULTS.jsonl`` is the worker.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
#: the files of each reader's fixture (the first is the genotype file), and whether they are text
READERS = {
    "bgen": (("g8.bgen", False), ("g8.sample", True)),
    "bgen_zstd": (("g16.bgen", False),),
    "pgen": (("p.pgen", False), ("p.pvar", True), ("p.psam", True)),
    "bed": (("b.bed", False), ("b.bim", True), ("b.fam", True)),
    "vcf": (("v.vcf", True),),
}
EXTREMES = [0, 1, 2, 3, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 20]
TEXT_EXTREMES = ["-1", "0", "99999999999999999999", "2147483648", "1e308", "nan", "-inf", "", "x", "\t", "1.5"]


def _plink2(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["plink2", "--threads", "1", "--silent", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True)


def make_fixtures(d: Path, n: int = 16, m: int = 8, seed: int = 3) -> Path:
    """Small files of every reader in ``d`` (plink2 --dummy dosages, 2 % missing)."""
    d.mkdir(parents=True, exist_ok=True)
    if (d / "done").exists():
        return d
    for args in (("--dummy", n, m, "0.02", "acgt", "dosage-freq=0.5", "--seed", seed, "--make-pgen", "--out", "p"),
                 ("--pfile", "p", "--export", "bgen-1.2", "bits=8", "ref-first", "--out", "g8"),
                 ("--pfile", "p", "--export", "bgen-1.3", "bits=16", "ref-first", "id-paste=iid", "--out", "g16"),
                 ("--pfile", "p", "--make-bed", "--out", "b"),
                 ("--pfile", "p", "--export", "vcf", "vcf-dosage=DS-force", "--out", "v")):
        r = _plink2(*args, cwd=d)
        if r.returncode:
            raise RuntimeError(f"plink2 {' '.join(map(str, args))}: {r.stderr or r.stdout}")
    (d / "done").write_text("")
    return d


# ------------------------------------------------------------------------------------------ mutations
@dataclass(frozen=True)
class Mutation:
    """One change of one file of a fixture: ``op`` in truncate, flip, delete, duplicate, extreme; ``at`` and
    ``arg`` are fractions/choices resolved against the file (so one mutation applies to any file)."""

    reader: str
    file: int
    op: str
    at: float
    arg: int

    def apply(self, src: Path, dst: Path) -> Path:
        """Copy the fixture of ``self.reader`` from ``src`` to ``dst`` with the mutation; returns ``dst``."""
        dst.mkdir(parents=True, exist_ok=True)
        files = READERS[self.reader]
        for name, _ in files:
            shutil.copyfile(src / name, dst / name)
        name, text = files[self.file % len(files)]
        data = (dst / name).read_bytes()
        (dst / name).write_bytes(_text_mutation(data, self) if text else _binary_mutation(data, self))
        return dst

    def describe(self) -> str:
        files = READERS[self.reader]
        return f"{self.reader}:{files[self.file % len(files)][0]}:{self.op}@{self.at:.4f}/{self.arg}"


def _binary_mutation(data: bytes, mu: Mutation) -> bytes:
    n = len(data)
    k = min(int(mu.at * n), n - 1)
    if mu.op == "truncate":
        return data[:k]
    if mu.op == "flip":
        return data[:k] + bytes([data[k] ^ (1 + mu.arg % 255)]) + data[k + 1:]
    length = 1 + mu.arg % 64
    if mu.op == "delete":
        return data[:k] + data[k + length:]
    if mu.op == "duplicate":
        return data[:k + length] + data[k:k + length] + data[k + length:]
    value = EXTREMES[mu.arg % len(EXTREMES)]            # extreme: a little-endian uint32 over 4 bytes
    return data[:k] + value.to_bytes(4, "little") + data[k + 4:]


def _text_mutation(data: bytes, mu: Mutation) -> bytes:
    if mu.op in ("truncate", "flip"):
        return _binary_mutation(data, mu)
    lines = data.split(b"\n")
    i = min(int(mu.at * len(lines)), len(lines) - 1)
    fields = lines[i].split(b"\t") if b"\t" in lines[i] else lines[i].split(b" ")
    sep = b"\t" if b"\t" in lines[i] else b" "
    j = mu.arg % max(len(fields), 1)
    if mu.op == "delete":
        if mu.arg % 3 == 0:
            del lines[i]
        else:
            del fields[j]
            lines[i] = sep.join(fields)
    elif mu.op == "duplicate":
        if mu.arg % 3 == 0:
            lines.insert(i, lines[i])
        else:
            fields.insert(j, fields[j] if fields else b"")
            lines[i] = sep.join(fields)
    else:
        fields[j] = TEXT_EXTREMES[mu.arg % len(TEXT_EXTREMES)].encode()
        lines[i] = sep.join(fields)
    return b"\n".join(lines)


def random_mutations(reader: str, count: int, seed: int) -> list[Mutation]:
    """``count`` mutations of ``reader``'s files from a fixed seed (the benchmark's cases)."""
    rng = random.Random(f"{reader}:{seed}")
    ops = ("truncate", "flip", "delete", "duplicate", "extreme")
    return [Mutation(reader, 0 if rng.random() < 0.75 else rng.randrange(3), rng.choice(ops), rng.random(),
                     rng.randrange(1 << 16)) for _ in range(count)]


# ------------------------------------------------------------------------------------------ reading
def _source_kwargs(reader: str, d: Path) -> dict:
    return {"bgen": {"bgen": str(d / "g8.bgen"), "sample": str(d / "g8.sample")},
            "bgen_zstd": {"bgen": str(d / "g16.bgen")},
            "pgen": {"pfile": str(d / "p")}, "bed": {"bfile": str(d / "b")},
            "vcf": {"vcf": str(d / "v.vcf")}}[reader]


def _worker(cases_path: str, results_path: str) -> None:
    """Read each case (``[reader, folder]``); one JSON line per case, written before the next starts."""
    sys.path.insert(0, str(REPO))
    from edfgen.exceptions import EdfgenError
    from edfgen.formats.genotypes import GenotypeSource, open_genotypes

    cases = json.loads(Path(cases_path).read_text())
    done = set()
    if Path(results_path).exists():
        done = {json.loads(x)["case"] for x in Path(results_path).read_text().splitlines() if x.strip()}
    with open(results_path, "a") as out:
        for i, (reader, folder) in enumerate(cases):
            if i in done:
                continue
            out.write(json.dumps({"case": i, "start": True}) + "\n")
            out.flush()
            res = {"case": i}
            try:
                with open_genotypes(GenotypeSource(**_source_kwargs(reader, Path(folder)))) as r:
                    x = r.read(None, np.arange(r.n_variants))
                np.save(Path(folder) / "edfgen.npy", x)
                res.update(outcome="used", iids=r.samples["IID"].tolist())
            except EdfgenError as exc:
                msg = str(exc)
                res.update(outcome="error" if msg and "\n" not in msg else "traceback", message=msg[:300])
            except BaseException as exc:  # noqa: BLE001 - what the fuzzing looks for
                res.update(outcome="traceback", message=f"{type(exc).__name__}: {str(exc)[:300]}")
            out.write(json.dumps(res) + "\n")
            out.flush()


def run_cases(cases: list[tuple[str, Path]], work: Path, timeout: float = 300) -> list[dict]:
    """Outcomes of ``cases`` (``(reader, mutated folder)``) from worker subprocesses; a worker that dies of a
    signal marks its case ``crash`` and a new worker goes on with the next."""
    work.mkdir(parents=True, exist_ok=True)
    cases_path, results_path = work / "cases.json", work / "results.jsonl"
    cases_path.write_text(json.dumps([[r, str(f)] for r, f in cases]))
    results_path.unlink(missing_ok=True)
    env = {**os.environ, "EDFGEN_CACHE": str(work / "cache"), "PYTHONPATH": str(REPO)}
    results: dict[int, dict] = {}
    while True:
        p = subprocess.run([sys.executable, __file__, "worker", str(cases_path), str(results_path)], env=env,
                           capture_output=True, text=True, errors="replace", timeout=timeout)
        started = None
        for line in results_path.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("start"):
                started = rec["case"]
            else:
                results[rec["case"]] = rec
                started = None
        if p.returncode == 0 and len(results) == len(cases):
            break
        if started is None:
            raise RuntimeError(f"fuzz worker failed outside a case (rc {p.returncode}): {p.stderr[-2000:]}")
        results[started] = {"case": started, "outcome": "crash", "message": f"rc {p.returncode}: {p.stderr[-300:]}"}
        with open(results_path, "a") as fh:
            fh.write(json.dumps(results[started]) + "\n")
    for i, (reader, folder) in enumerate(cases):
        if results[i]["outcome"] == "used":
            results[i].update(_compare_with_plink2(reader, Path(folder), results[i].pop("iids")))
    return [results[i] for i in range(len(cases))]


def _compare_with_plink2(reader: str, d: Path, iids: list[str]) -> dict:
    """plink2's dosages of the same (mutated) files (``--export A``) against what edfgen read."""
    inputs = {"bgen": ["--bgen", "g8.bgen", "ref-first", "--sample", "g8.sample"],
              "bgen_zstd": ["--bgen", "g16.bgen", "ref-first"], "pgen": ["--pfile", "p"],
              "bed": ["--bfile", "b"], "vcf": ["--vcf", "v.vcf", "dosage=DS"]}[reader]
    r = _plink2(*inputs, "--allow-extra-chr", "--export", "A", "--out", "ref", cwd=d)
    if r.returncode:
        return {"outcome": "plink2_rejects", "message": (r.stderr or r.stdout).strip()[-300:]}
    import pandas as pd

    raw = pd.read_csv(d / "ref.raw", sep="\t", dtype={"IID": str}, encoding="latin-1")
    got = np.load(d / "edfgen.npy")
    ref = 2 - raw.iloc[:, 6:].to_numpy(dtype=float)     # plink2 --export A counts REF; edfgen ALT (.bed: A1)
    if ref.shape != got.shape or list(raw["IID"]) != list(iids):
        return {"outcome": "differs", "message": f"plink2 reads {ref.shape}, edfgen {got.shape}"}
    same = (np.isnan(ref) == np.isnan(got)) & (np.isnan(ref) | (np.abs(np.nan_to_num(ref) - got) <= 1e-3))
    if not same.all():
        i, j = np.argwhere(~same)[0]
        return {"outcome": "differs", "message": f"sample {i + 1} variant {j + 1}: plink2 {ref[i, j]}, edfgen {got[i, j]}"}
    return {"outcome": "used"}


def fuzz(reader: str, mutations: list[Mutation], fixtures: Path, work: Path) -> list[dict]:
    """Apply each mutation to a copy of ``reader``'s fixture and read it (:func:`run_cases`)."""
    cases = [(reader, mu.apply(fixtures, work / f"case{i}")) for i, mu in enumerate(mutations)]
    out = run_cases(cases, work)
    for res, mu in zip(out, mutations):
        res["mutation"] = mu.describe()
    return out


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    _worker(sys.argv[2], sys.argv[3])
