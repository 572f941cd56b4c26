"""Tests never reach the internet: downloads may only go to a server on this machine."""

from __future__ import annotations

from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest

from unlearnlab.data import download


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    def guarded(url, *args, **kwargs):
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
            raise URLError("network disabled in tests")
        return urlopen(url, *args, **kwargs)

    monkeypatch.setattr(download, "urlopen", guarded)
