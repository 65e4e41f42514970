"""The MiniRocket-distillation pieces of ``benchmarks/`` (issue 22, fifth round): the PCA reduction of the targets,
the reproducible training views, and the training objective's wiring."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

rocket_targets = pytest.importorskip("rocket_targets")
encoder_distill = pytest.importorskip("encoder_distill")


def test_reduction__standardised_components_match_numpy_svd():
    """Components = projections of the z-scored features on the top right singular vectors (numpy SVD, an
    independent route), each scaled to unit variance (ddof 1, as PCA's explained variance); constant columns inert."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 6)) @ rng.standard_normal((6, 40)) + rng.standard_normal((300, 40)) * 0.1
    x[:, 5] = 0.25  # a constant feature (MiniRocket has some): no division by zero, no effect
    red = rocket_targets.fit_reduction(x, 4, seed=0)
    z = rocket_targets.reduce(red, x)
    xs = (x - x.mean(0)) / np.where(x.std(0) < 1e-6, 1.0, x.std(0))
    _, s, vt = np.linalg.svd(xs - xs.mean(0), full_matrices=False)
    ref = (xs - xs.mean(0)) @ vt[:4].T / (s[:4] / np.sqrt(len(x) - 1))
    sign = np.sign((z * ref).sum(0))
    np.testing.assert_allclose(z * sign, ref, atol=1e-4)
    np.testing.assert_allclose(z.var(0, ddof=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-5)
    assert np.isfinite(rocket_targets.reduce(red, x[:3] + 1.0)).all()


def test_view_crops__fixed_are_two_crops_and_augmented_are_reproducible():
    """The fixed view is ``two_crops``; the augmented view regenerates bit for bit with the same seed and batch,
    and differs with another seed (the rocket targets rely on regenerating the cache's views; jitter ≤ 250 samples)."""
    torch = pytest.importorskip("torch")
    from edfgen.model.data import two_crops

    x = np.random.default_rng(0).standard_normal((70, 12, 1000)).astype(np.float32)
    fixed = list(encoder_distill.view_crops(x, 400, seed=None, batch=64))
    c = torch.cat([b[1] for b in fixed])
    assert torch.equal(c, two_crops(torch.from_numpy(x), 400))
    assert (np.concatenate([b[2] for b in fixed]) == [0, 600]).all()
    a1 = torch.cat([b[1] for b in encoder_distill.view_crops(x, 400, seed=1, batch=64)])
    a2 = torch.cat([b[1] for b in encoder_distill.view_crops(x, 400, seed=1, batch=64)])
    a3 = torch.cat([b[1] for b in encoder_distill.view_crops(x, 400, seed=2, batch=64)])
    assert a1.shape == (70, 2, 12, 400) and torch.equal(a1, a2) and not torch.equal(a1, a3)


def test_decimated__is_the_minirocket_baselines_decimation():
    """500 Hz -> 100 Hz as ``edfgen.model.baselines`` decimates for its MiniRocket baseline (scipy, zero phase)."""
    from scipy.signal import decimate

    x = np.random.default_rng(1).standard_normal((3, 12, 2500)).astype(np.float32)
    got = rocket_targets.decimated(x, 500.0)
    assert got.shape == (3, 12, 500) and got.dtype == np.float64
    np.testing.assert_array_equal(got, decimate(x.astype(np.float64), 5, axis=-1, zero_phase=True))


def test_train__w_rocket_fits_a_learnable_target_and_keeps_the_architecture():
    """End to end through ``encoder_distill.train`` on a tiny synthetic cache: with only the MiniRocket objective on,
    targets that are a fixed linear map of each crop's pooled EDFs are fitted (loss falls well below its start), and
    the returned encoder is the shipped architecture (the head is dropped); with --rocket-fixed-targets the view-0
    targets are used for both views (view-1 targets set to NaN would otherwise make the loss NaN)."""
    torch = pytest.importorskip("torch")
    from types import SimpleNamespace

    from edfgen.model.checkpoint import load_checkpoint

    shipped = load_checkpoint("small")
    cfg, k = shipped.model.config, 4
    rng = np.random.default_rng(0)
    n, frames = 16, 124
    h = (rng.standard_normal((n, 2, 2, frames, cfg.width)) * 0.5).astype(np.float16)
    with torch.inference_mode():
        pooled = encoder_distill.upper(shipped.model.eval(), torch.from_numpy(h.astype(np.float32)).view(-1, frames,
                                       cfg.width), k).mean(1).numpy().reshape(n, 2, 2, -1)
    w = rng.standard_normal((cfg.width, 4)).astype(np.float32)
    target = pooled @ w
    target = ((target - target.mean((0, 1, 2))) / target.std((0, 1, 2))).astype(np.float32)
    target[:, 1] = np.nan  # only reachable if the fixed targets are used
    cache = {"h": h, "labels": np.full((n, 2, 2, frames, 3), np.nan, np.float16),
             "y": np.zeros((n, len(cfg.aux_targets)), np.float32), "rocket": target}
    a = SimpleNamespace(seed=0, shipped="small", freeze_below=k, w_anchor=0.0, w_tend=0.0, tend_frames=2, w_target=[],
                        lr=3e-3, steps=60, warmup=5, batch_size=8, log_every=10, w_aux=0.0, w_frame=0.0, w_cmsc=0.0,
                        w_rocket=1.0, rocket_fixed_targets=True)
    rows: list = []
    model = encoder_distill.train(cache, a, rows)
    losses = [r["rocket"] for r in rows]
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0]
    assert set(model.state_dict()) == set(shipped.model.state_dict())
