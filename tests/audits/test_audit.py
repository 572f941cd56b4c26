"""Ensembles, the audit pipeline and its store records on a tiny digits scenario (3 epochs, N = 6)."""

import pickle

import numpy as np
import pytest
import torch

import unlearnlab as ul
from unlearnlab.audits import EnsembleBuilder, audit_run, member_seeds, relearn_curve, relearn_split
from unlearnlab.errors import BadInput, CorruptArtifact
from unlearnlab.executors import SerialExecutor, make_executor
from unlearnlab.store import Store

pytestmark = pytest.mark.usefixtures("one_thread")
TRAIN = {"epochs": 3}
N = 6


class CountingExecutor(SerialExecutor):
    def __init__(self):
        self.jobs = []

    def run(self, fn, jobs, cancel=None):
        self.jobs.extend(jobs)
        return super().run(fn, jobs, cancel)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit-store")
    comparison = ul.run(forget="class:3", methods=["rl", "ft"], train=TRAIN, store=root)
    return Store(root), comparison


def test_member_seeds_are_distinct_streams():
    seeds = {member_seeds(0, i) for i in range(50)}
    assert len(seeds) == 50 and all(t != u for t, u in seeds)


def test_ensembles_are_cached_and_deterministic(tiny):
    store, comp = tiny
    counting = CountingExecutor()
    builder = EnsembleBuilder(store, comp.scenario["id"], executor=counting)
    rl = builder.ensemble("rl", None, N)
    assert rl.logits["forget"].shape == (N, 146, 10) and rl.size == N
    kinds = [j.kind for j in counting.jobs]
    assert kinds.count("original") == kinds.count("retrain") == kinds.count("method") == N
    # A method job names its θ_o member by cache key: it does not carry the weights (this CNN's alone
    # pickle to ~100 kB; 16 ResNet-18 pairs held by the parent were 1.4 GB).
    weights_bytes = sum(v.numel() * v.element_size() for v in store.load_weights(comp.run("rl").run_id).values())
    for job in counting.jobs:
        assert len(pickle.dumps(job)) < weights_bytes / 4, job.kind
    counting.jobs.clear()
    again = builder.ensemble("rl", None, N)
    assert counting.jobs == []  # every member came from the store
    np.testing.assert_array_equal(again.logits["test"], rl.logits["test"])
    # members differ from each other (seeds), and a method member starts from its θ_o member
    assert not np.array_equal(rl.logits["test"][0], rl.logits["test"][1])


def test_worker_processes_reproduce_the_serial_result_bit_for_bit(tiny, tmp_path):
    store, comp = tiny
    serial = EnsembleBuilder(store, comp.scenario["id"], executor=SerialExecutor()).reference("original", 2)
    fresh = Store(tmp_path)  # nothing cached: both members are trained again, in two worker processes
    fresh.upsert_scenario(comp.scenario["id"], store.scenario(comp.scenario["id"]))
    executor = make_executor("process", 2)
    try:
        parallel = EnsembleBuilder(fresh, comp.scenario["id"], executor=executor).reference("original", 2)
    finally:
        executor.close()
    for split in ("forget", "retain", "test"):
        np.testing.assert_array_equal(parallel.logits[split], serial.logits[split])


def test_method_members_in_worker_processes_load_their_references_from_the_store(tiny, tmp_path):
    store, comp = tiny
    sid = comp.scenario["id"]
    serial = EnsembleBuilder(store, sid, executor=SerialExecutor()).ensemble("rl", None, 2)
    fresh = Store(tmp_path)
    fresh.upsert_scenario(sid, store.scenario(sid))
    executor = make_executor("process", 2)
    try:
        parallel = EnsembleBuilder(fresh, sid, executor=executor).ensemble("rl", None, 2)
    finally:
        executor.close()
    np.testing.assert_array_equal(parallel.logits["forget"], serial.logits["forget"])


def test_retrain_as_a_method_is_independent_of_the_reference_retrains(tiny):
    store, comp = tiny
    builder = EnsembleBuilder(store, comp.scenario["id"], executor=SerialExecutor())
    method = builder.ensemble("retrain", {}, N)
    reference = builder.reference("retrain", N)
    assert not np.array_equal(method.logits["forget"], reference.logits["forget"])
    # both never saw class 3: the forget accuracy of each is about 0
    for ens in (method, reference):
        assert (ens.logits["forget"].argmax(-1) == 3).mean() < 0.05


def test_audit_is_stored_with_per_sample_arrays_and_reused(tiny):
    store, comp = tiny
    rl = comp.run("rl").run_id
    result = audit_run(store, rl, refs=N, executor=SerialExecutor(), partitions=8, n_boot=20, relearn_steps=5)
    for key in ("ulira", "forgetting_quality", "forgetting_quality_two_sided", "final_score", "klom", "lira",
                "relearn", "verdicts", "accuracy", "test"):
        assert key in result
    assert set(result["klom"]) == {"forget", "retain", "test"}
    for stat in (result["ulira"]["accuracy"], result["forgetting_quality"], result["klom"]["forget"]["median"],
                 result["lira"]["after"]["online"]["auc"]):
        assert {"value", "ci", "null", "null_ci", "p", "effect", "z"} <= set(stat)
    # N = 6 is below the ensemble size where KLoM discriminates: no verdict, the reason instead
    assert result["verdicts"]["klom_forget_median"] == "too few models (need 16)"
    assert len(result["relearn"]["heldout_accuracy"]["unlearned"]) == 6
    assert result["refs"] == N and result["halves"] == N // 2
    [stored] = store.audits(rl)
    assert stored["id"] == result["id"]
    arrays = store.audit_arrays(result["id"])
    assert arrays["ulira_auc"].shape == arrays["klom_forget"].shape == arrays["challenge_eps_two_sided"].shape == (146,)
    assert arrays["klom_retain"].shape == (len(comp.scenario and store.load_outputs(rl)["retain"]),)
    assert arrays["phi_candidate"].shape == (146, N)
    counting = CountingExecutor()
    again = audit_run(store, rl, refs=N, executor=counting, partitions=8, n_boot=20, relearn_steps=5)
    assert again == result and counting.jobs == []


def test_same_seed_same_audit_numbers(tiny):
    store, comp = tiny
    ft = comp.run("ft").run_id
    opts = {"refs": N, "executor": SerialExecutor(), "partitions": 6, "n_boot": 10, "relearn_steps": 3}
    first = audit_run(store, ft, **opts)
    second = audit_run(store, ft, force=True, **opts)
    for key in ("ulira", "forgetting_quality", "klom", "lira", "relearn", "accuracy"):
        assert first[key] == second[key]


def test_audit_against_another_run(tiny):
    store, comp = tiny
    ft, rl = comp.run("ft").run_id, comp.run("rl").run_id
    result = audit_run(store, ft, against=rl, refs=N, executor=SerialExecutor(), partitions=6, n_boot=10,
                       relearn_steps=3)
    assert result["against"] == rl and result["reference_method"] == "rl"
    assert result["relearn"]["reference_run"] == rl


def test_bad_audit_requests_fail_with_one_line(tiny, tmp_path):
    store, comp = tiny
    rl = comp.run("rl").run_id
    with pytest.raises(BadInput, match="unknown run"):
        audit_run(store, "nope", refs=N)
    with pytest.raises(BadInput, match="refs"):
        audit_run(store, rl, refs=4)
    other = ul.run(forget="class:5", methods=["ft"], train={"epochs": 1}, store=store)
    with pytest.raises(BadInput, match="another scenario"):
        audit_run(store, rl, against=other.run("ft").run_id, refs=N)


def test_deleting_a_run_deletes_its_audits(tiny, tmp_path):
    store, comp = tiny
    ft = comp.run("ft").run_id
    assert store.audits(ft)
    store.delete_run(ft)
    assert store.audits(ft) == []


def test_damaged_inputs_fail_before_any_ensemble_is_trained(tmp_path):
    """A damaged θ_r weights file (intact header) was found only after every ensemble had trained."""
    comparison = ul.run("digits", "mlp", "class:3", ["ft"], train={"epochs": 1}, store=tmp_path)
    retrain = comparison.run("retrain").run_id
    weights = tmp_path / "runs" / retrain / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    executor = CountingExecutor()
    with pytest.raises(CorruptArtifact, match=f"run {retrain}'s weights.safetensors is damaged"):
        audit_run(Store(tmp_path), comparison.run("ft").run_id, refs=N, executor=executor, partitions=6, n_boot=10)
    assert executor.jobs == []


def test_relearn_split_and_curve():
    rel, held = relearn_split(20, 0.1, seed=0)
    assert len(rel) == 2 and len(held) == 18 and not set(rel) & set(held)
    assert relearn_split(20, 0.1, seed=0)[0].tolist() == rel.tolist()
    with pytest.raises(BadInput):
        relearn_split(1, 0.5, 0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 2))
    x = torch.randn(40, 4)
    y = (x[:, 0] > 0).long()
    before = [p.detach().clone() for p in model.parameters()]
    curve = relearn_curve(model, x[:10], y[:10], x[10:], y[10:], steps=30, lr=0.5)
    assert len(curve) == 31 and curve[-1] > curve[0] and curve[-1] > 0.8
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # the model passed in is untouched


def test_ensemble_keys_of_a_model_by_reference_follow_its_architecture(tiny_data, tmp_path, monkeypatch):
    """A referenced model whose code changed under the same name is another model: its cached
    ensemble members must not be reused (built-in models' keys carry no architecture and stay as they were)."""
    from unlearnlab import runner
    from unlearnlab.audits import ensemble

    scenario = runner.prepare(tiny_data, "tests.models.test_reference:torchvision_like", "class:1",
                              train={"epochs": 1, "batch_size": 16})
    st = Store(tmp_path)
    st.upsert_scenario(scenario.id, scenario.spec())
    monkeypatch.setattr(ensemble, "load_scenario", lambda spec: scenario)  # tiny_data has no file to reload
    builder = EnsembleBuilder(st, scenario.id)
    key = builder._reference_key("original", 0)
    builder.scenario.architecture = "0" * 64  # what the same name builds after its code changed
    assert builder._reference_key("original", 0) != key
