from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from ..validation import check_int, check_non_negative, check_positive, check_sgd
from .base import Method, UnlearningTask, register_method
from .common import frozen


@register_method("blindspot", paper="Tarun, Chundawat, Mandal & Kankanhalli 2023, Deep Regression Unlearning (ICML)")
class Blindspot(Method):
    """Blindspot unlearning: a proxy that has seen D_r only a little (the "blindspot" model) shows what D_f looks
    like to a model that never learned it; a copy of θ_o is trained on all of D, keeping its labels on D_r and
    matching the proxy on D_f, outputs (L1) and β-weighted attention maps of the hidden layers.

    Each batch mixes both: loss = c·forget_loss + (1 − c)·retain_loss with c the batch's share of D_f, as in the
    authors' `fit_one_forget_cycle`. The retain loss is the task's (MSE; the authors train with L1). Attention
    maps (Zagoruyko & Komodakis 2017) of a convolution are its squared activations averaged over channels; a
    dense layer has no channels, so its map is its squared units, L2-normalised.
    """

    tasks = ("regression",)
    # Authors' AgeDB notebook: proxy 2 epochs of Adam at 0.01, then 1 epoch of Adam at 1e-3, batch 256 (about 47
    # steps on AgeDB's 12k images); β 50. The embedded diabetes has 353 training samples: batch 32 and more epochs
    # give a comparable number of steps.
    reference_defaults = {"lr": 1e-3, "epochs": 1, "batch_size": 256, "proxy_epochs": 2, "proxy_lr": 0.01}

    def __init__(self, lr: float = 1e-3, epochs: int = 4, batch_size: int = 32, proxy_epochs: int = 2,
                 proxy_lr: float = 0.01, beta: float = 50.0):
        check_sgd(lr, epochs, batch_size)
        check_positive(proxy_lr=proxy_lr)
        check_int("proxy_epochs", proxy_epochs, minimum=1)
        check_non_negative(beta=beta)
        self.lr, self.epochs, self.batch_size = lr, epochs, batch_size
        self.proxy_epochs, self.proxy_lr, self.beta = proxy_epochs, proxy_lr, beta

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        proxy = task.make_model().to(task.ctx.device)
        task.fit(proxy, task.retain_loader(self.batch_size), task.loss_step,
                 torch.optim.Adam(proxy.parameters(), lr=self.proxy_lr), epochs=self.proxy_epochs,
                 description="blindspot proxy")
        proxy = frozen(proxy)
        is_forget = torch.zeros(len(task.y_train), device=task.x_train.device)
        is_forget[torch.as_tensor(task.forget_idx, device=task.x_train.device)] = 1.0

        def loss(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            x, y, f = batch
            out, acts = _forward(m, x)
            forget, retain = f > 0.5, f < 0.5
            c = f.mean()
            total = out.new_zeros(())
            if forget.any():
                with torch.no_grad():
                    p_out, p_acts = _forward(proxy, x[forget])
                term = F.l1_loss(out[forget], p_out)
                if self.beta:
                    for a, p in zip(acts, p_acts):
                        term = term + self.beta * (_attention(a[forget]) - _attention(p)).pow(2).mean()
                total = total + c * term
            if retain.any():
                total = total + (1 - c) * task.loss(out[retain], y[retain])
            return total

        batches = task.batches(task.x_train, task.y_train, is_forget, batch_size=self.batch_size, stream=6)
        task.fit(model, batches, loss, torch.optim.Adam(model.parameters(), lr=self.lr), epochs=self.epochs,
                 description="blindspot")
        return model


def _attention(a: torch.Tensor) -> torch.Tensor:
    """Attention map: squared activations, averaged over channels where there are any, L2-normalised per sample."""
    a = a.float().pow(2)
    a = a.mean(1).flatten(1) if a.ndim > 2 else a.flatten(1)
    return F.normalize(a, dim=1)


def _forward(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The model's outputs and the activations of its hidden blocks (all named blocks but the last, the head);
    none for a model that names no blocks."""
    names = list(getattr(model, "block_names", ()))[:-1]
    blocks = model.blocks() if names else {}
    acts: list[torch.Tensor] = []
    with _hooks([blocks[n] for n in names], acts):
        out = model(x)
    return out, acts


@contextmanager
def _hooks(modules: list[nn.Module], sink: list[torch.Tensor]):
    handles = [m.register_forward_hook(lambda _m, _i, o: sink.append(o)) for m in modules]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
