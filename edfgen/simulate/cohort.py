"""A simulated biobank cohort with planted truth: the embedded default every stage is tested on.

Pipeline (all deterministic by ``seed``, streaming so memory does not grow with ``n`` beyond a few
per-participant vectors):

1. **Genotypes** — per chromosome, a coalescent with recombination (msprime: Hudson model,
   N_e = 10 000, 1e-8 recombination/bp/generation, HKY mutations with transition/transversion
   ratio 4, so ~1/6 of SNPs are strand-ambiguous A/T or C/G) over a region of a GRCh38 chromosome;
   biallelic SNPs with MAF >= 1 % in the simulated population (the msprime sample) are kept and
   ``variants_per_chromosome`` of them sampled.
   A few percent of participants are full-sibling pairs (or, with ``families=K``, K nuclear families
   of 2-4 children, or of the shapes ``family_structure`` names: sibships of k, parent-offspring trios):
   the children's genomes are made from two extra simulated parents (participants only in trios) by
   Mendelian transmission (mean 2.5 crossovers per chromosome per meiosis).
   About 3 % of variants get missing calls (call rate 95–99.9 % there, complete elsewhere).
   Genotypes stream block by block into PLINK 1 ``genotypes.bed/.bim/.fam`` (SNP-major).
2. **Physiology** — each trait = population mean + age, sex and centre effects + trait SD ×
   (planted causal SNPs + polygenic background + environment). Planted loci: several per trait,
   some shared by two traits (pleiotropy), MAF >= 5 %, complete calls, > 1 Mb apart; each explains a
   fixed share of the trait variance (``PLANTED_LOCI``, scaled by ``effect_scale``). Environmental
   parts are correlated between traits (QT with heart rate, ...); an unobserved confounder raises
   R amplitude and hypertrophy risk (BMI is its noisy observed proxy).
3. **ECGs** — one 12-lead record per participant from :func:`edfgen.simulate.ecg.synthesize_ecg`
   with that participant's physiology, written as WFDB (``ecg/<IID>.hea/.dat``, 16-bit, 1 µV).
4. **Outcomes** — 8 binary diseases from logistic models with age/sex effects; some are caused
   by a physiology trait (``CAUSAL_EFFECTS``), HYP shares the confounder with R amplitude, the rest
   are null; intercepts solved for the target prevalences.
5. **truth.json** — everything planted (loci with betas, causal effects, heritabilities, families
   and related pairs), which later stages are scored against. ``manifest.json`` is written last.

This module wires the parts and writes the cohort folder: the genomes are
:mod:`edfgen.simulate.genotypes` (PLINK bytes by :mod:`edfgen.formats.genotypes.plink1_write`), the genetic
architecture, physiology and outcomes :mod:`edfgen.simulate.phenotypes`, the ECG waveforms
:mod:`edfgen.simulate.ecg`; the random streams (one per seed and purpose) are
:mod:`edfgen.simulate.streams`. The coalescent's references (msprime) are in
:mod:`edfgen.simulate.genotypes`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.plink1_write import write_fam
from edfgen.formats.lock import JUNK_NAMES
from edfgen.formats.manifest import recording
from edfgen.formats.owned import MANIFEST, kept_by_force, owned_files, read_json, whole_folders
from edfgen.formats.tables import prepare_out_dir, temp_name, write_table
from edfgen.kernels.ecg import LEADS, SAMPLING_RATE
from edfgen.progress import progress
from edfgen.simulate.ecg import PHYSIOLOGY_COLUMNS, TRAIT_SPECS, BeatParams, participant_rng, synthesize_ecg
from edfgen.simulate.genotypes import (
    DEFAULT_FAMILY_STRUCTURE,
    MISSING_VARIANT_FRACTION,
    family_participants,
    pedigree,
    region_length,
    simulate_chromosome,
    write_genotypes,
)
from edfgen.simulate.phenotypes import (
    BACKGROUND_H2,
    CAUSAL_EFFECTS,
    CONFOUNDER_LOADING,
    COVARIATE_EFFECTS,
    OUTCOMES,
    PLANTED_LOCI,
    covariates,
    outcomes,
    physiology,
    plant_architecture,
)
from edfgen.simulate.streams import stream

logger = logging.getLogger(__name__)

__all__ = [
    "OUTCOMES", "CAUSAL_EFFECTS", "PLANTED_LOCI", "CohortResult", "simulate_cohort", "load_truth",
    "planted_loci", "read_dosages", "write_wfdb_record",
]

OUTPUT_FILES = ("genotypes.bed", "genotypes.bim", "genotypes.fam", "physiology.tsv", "covariates.tsv",
                "outcomes.tsv", "truth.json", "ecg", "biobank")

@dataclass(frozen=True)
class CohortResult:
    """What :func:`simulate_cohort` wrote.

    Attributes
    ----------
    out_dir
        The cohort directory.
    bfile
        PLINK prefix (``out_dir / "genotypes"``).
    physiology, covariates, outcomes, truth_json, manifest
        File paths.
    ecg_dir
        Directory of WFDB records (``None`` when ECGs were not written).
    n, n_variants, n_related_pairs, n_families
        Sizes (``n_families``: families made from simulated parents, sibling pairs and trios included).
    truth
        The planted truth (the content of ``truth.json``).
    """

    out_dir: Path
    bfile: Path
    physiology: Path
    covariates: Path
    outcomes: Path
    truth_json: Path
    manifest: Path
    ecg_dir: Path | None
    n: int
    n_variants: int
    n_related_pairs: int
    truth: dict = field(repr=False, compare=False)
    n_families: int = 0

    def summary(self) -> str:
        h2 = ", ".join(f"{t} {v['total']:.2f}" for t, v in self.truth["heritability"].items())
        causal = ", ".join(f"{c['exposure']}->{c['outcome']}" for c in self.truth["causal"])
        po = len(self.truth.get("parent_offspring_pairs", []))
        return (f"{self.out_dir}: {self.n} participants ({self.n_families} families, "
                f"{self.n_related_pairs} sibling pairs{f', {po} parent-offspring pairs' if po else ''}), "
                f"{self.n_variants} variants on {len(self.truth['chromosomes'])} chromosomes, "
                f"{len(self.truth['loci'])} planted trait-locus effects; heritability: {h2}; "
                f"causal: {causal}")


# --------------------------------------------------------------------------- validation

def _validate(n: int, chromosomes: int, variants_per_chromosome: int, effect_scale: float,
              families: int | None = None, family_structure: str = DEFAULT_FAMILY_STRUCTURE) -> None:
    if int(n) != n or n < 10:
        raise InputError(f"--n {n}: need at least 10 participants")
    if families is not None:
        if int(families) != families or families < 0:
            raise InputError(f"--families {families}: must be an integer >= 0")
        most = family_participants(families, family_structure)
        if most > n:
            raise InputError(f"--families {families}: up to {most} participants in families of "
                             f"--family-structure {family_structure} do not fit in --n {n}")
    elif family_structure != DEFAULT_FAMILY_STRUCTURE:
        raise InputError(f"--family-structure {family_structure}: needs --families K")
    if not 1 <= chromosomes <= 22:
        raise InputError(f"--chromosomes {chromosomes}: must be between 1 and 22")
    if variants_per_chromosome < 50:
        raise InputError(f"--variants-per-chromosome {variants_per_chromosome}: need at least 50")
    if not 0 < effect_scale < math.inf:
        raise InputError(f"--effect-scale {effect_scale}: must be a finite number > 0")
    for trait in PHYSIOLOGY_COLUMNS:
        h2 = effect_scale * sum(loc.get(trait, 0.0) for loc in PLANTED_LOCI) + BACKGROUND_H2
        if h2 >= 0.9:
            raise InputError(f"--effect-scale {effect_scale}: heritability of {trait} would be {h2:.2f} (>= 0.9)")


# --------------------------------------------------------------------------- main entry point

def simulate_cohort(out_dir: str | os.PathLike, *, n: int = 3000, seed: int = 0, chromosomes: int = 3,
                    variants_per_chromosome: int = 10_000, force: bool = False, effect_scale: float = 1.0,
                    ecg: bool = True, fs: int = SAMPLING_RATE, duration_s: float = 10.0,
                    families: int | None = None, biobank: int = 0,
                    family_structure: str = DEFAULT_FAMILY_STRUCTURE) -> CohortResult:
    """Simulate a cohort with planted truth and write it to ``out_dir``.

    Parameters
    ----------
    out_dir
        Output directory; must be absent or empty unless ``force``.
    n
        Participants (>= 10).
    seed
        Everything is deterministic by seed (identical files for identical arguments).
    chromosomes
        Number of chromosomes (1..22), numbered from 1, positions on GRCh38 coordinates.
    variants_per_chromosome
        SNPs kept per chromosome (MAF >= 1 % in the simulated population; the cohort, whose
        siblings replace their simulated parents, can have a few just below).
    force
        Overwrite the edfgen outputs in an existing non-empty ``out_dir``.
    effect_scale
        Multiplies every planted locus's variance share (``PLANTED_LOCI``); 1 gives genome-wide
        significant loci at n = 3000, 2 at n = 1000.
    ecg
        Write the WFDB ECGs (``False`` skips the slowest part when only genetics is needed).
    fs, duration_s
        ECG sampling rate and length.
    families
        ``None`` (default): about ``SIBLING_FRACTION`` of participants are full-sibling pairs. ``K``:
        K nuclear families of ``family_structure``; ``genotypes.fam`` then carries FID (``FAM00001``...)
        and PAT/MAT (the parents' IIDs in trios, ``FAM00001_father``/``_mother`` for parents who are
        not participants), and truth.json lists the families. ``0``: no relatives.
    family_structure
        With ``families``: comma-separated family shapes the families take in turn
        (:func:`edfgen.simulate.genotypes.family_shapes`): ``sibs2-4`` (default: 2-4 children, uniform,
        of two simulated parents who are not participants), ``sibs3`` (exactly 3), ``trio`` (two
        genotyped parents, unrelated to each other, and their child); ``sibs3,trio`` alternates them.
    biobank
        ``N > 0``: also write ``biobank/`` (:func:`edfgen.simulate.biobank.simulate_biobank`): N people
        without ECGs, genotypes and diseases only, for a powered two-sample MR; truth.json gains ``biobank``.

    Returns
    -------
    CohortResult

    Raises
    ------
    InputError
        Bad arguments (checked before anything is written) or an unusable ``out_dir``.
    """
    _validate(n, chromosomes, variants_per_chromosome, effect_scale, families, family_structure)
    out_dir = prepare_out_dir(out_dir, force=force, command="edfgen simulate")

    params = {"n": n, "seed": seed, "chromosomes": chromosomes, "variants_per_chromosome": variants_per_chromosome,
              "effect_scale": effect_scale, "ecg": ecg, "fs": fs, "duration_s": duration_s, "families": families,
              "biobank": biobank, **({"family_structure": family_structure} if families is not None else {})}
    created = not out_dir.exists()
    stage = None
    try:
        # simulate into a temporary folder, then replace only the outputs the earlier run's manifest
        # lists (recording): a folder's other content (a user's ecg/ beside a --no-ecg cohort) is kept
        out_dir.mkdir(parents=True, exist_ok=True)
        stage = temp_name(out_dir / "simulate", suffix="")
        stage.mkdir()
        truth = _simulate_into(stage, n=n, seed=seed, chromosomes=chromosomes,
                               variants_per_chromosome=variants_per_chromosome, effect_scale=effect_scale,
                               ecg=ecg, fs=fs, duration_s=duration_s, families=families,
                               family_structure=family_structure)
        if biobank:
            from edfgen.simulate.biobank import simulate_biobank

            truth["biobank"] = simulate_biobank(stage, stage / "biobank", n=biobank, seed=seed, truth=truth)
            with open(stage / "truth.json", "w") as fh:
                json.dump(truth, fh, indent=1)
                fh.write("\n")
        written = [name for name in OUTPUT_FILES if (stage / name).exists()]
        # ecg/ and biobank/ listed by file, not as a whole: --force removed a user's file put into ecg/ (review s39)
        files = sorted(p.relative_to(stage).as_posix() for name in written
                       for p in [stage / name, *(stage / name).rglob("*")] if p.is_file())
        stale = _older_cohort_files(out_dir, [out_dir / f for f in files], force=force)
        with recording(out_dir, "edfgen simulate", parameters=params, seed=seed, planned=[*files, *stale],
                       force=force) as manifest:
            for name in written:                            # outputs replaced only once all are ready
                _move_in(stage / name, out_dir / name)
            shutil.rmtree(stage)
            stage = None
            manifest.outputs = files
            manifest.extra = {"n_variants": truth["n_variants"], "n_related_pairs": len(truth["related_pairs"]),
                              "n_families": len(truth["families"])}
    except BaseException:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        if created and out_dir.exists() and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise
    result = CohortResult(
        out_dir=out_dir, bfile=out_dir / "genotypes", physiology=out_dir / "physiology.tsv",
        covariates=out_dir / "covariates.tsv", outcomes=out_dir / "outcomes.tsv", truth_json=out_dir / "truth.json",
        manifest=out_dir / "manifest.json", ecg_dir=(out_dir / "ecg") if ecg else None, n=n,
        n_variants=truth["n_variants"], n_related_pairs=len(truth["related_pairs"]), truth=truth,
        n_families=len(truth["families"]))
    logger.info("%s", result.summary())
    return result


#: the files :func:`edfgen.simulate.biobank.simulate_biobank` writes into ``biobank/``
BIOBANK_FILES = ("genotypes.bed", "genotypes.bim", "genotypes.fam", "covariates.tsv", "outcomes.tsv")


def _older_cohort_files(out_dir: Path, plan: list[Path], *, force: bool) -> list[str]:
    """The files (relative names) that an older edfgen's simulate wrote by name into the folders its manifest lists
    whole (``ecg/``: the records ``P000001.hea/.dat`` ... of its ``n`` participants; ``biobank/``'s files), still
    there: planned again by this run, so replaced as its own (recording; one changed since that run is refused).
    ``--force`` kept those it could not tell were its own once a ``.DS_Store`` had changed ``ecg/``: 20 stale
    records beside the 40 new ones, unlisted, read by extract (s41safefix2 #1). With ``force``, any other file it
    would keep there that is no desktop junk (:data:`~edfgen.formats.lock.JUNK_NAMES`, kept) is refused, naming it.
    """
    previous = read_json(out_dir / MANIFEST)
    whole = whole_folders(previous, out_dir) if (previous or {}).get("command") == "edfgen simulate" else []
    if not whole:
        return []
    root = Path(os.path.realpath(out_dir))
    n = (previous.get("parameters") or {}).get("n")
    n = n if isinstance(n, int) and not isinstance(n, bool) else 0
    ours = {*(f"ecg/P{i + 1:06d}.{x}" for i in range(n) for x in ("hea", "dat")), *(f"biobank/{b}" for b in BIOBANK_FILES)}
    stale = [rel for d in whole for f in d.rglob("*") if (rel := f.relative_to(root).as_posix()) in ours]
    other = sorted(f for f in kept_by_force(previous, out_dir, owned_files(previous, out_dir, plan=[
        *plan, *(root / s for s in stale)])) if f.name not in JUNK_NAMES) if force else []
    if other:
        first = other[0].relative_to(root).as_posix()
        raise InputError(f"--out {out_dir}: {first} ({len(other)} such file(s)) is in {first.split('/')[0]}/, which "
                         f"{MANIFEST} (an older edfgen's) lists as a whole folder, and is no file of that cohort: "
                         "--force would leave it beside the new cohort's; move it away or choose another --out")
    return stale


def _move_in(src: Path, dst: Path) -> None:
    """``os.replace(src, dst)``; a folder whose place still holds a folder (the files ``--force`` kept in an older
    edfgen's whole-listed ``ecg/``: recording; a user's empty sub-folder) gets ``src``'s files moved into it one by
    one, what it held kept (s41safefix #2: os.replace failed, 'Directory not empty')."""
    if not (src.is_dir() and dst.is_dir() and not dst.is_symlink()):
        os.replace(src, dst)
        return
    for f in sorted(p for p in src.rglob("*") if not p.is_dir()):
        target = dst / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, target)


def _simulate_into(stage: Path, *, n: int, seed: int, chromosomes: int, variants_per_chromosome: int,
                   effect_scale: float, ecg: bool, fs: int, duration_s: float, families: int | None = None,
                   family_structure: str = DEFAULT_FAMILY_STRUCTURE) -> dict:
    """Write every cohort file into the folder ``stage``; returns the truth (module docstring)."""
    iids = [f"P{i + 1:06d}" for i in range(n)]
    ped = pedigree(n, seed, families, family_structure)
    traits = list(PHYSIOLOGY_COLUMNS)
    rng_ids = stream(seed, 7)
    rng_missing = stream(seed, 8)

    # 1. simulate every chromosome's genealogy and choose its sites (kept in memory: tree sequences
    #    are compact); then plant loci; then stream genotypes chromosome by chromosome.
    chroms = []
    for c in progress(range(1, chromosomes + 1), total=chromosomes, desc="coalescent", unit="chr"):
        logger.debug("chromosome %d: coalescent simulation of %d genomes", c, n)
        chroms.append(simulate_chromosome(c, n, variants_per_chromosome, seed, region_length(chromosomes)))
    missing_var = [rng_missing.random(variants_per_chromosome) < MISSING_VARIANT_FRACTION for _ in chroms]
    arch = plant_architecture(chroms, missing_var, n=n, seed=seed, effect_scale=effect_scale)
    planted, loci_effects, h2 = arch.planted, arch.loci_effects, arch.heritability

    # 2. stream genotypes -> .bed/.bim; accumulate the genetic values of planted and background SNPs
    n_var = sum(len(ch.freq) for ch in chroms)
    bim = write_genotypes(stage / "genotypes", chroms, ped, missing_var, seed=seed, rng_missing=rng_missing,
                          rng_ids=rng_ids, on_block=arch.add_block)
    causal_dosage = arch.causal_dosage

    # 3. participants
    confounder = stream(seed, 11).standard_normal(n)
    cov = covariates(n, seed, confounder, ped, iids)
    fam = pd.DataFrame({"fid": iids, "iid": iids, "pat": "0", "mat": "0", "sex": np.where(cov["sex"] == 1, 1, 2),
                        "pheno": -9})
    parent_ids = _parent_ids(ped, iids)
    if families is not None:     # --families: FID = family, PAT/MAT = the parents (simulated or, in trios, genotyped)
        for f, kids in enumerate(ped.family_slots()):
            fid = f"FAM{f + 1:05d}"
            fam.loc[kids, ["fid", "pat", "mat"]] = [fid, *parent_ids[f]]
            fam.loc[ped.parent_slot[f][ped.parent_slot[f] >= 0], "fid"] = fid
    write_fam(fam, stage / "genotypes.fam")
    phys = physiology(cov, arch.genetic, arch.background, h2, confounder, seed)
    outcome_table, causal, prevalence = outcomes(cov, phys, confounder, seed)
    write_table(phys, stage / "physiology.tsv")
    write_table(cov, stage / "covariates.tsv")
    write_table(outcome_table, stage / "outcomes.tsv")

    # 4. truth
    offsets_bim = np.cumsum([0] + [len(ch.freq) for ch in chroms])
    loci = []
    for (c, s), eff in loci_effects.items():
        row = bim.iloc[offsets_bim[c] + s]
        d = causal_dosage[(c, s)]
        eaf = float(d.mean() / 2)
        for t, b in eff.items():
            loci.append({
                "variant_id": row["id"], "chromosome": str(int(row["chr"])), "base_pair_location": int(row["pos"]),
                "trait": t, "beta": b * TRAIT_SPECS[t].sd, "beta_sd": b, "effect_allele": row["a1"],
                "other_allele": row["a2"], "effect_allele_frequency": eaf, "maf": min(eaf, 1 - eaf),
                "variance_explained": effect_scale * dict(PLANTED_LOCI[planted.index((c, s))])[t],
                "pleiotropic": len(eff) > 1,
            })
    loci.sort(key=lambda r: (int(r["chromosome"]), r["base_pair_location"], r["trait"]))
    fam_slots = ped.family_slots()
    pairs = [[iids[a], iids[b]] for kids in fam_slots for i, a in enumerate(kids) for b in kids[i + 1:]]
    family_ids = [f"FAM{f + 1:05d}" for f in range(ped.n_families)]
    families_json = [{"family_id": fid, "father": parent_ids[f][0], "mother": parent_ids[f][1],
                      "children": [iids[c] for c in kids], "structure": ped.shape[f],
                      "parents_genotyped": bool((ped.parent_slot[f] >= 0).all())}
                     for f, (fid, kids) in enumerate(zip(family_ids, fam_slots))]
    po_pairs = [[parent_ids[f][p], iids[c]] for f, kids in enumerate(fam_slots) for p in (0, 1)
                if ped.parent_slot[f, p] >= 0 for c in kids]
    caused = {c["outcome"] for c in causal}
    truth = {
        "seed": seed, "n": n, "n_variants": int(n_var), "effect_scale": effect_scale,
        "chromosomes": [{"chromosome": str(ch.number), "start": ch.start, "end": ch.start + ch.length,
                         "n_variants": int(len(ch.freq))} for ch in chroms],
        "loci": loci,
        "causal": causal,
        "null_outcomes": [o for o in OUTCOMES if o not in caused],
        "confounded": [{"trait": t, "outcome": o, "confounder": "latent U (bmi is a noisy proxy)",
                        "trait_loading": CONFOUNDER_LOADING[t], "outcome_log_odds_per_sd": s.confounder}
                       for o, s in OUTCOMES.items() if s.confounder for t in CONFOUNDER_LOADING],
        "heritability": h2,
        "covariate_effects": COVARIATE_EFFECTS,
        "prevalence": prevalence,
        "families": families_json,
        "families_in_fam": families is not None,
        "related_pairs": pairs,
        "relationship": "full_sibling",
        "parent_offspring_pairs": po_pairs,
        "missing_call_variants": [str(v) for v in bim["id"].to_numpy()[np.concatenate(missing_var)]],
        "trait_units": {t: TRAIT_SPECS[t].units for t in traits},
        "trait_sd": {t: TRAIT_SPECS[t].sd for t in traits},
    }
    with open(stage / "truth.json", "w") as fh:
        json.dump(truth, fh, indent=1)
        fh.write("\n")

    # 5. ECGs
    if ecg:
        _write_ecgs(stage / "ecg", phys, seed=seed, fs=fs, duration_s=duration_s)
    return truth


def _parent_ids(ped, iids: list[str]) -> list[tuple[str, str]]:
    """(father, mother) id of each family: the IID of a genotyped parent, else ``FAMxxxxx_father``/``_mother``."""
    return [tuple(iids[slot] if slot >= 0 else f"FAM{f + 1:05d}_{who}"
                  for slot, who in zip(ped.parent_slot[f], ("father", "mother"))) for f in range(ped.n_families)]


ADC_GAIN = 1000.0   # digital units per mV: 1 uV resolution, +-32.767 mV range


def write_wfdb_record(directory: Path, name: str, ecg: np.ndarray, fs: float, *,
                      comments: tuple[str, ...] = ()) -> None:
    """Write a 12-lead record ``[12, T]`` (mV) as WFDB format 16 (``name.hea`` + ``name.dat``).

    A direct writer of the PhysioNet format (``wfdb.wrsamp`` spends ~20 ms per record in header
    bookkeeping); tests read the records back with ``wfdb.rdrecord``. Samples are rounded to 1 µV
    (gain 1000/mV, baseline 0); the checksum is the 16-bit sum of each signal, as in WFDB.
    """
    d = np.clip(np.round(np.asarray(ecg, dtype=np.float64) * ADC_GAIN), -32767, 32767).astype("<i2")   # [12, T]
    checksum = d.sum(axis=1, dtype=np.int64) % 65536
    lines = [f"{name} {d.shape[0]} {fs:g} {d.shape[1]}"]
    for k, lead in enumerate(LEADS):
        lines.append(f"{name}.dat 16 {ADC_GAIN:g}(0)/mV 16 0 {int(d[k, 0])} {int(checksum[k])} 0 {lead}")
    lines += [f"# {c}" for c in comments]
    (directory / f"{name}.dat").write_bytes(np.ascontiguousarray(d.T).tobytes())
    (directory / f"{name}.hea").write_text("\n".join(lines) + "\n")


def _write_ecgs(ecg_dir: Path, phys: pd.DataFrame, *, seed: int, fs: int, duration_s: float) -> None:
    ecg_dir.mkdir()
    rows = phys.to_dict("records")
    for i, row in enumerate(progress(rows, total=len(rows), desc="ECGs", unit="rec")):
        iid = row.pop("IID")
        x = synthesize_ecg(BeatParams(**row), rng=participant_rng(seed, i), fs=fs, duration_s=duration_s)
        write_wfdb_record(ecg_dir, iid, x, fs, comments=("edfgen simulate: cardiac dipole model",))


# --------------------------------------------------------------------------- readers of a cohort

def load_truth(cohort_dir: str | os.PathLike) -> dict:
    """The planted truth of a simulated cohort (``truth.json``) as a dict (keys: see
    ``data_dictionary/truth_json.md``)."""
    path = Path(cohort_dir) / "truth.json"
    if not path.exists():
        raise InputError(f"{path}: not found (not a cohort written by edfgen simulate?)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def planted_loci(cohort_dir: str | os.PathLike) -> pd.DataFrame:
    """``truth["loci"]`` as a table (one row per planted trait-variant effect)."""
    return pd.DataFrame(load_truth(cohort_dir)["loci"])


def read_dosages(bfile: str | os.PathLike, variant_ids: list[str]) -> pd.DataFrame:
    """Allele-1 dosages (0/1/2, NaN missing) of some variants, participants x variants, read with
    bed-reader (an implementation independent of the writer above)."""
    from bed_reader import open_bed

    bfile = Path(bfile)
    with open_bed(str(bfile.with_suffix(".bed"))) as bed:
        sid = list(bed.sid)
        missing = [v for v in variant_ids if v not in sid]
        if missing:
            raise InputError(f"{bfile}.bim: variant(s) not found: {', '.join(missing[:5])}")
        idx = [sid.index(v) for v in variant_ids]
        x = bed.read(index=np.s_[:, idx], dtype="float32")
        return pd.DataFrame(x, index=pd.Index(bed.iid, name="IID"), columns=variant_ids)
