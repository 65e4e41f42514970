"""``extract --device/--precision``: the CPU default is the float32 model as before, and EDFs computed
under bfloat16 autocast (CPU emulation of the GPU path; float16 likewise) agree with float32 within the
stated tolerance: per EDF, correlation across ECGs >= 0.999 and the largest difference <= 5 % of the
EDF's standard deviation (bfloat16 keeps 8 significant bits: ~0.4 % relative error per product)."""

from __future__ import annotations

import numpy as np
import pytest

from edfgen.exceptions import InputError

#: the stated tolerance of bf16/fp16 EDFs against float32 (README, extract --precision)
MIN_CORRELATION = 0.999
MAX_DIFF_SD = 0.05


@pytest.fixture(scope="module")
def windows():
    """Preprocessed 10 s windows of 24 simulated ECGs, with the tiny checkpoint's preprocessing."""
    from edfgen.kernels.ecg import LEADS
    from edfgen.kernels.ecg.preprocess import preprocess_many
    from edfgen.kernels.ecg.record import EcgRecord
    from edfgen.model.checkpoint import load_checkpoint
    from edfgen.simulate.ecg import finalize_physiology, random_physiology, synthesize_batch

    phys = finalize_physiology(random_physiology(24, rng=np.random.default_rng(4)))
    sig = synthesize_batch(phys, seed=4)
    recs = [EcgRecord(f"r{i}", s.astype(np.float32), 500.0, tuple(LEADS)) for i, s in enumerate(sig)]
    prep = load_checkpoint("tiny").preprocessing
    return preprocess_many(recs, prep).signals, prep


def test_cpu_default_is_the_float32_model_unchanged():
    import torch

    from edfgen.model.checkpoint import ECGEncoder, load_checkpoint
    from edfgen.model.device import load_model, resolve_device, resolve_precision

    loaded = load_model("tiny", "cpu", "fp32")
    assert isinstance(loaded.model, ECGEncoder)               # not wrapped: the same calls as before
    ref = load_checkpoint("tiny")
    assert loaded.sha256 == ref.sha256
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    if not torch.cuda.is_available():
        assert resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(InputError, match="--device cuda: no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(InputError, match="--precision fp8"):
        resolve_precision("fp8", torch.device("cpu"))


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_low_precision_edfs_agree_with_float32(windows, precision):
    import torch

    from edfgen.kernels.edf import embed_windows
    from edfgen.model.device import load_model

    x, prep = windows
    ref = embed_windows(load_model("tiny", "cpu", "fp32").model, x, prep)
    low_model = load_model("tiny", "cpu", precision).model
    seen = []
    layer = next(m for m in low_model.encoder.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d)))
    hook = layer.register_forward_hook(lambda m, i, o: seen.append((torch.is_autocast_enabled("cpu"), o.dtype)))
    low = embed_windows(low_model, x, prep)
    hook.remove()
    low_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    assert seen and all(s == (True, low_dtype) for s in seen)  # the encoder did run under autocast
    assert low.dtype == np.float32 and low.shape == ref.shape
    assert not np.array_equal(low, ref)                        # lower precision changes the numbers ...
    sd = ref.std(axis=0)
    corr = np.array([np.corrcoef(ref[:, j], low[:, j])[0, 1] for j in range(ref.shape[1])])
    worst = np.abs(low - ref).max(axis=0) / np.where(sd > 0, sd, 1)
    # ... within the stated tolerance
    assert corr.min() >= MIN_CORRELATION, (precision, corr.min())
    assert worst.max() <= MAX_DIFF_SD, (precision, worst.max())
    print(f"{precision} vs fp32 on {len(x)} ECGs x {ref.shape[1]} EDFs: min correlation {corr.min():.5f}, "
          f"max |diff| / SD {worst.max():.4f}, median {np.median(worst):.4f}")


def test_extract_cli_takes_device_and_precision(tmp_path, windows):
    from click.testing import CliRunner

    from edfgen.cli import cli

    r = CliRunner().invoke(cli, ["extract", "--help"])
    assert "--device [auto|cpu|cuda|mps]" in r.output and "--precision [auto|fp32|bf16|fp16]" in r.output
    r = CliRunner().invoke(cli, ["extract", "--ecg", str(tmp_path), "--out", str(tmp_path / "e.tsv"),
                                 "--device", "tpu"])
    assert r.exit_code == 2 and "tpu" in r.output


def test_threads_change_no_bit_of_the_edfs(windows):
    # extract picks the model's thread count from the cores (and the reader processes): the EDFs must not
    # depend on it, nor on how the windows are batched
    import torch

    from edfgen.kernels.edf import embed_windows
    from edfgen.model.checkpoint import load_checkpoint

    signals, prep = windows
    model = load_checkpoint("small").model
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = embed_windows(model, signals, prep)
        torch.set_num_threads(2)
        two = np.concatenate([embed_windows(model, signals[:7], prep), embed_windows(model, signals[7:], prep)])
    finally:
        torch.set_num_threads(old)
    assert np.array_equal(one, two)


#: records OMP_WAIT_POLICY at the moment torch is first imported (libgomp reads it once, when torch loads it)
AT_TORCH_IMPORT = """
import os, sys
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and "seen" not in globals():
            globals()["seen"] = os.environ.get("OMP_WAIT_POLICY")
        return None
sys.meta_path.insert(0, Spy())
import edfgen.model
print(seen)
"""


def test_torch_threads_wait_passively_unless_the_user_says_otherwise():
    # spinning threads made 2-thread extraction 1.6x slower on shared cores:
    # benchmarks/results/extract_defaults_loaded_probe.md
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    run = lambda e: subprocess.run([sys.executable, "-c", AT_TORCH_IMPORT], env=e, capture_output=True,  # noqa: E731
                                   text=True, check=True).stdout.strip()
    assert run(env) == "PASSIVE"
    assert run({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"


def test_extract_default_threads_leave_no_core_idle_and_never_one_thread_on_two_cores():
    from edfgen.commands.extract import default_model_threads, default_workers

    got = {c: (default_workers(c), default_model_threads(default_workers(c), c)) for c in (1, 2, 3, 4, 8, 16)}
    assert got == {1: (0, 1), 2: (1, 2), 3: (1, 2), 4: (2, 2), 8: (4, 4), 16: (4, 12)}


def test_pretrain_device__cuda_gets_an_index_and_a_misspelt_device_is_one_line(tmp_path, monkeypatch):
    """``pretrain --device cuda`` (the value its help offered) was a ValueError traceback from
    ``torch.cuda.set_device`` on any machine, and ``--device gpu`` another; now ``cuda`` is ``cuda:LOCAL_RANK``
    (CUDA mocked here: no GPU on CI), ``cuda:N`` is checked against the GPUs torch sees, and a misspelt device is
    a one-line error (exit 2) before anything is read."""
    import torch
    from click.testing import CliRunner

    from edfgen.cli import cli
    from edfgen.model.device import resolve_train_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    for given, local, want in (("cuda", 0, "cuda:0"), ("cuda", 1, "cuda:1"), (None, 1, "cuda:1"),
                               ("auto", 0, "cuda:0"), ("cuda:1", 0, "cuda:1"), ("cpu", 0, "cpu")):
        dev = resolve_train_device(given, local)
        assert str(dev) == want
        if dev.type == "cuda":     # what torch.cuda.set_device needs (a bare 'cuda' raised here)
            assert torch.cuda._utils._get_device_index(dev, optional=False) == int(want[-1])
    with pytest.raises(InputError, match=r"--device cuda:2: torch sees 2 CUDA GPU\(s\), cuda:0 to cuda:1"):
        resolve_train_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert str(resolve_train_device(None)) == "cpu"
    with pytest.raises(InputError, match="--device cuda:0: no CUDA GPU"):
        resolve_train_device("cuda")
    for bad in ("gpu", "cuda:x", "CUDA"):
        r = CliRunner().invoke(cli, ["pretrain", "--config", "tiny", "--simulated", "8", "--steps", "1",
                                     "--device", bad, "--out", str(tmp_path / bad)])
        errors = [ln for ln in r.output.splitlines() if "error" in ln]
        assert r.exit_code == 2 and len(errors) == 1 and f"--device {bad}: choose auto, cpu, cuda, cuda:N" in errors[0], \
            r.output
        assert not (tmp_path / bad).exists()
    r = CliRunner().invoke(cli, ["pretrain", "--config", "tiny", "--simulated", "8", "--steps", "1",
                                 "--device", "cuda", "--out", str(tmp_path / "c")])
    assert r.exit_code == 2 and "no CUDA GPU" in r.output and not (tmp_path / "c").exists(), r.output
