"""Evaluation of an encoder on any labelled ECG folder: labels, patient-disjoint folds, probes, CIs.

Labels come from :mod:`edfgen.formats.labels` (:func:`~edfgen.formats.labels.read_label_set`: a PTB-XL
folder, WFDB ``# Dx:`` headers or an outcomes table).

Two ways to score a checkpoint (:func:`evaluate_ecgs`):

* ``head``: a fine-tuned checkpoint's own disease head predicts every record;
* ``linear``: a linear probe on the frozen EDFs (any checkpoint, with or without head): per label, an
  L2-penalised logistic regression on standardised EDFs, its penalty chosen by an inner
  patient-grouped, stratified cross-validation (log-loss), fitted on all folds but one and predicting
  the held-out fold; the pooled out-of-fold predictions are scored (as scikit-learn's
  ``cross_val_predict``).

Scores: per-label and macro AUROC/AUPRC with percentile bootstrap 95% CIs over patients
(:func:`edfgen.model.metrics.bootstrap_samples`); the macro CI resamples all labels jointly.

References
----------
The label sources' references are in :mod:`edfgen.formats.labels`.
Alain G, Bengio Y. Understanding intermediate layers using linear classifier probes. arXiv:1610.01644.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.reprs import ReadableRepr
from edfgen.formats.labels import read_label_set
from edfgen.formats.paths import file_args
from edfgen.formats.tables import some_names
from edfgen.model.metrics import auprc_rows, auroc_rows, bootstrap_replicates, bootstrap_samples, percentile_ci


#: columns of ``baselines.tsv``: the encoder's and each baseline's table (``model``, ``features``, then
#: :data:`EVALUATION_COLUMNS`) with the encoder's AUROC minus the row's (paired bootstrap 95% CI).
BASELINE_EXTRA_COLUMNS = ["encoder_minus_auroc", "encoder_minus_auroc_lower", "encoder_minus_auroc_upper"]
#: columns of ``evaluation.tsv``; the last row (label ``macro``) averages the labels.
EVALUATION_COLUMNS = ["label", "description", "n", "n_positive", "prevalence", "auroc", "auroc_lower", "auroc_upper",
                      "auprc", "auprc_lower", "auprc_upper"]
MACRO = "macro"

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- folds and probes
def patient_folds(patients: Sequence, *, k: int | None = None, predefined: Sequence | None = None,
                  seed: int = 0) -> np.ndarray:
    """Outer folds (``int [n]``, 1-based) in which no patient is in two folds.

    Parameters
    ----------
    patients
        ``[n]`` patient id of each record.
    k
        Folds of a shuffled :class:`sklearn.model_selection.GroupKFold` on the patients; ``None`` uses
        ``predefined`` when given, else 5.
    predefined
        ``[n]`` given fold of each record (PTB-XL ``strat_fold``); it must keep each patient in one fold.

    Raises
    ------
    InputError
        A predefined split that puts a patient in two folds, or fewer patients than folds.
    """
    from sklearn.model_selection import GroupKFold

    patients = np.asarray([str(p) for p in patients])
    if k is None and predefined is not None:
        pre = np.asarray(predefined)
        per_patient = pd.Series(pre).groupby(patients).nunique()
        if (per_patient > 1).any():
            raise InputError(f"predefined folds put patient {per_patient[per_patient > 1].index[0]} in two folds")
        _, codes = np.unique(pre, return_inverse=True)
        return codes.ravel() + 1
    k = k or 5
    n_patients = len(np.unique(patients))
    if not 2 <= k <= n_patients:
        raise InputError(f"--folds {k}: needs 2 <= folds <= patients ({n_patients})")
    folds = np.zeros(len(patients), dtype=int)
    for f, (_, test) in enumerate(GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(
            np.zeros(len(patients)), groups=patients), start=1):
        folds[test] = f
    return folds


@dataclass(frozen=True)
class ProbeCV:
    """Out-of-fold predictions of a cross-validated probe.

    Attributes
    ----------
    predictions
        ``[n, L]`` out-of-fold probabilities (logistic) or values (ridge); NaN where the label is unknown.
    penalty
        ``[n_folds, L]`` chosen inverse L2 penalty ``C`` (logistic) or ridge ``alpha`` per fold and label.
    folds
        ``[n]`` the outer fold of each record.
    """

    predictions: np.ndarray
    penalty: np.ndarray
    folds: np.ndarray


def _choose_C(z: np.ndarray, y: np.ndarray, splits, Cs: Sequence[float], max_iter: int) -> float:
    """The ``C`` with the smallest mean held-out log-loss over the inner splits (warm-started path)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    Cs = sorted(Cs)
    loss = np.zeros(len(Cs))
    for train, val in splits:
        model = LogisticRegression(max_iter=max_iter, warm_start=True)
        for k, C in enumerate(Cs):
            model.set_params(C=C).fit(z[train], y[train])
            loss[k] += log_loss(y[val], model.predict_proba(z[val])[:, 1], labels=[0, 1])
    return float(Cs[int(np.argmin(loss))])


def _inner_splits(y: np.ndarray, groups: np.ndarray, k: int, seed: int):
    from sklearn.model_selection import StratifiedGroupKFold

    # patients with a case (a control), not records: 12 ECGs of one patient are one case to split (was a crash)
    k = int(min(k, len(np.unique(groups[y == 1])), len(np.unique(groups[y == 0])), len(np.unique(groups))))
    if k < 2:
        return None
    splits = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y, groups)
    splits = [(tr, va) for tr, va in splits if 0 < y[tr].sum() < len(tr)]   # a fit needs both classes
    return splits or None


def linear_probe_cv(features: np.ndarray, y: np.ndarray, folds: np.ndarray, *, groups: Sequence | None = None,
                    Cs: Sequence[float] = tuple(np.logspace(-4, 2, 7)), inner_folds: int = 3, seed: int = 0,
                    max_iter: int = 2000, test_folds: Sequence | None = None) -> ProbeCV:
    """Logistic-regression probe per label with out-of-fold predictions (see the module docstring).

    Parameters
    ----------
    features
        ``[n, D]`` frozen features (EDFs, MiniRocket features, measured biomarkers; NaN are imputed by
        the training fold's median).
    y
        ``[n, L]`` 0/1 labels (NaN = unknown: left out of fitting, predicted anyway).
    folds
        ``[n]`` outer folds (:func:`patient_folds`).
    groups
        ``[n]`` patient ids for the inner (penalty-choosing) split; default: each record its own.
    Cs
        Inverse L2 penalties tried (the one with the smallest mean log-loss on the inner folds is refitted
        on the whole training part). A
        training fold whose label has fewer than 2 patients with a case (or a control) for the inner split uses
        ``C = 1``; one with a single class, or no known value, predicts NA (the label's AUROC is then NA).
    test_folds
        Only predict these outer folds (the others stay NaN); default all.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(y, dtype=float).reshape(len(x), -1)
    folds = np.asarray(folds)
    groups = np.asarray([str(g) for g in groups]) if groups is not None else np.arange(len(x)).astype(str)
    fold_ids = np.unique(folds)
    pred = np.full(y.shape, np.nan)
    penalty = np.full((len(fold_ids), y.shape[1]), np.nan)
    for i, f in enumerate(fold_ids):
        if test_folds is not None and f not in test_folds:
            continue
        test, train = folds == f, folds != f
        z_train, z_test = _row_space(*_standardise(x[train], x[test]))
        for j in range(y.shape[1]):
            known = np.isfinite(y[train, j])
            yt, zt, gt = y[train, j][known].astype(int), z_train[known], groups[train][known]
            if len(yt) == 0 or yt.min() == yt.max():
                # no case (or no control) to learn from: NA, so the label's pooled AUROC is NA (undefined), never the
                # AUROC of a constant prevalence against the other folds' probabilities
                continue
            splits = _inner_splits(yt, gt, inner_folds, seed)
            C = 1.0 if splits is None else _choose_C(zt, yt, splits, Cs, max_iter)
            model = LogisticRegression(C=C, max_iter=max_iter).fit(zt, yt)
            penalty[i, j] = C
            pred[test, j] = model.predict_proba(z_test)[:, 1]
    pred[~np.isfinite(y)] = np.nan
    return ProbeCV(predictions=pred, penalty=penalty, folds=folds)


def ridge_probe_cv(features: np.ndarray, targets: dict[str, np.ndarray], folds: np.ndarray, *,
                   alphas: Sequence[float] = tuple(np.logspace(-3, 5, 17)),
                   test_folds: Sequence | None = None) -> dict[str, float]:
    """Cross-validated R² of a ridge probe per continuous target, on the same outer folds.

    For each fold, ridge (``RidgeCV``: penalty by efficient leave-one-out on the training folds) is fitted
    on standardised features of the other folds; R² is computed once on the pooled out-of-fold
    predictions of the records whose target is known: ``1 - SS_res / SS_tot`` with ``SS_tot`` around the
    mean of all known targets (so a probe that predicts each training mean scores about 0).

    ``test_folds`` scores only those folds (R² on their pooled predictions, ``SS_tot`` around their own
    mean): with two folds and ``test_folds=[1]``, a probe fitted on fold 0 and tested once on fold 1 (a
    held-out test set rather than cross-validation).

    Returns
    -------
    dict
        ``{target: R²}`` (NaN when fewer than 10 records have the target).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score

    x = np.asarray(features, dtype=np.float64)
    folds = np.asarray(folds)
    out = {}
    for name, target in targets.items():
        t = np.asarray(target, dtype=float)
        known = np.isfinite(t)
        if known.sum() < 10:
            out[name] = float("nan")
            continue
        oof = np.full(len(t), np.nan)
        for f in np.unique(folds[known]):
            if test_folds is not None and f not in test_folds:
                continue
            test, train = known & (folds == f), known & (folds != f)
            z_train, z_test = _standardise(x[train], x[test])
            oof[test] = RidgeCV(alphas=list(alphas)).fit(z_train, t[train]).predict(z_test)
        scored = known & np.isfinite(oof)
        out[name] = float(r2_score(t[scored], oof[scored])) if scored.sum() >= 2 else float("nan")
    return out


def _row_space(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in the row space of ``train`` when there are more features than training rows.

    An L2-penalised linear model's weights lie in the span of its training rows (representer theorem), so
    fitting on ``train @ V`` (``V``: orthonormal basis of that span, from the thin SVD) gives the same
    predictions and penalties as on ``train`` — exactly, for every inner split too — with ``n`` instead of
    ``D`` columns (10,000 MiniRocket features -> a few hundred).
    """
    if train.shape[1] <= train.shape[0]:
        return train, test
    _, sv, vt = np.linalg.svd(train, full_matrices=False)
    vt = vt[sv > sv[0] * 1e-10] if len(sv) else vt
    return train @ vt.T, test @ vt.T


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median-impute NaN and z-score with the training rows' statistics (constant columns -> 0)."""
    med = np.nanmedian(train, axis=0) if np.isnan(train).any() or np.isnan(test).any() else None
    if med is not None:
        med = np.where(np.isfinite(med), med, 0.0)
        train, test = np.where(np.isnan(train), med, train), np.where(np.isnan(test), med, test)
    mu, sd = train.mean(axis=0), train.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    return (train - mu) / sd, (test - mu) / sd


# --------------------------------------------------------------------------- scores
def evaluation_table(y: np.ndarray, prob: np.ndarray, names: Sequence[str], *, groups: Sequence | None = None,
                     descriptions: dict | None = None, n_boot: int = 1000, seed: int = 0,
                     macro: bool = True) -> pd.DataFrame:
    """Per-label AUROC and AUPRC with bootstrap 95% CIs, and a ``macro`` row (their means).

    Parameters
    ----------
    y, prob
        ``[n, L]`` truth (0/1, NaN unknown) and predicted probabilities.
    groups
        ``[n]`` patient ids: the bootstrap resamples patients (all their records); ``None`` resamples records.
    macro
        Append the ``macro`` row: the unweighted mean of the labels' AUROC (AUPRC), its CI from the same
        resamples for all labels (replicates in which a label has one class are dropped). An interval is NA,
        with a warning, when fewer than 40 resamples define it (:func:`edfgen.model.metrics.percentile_ci`;
        the macro: resamples in which every label has both classes).

    Returns
    -------
    pandas.DataFrame
        :data:`EVALUATION_COLUMNS`.
    """
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    prob = np.asarray(prob, dtype=float).reshape(len(prob), -1)
    groups = None if groups is None else np.asarray([str(g) for g in groups])
    if groups is not None and len(np.unique(groups)) == len(groups):
        groups = None          # one record per patient: the record bootstrap (vectorised)
    descriptions = descriptions or {}
    samples = bootstrap_samples(len(y), n_boot=n_boot, seed=seed, groups=groups)
    rows, est, reps = [], {}, {}
    for metric, fn in (("auroc", auroc_rows), ("auprc", auprc_rows)):
        est[metric] = np.array([fn(y[ok, j][None], prob[ok, j][None])[0]
                                for j in range(y.shape[1]) for ok in [np.isfinite(y[:, j])]])
        reps[metric] = bootstrap_replicates(y, prob, samples, metric=fn)
    for j, name in enumerate(names):
        ok = np.isfinite(y[:, j])
        n, npos = int(ok.sum()), int(y[ok, j].sum())
        row = {"label": name, "description": descriptions.get(name, ""), "n": n, "n_positive": npos,
               "prevalence": npos / max(n, 1)}
        for metric in ("auroc", "auprc"):
            ci = percentile_ci(est[metric][j], reps[metric][:, j])
            row.update({metric: ci.estimate, f"{metric}_lower": ci.lower, f"{metric}_upper": ci.upper})
        rows.append(row)
    if macro and len(names):
        known = np.isfinite(y)
        row = {"label": MACRO, "description": f"mean over {len(names)} labels", "n": int(known.any(axis=1).sum()),
               "n_positive": int(np.nansum(y)), "prevalence": float(np.mean([r["prevalence"] for r in rows]))}
        for metric in ("auroc", "auprc"):
            r = reps[metric]
            whole = r.mean(axis=1) if len(r) else r
            ci = percentile_ci(float(np.mean(est[metric])), whole)
            row.update({metric: ci.estimate, f"{metric}_lower": ci.lower, f"{metric}_upper": ci.upper})
        rows.append(row)
    table = pd.DataFrame(rows, columns=EVALUATION_COLUMNS)
    _warn_undefined_intervals(table, n_boot)
    return table


def _warn_undefined_intervals(table: pd.DataFrame, n_boot: int) -> None:
    """Warn once about the rows whose AUROC is finite but whose CI is NA (too few resamples define it)."""
    bad = table.loc[np.isfinite(table["auroc"]) & ~np.isfinite(table["auroc_lower"]), "label"].tolist()
    if bad:
        log.warning("%d row(s) of the evaluation (%s) have an AUROC but fewer than 40 of the %d bootstrap resamples "
                    "define it (hold both classes of the label; for the macro, of every label at once): their 95%% CI "
                    "is NA; more --bootstrap resamples or more records with the rare labels give one", len(bad),
                    some_names(bad), n_boot)


def evaluate(model, signals: np.ndarray, ids: Sequence[str], labels: pd.DataFrame, *, crop: int,
             n_boot: int = 1000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-label AUROC and AUPRC of a fine-tuned model's head, with bootstrap 95% CIs (records resampled).

    Returns
    -------
    (evaluation table (:func:`evaluation_table`, no macro row), predictions ``IID`` +
    one probability column per label)
    """
    from edfgen.model.finetune import align_labels, predict  # imports torch

    if model.classifier is None:
        raise InputError("evaluate: the checkpoint has no disease head (fine-tune it first with edfgen finetune)")
    keep, y, names = align_labels(ids, labels, label_names=model.config.labels)
    p = predict(model, signals[keep], crop)
    preds = pd.DataFrame(p, columns=[f"prob_{n}" for n in names])
    preds.insert(0, "IID", [str(ids[i]) for i in keep])
    return evaluation_table(y, p, names, n_boot=n_boot, seed=seed, macro=False), preds


# --------------------------------------------------------------------------- the whole evaluation
@dataclass(frozen=True)
class EvaluateSettings:
    """Options of :func:`evaluate_ecgs`.

    Attributes
    ----------
    probe
        ``"head"`` (a fine-tuned checkpoint's disease head) or ``"linear"`` (logistic probe on frozen EDFs).
    folds
        Outer folds of the linear probe: ``None`` = the layout's own split (PTB-XL ``strat_fold``) or 5
        patient-grouped folds; an integer forces that many patient-grouped folds.
    min_positives
        Linear probe: labels with fewer cases (or controls) among the loaded records are left out.
    n_boot, seed
        Bootstrap replicates for the CIs; seed of folds and bootstrap.
    ptbxl_resolution
        ``auto``, ``hr`` or ``lr`` files of a PTB-XL folder.
    baselines
        Linear probe: also score these baselines (:data:`edfgen.model.baselines.BASELINES`) on the same
        records and folds; ``()`` none.
    """

    probe: str = "head"
    folds: int | None = None
    min_positives: int = 10
    n_boot: int = 1000
    seed: int = 0
    ptbxl_resolution: str = "auto"
    baselines: tuple[str, ...] = ("random",)

    def __post_init__(self):
        from edfgen.model.baselines import BASELINES

        if self.probe not in ("head", "linear"):
            raise InputError(f"--probe {self.probe!r}: must be head or linear")
        bad = [b for b in self.baselines if b not in BASELINES]
        if bad:
            raise InputError(f"--baseline {bad[0]!r}: must be one of {', '.join(BASELINES)}")
        if self.folds is not None and self.folds < 2:
            raise InputError(f"--folds {self.folds}: must be at least 2")
        if self.folds is not None and self.probe != "linear":
            raise InputError(f"--folds {self.folds}: folds are for --probe linear (the head is scored on all records)")


@dataclass(frozen=True, repr=False)
class EvaluationResult(ReadableRepr):
    """An evaluation: the scores table, per-record predictions, rejects and what was done.

    Attributes
    ----------
    table
        :data:`EVALUATION_COLUMNS`, one row per label and a ``macro`` row.
    predictions
        ``IID, patient_id, fold`` + ``prob_<label>`` (out-of-fold for the linear probe; ``fold`` empty
        with the head).
    rejects
        ``(record, path, reason)`` of ECGs that could not be used.
    summary
        JSON-able facts for the manifest: layout, mode, records, patients, folds, dropped labels, penalties,
        baselines skipped and why.
    baselines
        :data:`BASELINE_EXTRA_COLUMNS` table (``baselines.tsv``), ``None`` when no baseline was scored.
    """

    table: pd.DataFrame
    predictions: pd.DataFrame
    rejects: list
    summary: dict
    baselines: pd.DataFrame | None = None


def score_baselines(loaded, signals: np.ndarray, y: np.ndarray, names: Sequence[str], folds: np.ndarray,
                    patients: Sequence, encoder_prob: np.ndarray, encoder_table: pd.DataFrame,
                    settings: EvaluateSettings, descriptions: dict | None = None) -> tuple[pd.DataFrame | None, dict]:
    """The encoder's table and each baseline's (same probe, folds and bootstrap), with encoder − baseline AUROC.

    Returns ``(baselines table or None, {baseline: reason skipped})``.
    """
    from edfgen.model.baselines import BaselineUnavailable, baseline_features, paired_difference

    s = settings
    enc = encoder_table.copy()
    enc.insert(0, "features", f"EDFs of {loaded.model.config.name}")
    enc.insert(0, "model", "encoder")
    tables, skipped = [enc], {}
    for name in s.baselines:
        try:
            feats, what = baseline_features(name, loaded, signals, seed=s.seed)
        except BaselineUnavailable as exc:
            skipped[name] = str(exc)
            continue
        prob = linear_probe_cv(feats, y, folds, groups=patients, seed=s.seed).predictions
        t = evaluation_table(y, prob, names, groups=patients, descriptions=descriptions, n_boot=s.n_boot, seed=s.seed)
        diff = paired_difference(y, encoder_prob, prob, groups=patients, n_boot=s.n_boot, seed=s.seed)
        keys = [str(j) for j in range(len(names))] + ["macro"]
        for k, col in enumerate(BASELINE_EXTRA_COLUMNS):
            t[col] = [diff[key][k] for key in keys[:len(t)]]
        t.insert(0, "features", what)
        t.insert(0, "model", name)
        tables.append(t)
    if len(tables) == 1:
        return None, skipped
    return pd.concat(tables, ignore_index=True)[["model", "features", *EVALUATION_COLUMNS, *BASELINE_EXTRA_COLUMNS]], skipped


def _head_labels(head: list[str], label_columns: Sequence[str] | None) -> list[str]:
    """The head's labels to score: all, or those chosen with ``--label-columns`` (each one of the head's)."""
    if not label_columns:
        return head
    other = [c for c in label_columns if c not in head]
    if other:
        raise InputError(f"--label-columns {', '.join(other)}: not among the labels of the checkpoint's head "
                         f"({some_names(head, 10)})")
    return list(label_columns)


def _warn_one_class(y: np.ndarray, names: Sequence[str]) -> None:
    """Warn about head labels with one class (or none) among the scored records: their AUROC, and the macro, is NA."""
    known = np.isfinite(y)
    pos = np.where(known, y, 0).sum(0)
    bad = [n for n, p, k in zip(names, pos, known.sum(0)) if p == 0 or p == k]
    if bad:
        log.warning("evaluate: %d label(s) have one class or no known value among the scored records (first: %s): "
                    "their AUROC and the macro AUROC are NA; leave them out with --label-columns", len(bad), bad[0])


def _warn_unscored(y: np.ndarray, prob: np.ndarray, names: Sequence[str], folds: np.ndarray) -> None:
    """Warn about labels with known records the probe could not predict: a fold whose training part holds no known
    value of the label, or one class of it: their AUROC, and the macro AUROC, are NA."""
    known = np.isfinite(y)
    unscored = known & ~np.isfinite(prob)
    bad = [j for j in range(y.shape[1]) if unscored[:, j].any()]
    if bad:
        j = bad[0]
        where = np.unique(folds[unscored[:, j]])
        trained = known[:, j] & (folds != where[0])
        why = ("no known value of the label (all its known values are in that fold)" if not trained.any()
               else "one class of the label (all its cases, or controls, are in that fold)")
        log.warning("evaluate: %d label(s) are NA: the probe of a fold was trained on %s (first: %s, fold(s) %s): "
                    "their AUROC and the macro AUROC are NA; more records, or patients, with that label give one, "
                    "or leave them out with --label-columns", len(bad), why, names[j],
                    ", ".join(str(f) for f in where))


def evaluate_ecgs(checkpoint, ecg: Sequence[str | Path] | str | Path, *, labels: str | Path | None = None,
                  label_columns: Sequence[str] | None = None,
                  settings: EvaluateSettings = EvaluateSettings()) -> EvaluationResult:
    """Score a checkpoint on labelled ECGs (head or linear probe; see the module docstring).

    Parameters
    ----------
    checkpoint
        A checkpoint name/path or a loaded :class:`~edfgen.model.checkpoint.LoadedModel`.
    ecg
        ECG files/folders (or one); without ``labels``, one folder whose layout gives the labels.
    labels
        Outcomes table (``IID`` + 0/1 columns, optional ``patient_id``).

    Raises
    ------
    InputError
        No labels found, ``head`` with a checkpoint without disease head, no label left to score.
    """
    from edfgen.model.checkpoint import LoadedModel, load_checkpoint
    from edfgen.model.data import embed_ecgs, load_ecgs
    from edfgen.model.finetune import align_labels, predict, warn_unmatched

    s = settings
    ecg = file_args(ecg, "--ecg")    # (one path was read per character)
    loaded = checkpoint if isinstance(checkpoint, LoadedModel) else load_checkpoint(checkpoint)
    model, prep = loaded.model, loaded.preprocessing
    if s.probe == "head" and model.classifier is None:
        raise InputError("evaluate: the checkpoint has no disease head (fine-tune it first with edfgen finetune, "
                         "or score its frozen EDFs with --probe linear)")
    ls = read_label_set(list(ecg), labels=labels, label_columns=label_columns, ptbxl_resolution=s.ptbxl_resolution)
    arr = load_ecgs(list(ls.records) if ls.records else list(ecg), prep)
    summary = {"layout": ls.layout, "probe": s.probe, "label_notes": ls.notes, "ecg_records_read": len(arr.ids),
               "ecg_records_rejected": len(arr.rejects)}
    src = str(labels) if labels is not None else str(ecg[0])
    if ls.layout == "table":
        summary.update(warn_unmatched(arr.ids, ls.labels, src, command="evaluate", fate="not scored"))
    if s.probe == "head":
        head = list(model.config.labels)
        keep, y, names = align_labels(arr.ids, ls.labels, label_names=_head_labels(head, label_columns), source=src)
        prob = predict(model, arr.signals[keep], prep.crop_samples)[:, [head.index(n) for n in names]]
        folds = np.full(len(keep), np.nan)
        _warn_one_class(y, names)
    else:
        keep, y, names = align_labels(arr.ids, ls.labels, label_names=ls.names, source=src)
        known = np.isfinite(y)
        pos, neg = np.where(known, y, 0).sum(0), np.where(known, 1 - y, 0).sum(0)
        use = (pos >= s.min_positives) & (neg >= s.min_positives)
        summary["labels_dropped"] = {n: int(p) for n, p, u in zip(names, pos, use) if not u}
        if summary["labels_dropped"] and use.any():
            (first, n_pos), = list(summary["labels_dropped"].items())[:1]
            log.warning("evaluate: %d label(s) left out with fewer than --min-positives %d cases or controls (first: "
                        "%s, %d cases of %d known)", len(summary["labels_dropped"]), s.min_positives, first, n_pos,
                        int(known[:, names.index(first)].sum()))
        if not use.any():
            raise InputError(f"evaluate: no label has >= {s.min_positives} cases and controls among the "
                             f"{len(keep)} labelled ECGs (cases per label: "
                             f"{dict(list(zip(names, pos.astype(int).tolist()))[:10])}); lower --min-positives")
        y, names = y[:, use], [n for n, u in zip(names, use) if u]
        patients = [ls.patients[str(arr.ids[i])] for i in keep]
        predefined = [ls.folds[str(arr.ids[i])] for i in keep] if ls.folds and s.folds is None else None
        folds = patient_folds(patients, k=s.folds, predefined=predefined, seed=s.seed)
        feats = embed_ecgs(model, arr.signals[keep], prep.crop_samples)
        res = linear_probe_cv(feats, y, folds, groups=patients, seed=s.seed)
        prob = res.predictions
        _warn_unscored(y, prob, names, folds)
        summary.update({"folds": "strat_fold" if predefined is not None else f"GroupKFold({s.folds or 5}) on patients",
                        "n_folds": int(len(np.unique(folds))),
                        "C_median": dict(zip(names, np.nanmedian(res.penalty, axis=0).tolist()))})
    ids = [str(arr.ids[i]) for i in keep]
    patients = [ls.patients.get(i, i) for i in ids]
    records_are_patients = len(ids) > 1 and all(str(p) == i for p, i in zip(patients, ids))
    if records_are_patients:  # '# Dx:' headers, or a --labels table without patient_id
        source = ("WFDB '# Dx:' headers name no patient" if ls.layout == "dx-header"
                  else f"--labels {labels} has no patient_id column (or it equals IID)")
        log.warning("evaluate: patients unknown (%s): folds and bootstrap CIs treat each of the %d records as its own "
                    "patient, so they are not patient-disjoint where a patient has several records; give --labels "
                    "with a patient_id column", source, len(ids))
    table = evaluation_table(y, prob, names, groups=patients, descriptions=ls.descriptions, n_boot=s.n_boot,
                             seed=s.seed)
    preds = pd.DataFrame(prob, columns=[f"prob_{n}" for n in names])
    preds.insert(0, "fold", pd.array(np.where(np.isfinite(folds), folds, np.nan), dtype="Int64"))
    preds.insert(0, "patient_id", patients)
    preds.insert(0, "IID", ids)
    summary.update({"records_scored": len(ids), "patients": len(set(patients)),
                    "patients_are_records": records_are_patients, "labels": names})
    base = None
    if s.probe == "linear" and s.baselines:
        base, skipped = score_baselines(loaded, arr.signals[keep], y, names, folds, patients, prob, table, s,
                                        descriptions=ls.descriptions)
        summary["baselines_skipped"] = skipped
        if base is not None:
            macro = base[base.label == MACRO].set_index("model")
            summary["baselines"] = {m: {"macro_auroc": float(r.auroc), "ci": [float(r.auroc_lower), float(r.auroc_upper)],
                                        "encoder_minus": [float(r.encoder_minus_auroc), float(r.encoder_minus_auroc_lower),
                                                          float(r.encoder_minus_auroc_upper)]}
                                    for m, r in macro.iterrows()}
    elif s.baselines:
        summary["baselines_skipped"] = {b: "baselines are scored with --probe linear" for b in s.baselines}
    return EvaluationResult(table=table, predictions=preds, rejects=list(arr.rejects), summary=summary, baselines=base)
