"""The Build view's group picker (issue 13): on olivetti (a tiny olivettifaces.mat in the server's data root)
it lists the persons a job with this seed trains on, `unseen=N` holds N of them out, ticking some fills
`group:G,...` into the job, and the job runs; on data without groups there is no picker."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .conftest import get_json, one_method, shot, submit_job

JOB_TIMEOUT_MS = 180_000


def test_build_picks_persons_of_olivetti_and_runs_the_group_request(data_page, data_server, artifacts):
    page = data_page
    base, _root = data_server
    page.goto(f"{base}/#/build")
    page.wait_for_selector("form.build-form select[name=dataset]")
    page.select_option("select[name=dataset]", "digits")
    expect(page.locator("input[name='forget-class']")).to_be_visible()
    assert page.locator("[data-groups]").count() == 0  # digits has no groups: no picker

    page.select_option("select[name=dataset]", "olivetti")
    picker = page.locator(".group-picker[data-groups]")
    expect(picker).to_have_attribute("data-groups", "40")
    expect(page.locator("input[name=forget-group]")).to_have_count(40)
    expect(picker).to_contain_text("set unseen=N")

    # hold out 5 persons: they leave the list (they are the identity MIA's strangers) and are named
    page.fill("input[name='dataset.unseen']", "5")
    expect(picker).to_have_attribute("data-groups", "35")
    listed = get_json(f"{base}/api/datasets/groups?dataset=olivetti%3Aunseen%3D5&seed=0")["groups"]
    unseen = [g["group"] for g in listed if g["train"] == 0]
    trained = [g for g in listed if g["train"] > 0]
    assert len(unseen) == 5
    expect(picker).to_contain_text("5 unseen")
    for g in unseen:
        assert page.locator(f"input[name=forget-group][value='{g}']").count() == 0

    # ticking two persons selects the group request and fills it in
    pick = [trained[3]["group"], trained[0]["group"]]
    for g in pick:
        page.check(f"input[name=forget-group][value='{g}']")
    assert page.locator(".group-picker input[name=forget-kind]").is_checked()
    expect(picker.locator("code")).to_have_text(f"group:{trained[0]['group']},{trained[3]['group']}")
    shot(page, artifacts, "build-groups")

    one_method(page, "mlp", "ft", 1)
    posted = submit_job(page)
    sent = json.loads(posted.request.post_data)
    assert sent["dataset"] == "olivetti" and sent["dataset_params"] == {"unseen": 5}
    assert sent["forget"] == f"group:{trained[0]['group']},{trained[3]['group']}"
    job = posted.json()
    page.wait_for_selector(f"li.job[data-job='{job['id']}'][data-status=done]", timeout=JOB_TIMEOUT_MS)
    done = get_json(f"{base}/api/jobs/{job['id']}")
    scenario = get_json(f"{base}/api/scenarios/{done['scenario_id']}")
    assert scenario["forget_size"] == trained[0]["train"] + trained[3]["train"]

    # back to data without groups: the picker goes and the request falls back to classes
    page.select_option("select[name=dataset]", "digits")
    expect(page.locator("[data-groups]")).to_have_count(0)
    expect(page.locator("input[name=forget-kind]").first).to_be_checked()
    page.console.check()
