"""Browser tests of the web workbench: the real server (`unlearnlab serve` in a subprocess, on a
free loopback port) over a store made by the demo at a small scale, driven by Debian's Chromium
through Playwright-for-Python (sync API). Playwright's own browser download is not used.

Without /usr/bin/chromium (or $UNLEARNLAB_CHROMIUM) or the playwright package the tests are
skipped, unless $CI is set: then they fail. Screenshots go to $UNLEARNLAB_ARTIFACTS (default
tests/browser/artifacts/).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).parent
STATIC = HERE.parents[1] / "src" / "unlearnlab" / "server" / "static"
CHROMIUM = os.environ.get("UNLEARNLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: The demo at a small but real scale: every method, both requests, θ_o and θ_r trained 3 epochs.
DEMO_TRAIN = {"epochs": 3}


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("UNLEARNLAB_ARTIFACTS") or HERE / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 60.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (checked first: no server or demo without a browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install playwright; its browser download is not needed)")
    if not Path(CHROMIUM).is_file():
        _missing(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    if not (STATIC / "index.html").is_file():
        _missing(f"the web UI is not built in {STATIC} (cd frontend && npm ci && npm run build)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server(browser, tmp_path_factory):
    """`unlearnlab serve` on a demo store; yields (base_url, store_path, the demo's two Comparisons:
    forget class 3, then random 10 %). The server starts
    first so that its analysis worker compiles UMAP while the demo trains."""
    import unlearnlab as ul

    store = tmp_path_factory.mktemp("browser") / "store"
    proc, base, log = _start(["--store", str(store)], store.parent / "server.log")
    try:
        comparisons = ul.api.demo(store=store, train=DEMO_TRAIN)
        yield base, store, comparisons
    finally:
        _stop(proc, log)


def _start(args: list[str], log_path: Path, env: dict[str, str] | None = None, code: str | None = None):
    """`unlearnlab serve ARGS` in a subprocess on a free port; (process, base URL, log file) once it answers."""
    port = _free_port()
    log = open(log_path, "w")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-c", code or "from unlearnlab.cli import main; main()", "serve",
                             *args, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            get_json(f"{base}/api/health", timeout=2)
            return proc, base, log
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                _stop(proc, log)
                raise RuntimeError(f"the server did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)


def _stop(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


#: Run in the server process before the CLI: the checksum table trusts the tiny files' md5s (given in
#: the environment; every other file keeps its official md5), and any download attempt is an error.
_TRUSTING_SERVER = """
import json, os
from unlearnlab.data import download
download.CHECKSUMS = {**download.CHECKSUMS, **json.loads(os.environ["UNLEARNLAB_TEST_MD5"])}
def _no_download(url, *args, **kwargs):
    raise RuntimeError(f"the server tried to download {url}")
download.urlopen = _no_download
from unlearnlab.cli import main
main()
"""


@pytest.fixture(scope="session")
def data_server(browser, tmp_path_factory):
    """`unlearnlab serve --data-root ROOT` on an empty store, ROOT holding tiny CIFAR-10 files and a tiny
    olivettifaces.mat in the official formats (tests/data/formats.py) and nothing else; yields
    (base_url, data_root)."""
    from ..data.formats import md5, write_cifar10, write_olivetti

    folder = tmp_path_factory.mktemp("browser-data")
    root = folder / "data"
    write_cifar10(root)
    write_olivetti(root)
    table = {p.relative_to(root).as_posix(): md5(p) for p in root.rglob("*") if p.is_file()}
    proc, base, log = _start(["--store", str(folder / "store"), "--data-root", str(root)], folder / "server.log",
                             env={"UNLEARNLAB_TEST_MD5": json.dumps(table)}, code=_TRUSTING_SERVER)
    try:
        yield base, root
    finally:
        _stop(proc, log)


@pytest.fixture
def data_page(browser, data_server):
    """A page for the data-root server (not the demo server: the demo is not needed)."""
    with open_page(browser) as pg:
        yield pg


@pytest.fixture(scope="session")
def honest(server):
    """Two small scenarios added to the server's store for the issue-9 fields: an unusable request
    (random labels: θ_o is at chance, so every run carries a warning and MIA-Efficacy is withheld
    with a note) and a digits MLP scenario whose ft run has a small audit (6 models a side: KLoM
    reads "too few models"), and in the first a copy of ft's record stored as from another machine.
    Yields {"noise", "audited" (Comparisons), "audit_id", "foreign_run", "foreign_env", "env"}."""
    import numpy as np

    import unlearnlab as ul
    from unlearnlab.audits import audit_run
    from unlearnlab.executors import SerialExecutor
    from unlearnlab.store import Store

    _base, store, _ = server
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)).astype("float32")
    y = rng.integers(0, 2, size=400)
    noise = ul.run(dataset=ul.from_arrays(x, y, name="noise"), model="mlp", forget="random:0.1", methods=["ft"],
                   train={"epochs": 2}, store=store)
    audited = ul.run("digits", "mlp", "class:3", ["ft"], train={"epochs": 2}, store=store)
    with Store(store) as st:
        result = audit_run(st, audited.run("ft").run_id, refs=6, executor=SerialExecutor(), partitions=4,
                           n_boot=10, relearn_steps=3)
        # ft's record again, as a colleague's machine would have stored it (native kernels, 8 threads,
        # weights trained here): the UI must mark it and list where the environments differ
        ft = st.run(noise.run("ft").run_id)
        foreign = json.loads(json.dumps(ft.details["environment"]))
        foreign.update(cpu="Intel(R) Xeon(R) Platinum 8375C", threads={"torch": 8, "torch_interop": 8})
        foreign["numerics"].update(mode="native", portable=False, verified=None, aten_cpu_capability="AVX512",
                                   switches={}, notes=["native numerics: these bits follow this CPU's kernels"])
        other = st.start_run(ft.scenario_id, ft.method, ft.hparams, ft.seed)
        st.finish_run(other, metrics=ft.metrics, run_time_s=ft.run_time_s, steps=ft.steps, samples=ft.samples,
                      details={**ft.details, "environment": foreign, "trained_environment": ft.details["environment"]})
    return {"noise": noise, "audited": audited, "audit_id": result["id"], "foreign_run": other,
            "foreign_env": foreign, "env": ft.details["environment"]}


class Console:
    """Console errors and page errors of one page."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def check(self, allow: tuple[str, ...] = ()):
        bad = [e for e in self.errors if not any(a in e for a in allow)]
        assert not bad, "\n".join(bad)


def one_method(page, model: str, method: str, epochs: int) -> None:
    """In the Build form: `model`, the single method `method` and `epochs` training epochs (what tiny data needs)."""
    page.select_option("select[name=model]", model)
    page.locator("[data-panel=methods] button", has_text="none").click()
    page.check(f"input[name='method.{method}']")
    page.locator("summary", has_text="Training of").click()
    page.fill("input[name='train.epochs']", str(epochs))


def submit_job(page):
    """Click Build's "Run job" and return the POST /api/jobs response, checked accepted (202)."""
    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as posted:
        page.locator("button[type=submit]", has_text="Run job").click()
    assert posted.value.status == 202, posted.value.text()
    return posted.value


@contextlib.contextmanager
def open_page(browser, **options):
    """A page in a context of its own (the views' size, a 30 s timeout, console errors collected), closed on
    leaving; `options` go to the context (e.g. accept_downloads)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, **options)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.console = Console(pg)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def page(browser, server):
    with open_page(browser, accept_downloads=True) as pg:
        yield pg


def shot(page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def cancel_jobs(base: str) -> None:
    """Cancel every queued or running job: jobs run one at a time, so a test's job must not wait behind
    another test's."""
    for job in get_json(f"{base}/api/jobs"):
        if job["status"] in ("queued", "running"):
            req = urllib.request.Request(f"{base}/api/jobs/{job['id']}/cancel", method="POST")
            try:
                urllib.request.urlopen(req, timeout=30).close()
            except urllib.error.HTTPError as err:
                if err.code != 409:  # 409: it finished meanwhile
                    raise
