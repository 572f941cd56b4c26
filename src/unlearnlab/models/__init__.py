"""Model registry: `create_model(name, input_shape, num_classes)`."""

from . import mlp, cnn, resnet  # noqa: F401, I001  (registration order = listing order)
from .base import MODELS, Classifier, create_model, register_model

__all__ = ["MODELS", "Classifier", "create_model", "register_model"]
