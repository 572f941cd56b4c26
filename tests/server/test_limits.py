"""Hostile or oversized inputs get one line and a 4xx, never a 500, a hang or unbounded memory."""

from __future__ import annotations

import pytest

from .helpers import assert_one_line_error


@pytest.mark.parametrize("indices, needles", [
    ("\u00b9", ("malformed",)),             # str.isdigit accepts it, int() does not
    ("0,\u0663", ("malformed",)),           # an Arabic-Indic digit
    ("1" * 2000, ("out of range",)),        # parsed as text, not by int()
    ("0," + "0" * 30 + "5", None),          # leading zeros are still index 5
])
def test_inputs_indices_are_parsed_strictly(shared_client, comparison, indices, needles):
    sid = comparison.scenario["id"]
    r = shared_client.get(f"/api/scenarios/{sid}/inputs", params={"indices": indices})
    if needles is None:
        assert r.status_code == 200, r.text
        assert len(r.json()["inputs"]) == 2
    else:
        assert_one_line_error(r, 422, *needles)


def test_inputs_refuses_an_index_of_thousands_of_digits(shared_client, comparison):
    sid = comparison.scenario["id"]
    assert_one_line_error(shared_client.get(f"/api/scenarios/{sid}/inputs", params={"indices": "7" * 5000}), 422,
                          "indices")


@pytest.mark.parametrize("header", [b"\xb9", b"1" * 50, b"-1"])  # b"\xb9" is '¹' in latin-1
def test_last_event_id_is_parsed_strictly(client, header):
    fake = _finished_job(client.app.state.jobs)
    r = client.get(f"/api/jobs/{fake.id}/events", headers={"Last-Event-ID": header})
    assert_one_line_error(r, 400, "Last-Event-ID")


def _finished_job(manager):
    """A finished job in the manager, without training anything."""
    from unlearnlab.server.jobs import AuditPlan, Job

    job = Job("0123456789ab", AuditPlan({}, "0" * 12, "0" * 16, "ft", {}, "retrain", 6))
    manager._jobs[job.id] = job
    job.finish("cancelled", "job_cancelled", reason="test")
    return job
