"""The shared loop, contexts and training recipes."""

from .batches import Cycled, TensorBatches
from .context import Counters, ProgressCallback, RunContext, pick_device, seed_everything
from .inference import predict_logits
from .loop import FitResult, fit
from .pruning import apply_masks, global_magnitude_masks, prunable_names, sparsity
from .train import TrainConfig, cross_entropy_step, sgd, train_classifier

__all__ = [
    "Counters", "Cycled", "apply_masks", "global_magnitude_masks", "prunable_names", "sparsity", "FitResult", "ProgressCallback", "RunContext", "TensorBatches",
    "TrainConfig", "cross_entropy_step", "fit", "pick_device", "predict_logits", "seed_everything",
    "sgd", "train_classifier",
]
