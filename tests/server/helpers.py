"""Helpers of the API tests: read a job's server-sent events, check one-line errors."""

from __future__ import annotations

import json
import threading


def read_events(client, job_id: str, *, on_event=None, headers=None, params=None, timeout: float = 120.0):
    """Every SSE event of a job until its stream ends; a watchdog cancels the job after `timeout` s."""
    manager = client.app.state.jobs
    job = manager.get(job_id)
    watchdog = threading.Timer(timeout, lambda: manager.cancel(job))
    watchdog.start()
    events = []
    try:
        with client.stream("GET", f"/api/jobs/{job_id}/events", headers=headers, params=params) as r:
            assert r.status_code == 200, r.read()
            assert r.headers["content-type"].startswith("text/event-stream")
            kind = None
            for line in r.iter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    event = json.loads(line[5:])
                    assert event["type"] == kind
                    events.append(event)
                    if on_event is not None:
                        on_event(event)
    finally:
        watchdog.cancel()
    return events


def assert_one_line_error(response, status: int | tuple[int, ...] | None = None, *needles: str) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code in ((status,) if isinstance(status, int) else status), response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail, detail
    for needle in needles:
        assert needle in detail, (needle, detail)
    return detail
