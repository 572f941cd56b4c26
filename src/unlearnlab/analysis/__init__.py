"""Model-level analyses: layer-wise similarity (CKA) and instance categories."""

from .cka import layerwise_activations, layerwise_cka, linear_cka
from .instances import CATEGORIES, instance_categories

__all__ = ["CATEGORIES", "instance_categories", "layerwise_activations", "layerwise_cka", "linear_cka"]
