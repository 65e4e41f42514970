"""Whether ridge-loco step-1 predictions (``--loco-predictions DIR``) fit a step-2 run.

Step 1 writes its fingerprint into the ``loco/`` folder itself (``DIR/step1_fingerprint.json``, with the
predictions, atomically), so a moved or copied folder is still checked: per phenotype a digest of the
analysed ``(IID, value)`` pairs before the transform (values to float32 precision), the transform (and
``--binary``), the covariate columns and a digest of their values, and a digest of the sample set. Step 2
computes the same fingerprint of its own tables over step 1's samples (:func:`loco_fingerprint`, one function
for both) and refuses, in one line, predictions fitted on other phenotype values, another transform or other
covariates: step 2 would test every variant against offsets of another phenotype. Step 2 may analyse the same
samples or a subset of them.

A folder without the fingerprint (written by an edfgen before it) cannot be verified: one warning, then the
checks of the step-1 ``manifest.json`` beside the folder, when there is one (:func:`manifest_differences`):
another transform or other covariates are refused as above; a ``--pheno``/``--covariates`` file that changed
is warned about (the manifest cannot tell whether the analysed values changed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from edfgen.exceptions import InputError
from edfgen.formats.atomic import atomic_write
from edfgen.formats.loco import FINGERPRINT_FILE, loco_phenotype_files, loco_sample_ids

log = logging.getLogger(__name__)

__all__ = ["FINGERPRINT_FILE", "loco_fingerprint", "write_loco_fingerprint", "read_loco_fingerprint",
           "fingerprint_differences", "manifest_differences", "check_loco_predictions"]

#: its ``format`` key
FINGERPRINT_FORMAT = "edfgen ridge-loco step 1 fingerprint v1"


def _digest(ids: np.ndarray, values: np.ndarray | None = None, names: Sequence[str] = ()) -> str:
    """SHA-256 of ids (in order), names and values rounded to float32 (NaN as one NaN, -0.0 as 0.0): a table
    rewritten by another tool reads back as the same values although pandas' parser may land a double one ulp
    away (a third of 17-digit numbers), which float32 rounding absorbs (but for ~1 value in 3e8)."""
    h = hashlib.sha256("\n".join(names).encode() + b"\0" + "\n".join(ids).encode())
    if values is not None:
        v = np.asarray(values, dtype=np.float64).astype("<f4") + np.float32(0.0)
        h.update(np.where(np.isnan(v), np.float32(np.nan), v).astype("<f4").tobytes())
    return h.hexdigest()


def loco_fingerprint(sample_ids, phenotypes: np.ndarray, names: Sequence[str], covariates: np.ndarray,
                     covariate_names: Sequence[str], *, transform: str, binary: bool) -> dict:
    """The fingerprint of what a ridge-loco step 1 was (or a step 2 is) fitted on.

    Parameters
    ----------
    sample_ids : array [N]
        Step 1's analysed samples (any order: rows are sorted by IID first).
    phenotypes : array [N, P]
        Their phenotype values before the transform (NaN: missing; a sample absent from the table: NaN).
    names : list of str
        The ``P`` phenotypes.
    covariates : array [N, K]
        Their covariate matrix (intercept and indicator columns) as the GWAS fits it.
    covariate_names : list of str
        Its ``K`` columns.
    transform : str
        ``--transform`` (``"none"`` with ``binary``).
    binary : bool
        ``--binary``.

    Returns
    -------
    dict
        JSON-ready: ``format``, ``n_samples``, ``samples`` (digest of the IIDs), ``transform``, ``binary``,
        ``covariates`` (names), ``covariate_values`` (digest of the columns in name order, so that the same
        covariates given in another order match; review s32h F6), ``phenotypes`` (name -> digest).
    """
    ids = np.asarray(sample_ids, dtype=str)
    order = np.argsort(ids, kind="stable")
    ids, Y, C = ids[order], np.asarray(phenotypes, float)[order], np.asarray(covariates, float)[order]
    cnames = [str(c) for c in covariate_names]
    by_name = sorted(range(len(cnames)), key=cnames.__getitem__)   # (another order of the same covariates: same digest)
    return {"format": FINGERPRINT_FORMAT, "n_samples": int(len(ids)), "samples": _digest(ids),
            "transform": transform, "binary": bool(binary), "covariates": cnames,
            "covariate_values": _digest(ids, C.reshape(len(ids), -1)[:, by_name], [cnames[k] for k in by_name]),
            "phenotypes": {str(n): _digest(ids, Y[:, j]) for j, n in enumerate(names)}}


def write_loco_fingerprint(loco_dir, fingerprint: dict) -> Path:
    """Write ``fingerprint`` to ``loco_dir/step1_fingerprint.json`` (atomically); returns its path."""
    path = Path(loco_dir) / FINGERPRINT_FILE
    with atomic_write(path) as fh:
        json.dump(fingerprint, fh, indent=1)
        fh.write("\n")
    return path


def read_loco_fingerprint(loco_dir) -> dict | None:
    """The fingerprint in ``loco_dir``, or ``None`` when the folder has none (an older edfgen's)."""
    path = Path(loco_dir) / FINGERPRINT_FILE
    if not path.is_file():
        return None
    try:
        fp = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable ({exc})") from None
    keys = ("format", "samples", "transform", "binary", "covariates", "covariate_values", "phenotypes")
    if not isinstance(fp, dict) or fp.get("format") != FINGERPRINT_FORMAT or any(k not in fp for k in keys):
        raise InputError(f"{path}: not an edfgen step-1 fingerprint (format {FINGERPRINT_FORMAT!r} with "
                         f"{', '.join(keys[1:])})")
    return fp


def _trait(transform: str, binary: bool) -> str:
    return "--binary" if binary else f"--transform {transform}"


def fingerprint_differences(step1: dict, now: dict, *, pheno=None) -> list[str]:
    """What differs between step 1's fingerprint and this run's over the same samples (``now`` holds this run's
    phenotypes only): one phrase per difference, ``[]`` when the predictions fit."""
    if step1["samples"] != now["samples"]:
        return [f"its {FINGERPRINT_FILE} is of other samples than its predictions (the folder was edited)"]
    out = []
    if (step1["transform"], bool(step1["binary"])) != (now["transform"], now["binary"]):
        out.append(f"step 1 used {_trait(step1['transform'], step1['binary'])}, this run "
                   f"{_trait(now['transform'], now['binary'])}")
    changed = [n for n, d in now["phenotypes"].items() if step1["phenotypes"].get(n) != d]
    if changed:
        out.append(f"phenotype(s) {', '.join(map(repr, changed[:5]))} in --pheno {pheno} have other values for step "
                   f"1's {step1.get('n_samples', '?')} samples than step 1 was fitted on")
    if set(step1["covariates"]) != set(now["covariates"]):   # (in any order: the same model)
        out.append(f"step 1 adjusted for {', '.join(step1['covariates'][1:]) or 'no covariates'}, this run for "
                   f"{', '.join(now['covariates'][1:]) or 'no covariates'}")
    elif step1["covariate_values"] != now["covariate_values"]:
        out.append(f"covariates {', '.join(now['covariates'][1:])} have other values for step 1's samples")
    return out


def manifest_differences(loco_dir, tables: dict[str, str | os.PathLike | None], *, transform: str, binary: bool,
                         covariates: Sequence[str]) -> tuple[list[str], list[str]]:
    """What differs between a step-2 run and the ``edfgen gwas`` run whose ``manifest.json`` is beside
    ``loco_dir`` (a folder without a fingerprint): ``(refused, warned)``, each a list of phrases.

    Refused: another transform or ``--binary``, other covariates (base names: ``centre=B`` is ``centre``; pass the
    columns that vary, as step 1 records them). Warned: a ``tables`` file (``{"--pheno": path, ...}``) of other
    content than the step-1 run read (:func:`edfgen.formats.manifest.input_digest`: a large file's path and stat,
    so a copy differs although its values may not). ``([], [])`` when no step-1 manifest is there.
    """
    from edfgen.formats.manifest import input_digest, is_stream, read_manifest

    step1 = read_manifest(Path(loco_dir).parent, complete=True)
    if step1 is None or step1.get("command") != "edfgen gwas":
        return [], []
    where = Path(loco_dir).parent / "manifest.json"
    recorded = {str(k): v for k, v in (step1.get("inputs") or {}).items()}
    warned = []
    for option, path in tables.items():
        if path is not None and is_stream(path):
            warned.append(f"{option} {path} is a stream (a FIFO or pipe, read once): it cannot be checked against "
                          f"the tables the step-1 run ({where}) read")
        elif path is not None and input_digest(path) not in recorded.values():
            was = (recorded.get(os.path.abspath(path)) or recorded.get(str(Path(path).resolve()))
                   or recorded.get(str(path)))                  # (older manifests: the path as typed)
            warned.append(f"{option} {path} changed since the step-1 run ({where}) read it" if was else
                          f"{option} {path} is none of the tables the step-1 run ({where}) read")
    params = step1.get("parameters") or {}
    refused = []
    was_binary = params.get("model") == "logistic"
    if params.get("transform") is not None and (params["transform"], was_binary) != (transform, binary):
        refused.append(f"step 1 used {_trait(params['transform'], was_binary)}, this run {_trait(transform, binary)}")

    def base(names):
        return {str(c).split("=", 1)[0] for c in names or () if str(c) != "intercept"}

    was, now = base(params.get("covariates")), base(covariates)
    if params.get("covariates") is not None and was != now:
        refused.append(f"step 1 adjusted for {', '.join(sorted(was)) or 'no covariates'}, this run for "
                       f"{', '.join(sorted(now)) or 'no covariates'}")
    return refused, warned


def check_loco_predictions(loco_dir, names: Sequence[str], fingerprint_for: Callable[[np.ndarray], dict], *,
                           transform: str, binary: bool, tables: dict[str, str | os.PathLike | None],
                           covariates: Sequence[str]) -> None:
    """Refuse ``--loco-predictions loco_dir`` for this step-2 run, in one line, when step 1 fitted none of a
    phenotype of ``names`` or fitted other phenotype values, another transform or other covariates.

    ``fingerprint_for(step1_sample_ids)`` is this run's :func:`loco_fingerprint` of ``names`` over step 1's
    samples (``transform``, ``binary``: this run's). Without a fingerprint in the folder: one warning (cannot
    verify), then :func:`manifest_differences` (``tables``, ``covariates``: the step-2 tables and varying
    covariate columns).

    Raises
    ------
    InputError
        Naming the folder and what differs, and saying to rerun step 1.
    """
    d = Path(loco_dir)
    files = loco_phenotype_files(d)
    absent = [n for n in names if n not in files]
    if absent:
        from edfgen.formats.tables import safe_filename

        raise InputError(f"--loco-predictions {d}: step 1 fitted no phenotype {absent[0]!r} (expected "
                         f"{d / (safe_filename(absent[0]) + '.loco.tsv.gz')}, listed in loco_summary.tsv"
                         f"{f'; {len(absent) - 1} more' if len(absent) > 1 else ''}): rerun step 1 with it")
    step1 = read_loco_fingerprint(d)
    if step1 is not None:
        now = fingerprint_for(loco_sample_ids(d))
        refused, warned = fingerprint_differences(step1, now, pheno=tables.get("--pheno")), []
    else:
        log.warning("--loco-predictions %s: cannot verify that step 1 was fitted on these phenotype values, "
                    "transform and covariates (no %s: written by an older edfgen); checking its step-1 manifest "
                    "only, if beside it", d, FINGERPRINT_FILE)
        refused, warned = manifest_differences(d, tables, transform=transform, binary=binary, covariates=covariates)
    for line in warned:
        log.warning("--loco-predictions %s: %s; step 2 needs the phenotypes, covariates and transform step 1 was "
                    "fitted on", d, line)
    if refused:
        raise InputError(f"--loco-predictions {d}: {'; '.join(refused)}: rerun step 1 (--model ridge-loco without "
                         f"--loco-predictions) on this run's phenotypes, covariates and transform")
