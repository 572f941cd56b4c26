"""Hyper-parameter search for one unlearning method with Optuna, reported on seeds the search never saw
(docs/tune.md).

A trial runs the method with its sampled hyper-parameters on every *search* seed through `api.run` (handed
in, as `sweeps.run_plan` takes it, so that this module sits below the API); its objective is the mean of one
stored metric with a better direction (`report.BETTER`; Avg. Gap by default) over those seeds. The best
feasible trial's hyper-parameters are then run on the *evaluation* seeds, which the search never used (a
seed draws the split, a random forget set, training and unlearning), and only those numbers are to be
reported: a minimum over trials measured on the same models it is reported on is biased towards luck
(the issue's point; Cawley & Talbot 2010, "On Over-fitting in Model Selection and Subsequent Selection Bias
in Performance Evaluation", JMLR 11). The sampler is Optuna's TPE (Bergstra et al. 2011, "Algorithms for
Hyper-Parameter Optimization", NeurIPS; Akiba et al. 2019, "Optuna", KDD).

The study lives in STORE/optuna.db, an SQLite database through `optuna.storages.RDBStorage`: the run store
is SQLite already, every write is a transaction (a process killed mid-write leaves no torn record), and the
file opens as it is in `optuna-dashboard sqlite:///STORE/optuna.db`. Its name is a content key of
everything that decides the search, so the same command resumes the same study; one process at a time
works on a study (a lock in the store), which is what makes a RUNNING trial found on entry certainly stale.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analysis.seeds import request_key, t_interval
from .errors import BadInput, UnlearnlabError
from .methods import METHODS, build_method, ensure_loaded
from .report import BETTER, COLUMNS, _fmt, render_over_seeds
from .runner import GOLD, prepare
from .store import Store
from .sweeps import MAX_SEED

#: Default seeds: the search draws from 1000 up, the evaluation from 0 up (the seeds `run` uses by default).
SEARCH_SEED_START = 1000
EVAL_SEED_START = 0
#: Hyper-parameters the default space leaves at their defaults: batch sizes trade time for gradient noise
#: (the budget governs time), momentum and weight decay are the SGD settings every method shares.
FIXED_BY_DEFAULT = ("momentum", "weight_decay")
#: The trial states of `tune(...)["trials"]` (the schema the HTML report plots).
STATES = ("COMPLETE", "FAIL", "PRUNED", "INFEASIBLE")
STALE = "stale: its process ended while the trial ran (killed?); marked FAIL, its parameters queued again"
_HEADERS = {key: header for key, header, _ in COLUMNS}
_KINDS = {key: kind for key, _, kind in COLUMNS}


@dataclass(frozen=True)
class Param:
    """One searched hyper-parameter: a float or int range (log-uniform when `log`) or categorical choices."""

    name: str
    kind: str  # "float" | "int" | "categorical"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def distribution(self):
        import optuna

        if self.kind == "categorical":
            return optuna.distributions.CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return optuna.distributions.IntDistribution(int(self.low), int(self.high), log=self.log)
        return optuna.distributions.FloatDistribution(float(self.low), float(self.high), log=self.log)

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"name": self.name, "kind": self.kind, "choices": list(self.choices)}
        return {"name": self.name, "kind": self.kind, "low": self.low, "high": self.high, "log": self.log}

    def describe(self) -> str:
        if self.kind == "categorical":
            return f"{self.name} in {{{', '.join(map(str, self.choices))}}}"
        return f"{self.name} in [{self.low:g}, {self.high:g}]{' (log)' if self.log else ''}" + \
            (" integers" if self.kind == "int" else "")


def _accepts(method: str, name: str, value: Any) -> bool:
    try:
        build_method(method, {name: value})
    except BadInput:
        return False
    return True


def _clip(method: str, name: str, default: Any, end: Any) -> Any:
    """`end` if the method's constructor accepts it, else the accepted value closest to it on the way from
    the default (bisection: the constructor is the only statement of a parameter's range)."""
    if _accepts(method, name, end):
        return end
    good, bad = default, end
    if isinstance(default, int):
        while abs(bad - good) > 1:
            mid = (good + bad) // 2
            good, bad = (mid, bad) if _accepts(method, name, mid) else (good, mid)
        return good
    for _ in range(60):
        mid = (good + bad) / 2
        good, bad = (mid, bad) if _accepts(method, name, mid) else (good, mid)
    rounded = float(f"{good:.4g}")  # 0.9999999 as 1 where 1 is allowed, else kept as found
    return rounded if _accepts(method, name, rounded) else good


def default_space(method: str) -> list[Param]:
    """The search space derived from the method's hyper-parameters (docs/tune.md), default d:
    - bool: categorical {False, True};
    - float d > 0: log-uniform over [d/10, 10·d];
    - int d >= 1 (epochs, steps, sizes of a latent space or a sample): integers over [⌈d/2⌉, 2·d];
    each end clipped to what the method's constructor accepts (e.g. a fraction's upper end to 1). Left at the
    default: strings (their choices are not declared), zero or negative defaults, batch sizes
    (`batch_size`, `*_batch_size`) and `FIXED_BY_DEFAULT`."""
    ensure_loaded()
    out: list[Param] = []
    for name, d in METHODS.get(method).param_defaults().items():
        if name in FIXED_BY_DEFAULT or name == "batch_size" or name.endswith("_batch_size"):
            continue
        if isinstance(d, bool):
            out.append(Param(name, "categorical", choices=(False, True)))
        elif isinstance(d, int) and d >= 1:
            lo, hi = _clip(method, name, d, max(1, -(-d // 2))), _clip(method, name, d, 2 * d)
            if lo < hi:
                out.append(Param(name, "int", lo, hi))
        elif isinstance(d, float) and d > 0 and math.isfinite(d):
            lo, hi = _clip(method, name, d, d / 10), _clip(method, name, d, d * 10)
            if lo < hi:
                out.append(Param(name, "float", lo, hi, log=True))
    return out


def parse_space(method: str, text: str | Sequence[str] | None) -> list[Param] | None:
    """`lr=1e-4:1e-1:log,epochs=1:10,optimizer=adam|sgd` -> Params (None for no text: the default space).

    `NAME=LOW:HIGH` a range (integers for an int hyper-parameter), `:log` log-uniform; `NAME=A|B|...`
    categorical choices. Every value is checked by the method's constructor; anything else is BadInput."""
    if text is None:
        return None
    items = [i.strip() for part in ([text] if isinstance(text, str) else text) for i in part.split(",")]
    if not any(items):
        raise BadInput("--space is empty; give NAME=LOW:HIGH[:log] or NAME=A|B, comma-separated")
    ensure_loaded()
    defaults = METHODS.get(method).param_defaults()
    syntax = "expected NAME=LOW:HIGH, NAME=LOW:HIGH:log or NAME=A|B|..."
    out: dict[str, Param] = {}
    for item in items:
        name, eq, body = (s.strip() for s in item.partition("="))
        if not item or not eq or not name or not body:
            raise BadInput(f"--space item {item!r} is malformed; {syntax}")
        if name not in defaults:
            raise BadInput(f"--space names {name!r}, not a hyper-parameter of {method}; allowed: "
                           f"{', '.join(defaults) or 'none'}")
        if name in out:
            raise BadInput(f"--space gives {name!r} twice; give each hyper-parameter once")
        d, where = defaults[name], f"--space {name}={body}"
        if "|" in body:
            raw = [c.strip() for c in body.split("|")]
            choices = []
            for c in raw:
                if not c:
                    raise BadInput(f"{where}: an empty choice; {syntax}")
                value = build_method(method, {name: c}).get_params()[name]  # coerced and checked
                if value in choices:
                    raise BadInput(f"{where}: choice {c!r} repeats; give each choice once")
                choices.append(value)
            if len(choices) < 2:
                raise BadInput(f"{where}: give at least two choices")
            out[name] = Param(name, "categorical", choices=tuple(choices))
            continue
        parts = body.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise BadInput(f"{where} is malformed; {syntax}")
        if isinstance(d, bool) or not isinstance(d, (int, float)):
            raise BadInput(f"{where}: {name} is a {type(d).__name__}, not a number; give choices A|B")
        kind = "int" if isinstance(d, int) else "float"
        try:
            low, high = (int(p) if kind == "int" else float(p) for p in parts[:2])
        except ValueError:
            what = "integers" if kind == "int" else "numbers"
            raise BadInput(f"{where}: the ends must be {what} ({name} defaults to {d!r})") from None
        if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
            raise BadInput(f"{where}: need finite LOW < HIGH, got {low!r} and {high!r}")
        log = len(parts) == 3
        if log and low <= 0:
            raise BadInput(f"{where}: a log range needs LOW > 0, got {low!r}")
        for end in (low, high):
            build_method(method, {name: end})  # the constructor's BadInput names the allowed range
        out[name] = Param(name, kind, low, high, log)
    return list(out.values())


def parse_seeds(value: int | str | Sequence[int], start: int, what: str) -> list[int]:
    """A count N (N seeds from `start`), a range 'A-B', a list 'A,B,...' or a sequence of ints."""
    flag = f"--{what}-seeds"
    if isinstance(value, str):
        text = value.strip()
        try:
            if "," in text:
                seeds = [int(s) for s in text.split(",") if s.strip()]
            elif "-" in text.lstrip("-"):
                a, _, b = text.partition("-")
                seeds = list(range(int(a), int(b) + 1))
                if not seeds:
                    raise BadInput(f"{flag} {value!r}: the range is empty; give A-B with A <= B")
            else:
                value = int(text)
        except ValueError:
            raise BadInput(f"{flag} {value!r} is malformed; give a count N, a range A-B or a list A,B,...") from None
        if isinstance(value, str):
            return _check_seeds(seeds, flag)
    if isinstance(value, bool):
        raise BadInput(f"{flag} {value!r} is not allowed; give a count N or a list of seeds")
    if isinstance(value, int):
        if value < 1:
            raise BadInput(f"{flag} {value} is not allowed; at least 1 seed is needed")
        return _check_seeds(list(range(start, start + value)), flag)
    return _check_seeds(list(value), flag)


def _check_seeds(seeds: list[Any], flag: str) -> list[int]:
    if not seeds:
        raise BadInput(f"{flag} is empty; at least 1 seed is needed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= MAX_SEED:
            raise BadInput(f"{flag} holds {s!r}; each seed must be an integer in [0, {MAX_SEED}]")
    if len(set(seeds)) != len(seeds):
        raise BadInput(f"{flag} repeats a seed ({', '.join(map(str, seeds))}); give each seed once")
    return seeds


@dataclass
class _Checked:
    space: list[Param]
    search: list[int]
    evaluation: list[int]
    key: dict[str, Any]
    name: str


def check(method: str, *, dataset: Any, model: Any, forget: Any, train: Any, trials: Any, objective: str,
          search_seeds: Any, eval_seeds: Any, budget: Any, space: Any, sampler_seed: Any,
          device: str | None = None) -> _Checked:
    """Every input of `tune`, checked before anything is written; BadInput names the first bad value."""
    from .training import pick_device

    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise BadInput(f"--trials {trials!r} is not allowed; it must be an integer >= 1")
    ensure_loaded()
    if method in (GOLD, "original"):
        raise BadInput(f"{method!r} is a reference model every trial is measured against, not a method to tune; "
                       f"choose one of: {', '.join(n for n in METHODS.names() if n != GOLD)}")
    METHODS.get(method)  # unknown: BadInput naming the registered ones
    if objective not in BETTER:
        raise BadInput(f"--objective {objective!r} is not allowed: it must be a stored metric with a better "
                       f"direction; allowed: {', '.join(BETTER)}")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))
                               or not math.isfinite(budget) or budget <= 0):
        raise BadInput(f"--budget {budget!r} is not allowed; it must be a number > 0 (the largest allowed ratio "
                       "of the method's run time to θ_r's retraining time)")
    if isinstance(sampler_seed, bool) or not isinstance(sampler_seed, int) or not 0 <= sampler_seed <= MAX_SEED:
        raise BadInput(f"--sampler-seed {sampler_seed!r} is not allowed; it must be an integer in [0, {MAX_SEED}]")
    search = parse_seeds(search_seeds, SEARCH_SEED_START, "search")
    evaluation = parse_seeds(eval_seeds, EVAL_SEED_START, "eval")
    shared = sorted(set(search) & set(evaluation))
    if shared:
        raise BadInput(f"seed {shared[0]} is both a search and an evaluation seed; the numbers reported must come "
                       "from seeds the search never saw: give disjoint --search-seeds and --eval-seeds")
    params = parse_space(method, space)
    if params is None:
        params = default_space(method)
        if not params:
            raise BadInput(f"{method} has no hyper-parameter the default space searches; give one with --space")
    dev = pick_device(device)
    scenario = prepare(dataset, model, forget, seed=search[0], train=train)  # data, model, forget, train.*
    if scenario.dataset.task != "classification":
        raise BadInput(f"tune's objectives are classification metrics (UA, RA, TA, Avg. Gap over them); dataset "
                       f"{scenario.dataset.name!r} is {scenario.dataset.task}")
    key = {"method": method, "request": json.loads(request_key(scenario.spec(pending=True))), "objective": objective,
           "budget": None if budget is None else float(budget), "space": [p.to_dict() for p in params],
           "search_seeds": search, "sampler_seed": sampler_seed, "device": dev.type}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return _Checked(params, search, evaluation, key, f"tune-{method}-{digest}")


def _finished(trial) -> bool:
    from optuna.trial import TrialState

    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and not trial.user_attrs.get("stale"))


def _state(trial) -> str:
    if trial.state.name == "COMPLETE" and trial.user_attrs.get("constraint", 0.0) > 0:
        return "INFEASIBLE"
    return trial.state.name


def _label(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()) or "defaults"


def tune(method: str, *, dataset: Any = "digits", model: Any = "cnn", forget: Any = "class:3",
         train: Mapping[str, Any] | None = None, trials: int, objective: str = "avg_gap",
         search_seeds: int | str | Sequence[int] = 3, eval_seeds: int | str | Sequence[int] = 3,
         budget: float | None = None, space: str | Sequence[str] | None = None, store: Any,
         run: Callable[..., Any], sampler_seed: int = 0, device: str | None = None,
         echo: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Search `method`'s hyper-parameters for `trials` trials on `search_seeds`, then run the best feasible
    trial's on `eval_seeds` (disjoint) and return both, labelled (render with `render_tune`).

    `objective`: a metric of `report.BETTER`, averaged over the search seeds, minimised or maximised as it
    says. `budget`: the largest allowed ratio of the method's run time to θ_r's retraining time on the same
    seed (the worst search seed counts); a trial over it is recorded with its value but infeasible, never
    chosen. `space`: `parse_space` text, else `default_space(method)`. Seeds: a count (search from 1000,
    evaluation from 0), 'A-B', 'A,B' or a list. The study resumes: called again, only trials still missing
    to reach `trials` run (none when enough finished); a trial left RUNNING by a killed process is marked
    FAIL and its parameters queued again. `run` is `api.run`. With no feasible trial, `best_params` and
    `evaluation` are None and `no_feasible` says why."""
    say = echo or (lambda line: None)
    plan = check(method, dataset=dataset, model=model, forget=forget, train=train, trials=trials,
                 objective=objective, search_seeds=search_seeds, eval_seeds=eval_seeds, budget=budget,
                 space=space, sampler_seed=sampler_seed, device=device)
    try:  # an optional dependency (the `tune` extra); missing, nothing is written
        import optuna
        from optuna.trial import TrialState
    except ImportError:
        raise UnlearnlabError("tune needs Optuna: pip install 'unlearnlab[tune]' (optuna>=4)") from None
    owned = not isinstance(store, Store)  # opened here, so closed here (api._opened says why)
    st = Store(store, create=True) if owned else store
    db = Path(st.root) / "optuna.db"
    direction = "minimize" if BETTER[objective] == "lower" else "maximize"
    distributions = {p.name: p.distribution() for p in plan.space}
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own lines say what happens
    try:
        with st.lock(plan.name, on_wait=lambda: say(f"study {plan.name} is in use by another process; waiting")):
            storage = optuna.storages.RDBStorage(f"sqlite:///{db}",
                                                 engine_kwargs={"connect_args": {"timeout": 60}})
            study = optuna.create_study(storage=storage, study_name=plan.name, direction=direction,
                                        load_if_exists=True)
            if not study.user_attrs:
                study.set_user_attr("key", plan.key)
            stale = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
            for t in stale:  # we hold the study's lock: whoever left it RUNNING has ended
                storage.set_trial_user_attr(t._trial_id, "stale", True)
                storage.set_trial_user_attr(t._trial_id, "reason", STALE)
                study.tell(t.number, state=TrialState.FAIL)
                study.enqueue_trial(t.params, skip_if_exists=False)
                say(f"trial {t.number} was left RUNNING by a process that ended: {STALE}")
            done = sum(_finished(t) for t in study.get_trials(deepcopy=False))
            # a sampler seeded alike in every session would propose the first session's points again
            history = len(study.get_trials(deepcopy=False))
            seed = int.from_bytes(hashlib.sha256(f"{sampler_seed}:{history}".encode()).digest()[:4], "big")
            # Optuna 5 takes a trial's constraint from `Trial.set_constraint` (see `_trial`); Optuna 4 from the
            # sampler's constraints_func (experimental there, deprecated in 5)
            legacy = budget is not None and not hasattr(optuna.trial.Trial, "set_constraint")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.sampler = optuna.samplers.TPESampler(
                    seed=seed, constraints_func=(lambda t: [t.user_attrs.get("constraint", 0.0)]) if legacy else None)
            missing = max(0, trials - done)
            say(f"study {plan.name} ({db}): {done} trial(s) finished, {missing} to run; search seeds "
                f"{', '.join(map(str, plan.search))}")
            ran = 0
            while ran < missing:
                _trial(study, distributions, plan, method, dataset, model, forget, train, objective, budget,
                       st, run, device, say)
                ran += 1
            frozen = study.get_trials(deepcopy=False)
            result = _result(frozen, plan, method, objective, direction, budget, db, ran, len(stale))
            if result["best_params"] is None:
                say(f"no feasible trial: {result['no_feasible']}")
                return result
            best = result["best_params"]
            say(f"evaluating trial {result['search']['trial']} ({_label(best)}) on fresh seeds "
                f"{', '.join(map(str, plan.evaluation))}")
            result["evaluation"] = _evaluate(method, best, plan.evaluation, dataset, model, forget, train,
                                             st, run, device)
            return result
    finally:
        optuna.logging.set_verbosity(level)
        if owned:
            st.close()


def _trial(study, distributions, plan: _Checked, method, dataset, model, forget, train, objective, budget,
           st, run, device, say) -> None:
    """One trial: the sampled hyper-parameters on every search seed; told to the study however it ends."""
    from optuna.trial import TrialState

    trial = study.ask(distributions)
    params = {name: trial.params[name] for name in distributions}
    values, ratios, scenarios = {}, [], []
    try:
        for s in plan.search:
            comp = run(dataset, model, forget, [method], overrides={method: params}, train=train, seed=s,
                       store=st, device=device)
            scenarios.append(comp.scenario["id"])
            r, gold = comp.run(method), comp.run(GOLD)
            if r.status != "done":
                raise _TrialFailed(f"{method} {r.status} on seed {s}: {r.reason}")
            value = r.metrics.get(objective)
            if value is None:
                why = (r.details.get("metric_notes") or {}).get(objective, "not computed")
                raise _TrialFailed(f"{_HEADERS.get(objective, objective)} is missing on seed {s}: {why}")
            values[str(s)] = float(value)
            t, g = r.metrics.get("run_time_s"), gold.metrics.get("run_time_s")
            if budget is not None and not (t and g):
                raise _TrialFailed(f"no run time to hold against the budget on seed {s} (θ_r's: {g!r})")
            if t and g:
                ratios.append(t / g)
    except _TrialFailed as e:
        trial.set_user_attr("reason", str(e))
        trial.set_user_attr("scenarios", scenarios)
        study.tell(trial, state=TrialState.FAIL)
        say(f"trial {trial.number} ({_label(params)}): FAIL: {e}")
        return
    except BaseException:  # Ctrl+C or an error of the store: this trial must run again on resume
        trial.set_user_attr("stale", True)
        trial.set_user_attr("reason", "interrupted: " + STALE)
        study.tell(trial, state=TrialState.FAIL)
        study.enqueue_trial(params)
        raise
    mean = sum(values.values()) / len(values)
    worst = max(ratios) if ratios else None
    trial.set_user_attr("per_seed", values)
    trial.set_user_attr("scenarios", scenarios)
    trial.set_user_attr("time_ratio", worst)
    if budget is not None:
        trial.set_user_attr("constraint", worst - budget)  # read back by `_state`, on either Optuna
        if hasattr(trial, "set_constraint"):
            trial.set_constraint("time_over_budget", worst - budget)
    study.tell(trial, mean)
    over = budget is not None and worst > budget
    ratio = "" if worst is None else f"; time {worst:.2f}x θ_r's"
    say(f"trial {trial.number} ({_label(params)}): {_HEADERS.get(objective, objective)} "
        f"{_fmt(mean, _KINDS.get(objective, 'num'))}{ratio}"
        + (f": INFEASIBLE, over the budget {budget:g}x" if over else ""))


class _TrialFailed(Exception):
    """The method failed, diverged or left the objective unset on a search seed: the trial is FAIL."""


def _result(frozen, plan: _Checked, method, objective, direction, budget, db, ran, stale) -> dict[str, Any]:
    listed = [t for t in frozen if t.state.is_finished()]
    trials = [{"number": t.number, "value": t.value if t.state.name == "COMPLETE" else None, "state": _state(t),
               "params": dict(t.params),
               "seconds": None if t.duration is None else t.duration.total_seconds()} for t in listed]
    details = [{"number": t.number, "time_ratio": t.user_attrs.get("time_ratio"),
                "per_seed": t.user_attrs.get("per_seed"), "scenarios": t.user_attrs.get("scenarios", []),
                "reason": t.user_attrs.get("reason")} for t in listed]
    feasible = [t for t in listed if _state(t) == "COMPLETE"]
    result: dict[str, Any] = {
        "study": plan.name, "storage": str(db), "method": method, "objective": objective, "direction": direction,
        "budget": budget, "space": [p.to_dict() for p in plan.space], "request": plan.key["request"],
        "trials_run": ran, "stale": stale, "trials": trials, "trial_details": details,
        "best_params": None, "search": None, "evaluation": None, "no_feasible": None}
    if not feasible:
        counts = {s: sum(t["state"] == s for t in trials) for s in STATES}
        result["no_feasible"] = (f"none of the {len(trials)} trials is feasible ({counts['INFEASIBLE']} over the "
                                 f"budget {budget}x θ_r's time, {counts['FAIL']} failed): raise --budget, widen "
                                 "--space or run more --trials")
        result["search"] = {"seeds": plan.search, "value": None, "trial": None}
        return result
    best = (min if direction == "minimize" else max)(feasible, key=lambda t: (t.value, t.number)
                                                    if direction == "minimize" else (t.value, -t.number))
    result["best_params"] = dict(best.params)
    result["search"] = {"objective": objective, "value": best.value, "trial": best.number, "seeds": plan.search,
                        "per_seed": best.user_attrs.get("per_seed"), "time_ratio": best.user_attrs.get("time_ratio"),
                        "scenarios": sorted({s for d in details for s in d["scenarios"]})}
    return result


def _evaluate(method, params, seeds, dataset, model, forget, train, st, run, device) -> dict[str, Any]:
    """The chosen hyper-parameters on every evaluation seed: each metric's mean and 95 % t interval."""
    runs, scenarios, ids = [], [], []
    for s in seeds:
        comp = run(dataset, model, forget, [method], overrides={method: params}, train=train, seed=s,
                   store=st, device=device)
        scenarios.append(comp.scenario["id"])
        for r in comp.runs:
            runs.append({**r.to_contract(), "seed": s})
            if r.method == method:
                ids.append(r.run_id)
    mine = [r for r in runs if r["method"] == method]
    keys = [k for k, _, _ in COLUMNS if any(r["metrics"].get(k) is not None for r in mine)]
    metrics = {}
    for k in keys:
        iv = t_interval([r["metrics"].get(k) for r in mine if r["status"] == "done"])
        metrics[k] = {"mean": iv.mean, "lo": iv.lo, "hi": iv.hi, "n": iv.n}
    return {"seeds": list(seeds), "scenarios": scenarios, "runs": ids, "params": dict(params),
            "done": sum(r["status"] == "done" for r in mine), "metrics": metrics,
            "table": render_over_seeds(runs, "markdown", rank_by="avg_gap")}


def render_tune(result: Mapping[str, Any]) -> str:
    """The tune result as markdown: the search (not for reporting) and the evaluation on fresh seeds."""
    objective, search = result["objective"], result["search"]
    head = _HEADERS.get(objective, objective)
    kind = _KINDS.get(objective, "num")
    better = "lower" if result["direction"] == "minimize" else "higher"
    budget = "none" if result["budget"] is None else f"{result['budget']:g}x θ_r's retraining time"
    lines = [f"# Tuning {result['method']} (objective: {head}, {better} is better; time budget: {budget})", "",
             f"Study `{result['study']}` in {result['storage']}: {len(result['trials'])} trials, "
             f"{result['trials_run']} run by this call" + (f", {result['stale']} stale marked FAIL" if result["stale"]
                                                           else "") + ".", "",
             f"## Search (seeds {', '.join(map(str, search['seeds']))}; not for reporting)", "",
             "These values chose the hyper-parameters on the very models they were measured on, so the best of "
             "them is optimistic; they are shown to judge the search, not the method.", ""]
    names = [p["name"] for p in result["space"]]
    ratios = {d["number"]: d for d in result["trial_details"]}
    header = ["Trial", "State", f"{head} (mean)", "Time / θ_r", *names, "Seconds"]
    rows = []
    for t in result["trials"]:
        d = ratios.get(t["number"], {})
        ratio = d.get("time_ratio")
        rows.append([str(t["number"]) + (" (best)" if t["number"] == search.get("trial") else ""), t["state"],
                     _fmt(t["value"], kind), "–" if ratio is None else f"{ratio:.2f}x",
                     *(_param(t["params"].get(n)) for n in names),
                     "–" if t["seconds"] is None else f"{t['seconds']:.1f}"])
    lines.append(_table(header, rows))
    for d in result["trial_details"]:
        if d.get("reason"):
            lines.append(f"- trial {d['number']}: {d['reason']}")
    lines.append("")
    if result["best_params"] is None:
        lines += [f"**No feasible trial**: {result['no_feasible']}. Nothing was evaluated.", ""]
        return "\n".join(lines)
    ev = result["evaluation"]
    lines += [f"Best feasible: trial {search['trial']} ({_label(result['best_params'])}), {head} "
              f"{_fmt(search['value'], kind)} over the search seeds.", "",
              f"## Evaluation on fresh seeds {', '.join(map(str, ev['seeds']))} (report these)", "",
              f"{result['method']} with {_label(ev['params'])}, chosen by the search above, run on seeds the search "
              f"never used (scenarios {', '.join(ev['scenarios'])}); {ev['done']} of {len(ev['seeds'])} runs "
              "finished.", "", ev["table"]]
    return "\n".join(lines)


def _param(value: Any) -> str:
    return "–" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


__all__ = ["Param", "check", "default_space", "parse_seeds", "parse_space", "render_tune", "tune"]
