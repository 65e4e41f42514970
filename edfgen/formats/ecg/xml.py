"""12-lead ECGs from vendor XML exports, recognised by their content (root element), not by extension.

Every reader returns an :class:`edfgen.kernels.ecg.record.EcgRecord` (``float32 [L, T]`` in mV, the file's own
lead order); :func:`edfgen.kernels.ecg.leads.canonicalise_leads` then orders the leads and derives missing limb
leads, as for every other format.

Supported layouts
-----------------
GE CardioSoft XML (UK Biobank field 20205), root ``<CardiologyXML>``
    The 10 s resting strip ``<StripData>`` (a child of the root, or wrapped in ``<Strip>`` by some versions):
    ``<SampleRate units="Hz">``, ``<Resolution units="uVperLsb">`` (microvolts per count) and one
    ``<WaveformData lead="I">`` (``Lead=`` in some versions) of comma-separated integer counts per lead (12
    leads). Median beats (``<MedianSamples>``) are not read. A file without ``<StripData>`` is read from its
    ``<FullDisclosure>`` block, the whole continuous recording: ``<SampleRate>``, ``<Resolution>``,
    ``<LeadOrder>`` (comma-separated lead names), ``<NumberOfChannels>`` (when given, the number of names) and
    ``<FullDisclosureData>``, comma-separated integer counts (with line breaks and tabs) in blocks of one second:
    ``SampleRate`` counts of the first lead, then of the second ... of the last, then the next second. A last,
    incomplete second is left out with a note (as ml4h and Heart_Pipeline fill each lead in turn, its counts
    cannot be told apart per lead); a trailing comma in ``<LeadOrder>`` is ignored and the limb leads numbered
    ``I,2,3`` (exercise recordings) are I, II, III. A file with both is read from ``<StripData>``, unless the
    strip holds no ``<WaveformData>`` of its own (the exercise layout ``<StripData><Strip><WaveformData>``).
    Record id: the participant id ``eid`` of a UK Biobank file name ``<eid>_20205_<instance>_<array>.xml``, else
    the file stem.
GE MUSE XML, root ``<RestingECG>``
    The ``<Waveform>`` whose ``<WaveformType>`` is ``Rhythm`` (the median-beat waveform is not read):
    sampling rate ``<SampleBase>`` x 10^``<SampleExponent>`` Hz; per ``<LeadData>`` the ``<LeadID>``,
    ``<LeadAmplitudeUnitsPerBit>`` (in ``<LeadAmplitudeUnits>``, microvolts by default) and
    ``<WaveFormData>``, base64 of little-endian int16 samples, checked against ``<LeadDataCRC32>`` (the CRC-32
    of those bytes; 0 or absent, as converters write it: not checked) and ``<LeadSampleCountTotal>``; the leads
    must share their ``<LeadOffsetFirstSample>`` (the sample each starts at; 0 in MUSE's exports). MUSE stores 8
    leads (I, II, V1-V6); III, aVR, aVL and aVF are derived by
    :func:`~edfgen.kernels.ecg.leads.canonicalise_leads`. ``<FirstSampleBaseline>`` is not applied: no GE
    documentation of it was found, GE's own ``musexmlex.py`` (A. Ricke, 2009) and the ECG Conversion Toolkit
    (van Ettinger) read the samples without it (the toolkit writes 0), and other readers disagree on its sign
    (BRAVEHEART's ``load_musexml.m`` adds it, others subtract it). It is one constant per lead, which the band-pass
    of :func:`~edfgen.kernels.ecg.preprocess.preprocess` removes: the encoder's input, hence the EDFs, do not
    depend on it (to 1e-7 mV on a real record, ``tests/test_ecg_xml.py``); only the raw mV of the record would.
    Record id: file stem.
HL7 aECG, root ``<AnnotatedECG>``
    The rhythm series: read by :mod:`edfgen.formats.ecg.aecg` (origin + scale x digits per lead, sampling rate
    from the time sequence's increment). Record id: file stem.

A file that is not well-formed XML, has another root element, or lacks a required element is
rejected (:class:`~edfgen.kernels.ecg.record.RecordRejected`) with a one-line reason naming what is missing.

XML is parsed with the standard library's :mod:`xml.etree.ElementTree`, which does not fetch external
entities or DTDs (the ``<!DOCTYPE ... SYSTEM "...dtd">`` lines these exports carry are ignored).

References
----------
UK Biobank, Data-Field 20205 "ECG datasets" (resting 12-lead ECG, CardioSoft XML), UK Biobank Showcase.
Full-disclosure layout (one-second blocks per lead, ``SampleRate`` counts each) as read by the Broad Institute's
ml4h UK Biobank ECG tensorizers (github.com/broadinstitute/ml4h, ``ml4h/tensorize``: "500 samples lead I, 500
samples lead 2, 500 samples lead 3, 500 samples lead I, ..."), which replaced an earlier sample-interleaved reading.
GE Healthcare, MUSE XML export ("RestingECG", restecg.dtd); field layout as read by BRAVEHEART
``load_musexml.m`` (Stabenau HF, Waks JW, 2023, doi:10.1016/j.cmpb.2023.107798).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import zlib
from pathlib import Path

import numpy as np

from edfgen.formats.ecg.common import MAX_TEXT_RECORD_VALUES, TOO_LARGE_TEXT, _local, _parse, _xml_codec
from edfgen.formats.ecg.units import UNIT_TO_MV, unit_key
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected

#: root element -> format name
ROOTS = {"CardiologyXML": "cardiosoft", "RestingECG": "muse", "AnnotatedECG": "aecg"}
#: UK Biobank bulk file name of field 20205: <eid>_20205_<instance>_<array>.xml
UKB_ECG_NAME = re.compile(r"^(\d+)_20205_(\d+)_(\d+)$")

_HEAD_BYTES = 8192
#: how far the root element is looked for: a comment or DOCTYPE internal subset may fill the first 8 KiB
_MAX_HEAD_BYTES = 1 << 20
_ROOT_RE = re.compile(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s/>]")
_SPACE_RE = re.compile(r"\s*")
_SUBSET_END_RE = re.compile(r"\]\s*>")
_BRACKET_RE = re.compile(r"[\[>]")
_CUT_TAG_RE = re.compile(r"<[A-Za-z_][\w.\-:]*\Z")


def _decode_head(raw: bytes) -> str:
    """The start of a file as text: by its byte-order mark, or as UTF-16 without one (:func:`_xml_codec`), else
    Latin-1 (every byte reads: a multi-byte character cut at the end of what was read does not fail)."""
    return raw.decode(_xml_codec(raw) or "latin-1", errors="replace")


def _root_tag(text: str) -> str | None:
    """The root element's name in the start of an XML document; ``""`` when ``text`` ends before it (read more),
    ``None`` when it is not XML. The XML declaration, processing instructions, comments and the ``DOCTYPE``
    (with its internal subset, up to ``]>``) are skipped, in one pass (each is searched from where the last ended)."""
    i = 0
    while True:
        i = _SPACE_RE.match(text, i).end()
        if i == len(text):
            return ""
        for start, end in (("<?", "?>"), ("<!--", "-->")):
            if text.startswith(start, i):
                j = text.find(end, i + len(start))
                if j < 0:
                    return ""
                i = j + len(end)
                break
        else:
            if text.startswith("<!DOCTYPE", i):
                b = _BRACKET_RE.search(text, i)
                if b is None:
                    return ""
                j = b.start()
                m = _SUBSET_END_RE.search(text, j) if text[j] == "[" else None
                if text[j] == "[" and m is None:
                    return ""
                i = m.end() if m is not None else j + 1
                continue
            m = _ROOT_RE.match(text, i)
            if m is not None:
                return m.group(2)
            return "" if _CUT_TAG_RE.match(text, i) else None   # a start tag cut by the end of what was read


def _read_root(path) -> tuple[str | None, str]:
    """``(root element name or None, why not)``: the first 8 KiB, then up to 1 MiB while the root is not reached."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_HEAD_BYTES)
            while True:
                text = _decode_head(raw)
                if not text.lstrip().startswith("<"):
                    return None, "empty file" if not raw else "not an XML file (it does not start with '<')"
                root = _root_tag(text)
                if root is None:
                    return None, "not an XML file (no root element after its declarations)"
                if root:
                    return root, ""
                more = fh.read(len(raw)) if len(raw) < _MAX_HEAD_BYTES else b""
                if not more:
                    what = "in its first 1 MiB" if len(raw) >= _MAX_HEAD_BYTES else "(the file ends before it)"
                    return None, f"not an XML file (no root element {what})"
                raw += more
    except OSError as exc:
        return None, f"unreadable file ({exc})"


def sniff_xml(path: str | os.PathLike) -> str | None:
    """The ECG XML layout of a file from its root element: ``"cardiosoft"``, ``"muse"``, ``"aecg"``,
    ``"xml"`` (XML with another root) or ``None`` (not XML, or unreadable).

    The first 8 KiB are read, more (up to 1 MiB) while the root element is not reached: the XML declaration,
    comments, processing instructions and the ``DOCTYPE`` (with its internal subset) are skipped and the first
    start tag names the root.
    """
    root, _ = _read_root(path)
    return None if root is None else ROOTS.get(root, "xml")


def xml_record_id(path: str | os.PathLike, fmt: str | None = None) -> str:
    """Record id of an ECG XML file: the UK Biobank ``eid`` for files named ``<eid>_20205_<instance>_<array>.xml``,
    whatever their content (an empty or broken UK Biobank file is rejected under its eid, as every other row of a
    UK Biobank run), else the file stem. ``fmt`` is not used (kept for callers that pass the layout)."""
    stem = Path(path).stem
    m = UKB_ECG_NAME.match(stem)
    return m.group(1) if m else stem


def _text(elem, name: str, *, rid, path, where: str) -> str:
    child = elem.find(name)
    if child is None or child.text is None or not child.text.strip():
        raise RecordRejected(f"{where}: no <{name}>", record_id=rid, path=path)
    return child.text.strip()


def _number(text: str, name: str, *, rid, path) -> float:
    try:
        v = float(text)
    except ValueError:
        raise RecordRejected(f"<{name}> is not a number: {text[:40]!r}", record_id=rid, path=path) from None
    if not np.isfinite(v) or v <= 0:
        raise RecordRejected(f"<{name}> must be positive, got {text[:40]!r}", record_id=rid, path=path)
    return v


def _per_lsb_to_mv(units: str | None, default: str, *, rid, path) -> float:
    """mV per count from a resolution unit such as ``uVperLsb`` / ``MICROVOLTS``."""
    u = unit_key(units or default)
    u = re.sub(r"(per|/)(lsb|bit|count)$", "", u)
    if u in UNIT_TO_MV:
        return UNIT_TO_MV[u]
    raise RecordRejected(f"unknown amplitude units {units!r} (expected microvolts per count)", record_id=rid,
                         path=path)


#: the largest plausible amplitude of one count (1 V): a resolution above it is a corrupt field, and one near
#: float32's range turned every sample into inf (with numpy RuntimeWarnings) instead of a reason
MAX_MV_PER_COUNT = 1000.0


def _mv_per_count(value: float, units: str | None, default: str, name: str, *, rid, path) -> float:
    """mV per count of a resolution field ``<name>`` (``value`` in ``units``, else ``default``, per count)."""
    mv = value * _per_lsb_to_mv(units, default, rid=rid, path=path)
    if not mv <= MAX_MV_PER_COUNT:
        raise RecordRejected(f"<{name}> {value:g} {units or default} is {mv:.3g} mV per count: implausible (more "
                             f"than {MAX_MV_PER_COUNT:g} mV per count)", record_id=rid, path=path)
    return mv


def _check_lengths(rows, names, where: str, element: str, *, rid, path) -> None:
    if not rows:
        raise RecordRejected(f"{where}: no {element}", record_id=rid, path=path)
    lengths = {len(r) for r in rows}
    if len(lengths) != 1 or 0 in lengths:
        raise RecordRejected(f"{where}: leads have different or zero lengths "
                             f"({', '.join(f'{n}={len(r)}' for n, r in zip(names, rows))})", record_id=rid, path=path)


def _rate_and_mv(block, where: str, *, rid, path) -> tuple[float, float]:
    """``(samples per second, mV per count)`` of a CardioSoft ``<StripData>`` or ``<FullDisclosure>`` block."""
    fs = _number(_text(block, "SampleRate", rid=rid, path=path, where=where), "SampleRate", rid=rid, path=path)
    res = _number(_text(block, "Resolution", rid=rid, path=path, where=where), "Resolution", rid=rid, path=path)
    mv = _mv_per_count(res, block.find("Resolution").get("units"), "uVperLsb", "Resolution", rid=rid, path=path)
    rate_units = (block.find("SampleRate").get("units") or "Hz").strip().lower()
    if rate_units not in ("hz", "hertz", "1/s", "persecond", "samples/s", "sps"):
        raise RecordRejected(f"SampleRate units {rate_units!r}, expected Hz", record_id=rid, path=path)
    return fs, mv


#: a character that is in no comma-, space- or line-separated list of integer counts
_NOT_COUNT_CHAR = re.compile(r"[^0-9,\s+-]")
_COUNT = re.compile(r"[-+]?[0-9]{1,9}")
#: the largest count (9 digits; a count beyond 10^9 is not an ECG, and int64 stays far from overflow)
MAX_COUNT = 999_999_999


#: the UTF-8 bytes taken to separate counts, as a lookup table over byte values: comma, ASCII whitespace and every
#: byte of a non-ASCII character (Unicode whitespace splits counts as ``str.split`` does; any other non-ASCII
#: character makes the record a reject of :func:`_counts` anyway)
_SEPARATOR_BYTE = np.zeros(256, dtype=bool)
_SEPARATOR_BYTE[list(b", \t\n\r\v\f\x1c\x1d\x1e\x1f")] = True
_SEPARATOR_BYTE[0x80:] = True


def _n_counts(text: str) -> int:
    """At least as many as the counts :func:`_counts` would split ``text`` into, counted on its UTF-8 bytes (~3
    bytes per character, not the ~72 per value of splitting and parsing them)."""
    word = ~_SEPARATOR_BYTE[np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)]
    return int(word[:1].sum()) + int(np.count_nonzero(word[1:] & ~word[:-1]))


def _counts(text: str | None, where: str, *, rid, path) -> np.ndarray:
    """The comma- (or space-) separated integer counts of ``text`` as int64: ASCII digits with an optional sign,
    at most 9 of them (:data:`MAX_COUNT`; a zero-padded ``0000000001`` too: no real count needs 10). Parsed in one
    pass (``str.split`` and numpy's conversion); the offending token is looked for only when that fails."""
    text = text or ""
    tokens = text.replace(",", " ").split()
    values = None
    if _NOT_COUNT_CHAR.search(text) is None:   # ASCII digits and signs only (int() would take '1_0', Arabic digits)
        try:
            values = np.array(tokens, dtype=np.int64)
        except (ValueError, OverflowError):
            values = None
    big = None if values is None else (values > MAX_COUNT) | (values < -MAX_COUNT)   # (np.abs(int64 min) < 0)
    if big is not None and not big.any() and (not tokens or max(map(len, tokens)) <= 9 or all(
            _COUNT.fullmatch(t) for t in tokens if len(t) > 9)):   # the length rule ('0000000001' is 10 digits)
        return values
    if big is not None and big.any():
        bad = tokens[int(np.argmax(big))]
    else:
        bad = next((t for t in tokens if not _COUNT.fullmatch(t)), "?")
    raise RecordRejected(f"{where}: not an integer count of at most 9 digits {bad[:20]!r}", record_id=rid, path=path)


#: CardioSoft exercise recordings (UK Biobank field 6025) name the limb leads ``I,2,3`` in ``<LeadOrder>`` (ml4h's
#: ``ECG_BIKE_LEADS``): numbered leads 1-3 are I, II, III
_NUMBERED_LIMB_LEADS = {"1": "I", "2": "II", "3": "III"}


def _full_disclosure(block, *, rid, path) -> tuple[float, float, list[str], np.ndarray, tuple[str, ...]]:
    """``(fs, mV per count, lead names, int64 counts [L, T], notes)`` of a CardioSoft ``<FullDisclosure>`` block:
    one-second blocks of ``SampleRate`` counts per lead, leads in ``<LeadOrder>``; an incomplete last second is
    left out (with a note)."""
    where = "FullDisclosure"
    fs, mv = _rate_and_mv(block, where, rid=rid, path=path)
    names = [n.strip() for n in _text(block, "LeadOrder", rid=rid, path=path, where=where).split(",")]
    while names and not names[-1]:   # a trailing comma: 'I,II,...,V6,'
        names.pop()
    if not all(names):
        raise RecordRejected(f"{where}: an empty lead name in <LeadOrder> {','.join(names)[:80]!r}", record_id=rid,
                             path=path)
    names = [_NUMBERED_LIMB_LEADS.get(n, n) for n in names]
    channels = (block.findtext("NumberOfChannels") or "").strip()
    try:
        n_channels = float(channels) if channels else float(len(names))   # '12', '12.0'
    except ValueError:
        raise RecordRejected(f"{where}: NumberOfChannels {channels[:20]!r} is not a number", record_id=rid,
                             path=path) from None
    if n_channels != len(names):
        what = "a lead missing from <LeadOrder>" if n_channels > len(names) else "more leads named than channels"
        raise RecordRejected(f"{where}: NumberOfChannels {channels[:20]!r} but <LeadOrder> names {len(names)} leads "
                             f"({','.join(names)[:80]}): {what}", record_id=rid, path=path)
    if fs != int(fs):
        raise RecordRejected(f"{where}: SampleRate {fs:g} is not a whole number of samples per second (the data "
                             f"are blocks of one second)", record_id=rid, path=path)
    data = block.findall("FullDisclosureData")
    if not data:
        raise RecordRejected(f"{where}: no <FullDisclosureData>", record_id=rid, path=path)
    text = ",".join(d.text or "" for d in data)
    if (n_values := _n_counts(text)) > MAX_TEXT_RECORD_VALUES:   # before _counts splits it (up to ~78 B/value)
        raise RecordRejected(f"{where}: FullDisclosureData of {n_values} values: {TOO_LARGE_TEXT}", record_id=rid,
                             path=path)
    counts = _counts(text, "FullDisclosureData", rid=rid, path=path)
    n_leads, per = len(names), int(fs)
    whole, tail = divmod(counts.size, n_leads * per)
    if whole == 0:
        raise RecordRejected(f"{where}: {counts.size} counts, less than one second ({per} samples) for each of "
                             f"{n_leads} leads ({','.join(names)[:80]})", record_id=rid, path=path)
    rows = counts[:whole * n_leads * per].reshape(whole, n_leads, per).transpose(1, 0, 2).reshape(n_leads, -1)
    notes = (f"FullDisclosure: the last, incomplete second left out ({tail} counts, fewer than the {n_leads * per} "
             f"counts of one second of {n_leads} leads); {whole} s read",) if tail else ()
    return fs, mv, names, rows, notes


def read_cardiosoft(path: str | os.PathLike) -> EcgRecord:
    """Read the 10 s 12-lead strip of a GE CardioSoft XML file (UK Biobank field 20205) in mV; a file without
    the strip is read from its full-disclosure recording (the whole of it).

    Raises
    ------
    RecordRejected
        Malformed XML, another root element, neither ``<StripData>`` nor ``<FullDisclosure>``, a missing or
        non-positive ``SampleRate``/``Resolution``, non-integer counts, leads of different lengths, or
        full-disclosure counts of less than one second of the leads in ``<LeadOrder>``, or a
        ``<NumberOfChannels>`` other than the number of leads it names.
    """
    path = Path(path)
    rid = xml_record_id(path, "cardiosoft")
    root = _parse(path, rid, local=True)
    if _local(root.tag) != "CardiologyXML":
        raise RecordRejected(f"root element <{_local(root.tag)}>, expected <CardiologyXML>", record_id=rid, path=path)
    strip = root.find("StripData")
    if strip is None:   # some CardioSoft versions wrap it: <Strip><StripData>
        strip = root.find(".//StripData")
    full = root.find("FullDisclosure")
    full = root.find(".//FullDisclosure") if full is None else full
    if strip is None or (strip.find("WaveformData") is None and full is not None):
        # no strip, or one without leads of its own (exercise files: <StripData><Strip><WaveformData>)
        if full is None:
            raise RecordRejected("CardiologyXML: no <StripData> (the 10 s resting strip) and no <FullDisclosure>",
                                 record_id=rid, path=path)
        fs, mv, names, counts, notes = _full_disclosure(full, rid=rid, path=path)
        sig = counts.astype(np.float32) * np.float32(mv)
        return EcgRecord(record_id=rid, signal=sig, fs=fs, leads=tuple(names), path=str(path), notes=notes)
    fs, mv = _rate_and_mv(strip, "StripData", rid=rid, path=path)
    names, rows = [], []
    for wd in strip.findall("WaveformData"):
        lead = next((v for k, v in wd.attrib.items() if k.lower() == "lead"), "").strip()   # lead=, or Lead=
        if not lead:
            raise RecordRejected("StripData: a <WaveformData> without a lead attribute", record_id=rid, path=path)
        names.append(lead)
        rows.append(_counts(wd.text, f"WaveformData lead {lead}", rid=rid, path=path))
    _check_lengths(rows, names, "StripData", "<WaveformData lead=...>", rid=rid, path=path)
    total = (strip.findtext("ChannelSampleCountTotal") or "").strip()
    if re.fullmatch(r"[0-9]{1,12}", total) and int(total) != len(rows[0]):
        raise RecordRejected(f"StripData: ChannelSampleCountTotal {int(total)} but {len(rows[0])} samples per lead",
                             record_id=rid, path=path)
    sig = np.stack(rows).astype(np.float32) * np.float32(mv)
    return EcgRecord(record_id=rid, signal=sig, fs=fs, leads=tuple(names), path=str(path))


def read_muse(path: str | os.PathLike) -> EcgRecord:
    """Read the rhythm waveform of a GE MUSE XML file (``<RestingECG>``) in mV (8 stored leads).

    Raises
    ------
    RecordRejected
        Malformed XML, no ``Rhythm`` waveform, a missing ``SampleBase``/``LeadAmplitudeUnitsPerBit``,
        bad base64, samples that fail their ``LeadDataCRC32``, a sample size other than 2 bytes, leads that start
        at different samples (``LeadOffsetFirstSample``) or leads of different lengths.
    """
    path = Path(path)
    rid = xml_record_id(path, "muse")
    root = _parse(path, rid, local=True)
    if _local(root.tag) != "RestingECG":
        raise RecordRejected(f"root element <{_local(root.tag)}>, expected <RestingECG>", record_id=rid, path=path)
    rhythm = [w for w in root.iter("Waveform") if (w.findtext("WaveformType") or "").strip().lower() == "rhythm"]
    if not rhythm:
        types = [(w.findtext("WaveformType") or "?").strip() for w in root.iter("Waveform")]
        raise RecordRejected(f"RestingECG: no <Waveform> with WaveformType Rhythm (has: {', '.join(types) or 'none'})",
                             record_id=rid, path=path)
    # the first Rhythm waveform with lead data (an export may hold an empty one before it)
    wf = next((w for w in rhythm if w.find("LeadData") is not None), rhythm[0])
    base = _number(_text(wf, "SampleBase", rid=rid, path=path, where="Rhythm waveform"), "SampleBase", rid=rid,
                   path=path)
    exp_txt = (wf.findtext("SampleExponent") or "0").strip() or "0"
    if not re.fullmatch(r"[-+]?[0-9]{1,3}", exp_txt):
        raise RecordRejected(f"<SampleExponent> is not a small integer: {exp_txt[:40]!r}", record_id=rid, path=path)
    try:
        fs = base * 10.0 ** int(exp_txt)
    except OverflowError:
        fs = float("inf")
    if not np.isfinite(fs) or fs <= 0:
        raise RecordRejected(f"sampling rate <SampleBase> {base:g} x 10^<SampleExponent> {exp_txt} is not a finite "
                             f"positive number", record_id=rid, path=path)
    names, rows, starts = [], [], []
    for ld in wf.findall("LeadData"):
        lead = _text(ld, "LeadID", rid=rid, path=path, where="LeadData")
        where = f"LeadData {lead}"
        # '12', '12.0'; a value that is not a whole number ('N/A') is not checked, as an unreadable
        # LeadDataCRC32 or LeadSampleCountTotal is not (the field was never read before it was checked)
        start = re.fullmatch(r"\s*([-+]?[0-9]{1,9})(\.0*)?\s*", ld.findtext("LeadOffsetFirstSample") or "0")
        starts.append(int(start.group(1)) if start else None)
        upb = _number(_text(ld, "LeadAmplitudeUnitsPerBit", rid=rid, path=path, where=where),
                      "LeadAmplitudeUnitsPerBit", rid=rid, path=path)
        mv = _mv_per_count(upb, ld.findtext("LeadAmplitudeUnits"), "MICROVOLTS", "LeadAmplitudeUnitsPerBit",
                           rid=rid, path=path)
        size = (ld.findtext("LeadSampleSize") or "2").strip()
        if size != "2":
            raise RecordRejected(f"{where}: LeadSampleSize {size}, only 2-byte samples are read", record_id=rid,
                                 path=path)
        b64 = _text(ld, "WaveFormData", rid=rid, path=path, where=where)
        try:
            raw = base64.b64decode("".join(b64.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RecordRejected(f"{where}: WaveFormData is not base64 ({exc})", record_id=rid, path=path) from None
        if len(raw) % 2:
            raise RecordRejected(f"{where}: WaveFormData has an odd number of bytes ({len(raw)})", record_id=rid,
                                 path=path)
        crc = (ld.findtext("LeadDataCRC32") or "").strip()
        if re.fullmatch(r"[0-9]{1,10}", crc) and int(crc) and int(crc) != zlib.crc32(raw):
            raise RecordRejected(f"{where}: the samples fail their CRC (LeadDataCRC32 {crc}, computed "
                                 f"{zlib.crc32(raw)}): a corrupted or altered waveform", record_id=rid, path=path)
        counts = np.frombuffer(raw, dtype="<i2")
        total = (ld.findtext("LeadSampleCountTotal") or "").strip()
        if re.fullmatch(r"[0-9]{1,12}", total) and int(total) != counts.size:
            raise RecordRejected(f"{where}: LeadSampleCountTotal {total} but {counts.size} samples", record_id=rid,
                                 path=path)
        names.append(lead)
        rows.append(counts.astype(np.float32) * np.float32(mv))
    if len({k for k in starts if k is not None}) > 1:   # a lead placed at another sample: not simultaneous
        at = ", ".join(f"{n} {'?' if k is None else k}" for n, k in zip(names, starts))
        raise RecordRejected(f"Rhythm waveform: leads start at different samples (LeadOffsetFirstSample {at}): not "
                             f"one simultaneous recording", record_id=rid, path=path)
    _check_lengths(rows, names, "Rhythm waveform", "<LeadData>", rid=rid, path=path)
    return EcgRecord(record_id=rid, signal=np.stack(rows), fs=fs, leads=tuple(names), path=str(path))


def read_xml(path: str | os.PathLike, fmt: str | None = None) -> EcgRecord:
    """Read an ECG XML file of any supported layout (``fmt`` from :func:`sniff_xml` when not given)."""
    fmt = fmt or sniff_xml(path)
    if fmt == "cardiosoft":
        return read_cardiosoft(path)
    if fmt == "muse":
        return read_muse(path)
    rid = xml_record_id(path)
    if fmt == "aecg":
        from edfgen.formats.ecg.aecg import read_aecg  # imports this module's helpers

        return read_aecg(path)
    if fmt == "xml":
        raise RecordRejected(f"XML root element is not an ECG layout edfgen reads "
                             f"(expected {', '.join(f'<{r}>' for r in ROOTS)})", record_id=rid, path=path)
    raise RecordRejected(_read_root(path)[1] or "not an ECG XML file", record_id=rid, path=path)
