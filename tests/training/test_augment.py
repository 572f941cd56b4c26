"""Batched crop-and-flip augmentation: what it computes, its determinism, its op count, and where it applies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from unlearnlab.data import from_arrays
from unlearnlab.errors import BadInput
from unlearnlab.methods import UnlearningTask
from unlearnlab.models import create_model
from unlearnlab.runner import prepare
from unlearnlab.training import (CropFlip, RunContext, TensorBatches, TrainConfig, augmentation_for,
                                 random_crop_flip, seed_everything, train_classifier)


def _images(n=6, c=2, h=5, w=7):
    # distinct, non-zero values: any window of the padded image identifies its own offset
    return torch.arange(1, n * c * h * w + 1, dtype=torch.float32).reshape(n, c, h, w)


def _windows(x: torch.Tensor, p: int) -> list[tuple[int, int, bool, torch.Tensor]]:
    h, w = x.shape[-2:]
    padded = F.pad(x, (p, p, p, p))
    return [(dy, dx, flip, padded[..., dy:dy + h, dx:dx + w].flip(-1) if flip else padded[..., dy:dy + h, dx:dx + w])
            for dy in range(2 * p + 1) for dx in range(2 * p + 1) for flip in (False, True)]


def test_every_sample_is_a_shifted_zero_padded_window_possibly_mirrored():
    x, p = _images(n=40), 2
    out = random_crop_flip(x, p, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    seen = set()
    for i in range(len(x)):
        matches = [(dy, dx, flip) for dy, dx, flip, win in _windows(x[i], p) if torch.equal(out[i], win)]
        assert len(matches) == 1, f"sample {i} is no shifted window of its zero-padded input"
        seen.add(matches[0])
    # offsets in [0, 2p] on both axes and both flips are drawn, not one fixed window
    assert len({dy for dy, _, _ in seen}) > 1 and len({dx for _, dx, _ in seen}) > 1
    assert {flip for _, _, flip in seen} == {False, True}


def test_border_is_zero_where_the_window_leaves_the_image():
    x = torch.ones(500, 1, 6, 6)
    out = random_crop_flip(x, 3, torch.Generator().manual_seed(1))
    zeros = (out == 0).flatten(1).sum(1)
    assert zeros.min() == 0 and zeros.max() == 6 * 6 - 3 * 3  # centred window / a corner window shifted by 3, 3
    assert set(out.unique().tolist()) == {0.0, 1.0}


def test_no_padding_flips_about_half_the_batch_and_keeps_the_rest():
    x = _images(n=400, c=1, h=2, w=3)
    out = random_crop_flip(x, 0, torch.Generator().manual_seed(2))
    same = (out == x).flatten(1).all(1)
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    assert bool((same ^ flipped).all())
    assert 150 < int(flipped.sum()) < 250


def test_same_generator_seed_same_batch_other_seed_other_batch():
    x = _images(n=32)
    a = random_crop_flip(x, 4, torch.Generator().manual_seed(7))
    b = random_crop_flip(x, 4, torch.Generator().manual_seed(7))
    c = random_crop_flip(x, 4, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


class _CountOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("padding", [0, 4])
def test_op_count_does_not_grow_with_the_batch(padding):
    """Batched tensor ops, no per-sample Python: 2 or 512 images dispatch the same kernels."""
    counts = []
    for n in (2, 512):
        x = torch.randn(n, 3, 32, 32)
        with _CountOps() as mode:
            random_crop_flip(x, padding, torch.Generator().manual_seed(0))
        counts.append(mode.ops)
    assert counts[0] == counts[1] and len(counts[0]) < 40


def test_non_image_batch_is_refused():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        random_crop_flip(torch.zeros(4, 10), 2)


def test_config_validates_augment_and_padding():
    with pytest.raises(BadInput, match=r"train.augment='cutout' is not allowed; choose from none, crop_flip"):
        TrainConfig(augment="cutout")
    with pytest.raises(BadInput, match=r"train.crop_padding=-1"):
        TrainConfig(augment="crop_flip", crop_padding=-1)
    assert TrainConfig().augmentation() is None
    assert TrainConfig(augment="crop_flip", crop_padding=2).augmentation() == CropFlip(2)


def test_augmentation_applies_to_images_with_labels_only():
    cfg = TrainConfig(augment="crop_flip")
    images, labels = torch.zeros(4, 3, 8, 8), torch.zeros(4, dtype=torch.long)
    assert augmentation_for(cfg, images, labels) == CropFlip(4)
    assert augmentation_for(cfg, images) == CropFlip(4)  # label-free loaders (SCRUB's forget pass)
    # a companion computed from the clean input (LAF's embeddings) would no longer match an augmented one
    assert augmentation_for(cfg, images, torch.zeros(4, 16)) is None
    assert augmentation_for(cfg, torch.zeros(4, 10), labels) is None  # flat features
    assert augmentation_for(TrainConfig(), images, labels) is None


def test_batches_augment_the_inputs_after_the_shuffle_and_keep_labels_paired():
    x = _images(n=10, c=1, h=4, w=4)
    y = torch.arange(10)
    plain = list(TensorBatches(x, y, batch_size=4, generator=torch.Generator().manual_seed(3)))
    aug = list(TensorBatches(x, y, batch_size=4, generator=torch.Generator().manual_seed(3), augment=CropFlip(1)))
    assert [torch.equal(a[1], b[1]) for a, b in zip(plain, aug)] == [True] * 3  # same order: shuffle drawn first
    for xb, yb in aug:
        for xi, yi in zip(xb, yb):
            assert any(torch.equal(xi, win) for *_, win in _windows(x[yi], 1))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(plain, aug))


def _image_data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(2), 24)
    x = (rng.normal(0, 1, size=(48, 1, 6, 6)) + y[:, None, None, None]).astype(np.float32)
    return torch.as_tensor(x), torch.as_tensor(y)


def _train(config: TrainConfig) -> dict[str, torch.Tensor]:
    x, y = _image_data()
    seed_everything(0)
    model = create_model("cnn", (1, 6, 6), 2, width=4)
    train_classifier(model, x, y, config, RunContext(seed=0))
    return model.state_dict()


def test_training_with_augmentation_is_deterministic_and_differs_from_none():
    cfg = TrainConfig(epochs=2, batch_size=16, augment="crop_flip", crop_padding=1)
    a, b = _train(cfg), _train(cfg)
    plain = _train(TrainConfig(epochs=2, batch_size=16))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], plain[k]) for k in a)


def test_augment_none_reproduces_the_unaugmented_bits():
    """The default draws nothing extra: the same weights as batches built without any augmentation."""
    x, y = _image_data()
    seed_everything(0)
    ref = create_model("cnn", (1, 6, 6), 2, width=4)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    batches = TensorBatches(x, y, batch_size=16, generator=RunContext(seed=0).generator(1))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2 * len(batches))
    for _ in range(2):
        for xb, yb in batches:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(ref(xb), yb).backward()
            opt.step()
            sched.step()
    ours = _train(TrainConfig(epochs=2, batch_size=16))
    assert all(torch.equal(ours[k], v) for k, v in ref.state_dict().items())


def test_methods_loaders_follow_the_recipe():
    x, y = _image_data()
    task = UnlearningTask(x, y, np.arange(5), 2, create_model("cnn", (1, 6, 6), 2), lambda: None,
                          train_config=TrainConfig(augment="crop_flip", crop_padding=2), ctx=RunContext(seed=0))
    assert task.retain_loader(8).augment == CropFlip(2)
    assert task.forget_loader(8, labels=False).augment == CropFlip(2)
    assert task.batches(x, torch.zeros(len(x), 3), batch_size=8).augment is None
    plain = UnlearningTask(x, y, np.arange(5), 2, create_model("cnn", (1, 6, 6), 2), lambda: None)
    assert plain.retain_loader(8).augment is None


def test_augment_is_recorded_with_the_stored_scenario(tmp_path):
    import unlearnlab as ul
    from unlearnlab.store import Store

    x, y = _image_data()
    data = from_arrays(x.numpy(), y.numpy(), test_size=0.25, seed=0, standardize=False)
    result = ul.run(data, "cnn", "random:0.1", [], train={"epochs": 1, "augment": "crop_flip", "crop_padding": 2},
                    store=tmp_path)
    stored = Store(tmp_path, create=False).scenario(result.scenario["id"])
    assert stored["train"]["augment"] == "crop_flip" and stored["train"]["crop_padding"] == 2
    assert prepare(data, "cnn", "random:0.1").spec()["train"]["augment"] == "none"
