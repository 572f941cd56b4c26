"""Attacks on generative unlearning (audits/generative.py): the embedding attack brings an erased class back from
a model that still holds it and much less from θ_r, which never learnt it; the relearning attack; same seed, same
bits; the attacked model untouched; bad input in one line."""

from __future__ import annotations

import copy

import pytest
import torch

from unlearnlab.audits.generative import (EmbeddingAttackConfig, RelearnAttackConfig, embedding_attack,
                                          embedding_scale, relearn_attack, sample_embedding)
from unlearnlab.data import load_dataset
from unlearnlab.errors import BadInput
from unlearnlab.metrics.generative import train_judge
from unlearnlab.models.diffusion import DiffusionConfig, SampleConfig, sample
from unlearnlab.training.diffusion import DiffusionTrainConfig, train_diffusion

FORGET = 3
SAMPLING = SampleConfig(steps=10)
N = 40


@pytest.fixture(scope="module")
def setup():
    """The reduced recipe of tests/training/test_diffusion.py (width 128, depth 2, 800 steps at lr 3e-3; ~7 s
    a model on the 2-core EPYC), seed 0, and two cheap "unlearned" models that hide class 3 without removing
    it from the weights: θ_o with the class's row remapped to 5's (SalUn's remapping reduced to the
    conditioning) and θ_o conditioning the class as the null token."""
    ds = load_dataset("digits", seed=0)
    config, train = DiffusionConfig(width=128, depth=2), DiffusionTrainConfig(steps=800, lr=3e-3)
    original = train_diffusion(ds, (), seed=0, config=config, train=train).model
    retrained = train_diffusion(ds, (FORGET,), seed=0, config=config, train=train).model
    remapped = copy.deepcopy(original)
    with torch.no_grad():
        remapped.denoiser.embed.weight[FORGET] = remapped.denoiser.embed.weight[5]
    nulled = copy.deepcopy(original)
    nulled.class_known[FORGET] = False
    return {"ds": ds, "judge": train_judge(ds, 0), "original": original, "retrained": retrained,
            "remapped": remapped, "nulled": nulled}


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_sampling_from_the_own_row_is_sample(setup) -> None:
    """The attack's sampler with a class's own row is `sample` of that class, bit for bit: attacked and
    un-attacked samples differ by the conditioning alone."""
    m = setup["original"]
    for cfg in (SAMPLING, SampleConfig(steps=5, guidance=1.0), SampleConfig(steps=5, eta=1.0, batch_size=7)):
        ref, _ = sample(m, [FORGET], 12, 3, config=cfg)
        got = sample_embedding(m, m.denoiser.embed.weight[FORGET], 12, 3, config=cfg)
        assert torch.equal(ref, got)


def test_attack_brings_back_a_hidden_class_and_much_less_from_the_retrained(setup) -> None:
    """Default budget (100 steps, L2 radius 1.0 of the table's mean row norm), 40 samples, 10 DDIM steps, w = 2.
    Measured on the 2-core EPYC with models of seeds 0, 1, 2 (attack seed = model seed), forget rate -> attack
    success rate: remapped 0.025 -> 0.90, 0.80, 0.70; nulled 0.025, 0.175, 0.075 -> 0.90, 0.80, 0.675;
    θ_r 0.00, 0.05, 0.00 -> 0.375, 0.50, 0.45 (at most 0.60 with radius 2 and 300 steps).
    θ_r is not immune: its table can steer it to 3-like images made of the digits it knows, so the attack
    is read against θ_r's, as every audit is. Bounds: a hidden class comes back (>= forget rate + 0.4),
    at least 0.2 above θ_r's (smallest gap measured 0.225), θ_r stays <= 0.7."""
    s = setup
    res = {name: embedding_attack(s[name], s["judge"], s["ds"], FORGET, n_samples=N, seed=0, sampling=SAMPLING)
           for name in ("retrained", "remapped", "nulled")}
    r = res["retrained"]
    assert r["forget_rate"] <= 0.3 and r["attack_success_rate"] <= 0.7
    for name in ("remapped", "nulled"):
        a = res[name]
        assert a["forget_rate"] <= 0.3, name  # the hiding works un-attacked
        assert a["attack_success_rate"] >= a["forget_rate"] + 0.4, name
        assert a["attack_success_rate"] >= r["attack_success_rate"] + 0.2, name
        # The denoising loss on the targets drops to θ_o's level: the class is still in the weights.
        assert a["loss_end"] < r["loss_end"]
    for a in res.values():
        assert a["moved"] <= 1.0 + 1e-6 and a["budget"]["radius_abs"] == pytest.approx(a["budget"]["scale"])
        assert a["notes"] == {} and a["n_samples"] == N


def test_linf_budget_is_kept_and_original_init(setup) -> None:
    s = setup
    cfg = EmbeddingAttackConfig(steps=20, norm="linf", radius=0.5, init="original")
    a = embedding_attack(s["remapped"], s["judge"], s["ds"], FORGET, config=cfg, n_samples=8, seed=1,
                         sampling=SAMPLING, original=s["original"])
    start = s["original"].denoiser.embed.weight[FORGET]
    assert (a["embedding"] - start).abs().max() <= 0.5 * embedding_scale(s["remapped"], "linf") + 1e-5
    assert a["moved"] <= 0.5 + 1e-6


def test_same_seed_same_bits_and_the_model_untouched(setup) -> None:
    s = setup
    m = s["nulled"]
    before = _state(m)
    cfg = EmbeddingAttackConfig(steps=15)
    a = embedding_attack(m, s["judge"], s["ds"], FORGET, config=cfg, n_samples=8, seed=2, sampling=SAMPLING)
    b = embedding_attack(m, s["judge"], s["ds"], FORGET, config=cfg, n_samples=8, seed=2, sampling=SAMPLING)
    c = embedding_attack(m, s["judge"], s["ds"], FORGET, config=cfg, n_samples=8, seed=3, sampling=SAMPLING)
    assert torch.equal(a["embedding"], b["embedding"]) and a["loss_end"] == b["loss_end"]
    assert not torch.equal(a["embedding"], c["embedding"])
    rc = RelearnAttackConfig(steps=5, samples=4)
    r1 = relearn_attack(m, s["judge"], s["ds"], FORGET, config=rc, n_samples=8, seed=2, sampling=SAMPLING)
    r2 = relearn_attack(m, s["judge"], s["ds"], FORGET, config=rc, n_samples=8, seed=2, sampling=SAMPLING)
    w1, w2 = r1["model"].state_dict(), r2["model"].state_dict()
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    after = m.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not m.class_known[FORGET] and not any(p.requires_grad for p in m.parameters())


def test_relearning_brings_the_class_back_to_both(setup) -> None:
    """20 AdamW steps at 1e-3 on 8 images of class 3, 40 samples, 10 DDIM steps. Measured, models of seeds
    0, 1, 2: nulled 0.025, 0.175, 0.075 -> 0.875, 0.525, 0.875; remapped 0.025 -> 0.65, 0.65, 0.70; θ_r 0.00,
    0.05, 0.00 -> 0.55, 0.60, 0.60. A diffusion model that knows the other digits learns a class from 8 images
    in 20 steps whether it ever saw it or not, so this attack does not tell them apart at this budget (the
    docs say so); the test asserts that the class comes back to every one of them."""
    s = setup
    cfg = RelearnAttackConfig(steps=20, samples=8)
    for name in ("retrained", "nulled"):
        r = relearn_attack(s[name], s["judge"], s["ds"], FORGET, config=cfg, n_samples=N, seed=0, sampling=SAMPLING)
        assert r["steps"] == 20 and r["samples"] == 8
        assert r["forget_rate_before"] <= 0.3 and r["forget_rate_after"] >= r["forget_rate_before"] + 0.25, name
        # the curve on the way: 0, a quarter, half and all of the steps, its ends the before/after rates
        curve = r["curve"]
        assert curve["steps"] == [0, 5, 10, 20], name
        assert curve["forget_rate"][0] == r["forget_rate_before"] and curve["forget_rate"][-1] == r["forget_rate_after"]


def test_noise_search_helps_every_model_and_never_lets_the_judge_choose(setup) -> None:
    """The seed search over the initial noise (K candidates per sample, the attacker's own classifier keeping the
    most class-like) strengthens the attack on θ_r as much as on a hider: it measures what the generator can draw,
    so it is read against θ_r's at the same K. Measured on the 2-core EPYC (radius 0.5, 40 samples, 10 DDIM steps;
    models and attack of seeds 0, 1), success at K = 1, 4, 16: θ_r 0.225, 0.60, 0.875 and 0.225, 0.675, 0.925;
    remapped 0.50, 0.90, 1.00 and 0.40, 0.825, 0.975. Bound: K = 4 adds at least 0.15 to both (smallest gain
    measured 0.375). K = 1 is the attack without search, bit for bit."""
    s = setup
    surrogate = train_judge(s["ds"], 7919)
    for name in ("retrained", "remapped"):
        rates = {}
        for k in (1, 4):
            a = embedding_attack(s[name], s["judge"], s["ds"], FORGET, n_samples=N, seed=0, sampling=SAMPLING,
                                 config=EmbeddingAttackConfig(radius=0.5, noise_search=k), surrogate=surrogate)
            rates[k] = a["attack_success_rate"]
            assert a["budget"]["noise_search"] == k
        plain = embedding_attack(s[name], s["judge"], s["ds"], FORGET, n_samples=N, seed=0, sampling=SAMPLING,
                                 config=EmbeddingAttackConfig(radius=0.5))
        assert plain["attack_success_rate"] == rates[1]
        assert rates[4] >= rates[1] + 0.15, (name, rates)
    with pytest.raises(BadInput, match="needs surrogate="):
        embedding_attack(s["retrained"], s["judge"], s["ds"], FORGET, n_samples=4, seed=0, sampling=SAMPLING,
                         config=EmbeddingAttackConfig(noise_search=2))
    with pytest.raises(BadInput, match="the surrogate is the judge"):
        embedding_attack(s["retrained"], s["judge"], s["ds"], FORGET, n_samples=4, seed=0, sampling=SAMPLING,
                         config=EmbeddingAttackConfig(noise_search=2), surrogate=s["judge"])


@pytest.mark.parametrize("kwargs,match", [
    ({"steps": 0}, r"^attack steps 0 is not allowed; it must be an integer in \[1, 5000\]"),
    ({"steps": 5001}, r"^attack steps 5001 is not allowed"),
    ({"radius": 0.0}, r"^attack radius=0\.0 is not allowed"),
    ({"radius": 11.0}, r"^attack radius=11\.0 is not allowed"),
    ({"norm": "l1"}, r"^attack norm"),
    ({"init": "random"}, r"^attack init"),
    ({"lr": -1.0}, r"^attack lr=-1\.0 is not allowed"),
    ({"n_targets": 0}, r"^attack n_targets"),
    ({"noise_search": 0}, r"^attack noise_search 0 is not allowed; it must be an integer in \[1, 64\]"),
    ({"noise_search": 65}, r"^attack noise_search 65 is not allowed"),
])
def test_bad_attack_budget_is_one_line(kwargs, match) -> None:
    with pytest.raises(BadInput, match=match) as err:
        EmbeddingAttackConfig(**kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs,match", [
    ({"steps": 0}, r"^relearn steps 0 is not allowed"),
    ({"samples": 0}, r"^relearn samples"),
    ({"lr": 2.0}, r"^relearn lr=2\.0 is not allowed"),
])
def test_bad_relearn_budget_is_one_line(kwargs, match) -> None:
    with pytest.raises(BadInput, match=match) as err:
        RelearnAttackConfig(**kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("attack", [embedding_attack, relearn_attack])
@pytest.mark.parametrize("kwargs,match", [
    ({"forget_class": 10}, r"^forget class 10 is not allowed; classes are integers in \[0, 9\]"),
    ({"forget_class": -1}, r"^forget class -1 is not allowed"),
    ({"forget_class": True}, r"^forget class True is not allowed"),
    ({"seed": 1.5}, r"^seed 1\.5 is not allowed; it must be an integer"),
    ({"n_samples": 0}, r"^samples=0 is not allowed|^samples"),
    ({"sampling": SampleConfig(steps=0)}, r"^sampling steps 0 is not allowed"),
])
def test_bad_request_is_one_line(setup, attack, kwargs, match) -> None:
    s = setup
    args = {"forget_class": FORGET, **kwargs}
    c = args.pop("forget_class")
    with pytest.raises(BadInput, match=match) as err:
        attack(s["retrained"], s["judge"], s["ds"], c, **args)
    assert "\n" not in str(err.value)


def test_bad_model_and_missing_original_are_one_line(setup) -> None:
    s = setup
    with pytest.raises(BadInput, match=r"^the generative attacks need a DiffusionModel; got Linear") as err:
        embedding_attack(torch.nn.Linear(2, 2), s["judge"], s["ds"], FORGET)
    assert "\n" not in str(err.value)
    with pytest.raises(BadInput, match=r"^attack init 'original' needs original= \(θ_o\)") as err:
        embedding_attack(s["remapped"], s["judge"], s["ds"], FORGET, config=EmbeddingAttackConfig(init="original"))
    assert "\n" not in str(err.value)
