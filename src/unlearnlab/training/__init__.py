"""The shared loop, contexts and training recipes."""

from .augment import AUGMENTATIONS, CropFlip, augmentation_for, random_crop_flip, register_augmentation
from .batches import Cycled, TensorBatches
from .context import Counters, ProgressCallback, RunContext, pick_device, seed_everything
from .inference import predict_logits
from .loop import FitResult, fit
from .pruning import apply_masks, global_magnitude_masks, prunable_names, sparsity
from .train import SCHEDULES, TrainConfig, cross_entropy_step, sgd, train_classifier

__all__ = [
    "AUGMENTATIONS", "Counters", "CropFlip", "Cycled", "apply_masks", "augmentation_for", "global_magnitude_masks",
    "prunable_names", "random_crop_flip", "register_augmentation", "sparsity", "FitResult", "ProgressCallback",
    "RunContext", "SCHEDULES", "TensorBatches", "TrainConfig", "cross_entropy_step", "fit", "pick_device",
    "predict_logits", "seed_everything", "sgd", "train_classifier",
]
