"""GE CardioSoft XML (UK Biobank field 20205) files that carry only the ``<FullDisclosure>`` recording.

Known defect s37 (ECG 1): such files were rejected ("no <StripData>"). The full-disclosure data are one-second
blocks of ``SampleRate`` counts per lead in ``<LeadOrder>`` (the layout the Broad's ml4h UK Biobank tensorizers
read); the files here are written in that layout from a real PTB-XL record, read independently with ``wfdb``.
"""

from __future__ import annotations

import numpy as np
import pytest

from edfgen.formats.ecg.records import read_record, discover_records
from edfgen.formats.ecg.xml import read_cardiosoft
from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.record import RecordRejected


@pytest.fixture(scope="module")
def real(shared_data):
    import wfdb

    ref = wfdb.rdrecord(str(shared_data / "ecg" / "ptbxl" / "records500" / "00000" / "00001_hr"))
    return float(ref.fs), ref.p_signal.T.astype(np.float64)   # [12, 5000] mV, leads in LEADS order


def _blocks(counts: np.ndarray, fs: int) -> np.ndarray:
    """Counts [L, T] as the stream: second 1 of lead 1, of lead 2, ... of lead L, second 2 of lead 1, ..."""
    n_leads, n = counts.shape
    whole = n // fs
    out = counts[:, :whole * fs].reshape(n_leads, whole, fs).transpose(1, 0, 2).ravel()
    return np.concatenate([out, counts[:, whole * fs:].ravel()])


def write_full_disclosure(path, signal_mv, fs, *, resolution_uv=5.0, leads=LEADS, channels=None, data=None):
    """A CardioSoft XML with a ``<FullDisclosure>`` block only (no ``<StripData>``, no median beats)."""
    counts = np.round(signal_mv * 1000.0 / resolution_uv).astype(int)
    stream = _blocks(counts, int(fs))
    if data is None:   # comma separated, broken by line breaks and tabs every 1000 counts, a trailing comma
        data = ",\n\t".join(",".join(map(str, stream[i:i + 1000])) for i in range(0, stream.size, 1000)) + ","
    channels = len(leads) if channels is None else channels
    path.write_bytes(f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE CardiologyXML SYSTEM "CardiologyXML.dtd">
<CardiologyXML>
  <ObservationType>RestECG</ObservationType>
  <FullDisclosure>
    <StartTime><Minute>0</Minute><Second>0</Second></StartTime>
    <NumberOfChannels>{channels}</NumberOfChannels>
    <SampleRate units="Hz">{fs:g}</SampleRate>
    <Resolution units="uVperLsb">{resolution_uv:g}</Resolution>
    <LeadOrder>{",".join(leads)}</LeadOrder>
    <FullDisclosureData>
{data}
    </FullDisclosureData>
  </FullDisclosure>
</CardiologyXML>
""".encode("latin-1"))
    return counts * resolution_uv / 1000.0


@pytest.mark.parametrize("n", [5000, 4750])   # ten whole seconds; and an incomplete last second (left out)
def test_read_cardiosoft__full_disclosure_only_round_trips_a_real_ecg(real, tmp_path, n):
    fs, sig = real
    f = tmp_path / "1000123_20205_2_0.xml"
    quantised = write_full_disclosure(f, sig[:, :n], fs, resolution_uv=5.0)
    (ref,) = discover_records([f])
    rec = read_record(ref)
    m = n // 500 * 500
    assert rec.record_id == "1000123" and rec.fs == fs and rec.leads == LEADS and rec.signal.shape == (12, m)
    assert bool(rec.notes) == (m < n), rec.notes
    np.testing.assert_allclose(rec.signal, quantised[:, :m], atol=1e-5)          # exact counts x resolution
    np.testing.assert_allclose(rec.signal, sig[:, :m], atol=5.0 / 2000 + 1e-6)   # the real ECG within half an LSB


def test_read_cardiosoft__a_file_with_strip_and_full_disclosure_reads_the_strip(real, tmp_path):
    fs, sig = real
    f = tmp_path / "both.xml"
    write_full_disclosure(f, -sig, fs)   # the full disclosure holds another signal: must not be the one read
    strip = "".join(f'<WaveformData lead="{n}">{",".join(map(str, c))}</WaveformData>'
                    for n, c in zip(LEADS, np.round(sig * 200).astype(int)))
    text = f.read_text("latin-1").replace("<FullDisclosure>", f"""<StripData><SampleRate units="Hz">500</SampleRate>
<Resolution units="uVperLsb">5</Resolution>{strip}</StripData><FullDisclosure>""")
    f.write_text(text, "latin-1")
    np.testing.assert_allclose(read_cardiosoft(f).signal, sig, atol=5.0 / 2000 + 1e-6)


@pytest.mark.parametrize("case, reason", [
    ("short", "6000 counts, less than one second (5000 samples) for each of 12 leads"),
    ("lead_missing", "NumberOfChannels '12' but <LeadOrder> names 11 leads (I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5): a "
                     "lead missing from <LeadOrder>"),
    ("lead_extra", "NumberOfChannels '11' but <LeadOrder> names 12 leads (I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6): "
                   "more leads named than channels"),
    ("channels_not_a_number", "NumberOfChannels 'twelve' is not a number"),
    ("non_numeric", "FullDisclosureData: not an integer count of at most 9 digits '12x'"),
    ("no_data", "FullDisclosure: no <FullDisclosureData>"),
    ("fractional_rate", "SampleRate 499.5 is not a whole number of samples per second"),
])
def test_read_cardiosoft__malformed_full_disclosure_is_a_one_line_reject(real, tmp_path, case, reason):
    fs, sig = real
    d = tmp_path / "ecg"
    d.mkdir()
    f = d / "2000007_20205_2_0.xml"
    write_full_disclosure(f, sig[:, :500] if case == "short" else sig, fs)
    text = f.read_text("latin-1")
    if case == "short":        # one second at 500 Hz, read as 5000 Hz
        text = text.replace('"Hz">500<', '"Hz">5000<')
    elif case == "lead_missing":
        text = text.replace(",".join(LEADS), ",".join(LEADS[:-1]))
    elif case == "lead_extra":     # review of s38: was also worded "a lead missing"
        text = text.replace("<NumberOfChannels>12<", "<NumberOfChannels>11<")
    elif case == "channels_not_a_number":
        text = text.replace("<NumberOfChannels>12<", "<NumberOfChannels>twelve<")
    elif case == "non_numeric":
        text = text.replace("<FullDisclosureData>\n", "<FullDisclosureData>\n12x,", 1)
    elif case == "no_data":
        text = text.replace("FullDisclosureData>", "Data>")
    else:
        text = text.replace('"Hz">500<', '"Hz">499.5<')
    f.write_text(text, "latin-1")
    with pytest.raises(RecordRejected) as exc:
        read_cardiosoft(f)
    msg = str(exc.value)
    assert reason in msg and "\n" not in msg and str(f) in msg and exc.value.record_id == "2000007", msg
    (ref,) = discover_records([d])   # found as a CardioSoft file: the reject is the record's, not the folder's
    with pytest.raises(RecordRejected, match="FullDisclosure"):
        read_record(ref)


def _hand_built(path, data, *, leads="I,II", fs=4, channels=None, wrap=("", ""), strip="", encoding="latin-1"):
    """A CardioSoft XML whose <FullDisclosureData> is the string ``data``, written by hand (1000 uV per count:
    1 count = 1 mV)."""
    n = "" if channels is None else f"<NumberOfChannels>{channels}</NumberOfChannels>"
    path.write_text(f"""<?xml version="1.0" encoding="{encoding}"?>
<CardiologyXML>{strip}{wrap[0]}<FullDisclosure>{n}<SampleRate units="Hz">{fs}</SampleRate>
<Resolution units="uVperLsb">1000</Resolution><LeadOrder>{leads}</LeadOrder>
<FullDisclosureData>{data}</FullDisclosureData></FullDisclosure>{wrap[1]}</CardiologyXML>""", encoding)
    return path


#: three seconds of two leads at 4 Hz, one second of each lead in turn; the expected leads written out by hand
HAND = "1,2,3,4,-1,-2,-3,-4,\n5,6,7,8,-5,-6,-7,-8,\n\t9,10,11,12,-9,-10,-11,-12,"
HAND_I = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
HAND_II = [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12]


@pytest.mark.parametrize("where", ["child", "nested"])
def test_read_cardiosoft__a_hand_built_full_disclosure_gives_the_leads_written_by_hand(tmp_path, where):
    """Review s38 finding 9: expected values written independently of the reader's layout code; the block nested
    under another element (``.//FullDisclosure``) and without <NumberOfChannels>."""
    wrap = ("<Recording>", "</Recording>") if where == "nested" else ("", "")
    rec = read_cardiosoft(_hand_built(tmp_path / "h.xml", HAND, wrap=wrap))
    assert rec.leads == ("I", "II") and rec.fs == 4 and rec.notes == ()
    np.testing.assert_array_equal(rec.signal, np.array([HAND_I, HAND_II], dtype=np.float32))


@pytest.mark.parametrize("n_leads", [3, 12])
def test_read_cardiosoft__an_incomplete_last_second_is_left_out_with_a_note(tmp_path, n_leads):
    """Review s38 finding 4: a last block of 600 counts (not a multiple of the leads: ml4h and Heart_Pipeline give
    each lead up to SampleRate counts in turn) rejected the whole record; now the whole seconds are read and the
    incomplete one left out with a note."""
    fs = 500
    leads = ["I", "II", "III"] if n_leads == 3 else list(LEADS)
    seconds = np.arange(2 * n_leads * fs).reshape(2, n_leads, fs)   # count = position in the stream
    stream = np.concatenate([seconds.ravel(), np.full(600, 7)])
    rec = read_cardiosoft(_hand_built(tmp_path / "t.xml", ",".join(map(str, stream)), leads=",".join(leads), fs=fs,
                                      channels=n_leads))
    assert rec.signal.shape == (n_leads, 2 * fs)
    np.testing.assert_array_equal(rec.signal[1, :3], [fs, fs + 1, fs + 2])                       # lead 2, second 1
    np.testing.assert_array_equal(rec.signal[0, fs:fs + 2], [n_leads * fs, n_leads * fs + 1])   # lead 1, second 2
    # review of s38: was "(600 counts, less than 500 for each of 3 leads)", as if per lead
    assert rec.notes == (f"FullDisclosure: the last, incomplete second left out (600 counts, fewer than the "
                         f"{n_leads * fs} counts of one second of {n_leads} leads); 2 s read",), rec.notes


@pytest.mark.parametrize("leads, channels, expect", [
    ("I,II,", 2, ("I", "II")),            # a trailing comma
    ("I,II", "2.0", ("I", "II")),         # NumberOfChannels as a decimal
    ("I,2", 2, ("I", "II")),              # exercise recordings: I,2,3
])
def test_read_cardiosoft__lead_order_trailing_comma_decimal_channels_and_numbered_limb_leads(tmp_path, leads,
                                                                                           channels, expect):
    """Review s38 finding 6: each was a reject ("an empty lead name", "NumberOfChannels '2.0'"), or lead '2' was
    unknown (so the reject named II as missing although it was recorded)."""
    rec = read_cardiosoft(_hand_built(tmp_path / "n.xml", HAND, leads=leads, channels=channels))
    assert rec.leads == expect
    np.testing.assert_array_equal(rec.signal[1], HAND_II)


def test_read_cardiosoft__a_strip_without_leads_of_its_own_falls_back_to_full_disclosure(tmp_path):
    """Review s38 finding 3: a <StripData> holding its leads one level down (the exercise layout
    ``<StripData><Strip><WaveformData>``) was rejected ("no <WaveformData>") without trying <FullDisclosure>."""
    strip = ('<StripData><SampleRate units="Hz">4</SampleRate><Resolution units="uVperLsb">1000</Resolution>'
             '<Strip><WaveformData lead="I">9,9,9,9</WaveformData></Strip></StripData>')
    rec = read_cardiosoft(_hand_built(tmp_path / "s.xml", HAND, strip=strip))
    np.testing.assert_array_equal(rec.signal, np.array([HAND_I, HAND_II], dtype=np.float32))


@pytest.mark.parametrize("token", ["1_000", "\u0661\u0662", "1234567890", "123456789012345678901234567890",
                                   "-9223372036854775808", "1-2",
                                   "--5", "1.5", "0000000001", "+0000000001"])
def test_read_cardiosoft__counts_that_are_not_ascii_integers_of_at_most_9_digits_are_rejected(tmp_path, token):
    """The one-pass count parser (review s38 finding 7) keeps the old rule: int() would take '1_000' and Arabic
    digits, numpy would overflow on 30 digits; each is a one-line reject naming the token. Was (review of s38
    fixes): a zero-padded '0000000001' (10 digits, value 1) was taken, against the old length rule."""
    f = _hand_built(tmp_path / "b.xml", HAND.replace("10,", f"{token},"), encoding="utf-8")
    with pytest.raises(RecordRejected, match="not an integer count of at most 9 digits") as exc:
        read_cardiosoft(f)
    assert repr(token)[1:-1][:20] in str(exc.value), str(exc.value)


@pytest.mark.parametrize("sep", [",", " "])
def test_read_cardiosoft__full_disclosure_over_the_record_cap_is_rejected_before_it_is_split(tmp_path, monkeypatch,
                                                                                            sep):
    """Review of s38 (RISK): <FullDisclosure> had no MAX_RECORD_VALUES check (WFDB, npy, HDF5, EDF, DICOM have
    one) while its count parser peaks at ~72 bytes per value, so a long recording took many GiB before any
    reject. Now counted (commas or whitespace) and refused with the TOO_LARGE reason before it is split. Last
    read of s38: the cap was MAX_RECORD_VALUES, sized for 14 bytes per value, so a 1 GiB record of text counts
    took ~5.5 GiB; now MAX_RECORD_BYTES // TEXT_PEAK_BYTES_PER_VALUE (80: _counts measured at up to 78 bytes per
    value), and the reason starts with FullDisclosure: like the function's other rejects."""
    import edfgen.formats.ecg.xml as xml
    from edfgen.formats.ecg.common import MAX_RECORD_BYTES, MAX_TEXT_RECORD_VALUES, TEXT_PEAK_BYTES_PER_VALUE, \
        TOO_LARGE_TEXT

    assert MAX_TEXT_RECORD_VALUES == MAX_RECORD_BYTES // TEXT_PEAK_BYTES_PER_VALUE and TEXT_PEAK_BYTES_PER_VALUE >= 72
    assert f"{MAX_TEXT_RECORD_VALUES} values" in TOO_LARGE_TEXT and f"{TEXT_PEAK_BYTES_PER_VALUE} bytes" in TOO_LARGE_TEXT
    data = HAND.replace(",", sep)
    monkeypatch.setattr(xml, "MAX_TEXT_RECORD_VALUES", 23)     # HAND holds 24 counts
    with pytest.raises(RecordRejected) as exc:
        read_cardiosoft(_hand_built(tmp_path / "big.xml", data))
    assert f"FullDisclosure: FullDisclosureData of 24 values: {TOO_LARGE_TEXT}" in str(exc.value)
    monkeypatch.setattr(xml, "MAX_TEXT_RECORD_VALUES", 24)
    assert read_cardiosoft(_hand_built(tmp_path / "ok.xml", data)).signal.shape == (2, 12)


def test_readme__says_how_cardiosoft_full_disclosure_is_read_and_that_resume_refuses_changed_records():
    """Review of s38 (nit 7): the README's CardioSoft row did not say that a strip without leads of its own falls
    back to FullDisclosure, that an incomplete last second is left out with a note, or that exercise files' limb
    leads I,2,3 are I, II, III; nor that pretrain --resume refuses records changed under the same --ecg paths."""
    from pathlib import Path

    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    for said in ("whose `StripData` holds no `WaveformData` of its own", "an incomplete last second is left out "
                 "with a note", "limb leads `I,2,3` are read as I, II, III", "refused, and so are records changed "
                 "under the same `--ecg` paths"):
        assert said in readme, said
