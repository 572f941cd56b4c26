"""A poisoned request in the browser: Screen labels the backdoor's attack success rate (ASR) as a metric
column, and the Attack view shows A's ASR beside θ_r's. (In its own file, after test_views.py: the
scenario it adds to the session's store comes after every other Screen test.)"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import shot


@pytest.fixture(scope="module")
def poisoned(server):
    """digits, MLP, a BadNets trigger on 10 % of the training set, forget every poisoned sample; ft."""
    import unlearnlab as ul

    _base, store, _ = server
    return ul.run("digits", "mlp", "poison", ["ft"], train={"epochs": 3}, poison="badnets:0.1", store=store)


def test_a_poisoned_request_shows_its_asr_in_screen_and_attack(page, server, poisoned, artifacts):
    base, _store, _ = server
    sid = poisoned.scenario["id"]
    page.goto(f"{base}/#/screen?s={sid}")
    expect(page.locator("table.runs[data-ready] tr[data-method=retrain]")).to_have_count(1)
    expect(page.locator("table.runs thead th", has_text=re.compile(r"^ASR"))).to_have_count(1)
    ft = poisoned.run("ft")
    a = ft.run_id
    page.goto(f"{base}/#/attack?s={sid}&a={a}")
    card = page.locator(".summary-cards", has_text="backdoor ASR: A · θ_r")
    expect(card).to_have_count(1)
    asr_a, asr_r = ft.metrics["asr"], poisoned.run("retrain").metrics["asr"]
    expect(card).to_contain_text(f"{100 * asr_a:.1f} % · {100 * asr_r:.1f} %")
    shot(page, artifacts, "attack-poisoned")
