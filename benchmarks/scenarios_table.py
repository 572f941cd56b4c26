"""Every registered method on every scenario of docs/scenarios.md on the CPU default, over several seeds:
one markdown table, a row per method (θ_o and θ_r included), and per scenario the columns that matter there
(random and class-wise forgetting: UA/RA/TA/Avg. Gap; a backdoor: ASR and clean TA; identities: ID-MIA,
NoMUS and TA).

    python benchmarks/scenarios_table.py [--seeds 0 1 2] [--only random class ...] [--out docs/scenarios.md]
                                         [--store DIR]

Only the text between the markers below in `--out` is replaced (that is how docs/scenarios.md gets it); a
page that exists without them is refused before anything runs, a new file holds the block alone. A new scenario kind is one entry in
SCENARIOS: a name, a title, the `ul.run` arguments and the metrics to show.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import unlearnlab as ul  # first: it pins the CPU kernels before NumPy and torch load

import numpy as np
from unlearnlab import numerics
from unlearnlab.methods import METHODS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from methods_table import PCT, cell, machine  # noqa: E402  (a sibling script, not a package)

START, END = "<!-- scenarios_table:start -->", "<!-- scenarios_table:end -->"
#: Metric key -> column heading; fractions shown in % are those in PERCENT.
HEADINGS = {"ua": "UA", "ra": "RA", "ta": "TA", "avg_gap": "Avg. Gap", "asr": "ASR", "identity_mia": "ID-MIA",
            "nomus": "NoMUS", "mia_efficacy": "MIA-Eff.", "privacy_score": "Privacy", "forget_mae": "F-MAE",
            "test_mae": "T-MAE", "forget_gap": "F-Gap", "loss_mia": "Loss-MIA"}
PERCENT = PCT + ("asr", "identity_mia", "loss_mia")


def faces_file(work: Path) -> dict[str, Any]:
    """The synthetic face-like set of docs/scenarios.md ("Measured: every method on six identities"): 30
    identities of 12 samples, 16 features, 3 classes drawn independently of the identity."""
    path = work / "faces.npz"
    if not path.exists():
        rng = np.random.default_rng(100)
        ids = np.repeat(np.arange(30), 12)
        y = rng.integers(0, 3, size=len(ids))
        X = rng.normal(size=(3, 16))[y] + 1.5 * rng.normal(size=(30, 16))[ids] + rng.normal(size=(len(ids), 16))
        np.savez(path, X=X, y=y, groups=ids)
    return {"dataset": f"arrays:{path},unseen=8"}


@dataclass(frozen=True)
class Scenario:
    """One column group: `run` (keyword arguments of `ul.run`, or a function of a work folder returning some,
    for scenarios that need a file written first) and the metrics shown for it."""

    title: str
    command: str  # the CLI equivalent, for the docs
    metrics: tuple[str, ...]
    run: dict[str, Any] = field(default_factory=dict)
    setup: Callable[[Path], dict[str, Any]] | None = None

    def kwargs(self, work: Path) -> dict[str, Any]:
        return {**self.run, **(self.setup(work) if self.setup else {})}


#: Scenario name -> what to run and show. Defaults (digits, the small CNN, the default recipe) unless given.
SCENARIOS: dict[str, Scenario] = {
    "random": Scenario("Random 10 %", "--forget random:0.1", ("ua", "ra", "ta", "avg_gap"),
                       {"forget": "random:0.1"}),
    "class": Scenario("Class 3", "--forget class:3", ("ua", "ra", "ta", "avg_gap"), {"forget": "class:3"}),
    "poison": Scenario("BadNets 10 %", "--poison badnets:0.1 --forget poison", ("asr", "ta"),
                       {"poison": "badnets:0.1", "forget": "poison"}),
    "group": Scenario("6 identities", "--dataset arrays:faces.npz,unseen=8 --model mlp "
                      "--forget group:0,2,4,9,11,13 --set train.epochs=20", ("identity_mia", "nomus", "ta"),
                      {"model": "mlp", "forget": "group:0,2,4,9,11,13", "train": {"epochs": 20}},
                      setup=faces_file),
    # 50 samples, as benchmarks/worst_case.py: a random 50 is the baseline beside them (docs/scenarios.md).
    "memorised": Scenario("Memorised 50", "--forget memorised:50", ("ua", "ra", "ta", "avg_gap"),
                          {"forget": "memorised:50"}),
    "worst": Scenario("Worst-case 50", "--forget worst:50", ("ua", "ra", "ta", "avg_gap"), {"forget": "worst:50"}),
    # The regression task: only the methods that declare it run (docs/scenarios.md, Regression unlearning).
    "regression": Scenario("Diabetes 10 %", "--dataset diabetes --model mlp --forget random:0.1",
                           ("forget_mae", "test_mae", "forget_gap", "loss_mia"),
                           {"dataset": "diabetes", "model": "mlp", "forget": "random:0.1"}),
}
#: The page's tables: scenarios shown side by side (one table for all would be 25 columns wide). A scenario in
#: no part gets a table of its own.
PARTS: tuple[tuple[str, ...], ...] = (("random", "class", "memorised", "worst"), ("poison", "group", "regression"))


def run_all(names: list[str], seeds: list[int], store: Path, work: Path) -> dict[str, list[ul.Comparison]]:
    results = {}
    for name in names:
        kwargs = SCENARIOS[name].kwargs(work)
        results[name] = []
        for seed in seeds:
            t0 = time.perf_counter()
            results[name].append(ul.run(seed=seed, store=store, **kwargs))
            print(f"{name} seed {seed}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return results


def table(results: dict[str, list[ul.Comparison]]) -> str:
    """Rows: θ_o, θ_r, then every method in registry order; per scenario its metrics, mean ± std over seeds.
    A method that did not finish on every seed says how many runs it lost there."""
    runs: dict[tuple[str, str], list] = defaultdict(list)
    methods: list[str] = []
    for name, comparisons in results.items():
        for comparison in comparisons:
            for r in comparison.runs:
                runs[name, r.method].append(r)
                if r.method not in methods:
                    methods.append(r.method)
    head = [f"{SCENARIOS[n].title}: {HEADINGS.get(k, k)}" for n in results for k in SCENARIOS[n].metrics]
    lines = ["| Method | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    for method in methods:
        label = {"original": "θ_o (`original`)", "retrain": "θ_r (`retrain`)"}.get(method, f"`{method}`")
        if method in METHODS and METHODS.get(method).needs_retrain:
            label += " (oracle)"
        cells = []
        for name in results:
            mine = runs.get((name, method), [])
            done = [r for r in mine if r.status == "done"]
            for k in SCENARIOS[name].metrics:
                text = cell([r.metrics.get(k) for r in done], k, PERCENT)
                if k == SCENARIOS[name].metrics[0] and len(done) < len(mine):
                    text += f" ({len(mine) - len(done)} failed)"
                cells.append(text)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(results: dict[str, list[ul.Comparison]], seeds: list[int], env: dict, seconds: float | None) -> str:
    """The block for the docs; `seconds`: the wall time of a run on a fresh store (None: runs were reused)."""
    seed_text = " ".join(map(str, seeds))
    only = "" if list(results) == list(SCENARIOS) else " --only " + " ".join(results)
    commands = "\n".join(f"- {SCENARIOS[n].title}: `unlearnlab run {SCENARIOS[n].command} --seed S`" for n in results)
    took = "" if seconds is None else f" in {seconds:.0f} s"
    return "\n".join([
        f"Generated by `python benchmarks/scenarios_table.py --seeds {seed_text}{only}`{took}: "
        f"every registered method with its default hyper-parameters, mean ± std over seeds "
        f"{', '.join(map(str, seeds))} (the seed sets the split, the forget set, the poison, θ_o, θ_r and the "
        f"method). The scenarios, each the equivalent of",
        "",
        commands,
        "",
        "(digits, the small CNN and the default recipe unless given; the faces file is the synthetic one of "
        "[Identities and groups](#identities-and-groups)). Accuracies, ASR, ID-MIA and Loss-MIA in %; NoMUS in "
        "[0, 1]; MAE in standard deviations of the target (diabetes' targets are standardised); "
        "the class request's TA is over the retained classes, the others' over the whole test split. "
        f"{machine(env)}",
        "",
        "\n\n".join(table({n: results[n] for n in part}) for part in parts(list(results))),
        "",
        "A method with no run in a scenario (\"–\" in all its columns) does not apply to its task: the "
        "classification methods on the regression data, blindspot and gaussian_amnesiac (regression only) on "
        "the others; they are left out of a table where they apply to none of its scenarios.",
    ])


def parts(names: list[str]) -> list[list[str]]:
    """`names` grouped into the page's tables (PARTS), in PARTS order, each scenario once."""
    grouped = [[n for n in part if n in names] for part in PARTS]
    placed = {n for part in PARTS for n in part}
    return [g for g in grouped if g] + [[n] for n in names if n not in placed]


def check_out(out: Path, markers: tuple[str, str] = (START, END)) -> None:
    """Refuse, before anything runs, a page that exists without both markers: it would be overwritten."""
    START, END = markers
    if out.exists() and not (START in (old := out.read_text()) and END in old):
        raise SystemExit(f"error: {out} exists without the lines {START} and {END}; put them where the table "
                         "goes, or give another --out")


def write(out: Path, text: str, markers: tuple[str, str] = (START, END)) -> None:
    """Replace the block between the markers of `out`, or write a new file holding only the block."""
    START, END = markers
    block = f"{START}\n{text}\n{END}"
    if out.exists():
        before, rest = out.read_text().split(START, 1)
        out.write_text(before + block + rest.split(END, 1)[1])
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(block + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS),
                    help="scenarios to run, in this order (default: all)")
    ap.add_argument("--out", type=Path, default=Path("docs/scenarios.md"),
                    help="the page whose block between the scenarios_table markers is replaced (a new file: "
                         "written with the block only)")
    ap.add_argument("--store", type=Path, default=None, help="reuse a store (cached runs); default: a fresh temp one")
    args = ap.parse_args()
    check_out(args.out)
    store = args.store or Path(tempfile.mkdtemp(prefix="unlearnlab-scenarios-"))
    store.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = run_all(args.only, args.seeds, store, store)
    first = next(iter(results.values()))[0]
    env = first.runs[0].details.get("environment") or numerics.manifest()
    text = render(results, args.seeds, env, None if args.store else time.perf_counter() - start)
    write(args.out, text)
    print(text)
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
