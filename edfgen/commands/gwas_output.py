"""The outputs of ``edfgen gwas``, written while the association pass runs (bounded memory).

:class:`GwasOutputs` receives each block of association results as it is computed and

* appends it to one GWAS-SSF stream per phenotype (:class:`edfgen.formats.sumstats.SumstatsStream`:
  BGZF into a temporary file; tabix index, ``-meta.yaml`` and the rename at :meth:`GwasOutputs.close`),
* adds its p-values to a :class:`edfgen.plots.GwasPlotAccumulator` (Manhattan and QQ summaries whose
  size does not depend on the number of variants; also the median p behind ``lambda_gc``),
* counts what ``gwas_summary.tsv`` reports (largest ``n``, variants tested, ``p < 5e-8``; with the Firth
  fallback the rows refitted by Firth, ``n_firth``, also the ``firth_refit`` row of ``qc_report.tsv``).

Formatting and compression run in writer threads (Arrow's formatter and ISA-L release the GIL),
overlapping the next block's decoding and products; consecutive blocks are handed to them together
(:data:`WRITE_BATCH_ROWS`) and at most two such batches wait, so memory is a few batches of results whatever
the number of variants. Rows must arrive in output order
(:func:`edfgen.formats.sumstats.sort_sumstats`: chromosome, then position).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import deque
from dataclasses import dataclass
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen import __version__
from edfgen.exceptions import InputError
from edfgen.engines import gwas_stream
from edfgen.formats.sumstats import (SumstatsFormatter, SumstatsMeta, SumstatsStream, chrom_key, p_value_column,
                                    sort_sumstats)
from edfgen.formats.sumstats.layout import ssf_chromosome_codes
from edfgen.formats.tables import write_table
from edfgen.kernels.association import AssociationResult, lambda_gc
from edfgen.kernels.clump import effective_number_of_tests
from edfgen.kernels.firth import FIRTH_MAX_ITERATIONS
from edfgen.kernels.multivariate import mostest, z_scores
from edfgen.kernels.thresholds import GENOME_WIDE  # the threshold of gwas_summary.tsv and of the plots
from edfgen.kernels.pvalues import TINY_P, neg_log10_p

log = logging.getLogger(__name__)

#: variant columns of every GWAS-SSF row
BASE_COLUMNS = ("chromosome", "base_pair_location", "effect_allele", "other_allele", "variant_id", "rsid")
#: columns of gwas_summary.tsv
SUMMARY_COLUMNS = ["phenotype", "n", "variants_tested", "lambda_gc", "n_significant"]
#: the column of gwas_summary.tsv added with the Firth fallback (``--logistic-test firth-fallback``)
SUMMARY_FIRTH_COLUMN = "n_firth"
#: blocks of results that may wait for the writer threads
MAX_PENDING = 2
#: rows of consecutive blocks handed to the writers at once (fewer where that many rows of every phenotype's
#: results would pass :data:`WRITE_BATCH_BYTES`): each write has a fixed cost per call and per phenotype
#: (formatter set-up ~2 ms, ~0.7 ms a phenotype), and the engine's blocks are small (8 MiB of genotypes:
#: :func:`edfgen.engines.stream.auto_block_size`): 8 phenotypes x 2,000 samples x 30k variants written per
#: 524-variant block took 0.85 CPU-s in the writers vs 0.45 in ~2,000-row batches (stop 29)
WRITE_BATCH_ROWS = 4096
WRITE_BATCH_BYTES = 64 * 2 ** 20
#: memory the tabix indexes built while writing may take together (bytes); beyond it each finished
#: file is indexed by htslib (slower, no memory)
INDEX_MEMORY = 256 * 2 ** 20


@dataclass(frozen=True)
class SampleCounts:
    """How many samples each input has, and how many were analysed."""

    genotypes: int
    phenotypes: int
    covariates: int | None     # None: no --covar given (intercept only)
    complete_covariates: int
    overlap: int
    used: int
    withdrawn: int = 0    # UK Biobank withdrawals (negative ids) in the genotype files, left out before all else

    def describe(self) -> str:
        gone = f" ({self.withdrawn} withdrawn left out)" if self.withdrawn else ""
        if self.covariates is None:
            covariates, inputs = "no covariates", "both"
        else:
            covariates, inputs = f"{self.covariates} in covariates ({self.complete_covariates} complete)", "all three"
        return (f"samples: {self.genotypes} in genotypes{gone}, {self.phenotypes} in phenotypes, {covariates}, "
                f"{self.overlap} in {inputs}, {self.used} used after QC")


def output_order(variants: pd.DataFrame) -> np.ndarray:
    """Row order of ``variants`` in the output files: chromosome (natural order), then position."""
    return np.lexsort((variants["base_pair_location"].to_numpy(), chrom_key(variants["chromosome"]).to_numpy()))


def _raise_open_file_limit(needed: int, n_phenotypes: int) -> None:
    """Raise the soft limit of open files to ``needed`` (one stream per phenotype stays open), or
    stop with one line when the hard limit does not allow it."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed if hard == resource.RLIM_INFINITY else min(needed, hard),
                                                    hard))
    except (ValueError, OSError):  # pragma: no cover - not allowed
        pass
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        raise InputError(f"{n_phenotypes} phenotypes are written at once and need {needed} open files, but the "
                         f"limit is {resource.getrlimit(resource.RLIMIT_NOFILE)[0]} (raise it with ulimit -n, or "
                         "run the phenotypes in several gwas calls)")


def plot_files(files: Sequence[str], plots_max: int | None, *, multivariate: bool = False) -> list[str]:
    """The plots ``gwas`` draws (relative to ``--out``), known before the work: :meth:`GwasOutputs.close`'s
    Manhattan and QQ plot of the first ``plots_max`` phenotypes (file stems ``files``; all when ``None``) and the
    combined minimum-p Manhattan plot with its points (``.npz``, which the report redraws; unplanned, it was the one
    file edfgen wrote there without naming it first), and :func:`write_multivariate`'s with ``multivariate``. The in-progress
    manifest lists them by name: ``plots/`` as a whole made the rerun of a killed run remove a user's file put
    there (review s39).

    Parameters
    ----------
    files : sequence of str
        The phenotypes' file stems, in order.
    plots_max : int, optional
        ``--max-plots``.
    multivariate : bool
        ``--multivariate``.

    Returns
    -------
    list of str
        ``plots/<name>.png`` names (and the combined plot's ``.npz``).
    """
    n = len(files) if plots_max is None else min(plots_max, len(files))
    return ([f"plots/{f}.{kind}.png" for f in files[:n] for kind in ("manhattan", "qq")]
            + ["plots/combined_min_p.manhattan.png", "plots/combined_min_p.manhattan.npz"]
            + (["plots/multivariate.manhattan.png"] if multivariate else []))


def analysis_label(*, binary: bool, model: str, logistic_test: str | None) -> str:
    """The association analysis in words, as the GWAS-SSF ``-meta.yaml`` ``analysis_software`` names it.

    Parameters
    ----------
    binary : bool
        ``--binary`` (logistic regression).
    model : {"linear", "ridge-loco", "lmm-loco"}
        ``--model``.
    logistic_test : str or None
        ``--logistic-test`` (``wald``, ``firth``, ``firth-fallback``) of a binary GWAS.

    Returns
    -------
    str
        e.g. ``linear regression``, ``Firth logistic regression``, ``linear regression with ridge-LOCO predictions,
        REGENIE-style two steps, --model ridge-loco``.
    """
    test = "logistic regression" if binary else "linear regression"
    if binary and logistic_test == "firth":
        test = "Firth logistic regression"
    elif binary and logistic_test == "firth-fallback":
        test = "logistic regression with Firth fallback"
    # no parentheses: the label sits inside analysis_software's "edfgen <version> (...)" (review s40user F4)
    if model == "ridge-loco":
        joined = " and" if " with " in test else " with"
        return f"{test}{joined} ridge-LOCO predictions, REGENIE-style two steps, --model ridge-loco"
    if model == "lmm-loco":
        return "LOCO linear mixed model, GLS, one REML delta per phenotype, --model lmm-loco"
    return test


class GwasOutputs:
    """Streaming writer of one GWAS's per-phenotype outputs (module docstring).

    Parameters
    ----------
    out_dir : path
    variants : DataFrame
        Every variant that may be written (``chromosome, base_pair_location, effect_allele,
        other_allele, variant_id, rsid``), in output order; :meth:`add` refers to its rows.
    names : list of str
        Phenotype names; ``files`` their file stems (``<stem>.tsv.gz``).
    model : str
        ``"linear regression"`` or ``"logistic regression"`` (metadata).
    covariates : list of str
        The covariates adjusted for, as the user named them (``adjusted_covariates`` of the metadata; a
        categorical covariate once, not its indicator columns: :meth:`~edfgen.commands.gwas_design.CovariateDesign.adjusted_for`).
    n_covariates : int, optional
        Columns of the design including the intercept: t-test degrees of freedom ``n - k - 1`` for
        ``neg_log_10_p_value`` where p underflows (linear model).
    cases : (array [P], array [P]), optional
        Cases and controls per phenotype of a binary model (``n_cases``, ``n_controls``).
    writers : int, optional
        Writer threads (default: 2, or 1 on one core); each formats and compresses its share of the
        phenotypes.
    plots : bool
        Draw ``plots/<stem>.manhattan.png``, ``plots/<stem>.qq.png`` (the first ``plots_max``
        phenotypes) and ``plots/combined_min_p.manhattan.png``.
    firth_threshold : float, optional
        The ``--firth-threshold`` of ``--logistic-test firth-fallback``: the results' ``firth`` ``[m, P]``
        (:class:`~edfgen.kernels.logistic.LogisticAssociationResult`) is written as the last column
        ``firth`` of each file and counted (``n_firth`` of ``gwas_summary.tsv``, :meth:`firth_step`).
    """

    def __init__(self, out_dir, variants: pd.DataFrame, names: Sequence[str], files: Sequence[str], *,
                 model: str, reference_genome: str, covariates: Sequence[str] = (), n_covariates: int | None = None,
                 cases: tuple[np.ndarray, np.ndarray] | None = None, plots: bool = True,
                 plots_max: int | None = None, writers: int | None = None, firth_threshold: float | None = None):
        from edfgen.plots import GwasPlotAccumulator  # matplotlib only when plots are drawn

        if plots:
            from edfgen.plots._mpl import preload_in_background

            preload_in_background()  # matplotlib's import overlaps the association pass
        self.out_dir = Path(out_dir)
        self.base = variants  # referenced, not copied (a copy costs ~50 bytes per variant)
        self.names, self.files = list(names), list(files)
        self.model, self.reference_genome = model, reference_genome
        self.covariates = tuple(c for c in covariates if c != "intercept")
        self.n_covariates, self.cases = n_covariates, cases
        self.plots, self.plots_max = plots, plots_max
        P = len(self.names)
        writers = writers or min(2, os.cpu_count() or 1)
        self.n_max = np.zeros(P, dtype=np.int64)
        self.n_tested = np.zeros(P, dtype=np.int64)
        self.n_significant = np.zeros(P, dtype=np.int64)
        self.n_left_out = np.zeros(P, dtype=np.int64)   # binary: rows without an estimate, not written
        self.n_firth_kept_wald = 0      # Firth fallback: refits that did not converge (their Wald rows written)
        self.firth_threshold = firth_threshold
        self.n_firth = np.zeros(P, dtype=np.int64)      # Firth fallback: rows refitted by Firth (written or not)
        self._last_row = -1
        self._n_rows = 0
        self.plot_data = GwasPlotAccumulator(self.base["chromosome"].astype(str).to_numpy(),
                                             self.base["base_pair_location"].to_numpy(), P)
        _raise_open_file_limit(P + 64, P)
        # tabix indexes built while writing hold ~32 bytes per 16 kb bin with variants and file; beyond
        # INDEX_MEMORY over all files, htslib indexes each finished file instead
        pos = self.base["base_pair_location"].to_numpy(dtype=np.int64) >> 14
        chrom_codes = pd.factorize(self.base["chromosome"])[0].astype(np.int64)
        n_bins = int(len(pos) and 1 + np.count_nonzero((pos[1:] != pos[:-1]) | (chrom_codes[1:] != chrom_codes[:-1])))
        self.index_while_writing = 32 * n_bins * P <= INDEX_MEMORY
        self.streams = []
        try:
            for f in self.files:
                self.streams.append(SumstatsStream(self.out_dir / f"{f}.tsv.gz", firth=firth_threshold is not None,
                                                   index_while_writing=self.index_while_writing))
        except BaseException:
            self.abort()
            raise
        # one single-thread writer per share of the phenotypes: each stream gets its blocks in order,
        # and the shares format and compress at the same time (Arrow and ISA-L release the GIL)
        n_writers = max(1, min(writers, P))
        self._shares = [np.arange(P)[i::n_writers] for i in range(n_writers)]
        self._pools = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"edfgen-gwas-writer{i}")
                       for i in range(n_writers)]
        self._pending: deque = deque()
        self._batch: list[tuple[np.ndarray, AssociationResult]] = []     # blocks not yet handed to the writers
        self._batch_rows = 0
        self.batch_rows = max(1, min(WRITE_BATCH_ROWS, WRITE_BATCH_BYTES // (48 * max(P, 1))))

    # -- per block ---------------------------------------------------------------------------------
    def add(self, rows: np.ndarray, res: AssociationResult) -> None:
        """Queue one block: ``rows`` (increasing indices into ``variants``) and its results ``[len(rows), P]``."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        if rows[0] <= self._last_row or (len(rows) > 1 and (np.diff(rows) <= 0).any()):
            raise ValueError("GwasOutputs.add: rows must increase across blocks (output order)")
        self._last_row = int(rows[-1])
        self._n_rows += len(rows)
        self._batch.append((rows, res))
        self._batch_rows += len(rows)
        if self._batch_rows >= self.batch_rows:
            self._hand_over()

    def _hand_over(self) -> None:
        """Queue the blocks added since the last call to the writers as one (waiting while
        :data:`MAX_PENDING` batches are queued)."""
        if not self._batch:
            return
        rows, res = _joined(self._batch)
        self._batch, self._batch_rows = [], 0
        while len(self._pending) >= MAX_PENDING:
            for f in self._pending.popleft():
                f.result()
        self._pending.append([pool.submit(self._write_block, rows, res, share, i == 0)
                              for i, (pool, share) in enumerate(zip(self._pools, self._shares))])

    def sink(self, rows: slice, res: AssociationResult, counts=None) -> None:
        """:meth:`add` for a block of consecutive rows (the ``sink`` of
        :func:`edfgen.engines.stream.association_pass`; ``counts`` unused)."""
        self.add(np.arange(rows.start, rows.stop), res)

    def _write_block(self, rows: np.ndarray, res: AssociationResult, share: np.ndarray, first: bool) -> None:
        """Format and compress the rows of the phenotypes ``share``; the ``first`` writer also keeps
        the summaries (counts, plot data)."""
        fmt = SumstatsFormatter(self.base.iloc[rows][list(BASE_COLUMNS)])
        p_all = res.p_value
        firth_all = None
        if self.firth_threshold is not None:
            firth_all = getattr(res, "firth", None)
            if firth_all is None:   # a model path that dropped the marks would otherwise write False everywhere
                raise ValueError("GwasOutputs: --logistic-test firth-fallback results carry no firth marks")
            firth_all = np.asarray(firth_all, dtype=bool)
        for j in share:
            stream = self.streams[j]
            n = res.n[:, j]
            df = None if self.cases is not None or self.n_covariates is None else n - self.n_covariates - 1
            keep = None
            if self.cases is not None:   # a failed logistic fit has no estimate: left out (the Catalog refuses NA)
                keep = np.isfinite(p_all[:, j]) & np.isfinite(res.beta[:, j]) & np.isfinite(res.standard_error[:, j])
                self.n_left_out[j] += int((~keep).sum())
            if firth_all is not None:
                self.n_firth[j] += int(firth_all[:, j].sum())
                kept = getattr(res, "firth_kept_wald", None)
                self.n_firth_kept_wald += 0 if kept is None else int(np.asarray(kept)[:, j].sum())
            body, lengths = fmt.rows(res.beta[:, j], res.standard_error[:, j], res.effect_allele_frequency[:, j],
                               p_all[:, j], n, df=df,
                               n_cases=None if self.cases is None else int(self.cases[0][j]),
                               n_controls=None if self.cases is None else int(self.cases[1][j]), keep=keep,
                               firth=None if firth_all is None else firth_all[:, j])
            stream.append(body, lengths, fmt, keep=keep)
        if not first:
            return
        with np.errstate(invalid="ignore"):
            self.n_tested += np.isfinite(p_all).sum(0)
            self.n_significant += (p_all < GENOME_WIDE).sum(0)
        self.n_max = np.maximum(self.n_max, res.n.max(0))
        self.plot_data.add(rows, p_all)

    def left_out_step(self):
        """The ``qc_report.tsv`` row of the binary rows left out of the GWAS-SSF files (fit failed)."""
        from edfgen.kernels.qc import QCStep

        left = int(self.n_left_out.sum())
        return QCStep("fit_failed", "variant x phenotype", "no estimate (logistic fit did not converge, variant "
                      "monomorphic in the analysed samples, or a predictor's VIF above 50, plink2 VIF_TOO_HIGH): row "
                      "left out of the GWAS-SSF file", left,
                      self._n_rows * len(self.names) - left)

    def binary_steps(self) -> list:
        """The last rows of ``qc_report.tsv`` with ``--binary``: :meth:`firth_step` (Firth fallback) and
        :meth:`left_out_step` (``fit_failed``); none for a linear model."""
        if self.cases is None:
            return []
        steps = []
        if self.firth_threshold is not None:
            steps.append(self.firth_step())
            log.info("%d variant x phenotype rows refitted by Firth's penalised likelihood (Wald p < %g or Wald fit "
                     "failed): qc_report.tsv (firth_refit), the firth column of the GWAS-SSF files",
                     steps[-1].removed, self.firth_threshold)
        left = self.left_out_step()
        if left.removed:      # the rows of fit_failed: variants QC removed are not counted (review s29 F4)
            log.warning("%d logistic fits failed (no finite estimate: genotypes separating cases from controls, "
                        "a coefficient running off, no convergence in the iterations allowed, a monomorphic "
                        "variant, or one collinear with the covariates: VIF above 50, plink2 VIF_TOO_HIGH): left out of the GWAS-SSF files, counted in qc_report.tsv (fit_failed)",
                        left.removed)
        return steps + [left]

    def firth_step(self):
        """The ``qc_report.tsv`` row of the Firth fallback: ``removed`` = variant x phenotype rows whose Wald
        result was replaced by a Firth refit (Wald p < the threshold or Wald fit failed; those whose Firth fit
        failed too are also counted in ``fit_failed``), ``remaining`` = rows kept with the Wald test."""
        from edfgen.kernels.qc import QCStep

        refit = int(self.n_firth.sum())
        return QCStep("firth_refit", "variant x phenotype", f"Wald p >= {self.firth_threshold:g} and Wald fit "
                      "converged, or monomorphic; else refitted by Firth (--logistic-test firth-fallback)", refit,
                      self._n_rows * len(self.names) - refit)

    # -- end ---------------------------------------------------------------------------------------
    def close(self) -> pd.DataFrame:
        """Wait for the writer, finish every file (index, rename, metadata), write ``gwas_summary.tsv``
        and the plots; returns the summary table."""
        try:
            self._hand_over()
            while self._pending:
                for f in self._pending.popleft():
                    f.result()
            for pool in self._pools:
                pool.shutdown()

            def finish(j: int) -> None:
                nc = None if self.cases is None else (int(self.cases[0][j]), int(self.cases[1][j]))
                meta = SumstatsMeta(trait=self.names[j], sample_size=int(self.n_max[j]),
                                    case_count=None if nc is None else nc[0],
                                    control_count=None if nc is None else nc[1],
                                    genome_assembly=self.reference_genome, covariates=self.covariates,
                                    analysis_software=f"edfgen {__version__} ({self.model})")
                self.streams[j].close(meta)

            with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
                list(pool.map(finish, range(len(self.streams))))
        except BaseException:
            self.abort()
            raise
        acc = self.plot_data
        summary = pd.DataFrame({"phenotype": self.names, "n": self.n_max, "variants_tested": self.n_tested,
                                "lambda_gc": [acc.lambda_gc(j) for j in range(len(self.names))],
                                "n_significant": self.n_significant}, columns=SUMMARY_COLUMNS)
        if self.firth_threshold is not None:
            summary[SUMMARY_FIRTH_COLUMN] = self.n_firth
        if self.n_firth_kept_wald:        # (review rev35b: such a row's Wald beta may have Firth's opposite sign)
            log.warning("%d variant x phenotype row(s) kept their Wald result: the Firth refit did not converge in "
                        "%d steps (e.g. a rare variant beside a covariate that nearly separates the cases; "
                        "plink2 --glm firth may estimate them); their firth column is False",
                        self.n_firth_kept_wald, FIRTH_MAX_ITERATIONS)
        write_table(summary, self.out_dir / "gwas_summary.tsv", float_format="%.6g")
        if self.plots:
            self._draw()
        return summary

    def _draw(self) -> None:   # the files plot_files names
        n_plot = len(self.names) if self.plots_max is None else self.plots_max
        plots = self.out_dir / "plots"
        acc = self.plot_data
        for j in range(min(n_plot, len(self.names))):
            acc.manhattan(j, plots / f"{self.files[j]}.manhattan.png", title=self.names[j])
            acc.qq(j, plots / f"{self.files[j]}.qq.png", title=self.names[j])
        P = len(self.names)
        acc.manhattan_min_p(plots / "combined_min_p.manhattan.png", title=f"minimum p across {P} phenotypes",
                            study_wide=GENOME_WIDE / P if P > 1 else None)  # Bonferroni over phenotypes

    def abort(self) -> None:
        """Stop writing and remove every temporary file. Files already finished by :meth:`close` (when
        another one failed) stay; the in-progress manifest lists them for ``--force``."""
        self._batch = []
        for futures in getattr(self, "_pending", ()):
            for f in futures:
                f.cancel()
        for pool in getattr(self, "_pools", ()):
            pool.shutdown(wait=True)
        for s in self.streams:
            s.abort()


def _joined(blocks: list[tuple[np.ndarray, AssociationResult]]) -> tuple[np.ndarray, AssociationResult]:
    """Consecutive blocks ``(rows, results)`` as one: rows and every field of the results (of the first
    block's class, e.g. :class:`~edfgen.kernels.logistic.LogisticAssociationResult`) concatenated; a field
    that is None in the blocks stays None."""
    if len(blocks) == 1:
        return blocks[0]
    first = blocks[0][1]
    fields = {f.name: [getattr(r, f.name) for _, r in blocks] for f in dataclasses.fields(first)}
    return (np.concatenate([rows for rows, _ in blocks]),
            type(first)(**{k: None if v[0] is None else np.concatenate(v) for k, v in fields.items()}))


def _neg_log10_min_p(res: AssociationResult, min_p: np.ndarray, dof) -> np.ndarray:
    """``-log10 min_p`` where ``min_p`` is below 1e-300 (the largest per-phenotype ``-log10 p``, from the test
    statistic in log space: :func:`~edfgen.kernels.pvalues.neg_log10_p`), NaN elsewhere (not needed there)."""
    out = np.full(len(min_p), np.nan)
    rows = np.flatnonzero(np.isfinite(min_p) & (min_p < TINY_P))
    if rows.size:
        shape = res.p_value[rows].shape
        nl = neg_log10_p(res.p_value[rows].ravel(), beta=res.beta[rows].ravel(),
                         standard_error=res.standard_error[rows].ravel(),
                         df=None if dof is None else np.broadcast_to(dof, res.p_value.shape)[rows].ravel())
        out[rows] = np.nanmax(nl.reshape(shape), axis=1)
    return out


def write_multivariate(out_dir, variants: pd.DataFrame, res: AssociationResult, permuted: AssociationResult,
                       Y: np.ndarray, *, plots: bool = True, n_covariates: int | None = None) -> dict:
    """``multivariate.tsv.gz``: MOSTest and min-P (``M_eff`` of the analysed phenotypes' correlation).

    ``n_covariates`` (design columns with the intercept; None for logistic models): the t-test's ``n - k - 1``
    degrees of freedom, for the z-score of a p-value that underflowed (:func:`z_scores`)."""

    m_eff = effective_number_of_tests(pd.DataFrame(Y).corr().fillna(0.0).to_numpy()) if Y.shape[1] > 1 else 1.0
    dof = None if n_covariates is None else res.n - n_covariates - 1
    z = z_scores(res.beta, res.p_value, standard_error=res.standard_error, df=dof)
    mv = mostest(z, z_scores(permuted.beta, permuted.p_value), res.p_value, m_eff=m_eff)
    table = variants[["chromosome", "base_pair_location", "effect_allele", "other_allele", "variant_id", "rsid"]].copy()
    # the per-phenotype files' codes (X as 23, ...): Hail's variants name X "X" where the .bim said 23 (review s30h F6)
    table["chromosome"] = ssf_chromosome_codes(table["chromosome"])
    table = table.reset_index(drop=True).assign(n_phenotypes=mv.n_phenotypes, statistic=mv.statistic,
                                                p_value=mv.p_value, min_p=mv.min_p,
                                                min_p_corrected=mv.min_p_corrected,
                                                n=res.n.max(axis=1) if res.n.size else 0,
                                                neg_log_10_p_value=np.round(mv.neg_log10_p, 6))
    # "2.3e-1268", not 0, where the gamma tail (p_value) or a phenotype's test (min_p) underflows (review s39edge)
    nl_min = _neg_log10_min_p(res, mv.min_p, dof)
    written = sort_sumstats(table.assign(
        p_value=p_value_column(mv.p_value, mv.neg_log10_p), min_p=p_value_column(mv.min_p, nl_min),
        min_p_corrected=p_value_column(mv.min_p_corrected, np.maximum(nl_min - np.log10(m_eff), 0.0))))
    write_table(written, Path(out_dir) / "multivariate.tsv.gz", float_format="%.8g")
    if plots:
        from edfgen.plots import manhattan_plot

        manhattan_plot(table, Path(out_dir) / "plots" / "multivariate.manhattan.png",
                       title=f"MOSTest across {Y.shape[1]} phenotypes")
    return {"m_eff": mv.m_eff, "gamma_shape": mv.gamma_shape, "gamma_scale": mv.gamma_scale,
            "eigen_floor": mv.eigen_floor, "lambda_gc": lambda_gc(mv.p_value),
            "n_significant": int((mv.p_value < GENOME_WIDE).sum()),
            "n_significant_min_p": int((mv.min_p_corrected < GENOME_WIDE).sum()),
            "permutation_seed": gwas_stream.MULTIVARIATE_PERMUTATION_SEED}


def case_counts(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cases (1) and controls (0) per phenotype column among the analysed samples."""
    return (Y == 1).sum(axis=0), (Y == 0).sum(axis=0)
