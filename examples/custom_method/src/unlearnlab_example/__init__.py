import torch.nn.functional as F

from unlearnlab import Method, register_method
from unlearnlab.training import sgd
from unlearnlab.validation import check_positive, check_sgd


@register_method("anchored_ga", paper="Example plugin: gradient ascent anchored to θ_o (unlearnlab docs)")
class AnchoredGradientAscent(Method):
    """Gradient ascent on D_f with an L2 pull towards θ_o, so the model forgets without drifting."""

    reference_defaults = {"lr": 1e-4, "epochs": 5}

    def __init__(self, lr: float = 0.01, epochs: int = 5, batch_size: int = 64, anchor: float = 1.0):
        check_sgd(lr, epochs, batch_size)
        check_positive(anchor=anchor)
        self.lr, self.epochs, self.batch_size, self.anchor = lr, epochs, batch_size, anchor

    def unlearn(self, model, task):
        theta_o = [p.detach() for p in task.original.parameters()]

        def loss(m, batch):
            x, y = batch
            drift = sum(((p - p0) ** 2).sum() for p, p0 in zip(m.parameters(), theta_o))
            return -F.cross_entropy(m(x), y) + self.anchor * drift

        task.fit(model, task.forget_loader(self.batch_size), loss, sgd(model, self.lr),
                 epochs=self.epochs, description=self.name)
        return model
