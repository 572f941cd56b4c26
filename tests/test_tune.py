"""`unlearnlab tune`: bad input refused before anything is written; a real (tiny) search whose reported numbers
come only from seeds the search never saw; a study that resumes (more trials run only the new ones, the same
count runs none, a trial left RUNNING by a dead process is failed and its parameters run again); and a budget
no trial meets, reported as such."""

from __future__ import annotations

import statistics

import optuna
import pytest
from typer.testing import CliRunner

import unlearnlab as ul
from unlearnlab.cli import app
from unlearnlab.errors import BadInput
from unlearnlab.store import Store
from unlearnlab.tuning import STATES, default_space, parse_seeds, parse_space, render_tune

runner = CliRunner()
TINY = ["--dataset", "digits", "--model", "mlp", "--forget", "random:0.1", "--set", "train.epochs=1"]
SETUP = dict(dataset="digits", model="mlp", forget="random:0.1", train={"epochs": 1},
             space="lr=0.002:0.2:log", search_seeds=[1000], eval_seeds=[0, 1])


@pytest.mark.parametrize("args,needle", [
    (["ft", "--trials", "0"], "--trials 0"),
    (["zz", "--trials", "2"], "unknown method 'zz'"),
    (["retrain", "--trials", "2"], "'retrain' is a reference model"),
    (["original", "--trials", "2"], "'original' is a reference model"),
    (["ft", "--trials", "2", "--objective", "ua"], "--objective 'ua'"),
    (["ft", "--trials", "2", "--budget", "0"], "--budget 0.0"),
    (["ft", "--trials", "2", "--search-seeds", "0"], "--search-seeds 0"),
    (["ft", "--trials", "2", "--search-seeds", "3-5", "--eval-seeds", "5,6"], "seed 5 is both"),
    (["ft", "--trials", "2", "--eval-seeds", "x"], "--eval-seeds 'x' is malformed"),
    (["ft", "--trials", "2", "--space", "lr=0.1"], "--space lr=0.1 is malformed"),
    (["ft", "--trials", "2", "--space", "lrr=0.1:1"], "'lrr', not a hyper-parameter of ft; allowed: lr, epochs"),
    (["ft", "--trials", "2", "--space", "lr=1:0.1"], "LOW < HIGH"),
    (["ft", "--trials", "2", "--space", "lr=0:0.1:log"], "a log range needs LOW > 0"),
    (["ft", "--trials", "2", "--space", "lr=-1:0.1"], "lr=-1.0"),
    (["ft", "--trials", "2", "--space", "epochs=1.5:3"], "must be integers"),
    (["ft", "--trials", "2", "--space", "lr=0.1:1,lr=0.2:2"], "gives 'lr' twice"),
    (["ft", "--trials", "2", "--set", "ft.lr=0.1"], "tune takes only train.*"),
    (["ft", "--trials", "2", "--forget", "class:99"], "class 99"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, args, needle):
    store = tmp_path / "st"
    result = runner.invoke(app, ["tune", *args, "--model", "mlp", "--store", str(store)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], result.output
    assert not store.exists()


def test_the_default_space_follows_the_rule_and_stays_inside_what_the_constructor_accepts():
    ft = {p.name: p for p in default_space("ft")}
    assert set(ft) == {"lr", "epochs"}  # batch size, momentum and weight decay stay at their defaults
    assert ft["lr"].log and ft["lr"].low == pytest.approx(0.002) and ft["lr"].high == pytest.approx(0.2)
    assert (ft["epochs"].kind, ft["epochs"].low, ft["epochs"].high) == ("int", 3, 10)
    salun = {p.name: p for p in default_space("salun")}
    assert salun["ratio"].high <= 1.0 < 10 * 0.5  # a fraction's range is clipped to the constructor's
    with pytest.raises(BadInput):
        ul.methods.build_method("salun", {"ratio": salun["ratio"].high * 1.01})
    scrub = parse_space("scrub", "optimizer=adam|sgd,epochs=1:3")
    assert scrub[0].choices == ("adam", "sgd") and scrub[1].kind == "int"
    assert parse_seeds("3", 1000, "search") == [1000, 1001, 1002] and parse_seeds("4-5", 0, "eval") == [4, 5]


def _method_runs(st: Store, seeds: set[int]) -> list:
    return [r for r in st.runs() if r.method == "ft" and r.seed in seeds]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    store = tmp_path_factory.mktemp("tune") / "st"
    result = ul.tune("ft", trials=2, store=store, **SETUP)
    return store, result


def test_reported_numbers_come_only_from_seeds_the_search_never_saw(tuned):
    store, result = tuned
    st = Store(store, create=False)
    ev, search = result["evaluation"], result["search"]
    assert ev["seeds"] == [0, 1] and search["seeds"] == [1000]
    assert not set(ev["scenarios"]) & set(search["scenarios"])
    for sid in ev["scenarios"]:  # every stored run of an evaluation scenario is on an evaluation seed
        assert {r.seed for r in st.runs(sid)} <= set(ev["seeds"])
    for sid in search["scenarios"]:
        assert {r.seed for r in st.runs(sid)} <= set(search["seeds"])
    # a random forget request: each seed draws its own forget set, so no evaluation model saw a search D_f
    hashes = lambda ids: {st.scenario(s)["forget_indices_sha256"] for s in ids}  # noqa: E731
    assert not hashes(ev["scenarios"]) & hashes(search["scenarios"])
    # the reported means are those of the evaluation runs, run with the chosen hyper-parameters
    runs = [st.run(i) for i in ev["runs"]]
    assert sorted(r.seed for r in runs) == [0, 1] and all(r.hparams["lr"] == result["best_params"]["lr"] for r in runs)
    for key in ("avg_gap", "ua", "ta"):
        assert ev["metrics"][key]["mean"] == pytest.approx(statistics.mean(r.metrics[key] for r in runs))
        assert ev["metrics"][key]["n"] == 2 and ev["metrics"][key]["lo"] <= ev["metrics"][key]["mean"]
    assert [set(t) for t in result["trials"]] == [{"number", "value", "state", "params", "seconds"}] * 2
    assert all(t["state"] in STATES for t in result["trials"])
    best = min((t for t in result["trials"] if t["state"] == "COMPLETE"), key=lambda t: t["value"])
    assert result["best_params"] == best["params"] and search["value"] == best["value"]
    text = render_tune(result)
    assert "## Search (seeds 1000; not for reporting)" in text and "## Evaluation on fresh seeds 0, 1 (report these)" in text
    assert text.index("not for reporting") < text.index("report these")


def test_the_html_report_plots_the_trials_and_reports_only_the_evaluation_runs(tuned):
    store, result = tuned
    page = ul.api.tune_report(result, store=store)
    assert "Search (not for reporting)" in page and "Evaluation on fresh seeds (report these)" in page
    assert "against trial number" in page
    st = Store(store, create=False)
    searched = {r.id for sid in result["search"]["scenarios"] for r in st.runs(sid)}
    assert not any(run_id in page for run_id in searched)  # no search run shown among the reported ones
    assert all(run_id in page for run_id in result["evaluation"]["runs"])
    assert "<script src" not in page and "http://" not in page and "https://" not in page


def test_the_study_resumes_running_only_missing_trials_and_reruns_a_killed_one(tuned):
    store, first = tuned
    st = Store(store, create=False)
    before = len(_method_runs(st, {1000}))
    more = ul.tune("ft", trials=3, store=store, **SETUP)
    assert more["study"] == first["study"] and more["trials_run"] == 1 and len(more["trials"]) == 3
    assert len(_method_runs(st, {1000})) == before + 1
    total = len(st.runs())
    same = ul.tune("ft", trials=3, store=store, **SETUP)
    assert same["trials_run"] == 0 and len(same["trials"]) == 3 and len(st.runs()) == total
    assert same["evaluation"]["runs"] == more["evaluation"]["runs"]  # the evaluation is reused, not re-run
    # a process killed during its 4th trial leaves it RUNNING: on resume it is failed and its parameters run again
    study = optuna.load_study(study_name=first["study"], storage=f"sqlite:///{store / 'optuna.db'}")
    dead = study.ask(study.trials[0].distributions)
    lines: list[str] = []
    again = ul.tune("ft", trials=4, store=store, echo=lines.append, **SETUP)
    assert again["stale"] == 1 and again["trials_run"] == 1
    states = {t["number"]: t for t in again["trials"]}
    assert states[dead.number]["state"] == "FAIL" and states[dead.number + 1]["params"] == dead.params
    assert any(f"trial {dead.number} was left RUNNING" in line for line in lines)


def test_a_budget_no_trial_meets_is_reported_and_the_cli_exits_1(tmp_path):
    store = tmp_path / "st"
    result = ul.tune("ft", trials=1, budget=1e-6, store=store, **SETUP)
    assert result["best_params"] is None and result["evaluation"] is None
    assert [t["state"] for t in result["trials"]] == ["INFEASIBLE"] and "raise --budget" in result["no_feasible"]
    assert not [r for r in Store(store, create=False).runs() if r.seed in (0, 1)]  # nothing evaluated
    # the same command again resumes that study (no trial runs) and says so in one error line, exit 1
    cli = runner.invoke(app, ["tune", "ft", *TINY, "--trials", "1", "--budget", "1e-6", "--space",
                              "lr=0.002:0.2:log", "--search-seeds", "1000-1000", "--eval-seeds", "0,1",
                              "--store", str(store)])
    assert cli.exit_code == 1, cli.output
    assert "No feasible trial" in cli.output and "error: no feasible trial" in cli.output
    assert "0 to run" in cli.output
