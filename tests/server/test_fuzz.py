"""Schemathesis over every operation of the API (job submission excepted: it trains, and
test_jobs.py covers it), on a copy of the small stored scenario, with the standard checks: no
5xx, documented status codes and content types, bodies that match their schema. The examples
are capped so that the run takes about a minute on a 2-core machine (measured: 2,199 requests in
25 s on a shared 2-core AMD EPYC)."""

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
    from unlearnlab.server import create_app

    dest = tmp_path_factory.mktemp("fuzz") / "store"
    shutil.copytree(server_store[0], dest)
    app = create_app(dest)
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
    yield schema.exclude(method="POST", path="/api/jobs")
    app.state.jobs.shutdown()
    app.state.analyses.close()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          database=None)  # the same cases on every run: a failure in CI reproduces
def test_every_operation_answers_as_documented(case):
    case.call_and_validate(checks=CHECKS)
