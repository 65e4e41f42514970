"""``pretrain --resume`` after a kill at any moment of writing, with other data, and from an older run's files
(review s30b findings 1-3 and 9)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from edfgen.exceptions import ConfigError, InputError
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.model import ECGEncoder, get_config, load_checkpoint, save_checkpoint
from edfgen.model.pretrain import PretrainSettings, pretrain
from edfgen.model.train_state import _read_state_doc

#: a very small config (as tests/test_model.py's MICRO)
MICRO = get_config("tiny").replace(name="micro", conv_layers=((16, 10, 5), (32, 4, 4), (32, 2, 2)), width=32, depth=1,
                                   mlm_depth=1, heads=2, ffn=64, codebook_size=16, codevector_dim=32, final_dim=32,
                                   cmsc_dim=16, pos_conv_groups=4, num_negatives=5)
SETTINGS = PretrainSettings(steps=4, batch_size=4, warmup=2, checkpoint_every=2, log_every=1)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not an Exception, so no handler turns it into an error)."""


def _weights(out):
    return load_checkpoint(out / "checkpoint").model.state_dict()


def _run(out, **kw):
    return pretrain(out, config=MICRO, settings=SETTINGS, simulated=20, sim_seed=3, **kw)


def test_pretrain__killed_at_every_rename_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch):
    """A kill before any of the renames a run makes (training state, checkpoint JSON, checkpoint weights, log),
    including between the checkpoint's two files, then --resume, gives the uninterrupted run's weights bit for bit
    (before the fix: new weights with older AdamW moments and step, or an unreadable checkpoint ended the run)."""
    import edfgen.formats.atomic as atomic

    _run(tmp_path / "ref")
    ref = _weights(tmp_path / "ref")
    real_replace = atomic.os.replace
    n_renames = 0

    def counting(src, dst):
        nonlocal n_renames
        n_renames += 1
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", counting)
    _run(tmp_path / "count")
    total = n_renames
    assert total >= 6
    for kill_at in range(1, total + 1):
        out, calls = tmp_path / f"k{kill_at}", 0

        def dying(src, dst):
            nonlocal calls
            calls += 1
            if calls == kill_at:
                raise _Killed
            return real_replace(src, dst)

        monkeypatch.setattr(atomic.os, "replace", dying)
        with pytest.raises(_Killed):
            _run(out)
        monkeypatch.setattr(atomic.os, "replace", real_replace)
        if (out / "train_state.safetensors").exists():
            _run(out, resume=True)
        else:   # killed before the first training state: nothing to resume, the user starts again
            with pytest.raises(InputError, match="nothing to resume"):
                _run(out, resume=True)
            _run(out)
        got = _weights(out)
        assert got.keys() == ref.keys() and all(torch.equal(got[k], ref[k]) for k in ref), f"kill at rename {kill_at}"
        logs = [pd.read_csv(d / "pretrain_log.tsv", sep="\t").drop(columns="seconds") for d in (tmp_path / "ref", out)]
        pd.testing.assert_frame_equal(*logs)   # no step lost or repeated


def test_pretrain__resume_with_other_data_is_refused(tmp_path):
    """Steps trained on one data set and the rest on another would leave a checkpoint and manifest naming only the
    last; --resume refuses and names --init as the way to continue on other data."""
    _run(tmp_path / "r", stop_at=2)
    with pytest.raises(InputError, match=r"trained on --simulated 20 --sim-seed 3, not --simulated 20 --sim-seed 4.*"
                                         r"--init"):
        pretrain(tmp_path / "r", config=MICRO, settings=SETTINGS, simulated=20, sim_seed=4, resume=True)
    with pytest.raises(InputError, match="not --simulated 21"):
        pretrain(tmp_path / "r", config=MICRO, settings=SETTINGS, simulated=21, sim_seed=3, resume=True)
    with pytest.raises(ConfigError, match="config 'micro', not the requested 'tiny'"):
        pretrain(tmp_path / "r", config=get_config("tiny"), settings=SETTINGS, simulated=20, sim_seed=3, resume=True)
    assert _run(tmp_path / "r", resume=True).step == 4


def _make_legacy(out, steps_done_in_checkpoint):
    """Rewrite ``out``'s state as edfgen wrote it before: moments only + ``train_state.json``."""
    doc, _ = _read_state_doc(out)
    tensors = load_file(str(out / "train_state.safetensors"))
    save_file({k: v for k, v in tensors.items() if k.startswith("state.")}, str(out / "train_state.safetensors"))
    (out / "train_state.json").write_text(json.dumps({k: doc[k] for k in ("step", "param_groups", "scalars",
                                                                          "settings")}))
    ck = load_checkpoint(out / "checkpoint")
    meta = {**ck.metadata, "steps_done": steps_done_in_checkpoint}
    save_checkpoint(ck.model, ck.config, ck.preprocessing, out / "checkpoint", metadata=meta)


def test_pretrain__an_older_runs_state_resumes_only_when_its_checkpoint_names_the_same_step(tmp_path):
    _run(tmp_path / "ref")
    _run(tmp_path / "old", stop_at=2)
    _make_legacy(tmp_path / "old", 2)
    _run(tmp_path / "old", resume=True)
    ref, got = _weights(tmp_path / "ref"), _weights(tmp_path / "old")
    assert all(torch.equal(got[k], ref[k]) for k in ref)
    assert not (tmp_path / "old" / "train_state.json").exists()   # now one file
    _run(tmp_path / "torn", stop_at=2)
    _make_legacy(tmp_path / "torn", 4)
    with pytest.raises(InputError, match=r"checkpoint.json is at step 4 but train_state.json at step 2 .*--force"):
        _run(tmp_path / "torn", resume=True)


def test_pretrain__init_from_a_fine_tuned_checkpoint_names_the_head(tmp_path):
    head = MICRO.replace(labels=("y", "z"))
    save_checkpoint(ECGEncoder(head), head, Preprocessing(), tmp_path / "ft")
    with pytest.raises(ConfigError, match=r"labels \['y', 'z'\] vs \[\] \(a fine-tuned checkpoint"):
        pretrain(tmp_path / "p", config=MICRO, settings=SETTINGS, simulated=20, sim_seed=3, init=tmp_path / "ft")


def test_run_pretrain__a_killed_runs_folder_names_resume(tmp_path):
    """Review s31d #6: a plain rerun into a killed pretrain's folder said only "use --force" (which throws the
    trained steps away); it names --resume, which continues it."""
    from edfgen.commands.pretrain import run_pretrain
    from edfgen.formats.manifest import mark_in_progress

    kw = dict(config_name="tiny", ecg=[], simulated=8, sim_seed=1, steps=1, batch_size=4, accum=1, lr=1e-3, warmup=1,
              checkpoint_every=1, wander_mv=0.0, lead_dropout=0.0, device="cpu", seed=0, threads=1)
    out = tmp_path / "pt"
    run_pretrain(out=out, resume=False, force=False, **kw)
    mark_in_progress(out / "manifest.json")                       # the state a kill after a checkpoint leaves
    with pytest.raises(InputError, match=r"holds an unfinished 'edfgen pretrain' run .*--resume continues it, "
                                         r"--force starts over"):
        run_pretrain(out=out, resume=False, force=False, **kw)
    run_pretrain(out=out, resume=False, force=True, **kw)


def test_pretrain__resume_after_the_ecg_files_changed_is_refused(tmp_path, shared_data):
    """Known defect s37 (ECG 2): --resume compared the --ecg paths only, so a rerun after a file under the same
    folder was replaced went on training the rest of the schedule on other data. Now the files' fingerprint
    (names, sizes, times) is part of the run's data; unchanged files still resume."""
    import os
    import shutil

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for name in ("E07500", "E07501", "E07502", "E07503"):
        for ext in (".hea", ".mat"):
            shutil.copy(shared_data / "ecg" / "cinc2021" / f"{name}{ext}", ecg / f"{name}{ext}")
    settings = PretrainSettings(steps=2, batch_size=2, warmup=1, checkpoint_every=1, log_every=1)

    def run(out, **kw):
        return pretrain(out, config=MICRO, settings=settings, ecg=[ecg], **kw)

    run(tmp_path / "same", stop_at=1)
    assert run(tmp_path / "same", resume=True).step == 2          # nothing changed: resumes
    run(tmp_path / "r", stop_at=1)
    shutil.copy(shared_data / "ecg" / "cinc2021" / "E07504.mat", ecg / "E07503.mat")   # another ECG, same name
    os.utime(ecg / "E07503.mat", ns=(1, 1))
    with pytest.raises(InputError, match=rf"--resume: the ECG records under --ecg {ecg.resolve()} changed .*--force.*--init"):
        run(tmp_path / "r", resume=True)


def _four_records(tmp_path, shared_data):
    import shutil

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for name in ("E07500", "E07501", "E07502", "E07503"):
        for ext in (".hea", ".mat"):
            shutil.copy(shared_data / "ecg" / "cinc2021" / f"{name}{ext}", ecg / f"{name}{ext}")
    return ecg


def test_pretrain__resume_ignores_its_own_files_a_chmod_and_files_that_are_not_records(tmp_path, shared_data):
    """Review s38 finding 1: the fingerprint covered every file under --ecg with its change time, so an unchanged
    rerun was refused when --out sat under --ecg (the run's own checkpoint was "data"), after ``chmod -R g+w``, or
    after a notes.txt was added. Only the records' files count (and by their names under the --ecg path, so the
    same folder reached through a link is the same data). Review s39 #2: s39 keyed the records' change times and
    refused a chmod again (this test's chmod had been dropped); change times alone now resume with a warning
    (test_pretrain__resume_warns_on_a_same_size_same_mtime_replacement)."""
    import os

    ecg = _four_records(tmp_path, shared_data)
    settings = PretrainSettings(steps=2, batch_size=2, warmup=1, checkpoint_every=1, log_every=1)
    out = ecg / "run"          # --out inside --ecg
    pretrain(out, config=MICRO, settings=settings, ecg=[ecg], stop_at=1)
    for f in ecg.glob("E*"):    # a chmod: new change times, same data
        os.chmod(f, f.stat().st_mode | 0o020)
    (ecg / "notes.txt").write_text("collected 2019\n")
    link = tmp_path / "ecg_link"   # the same folder under another name (paths are compared resolved)
    link.symlink_to(ecg, target_is_directory=True)
    assert pretrain(out, config=MICRO, settings=settings, ecg=[link], resume=True).step == 2


def test_pretrain__resume_warns_on_a_same_size_same_mtime_replacement(tmp_path, shared_data, caplog):
    """s39 kill/resume audit: --resume keyed the records' files by size and modification time only, so a signal
    file replaced by other samples of the same size with its modification time kept (``cp -p``, ``rsync -t``)
    resumed silently. The key has extract's change time too; such a copy cannot be told from a chmod (which must
    resume, review s38/s39), so it resumes with one warning naming the --ecg path and --force (lead's decision,
    review s39 #2). A size or modification time change is still refused."""
    import os

    ecg = _four_records(tmp_path, shared_data)
    settings = PretrainSettings(steps=2, batch_size=2, warmup=1, checkpoint_every=1, log_every=1)
    pretrain(tmp_path / "r", config=MICRO, settings=settings, ecg=[ecg], stop_at=1)
    mat = ecg / "E07503.mat"
    st = mat.stat()
    raw = bytearray(mat.read_bytes())
    raw[-200:] = bytes(200)                # other samples, same size
    mat.write_bytes(bytes(raw))
    os.utime(mat, ns=(st.st_atime_ns, st.st_mtime_ns))   # the modification time kept, as cp -p does
    assert (mat.stat().st_size, mat.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert pretrain(tmp_path / "r", config=MICRO, settings=settings, ecg=[ecg], resume=True).step == 2
    warned = [r.getMessage() for r in caplog.records if "new change times" in r.getMessage()]
    assert len(warned) == 1, warned
    assert (f"under 1 --ecg path(s) ({ecg.resolve()}) have the same names, sizes and modification times but new "
            "change times (ctime)") in warned[0]
    assert "cannot be told from a chmod: if the data changed, rerun with --force" in warned[0]
    pretrain(tmp_path / "c", config=MICRO, settings=settings, ecg=[ecg], stop_at=1)
    os.utime(mat, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))   # a new modification time: still refused
    with pytest.raises(InputError, match=rf"--resume: the ECG records under --ecg {ecg.resolve()} changed"):
        pretrain(tmp_path / "c", config=MICRO, settings=settings, ecg=[ecg], resume=True)


def test_pretrain__a_state_saved_before_the_change_time_key_resumes(tmp_path, shared_data):
    """A run begun before s39 saved ``ecg_records`` (size and modification time) only: it resumes on unchanged
    files, by that key (not refused for lacking the new one), and a changed file is still refused."""
    from safetensors import safe_open

    from edfgen.model.train_state import STATE_KEY

    ecg = _four_records(tmp_path, shared_data)
    settings = PretrainSettings(steps=2, batch_size=2, warmup=1, checkpoint_every=1, log_every=1)
    out = tmp_path / "r"
    pretrain(out, config=MICRO, settings=settings, ecg=[ecg], stop_at=1)
    path = out / "train_state.safetensors"
    with safe_open(str(path), "pt") as fh:
        doc = json.loads(fh.metadata()[STATE_KEY])
    del doc["data"]["ecg_records_ctime"]
    save_file(load_file(str(path)), str(path), metadata={STATE_KEY: json.dumps(doc)})
    assert pretrain(out, config=MICRO, settings=settings, ecg=[ecg], resume=True).step == 2


def test_pretrain__resume_refuses_a_records_signal_file_replaced_when_headers_are_given_by_name(tmp_path,
                                                                                               shared_data):
    """Review s38 finding 2: with ``--ecg ecg/*.hea`` only the headers were fingerprinted, so a record's .mat
    swapped for another ECG's left the key equal. The signal files a header names are part of the key."""
    import os
    import shutil

    ecg = _four_records(tmp_path, shared_data)
    heads = sorted(ecg.glob("*.hea"))
    settings = PretrainSettings(steps=2, batch_size=2, warmup=1, checkpoint_every=1, log_every=1)
    pretrain(tmp_path / "r", config=MICRO, settings=settings, ecg=heads, stop_at=1)
    shutil.copy(shared_data / "ecg" / "cinc2021" / "E07504.mat", ecg / "E07503.mat")
    os.utime(ecg / "E07503.mat", ns=(1, 1))
    with pytest.raises(InputError, match=rf"the ECG records under --ecg {heads[-1].resolve()} changed"):
        pretrain(tmp_path / "r", config=MICRO, settings=settings, ecg=heads, resume=True)


def test_ecg_record_files__out_inside_ecg_left_out_whichever_way_either_is_named(tmp_path, shared_data):
    """Review of s38 fixes (speed): the --out test is now one prefix test per --ecg path (was a resolve() per
    file, 1.7 s of a 10,000-record folder's fingerprint). It must still leave out the run's own files when --out
    is named through a link to --ecg or --ecg through a link and --out by its real path, and keep everything
    when --out is elsewhere; a header naming one .dat twelve times gives the .dat once."""
    from edfgen.model.train_state import ecg_record_files

    ecg = _four_records(tmp_path, shared_data)
    link = tmp_path / "ecg_link"
    link.symlink_to(ecg, target_is_directory=True)
    (ecg / "run").mkdir()
    shutil.copy(ecg / "E07500.hea", ecg / "run" / "own.hea")
    shutil.copy(ecg / "E07500.mat", ecg / "run" / "own.mat")
    (ecg / "run" / "own.hea").write_text((ecg / "E07500.hea").read_text().replace("E07500", "own"))
    records = {f"E0750{i}{ext}" for i in range(4) for ext in (".hea", ".mat")}
    for path, out in ((ecg, ecg / "run"), (link, ecg / "run"), (ecg, link / "run"), (link, link / "run")):
        files = ecg_record_files(path, out_dir=out)
        assert {f.name for f in files} == records, (path, out)
        assert all(str(f).startswith(str(path)) for f in files)
    assert {f.name for f in ecg_record_files(ecg, out_dir=tmp_path / "elsewhere")} == records | {"own.hea",
                                                                                                   "own.mat"}


def test_run_data__records_discovered_once_give_the_key_of_discovery_per_path(tmp_path, shared_data):
    """Review of s38 fixes (speed): pre-training discovered its --ecg records twice (once per path for the resume
    key, once for the data: 1.8 s of a 10,000-record folder). The key now takes the run's own discovery; it must
    equal the key of discovery per path, for a folder, a header and a record named without suffix, and a bundle
    (left out of the run's discovery: found on its own)."""
    import numpy as np

    from edfgen.formats.ecg.records import discover_records
    from edfgen.model.data import is_bundle
    from edfgen.model.train_state import run_data

    ecg = _four_records(tmp_path, shared_data)
    other = tmp_path / "other"
    other.mkdir()
    for name in ("E07504", "E07505"):
        for ext in (".hea", ".mat"):
            shutil.copy(shared_data / "ecg" / "cinc2021" / f"{name}{ext}", other / f"{name}{ext}")
    bundle = tmp_path / "b.npz"
    np.savez(bundle, ecg=np.zeros((2, 12, 50), dtype=np.float32), iid=np.array(["x1", "x2"]))
    paths = [ecg, other / "E07504.hea", other / "E07505", bundle]
    found = discover_records([p for p in paths if not is_bundle(p)])
    assert len(found) == 6
    once = run_data(paths, 0, 0, out_dir=tmp_path / "out", refs=found)
    assert once == run_data(paths, 0, 0, out_dir=tmp_path / "out")
    assert len(set(once["ecg_records"])) == 4


def test_run_data__a_file_that_cannot_be_stated_is_missing_as_in_extracts_key(tmp_path, monkeypatch):
    """Review of s38 (nit 9): extract's resume key and pretrain's ``run_data`` stat'ed record files each their
    own way, ``run_data`` catching only OSError, so a name ``os.stat`` refuses (a NUL byte) ended the run with
    ValueError where extract said "missing". Now one helper, ``stat_key_or_missing``, for both."""
    import edfgen.model.train_state as ts
    from edfgen.formats.manifest import stat_key_or_missing

    assert stat_key_or_missing(tmp_path / "gone.dat") == "missing" == stat_key_or_missing(f"{tmp_path}/a\0b.hea")
    monkeypatch.setattr(ts, "ecg_record_files", lambda p, out_dir=None, refs=None: [tmp_path / "a\0b.hea"])
    assert len(ts.run_data([tmp_path], 0, 0)["ecg_records"]) == 1     # was: ValueError: embedded null byte


def test_is_bundle__reads_the_ecg_shape_from_the_npy_header_not_the_array(tmp_path, monkeypatch):
    """Review of s38 (nit 10): ``is_bundle`` loaded the whole ``ecg`` array to read its ``ndim``, and pre-training
    asks it of each ``--ecg`` path more than once (a bundle of GiBs read each time). Now the ``.npy`` header only,
    stored or compressed."""
    import numpy as np

    from edfgen.model.data import is_bundle

    for save, name in ((np.savez, "b.npz"), (np.savez_compressed, "c.npz")):
        save(tmp_path / name, ecg=np.zeros((2, 12, 50), dtype=np.float32), iid=np.array(["x1", "x2"]))
    np.savez(tmp_path / "flat.npz", ecg=np.zeros((12, 50)), iid=np.array(["x1"]))
    np.savez(tmp_path / "no_iid.npz", ecg=np.zeros((2, 12, 50)))

    def no_load(*a, **k):
        raise AssertionError("the array was loaded")

    monkeypatch.setattr(np.lib.format, "read_array", no_load)
    assert [is_bundle(tmp_path / n) for n in ("b.npz", "c.npz", "flat.npz", "no_iid.npz")] == [True, True, False,
                                                                                                 False]
