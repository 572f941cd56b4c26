"""Model registry: `create_model(name, input_shape, num_classes)`; models by reference and the adapter
that makes any classifier a `Classifier` (docs/own_model.md)."""

from . import mlp, cnn, resnet, fast  # noqa: F401, I001  (registration order = listing order)
from .adapter import Adapter, adapt
from .base import MODELS, Classifier, create_model, register_model
from .reference import ENTRY_POINT_GROUP, PLUGIN_ERRORS, ModelSource, ensure_loaded, resolve_model
from .weights import GivenWeights, check_fits, read_state_dict

__all__ = ["ENTRY_POINT_GROUP", "MODELS", "PLUGIN_ERRORS", "Adapter", "Classifier", "GivenWeights", "ModelSource",
           "adapt", "check_fits", "create_model", "ensure_loaded", "read_state_dict", "register_model",
           "resolve_model"]
