"""The audit on the default request (digits, cnn, forget class 3, N = 16): retraining audited
against other retrains is not distinguished by any test, θ_o (no unlearning at all) is
distinguished by every one, with the smallest p-value the swaps allow."""

import pytest

import unlearnlab as ul

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def audits(default_classwise, default_store):
    runs = {m: default_classwise.run(m).run_id for m in ("retrain", "original")}
    return {m: ul.audit(run_id, store=default_store) for m, run_id in runs.items()}


def test_retrain_against_other_retrains_is_not_distinguished(audits):
    res = audits["retrain"]
    assert res["refs"] == 16
    # each test has a 5 % false-positive rate; six tests of one perfect unlearner: allow one
    readings = list(res["verdicts"].values())
    assert readings.count("distinguishable") <= 1, res["verdicts"]


def test_the_original_model_is_distinguished(audits):
    res = audits["original"]
    smallest = 1 / (res["test"]["permutations"] + 1)
    for stat in (res["ulira"]["auc"], res["forgetting_quality_two_sided"], res["klom"]["forget"]["median"],
                 res["lira"]["after"]["online"]["auc"]):
        assert stat["p"] == smallest, stat
    assert res["verdicts"]["ulira_auc"] == res["verdicts"]["klom_forget_median"] == "distinguishable"
    # LiRA sees θ_o's membership on D_f (the "before" baseline)
    assert res["lira"]["before"]["online"]["auc"]["value"] > 0.95
