"""HL7 aECG reader (edfgen.formats.ecg.aecg), checked against real PTB-XL and CinC 2021 records written in the
aECG layout of the HL7 implementation guide and compared with the signal ``wfdb.rdrecord`` reads from WFDB."""

from __future__ import annotations

import re

import numpy as np
import pytest

from edfgen.formats.ecg.aecg import read_aecg
from edfgen.formats.ecg.records import RecordRejected, discover_records, read_record
from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.leads import canonicalise_leads

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<AnnotatedECG xmlns="urn:hl7-org:v3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" classCode="OBS" moodCode="EVN">\n'
        '<id root="61d1a24f-b47e-41aa-ae95-f8ac302f4eeb"/><code code="93000" codeSystem="2.16.840.1.113883.6.12"/>\n')
MDC = {"aVR": "AVR", "aVL": "AVL", "aVF": "AVF"}


@pytest.fixture(scope="module")
def wfdb_records(shared_data):
    import wfdb

    out = []
    for base in (shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr",
                 shared_data / "ecg" / "cinc2021" / "E07500"):
        ref = wfdb.rdrecord(str(base))
        names = [{"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}.get(n.upper(), n) for n in ref.sig_name]
        assert names == list(LEADS), names
        out.append((base.name, float(ref.fs), ref.p_signal.T.astype(np.float64)))
    return out


def _time(fs: float, head: str = "20021122091000.000", relative: bool = False) -> str:
    if relative:
        return ('<component><sequence><code code="TIME_RELATIVE" codeSystem="2.16.840.1.113883.5.4"/>'
                f'<value xsi:type="GLIST_PQ"><head value="0" unit="s"/><increment value="{1000.0 / fs:g}" '
                'unit="ms"/></value></sequence></component>\n')
    return ('<component><sequence><code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.5.4"/>'
            f'<value xsi:type="GLIST_TS"><head value="{head}"/><increment value="{1.0 / fs:g}" unit="s"/>'
            '</value></sequence></component>\n')


def _lead(name: str, digits, *, scale=5.0, origin=0.0, unit="uV") -> str:
    return ('<component><sequence><code code="MDC_ECG_LEAD_' + MDC.get(name, name) + '" '
            'codeSystem="2.16.840.1.113883.6.24"/><value xsi:type="SLIST_PQ">'
            f'<origin value="{origin:g}" unit="{unit}"/><scale value="{scale:g}" unit="{unit}"/>'
            f'<digits>{" ".join(map(str, digits))}</digits></value></sequence></component>\n')


def write_aecg(path, sig_mv, fs, *, leads=LEADS, scale_uv=5.0, origin_uv=0.0, sets=1, relative=False,
               derived=True) -> np.ndarray:
    """An aECG file of ``sig_mv`` [L, T]: the rhythm series split into ``sets`` simultaneous sequence sets, and a
    derived (representative beat) series that must not be read. Returns the quantised signal in mV."""
    counts = np.round((sig_mv * 1000.0 - origin_uv) / scale_uv).astype(int)
    groups = np.array_split(np.arange(len(leads)), sets)
    body = ""
    for g in groups:
        body += ("<component><sequenceSet>\n" + _time(fs, relative=relative)
                 + "".join(_lead(leads[i], counts[i], scale=scale_uv, origin=origin_uv) for i in g)
                 + "</sequenceSet></component>\n")
    beat = ""
    if derived:  # 1.2 s representative beat at 1 kHz with other values: must be ignored
        beat = ('<derivation><derivedSeries><code code="REPRESENTATIVE_BEAT"/><component><sequenceSet>\n'
                + _time(1000.0) + "".join(_lead(n, [7] * 1200) for n in leads)
                + "</sequenceSet></component></derivedSeries></derivation>\n")
    path.write_text(HEAD + '<component><series><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>\n'
                    + body + beat + "</series></component>\n</AnnotatedECG>\n")
    return (counts * scale_uv + origin_uv) / 1000.0


@pytest.mark.parametrize("sets,relative", [(1, False), (4, False), (1, True)])
def test_read_aecg__real_records_equal_wfdb(wfdb_records, tmp_path, sets, relative):
    """Real PTB-XL / CinC 2021 records in the aECG layout (one or four simultaneous sequence sets, absolute or relative
    time, a nonzero origin) read back as wfdb reads them from WFDB, to the quantisation step; the derived beat series
    is ignored."""
    for name, fs, sig in wfdb_records:
        q = write_aecg(tmp_path / f"{name}.xml", sig, fs, sets=sets, relative=relative, origin_uv=-2.5)
        rec = read_aecg(tmp_path / f"{name}.xml")
        assert rec.record_id == name and rec.fs == fs and rec.signal.shape == sig.shape
        np.testing.assert_allclose(rec.signal, q, atol=1e-6)
        canon = canonicalise_leads(rec)
        assert canon.leads == LEADS
        np.testing.assert_allclose(canon.signal, sig, atol=2.5e-3 + 1e-6)


def test_discover__aecg_by_content_and_read(wfdb_records, tmp_path):
    name, fs, sig = wfdb_records[0]
    write_aecg(tmp_path / "trial_0001.xml", sig, fs)
    (ref,) = discover_records([tmp_path])
    assert ref.fmt == "aecg" and ref.record_id == "trial_0001"
    assert read_record(ref).signal.shape == (12, sig.shape[1])


def test_read_aecg__bad_files_rejected_with_one_line_reasons(wfdb_records, tmp_path):
    name, fs, sig = wfdb_records[0]
    good = tmp_path / "good.xml"
    write_aecg(good, sig[:, :500], fs, sets=2)
    text = good.read_text()

    def reason(body: str) -> str:
        p = tmp_path / "bad.xml"
        p.write_text(body)
        with pytest.raises(RecordRejected) as e:
            read_aecg(p)
        assert "\n" not in str(e.value)
        return e.value.reason

    # two sets at different times: a printed layout, not a simultaneous recording
    second = text.index("<component><sequenceSet>", text.index("<component><sequenceSet>") + 1)
    shifted = text[:second] + text[second:].replace("20021122091000.000", "20021122091002.500", 1)
    assert "different times" in reason(shifted)
    no_time = re.sub(r'<component><sequence><code code="TIME_ABSOLUTE".*?</component>\n', "", text)
    assert "TIME_ABSOLUTE" in reason(no_time)
    assert "no <origin> of lead I" in reason(text.replace('<origin value="-2.5" unit="uV"/>', "", 1)
                                            .replace('<origin value="0" unit="uV"/>', "", 1))
    assert "'1e3'" in reason(text.replace("<digits>", "<digits>1e3 ", 1))
    assert "'furlong'" in reason(text.replace('unit="uV"', 'unit="furlong"'))
    assert "uncalibrated" in reason(text.replace('<scale value="5"', '<scale value="0"', 1))
    assert "different or zero lengths" in reason(text.replace("<digits>", "<digits>1 2 3 ", 1))
    assert "no <component><series>" in reason(HEAD + "</AnnotatedECG>")
    assert "malformed XML" in reason(text[:-40])


def test_read_aecg__units_series_choice_and_time_forms(wfdb_records, tmp_path):
    """Origin in mV with scale in uV (each converted in its own unit); the RHYTHM series chosen when it is not the
    first; an increment in us; a prefixed xsi:type; '...000' and '...000.000' starts taken as the same instant."""
    name, fs, sig = wfdb_records[1]
    q = write_aecg(tmp_path / "a.xml", sig, fs, sets=2, origin_uv=0.0)
    text = (tmp_path / "a.xml").read_text()
    # origin 0.5 mV written in mV while the scale stays in uV: every sample shifts by +0.5 mV
    text = text.replace('<origin value="0" unit="uV"/>', '<origin value="0.5" unit="mV"/>')
    # the increment in microseconds, the type with a namespace prefix, the second set's start written without .000
    text = text.replace(f'<increment value="{1.0 / fs:g}" unit="s"/>', f'<increment value="{1e6 / fs:g}" unit="us"/>')
    text = text.replace('xsi:type="GLIST_TS"', 'xsi:type="hl7:GLIST_TS"')
    second = text.index("<component><sequenceSet>", text.index("<component><sequenceSet>") + 1)
    text = text[:second] + text[second:].replace('"20021122091000.000"', '"20021122091000"', 1)
    # a first series that is not the rhythm: a 3-lead strip coded otherwise
    other = ('<component><series><code code="OTHER"/><component><sequenceSet>' + _time(fs)
             + "".join(_lead(n, [1] * 10) for n in ("I", "II", "V1")) + "</sequenceSet></component></series>"
             "</component>\n")
    text = text.replace('<component><series><code code="RHYTHM"', other + '<component><series><code code="RHYTHM"', 1)
    (tmp_path / "a.xml").write_text(text)
    rec = read_aecg(tmp_path / "a.xml")
    assert rec.fs == fs and rec.signal.shape == sig.shape
    np.testing.assert_allclose(rec.signal, q + 0.5, atol=1e-5)


def test_read_aecg__a_derived_lead_beside_the_measured_one_is_not_that_lead(wfdb_records, tmp_path):
    """Was a reject ("duplicated lead II"), and alone stood in for the measured lead: an aECG that also holds the
    derived lead ``MDC_ECG_LEAD_dII`` (ISO/IEEE 11073: computed from other electrodes, e.g. EASI) lost its prefix
    and read as lead II through the European DII alias (review rev37a F1). It is now a channel dropped with a
    note, and lead II is the measured one."""
    _, fs, sig = wfdb_records[0]
    p = tmp_path / "d.xml"
    q = write_aecg(p, np.vstack([sig, 0.5 * sig[1:2]]), fs, leads=(*LEADS, "dII"))
    rec = canonicalise_leads(read_aecg(p))
    assert rec.leads == tuple(LEADS)
    np.testing.assert_allclose(rec.signal[LEADS.index("II")], q[LEADS.index("II")], atol=1e-6)
    assert any("MDC_ECG_LEAD_dII" in n for n in rec.notes), rec.notes
