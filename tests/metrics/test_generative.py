"""Generative metrics: the Frechet distance against known answers, the forget rate, and honest output
on degenerate input (a judge at chance, too few samples for a covariance)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from unlearnlab.data import load_dataset
from unlearnlab.errors import BadInput
from unlearnlab.metrics.chance import chance_check
from unlearnlab.metrics.generative import (
    Judge,
    evaluate,
    forget_rate,
    frechet_distance,
    frechet_features,
    gaussian_stats,
)
from unlearnlab.models import create_model
from unlearnlab.models.diffusion import DiffusionConfig, SampleConfig, create_generative


def _spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_known_answer_for_commuting_covariances() -> None:
    # Diagonal covariances commute: FD = |μ1 − μ2|² + Σ (√λ1 − √λ2)² = (1 + 4) + (1 − 2)² + (2 − 3)² = 7.
    fd = frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.array([1.0, 2.0]), np.diag([4.0, 9.0]))
    assert fd == pytest.approx(7.0, abs=1e-12)
    # Equal covariances: the squared distance of the means.
    assert frechet_distance(np.zeros(3), np.eye(3), np.array([3.0, 0, 4]), np.eye(3)) == pytest.approx(25.0)
    assert frechet_distance(np.ones(2), np.eye(2) * 2, np.ones(2), np.eye(2) * 2) == pytest.approx(0.0, abs=1e-12)


def test_general_covariances_match_the_sqrtm_formula_and_are_symmetric() -> None:
    rng = np.random.default_rng(0)
    for d in (1, 4, 16):
        m1, m2, s1, s2 = rng.normal(size=d), rng.normal(size=d), _spd(rng, d), _spd(rng, d)
        ref = ((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
        assert frechet_distance(m1, s1, m2, s2) == pytest.approx(ref, rel=1e-8)
        assert frechet_distance(m1, s1, m2, s2) == pytest.approx(frechet_distance(m2, s2, m1, s1), rel=1e-10)


def test_estimated_from_samples_it_converges_to_the_known_answer() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal([0.0, 0.0], [1.0, 2.0], size=(20_000, 2))
    b = rng.normal([1.0, 2.0], [2.0, 3.0], size=(20_000, 2))
    r = frechet_features(a, b)
    # sampling error of the means and variances at n = 20 000 is ~1 %; the answer is 7
    assert r.note is None and r.value == pytest.approx(7.0, rel=0.03)
    mu, sigma = gaussian_stats(a)
    assert sigma.shape == (2, 2) and mu.shape == (2,)


def test_too_few_samples_for_a_covariance_say_so() -> None:
    rng = np.random.default_rng(2)
    r = frechet_features(rng.normal(size=(10, 32)), rng.normal(size=(100, 32)))
    assert r.value is None and r.note == "too few samples for a covariance: 10 < 33 (feature dimension 32 + 1)"
    assert frechet_features(rng.normal(size=(33, 32)), rng.normal(size=(33, 32))).value is not None
    with pytest.raises(BadInput, match="^frechet_features needs two n x d feature arrays of one d"):
        frechet_features(np.zeros((5, 3)), np.zeros((5, 4)))


def test_forget_rate() -> None:
    assert forget_rate(np.array([3, 3, 1, 3]), 3).value == 0.75
    assert forget_rate(np.eye(4)[[3, 0]], 3).value == 0.5  # logits are read by their argmax
    assert forget_rate(np.array([], dtype=int), 3).value is None


def test_a_judge_at_chance_reads_nothing_and_small_classes_get_no_distance() -> None:
    ds = load_dataset("digits")
    torch.manual_seed(0)
    untrained = create_model("cnn", ds.input_shape, ds.num_classes, width=8).eval()
    judge = Judge(untrained, chance_check(40, 360, 0.1), key="test")
    assert judge.usable.value is None and judge.usable.note.startswith("the judge is at chance (accuracy 0.11")
    gen = create_generative("ddpm", ds.input_shape, ds.num_classes, DiffusionConfig(width=16, depth=1, timesteps=20))
    gen.set_data_range(0.0, 1.0)
    out = evaluate(gen, judge, ds, [3], n_per_class=5, seed=0, sampling=SampleConfig(steps=2))
    assert out["forget_rate"] is None and out["kept_accuracy"] is None
    assert out["notes"]["judge"].startswith("the judge is at chance")
    assert out["fd_kept"] is not None  # 45 kept samples >= 33
    assert out["fd_class"][0] is None and out["notes"]["fd_class[0]"].startswith("too few samples for a covariance: 5 < 33")
    with pytest.raises(BadInput, match=r"^forget class 10 is not allowed; classes are integers in \[0, 9\]"):
        evaluate(gen, judge, ds, [10], n_per_class=5, seed=0, sampling=SampleConfig(steps=2))


def test_the_judge_is_trained_once_and_read_from_the_store(tmp_path, monkeypatch) -> None:
    from unlearnlab.metrics import generative
    from unlearnlab.store import Store

    ds = load_dataset("digits", seed=3)
    monkeypatch.setattr(generative, "_JUDGES", {})
    with Store(tmp_path / "store") as store:
        first = generative.train_judge(ds, 3, store=store)
        assert generative.train_judge(ds, 3, store=store) is first  # in-process
        generative._JUDGES.clear()
        again = generative.train_judge(ds, 3, store=store)
    assert not first.meta.get("cached") and again.meta["cached"]
    assert again.key == first.key and again.check == first.check and first.test_accuracy > 0.9
    x = ds.x_test[:50]
    assert (again.read(x)[0] == first.read(x)[0]).all()
