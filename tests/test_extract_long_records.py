"""Long (Holter-length) records in ``edfgen extract``: quality judged on the window used, memory bounded.

Review s29 (rev29a) F2 and F3: a 30-minute record was rejected for a 0.1 s clip anywhere, because the raw checks
ran on the whole record before the crop; and a batch held every record at full length until the batch ended.
"""

from __future__ import annotations

import dataclasses
import json
import tracemalloc

import numpy as np
import pytest

from edfgen.formats.ecg.records import read_wfdb
from edfgen.kernels.ecg.preprocess import preprocess, preprocess_many
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.kernels.ecg.record import RecordRejected

PREP = Preprocessing()


@pytest.fixture(scope="module")
def base(shared_data):
    return read_wfdb(shared_data / "ecg" / "cinc2021" / "E07501.hea")


def _long(base, seconds: int):
    """The 10 s real record tiled (alternately reversed, so no jump at a junction) to ``seconds``."""
    tiles = [base.signal if k % 2 == 0 else base.signal[:, ::-1] for k in range(seconds // 10)]
    return dataclasses.replace(base, signal=np.ascontiguousarray(np.concatenate(tiles, axis=1)))


def _clip(rec, lead: int, at_s: float, dur_s: float = 0.3):
    """``dur_s`` seconds of lead ``lead`` held at its rail (its maximum, twice the largest real sample)."""
    x = rec.signal.copy()
    a = int(at_s * rec.fs)
    x[lead, a:a + int(dur_s * rec.fs)] = 2 * np.abs(x[lead]).max()
    return dataclasses.replace(rec, signal=x)


def test_preprocess__a_brief_artefact_outside_the_window_of_a_long_record_is_not_a_reject(base):
    """Reference: the same record without the artefact (the window and its margins are the same samples, so the
    input is bit-identical). Inside the window used the artefact still rejects, with the seconds used named."""
    rec = _long(base, 120)                              # 2 min; the window and margins are 53-67 s
    want = preprocess(rec, PREP)
    for bad in (_clip(rec, 1, 20.0), _clip(rec, 7, 100.0, 0.1)):
        np.testing.assert_array_equal(preprocess(bad, PREP), want)
        assert preprocess_many([bad], PREP).signals[0].tolist() == want.tolist()
    spike = rec.signal.copy()
    spike[4, 500] = 5000.0                              # a corrupt sample (> max_abs_mv) at 1 s
    np.testing.assert_array_equal(preprocess(dataclasses.replace(rec, signal=spike), PREP), want)
    with pytest.raises(RecordRejected, match=r"lead II: saturated \(0.30 s at its min/max value, clipping\) in the "
                                             r"14 s used \(the centre 10 s window and its margins, from 53.000 s of "
                                             r"120.000 s\)"):
        preprocess(_clip(rec, 1, 60.0), PREP)
    with pytest.raises(RecordRejected, match="lead II: saturated .* in the 14 s used"):   # in a margin: used too
        preprocess(_clip(rec, 1, 54.0), PREP)
    # a 10 s record is judged whole, as before (no "used" clause)
    with pytest.raises(RecordRejected, match=r"saturated \(0.30 s at its min/max value, clipping\)$"):
        preprocess(_clip(base, 1, 5.0), PREP)


def test_extract_edfs__holter_artefact_outside_the_window_kept(base, tmp_path):
    """Through the command: 30-minute 257 Hz records (INCART-like) with a 0.3 s rail at minute 3 and a 0.1 s clip
    at minute 16.7 are extracted like their clean copy; a clip at minute 15 (the centre) is a reject."""
    from scipy.signal import resample_poly

    from test_extract import StandInEncoder, StandInLoaded
    from edfgen.commands.extract import extract_edfs

    x257 = resample_poly(_long(base, 1800).signal, 257, 500, axis=1).astype(np.float32)
    rec = dataclasses.replace(base, signal=x257, fs=257.0)
    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for name, r in (("CLEAN", rec), ("MIN03", _clip(rec, 7, 180.0)), ("MIN16", _clip(rec, 1, 1002.0, 0.1)),
                    ("CENTRE", _clip(rec, 1, 900.0))):
        np.savez(ecg / f"{name}.npz", signal=r.signal, fs=257.0, units="mV", leads=np.array(r.leads))
    res = extract_edfs([ecg], tmp_path / "out" / "edfs.tsv", checkpoint=StandInLoaded(StandInEncoder().eval(), PREP),
                       workers=0)
    import pandas as pd

    edfs = pd.read_csv(res.table, sep="\t").set_index("IID")
    assert sorted(edfs.index) == ["CLEAN", "MIN03", "MIN16"]
    for name in ("MIN03", "MIN16"):
        assert edfs.loc[name].tolist() == edfs.loc["CLEAN"].tolist()
    rej = pd.read_csv(res.rejects, sep="\t")
    assert rej["record"].tolist() == ["CENTRE"] and "saturated" in rej["reason"][0] and "s used" in rej["reason"][0]
    assert json.loads(res.manifest.read_text())["extra"]["n_rejected"] == 1


def test_load_batch__holds_one_full_record_at_a_time(base, tmp_path):
    """F3: extract's reader (_load_batch) read the whole batch at full length, then cropped it: peak memory grew
    with batch size x record length. Now each record is cropped as it is read, so what a batch adds beyond its
    first record is the same for 2-minute records as for 20-s ones (both cropped to the same 14 s); before, 8
    two-minute records added 56 MB against 13 MB."""
    from edfgen.commands.extract import _load_batch
    from edfgen.formats.ecg.records import discover_records
    from edfgen.kernels.ecg.preprocess import DEFAULT_QUALITY

    def growth(seconds):
        rec = _long(base, seconds)
        d = tmp_path / f"s{seconds}"
        d.mkdir()
        for k in range(8):
            np.savez(d / f"L{k}.npz", signal=rec.signal, fs=500.0, units="mV", leads=np.array(rec.leads))
        refs = discover_records([d])
        _load_batch(refs[:1], PREP, None, DEFAULT_QUALITY)        # warm caches (filter design, imports)
        peaks = []
        for n in (1, 8):
            tracemalloc.start()
            try:
                ids, signals, rejects, _ = _load_batch(refs[:n], PREP, None, DEFAULT_QUALITY)
                peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
            assert len(ids) == n and not rejects
        assert np.array_equal(signals[3], preprocess(rec, PREP))
        return peaks[1] - peaks[0], rec.signal.astype(np.float32).nbytes

    short, _ = growth(20)
    long, one = growth(120)                                         # one 2-minute record: 2.9 MB
    assert long < short + one, f"8 records added {long / 1e6:.1f} MB (20-s records: {short / 1e6:.1f} MB)"


def test_open_parts__chunks_of_the_older_format_are_not_reused(tmp_path, caplog):
    """Review s29d F2: the window and all-missing-lead rules changed which records are rejected, so chunks written
    under format 3 (an earlier edfgen) are discarded, not mixed with this run's (the resume key holds the format)."""
    from edfgen.commands.extract_parts import PARTS_FORMAT, open_parts, resume_state

    state = resume_state(checkpoint_sha256="x" * 64, model_config={"d": 1}, preprocessing={"p": 1},
                         quality={"q": 1}, fs=None)
    assert state["format"] == PARTS_FORMAT >= 4
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "state.json").write_text(json.dumps({**state, "format": 3}))
    (parts / "chunk_000000.npz").write_bytes(b"old")
    with caplog.at_level("WARNING"):
        got = open_parts(parts, state)
    assert not (parts / "chunk_000000.npz").exists() and got.ids == []
    assert json.loads((parts / "state.json").read_text())["format"] == PARTS_FORMAT
    assert "edfgen version" in caplog.text
