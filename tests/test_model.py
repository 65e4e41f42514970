"""Tests of the ECG encoder: shapes, sizes, losses, masking, checkpoints, training, DDP, metrics, CLI."""

from __future__ import annotations

import json
import os
import socket
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.exceptions import CheckpointError, ConfigError, InputError
from edfgen.formats.dictionary import check_file
from edfgen.model import ECGEncoder, count_parameters, get_config, load_checkpoint, save_checkpoint
from edfgen.model.config import ModelConfig
from edfgen.model.losses import span_mask
from edfgen.model.evaluation import evaluation_table
from edfgen.model.metrics import auprc_rows, auroc_rows
from edfgen.model.pretrain import PretrainSettings, pretrain
from edfgen.model.train_state import _read_state_doc

def write_bundle(path, ids, ecg):
    """An ECG bundle as ``edfgen.model.data.load_ecgs`` reads it: ``ecg [N, 12, T]`` mV + ``iid``."""
    np.savez(path, ecg=np.asarray(ecg, dtype=np.float32), iid=np.asarray([str(i) for i in ids]))
    return path


#: a very small config for fast training tests (same code paths as tiny)
MICRO = get_config("tiny").replace(name="micro", conv_layers=((16, 10, 5), (32, 4, 4), (32, 2, 2)), width=32, depth=1,
                                   mlm_depth=1, heads=2, ffn=64, codebook_size=16, codevector_dim=32, final_dim=32,
                                   cmsc_dim=16, pos_conv_groups=4, num_negatives=5)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_encoder__shapes():
    cfg = get_config("tiny")
    m = ECGEncoder(cfg).eval()
    x = torch.randn(3, 12, 2500)
    with torch.inference_mode():
        f = m.forward_features(x)
        e = m.embed(x)
    assert f.shape == (3, cfg.frames(2500), cfg.width)
    assert e.shape == (3, cfg.width)
    torch.testing.assert_close(e, f.mean(1))
    out = m.train().pretrain_losses(torch.randn(4, 2, 12, 2500))
    for k in ("loss", "contrastive", "mlm", "cmsc", "diversity"):
        assert out[k].ndim == 0 and torch.isfinite(out[k]), k


def test_count_parameters__lfm600m_on_meta_device():
    n = count_parameters(get_config("lfm-600m"))
    assert 550e6 < n < 650e6
    cfg = get_config("lfm-600m")
    assert cfg.depth + cfg.mlm_depth == 24 and cfg.width == 1024 and cfg.ffn == 4096 and cfg.heads == 16
    # the meta count equals a real count on a config small enough to allocate
    assert count_parameters(MICRO) == sum(p.numel() for p in ECGEncoder(MICRO).parameters())
    assert 2e5 < count_parameters(get_config("tiny")) < 2e6


def test_model_info__cli_json():
    r = CliRunner().invoke(cli, ["model", "info", "--config", "lfm-600m"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert info["parameters"] == count_parameters(get_config("lfm-600m"))
    assert info["frames_per_crop"] == get_config("lfm-600m").frames(2500)
    # a checkpoint's own preprocessing, as its JSON stores it (the model card says model info prints it)
    r = CliRunner().invoke(cli, ["model", "info", "--checkpoint", "small"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    from edfgen.model.checkpoint import load_checkpoint
    assert info["preprocessing"] == load_checkpoint("small").preprocessing.to_dict()
    assert info["preprocessing"]["sampling_rate"] == 500 and len(info["preprocessing"]["leads"]) == 12


def test_config__roundtrip_and_unknown_key():
    for name in ("tiny", "base", "lfm-600m"):
        cfg = get_config(name)
        assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ConfigError, match="bogus"):
        ModelConfig.from_dict({**get_config("tiny").to_dict(), "bogus": 1})
    with pytest.raises(ConfigError, match="nope"):
        get_config("nope")


def test_span_mask__statistics():
    p, length, t = 0.5, 3, 61
    g = torch.Generator().manual_seed(0)
    m = span_mask(4000, t, mask_prob=p, mask_length=length, generator=g)
    assert m.any(dim=1).all()
    q = p / length
    expected = 1 - (1 - q) ** np.minimum(np.arange(t) + 1, length)
    observed = m.float().mean(0).numpy()
    # binomial SE at n=4000 is <= 0.008; allow 4 SE
    assert np.abs(observed - expected).max() < 0.032
    # spans: every masked run is at least mask_length long unless clipped at the end
    runs = np.diff(np.concatenate([np.zeros((4000, 1)), m.numpy().astype(int), np.zeros((4000, 1))], 1), axis=1)
    starts = np.argwhere(runs == 1)
    ends = np.argwhere(runs == -1)
    lengths = ends[:, 1] - starts[:, 1]
    interior = ends[:, 1] < t
    # forced single frames (rows with no span) are rare
    assert (lengths[interior] >= length).mean() > 0.99


def _train_steps(cfg, crops, steps=25, lr=3e-3):
    torch.manual_seed(0)
    m = ECGEncoder(cfg).train()
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    hist = []
    for i in range(steps):
        torch.manual_seed(100 + i)
        out = m.pretrain_losses(crops)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        hist.append({k: float(v.detach()) for k, v in out.items()})
    return pd.DataFrame(hist)


def test_pretrain_losses__finite_and_decreasing():
    torch.manual_seed(1)
    t = torch.linspace(0, 5, 2500)
    base = torch.sin(2 * np.pi * 1.2 * t)[None, None] * torch.randn(8, 12, 1)
    crops = torch.stack([base + 0.1 * torch.randn_like(base), base + 0.1 * torch.randn_like(base)], 1)
    h = _train_steps(MICRO, crops)
    assert np.isfinite(h.to_numpy()).all()
    for k in ("loss", "contrastive", "mlm", "cmsc"):
        assert h[k].iloc[-5:].mean() < 0.9 * h[k].iloc[:5].mean(), (k, h[k].tolist())
    # the diversity term alone pushes the codebook usage up
    h = _train_steps(MICRO.replace(loss_contrastive=0.0, loss_mlm=0.0, loss_cmsc=0.0, loss_diversity=1.0), crops)
    assert h["diversity"].iloc[-5:].mean() < h["diversity"].iloc[:5].mean() - 0.02, h["diversity"].tolist()


def test_checkpoint__roundtrip_bit_exact(tmp_path):
    torch.manual_seed(0)
    m = ECGEncoder(get_config("tiny")).eval()
    path = save_checkpoint(m, m.config, Preprocessing(), tmp_path / "ck", metadata={"note": "x"})
    loaded = load_checkpoint(path)
    assert _state_equal(m.state_dict(), loaded.model.state_dict())
    assert loaded.config == m.config and loaded.preprocessing == Preprocessing() and not loaded.model.training
    assert loaded.metadata == {"note": "x"}
    x = torch.randn(2, 12, 2500)
    with torch.inference_mode():
        assert torch.equal(m.embed(x), loaded.model.embed(x))
    # the same checkpoint by prefix and by weights path
    assert load_checkpoint(tmp_path / "ck").sha256 == load_checkpoint(tmp_path / "ck.safetensors").sha256


def test_checkpoint__files_follow_the_umask(tmp_path):
    """Review s33a F6: checkpoint and training state were chmod-ed 0644 whatever the umask (weights trained on
    restricted ECGs world-readable under umask 077); they now follow it like every other output."""
    from edfgen.model.train_state import save_train_state

    m = ECGEncoder(MICRO)
    old = os.umask(0o077)
    try:
        save_checkpoint(m, MICRO, Preprocessing(), tmp_path / "ck")
        save_train_state(tmp_path, m, torch.optim.AdamW(m.parameters()), 0, {})
    finally:
        os.umask(old)
    modes = {f.name: f.stat().st_mode & 0o777 for f in tmp_path.iterdir()}
    assert modes == {"ck.json": 0o600, "ck.safetensors": 0o600, "train_state.safetensors": 0o600}, modes


def _rewrite_weights(path_json, mutate):
    from safetensors.torch import load_file, save_file

    from edfgen.formats.manifest import sha256_file

    doc = json.loads(path_json.read_text())
    w = path_json.parent / doc["weights"]
    state = load_file(str(w))
    mutate(state)
    save_file(state, str(w))
    doc["sha256"] = sha256_file(w)
    path_json.write_text(json.dumps(doc))


def test_load_checkpoint__refuses_mismatch(tmp_path):
    m = ECGEncoder(MICRO)
    path = save_checkpoint(m, MICRO, Preprocessing(), tmp_path / "a")
    # tampered weights: sha256 mismatch
    w = tmp_path / "a.safetensors"
    raw = bytearray(w.read_bytes())
    raw[-1] ^= 0xFF
    w.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(path)
    # missing key
    path = save_checkpoint(m, MICRO, Preprocessing(), tmp_path / "b")
    _rewrite_weights(path, lambda s: s.pop("final_norm.weight"))
    with pytest.raises(CheckpointError, match=r"b\.safetensors.*missing key 'final_norm.weight'"):
        load_checkpoint(path)
    # unexpected key
    path = save_checkpoint(m, MICRO, Preprocessing(), tmp_path / "c")
    _rewrite_weights(path, lambda s: s.__setitem__("extra.weight", torch.zeros(2)))
    with pytest.raises(CheckpointError, match="unexpected key 'extra.weight'"):
        load_checkpoint(path)
    # shape mismatch: JSON config says a different width than the weights
    path = save_checkpoint(m, MICRO, Preprocessing(), tmp_path / "d")
    doc = json.loads(path.read_text())
    doc["config"]["ffn"] = 128
    path.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match=r"d\.safetensors: key '.*ffn.*' has shape"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nothing")


def test_load_checkpoint__a_torch_pickle_or_a_folder_is_named_not_missing(tmp_path):
    """Review finding: `--checkpoint model.pt` said "not found" although the file exists; it is refused in one line
    that says why (never unpickled) and how to make an edfgen checkpoint; a folder lists the checkpoints in it."""
    m = ECGEncoder(MICRO)
    for name in ("model.pt", "model.PTH"):
        torch.save(m.state_dict(), tmp_path / name)
        with pytest.raises(CheckpointError) as exc:
            load_checkpoint(tmp_path / name)
        msg = str(exc.value)
        assert "not found" not in msg and "\n" not in msg and str(tmp_path / name) in msg
        assert "PyTorch file is not read" in msg and ".safetensors" in msg and "save_checkpoint" in msg
    save_checkpoint(m, MICRO, Preprocessing(), tmp_path / "run" / "checkpoint")
    with pytest.raises(CheckpointError, match=r"is a folder: give the checkpoint's prefix \(there: .*run/checkpoint\)"):
        load_checkpoint(tmp_path / "run")
    r = CliRunner().invoke(cli, ["model", "info", "--checkpoint", str(tmp_path / "model.pt")])
    assert r.exit_code == 2 and "PyTorch file is not read" in r.output and "Traceback" not in r.output


def test_model_export__never_replaces_a_file_edfgen_did_not_write(tmp_path):
    """Review finding: `model export --out notmine` replaced a user's notmine.json/.safetensors without a word, and
    an --out that is a folder wrote <folder>.json beside it. Now: a user's file is refused in one line and kept, an
    earlier export is replaced, and a folder gets <folder>/<checkpoint name>.*."""
    src = save_checkpoint(ECGEncoder(MICRO), MICRO, Preprocessing(), tmp_path / "src" / "ck")
    sha = load_checkpoint(src).sha256
    export = ["model", "export", "--checkpoint", str(src), "--out"]
    (tmp_path / "notmine.json").write_text('{"my": "data"}')
    (tmp_path / "notmine.safetensors").write_text("hello")
    (tmp_path / "weights.safetensors").write_text("hello")      # weights alone, without a JSON beside it
    for out, taken in (("notmine", "notmine.json"), ("notmine.json", "notmine.json"), ("weights", "weights.safetensors")):
        r = CliRunner().invoke(cli, [*export, str(tmp_path / out)])
        assert r.exit_code == 2, r.output
        assert len(r.output.strip().splitlines()) == 1 and f"{tmp_path / taken} exists and is not an edfgen" in r.output
    assert (tmp_path / "notmine.json").read_text() == '{"my": "data"}'
    assert (tmp_path / "notmine.safetensors").read_text() == (tmp_path / "weights.safetensors").read_text() == "hello"
    assert not (tmp_path / "weights.json").exists()
    for _ in range(2):                                  # written, then an earlier export replaced
        r = CliRunner().invoke(cli, [*export, str(tmp_path / "mine")])
        assert r.exit_code == 0, r.output
    assert load_checkpoint(tmp_path / "mine").sha256 == sha
    (tmp_path / "folder").mkdir()
    r = CliRunner().invoke(cli, [*export, str(tmp_path / "folder")])
    assert r.exit_code == 0 and str(tmp_path / "folder" / "ck.json") in r.output, r.output
    assert not (tmp_path / "folder.json").exists() and load_checkpoint(tmp_path / "folder" / "ck").sha256 == sha
    assert json.loads((tmp_path / "folder" / "ck.json").read_text())["format"] == "edfgen-checkpoint"


def test_model_export__out_ending_in_slash_makes_the_folder(tmp_path, monkeypatch):
    """Leftover of stop 26: click's Path type dropped the trailing "/", so `--out newdir/` wrote newdir.json beside
    the folder a user asked for. A trailing "/" now means a folder, made when new (from the command line and from a
    relative path as typed)."""
    src = save_checkpoint(ECGEncoder(MICRO), MICRO, Preprocessing(), tmp_path / "src" / "ck")
    monkeypatch.chdir(tmp_path)
    for out in ("newdir/", str(tmp_path / "abs" / "newer") + "/"):
        r = CliRunner().invoke(cli, ["model", "export", "--checkpoint", str(src), "--out", out])
        assert r.exit_code == 0, r.output
        folder = tmp_path / out.rstrip("/")
        assert load_checkpoint(folder / "ck").sha256 == load_checkpoint(src).sha256
        assert not folder.with_name(folder.name + ".json").exists()


def test_model_export__empty_out_or_the_source_itself_and_an_empty_checkpoint_are_one_line(tmp_path, monkeypatch):
    """Review s34b: --out '' wrote <cwd>/<name>.* (Path('') is '.'); --out the source's own prefix rewrote it in
    place (the shipped tiny.json in a fuzz run); --checkpoint '' was a ValueError traceback in every command."""
    src = save_checkpoint(ECGEncoder(MICRO), MICRO, Preprocessing(), tmp_path / "src" / "ck")
    before = src.read_bytes()
    monkeypatch.chdir(tmp_path)
    for out, message in (("", "--out '': empty"), (str(tmp_path / "src" / "ck"), "is the checkpoint being exported"),
                         (str(tmp_path / "src") + "/", "is the checkpoint being exported")):
        r = CliRunner().invoke(cli, ["model", "export", "--checkpoint", str(src), "--out", out])
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert r.exit_code == 2 and len(lines) == 1 and message in lines[0], r.output
    assert not (tmp_path / "ck.json").exists() and src.read_bytes() == before
    for args in (["model", "info", "--checkpoint", ""], ["model", "export", "--checkpoint", "", "--out", "x"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 2 and "checkpoint '': empty" in r.output and "Traceback" not in r.output, r.output


def test_save_checkpoint__metadata_nan_is_strict_json_null(tmp_path):
    path = save_checkpoint(ECGEncoder(MICRO), MICRO, Preprocessing(), tmp_path / "ck",
                           metadata={"last": {"loss": float("nan"), "acc": [float("inf"), 0.5]}})
    doc = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c} in {path}"))
    assert doc["metadata"] == {"last": {"loss": None, "acc": [None, 0.5]}}
    assert load_checkpoint(path).metadata == doc["metadata"]


def _tiny_settings(**kw):
    return PretrainSettings(**{"steps": 4, "batch_size": 4, "warmup": 2, "checkpoint_every": 2, "log_every": 1,
                               "lr": 1e-3, **kw})


def test_pretrain__resume_keeps_the_runs_own_preprocessing(tmp_path, caplog):
    """A run begun with the odd filter edges (every run before filter_padding existed) and resumed with today's
    default goes on with its own preprocessing, and the checkpoint says so; --init from such weights keeps the new
    run's preprocessing and says in the log which the weights were trained with."""
    import dataclasses
    import logging

    s = _tiny_settings()
    odd = dataclasses.replace(Preprocessing(), filter_padding="odd")
    pretrain(tmp_path / "b", config=MICRO, settings=s, preprocessing=odd, simulated=20, sim_seed=3, stop_at=2)
    pretrain(tmp_path / "b", config=MICRO, settings=s, simulated=20, sim_seed=3, resume=True)
    assert load_checkpoint(tmp_path / "b" / "checkpoint").preprocessing == odd
    with caplog.at_level(logging.INFO, logger="edfgen"):
        pretrain(tmp_path / "c", config=MICRO, settings=s, simulated=20, sim_seed=3, init=tmp_path / "b" / "checkpoint")
    assert load_checkpoint(tmp_path / "c" / "checkpoint").preprocessing.filter_padding == "even"
    assert "trained with filter_padding 'odd'; this run uses filter_padding 'even'" in caplog.text


def test_pretrain__resume_equals_uninterrupted(tmp_path):
    s = _tiny_settings()
    a = pretrain(tmp_path / "a", config=MICRO, settings=s, simulated=20, sim_seed=3)
    pretrain(tmp_path / "b", config=MICRO, settings=s, simulated=20, sim_seed=3, stop_at=2)
    assert _read_state_doc(tmp_path / "b")[0]["step"] == 2
    b = pretrain(tmp_path / "b", config=MICRO, settings=s, simulated=20, sim_seed=3, resume=True)
    assert b.step == a.step == 4
    wa = load_checkpoint(tmp_path / "a" / "checkpoint").model.state_dict()
    wb = load_checkpoint(tmp_path / "b" / "checkpoint").model.state_dict()
    assert _state_equal(wa, wb)
    # and the run actually trained (weights moved from the initialisation)
    torch.manual_seed(s.seed)
    init = ECGEncoder(MICRO).state_dict()
    assert not torch.equal(init["final_norm.weight"], wa["final_norm.weight"])
    log = pd.read_csv(tmp_path / "b" / "pretrain_log.tsv", sep="\t")
    assert list(log["step"]) == [1, 2, 3, 4]
    # the rows written before the interruption are rewritten unchanged (they lost digits: a cosmetic review finding)
    text = {r: pd.read_csv(tmp_path / r / "pretrain_log.tsv", sep="\t", dtype=str).drop(columns="seconds")
            for r in ("a", "b")}
    pd.testing.assert_frame_equal(text["a"], text["b"])
    check_file("pretrain_log", tmp_path / "b" / "pretrain_log.tsv")


def test_pretrain__init_continues_from_a_checkpoint(tmp_path):
    s = _tiny_settings(steps=2, checkpoint_every=2)
    a = pretrain(tmp_path / "a", config=MICRO, settings=s, simulated=20, sim_seed=3)
    # lr ~ 0: the continued run starts from a's weights, not from a fresh initialisation
    b = pretrain(tmp_path / "b", config=MICRO, settings=_tiny_settings(steps=1, lr=1e-12), simulated=20, sim_seed=3,
                 init=tmp_path / "a" / "checkpoint")
    wa, wb = a.model.state_dict(), b.model.state_dict()
    assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa if wa[k].is_floating_point())
    torch.manual_seed(s.seed)
    fresh = ECGEncoder(MICRO).state_dict()          # where b would have started without --init
    assert not torch.allclose(fresh["final_norm.weight"], wb["final_norm.weight"])
    with pytest.raises(ConfigError, match="--init"):
        pretrain(tmp_path / "d", config=MICRO.replace(name="other", width=48), settings=s, simulated=20,
                 init=tmp_path / "a" / "checkpoint")


def _ddp_worker(rank, world, port, out, bundle):
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    res = pretrain(out, config=MICRO, settings=_tiny_settings(steps=3, checkpoint_every=3), ecg=[bundle],
                   simulated=10, sim_seed=1, device="cpu")
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in res.model.state_dict().items()}, os.path.join(out, f"rank{rank}.safetensors"))


def test_pretrain__ddp_two_processes_gloo(tmp_path):
    import torch.multiprocessing as mp
    from safetensors.torch import load_file

    from edfgen.simulate.ecg import random_physiology, synthesize_batch

    phys = random_physiology(12, rng=np.random.default_rng(0))
    bundle = write_bundle(tmp_path / "ecg.npz", [f"P{i}" for i in range(12)], synthesize_batch(phys, seed=0))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "ddp"
    out.mkdir()
    mp.spawn(_ddp_worker, args=(2, port, str(out), str(bundle)), nprocs=2, join=True)
    w0 = load_file(str(out / "rank0.safetensors"))
    w1 = load_file(str(out / "rank1.safetensors"))
    assert _state_equal(w0, w1)
    torch.manual_seed(0)
    init = ECGEncoder(MICRO).state_dict()
    assert not torch.equal(init["final_norm.weight"], w0["final_norm.weight"])
    # only rank 0 wrote the checkpoint, and it holds the synchronised weights
    assert _state_equal(load_checkpoint(out / "checkpoint").model.state_dict(), w0)


def test_auroc_auprc__match_sklearn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.random((5, 200)) < 0.15
    s = np.round(rng.normal(size=(5, 200)) + y, 1)  # with ties
    ref_auc = [roc_auc_score(y[i], s[i]) for i in range(5)]
    ref_ap = [average_precision_score(y[i], s[i]) for i in range(5)]
    np.testing.assert_allclose(auroc_rows(y, s), ref_auc, rtol=1e-12)
    np.testing.assert_allclose(auprc_rows(y, s), ref_ap, rtol=1e-12)
    row = evaluation_table(y[0][:, None], s[0][:, None], ["A"], n_boot=500, seed=3, macro=False).iloc[0]
    ci = {m: SimpleNamespace(estimate=row[m], lower=row[f"{m}_lower"], upper=row[f"{m}_upper"])
          for m in ("auroc", "auprc")}
    assert ci["auroc"].lower < ci["auroc"].estimate < ci["auroc"].upper
    assert ci["auprc"].lower < ci["auprc"].estimate < ci["auprc"].upper
    # the vectorised bootstrap equals a loop over the same resamples scored by scikit-learn
    idx = np.random.default_rng(3).integers(0, 200, size=(500, 200))
    for name, fn in (("auroc", roc_auc_score), ("auprc", average_precision_score)):
        reps = [fn(y[0][i], s[0][i]) for i in idx if y[0][i].any() and not y[0][i].all()]
        lo, hi = np.quantile(reps, [0.025, 0.975])
        assert (ci[name].lower, ci[name].upper) == (pytest.approx(lo, rel=1e-10), pytest.approx(hi, rel=1e-10))


@pytest.fixture(scope="module")
def probe_cohort():
    """400 simulated participants from a seed never used in pre-training (pre-training used sim seed 1)."""
    from edfgen.model.probe import simulated_cohort

    return simulated_cohort(400, seed=20261124)


def test_shipped_tiny__generalises_to_new_seed(probe_cohort):
    from edfgen.model.data import embed_ecgs
    from edfgen.model.probe import ridge_probe

    loaded = load_checkpoint("tiny")
    assert loaded.config.name == "tiny" and loaded.path.name == "tiny.json"
    signals, phys = probe_cohort
    emb = embed_ecgs(loaded.model, signals, loaded.preprocessing.crop_samples)
    assert np.isfinite(emb).all()
    res = ridge_probe(emb, {"hr": phys["heart_rate_bpm"].to_numpy(), "qt": phys["qt_interval_ms"].to_numpy()})
    assert res.r2["hr"] >= 0.8, res.r2
    # a random encoder of the same architecture is much worse: the pre-training did the work
    torch.manual_seed(0)
    rand = ridge_probe(embed_ecgs(ECGEncoder(loaded.config), signals, 2500),
                       {"hr": phys["heart_rate_bpm"].to_numpy()})
    assert res.r2["hr"] > rand.r2["hr"] + 0.1, (res.r2, rand.r2)


def test_finetune_evaluate__cli(tmp_path, probe_cohort):
    signals, phys = probe_cohort
    # raw bundle: re-simulate is slow, so store the preprocessed signals (filtering again is harmless)
    ids = [f"S{i:04d}" for i in range(len(phys))]
    bundle = write_bundle(tmp_path / "ecg.npz", ids, signals)
    hr = phys["heart_rate_bpm"].to_numpy()
    labels = pd.DataFrame({"IID": ids, "TACHY": (hr > np.quantile(hr, 0.8)).astype(int),
                           "NOISE": np.random.default_rng(0).integers(0, 2, len(ids))})
    labels.to_csv(tmp_path / "outcomes.tsv", sep="\t", index=False)
    r = CliRunner().invoke(cli, ["finetune", "--checkpoint", "tiny", "--ecg", str(bundle), "--labels",
                                 str(tmp_path / "outcomes.tsv"), "--linear-probe", "--epochs", "5",
                                 "--out", str(tmp_path / "ft")])
    assert r.exit_code == 0, r.output
    check_file("finetune_log", tmp_path / "ft" / "finetune_log.tsv")
    assert (tmp_path / "ft" / "manifest.json").exists()
    r = CliRunner().invoke(cli, ["evaluate", "--checkpoint", str(tmp_path / "ft" / "checkpoint"), "--ecg", str(bundle),
                                 "--labels", str(tmp_path / "outcomes.tsv"), "--bootstrap", "200",
                                 "--out", str(tmp_path / "ev")])
    assert r.exit_code == 0, r.output
    ev = pd.read_csv(tmp_path / "ev" / "evaluation.tsv", sep="\t").set_index("label")
    check_file("model_evaluation", tmp_path / "ev" / "evaluation.tsv")
    check_file("model_predictions", tmp_path / "ev" / "predictions.tsv")
    assert (tmp_path / "ev" / "evaluation.png").stat().st_size > 1000
    assert ev.loc["TACHY", "auroc"] > 0.85
    assert ev.loc["TACHY", "auroc_lower"] < ev.loc["TACHY", "auroc"] < ev.loc["TACHY", "auroc_upper"]
    assert abs(ev.loc["NOISE", "auroc"] - 0.5) < 0.15
    # evaluating a pre-trained checkpoint (no head) is a clear one-line error
    r = CliRunner().invoke(cli, ["evaluate", "--checkpoint", "tiny", "--ecg", str(bundle), "--labels",
                                 str(tmp_path / "outcomes.tsv"), "--out", str(tmp_path / "ev2")])
    assert r.exit_code == 2 and "no disease head" in r.output


def test_finetune__lpft_and_scratch_modes(probe_cohort):
    from edfgen.model.finetune import FinetuneSettings, finetune

    signals, phys = probe_cohort
    n = 80
    ids = [f"S{i:04d}" for i in range(n)]
    hr = phys["heart_rate_bpm"].to_numpy()[:n]
    labels = pd.DataFrame({"IID": ids, "TACHY": (hr > np.median(hr)).astype(int)})
    ft = finetune(signals[:n], ids, labels, settings=FinetuneSettings(epochs=1, patience=5, batch_size=32))
    assert list(ft.log["stage"].unique()) == ["linear_probe", "finetune"]
    assert ft.model.config.labels == ("TACHY",) and ft.best_val_auroc > 0.8
    sc = finetune(signals[:n], ids, labels, settings=FinetuneSettings(epochs=1, from_scratch=True, batch_size=32))
    assert list(sc.log["stage"]) == ["scratch"] and sc.best_epoch == 1
    # a validation split without both classes has no AUROC to stop on: one clear error, not a crash
    with pytest.raises(InputError, match="no label has both classes.*'TACHY': 0"):
        finetune(signals[:n], ids, labels.assign(TACHY=0), settings=FinetuneSettings(epochs=1))


def test_pretrain_cli__real_wfdb_records_and_out_guard(tmp_path, shared_data):
    from edfgen.model.data import load_ecgs

    cinc = shared_data / "ecg" / "cinc2021"
    arr = load_ecgs([cinc])
    assert arr.signals.shape[1:] == (12, 5000) and np.isfinite(arr.signals).all()
    assert len(arr.ids) + len(arr.rejects) == len(list(cinc.glob("*.hea")))
    out = tmp_path / "pt"
    args = ["pretrain", "--config", "tiny", "--ecg", str(cinc), "--steps", "2", "--batch-size", "4", "--warmup", "1",
            "--out", str(out)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["steps"] == 2 and str(cinc) in manifest["inputs"]
    check_file("pretrain_log", out / "pretrain_log.tsv")
    assert load_checkpoint(out / "checkpoint").metadata["steps_done"] == 2
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and "not empty" in r.output and len(r.output.strip().splitlines()) == 1
    # a finished run resumed trains nothing and says so (was "2 steps in 0 s, loss nan"); modes follow the umask
    r = CliRunner().invoke(cli, [*args, "--resume"])
    assert r.exit_code == 0 and "already complete at step 2" in r.output, r.output
    assert (out / "train_state.safetensors").stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_augment__wander_and_lead_dropout_keep_shape_and_zero_whole_leads():
    from edfgen.model.data import augment

    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 2, 12, 2500)
    y = augment(x, scale_sd=0.0, noise_mv=0.0, wander_mv=0.0, lead_dropout=0.5, generator=g)
    dropped = (y == 0).all(dim=-1)
    assert y.shape == x.shape and 0.3 < dropped.float().mean() < 0.7
    assert torch.equal(y[~dropped], x[~dropped])                  # kept leads untouched
    w = augment(torch.zeros(4, 2, 12, 2500), scale_sd=0.0, noise_mv=0.0, wander_mv=0.2, generator=g)
    assert 0 < w.abs().max() <= 0.2 + 1e-6                        # wander bounded by its amplitude
    spec = torch.fft.rfft(w[0, 0, 0]).abs()
    assert spec.argmax() <= 3                                     # < 0.6 Hz at 500 Hz, 5 s crops (0.2 Hz bins)


def test_decode_targets__inverts_encode_targets_in_their_units():
    """decode(encode(x)) = x for every target, the QRS axis back from its sine and cosine (angles in (-180, 180])."""
    import pandas as pd

    from edfgen.model.targets import AUX_TARGETS, decode_targets, encode_targets

    table = pd.DataFrame({"heart_rate_bpm": [55.0, 120.0, 70.0], "pr_interval_ms": [120.0, 210.0, np.nan],
                          "qrs_duration_ms": [80.0, 140.0, 96.0], "qt_interval_ms": [360.0, 480.0, 410.0],
                          "qrs_axis_deg": [-30.0, 100.0, 179.0]})
    names = list(AUX_TARGETS)
    back = decode_targets(encode_targets(table, names), names)
    assert list(back.columns) == list(table.columns)
    np.testing.assert_allclose(back.to_numpy(), table.to_numpy(), rtol=1e-5, atol=1e-3)
    assert list(decode_targets(np.zeros((1, 1)), ["qt_interval"]).columns) == ["qt_interval_ms"]
    assert decode_targets(np.zeros((1, 1)), ["qt_interval"]).iloc[0, 0] == pytest.approx(400.0)
    with pytest.raises(ValueError, match="expected"):
        decode_targets(np.zeros((2, 3)), names)


def test_aux_targets__encoded_from_physiology_and_learned_by_the_head():
    """The auxiliary head is fit to the measurement targets: its loss falls, NaN targets are ignored."""
    import pandas as pd

    from edfgen.model.targets import AUX_TARGETS, encode_targets

    table = pd.DataFrame({"heart_rate_bpm": [70.0, 100.0], "qt_interval_ms": [440.0, np.nan],
                          "qrs_axis_deg": [90.0, 0.0]})
    y = encode_targets(table, ["heart_rate", "qt_interval", "qrs_axis_sin", "qrs_axis_cos", "pr_interval"])
    np.testing.assert_allclose(y[0, :4], [0.0, 1.0, 1.0, 0.0], atol=1e-6)
    assert y[1, 0] == pytest.approx(2.0) and np.isnan(y[1, 1]) and np.isnan(y[:, 4]).all()
    with pytest.raises(ConfigError, match="unknown target"):
        get_config("tiny").replace(aux_targets=("qtc",))
    cfg = get_config("tiny").replace(aux_targets=tuple(AUX_TARGETS)[:4], loss_aux=1.0)
    torch.manual_seed(0)
    m = ECGEncoder(cfg)
    opt = torch.optim.Adam(m.aux_head.parameters(), lr=1e-2)
    crops = torch.randn(6, 2, 12, 2500) * 0.3
    t = torch.randn(6, 4)
    t[0, 1] = float("nan")
    first = None
    for _ in range(30):
        out = m.pretrain_losses(crops, aux_targets=t, generator=torch.Generator().manual_seed(1))
        opt.zero_grad()
        out["aux"].backward()
        opt.step()
        first = float(out["aux"].detach()) if first is None else first
    assert np.isfinite(first) and float(out["aux"].detach()) < 0.5 * first
    # a config without aux targets reports aux = 0 and has no head
    assert ECGEncoder(get_config("tiny")).aux_head is None


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old
