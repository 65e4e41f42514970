"""Hostile and unusual ECG files (s42): real records (PTB-XL 00001_hr, CinC 2021 E07500) written in every format
edfgen reads, then damaged (truncated, counts/rates/gains at odds with the data, gain 0 or negative, ADC zero
offsets, NaN/Inf/-32768 gaps, flat and clipped leads, duplicated and differently spelt leads, 8 and 15 leads,
2.5 s to 5 min, 257 and 1000 Hz, Latin-1 and UTF-8 micro signs, BOMs, namespaces, CRLF, big-endian/deflated/implicit
DICOM, EDF+ annotations, odd file names, symlinks, empty files, directories named like records, MATLAB v5 .mat).

Each is read as ``edfgen extract`` reads it (discover, read, canonicalise leads, preprocess) and compared in mV with
what was written: ``read right`` (max |difference| within the format's quantisation, same rate), ``rejected
clearly`` (one-line RecordRejected), ``read`` (read where a reject was also acceptable), ``WRONG``/``WRONG?``
(different values, or read where only a reject is right), ``DEFECT`` (any other exception).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/hostile_ecg_matrix.py`` -> ``benchmarks/results/hostile_ecg_matrix.md``.
"""

import sys, os, shutil, tempfile, traceback
from pathlib import Path
import re
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import warnings; warnings.simplefilter("ignore")
import wfdb
from edfgen.kernels.ecg import LEADS
from edfgen.formats.ecg.records import discover_records, read_record
from edfgen.kernels.ecg.leads import canonicalise_leads
from edfgen.kernels.ecg.record import RecordRejected
from edfgen.kernels.ecg.preprocess import preprocess
from test_ecg_xml import write_cardiosoft, write_muse
from test_ecg_aecg import write_aecg
from test_ecg_dicom import write_dicom
from fuzz_ecg_cases import write_edf, edf_channel, annotations_channel
from pydicom.data import get_testdata_file
DCM = get_testdata_file("waveform_ecg.dcm")
SH = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ecg"
ref = wfdb.rdrecord(str(SH / "ptbxl/records500/00000/00001_hr"))
S = ref.p_signal.T.astype(np.float64); FS = 500.0
OUT = Path(tempfile.mkdtemp(prefix="edfgen-hostile-"))
rows = []

def run(fmt, variant, folder, expect, fs=None, tol=None, want="read"):
    """expect: [12,T] mV expected after canonicalise (or None: must reject)."""
    try:
        refs = discover_records([folder])
        if len(refs) != 1:
            res = f"{len(refs)} refs: " + "; ".join(f"{r.record_id}:{r.fmt}:{r.key if r.fmt=='rejected' else ''}" for r in refs)
            rows.append((fmt, variant, "CHECK", res)); return
        r = refs[0]
        rec = read_record(r)
        rec = canonicalise_leads(rec)
        try:
            preprocess(rec)
            pp = "pp ok"
        except RecordRejected as e:
            pp = f"pp reject: {e.reason[:80]}"
        if expect is None:
            rows.append((fmt, variant, "WRONG?" if want == "reject" else "read", f"read although expected reject; fs={rec.fs} shape={rec.signal.shape} {pp} notes={rec.notes}")); return
        x = np.asarray(rec.signal, np.float64)
        if x.shape != expect.shape:
            rows.append((fmt, variant, "WRONG", f"shape {x.shape} vs {expect.shape}; fs={rec.fs} notes={rec.notes}")); return
        d = np.nanmax(np.abs(x - expect)) if np.isfinite(x).any() else np.inf
        nanmatch = np.array_equal(np.isnan(x), np.isnan(expect))
        ok = d <= (tol or 1e-3) and nanmatch and (fs is None or abs(rec.fs - fs) < 1e-6 * fs)
        rows.append((fmt, variant, "read right" if ok else "WRONG", f"maxdiff={d:.2g} mV fs={rec.fs} nan_ok={nanmatch} {pp} notes={'; '.join(rec.notes)[:120]}"))
    except RecordRejected as e:
        msg = str(e)
        one = "\n" not in msg
        rows.append((fmt, variant, ("rejected clearly" if one else "REJECT MULTILINE") + ("" if expect is None else " (expected read)"), msg[:200]))
    except Exception as e:
        rows.append((fmt, variant, "DEFECT", f"{type(e).__name__}: {str(e)[:200]} @ {traceback.extract_tb(e.__traceback__)[-1]}"))

def case(fmt, variant):
    d = OUT / fmt / re.sub(r"[^\w.-]+", "_", variant); shutil.rmtree(d, ignore_errors=True); d.mkdir(parents=True); return d

def wr_wfdb(d, name, sig_mv, fs, *, leads=LEADS, gain=1000.0, base=0, units="mV", nsamp=None, gains=None, fmt=16,
            counts=None, hdr_extra="", dat_cut=None, crlf=False, bom=False, recline=None):
    c = np.round(sig_mv * gain).astype(np.int64) + base if counts is None else counts
    c = np.clip(c, -32768, 32767).astype("<i2")
    raw = c.T.tobytes()
    if dat_cut is not None: raw = raw[:dat_cut]
    (d / f"{name}.dat").write_bytes(raw)
    n = c.shape[1] if nsamp is None else nsamp
    lines = [recline or f"{name} {len(leads)} {fs:g} {n}"]
    for i, L in enumerate(leads):
        g = gains[i] if gains is not None else gain
        lines.append(f"{name}.dat {fmt} {g}({base})/{units} 16 0 {int(c[i,0])} 0 0 {L}")
    text = "\n".join(lines) + "\n" + hdr_extra
    if crlf: text = text.replace("\n", "\r\n")
    b = text.encode("utf-8")
    if bom: b = b"\xef\xbb\xbf" + b
    (d / f"{name}.hea").write_bytes(b)
    return c.astype(np.float64)


q = lambda s, g=1000.0: np.round(s * g) / g
F = "wfdb"
run(F, "base", (wr_wfdb(d := case(F, "base"), "r1", S, FS), d)[1], q(S), fs=FS)
run(F, "baseline adc_zero 1024", (wr_wfdb(d := case(F, "adczero"), "r1", S, FS, base=1024), d)[1], q(S), fs=FS)
run(F, "gain 0", (wr_wfdb(d := case(F, "gain0"), "r1", S, FS, gains=[0]+[1000]*11), d)[1], None, want="reject")
run(F, "gain negative", (wr_wfdb(d := case(F, "gainneg"), "r1", S, FS, gains=[-1000]+[1000]*11), d)[1], None, want="reject")
run(F, "half .dat", (wr_wfdb(d := case(F, "halfdat"), "r1", S, FS, dat_cut=S.size), d)[1], None)
run(F, "empty .dat", (wr_wfdb(d := case(F, "emptydat"), "r1", S, FS, dat_cut=0), d)[1], None)
run(F, "nsamp > data", (wr_wfdb(d := case(F, "nsampmore"), "r1", S, FS, nsamp=10000), d)[1], q(S), fs=FS)
run(F, "nsamp < data", (wr_wfdb(d := case(F, "nsampless"), "r1", S, FS, nsamp=2500), d)[1], q(S)[:, :2500], fs=FS)
run(F, "CRLF header", (wr_wfdb(d := case(F, "crlf"), "r1", S, FS, crlf=True), d)[1], q(S), fs=FS)
run(F, "BOM header", (wr_wfdb(d := case(F, "bom"), "r1", S, FS, bom=True), d)[1], q(S), fs=FS)
# -32768 gaps
G = np.round(S*1000).astype(np.int64); G[:, 1000:1100] = -32768
E = G/1000.0; E[:, 1000:1100] = np.nan
run(F, "-32768 gap", (wr_wfdb(d := case(F, "gap"), "r1", S, FS, counts=G), d)[1], E, fs=FS)
# all-zero lead, clipped lead
Z = np.round(S*1000).astype(np.int64); Z[7] = 0
run(F, "all-zero V2", (wr_wfdb(d := case(F, "zerolead"), "r1", S, FS, counts=Z), d)[1], Z/1000.0, fs=FS)
Cl = np.round(S*1000*20).astype(np.int64); Cl = np.clip(Cl, -32767, 32767)
run(F, "clipped x20", (wr_wfdb(d := case(F, "clipped"), "r1", S, FS, counts=Cl, gain=20000), d)[1], Cl/20000.0, fs=FS)
# spellings
for nm, spell in [("upper AVR", ["I","II","III","AVR","AVL","AVF"]+[f"V{i}" for i in range(1,7)]),
                  ("aVr mixed", ["I","II","III","aVr","aVl","aVf"]+[f"V{i}" for i in range(1,7)]),
                  ("lead_ prefix", [f"lead_{n}" for n in LEADS]), ("ECG prefix", [f"ECG{n}" for n in LEADS])]:
    run(F, nm, (wr_wfdb(d := case(F, nm), "r1", S, FS, leads=spell), d)[1], q(S), fs=FS)
run(F, "MLII for II", (wr_wfdb(d := case(F, "mlii"), "r1", S, FS, leads=["I","MLII"]+list(LEADS[2:])), d)[1], q(S), fs=FS)
run(F, "dup V1 diff data", (wr_wfdb(d := case(F, "dupv1"), "r1", S, FS, leads=list(LEADS[:7])+["V1"]+list(LEADS[8:])), d)[1], None, want="reject")
# 8 leads
i8 = [0,1,6,7,8,9,10,11]
run(F, "8 leads derive", (wr_wfdb(d := case(F, "8lead"), "r1", S[i8], FS, leads=[LEADS[i] for i in i8]), d)[1], q(S), fs=FS, tol=3e-3)
# 15 leads
S15 = np.vstack([S, S[8:9]*0.9, S[10:11]*0.8, S[0:1]*0.5])
run(F, "15 leads V4R V7 X", (wr_wfdb(d := case(F, "15lead"), "r1", S15, FS, leads=list(LEADS)+["V4R","V7","X"]), d)[1], q(S), fs=FS)
run(F, "2.5 s strip", (wr_wfdb(d := case(F, "short"), "r1", S[:, :1250], FS), d)[1], q(S[:, :1250]), fs=FS)
L5 = np.tile(S, 30)
run(F, "5 min", (wr_wfdb(d := case(F, "5min"), "r1", L5, FS), d)[1], q(L5), fs=FS)
run(F, "257 Hz", (wr_wfdb(d := case(F, "257"), "r1", S, 257.0), d)[1], q(S), fs=257.0)
run(F, "1000 Hz", (wr_wfdb(d := case(F, "1000"), "r1", S, 1000.0), d)[1], q(S), fs=1000.0)
run(F, "fs 0", (wr_wfdb(d := case(F, "fs0"), "r1", S, 0.0), d)[1], None)
run(F, "fs negative", (wr_wfdb(d := case(F, "fsneg"), "r1", S, -500.0), d)[1], None, want="reject")
run(F, "name with spaces", (wr_wfdb(d := case(F, "sp"), "r 1 é", S, FS), d)[1], q(S), fs=FS)
run(F, "unicode name", (wr_wfdb(d := case(F, "uni"), "ré€", S, FS), d)[1], q(S), fs=FS)
d = case(F, "symlink"); wr_wfdb(d, "r1", S, FS); (d/"sub").mkdir(); os.symlink(d/"r1.hea", d/"sub"/"r2.hea"); os.symlink(d/"r1.dat", d/"sub"/"r2.dat")
run(F, "symlinked copy", d/"sub", q(S), fs=FS)
d = case(F, "emptyhea"); (d/"r1.hea").write_bytes(b""); run(F, "empty .hea", d, None)
d = case(F, "dirhea"); (d/"r1.hea").mkdir(); run(F, "dir named r1.hea", d, None)
# different rates per lead (samples per frame)
run(F, "header declares 13 signals has 12", (wr_wfdb(d := case(F, "nsig"), "r1", S, FS, recline="r1 13 500 5000"), d)[1], None)
# Georgia 2020 first line
run(F, "georgia recline r1.mat", (wr_wfdb(d := case(F, "georgia"), "r1", S, FS, recline="r1.dat 12 500 5000 05-Jun-2020 11:22:33"), d)[1], q(S), fs=FS)

def lim(s8):  # independent Goldberger: [I, II] -> 12 in LEADS order from 8 leads I,II,V1..V6
    I, II = s8[0], s8[1]
    return np.vstack([I, II, II - I, -(I + II) / 2, I - II / 2, II - I / 2, s8[2:]])
i8 = [0,1,6,7,8,9,10,11]
def muse(variant, mut=None, sig=S, fs=FS, expect="auto", name="m1.xml", tol=None, want="read", **kw):
    d = case("muse", variant); p = d / name
    q8 = write_muse(p, sig, fs, **kw)
    if mut: 
        b = p.read_bytes(); b2 = mut(b); p.write_bytes(b2)
    exp = lim(q8) if isinstance(expect, str) else expect
    run("muse", variant, d, exp, fs=fs if expect is not None else None, tol=tol, want=want)
    return d
muse("base")
muse("derived vs REAL III/aVR/aVL/aVF", expect=S, tol=1.5e-2)
muse("utf-8 BOM", lambda b: b"\xef\xbb\xbf" + b.replace(b'encoding="ISO-8859-1"', b'encoding="UTF-8"'))
muse("CRLF", lambda b: b.replace(b"\n", b"\r\n"))
muse("namespace", lambda b: b.replace(b"<RestingECG>", b'<RestingECG xmlns="urn:ge:muse">'))
muse("cut mid-element 60%", lambda b: b[: int(len(b) * .6)], expect=None)
muse("cut in last 200 bytes", lambda b: b[:-200], expect=None)
muse("empty file", lambda b: b"", expect=None)
muse("upb negative all", lambda b: b.replace(b"<LeadAmplitudeUnitsPerBit>4.88<", b"<LeadAmplitudeUnitsPerBit>-4.88<"), expect=None, want="reject")
muse("units MILLIVOLTS upb .00488", lambda b: b.replace(b"<LeadAmplitudeUnitsPerBit>4.88<", b"<LeadAmplitudeUnitsPerBit>0.00488<").replace(b"MICROVOLTS", b"MILLIVOLTS"))
muse("units latin-1 \xb5V", lambda b: b.replace(b"MICROVOLTS", "\u00b5V".encode("latin-1")))
muse("units utf-8 \xb5V declared latin-1", lambda b: b.replace(b"MICROVOLTS", "\u00b5V".encode("utf-8")))
muse("LeadSampleCountTotal larger", lambda b: re.sub(rb"<LeadSampleCountTotal>5000<", b"<LeadSampleCountTotal>6000<", b), expect=None)
muse("FirstSampleBaseline 100", lambda b: b.replace(b"<FirstSampleBaseline>0<", b"<FirstSampleBaseline>100<"))
muse("LeadID 'V1 ' and lowercase", lambda b: b.replace(b"<LeadID>V1<", b"<LeadID>V1 <").replace(b"<LeadID>V2<", b"<LeadID>v2<"))
muse("dup LeadID V2->V3", lambda b: b.replace(b"<LeadID>V2<", b"<LeadID>V3<"), expect=None, want="reject")
muse("1000 Hz (exp 1)", fs=1000.0, sig=np.repeat(S, 2, axis=1))
muse("257 Hz", fs=257.0)
muse("2.5 s", sig=S[:, :1250])
muse("5 min", sig=np.tile(S, 30))
muse("name space+unicode", name="m 1 é.xml")
muse("SampleBase 0", lambda b: b.replace(b"<SampleBase>500<", b"<SampleBase>0<"), expect=None, want="reject")
muse("bad base64 char", lambda b: b.replace(b"<WaveFormData>", b"<WaveFormData>@@", 9)[:], expect=None)

muse("upb 0 all", lambda b: b.replace(b"<LeadAmplitudeUnitsPerBit>4.88<", b"<LeadAmplitudeUnitsPerBit>0<"), expect=None, want="reject")
muse("LeadSampleCountTotal 0", lambda b: b.replace(b"<LeadSampleCountTotal>5000<", b"<LeadSampleCountTotal>0<"), expect=None)
def cs(variant, mut=None, sig=S, fs=FS, expect="auto", name="c1.xml", tol=None, want="read", **kw):
    d = case("cardiosoft", variant); p = d / name
    q = write_cardiosoft(p, sig, fs, **kw)
    if mut: p.write_bytes(mut(p.read_bytes()))
    exp = q if isinstance(expect, str) else expect
    run("cardiosoft", variant, d, exp, fs=fs if expect is not None else None, tol=tol, want=want)
cs("base")
cs("UKB name", name="1234567_20205_2_0.xml")
cs("utf-8 BOM", lambda b: b"\xef\xbb\xbf" + b.replace(b'encoding="ISO-8859-1"', b'encoding="UTF-8"'))
cs("CRLF", lambda b: b.replace(b"\n", b"\r\n"))
cs("cut mid-strip", lambda b: b[: int(len(b) * .7)], expect=None)
cs("cut before </CardiologyXML>", lambda b: b[: b.rfind(b"</CardiologyXML>") ], expect=None)
cs("Resolution 0", lambda b: b.replace(b'<Resolution units="uVperLsb">5<', b'<Resolution units="uVperLsb">0<'), expect=None, want="reject")
cs("Resolution -5", lambda b: b.replace(b'<Resolution units="uVperLsb">5<', b'<Resolution units="uVperLsb">-5<'), expect=None, want="reject")
cs("Resolution units latin-1 \xb5VperLsb", lambda b: b.replace(b'units="uVperLsb"', 'units="\u00b5VperLsb"'.encode("latin-1")))
cs("Resolution units utf-8 \xb5V/LSB", lambda b: b"\xef\xbb\xbf" + b.replace(b'encoding="ISO-8859-1"', b'encoding="UTF-8"').replace(b'units="uVperLsb"', 'units="\u00b5V/LSB"'.encode("utf-8")))
cs("Resolution mVperLsb 0.005", lambda b: b.replace(b'<Resolution units="uVperLsb">5<', b'<Resolution units="mVperLsb">0.005<'))
cs("ChannelSampleCountTotal 6000", lambda b: b.replace(b"<ChannelSampleCountTotal>5000<", b"<ChannelSampleCountTotal>6000<"))
cs("dup lead V2->V3", lambda b: b.replace(b'lead="V2"', b'lead="V3"'), expect=None, want="reject")
cs("lead spellings AVR/aVr/'V1 '", lambda b: b.replace(b'lead="aVR"', b'lead="AVR"').replace(b'lead="aVL"', b'lead="aVl"').replace(b'lead="V1"', b'lead="V1 "'))
d = case("cardiosoft", "8 leads"); q = write_cardiosoft(d/"c.xml", S[i8], FS, leads=[LEADS[i] for i in i8]); run("cardiosoft", "8 leads", d, lim(q), fs=FS)
S15 = np.vstack([S, S[8:9]*0.9, S[10:11]*0.8, S[0:1]*0.5])
d = case("cardiosoft", "15 leads"); q = write_cardiosoft(d/"c.xml", S15, FS, leads=list(LEADS)+["V4R","V7","X"]); run("cardiosoft", "15 leads", d, q[:12], fs=FS)
cs("257 Hz", fs=257.0)
cs("5 min", sig=np.tile(S, 30))
cs("NaN token", lambda b: b.replace(b'lead="V2">\n\t\t', b'lead="V2">\n\t\tNaN,', 1), expect=None)
cs("one lead short (other rate)", lambda b: re.sub(rb'(lead="V2">\n\t\t)((?:-?\d+,){100})', rb"\1", b), expect=None)
cs("namespace", lambda b: b.replace(b"<CardiologyXML>", b'<CardiologyXML xmlns="urn:x">'))
cs("empty", lambda b: b"", expect=None)
cs("only BOM", lambda b: b"\xef\xbb\xbf", expect=None)
d = case("cardiosoft", "dir named c.xml"); (d / "c.xml").mkdir(); run("cardiosoft", "dir named c.xml", d, None)
# aECG
def ae(variant, mut=None, sig=S, fs=FS, expect="auto", name="a1.xml", tol=None, want="read", **kw):
    d = case("aecg", variant); p = d / name
    q = write_aecg(p, sig, fs, **kw)
    if mut: p.write_bytes(mut(p.read_bytes()))
    exp = q if isinstance(expect, str) else expect
    run("aecg", variant, d, exp, fs=fs if expect is not None else None, tol=tol, want=want)
ae("base")
ae("origin 100 uV", origin_uv=100.0)
ae("BOM", lambda b: b"\xef\xbb\xbf" + b)
ae("CRLF", lambda b: b.replace(b"\n", b"\r\n"))
ae("cut", lambda b: b[: int(len(b) * .5)], expect=None)
ae("scale 0", lambda b: b.replace(b'<scale value="5"', b'<scale value="0"'), expect=None, want="reject")
ae("scale -5", lambda b: b.replace(b'<scale value="5"', b'<scale value="-5"'), expect=None, want="reject")
ae("scale unit mV 0.005", lambda b: b.replace(b'<scale value="5" unit="uV"', b'<scale value="0.005" unit="mV"'))
ae("unit \xb5V utf-8", lambda b: b.replace(b'unit="uV"', 'unit="\u00b5V"'.encode()))
ae("257 Hz", fs=257.0)
ae("1000 Hz", fs=1000.0, sig=np.repeat(S, 2, axis=1))
d = case("aecg", "8 leads"); q = write_aecg(d/"a.xml", S[i8], FS, leads=[LEADS[i] for i in i8]); run("aecg", "8 leads", d, lim(q), fs=FS)
ae("dup V2->V3", lambda b: b.replace(b"MDC_ECG_LEAD_V2", b"MDC_ECG_LEAD_V3"), expect=None, want="reject")
ae("NaN digit", lambda b: b.replace(b"<digits>", b"<digits>NaN ", 3), expect=None)
ae("one lead short", lambda b: re.sub(rb"(MDC_ECG_LEAD_V2.*?<digits>)((?:-?\d+ ){100})", rb"\1", b, count=1, flags=re.S), expect=None)


import pydicom
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian
def dc(variant, edit=None, sig=S, fs=FS, expect="auto", name="d1.dcm", want="read", leads=LEADS, tol=None, save=None, **kw):
    d = case("dicom", variant); p = d / name
    q = write_dicom(DCM, p, sig, fs, leads=leads, **kw)
    if edit or save:
        ds = pydicom.dcmread(p)
        if edit: edit(ds)
        if save: save(ds, p)
        else: ds.save_as(p)
    exp = q if isinstance(expect, str) else expect
    run("dicom", variant, d, exp, fs=fs if expect is not None else None, tol=tol, want=want)
dc("base")
def sens(v):
    def e(ds): ds.WaveformSequence[0].ChannelDefinitionSequence[0].ChannelSensitivity = v
    return e
dc("sensitivity 0", sens(0), expect=None, want="reject")
dc("sensitivity -2.5", sens(-2.5), expect=None, want="reject")
def baseline(ds):
    for ch in ds.WaveformSequence[0].ChannelDefinitionSequence: ch.ChannelBaseline = 0
dc("baseline 0 explicit", baseline)
def nsamp(v):
    def e(ds): ds.WaveformSequence[0].NumberOfWaveformSamples = v
    return e
dc("NumberOfWaveformSamples more", nsamp(6000), expect=None)
dc("NumberOfWaveformSamples less", nsamp(4000), expect=None)
def cut_data(ds):
    g = ds.WaveformSequence[0]; g.WaveformData = g.WaveformData[: len(g.WaveformData) // 2]
dc("WaveformData half", cut_data, expect=None)
dc("257 Hz", fs=257.0)
dc("2.5 s", sig=S[:, :1250])
dc("5 min", sig=np.tile(S, 30))
def big(ds, p):
    for g in ds.WaveformSequence:
        g.WaveformData = np.frombuffer(g.WaveformData, "<i2").astype(">i2").tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    ds.save_as(p, little_endian=False, implicit_vr=False, enforce_file_format=True) if False else pydicom.filewriter.dcmwrite(p, ds, little_endian=False, implicit_vr=False, force_encoding=True)
dc("big endian", save=big)
def deflate(ds, p):
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(p)
dc("deflated", save=deflate)
def implicit(ds, p):
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    pydicom.filewriter.dcmwrite(p, ds, little_endian=True, implicit_vr=True, force_encoding=True)
dc("implicit VR", save=implicit)
i8 = [0,1,6,7,8,9,10,11]
d = case("dicom", "8 leads"); q = write_dicom(DCM, d/"d.dcm", S[i8], FS, leads=[LEADS[i] for i in i8]); run("dicom", "8 leads", d, lim(q), fs=FS)
d = case("dicom", "cut file"); write_dicom(DCM, d/"d.dcm", S, FS); b = (d/"d.dcm").read_bytes(); (d/"d.dcm").write_bytes(b[: len(b)//2]); run("dicom", "cut file 50%", d, None)
d = case("dicom", "cut 300"); write_dicom(DCM, d/"d.dcm", S, FS); b = (d/"d.dcm").read_bytes(); (d/"d.dcm").write_bytes(b[: 300]); run("dicom", "cut at 300 bytes", d, None)
d = case("dicom", "dup"); q = write_dicom(DCM, d/"d.dcm", S, FS, leads=list(LEADS[:7])+["V1"]+list(LEADS[8:])); run("dicom", "dup V1", d, None, want="reject")
d = case("dicom", "spell"); q = write_dicom(DCM, d/"d.dcm", S, FS, leads=["I","II","III","AVR","aVl","AVF","V1 "]+list(LEADS[7:])); run("dicom", "spellings", d, q, fs=FS)
dc("mV unit", unit="mV", sensitivity=0.0025)
# EDF
def _ch(sig, names, unit="mV", lo=-10.0, hi=10.0, spr=500, prefix="ECG "):
    per = {"mV": 1.0, "uV": 1000.0, "\u00b5V": 1000.0, "V": 1e-3}[unit]
    return [edf_channel(f"{prefix}{n}", unit, row * per, lo * per, hi * per, -32768, 32767, spr) for n, row in zip(names, sig)]
step = 20.0 / 65535
def ed(variant, chans=None, expect="auto", sig=S, want="read", fs=FS, name="e1.edf", post=None, tol=None, **kw):
    d = case("edf", variant); p = d / name
    chans = chans or _ch(sig, LEADS)
    write_edf(p, chans, **kw)
    if post: p.write_bytes(post(p.read_bytes()))
    exp = sig if isinstance(expect, str) else expect
    run("edf", variant, d, exp, fs=fs if expect is not None else None, tol=tol or step, want=want)
ed("base")
ed("uV", _ch(S, LEADS, unit="uV"))
ed("\xb5V latin-1", _ch(S, LEADS, unit="\u00b5V"))
ed("annotations channel", _ch(S, LEADS) + [annotations_channel(10, 60)], reserved="EDF+C")
ed("truncated half", post=lambda b: b[: len(b) // 2], expect=None)
ed("header only", post=lambda b: b[: 256 * 13], expect=None)
ed("empty", post=lambda b: b"", expect=None)
ed("n_records -1", n_records=-1)
ed("n_records 20 (more than data)", n_records=20, expect=None)
def pminmax_eq(cs):
    cs[0]["written"] = {"pmax": "-10"}; return cs
ed("pmin==pmax lead I", pminmax_eq(_ch(S, LEADS)), expect=None, want="reject")
def dmin_eq(cs):
    cs[0]["written"] = {"dmax": "-32768"}; return cs
ed("dmin==dmax lead I", dmin_eq(_ch(S, LEADS)), expect=None, want="reject")
def inverted(cs):
    cs[0]["written"] = {"pmin": "10", "pmax": "-10"}; return cs
ed("pmin>pmax lead I (inverted)", inverted(_ch(S, LEADS)), expect=np.vstack([-S[0:1], S[1:]]), want="read")
ed("spr differs per lead (V1 at 250)", [*(_ch(S[:6], LEADS[:6])), *(_ch(S[6:7, ::2], LEADS[6:7], spr=250)), *(_ch(S[7:], LEADS[7:]))], expect=None)
ed("8 leads", _ch(S[i8], [LEADS[i] for i in i8]), expect=lim(S[i8]), tol=3 * step)
ed("lead names AVR/aVr/MLII", _ch(S, ["I","MLII","III","AVR","aVl","AVF"] + list(LEADS[6:]), prefix=""))
ed("15 leads", _ch(np.vstack([S, S[:3]]), list(LEADS) + ["V4R", "V7", "X"]))
ed("dup names", _ch(S, list(LEADS[:7]) + ["V1"] + list(LEADS[8:])), expect=None, want="reject")
ed("2.5 s (duration 0.5)", _ch(S[:, :1250], LEADS, spr=250), sig=S[:, :1250], duration=0.5)
ed("257 Hz (spr 257)", _ch(S[:, :2570], LEADS, spr=257), sig=S[:, :2570], fs=257.0)
ed("1000 Hz", _ch(np.repeat(S, 2, 1), LEADS, spr=1000), sig=np.repeat(S, 2, 1), fs=1000.0)
ed("saturated lead V2", _ch(np.where(np.arange(12)[:, None] == 7, 50.0, S), LEADS), expect=np.where(np.arange(12)[:, None] == 7, 10.0, S))


import h5py
def npz(variant, arr, expect, fs=FS, extra=None, want="read", leads=LEADS):
    d = case("npz", variant); kw = dict(signal=arr, fs=fs, leads=np.array(leads), units="mV")
    if extra: kw.update(extra)
    np.savez(d / "n1.npz", **kw); run("npz", variant, d, expect, fs=fs if expect is not None else None, want=want)
npz("base float64", S, S)
A = S.copy(); A[3, 100:110] = np.nan
npz("NaN gap", A, A)
B = S.copy(); B[3, 100:110] = np.inf
npz("Inf samples", B, None)
npz("units uV", S * 1000, S, extra={"units": "uV"})
npz("units \xb5V", S * 1000, S, extra={"units": "\u00b5V"})
npz("fs 0", S, None, fs=0.0, want="reject")
npz("fs nan", S, None, fs=np.nan, want="reject")
npz("transposed [T,12]", S.T.copy(), S)
npz("int16 counts no gain", np.round(S*1000).astype(np.int16), None)
npz("dup leads", S, None, leads=list(LEADS[:7]) + ["V1"] + list(LEADS[8:]), want="reject")
d = case("hdf5", "inf"); 
with h5py.File(d / "h.h5", "w") as f:
    ds = f.create_dataset("r1", data=B); ds.attrs["fs"] = 500.0; ds.attrs["leads"] = list(LEADS); ds.attrs["units"] = "mV"
run("hdf5", "Inf samples", d, None)
d = case("wfdb", "uv2"); 
wr_wfdb(d, "r1", S * 1000, FS, gain=1.0, units="uV"); run("wfdb", "units uV (gain 1)", d, np.round(S * 1000) / 1000, fs=FS)


import time
from test_ecg_xml_full_disclosure import write_full_disclosure
def fd(variant, sig=S, fs=FS, expect="auto", mut=None, want="read", leads=LEADS, tol=None, **kw):
    d = case("cs_fulldisc", variant); p = d / "f1.xml"
    q = write_full_disclosure(p, sig, fs, leads=leads, **kw)
    if mut: p.write_bytes(mut(p.read_bytes()))
    exp = q if isinstance(expect, str) else expect
    t = time.time(); run("cs_fulldisc", variant, d, exp, fs=fs if expect is not None else None, want=want, tol=tol); rows[-1] = rows[-1][:3] + (rows[-1][3] + f" [{time.time()-t:.2f}s]",)
    return q
fd("base")
fd("5 min", sig=np.tile(S, 30))
i8 = [0,1,6,7,8,9,10,11]
q = write_full_disclosure(case("cs_fulldisc", "tmp8")/"x.xml", S[i8], FS, leads=[LEADS[i] for i in i8])
I, II = q[0], q[1]
fd("8 leads", sig=S[i8], leads=[LEADS[i] for i in i8], expect=np.vstack([I, II, II - I, -(I + II) / 2, I - II / 2, II - I / 2, q[2:]]))
fd("spellings ' AVR', 'v1'", leads=["I","II","III"," AVR","aVl","AVF","v1"]+list(LEADS[7:]))
fd("10.5 s (half second left out)", sig=np.hstack([S, S[:, :250]]), expect=np.round(S*200)/200)
fd("257 Hz", fs=257.0, sig=S[:, :2570])
fd("CRLF + BOM", mut=lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n").replace(b'encoding="ISO-8859-1"', b'encoding="UTF-8"'))
fd("cut", mut=lambda b: b[: len(b) // 2], expect=None)
fd("Resolution without units", mut=lambda b: b.replace(b'<Resolution units="uVperLsb">', b"<Resolution>"))
fd("two FullDisclosureData", mut=lambda b: b.replace(b",\n\t", b"</FullDisclosureData><FullDisclosureData>", 1))
fd("dup lead in LeadOrder", leads=list(LEADS[:7]) + ["V1"] + list(LEADS[8:]), expect=None, want="reject")
fd("15 leads", sig=np.vstack([S, S[:3]]), leads=list(LEADS) + ["V4R", "V7", "X"], expect=None)


import scipy.io
src = SH / "cinc2021/E07500"
R = wfdb.rdrecord(str(src)); P = R.p_signal.T
hea = (SH / "cinc2021/E07500.hea").read_text()
val = scipy.io.loadmat(str(src) + ".mat")["val"]
def m(variant, arr=None, fmt="4", hea_text=hea, expect=P, mut=None, want="read"):
    d = case("cinc_mat", variant)
    (d / "E07500.hea").write_text(hea_text)
    if arr is not None:
        scipy.io.savemat(d / "E07500.mat", {"val": arr}, format=fmt)
    else:
        (d / "E07500.mat").write_bytes((SH / "cinc2021/E07500.mat").read_bytes())
    if mut: (d / "E07500.mat").write_bytes(mut((d / "E07500.mat").read_bytes()))
    run("cinc_mat", variant, d, expect, fs=500.0 if expect is not None else None, want=want)
m("base (real file)")
m("truncated .mat half", mut=lambda b: b[: len(b) // 2], expect=None)
m("truncated .mat header only", mut=lambda b: b[:20], expect=None)
m("empty .mat", mut=lambda b: b"", expect=None)
m("MAT v5", arr=val, fmt="5")
m("val as double", arr=val.astype(float), fmt="4")
m("val as int32", arr=val.astype(np.int32), fmt="4")
m("val transposed [5000,12]", arr=val.T.copy(), fmt="4", expect=None)
m("val 4000 samples, header 5000", arr=val[:, :4000].copy(), fmt="4", expect=None)
m("val 6000 samples, header 5000", arr=np.hstack([val, val[:, :1000]]), fmt="4")   # 12 rows: a cropped header
m("MAT v5, header +184 (its data's offset)", arr=val, fmt="5", hea_text=hea.replace("16x1+24", "16x1+184"))
m("val 11 rows", arr=val[:11].copy(), fmt="4", expect=None)
m("CRLF header", hea_text=hea.replace("\n", "\r\n"))


nock = "\n".join(re.sub(r"^(\S+ \S+ \S+ \S+ \S+ \S+) \S+ (\S+ .*)$", r"\1 0 \2", l) if i > 0 and not l.startswith("#") and l.strip() else l for i, l in enumerate(hea.splitlines())) + "\n"
nock2 = "\n".join(" ".join(l.split()[:5]) + " " + l.split()[-1] if i > 0 and 0 < i <= 12 else l for i, l in enumerate(hea.splitlines())) + "\n"
m("no checksum: real", hea_text=nock2)
m("no checksum: MAT v5", arr=val, fmt="5", hea_text=nock2, expect=None)
m("no checksum: MAT v5, header +184", arr=val, fmt="5", hea_text=nock2.replace("16x1+24", "16x1+184"))
m("no checksum: double", arr=val.astype(float), fmt="4", hea_text=nock2, expect=None)
m("no checksum: int32", arr=val.astype(np.int32), fmt="4", hea_text=nock2, expect=None)
m("no checksum: transposed", arr=val.T.copy(), fmt="4", hea_text=nock2, expect=None)
m("gain 0 one lead", hea_text=hea.replace(" 1000.0(0)/mV", " 0(0)/mV", 1), expect=None, want="reject")

# 15-signal .dat, 12-signal header, no checksums (wr_wfdb writes checksum field as initial value... check)
d = case("wfdb2", "dat has 15 signals, header 12")
S15 = np.vstack([S, S[:3] * 0.5])
wr_wfdb(d, "r1", S15, FS, leads=list(LEADS) + ["X", "Y", "Z"])
h = (d / "r1.hea").read_text().splitlines()
h[0] = "r1 12 500 5000"; h = h[:13]
(d / "r1.hea").write_text("\n".join(h) + "\n")
run("wfdb2", "dat has 15 signals, header 12 (no checksum)", d, None)
d = case("wfdb2", "dat has 8 signals header 12 size ok")
# 8-lead data written for 7500 samples -> same bytes as 12 x 5000
S8 = np.tile(S[[0,1,6,7,8,9,10,11]], 2)[:, :7500]
wr_wfdb(d, "r1", S8, FS, leads=["I","II","V1","V2","V3","V4","V5","V6"])
(d / "r1.hea").write_text("r1 12 500 5000\n" + "".join(f"r1.dat 16 1000(0)/mV 16 0 0 0 0 {L}\n" for L in LEADS))
run("wfdb2", "dat has 8 signals x 7500, header 12 x 5000 (no checksum)", d, None)
def dc(variant, edit, expect=None, want="read"):
    d = case("dicom2", variant); p = d / "d1.dcm"
    q = write_dicom(DCM, p, S, FS)
    ds = pydicom.dcmread(p); edit(ds); ds.save_as(p)
    run("dicom2", variant, d, q if expect == "auto" else expect, fs=FS if expect is not None else None, want=want)
def nounits(ds):
    for ch in ds.WaveformSequence[0].ChannelDefinitionSequence: del ch.ChannelSensitivityUnitsSequence
dc("no ChannelSensitivityUnitsSequence", nounits)
def nosens(ds):
    for ch in ds.WaveformSequence[0].ChannelDefinitionSequence: del ch.ChannelSensitivity
dc("no ChannelSensitivity", nosens)
def fs0(ds): ds.WaveformSequence[0].SamplingFrequency = 0
dc("SamplingFrequency 0", fs0, want="reject")
def unitmeaning(ds):
    for ch in ds.WaveformSequence[0].ChannelDefinitionSequence: ch.ChannelSensitivityUnitsSequence[0].CodeValue = "mV"
dc("unit code mV but sensitivity is uV", unitmeaning)
def bits8(ds): ds.WaveformSequence[0].WaveformBitsAllocated = 8
dc("bits allocated 8 but data int16", bits8)
def corr(ds):
    for ch in ds.WaveformSequence[0].ChannelDefinitionSequence: ch.ChannelSensitivityCorrectionFactor = 0
dc("correction factor 0", corr, want="reject")
def interp(ds): ds.WaveformSequence[0].WaveformSampleInterpretation = "UB"
dc("interpretation UB (unsigned byte) on 16-bit", interp)


shutil.rmtree(OUT, ignore_errors=True)
RESULTS = Path(__file__).resolve().parent / "results" / "hostile_ecg_matrix.md"
lines = ["# Hostile ECG files: variant x format (benchmarks/hostile_ecg_matrix.py)", "",
         "| format | variant | outcome | detail |", "|---|---|---|---|"]
for fmt, variant, outcome, detail in rows:
    detail = str(detail).replace(str(OUT), "").replace("|", "/")
    lines.append(f"| {fmt} | {variant} | {outcome} | {detail[:220]} |")
RESULTS.write_text("\n".join(lines) + "\n")
from collections import Counter
print(Counter(r[2] for r in rows))
