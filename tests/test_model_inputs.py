"""Labels and ECG inputs of ``finetune`` and ``evaluate`` (review s30b findings 4-10): sparse labels, repeated
record ids, a JSON that is not a checkpoint, ``--label-columns`` with the head, ``patient_id``, and the warnings
about label rows and ECGs that could not be used."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.exceptions import InputError
from edfgen.formats.labels import read_label_table
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.model import ECGEncoder, get_config, save_checkpoint
from edfgen.model.data import load_ecgs
from edfgen.model.evaluation import EvaluateSettings, evaluate_ecgs
from edfgen.model.finetune import FinetuneSettings, finetune, split_patients
from edfgen.model.metrics import auprc_rows, bootstrap_replicates

MICRO = get_config("tiny").replace(name="micro", conv_layers=((16, 10, 5), (32, 4, 4), (32, 2, 2)), width=32, depth=1,
                                   mlm_depth=1, heads=2, ffn=64, codebook_size=16, codevector_dim=32, final_dim=32,
                                   cmsc_dim=16, pos_conv_groups=4, num_negatives=5)
N = 24
IDS = [f"R{i:02d}" for i in range(N)]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture
def files(tmp_path):
    """A bundle of N noise ECGs, a random-weight encoder (``base``) and one with a y/z head (``head``)."""
    ecg = np.random.default_rng(0).normal(0, 0.1, (N, 12, 5000)).astype(np.float32)
    np.savez(tmp_path / "ecg.npz", ecg=ecg, iid=np.array(IDS))
    torch.manual_seed(0)
    save_checkpoint(ECGEncoder(MICRO), MICRO, Preprocessing(), tmp_path / "base")
    head = MICRO.replace(labels=("y", "z"))
    save_checkpoint(ECGEncoder(head), head, Preprocessing(), tmp_path / "head")
    return tmp_path


def _labels(path, **columns):
    t = pd.DataFrame({"IID": IDS, "y": np.arange(N) % 2, "z": (np.arange(N) // 2) % 2, **columns})
    t.to_csv(path, sep="\t", index=False, na_rep="NA")
    return path


def _evaluate(files, labels, **kw):
    return evaluate_ecgs(files / "head", [files / "ecg.npz"], labels=labels,
                         settings=EvaluateSettings(n_boot=20, baselines=()), **kw)


def test_auprc__a_resample_without_a_known_value_is_na_and_the_head_is_scored(files):
    """A label known for 2 records: some resamples hold none of them (before: IndexError traceback)."""
    assert np.isnan(auprc_rows(np.zeros((3, 0)), np.zeros((3, 0)))).all()
    y = np.array([[1.0], [0.0]] + [[np.nan]] * 8)
    reps = bootstrap_replicates(y, np.linspace(1, 0, 10)[:, None], [np.arange(2, 10), np.arange(10)],
                                metric=auprc_rows)
    assert np.isnan(reps[0, 0]) and reps[1, 0] == 1.0
    y_two = np.full(N, np.nan)
    y_two[:2] = [1, 0]
    res = _evaluate(files, _labels(files / "two.tsv", y=y_two))
    assert res.table.set_index("label").loc["y", "n"] == 2


def test_load_ecgs__a_record_id_met_again_is_rejected_as_extract_does(files):
    np.savez(files / "again.npz", ecg=np.zeros((2, 12, 5000), np.float32), iid=np.array(["R00", "NEW"]))
    arr = load_ecgs([files / "ecg.npz", files / "again.npz"])
    assert arr.ids == IDS + ["NEW"] and len(arr.signals) == N + 1
    assert arr.rejects == [("R00", str(files / "again.npz"), f"duplicated record id (also {files / 'ecg.npz'})")]


def test_finetune_cli__a_json_that_is_not_a_checkpoint_is_one_line(files):
    (files / "other.json").write_text('{"a": 1}')
    r = CliRunner().invoke(cli, ["finetune", "--checkpoint", str(files / "other.json"), "--ecg",
                                 str(files / "ecg.npz"), "--labels", str(_labels(files / "l.tsv")),
                                 "--out", str(files / "ft")])
    assert r.exit_code == 2 and "other.json: not an edfgen checkpoint (format None)" in r.output, r.output
    assert "Traceback" not in r.output


def test_evaluate_head__label_columns_scores_a_subset_of_the_head(files):
    labels = _labels(files / "l.tsv", q=np.zeros(N))
    res = _evaluate(files, labels, label_columns=["z"])
    assert list(res.table["label"]) == ["z", "macro"] and list(res.predictions.columns)[-1] == "prob_z"
    full = _evaluate(files, labels)
    assert np.array_equal(res.predictions["prob_z"], full.predictions["prob_z"])
    with pytest.raises(InputError, match=r"--label-columns q: not among the labels of the checkpoint's head \("):
        _evaluate(files, labels, label_columns=["q"])
    r = CliRunner().invoke(cli, ["evaluate", "--checkpoint", str(files / "head"), "--ecg", str(files / "ecg.npz"),
                                 "--labels", str(labels), "--label-columns", "z", "--bootstrap", "20",
                                 "--out", str(files / "ev")])
    assert r.exit_code == 0 and "over 1 labels" in r.output, r.output
    assert "baseline random" not in r.output   # the default baseline is for --probe linear: no notice (nit 12)


def test_evaluate__unused_label_rows_ecgs_and_one_class_labels_are_warned(files, caplog):
    t = pd.read_csv(_labels(files / "l.tsv"), sep="\t")
    t = pd.concat([t.iloc[4:], pd.DataFrame({"IID": ["TYPO1", "TYPO2"], "y": [0, 1], "z": [1, 0]})])
    t.to_csv(files / "partial.tsv", sep="\t", index=False)
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        res = _evaluate(files, files / "partial.tsv")
    assert "2 row(s) of " + str(files / "partial.tsv") + " have no ECG record (first IID TYPO1)" in caplog.text
    assert "4 ECG record(s) have no row in " + str(files / "partial.tsv") + " (first: R00)" in caplog.text
    assert res.summary["label_rows_without_ecg"] == 2 and res.summary["ecg_records_without_label"] == 4
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        _evaluate(files, _labels(files / "single.tsv", y=np.zeros(N)))
    assert "1 label(s) have one class or no known value among the scored records (first: y)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        evaluate_ecgs(files / "base", [files / "ecg.npz"], labels=files / "single.tsv",
                      settings=EvaluateSettings(probe="linear", n_boot=20, baselines=(), min_positives=3, folds=2))
    assert "1 label(s) left out with fewer than --min-positives 3 cases or controls (first: y, 0 cases" in caplog.text


def test_split_patients__whole_patients_on_one_side_and_the_record_split_without_them():
    s = FinetuneSettings(label_fraction=1.0)
    patients = [f"p{i // 3}" for i in range(30)]
    train, val = split_patients(patients, s, np.random.default_rng(1))
    assert len(train) + len(val) == 30 and set(train).isdisjoint(val)
    assert {patients[i] for i in train}.isdisjoint({patients[i] for i in val})
    for frac in (1.0, 0.5, 0.1):   # one record per patient: the plain record split of earlier versions
        s = FinetuneSettings(label_fraction=frac)
        train, val = split_patients([str(i) for i in range(40)], s, np.random.default_rng(7))
        use = np.random.default_rng(7).permutation(40)[:max(2, round(frac * 40))]
        n_val = max(1, round(0.2 * len(use)))
        assert np.array_equal(val, use[:n_val]) and np.array_equal(train, use[n_val:])


def test_finetune__patient_id_is_not_a_label_and_errors_name_the_file(files):
    ls = read_label_table(_labels(files / "pid.tsv", patient_id=[f"p{i // 2}" for i in range(N)]))
    arr = load_ecgs([files / "ecg.npz"])
    ft = finetune(arr.signals, arr.ids, ls.labels, checkpoint=files / "base", patients=ls.patients,
                  source=str(files / "pid.tsv"), settings=FinetuneSettings(epochs=1, batch_size=8, linear_probe=True))
    assert ft.model.config.labels == ("y", "z")
    r = CliRunner().invoke(cli, ["finetune", "--checkpoint", str(files / "base"), "--ecg", str(files / "ecg.npz"),
                                 "--labels", str(files / "pid.tsv"), "--linear-probe", "--epochs", "1",
                                 "--batch-size", "8", "--out", str(files / "ftp")])
    assert r.exit_code == 0, r.output
    bad = _labels(files / "bad.tsv", y=[2] + [0] * (N - 1))
    r = CliRunner().invoke(cli, ["finetune", "--checkpoint", str(files / "base"), "--ecg", str(files / "ecg.npz"),
                                 "--labels", str(bad), "--out", str(files / "ftb")])
    assert r.exit_code == 2 and f"{bad}: column y row IID R00: value 2.0 is not 0/1" in r.output, r.output


# --------------------------------------------------------------------------- learning rates (review s34b)
@pytest.mark.parametrize("kw, message", [({"lr": float("nan")}, "--lr nan: must be a finite number > 0"),
                                         ({"lr": -1.0}, "--lr -1.0: must be a finite number > 0"),
                                         ({"encoder_lr": float("nan")}, "--encoder-lr nan"),
                                         ({"encoder_lr": float("inf")}, "--encoder-lr inf")])
def test_finetune_settings__a_rate_that_is_not_finite_and_positive_is_one_line(kw, message):
    """Was: --lr nan / -1 a torch ValueError traceback; --encoder-lr nan ran and kept the probe silently."""
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        FinetuneSettings(**kw)


@pytest.mark.parametrize("kw, message", [({"lr": float("nan")}, "--lr nan"), ({"lr": 0.0}, "--lr 0.0"),
                                         ({"wander_mv": float("nan")}, "--wander-mv nan"),
                                         ({"lead_dropout": float("nan")}, "--lead-dropout nan")])
def test_pretrain_settings__nan_or_out_of_range_is_one_line(kw, message):
    """Was: --lr nan/-1 a traceback; --wander-mv nan and --lead-dropout nan (NaN passes click's range) ran."""
    from edfgen.model.pretrain import PretrainSettings

    with pytest.raises(InputError, match=message):
        PretrainSettings(**kw)


def test_finetune_cli__lr_nan_is_one_line(files):
    r = CliRunner().invoke(cli, ["finetune", "--checkpoint", str(files / "base"), "--ecg", str(files / "ecg.npz"),
                                 "--labels", str(_labels(files / "l.tsv")), "--lr", "nan", "--out", str(files / "o")])
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and "--lr: 'nan' is not a finite number" in lines[0], r.output
    assert not (files / "o").exists()


def test_finetune__diverged_training_is_one_line_not_a_traceback(files):
    """Was: a huge --lr made every validation AUROC NaN and restoring the best epoch (none) a TypeError."""
    from edfgen.exceptions import StageError

    labels = pd.read_csv(_labels(files / "l.tsv"), sep="\t")
    ecg = np.load(files / "ecg.npz")["ecg"]
    with pytest.raises(StageError, match="NaN at every epoch .training diverged"):
        finetune(ecg, IDS, labels, checkpoint=files / "base",
                 settings=FinetuneSettings(epochs=1, batch_size=8, lr=1e30, linear_probe=True))


def test_pretrain__a_non_finite_loss_stops_with_one_line_and_no_nan_checkpoint(tmp_path):
    """Was: exit 0 with 'loss nan' and a checkpoint of NaN weights that extract then refused."""
    from edfgen.exceptions import StageError
    from edfgen.model.pretrain import PretrainSettings, pretrain

    s = PretrainSettings(steps=3, batch_size=2, warmup=1, checkpoint_every=5, log_every=1, lr=1e30)
    with pytest.raises(StageError, match="loss is not finite at update 2 .training diverged.: lower --lr"):
        pretrain(tmp_path / "p", config=MICRO, settings=s, simulated=4, sim_seed=1)
    assert not (tmp_path / "p" / "checkpoint.json").exists()


# --------------------------------------------------------------------------- ML audit (s37ml)
def test_read_label_table__a_record_without_patient_id_is_its_own_patient_not_one_patient_nan(tmp_path, caplog):
    """Was: every blank/NA patient_id became the one patient 'nan', so those records formed one cluster: one fold of
    the linear probe, one bootstrap draw, one side of the fine-tune split."""
    path = _labels(tmp_path / "pid.tsv", patient_id=["p0", "p0", None, None] + [None] * (N - 4))
    with caplog.at_level(logging.WARNING):
        ls = read_label_table(path)
    assert ls.patients["R00"] == ls.patients["R01"] == "p0"
    assert [ls.patients[i] for i in IDS[2:]] == IDS[2:]
    assert "22 row(s) have no patient_id (first IID R02)" in caplog.text


def test_read_label_table__patient_ids_are_text_not_numbers(tmp_path):
    """Was read as numbers (second read s37 A1): patients ``0101`` and ``101`` were one patient '101' (one fold, one
    bootstrap draw, one side of the fine-tune split), and beside a blank every id became '101.0'."""
    path = _labels(tmp_path / "pid.tsv", patient_id=["0101", "101", None] + [str(200 + k) for k in range(N - 3)])
    ls = read_label_table(path)
    assert (ls.patients["R00"], ls.patients["R01"], ls.patients["R02"], ls.patients["R03"]) == ("0101", "101", "R02",
                                                                                                  "200")


def test_load_checkpoint__another_format_version_or_a_newer_edfgens_config_is_one_line_naming_the_versions(files):
    """Was: a checkpoint of format_version 2 (or "x") loaded as if it were 1; a newer edfgen's config key said only
    'unknown key(s)', not that the checkpoint came from another edfgen."""
    import json

    from edfgen import __version__
    from edfgen.exceptions import CheckpointError
    from edfgen.model.checkpoint import load_checkpoint

    doc = json.loads((files / "base.json").read_text())
    for version in (2, "x"):
        (files / "base.json").write_text(json.dumps({**doc, "format_version": version, "edfgen_version": "9.0"}))
        with pytest.raises(CheckpointError, match=rf"format_version {version!r} \(written by edfgen 9.0\); this "
                                                  rf"edfgen {__version__} reads format_version 1"):
            load_checkpoint(files / "base")
    (files / "base.json").write_text(json.dumps({**doc, "config": {**doc["config"], "new": 1}, "edfgen_version": "9.0"}))
    with pytest.raises(CheckpointError, match=rf"unknown key.*'new'.*written by edfgen 9.0; this is edfgen {__version__}"):
        load_checkpoint(files / "base")
    (files / "base.json").write_text(json.dumps({k: v for k, v in doc.items() if k != "format_version"}))
    assert load_checkpoint(files / "base").config.name == "micro"     # a hand-written JSON without it: version 1


def test_finetune__label_rows_without_ecg_and_ecgs_without_label_are_warned_as_evaluate_does(files, caplog):
    """Was: finetune trained on the matched subset without a word (an IID typo dropped records silently)."""
    t = pd.read_csv(_labels(files / "l.tsv"), sep="\t")
    t = pd.concat([t.iloc[4:], pd.DataFrame({"IID": ["TYPO1", "TYPO2"], "y": [0, 1], "z": [1, 0]})])
    t.to_csv(files / "partial.tsv", sep="\t", index=False)
    arr = load_ecgs([files / "ecg.npz"])
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        ft = finetune(arr.signals, arr.ids, t, checkpoint=files / "base", out_dir=files / "ft", source="partial.tsv",
                      settings=FinetuneSettings(epochs=1, batch_size=8, linear_probe=True))
    assert "finetune: 2 row(s) of partial.tsv have no ECG record (first IID TYPO1): not used" in caplog.text
    assert "finetune: 4 ECG record(s) have no row in partial.tsv (first: R00): not used" in caplog.text
    assert ft.n_train + ft.n_val == N - 4
    meta = load_checkpoint_metadata(files / "ft" / "checkpoint")
    assert meta["label_rows_without_ecg"] == 2 and meta["ecg_records_without_label"] == 4


def load_checkpoint_metadata(prefix):
    from edfgen.model.checkpoint import read_checkpoint_json

    return read_checkpoint_json(prefix)[1]["metadata"]


def test_align_labels__a_text_label_names_its_column_and_iid_not_a_position(files):
    """Was: 'label columns must be 0/1 (Unable to parse string "426783006,164889003" at position 2)': the position
    of the row among the label rows, not its IID (SNOMED codes pasted into a 0/1 column)."""
    from edfgen.model.finetune import align_labels

    t = pd.read_csv(_labels(files / "l.tsv"), sep="\t", dtype={"z": str})
    t.loc[2, "z"] = "426783006,164889003"
    with pytest.raises(InputError, match=r"l.tsv: column z row IID R02: value '426783006,164889003' is not 0/1"):
        align_labels(IDS, t, source="l.tsv")


def test_read_safetensors_header__a_file_cut_inside_its_header_says_so_not_that_the_header_is_not_json(files):
    """Was: 'safetensors header is not JSON (...: not a safetensors file (header length 192, file size 20 bytes))':
    the nested message of the truncation caught as if it were a JSON error."""
    from edfgen.exceptions import CheckpointError
    from edfgen.model.checkpoint import read_safetensors_header

    w = files / "base.safetensors"
    w.write_bytes(w.read_bytes()[:20])
    with pytest.raises(CheckpointError) as err:
        read_safetensors_header(w)
    assert "not a safetensors file (header length" in str(err.value) and "not JSON" not in str(err.value)


def test_read_label_table__a_plink_fid_column_is_not_a_label(files):
    """A PLINK-style outcomes file (FID IID y z) was read with FID as a label: 'column FID row IID R00: value 'R00'
    is not 0/1' (before that message: a pandas parse error); FID is an id column, as in edfgen's phenotype readers."""
    t = pd.read_csv(_labels(files / "l.tsv"), sep="\t")
    t.insert(0, "FID", t["IID"])
    t.to_csv(files / "fid.tsv", sep="\t", index=False)
    ls = read_label_table(files / "fid.tsv")
    assert ls.names == ["y", "z"]
    t.rename(columns={"FID": "#FID"}).to_csv(files / "hfid.tsv", sep="\t", index=False)
    assert read_label_table(files / "hfid.tsv").names == ["y", "z"]


def test_finetune_cli__a_killed_run_resumes_to_the_same_bytes_and_never_from_other_options(files, monkeypatch):
    """Was: a killed finetune restarted from epoch 1 (no state was kept). Now a rerun continues after the last epoch
    saved and writes the uninterrupted run's checkpoint byte for byte and its losses (epoch 4, after the kill, is
    trained by the rerun: the weights, AdamW moments and RNG states come back); a rerun with another option starts
    afresh.
    (The kill here is an exception after the state of epoch 3 is written; a SIGKILL leaves the same files.)"""
    import edfgen.model.finetune as ft

    args = ["finetune", "--checkpoint", str(files / "base"), "--ecg", str(files / "ecg.npz"), "--labels",
            str(_labels(files / "l.tsv")), "--epochs", "3", "--patience", "9", "--batch-size", "8", "--out"]
    weights = "checkpoint.safetensors"

    class Killed(BaseException):
        pass

    real = ft.save_finetune_state

    def run(out, *more, die=None):
        def save(*a, **k):
            real(*a, **k)
            if a[6] == die:
                raise Killed
        monkeypatch.setattr(ft, "save_finetune_state", save)
        if die is not None:
            with pytest.raises(Killed):
                CliRunner().invoke(cli, [*args, str(files / out), *more], catch_exceptions=False)
            assert (files / out / ft.STATE_NAME).exists() and not (files / out / weights).exists()
            return None
        r = CliRunner().invoke(cli, [*args, str(files / out), *more])
        assert r.exit_code == 0, r.output
        assert not (files / out / ft.STATE_NAME).exists()
        trained = pd.read_csv(files / out / "finetune_log.tsv", sep="\t").drop(columns="seconds").to_csv()
        return (files / out / weights).read_bytes() + (files / out / "checkpoint.json").read_bytes() + trained.encode(), \
            r.output

    full, _ = run("full")
    run("killed", die=3)
    resumed, said = run("killed")
    assert resumed == full and "the killed run is resumed after its epoch 3" in said, said
    run("other", die=3)
    other, said = run("other", "--encoder-lr", "1e-4")
    assert other == run("fresh", "--encoder-lr", "1e-4")[0] != full
    assert "was written for another base checkpoint, options, labels or ECGs: not resumed" in said, said


def test_evaluate_linear__a_label_whose_cases_are_one_patient_is_na_with_a_warning(files, caplog):
    """All 12 cases of y are ECGs of one patient, so one fold's probe never saw a case: y is NA (was a finite AUROC of
    constant predictions), z is scored, and the warning names y."""
    pid = [("p0" if i % 2 else f"c{i}") for i in range(N)]
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        res = evaluate_ecgs(files / "base", [files / "ecg.npz"], labels=_labels(files / "p.tsv", patient_id=pid),
                            settings=EvaluateSettings(probe="linear", n_boot=20, baselines=(), min_positives=3, folds=2))
    t = res.table.set_index("label")
    assert np.isnan(t.loc["y", "auroc"]) and np.isfinite(t.loc["z", "auroc"])
    assert "1 label(s) are NA: the probe of a fold was trained on one class of the label" in caplog.text
    assert "(first: y, fold(s) " in caplog.text


def test_finetune_cli__a_run_killed_under_other_threads_starts_afresh(files, monkeypatch):
    """Was: the fingerprint left out torch's thread count (and the torch/edfgen versions and the base checkpoint's
    JSON), while --threads 2 and --threads 1 train different bytes: a run killed under 2 threads and rerun under 1 (the
    default is all cores, so the same command on another node) was resumed, silently mixing two runs. Now it starts
    afresh with the warning."""
    import edfgen.model.finetune as ft

    args = ["finetune", "--checkpoint", str(files / "base"), "--ecg", str(files / "ecg.npz"), "--labels",
            str(_labels(files / "l.tsv")), "--epochs", "2", "--patience", "9", "--batch-size", "8", "--out",
            str(files / "k")]

    class Killed(BaseException):
        pass

    real = ft.save_finetune_state

    def save(*a, **k):
        real(*a, **k)
        raise Killed
    monkeypatch.setattr(ft, "save_finetune_state", save)
    with pytest.raises(Killed):
        CliRunner().invoke(cli, [*args, "--threads", "2"], catch_exceptions=False)
    monkeypatch.setattr(ft, "save_finetune_state", real)
    r = CliRunner().invoke(cli, [*args, "--threads", "1"])
    assert r.exit_code == 0, r.output
    assert "not resumed, starting afresh" in r.output and "is resumed after" not in r.output, r.output


def test_finetune_cli__force_keeps_a_users_own_train_state_json(files):
    """Was: finetune saves its state through pretrain's save_train_state, which deleted out_dir/train_state.json
    (pretrain's old state file): `finetune --force --out dir` deleted a user's own file there. --force never deletes
    what edfgen did not write."""
    out = files / "o"
    out.mkdir()
    (out / "train_state.json").write_text('{"mine": 1}')
    r = CliRunner().invoke(cli, ["finetune", "--checkpoint", str(files / "base"), "--ecg", str(files / "ecg.npz"),
                                 "--labels", str(_labels(files / "l.tsv")), "--epochs", "2", "--batch-size", "8",
                                 "--force", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "train_state.json").read_text() == '{"mine": 1}'


def test_evaluate_linear__a_label_known_in_one_fold_only_says_so_and_that_the_macro_is_na(files, caplog):
    """Was: a label whose known values are all in one fold (here: all of one patient) was warned as 'trained on one
    class of the label, its cases (or controls) all being in that fold', with no word of the macro AUROC being NA nor
    of --label-columns. Now the warning names the cause (no known value in the training part), the NA macro and how
    to leave the label out."""
    pid = [("p0" if i < 6 else f"c{i}") for i in range(N)]
    w = [float(i % 2) if i < 6 else np.nan for i in range(N)]
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        res = evaluate_ecgs(files / "base", [files / "ecg.npz"], labels=_labels(files / "w.tsv", w=w, patient_id=pid),
                            settings=EvaluateSettings(probe="linear", n_boot=20, baselines=(), min_positives=3, folds=2))
    t = res.table.set_index("label")
    assert np.isnan(t.loc["w", "auroc"]) and np.isnan(t["auroc"].iloc[-1]) and np.isfinite(t.loc["y", "auroc"])
    assert "trained on no known value of the label (all its known values are in that fold) (first: w" in caplog.text
    assert "their AUROC and the macro AUROC are NA" in caplog.text and "--label-columns" in caplog.text
    assert "one class" not in caplog.text


def test_finetune_cli__a_resumed_runs_log_seconds_count_on_from_the_killed_run(files, monkeypatch):
    """Was: the log's ``seconds`` ("since the start of fine-tuning") restarted at ~0 after a resume. Now the state
    keeps the elapsed time and the resumed epochs count on from it (the hours the run lay dead are not counted). A fake
    clock advancing 10 s per reading makes it exact."""
    import types

    import edfgen.model.finetune as ft

    args = ["finetune", "--checkpoint", str(files / "base"), "--ecg", str(files / "ecg.npz"), "--labels",
            str(_labels(files / "l.tsv")), "--epochs", "2", "--patience", "9", "--batch-size", "8", "--out",
            str(files / "k")]
    now = [1e6]

    def clock():
        now[0] += 10.0
        return now[0]
    monkeypatch.setattr(ft, "time", types.SimpleNamespace(time=clock))

    class Killed(BaseException):
        pass

    real = ft.save_finetune_state

    def save(*a, **k):
        real(*a, **k)
        if a[6] == 2:
            raise Killed
    monkeypatch.setattr(ft, "save_finetune_state", save)
    with pytest.raises(Killed):
        CliRunner().invoke(cli, args, catch_exceptions=False)
    now[0] += 1e5                                   # the run lies dead a day
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0 and "is resumed after its epoch 2" in r.output, r.output
    sec = pd.read_csv(files / "k" / "finetune_log.tsv", sep="\t")["seconds"].to_numpy()
    assert list(sec) == [10.0, 20.0, 40.0], sec    # probe, epoch 2 (saved at 30 s), epoch 3: 30 + 10


@pytest.mark.parametrize("value", ["inf", "-inf"])
def test_align_labels__an_infinite_label_is_refused_naming_column_and_iid(files, value):
    """Was: a label value ``inf`` passed the 0/1 check (only finite values were checked) and was silently taken as
    unknown; it is refused like any other value that is not 0/1."""
    from edfgen.model.finetune import align_labels

    t = pd.read_csv(_labels(files / "l.tsv"), sep="\t", dtype={"z": str})
    t.loc[2, "z"] = value
    with pytest.raises(InputError, match=r"l.tsv: column z row IID R02: value -?inf is not 0/1"):
        align_labels(IDS, t, source="l.tsv")


def _npz_cases(folder):
    """.npz files numpy cannot read as an ECG bundle: Python objects in ecg, a bad CRC in ecg.npy's data, a
    member 'ecg' that is not a .npy, a truncated file."""
    import zipfile

    ecg, iid = np.zeros((2, 12, 100), np.float32), np.array(["a", "b"])
    np.savez(folder / "obj.npz", ecg=np.empty((2, 12, 100), object), iid=iid)
    np.savez(folder / "ok.npz", ecg=ecg, iid=iid)
    raw = bytearray((folder / "ok.npz").read_bytes())
    with zipfile.ZipFile(folder / "ok.npz") as zf:
        info = zf.getinfo("ecg.npy")
    raw[info.header_offset + 30 + len(info.filename) + 200] = 1      # in the data, after the .npy header
    (folder / "crc.npz").write_bytes(bytes(raw))
    with zipfile.ZipFile(folder / "noext.npz", "w") as zf:
        zf.writestr("ecg", b"xx")
        zf.writestr("iid.npy", b"")
    (folder / "trunc.npz").write_bytes(bytes(raw[:len(raw) // 2]))
    return ["obj.npz", "crc.npz", "noext.npz", "trunc.npz"]


def test_load_ecgs__an_unreadable_npz_bundle_is_one_input_error_naming_it(tmp_path):
    """Last read of s38 (NIT): an object-dtype or CRC-corrupt .npz, or one whose member 'ecg' has no .npy, raised
    numpy's or zipfile's ValueError/BadZipFile/KeyError from is_bundle or load_ecgs (a traceback); now one
    InputError line naming the file."""
    for name in _npz_cases(tmp_path):
        with pytest.raises(InputError) as e:
            load_ecgs([tmp_path / name])
        msg = str(e.value)
        assert msg.startswith(f"{tmp_path / name}: unreadable .npz ECG bundle (") and "\n" not in msg, msg


def test_run_evaluate__the_commands_defaults_and_one_ecg_path_from_python(files):
    """From a notebook: run_evaluate with only what the command line needs, one --ecg path as a string (before:
    TypeError naming 9 missing keywords; a string ecg was read as one file name per character in the manifest)."""
    from edfgen.commands.evaluate import run_evaluate

    res = run_evaluate(checkpoint=files / "head", ecg=str(files / "ecg.npz"), labels=_labels(files / "l.tsv"),
                       out=files / "ev", n_boot=10)
    assert (files / "ev" / "evaluation.tsv").is_file() and set(res.table.label) == {"y", "z", "macro"}


def test_run_evaluate__threads_are_restored_afterwards_as_extract_edfs_does(files):
    """Was: run_evaluate(threads=1) left torch on 1 thread for the rest of a notebook session."""
    from edfgen.commands.evaluate import run_evaluate

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        run_evaluate(checkpoint=files / "head", ecg=[files / "ecg.npz"], labels=_labels(files / "l.tsv"),
                     out=files / "ev1", n_boot=10, threads=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_evaluate_ecgs__one_ecg_path_is_one_path_not_its_characters(files):
    """Was: evaluate_ecgs(ckpt, "ptbxl/") read the string per character: '--ecg given 30 times: labels are read from
    one folder'."""
    res = evaluate_ecgs(files / "head", str(files / "ecg.npz"), labels=_labels(files / "one.tsv"),
                        settings=EvaluateSettings(n_boot=10, baselines=()))
    assert len(res.predictions) == N


def test_finetune__end_to_end_minibatches_of_preprocessed_signals_skip_the_batch_units_check(files):
    """Was (review of s41api): the encoder's batch-level units check ran in the fine-tuning loop, so a minibatch whose
    median record was above the clip level (a short last minibatch of one noisy record that loosened quality
    thresholds let through; here every record, at median lead SD ~10 mV) stopped the run mid-epoch with
    'µV or ADC counts?'. The signals are preprocessed: the epoch runs."""
    labels = pd.read_csv(_labels(files / "l.tsv"), sep="\t")
    ecg = np.load(files / "ecg.npz")["ecg"]
    scale = 10.0 / float(np.median(ecg.std(axis=2)))
    ft = finetune(ecg * scale, IDS, labels, checkpoint=files / "base", settings=FinetuneSettings(epochs=1, batch_size=8))
    assert ft.n_train + ft.n_val == N
