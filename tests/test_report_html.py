"""The HTML report: one self-contained, well-formed page whose error bars are the Student-t intervals of the
numbers, with every user string escaped; it says "no winner" and "one seed" where it must, survives failed
runs, missing metrics and a search with failed and infeasible trials; and `report --format html` and
`sweep --html` write it from a real store."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import unlearnlab as ul
from unlearnlab.analysis.seeds import t_interval
from unlearnlab.cli import app
from unlearnlab.errors import BadInput
from unlearnlab.report_html import render_html
from unlearnlab.store import Store

runner = CliRunner()
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


class Page(HTMLParser):
    """Elements with their attributes and text, and every tag-nesting error (html.parser itself forgives them)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []  # tag, attrs, open ancestors
        self.text: list[str] = []
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {self.stack}")

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), list(self.stack)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), list(self.stack)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag: str, cls: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a, _ in self.elements if t == tag and (cls is None or cls in a.get("class", "").split())
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


def run(method, seed, status="done", reason=None, **metrics):
    return {"id": f"{method}{seed}", "scenario_id": f"s{seed}", "method": method, "hparams": {}, "seed": seed,
            "status": status, "reason": reason, "created": 1.7e9 + seed, "metrics": metrics, "details": {}}


SPEC = {"id": "s0", "dataset": {"name": "digits"}, "model": {"name": "mlp"}, "forget": "class:3"}
rng = np.random.default_rng(0)
# (method, centre of Avg. Gap, spread): ft and ga overlap; bad_teacher far away
SETUP = [("original", 0.3, 0.01), ("retrain", 0.0, 0.0), ("ft", 0.05, 0.02), ("ga", 0.06, 0.02),
         ("bad_teacher", 0.4, 0.01)]


def three_seeds():
    runs = []
    for seed in range(3):
        for method, centre, spread in SETUP:
            runs.append(run(method, seed, avg_gap=centre + spread * rng.normal(), ua=0.5 + 0.1 * rng.random(),
                            ta=0.9 + 0.05 * rng.random(), run_time_s=1 + rng.random()))
    runs.append(run("ssd", 0, avg_gap=0.2, ua=0.4, ta=0.8, run_time_s=0.5))  # one seed only
    return runs


def page(runs, label="digits/mlp class:3", **kw) -> tuple[str, Page]:
    text = render_html([{"scenario": SPEC, "label": label, "runs": runs}], title="t", **kw)
    parsed = Page(text)
    assert parsed.errors == []
    return text, parsed


def test_one_self_contained_well_formed_file():
    text, parsed = page(three_seeds(), trials=[{"number": 0, "value": 0.1, "state": "COMPLETE", "params": {},
                                               "seconds": 1.0}], tune={"method": "ft", "search": {}})
    assert text.startswith("<!DOCTYPE html>") and text.count("<html") == 1
    for banned in ("http:", "https:", "<script", "@import", "<link", "src=", "url(", "<iframe", "<object"):
        assert banned not in text.lower(), banned
    # the only links are anchors inside the page, and each has its target
    hrefs = [a["href"] for a in parsed.find("a")]
    assert hrefs and all(h.startswith("#") for h in hrefs)
    ids = {a.get("id") for _, a, _ in parsed.elements}
    assert all(h[1:] in ids for h in hrefs)


def _axis(svg, name="x"):
    return (float(svg[f"data-{name}0"]), float(svg[f"data-{name}1"]), float(svg[f"data-px{name}0"]),
            float(svg[f"data-px{name}1"]))


def _value(px, axis):
    v0, v1, p0, p1 = axis
    return v0 + (px - p0) * (v1 - v0) / (p1 - p0)


def test_each_error_bar_is_the_t_interval_it_is_drawn_as():
    runs = three_seeds()
    _, parsed = page(runs)
    svgs = [(a, anc) for t, a, anc in parsed.elements if t == "svg" and a.get("data-metric") == "avg_gap"]
    assert len(svgs) == 1
    svg = svgs[0][0]
    axis, scale = _axis(svg), float(svg["data-scale"])
    # the error bars of this plot: the lines of class ebar between this <svg> and the next one
    start = next(i for i, (t, a, _) in enumerate(parsed.elements) if a is svg)
    end = next((i for i in range(start + 1, len(parsed.elements)) if parsed.elements[i][0] == "svg"),
               len(parsed.elements))
    bars = [a for t, a, _ in parsed.elements[start:end] if t == "line" and "ebar" in a.get("class", "")]
    multi = [m for m, _, _ in SETUP]  # every method with 3 seeds has a bar; ssd (one seed) has none
    assert [b["data-method"] for b in bars] == multi
    pixel = (axis[1] - axis[0]) / abs(axis[3] - axis[2])  # one pixel in value units
    for bar in bars:
        iv = t_interval([r["metrics"]["avg_gap"] for r in runs if r["method"] == bar["data-method"]])
        assert float(bar["data-lo"]) == pytest.approx(iv.lo, rel=1e-5, abs=1e-9)
        assert float(bar["data-hi"]) == pytest.approx(iv.hi, rel=1e-5, abs=1e-9)
        assert int(bar["data-n"]) == 3
        drawn = sorted(_value(float(bar[k]), axis) / scale for k in ("x1", "x2"))
        assert drawn[0] == pytest.approx(iv.lo, abs=pixel / scale)
        assert drawn[1] == pytest.approx(iv.hi, abs=pixel / scale)
    single = [a for t, a, _ in parsed.elements[start:end] if t == "circle" and "single" in a.get("class", "")]
    assert [a["data-method"] for a in single] == ["ssd"]
    assert "one seed: no interval (ssd)" in parsed.plain
    # θ_r's value as the reference line
    ref = [a for t, a, _ in parsed.elements[start:end] if t == "line" and "ref" in a.get("class", "").split()]
    assert len(ref) == 1 and float(ref[0]["data-value"]) == pytest.approx(0.0, abs=1e-12)


def test_the_trade_off_scatter_has_bars_in_both_directions():
    runs = three_seeds()
    _, parsed = page(runs)
    for xkey, ykey in (("ta", "ua"), ("run_time_s", "avg_gap")):
        assert len(parsed.find("svg", "scatter", data_xmetric=xkey, data_ymetric=ykey)) == 1
    xbars = [b for b in parsed.find("line", "xbar") if b["data-method"] == "ft"]
    ybars = [b for b in parsed.find("line", "ybar") if b["data-method"] == "ft"]
    assert len(xbars) == len(ybars) == 2  # one per scatter
    ta = t_interval([r["metrics"]["ta"] for r in runs if r["method"] == "ft"])
    assert float(xbars[0]["data-lo"]) == pytest.approx(ta.lo, rel=1e-5)


def test_hostile_strings_are_escaped():
    runs = [{**r, "method": "<img src=x onerror=alert(1)>" if r["method"] == "ft" else r["method"],
             "hparams": {"<b>": "</td>"}} for r in three_seeds()]
    text, parsed = page(runs, label="<script>alert('x')</script>",
                        trials=[{"number": 0, "value": 1.0, "state": "COMPLETE", "params": {"p": "<script>"},
                                 "seconds": 1}], tune={"method": "<script>", "evaluation": {"<i>": "<u>"}})
    assert "<script" not in text and "<img" not in text and "<b>" not in text and "<u>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "<script>alert('x')</script>" in parsed.plain  # shown as text
    assert parsed.find("line", "ebar", data_method="<img src=x onerror=alert(1)>")


def test_overlapping_intervals_say_no_winner():
    _, parsed = page(three_seeds())
    assert "no winner by Avg. Gap: the intervals of ft, ga overlap" in parsed.plain
    assert len(parsed.find("span", "nowinner")) >= 1
    assert "not ranked (fewer than 2 seeds with Avg. Gap): ssd" in parsed.plain


def test_one_seed_has_values_and_says_there_is_no_interval():
    runs = [r for r in three_seeds() if r["seed"] == 0]
    text, parsed = page(runs)
    assert "one seed (0) of this request: values, no interval over seeds and no ranking" in parsed.plain
    assert parsed.find("line", "ebar") == [] and "±" not in text and "ranking:" not in parsed.plain
    assert {a["data-method"] for a in parsed.find("circle", "single")} >= {"ft", "ga"}


def test_failed_runs_and_missing_metrics():
    runs = three_seeds()
    runs += [run("scrub", s, "failed", reason="diverged: loss is nan") for s in range(3)]
    for r in runs:  # MIA-Eff. on two seeds of ft only, TA missing for ga everywhere
        if r["method"] == "ft" and r["seed"] > 0:
            r["metrics"]["mia_efficacy"] = 0.3 + 0.01 * r["seed"]
        if r["method"] == "ga":
            r["metrics"].pop("ta")
    runs[2] = {**runs[2], "status": "failed", "reason": "cancelled", "metrics": {}}  # ft seed 0
    _, parsed = page(runs)
    text = parsed.plain
    assert "scrub: no run finished on any of its 3 seeds (e.g. diverged: loss is nan): nothing to average" in text
    mia = parsed.find("svg", "dotplot", data_metric="mia_efficacy")
    assert len(mia) == 1
    assert [b["data-method"] for b in parsed.find("line", "ebar", data_n="2") if "ybar" not in b["class"]
            and "xbar" not in b["class"]]  # ft's 2 finished seeds still give intervals
    assert ("TA: mean over seeds and its 95 % Student-t interval of the mean; dashed: θ_r. one seed: no interval "
            "(ssd). not plotted, no value: ga, scrub.") in text
    assert "2/3" in text  # ft: two of three seeds finished


TRIALS = [{"number": 0, "value": 0.30, "state": "COMPLETE", "params": {"lr": 0.01}, "seconds": 2.0},
          {"number": 1, "value": None, "state": "FAIL", "params": {"lr": 1.0}, "seconds": 0.1},
          {"number": 2, "value": 0.10, "state": "INFEASIBLE", "params": {"lr": 0.5}, "seconds": 2.1},
          {"number": 3, "value": 0.20, "state": "COMPLETE", "params": {"lr": 0.02}, "seconds": 1.9},
          {"number": 4, "value": None, "state": "PRUNED", "params": {"lr": 0.03}, "seconds": 0.7},
          {"number": 5, "value": 0.25, "state": "COMPLETE", "params": {"lr": 0.04}, "seconds": 2.2}]
TUNE = {"method": "ft", "objective": "avg_gap", "best_params": {"lr": 0.02},
        "search": {"seeds": [0, 1], "best_value": 0.2, "trials": 6},
        "evaluation": {"seeds": [10, 11, 12], "avg_gap": {"mean": 0.21, "lo": 0.18, "hi": 0.24, "n": 3}}}


def test_trials_with_failed_and_infeasible_ones():
    text, parsed = page(three_seeds(), trials=list(reversed(TRIALS)), tune=TUNE)
    plot = parsed.find("svg", "trials")
    assert len(plot) == 1 and plot[0]["data-direction"] == "lower"  # avg_gap: lower is better
    states = {t["state"]: [a for a in parsed.elements if a[1].get("data-state") == t["state"]] for t in TRIALS}
    assert {s: len(v) for s, v in states.items()} == {"COMPLETE": 3, "FAIL": 1, "INFEASIBLE": 1, "PRUNED": 1}
    assert {a[1]["class"] for s in ("FAIL", "INFEASIBLE") for a in states[s]} == {"fail", "infeasible"}
    # the best so far counts completed trials only: the infeasible 0.10 is not the best
    best = parsed.find("path", "best")
    assert len(best) == 1 and float(best[0]["data-best"]) == pytest.approx(0.20)
    # a failed trial has no value: it sits in the strip under the axis, not on it
    fail_y = float(re.search(r"M[\d.]+,([\d.]+)", states["FAIL"][0][1]["d"])[1])
    assert fail_y > float(plot[0]["data-pxy0"])
    plain = parsed.plain
    assert "Hyper-parameter search" in plain and "Trials (6)" in plain
    assert plain.index("Search (not for reporting)") < plain.index("Evaluation on fresh seeds (report these)")
    assert "lr=0.5" in plain and "INFEASIBLE" in plain
    # the trials table is in number order whatever order they came in
    rows = [a for t, a, _ in parsed.elements if t == "tr"]
    assert len(rows) >= 7
    assert re.search(r"Trials \(6\) Trial State Value Seconds Params 0 COMPLETE 0\.3 2\.00 lr=0\.01 1 FAIL – 0\.10 "
                     r"lr=1", plain)


def test_a_tune_block_of_any_shape_renders():
    for tune in ({}, {"search": None}, {"evaluation": [1, 2]}, {"evaluation": [{"a": 1}, {"b": {"c": [1]}}]},
                 {"search": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}, {"objective": "ta", "x": object()}):
        _, parsed = page(three_seeds(), tune=tune)
        assert "Hyper-parameter search" in parsed.plain


@pytest.mark.parametrize("kwargs, message", [
    ({"rank_by": "ua"}, "cannot rank by 'ua'"),
    ({"trials": [{"number": 0, "value": 1.0, "state": "RUNNING"}]}, "state 'RUNNING' is unknown"),
    ({"trials": [{"number": "0", "value": 1.0, "state": "COMPLETE"}]}, "trial number '0' is not an integer"),
    ({"trials": [{"number": 0, "value": float("nan"), "state": "COMPLETE"}]}, "is not a finite number"),
    ({"trials": "trials"}, "trials must be a list"),
    ({"tune": ["ft"]}, "tune must be a dict"),
])
def test_bad_input_is_refused_in_one_line(kwargs, message):
    with pytest.raises(BadInput, match=re.escape(message)) as err:
        render_html([{"scenario": SPEC, "label": "x", "runs": three_seeds()}], title="t", **kwargs)
    assert "\n" not in str(err.value)
    with pytest.raises(BadInput, match="lacks scenario, label or runs"):
        render_html([{"label": "x"}], title="t")


def test_report_and_sweep_write_it_from_a_real_store(tmp_path: Path):
    plan = tmp_path / "plan.toml"
    plan.write_text('datasets = ["digits"]\nmodel = "mlp"\nforget = ["class:3"]\nseeds = [0, 1]\n'
                    'methods = ["ft", "ga"]\n[train]\nepochs = 2\n')
    store, out = tmp_path / "store", tmp_path / "sweep.html"
    bad = runner.invoke(app, ["sweep", str(plan), "--store", str(store), "--html", str(tmp_path / "no" / "x.html")])
    assert bad.exit_code == 2 and "does not exist" in bad.output and not store.exists()
    done = runner.invoke(app, ["sweep", str(plan), "--store", str(store), "--html", str(out)])
    assert done.exit_code == 0, done.output
    st = Store(store, create=False)
    scenarios = [s["id"] for s in st.scenarios()]
    assert len(scenarios) == 2
    cli = runner.invoke(app, ["report", scenarios[0], "--store", str(store), "--format", "html"])
    assert cli.exit_code == 0, cli.output
    for text in (out.read_text(encoding="utf-8"), cli.stdout):
        parsed = Page(text)
        assert parsed.errors == []
        assert "digits/mlp class:3" in parsed.plain and "Seeds: 0, 1" in parsed.plain
        bars = {b["data-method"]: b for b in parsed.find("line", "ebar") if b.get("data-n") == "2"
                and "xbar" not in b["class"] and "ybar" not in b["class"]}
        assert {"original", "retrain", "ft", "ga"} <= set(bars)
        gaps = [r.metrics["avg_gap"] for sid in scenarios for r in st.runs(sid) if r.method == "ga"]
        iv = t_interval(gaps)
        first = parsed.find("line", "ebar", data_method="ga")[0]  # the Avg. Gap plot comes first
        assert (float(first["data-lo"]), float(first["data-hi"])) == (pytest.approx(iv.lo, rel=1e-5),
                                                                      pytest.approx(iv.hi, rel=1e-5))
    assert ul.report(scenarios[1], "html", store) .count("<section class=\"request\"") == 1
    with pytest.raises(BadInput, match="unknown report format 'pdf'"):
        ul.report(scenarios[0], "pdf", store)
    both = Page(ul.sweep_report({"scenarios": scenarios}, store=store, title="<t>"))
    assert both.errors == [] and len(both.find("section", "request")) == 1  # two seeds, one request
    with pytest.raises(BadInput, match="unknown scenario 'nope'"):
        ul.sweep_report(["nope"], store=store)
    with pytest.raises(BadInput, match="not a list of scenario ids"):
        ul.sweep_report("abc", store=store)
