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
from .forget import SELECTED_KINDS, ForgetRequest, check_applies, parse_forget, read_indices, select_forget, selection_size
from .roots import DATA_ROOTS, register_data_root, resolve_data_root
from .standard import STANDARD, available
from . import regression  # noqa: E402, F401  (registers diabetes and friedman1)

__all__ = [
    "DATASETS",
    "DATA_ROOTS",
    "SELECTED_KINDS",
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
    "check_applies",
    "select_forget",
    "selection_size",
]
