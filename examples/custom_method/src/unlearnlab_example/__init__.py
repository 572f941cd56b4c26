import torch
import torch.nn.functional as F

from unlearnlab import Method, register_method
from unlearnlab.training import Cycled, sgd
from unlearnlab.validation import check_positive, check_sgd


@register_method("bounded_forget", paper="Example plugin: a bounded forgetting loss (unlearnlab docs)")
class BoundedForget(Method):
    """Push D_f's true-class probability p down with −log(1 − p) while CE on D_r keeps the rest;
    unlike gradient ascent the forgetting term is bounded below, so it cannot run away."""

    def __init__(self, lr: float = 0.01, epochs: int = 3, batch_size: int = 64, weight: float = 1.0):
        check_sgd(lr, epochs, batch_size)
        check_positive(weight=weight)
        self.lr, self.epochs, self.batch_size, self.weight = lr, epochs, batch_size, weight

    def unlearn(self, model, task):
        batches = Cycled(task.retain_loader(self.batch_size), task.forget_loader(self.batch_size))

        def loss(m, batch):
            x_r, y_r, x_f, y_f = batch
            p = F.softmax(m(x_f), dim=1).gather(1, y_f[:, None]).squeeze(1)
            return F.cross_entropy(m(x_r), y_r) - self.weight * torch.log1p(-p.clamp(max=1 - 1e-6)).mean()

        task.fit(model, batches, loss, sgd(model, self.lr), epochs=self.epochs, description=self.name)
        return model
