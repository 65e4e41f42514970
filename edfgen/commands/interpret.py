"""Which EDFs track which known ECG biomarkers: adjusted OLS, a heatmap and k-means clusters of EDFs.

This command reads the EDF, biomarker and covariate tables (or measures the biomarkers on ECG files),
runs the kernels of :mod:`edfgen.kernels.edf` (:func:`~edfgen.kernels.edf.associate`,
:func:`~edfgen.kernels.edf.cluster_edfs`), draws :func:`edfgen.plots.heatmap.plot_heatmap` and writes
the files inside the manifest recording.

For every pair (EDF *j*, biomarker *k*) the model is ``edf_j ~ 1 + age + sex + biomarker_k`` (ordinary
least squares; covariates configurable; method and references in :mod:`edfgen.kernels.edf`), and
``significant`` is ``p_value < p_threshold`` (default 0.01, as in the paper). The EDFs are clustered by
k-means on their standardised profiles (so by correlation).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd

from edfgen.commands.options import CommandOptions, allow_incomplete_opt, as_list, force_opt, opt, out_opt, seed_opt
from edfgen.reprs import ReadableRepr
from edfgen.exceptions import InputError
from edfgen.formats.ecg.records import REJECT_COLUMNS, RecordRejected, discover_records, read_records
from edfgen.formats.manifest import check_upstream, recording
from edfgen.formats.paths import file_arg
from edfgen.formats.tables import prepare_out_dir, read_table, write_table
from edfgen.kernels.ecg.biomarkers import REASON_COLUMN, measure_biomarkers
from edfgen.kernels.ecg.leads import canonicalise_leads
from edfgen.kernels.ecg.preprocess import (DEFAULT_QUALITY, MIN_FS_HZ, _check_flat, bandpass_notch,
                                          keep_finite_stretch)
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.kernels.edf import associate, cluster_edfs
from edfgen.kernels.validate import numeric_values
from edfgen.plots.heatmap import plot_heatmap

log = logging.getLogger(__name__)

ASSOCIATION_COLUMNS = ["edf", "biomarker", "beta", "se", "t", "p_value", "significant"]


def measure_biomarker_table(ecg: Sequence[str | os.PathLike] | str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measure biomarkers on ECG files with :func:`edfgen.kernels.ecg.biomarkers.measure_biomarkers`.

    Each record is read and its leads canonicalised (at its own sampling rate; the delineator filters itself).
    A record with missing (NaN/inf) samples is cut to its longest stretch where every lead has one
    (:func:`edfgen.kernels.ecg.preprocess.keep_finite_stretch`) and rejected when that stretch is shorter than
    the default checkpoint's ``min_duration_s`` (8 s) or a lead has no sample at all. Extract's flat-lead and
    amplitude check (:func:`edfgen.kernels.ecg.preprocess._check_flat`, on the band-passed stretch measured)
    rejects the same way: more than ``max_flat_leads`` (3) flat leads, or a median lead SD that is not mV
    (review s32g: a record with V1-V6 constant 0 was measured on half its leads). Only those checks are
    shared with ``edfgen extract``: a fully finite record is measured whatever its length (a 6 s record that
    extract rejects as too short is measured), clipping is not checked (a record extract rejects for it may be
    measured), and the whole (finite) record is measured, not the
    10 s window extract embeds: a 30-minute Holter's biomarkers are those of its 30 minutes. Records without
    EDFs drop out of the join in :func:`interpret_edfs`.

    Returns
    -------
    (table ``IID`` + biomarker columns, rejects ``record, path, reason``)
    """
    refs = discover_records([ecg] if isinstance(ecg, (str, os.PathLike)) else ecg)
    rows, rejects, prep = [], [], Preprocessing()
    for ref in refs:
        try:
            item = read_records([ref])[0]  # a reader's failure is a reject (RecordRejected), never a traceback
            if isinstance(item, RecordRejected):
                raise item
            if not item.fs >= MIN_FS_HZ:   # extract's floor (measure_biomarkers refuses it, for every record)
                raise RecordRejected(f"sampling rate {item.fs:g} Hz is below {MIN_FS_HZ:g} Hz (too coarse for an ECG; "
                                     "a wrong rate in the file?)", record_id=item.record_id, path=item.path)
            # missing samples: measured on the longest stretch where every lead has one (as extract does)
            rec = keep_finite_stretch(canonicalise_leads(item), min_s=prep.min_duration_s)
            y = bandpass_notch(rec.signal, prep=prep, fs=rec.fs)
            _check_flat(y, y.shape[1], rec, prep, DEFAULT_QUALITY)   # extract's flat-lead rejection
        except RecordRejected as exc:
            rejects.append((ref.record_id, ref.path, exc.reason))
            continue
        m = measure_biomarkers(rec.signal, rec.fs).iloc[0].to_dict()
        rows.append({"IID": rec.record_id, **m})
    return pd.DataFrame(rows), pd.DataFrame(rejects, columns=REJECT_COLUMNS)


def _numeric_covariates(df: pd.DataFrame, cols: Sequence[str], path) -> np.ndarray:
    out = []
    for c in cols:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s):
            out.append(s.to_numpy(dtype=float))
            continue
        levels = sorted(s.dropna().astype(str).unique())
        if len(levels) > 2:
            raise InputError(f"{path}: covariate column {c!r} is not numeric and has {len(levels)} levels "
                             f"({', '.join(levels[:4])}…); code it numerically")
        out.append(s.astype(str).map({lv: float(i) for i, lv in enumerate(levels)}).where(s.notna()).to_numpy(float))
        log.debug("covariate %s coded %s", c, {lv: i for i, lv in enumerate(levels)})
    return np.column_stack(out) if out else np.zeros((len(df), 0))


@dataclass(frozen=True, repr=False)
class InterpretResult(ReadableRepr):
    """Files written by :func:`interpret_edfs` and headline counts.

    Attributes
    ----------
    associations, clusters, heatmap, manifest : Path
        ``associations.tsv`` (EDF x biomarker t, p, significant), ``clusters.tsv``, ``heatmap.png``, ``manifest.json``.
    n_participants, n_edfs : int
    biomarkers : tuple of str
        Biomarkers tested.
    n_significant : int
        EDF-biomarker pairs with ``p_value < p_threshold``.
    measured, rejects : Path or None
        ``measured_biomarkers.tsv`` and ``rejects.tsv`` (with ``measure_from``).
    """

    associations: Path
    clusters: Path
    heatmap: Path
    manifest: Path
    n_participants: int
    n_edfs: int
    biomarkers: tuple[str, ...]
    n_significant: int
    measured: Path | None = None
    rejects: Path | None = None


def _default_biomarker_columns(bio_df: pd.DataFrame, exclude: list, *, source: str) -> list:
    """The biomarkers of ``bio_df`` when ``--biomarker-columns`` is not given: every numeric column.

    A column of numbers with one text value (a typo) is not quietly left out (review s30j F4): it is the
    same one-line error as with ``--biomarker-columns``; a column without any number (a site name) is left
    out with a warning naming it.

    Parameters
    ----------
    bio_df
        The biomarker table as read.
    exclude
        Columns that are not biomarkers (IID, covariates, EDF-named columns).
    source
        The option and table named in messages (``--biomarkers FILE`` or ``--measure-from DIR``).

    Returns
    -------
    list
        The biomarker columns, in table order.

    Raises
    ------
    InputError
        ``"--biomarkers FILE: column 'x', row 5 (IID P5): value 'abc' is not a number"``.
    """
    cols, text_only = [], []
    for c in bio_df.columns:
        if c in exclude:
            continue
        if not pd.api.types.is_numeric_dtype(bio_df[c]):
            if pd.to_numeric(bio_df[c].astype(str).str.strip(), errors="coerce").isna().all():
                text_only.append(str(c))
                continue
            bio_df[c] = numeric_values(bio_df[c], source=source, column=c, ids=bio_df["IID"],
                                       finite=False)
        cols.append(c)
    if text_only:
        log.warning("interpret: %s: column(s) %s hold no numbers and are left out of the biomarkers",
                    source, ", ".join(text_only))
    return cols


def interpret_edfs(edf: str | os.PathLike, out: str | os.PathLike, *, biomarkers: str | os.PathLike | None = None,
                   covar: str | os.PathLike | None = None, measure_from: str | os.PathLike | None = None,
                   covariates: Sequence[str] = ("age", "sex"), biomarker_columns: Sequence[str] | None = None,
                   p_threshold: float = 0.01, clusters: int = 4, seed: int = 0, force: bool = False) -> InterpretResult:
    """Associate EDFs with biomarkers and cluster the EDFs; write ``associations.tsv``, ``clusters.tsv``,
    ``heatmap.png`` (and, with ``measure_from``, ``measured_biomarkers.tsv`` and ``rejects.tsv``:
    ``record, path, reason`` of the ECG records not measured) and ``manifest.json`` in ``out``.

    Parameters
    ----------
    edf
        EDF table (``IID, edf_…``) from ``edfgen extract``.
    out
        Output directory (refused if non-empty unless ``force``).
    biomarkers
        Table with ``IID`` and biomarker columns (e.g. ``physiology.tsv``). Exactly one of
        ``biomarkers`` and ``measure_from`` is required.
    covar
        Table with ``IID`` and the ``covariates`` columns (default ``age, sex``; a two-level text
        column such as ``F/M`` is coded 0/1 in sorted order). Without it, only an intercept (edf ~ 1 + biomarker), with a warning.
    measure_from
        ECG files/directory: biomarkers are measured on the signals (record id = IID).
    covariates
        Columns of ``covar`` adjusted for (``--covariates``).
    biomarker_columns
        Biomarkers to test (default: every column of numbers except ``IID``, ``FID`` and covariates;
        a text value in one is an error, a column without numbers is left out with a warning).
    p_threshold
        ``significant = p_value < p_threshold``.
    clusters
        k of the EDF k-means.
    seed
        Seed of the k-means (results are deterministic by seed).
    force
        Write into a non-empty ``out``, replacing only the files an earlier run listed in its manifest.

    Returns
    -------
    InterpretResult
    """
    if not 0 < p_threshold <= 1:  # NaN passes the command line's range (was: exit 0, every pair 'not significant')
        raise InputError(f"--p {p_threshold}: must be in (0, 1]")
    # a DataFrame from a notebook: one line naming the option, not a TypeError traceback (s42files #6)
    edf, out, biomarkers, covar, measure_from = (file_arg(v, n) for v, n in (
        (edf, "--edf"), (out, "--out"), (biomarkers, "--biomarkers"), (covar, "--covar"), (measure_from, "--measure-from")))
    out = prepare_out_dir(out, force=force, command="edfgen interpret")
    if (biomarkers is None) == (measure_from is None):
        raise InputError("interpret: give exactly one of --biomarkers FILE and --measure-from ECGDIR")
    edf_df = read_table(edf, id_column="IID")
    edf_cols = [c for c in edf_df.columns if str(c).startswith("edf_")]
    if not edf_cols:
        raise InputError(f"--edf {edf}: no edf_* columns")
    for c in edf_cols:  # a word in an EDF column: one line naming file, column, row and value
        edf_df[c] = numeric_values(edf_df[c], source=f"--edf {edf}", column=c, ids=edf_df["IID"])   # ±inf: error
    measured_path = rejects_path = None
    if measure_from is not None:
        bio_df, rejects = measure_biomarker_table(measure_from)
        if len(rejects):
            log.warning("interpret: %d ECG record(s) in %s not measured (see rejects.tsv)", len(rejects), measure_from)
        bio_df = bio_df.drop(columns=["n_beats"], errors="ignore")
        bio_src = f"--measure-from {measure_from}"  # errors name the option the table came from (review s34b)
        if bio_df.empty:  # was: "--biomarkers DIR: no numeric biomarker columns"
            why = (f"{len(rejects)} rejected, e.g. {rejects.iloc[0]['record']}: {rejects.iloc[0]['reason']}"
                   if len(rejects) else "no ECG record found there")
            raise InputError(f"{bio_src}: no ECG record could be measured ({why})")
    else:
        bio_df = read_table(biomarkers, id_column="IID")
        bio_src = f"--biomarkers {biomarkers}"
    cov_cols = list(covariates) if covar is not None else []
    if covar is not None:
        cov_df = read_table(covar, id_column="IID", required=cov_cols)
        for c in cov_cols:      # ±inf is no covariate value: its participant was left out without a word
            if pd.api.types.is_numeric_dtype(cov_df[c]):
                cov_df[c] = numeric_values(cov_df[c], source=f"--covar {covar}", column=c, ids=cov_df["IID"])
    else:  # convention 2: never change the model silently
        log.warning("interpret: no --covar, so the associations are unadjusted (edf ~ 1 + biomarker); "
                    "give --covar FILE to adjust for --covariates %s", ",".join(covariates))
    # a column named like an EDF (a merged table, or the EDF table itself) would collide with the EDFs
    edf_named = [c for c in bio_df.columns if c in edf_cols or str(c).startswith("edf_")]
    if biomarker_columns:
        missing = [c for c in biomarker_columns if c not in bio_df.columns]
        if missing:
            raise InputError(f"{bio_src}: missing column(s) {', '.join(missing)}")
        clash = [c for c in biomarker_columns if c in edf_named or c in cov_cols or c in ("IID", "FID")]
        if clash:
            raise InputError(f"--biomarker-columns {', '.join(clash)}: named like an EDF or covariate column "
                             f"(or an id column); "
                             f"a biomarker of {bio_src} cannot be one of them (rename it)")
        bcols = list(biomarker_columns)
        for c in bcols:
            bio_df[c] = numeric_values(bio_df[c], source=bio_src, column=c, ids=bio_df["IID"],
                                       finite=False)
    else:
        # pr_missing_reason (measure_biomarkers' text column: why PR is NaN) is a note on the PR, not a biomarker
        bcols = _default_biomarker_columns(bio_df, ["IID", "FID", REASON_COLUMN, *cov_cols, *edf_named], source=bio_src)
        if edf_named:
            log.warning("interpret: %s: %d column(s) named like EDFs (%s) left out of the biomarkers",
                        bio_src, len(edf_named), ", ".join(map(str, edf_named[:3])) + ("…" if len(edf_named) > 3 else ""))
    if not bcols:
        hint = " (only EDF-named columns: is this the EDF table?)" if edf_named else ""
        raise InputError(f"{bio_src}: no numeric biomarker columns{hint}")
    for c in bcols:     # ±inf is no measurement: an EDF or biomarker row holding one was left out without a word
        bio_df[c] = numeric_values(bio_df[c], source=bio_src, column=c, ids=bio_df["IID"])
    df = edf_df[["IID", *edf_cols]].merge(bio_df[["IID", *bcols]], on="IID", how="inner")
    if covar is not None:
        df = df.merge(cov_df[["IID", *cov_cols]], on="IID", how="inner")
    cov = _numeric_covariates(df, cov_cols, covar) if cov_cols else None
    keep = np.isfinite(df[edf_cols].to_numpy(float)).all(axis=1)
    if cov is not None:
        keep &= np.isfinite(cov).all(axis=1)
    df = df[keep].reset_index(drop=True)
    cov = cov[keep] if cov is not None else None
    n = len(df)
    if n < len(cov_cols) + 4:
        raise InputError(f"interpret: only {n} participants with EDFs, biomarkers and covariates "
                         f"(IIDs of --edf {edf} and {bio_src} must overlap)")
    log.info("interpret: %d participants, %d EDFs, %d biomarkers", n, len(edf_cols), len(bcols))
    Y = df[edf_cols].to_numpy(float)
    res = associate(Y, df[bcols].to_numpy(float), cov)
    unestimable = [c for c, t in zip(bcols, res.t.T) if np.isnan(t).all()]
    if unestimable:
        log.warning("interpret: biomarker(s) %s not estimable (fewer than %d participants with a value, or constant "
                    "after the covariates): NA in associations.tsv", ", ".join(map(str, unestimable)), len(cov_cols) + 3)
    sig = res.p_value < p_threshold
    assoc = pd.DataFrame({
        "edf": np.repeat(edf_cols, len(bcols)), "biomarker": np.tile(bcols, len(edf_cols)),
        "beta": res.beta.ravel(), "se": res.se.ravel(), "t": res.t.ravel(), "p_value": res.p_value.ravel(),
        "significant": sig.ravel(),
    }, columns=ASSOCIATION_COLUMNS)
    if clusters > len(edf_cols):     # convention 2: never change the model silently (review s30j nit)
        log.warning("interpret: --clusters %d is more than the %d EDFs: one cluster per EDF", clusters, len(edf_cols))
    labels = cluster_edfs(Y, min(clusters, len(edf_cols)), seed=seed)
    params = {"edf": str(edf), "biomarkers": str(biomarkers) if biomarkers else None, "covar": str(covar) if covar else None,
              "measure_from": str(measure_from) if measure_from else None, "covariates": cov_cols,
              "biomarker_columns": bcols, "p_threshold": p_threshold, "clusters": clusters}
    planned = ["associations.tsv", "clusters.tsv", "heatmap.png"]
    planned += ["measured_biomarkers.tsv", "rejects.tsv"] if measure_from is not None else []
    with recording(out, "edfgen interpret", parameters=params, inputs=[edf, biomarkers, measure_from, covar],
                   seed=seed, planned=planned) as m:
        if measure_from is not None:
            measured_path = write_table(bio_df, out / "measured_biomarkers.tsv", float_format="%.6g")
            rejects_path = write_table(rejects, out / "rejects.tsv")
        a_path = write_table(assoc, out / "associations.tsv", float_format="%.6g")
        c_path = write_table(pd.DataFrame({"edf": edf_cols, "cluster": labels}), out / "clusters.tsv")
        h_path = plot_heatmap(res.t, sig, edf_cols, bcols, out / "heatmap.png", clusters=labels,
                              title=f"EDF ~ biomarker + {' + '.join(cov_cols) or '1'}; dots: p < {p_threshold:g} (n = {n})")
        m.extra.update({"n_participants": n, "n_significant": int(sig.sum()), "n_per_biomarker": dict(zip(bcols, res.n.tolist()))})
    return InterpretResult(associations=a_path, clusters=c_path, heatmap=h_path, manifest=out / "manifest.json",
                           n_participants=n, n_edfs=len(edf_cols), biomarkers=tuple(bcols),
                           n_significant=int(sig.sum()), measured=measured_path, rejects=rejects_path)

# ---------------------------------------------------------------------------------------------- the command
# its options (the only place their defaults, ranges and choices are written) and run(options),
# which the command line and `edfgen run` both call

@dataclass(frozen=True)
class InterpretOptions(CommandOptions):
    """``edfgen interpret`` (:func:`edfgen.commands.interpret.interpret_edfs`)."""

    command: ClassVar[str] = "interpret"
    edf: str | None = opt(None, "EDF table from `edfgen extract`.", path="file", exists=True, required=True)
    biomarkers: str | None = opt(None, "Table with IID and biomarker columns (e.g. physiology.tsv).", path="file",
                                 exists=True)
    measure_from: str | None = opt(None, "Instead of --biomarkers: measure them on these ECGs (record name = IID).",
                                   path="any", exists=True)
    covar: str | None = opt(None, "Table with IID and the --covariates columns; without it the model is "
                            "unadjusted (edf ~ 1 + biomarker), with a warning.", path="file", exists=True)
    covariates: tuple[str, ...] = opt(("age", "sex"), "Covariate columns of --covar (used only with --covar).", comma=True)
    biomarker_columns: tuple[str, ...] | None = opt(None, "Biomarkers to test (default: every column of numbers; "
                                                    "a text value in one is an error).",
                                                    comma=True)
    out: str | None = out_opt()
    p_threshold: float = opt(0.01, "Significance threshold.", cli=("--p",), range=(0, 1), open=(True, False))
    clusters: int = opt(4, "k of the EDF k-means.", range=(1, None))
    seed: int = seed_opt()
    force: bool = force_opt()
    allow_incomplete: bool = allow_incomplete_opt()


def run(o: InterpretOptions):
    """``edfgen interpret``: :func:`edfgen.commands.interpret.interpret_edfs`."""
    check_upstream([o.edf], option="--edf", allow_incomplete=o.allow_incomplete)
    return interpret_edfs(o.edf, o.out, biomarkers=o.biomarkers, covar=o.covar, measure_from=o.measure_from,
                          covariates=list(o.covariates), biomarker_columns=as_list(o.biomarker_columns),
                          p_threshold=o.p_threshold, clusters=o.clusters, seed=o.seed, force=o.force)
