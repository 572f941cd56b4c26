"""Third-party methods through the `unlearnlab.methods` entry-point group."""

from __future__ import annotations

import pytest

from unlearnlab import registry
from unlearnlab.methods import METHODS, Method, plugins, register_method


class _EntryPoint:
    def __init__(self, name, obj=None, error=None):
        self.name, self._obj, self._error = name, obj, error

    def load(self):
        if self._error:
            raise self._error
        return self._obj


@pytest.fixture
def fresh_plugins(monkeypatch):
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setattr(plugins, "PLUGIN_ERRORS", {})
    saved = dict(METHODS._items)
    yield
    METHODS._items.clear()
    METHODS._items.update(saved)


def test_entry_points_register_methods_and_broken_ones_are_reported(fresh_plugins, monkeypatch):
    class Plugged(Method):
        paper = "plugin paper"

        def unlearn(self, model, task):
            return model

    Plugged.name = "plugged_test"

    class NotAMethod:
        pass

    eps = [_EntryPoint("plugged_test", Plugged), _EntryPoint("broken", error=ImportError("no module named x")),
           _EntryPoint("wrong", NotAMethod)]
    monkeypatch.setattr(registry, "entry_points", lambda group: eps if group == "unlearnlab.methods" else [])
    plugins.ensure_loaded()
    assert "plugged_test" in METHODS and "ft" in METHODS
    assert plugins.PLUGIN_ERRORS["broken"] == "ImportError: no module named x"
    assert "not a unlearnlab Method" in plugins.PLUGIN_ERRORS["wrong"]


def test_a_module_entry_point_registers_by_import(fresh_plugins, monkeypatch):
    import types

    module = types.ModuleType("fake_plugin")

    @register_method("from_module_test", paper="p")
    class FromModule(Method):
        def unlearn(self, model, task):
            return model

    module.FromModule = FromModule
    monkeypatch.setattr(registry, "entry_points", lambda group: [_EntryPoint("mod", module)])
    plugins.ensure_loaded()
    assert "from_module_test" in METHODS and plugins.PLUGIN_ERRORS == {}
