"""Small simulated genotypes + OLS summary statistics for the clumping tests and benchmark.

msprime coalescent haplotypes (realistic LD), diploid allele counts with ~1% missing calls,
written as a PLINK fileset with bed-reader; quantitative traits with planted causal variants;
per-variant OLS (closed form, checked against statsmodels in the tests) -> GWAS-SSF files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats


def simulate_genotypes(out_prefix: Path, *, n: int = 800, chromosomes: int = 2, length: float = 2e6,
                       seed: int = 1, missing: float = 0.01, min_maf: float = 0.02) -> pd.DataFrame:
    """Write ``out_prefix.bed/.bim/.fam``; return the bim as a DataFrame (chromosome, variant_id, pos)."""
    import msprime
    from bed_reader import to_bed

    rng = np.random.default_rng(seed)
    blocks, bims = [], []
    for c in range(1, chromosomes + 1):
        ts = msprime.sim_ancestry(samples=n, sequence_length=length, recombination_rate=1e-8,
                                  population_size=10_000, ploidy=2, random_seed=seed * 100 + c)
        ts = msprime.sim_mutations(ts, rate=1.2e-8, random_seed=seed * 100 + c,
                                   model=msprime.BinaryMutationModel())
        hap = ts.genotype_matrix()                       # [sites, 2n]
        pos = np.array([s.position for s in ts.sites()]).astype(np.int64) + 1
        g = (hap[:, 0::2] + hap[:, 1::2]).astype(np.int8).T      # [n, sites]
        af = g.mean(0) / 2
        keep = (np.minimum(af, 1 - af) >= min_maf) & np.r_[True, np.diff(pos) > 0]
        g, pos = g[:, keep], pos[keep]
        blocks.append(g)
        bims.append(pd.DataFrame({"chromosome": str(c), "variant_id": [f"rs{c}_{p}" for p in pos],
                                  "pos": pos}))
    g = np.concatenate(blocks, axis=1).astype(np.float32)
    miss = rng.random(g.shape) < missing
    g[miss] = np.nan
    bim = pd.concat(bims, ignore_index=True)
    props = {"fid": [f"f{i}" for i in range(n)], "iid": [f"i{i}" for i in range(n)],
             "chromosome": bim["chromosome"].tolist(), "sid": bim["variant_id"].tolist(),
             "bp_position": bim["pos"].tolist(), "allele_1": ["A"] * len(bim), "allele_2": ["G"] * len(bim)}
    to_bed(f"{out_prefix}.bed", g, properties=props)
    return bim


def read_dosages(prefix: Path) -> np.ndarray:
    from bed_reader import open_bed

    with open_bed(f"{prefix}.bed") as b:
        return b.read(dtype="float32")


def ols_sumstats(g: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Per-variant OLS ``y ~ 1 + g`` with each variant's missing calls dropped
    (:func:`edfgen.simulate.mr.per_variant_linear`): beta, se, p, n, effect-allele frequency."""
    from edfgen.simulate.mr import per_variant_linear

    beta, se = per_variant_linear(g, y)
    n = (~np.isnan(g)).sum(0)
    p = 2 * stats.t.sf(np.abs(beta / se), n - 2)
    return pd.DataFrame({"beta": beta, "standard_error": se, "p_value": p, "n": n,
                         "effect_allele_frequency": np.nanmean(g, axis=0) / 2})


def write_ssf(df: pd.DataFrame, path: Path) -> Path:
    """A GWAS-SSF file (BGZF + tabix index) of ``df`` by the live writer (:class:`SumstatsWriter`, as
    ``edfgen gwas`` writes them), rows sorted by position; absent columns are NA."""
    from edfgen.formats.sumstats import SumstatsWriter, sort_sumstats

    df = sort_sumstats(df)
    base = df.reindex(columns=["chromosome", "base_pair_location", "effect_allele", "other_allele", "variant_id",
                               "rsid"])
    col = (lambda c: df[c].to_numpy(float) if c in df.columns else np.full(len(df), np.nan))
    SumstatsWriter(base).write(path, col("beta"), col("standard_error"), col("effect_allele_frequency"),
                               col("p_value"), df["n"].to_numpy() if "n" in df.columns else None)
    return Path(path)


def simulate_traits(prefix: Path, bim: pd.DataFrame, *, traits: dict[str, int], seed: int = 2,
                    h2_per_locus: float = 0.03, out_dir: Path) -> dict:
    """Planted loci per trait -> ``out_dir/<trait>.tsv.gz`` (GWAS-SSF) and ``truth.json``."""
    rng = np.random.default_rng(seed)
    g = read_dosages(prefix)
    gi = np.where(np.isnan(g), np.nanmean(g, 0), g)
    af = np.nanmean(g, 0) / 2
    common = np.flatnonzero(np.minimum(af, 1 - af) > 0.1)
    truth = {"loci": []}
    out_dir.mkdir(parents=True, exist_ok=True)
    used: list[int] = []
    pheno = {}
    for tr, k in traits.items():
        cand = [c for c in rng.permutation(common)
                if all(bim.chromosome[c] != bim.chromosome[u] or abs(bim.pos[c] - bim.pos[u]) > 300_000
                       for u in used)][:k]
        used += cand
        y = rng.normal(size=g.shape[0])
        for c in cand:
            x = (gi[:, c] - gi[:, c].mean()) / gi[:, c].std()
            y += np.sqrt(h2_per_locus / (1 - h2_per_locus * k)) * x * rng.choice([-1, 1])
            truth["loci"].append({"variant_id": bim.variant_id[c], "chromosome": bim.chromosome[c],
                                  "base_pair_location": int(bim.pos[c]), "trait": tr})
        pheno[tr] = y
        ss = ols_sumstats(g, y)
        ss["chromosome"] = bim["chromosome"].to_numpy()
        ss["base_pair_location"] = bim["pos"].to_numpy()
        ss["variant_id"] = bim["variant_id"].to_numpy()
        ss["rsid"] = bim["variant_id"].to_numpy()
        ss["effect_allele"], ss["other_allele"] = "A", "G"
        write_ssf(ss, out_dir / f"{tr}.tsv.gz")
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=1))
    pd.DataFrame({"IID": [f"i{i}" for i in range(g.shape[0])], **pheno}).to_csv(
        out_dir / "physiology.tsv", sep="\t", index=False)
    return truth


def plink_clump(bfile: Path, sumstats_gz: Path, out: Path, *, p1: float, p2: float | None, r2: float, kb: float,
                plink: str = "plink1.9", allow_overlap: bool = False) -> pd.DataFrame:
    """Run ``plink1.9 --clump`` on a SNP/P copy of GWAS-SSF summary statistics; parse ``.clumped``.

    ``p2=None`` leaves ``--clump-p2`` out (plink's default 0.01, which may be below ``p1``)."""
    import subprocess

    ss = pd.read_csv(sumstats_gz, sep="\t")
    assoc = out.with_suffix(".assoc")
    ss[["variant_id", "p_value"]].rename(columns={"variant_id": "SNP", "p_value": "P"}).to_csv(
        assoc, sep="\t", index=False, float_format="%.8g")
    cmd = [plink, "--bfile", str(bfile), "--clump", str(assoc), "--clump-p1", repr(p1),
           *(["--clump-p2", repr(p2)] if p2 is not None else []), "--clump-r2", repr(r2), "--clump-kb", repr(kb), "--out", str(out), "--threads", "1",
           "--allow-no-sex", "--silent"] + (["--clump-allow-overlap"] if allow_overlap else [])
    subprocess.run(cmd, check=True, capture_output=True)
    path = Path(f"{out}.clumped")
    if not path.exists():
        return pd.DataFrame(columns=["SNP", "P", "SP2"])
    df = pd.read_csv(path, sep=r"\s+")
    return df


def cohort_sumstats(cohort: Path, out: Path) -> list[Path]:
    """GWAS-SSF files of every physiology trait of an ``edfgen simulate`` cohort: covariates (age, sex,
    centre, batch) regressed out of the traits, then :func:`ols_sumstats` per variant."""
    from bed_reader import open_bed

    phys = pd.read_csv(cohort / "physiology.tsv", sep="\t", dtype={"IID": str})
    cov = pd.read_csv(cohort / "covariates.tsv", sep="\t", dtype={"IID": str})
    fam = pd.read_csv(cohort / "genotypes.fam", sep=r"\s+", header=None, dtype=str)
    bim = pd.read_csv(cohort / "genotypes.bim", sep=r"\s+", header=None, dtype={0: str, 1: str})
    phys = phys.set_index("IID").loc[fam[1]]
    cov = cov.set_index("IID").loc[fam[1]]
    c = pd.get_dummies(cov[["age", "sex", "centre", "genotyping_batch"]].astype({"genotyping_batch": str}),
                       drop_first=True).astype(float)
    C = np.column_stack([np.ones(len(c)), c.to_numpy()])
    Y = phys.to_numpy(float)
    Y = Y - C @ np.linalg.lstsq(C, Y, rcond=None)[0]
    out.mkdir(parents=True, exist_ok=True)
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in phys.columns}
    with open_bed(cohort / "genotypes.bed") as bed:
        for s in range(0, len(bim), 5000):
            g = bed.read(index=np.s_[:, s:s + 5000], dtype="float32")
            for j, t in enumerate(phys.columns):
                parts[t].append(ols_sumstats(g, Y[:, j]))
    paths = []
    for t in phys.columns:
        ss = pd.concat(parts[t], ignore_index=True)
        ss["chromosome"], ss["base_pair_location"] = bim[0].to_numpy(), bim[3].to_numpy()
        ss["variant_id"] = ss["rsid"] = bim[1].to_numpy()
        ss["effect_allele"], ss["other_allele"] = bim[4].to_numpy(), bim[5].to_numpy()
        paths.append(write_ssf(ss, out / f"{t}.tsv.gz"))
    return paths


def assert_panel_recorded(out: Path, bfile: Path) -> None:
    """The manifest of a command that reads an LD panel (finemap, coloc, ldsc) records it as clump's does: its
    .bim/.fam hashed among the inputs, the .bed by size, the genotype options (review: they recorded none, so a
    rebuilt panel left no trace)."""
    man = json.loads((out / "manifest.json").read_text())
    assert {str(bfile.resolve()) + e for e in (".bim", ".fam")} <= set(man["inputs"])
    assert man["parameters"]["ld_panel_bed_bytes"] == Path(f"{bfile}.bed").stat().st_size
    assert man["parameters"]["genotypes"]["bfile"] == str(bfile.resolve())


def panel_without_calls(bfile: Path, folder: Path, variant: str | list[str]) -> Path:
    """A copy of the PLINK fileset ``bfile`` whose ``variant`` (or each of a list) has no call (every 2-bit code 01
    = missing), as an LD panel that lacks a GWAS variant's genotypes (monomorphic there, or a BGEN block set aside
    by --skip-bad-variants) gives it."""
    folder.mkdir()
    for suffix in (".bim", ".fam"):
        shutil.copy(f"{bfile}{suffix}", folder / f"panel{suffix}")
    bim = pd.read_csv(f"{bfile}.bim", sep=r"\s+", header=None, dtype={1: str})
    n = sum(1 for _ in open(f"{bfile}.fam"))
    width = (n + 3) // 4
    bed = bytearray(Path(f"{bfile}.bed").read_bytes())
    for v in [variant] if isinstance(variant, str) else variant:
        i = int(np.flatnonzero(bim[1].to_numpy() == v)[0])
        bed[3 + i * width: 3 + (i + 1) * width] = b"\x55" * width
    (folder / "panel.bed").write_bytes(bytes(bed))
    return folder / "panel"
