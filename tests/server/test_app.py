"""The read-side API: meta endpoints, scenarios, runs, downloads, deletion, bad ids, the UI mount."""

from __future__ import annotations

import socket
import threading

import pytest
from safetensors.torch import load

from unlearnlab.runner import CONTRACT_KEYS
from unlearnlab.store import Store

from .helpers import assert_one_line_error


def test_create_app_binds_nothing_and_starts_no_thread(tmp_path, monkeypatch):
    from unlearnlab.server import create_app

    def refuse(*args, **kwargs):
        raise AssertionError("create_app must not open a socket")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    monkeypatch.setattr(socket.socket, "listen", refuse)
    threads = set(threading.enumerate())
    app = create_app(tmp_path / "fresh")
    # no thread started (an earlier test's worker may end meanwhile: only new threads count)
    assert set(threading.enumerate()) <= threads
    assert app.state.jobs._thread is None
    assert (tmp_path / "fresh" / "unlearnlab.db").is_file()


def test_serve_binds_loopback_by_default(tmp_path, monkeypatch):
    import typer.main
    import uvicorn
    from typer.testing import CliRunner

    from unlearnlab.cli import app

    serve = typer.main.get_command(app).commands["serve"]
    defaults = {p.name: p.default for p in serve.params}
    assert defaults["host"] == "127.0.0.1" and defaults["port"] == 8000
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: calls.append((application, kw)))
    result = CliRunner().invoke(app, ["serve", "--store", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    application, kw = calls[0]
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8000
    assert "http://127.0.0.1:8000" in result.output
    assert application.state.store_root == (tmp_path / "s").resolve()


def test_serve_rejects_a_bad_port_and_an_unwritable_store(tmp_path):
    from typer.testing import CliRunner

    from unlearnlab.cli import app

    assert CliRunner().invoke(app, ["serve", "--port", "70000"]).exit_code == 2
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(app, ["serve", "--store", str(blocker / "sub")])
    assert result.exit_code == 2 and "cannot be written" in result.output


def test_meta_endpoints(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["jobs"] == {}
    methods = {m["name"]: m for m in client.get("/api/methods").json()}
    assert {"retrain", "ft", "ga", "scrub"} <= set(methods)
    ft = {p["name"]: p for p in methods["ft"]["params"]}
    assert ft["lr"]["default"] == 0.02 and ft["lr"]["type"] == "float" and ft["epochs"]["type"] == "int"
    assert methods["retrain"]["gridable"] is False and methods["oracle_matching"]["needs_retrain"] is True
    datasets = {d["name"]: d for d in client.get("/api/datasets").json()}
    assert datasets["digits"]["web"] and datasets["mnist1d"]["web"] and not datasets["arrays"]["web"]
    assert {p["name"] for p in datasets["mnist1d"]["params"]} == {"test_size", "num_samples"}
    assert {m["name"] for m in client.get("/api/models").json()} >= {"mlp", "cnn", "resnet18"}
    options = client.get("/api/options").json()
    assert options["train_defaults"]["epochs"] == 20 and options["max_configs_per_job"] == 64


def test_options_list_the_poisons_and_datasets_their_classes(client):
    from unlearnlab.data import load_dataset
    from unlearnlab.data.poison import POISONS, parse_poison

    poisons = {p["name"]: p for p in client.get("/api/options").json()["poisons"]}
    assert set(poisons) == set(POISONS.names()) and "badnets" in poisons
    badnets = poisons["badnets"]
    assert badnets["form"].startswith("badnets:RATE") and "Gu et al. 2017" in badnets["paper"]
    params = {p["name"]: p for p in badnets["params"]}
    assert params["rate"]["type"] == "float" and params["target"]["type"] == "int"
    # the defaults served are the ones a bare spec gets
    bare = parse_poison("badnets:0.1")
    assert (bare.rate, bare.target) == (params["rate"]["default"], params["target"]["default"])
    datasets = {d["name"]: d for d in client.get("/api/datasets").json()}
    assert datasets["digits"]["num_classes"] == load_dataset("digits").num_classes
    assert datasets["mnist1d"]["num_classes"] == load_dataset("mnist1d", num_samples=50).num_classes
    assert datasets["cifar100"]["num_classes"] == 100 and datasets["olivetti"]["num_classes"] == 40
    assert datasets["arrays"]["num_classes"] is None  # its classes are the file's


def test_openapi_is_documented(client):
    spec = client.get("/openapi.json").json()
    assert {t["name"] for t in spec["tags"]} == {"meta", "scenarios", "runs", "jobs"}
    for path in ("/api/jobs", "/api/jobs/{job_id}/events", "/api/runs/{run_id}/attack",
                 "/api/scenarios/{scenario_id}/runs", "/api/runs/{run_id}/weights"):
        assert path in spec["paths"]
        for op in spec["paths"][path].values():
            assert op["summary"] and op["tags"]
    assert "JobRequest" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_index_points_at_docs_without_a_built_ui(store_copy, tmp_path):
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    with TestClient(create_app(store_copy, static_dir=tmp_path / "no-ui")) as c:
        assert c.get("/").json()["docs"] == "/docs"


def test_the_packaged_ui_is_served_at_root(client):
    page = client.get("/")
    assert page.status_code == 200 and "<div id=" in page.text and "/assets/" in page.text


def test_built_ui_is_served_at_root_and_the_api_still_wins(store_copy, tmp_path):
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    ui = tmp_path / "ui"
    ui.mkdir()
    (ui / "index.html").write_text("<!doctype html><title>unlearnlab</title>")
    with TestClient(create_app(store_copy, static_dir=ui)) as c:
        page = c.get("/")
        assert page.status_code == 200 and "<title>unlearnlab</title>" in page.text
        assert c.get("/api/health").json()["status"] == "ok"
        assert_one_line_error(c.get("/api/nothing-here"), 404)


def test_scenarios_and_the_screen_payload(client, comparison):
    sid = comparison.scenario["id"]
    listed = client.get("/api/scenarios").json()
    assert [s["id"] for s in listed] == [sid]
    assert listed[0]["runs"] == 4 and listed[0]["forget_classes"] == [3] and listed[0]["model"] == "mlp"
    assert client.get(f"/api/scenarios/{sid}").json()["forget_size"] == comparison.scenario["forget_size"]
    screen = client.get(f"/api/scenarios/{sid}/runs").json()
    assert screen["scenario"]["id"] == sid
    assert [r["method"] for r in screen["runs"]] == ["original", "retrain", "ft", "ga"]
    for row in screen["runs"]:
        assert set(CONTRACT_KEYS) <= set(row["metrics"])
        assert row["status"] == "done" and row["run_time_s"] > 0 and "details" not in row
    expected = {r.run_id: r.metrics["ua"] for r in comparison.runs}
    assert {r["id"]: r["metrics"]["ua"] for r in screen["runs"]} == pytest.approx(expected)
    assert client.get(f"/api/scenarios/{sid}/runs", params={"status": "failed"}).json()["runs"] == []
    assert_one_line_error(client.get(f"/api/scenarios/{sid}/runs", params={"status": "odd"}), 422, "'odd'")
    assert_one_line_error(client.get("/api/scenarios/0123456789abcdef/runs"), 404, "unknown scenario")
    assert_one_line_error(client.get("/api/scenarios/../runs"), None)
    assert_one_line_error(client.get("/api/scenarios/XYZ/runs"), 400, "'XYZ'", "malformed")


def test_screen_payload_carries_environments_once_and_honesty_fields(client, comparison):
    from unlearnlab import numerics

    sid = comparison.scenario["id"]
    payload = client.get(f"/api/scenarios/{sid}/runs").json()
    envs, rows = payload["environments"], payload["runs"]
    # every run of one request ran in one process: one manifest, sent once, referred to by id
    assert len(envs) == 1 and {r["environment_id"] for r in rows} == set(envs)
    (env,) = envs.values()
    assert env["data_fingerprint"] == comparison.scenario["dataset"]["fingerprint"]
    assert env["numerics"]["mode"] in numerics.MODES
    for row in rows:
        assert {"metric_notes", "avg_gap_keys", "warnings", "request_usable"} <= set(row)
        assert row["request_usable"] is True and row["warnings"] == []
        if row["metrics"].get("mia_efficacy") is None:
            assert "mia_efficacy" in row["metric_notes"]
    assert payload["scenario"]["request_usable"] is True
    assert all(s["request_usable"] is True for s in client.get("/api/scenarios").json())
    one = client.get(f"/api/runs/{rows[0]['id']}").json()
    assert one["environment_id"] == rows[0]["environment_id"]


def test_one_run_its_json_and_its_weights(client, comparison):
    ft = comparison.run("ft")
    run = client.get(f"/api/runs/{ft.run_id}").json()
    assert run["method"] == "ft" and run["hparams"] == ft.hparams and len(run["details"]["per_class_test"]) == 10
    doc = client.get(f"/api/runs/{ft.run_id}/json")
    assert "attachment" in doc.headers["content-disposition"]
    assert doc.json()["run"]["id"] == ft.run_id and doc.json()["scenario"]["id"] == comparison.scenario["id"]
    blob = client.get(f"/api/runs/{ft.run_id}/weights")
    assert blob.status_code == 200 and ".safetensors" in blob.headers["content-disposition"]
    from unlearnlab.runner import load_scenario

    model = load_scenario(comparison.scenario).make_model()
    model.load_state_dict(load(blob.content), strict=True)


def test_delete_run(client, comparison, store_copy):
    ga = comparison.run("ga").run_id
    assert client.delete(f"/api/runs/{ga}").json() == {"deleted": ga}
    assert_one_line_error(client.get(f"/api/runs/{ga}"), 404, ga)
    assert_one_line_error(client.delete(f"/api/runs/{ga}"), 404, ga)
    assert not (store_copy / "runs" / ga).exists()
    with Store(store_copy) as st:  # a run that is still being written cannot be deleted
        running = st.start_run(comparison.scenario["id"], "ft", {}, 0)
    assert_one_line_error(client.delete(f"/api/runs/{running}"), 409, "running")


BAD_IDS = ["nothex", "ABCDEF012345", "0123456789abc", "0123456789a", "..", "....", "%2e%2e", "abc%00def1234",
           "..%2F..%2Fetc%2Fpasswd", "0123456789ab%2F..%2F..", "%2e%2e%2f%2e%2e%2funlearnlab.db"]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("route", ["/api/runs/{}", "/api/runs/{}/weights", "/api/runs/{}/json",
                                   "/api/runs/{}/attack", "DELETE /api/runs/{}"])
def test_malformed_and_traversing_run_ids_are_refused(shared_client, bad, route):
    method, _, path = route.rpartition(" ")
    r = shared_client.request(method or "GET", path.format(bad))
    assert_one_line_error(r)


def test_unknown_well_formed_ids_are_404(shared_client):
    client = shared_client
    for path in ("/api/runs/0123456789ab", "/api/runs/0123456789ab/weights", "/api/runs/0123456789ab/json",
                 "/api/runs/0123456789ab/attack", "/api/jobs/0123456789ab", "/api/jobs/0123456789ab/events"):
        assert_one_line_error(client.get(path), 404, "0123456789ab")
    assert_one_line_error(client.post("/api/jobs/0123456789ab/cancel"), 404)
    assert_one_line_error(client.get("/api/jobs/not-a-job"), 400, "malformed")


def test_unknown_endpoints_methods_and_hosts_answer_one_line(client):
    assert_one_line_error(client.get("/api/nope"), 404, "/api/nope", "/docs")
    assert_one_line_error(client.put("/api/jobs"), 405, "PUT")
    assert_one_line_error(client.get("/api/health", headers={"host": "evil.example"}), 400, "evil.example")
    assert client.get("/api/health", headers={"host": "localhost:8000"}).status_code == 200
    assert client.get("/api/health", headers={"host": "[::1]:8000"}).status_code == 200


def test_a_symlinked_run_folder_cannot_leak_a_file(client, comparison, store_copy, tmp_path):
    ft = comparison.run("ft").run_id
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "weights.safetensors").write_bytes(b"secret")
    folder = store_copy / "runs" / ft
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    folder.symlink_to(outside, target_is_directory=True)
    r = client.get(f"/api/runs/{ft}/weights")
    assert_one_line_error(r, 400, "outside the store")


def test_demo_ends_with_the_command_that_opens_its_results(comparison, monkeypatch):
    from typer.testing import CliRunner

    from unlearnlab import api
    from unlearnlab.cli import app

    monkeypatch.setattr(api, "demo", lambda *a, **kw: [comparison])
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].endswith(f"unlearnlab serve --store {comparison.store}")


def test_real_http_server_streams_a_job(store_copy):
    """uvicorn in a thread on a free loopback port: health, a job, its events over real HTTP."""
    import json
    import time

    import httpx
    import uvicorn

    from unlearnlab.server import create_app

    from .conftest import SCENARIO

    server = uvicorn.Server(uvicorn.Config(create_app(store_copy), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 30
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        assert host == "127.0.0.1"
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/health").json()["status"] == "ok"
        job = httpx.post(f"{base}/api/jobs", json={**SCENARIO, "methods": []}).json()
        kinds = []
        with httpx.stream("GET", f"{base}/api/jobs/{job['id']}/events", timeout=60) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    kinds.append(json.loads(line[5:])["type"])
        assert kinds[0] == "job_queued" and kinds[-1] == "job_done" and kinds.count("run_finished") == 2
    finally:
        server.should_exit = True
        thread.join(30)
    assert not thread.is_alive()


def _mark_running(store_root, run_id):
    import sqlite3

    with sqlite3.connect(store_root / "unlearnlab.db") as db:
        db.execute("UPDATE runs SET status = 'running' WHERE id = ?", (run_id,))


def _reaper(calls):
    """Store.reap_stale as if every `running` row's process had died (how that is judged is the store's
    business; what the server owes is calling it)."""
    import sqlite3

    def reap(self):
        calls.append(self.root)
        with sqlite3.connect(self.root / "unlearnlab.db") as db:
            return db.execute("UPDATE runs SET status = 'failed', reason = 'interrupted' "
                              "WHERE status = 'running'").rowcount
    return reap


def test_the_server_reaps_stale_runs_at_start(store_copy, comparison, monkeypatch):
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    ft = comparison.run("ft").run_id
    _mark_running(store_copy, ft)
    calls = []
    monkeypatch.setattr(Store, "reap_stale", _reaper(calls))
    with TestClient(create_app(store_copy)) as c:
        assert calls and c.get(f"/api/runs/{ft}").json()["status"] == "failed"


def test_deleting_a_run_whose_process_died_reaps_it_first(client, comparison, store_copy, monkeypatch):
    ft = comparison.run("ft").run_id
    _mark_running(store_copy, ft)
    calls = []
    monkeypatch.setattr(Store, "reap_stale", _reaper(calls))
    r = client.delete(f"/api/runs/{ft}")
    assert r.status_code == 200, r.text
    assert calls and client.get(f"/api/runs/{ft}").status_code == 404


def test_openapi_documents_what_the_server_sends(shared_client):
    spec = shared_client.get("/openapi.json").json()
    error = {"$ref": "#/components/schemas/Error"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    ops = {(m, p): op for p, methods in spec["paths"].items() for m, op in methods.items()}
    for (method, path), op in ops.items():
        for code, response in op["responses"].items():
            if code[0] in "45":  # the 422 of the one-line handler is a string, not FastAPI's list
                assert response["content"]["application/json"]["schema"] == error, (method, path, code)
        assert "400" in op["responses"], (method, path)  # the Host check, a malformed id or header
    for path in ("/api/compare", "/api/runs/{run_id}/audits", "/api/scenarios/{scenario_id}/inputs",
                 "/api/audits/{audit_id}/samples"):
        assert {"400", "404", "422"} <= set(ops["get", path]["responses"]), path
    assert {"413", "422", "429"} <= set(ops["post", "/api/jobs"]["responses"])
    assert {"400", "413", "429"} <= set(ops["post", "/api/runs/{run_id}/audit"]["responses"])
    patterns = {p["name"]: p["schema"]["pattern"] for op in ops.values() for p in op.get("parameters", [])
                if p["in"] == "path"}
    assert patterns == {"run_id": "^[0-9a-f]{12}$", "job_id": "^[0-9a-f]{12}$", "scenario_id": "^[0-9a-f]{16}$",
                        "audit_id": "^[0-9a-f]{16}$"}
    sent = shared_client.get("/api/compare", params={"a": "x"})
    assert sent.status_code == 422 and isinstance(sent.json()["detail"], str)


def test_docs_work_offline(shared_client):
    """/docs names no outside host (FastAPI's default page loads Swagger UI from a CDN and was blank
    offline) and every file it references is served from the package."""
    import re

    page = shared_client.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"(https?:)?//", page.text), page.text
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(refs) == 3 and "'/openapi.json'" in page.text
    types = {}
    for ref in refs:
        r = shared_client.get(ref)
        assert r.status_code == 200 and len(r.content) > 0, ref
        types[ref.rsplit(".", 1)[-1]] = r.headers["content-type"]
    assert types["js"].startswith(("text/javascript", "application/javascript")) and types["css"].startswith("text/css")
