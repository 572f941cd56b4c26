"""A generative request in the browser: Screen's table shows the generative metrics (no UA/RA/TA), picking
A and B shows both runs' fixed-seed galleries side by side with the forgotten class marked, Contrast shows
them too, and the classifier-only views (Attack, Contrast's comparison) say in one line that they do not
apply. Its own server over its own tiny store: the session's demo store is not needed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import _start, _stop, get_json, open_page, shot


@pytest.fixture(scope="module")
def gen_server(browser, tmp_path_factory):
    """A tiny DDPM on digits, forget class 3, ft_retain; two gallery samples per class."""
    import unlearnlab as ul

    store = tmp_path_factory.mktemp("generative") / "store"
    result = ul.api.run(model="ddpm", forget="class:3", methods=["ft_retain"], train={"steps": 50, "batch_size": 32},
                        overrides={"gen": {"width": 16, "depth": 1, "timesteps": 20, "n_per_class": 4,
                                           "sample_steps": 2, "gallery": 2}, "ft_retain": {"steps": 2}},
                        store=store)
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
