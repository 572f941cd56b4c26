"""The plugin's own test: it registers, runs on a small request and forgets more than θ_o."""

import numpy as np

import unlearnlab as ul
import unlearnlab_example  # noqa: F401  (registers bounded_forget)


def test_bounded_forget_runs_and_raises_forget_error(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 60)
    x = (rng.normal(0, 2, size=(3, 8))[y] + rng.normal(0, 1, size=(180, 8))).astype(np.float32)
    data = ul.from_arrays(x, y, seed=0)
    result = ul.run(dataset=data, model="mlp", forget="class:1", methods=["bounded_forget"], train={"epochs": 5},
                    overrides={"bounded_forget": {"lr": 0.05}}, store=tmp_path)
    run = result.run("bounded_forget")
    assert run.status == "done"
    assert run.metrics["ua"] > result.run("original").metrics["ua"]
