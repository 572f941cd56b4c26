"""The audit on the default request (digits, cnn, forget class 3, N = 16): retraining audited
against other retrains is not distinguished by any test, θ_o (no unlearning at all) is
distinguished by every one, with the smallest p-value the swaps allow."""

import pytest

import unlearnlab as ul

pytestmark = pytest.mark.slow


#: Six verdicts of one perfect unlearner: the family fails wrongly at most 1 % of the time when each p
#: must stay above 1 % / 6 (Bonferroni). 999 swaps make p as small as 0.001, so the bound can be crossed;
#: 5 partitions keep the statistics' cost at the default's (partitions x swaps).
FAMILY_ALPHA, SWAPS, PARTS = 0.01, 999, 5


@pytest.fixture(scope="module")
def audits(default_classwise, default_store):
    retrain, original = (default_classwise.run(m).run_id for m in ("retrain", "original"))
    return {"retrain": ul.audit(retrain, store=default_store, permutations=SWAPS, partitions=PARTS),
            "original": ul.audit(original, store=default_store)}


def _tested(res):
    """(name, statistic) of every verdict's statistic."""
    return {"ulira_accuracy": res["ulira"]["accuracy"], "ulira_auc": res["ulira"]["auc"],
            "forgetting_quality": res["forgetting_quality"],
            "forgetting_quality_two_sided": res["forgetting_quality_two_sided"],
            "klom_forget_median": res["klom"]["forget"]["median"],
            "lira_after_online_auc": res["lira"]["after"]["online"]["auc"]}


def test_retrain_against_other_retrains_is_not_distinguished(audits):
    res = audits["retrain"]
    assert res["refs"] == 16 and res["test"]["permutations"] == SWAPS
    tested = _tested(res)
    assert set(tested) == set(res["verdicts"])
    p = {name: stat["p"] for name, stat in tested.items()}
    assert min(p.values()) > FAMILY_ALPHA / len(p), p


def test_the_original_model_is_distinguished(audits):
    res = audits["original"]
    smallest = 1 / (res["test"]["permutations"] + 1)
    for stat in (res["ulira"]["auc"], res["forgetting_quality_two_sided"], res["klom"]["forget"]["median"],
                 res["lira"]["after"]["online"]["auc"]):
        assert stat["p"] == smallest, stat
    assert res["verdicts"]["ulira_auc"] == res["verdicts"]["klom_forget_median"] == "distinguishable"
    # LiRA sees θ_o's membership on D_f (the "before" baseline)
    assert res["lira"]["before"]["online"]["auc"]["value"] > 0.95
