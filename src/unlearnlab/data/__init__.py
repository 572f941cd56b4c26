"""Datasets and forget requests."""

from .datasets import (
    DATASETS,
    Dataset,
    from_arrays,
    load_dataset,
    parse_dataset_spec,
    register_dataset,
)
from .forget import ForgetRequest, parse_forget, read_indices, select_forget

__all__ = [
    "DATASETS",
    "Dataset",
    "ForgetRequest",
    "from_arrays",
    "load_dataset",
    "parse_dataset_spec",
    "parse_forget",
    "read_indices",
    "register_dataset",
    "select_forget",
]
