"""A small class-conditional diffusion model with classifier-free guidance, and its seeded sampler.

DDPM with ε-prediction (Ho et al. 2020, "Denoising Diffusion Probabilistic Models", NeurIPS), the
cosine noise schedule (Nichol & Dhariwal 2021, "Improved Denoising Diffusion Probabilistic Models",
ICML), DDIM sampling (Song et al. 2021, "Denoising Diffusion Implicit Models", ICLR; `eta=1` is
DDPM's ancestral sampler) and classifier-free guidance (Ho & Salimans 2022, "Classifier-Free
Diffusion Guidance"): one network learns ε(x_t, t, c) and ε(x_t, t, ∅) by dropping the class to a
null token during training, and sampling follows ε_∅ + w·(ε_c − ε_∅).

Why DDPM with ε-prediction and not flow matching: the concept-erasure methods this model exists for
are written in ε (score) space: ESD's negative-guidance target ε_o(x_t) − η[ε_o(x_t, c) − ε_o(x_t)]
(Gandikota et al. 2023), SalUn's generative variant (Fan et al. 2024) and Score Forgetting
Distillation (Chen et al. 2025) all fine-tune or distil an ε-predicting DDPM; keeping the same
parameterisation lets them be written as in their papers.

Why not `diffusers`: the schedule, the DDIM/DDPM step and guidance are ~60 lines here, while diffusers
adds huggingface_hub, requests, regex, Pillow and importlib-metadata to a dependency set that has none
of them, and its schedulers would still need our own seeded generator and portable-numerics discipline
(same seed, same bits). Its DDPMScheduler("squaredcos_cap_v2") is the same cosine schedule as `cosine`
here (checked in ../shared/reference/unlearning-spec.md §6), so a later switch stays possible.

Why a residual MLP denoiser, not a conv UNet: on the 8x8 digits a width-512 residual MLP trains at
~30 s per 1,000 steps on the 2-core CPU and its samples are recognised by a held-out classifier at any
guidance >= 1, while small conv denoisers measured slower for no gain (unlearning-spec §6). Images are
flattened, so the same network runs on 28x28 MNIST / Fashion-MNIST (784 inputs).

Data live in the model's own range [-1, 1]: `lo` and `hi` (buffers, saved with the weights) map the
data set's values there and back, so `sample` returns images in the data set's space (what a classifier
trained on it expects). `class_known` (a buffer) marks the classes the model was trained on: a label it
never saw is conditioned as the null token, i.e. "generate from what you know" (the retrained θ_r's
definition of the forgotten class; an untrained embedding row would otherwise give noise blobs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..errors import BadInput
from ..registry import Registry
from ..validation import check_choice, check_int, check_range

#: Generative models: name -> factory(input_shape, num_classes, config) -> DiffusionModel. Kept apart from
#: the classifier registry `MODELS`, whose every entry is a `Classifier` (its contract tests, the server's
#: model list and the classifier runner rely on that).
GENERATIVE_MODELS: Registry[Callable[..., DiffusionModel]] = Registry("generative model")
register_generative = GENERATIVE_MODELS.register

SCHEDULES = ("cosine", "linear")
PREDICTIONS = ("eps", "v")
#: Guidance scales beyond this are far past the useful range (papers use 1-10) and overflow the samples' range.
MAX_GUIDANCE = 20.0
MAX_TIMESTEPS = 4000


@dataclass(frozen=True)
class DiffusionConfig:
    """The model's hyper-parameters (validated): denoiser size, noise schedule, label dropout.

    - `width`, `depth`: residual MLP width and number of residual blocks. Defaults 256 and 3 (0.76M
      parameters on digits): unlearning-spec §6 measured 512 x 4 (2.8M), but on digits 256 x 3 already
      gives samples the judge recognises ~98 % of the time at a fraction of the cost (docs/generative.md).
    - `timesteps` T and `schedule` (`cosine`, Nichol & Dhariwal 2021; `linear` β from 1e-4 to 0.02·1000/T, Ho et al.).
    - `p_uncond`: the share of training labels replaced by the null token (classifier-free guidance).
      20 %, not the 10 % of Ho & Salimans: ESD's target depends on the unconditional branch, which
      was weak at 10 % on digits (unlearning-spec §6).
    - `prediction`: what the network's output is. `eps` (default): ε itself, as DDPM. `v`: Salimans & Ho's
      v = √ᾱ_t ε − √(1−ᾱ_t) x_0 (2022, "Progressive Distillation for Fast Sampling of Diffusion Models", ICLR),
      turned into ε = √(1−ᾱ_t) z_t + √ᾱ_t v inside the denoiser, so every caller still reads ε. At high noise
      ε ≈ z_t comes through that skip instead of through the width-`width` residual stream: on 784-d inputs an
      ε-network must rebuild a 784-d vector from a narrower stream, and the DDIM x_0 = (z_t − √(1−ᾱ_t) ε)/√ᾱ_t
      amplifies what it misses (measured: docs/generative.md, "MNIST / Fashion-MNIST").
    """

    width: int = 256
    depth: int = 3
    timesteps: int = 200
    schedule: str = "cosine"
    p_uncond: float = 0.2
    prediction: str = "eps"

    def __post_init__(self):
        check_int("diffusion.width", self.width, minimum=8)
        check_int("diffusion.depth", self.depth, minimum=1)
        check_int("diffusion.timesteps", self.timesteps, minimum=2)
        if self.timesteps > MAX_TIMESTEPS:
            raise BadInput(f"diffusion.timesteps={self.timesteps!r} is not allowed; it must be an integer in "
                           f"[2, {MAX_TIMESTEPS}]")
        check_choice("diffusion.schedule", self.schedule, SCHEDULES)
        check_range("diffusion.p_uncond", self.p_uncond, 0.0, 1.0, closed="neither")
        check_choice("diffusion.prediction", self.prediction, PREDICTIONS)

    def to_dict(self) -> dict:
        """The fields, `prediction` left out at its default: it came later, and the scenario ids and cache keys made
        before it (which hash this dict) stay valid."""
        out = asdict(self)
        if out["prediction"] == "eps":
            del out["prediction"]
        return out


def alphas_cumprod(schedule: str, timesteps: int) -> torch.Tensor:
    """ᾱ_t for t = 0..T-1 in float64 (ᾱ_t = Π_{s<=t} (1 − β_s))."""
    check_choice("diffusion.schedule", schedule, SCHEDULES)
    t = torch.arange(timesteps + 1, dtype=torch.float64)
    if schedule == "cosine":
        s = 0.008  # Nichol & Dhariwal's offset: keeps β_0 from vanishing
        f = torch.cos((t / timesteps + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)  # their clip: the last steps of the cosine explode
    else:
        scale = 1000 / timesteps
        betas = torch.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)


def _timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer sinusoids of the integer timestep (Vaswani et al. 2017), as in DDPM."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return nn.functional.pad(emb, (0, dim % 2))


class _Block(nn.Module):
    """Pre-norm residual MLP block whose hidden layer is shifted by the (time + class) embedding."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.cond = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)
        self.act = nn.SiLU()

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(self.act(self.fc1(self.act(self.norm(h))) + self.cond(c)))


class ResMLPDenoiser(nn.Module):
    """ε_θ(x_t, t, c) on flattened inputs; the class embedding has a row for every class plus the null token
    (the last row), so `embed` is where a class lives in the conditioning (what erasure methods and
    UnlearnDiffAtk-style attacks edit)."""

    def __init__(self, dim: int, num_classes: int, width: int = 256, depth: int = 3,
                 v_alphas_cumprod: torch.Tensor | None = None):
        super().__init__()
        self.width = width
        # v-prediction (DiffusionConfig.prediction): ᾱ_t, to turn the output v into ε. Registered only then, so an
        # ε-model's state dict is what it always was.
        self.v_prediction = v_alphas_cumprod is not None
        if self.v_prediction:
            self.register_buffer("alphas_cumprod", v_alphas_cumprod.clone())
        self.inp = nn.Linear(dim, width)
        self.time = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.embed = nn.Embedding(num_classes + 1, width)
        self.blocks = nn.ModuleList(_Block(width) for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None, *,
                class_embedding: torch.Tensor | None = None) -> torch.Tensor:
        """`class_embedding` (n, width), when given, replaces the lookup of `y` (attacks optimise it)."""
        c = self.embed(y) if class_embedding is None else class_embedding
        c = self.time(_timestep_embedding(t, self.width)) + c
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, c)
        out = self.out(nn.functional.silu(self.norm(h)))
        if self.v_prediction:  # ε = √(1−ᾱ_t) z_t + √ᾱ_t v
            a = self.alphas_cumprod[t].unsqueeze(1)
            out = (1 - a).sqrt() * x + a.sqrt() * out
        return out


class DiffusionModel(nn.Module):
    """A denoiser with its noise schedule, data range and the classes it knows (all buffers: one state dict)."""

    def __init__(self, input_shape: Sequence[int], num_classes: int, config: DiffusionConfig | None = None):
        super().__init__()
        self.config = config or DiffusionConfig()
        self.input_shape = tuple(int(d) for d in input_shape)
        self.num_classes = int(num_classes)
        dim = math.prod(self.input_shape)
        abar = alphas_cumprod(self.config.schedule, self.config.timesteps).float()
        self.denoiser = ResMLPDenoiser(dim, self.num_classes, self.config.width, self.config.depth,
                                       abar if self.config.prediction == "v" else None)
        self.register_buffer("alphas_cumprod", abar)
        self.register_buffer("lo", torch.tensor(0.0))
        self.register_buffer("hi", torch.tensor(1.0))
        self.register_buffer("class_known", torch.ones(self.num_classes, dtype=torch.bool))

    @property
    def timesteps(self) -> int:
        return self.config.timesteps

    @property
    def null_class(self) -> int:
        return self.num_classes

    def set_data_range(self, lo: float, hi: float) -> None:
        if not hi > lo:
            raise BadInput(f"data range [{lo}, {hi}] is empty; a diffusion model needs data that vary")
        self.lo.fill_(float(lo))
        self.hi.fill_(float(hi))

    def to_model_space(self, x: torch.Tensor) -> torch.Tensor:
        """Data-set values -> [-1, 1], flattened."""
        return ((x - self.lo) / (self.hi - self.lo) * 2 - 1).flatten(1)

    def to_data_space(self, z: torch.Tensor) -> torch.Tensor:
        return ((z.clamp(-1, 1) + 1) / 2 * (self.hi - self.lo) + self.lo).reshape(-1, *self.input_shape)

    def condition(self, y: torch.Tensor) -> torch.Tensor:
        """Labels as the denoiser sees them: unknown classes (never trained) become the null token."""
        known = self.class_known[y.clamp(max=self.num_classes - 1)] & (y < self.num_classes)
        return torch.where(known, y, torch.full_like(y, self.null_class))

    def forward(self, z: torch.Tensor, t: torch.Tensor, y: torch.Tensor, **kw) -> torch.Tensor:
        """ε_θ(z_t, t, y) in model space; y = `null_class` is the unconditional branch."""
        return self.denoiser(z, t, self.condition(y), **kw)

    def guided_eps(self, z: torch.Tensor, t: torch.Tensor, y: torch.Tensor, guidance: float) -> torch.Tensor:
        """ε_∅ + w·(ε_y − ε_∅); w = 1 is the conditional model alone and skips the null pass, w = 0 is unconditional."""
        if guidance == 1.0:
            return self(z, t, y)
        null = torch.full_like(y, self.null_class)
        if guidance == 0.0:
            return self(z, t, null)
        both = self(torch.cat([z, z]), torch.cat([t, t]), torch.cat([y, null]))
        cond, uncond = both.chunk(2)
        return uncond + guidance * (cond - uncond)


@register_generative("ddpm")
def ddpm(input_shape: Sequence[int], num_classes: int, config: DiffusionConfig | None = None) -> DiffusionModel:
    """Class-conditional DDPM (ε-prediction, residual MLP denoiser, classifier-free guidance)."""
    if num_classes < 2:
        raise BadInput(f"model 'ddpm' needs num_classes >= 2; got {num_classes}")
    return DiffusionModel(input_shape, num_classes, config)


def create_generative(name: str, input_shape: Sequence[int], num_classes: int,
                      config: DiffusionConfig | None = None) -> DiffusionModel:
    return GENERATIVE_MODELS.get(name)(tuple(input_shape), int(num_classes), config)


# ---------------------------------------------------------------------------------------------------
# Sampling


@dataclass(frozen=True)
class SampleConfig:
    """How samples are drawn (validated).

    - `guidance` w in [0, 20]: 0 unconditional, 1 the conditional model, > 1 classifier-free guidance
      (Ho & Salimans use 1-5; w = 2 is our default: on digits it gives samples a classifier recognises).
    - `steps`: DDIM steps, evenly spaced over [0, T) (1 .. T).
    - `eta`: 0 deterministic DDIM, 1 DDPM's ancestral noise (Song et al. 2021, eq. 16).
    - `batch_size`: samples denoised at once (memory only).
    """

    guidance: float = 2.0
    steps: int = 50
    eta: float = 0.0
    batch_size: int = 500

    def check(self, timesteps: int) -> SampleConfig:
        if isinstance(self.guidance, bool) or not isinstance(self.guidance, (int, float)) \
                or not 0.0 <= float(self.guidance) <= MAX_GUIDANCE:
            raise BadInput(f"guidance scale {self.guidance!r} is not allowed; it must be a number in "
                           f"[0, {MAX_GUIDANCE:g}] (0 unconditional, 1 conditional, > 1 guided)")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= timesteps:
            raise BadInput(f"sampling steps {self.steps!r} is not allowed; it must be an integer in [1, {timesteps}] "
                           "(the model's timesteps T)")
        check_range("sample.eta", self.eta, 0.0, 1.0)
        check_int("sample.batch_size", self.batch_size, minimum=1)
        return self


def _labels(classes: Sequence[int] | int, n: int, num_classes: int) -> torch.Tensor:
    classes = [classes] if isinstance(classes, int) else list(classes)
    if not classes:
        raise BadInput("no classes to sample; give at least one class index")
    for c in classes:
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < num_classes:
            raise BadInput(f"class {c!r} is not allowed; classes are integers in [0, {num_classes - 1}]")
    check_int("samples per class", n, minimum=1)
    return torch.tensor(classes, dtype=torch.long).repeat_interleave(n)


@torch.no_grad()
def sample(model: DiffusionModel, classes: Sequence[int] | int, n: int, seed: int, *,
           guidance: float | None = None, steps: int | None = None, eta: float | None = None,
           config: SampleConfig | None = None, device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` samples of each class in `classes`, in the data set's space, and their labels (class-major order).

    Seeded by its own CPU `torch.Generator(seed)`, never the global one: the initial noise and every
    ancestral draw come from it, in a fixed order, so the same seed gives the same bits on the CPU
    (run it inside `numerics.compute_threads()` for bits that do not depend on the thread count).
    Sample i of a class depends on its batch only through the draws' order: keep `batch_size` fixed to
    compare runs.
    """
    base = config or SampleConfig()
    cfg = SampleConfig(guidance=base.guidance if guidance is None else guidance,
                       steps=base.steps if steps is None else steps,
                       eta=base.eta if eta is None else eta, batch_size=base.batch_size).check(model.timesteps)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise BadInput(f"seed {seed!r} is not allowed; it must be an integer")
    labels = _labels(classes, n, model.num_classes)
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    dim = math.prod(model.input_shape)
    # Evenly spaced DDIM timesteps from T-1 down to 0.
    ts = torch.linspace(model.timesteps - 1, 0, cfg.steps).round().long().tolist()
    abar = model.alphas_cumprod.to(dev)
    out = []
    try:
        for start in range(0, len(labels), cfg.batch_size):
            y = labels[start:start + cfg.batch_size].to(dev)
            z = torch.randn(len(y), dim, generator=gen).to(dev)
            for i, t in enumerate(ts):
                a_t = abar[t]
                a_prev = abar[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), device=dev)
                eps = model.guided_eps(z, torch.full((len(y),), t, device=dev, dtype=torch.long), y, float(cfg.guidance))
                x0 = ((z - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-1, 1)
                eps = (z - a_t.sqrt() * x0) / (1 - a_t).sqrt()  # consistent with the clipped x0
                sigma = cfg.eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).clamp(min=0).sqrt()
                z = a_prev.sqrt() * x0 + (1 - a_prev - sigma ** 2).clamp(min=0).sqrt() * eps
                if cfg.eta > 0 and i + 1 < len(ts):
                    z = z + sigma * torch.randn(len(y), dim, generator=gen).to(dev)
            out.append(model.to_data_space(z).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out), labels


__all__ = ["GENERATIVE_MODELS", "MAX_GUIDANCE", "DiffusionConfig", "DiffusionModel", "ResMLPDenoiser", "SampleConfig",
           "alphas_cumprod", "create_generative", "ddpm", "register_generative", "sample"]
