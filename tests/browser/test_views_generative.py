"""A generative request in the browser: Screen's table shows the generative metrics (no UA/RA/TA), picking
A and B shows both runs' fixed-seed galleries side by side with the forgotten class marked, Contrast shows
them too, and the classifier-only views (Attack, Contrast's comparison) say in one line that they do not
apply. Its own server over its own tiny store: the session's demo store is not needed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..generative_fixtures import tiny_generative_run
from .conftest import _start, _stop, get_json, open_page, shot, submit_job


@pytest.fixture(scope="module")
def gen_server(browser, tmp_path_factory):
    """A tiny DDPM on digits, forget class 3, ft_retain; two gallery samples per class."""
    store = tmp_path_factory.mktemp("generative") / "store"
    result = tiny_generative_run(store)
    proc, base, log = _start(["--store", str(store)], store.parent / "server.log")
    try:
        yield base, result
    finally:
        _stop(proc, log)


@pytest.fixture
def gen_page(browser, gen_server):
    with open_page(browser) as pg:
        yield pg


def test_screen_shows_generative_metrics_and_both_galleries(gen_page, gen_server, artifacts):
    page = gen_page
    base, result = gen_server
    sid = result.scenario["id"]
    page.goto(f"{base}/#/screen?s={sid}")
    table = page.locator("table.runs[data-ready]")
    expect(table.locator("tbody tr")).to_have_count(3)
    for key in ("forget_rate", "kept_accuracy", "fd_kept", "avg_gap", "run_time_s", "speedup_vs_retrain"):
        expect(table.locator(f"th[data-metric={key}]")).to_have_count(1)
    for key in ("ua", "ra", "ta"):
        expect(table.locator(f"th[data-metric={key}]")).to_have_count(0)
    expect(table.locator("th[data-metric=forget_rate]")).to_contain_text("Forget rate")
    expect(page.locator("[data-note=generative]")).to_have_count(1)

    a, b = result.run("original").run_id, result.run("ft_retain").run_id
    page.locator(f"tr[data-run='{a}'] button.pick-a").click()
    page.locator(f"tr[data-run='{b}'] button.pick-b").click()
    panel = page.locator("[data-panel=gallery]")
    gallery = panel.locator("table.gallery[data-ready]")
    expect(gallery.locator("tbody tr")).to_have_count(10)
    # two samples of each class for each model, the same shape as the stored gallery
    shape = get_json(f"{base}/api/runs/{a}/gallery")["shape"]
    expect(gallery.locator("td[data-model=A] canvas")).to_have_count(20)
    expect(gallery.locator("td[data-model=B] canvas")).to_have_count(20)
    assert gallery.locator("canvas").first.get_attribute("width") == str(shape[2])
    forgotten = gallery.locator("tr[data-forgotten]")
    expect(forgotten).to_have_count(1)
    expect(forgotten).to_have_attribute("data-class", "3")
    expect(forgotten).to_contain_text("forgotten")
    expect(panel).to_contain_text("original")
    expect(panel).to_contain_text("ft_retain")
    # pixels were drawn: a sample is not left blank (the canvas is transparent until drawn)
    alpha = page.evaluate("""() => { const c = document.querySelector('table.gallery canvas');
        return c.getContext('2d').getImageData(0, 0, 1, 1).data[3]; }""")
    assert alpha == 255
    shot(page, artifacts, "screen-generative-gallery")

    # Contrast: the galleries, and one line instead of the classifier comparison
    page.locator("[data-tab=contrast]").click()
    expect(page.locator("[data-note=generative]")).to_contain_text("does not apply to generation runs")
    expect(page.locator("[data-panel=gallery] table.gallery tbody tr")).to_have_count(10)
    expect(page.locator(".state.error")).to_have_count(0)
    # Attack: one line, no failure
    page.locator("[data-tab=attack]").click()
    expect(page.locator("[data-note=generative]")).to_contain_text("threshold attack")
    expect(page.locator(".state.error")).to_have_count(0)
    page.console.check()


def test_build_submits_a_ddpm_job_and_screen_shows_it(gen_page, gen_server, artifacts):
    """Build with ddpm: only the generation methods, a Generation block, class requests only (no poison,
    preset, random or group controls); a tiny job runs to done and opens in Screen with its generative columns."""
    page = gen_page
    base, result = gen_server
    page.goto(f"{base}/#/build")
    page.wait_for_selector("form.build-form input[name='method.ft']")
    expect(page.locator("[data-block=generation]")).to_have_count(0)
    page.select_option("select[name=model]", "ddpm")
    expect(page.locator("[data-block=generation]")).to_be_visible()
    generation = get_json(f"{base}/api/options")["task_methods"]["generation"]
    shown = page.locator("ul.method-list li[data-method]")
    expect(shown).to_have_count(len(generation))
    assert sorted(shown.evaluate_all("els => els.map(e => e.dataset.method)")) == sorted(generation)
    for hidden in ("select[name=preset]", "input[name=forget-fraction]", "input[name=forget-count]",
                   "input[name='train.epochs']", "input[name=prune]"):
        expect(page.locator(hidden)).to_have_count(0)
    expect(page.locator("fieldset.poison, [data-poison]")).to_have_count(0)

    page.locator("[data-panel=methods] button", has_text="none").click()
    page.check("input[name='method.ft_retain']")
    page.locator("li[data-method=ft_retain] button", has_text="grid").click()
    page.fill("input[name='grid.ft_retain.steps']", "2")
    for name, value in (("train.steps", "30"), ("gen.sample_steps", "2"), ("gen.n_per_class", "4")):
        page.fill(f"input[name='{name}']", value)
    page.locator("summary", has_text="More generation options").click()
    for name, value in (("train.batch_size", "32"), ("gen.width", "16"), ("gen.depth", "1"), ("gen.timesteps", "20"),
                        ("gen.gallery", "2")):
        page.fill(f"input[name='{name}']", value)
    page.fill("input[name='forget-class']", "5")
    job_id = submit_job(page).json()["id"]
    page.wait_for_selector(f"li.job[data-job='{job_id}'][data-status=done]", timeout=120_000)
    rows = page.locator(f"li.job[data-job='{job_id}'] table.job-runs tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator(f"li.job[data-job='{job_id}'] th[data-metric=forget_rate]")).to_have_count(1)
    job = get_json(f"{base}/api/jobs/{job_id}")
    assert job["status"] == "done" and job["request"]["gen"]["width"] == 16
    assert job["scenario_id"] != result.scenario["id"]  # another recipe and another class: another scenario
    shot(page, artifacts, "build-generative-job-done")

    page.locator(f"li.job[data-job='{job_id}'] a", has_text="open in Screen").click()
    page.wait_for_selector("table.runs[data-ready] tr[data-method=ft_retain]")
    assert page.locator("select[aria-label=Scenario]").input_value() == job["scenario_id"]
    expect(page.locator("table.runs tbody tr[data-run]")).to_have_count(3)
    expect(page.locator("table.runs th[data-metric=forget_rate]")).to_have_count(1)
    expect(page.locator("[data-note=generative]")).to_have_count(1)
    shot(page, artifacts, "screen-generative-from-build")
    page.console.check()
