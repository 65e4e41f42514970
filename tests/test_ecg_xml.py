"""ECG XML readers (GE CardioSoft / UK Biobank field 20205, GE MUSE), checked against the same real
records read from WFDB. The XML files are written here in the published layouts from real PTB-XL and
CinC 2021 records quantised to the XML's resolution."""

from __future__ import annotations

import base64
import zlib

import numpy as np
import pytest

from edfgen.kernels.ecg import LEADS
from edfgen.formats.ecg.records import RecordRejected, discover_records, read_record
from edfgen.kernels.ecg.leads import canonicalise_leads, limb_leads
from edfgen.formats.ecg.xml import read_cardiosoft, read_muse, sniff_xml

MUSE_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def wfdb_records(shared_data):
    import wfdb

    ptb = shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"
    cinc = shared_data / "ecg" / "cinc2021" / "E07500"
    out = []
    for base in (ptb, cinc):
        ref = wfdb.rdrecord(str(base))  # independent of edfgen's readers: wfdb's physical signal
        names = [{"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}.get(n.upper(), n) for n in ref.sig_name]
        assert names == list(LEADS), names
        out.append((base.name, float(ref.fs), ref.p_signal.T.astype(np.float64)))
    return out


def write_cardiosoft(path, signal_mv, fs, *, resolution_uv=5.0, leads=LEADS):
    """A CardioSoft XML in the UK Biobank layout: declaration, DOCTYPE, median beats, then the strip."""
    counts = np.round(signal_mv * 1000.0 / resolution_uv).astype(int)
    median = "".join(f'<WaveformData lead="{n}">{",".join(map(str, c[:600]))}</WaveformData>\n'
                     for n, c in zip(leads, counts[:, ::-1]))
    strip = "".join(
        f'      <WaveformData lead="{n}">\n\t\t' + ",".join(map(str, c[:2500])) + ",\n\t\t"
        + ",".join(map(str, c[2500:])) + "\n      </WaveformData>\n" for n, c in zip(leads, counts))
    path.write_bytes(f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE CardiologyXML SYSTEM "CardiologyXML.dtd">
<CardiologyXML>
  <ObservationType>RestECG</ObservationType>
  <ObservationDateTime><Hour>9</Hour><Minute>5</Minute></ObservationDateTime>
  <PatientInfo><PID>0</PID><Name>anonymous</Name></PatientInfo>
  <RestingECGMeasurements>
    <VentricularRate units="BPM">60</VentricularRate>
    <MedianSamples>
      <NumberOfLeads>{len(leads)}</NumberOfLeads>
      <SampleRate units="Hz">{fs:g}</SampleRate>
      <ChannelSampleCountTotal>600</ChannelSampleCountTotal>
      <Resolution units="uVperLsb">{resolution_uv:g}</Resolution>
      {median}
    </MedianSamples>
  </RestingECGMeasurements>
  <StripData>
    <NumberOfLeads>{len(leads)}</NumberOfLeads>
    <SampleRate units="Hz">{fs:g}</SampleRate>
    <ChannelSampleCountTotal>{counts.shape[1]}</ChannelSampleCountTotal>
    <Resolution units="uVperLsb">{resolution_uv:g}</Resolution>
{strip}  </StripData>
  <FullDisclosure><FullDisclosureData>1,2,3</FullDisclosureData></FullDisclosure>
</CardiologyXML>
""".encode("latin-1"))
    return counts * resolution_uv / 1000.0


def write_muse(path, signal_mv, fs, *, units_per_bit=4.88, leads=LEADS, encoding="ISO-8859-1"):
    """A GE MUSE XML: a Median waveform first (must be ignored), then the Rhythm one with 8 leads; each lead carries
    the CRC-32 of its samples' bytes (``LeadDataCRC32``, as MUSE writes it and the ECG Conversion Toolkit checks it)."""
    idx = [list(leads).index(n) for n in MUSE_LEADS]
    counts = np.round(signal_mv[idx] * 1000.0 / units_per_bit).astype("<i2")
    exp = 0
    base = fs
    if fs >= 1000 and fs % 10 == 0:  # exercise SampleExponent
        base, exp = fs / 10, 1

    def lead_data(name, c, n):
        b64 = base64.b64encode(c.tobytes()).decode()
        wrapped = "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
        return f"""      <LeadData>
        <LeadByteCountTotal>{2 * n}</LeadByteCountTotal>
        <LeadTimeOffset>0</LeadTimeOffset>
        <LeadSampleCountTotal>{n}</LeadSampleCountTotal>
        <LeadAmplitudeUnitsPerBit>{units_per_bit:g}</LeadAmplitudeUnitsPerBit>
        <LeadAmplitudeUnits>MICROVOLTS</LeadAmplitudeUnits>
        <LeadHighLimit>32767</LeadHighLimit>
        <LeadLowLimit>-32768</LeadLowLimit>
        <LeadID>{name}</LeadID>
        <LeadOffsetFirstSample>0</LeadOffsetFirstSample>
        <FirstSampleBaseline>0</FirstSampleBaseline>
        <LeadSampleSize>2</LeadSampleSize>
        <LeadOff>FALSE</LeadOff>
        <BaselineSway>FALSE</BaselineSway>
        <LeadDataCRC32>{zlib.crc32(c.tobytes())}</LeadDataCRC32>
        <WaveFormData>{wrapped}</WaveFormData>
      </LeadData>
"""
    median = "".join(lead_data(n, c[:600][::-1].copy(), 600) for n, c in zip(MUSE_LEADS, counts))
    rhythm = "".join(lead_data(n, c, counts.shape[1]) for n, c in zip(MUSE_LEADS, counts))
    text = f"""<?xml version="1.0" encoding="{encoding}"?>
<!DOCTYPE RestingECG SYSTEM "restecg.dtd">
<RestingECG>
  <MuseInfo><MuseVersion>9.0.9.18167</MuseVersion></MuseInfo>
  <PatientDemographics><PatientID>12345</PatientID></PatientDemographics>
  <Waveform>
    <WaveformType>Median</WaveformType>
    <NumberofLeads>8</NumberofLeads>
    <SampleType>CONTINUOUS_SAMPLES</SampleType>
    <SampleBase>{base:g}</SampleBase>
    <SampleExponent>{exp}</SampleExponent>
{median}  </Waveform>
  <Waveform>
    <WaveformType>Rhythm</WaveformType>
    <WaveformStartTime>0</WaveformStartTime>
    <NumberofLeads>8</NumberofLeads>
    <SampleType>CONTINUOUS_SAMPLES</SampleType>
    <SampleBase>{base:g}</SampleBase>
    <SampleExponent>{exp}</SampleExponent>
    <HighPassFilter>16</HighPassFilter>
    <LowPassFilter>150</LowPassFilter>
    <ACFilter>60</ACFilter>
{rhythm}  </Waveform>
</RestingECG>
"""
    path.write_bytes(text.encode("utf-16" if encoding.lower() == "utf-16" else "latin-1"))
    return counts.astype(np.float64) * units_per_bit / 1000.0


def test_read_cardiosoft__strip_matches_wfdb_within_resolution(wfdb_records, tmp_path):
    for k, (name, fs, sig) in enumerate(wfdb_records):
        res = 5.0 if k == 0 else 2.5
        f = tmp_path / f"{1000017 + k}_20205_2_0.xml"
        quantised = write_cardiosoft(f, sig, fs, resolution_uv=res)
        assert sniff_xml(f) == "cardiosoft"
        rec = read_cardiosoft(f)
        assert rec.record_id == str(1000017 + k)  # UK Biobank eid from the bulk file name
        assert rec.fs == fs and rec.leads == LEADS and rec.signal.shape == sig.shape
        np.testing.assert_allclose(rec.signal, quantised, atol=1e-5)  # exact counts x resolution
        np.testing.assert_allclose(rec.signal, sig, atol=res / 2000 + 1e-6)  # WFDB within half an LSB


def test_read_muse__rhythm_leads_and_derived_limb_leads_match_wfdb(wfdb_records, tmp_path):
    for k, (name, fs, sig) in enumerate(wfdb_records):
        f = tmp_path / f"MUSE_{name}.xml"
        quantised = write_muse(f, sig, fs, encoding="utf-16" if k else "ISO-8859-1")
        assert sniff_xml(f) == "muse"
        rec = read_muse(f)
        assert rec.record_id == f"MUSE_{name}" and rec.fs == fs and rec.leads == MUSE_LEADS
        np.testing.assert_allclose(rec.signal, quantised, atol=1e-5)
        canon = canonicalise_leads(rec)
        assert canon.leads == LEADS and any("derived III, aVR, aVL, aVF" in n for n in canon.notes)
        stored = [LEADS.index(n) for n in MUSE_LEADS]
        np.testing.assert_allclose(canon.signal[stored], sig[stored], atol=4.88 / 2000 + 1e-6)
        # derived leads: Einthoven/Goldberger on WFDB's I and II, within the quantisation of I and II
        ref = limb_leads(sig[0], sig[1])
        for lead, r in ref.items():
            np.testing.assert_allclose(canon.signal[LEADS.index(lead)], r, atol=1.5 * 4.88 / 1000 + 1e-6)
            # and close to the recorded lead itself (the recorders derive them the same way)
            assert np.corrcoef(canon.signal[LEADS.index(lead)], sig[LEADS.index(lead)])[0, 1] > 0.99


def test_read_muse__sample_exponent_gives_the_rate(wfdb_records, tmp_path):
    from scipy import signal as sps

    _, fs, sig = wfdb_records[1]
    up = sps.resample_poly(sig, 2, 1, axis=1)
    write_muse(tmp_path / "hi.xml", up, 2 * fs)  # SampleBase 100, SampleExponent 1
    rec = read_muse(tmp_path / "hi.xml")
    assert rec.fs == 1000.0 and rec.signal.shape == (8, 2 * sig.shape[1])


def test_discover_records__xml_by_content_with_ids_and_reasons(wfdb_records, tmp_path):
    name, fs, sig = wfdb_records[0]
    d = tmp_path / "xml"
    d.mkdir()
    write_cardiosoft(d / "2000001_20205_2_0.xml", sig, fs)
    write_muse(d / "M1.XML", sig, fs)
    write_muse(d / "notes.txt", sig, fs)  # not listed from a directory (only .xml is)
    (d / "broken.xml").write_text('<?xml version="1.0"?>\n<RestingECG><Waveform><WaveformType>Rhythm')
    (d / "other.xml").write_text('<?xml version="1.0"?>\n<!-- a comment --><config><a>1</a></config>')
    (d / "aecg.xml").write_text('<?xml version="1.0"?>\n<AnnotatedECG xmlns="urn:hl7-org:v3"><id/></AnnotatedECG>')
    (d / "nostrip.xml").write_text("<CardiologyXML><PatientInfo/></CardiologyXML>")
    (d / "badb64.xml").write_text("<RestingECG><Waveform><WaveformType>Rhythm</WaveformType><SampleBase>500"
                                  "</SampleBase><LeadData><LeadID>I</LeadID><LeadAmplitudeUnitsPerBit>4.88"
                                  "</LeadAmplitudeUnitsPerBit><WaveFormData>@@notb64@@</WaveFormData></LeadData>"
                                  "</Waveform></RestingECG>")
    (d / "text.xml").write_text("just text, no XML")
    refs = {r.record_id: r for r in discover_records([d])}
    assert {r: refs[r].fmt for r in refs} == {
        "2000001": "cardiosoft", "M1": "muse", "broken": "muse", "other": "xml", "aecg": "aecg",
        "nostrip": "cardiosoft", "badb64": "muse", "text": "notxml"}
    assert read_record(refs["2000001"]).leads == LEADS
    reasons = {}
    for rid in ("broken", "other", "aecg", "nostrip", "badb64", "text"):
        with pytest.raises(RecordRejected) as e:
            read_record(refs[rid])
        reasons[rid] = e.value.reason
    assert "malformed XML" in reasons["broken"]
    assert "not an ECG layout" in reasons["other"]
    assert "HL7 aECG" in reasons["aecg"]
    assert "no <StripData>" in reasons["nostrip"]
    assert "not base64" in reasons["badb64"]
    assert "not an XML file" in reasons["text"]
    # a file given by name is read by content whatever its extension
    (ref,) = discover_records([d / "notes.txt"])
    assert ref.fmt == "muse" and read_record(ref).signal.shape == (8, sig.shape[1])


def test_cli_extract__directory_of_xml_end_to_end(wfdb_records, tmp_path):
    """`edfgen extract --ecg DIR_OF_XML` gives the EDFs of the same ECGs read from WFDB."""
    import pandas as pd
    import torch
    from click.testing import CliRunner

    from edfgen.cli import cli
    from edfgen.formats.ecg.records import EcgRecord
    from edfgen.kernels.ecg.preprocess import preprocess
    from edfgen.kernels.ecg.preprocessing_config import Preprocessing
    from edfgen.model.checkpoint import load_checkpoint, save_checkpoint
    from edfgen.model.config import get_config
    from edfgen.model.encoder import ECGEncoder

    torch.manual_seed(0)
    cfg = get_config("tiny")
    ckpt = save_checkpoint(ECGEncoder(cfg), cfg, Preprocessing(), tmp_path / "ck" / "rand")
    d = tmp_path / "xml"
    d.mkdir()
    quantised = {}
    for k, (name, fs, sig) in enumerate(wfdb_records):
        quantised[str(3000001 + k)] = write_cardiosoft(d / f"{3000001 + k}_20205_2_0.xml", sig, fs)
        q = write_muse(d / f"muse_{name}.xml", sig, fs)
        quantised[f"muse_{name}"] = np.concatenate([q[:2], np.zeros((4, q.shape[1])), q[2:]])
        i, ii = q[0], q[1]
        for lead, r in limb_leads(i, ii).items():
            quantised[f"muse_{name}"][LEADS.index(lead)] = r
    (d / "bad.xml").write_text("<RestingECG><Waveform><WaveformType>Median</WaveformType></Waveform></RestingECG>")
    out = tmp_path / "o" / "edfs.tsv"
    r = CliRunner().invoke(cli, ["extract", "--ecg", str(d), "--out", str(out), "--checkpoint", str(ckpt),
                                 "--workers", "0", "-q"])
    assert r.exit_code == 0, r.output
    got = pd.read_csv(out, sep="\t", dtype={"IID": str}).set_index("IID")
    assert sorted(got.index) == sorted(quantised)
    rejects = pd.read_csv(out.parent / "edfs.tsv.rejects.tsv", sep="\t", dtype=str)  # <out>.rejects.tsv
    assert rejects["reason"].str.contains("no <Waveform> with WaveformType Rhythm").any()
    # reference: the WFDB-read signal quantised the same way, preprocessed and embedded directly
    loaded = load_checkpoint(ckpt)
    model = loaded.model.eval()
    for rid, sig in quantised.items():
        rec = EcgRecord(rid, sig.astype(np.float32), 500.0, LEADS)
        x = torch.from_numpy(preprocess(rec, loaded.preprocessing))
        with torch.no_grad():
            n = x.shape[-1] // 2
            ref = model.embed(torch.stack([x[:, :n], x[:, n:]])).mean(dim=0).numpy()
        np.testing.assert_allclose(got.loc[rid].to_numpy(), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["default", "prefixed"])
def test_read_muse_and_cardiosoft__xml_namespaces_read(wfdb_records, tmp_path, kind):
    """Was a reject with a wrong reason ("no <Waveform> with WaveformType Rhythm (has: none)", "no <StripData>"):
    the root was matched without its namespace but the children looked up by plain names. Reference: the same
    file without a namespace."""
    import re

    def namespaced(text: str, root: str) -> bytes:
        if kind == "default":
            text = text.replace(f"<{root}>", f'<{root} xmlns="urn:gehealthcare:{root.lower()}">')
        else:  # every element prefixed m:, attributes too
            text = re.sub(r"<(/?)(?!\?|!)([A-Za-z])", r"<\1m:\2", text)
            text = text.replace(f"<m:{root}>", f'<m:{root} xmlns:m="urn:gehealthcare:{root.lower()}">')
            text = text.replace(' lead="', ' m:lead="')
        return text.encode("latin-1")

    _read_as_the_plain_file(wfdb_records, tmp_path, "ns", namespaced)


def test_read_muse__an_empty_first_rhythm_waveform_is_skipped(wfdb_records, tmp_path):
    """Was a reject ("Rhythm waveform: no <LeadData>"): the first Rhythm waveform was taken even when empty."""
    _, fs, sig = wfdb_records[0]
    plain = tmp_path / "plain.xml"
    want = write_muse(plain, sig, fs)
    text = plain.read_bytes().decode("latin-1")
    empty = "  <Waveform>\n    <WaveformType>Rhythm</WaveformType>\n    <SampleBase>500</SampleBase>\n  </Waveform>\n"
    i = text.index("  <Waveform>\n    <WaveformType>Rhythm")
    (tmp_path / "two.xml").write_bytes((text[:i] + empty + text[i:]).encode("latin-1"))
    rec = read_muse(tmp_path / "two.xml")
    assert rec.leads == MUSE_LEADS
    np.testing.assert_allclose(rec.signal, want, atol=1e-5)


def test_read_cardiosoft__sample_rate_units_spelled_hertz(wfdb_records, tmp_path):
    """`<SampleRate units="Hertz">` was refused ("SampleRate units 'hertz', expected Hz"; review finding)."""
    name, fs, sig = wfdb_records[0]
    f = tmp_path / "1000017_20205_2_0.xml"
    write_cardiosoft(f, sig, fs)
    f.write_bytes(f.read_bytes().replace(b'<SampleRate units="Hz">', b'<SampleRate units="Hertz">'))
    rec = read_cardiosoft(f)
    assert rec.fs == fs and rec.signal.shape == sig.shape


@pytest.mark.parametrize("variant", ["utf16le_bom_declared_latin1", "utf16be_bom_declared_latin1",
                                     "utf8_bom_declared_utf16", "utf16le_no_bom", "undeclared_latin1_name",
                                     "declared_utf8_latin1_name", "blank_line_before_declaration"])
def test_read_xml__encoding_declaration_at_odds_with_the_bytes_still_reads_the_waveform(wfdb_records, tmp_path,
                                                                                        variant):
    """Was a reject of the whole ECG ("malformed XML (encoding specified in XML declaration is incorrect ...)",
    "... (not well-formed (invalid token) ...)", "XML or text declaration not at start of entity", or "not an XML
    file" for UTF-16 without a byte-order mark) for files whose text encoding and declaration disagree: a Windows
    tool re-saving an export as UTF-16 with its ``ISO-8859-1`` declaration kept, a patient name in Latin-1 under a
    UTF-8 (or no) declaration, a blank line written before the declaration. The waveform (base64, comma-separated
    counts) is ASCII whatever the text encoding, so the record must read as the well-declared file does."""
    def reencoded(text: str, root: str) -> bytes:
        body = text.split("?>", 1)[1]
        named = text.replace(f"<{root}>", f"<{root}><!-- M\u00fcller, Jos\u00e9 -->", 1)
        return {"utf16le_bom_declared_latin1": b"\xff\xfe" + text.encode("utf-16-le"),
                "utf16be_bom_declared_latin1": b"\xfe\xff" + text.encode("utf-16-be"),
                "utf8_bom_declared_utf16": b"\xef\xbb\xbf" + text.replace("ISO-8859-1", "UTF-16").encode(),
                "utf16le_no_bom": ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16-le"),
                "undeclared_latin1_name": named.split("?>", 1)[1].lstrip().encode("latin-1"),
                "declared_utf8_latin1_name": named.replace("ISO-8859-1", "UTF-8").encode("latin-1"),
                "blank_line_before_declaration": b"\r\n\r\n" + text.encode("latin-1")}[variant]

    _read_as_the_plain_file(wfdb_records, tmp_path, variant, reencoded)


def _read_as_the_plain_file(wfdb_records, tmp_path, name: str, variant_of) -> None:
    """A real record written as MUSE and as CardioSoft XML, then as ``variant_of(text, root element) -> bytes``:
    sniffed as the same layout, read to the same leads, rate and samples as the plain file."""
    _, fs, sig = wfdb_records[0]
    for write, read, root in ((write_muse, read_muse, "RestingECG"), (write_cardiosoft, read_cardiosoft,
                                                                      "CardiologyXML")):
        plain = tmp_path / f"plain_{root}.xml"
        write(plain, sig, fs)
        odd = tmp_path / f"{name}_{root}.xml"
        odd.write_bytes(variant_of(plain.read_bytes().decode("latin-1"), root))
        assert sniff_xml(odd) == sniff_xml(plain)
        a, b = read(plain), read(odd)
        assert a.leads == b.leads and a.fs == b.fs
        np.testing.assert_array_equal(a.signal, b.signal)


def test_read_muse__a_lead_whose_samples_fail_their_crc32_is_a_reject(wfdb_records, tmp_path):
    """Was read as if intact: one base64 character changed in lead V2 (still valid base64, same length, so the
    sample count checks pass) gave 8 plausible leads with one sample silently wrong. MUSE stores the CRC-32 of each
    lead's bytes (``LeadDataCRC32``; the ECG Conversion Toolkit refuses a file whose CRC fails); a CRC of 0 (what
    converters that do not compute it write) or none is not checked."""
    import re

    _, fs, sig = wfdb_records[0]
    good = tmp_path / "good.xml"
    want = write_muse(good, sig, fs)
    text = good.read_text(encoding="latin-1")
    np.testing.assert_allclose(read_muse(good).signal, want, atol=1e-5)      # the CRCs written are MUSE's CRC-32
    rhythm = text.index("<WaveformType>Rhythm")
    lead = text.index("<LeadID>V2</LeadID>", rhythm)
    at = text.index("<WaveFormData>", lead) + len("<WaveFormData>") + 40
    flipped = text[:at] + ("B" if text[at] != "B" else "C") + text[at + 1:]
    (tmp_path / "bad.xml").write_bytes(flipped.encode("latin-1"))
    with pytest.raises(RecordRejected) as e:
        read_muse(tmp_path / "bad.xml")
    assert "LeadData V2" in e.value.reason and "CRC" in e.value.reason and "\n" not in e.value.reason
    # unchecked: a CRC of 0 or none at all (converted files)
    for i, edit in enumerate((r"<LeadDataCRC32>0</LeadDataCRC32>", "")):
        unchecked = re.sub(r"<LeadDataCRC32>\d+</LeadDataCRC32>", edit, flipped)
        (tmp_path / f"u{i}.xml").write_bytes(unchecked.encode("latin-1"))
        assert read_muse(tmp_path / f"u{i}.xml").signal.shape == want.shape


@pytest.mark.parametrize("variant", ["strip_wrapped", "lead_attribute_capitalised"])
def test_read_cardiosoft__strip_inside_a_strip_element_or_a_capitalised_lead_attribute(wfdb_records, tmp_path,
                                                                                        variant):
    """Were rejects ("CardiologyXML: no <StripData>", "a <WaveformData> without a lead attribute"): CardioSoft
    versions that put the strip in ``<Strip><StripData>`` (the layout the UK Biobank parser of Manohar et al. falls
    back to) or spell the attribute ``Lead=`` (BRAVEHEART's ``load_cardiosoftxml.m`` matches it case-blind "because
    some different versions use different capital letters"). Reference: the same file in the usual layout."""
    _, fs, sig = wfdb_records[0]
    plain = tmp_path / "1000017_20205_2_0.xml"
    write_cardiosoft(plain, sig, fs)
    text = plain.read_text(encoding="latin-1")
    if variant == "strip_wrapped":
        text = text.replace("<StripData>", "<Strip><StripData>").replace("</StripData>", "</StripData></Strip>")
    else:
        text = text.replace('<WaveformData lead="', '<WaveformData Lead="')
    odd = tmp_path / "1000018_20205_2_0.xml"
    odd.write_bytes(text.encode("latin-1"))
    a, b = read_cardiosoft(plain), read_cardiosoft(odd)
    assert a.leads == b.leads == LEADS and a.fs == b.fs
    np.testing.assert_array_equal(a.signal, b.signal)


def test_read_xml__a_large_file_refused_by_the_parser_is_not_read_whole_again(wfdb_records, tmp_path, monkeypatch):
    """The second reading (as text, for encoding declarations at odds with the bytes) reads the whole file into
    memory; above MAX_REPARSE_BYTES a refused file keeps the parser's reason instead (a multi-GB non-XML file named
    .xml must not be loaded to be rejected)."""
    import edfgen.formats.ecg.common as common

    _, fs, sig = wfdb_records[0]
    p = tmp_path / "m.xml"
    write_muse(p, sig, fs)
    p.write_bytes(b"\xff\xfe" + p.read_text(encoding="latin-1").encode("utf-16-le"))   # read only the second way
    assert read_muse(p).leads == MUSE_LEADS
    monkeypatch.setattr(common, "MAX_REPARSE_BYTES", p.stat().st_size - 1)
    with pytest.raises(RecordRejected, match="malformed XML .*encoding specified in XML declaration is incorrect"):
        read_muse(p)


def test_read_muse__leads_that_start_at_different_samples_are_a_reject(wfdb_records, tmp_path):
    """Was read as simultaneous: a lead whose ``LeadOffsetFirstSample`` differs from the others' starts at another
    sample of the recording (the ECG Conversion Toolkit places it there; BRAVEHEART refuses any nonzero offset), so
    its samples were misaligned by that many samples against the other leads, and III, aVR, aVL, aVF derived from a
    shifted I or II. Equal offsets on every lead (all 0 in MUSE's exports) are one simultaneous recording."""
    _, fs, sig = wfdb_records[0]
    p = tmp_path / "m.xml"
    want = write_muse(p, sig, fs)
    text = p.read_text(encoding="latin-1")
    rhythm = text.index("<WaveformType>Rhythm")
    same = text[:rhythm] + text[rhythm:].replace("<LeadOffsetFirstSample>0<", "<LeadOffsetFirstSample>12<")
    (tmp_path / "same.xml").write_bytes(same.encode("latin-1"))
    np.testing.assert_allclose(read_muse(tmp_path / "same.xml").signal, want, atol=1e-5)
    at = text.index("<LeadID>V1</LeadID>", rhythm)
    shifted = text[:at] + text[at:].replace("<LeadOffsetFirstSample>0<", "<LeadOffsetFirstSample>12<", 1)
    (tmp_path / "shifted.xml").write_bytes(shifted.encode("latin-1"))
    with pytest.raises(RecordRejected) as e:
        read_muse(tmp_path / "shifted.xml")
    assert "LeadOffsetFirstSample" in e.value.reason and "V1 12" in e.value.reason and "I 0" in e.value.reason
    # a whole number written as a decimal is that number; a value that is no number is not checked (review rev37a
    # F3: '0.0' and 'N/A' rejected the record, while BASE never read the field)
    for value, read in (("0.0", True), ("12.0", False), ("N/A", True)):
        odd = text[:at] + text[at:].replace("<LeadOffsetFirstSample>0<", f"<LeadOffsetFirstSample>{value}<", 1)
        (tmp_path / "odd.xml").write_bytes(odd.encode("latin-1"))
        if read:
            np.testing.assert_allclose(read_muse(tmp_path / "odd.xml").signal, want, atol=1e-5)
        else:
            with pytest.raises(RecordRejected, match="V1 12, "):
                read_muse(tmp_path / "odd.xml")


@pytest.mark.parametrize("micro", ["\u00b5", "\u03bc"], ids=["micro sign", "greek mu"])
def test_read_xml__micro_sign_in_utf_8_under_a_latin_1_declaration_reads_as_microvolts(wfdb_records, tmp_path, micro):
    """A converter that re-saves an export in UTF-8 but keeps its ``ISO-8859-1`` declaration turns the unit ``µV``
    into the two characters ``Âµ`` + ``V`` (``Î¼V`` for the Greek mu): the record was rejected ("unknown amplitude
    units 'ÂµV'"). Read as microvolts, the same samples as the ASCII unit (MUSE ``LeadAmplitudeUnits``, CardioSoft
    ``Resolution units=``)."""
    _, fs, sig = wfdb_records[0]
    utf8_as_latin1 = (micro + "V").encode("utf-8")
    for write, read, old in ((write_muse, read_muse, b"MICROVOLTS"),
                             (write_cardiosoft, read_cardiosoft, b'units="uVperLsb"')):
        plain, odd = tmp_path / "plain.xml", tmp_path / "odd.xml"
        write(plain, sig, fs)
        new = utf8_as_latin1 if write is write_muse else b'units="' + utf8_as_latin1 + b'perLsb"'
        odd.write_bytes(plain.read_bytes().replace(old, new))
        assert plain.read_bytes().count(old) > 0 and b'encoding="ISO-8859-1"' in odd.read_bytes()
        np.testing.assert_array_equal(read(odd).signal, read(plain).signal)


@pytest.mark.parametrize("baseline", [100, -100, 1000])
def test_read_muse__first_sample_baseline_does_not_change_the_encoders_input(wfdb_records, tmp_path, baseline):
    """``<FirstSampleBaseline>`` is not applied (module docstring: readers disagree on its sign). Applied either way
    it is one constant per lead; the preprocessing band-pass removes it, so what the encoder sees (and the EDFs) is
    the same whichever reading is right: checked here on a real record, adding and subtracting it."""
    import dataclasses

    from edfgen.kernels.ecg.preprocess import preprocess

    _, fs, sig = wfdb_records[0]
    path = tmp_path / "m.xml"
    write_muse(path, sig, fs)
    path.write_bytes(path.read_bytes().replace(b"<FirstSampleBaseline>0<", f"<FirstSampleBaseline>{baseline}<".encode()))
    rec = read_muse(path)
    ref = preprocess(rec)
    for sign in (1, -1):
        shifted = dataclasses.replace(rec, signal=rec.signal + np.float32(sign * baseline * 4.88e-3))
        np.testing.assert_allclose(preprocess(shifted), ref, atol=1e-5)
