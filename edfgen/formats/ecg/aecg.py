"""HL7 annotated ECG (aECG, root ``<AnnotatedECG>``): the FDA's XML exchange format, read with the standard library.

Layout (HL7 Version 3 Implementation Guide: Annotated ECG, release 1): ``AnnotatedECG/component/series`` is a
rhythm series (representative beats are ``derivedSeries`` under ``series/derivation`` and are not read); when there
are several, the one whose ``code`` is ``RHYTHM`` (else the first). Its ``component/sequenceSet`` holds one
``sequence`` per channel:

* the time sequence, ``code`` ``TIME_ABSOLUTE`` (value ``GLIST_TS``) or ``TIME_RELATIVE`` (``GLIST_PQ``; a value
  of type ``GLIST_*`` is taken as the time sequence whatever its code): sampling interval ``increment``
  (``value``, ``unit`` s or ms) -> sampling rate;
* one sequence per lead, ``code`` ``MDC_ECG_LEAD_<name>`` (``I``, ``II``, ``AVR``, ``V1`` ...), value ``SLIST_PQ``:
  sample ``= origin + scale x digit`` with ``origin``/``scale`` (``value``, ``unit`` uV, mV or V) and
  ``digits`` the whitespace-separated integer digits.

Several sequence sets (e.g. leads stored in groups) are joined when they share the sampling interval, start and
length (simultaneous recordings); sets at different times (a printed layout of 2.5 s strips, not a simultaneous
12-lead record) reject the record. Record id: the file stem. Lead names then go through
:func:`~edfgen.kernels.ecg.leads.canonicalise_leads` as for every format.

References
----------
HL7 Version 3 Standard: Regulated Studies - Annotated ECG, Release 1 (ANSI/HL7 V3 RS ECG, R1-2004).
Brown BD, Badilini F. HL7 aECG implementation guide. FDA, 2005.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from edfgen.formats.ecg.units import mv_per_unit
from edfgen.formats.ecg.common import _local, _parse
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected

_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_DIGITS = re.compile(r"[-+]?[0-9]{1,9}")
_TIME_UNITS = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6}


def _children(elem, name: str) -> list:
    return [c for c in elem if _local(c.tag) == name]


def _child(elem, name: str):
    return next((c for c in elem if _local(c.tag) == name), None)


def _rhythm_series(root, rid, path):
    series = [s for comp in _children(root, "component") for s in _children(comp, "series")]
    if not series:
        raise RecordRejected("HL7 aECG: no <component><series> (no rhythm waveform)", record_id=rid, path=path)
    for s in series:
        code = _child(s, "code")
        if code is not None and str(code.get("code", "")).upper() == "RHYTHM":
            return s
    return series[0]


def _quantity(elem, what: str, rid, path, where: str = "") -> tuple[float, str]:
    """``(value, unit)`` of an element with ``value``/``unit`` attributes (``where``: e.g. `` of lead V1``)."""
    if elem is None:
        raise RecordRejected(f"HL7 aECG: no <{what}>{where}", record_id=rid, path=path)
    text, unit = elem.get("value"), (elem.get("unit") or "").strip()
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise RecordRejected(f"HL7 aECG: <{what} value={text!r}>{where} is not a number", record_id=rid,
                             path=path) from None
    if not np.isfinite(v):
        raise RecordRejected(f"HL7 aECG: <{what} value={text!r}>{where} is not finite", record_id=rid, path=path)
    return v, unit


def _to_mv(unit: str, what: str, lead: str, rid, path) -> float:
    factor = mv_per_unit(unit)
    if factor is None:
        raise RecordRejected(f"HL7 aECG lead {lead}: <{what}> unit {unit!r} (expected uV, mV or V)", record_id=rid,
                             path=path)
    return factor


def _instant(text: str):
    """A time sequence's ``head``: an HL7 TS (``YYYYMMDDHHMMSS.fff[+ZZZZ]``) as a comparable tuple (year ... seconds
    as a number, zone), so ``20021122091000`` and ``20021122091000.000`` are the same start; a relative head
    (``0`` s) or anything else is kept as its stripped text."""
    t = str(text).strip()
    m = re.fullmatch(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2}(?:\.\d+)?)?([+-]\d{4})?", t)
    if m is None or len(t) < 8:
        return (t,)
    *parts, sec, zone = m.groups()
    return tuple(int(p or 0) for p in parts) + (float(sec or 0), zone or "")


def _sequence_set(sset, rid, path) -> tuple[tuple[str, float, int], list[str], list[np.ndarray]]:
    """``((start as written, interval s, n), lead names, rows in mV)`` of one ``sequenceSet``."""
    timing, names, rows = None, [], []
    for comp in _children(sset, "component"):
        seq = _child(comp, "sequence")
        if seq is None:
            continue
        code_el, value = _child(seq, "code"), _child(seq, "value")
        code = str(code_el.get("code", "") if code_el is not None else "").strip()
        if value is None:
            raise RecordRejected(f"HL7 aECG sequence {code or '?'}: no <value>", record_id=rid, path=path)
        vtype = str(value.get(_XSI_TYPE, "")).rsplit(":", 1)[-1].upper()   # 'hl7:GLIST_TS' -> 'GLIST_TS'
        if vtype.startswith("GLIST") or code.upper().startswith("TIME_"):  # the time sequence
            step, unit = _quantity(_child(value, "increment"), "increment", rid, path)
            scale = _TIME_UNITS.get(unit.lower() or "s")
            if scale is None or step <= 0:
                raise RecordRejected(f"HL7 aECG time increment {step} {unit!r} (expected a positive value in s or "
                                     f"ms)", record_id=rid, path=path)
            head = _child(value, "head")
            start = str(head.get("value", "") if head is not None else "").strip()
            timing = [start, step * scale]
            continue
        # 'MDC_ECG_LEAD_II' -> 'II'; a derived-lead code ('MDC_ECG_LEAD_dII') keeps its prefix: not lead II
        lead = re.sub(r"^MDC_ECG_LEAD_(?!(?-i:d)[iva])", "", code, flags=re.I) or "?"
        origin, o_unit = _quantity(_child(value, "origin"), "origin", rid, path, f" of lead {lead}")
        scale_v, s_unit = _quantity(_child(value, "scale"), "scale", rid, path, f" of lead {lead}")
        if scale_v == 0:
            raise RecordRejected(f"HL7 aECG lead {lead}: scale 0 (uncalibrated)", record_id=rid, path=path)
        digits_el = _child(value, "digits")
        tokens = (digits_el.text or "").split() if digits_el is not None else []
        bad = next((t for t in tokens if not _DIGITS.fullmatch(t)), None)
        if bad is not None:
            raise RecordRejected(f"HL7 aECG lead {lead}: digit {bad[:20]!r} is not an integer of at most 9 digits",
                                 record_id=rid, path=path)
        d = np.array(tokens, dtype=np.float64)
        row = origin * _to_mv(o_unit, "origin", lead, rid, path) + d * (scale_v * _to_mv(s_unit, "scale", lead,
                                                                                            rid, path))
        names.append(lead)
        rows.append(row.astype(np.float32))
    if timing is None:
        raise RecordRejected("HL7 aECG sequenceSet without a TIME_ABSOLUTE/TIME_RELATIVE sequence (sampling rate "
                             "unknown)", record_id=rid, path=path)
    if not rows:
        raise RecordRejected("HL7 aECG sequenceSet without lead sequences", record_id=rid, path=path)
    lengths = {len(r) for r in rows}
    if len(lengths) != 1 or 0 in lengths:
        raise RecordRejected(f"HL7 aECG: leads have different or zero lengths "
                             f"({', '.join(f'{n}={len(r)}' for n, r in zip(names, rows))})", record_id=rid, path=path)
    return (timing[0], timing[1], len(rows[0])), names, rows


def read_aecg(path: str | os.PathLike) -> EcgRecord:
    """Read the rhythm series of an HL7 aECG file in mV (see the module docstring).

    Raises
    ------
    RecordRejected
        Malformed XML, no rhythm series or sequence set, no time sequence, a lead without origin/scale/digits,
        unknown units, non-integer digits, leads of different lengths, or sequence sets at different times.
    """
    path = Path(path)
    rid = path.stem
    root = _parse(path, rid)
    if _local(root.tag) != "AnnotatedECG":
        raise RecordRejected(f"root element <{_local(root.tag)}>, expected <AnnotatedECG>", record_id=rid, path=path)
    series = _rhythm_series(root, rid, path)
    sets = [s for comp in _children(series, "component") for s in _children(comp, "sequenceSet")]
    if not sets:
        raise RecordRejected("HL7 aECG: the rhythm series has no <sequenceSet>", record_id=rid, path=path)
    parts = [_sequence_set(s, rid, path) for s in sets]
    timing = {(_instant(t[0]), float(f"{t[1]:.12g}"), t[2]) for t, _, _ in parts}
    if len(timing) != 1:
        what = "; ".join(f"start {t[0] or '?'}, every {t[1] * 1e3:g} ms, {t[2]} samples"
                         for t in dict.fromkeys(t for t, _, _ in parts))
        raise RecordRejected(f"HL7 aECG: {len(parts)} sequence sets at different times or rates ({what}): not one "
                             f"simultaneous recording", record_id=rid, path=path)
    (_, interval, _), = timing
    names = [n for _, ns, _ in parts for n in ns]
    rows = [r for _, _, rs in parts for r in rs]
    return EcgRecord(record_id=rid, signal=np.stack(rows), fs=round(1.0 / interval, 6), leads=tuple(names), path=str(path))
