"""Labels of ECG records: PTB-XL folders, WFDB ``# Dx:`` headers and outcomes tables.

What this module knows: the files that say which ECG has which diagnosis, read into a
:class:`LabelSet` (no statistics; scoring is :mod:`edfgen.model.evaluation`'s). Three sources
(:func:`read_label_set`):

* **PTB-XL layout** — a folder with ``ptbxl_database.csv`` and ``scp_statements.csv``
  (Wagner et al. 2020): the 5 diagnostic superclasses ``NORM, MI, STTC, CD, HYP``. As in the PTB-XL
  benchmark (Strodthoff et al. 2021, ``ecg_ptbxl_benchmarking``), every SCP statement of a record
  whose ``scp_statements.csv`` row has ``diagnostic == 1`` counts, **whatever its likelihood** (0–100,
  0 = "unknown likelihood"), and is mapped to its ``diagnostic_class``; records with no diagnostic
  superclass are left out. Records are the ``filename_hr`` (500 Hz) files, or ``filename_lr`` (100 Hz)
  when no 500 Hz file is present; ``patient_id`` groups them, ``strat_fold`` (PTB-XL's
  patient-disjoint split) gives the folds.
* **``# Dx:`` headers** — WFDB headers with a comment ``# Dx: <SNOMED CT codes>`` (PhysioNet/CinC
  Challenge 2021, Reyna et al. 2021): one 0/1 label per code; the code is the label, its readable
  name comes from ``edfgen/data/snomed_ct_ecg_diagnoses.tsv`` (the challenge's ``dx_mapping`` tables).
  Each record is its own patient.
* **An outcomes table** (``--labels``): ``IID`` + 0/1 columns; an optional ``patient_id`` column groups
  records (else each IID is a patient).

References
----------
Wagner P, Strodthoff N, Bousseljot R-D et al. PTB-XL, a large publicly available electrocardiography
dataset. Sci Data 2020;7:154. doi:10.1038/s41597-020-0495-6.
Strodthoff N, Wagner P, Schaeffter T, Samek W. Deep learning for ECG analysis: benchmarks and insights
from PTB-XL. IEEE J Biomed Health Inform 2021;25:1519-1528. doi:10.1109/JBHI.2020.3022989.
Reyna MA et al. Will two do? Varying dimensions in electrocardiography: the PhysioNet/Computing in
Cardiology Challenge 2021. Comput Cardiol 2021. doi:10.23919/CinC53138.2021.9662687.
"""

from __future__ import annotations

import ast
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.tables import read_table, some_names

#: PTB-XL's diagnostic superclasses, in the order of the PTB-XL benchmark.
PTBXL_SUPERCLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")
PTBXL_DESCRIPTIONS = {"NORM": "normal ECG", "MI": "myocardial infarction", "STTC": "ST/T change",
                      "CD": "conduction disturbance", "HYP": "hypertrophy"}
SNOMED_TABLE = Path(__file__).resolve().parents[1] / "data" / "snomed_ct_ecg_diagnoses.tsv"
LAYOUTS = ("ptbxl", "dx-header", "table")
_DX = re.compile(r"^#\s*Dx:\s*(.*?)\s*$", re.IGNORECASE)

log = logging.getLogger(__name__)


def read_labels(path: str | Path) -> pd.DataFrame:
    """An outcomes table (``IID`` + 0/1 columns; ``patient_id`` read as text: ``0101`` and ``101`` are two
    patients, and a blank beside numeric ids does not make them ``101.0``)."""
    return read_table(path, required=["IID"], id_column="IID", dtype={"patient_id": str})


@dataclass(frozen=True)
class LabelSet:
    """Labels of ECG records, with their patients and predefined folds.

    Attributes
    ----------
    labels
        ``IID`` + one float 0/1 column per label (NaN = unknown).
    patients
        ``{IID: patient id}``; every IID of ``labels``.
    folds
        ``{IID: fold}`` of a predefined patient-disjoint split (PTB-XL ``strat_fold``), or empty.
    records
        ECG paths to read for these labels (a folder layout), or empty (read the ``--ecg`` paths).
    layout
        ``"ptbxl"``, ``"dx-header"`` or ``"table"``.
    descriptions
        ``{label: readable name}`` where known.
    notes
        ``{what: count}`` of records left out while reading (e.g. no diagnostic superclass).
    """

    labels: pd.DataFrame
    patients: dict
    folds: dict
    records: tuple
    layout: str
    descriptions: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c for c in self.labels.columns if c != "IID"]


def detect_layout(folder: str | Path) -> str:
    """``"ptbxl"`` for a folder with ``ptbxl_database.csv`` + ``scp_statements.csv``, ``"dx-header"`` for
    WFDB headers with ``# Dx:`` lines.

    Raises
    ------
    InputError
        Neither layout (the message says to give ``--labels``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"--ecg {folder}: labels can only be found in a folder (give --labels TSV)")
    if (folder / "ptbxl_database.csv").exists() and (folder / "scp_statements.csv").exists():
        return "ptbxl"
    for hea in sorted(folder.rglob("*.hea")):
        try:
            if _dx_codes(hea) is not None:
                return "dx-header"
        except OSError:
            continue   # a dangling or looping link, an unreadable file: read_dx_headers lists it to be rejected
    raise InputError(f"--ecg {folder}: no labels found (neither ptbxl_database.csv + scp_statements.csv nor "
                     f"'# Dx:' lines in .hea headers); give --labels TSV (IID + 0/1 columns)")


def _dx_codes(hea: Path) -> list[str] | None:
    """The codes of the first ``# Dx:`` line of ``hea``; ``None`` without one. An unreadable header raises
    ``OSError`` (the caller lists it as a record, so that reading it writes the reject)."""
    with open(hea, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = _DX.match(line.strip())
            if m:
                return [c.strip() for c in m.group(1).split(",") if c.strip()]
    return None


def read_ptbxl(folder: str | Path, *, resolution: str = "auto") -> LabelSet:
    """The 5 diagnostic superclasses of the records of a PTB-XL folder (see the module docstring).

    Parameters
    ----------
    folder
        Holds ``ptbxl_database.csv``, ``scp_statements.csv`` and the ``records500``/``records100`` files.
    resolution
        ``"hr"`` (``filename_hr``, 500 Hz), ``"lr"`` (``filename_lr``, 100 Hz) or ``"auto"`` (``hr`` when any
        500 Hz header is present). Rows whose file is absent are left out (counted in ``notes``).

    Returns
    -------
    LabelSet
        IIDs are the WFDB record names (``00001_hr``), as :mod:`edfgen.formats.ecg.records` names records.
    """
    folder = Path(folder)
    db_path, st_path = folder / "ptbxl_database.csv", folder / "scp_statements.csv"
    try:
        db = pd.read_csv(db_path)
        st = pd.read_csv(st_path, index_col=0)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{folder}: unreadable PTB-XL tables ({exc})") from None
    for path, table, cols in ((db_path, db, ("ecg_id", "patient_id", "scp_codes")),
                              (st_path, st, ("diagnostic", "diagnostic_class"))):
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise InputError(f"{path}: missing column(s) {missing}")
    if resolution not in ("auto", "hr", "lr"):
        raise InputError(f"read_ptbxl: resolution {resolution!r} must be auto, hr or lr")
    if resolution == "auto":
        has_hr = "filename_hr" in db.columns and any((folder / f"{f}.hea").exists() for f in db["filename_hr"].dropna())
        resolution = "hr" if has_hr else "lr"
    col = f"filename_{resolution}"
    if col not in db.columns:
        raise InputError(f"{db_path}: missing column {col!r}")
    diag = st[pd.to_numeric(st["diagnostic"], errors="coerce") == 1]["diagnostic_class"].dropna().to_dict()
    rows, notes = [], {"no_diagnostic_superclass": 0, "record_file_missing": 0}
    for rec in db.itertuples(index=False):
        try:
            codes = ast.literal_eval(rec.scp_codes) if isinstance(rec.scp_codes, str) else {}
            if not isinstance(codes, dict):
                raise ValueError("not a dict")
        except (ValueError, SyntaxError) as exc:
            raise InputError(f"{db_path}: ecg_id {rec.ecg_id}: unreadable scp_codes {rec.scp_codes!r} "
                             f"({exc})") from None
        classes = {diag[c] for c in codes if c in diag}
        fname = getattr(rec, col)
        if not classes:
            notes["no_diagnostic_superclass"] += 1
            continue
        if not isinstance(fname, str) or not (folder / f"{fname}.hea").exists():
            notes["record_file_missing"] += 1
            continue
        patient = rec.patient_id if pd.notna(rec.patient_id) else f"ecg{rec.ecg_id}"
        patient = str(int(patient)) if isinstance(patient, float) and float(patient).is_integer() else str(patient)
        fold = getattr(rec, "strat_fold", None)
        rows.append({"IID": Path(fname).name, "patient": patient, "fold": fold, "path": folder / f"{fname}.hea",
                     **{c: float(c in classes) for c in PTBXL_SUPERCLASSES}})
    if not rows:
        raise InputError(f"{db_path}: no record with a diagnostic superclass and a {col} file under {folder}")
    df = pd.DataFrame(rows)
    if df["IID"].duplicated().any():
        raise InputError(f"{db_path}: duplicated record name {df.loc[df['IID'].duplicated(), 'IID'].iloc[0]!r}")
    folds = ({} if "strat_fold" not in db.columns or df["fold"].isna().any()
             else dict(zip(df["IID"], df["fold"].astype(int))))
    return LabelSet(labels=df[["IID", *PTBXL_SUPERCLASSES]], patients=dict(zip(df["IID"], df["patient"])),
                    folds=folds, records=tuple(df["path"]), layout="ptbxl", descriptions=dict(PTBXL_DESCRIPTIONS),
                    notes={**notes, "resolution": resolution})


def snomed_names() -> dict[str, str]:
    """``{SNOMED CT code: "description (abbreviation)"}`` of the shipped ECG diagnosis table."""
    t = pd.read_csv(SNOMED_TABLE, sep="\t", dtype=str)
    return {r.snomed_ct_code: f"{r.description} ({r.abbreviation})" for r in t.itertuples()}


def read_dx_headers(folder: str | Path) -> LabelSet:
    """One 0/1 label per SNOMED CT code of the ``# Dx:`` header lines of the WFDB records in ``folder``.

    Records without a ``# Dx:`` line are left out (counted in ``notes``); each record is its own patient.
    A header that cannot be read (a dangling or looping symbolic link, no permission) has no labels but stays in
    ``records``, so that reading the records writes it to ``rejects.tsv`` with its reason, as ``edfgen extract``
    does (counted in ``notes`` as ``unreadable_header``). Labels are ordered by decreasing count.
    """
    folder = Path(folder)
    ids, paths, codes, notes = [], [], [], {"no_dx_line": 0, "unreadable_header": 0}
    unreadable = []
    for hea in sorted(folder.rglob("*.hea")):
        try:
            dx = _dx_codes(hea)
        except OSError:
            notes["unreadable_header"] += 1
            unreadable.append(hea)
            continue
        if dx is None:
            notes["no_dx_line"] += 1
            continue
        ids.append(hea.stem)
        paths.append(hea)
        codes.append(set(dx))
    if not ids:
        raise InputError(f"{folder}: no WFDB header with a '# Dx:' line")
    if len(set(ids)) != len(ids):
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
        raise InputError(f"{folder}: two headers name record {dup!r}")
    counts = pd.Series([c for cs in codes for c in cs]).value_counts()
    order = sorted(counts.index, key=lambda c: (-counts[c], c))
    labels = pd.DataFrame({c: [float(c in cs) for cs in codes] for c in order})
    labels.insert(0, "IID", ids)
    names = snomed_names()
    return LabelSet(labels=labels, patients={i: i for i in ids}, folds={}, records=(*paths, *unreadable),
                    layout="dx-header",
                    descriptions={c: names[c] for c in order if c in names}, notes=notes)


def read_label_table(path: str | Path, *, label_columns: Sequence[str] | None = None) -> LabelSet:
    """An outcomes table (``IID`` + 0/1 columns, optional ``patient_id``) as a :class:`LabelSet`.

    A row whose ``patient_id`` is blank or NA is its own patient (its IID), with a warning; without the column
    every row is. A PLINK family id column (``FID``, ``#FID``) is not a label.
    """
    t = read_labels(path)
    iids = t["IID"].astype(str)
    patients = dict(zip(iids, iids))
    if "patient_id" in t.columns:   # a row without one is its own patient (was: all of them the one patient 'nan')
        pid = t["patient_id"]
        blank = pid.isna().to_numpy() | (pid.astype(str).str.strip() == "").to_numpy()
        if blank.any():
            log.warning("%s: %d row(s) have no patient_id (first IID %s): each is its own patient in the folds, the "
                        "bootstrap and the fine-tune split", path, int(blank.sum()), iids[blank].iloc[0])
        patients.update(zip(iids[~blank], pid[~blank].astype(str)))
    t = t.drop(columns=[c for c in ("patient_id", "FID", "#FID") if c in t.columns])   # ids, not labels (PLINK's FID)
    if label_columns:
        missing = [c for c in label_columns if c not in t.columns]
        if missing:
            raise InputError(f"{path}: missing label column(s) {missing}")
        t = t[["IID", *label_columns]]
    return LabelSet(labels=t, patients=patients, folds={}, records=(), layout="table")


def read_label_set(ecg: Sequence[str | Path], *, labels: str | Path | None = None,
                   label_columns: Sequence[str] | None = None, ptbxl_resolution: str = "auto") -> LabelSet:
    """Labels for ``ecg``: the ``labels`` table if given, else detected from the (single) folder's layout."""
    if labels is not None:
        return read_label_table(labels, label_columns=label_columns)
    if len(ecg) != 1:
        raise InputError(f"--ecg given {len(ecg)} times: labels are read from one folder; give --labels TSV")
    layout = detect_layout(ecg[0])
    ls = read_ptbxl(ecg[0], resolution=ptbxl_resolution) if layout == "ptbxl" else read_dx_headers(ecg[0])
    if label_columns:
        missing = [c for c in label_columns if c not in ls.names]
        if missing:
            raise InputError(f"--label-columns {', '.join(missing)}: not among the labels of {ecg[0]} "
                             f"({some_names(ls.names, 10)})")
        ls = LabelSet(labels=ls.labels[["IID", *label_columns]], patients=ls.patients, folds=ls.folds,
                      records=ls.records, layout=ls.layout, descriptions=ls.descriptions, notes=ls.notes)
    return ls
