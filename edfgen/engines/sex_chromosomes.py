"""X, Y and MT in the fast engine as plink2 ``--glm`` tests them, with sex from the genotype files.

plink2 (v2.00a3.5, checked by running it: ``tests/test_sex_chromosomes.py``) tests

* **X** (non-PAR) with males' hemizygous calls as stored, 0/2 (its default ``--xchr-model 2``, "dosage
  compensation"), **sex added as a covariate** and the samples of unknown sex left out (warned); where the
  analysed samples are of one known sex (and unknown), on everyone without it; with no analysed sample of
  known sex, on everyone without it, as without sex (warned);
* **Y** on the **males only**, every call haploid, coded **0/1**; with no male among the analysed samples (and
  sex known) not at all, left out of the QC too ("Skipping chrY since there are no males", warned);
* **MT** on everyone, haploid, **0/1**;
* the pseudo-autosomal region (``XY``, 25, ``PAR1/2``) as an autosome; X-labelled variants inside its
  coordinates too (:data:`PAR_BOUNDS` of the ``--reference-genome``, as Hail's loci; plink2 ``--split-par``).

Its call rates (``--geno``, ``--missing``) count Y among the males only (a female's sample call rate leaves Y
out) and X among everyone; its allele frequencies count one X allele per male. edfgen does the same, on both
engines (:func:`edfgen.engines.hail_gwas.hail_by_sex` and :func:`edfgen.engines.hail.hail_qc` on Hail), where
the genotype files say who is male (:func:`edfgen.formats.genotypes.sex.sample_sex`: ``.fam``, ``.psam``, a ``.sample``'s sex
column; where they give none, a ``--covar`` sex column whose coding says who is male:
:func:`edfgen.formats.genotypes.sex.sex_or_covariate`). Where neither does (VCF, a BGEN without a sex column)
X is tested on everyone as stored, with a warning unless a covariate looks like sex, and Y on everyone (females' missing calls mean-imputed; run Y with
``--keep`` males). Y and MT are coded 0/1 in both cases (beta per allele, as plink2; edfgen wrote 0/2 before
2026-12-06, beta half plink2's). The LOCO models and the multivariate pass test without sex (X, Y and MT on
everyone as stored, Y and MT 0/2, warned); their QC and X's allele frequency read it as above (review s31f F1).

The sex covariate is not added when the user's covariates already span it in the X samples (a ``sex`` column
equal to the files' sex: no duplicate, no collinearity error); a user covariate that becomes constant or
collinear in a subset (``sex`` among Y's males) is left out of that subset's model.

References
----------
Chang CC et al. (2015) Second-generation PLINK. GigaScience 4:7. doi:10.1186/s13742-015-0047-8
(``--glm``, ``--xchr-model``: https://www.cog-genomics.org/plink/2.0/assoc)
Clayton D (2008) Testing for association on the X chromosome. Biostatistics 9:593. doi:10.1093/biostatistics/kxn007
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from edfgen.formats.chromosomes import selection_chromosome_names
from edfgen.formats.genotypes.sex import FEMALE, MALE, UNKNOWN
from edfgen.exceptions import InputError
from edfgen.kernels.association import independent_column_indices
from edfgen.kernels.covariates import column_names

log = logging.getLogger(__name__)

#: the name of the covariate added on X (male = 1, female = 0; plink2's SEX is 1/2: the same fit)
X_SEX_COVARIATE = "sex (genotype files, on X)"


#: X's pseudo-autosomal regions (1-based, both ends included) of each build, as Hail's reference genomes and
#: plink2 ``--split-par b37/b38`` bound them
PAR_BOUNDS = {"GRCh37": ((60001, 2699520), (154931044, 155260560)),
              "GRCh38": ((10001, 2781479), (155701383, 156030895))}


def chromosome_kinds(chromosomes, positions=None, build: str | None = None) -> np.ndarray:
    """``"X"`` (non-PAR X), ``"Y"``, ``"MT"`` or ``""`` (autosomes and the pseudo-autosomal region) per label;
    with ``positions`` and ``build`` (GRCh37/GRCh38) an X-labelled variant inside :data:`PAR_BOUNDS` is PAR
    too (GRCh38 VCF/BGEN label PAR chrX), as Hail classifies loci and plink2 ``--split-par`` splits them, unless
    the labels already name the region (``XY``/25/PAR1/PAR2: the file was split; its X is X)."""
    names = selection_chromosome_names(np.asarray(chromosomes, dtype=object))
    kinds = np.where(np.isin(names, ["X", "Y", "MT"]), names, "").astype(object)
    # a file that labels its pseudo-autosomal region (XY, 25, PAR1/2: UK Biobank, plink --split-x) has split it
    # already: its X-labelled variants are X whatever the build option says (a GRCh37 file run with the default
    # GRCh38 would otherwise move X 2.70-2.78 Mb into PAR)
    if positions is not None and build in PAR_BOUNDS and not (names == "XY").any():
        pos = np.asarray(positions, dtype=np.int64)
        par = np.zeros(len(pos), dtype=bool)
        for lo, hi in PAR_BOUNDS[build]:
            par |= (pos >= lo) & (pos <= hi)
        moved = (kinds == "X") & par
        if moved.any():
            log.info("%d X-labelled variants lie in %s's pseudo-autosomal regions (%s): tested as PAR, like an "
                     "autosome (give --reference-genome if the positions are on another build)", int(moved.sum()),
                     build, ", ".join(f"{lo:,}-{hi:,}" for lo, hi in PAR_BOUNDS[build]))
        kinds[moved] = ""
    return kinds


def analysed_sex(kinds, sex: np.ndarray | None, *, label: str = "the genotype files", quiet: bool = False):
    """``(sex, tested)``: the analysed samples' ``sex`` as the tests use it (None where none of them has a known
    sex: X and Y on everyone, as without sex, and as plink2 with every sample ambiguous) and the mask of the
    variants of ``kinds`` tested: all but Y where sex is known and no analysed sample is male (plink2 --glm:
    "Skipping chrY since there are no males"; Y is then left out of the QC and call rates too). Logs what it
    leaves out: Y, and (unless ``quiet``) the samples of unknown sex left out of X."""
    kinds = np.asarray(kinds, dtype=object)
    tested = np.ones(len(kinds), dtype=bool)
    if sex is None:
        return None, tested
    has_x, has_y = bool((kinds == "X").any()), bool((kinds == "Y").any())
    if not (sex != UNKNOWN).any():
        if (has_x or has_y) and not quiet:
            log.warning("none of the %d analysed samples has a known sex in %s: X and Y tested on everyone as "
                        "without sex", len(sex), label)
        return None, tested
    if has_y and not (sex == MALE).any():
        tested = kinds != "Y"
        log.warning("no males among the analysed samples: chrY not tested (%d variants)", int((~tested).sum()))
    n_unknown = int((sex == UNKNOWN).sum())
    if has_x and n_unknown and (sex == MALE).any() and (sex == FEMALE).any() and not quiet:
        log.warning("%d samples of unknown sex (%s) left out of X", n_unknown, label)
    return sex, tested


def no_males_step(removed: int, remaining: int):
    """The ``y_no_males`` row of ``qc_report.tsv``: the (biallelic) Y variants left out because no analysed sample
    is male (:func:`analysed_sex`; plink2 --glm "Skipping chrY since there are no males"), before or after sample
    QC, and the variants left."""
    from edfgen.kernels.qc import QCStep

    return QCStep("y_no_males", "variant", "chrY: >= 1 male analysed", removed, remaining)


def runs(kinds) -> list[tuple[int, int, str]]:
    """``(start, stop, kind)`` of the runs of equal ``kinds`` (variants in output order: PAR around X makes
    several runs)."""
    kinds = np.asarray(kinds, dtype=object)
    if not len(kinds):
        return []
    cuts = np.flatnonzero(np.r_[True, kinds[1:] != kinds[:-1]])
    return [(int(a), int(b), str(kinds[a])) for a, b in zip(cuts, np.r_[cuts[1:], len(kinds)])]


@dataclass(frozen=True)
class SexDesign:
    """How one kind of chromosome is tested: ``mask`` [N] of the analysed samples it uses, its covariates
    ``C`` [mask.sum(), K] (and names), ``haploid`` (0/2 calls tested as 0/1), ``ploidy`` (X with sex: 1
    per male, 2 per female, for the allele frequency) and ``sex`` (X with sex: the codes of the samples of
    ``mask``, whose females and males X's HWE test counts), None elsewhere."""

    mask: np.ndarray
    C: np.ndarray
    names: list
    haploid: bool = False
    ploidy: np.ndarray | None = None
    sex: np.ndarray | None = None

    @property
    def everyone(self) -> bool:
        return bool(self.mask.all())


def independent_columns(C: np.ndarray, names, *, tol: float = 1e-9) -> tuple[np.ndarray, list]:
    """``C`` and ``names`` without each column that is constant or a linear combination of the columns kept
    before it (:func:`edfgen.kernels.association.independent_column_indices`)."""
    kept = independent_column_indices(C, tol=tol)
    return C[:, kept], [names[j] for j in kept]


def in_span(C: np.ndarray, x: np.ndarray, *, tol: float = 1e-8) -> bool:
    """``x`` is (numerically) a linear combination of the columns of ``C``."""
    resid = x - C @ np.linalg.lstsq(C, x, rcond=None)[0]
    return bool(np.linalg.norm(resid) <= tol * max(np.linalg.norm(x - x.mean()), 1.0))


def sex_designs(kinds, sex: np.ndarray | None, C: np.ndarray, names, *, x_sex: bool = True) -> dict[str, SexDesign]:
    """The :class:`SexDesign` of each kind in ``kinds`` for the analysed samples of sex ``sex`` (1/2/0 per row
    of ``C``; None: no sex known) and covariates ``C`` (names ``names``): see the module docstring."""
    N = len(C)
    everyone = np.ones(N, dtype=bool)
    out = {"": SexDesign(everyone, C, list(names))}
    if sex is not None and not (sex != UNKNOWN).any():
        sex = None      # no analysed sample of known sex: as without sex (:func:`analysed_sex`)
    present = set(np.asarray(kinds, dtype=object).tolist())
    if "MT" in present:
        out["MT"] = SexDesign(everyone, C, list(names), haploid=True)
    if "Y" in present:
        if sex is None:
            out["Y"] = SexDesign(everyone, C, list(names), haploid=True)
        elif (sex == MALE).any():   # (no males: no design, Y left out by :func:`analysed_sex`)
            males = sex == MALE
            out["Y"] = SexDesign(males, *independent_columns(C[males], list(names)), haploid=True)
    if "X" in present:
        if sex is None or not x_sex:
            out["X"] = SexDesign(everyone, C, list(names))
        elif not ((sex == MALE).any() and (sex == FEMALE).any()):   # one sex: no sex covariate, nobody left out
            out["X"] = SexDesign(everyone, C, list(names), ploidy=np.where(sex == MALE, 1, 2).astype(np.int8),
                                 sex=sex)
        else:
            known = sex != UNKNOWN
            Cx, nx = C[known], list(names)
            male = (sex[known] == MALE).astype(float)
            if (sex[known] == MALE).any() and (sex[known] == FEMALE).any() and not in_span(Cx, male):
                Cx, nx = np.column_stack([Cx, male]), nx + [X_SEX_COVARIATE]
            Cx, nx = independent_columns(Cx, nx)
            out["X"] = SexDesign(known, Cx, nx, ploidy=np.where(sex[known] == MALE, 1, 2).astype(np.int8),
                                 sex=sex[known])
    return out


def check_y_phenotypes(designs: dict, Y: np.ndarray, names=None) -> None:
    """Refuse in one line a phenotype with fewer than 3 values among the samples Y is tested on (the males of
    ``designs["Y"]``, :func:`sex_designs`): a trait measured in women only cannot be regressed there. plink2
    stops too ("--glm regression on phenotype 'y_f' is degenerate on chrY"); edfgen said "only 0 samples with
    phenotype(s) 'y_f' for 0 covariates", naming neither chrY nor the way out (review s34e F4).

    Parameters
    ----------
    designs : dict of str to SexDesign
        :func:`sex_designs` of the run.
    Y : array [N, P]
        The phenotypes of the analysed samples (NaN = missing).
    names : list of str, optional
        Phenotype names for the message.

    Returns
    -------
    None

    Raises
    ------
    InputError
        Naming the phenotypes, their count of values among the males, and ``--chr``.
    """
    d = designs.get("Y")
    if d is None or d.everyone:
        return
    n = (~np.isnan(Y[d.mask])).sum(0)
    bad = np.flatnonzero(n < 3)
    if len(bad):
        shown = ", ".join(f"{p!r} ({n[j]} value{'s' if n[j] != 1 else ''})"
                          for p, j in zip(column_names(bad[:3], names), bad[:3])) + (" ..." if len(bad) > 3 else "")
        raise InputError(f"phenotype(s) {shown} among the {int(d.mask.sum())} males, the only samples chrY is tested "
                         "on (as plink2, which stops too): leave chrY out with --chr (e.g. --chr 1-22,X), or run "
                         "these phenotypes in a run of their own without it")


def x_ploidy(sex: np.ndarray | None) -> np.ndarray | None:
    """The copies of X each sample counts in X's allele frequency (``sex``: 1 male, 2 female, 0 unknown per
    analysed sample): 1 per male, 2 per female, 0 for unknown sex where both sexes are known (left out, as by
    :func:`sex_designs`; with one sex known, the unknown count 2), as plink2 ``--freq``; None where no sample's
    sex is known (every call counted as stored)."""
    d = sex_designs(["X"], sex, np.ones((len(sex), 1)), ["intercept"])["X"] if sex is not None else None
    if d is None or d.ploidy is None:
        return None
    out = np.zeros(len(sex), dtype=np.int8)
    out[d.mask] = d.ploidy
    return out


def sex_chromosome_record(sex_by_id, used_ids, source: str, haploid_coded: bool = True) -> dict:
    """The manifest's ``sex_chromosomes`` record: where sex was read (``sex_by_id``, a Series IID -> code, or
    None), the analysed samples ``used_ids`` of each sex, and the rules X, Y and MT were tested by (the module
    docstring; ``haploid_coded`` False: the LOCO and multivariate passes, whose tests read no sex (their QC
    does) and code Y and MT 0/2; no analysed sample of known sex: as without sex; no male: Y not tested)."""
    hap = "0/1" if haploid_coded else "0/2 (beta half plink2's)"
    as_stored = {"X": "everyone, males 0/2 as stored, no sex covariate added", "Y": f"everyone, {hap}",
                 "MT": f"everyone, {hap}"}
    if sex_by_id is None:
        return {"sex_source": None, **as_stored}
    sex = sex_by_id.reindex(used_ids).fillna(UNKNOWN).to_numpy()
    out = {"sex_source": source, "males": int((sex == MALE).sum()), "females": int((sex == FEMALE).sum()),
           "unknown_sex": int((sex == UNKNOWN).sum())}
    if not haploid_coded or not (sex != UNKNOWN).any():
        return {**out, "sex_used": False, **as_stored}
    both = out["males"] > 0 and out["females"] > 0
    x = ("samples of known sex, males 0/2 as stored, sex covariate added unless the covariates span it" if both
         else "everyone, males 0/2 as stored, no sex covariate (one sex known, as plink2)")
    return {**out, "sex_used": True, "X": x, "Y": "males, 0/1" if out["males"] else "not tested: no males",
            "MT": "everyone, 0/1"}


def _full(values: np.ndarray, mask: np.ndarray, everyone: bool) -> np.ndarray:
    """Per-sample ``values`` of the samples ``mask`` placed among all N (0 for the others)."""
    if everyone:
        return values
    out = np.zeros(len(mask), dtype=values.dtype)
    out[mask] = values
    return out


def association_by_sex(reader, sample_index: np.ndarray, variant_rows: np.ndarray, kinds, Y: np.ndarray,
                       C: np.ndarray, cov_names, sex: np.ndarray | None, *, sink, model, block: int, names=None,
                       x_sex: bool = True):
    """:func:`edfgen.engines.stream.association_pass` of each run of autosomes, X, Y and MT (in output order;
    ``kinds`` of the variants by :func:`chromosome_kinds`) with the samples, covariates and coding of its
    :class:`SexDesign` (``sex``: per ``sample_index`` row, or None), into ``sink(rows, result, counts)``
    (``counts.sample_missing`` over all N samples, ``n_samples`` per variant). Returns the
    :class:`~edfgen.kernels.qc.VariantCounts` of all variants, with ``sample_variants``, the number of variants each sample was counted on."""
    from dataclasses import replace

    from edfgen.engines.stream import association_pass, count_variants
    from edfgen.kernels.qc import VariantCounts

    kinds = np.asarray(kinds, dtype=object)
    designs = sex_designs(kinds, sex, C, cov_names, x_sex=x_sex)
    check_y_phenotypes(designs, Y, names)
    M, N = len(variant_rows), len(sample_index)
    acc = [np.zeros(M) for _ in range(len(_SUMS))]
    freq = np.full(M, np.nan)
    n_samples = np.zeros(M, dtype=np.int64)
    sample_missing = np.zeros(N, dtype=np.int64)
    sample_variants = np.zeros(N, dtype=np.int64)
    x_counts = np.full((M, 5), -1, dtype=np.int64) if "X" in designs and designs["X"].sex is not None else None
    prepared: dict = {}
    for a, b, kind in runs(kinds):
        d = designs[kind]
        key = "" if d.everyone and d.C is C else kind
        Yd = Y if d.everyone else Y[d.mask]
        if key not in prepared:
            prepared[key] = model.prepare(d.C, Yd, names=names, covariate_names=d.names)
        # X's samples of unknown sex are not tested but counted in the call rates, as plink2 counts them
        rest = count_variants(reader, sample_index[~d.mask], variant_rows[a:b], block=block) if kind == "X" \
            and not d.everyone else None
        n_d = N if rest is not None else int(d.mask.sum())

        def run_sink(sl, r, c, a=a, d=d, n_d=n_d, rest=rest):
            more = {} if rest is None else {f: getattr(c, f) + getattr(rest, f)[sl] for f in _SUMS}
            if x_counts is not None and c.x_counts is None:     # (X's HWE rows: -1 off X)
                more["x_counts"] = np.full((sl.stop - sl.start, 5), -1, dtype=np.int64)
            sink(slice(a + sl.start, a + sl.stop), r,
                 replace(c, sample_missing=_full(c.sample_missing, d.mask, d.everyone),
                         n_samples=np.full(sl.stop - sl.start, n_d, dtype=np.int64), **more))

        _, c = association_pass(reader, sample_index if d.everyone else sample_index[d.mask], variant_rows[a:b],
                                Yd, d.C, model=model, prepared=prepared[key], block=block, names=names,
                                sink=run_sink, haploid=d.haploid, ploidy=d.ploidy, x_sex=d.sex)
        for arr, f in zip(acc, _SUMS):
            arr[a:b] = getattr(c, f) + (0 if rest is None else getattr(rest, f))
        if c.allele_frequency is not None:
            freq[a:b] = c.allele_frequency
        if c.x_counts is not None:
            x_counts[a:b] = c.x_counts
        n_samples[a:b] = n_d
        sample_missing += _full(c.sample_missing, d.mask, d.everyone)
        sample_variants[d.mask] += b - a
        if rest is not None:
            sample_missing[~d.mask] += rest.sample_missing
            sample_variants[~d.mask] += b - a
    return VariantCounts(*(v.astype(np.int64) for v in acc[:3]), acc[3], acc[4], sample_missing,
                         allele_frequency=freq, n_samples=n_samples, sample_variants=sample_variants,
                         x_counts=x_counts, n_hom_ref=acc[5].astype(np.int64))


#: the per-variant sums of :class:`~edfgen.kernels.qc.VariantCounts` (the fast engine's counts have all)
_SUMS = ("n_called", "n_het", "n_hom_alt", "dosage_sum", "dosage_sumsq", "n_hom_ref")


def counts_by_sex(reader, sample_index: np.ndarray, variant_rows: np.ndarray, kinds, sex: np.ndarray | None, *,
                  block: int):
    """:func:`edfgen.engines.stream.count_variants` with Y counted on the males and X's allele frequency
    counting one allele per male, over the samples of known sex (``sex`` per ``sample_index`` row, or None: all
    samples as stored); X's call rates count every sample; ``kinds`` of the variants by
    :func:`chromosome_kinds`."""
    from edfgen.engines.stream import count_variants
    from edfgen.kernels.qc import VariantCounts

    kinds = np.asarray(kinds, dtype=object)
    designs = sex_designs(kinds, sex, np.ones((len(sample_index), 1)), ["intercept"])
    ploidy = x_ploidy(sex) if "X" in designs else None
    if ploidy is not None:   # everyone counted; unknown sex outside the frequency
        designs["X"] = SexDesign(np.ones(len(sample_index), dtype=bool), designs["X"].C, designs["X"].names,
                                 ploidy=ploidy, sex=sex)
    M, N = len(variant_rows), len(sample_index)
    parts = [(a, b, designs[k], count_variants(reader, sample_index[designs[k].mask], variant_rows[a:b],
                                               block=block, ploidy=designs[k].ploidy, x_sex=designs[k].sex))
             for a, b, k in runs(kinds)]
    if len(parts) == 1 and parts[0][2].everyone:
        return parts[0][3]
    x_counts = np.full((M, 5), -1, dtype=np.int64) if "X" in designs and designs["X"].sex is not None else None
    acc = [np.zeros(M) for _ in range(7)]
    n_samples = np.zeros(M, dtype=np.int64)
    miss, seen = np.zeros(N, dtype=np.int64), np.zeros(N, dtype=np.int64)
    for a, b, d, c in parts:
        for arr, v in zip(acc, (*(getattr(c, f) for f in _SUMS),
                                np.full(b - a, np.nan) if c.allele_frequency is None else c.allele_frequency)):
            arr[a:b] = v
        n_samples[a:b] = d.mask.sum()
        if c.x_counts is not None:
            x_counts[a:b] = c.x_counts
        miss[d.mask] += c.sample_missing
        seen[d.mask] += b - a
    return VariantCounts(*(v.astype(np.int64) for v in acc[:3]), acc[3], acc[4], miss, allele_frequency=acc[6],
                         n_samples=n_samples, sample_variants=seen, x_counts=x_counts,
                         n_hom_ref=acc[5].astype(np.int64))
