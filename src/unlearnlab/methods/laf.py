from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import Diverged
from ..training import Cycled, apply_masks
from ..validation import check_int, check_positive, check_sgd
from .base import Method, UnlearningTask, register_method


@register_method("laf", paper="Shen et al. 2024, Label-Agnostic Forgetting: A Supervision-Free Unlearning in Deep "
                              "Models (ICLR)")
class LabelAgnosticForgetting(Method):
    """Supervision-free unlearning on θ_o's penultimate embeddings, with no label of D_f or D_r:
    1. fit a VAE to the embeddings of D and one to those of D_f (θ_o frozen);
    2. per batch pair (D_f, D_r), extractor unlearning: minimise Σ_r g(‖VAE_D(e_r) − e_r‖²) −
       Σ_f g(‖VAE_f(e_f) − e_f‖²), g(m) = exp(m / (m + 1)), so retain embeddings stay on D's
       distribution and forget embeddings leave their own;
    3. then representation alignment on the same pair: minimise Σ_r [d_r − log Σ_f exp(d_f / τ)],
       d = 1 − cos(e, e_θo), pulling retain embeddings to θ_o's and pushing forget ones off them.
    Two Adam optimisers (`lr` for 2, `align_lr` for 3); the head is never trained.

    As the reference, the model runs in eval mode (normalisation statistics stay θ_o's, as the VAEs
    saw them). Our VAEs are smaller (one hidden layer of 32), take `vae_steps` steps each (epochs would
    leave a VAE of a small D_f untrained) and decode linearly (a sigmoid cannot reproduce ReLU features
    above 1).

    Scale: the learning rates are the reference's ×200 with its 1:4 ratio. At the class-wise τ 20 our
    model does not forget (UA 0.0 after 8 epochs); τ 5, the paper's random-data value, gives UA 1.0 with
    TA 0.969 (θ_o 0.972). It is the alignment's push on D_f that forgets here, helped by step 2.
    """

    uses_labels = False
    #: CIFAR-10 / ResNet-18 in hyperparameter.md (class-wise uses align_lr 5e-5, random-data τ 5); the VAE recipe
    #: from Train.py: 10 epochs of batch 32, i.e. ~15 600 steps on D and ~1 600 on a 5 000-sample D_f.
    reference_defaults = {"lr": 1e-5, "align_lr": 4e-5, "epochs": 40, "temperature": 20.0, "batch_size": 32,
                          "latent_dims": 16, "vae_lr": 1e-3, "vae_batch_size": 32}
    fragile_at_default_scale = ("the label-free alignment forgets the class on some runs and leaves most of it on others; over 40 runs (seeds 0-9 x 4 kernel settings, docs/method_spread.md) UA spans 0.10-1.00, below 0.9 in 26 and below 0.75 in 21")

    def __init__(self, lr: float = 2e-3, align_lr: float = 8e-3, epochs: int = 4, temperature: float = 5.0,
                 batch_size: int = 32, latent_dims: int = 8, vae_lr: float = 1e-2, vae_steps: int = 50,
                 vae_batch_size: int = 128):
        check_sgd(lr, epochs, batch_size)
        check_positive(align_lr=align_lr, temperature=temperature, vae_lr=vae_lr)
        check_int("latent_dims", latent_dims, minimum=1)
        check_int("vae_steps", vae_steps, minimum=1)
        check_int("vae_batch_size", vae_batch_size, minimum=1)
        self.lr, self.align_lr, self.epochs, self.temperature = lr, align_lr, epochs, temperature
        self.batch_size, self.latent_dims = batch_size, latent_dims
        self.vae_lr, self.vae_steps, self.vae_batch_size = vae_lr, vae_steps, vae_batch_size

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        return label_agnostic_forgetting(model, task, self)


def label_agnostic_forgetting(model: nn.Module, task: UnlearningTask, hp: LabelAgnosticForgetting) -> nn.Module:
    """Steps 1-3 of LAF on `model` (a copy of θ_o); shared by LAF and LAF+R. Reads no label."""
    e_train = embeddings(task.original, task.x_train, task)
    forget_idx = torch.as_tensor(task.forget_idx, device=e_train.device)
    retain_idx = torch.as_tensor(task.retain_idx, device=e_train.device)
    e_forget, e_retain = e_train.index_select(0, forget_idx), e_train.index_select(0, retain_idx)
    data_vae = fit_vae(e_train, hp, task, stream=6, description="laf: data VAE")
    forget_vae = fit_vae(e_forget, hp, task, stream=7, description="laf: forget VAE")

    pair: list[tuple[torch.Tensor, ...]] = []  # after_step sees only the model: the batch is handed over here

    def extractor_unlearning(m: nn.Module, batch) -> torch.Tensor:
        pair[:] = [batch]
        x_f, _, x_r, _ = batch
        return reconstruction_energy(data_vae, m.features(x_r)) - reconstruction_energy(forget_vae, m.features(x_f))

    align_opt = torch.optim.Adam(model.parameters(), lr=hp.align_lr)

    def representation_alignment(m: nn.Module) -> None:
        # The reference's second optimiser step on the same batch pair, after the first one's update; the
        # loop owns the first, so this one keeps the pruning masks and counts itself.
        x_f, t_f, x_r, t_r = pair[0]
        loss = alignment_loss(m.features(x_r), t_r, m.features(x_f), t_f, hp.temperature)
        if not math.isfinite(loss.item()):
            raise Diverged(f"laf: alignment loss became {loss.item()}")
        align_opt.zero_grad(set_to_none=True)
        loss.backward()
        align_opt.step()
        apply_masks(m, task.ctx.masks)
        task.ctx.counters.steps += 1
        task.ctx.counters.samples += len(x_f) + len(x_r)

    # Each input travels with θ_o's embedding of it (the alignment targets). One epoch is one pass over D_f,
    # each forget batch paired with a fresh retain batch (the reference's zip).
    x_f = task.x_train.index_select(0, forget_idx.to(task.x_train.device))
    x_r = task.x_train.index_select(0, retain_idx.to(task.x_train.device))
    batches = Cycled(task.batches(x_f, e_forget, batch_size=hp.batch_size, stream=1),
                     task.batches(x_r, e_retain, batch_size=hp.batch_size, stream=2))
    task.fit(model, batches, extractor_unlearning, torch.optim.Adam(model.parameters(), lr=hp.lr), epochs=hp.epochs,
             after_step=representation_alignment, train_mode=False, description="laf")
    return model


class EmbeddingVAE(nn.Module):
    """A one-hidden-layer VAE over embeddings: e -> (μ, log σ²) -> z = μ + σ·ε -> ê (linear output)."""

    def __init__(self, dim: int, latent_dims: int, hidden: int = 32):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent_dims)
        self.log_var = nn.Linear(hidden, latent_dims)
        self.decoder = nn.Sequential(nn.Linear(latent_dims, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(e)
        mu, log_var = self.mu(h), self.log_var(h)
        # Sampled in eval mode too, as the reference: the unlearning loss sees a noisy reconstruction.
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.decoder(z), mu, log_var


def vae_loss(vae: EmbeddingVAE, e: torch.Tensor) -> torch.Tensor:
    """Summed squared reconstruction error plus 0.025 KL(q(z|e) ‖ N(0, I)), both per sample (the reference's)."""
    out, mu, log_var = vae(e)
    kld = -0.5 * torch.sum(log_var + 1 - mu.pow(2) - log_var.exp())
    return (F.mse_loss(out, e, reduction="sum") + 0.025 * kld) / len(e)


def reconstruction_energy(vae: EmbeddingVAE, e: torch.Tensor) -> torch.Tensor:
    """Σ exp(m / (m + 1)) with m = ‖VAE(e) − e‖²: bounded in [1, e) per sample, so no sample dominates."""
    m = (vae(e)[0] - e).pow(2).sum(1)
    return torch.exp(m / (m + 1)).sum()


def alignment_loss(e_r: torch.Tensor, t_r: torch.Tensor, e_f: torch.Tensor, t_f: torch.Tensor,
                   temperature: float) -> torch.Tensor:
    """Σ_r [d_r − log Σ_f exp(d_f / τ)], d = 1 − cos(embedding, θ_o's embedding of the same input)."""
    d_r = 1 - F.cosine_similarity(e_r, t_r, dim=1)
    d_f = 1 - F.cosine_similarity(e_f, t_f, dim=1)
    return (d_r - torch.logsumexp(d_f / temperature, dim=0)).sum()


@torch.no_grad()
def embeddings(model: nn.Module, x: torch.Tensor, task: UnlearningTask) -> torch.Tensor:
    """θ_o's penultimate features of `x` in eval mode: a pre-pass (cancellable, counted)."""
    out = []
    for i in range(0, len(x), 512):
        task.ctx.check_cancelled()
        xb = x[i:i + 512].to(task.ctx.device)
        out.append(model.features(xb))
        task.ctx.counters.samples += len(xb)
    return torch.cat(out)


def fit_vae(e: torch.Tensor, hp: LabelAgnosticForgetting, task: UnlearningTask, stream: int,
            description: str) -> EmbeddingVAE:
    """Adam on the VAE loss for `hp.vae_steps` steps, the same for both VAEs whatever the set's size."""
    vae = EmbeddingVAE(e.shape[1], hp.latent_dims).to(e.device)
    batches = task.batches(e, batch_size=hp.vae_batch_size, stream=stream)
    # The shared loop re-applies θ's pruning masks by parameter name; the VAE has none of those parameters.
    aux = dataclasses.replace(task, ctx=dataclasses.replace(task.ctx, masks=None)) if task.ctx.masks else task
    aux.fit(vae, batches, lambda v, b: vae_loss(v, b[0]), torch.optim.Adam(vae.parameters(), lr=hp.vae_lr),
            epochs=-(-hp.vae_steps // len(batches)), max_steps=hp.vae_steps, description=description)
    vae.eval()
    for p in vae.parameters():
        p.requires_grad_(False)
    return vae
