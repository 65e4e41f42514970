"""Linear probes of frozen EDFs: how much of a known trait a linear read-out of the embedding recovers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.simulate.ecg import random_physiology, synthesize_batch


@dataclass(frozen=True)
class ProbeResult:
    """Held-out R² of a ridge probe per trait.

    Attributes
    ----------
    r2
        ``{trait: R² on the test participants}``.
    alpha
        ``{trait: ridge penalty chosen by cross-validation on the training participants}``.
    n_train, n_test
        Participants used to fit and to score.
    """

    r2: dict
    alpha: dict
    n_train: int
    n_test: int


def ridge_probe(embeddings: np.ndarray, targets: dict[str, np.ndarray], *, test_fraction: float = 0.3,
                seed: int = 0, alphas=tuple(np.logspace(-3, 3, 13))) -> ProbeResult:
    """Standardise the EDFs, fit ridge (``RidgeCV``, penalty chosen by CV) on a training split, score R² on the rest.

    Parameters
    ----------
    embeddings
        ``[N, D]`` EDFs.
    targets
        ``{name: [N]}`` traits.
    test_fraction
        Share of participants held out for scoring.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n = len(embeddings)
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(test_fraction * n))
    test, train = perm[:n_test], perm[n_test:]
    r2, alpha = {}, {}
    for name, y in targets.items():
        y = np.asarray(y, dtype=float)
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))
        model.fit(embeddings[train], y[train])
        r2[name] = float(r2_score(y[test], model.predict(embeddings[test])))
        alpha[name] = float(model[-1].alpha_)
    return ProbeResult(r2=r2, alpha=alpha, n_train=len(train), n_test=n_test)


def simulated_cohort(n: int, *, seed: int, prep=None) -> tuple[np.ndarray, "object"]:
    """``n`` simulated participants (physiology and ECGs from ``seed``), band-passed and windowed.

    Returns
    -------
    (signals ``float32 [n, 12, window]``, physiology DataFrame)
    """
    from edfgen.model.data import window_array  # imports torch

    prep = prep or Preprocessing()
    phys = random_physiology(n, rng=np.random.default_rng(seed))
    x = synthesize_batch(phys, seed=seed, fs=prep.sampling_rate, duration_s=prep.window_s)
    return window_array(x, prep), phys
