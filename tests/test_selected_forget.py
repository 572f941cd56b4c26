"""The point of a memorised: request on the CPU default (digits, cnn, the default recipe): fine-tuning, which
looks almost perfect on a random forget set of the same size, is far from θ_r on the most memorised points."""

from __future__ import annotations

import unlearnlab as ul


def test_ft_looks_good_on_random_but_not_on_memorised_points(tmp_path):
    # Measured (2-core AMD EPYC, CPU, portable numerics), |UA(ft) - UA(θ_r)| on 30 points, seeds 0, 1, 2:
    # random:30 0.000, 0.033, 0.000; memorised:30,k=8 0.267, 0.300, 0.400 (θ_r misclassifies them, ft keeps
    # them). The smallest difference over the seeds is 0.233; one seed is run here, against a margin of 0.15.
    gap = {}
    for spec in ("random:30", "memorised:30,k=8"):
        result = ul.run("digits", "cnn", spec, ["ft"], seed=0, store=tmp_path)
        ua = {m: result.run(m).metrics["ua"] for m in ("retrain", "ft")}
        gap[spec] = abs(ua["ft"] - ua["retrain"])
    assert gap["random:30"] <= 0.1
    assert gap["memorised:30,k=8"] - gap["random:30"] >= 0.15, gap
