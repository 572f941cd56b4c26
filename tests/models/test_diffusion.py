"""The diffusion model: schedule, conditioning, seeded sampling and the bad-input lines."""

from __future__ import annotations

import pytest
import torch

from unlearnlab import numerics
from unlearnlab.errors import BadInput
from unlearnlab.models import MODELS
from unlearnlab.models.diffusion import (
    GENERATIVE_MODELS,
    DiffusionConfig,
    SampleConfig,
    alphas_cumprod,
    create_generative,
    sample,
)

SMALL = DiffusionConfig(width=32, depth=1, timesteps=50)


def _model(seed: int = 0):
    torch.manual_seed(seed)
    m = create_generative("ddpm", (1, 8, 8), 10, SMALL)
    m.set_data_range(0.0, 1.0)
    return m.eval()


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_schedule_runs_from_almost_clean_to_almost_pure_noise(schedule) -> None:
    abar = alphas_cumprod(schedule, 200)
    assert abar.shape == (200,) and bool((abar[1:] < abar[:-1]).all())
    assert abar[0] > 0.99 and 0 < abar[-1] < 0.01


def test_registered_apart_from_the_classifiers() -> None:
    # The classifier registry's contract (every entry a Classifier) stays true.
    assert "ddpm" in GENERATIVE_MODELS and "ddpm" not in MODELS


@pytest.mark.parametrize("kwargs", [{"eta": 0.0, "steps": 10}, {"eta": 1.0, "guidance": 3.0, "steps": 10},
                                    {"guidance": 1.0, "steps": 7}, {"guidance": 2.0, "steps": 5, "batch_size": 3}])
def test_same_seed_same_bits_other_seed_other_samples(kwargs) -> None:
    m = _model()
    cfg = SampleConfig(batch_size=kwargs.pop("batch_size", 500))
    with numerics.compute_threads():
        a, ya = sample(m, [0, 3], 5, seed=1, config=cfg, **kwargs)
        b, yb = sample(m, [0, 3], 5, seed=1, config=cfg, **kwargs)
        c, _ = sample(m, [0, 3], 5, seed=2, config=cfg, **kwargs)
    assert torch.equal(a, b) and torch.equal(ya, yb)
    assert not torch.equal(a, c)
    assert a.shape == (10, 1, 8, 8) and ya.tolist() == [0] * 5 + [3] * 5
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0  # back in the data set's range


def test_sampling_leaves_the_global_generator_alone() -> None:
    m = _model()
    torch.manual_seed(5)
    before = torch.get_rng_state()
    sample(m, 1, 2, seed=0, steps=3)
    assert torch.equal(torch.get_rng_state(), before)


def test_an_unknown_class_is_conditioned_as_the_null_token() -> None:
    m = _model()
    m.class_known[3] = False
    y = torch.tensor([0, 3, 9, 10])
    assert m.condition(y).tolist() == [0, 10, 9, 10]
    z, t = torch.randn(1, 64), torch.tensor([10])
    with torch.no_grad():
        assert torch.equal(m(z, t, torch.tensor([3])), m(z, t, torch.tensor([m.null_class])))
        # w = 0 is the unconditional model whatever the class
        assert torch.equal(m.guided_eps(z, t, torch.tensor([5]), 0.0), m(z, t, torch.tensor([10])))


@pytest.mark.parametrize("kwargs,match", [
    ({"guidance": -0.5}, r"^guidance scale -0\.5 is not allowed; it must be a number in \[0, 20\]"),
    ({"guidance": 25.0}, r"^guidance scale 25\.0 is not allowed"),
    ({"guidance": float("nan")}, r"^guidance scale nan is not allowed"),
    ({"steps": 0}, r"^sampling steps 0 is not allowed; it must be an integer in \[1, 50\]"),
    ({"steps": 51}, r"^sampling steps 51 is not allowed"),
    ({"eta": 2.0}, r"^sample\.eta=2\.0 is not allowed"),
])
def test_bad_sampling_parameters_are_one_line(kwargs, match) -> None:
    with pytest.raises(BadInput, match=match) as err:
        sample(_model(), [0], 1, seed=0, **kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("classes,n,match", [
    ([10], 1, r"^class 10 is not allowed; classes are integers in \[0, 9\]"),
    ([-1], 1, r"^class -1 is not allowed"),
    ([], 1, r"^no classes to sample"),
    ([1], 0, r"^samples per class=0 is not allowed"),
])
def test_bad_classes_are_one_line(classes, n, match) -> None:
    with pytest.raises(BadInput, match=match):
        sample(_model(), classes, n, seed=0)


@pytest.mark.parametrize("kwargs,match", [
    ({"timesteps": 1}, r"^diffusion\.timesteps=1 is not allowed"),
    ({"timesteps": 10**6}, r"^diffusion\.timesteps=1000000 is not allowed; it must be an integer in \[2, 4000\]"),
    ({"schedule": "sigmoid"}, r"^diffusion\.schedule='sigmoid' is not allowed; choose from cosine, linear"),
    ({"p_uncond": 0.0}, r"^diffusion\.p_uncond=0\.0 is not allowed"),
    ({"width": 4}, r"^diffusion\.width=4 is not allowed"),
])
def test_bad_model_config_is_one_line(kwargs, match) -> None:
    with pytest.raises(BadInput, match=match):
        DiffusionConfig(**kwargs)


def test_unknown_generative_model_names_the_allowed_ones() -> None:
    with pytest.raises(BadInput, match=r"^unknown generative model 'dpm' \(did you mean 'ddpm'\?\); allowed: ddpm"):
        create_generative("dpm", (1, 8, 8), 10)


def test_sample_config_defaults_are_valid() -> None:
    assert SampleConfig().check(200).guidance == 2.0


def test_a_generative_model_asked_for_a_classifier_is_one_line() -> None:
    from unlearnlab.models import create_model

    with pytest.raises(BadInput, match=r"^model 'ddpm' is a generative model \(models/diffusion\.py\); a classifier "
                                       r"scenario needs a classifier: mlp, cnn"):
        create_model("ddpm", (1, 8, 8), 10)
