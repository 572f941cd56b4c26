"""Datasets and forget requests; the standard image data sets (`standard`) read from the data root (`roots`)."""

from .datasets import (
    DATASETS,
    Dataset,
    from_arrays,
    load_dataset,
    load_from_spec,
    parse_dataset_spec,
    register_dataset,
)
from .forget import ForgetRequest, parse_forget, read_indices, select_forget
from .roots import DATA_ROOTS, register_data_root, resolve_data_root
from .standard import STANDARD, available
from . import regression  # noqa: E402, F401  (registers diabetes and friedman1)

__all__ = [
    "DATASETS",
    "DATA_ROOTS",
    "STANDARD",
    "Dataset",
    "ForgetRequest",
    "available",
    "from_arrays",
    "load_dataset",
    "load_from_spec",
    "parse_dataset_spec",
    "parse_forget",
    "read_indices",
    "register_data_root",
    "register_dataset",
    "resolve_data_root",
    "select_forget",
]
