"""WFDB records (``NAME.hea`` with ``.dat``/``.mat`` signal files), read in millivolts.

See :func:`read_wfdb`; the formats' overview is in :mod:`edfgen.formats.ecg.records`.

References
----------
Moody GB, "WFDB Applications Guide" and the WFDB header format, ``header(5)``, PhysioNet.
Reyna MA et al., "Will Two Do? ... The PhysioNet/Computing in Cardiology Challenge 2021", CinC 2021
(doi:10.23919/CinC53138.2021.9662687): the ``.mat`` signal files and the CinC 2020 record line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from edfgen.formats.ecg.common import (MAX_RECORD_VALUES, TOO_LARGE, _as_fs, _one_line, _real, _root_of, channel_scales,
                                       confine)
from edfgen.formats.ecg.units import Z_NOTE, Z_UNITS
from edfgen.formats.ecg.wfdb_files import check_proof, check_signal_file
from edfgen.formats.ecg.wfdb_header import (FMT_RE, GAIN_RE, OTHER_BREAK, WFDB_BITS, WFDB_FORMATS, header_fs, header_lines,
                                            header_text, header_units, samples_per_frame, text_lines)
from edfgen.kernels.ecg.leads import canonical_lead_name
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected


def read_wfdb(path: str | os.PathLike, *, root: str | os.PathLike | None = None, z_scale=None) -> EcgRecord:
    """Read a WFDB record (``NAME.hea`` + ``.dat``/``.mat``) in mV.

    Single-segment records stored in WFDB format 16 (the usual 12-lead ``.dat`` and the CinC
    2021 ``.mat`` files) are read by a fast header parser and ``numpy.fromfile``; any other format
    or header feature goes through ``wfdb.rdrecord``. Missing samples (WFDB's invalid value) become NaN.
    A channel that is not one of the 12 leads and is not in volts (ABP in mmHg, Pleth in NU, RESP in Ohm) is
    left out with a note; a lead in such units rejects the record (see :func:`~edfgen.formats.ecg.common.channel_scales`).
    The CinC 2020 record line, whose record name carries the signal file's extension
    (``E07520.mat 12 500 5000``, the Georgia records of the CinC 2021 training data), is accepted by both
    paths (``wfdb.rdrecord`` refuses it).

    A multi-segment record (``NAME/n``; MIMIC waveform style, fixed or variable layout) is read segment by
    segment, each in mV with its own gains, baselines and units (:func:`_read_wfdb_segments`).

    Every file the header names (signal files, segment headers) must resolve, symlinks included, inside ``root``
    (default: the header's own folder); a signal file shorter than the header says is rejected as truncated before
    anything is read, and a ``.mat`` one that is not the MATLAB v4 matrix the header reads (a MATLAB v5 file).

    Parameters
    ----------
    path
        The ``.hea`` file or the record path without extension.
    root
        The folder the record's files must lie in (``--ecg``).
    z_scale
        ``{lead: mV per z}``: read signals in units ``z`` (per-lead z-scores) by multiplying each lead by this
        (:data:`edfgen.formats.ecg.units.Z_LEAD_SD_MV`; the record gets the note
        :data:`~edfgen.formats.ecg.units.Z_NOTE`). Default ``None``: such records are rejected, since they hold
        no amplitude in mV (see :mod:`edfgen.formats.ecg.units`).
    """
    path = Path(path)
    hea = path if path.suffix.lower() == ".hea" else Path(f"{path}.hea")  # R.HEA (FAT, CD-ROM copies) too
    base = hea.with_suffix("")
    root_p = _root_of(hea, root)
    confine(hea, root_p, what="WFDB header", record_id=base.name, source=hea)
    rec = _read_wfdb_fast(hea, root=root_p, z_scale=z_scale)
    if rec is not None:
        return rec
    lines = header_lines(hea, base.name)
    if lines and "/" in lines[0].split()[0]:
        return _read_wfdb_segments(hea, lines, root=root_p, z_scale=z_scale)
    return _read_wfdb_full(hea, root=root_p, z_scale=z_scale)


def _z_notes(units) -> tuple[str, ...]:
    return (Z_NOTE,) if any(str(u).strip().lower() in Z_UNITS for u in units) else ()


#: the number a WFDB gain field starts with (what ``wfdb`` reads of it; without one it takes its default 200)
_LEADING_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)")


def _description(tok: list[str]) -> str:
    """The description (the lead's name) of a split signal line, as ``wfdb`` reads it: the fields after the checksum
    (the 7th), less the block size when the 8th is a number (``R.dat 16 200/mV 16 0 0 0 I``, the block size left
    out, names lead I)."""
    return " ".join(tok[8:] if len(tok) > 7 and tok[7].isdigit() else tok[7:])


def _check_calibrated(tok: list[str], line: int, *, rid: str, hea: Path, name: str | None = None) -> bool:
    """Whether the signal line ``tok`` has an ADC gain of 0 (WFDB's mark of an uncalibrated signal, which ``wfdb``
    reads with the default 200 units/mV: an amplitude in mV that is a guess; an absent gain field is WFDB's
    documented default). On a lead (:func:`~edfgen.kernels.ecg.leads.canonical_lead_name`) it rejects the record;
    any other channel (RESP, a marker) is to be left out, with a note (:func:`~edfgen.formats.ecg.common.channel_scales`). A negative gain on a lead
    (``wfdb``'s own field check: "adc_gain values must be positive"; read, it inverted the lead) rejects the
    record too, and so does a lead's gain field that starts with no number (``nan/mV``: ``wfdb`` reads it as its
    default 200 units/mV). ``name``: the signal's name as ``wfdb`` parsed it (default: :func:`_description`)."""
    gm = GAIN_RE.match(tok[2]) if len(tok) > 2 else None
    name = _description(tok) if name is None else str(name).strip()
    if len(tok) > 2 and not _LEADING_NUMBER.match(tok[2]) and canonical_lead_name(name) is not None:
        # 'nan/mV', 'abc': wfdb.rdrecord reads such a field as its default 200 units/mV, silently (a guess)
        raise RecordRejected(f"unreadable ADC gain {tok[2]!r} on signal line {line} ({name}) of the WFDB header: "
                             "its amplitude in mV is unknown", record_id=rid, path=hea)
    try:
        gain = float(gm.group(1)) if gm is not None else None
    except ValueError:
        return False  # unparsable: the reader that parses it says so
    if gain is not None and gain <= 0 and canonical_lead_name(name) is not None:
        raise RecordRejected(f"ADC gain {gain:g} on signal line {line} ({name}) of the WFDB header: " + (
            "an uncalibrated signal, its amplitude in mV is unknown" if gain == 0 else
            "negative (WFDB gains must be positive; the lead would be read inverted)"), record_id=rid, path=hea)
    return gain == 0


def _check_signal_files(hea: Path, lines: list[str], root: Path, rid: str, proof: list[str] | None = None) -> list[str]:
    """Confine and size-check the signal files of a single-segment header; return their names.

    A file shorter than ``byte offset + samples x bits`` of its signals is rejected as truncated,
    and a record of more than :data:`MAX_RECORD_VALUES` values as too large, before ``wfdb`` allocates;
    ``proof``: see :func:`~edfgen.formats.ecg.wfdb_files.check_signal_file`.
    """
    head = lines[0].split()
    try:
        nsamp = int(head[3]) if len(head) > 3 else None
    except ValueError:
        nsamp = None
    if nsamp == 0:
        raise RecordRejected("WFDB header gives 0 samples per signal (an empty record)", record_id=rid, path=hea)
    nsig = int(head[1]) if len(head) > 1 and head[1].isdigit() else None
    if nsig is not None and nsig != len(lines) - 1:
        raise RecordRejected(f"WFDB header declares {nsig} signals on its record line but has {len(lines) - 1} "
                             "signal lines", record_id=rid, path=hea)
    need: dict[str, float | None] = {}
    offset: dict[str, int] = {}
    names: list[str] = []
    for i, ln in enumerate(lines[1:]):
        tok = ln.split()
        if nsig is not None:  # nsig None: a malformed record line, which wfdb names
            _check_calibrated(tok, i + 1, rid=rid, hea=hea)
        fm = FMT_RE.match(tok[1]) if len(tok) > 1 else None
        if nsig is not None and fm is not None and fm.group(1) not in WFDB_FORMATS:
            raise RecordRejected(f"unsupported WFDB format {fm.group(1)!r} on signal line {i + 1} (WFDB formats: "
                                 f"{', '.join(WFDB_FORMATS)})", record_id=rid, path=hea)
        if tok[0] not in names:
            names.append(tok[0])
        if fm is None or fm.group(1) not in WFDB_BITS:
            need[tok[0]] = None  # size unknown (FLAC or unparsed): wfdb checks it
            continue
        if tok[0] in need and need[tok[0]] is None:
            continue
        need[tok[0]] = need.get(tok[0], 0.0) + int(fm.group(2) or 1) * WFDB_BITS[fm.group(1)]
        offset[tok[0]] = int(fm.group(4) or 0)
    if nsamp is not None and nsamp * max(1, len(lines) - 1) > MAX_RECORD_VALUES:
        raise RecordRejected(f"WFDB header claims {nsamp} samples x {len(lines) - 1} signals: "
                             f"{TOO_LARGE}", record_id=rid, path=hea)
    for name in names:
        bits = need.get(name)
        want = offset.get(name, 0) + int(np.ceil(nsamp * bits / 8)) if nsamp is not None and bits else 0
        check_signal_file(hea, name, root, rid, want, nsamp, lines[1:], bits / 8 if nsamp and bits else 0.0, proof)
    return names


def _read_wfdb_fast(hea: Path, *, root: Path | None = None, z_scale=None) -> EcgRecord | None:
    """Format-16 single-segment fast path; ``None`` when the record needs ``wfdb.rdrecord``."""
    rid = hea.with_suffix("").name
    root = _root_of(hea, root)
    lines = header_lines(hea, rid)
    if not lines:
        return None
    head = lines[0].split()
    fs = header_fs(head, record_id=rid, path=hea)  # for both paths: wfdb.rdrecord reads 'abc' as 250 Hz
    if len(head) < 4 or "/" in head[0]:
        return None
    try:
        nsig, nsamp = int(head[1]), int(head[3])
    except ValueError:
        return None
    sig_lines = lines[1:1 + nsig]
    if nsig < 1 or len(lines) - 1 != nsig or nsamp <= 0 or fs <= 0:  # wfdb's path names the contradiction
        return None
    files, offsets, gains, baselines, units, names, uncal = set(), set(), [], [], [], [], []
    for i, ln in enumerate(sig_lines):
        tok = ln.split()
        if len(tok) < 9:
            return None
        uncal.append(_check_calibrated(tok, i + 1, rid=rid, hea=hea))
        fm = FMT_RE.match(tok[1])
        gm = GAIN_RE.match(tok[2])
        if not fm or not gm or fm.group(1) != "16" or fm.group(2) not in (None, "1") or fm.group(3) not in (None, "0"):
            return None
        try:
            gain = float(gm.group(1))
            baseline = float(gm.group(2)) if gm.group(2) is not None else float(tok[4])
        except ValueError:
            raise RecordRejected(f"unreadable gain {tok[2]!r} or ADC zero {tok[4]!r} on signal line {i + 1} "
                                 f"of the WFDB header", record_id=rid, path=hea) from None
        if not np.isfinite(gain) or not np.isfinite(baseline):
            return None
        files.add(tok[0])
        offsets.add(int(fm.group(4) or 0))
        gains.append(gain)
        baselines.append(baseline)
        units.append(gm.group(3) or "mV")
        names.append(_description(tok))
    if len(files) != 1 or len(offsets) != 1:
        return None
    if nsamp * nsig > MAX_RECORD_VALUES:
        raise RecordRejected(f"WFDB header claims {nsamp} samples x {nsig} signals: "
                             f"{TOO_LARGE}", record_id=rid, path=hea)
    name, offset = files.pop(), offsets.pop()
    data_file = check_signal_file(hea, name, root, rid, offset + 2 * nsamp * nsig, nsamp, sig_lines, 2.0 * nsig,
                                  proof=[])   # a longer file with checksums: _check_checksums below proves it
    try:
        d = np.fromfile(data_file, dtype="<i2", count=nsamp * nsig, offset=offset)
    except (OSError, ValueError) as exc:
        raise RecordRejected(f"unreadable WFDB signal file {name} ({exc})", record_id=rid, path=hea) from None
    if d.size != nsamp * nsig:
        raise RecordRejected(f"WFDB signal file {name} has {d.size // nsig} of {nsamp} samples",
                             record_id=rid, path=hea)
    _check_checksums(d.reshape(nsamp, nsig), [ln.split()[6] for ln in sig_lines], names, name, rid=rid, hea=hea)
    keep, factor, dropped = channel_scales(names, units, rid=rid, path=hea, z_scale=z_scale, uncalibrated=uncal)
    d = d.reshape(nsamp, nsig).T
    if len(keep) < nsig:
        d = d[keep]
    scale = factor.astype(np.float32) / np.asarray(gains, dtype=np.float32)[keep]
    if not np.isfinite(scale).all():
        raise RecordRejected("WFDB gain/units give a non-finite scale (gain too small?)", record_id=rid, path=hea)
    sig, missing = _to_mv(d, np.asarray(baselines, dtype=np.float64)[keep], scale, [-32768] * len(keep),
                          leads=[names[i] for i in keep], rid=rid, hea=hea)
    return EcgRecord(record_id=rid, signal=sig, fs=fs, leads=tuple(names[i] for i in keep), path=str(hea),
                     notes=_z_notes([units[i] for i in keep]) + dropped, missing_note=missing)


#: a sample further than this many ADC counts from its ADC zero (baseline) is not held to one count by the float32
#: signal (float32 holds integers exactly up to 2**24) ...
MAX_COUNTS_FROM_ZERO = 2 ** 24
#: ... which matters only where float32 cannot keep the amplitude to 1 uV either (beyond 2**24 uV, 16.8 V): such a
#: sample rejects the record (a baseline of 10**9 under 16-bit samples, -10**6 mV); a finer count is rounded as any
#: float32 value is (``wfdb.wrsamp(p_signal, fmt='32')`` spreads the signal over the 32-bit range: 2e-10 mV a count)
MAX_MV_FROM_ZERO = 2 ** 24 / 1000


def _check_checksums(d: np.ndarray, fields: list[str], names: list[str], file: str, *, rid: str, hea: Path) -> None:
    """Compare each signal's samples ``d [T, S]`` with the checksum field of its header line (the sum of its samples
    modulo 2**16, stored signed or unsigned). A mismatch means the signal file is not the one the header describes (a
    corrupted or changed file; 200 samples overwritten passed unseen): the record is rejected. Headers whose
    checksums are all 0 (written by tools that leave the field unset) are not checked. The 3,419 format-16 records of
    ``shared/data/ecg`` (CinC 2021, PTB-XL, LUDB) all match."""
    try:
        want = [int(f) % 65536 for f in fields]
    except ValueError:
        return   # not a number: the field is optional in practice, nothing to check
    if not any(want):
        return
    got = (d.sum(axis=0, dtype=np.int64) % 65536).tolist()
    bad = next((k for k in range(len(want)) if want[k] != got[k]), None)
    if bad is not None:
        raise RecordRejected(f"WFDB signal file {file} fails the header's checksum on signal line {bad + 1} "
                             f"({names[bad].strip()}): header {fields[bad]}, samples {got[bad]} (mod 65536): a "
                             "corrupted or changed signal file", record_id=rid, path=hea)


def _to_mv(d: np.ndarray, baseline: np.ndarray, scale: np.ndarray, invalid: list, *, leads, rid: str,
           hea: Path) -> tuple[np.ndarray, str]:
    """``float32 [L, T]`` in mV: ``(d - baseline) * scale`` per lead, the subtraction in float64; a sample equal to
    its lead's ``invalid`` value (WFDB's missing sample; ``None``: none) is NaN, as ``wfdb.rdrecord(physical=True)``
    reads it; with the signal, the words for :attr:`~edfgen.kernels.ecg.record.EcgRecord.missing_note` (which value
    the file holds in which lead, how many samples: a reject for missing samples then says what the user's file
    holds, not "NaN/inf"; empty when it holds none).

    A float32 subtraction lost up to 64 counts once the baseline (ADC zero) or a 32-bit sample passed 2**24 (a
    baseline of 10**9 left lead II 7 distinct steps of its 268); in float64 it is exact, and below 2**24 (every
    16-bit record with a usual baseline) the result is bit for bit that of the float32 formula.

    Raises
    ------
    RecordRejected
        A valid sample more than :data:`MAX_COUNTS_FROM_ZERO` counts and :data:`MAX_MV_FROM_ZERO` mV from its
        baseline (its amplitude cannot be kept in float32 to one count nor to 1 uV; e.g. a baseline of 10**9 under
        16-bit samples, -10**6 mV).
    """
    sig = np.empty(d.shape, dtype=np.float32)
    held = []
    for k in range(d.shape[0]):   # one lead at a time: a float64 row, not a float64 copy of the record
        counts = d[k].astype(np.float64) - baseline[k]
        bad = d[k] == invalid[k] if invalid[k] is not None else None
        far = (np.abs(counts) > MAX_COUNTS_FROM_ZERO) & (np.abs(counts) * abs(float(scale[k])) > MAX_MV_FROM_ZERO)
        if bad is not None:
            far &= ~bad
        if far.any():
            worst = counts[far][np.argmax(np.abs(counts[far]))]
            raise RecordRejected(f"lead {str(leads[k]).strip()}: a sample {worst:.4g} ADC counts from its ADC zero "
                                 f"{baseline[k]:.10g} ({worst * float(scale[k]):.4g} mV), more than 2**24 counts and "
                                 "2**24 uV: float32 cannot keep its amplitude to one count nor to 1 uV", record_id=rid,
                                 path=hea)
        sig[k] = counts * np.float64(scale[k])
        if bad is not None and bad.any():
            sig[k, bad] = np.nan
            held.append(f"{invalid[k]} in lead {str(leads[k]).strip()}, {int(bad.sum())} samples")
    return sig, f"WFDB's missing-sample value {'; '.join(held)}" if held else ""


def _wfdb_files(hea: Path, root: Path, rid: str, proof: list[str] | None = None) -> tuple[list[str], bool]:
    """Check every file a header refers to (segment headers and their signal files) against ``root``
    (``proof``: see :func:`~edfgen.formats.ecg.wfdb_files.check_signal_file`).

    Returns the signal file names of a single-segment header and whether its record line is the
    CinC 2020 form (record name with an extension, ``E07520.mat 12 500 5000``).
    """
    lines = header_lines(hea, rid)
    if not lines:
        raise RecordRejected("empty WFDB header", record_id=rid, path=hea)
    name = lines[0].split()[0]
    if "/" not in name:
        return _check_signal_files(hea, lines, root, rid, proof), bool(re.fullmatch(r"[-\w]+\.\w+", name))
    for k, ln in enumerate(lines[1:]):  # multi-segment: "segment_name samples" per line; "~" is a gap
        tok = ln.split()
        seg = tok[0]
        if seg == "~":
            continue
        seg_hea = confine(hea.parent / f"{seg}.hea", root, what="WFDB segment header", record_id=rid, source=hea)
        seg_lines = header_lines(seg_hea, rid)
        if seg_lines and "/" in seg_lines[0].split()[0]:
            raise RecordRejected(f"WFDB segment {seg} is itself multi-segment", record_id=rid, path=hea)
        if seg_lines and not (k == 0 and tok[1:2] and tok[1].isdigit() and int(tok[1]) == 0):  # not a variable
            _check_signal_files(seg_hea, seg_lines, root, rid, proof)  # layout's 0-sample layout segment (no signal file)
    return [], False


def _read_wfdb_segments(hea: Path, lines: list[str], *, root: Path, z_scale=None) -> EcgRecord:
    """A multi-segment record (record line ``NAME/nseg nsig fs nsamp``, then ``segment samples`` per segment),
    read segment by segment and joined along time.

    ``wfdb.rdrecord(physical=False)`` refuses a variable-layout record whose segments store a signal with
    different gains or baselines (MIMIC waveforms: each segment has its own), and reads a fixed-layout one with
    the first segment's gains for every segment (wrong amplitudes). Here every segment goes through
    :func:`read_wfdb` (its own gains, baselines and units, in mV) and its signals are placed by name
    (the k-th signal of a name with the k-th of that name). Contract: a signal that a segment lacks, and a
    ``~`` gap segment, are NaN there (as WFDB reads them), so a lead missing from a segment leaves the record's
    longest complete stretch to be used later (a reject when it is shorter than ``min_duration_s``:
    :func:`edfgen.kernels.ecg.preprocess.keep_finite_stretch`), while a non-ECG channel missing from one is dropped
    with the other extra channels; the record's ``missing_note`` names each of these sources
    (:func:`_segments_missing_note`). A 0-sample segment (the first segment of a variable layout: the layout, no samples) adds nothing.

    Raises
    ------
    RecordRejected
        Named for the record, with the segment: a segment header that is missing or unusable, at another
        sampling rate, or shorter than the record line says; an unreadable segment length.
    """
    rid = hea.with_suffix("").name
    _wfdb_files(hea, root, rid, [])  # every segment header and signal file confined; no nested multi-segment record
    # (a segment file longer than its header, with checksums, is proven or rejected when read_wfdb reads it)
    head = lines[0].split()
    fs = header_fs(head, record_id=rid, path=hea)
    parts: list[tuple[str, int]] = []
    for ln in lines[1:]:
        tok = ln.split()
        if len(tok) < 2 or not tok[1].isdigit():
            raise RecordRejected(f"unreadable WFDB segment line {ln!r} (expected: segment name, samples)",
                                 record_id=rid, path=hea)
        parts.append((tok[0], int(tok[1])))
    total = sum(n for _, n in parts)
    if fs is None or total == 0:
        raise RecordRejected("WFDB multi-segment record has no sampling frequency or no samples", record_id=rid,
                             path=hea)
    if (int(head[1]) if head[1:2] and head[1].isdigit() else 1) * total > MAX_RECORD_VALUES:
        raise RecordRejected(f"WFDB header claims {total} samples x {head[1]} signals: {TOO_LARGE}", record_id=rid, path=hea)
    segs, names, notes, shown, held = [], [], [], {}, []
    spf = None   # samples per frame of the leads (a multi-frequency record's segments are read at fs x spf)
    for seg, n in parts:
        if seg == "~" or n == 0:
            segs.append((None, n))
            continue
        try:
            rec = read_wfdb(hea.parent / f"{seg}.hea", root=root, z_scale=z_scale)
        except RecordRejected as exc:
            raise RecordRejected(f"WFDB segment {seg}: {exc.reason}", record_id=rid, path=hea) from None
        seg_fs = header_fs(header_lines(hea.parent / f"{seg}.hea", rid)[0].split(), record_id=rid, path=hea)
        if seg_fs is None or abs(seg_fs - fs) > 1e-9 * fs:
            raise RecordRejected(f"WFDB segment {seg} is at {seg_fs:g} Hz, the record at {fs:g} Hz", record_id=rid,
                                 path=hea)
        k = round(rec.fs / fs)   # its leads' samples per frame
        if k != (spf or k):
            raise RecordRejected(f"WFDB segment {seg} stores {k} samples per frame, an earlier segment {spf}",
                                 record_id=rid, path=hea)
        spf = k
        if rec.signal.shape[1] < n * k:
            raise RecordRejected(f"WFDB segment {seg} has {rec.signal.shape[1]} samples, the record line says {n}"
                                 + (f" frames of {k}" if k > 1 else ""), record_id=rid, path=hea)
        keys = _occurrences(rec.leads)
        names += [key for key in keys if key not in names]
        for key, raw in zip(keys, rec.leads):
            shown.setdefault(key, raw)   # a signal's name as the first segment holding it spells it
        notes += [note for note in rec.notes if note not in notes]
        held.append((seg, rec.missing_note))
        segs.append((dict(zip(keys, rec.signal[:, :n * k])), n))
    spf = spf or 1
    if len(names) * total * spf > MAX_RECORD_VALUES:
        raise RecordRejected(f"WFDB record of {total * spf} samples x {len(names)} signals: {TOO_LARGE}", record_id=rid,
                             path=hea)
    sig = np.full((len(names), total * spf), np.nan, dtype=np.float32)
    start = 0
    for rows, n in segs:
        for i, key in enumerate(names):
            if rows is not None and key in rows:
                sig[i, start:start + n * spf] = rows[key]
        start += n * spf
    return EcgRecord(record_id=rid, signal=sig, fs=fs * spf, leads=tuple(shown[key] for key in names), path=str(hea),
                     notes=tuple(notes), missing_note=_segments_missing_note(segs, held, names, shown, spf))


def _segments_missing_note(segs, held, names, shown, spf: int) -> str:
    """The :attr:`~edfgen.kernels.ecg.record.EcgRecord.missing_note` of a multi-segment record: every source of its
    NaN samples, in the file's terms, so that a reject naming any lead gives its true cause: the null (``~``)
    segments (no signal at all there), the ECG leads a segment lacks (a non-ECG channel missing from a segment is
    dropped later, not a cause), and the segments' own missing-sample values (-32768 ...).

    ``segs``: ``(rows by lead key or None for a null segment, frames)`` per segment; ``held``: ``(segment name, its
    record's missing_note)`` per segment read; ``names``: the record's lead keys, ``shown`` their names."""
    gaps = [n * spf for rows, n in segs if rows is None and n > 0]
    out = ([f"{'a null segment' if len(gaps) == 1 else f'{len(gaps)} null segments'} (~) of {sum(gaps)} samples"
            f"{'' if len(gaps) == 1 else ' in all'} (no signal recorded there)"] if gaps else [])
    ecg = [key for key in names if canonical_lead_name(key[0]) is not None]
    for (rows, n), (seg, note) in zip([s for s in segs if s[0] is not None], held):
        lacks = [str(shown[key]).strip() for key in ecg if key not in rows]
        if lacks and n > 0:
            out.append(f"no lead {', '.join(lacks)} in segment {seg} ({n * spf} samples)")
        if note:
            out.append(f"{note} (segment {seg})")
    return "; ".join(out)


def _occurrences(names) -> list[tuple[str, int]]:
    """``(name, k)``: the k-th signal of that name in a segment (a segment may hold two of a name); a lead is keyed
    by its canonical name (:func:`~edfgen.kernels.ecg.leads.canonical_lead_name`), so that segments spelling it
    ``aVR`` and ``AVR`` give one lead, not a duplicate."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        key = canonical_lead_name(name) or name
        out.append((key, seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
    return out


def _rdrecord(hea: Path, root: Path, rid: str):
    """``wfdb.rdrecord`` of a confined record, digital; a multi-frequency one with every sample of a frame kept
    (``smooth_frames=False``: the signals are ``e_d_signal``; not for the others, since wfdb 4.3 then fails on
    big-endian format 61, so a multi-frequency record in format 61 is rejected); a CinC 2020 record line, a header
    named ``.HEA`` (``wfdb`` looks for ``.hea`` only), or one holding an ``OTHER_BREAK`` (a space in the copy), is
    read through a copy of the header named ``<record>.hea``, with the extension dropped from a CinC 2020 record name
    (signal files linked beside it). A signal file longer than its header is read only when its samples match the
    header's checksums (:func:`~edfgen.formats.ecg.wfdb_files.check_proof`)."""
    import tempfile

    import wfdb

    base = hea.with_suffix("")
    proof: list[str] = []   # signal files longer than the header, proven by their checksums once read
    files, cinc2020 = _wfdb_files(hea, root, rid, proof)
    lines = header_lines(hea, rid)
    smooth = max(samples_per_frame(lines), default=1) == 1
    if not smooth and any(len(tok) > 1 and tok[1].split("x")[0] == "61" for tok in map(str.split, lines[1:])):
        raise RecordRejected("multi-frequency WFDB records in format 61 (big-endian) are not supported (wfdb 4.3 "
                             "cannot read them): convert the record to format 16", record_id=rid, path=hea)
    text = text_lines(header_text(hea, rid))
    breaks = any(OTHER_BREAK.search(ln) for ln in text)     # wfdb splits its text with str.splitlines
    if not cinc2020 and hea.suffix == ".hea" and not breaks:
        rec = wfdb.rdrecord(str(base), physical=False, return_res=32, smooth_frames=smooth)
    else:
        with tempfile.TemporaryDirectory(prefix="edfgen-wfdb-") as tmp:
            text = [OTHER_BREAK.sub(" ", ln) for ln in text]
            i = next(k for k, ln in enumerate(text) if ln.strip() and not ln.lstrip().startswith("#"))
            tok = text[i].split()
            if cinc2020:
                text[i] = " ".join([tok[0].rsplit(".", 1)[0], *tok[1:]])
            Path(tmp, f"{base.name}.hea").write_text("\n".join(text) + "\n")
            for name in files:
                link = Path(tmp, name)
                link.parent.mkdir(parents=True, exist_ok=True)
                if not link.exists():
                    link.symlink_to(_real(hea.parent / name))
            rec = wfdb.rdrecord(str(Path(tmp, base.name)), physical=False, return_res=32, smooth_frames=smooth)
    check_proof(rec.e_d_signal if rec.e_d_signal is not None else np.asarray(rec.d_signal).T, lines[1:], proof, rid=rid,
                hea=hea)
    return rec


def _read_wfdb_full(hea: Path, *, root: Path | None = None, z_scale=None) -> EcgRecord:
    """Any WFDB record (its header ``hea``, or the record path without it) through ``wfdb.rdrecord``
    (digital samples, converted here).

    A multi-frequency record (``16x2``: several samples of a signal per frame) is read at its leads' own rate,
    ``frame rate x samples per frame``, every sample kept (``wfdb``'s default averaged each frame's samples: a 500 Hz
    ECG stored as 250 frames/s x 2 was read at 250 Hz). Leads stored at different rates reject the record.
    """
    hea = Path(hea) if Path(hea).suffix.lower() == ".hea" else Path(f"{hea}.hea")
    base = hea.with_suffix("")
    rid = base.name
    root = _root_of(hea, root)
    try:
        rec = _rdrecord(hea, root, rid)
    except RecordRejected:
        raise
    except Exception as exc:  # wfdb raises many types for broken files
        raise RecordRejected(f"unreadable WFDB record ({type(exc).__name__}: {_one_line(exc)})", record_id=rid,
                             path=hea) from None
    signals = rec.e_d_signal if rec.e_d_signal is not None else list(np.asarray(rec.d_signal).reshape(-1, rec.n_sig).T)
    if not rec.n_sig or not len(signals):
        raise RecordRejected("WFDB record has no samples", record_id=rid, path=hea)
    lines = header_lines(hea, rid)
    units = header_units(lines)   # (as many as wfdb's signals: _check_signal_files checked the count)
    names = [n if n and str(n).strip() else f"unnamed signal {i + 1}" for i, n in enumerate(rec.sig_name or [])]
    if not any(rec.sig_name or []):
        raise RecordRejected(f"WFDB header names none of its {rec.n_sig} signals (no description field on its signal "
                             "lines): the leads cannot be told apart", record_id=rid, path=hea)
    uncal = [_check_calibrated(ln.split(), i + 1, rid=rid, hea=hea, name=names[i] if i < len(names) else None)
             for i, ln in enumerate(lines[1:])]
    keep, factor, dropped = channel_scales(names, units, rid=rid, path=hea, z_scale=z_scale, uncalibrated=uncal)
    spf, keep, factor, other_rate = _one_rate(rec, names, keep, factor, rid=rid, hea=hea)
    dropped += other_rate
    d = np.stack([np.asarray(signals[i]) for i in keep]) if keep else np.empty((0, 0))
    if d.shape[1] == 0:
        raise RecordRejected("WFDB record has no samples", record_id=rid, path=hea)
    gain = np.asarray(rec.adc_gain, dtype=np.float64)[keep]
    baseline = np.asarray(rec.baseline, dtype=np.float64)[keep]
    if np.any(gain == 0) or not np.isfinite(gain).all() or not np.isfinite(baseline).all():
        raise RecordRejected("WFDB header has a zero or non-finite ADC gain or baseline", record_id=rid,
                             path=hea)
    scale = (factor / gain).astype(np.float32)
    fmts = list(rec.fmt or [])
    invalid = [_wfdb_invalid_value(fmts[i]) if i < len(fmts) else None for i in keep]
    sig, missing = _to_mv(d, baseline, scale, invalid, leads=[names[i] for i in keep], rid=rid, hea=hea)
    fs = _as_fs(rec.fs, record_id=rid, path=hea) * spf
    return EcgRecord(record_id=rid, signal=np.ascontiguousarray(sig), fs=fs,
                     leads=tuple(names[i] for i in keep), path=hea,
                     notes=_z_notes([units[i] for i in keep]) + dropped, missing_note=missing)


def _one_rate(rec, names, keep, factor, *, rid: str, hea: Path) -> tuple[int, list[int], np.ndarray, tuple[str, ...]]:
    """The samples per frame of a record's leads, the kept channels stored at that rate, their factors to mV, and
    the note on the channels dropped for another rate.

    The rate is the 12 leads' (:func:`~edfgen.kernels.ecg.leads.canonical_lead_name`; every kept channel's where
    none is a lead): a non-lead channel at another rate (a pacing-spike channel at 4 samples per frame beside leads
    at 1) is dropped with the note ``dropped channel(s) at another rate: PACE (4 samples per frame, the leads 1)``;
    leads at different rates reject the record.
    """
    per = {i: int(rec.samps_per_frame[i]) for i in keep}
    leads = [i for i in keep if canonical_lead_name(names[i]) is not None] or keep
    spf = sorted({per[i] for i in leads})
    if len(spf) > 1:
        what = "leads" if canonical_lead_name(names[leads[0]]) is not None else "signals"
        raise RecordRejected(f"WFDB {what} stored at different rates ({', '.join(f'{k} x {rec.fs:g} Hz' for k in spf)}"
                             ": samples per frame differ)", record_id=rid, path=hea)
    k = spf[0] if spf else 1
    other = [i for i in keep if per[i] != k]
    note = ((f"dropped channel(s) at another rate: {', '.join(f'{names[i]} ({per[i]} samples per frame)' for i in other)}"
             f", the leads {k}",) if other else ())
    same = [j for j, i in enumerate(keep) if per[i] == k]
    return k, [keep[j] for j in same], np.asarray(factor)[same], note


def _wfdb_invalid_value(fmt: str) -> int | None:
    """WFDB's sentinel for a missing sample in a given storage format (-2**(bits-1))."""
    bits = {"8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12, "310": 10, "311": 10}
    b = bits.get(str(fmt))
    return None if b is None else -(2 ** (b - 1))
