"""Schemathesis over every operation of the API, on a copy of the small stored scenario, with the
standard checks: no 5xx, documented status codes and content types, bodies that match their
schema. No job worker starts (accepted jobs only queue), so nothing trains; job submission is
fuzzed on its own, where its queue can fill up (429). The examples are capped so that the run
takes well under a minute on a 2-core machine (measured: 2,208 requests, 30 of them accepted jobs,
in 24 s on a shared 2-core AMD EPYC)."""

from __future__ import annotations

import copy
import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 100


@pytest.fixture(scope="module")
def api_schema(server_store, tmp_path_factory):
    """The app's own OpenAPI document, with the stored scenario's and a finished run's ids as examples
    of GET path parameters, so that generated requests reach stored data and not only 404s."""
    dest = tmp_path_factory.mktemp("fuzz") / "store"
    shutil.copytree(server_store[0], dest)
    app = _app(dest)
    comparison = server_store[1]
    examples = {"scenario_id": comparison.scenario["id"], "run_id": comparison.run("ft").run_id}
    spec = copy.deepcopy(app.openapi())
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method != "get" or path == "/api/compare":  # compare's real pair would start UMAP (slow)
                continue
            for p in op.get("parameters", []):
                if p["in"] == "path" and p["name"] in examples:
                    p["example"] = examples[p["name"]]
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    yield schema
    _close(app)


def _app(root):
    """The app over `root`, with a job worker that never starts: a request accepted by mistake queues
    and is cancelled at the end, and nothing trains during the fuzz run."""
    from unlearnlab.server import create_app

    app = create_app(root)
    app.state.jobs._ensure_worker = lambda: None
    return app


def _close(app):
    assert app.state.jobs._thread is None
    app.state.jobs.shutdown()
    app.state.analyses.close()


schema = schemathesis.pytest.from_fixture("api_schema").exclude(method="POST", path="/api/jobs")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          database=None)  # the same cases on every run: a failure in CI reproduces
def test_every_operation_answers_as_documented(case):
    case.call_and_validate(checks=CHECKS)


@pytest.fixture(scope="module")
def submit_schema(tmp_path_factory):
    """Job submission alone, on an empty store: accepted jobs wait in the queue (until it is full:
    429), so validation is fuzzed without training anything."""
    app = _app(tmp_path_factory.mktemp("fuzz-submit") / "store")
    schema = schemathesis.openapi.from_dict(copy.deepcopy(app.openapi()))
    schema.app = app
    yield schema
    _close(app)


submit = schemathesis.pytest.from_fixture("submit_schema").include(method="POST", path="/api/jobs")


@submit.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          database=None)
def test_job_submission_answers_as_documented(case):
    case.call_and_validate(checks=CHECKS)
