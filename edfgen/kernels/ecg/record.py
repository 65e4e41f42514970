"""The in-memory ECG record and the one exception for a record that cannot be used.

What this module knows: an :class:`EcgRecord` is a plain container (``float32 [L, T]`` signal in
millivolts, sampling rate, lead names, the file it came from, notes); nothing here reads or writes
files. Readers (:mod:`edfgen.formats.ecg.records`, :mod:`edfgen.formats.ecg.xml`) build records;
the kernels (:mod:`edfgen.kernels.ecg.leads`, :mod:`edfgen.kernels.ecg.preprocess`) transform them and
raise :class:`RecordRejected` with a one-line reason, which batch code writes to ``rejects.tsv``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from edfgen.exceptions import InputError

#: First words of the :attr:`EcgRecord.notes` that batch code counts and reports (``edfgen extract``'s log
#: and manifest): a held (flat) stretch at an edge trimmed, channels beside the 12 leads dropped, missing
#: (NaN/inf) samples cut, a record shorter than the window zero-padded, units not given and taken as mV,
#: unnamed leads that break Einthoven's law (a wrong lead order?), flat or entirely missing leads set to zeros, a
#: record longer than the window centre-cropped, QRS peaks clipped at one value, lead I inverted (LA/RA reversal?),
#: chest leads that do not correlate (noise, no ECG?), pacemaker stimuli, chest leads out of order (V1-V6 swapped?).
#: A reader's other notes must not start with these words.
NOTE_FLAT_EDGE, NOTE_DROPPED, NOTE_MISSING = "trimmed", "dropped", "cut"
NOTE_PADDED, NOTE_ASSUMED_MV, NOTE_LEAD_ORDER = "zero-padded", "assumed", "unnamed"
NOTE_ZEROED, NOTE_CROPPED, NOTE_CLIPPED, NOTE_LEAD_I_INVERTED = "zeroed", "centre-cropped", "clipped", "inverted"
NOTE_NOISE, NOTE_PACED, NOTE_CHEST_ORDER = "noise", "paced", "precordial"


def note_kind(note: str) -> str:
    """The first word of a record note (compare with :data:`NOTE_FLAT_EDGE`, :data:`NOTE_DROPPED`,
    :data:`NOTE_MISSING`, :data:`NOTE_PADDED`, :data:`NOTE_ASSUMED_MV`,
    :data:`NOTE_LEAD_ORDER`, :data:`NOTE_ZEROED`, :data:`NOTE_CROPPED`, :data:`NOTE_CLIPPED`,
    :data:`NOTE_LEAD_I_INVERTED`, :data:`NOTE_NOISE`,
    :data:`NOTE_PACED`, :data:`NOTE_CHEST_ORDER`)."""
    return note.split(" ", 1)[0]


class RecordRejected(InputError):
    """A record that cannot be used; ``reason`` says why (it goes to ``rejects.tsv``).

    Attributes
    ----------
    record_id, path, reason
        The record, the file it came from, and a one-line reason.
    """

    def __init__(self, reason: str, *, record_id: str = "", path: str | os.PathLike = ""):
        self.reason = reason
        self.record_id = record_id
        self.path = str(path)
        where = " ".join(w for w in (str(path), f"record {record_id}" if record_id else "") if w)  # (no leading blank)
        super().__init__(f"{where}: {reason}" if where else reason)


@dataclass(frozen=True)
class EcgRecord:
    """One ECG.

    Attributes
    ----------
    record_id
        Record name (``HR06000`` for ``HR06000.hea``); the participant id unless an id map says otherwise.
    signal
        ``float32 [L, T]`` in millivolts.
    fs
        Sampling rate (Hz).
    leads
        Lead names, one per row of ``signal``.
    path
        The file the record was read from.
    notes
        Things done to the record on the way (e.g. ``"derived III from I, II"``).
    missing_note
        What the file stores where its samples are missing, in the reader's words (``"WFDB's missing-sample value
        -32768 in lead V2, 120 samples"``; those samples are NaN in ``signal``), for the reject or note on missing
        samples to say what the user's file holds (a multi-segment WFDB record: its null ``~`` segments,
        the leads a segment lacks, and the segments' missing-sample values); empty when the reader knows none (NaN
        stored as NaN).
    """

    record_id: str
    signal: np.ndarray
    fs: float
    leads: tuple[str, ...]
    path: str = ""
    notes: tuple[str, ...] = field(default=())
    missing_note: str = ""

    @property
    def duration_s(self) -> float:
        return self.signal.shape[1] / self.fs
