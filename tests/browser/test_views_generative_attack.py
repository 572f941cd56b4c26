"""The Attack view of a generative request: a stored embedding attack of model A read against θ_r (the table with
the paired test's verdict) and the regenerated samples of A and θ_r before and after; an attack queued from the
view's form appears when its job ends. Its own server over its own tiny store."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..generative_fixtures import tiny_generative_run
from .conftest import _start, _stop, get_json, open_page, shot


@pytest.fixture(scope="module")
def attack_server(browser, tmp_path_factory):
    """A tiny DDPM on digits, forget class 3, ft_retain, with one stored embedding attack of ft_retain."""
    import unlearnlab as ul

    store = tmp_path_factory.mktemp("generative-attack") / "store"
    result = tiny_generative_run(store)
    stored = ul.api.attack(result.run("ft_retain").run_id, "embedding", store=store, n_samples=6, steps=3,
                           n_targets=4, batch_size=8)
    proc, base, log = _start(["--store", str(store)], store.parent / "server.log")
    try:
        yield base, result, stored
    finally:
        _stop(proc, log)


def test_attack_view_reads_a_stored_attack_against_retrain_and_queues_another(browser, attack_server, artifacts):
    base, result, stored = attack_server
    sid, a = result.scenario["id"], result.run("ft_retain").run_id
    with open_page(browser) as page:
        page.goto(f"{base}/#/attack?s={sid}&a={a}")
        panel = page.locator("[data-panel=gen-attack]")
        expect(panel.locator(f"[data-gen-attack='{stored['id']}']")).to_have_count(1)
        table = panel.locator("table.gen-attack-table")
        verdict = stored["versus_retrain"]["verdict"]
        expect(table).to_have_attribute("data-verdict", verdict)
        expect(table.locator("tr[data-row=A]")).to_contain_text("ft_retain")
        expect(table.locator("tr[data-row=retrain]")).to_contain_text("θ_r")
        # before and after, for A and θ_r: 4 rows of the 6 samples each, drawn at the stored shape
        samples = panel.locator("table.gen-attack-samples[data-ready]")
        expect(samples.locator("tbody tr")).to_have_count(4)
        expect(samples.locator("canvas")).to_have_count(24)
        shape = get_json(f"{base}/api/attacks/{stored['id']}/gallery")["shape"]
        assert samples.locator("canvas").first.get_attribute("width") == str(shape[2])
        framed = get_json(f"{base}/api/attacks/{stored['id']}/gallery")["after_pred"].count(3)
        expect(samples.locator("tbody tr").nth(1).locator("[data-hit]")).to_have_count(framed)
        shot(page, artifacts, "attack-generative")
        # a relearning attack from the form: a job, then the list has both
        form = panel.locator("[data-gen-attack-form]")
        form.locator("select[name=kind]").select_option("relearn")
        expect(form.locator("input[name=radius]")).to_have_count(0)
        form.locator("input[name=steps]").fill("2")
        form.locator("input[name=n_samples]").fill("6")
        with page.expect_response(lambda r: r.url.endswith(f"/api/runs/{a}/attacks") and r.request.method == "POST") as posted:
            form.locator("button[data-run-gen-attack]").click()
        assert posted.value.status == 202, posted.value.text()
        expect(panel.locator("select option")).to_have_count(2, timeout=60_000)
        expect(panel.locator("table.gen-attack-table")).to_be_visible()
        expect(page.locator(".state.error")).to_have_count(0)
        page.console.check()


def test_contrast_shows_the_metrics_of_a_and_b_beside_retrain(browser, attack_server, artifacts):
    base, result, _ = attack_server
    sid, a, b = result.scenario["id"], result.run("original").run_id, result.run("ft_retain").run_id
    with open_page(browser) as page:
        page.goto(f"{base}/#/contrast?s={sid}&a={a}&b={b}")
        table = page.locator("[data-panel=generative-metrics] table[data-generative-metrics]")
        expect(table.locator("thead th")).to_have_count(5)  # label, A, B, θ_r, floor
        for key in ("forget_rate", "kept_accuracy", "fd_kept", "fd_class_mean"):
            expect(table.locator(f"tr[data-metric={key}]")).to_have_count(1)
        expect(table.locator("tr[data-fd-class]")).to_have_count(9)  # the kept classes
        expect(table.locator("tr[data-fd-class='3']")).to_have_count(0)
        # the tiny request has too few samples per class for a covariance: said, not a number
        expect(page.locator("[data-fd-note]").first).to_contain_text("too few samples for a covariance")
        want = result.run("ft_retain").metrics["forget_rate"]
        expect(table.locator("tr[data-metric=forget_rate] td").nth(1)).to_contain_text(f"{100 * want:.1f}")
        expect(page.locator("[data-panel=gallery] table.gallery tbody tr")).to_have_count(10)
        expect(page.locator(".state.error")).to_have_count(0)
        shot(page, artifacts, "contrast-generative")
        page.console.check()
