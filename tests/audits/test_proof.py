"""The audit's calibration on the default request (digits, cnn, forget class 3, N = 16):
retraining audited against other retrains lies within the null's interval on every statistic,
θ_o (no unlearning at all) lies clearly outside it, on the bad side."""

import pytest

import unlearnlab as ul

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def audits(default_classwise, default_store):
    runs = {m: default_classwise.run(m).run_id for m in ("retrain", "original")}
    return {m: ul.audit(run_id, store=default_store) for m, run_id in runs.items()}


def test_retrain_against_other_retrains_is_within_the_null(audits):
    res = audits["retrain"]
    assert res["refs"] == 16
    for stat in (res["ulira"]["accuracy"], res["forgetting_quality"], res["klom"]["forget"]["median"]):
        low, high = stat["null_ci"]
        assert low <= stat["value"] <= high, stat
    assert set(res["verdicts"].values()) == {"within null"}


def test_the_original_model_is_clearly_outside_the_null(audits):
    res = audits["original"]
    assert res["ulira"]["accuracy"]["ci"][0] > res["ulira"]["accuracy"]["null_ci"][1]
    assert res["forgetting_quality"]["ci"][1] < res["forgetting_quality"]["null_ci"][0]
    assert res["klom"]["forget"]["median"]["ci"][0] > res["klom"]["forget"]["median"]["null_ci"][1]
    assert set(res["verdicts"].values()) == {"distinguishable"}
    # LiRA sees θ_o's membership on D_f (the "before" baseline)
    assert res["lira"]["before"]["online"]["auc"]["value"] > 0.95
