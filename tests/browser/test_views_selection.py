"""A memorised: request in the browser: Screen shows how its forget set was chosen, a histogram of every
training sample's memorisation score with the cut-off and the chosen samples with their scores. (In its own
file, after test_views.py: the scenario it adds to the session's store comes after every other Screen test.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import get_json, shot


@pytest.fixture(scope="module")
def memorised(server):
    """digits, MLP, the 20 most memorised of 6 subset models; ft."""
    import unlearnlab as ul

    _base, store, _ = server
    return ul.run("digits", "mlp", "memorised:20,k=6,subset=0.5", ["ft"], train={"epochs": 3}, store=store)


def test_screen_shows_the_selection_of_a_memorised_request(page, server, memorised, artifacts):
    base, _store, _ = server
    sid = memorised.scenario["id"]
    sel = get_json(f"{base}/api/scenarios/{sid}/selection")
    page.goto(f"{base}/#/screen?s={sid}")
    panel = page.locator("[data-panel=selection]")
    expect(panel.locator("[data-selection=memorised]")).to_have_count(1)
    expect(panel).to_contain_text("20 samples, highest memorisation")
    expect(panel).to_contain_text("over 6 subset models")
    rows = panel.locator("table.selection-samples tbody tr")
    expect(rows).to_have_count(20)
    first = sel["samples"][0]
    expect(rows.first).to_have_attribute("data-sample", str(first["index"]))
    expect(rows.first).to_contain_text(f"{first['score']:.3f}")
    expect(panel.locator("svg.histogram [data-series=chosen] rect")).to_have_count(len(sel["histogram"]["chosen"]))
    expect(panel.locator("svg.histogram line[data-cutoff]")).to_have_count(1)
    shot(page, artifacts, "screen-selection")
    # a request without a selection has no panel
    other = next(s["id"] for s in get_json(f"{base}/api/scenarios") if s["forget"] == "class:3")
    page.goto(f"{base}/#/screen?s={other}")
    expect(page.locator("table.runs[data-ready] tr[data-method=retrain]")).to_have_count(1)
    expect(page.locator("[data-panel=selection]")).to_have_count(0)
