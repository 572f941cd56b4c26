"""The smallest generative request that trains, unlearns and samples (seconds on a 2-core CPU), shared by the
tests of the store, the API, the CLI and the browser views of generative runs."""

from __future__ import annotations

TINY = {"train": {"steps": 50, "batch_size": 32},
        "overrides": {"gen": {"width": 16, "depth": 1, "timesteps": 20, "n_per_class": 4, "sample_steps": 2,
                              "gallery": 2}, "ft_retain": {"steps": 2}}}


def tiny_generative_run(store):
    """A tiny DDPM on digits, class 3 forgotten, θ_o, θ_r and ft_retain stored in `store`; two gallery samples
    per class. Returns the `Comparison`."""
    import unlearnlab as ul

    return ul.api.run(model="ddpm", forget="class:3", methods=["ft_retain"], store=store, **TINY)
