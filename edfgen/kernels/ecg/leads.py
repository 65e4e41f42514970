"""Lead algebra: lead names, the Einthoven/Goldberger identities and the Dower transforms.

What this module knows: how the 12 leads relate to each other and to the heart's dipole, on arrays
(no files). Every place that derives a limb lead (reading a record with missing leads, the
simulator, the delineator's median beat, the QRS axis) uses these functions, so the formulas are
written once:

    III = II - I,   aVR = -(I + II) / 2,   aVL = I - II / 2,   aVF = II - I / 2

and, for a record that lacks I or II, ``I = II - III`` and ``II = I + III``.

:func:`canonicalise_leads` maps a record's lead names (aliases included) to the canonical order
``I, II, III, aVR, aVL, aVF, V1 … V6`` (:data:`edfgen.kernels.ecg.LEADS`), deriving missing limb leads.

References
----------
Goldberger E. A simple, indifferent, electrocardiographic electrode of zero potential.
Am Heart J 1942;23:483-492. doi:10.1016/S0002-8703(42)90293-X
Dower GE, Machado HB, Osborne JA. On deriving the electrocardiogram from vectorcardiographic
leads. Clin Cardiol 1980;3:87-95.
Edenbrandt L, Pahlm O. Vectorcardiogram synthesized from a 12-lead ECG: superiority of the
inverse Dower matrix. J Electrocardiol 1988;21:361-367. doi:10.1016/0022-0736(88)90113-6.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

import numpy as np

from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected

__all__ = ["DOWER_LEADS", "DOWER", "INVERSE_DOWER", "lead_iii", "lead_avr", "lead_avl", "lead_avf",
           "limb_leads", "twelve_from_eight", "canonical_lead_name", "canonicalise_leads"]


# --------------------------------------------------------------------------- the identities
def lead_iii(lead_i: np.ndarray, lead_ii: np.ndarray) -> np.ndarray:
    """``III = II − I`` (Einthoven)."""
    return lead_ii - lead_i


def lead_avr(lead_i: np.ndarray, lead_ii: np.ndarray) -> np.ndarray:
    """``aVR = −(I + II) / 2`` (Goldberger)."""
    return -(lead_i + lead_ii) / 2.0


def lead_avl(lead_i: np.ndarray, lead_ii: np.ndarray) -> np.ndarray:
    """``aVL = I − II / 2`` (Goldberger)."""
    return lead_i - lead_ii / 2.0


def lead_avf(lead_i: np.ndarray, lead_ii: np.ndarray) -> np.ndarray:
    """``aVF = II − I / 2`` (Goldberger)."""
    return lead_ii - lead_i / 2.0


_DERIVED = {"III": lead_iii, "aVR": lead_avr, "aVL": lead_avl, "aVF": lead_avf}
#: the limb leads that follow from I and II, in canonical order


def limb_leads(lead_i: np.ndarray, lead_ii: np.ndarray) -> dict[str, np.ndarray]:
    """``{III, aVR, aVL, aVF}`` from leads I and II (Einthoven's and Goldberger's laws), in that order."""
    return {name: f(lead_i, lead_ii) for name, f in _DERIVED.items()}


#: Lead order of the rows of :data:`DOWER` and the columns of :data:`INVERSE_DOWER`: the 8 independent leads.
DOWER_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")

#: Dower transform, ``[8, 3]``: lead (I, II, V1..V6) = DOWER @ [X, Y, Z] (Dower et al. 1980).
DOWER = np.array([
    [0.632, -0.235, 0.059],    # I
    [0.235, 1.066, -0.132],    # II
    [-0.515, 0.157, -0.917],   # V1
    [0.044, 0.164, -1.387],    # V2
    [0.882, 0.098, -1.277],    # V3
    [1.213, 0.127, -0.601],    # V4
    [1.125, 0.127, -0.086],    # V5
    [0.831, 0.076, 0.230],     # V6
])

#: Inverse Dower matrix, ``[3, 8]``: [X, Y, Z] = INVERSE_DOWER @ (I, II, V1..V6)
#: (Edenbrandt & Pahlm 1988, doi:10.1016/0022-0736(88)90113-6; their table lists the
#: columns in the order V1..V6, I, II, reordered here to :data:`DOWER_LEADS`).
INVERSE_DOWER = np.array([
    [0.156, -0.010, -0.172, -0.074, 0.122, 0.231, 0.239, 0.194],   # X
    [-0.227, 0.887, 0.057, -0.019, -0.106, -0.022, 0.041, 0.048],  # Y
    [0.022, 0.102, -0.229, -0.310, -0.246, -0.063, 0.055, 0.108],  # Z
])


def twelve_from_eight(leads8: np.ndarray) -> np.ndarray:
    """``[12, T]`` in :data:`edfgen.kernels.ecg.LEADS` order from the ``[8, T]`` I, II, V1..V6 leads."""
    return np.stack([leads8[0], leads8[1], *limb_leads(leads8[0], leads8[1]).values(), *leads8[2:]])


# --------------------------------------------------------------------------- lead names
_ALIASES = {
    "i": "I", "ii": "II", "iii": "III", "avr": "aVR", "avl": "aVL", "avf": "aVF",
    "d1": "I", "d2": "II", "d3": "III", "di": "I", "dii": "II", "diii": "III",
    "mli": "I", "mlii": "II", "mliii": "III", "lead1": "I", "lead2": "II", "lead3": "III",
    "leadi": "I", "leadii": "II", "leadiii": "III",
    **{f"v{k}": f"V{k}" for k in range(1, 7)},
    **{f"lead{v}": c for v, c in (("avr", "aVR"), ("avl", "aVL"), ("avf", "aVF"))},
    **{f"leadv{k}": f"V{k}" for k in range(1, 7)},
    **{f"c{k}": f"V{k}" for k in range(1, 7)},  # some European exports name the chest leads C1..C6
}

#: Frank orthogonal leads recorded beside the 12 (PTB Diagnostic ECG Database: ``vx``, ``vy``, ``vz``; other exports
#: name them plain ``X``, ``Y``, ``Z``): dropped with a note of their own, like every channel not among the 12 leads
_FRANK = frozenset({"vx", "vy", "vz", "x", "y", "z"})


#: a minus (hyphen, en dash, minus sign) before the lead name, at the start or after "lead " / "ECG " (DICOM's
#: "Lead -aVR"; a dash right after "ECG" or "lead" is a separator: "ECG-II", "lead-avr"),
#: or a "neg" suffix (HL7 aECG MDC_ECG_LEAD_AVRneg): the negated lead, not the lead itself
_NEGATED = re.compile(r"^\s*(mdc_ecg_lead_|e[ck]g[\s_.]+)?(lead[\s_]+)?[-\u2013\u2212]|neg\s*$", re.I)
#: an ``ecg``/``ekg``/``lead`` prefix with its separators ("ECG-II", "lead-avr", "EKG Lead V1"): the only place a dash
#: may stand; a dash after it joins two names ("I-II", "V1-Ref": a bipolar or referenced channel) or trails one
#: ("aVR-"), and such a name is not the lead
_PREFIX = re.compile(r"^\s*((e[ck]g|lead)(?![a-z])[\s_.\-\u2013\u2212]*)*", re.I)
_DASH = re.compile(r"[-\u2013\u2212]")
#: a space, underscore or dot between two roman numerals ('I_II', 'I II', 'I.II', 'I I'): two limb leads joined, as
#: 'I-II' is (a bipolar channel), whose letters would otherwise read as III (or II): not a lead of the 12
_SPLIT_NUMERAL = re.compile(r"i[\s_.]+i", re.I)
#: an ISO/IEEE 11073 "derived lead" code (``MDC_ECG_LEAD_dII``, ``dV1``, ``daVR``: computed from other electrodes,
#: e.g. EASI), with the lower-case ``d`` of the standard (``MDC_ECG_LEAD_D`` is Nehb's lead D): not the measured lead
_DERIVED_CODE = re.compile(r"^\s*(?i:mdc[\s_]*ecg[\s_]*lead[\s_]*)d(?=[ivaIVA])")
#: a dash inside a lead's own name, between its letter and its number ("D-II", the Einthoven lead in some European
#: exports; "V-1", "C-1"): part of the name, not a joint of two leads
_JOINED = re.compile(r"^\s*[dvc]\s*[-\u2013\u2212]\s*(i{1,3}|[1-6])\s*$", re.I)
#: the lead system a DICOM code meaning names after a lead, kept by files converted from DICOM ("Lead I (Einthoven)",
#: "Lead aVR (Goldberger)", "Lead V1 (Wilson)"): dropped; any other parenthesis ("aVR (inverted)") is not
_SYSTEM = re.compile(r"\s*\(\s*(einthoven|goldberger|wilson)\s*\)\s*$", re.I)


def canonical_lead_name(name: str) -> str | None:
    """Map a lead name or alias to its canonical name, or ``None`` if unknown.

    Case, spaces, dashes, underscores and a ``lead``/``ecg``/``ekg`` prefix are ignored: ``"avr"``, ``"AVR"``,
    ``"aVR"`` -> ``aVR``; ``"MLII"``, ``"D2"``, ``"lead II"`` -> ``II``; ``"V1 "`` -> ``V1``; ``"C3"`` -> ``V3``;
    ``"MDC_ECG_LEAD_AVR"`` (the ISO/IEEE 11073 id HL7 aECG uses) -> ``aVR``. A name with a minus before the lead
    (``"-aVR"``, ``"Lead -aVR"`` as DICOM names it, the inverted aVR of the Cabrera display) or a ``neg`` suffix
    (HL7 aECG ``MDC_ECG_LEAD_AVRneg``) is not that lead: ``None`` (the record's aVR is then derived from I and II);
    nor is a derived-lead code (``MDC_ECG_LEAD_dII``, ``MDC_ECG_LEAD_dV1``: computed from other electrodes, EASI).
    A dash is a separator only after the prefix (``"ECG-II"``, ``"lead-avr"``); anywhere else the name is not a lead
    of the 12: ``"I-II"`` (a bipolar channel, whose letters would otherwise read as III), ``"V1-Ref"``, ``"aVR-"``
    -> ``None``, and so are two limb leads joined by a space, underscore or dot (``"I_II"``, ``"I II"``: not III);
    a dash between a lead's letter and its number is part of its name (``"D-II"`` -> ``II``, ``"V-1"``
    -> ``V1``). The lead system DICOM names in parentheses (``"Lead I (Einthoven)"``, ``"Lead V1 (Wilson)"``) is
    dropped; any other parenthesis (``"aVR (inverted)"``) makes the name no lead.

    The unaugmented names ``VR``, ``VL``, ``VF`` are not aliases: in the SCP-ECG/MDC lead vocabularies (as DICOM
    readers list them) they are leads of their own beside ``aVR``, ``aVL``, ``aVF``, the limb potentials against
    Wilson's central terminal, 2/3 of the augmented leads (Goldberger 1942); reading them as aVR… would be off by
    a factor 1.5. A record that names them lacks aVR… and has them derived from I and II.
    """
    name = _SYSTEM.sub("", str(name))          # 'Lead I (Einthoven)': DICOM's code meaning, kept by converters
    if _NEGATED.search(str(name)) or _DERIVED_CODE.match(str(name)):   # '-aVR', 'MDC_ECG_LEAD_AVRneg', '..._dII'
        return None
    rest = _PREFIX.sub("", str(name), count=1).rstrip()
    if _DASH.search(rest) and not _JOINED.match(rest):   # 'I-II', 'V1-Ref', 'aVR-' (but 'D-II', 'V-1' are names)
        return None
    if _SPLIT_NUMERAL.search(rest):   # 'I_II', 'I II': joined like 'I-II', not lead III
        return None
    return _ALIASES.get(_lead_key(name))


def _lead_key(name: str) -> str:
    """``name`` lower-cased without spaces, dashes, underscores, dots and an ``ecg``/``ekg`` prefix (the alias key;
    ``EKG II``: German and EDF exports) or the ISO/IEEE 11073 ``MDC_ECG_LEAD_`` prefix (``MDC_ECG_LEAD_AVR``: HL7
    aECG's lead codes, kept by files converted from it)."""
    key = re.sub(r"[\s_\-\.]", "", str(name)).lower()
    key = key[len("mdcecglead"):] if key.startswith("mdcecglead") else key
    return key[3:] if key.startswith(("ecg", "ekg")) else key


def canonicalise_leads(record: EcgRecord, *, leads: Sequence[str] = LEADS) -> EcgRecord:
    """Reorder a record's leads to ``leads`` (canonical by default), deriving missing limb leads.

    Aliases are mapped with :func:`canonical_lead_name`. Missing ``III``, ``aVR``, ``aVL``,
    ``aVF`` are derived from I and II (and a missing I or II from the other and III first);
    each derivation is added to ``record.notes``. Known leads not in ``leads`` are dropped.

    Channels that are not one of the 12 leads (right-sided and posterior leads ``V4R``, ``V7`` …, Frank
    leads ``vx``/``X`` …, respiration, pleth, blood pressure, markers) do not reject a record that has
    every lead of ``leads``: they are dropped, and named in ``record.notes`` (``dropped Frank lead(s) vx, vy,
    vz``, ``dropped channel(s) not among the 12 leads: V4R, RESP``). When a lead is missing, the reason
    names the missing lead(s) and those channels, so that a misnamed lead shows.

    A second channel of a lead's name with the very same samples (the rhythm-strip copy of lead II that carts and
    converters add as a 13th channel) is dropped and noted (``dropped channel(s) copying a lead: II (= II)``); one
    with other samples is ambiguous (which is the lead?) and rejects.

    Raises
    ------
    RecordRejected
        A duplicated lead name with different samples, a missing lead that cannot be derived, or a signal that is
        not ``[len(leads), samples]``.
    """
    rid, path = record.record_id, record.path
    shape, n = np.shape(record.signal), len(record.leads)
    if len(shape) != 2 or shape[0] != n:  # a [samples, leads] array from Python was read as 12 leads of 12 samples
        hint = " (it looks like [samples, leads]: pass signal.T)" if len(shape) == 2 and shape[1] == n else ""
        raise RecordRejected(f"signal of shape {shape} does not match its {n} lead name(s): an EcgRecord's signal is "
                             f"[leads, samples]{hint}", record_id=rid, path=path)
    names: list[str] = []
    rows: dict[str, np.ndarray] = {}
    frank: list[str] = []
    other: list[str] = []
    copies: list[str] = []
    for i, raw in enumerate(record.leads):
        canon = canonical_lead_name(raw)
        if canon is None:
            (frank if _lead_key(raw) in _FRANK else other).append(str(raw).strip())
            continue
        if canon in names:
            if np.array_equal(record.signal[i], rows[canon], equal_nan=True):   # a rhythm-strip copy (13th channel 'II'): same lead
                copies.append(f"{str(raw).strip()} (= {canon})")
                continue
            raise RecordRejected(f"duplicated lead {canon} (names {list(record.leads)})", record_id=rid, path=path)
        names.append(canon)
        rows[canon] = record.signal[i]
    notes = list(record.notes) + ([f"dropped Frank lead(s) {', '.join(frank)}"] if frank else [])
    notes += [f"dropped channel(s) not among the 12 leads: {', '.join(other)}"] if other else []
    notes += [f"dropped channel(s) copying a lead: {', '.join(copies)}"] if copies else []
    if "I" not in rows and "II" in rows and "III" in rows:
        rows["I"] = rows["II"] - rows["III"]           # III = II - I
        notes.append("derived I from II, III")
    if "II" not in rows and "I" in rows and "III" in rows:
        rows["II"] = rows["I"] + rows["III"]           # III = II - I
        notes.append("derived II from I, III")
    if "I" in rows and "II" in rows:
        missing = [n for n in _DERIVED if n not in rows and n in leads]
        if missing:
            for name in missing:
                rows[name] = _DERIVED[name](rows["I"], rows["II"])
            notes.append(f"derived {', '.join(missing)} from I, II")
    absent = [n for n in leads if n not in rows]
    if absent:
        extra = [str(raw).strip() for raw in record.leads if canonical_lead_name(raw) is None]
        also = f"; channel(s) not among the 12 leads: {', '.join(map(repr, extra))}" if extra else ""
        raise RecordRejected(f"missing lead(s) {', '.join(absent)} (has {', '.join(names) or 'none'}{also})",
                             record_id=rid, path=path)
    signal = np.stack([rows[n] for n in leads]).astype(np.float32, copy=False)
    return replace(record, signal=signal, leads=tuple(leads), notes=tuple(notes))
