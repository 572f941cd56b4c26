"""Attacks on generative unlearning: can an erased class be brought back?

Two attacks on a class-conditional diffusion model (models/diffusion.py), both read by the held-out judge
(metrics/generative.py) as the forget rate is:

- **Embedding attack** (after UnlearnDiffAtk, Zhang et al. 2024, "To Generate or Not? Safety-Driven
  Unlearned Diffusion Models Are Still Easy To Generate Unsafe Images ... For Now", ECCV;
  github.com/OPTML-Group/Diffusion-MU-Attack). The paper optimises adversarial prompt tokens of a text-to-
  image model; our conditioning is one class embedding row, so the attack optimises that continuous
  vector, within a stated budget: `steps` optimiser steps and an L2 or L∞ ball of `radius` around its start,
  the radius relative to the scale of the model's own embedding table (mean row norm for L2, RMS entry
  for L∞), so that one budget means the same on any model.

  The loss is the paper's trick, not differentiable sampling: the diffusion model is its own classifier
  (Li et al. 2023, "Your Diffusion Model is Secretly a Zero-Shot Classifier"), so the conditioning that
  best denoises images of the target class, min_e E_{x0 ∈ targets, t, ε} ||ε − ε_θ(x_t, t, e)||², is the one
  that makes the model generate that class. Why this and not back-propagating the judge through a few
  DDIM steps: (1) the judge stays held out: an attack optimised against the judge would find the judge's
  adversarial examples (images the judge calls a 3 that are no 3), inflating the success rate; the
  denoising loss never sees the judge, which only reads the result, as the paper's classifiers only
  decide success; (2) one network pass per image and step instead of a whole chain of passes, so it runs
  in seconds on the CPU; (3) no gradient through a sampler whose clipping saturates.
  The attacker holds a few images of the forgotten class (`targets`, from the training split's D_f, as the
  paper's attacker holds images the original model generated for the prompt).

  The initial noise: by default the attack is read over many fixed seeds (the same initial noise as the
  un-attacked samples), so the success rate measures what the conditioning alone recovers. `noise_search=K`
  adds the paper's seed search: K seeded noises per sample, the attacker's own classifier (another seed of
  the judge's recipe, never the judge) keeping the most class-like. A gradient search of the noise is not
  offered: its only judge-free objective would be a classifier's gradient through the sampler, whose
  adversarial images would be read by a classifier of the same recipe.

- **Relearning attack** (as audits/relearn.py for classifiers; Lynch et al. 2024, Hu et al. 2024): a few
  fine-tuning steps of DDPM's loss on a few images of the forgotten class, labelled as that class, then
  the forget rate again. θ_r, which never learnt the class, is the baseline for both attacks: an unlearner
  should not be easier to attack than θ_r.

Everything is seeded and runs inside `numerics.compute_threads()`: same seed, same bits on the CPU.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import numerics
from ..errors import BadInput, Cancelled
from ..metrics.generative import Judge
from ..models.diffusion import DiffusionModel, SampleConfig, sample
from ..training import RunContext, TensorBatches, fit
from ..training.diffusion import diffusion_loss
from ..validation import check_choice, check_int, check_range

NORMS = ("l2", "linf")
INITS = ("own", "null", "original")
#: Upper bounds of the budgets: past them the "attack" is no longer a perturbation of a conditioning.
MAX_STEPS = 5000
MAX_RADIUS = 10.0
MAX_LR = 10.0
MAX_NOISE_SEARCH = 64
#: Generator offsets of the attack's draws (independent streams of one seed).
TARGET_STREAM, LOSS_STREAM, NOISE_STREAM = 21, 22, 23


@dataclass(frozen=True)
class EmbeddingAttackConfig:
    """The embedding attack's budget and optimiser (validated; one-line `BadInput`).

    - `steps`: Adam steps on the embedding, in [1, 5000].
    - `radius`: the ball's radius around the start, relative to the embedding table's scale (`embedding_scale`),
      in (0, 10]. 1.0 with L2: the embedding may move as far as a typical class row is long (class rows of a
      trained table lie about that far apart), i.e. to any nearby class-like point but not far off the table.
    - `norm`: `l2` (projection onto the ball) or `linf` (clipping every coordinate).
    - `lr`: Adam's step, relative to the table's RMS entry (so it scales with the table), in (0, 10].
    - `init`: `own` (the row the model itself conditions the class on: its class row, or the null token for
      a class it marks unknown, as θ_r), `null` (the null token), or `original` (θ_o's row of the class; needs
      `original=` and a model of the same width: only meaningful for a model fine-tuned from θ_o).
    - `n_targets`: images of the forgotten class the attacker holds (training split); `batch_size`: images
      per step (each with its own t and ε).
    - `noise_search`: initial noises tried per sample, in [1, 64] (1: none, the default). With K > 1 every sample
      is drawn from K seeded noises (the first is the un-searched one) with the adversarial embedding, and the
      attacker's own classifier (`surrogate=`: another seed of the judge's recipe, never the judge) keeps the most
      class-like: the paper's seed search over the initial noise, a zeroth-order search within a budget of K. The
      judge reads only the kept samples, so it chooses nothing.
    """

    steps: int = 100
    radius: float = 1.0
    norm: str = "l2"
    lr: float = 0.05
    init: str = "own"
    n_targets: int = 16
    batch_size: int = 32
    noise_search: int = 1

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_STEPS:
            raise BadInput(f"attack steps {self.steps!r} is not allowed; it must be an integer in [1, {MAX_STEPS}]")
        if isinstance(self.noise_search, bool) or not isinstance(self.noise_search, int) \
                or not 1 <= self.noise_search <= MAX_NOISE_SEARCH:
            raise BadInput(f"attack noise_search {self.noise_search!r} is not allowed; it must be an integer in "
                           f"[1, {MAX_NOISE_SEARCH}] (initial noises tried per sample; 1: no search)")
        check_range("attack radius", self.radius, 0.0, MAX_RADIUS, closed="right")
        check_choice("attack norm", self.norm, NORMS)
        check_range("attack lr", self.lr, 0.0, MAX_LR, closed="right")
        check_choice("attack init", self.init, INITS)
        check_int("attack n_targets", self.n_targets, minimum=1)
        check_int("attack batch_size", self.batch_size, minimum=1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_class(dataset, forget_class: Any) -> int:
    k = dataset.num_classes
    if isinstance(forget_class, bool) or not isinstance(forget_class, (int, np.integer)) \
            or not 0 <= int(forget_class) < k:
        raise BadInput(f"forget class {forget_class!r} is not allowed; classes are integers in [0, {k - 1}]")
    if not (np.asarray(dataset.y_train) == int(forget_class)).any():
        raise BadInput(f"forget class {int(forget_class)} has no training images; the attacks need a few of them")
    return int(forget_class)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise BadInput(f"seed {seed!r} is not allowed; it must be an integer")
    return int(seed)


def _check_model(model: Any, dataset) -> DiffusionModel:
    if not isinstance(model, DiffusionModel):
        raise BadInput(f"the generative attacks need a DiffusionModel; got {type(model).__name__}")
    if model.num_classes != dataset.num_classes:
        raise BadInput(f"the model has {model.num_classes} classes and the data set {dataset.num_classes}; "
                       "attack a model of this data set")
    return model


def embedding_scale(model: DiffusionModel, norm: str) -> float:
    """The embedding table's scale the radius is relative to: the mean L2 norm of its rows (classes and null)
    for `l2`, its RMS entry for `linf`."""
    check_choice("attack norm", norm, NORMS)
    table = model.denoiser.embed.weight.detach().double()
    if norm == "l2":
        return float(table.norm(dim=1).mean())
    return float(table.pow(2).mean().sqrt())


def _project(delta: torch.Tensor, norm: str, radius: float) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-radius, radius)
    n = delta.norm()
    return delta * (radius / n) if n > radius else delta


@torch.no_grad()
def sample_embedding(model: DiffusionModel, embedding: torch.Tensor, n: int, seed: int, *,
                     config: SampleConfig | None = None) -> torch.Tensor:
    """`n` samples conditioned on a class embedding vector (width,) instead of a label, in the data set's space.

    The same DDIM step and guidance as `models.diffusion.sample`, and the same initial noise for the same seed
    and batch size: given the model's own row of a class it returns `sample`'s images of that class (tested),
    so attacked and un-attacked samples differ by the conditioning alone."""
    cfg = (config or SampleConfig()).check(model.timesteps)
    check_int("samples", n, minimum=1)
    dev = next(model.parameters()).device
    gen = torch.Generator().manual_seed(_check_seed(seed))
    was_training = model.training
    model.eval()
    dim = math.prod(model.input_shape)
    ts = torch.linspace(model.timesteps - 1, 0, cfg.steps).round().long().tolist()
    abar = model.alphas_cumprod.to(dev)
    e = embedding.detach().to(dev).reshape(1, -1)
    null = model.denoiser.embed.weight[model.null_class].detach().reshape(1, -1)
    w = float(cfg.guidance)
    out = []
    try:
        for start in range(0, n, cfg.batch_size):
            m = min(cfg.batch_size, n - start)
            z = torch.randn(m, dim, generator=gen).to(dev)
            for i, t in enumerate(ts):
                a_t = abar[t]
                a_prev = abar[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), device=dev)
                tt = torch.full((m,), t, device=dev, dtype=torch.long)
                # As DiffusionModel.guided_eps: one pass over [z, z] when both branches are needed.
                if w == 1.0:
                    eps = model.denoiser(z, tt, class_embedding=e.expand(m, -1))
                elif w == 0.0:
                    eps = model.denoiser(z, tt, class_embedding=null.expand(m, -1))
                else:
                    both = model.denoiser(torch.cat([z, z]), torch.cat([tt, tt]),
                                          class_embedding=torch.cat([e.expand(m, -1), null.expand(m, -1)]))
                    cond, uncond = both.chunk(2)
                    eps = uncond + w * (cond - uncond)
                x0 = ((z - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-1, 1)
                eps = (z - a_t.sqrt() * x0) / (1 - a_t).sqrt()
                sigma = cfg.eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).clamp(min=0).sqrt()
                z = a_prev.sqrt() * x0 + (1 - a_prev - sigma ** 2).clamp(min=0).sqrt() * eps
                if cfg.eta > 0 and i + 1 < len(ts):
                    z = z + sigma * torch.randn(m, dim, generator=gen).to(dev)
            out.append(model.to_data_space(z).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


def _judged(judge: Judge, before: torch.Tensor, after: torch.Tensor, forget_class: int) -> dict[str, Any]:
    """The judge's reading of the samples before and after an attack: the two rates, and per sample (same
    initial noise at the same index) its predicted class and the images, which `generative_audit` stores and
    pairs with θ_r's. A judge at chance reads nothing: rates None, no predictions."""
    out: dict[str, Any] = {"images": {"before": before.cpu(), "after": after.cpu()}}
    if judge.usable.value is None:
        return {**out, "rates": (None, None), "predictions": None}
    pb, _ = judge.read(before)
    pa, _ = judge.read(after)
    pb, pa = np.asarray(pb, dtype=np.int64), np.asarray(pa, dtype=np.int64)
    return {**out, "rates": (float((pb == forget_class).mean()), float((pa == forget_class).mean())),
            "predictions": {"before": pb, "after": pa}}


def _class_probability(classifier: Judge, images: torch.Tensor, c: int) -> torch.Tensor:
    with torch.no_grad():
        net = classifier.model
        return torch.softmax(net.head(net.features(images.float().cpu())), dim=1)[:, c]


def _noise_search(model: DiffusionModel, embedding: torch.Tensor, first: torch.Tensor, surrogate: Judge, c: int,
                  n: int, seed: int, k: int, sampling: SampleConfig, cancel) -> torch.Tensor:
    """Per sample, the most class-like (by the surrogate) of `k` draws: `first` (the un-searched noise) and k − 1
    more from seeded noise streams; the same candidates for every model at the same seed, so samples stay paired."""
    best, score = first.clone(), _class_probability(surrogate, first, c)
    for j in range(1, k):
        _check_cancel(cancel)
        stream = int(np.random.SeedSequence([seed, NOISE_STREAM, j]).generate_state(1)[0])
        cand = sample_embedding(model, embedding, n, stream, config=sampling)
        p = _class_probability(surrogate, cand, c)
        better = p > score
        best[better], score[better] = cand[better], p[better]
    return best


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("attack cancelled by request")


def _targets(dataset, forget_class: int, n: int, seed: int, stream: int) -> torch.Tensor:
    idx = np.flatnonzero(np.asarray(dataset.y_train) == forget_class)
    rng = np.random.default_rng([seed, stream])
    pick = np.sort(rng.permutation(len(idx))[:n])
    return torch.as_tensor(np.asarray(dataset.x_train)[idx[pick]])


def _start(model: DiffusionModel, forget_class: int, init: str, original: DiffusionModel | None) -> torch.Tensor:
    table = model.denoiser.embed.weight.detach()
    if init == "null":
        return table[model.null_class].clone()
    if init == "own":
        return table[int(model.condition(torch.tensor([forget_class], device=table.device))[0])].clone()
    if original is None:
        raise BadInput("attack init 'original' needs original= (θ_o); allowed inits: own, null, original")
    row = original.denoiser.embed.weight.detach()[forget_class]
    if row.shape != table[0].shape:
        raise BadInput(f"attack init 'original' needs θ_o of the model's width {table.shape[1]}; got {row.shape[0]}")
    return row.clone().to(table.device)


def _checked(model, judge: Judge, dataset, forget_class, seed, n_samples, sampling: SampleConfig | None):
    """The attacks' shared checks (one line each): (model, class, seed, sampling, notes); a judge at chance
    starts the notes, so no rate is read from it."""
    model = _check_model(model, dataset)
    c = _check_class(dataset, forget_class)
    seed = _check_seed(seed)
    check_int("samples", n_samples, minimum=1)
    sampling = (sampling or SampleConfig()).check(model.timesteps)
    notes: dict[str, str] = {}
    if judge.usable.value is None:
        notes["judge"] = judge.usable.note or ""
    return model, c, seed, sampling, notes


def embedding_attack(model: DiffusionModel, judge: Judge, dataset, forget_class: int, *,
                     config: EmbeddingAttackConfig | None = None, n_samples: int = 100, seed: int = 0,
                     sampling: SampleConfig | None = None, original: DiffusionModel | None = None,
                     surrogate: Judge | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
    """Optimise the forgotten class's embedding (within `config`'s budget) so that `model` generates the class.

    Returns `forget_rate` (the un-attacked samples: `sample(model, [c], n_samples, seed)`), `attack_success_rate`
    (the same initial noise, conditioned on the adversarial embedding: the share the judge assigns to the class),
    `budget` (steps, norm, relative radius and its absolute value, the scale), `moved` (how far the embedding moved,
    relative to the scale), `loss_start`/`loss_end` (the denoising loss on the targets), `n_targets`, `n_samples`,
    `seconds` and `notes` (a judge at chance reads nothing: both rates are None with the reason), `predictions`
    (the judge's class per sample, before and after; None with a judge at chance) and `images` (the samples).
    The model is left untouched (the embedding is a separate tensor; the weights are frozen). `cancel` is
    honoured between optimiser steps (`Cancelled`).
    """
    config = config or EmbeddingAttackConfig()
    model, c, seed, sampling, notes = _checked(model, judge, dataset, forget_class, seed, n_samples, sampling)
    if config.noise_search > 1:
        if not isinstance(surrogate, Judge):
            raise BadInput("attack noise_search > 1 needs surrogate= (the attacker's own classifier, not the judge)")
        if surrogate.key == judge.key:
            raise BadInput("the surrogate is the judge: the samples would be chosen by the classifier that reads "
                           "them; give another classifier (another seed of the judge's recipe)")
    start_time = time.perf_counter()
    with numerics.compute_threads():
        dev = next(model.parameters()).device
        e0 = _start(model, c, config.init, original).to(dev)
        scale = embedding_scale(model, config.norm)
        radius = config.radius * scale
        targets = model.to_model_space(_targets(dataset, c, config.n_targets, seed, TARGET_STREAM).to(dev))
        gen = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, LOSS_STREAM]).generate_state(1)[0]))
        was_training, grads = model.training, [p.requires_grad for p in model.parameters()]
        model.eval().requires_grad_(False)
        delta = torch.zeros_like(e0, requires_grad=True)
        opt = torch.optim.Adam([delta], lr=config.lr * embedding_scale(model, "linf"))
        losses: list[float] = []
        try:
            for _ in range(config.steps):
                _check_cancel(cancel)
                b = config.batch_size
                pick = torch.randint(0, len(targets), (b,), generator=gen).to(dev)
                t = torch.randint(0, model.timesteps, (b,), generator=gen).to(dev)
                eps = torch.randn(b, targets.shape[1], generator=gen).to(dev)
                abar = model.alphas_cumprod[t][:, None]
                zt = abar.sqrt() * targets[pick] + (1 - abar).sqrt() * eps
                loss = nn.functional.mse_loss(model.denoiser(zt, t, class_embedding=(e0 + delta).expand(b, -1)), eps)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                with torch.no_grad():
                    delta.copy_(_project(delta, config.norm, radius))
                losses.append(float(loss.detach()))
            adv = (e0 + delta).detach()
            before, _ = sample(model, [c], n_samples, seed, config=sampling)
            after = sample_embedding(model, adv, n_samples, seed, config=sampling)
            if config.noise_search > 1:
                after = _noise_search(model, adv, after, surrogate, c, n_samples, seed, config.noise_search, sampling,
                                      cancel)
        finally:
            model.train(was_training)
            for p, g in zip(model.parameters(), grads):
                p.requires_grad_(g)
    d = delta.detach()
    moved = float(d.norm() if config.norm == "l2" else d.abs().max()) / scale
    judged = _judged(judge, before, after, c)
    return {"forget_class": c, "forget_rate": judged["rates"][0], "attack_success_rate": judged["rates"][1],
            "predictions": judged["predictions"], "images": judged["images"],
            "budget": {"steps": config.steps, "norm": config.norm, "radius": config.radius,
                       "radius_abs": radius, "scale": scale, "lr": config.lr, "init": config.init,
                       "noise_search": config.noise_search},
            "moved": moved, "loss_start": losses[0], "loss_end": float(np.mean(losses[-10:])),
            "n_targets": config.n_targets, "n_samples": n_samples, "seed": seed,
            "seconds": time.perf_counter() - start_time, "notes": notes, "embedding": adv.cpu()}


@dataclass(frozen=True)
class RelearnAttackConfig:
    """The relearning attack's budget (validated): `steps` AdamW steps in [1, 5000] at `lr` in (0, 1], on
    `samples` training images of the forgotten class (>= 1), `batch_size` per step."""

    steps: int = 20
    samples: int = 8
    lr: float = 1e-3
    batch_size: int = 8

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_STEPS:
            raise BadInput(f"relearn steps {self.steps!r} is not allowed; it must be an integer in [1, {MAX_STEPS}]")
        check_int("relearn samples", self.samples, minimum=1)
        check_range("relearn lr", self.lr, 0.0, 1.0, closed="right")
        check_int("relearn batch_size", self.batch_size, minimum=1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def relearn_attack(model: DiffusionModel, judge: Judge, dataset, forget_class: int, *,
                   config: RelearnAttackConfig | None = None, n_samples: int = 100, seed: int = 0,
                   sampling: SampleConfig | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
    """Fine-tune a copy of `model` for `config.steps` steps of DDPM's loss on `config.samples` images of the
    forgotten class labelled as it, then read the forget rate again (same initial noise before and after).

    The copy marks the class as known: a model that conditions the class as the null token (θ_r) would
    otherwise train its null branch, not the class. Returns `forget_rate_before`, `forget_rate_after`, the
    budget (steps, samples, lr), `curve` (the forget rate at 0, a quarter, half and all of the steps, from the same
    noise), `seconds`, `notes`, `predictions` and `images` (as `embedding_attack`'s), and
    the relearnt model under `model`. `cancel` stops the fine-tuning at its next step (`Cancelled`)."""
    config = config or RelearnAttackConfig()
    model, c, seed, sampling, notes = _checked(model, judge, dataset, forget_class, seed, n_samples, sampling)
    start_time = time.perf_counter()
    with numerics.compute_threads():
        dev = next(model.parameters()).device
        before, _ = sample(model, [c], n_samples, seed, config=sampling)
        net = copy.deepcopy(model).train().requires_grad_(True)
        net.class_known[c] = True
        x = _targets(dataset, c, config.samples, seed, TARGET_STREAM).to(dev)
        y = torch.full((len(x),), c, dtype=torch.long, device=dev)
        ctx = RunContext(device=dev, seed=seed, cancel=cancel)
        batches = TensorBatches(x, y, batch_size=min(config.batch_size, len(x)), generator=ctx.generator(LOSS_STREAM))
        gen = ctx.generator(LOSS_STREAM + 1)
        opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=0.0)
        # The forget rate on the way (a quarter and half of the steps), from the same noise: how fast the class
        # comes back, not only where it ends. Sampling uses its own generator, so the training draws, and the
        # final model, are those of an uninterrupted run.
        marks = sorted({s for s in (config.steps // 4, config.steps // 2) if 1 <= s < config.steps})
        curve: dict[int, torch.Tensor] = {}
        done = [0]

        def checkpoint(m: DiffusionModel) -> None:
            done[0] += 1
            if done[0] in marks:
                curve[done[0]] = sample(m, [c], n_samples, seed, config=sampling)[0]

        fit(net, batches, lambda m, b: diffusion_loss(m, b[0], b[1], gen), opt, ctx,
            epochs=-(-config.steps // len(batches)), max_steps=config.steps, description="relearn",
            after_step=checkpoint)
        net.eval().requires_grad_(False)
        after, _ = sample(net, [c], n_samples, seed, config=sampling)
    judged = _judged(judge, before, after, c)
    rates = [judged["rates"][0], *(_judged(judge, curve[s], curve[s], c)["rates"][0] for s in marks),
             judged["rates"][1]]
    return {"forget_class": c, "forget_rate_before": judged["rates"][0], "forget_rate_after": judged["rates"][1],
            "curve": {"steps": [0, *marks, config.steps], "forget_rate": rates},
            "predictions": judged["predictions"], "images": judged["images"], "steps": config.steps,
            "samples": min(config.samples, len(x)), "lr": config.lr, "n_samples": n_samples, "seed": seed,
            "seconds": time.perf_counter() - start_time, "notes": notes, "model": net}


__all__ = ["EmbeddingAttackConfig", "RelearnAttackConfig", "embedding_attack", "embedding_scale", "relearn_attack",
           "sample_embedding"]
