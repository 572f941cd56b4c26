"""A poisoned request in the browser: Screen labels the backdoor's attack success rate (ASR) as a metric
column, and the Attack view shows A's ASR beside θ_r's; the Build view poisons the training data of a job
(kind, rate, target; forget `poison` / `poison:F`), refuses bad values with its reasons and shows the
server's one-line 422. (In its own file, after test_views.py: the scenario it adds to the session's store
comes after every other Screen test.)"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from .conftest import get_json, one_method, shot

JOB_TIMEOUT_MS = 180_000


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


def test_build_poisons_the_training_data_and_screen_shows_the_asr(data_page, data_server, artifacts):
    page = data_page
    base, _root = data_server
    page.goto(f"{base}/#/build")
    page.wait_for_selector("form.build-form select[name=dataset]")
    page.select_option("select[name=dataset]", "digits")
    poison = page.locator("input[name=poison]")
    expect(poison).not_to_be_checked()  # off by default: no poison fields, no poison requests
    assert page.locator("input[name=poison-rate]").count() == 0
    assert page.locator("input[name=forget-kind][value=poison]").count() == 0

    poison.check()
    kinds = page.locator("select[name=poison-kind] option").evaluate_all("os => os.map(o => o.value)")
    assert kinds == [p["name"] for p in get_json(f"{base}/api/options")["poisons"]] and "badnets" in kinds
    expect(page.locator("input[name=forget-kind][value=poison]")).to_be_checked()  # turning it on picks `poison`
    expect(page.locator("fieldset.poison")).to_contain_text("in (0, 1)")
    expect(page.locator("fieldset.poison")).to_contain_text("0..9 on digits")

    # bad values: the form says why and does not submit
    submit = page.locator("button[type=submit]", has_text="Run job")
    problems = page.locator("ul.problems")
    for field, value, reason in (("poison-rate", "1.5", "poison rate 1.5 is out of range; it must be in (0, 1)"),
                                 ("poison-rate", "lots", 'poison rate "lots" is not a number'),
                                 ("poison-target", "10", "poison target 10 is out of range; it must be in 0..9")):
        page.fill(f"input[name={field}]", value)
        expect(problems).to_contain_text(reason)
        expect(submit).to_be_disabled()
        page.fill(f"input[name={field}]", {"poison-rate": "0.1", "poison-target": "0"}[field])
    page.check("input[name=forget-kind][value=poison-share]")
    page.fill("input[name=forget-poison-share]", "0")
    expect(problems).to_contain_text("must be a share in (0, 1]")
    expect(submit).to_be_disabled()
    page.fill("input[name=forget-poison-share]", "0.5")
    expect(page.locator("details.request-json pre")).to_contain_text('"forget": "poison:0.5"')
    page.check("input[name=forget-kind][value=poison]")
    expect(problems).to_have_count(0)
    shot(page, artifacts, "build-poison")

    one_method(page, "mlp", "ft", 2)

    # what the server refuses is shown as its one line: a target it rejects, sent past the form
    def past_the_form(route):
        body = json.loads(route.request.post_data)
        route.continue_(post_data=json.dumps({**body, "poison": "badnets:0.1,target=12"}))

    page.route("**/api/jobs", past_the_form)
    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as refused:
        submit.click()
    assert refused.value.status == 422
    expect(page.locator("form.build-form .state.error .error-text")).to_have_text(refused.value.json()["detail"])
    expect(page.locator("form.build-form .state.error")).to_contain_text("poison target 12 is out of range")
    page.unroute("**/api/jobs", past_the_form)

    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as posted:
        submit.click()
    assert posted.value.status == 202, posted.value.text()
    sent = json.loads(posted.value.request.post_data)
    assert sent["poison"] == "badnets:0.1,target=0" and sent["forget"] == "poison" and sent["dataset"] == "digits"
    expect(page.locator("form.build-form .state.error")).to_have_count(0)
    job = posted.value.json()
    page.wait_for_selector(f"li.job[data-job='{job['id']}'][data-status=done]", timeout=JOB_TIMEOUT_MS)
    sid = get_json(f"{base}/api/jobs/{job['id']}")["scenario_id"]
    assert get_json(f"{base}/api/scenarios/{sid}")["poison"]["spec"] == "badnets:0.1,target=0"

    page.locator(f"li.job[data-job='{job['id']}'] a", has_text="open in Screen").click()
    expect(page.locator("table.runs[data-ready] tr[data-method=ft]")).to_have_count(1)
    assert page.locator("select[aria-label=Scenario]").input_value() == sid
    expect(page.locator("table.runs thead th", has_text=re.compile(r"^ASR"))).to_have_count(1)
    shot(page, artifacts, "screen-poison-from-build")
    page.console.check(allow=("422",))
