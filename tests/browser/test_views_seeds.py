"""Screen over seeds: a request run with three seeds offers "over 3 seeds", which shows each method's
mean ± interval, a ranking line and error bars on the trade-off plot; a one-seed request keeps the
toggle disabled with the reason. (In its own file, after test_views.py: the extra scenarios it adds to
the session's store come after every other Screen test.)"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import get_json, shot

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def seeded(server):
    """digits, MLP, random 10 %, 2 epochs, ft and ga, run with seeds 0, 1 and 2 into the server's store."""
    import unlearnlab as ul

    _base, store, _ = server
    return [ul.run("digits", "mlp", "random:0.1", ["ft", "ga"], train={"epochs": 2}, seed=s, store=store)
            for s in SEEDS]


def test_screen_over_seeds_shows_intervals_error_bars_and_ranking(page, server, seeded, artifacts):
    base, _store, (cls, _rnd) = server
    sid = seeded[1].scenario["id"]
    payload = get_json(f"{base}/api/scenarios/{sid}/seeds")
    assert payload["seeds"] == list(SEEDS)
    page.goto(f"{base}/#/screen?s={sid}")
    expect(page.locator("table.runs[data-ready] tr[data-method=retrain]")).to_have_count(1)
    # by default the single-seed table, unchanged: this scenario's runs
    expect(page.locator("table.runs tbody tr[data-run]")).to_have_count(len(seeded[1].runs))
    toggle = page.locator("[data-toggle=seeds] button[data-value=seeds]")
    expect(toggle).to_have_text("over 3 seeds")
    expect(toggle).to_be_enabled()
    toggle.click()

    # one row per method (θ_o and θ_r included), each metric as mean ± half-width with n
    rows = page.locator("table.seeds-table tbody tr[data-group]")
    expect(rows).to_have_count(len(payload["groups"]))
    ft_ua = page.locator("table.seeds-table tr[data-group=ft] td[data-n]").first
    expect(ft_ua).to_have_text(re.compile(r"^\d+\.\d\d ± \d+\.\d\dn=3$"))
    # the ranking line under the table says what the API ranked
    expect(page.locator("[data-ranking-text]")).to_have_text(payload["ranking"]["text"])
    expect(page.locator("[data-ranking-text]")).to_contain_text("1. ")

    # error bars: one per method whose mean has an interval on the axes shown (n >= 2 seeds)
    x_key = page.locator("select[aria-label='x axis']").input_value()
    y_key = page.locator("select[aria-label='y axis']").input_value()

    def interval(group, key):
        cell = group["distances"].get(key[2:]) if key.startswith("d:") else group["metrics"].get(key)
        return cell is not None and cell["lo"] is not None

    with_bars = [g["label"] for g in payload["groups"] if interval(g, x_key) or interval(g, y_key)]
    assert {"ft", "ga"} <= set(with_bars)
    expect(page.locator("svg.tradeoff g.errbar")).to_have_count(len(with_bars))
    for label in ("ft", "ga"):
        expect(page.locator(f"svg.tradeoff g.errbar[data-group={label}] path.errbar-x")).to_have_count(1)
        expect(page.locator(f"svg.tradeoff g.errbar[data-group={label}] path.errbar-y")).to_have_count(1)
    expect(page.locator("svg.tradeoff g.pt[data-group]")).to_have_count(len(payload["groups"]))
    shot(page, artifacts, "screen-over-seeds")

    # another ranking metric: the line follows the API's ranking by it
    page.select_option("select[aria-label='rank by']", "ta")
    by_ta = get_json(f"{base}/api/scenarios/{sid}/seeds?rank_by=ta")["ranking"]["text"]
    expect(page.locator("[data-ranking-text]")).to_have_text(by_ta)

    # back to this seed: the runs table and per-run points again, no bars
    page.locator("[data-toggle=seeds] button[data-value=seed]").click()
    expect(page.locator("table.runs tbody tr[data-run]")).to_have_count(len(seeded[1].runs))
    expect(page.locator("svg.tradeoff g.errbar")).to_have_count(0)

    # a request stored with one seed: the toggle is disabled and says why
    one = cls.scenario["id"]
    assert get_json(f"{base}/api/scenarios/{one}/seeds")["seeds"] == [0]
    page.goto(f"{base}/#/screen?s={one}")
    only = page.locator("[data-toggle=seeds] button[data-value=seeds]")
    expect(only).to_be_disabled()
    expect(only).to_have_attribute("title", re.compile(r"one seed \(0\)"))
    stored = get_json(f"{base}/api/scenarios/{one}/runs")["runs"]  # a test before may have deleted one
    expect(page.locator("table.runs tbody tr[data-run]")).to_have_count(len(stored))
    page.console.check()
