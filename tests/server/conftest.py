"""A small stored scenario for the API tests (the default full-method request takes minutes on a
busy 2-core machine): digits, the MLP, forget class 3, θ_o and θ_r trained for two epochs, ft and ga.
Each test gets its own copy of the store, so deletions and jobs never leak into another test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import unlearnlab as ul

SCENARIO = {"dataset": "digits", "model": "mlp", "forget": "class:3", "seed": 0, "train": {"epochs": 2}}


@pytest.fixture(scope="session")
def server_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("server-store")
    result = ul.run(SCENARIO["dataset"], SCENARIO["model"], SCENARIO["forget"], ["ft", "ga"],
                    train=SCENARIO["train"], seed=SCENARIO["seed"], store=root)
    return root, result


@pytest.fixture
def store_copy(server_store, tmp_path) -> Path:
    dest = tmp_path / "store"
    shutil.copytree(server_store[0], dest)
    return dest


@pytest.fixture
def client(store_copy):
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    with TestClient(create_app(store_copy)) as c:
        yield c


@pytest.fixture
def comparison(server_store):
    return server_store[1]


@pytest.fixture(scope="module")
def shared_client(server_store, tmp_path_factory):
    """One client per module for tests that only read (or are refused before touching the store)."""
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    dest = tmp_path_factory.mktemp("shared") / "store"
    shutil.copytree(server_store[0], dest)
    with TestClient(create_app(dest)) as c:
        yield c
