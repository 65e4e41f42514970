"""The record notes of ``edfgen extract``: the ``<out>.notes.tsv`` table and the log's summary of it.

What this module knows: which kinds of note (:func:`edfgen.kernels.ecg.record.note_kind`) a user must check and
which only inform. A note says how an accepted record was changed or what looks wrong with it; every note of every
record in the EDF table is a row of ``<out>.notes.tsv`` (``record, path, note``), so that records can be filtered
or a note used as a covariate, and each kind is counted once in the log and in the manifest.

* **Warnings** (counted in the closing "warning(s) to check", naming a few records): leads set to zeros (a flat or
  absent lead shifts the record's EDFs: zeroing V2, V4, V6 of a PTB-XL record moves them by RMS z 0.26), missing
  samples cut, QRS peaks clipped, lead I inverted, chest leads that do not correlate (noise), pacing, chest leads
  out of order, unnamed leads in a doubtful order, units assumed.
* **Information** (``-v``): a held (flat) stretch at the start or end trimmed (most PTB-XL records end in ~0.1 s
  of held samples: the device stopped, no ECG was lost, the window is the same), channels beside the 12 leads
  dropped, zero-padding of a record 8-10 s long, a centre crop of a longer one.
"""

from __future__ import annotations

import logging
from typing import Sequence

from edfgen.kernels.ecg.record import (NOTE_ASSUMED_MV, NOTE_CHEST_ORDER, NOTE_CLIPPED, NOTE_CROPPED, NOTE_DROPPED, NOTE_FLAT_EDGE,
                                      NOTE_LEAD_I_INVERTED, NOTE_LEAD_ORDER, NOTE_MISSING, NOTE_NOISE, NOTE_PACED, NOTE_PADDED,
                                      NOTE_ZEROED,
                                      note_kind)

log = logging.getLogger(__name__)

#: columns of ``<out>.notes.tsv``
NOTE_COLUMNS = ["record", "path", "note"]

#: how many records a warning names
_NAMED = 3

#: note kind -> (manifest count, log level, what the records had: "{n} record(s) ..." )
_KINDS = {
    NOTE_ZEROED: ("n_zeroed_leads", logging.WARNING, "flat or entirely missing lead(s) set to zeros (at most "
                  "{max_flat} per record), which shifts their EDFs"),
    NOTE_MISSING: ("n_cut_missing_samples", logging.WARNING, "missing (NaN/inf) samples, cut to their longest "
                   "stretch without any"),
    NOTE_CLIPPED: ("n_clipped", logging.WARNING, "QRS peaks clipped (held at one value at the lead's extreme on "
                   "several beats: a saturated amplifier?), kept"),
    NOTE_LEAD_I_INVERTED: ("n_lead_i_inverted", logging.WARNING, "lead I inverted (P and QRS negative, T too or V6 "
                           "upright: left/right arm electrodes swapped, or dextrocardia?), kept"),
    NOTE_NOISE: ("n_noise", logging.WARNING, "chest leads that do not correlate as an ECG's do (noise, no ECG?), "
                 "kept"),
    NOTE_PACED: ("n_paced", logging.WARNING, "pacemaker stimulus spikes before their QRS complexes (paced ECGs, "
                 "whose EDFs differ: leave them out of a GWAS?), kept"),
    NOTE_CHEST_ORDER: ("n_precordial_order", logging.WARNING, "chest leads more alike with two of them swapped (V1-V6 "
                       "in a wrong order?), kept"),
    NOTE_LEAD_ORDER: ("n_unnamed_lead_order", logging.WARNING, "unnamed leads that break Einthoven's law "
                      "(I + III = II) grossly: a lead order other than I, II, III, aVR, aVL, aVF, V1-V6?"),
    NOTE_ASSUMED_MV: ("n_units_assumed", logging.WARNING, "no 'units' (.npz): read as mV (a record far too large "
                      "for mV is rejected; store units='uV' or 'mV' to be sure)"),
    NOTE_FLAT_EDGE: ("n_trimmed_flat_edges", logging.INFO, "a held (flat) stretch at their start or end (a device "
                     "artefact, no ECG lost), trimmed"),
    NOTE_DROPPED: ("n_dropped_channels", logging.INFO, "channels beside the 12 leads (right-sided, Frank, non-ECG), "
                   "dropped"),
    NOTE_PADDED: ("n_zero_padded", logging.INFO, "fewer seconds than the {window:g} s window (held edges trimmed "
                  "included), zero-padded at the end by up to {pad:.3f} s"),
    NOTE_CROPPED: ("n_centre_cropped", logging.INFO, "more seconds than the {window:g} s window, centre-cropped"),
}


def ordered_notes(notes: Sequence[tuple[str, str, str]], order: Sequence[str]) -> list[tuple[str, str, str]]:
    """The notes of the records in ``order`` (the EDF table's records), in that order (a record's own notes in
    the order they were made)."""
    rank = {rid: i for i, rid in enumerate(order)}
    return sorted((n for n in notes if n[0] in rank), key=lambda n: rank[n[0]])


def report_notes(notes: Sequence[tuple[str, str, str]], *, notes_name: str, window_s: float,
                 max_flat_leads: int) -> dict[str, int]:
    """Log each kind of note once (a warning names up to 3 records) and list every record's notes with ``-vv``.

    Parameters
    ----------
    notes
        ``(record, path, note)`` of the records in the EDF table (:func:`ordered_notes`).
    notes_name
        The notes file's name, pointed to by the messages.
    window_s, max_flat_leads
        The window length and the most zeroed leads per record (said in the messages).

    Returns
    -------
    dict
        Manifest key -> records with that kind of note (0 for kinds without any).
    """
    by_kind: dict[str, dict[str, list[str]]] = {}
    longest_pad = 0.0
    for rid, path, note in notes:
        kind = note_kind(note)
        by_kind.setdefault(kind, {}).setdefault(rid, []).append(note)
        if kind == NOTE_PADDED:  # "zero-padded 0.100 s at the end ..."
            longest_pad = max(longest_pad, float(note.split(" ", 2)[1]))
    for rid, found in _per_record(notes).items():
        log.debug("%s: %s", rid, "; ".join(found))
    counts = {}
    for kind, (key, level, what) in _KINDS.items():
        records = by_kind.get(kind, {})
        counts[key] = len(records)
        if not records:
            continue
        text = what.format(max_flat=max_flat_leads, window=window_s, pad=longest_pad)
        named = ""
        if level >= logging.WARNING:
            named = ": " + ", ".join(list(records)[:_NAMED]) + (", ..." if len(records) > _NAMED else "")
        log.log(level, "extract: %d record(s) had %s%s (each note in %s)", len(records), text, named, notes_name)
    return counts


def _per_record(notes: Sequence[tuple[str, str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rid, path, note in notes:
        out.setdefault(f"{rid} ({path})", []).append(note)
    return out
