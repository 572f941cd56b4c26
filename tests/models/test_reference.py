"""Models by reference: 'package.module:factory', `unlearnlab.models` entry points, in-memory modules."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
import torch
from torch import nn

from unlearnlab import registry
from unlearnlab.errors import BadInput
from unlearnlab.models import MODELS, Adapter, Classifier, create_model, reference, resolve_model
from unlearnlab.models.reference import call_factory, fresh_copy, import_reference, parse_model_spec

from .test_adapter import TorchvisionStyle

HERE = __name__  # "tests.models.test_reference": importable by reference


# Factories of every calling form the contract allows.
def with_shape(input_shape, num_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(int(torch.tensor(input_shape).prod()), num_classes))


def torchvision_like(*, weights=None, **kwargs):  # torchvision's resnet18(*, weights, progress, **kwargs)
    assert weights is None
    return TorchvisionStyle(**kwargs)


def no_arguments():
    return TorchvisionStyle(num_classes=3)


def returns_a_number(num_classes):
    return 42


def raises(num_classes):
    raise ValueError("no such width")


instance = TorchvisionStyle(num_classes=3)


def test_the_factory_contract_passes_what_the_signature_names():
    assert call_factory(with_shape, (1, 4, 4), 3, {})[1].in_features == 16
    assert call_factory(torchvision_like, (1, 4, 4), 5, {}).fc.out_features == 5  # num_classes through **kwargs
    assert call_factory(no_arguments, (1, 4, 4), 3, {}).fc.out_features == 3
    assert call_factory(torchvision_like, (1, 4, 4), 5, {"channels": 2}).conv1.in_channels == 2
    with pytest.raises(BadInput, match=r"returned a int, not a torch.nn.Module"):
        call_factory(returns_a_number, (1, 4, 4), 3, {})
    with pytest.raises(BadInput, match=r"failed when called with num_classes: ValueError: no such width"):
        call_factory(raises, (1, 4, 4), 3, {})


@pytest.mark.parametrize("ref,needles", [
    ("no_such_pkg_xyz.models:net", ["does not import", "ModuleNotFoundError", "no_such_pkg_xyz", "PYTHONPATH"]),
    (f"{HERE}:missing_factory", ["has no attribute 'missing_factory'"]),
    (f"{HERE}:HERE", ["names a str, not a factory or nn.Module"]),
    ("not a ref:x-y", ["is malformed", "package.module:factory"]),
])
def test_references_that_cannot_be_used_are_one_line(ref, needles):
    with pytest.raises(BadInput) as err:
        import_reference(ref)
    assert "\n" not in str(err.value)
    for needle in needles:
        assert needle in str(err.value)


def test_a_module_that_fails_at_import_is_named(tmp_path, monkeypatch):
    (tmp_path / "broken_models_xyz.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BadInput, match=r"'broken_models_xyz:net' does not import: RuntimeError: boom at import"):
        create_model("broken_models_xyz:net", (1, 4, 4), 3)


def test_create_model_builds_references_and_adapts_them():
    model = create_model(f"{HERE}:torchvision_like", (1, 4, 4), 3)
    assert isinstance(model, Adapter) and model.head_path == "fc" and model.num_classes == 3
    seq = create_model(f"{HERE}:with_shape,head=1", (1, 4, 4), 3)
    assert seq.head_path == "1"
    with pytest.raises(BadInput, match=r"returned a int"):
        create_model(f"{HERE}:returns_a_number", (1, 4, 4), 3)


def test_model_spec_options():
    assert parse_model_spec("pkg.mod:f, head=classifier.6") == ("pkg.mod:f", {"head": "classifier.6"})
    with pytest.raises(BadInput, match=r"model option 'width=3' .* is not allowed; allowed: head=NAME"):
        parse_model_spec("pkg.mod:f,width=3")
    with pytest.raises(BadInput, match=r"given twice"):
        parse_model_spec("pkg.mod:f,head=a,head=b")
    with pytest.raises(BadInput, match=r"'cnn' is a built-in unlearnlab model; head= applies to other models"):
        resolve_model("cnn,head=head")
    with pytest.raises(BadInput, match=r"unknown model 'vgg'"):
        resolve_model("vgg")


def test_spec_of_builtins_is_unchanged_and_references_add_source_and_architecture():
    assert resolve_model("cnn").spec({"width": 8}, None) == {"name": "cnn", "kwargs": {"width": 8}}
    src = resolve_model(f"{HERE}:torchvision_like")
    assert src.spec({}, "abc") == {"name": f"{HERE}:torchvision_like", "kwargs": {}, "source": "reference",
                                   "architecture": "abc"}
    small, wide = (reference.architecture(create_model(f"{HERE}:torchvision_like", (1, 4, 4), k)) for k in (3, 4))
    assert small != wide and small == reference.architecture(create_model(f"{HERE}:torchvision_like", (1, 4, 4), 3))


def test_an_instance_is_copied_and_reinitialised_never_shared():
    template = TorchvisionStyle(num_classes=3)
    before = {k: v.clone() for k, v in template.state_dict().items()}
    src = resolve_model(template)
    assert src.source == "in memory" and src.name == "TorchvisionStyle" and not src.reloadable
    torch.manual_seed(0)
    a = src.build((1, 4, 4), 3, {})
    torch.manual_seed(0)
    b = src.build((1, 4, 4), 3, {})
    c = src.build((1, 4, 4), 3, {})
    assert a.net is not template and a.net is not b.net
    assert all(torch.equal(v, template.state_dict()[k]) for k, v in before.items())  # the template is untouched
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())  # seeded: same init
    assert not torch.equal(a.net.fc.weight, c.net.fc.weight) and not torch.equal(a.net.fc.weight, template.fc.weight)


def test_an_instance_that_cannot_be_reinitialised_asks_for_a_factory():
    class WithToken(nn.Module):
        def __init__(self):
            super().__init__()
            self.token = nn.Parameter(torch.zeros(16))
            self.fc = nn.Linear(16, 3)

        def forward(self, x):
            return self.fc(x.flatten(1) + self.token)

    with pytest.raises(BadInput, match=r"parameter 'WithToken.token' belongs to a module without reset_parameters\(\); "
                                       r"pass a factory"):
        fresh_copy(WithToken())
    model = resolve_model(WithToken).build((1, 4, 4), 3, {})  # the class is a factory: it builds, no copy needed
    assert isinstance(model, Adapter)


def test_a_callable_returning_a_classifier_is_used_as_it_is():
    model = resolve_model(lambda: create_model("mlp", (1, 4, 4), 3)).build((1, 4, 4), 3, {})
    assert isinstance(model, Classifier) and not isinstance(model, Adapter)


@pytest.fixture
def isolated_plugins(monkeypatch):
    monkeypatch.setattr(MODELS, "_items", dict(MODELS._items))
    monkeypatch.setattr(reference, "_loaded", False)
    monkeypatch.setattr(reference, "PLUGIN_ERRORS", {})
    monkeypatch.setattr(reference, "PLUGIN_MODELS", {})

    def install(*eps: tuple[str, str]):
        found = [EntryPoint(name, value, reference.ENTRY_POINT_GROUP) for name, value in eps]
        monkeypatch.setattr(registry, "entry_points", lambda group: found if group == reference.ENTRY_POINT_GROUP
                            else [])
    return install


def test_entry_points_register_factories_and_a_broken_one_is_recorded(isolated_plugins):
    isolated_plugins(("tvnet", f"{HERE}:torchvision_like"), ("broken", "no_such_pkg_xyz:net"),
                     ("number", f"{HERE}:HERE"))
    model = create_model("tvnet", (1, 4, 4), 3)
    assert isinstance(model, Adapter) and model.num_classes == 3
    assert "tvnet" in MODELS.names() and "broken" not in MODELS.names()
    assert "ModuleNotFoundError" in reference.PLUGIN_ERRORS["broken"]
    assert "neither a module nor a callable" in reference.PLUGIN_ERRORS["number"]
    src = resolve_model("tvnet,head=fc")
    assert src.source == "entry point" and src.spec({}, "h")["source"] == "entry point"
    with pytest.raises(BadInput, match=r"model plugin 'broken' \(entry point of unlearnlab.models\) failed to load: "
                                       r"ModuleNotFoundError"):
        create_model("broken", (1, 4, 4), 3)


def test_model_sources_pickle_for_worker_processes():
    import pickle

    for model in (f"{HERE}:torchvision_like", TorchvisionStyle(num_classes=3), TorchvisionStyle, "mlp"):
        src = pickle.loads(pickle.dumps(resolve_model(model)))
        assert src.build((1, 4, 4), 3, {}).num_classes == 3
