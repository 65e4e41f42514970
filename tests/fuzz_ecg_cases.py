"""Valid ECG files and checkpoints of every reader, their mutations, and the rule a reader must keep.

Shared by ``tests/test_fuzz_ecg.py`` (hypothesis picks the mutations) and ``benchmarks/fuzz_ecg.py``
(a seeded generator picks them, many more cases, each reader in a child process so that a crash signal
would be counted instead of ending the run).

The rule (issue 19): a file is either used completely and correctly (a record with a finite positive
rate and one row per lead, that preprocesses to finite model input or is rejected there; a checkpoint
that loads), or it is refused with a one-line :class:`~edfgen.exceptions.EdfgenError` (a
:class:`RecordRejected` for a record). Anything else - another exception type, a multi-line message -
is a defect.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np

READERS = ("wfdb16", "wfdb212", "npz", "hdf5", "cardiosoft", "muse", "aecg", "dicom", "edf", "bdf", "checkpoint")
#: replacement values for "extreme numbers"
EXTREMES = ["0", "-1", "-0", "1e308", "-1e308", "1e-320", "nan", "inf", "-inf", "99999999999999999999",
            "-32768", "32767", "4294967296", "2147483648", "1e400", "00000000000000000000000500", "0x1F4", "٥٠٠"]
TEXT_PARTS = {"wfdb16": "hea", "wfdb212": "hea", "cardiosoft": "xml", "muse": "xml", "aecg": "xml",
              "edf": "hea", "bdf": "hea", "checkpoint": "json"}
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
MUSE_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


def _signal(seed: int = 0, n: int = 5000, fs: float = 500.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    return (np.sin(2 * np.pi * 1.1 * t)[None] * rng.uniform(0.3, 1.2, (12, 1))
            + 0.05 * rng.standard_normal((12, n)))


def write_valid(kind: str, folder: Path) -> dict[str, Path]:
    """Write one valid file set of ``kind`` into ``folder``; return its parts by role (``main`` is what
    is read; ``hea``/``dat``/``xml``/``json``/``bin`` the mutable parts)."""
    folder.mkdir(parents=True, exist_ok=True)
    sig = _signal()
    if kind in ("wfdb16", "wfdb212"):
        fmt = kind[4:]
        counts = np.round(sig * 200).astype(np.int64)
        hea = folder / "R.hea"
        lines = ["R 12 500 5000"] + [f"R.dat {fmt} 200/mV 12 0 0 0 0 {lead}" for lead in LEADS]
        hea.write_text("\n".join(lines) + "\n# comment\n")
        flat = counts.T.reshape(-1)
        if fmt == "16":
            flat.astype("<i2").tofile(folder / "R.dat")
        else:  # format 212: two 12-bit samples in 3 bytes
            v = (flat & 0xFFF).astype(np.uint16).reshape(-1, 2)
            out = np.empty((len(v), 3), np.uint8)
            out[:, 0] = v[:, 0] & 0xFF
            out[:, 1] = ((v[:, 0] >> 8) & 0x0F) | ((v[:, 1] >> 4) & 0xF0)
            out[:, 2] = v[:, 1] & 0xFF
            out.tofile(folder / "R.dat")
        return {"main": hea, "hea": hea, "dat": folder / "R.dat"}
    if kind == "npz":
        p = folder / "R.npz"
        np.savez_compressed(p, **valid_fields())
        return {"main": p, "bin": p, "fields": p}
    if kind == "hdf5":
        p = folder / "R.h5"
        _write_h5(p, valid_fields())
        return {"main": p, "bin": p, "fields": p}
    if kind == "cardiosoft":
        p = folder / "1000001_20205_2_0.xml"
        c = np.round(sig * 1000 / 5).astype(int)
        wd = "".join(f'<WaveformData lead="{n}">{",".join(map(str, r))}</WaveformData>\n' for n, r in zip(LEADS, c))
        p.write_text(f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<CardiologyXML>
<StripData>
<NumberOfLeads>12</NumberOfLeads>
<SampleRate units="Hz">500</SampleRate>
<ChannelSampleCountTotal>5000</ChannelSampleCountTotal>
<Resolution units="uVperLsb">5</Resolution>
{wd}</StripData>
</CardiologyXML>
""")
        return {"main": p, "xml": p}
    if kind == "muse":
        p = folder / "M.xml"
        idx = [LEADS.index(n) for n in MUSE_LEADS]
        c = np.round(sig[idx] * 1000 / 4.88).astype("<i2")
        lead = "".join(f"""<LeadData>
<LeadSampleCountTotal>5000</LeadSampleCountTotal>
<LeadAmplitudeUnitsPerBit>4.88</LeadAmplitudeUnitsPerBit>
<LeadAmplitudeUnits>MICROVOLTS</LeadAmplitudeUnits>
<LeadID>{n}</LeadID>
<LeadSampleSize>2</LeadSampleSize>
<WaveFormData>{base64.b64encode(r.tobytes()).decode()}</WaveFormData>
</LeadData>
""" for n, r in zip(MUSE_LEADS, c))
        p.write_text(f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<RestingECG>
<Waveform>
<WaveformType>Rhythm</WaveformType>
<SampleBase>500</SampleBase>
<SampleExponent>0</SampleExponent>
{lead}</Waveform>
</RestingECG>
""")
        return {"main": p, "xml": p}
    if kind == "aecg":
        p = folder / "A.xml"
        c = np.round(sig * 1000 / 5).astype(int)
        seq = "".join(f"""<component><sequence><code code="MDC_ECG_LEAD_{n.upper()}"/><value xsi:type="SLIST_PQ">
<origin value="0" unit="uV"/><scale value="5" unit="uV"/><digits>{" ".join(map(str, r))}</digits></value></sequence>
</component>
""" for n, r in zip(LEADS, c))
        p.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<component><series><code code="RHYTHM"/><component><sequenceSet>
<component><sequence><code code="TIME_ABSOLUTE"/><value xsi:type="GLIST_TS"><head value="20021122091000.000"/>
<increment value="0.002" unit="s"/></value></sequence></component>
{seq}</sequenceSet></component></series></component>
</AnnotatedECG>
""")
        return {"main": p, "xml": p}
    if kind == "dicom":   # pydicom's real 12-lead ECG (10 s at 1 kHz)
        from pydicom.data import get_testdata_file

        p = folder / "D.dcm"
        shutil.copy(get_testdata_file("waveform_ecg.dcm"), p)
        return {"main": p, "bin": p}
    if kind in ("edf", "bdf"):   # EDF+C / BDF: 12 leads in uV, a respiration channel, an annotations channel
        p = folder / f"E.{kind}"
        bdf = kind == "bdf"
        d = 2 ** 23 if bdf else 2 ** 15
        chans = [edf_channel(f"ECG {n}", "uV", row * 1000, -20000, 20000, -d, d - 1, 500) for n, row in zip(LEADS, sig)]
        chans.append(edf_channel("Resp", "Ohm", sig[0][::10], -5, 5, -d, d - 1, 50))
        write_edf(p, chans + [annotations_channel(10, 60, bdf=bdf)], bdf=bdf, reserved="BDF+C" if bdf else "EDF+C")
        return {"main": p, "bin": p, "hea": p}
    if kind == "checkpoint":
        from edfgen.model.checkpoint import PACKAGE_DIR

        for suffix in (".json", ".safetensors"):
            shutil.copy(PACKAGE_DIR / f"tiny{suffix}", folder / f"tiny{suffix}")
        meta = folder / "tiny.json"
        meta.write_text(json.dumps(json.loads(meta.read_text()), indent=1))  # one value per line: mutable
        return {"main": meta, "json": meta, "bin": folder / "tiny.safetensors"}
    raise ValueError(kind)


#: header length of the EDF/BDF files of :func:`write_valid` (12 leads, Resp, annotations)
EDF_HEADER = 256 * 15
#: (offset, width) of every EDF header field of those files: the fixed fields, then each per-signal field
EDF_FIELDS = ([(0, 8), (8, 80), (88, 80), (168, 8), (176, 8), (184, 8), (192, 44), (236, 8), (244, 8), (252, 4)]
              + [(256 + 14 * at + i * width, width) for at, width in
                 zip((0, 16, 96, 104, 112, 120, 128, 136, 216, 224), (16, 80, 8, 8, 8, 8, 8, 80, 8, 32))
                 for i in range(14)])


def mutate_edf_header(head: bytes, a: int, b: int) -> bytes:
    """Header field ``a`` (:data:`EDF_FIELDS`) replaced in place by ``EXTREMES[b]`` or, every third time, by a
    blank field, a label of another lead or a word."""
    at, width = EDF_FIELDS[a % len(EDF_FIELDS)]
    value = [EXTREMES[b % len(EXTREMES)], "", "ECG II", "EDF+D", "uV", "EDF Annotations", "abc"][b % 7 if b % 3 == 0
                                                                                             else 0]
    return head[:at] + value.encode().ljust(width)[:width] + head[at + width:]


def edf_channel(label, dimension, physical, pmin, pmax, dmin, dmax, spr) -> dict:
    """One signal of :func:`write_edf`: ``physical`` quantised as the EDF spec scales it (clipped to the range)."""
    x = np.asarray(physical, np.float64)
    digital = np.clip(np.round((x - pmin) * (dmax - dmin) / (pmax - pmin) + dmin), dmin, dmax).astype(np.int64)
    return {"label": label, "dimension": dimension, "pmin": pmin, "pmax": pmax, "dmin": dmin, "dmax": dmax,
            "spr": spr, "digital": digital}


def annotations_channel(n_records: int, spr: int, *, duration: float = 1.0, bdf: bool = False,
                        onsets=None) -> dict:
    """An ``EDF Annotations`` signal: each data record's time-keeping TAL (``+onset`` 0x14 0x14 0x00; ``onsets``, in
    s, else ``r x duration``; text is written as is; ``None`` in ``onsets``: no TAL), the first with an annotation,
    zero-padded to ``spr`` samples."""
    width = 3 if bdf else 2
    out = []
    onsets = [r * duration for r in range(n_records)] if onsets is None else onsets
    for r in range(n_records):
        text = onsets[r] if isinstance(onsets[r], str) else None if onsets[r] is None else f"+{onsets[r]:g}"
        tal = (b"" if text is None else f"{text}\x14\x14\x00".encode()) + (
            b"+0\x14recording start\x14\x00" if r == 0 else b"")
        raw = tal.ljust(spr * width, b"\0")[:spr * width]
        if bdf:
            b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int64)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            out.append((v ^ 0x800000) - 0x800000)
        else:
            out.append(np.frombuffer(raw, "<i2").astype(np.int64))
    d = 2 ** 23 if bdf else 2 ** 15
    return {"label": "BDF Annotations" if bdf else "EDF Annotations", "dimension": "", "pmin": -1, "pmax": 1,
            "dmin": -d, "dmax": d - 1, "spr": spr, "digital": np.concatenate(out)}


def write_edf(path: Path, channels: list[dict], *, duration: float = 1.0, bdf: bool = False, reserved: str = "",
              n_records: int | None = None, header_bytes: int | None = None) -> Path:
    """An EDF (16-bit) or BDF (24-bit) file written field by field from the specs (Kemp 1992, 2003; BioSemi),
    independently of the reader: header, then data records of each channel's ``spr`` samples in turn.
    ``n_records``/``header_bytes`` override what the header declares, as does a channel's ``written`` dict (field
    -> text) for its own fields (files whose header lies)."""
    n = len(channels[0]["digital"]) // channels[0]["spr"]

    def field(value, width):
        text = value if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)
        return text.encode("latin-1").ljust(width)[:width]

    ns = len(channels)
    head = (b"\xffBIOSEMI" if bdf else field("0", 8)) + field("X X X X", 80) + field("Startdate X X X X", 80)
    head += field("01.01.20", 8) + field("00.00.00", 8) + field(header_bytes or 256 * (ns + 1), 8)
    head += field(reserved or ("24BIT" if bdf else ""), 44) + field(n if n_records is None else n_records, 8)
    head += field(duration, 8) + field(ns, 4)
    for key, width in (("label", 16), ("transducer", 80), ("dimension", 8), ("pmin", 8), ("pmax", 8),
                       ("dmin", 8), ("dmax", 8), ("prefilter", 80), ("spr", 8), ("reserved", 32)):
        head += b"".join(field(c.get("written", {}).get(key, c.get(key, "")), width) for c in channels)
    blocks = []
    for r in range(n):
        for c in channels:
            d = np.asarray(c["digital"][r * c["spr"]:(r + 1) * c["spr"]], np.int64)
            blocks.append((d & 0xFFFFFF).astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes() if bdf
                          else d.astype("<i2").tobytes())
    Path(path).write_bytes(head + b"".join(blocks))
    return Path(path)


def valid_fields() -> dict:
    """The arrays of a valid ``.npz`` / HDF5 record (signal, rate, leads, units)."""
    return {"ecg": _signal().astype(np.float32), "fs": np.float64(500.0), "leads": np.array(LEADS),
            "units": np.array("mV")}


def _write_h5(p: Path, fields: dict, *, duplicate: bool = False) -> None:
    import h5py

    with h5py.File(p, "w") as f:
        for k, v in fields.items():
            if k in ("ecg", "signal"):
                v = np.char.encode(v, "utf-8") if v.dtype.kind == "U" else v
                f.create_dataset("R", data=v, **({"chunks": True, "compression": "gzip"} if np.ndim(v) and v.size else {}))
                if duplicate:
                    f.create_dataset("copy/R", data=v)
            elif np.asarray(v).dtype.kind == "U":
                f.attrs[k] = np.char.encode(np.asarray(v), "utf-8")
            else:
                f.attrs[k] = v


FIELD_OPS = ("delete_key", "duplicate_key", "extreme", "reshape", "dtype")
_DTYPES = ("int8", "int16", "int64", "uint16", "float16", "float64", "complex64", "bool", "U2")


def mutate_fields(fields: dict, op: str, a: int, b: int) -> tuple[dict, bool]:
    """Semantic mutations of a record's arrays; returns them and whether a name is to be duplicated."""
    fields = dict(fields)
    keys = sorted(fields)
    key = keys[a % len(keys)]
    if op == "delete_key":
        del fields[key]
    elif op == "duplicate_key":
        return fields, True
    elif op == "extreme":
        value = EXTREMES[b % len(EXTREMES)]
        try:
            num = float(value)
        except ValueError:
            num = value
        if key == "leads":
            leads = list(LEADS)
            leads[b % 12] = [leads[(b + 1) % 12], "", "X" * 300, value][a % 4]
            fields[key] = np.array(leads)
        elif key == "units":
            fields[key] = np.array(["mV", "uV", "V", "nV", value, "", "µV"][b % 7])
        elif key == "fs":
            fields[key] = np.array(num)
        else:
            try:
                x = np.array(fields[key], dtype=np.float64)
            except (TypeError, ValueError):
                return fields, False
            if x.size:
                x.flat[(a * 7919 + b) % x.size] = num if isinstance(num, float) else np.nan
            fields[key] = x
    elif op == "reshape" and "ecg" in fields:
        x = np.asarray(fields["ecg"])
        if x.ndim == 2:
            fields["ecg"] = [x.T, x[:, :a % 5000], x[None], x.ravel(), x[:b % 13], np.zeros((0, 0), x.dtype),
                             np.array(1.0)][b % 7]
    elif op == "dtype" and "ecg" in fields:
        try:
            fields["ecg"] = np.asarray(fields["ecg"]).astype(_DTYPES[b % len(_DTYPES)])
        except (TypeError, ValueError):
            pass
    return fields, False


# --------------------------------------------------------------------------- mutations
def mutate_bytes(data: bytes, op: str, a: int, b: int) -> bytes:
    """Binary mutations: ``truncate`` at offset ``a``; ``flip`` byte ``a`` with xor ``b``; ``zero`` 64
    bytes at ``a``; ``duplicate`` 64 bytes at ``a`` (inserted again after themselves)."""
    n = len(data)
    if n == 0:
        return data
    a %= n
    if op == "truncate":
        return data[:a]
    if op == "flip":
        return data[:a] + bytes([data[a] ^ (b % 255 + 1)]) + data[a + 1:]
    if op == "zero":
        return data[:a] + b"\0" * min(64, n - a) + data[a + 64:]
    if op == "duplicate":
        return data[:a + 64] + data[a:a + 64] + data[a + 64:]
    raise ValueError(op)


_NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def mutate_text(data: bytes, op: str, a: int, b: int) -> bytes:
    """Text mutations: ``delete_line``/``duplicate_line`` ``a``; ``delete_field``/``duplicate_field`` ``b``
    of line ``a``; ``extreme`` replaces the ``a``-th number with ``EXTREMES[b]``; and the binary ones."""
    lines = data.split(b"\n")
    i = a % len(lines)
    if op == "delete_line":
        return b"\n".join(lines[:i] + lines[i + 1:])
    if op == "duplicate_line":
        return b"\n".join(lines[:i + 1] + lines[i:])
    if op in ("delete_field", "duplicate_field"):
        fields = re.split(rb"([ ,<>])", lines[i])
        if len(fields) > 1:
            j = (b % ((len(fields) + 1) // 2)) * 2
            fields = fields[:j] + fields[j + 2:] if op == "delete_field" else fields[:j + 2] + fields[j:]
        lines[i] = b"".join(fields)
        return b"\n".join(lines)
    if op == "extreme":
        spots = list(_NUMBER.finditer(data))
        if not spots:
            return data
        m = spots[a % len(spots)]
        return data[:m.start()] + EXTREMES[b % len(EXTREMES)].encode() + data[m.end():]
    return mutate_bytes(data, op, a, b)


BINARY_OPS = ("truncate", "flip", "zero", "duplicate")
TEXT_OPS = BINARY_OPS + ("delete_line", "duplicate_line", "delete_field", "duplicate_field", "extreme")


def apply(kind: str, parts: dict[str, Path], role: str, op: str, a: int, b: int, *, fix_sha: bool = False) -> None:
    """Mutate the part ``role`` of a written file set in place (``fix_sha``: a checkpoint's JSON gets the
    mutated weights' sha256, so that the checks after the digest are reached too)."""
    p = parts[role]
    if kind in ("edf", "bdf") and role == "hea":   # the ASCII header only, kept at its length: the data stay aligned
        data = p.read_bytes()
        head = mutate_edf_header(data[:EDF_HEADER], a, b) if op == "extreme" else mutate_text(data[:EDF_HEADER], op, a, b)
        p.write_bytes(head.ljust(EDF_HEADER)[:EDF_HEADER] + data[EDF_HEADER:])
        return
    if role == "fields":  # rewrite the file from mutated arrays (uncompressed, so later mutations stack)
        fields, duplicate = mutate_fields(_read_fields(kind, p), op, a, b)
        if kind == "hdf5":
            _write_h5(p, fields, duplicate=duplicate)
        else:
            np.savez(p, **fields)
            if duplicate:  # a second member of the same name: which one numpy returns is not defined
                import warnings
                import zipfile

                with warnings.catch_warnings(), zipfile.ZipFile(p, "a") as zf:
                    warnings.simplefilter("ignore")
                    with zf.open("fs.npy", "w") as fh:
                        np.lib.format.write_array(fh, np.array(250.0))
        return
    data = p.read_bytes()
    p.write_bytes(mutate_text(data, op, a, b) if role in ("hea", "xml", "json") else mutate_bytes(data, op, a, b))
    if kind == "checkpoint" and fix_sha and role == "bin":
        from edfgen.formats.manifest import sha256_file

        doc = json.loads(parts["json"].read_text())
        doc["sha256"] = sha256_file(parts["bin"])
        parts["json"].write_text(json.dumps(doc))


def _read_fields(kind: str, p: Path) -> dict:
    """The arrays of a (possibly already mutated) record file, else the valid ones."""
    try:
        if kind == "hdf5":
            import h5py

            with h5py.File(p, "r") as f:
                out = {k: np.asarray(v) for k, v in f.attrs.items()}
                if "R" in f:
                    out["ecg"] = f["R"][()]
            return {k: (np.char.decode(v, "utf-8") if v.dtype.kind == "S" else v) for k, v in out.items()}
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # noqa: BLE001 - a file a previous mutation broke: start from the valid arrays
        return valid_fields()


# --------------------------------------------------------------------------- the rule
def outcome(kind: str, parts: dict[str, Path]) -> tuple[str, str]:
    """Read the file set as edfgen does and classify: ``("used", "")``, ``("reject", reason)`` (a record
    set aside with its reason), ``("error", message)`` (a checkpoint's one-line error) or ``("defect", what)``
    (another exception, a multi-line message, or a record file that stops the batch at discovery)."""
    from edfgen.exceptions import EdfgenError
    from edfgen.formats.ecg.records import discover_records, read_record
    from edfgen.kernels.ecg.preprocess import preprocess
    from edfgen.kernels.ecg.record import RecordRejected

    if kind == "checkpoint":
        from edfgen.model.checkpoint import load_checkpoint

        try:
            loaded = load_checkpoint(parts["json"])
        except EdfgenError as exc:
            return ("error", str(exc)) if "\n" not in str(exc) else ("defect", f"multi-line: {exc}")
        except Exception as exc:  # noqa: BLE001 - what the fuzzer looks for
            return "defect", f"{type(exc).__name__}: {exc}"
        n = sum(v.numel() for v in loaded.model.state_dict().values())
        return ("used", "") if n > 0 else ("defect", "empty model")
    try:
        refs = discover_records([parts["main"].parent])
    except EdfgenError as exc:  # the file exists: an error while listing it would end the whole batch
        return "defect", f"batch-ender at discovery: {exc}"
    except Exception as exc:  # noqa: BLE001
        return "defect", f"discover: {type(exc).__name__}: {exc}"
    results = []
    for ref in refs:
        try:
            rec = read_record(ref, fs=None)
            if not (np.isfinite(rec.fs) and rec.fs > 0 and rec.signal.ndim == 2
                    and rec.signal.shape[0] == len(rec.leads) and rec.signal.dtype == np.float32):
                return "defect", f"bad record: fs={rec.fs} shape={rec.signal.shape} leads={len(rec.leads)}"
            x = preprocess(rec)
            if x.dtype != np.float32 or x.shape != (12, 5000) or not np.isfinite(x).all():
                return "defect", f"preprocess gave {x.dtype} {x.shape}, finite={np.isfinite(x).all()}"
            results.append(("used", ""))
        except RecordRejected as exc:
            if "\n" in exc.reason or not exc.reason:
                return "defect", f"reason not one line: {exc.reason!r}"
            results.append(("reject", exc.reason))
        except Exception as exc:  # noqa: BLE001
            return "defect", f"{type(exc).__name__}: {exc}"
    if not results:
        return "reject", "no record found"  # e.g. an HDF5 file whose dataset became unreadable as numbers
    return next((r for r in results if r[0] == "reject"), results[0])
