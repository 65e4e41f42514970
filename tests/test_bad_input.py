"""Bad input, table-driven: every input kind x the mistakes users make (issue 11).

Each case copies a small valid input set (PLINK genotypes, phenotypes, covariates, summary statistics,
an MR pair, loci + GWAS Catalog, WFDB records, the shipped checkpoint), breaks one thing, runs the
command through the CLI, and expects exit code 2, a single ``edfgen <command>: error: ...`` line naming
the file/column/value, no numpy repr, and nothing written to ``--out``. Every command also runs once on
the unbroken inputs (exit 0), so a case cannot pass because the fixture itself is broken.

Bad ECG records are the exception by design: one bad record is rejected with its reason while the rest
of the batch goes on (exit 0). Property-based tests (hypothesis) feed arbitrary text to the table,
summary-statistics, WFDB-header and config parsers: nothing but :class:`InputError` may come out.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from edfgen.cli import cli
from edfgen.exceptions import InputError

N, M = 120, 60                     # samples, variants of the PLINK fileset
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
CATALOG = Path(__file__).resolve().parents[1] / "edfgen" / "data" / "ecg_traits_associations_2016-01-18.tsv"
NUMPY_REPR = re.compile(r"np\.(int|float|str_|bool)")


# --------------------------------------------------------------------------- valid inputs
def _write_bfile(prefix: Path, *, n: int = N, m: int = M, seed: int = 0) -> None:
    from bed_reader import to_bed

    rng = np.random.default_rng(seed)
    G = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m)).astype(np.float32)
    iid = [f"S{i:04d}" for i in range(n)]
    to_bed(prefix.with_suffix(".bed"), G, count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": [f"rs{j + 1}" for j in range(m)], "chromosome": ["1"] * m,
        "bp_position": np.arange(1, m + 1) * 1000, "allele_1": ["A"] * m, "allele_2": ["G"] * m})


def _write_wfdb(d: Path, name: str, *, fs: str = "500", seed: int = 0) -> None:
    """A 10-s 12-lead WFDB record in format 16 (gain 1000/mV) with ECG-like periodic waves."""
    rng = np.random.default_rng(seed)
    t = np.arange(5000) / 500.0
    beat = np.exp(-((t % 0.8) - 0.3) ** 2 / 0.0004)             # R waves at 75 bpm
    sig = np.stack([beat * (0.5 + 0.1 * k) + 0.1 * np.sin(2 * np.pi * 1.2 * t) + rng.normal(0, 0.01, t.size)
                    for k in range(12)], axis=1)
    (sig * 1000).round().astype("<i2").tofile(d / f"{name}.dat")
    lines = [f"{name} 12 {fs} 5000"] + [f"{name}.dat 16 1000/mV 16 0 0 0 0 {lead}" for lead in LEADS]
    (d / f"{name}.hea").write_text("\n".join(lines) + "\n")


def _sumstats(rng, m: int = M) -> pd.DataFrame:
    p = 10 ** -rng.uniform(0, 3, m)
    p[[9, 10, 40]] = [1e-12, 1e-9, 1e-10]
    return pd.DataFrame({"chromosome": "1", "base_pair_location": np.arange(1, m + 1) * 1000,
                         "effect_allele": "A", "other_allele": "G", "beta": rng.normal(0, 0.1, m),
                         "standard_error": 0.05, "effect_allele_frequency": rng.uniform(0.1, 0.5, m).round(3),
                         "p_value": p, "variant_id": [f"rs{j + 1}" for j in range(m)], "rsid": pd.NA, "n": N})


def _mr_pair(rng, k: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = [f"rs{100 + j}" for j in range(k)]
    bx = rng.uniform(0.05, 0.2, k)
    exp = pd.DataFrame({"variant_id": ids, "effect_allele": "A", "other_allele": "G", "beta": bx,
                        "standard_error": 0.01, "p_value": 1e-12, "effect_allele_frequency": 0.3, "n": 10000})
    by = 0.5 * bx + rng.normal(0, 0.01, k)
    out = pd.DataFrame({"variant_id": ids, "effect_allele": "A", "other_allele": "G", "beta": by,
                        "standard_error": 0.02, "p_value": 0.01, "effect_allele_frequency": 0.3, "n": 20000})
    return exp, out


def _tsv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, sep="\t", index=False, na_rep="NA")
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The valid inputs, written once per module (< 1 s)."""
    d = tmp_path_factory.mktemp("bad_input_base")
    rng = np.random.default_rng(11)
    _write_bfile(d / "g")
    iid = [f"S{i:04d}" for i in range(N)]
    ph = pd.DataFrame({"IID": iid, "qt": rng.normal(size=N), "hr": rng.normal(60, 10, N).round(1)})
    _tsv(ph, d / "pheno.tsv")
    cv = pd.DataFrame({"IID": iid, "age": rng.integers(40, 70, N), "sex": rng.integers(0, 2, N),
                       "centre": rng.choice(["A", "B"], N)})
    _tsv(cv, d / "covar.tsv")
    (d / "ss").mkdir()
    _tsv(_sumstats(rng), d / "ss" / "qt.tsv.gz")
    exp, out = _mr_pair(rng)
    _tsv(exp, d / "exposure.tsv")
    _tsv(out, d / "outcome.tsv")
    loci = pd.DataFrame({"variant_id": ["rs1", "rs2"], "chromosome": ["1", "3"],
                         "base_pair_location": [1_000_000, 2_000_000], "p_value": [1e-9, 1e-10]})
    _tsv(loci, d / "loci.tsv")
    shutil.copy(CATALOG, d / "catalog.tsv")
    (d / "ecg").mkdir()
    for i in range(3):
        _write_wfdb(d / "ecg", f"R{i}", seed=i)
    (d / "ckpt").mkdir()
    pkg = Path(__file__).resolve().parents[1] / "edfgen" / "checkpoints"
    for f in ("tiny.json", "tiny.safetensors"):
        shutil.copy(pkg / f, d / "ckpt" / f)
    return d


@pytest.fixture
def inp(base, tmp_path) -> Path:
    """A private, writable copy of the valid inputs for one case."""
    d = tmp_path / "in"
    shutil.copytree(base, d)
    return d


# --------------------------------------------------------------------------- commands
def gwas(d: Path, out: Path, *extra) -> list:
    return ["gwas", "--bfile", d / "g", "--pheno", d / "pheno.tsv", "--covar", d / "covar.tsv", "--no-plots",
            "--maf", "0", "--hwe", "0", "--out", out, *extra]


def clump(d: Path, out: Path) -> list:
    return ["clump", "--sumstats", d / "ss", "--bfile", d / "g", "--p1", "1e-6", "--out", out]


def mr(d: Path, out: Path) -> list:
    return ["mr", "--no-clump", "--exposure", d / "exposure.tsv", "--outcome", d / "outcome.tsv", "--nboot", 10,
            "--presso-sims", 0, "--no-plots", "--out", out]


def annotate(d: Path, out: Path) -> list:
    return ["annotate", "--loci", d / "loci.tsv", "--catalog", d / "catalog.tsv", "--any-trait",
            "--out", out / "annotated.tsv"]


def pca(d: Path, out: Path, *extra) -> list:
    return ["pca", "--bfile", d / "g", "--k", 2, "--out", out, *extra]


def model_info(d: Path, out: Path) -> list:
    return ["model", "info", "--checkpoint", d / "ckpt" / "tiny.json"]


def extract(d: Path, out: Path) -> list:
    return ["extract", "--ecg", d / "ecg", "--checkpoint", d / "ckpt" / "tiny.json", "--workers", 0,
            "--out", out / "edfs.tsv"]


def simulate(d: Path, out: Path, *extra) -> list:
    return ["simulate", "--out", out, "--n", 50, "--no-ecg", *extra]


# --------------------------------------------------------------------------- mutations
def edit_table(name: str, fn: Callable[[pd.DataFrame], None], sep: str = "\t") -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        df = pd.read_csv(d / name, sep=sep, dtype=str, keep_default_na=False)
        fn(df)
        df.to_csv(d / name, sep=sep, index=False)
    return apply


def set_cell(name: str, row: int, col: str, value) -> Callable[[Path], None]:
    def fn(df):
        df.loc[row, col] = str(value)
    return edit_table(name, fn)


def set_column(name: str, col: str, values) -> Callable[[Path], None]:
    def fn(df):
        df[col] = values(df) if callable(values) else values
    return edit_table(name, fn)


def truncate(name: str, nbytes: int) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        p = d / name
        p.write_bytes(p.read_bytes()[:-nbytes])
    return apply


def overwrite_bytes(name: str, data: bytes, at: int = 0) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        p = d / name
        b = bytearray(p.read_bytes())
        b[at:at + len(data)] = data
        p.write_bytes(bytes(b))
    return apply


def append_line(name: str, line: str) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        with open(d / name, "a") as fh:
            fh.write(line + "\n")
    return apply


def write_text(name: str, text: str) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        (d / name).write_text(text)
    return apply


def fam_duplicate_iid(d: Path) -> None:
    lines = (d / "g.fam").read_text().splitlines()
    lines[5] = lines[5].replace("S0005", "S0004")
    (d / "g.fam").write_text("\n".join(lines) + "\n")


def keep_file(d: Path) -> None:
    _tsv(pd.DataFrame({"IID": ["X1", "X2", "X3"]}), d / "keep.tsv")


def checkpoint_json(fn: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        p = d / "ckpt" / "tiny.json"
        doc = json.loads(p.read_text())
        fn(doc)
        p.write_text(json.dumps(doc))
    return apply


def nan_weight(d: Path) -> None:
    from safetensors.torch import load_file, save_file

    from edfgen.formats.manifest import sha256_file

    w = d / "ckpt" / "tiny.safetensors"
    state = load_file(str(w))
    key = sorted(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)[0]
    state[key] = state[key].clone()
    state[key].view(-1)[0] = float("nan")
    save_file(state, str(w))
    checkpoint_json(lambda doc: doc.update(sha256=sha256_file(w)))(d)


def weights_outside(d: Path) -> None:
    shutil.copy(d / "ckpt" / "tiny.safetensors", d / "elsewhere.safetensors")
    checkpoint_json(lambda doc: doc.update(weights="../elsewhere.safetensors"))(d)


@dataclass(frozen=True)
class Case:
    kind: str                                 # input kind
    mistake: str
    command: Callable[..., list]
    mutate: Callable[[Path], None]
    expect: tuple[str, ...]                   # substrings of the error line (file, column, value ...)
    extra: tuple = ()


CASES = [
    # genotypes
    Case("genotypes", "truncated .bed (gwas)", gwas, truncate("g.bed", 7), ("g.bed", "truncated")),
    Case("genotypes", "truncated .bed (clump)", clump, truncate("g.bed", 7), ("g.bed", "truncated")),
    Case("genotypes", "bad magic bytes (gwas)", gwas, overwrite_bytes("g.bed", b"\x00\x00"), ("g.bed", "magic")),
    Case("genotypes", "bad magic bytes (clump)", clump, overwrite_bytes("g.bed", b"\x00\x00"), ("g.bed", "magic")),
    Case("genotypes", "sample-major .bed (gwas)", gwas, overwrite_bytes("g.bed", b"\x00", at=2), ("g.bed", "sample-major")),
    Case("genotypes", ".fam has one sample more than the .bed (gwas)", gwas,
         append_line("g.fam", "S9999 S9999 0 0 0 -9"), ("g.bed", "121 samples")),
    Case("genotypes", ".bim has one variant more than the .bed (clump)", clump,
         append_line("g.bim", "1\trs999\t0\t99999\tA\tG"), ("g.bed", "61 variants")),
    Case("genotypes", ".bim line with 4 columns (gwas)", gwas, append_line("g.bim", "1 rs999 0 99999"),
         ("g.bim", "line 61", "fewer than 6 columns")),
    Case("genotypes", ".bim non-integer position (clump)", clump, append_line("g.bim", "1 rs999 0 12x A G"),
         ("g.bim", "12x")),
    Case("genotypes", "duplicated IID in .fam (gwas)", gwas, fam_duplicate_iid, ("g.fam", "S0004")),
    Case("genotypes", "duplicated IID in .fam (pca)", pca, fam_duplicate_iid, ("g.fam", "S0004")),
    Case("genotypes", "pca --keep without any genotyped sample", lambda d, o: pca(d, o, "--keep", d / "keep.tsv"),
         keep_file, ("--keep", "keep.tsv", "0 of its 3")),
    Case("genotypes", "truncated .bed (pca)", pca, truncate("g.bed", 7), ("g.bed", "truncated")),
    # phenotypes
    Case("phenotypes", "a word in a phenotype column, columns not named", gwas,
         set_cell("pheno.tsv", 7, "hr", "high"), ("pheno.tsv", "'hr'", "row 8", "S0007", "'high'")),
    Case("phenotypes", "a word in a named phenotype column", lambda d, o: gwas(d, o, "--pheno-cols", "qt"),
         set_cell("pheno.tsv", 3, "qt", "n/a?"), ("pheno.tsv", "'qt'", "row 4", "'n/a?'")),
    Case("phenotypes", "inf value", gwas, set_cell("pheno.tsv", 11, "qt", "inf"),
         ("pheno.tsv", "'qt'", "row 12", "not finite")),
    Case("phenotypes", "constant phenotype", gwas, set_column("pheno.tsv", "hr", "72"), ("pheno.tsv", "'hr'", "constant")),
    Case("phenotypes", "all-missing phenotype", gwas, set_column("pheno.tsv", "hr", "NA"), ("pheno.tsv", "'hr'", "no values")),
    Case("phenotypes", "duplicated IID", gwas, set_cell("pheno.tsv", 9, "IID", "S0008"), ("pheno.tsv", "S0008")),
    Case("phenotypes", "--binary phenotype with values 0/1/5", lambda d, o: gwas(d, o, "--binary", "--pheno-cols", "sex01"),
         set_column("pheno.tsv", "sex01", lambda df: ["5"] + ["0", "1"] * ((len(df) - 1) // 2) + ["0"] * ((len(df) - 1) % 2)),
         ("pheno.tsv", "'sex01'", "0/1")),
    # covariates
    Case("covariates", "one word among numbers (no 41-level categorical)", gwas, set_cell("covar.tsv", 5, "age", "old"),
         ("covar.tsv", "'age'", "row 6", "S0005", "'old'")),
    Case("covariates", "inf value", gwas, set_cell("covar.tsv", 2, "age", "-inf"), ("covar.tsv", "'age'", "row 3", "not finite")),
    Case("covariates", "constant covariate", gwas, set_column("covar.tsv", "sex", "1"), ("covar.tsv", "'sex'", "constant")),
    Case("covariates", "collinear covariates", gwas,
         set_column("covar.tsv", "age2", lambda df: (df["age"].astype(int) * 2).astype(str)),
         ("covar.tsv", "'age2'", "'age'", "linear combination")),
    Case("covariates", "named covariate missing", lambda d, o: gwas(d, o, "--covar-cols", "age,bmi"), lambda d: None,
         ("covar.tsv", "bmi")),
    # summary statistics
    Case("sumstats", "clump: unparsable p-value", clump, set_cell("ss/qt.tsv.gz", 4, "p_value", "0.0x1"),
         ("qt.tsv", "'p_value'", "row 5", "rs5", "'0.0x1'")),
    Case("sumstats", "clump: p-value above 1", clump, set_cell("ss/qt.tsv.gz", 6, "p_value", "1.5"),
         ("qt.tsv", "'p_value'", "rs7", "1.5", "outside [0, 1]")),
    Case("sumstats", "mr: p = 1.5", mr, set_cell("exposure.tsv", 2, "p_value", "1.5"),
         ("exposure.tsv", "'p_value'", "rs102", "1.5")),
    Case("sumstats", "mr: allele frequency 1.7", mr, set_cell("outcome.tsv", 3, "effect_allele_frequency", "1.7"),
         ("outcome.tsv", "'effect_allele_frequency'", "rs103", "1.7")),
    Case("sumstats", "mr: negative SE", mr, set_cell("outcome.tsv", 1, "standard_error", "-0.02"),
         ("outcome.tsv", "'standard_error'", "rs101", "-0.02")),
    Case("sumstats", "mr: zero SE", mr, set_cell("exposure.tsv", 0, "standard_error", "0"),
         ("exposure.tsv", "'standard_error'", "rs100", "outside (0, inf]")),
    Case("sumstats", "mr: beta is text", mr, set_cell("exposure.tsv", 4, "beta", "abc"),
         ("exposure.tsv", "'beta'", "rs104", "'abc'")),
    # a repeated outcome variant no longer stops mr (stop 42): it is harmless unless an instrument, which is then
    # left out as duplicated_in_outcome (tests/test_mr_join.py, test_mr_metamorphic.py)
    Case("sumstats", "mr: alias column (SE) with inf", mr,
         edit_table("exposure.tsv", lambda df: (df.rename(columns={"standard_error": "SE"}, inplace=True),
                                                df.__setitem__("SE", ["inf"] + list(df["SE"][1:])))),
         ("exposure.tsv", "'SE'", "rs100", "not finite")),
    # catalog and loci
    Case("catalog", "empty catalog file", annotate, write_text("catalog.tsv", ""), ("catalog.tsv", "empty")),
    Case("catalog", "catalog with a header line only", annotate,
         lambda d: (d / "catalog.tsv").write_text(CATALOG.read_text().splitlines()[0] + "\n"),
         ("catalog.tsv", "no associations")),
    Case("catalog", "catalog that is not the associations TSV", annotate, write_text("catalog.tsv", "a\tb\n1\t2\n"),
         ("catalog.tsv", "missing GWAS Catalog column")),
    Case("catalog", "loci with an unparsable p-value", annotate, set_cell("loci.tsv", 1, "p_value", "tiny"),
         ("loci.tsv", "'p_value'", "rs2", "'tiny'")),
    # ECG records (one bad record is rejected and the batch goes on: see the tests below; none usable is an error)
    Case("ECG records", "every record has sampling rate 0", extract,
         lambda d: [_write_wfdb(d / "ecg", f"R{i}", fs="0") for i in range(3)],
         ("--ecg", "no usable ECG record", "3 rejected", "R0", "sampling frequency '0'")),
    Case("ECG records", "every record has sampling rate 'abc'", extract,
         lambda d: [_write_wfdb(d / "ecg", f"R{i}", fs="abc") for i in range(3)],
         ("--ecg", "no usable ECG record", "'abc'")),
    # checkpoint
    Case("checkpoint", "NaN in the weights (model info)", model_info, nan_weight, ("tiny.safetensors", "non-finite")),
    Case("checkpoint", "NaN in the weights (extract)", extract, nan_weight, ("tiny.safetensors", "non-finite")),
    Case("checkpoint", "weights path outside the checkpoint folder", model_info, weights_outside,
         ("tiny.json", "../elsewhere.safetensors", "outside")),
    Case("checkpoint", "absolute weights path", model_info,
         checkpoint_json(lambda doc: doc.update(weights="/etc/passwd")), ("tiny.json", "/etc/passwd", "outside")),
    Case("checkpoint", "weights file of another checkpoint (sha256)", model_info,
         checkpoint_json(lambda doc: doc.update(sha256="0" * 64)), ("tiny.safetensors", "sha256")),
    # config (the model config and preprocessing stored in a checkpoint)
    Case("config", "model config: width is a string", model_info,
         checkpoint_json(lambda doc: doc["config"].update(width="96")), ("tiny.json", "'width'", "int", "'96'")),
    Case("config", "model config: dropout is a boolean", model_info,
         checkpoint_json(lambda doc: doc["config"].update(dropout=True)), ("tiny.json", "'dropout'", "float")),
    Case("config", "model config: conv_layers malformed", extract,
         checkpoint_json(lambda doc: doc["config"].update(conv_layers=[[32, 10]])), ("tiny.json", "'conv_layers'")),
    Case("config", "model config: unknown key", model_info,
         checkpoint_json(lambda doc: doc["config"].update(widht=96)), ("tiny.json", "widht")),
    Case("config", "preprocessing: sampling_rate is a string", extract,
         checkpoint_json(lambda doc: doc["preprocessing"].update(sampling_rate="500")),
         ("tiny.json", "'sampling_rate'", "'500'")),
    Case("config", "preprocessing: leads is a number", model_info,
         checkpoint_json(lambda doc: doc["preprocessing"].update(leads=12)), ("tiny.json", "'leads'")),
]

CLICK_CASES = [  # rejected by the option's click type: click's usage error, exit 2
    Case("options", "--seed -1 (simulate)", lambda d, o: simulate(d, o, "--seed", -1), lambda d: None, ("--seed", "-1")),
    Case("options", "--seed -1 (mr)", lambda d, o: [*mr(d, o), "--seed", -1], lambda d: None, ("--seed", "-1")),
    Case("options", "--seed 2**32 (gwas has none; interpret)", lambda d, o: ["interpret", "--edf", d / "pheno.tsv",
         "--out", o, "--seed", 2 ** 32], lambda d: None, ("--seed", "4294967296")),
]


def _run(args: list) -> "click.testing.Result":  # noqa: F821
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)


def _nothing_written(out: Path) -> bool:
    return not out.exists() or not any(out.iterdir())


def _ids(cases):
    return [f"{c.kind}: {c.mistake}" for c in cases]


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_bad_input__one_line_naming_the_culprit_exit_2_nothing_written(case: Case, inp: Path, tmp_path: Path):
    out = tmp_path / "out"
    case.mutate(inp)
    r = _run(case.command(inp, out))
    assert r.exception is None or isinstance(r.exception, SystemExit), \
        f"{case.mistake}: unexpected {type(r.exception).__name__}: {r.exception}\n{r.output[-2000:]}"
    errors = [ln for ln in r.output.splitlines() if re.match(r"edfgen [\w-]+: error: ", ln)]
    assert r.exit_code == 2, f"{case.mistake}: exit {r.exit_code}\n{r.output[-2000:]}"
    assert len(errors) == 1, r.output[-2000:]
    line = errors[0]
    missing = [s for s in case.expect if s not in line]
    assert not missing, f"{case.mistake}: {missing} not in: {line}"
    assert not NUMPY_REPR.search(line), line
    assert "Traceback" not in r.output
    assert _nothing_written(out), sorted(p.name for p in out.rglob("*"))


@pytest.mark.parametrize("case", CLICK_CASES, ids=_ids(CLICK_CASES))
def test_bad_option__click_usage_error_exit_2(case: Case, inp: Path, tmp_path: Path):
    out = tmp_path / "out"
    r = _run(case.command(inp, out))
    assert r.exit_code == 2, r.output
    line = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(line) == 1 and all(s in line[0] for s in case.expect), r.output
    assert _nothing_written(out)


@pytest.mark.parametrize("command", [gwas, clump, mr, annotate, model_info],
                         ids=["gwas", "clump", "mr", "annotate", "model info"])
def test_bad_input_fixture__valid_inputs_run(command, inp: Path, tmp_path: Path):
    """The unbroken inputs pass, so every case above fails because of its one mistake."""
    r = _run(command(inp, tmp_path / "out"))
    assert r.exit_code == 0, r.output[-3000:]


def test_bad_input_fixture__named_case_columns_exist(base: Path):
    """Cases that edit a cell address rows and columns that exist in the valid inputs."""
    assert {"qt", "hr"} <= set(pd.read_csv(base / "pheno.tsv", sep="\t").columns)
    assert {"age", "sex"} <= set(pd.read_csv(base / "covar.tsv", sep="\t").columns)
    assert len(CASES) >= 40


# --------------------------------------------------------------------------- ECG records
@pytest.mark.parametrize("fs", ["0", "-500", "abc", "nan", None], ids=["0", "-500", "abc", "nan", "missing"])
def test_extract__bad_sampling_rate_rejects_that_record_and_the_batch_goes_on(fs, inp: Path, tmp_path: Path):
    name = "BAD"
    _write_wfdb(inp / "ecg", name, fs=fs or "500")
    if fs is None:  # a record line with no sampling-frequency field: WFDB would assume 250 Hz
        hea = inp / "ecg" / f"{name}.hea"
        lines = hea.read_text().splitlines()
        hea.write_text("\n".join([f"{name} 12"] + lines[1:]) + "\n")
    out = tmp_path / "o" / "edfs.tsv"
    r = _run(extract(inp, out.parent))
    assert r.exit_code == 0, r.output[-3000:]
    edfs = pd.read_csv(out, sep="\t", dtype={"IID": str})
    assert sorted(edfs["IID"]) == ["R0", "R1", "R2"]               # the good records
    rejects = [p for p in out.parent.rglob("*rejects*.tsv")]
    assert rejects, sorted(p.name for p in out.parent.iterdir())
    rej = pd.concat([pd.read_csv(p, sep="\t", dtype=str) for p in rejects])
    row = rej[rej.apply(lambda s: s.astype(str).str.contains(name).any(), axis=1)]
    assert len(row) == 1, rej
    assert "sampling frequency" in " ".join(row.astype(str).to_numpy().ravel()), row.to_dict("records")


def test_read_wfdb__rate_250_never_assumed(tmp_path: Path):
    from edfgen.formats.ecg.records import RecordRejected, read_wfdb

    for fs, ok in (("500", 500.0), ("500/1000(0)", 500.0), ("250.5", 250.5), ("-500", None), ("abc", None),
                   ("0", None), ("inf", None)):
        _write_wfdb(tmp_path, "r", fs=fs)
        if ok is None:
            with pytest.raises(RecordRejected, match="sampling frequency"):
                read_wfdb(tmp_path / "r.hea")
        else:
            assert read_wfdb(tmp_path / "r.hea").fs == ok


# --------------------------------------------------------------------------- messages name the culprit
def test_prepare_phenotypes__messages_name_phenotype_and_covariates(caplog):
    """A covariate collinear in a phenotype's samples is left out of its regression with a warning naming both,
    as plink2 (review s33b F1-F3; the command refuses one collinear in all the analysed samples first)."""
    from edfgen.kernels.association import prepare_phenotypes

    rng = np.random.default_rng(0)
    C = np.column_stack([np.ones(60), rng.normal(size=60), rng.normal(size=60)])
    C2 = np.column_stack([C, 2 * C[:, 1] - C[:, 2]])
    Y = rng.normal(size=(60, 2))
    prepare_phenotypes(Y, C2, names=["QT interval (ms)", "hr"], covariate_names=["intercept", "a", "b", "c"])
    msg = caplog.text
    assert "'c'" in msg and "QT interval (ms)" in msg and "np." not in msg and "column" not in msg
    Y[:, 1] = np.nan
    Y[:3, 1] = 1.0
    with pytest.raises(InputError) as e:
        prepare_phenotypes(Y, C, names=["qt", "hr"])
    assert "'hr'" in str(e.value) and "np." not in str(e.value)


def test_cli_error_line__numpy_reprs_are_printed_as_plain_values():
    """The CLI's error printer turns any numpy scalar repr left in a message into the plain value."""
    from edfgen.cli import _NUMPY_REPR

    msg = f"phenotype(s) {[np.int64(1)]} p {np.float64(1.5)!r} id {np.str_('rs1')!r} n {np.uint8(3)!r}"
    assert _NUMPY_REPR.sub(r"\1", msg) == "phenotype(s) [1] p 1.5 id 'rs1' n 3"


# --------------------------------------------------------------------------- property-based parsers
PROPS = settings(max_examples=40, deadline=None, database=None,  # no .hypothesis/ folder in the repository
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
cell = st.one_of(st.text(max_size=8), st.sampled_from(["NA", "", "inf", "-inf", "nan", "1e400", "0x1", "1,5",
                                                       "  3 ", "1e-5", "-0", "\"", "'", "#", "\t"]),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str))


@st.composite
def table_text(draw):
    header = draw(st.lists(st.sampled_from(["IID", "variant_id", "SNP", "P", "p_value", "beta", "SE",
                                            "standard_error", "A1", "A2", "effect_allele", "other_allele",
                                            "eaf", "n", "x", ""]), min_size=0, max_size=8))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 1), max_size=6))
    sep = draw(st.sampled_from(["\t", ",", " "]))
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


@PROPS
@given(text=table_text(), suffix=st.sampled_from([".tsv", ".csv", ".txt"]),
       kw=st.sampled_from([{}, {"id_column": "IID"}, {"required": ["x"]}]))
def test_read_table__arbitrary_text_raises_only_input_error(tmp_path, text, suffix, kw):
    from edfgen.formats.tables import read_table

    p = tmp_path / f"t{suffix}"
    p.write_text(text)
    try:
        read_table(p, **kw)
    except InputError:
        pass


@PROPS
@given(text=table_text())
def test_read_sumstats__arbitrary_text_raises_only_input_error(tmp_path, text):
    from edfgen.formats.sumstats import read_sumstats

    p = tmp_path / "s.tsv"
    p.write_text(text)
    try:
        df, _ = read_sumstats(p)
    except InputError:
        return
    for col in ("p_value", "effect_allele_frequency"):       # what passes is in range
        v = pd.to_numeric(df[col], errors="coerce") if col in df else pd.Series(dtype=float)
        assert not ((v < 0) | (v > 1)).any()
    assert (pd.to_numeric(df["standard_error"]).dropna() > 0).all()


@PROPS
@given(values=st.lists(cell, max_size=12), lo=st.sampled_from([None, 0.0]), hi=st.sampled_from([None, 1.0]))
def test_numeric_values__text_is_a_number_or_an_input_error(values, lo, hi):
    from edfgen.kernels.validate import numeric_values

    try:
        v = numeric_values(pd.Series(values, dtype=object), source="f.tsv", column="c", lo=lo, hi=hi)
    except InputError as exc:
        assert str(exc).startswith("f.tsv: column 'c', row ") and "\n" not in str(exc)
        return
    assert v.dtype == np.float64 and not np.isinf(v).any()
    finite = v[~np.isnan(v)]
    assert (lo is None or (finite >= lo).all()) and (hi is None or (finite <= hi).all())


def test_numeric_values__out_of_range_value_shown_with_the_digits_that_put_it_outside():
    """A p-value of 1.0000001 was reported as 'value 1 outside [0, 1]' (six significant digits): shown as it is."""
    from edfgen.kernels.validate import numeric_values

    for value, shown in ((1.0000001, "1.0000001"), (1 + 2e-16, "1.0000000000000002"), (1.5, "1.5"), (-1e-12, "-1e-12")):
        with pytest.raises(InputError, match=rf"row 2: value {re.escape(shown)} outside \[0, 1\]$"):
            numeric_values(pd.Series([0.5, value]), source="f.tsv", column="p", lo=0.0, hi=1.0)


wfdb_token = st.one_of(st.sampled_from(["500", "0", "-500", "abc", "12", "5000", "16", "1000/mV", "1000(0)/uV",
                                        "1e", "1.2.3", "212", "16x2", "16+24", "I", "II", "V1", "x.dat", "r.dat",
                                        "r/2", "nan", "inf", "()", "/", "1e999/mV", "1000(1e999)/mV", "-1"]),
                       st.text(alphabet="0123456789.-+e/()xX:abc", max_size=6))
VALID_RECORD_LINE = ["r", "12", "500", "1000"]
VALID_SIGNAL_LINE = ["r.dat", "16", "1000/mV", "16", "0", "0", "0", "0"]


@st.composite
def wfdb_header(draw):
    """A valid 12-lead format-16 header with some tokens replaced, dropped or added."""
    def mutate(tokens):
        tokens = [draw(wfdb_token) if draw(st.integers(0, 9)) == 0 else t for t in tokens]
        if draw(st.integers(0, 19)) == 0:
            del tokens[draw(st.integers(0, len(tokens) - 1)):]
        return tokens
    lines = [mutate(list(VALID_RECORD_LINE))]
    for lead in LEADS[:draw(st.integers(0, 13))]:
        lines.append(mutate([*VALID_SIGNAL_LINE, lead]))
    return "\n".join(" ".join(t) for t in lines) + "\n"


@PROPS
@given(text=st.one_of(wfdb_header(), st.lists(st.lists(wfdb_token, max_size=10), max_size=14).map(
    lambda ls: "\n".join(" ".join(t) for t in ls))), with_dat=st.booleans())
def test_read_wfdb__arbitrary_header_raises_only_record_rejected(tmp_path, text, with_dat):
    from edfgen.formats.ecg.records import RecordRejected, read_wfdb

    for f in tmp_path.glob("*.dat"):
        f.unlink()
    (tmp_path / "r.hea").write_text(text)
    if with_dat:
        np.arange(12000, dtype="<i2").tofile(tmp_path / "r.dat")
        np.arange(2000, dtype="<i2").tofile(tmp_path / "x.dat")
    try:
        rec = read_wfdb(tmp_path / "r.hea")
    except RecordRejected:
        return
    assert np.isfinite(rec.fs) and rec.fs > 0
    assert rec.signal.ndim == 2 and rec.signal.shape[0] == len(rec.leads)


json_value = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
                          lambda inner: st.lists(inner, max_size=4), max_leaves=10)


@PROPS
@given(changes=st.dictionaries(st.sampled_from(["width", "depth", "heads", "conv_layers", "gumbel_temp", "labels",
                                                "dropout", "block", "name", "mask_prob", "sampling_rate", "leads",
                                                "window_s", "notch_hz"]), json_value, max_size=3))
def test_config_from_dict__arbitrary_values_raise_only_config_error(changes):
    from edfgen.kernels.ecg.preprocessing_config import Preprocessing
    from edfgen.exceptions import ConfigError
    from edfgen.model.config import ModelConfig

    for cls in (ModelConfig, Preprocessing):
        d = cls().to_dict()
        d.update({k: v for k, v in changes.items() if k in d})
        try:
            cls.from_dict(d)
        except ConfigError as exc:
            assert "\n" not in str(exc)


def test_notebook_01__phenotype_names_that_are_not_file_names(tmp_path: Path, monkeypatch):
    """Notebook 01 finds ``QT interval (ms)`` in ``QT_interval_ms_.tsv.gz`` (it built paths from raw names)."""
    import nbformat

    from edfgen.formats.tables import safe_filename

    gw = tmp_path / "gwas"
    gw.mkdir()
    rng = np.random.default_rng(3)
    names = ["QT interval (ms)", "edf_001"]
    for name in names:
        ss = _sumstats(rng)
        ss.to_csv(gw / f"{safe_filename(name)}.tsv.gz", sep="\t", index=False, na_rep="NA")
    pd.DataFrame({"phenotype": names, "n": N, "variants_tested": M, "lambda_gc": 1.0, "n_significant": [3, 1]}
                 ).to_csv(gw / "gwas_summary.tsv", sep="\t", index=False)
    (gw / ".QT_interval_ms_.tsv.gz.edfgen-tmp-1-0123456789ab.tsv.gz").write_bytes(b"\x1f\x8b half-written")  # a crash leftover
    monkeypatch.setenv("EDFGEN_OUT", str(tmp_path))
    monkeypatch.setenv("EDFGEN_FIGS", str(tmp_path / "figs"))
    nb = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / "01_manhattan.ipynb", as_version=4)
    ns: dict = {}
    for c in nb.cells:
        if c.cell_type == "code":
            exec(compile(c.source, "01_manhattan.ipynb", "exec"), ns)   # noqa: S102 - our own notebook
    assert (tmp_path / "figs" / "QT_interval_ms_.manhattan.png").exists()
    assert len(ns["frames"]) == 2


@pytest.mark.parametrize("args, line", [
    (["gwas", "--pheno", "edfs.tsv", "--bfile", "g", "--out", "o"],
     "Error: --pheno: file 'edfs.tsv' does not exist (try 'edfgen gwas -h')"),
    (["extract", "--ecg", "nowhere/", "--out", "o.tsv"],
     "Error: --ecg: path 'nowhere/' does not exist (try 'edfgen extract -h')"),
    (["mr", "--exposure", "x.tsv", "--outcome", "y.tsv", "--out", "o"],
     "Error: --exposure: path 'x.tsv' does not exist (try 'edfgen mr -h')"),
    (["simulate", "--n", "abc", "--out", "o"], "Error: --n: 'abc' is not a valid integer (try 'edfgen simulate -h')"),
    (["gwas", "--out", "o"], "Error: Missing option '--pheno' (try 'edfgen gwas -h')"),
    (["model", "info", "--bogus"], "Error: No such option '--bogus' (try 'edfgen model info -h')"),
    (["--bogus"], "Error: No such option '--bogus' (try 'edfgen -h')"),
])
def test_click_usage_error__one_line_naming_the_option_and_file_exit_2(args, line, tmp_path, monkeypatch):
    """README: bad input gives one line naming the file (exit 2); click's usage errors (a missing --pheno file,
    an --ecg folder that is not there) printed 4 lines (Usage, Try, blank, Error). Now one line, exit 2."""
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, args, prog_name="edfgen")
    assert r.exit_code == 2 and r.output.strip().splitlines() == [line], r.output


@pytest.mark.parametrize("args", [[], ["model"], ["catalog"]])
def test_a_group_without_a_command_prints_its_help(args):
    """Review s29e F1: click raises "no arguments: show the help" as a usage error; the one-line rule above had
    squashed the whole help of ``edfgen`` / ``edfgen model`` into one garbled ``Error: Usage: ...`` line."""
    r = CliRunner().invoke(cli, args, prog_name="edfgen")
    lines = r.output.strip().splitlines()
    assert lines[0].startswith("Usage: edfgen") and not r.output.startswith("Error") and len(lines) > 5, r.output
    assert "Commands:" in r.output
