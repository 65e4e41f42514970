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


@pytest.mark.parametrize("n", [5000, 4750])   # ten whole seconds; and a last block of 250 samples per lead
def test_read_cardiosoft__full_disclosure_only_round_trips_a_real_ecg(real, tmp_path, n):
    fs, sig = real
    f = tmp_path / "1000123_20205_2_0.xml"
    quantised = write_full_disclosure(f, sig[:, :n], fs, resolution_uv=5.0)
    (ref,) = discover_records([f])
    rec = read_record(ref)
    assert rec.record_id == "1000123" and rec.fs == fs and rec.leads == LEADS and rec.signal.shape == (12, n)
    np.testing.assert_allclose(rec.signal, quantised, atol=1e-5)          # exact counts x resolution
    np.testing.assert_allclose(rec.signal, sig[:, :n], atol=5.0 / 2000 + 1e-6)   # the real ECG within half an LSB


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
    ("ragged", "are not one-second blocks of 500 samples for each of 12 leads"),
    ("lead_missing", "NumberOfChannels '12' but <LeadOrder> names 11 leads"),
    ("non_numeric", "FullDisclosureData: not an integer count of at most 9 digits '12x'"),
    ("no_data", "FullDisclosure: no <FullDisclosureData>"),
    ("fractional_rate", "SampleRate 499.5 is not a whole number of samples per second"),
])
def test_read_cardiosoft__malformed_full_disclosure_is_a_one_line_reject(real, tmp_path, case, reason):
    fs, sig = real
    d = tmp_path / "ecg"
    d.mkdir()
    f = d / "2000007_20205_2_0.xml"
    write_full_disclosure(f, sig, fs)
    text = f.read_text("latin-1")
    if case == "ragged":        # one count short
        text = text.replace(",\n    </FullDisclosureData>", "\n    </FullDisclosureData>").rsplit(",", 1)[0] + \
            "\n    </FullDisclosureData>\n  </FullDisclosure>\n</CardiologyXML>\n"
    elif case == "lead_missing":
        text = text.replace(",".join(LEADS), ",".join(LEADS[:-1]))
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
