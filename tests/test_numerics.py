"""Portable numerics: the switches, what the manifest reports, and the same bits on other CPUs.

The cross-CPU tests run Python under QEMU's user-mode emulation of other x86-64 CPUs (an Intel
Haswell: AVX2 and Intel's MKL code path; an AMD EPYC without AVX-512), so the claim "same seed,
same bits on any x86-64 CPU with AVX2" is checked against CPUs other than the one CI runs on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch

from unlearnlab import numerics

SRC = os.path.join(os.path.dirname(__file__), os.pardir, "src")
QEMU = shutil.which("qemu-x86_64")
OVERRIDDEN = [k for k in numerics.PORTABLE_ENV if os.environ.get(k) not in (None, numerics.PORTABLE_ENV[k])]
needs_portable = pytest.mark.skipif(bool(OVERRIDDEN) or os.environ.get(numerics.SWITCH, "portable") != "portable",
                                    reason=f"portable numerics overridden here ({', '.join(OVERRIDDEN) or 'native'})")


def python(code: str, env: dict[str, str] | None = None, cpu: str | None = None, timeout: int = 600) -> dict:
    """Run `code` in a fresh interpreter (optionally under QEMU as `cpu`); it prints one JSON line."""
    full = {k: v for k, v in os.environ.items() if k not in numerics.PORTABLE_ENV and k != numerics.SWITCH}
    full.update(PYTHONPATH=os.path.abspath(SRC), **(env or {}))
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    if cpu:
        cmd = [QEMU, "-cpu", cpu, *cmd]
    out = subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=timeout)
    # QEMU's user-mode emulator itself crashes now and then (a fresh-clone run once died of SIGSEGV inside TCG,
    # then passed twice in a row): a death by signal under emulation is retried, twice at most. A Python error
    # (a non-zero exit) or different bits still fail at once.
    for _ in range(2):
        if not (cpu and out.returncode < 0):
            break
        out = subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


MANIFEST = """
import json, unlearnlab
from unlearnlab import numerics
m = numerics.manifest()
print(json.dumps({"numerics": m["numerics"], "canary": numerics.check()["canary"]}))
"""

# θ_o of the default recipe on digits with the MLP (a few seconds natively, a minute emulated).
TRAIN = """
import hashlib, json, unlearnlab, torch
from unlearnlab import numerics
from unlearnlab.runner import prepare
from unlearnlab.training import RunContext, seed_everything, train_classifier
sc = prepare("digits", "mlp", "class:3", seed=0, train={"epochs": 3})
with numerics.compute_threads():
    seed_everything(0)
    m = sc.make_model()
    train_classifier(m, torch.as_tensor(sc.dataset.x_train), torch.as_tensor(sc.dataset.y_train), sc.train,
                     RunContext(device=torch.device("cpu"), seed=0))
h = hashlib.sha256(b"".join(v.numpy().tobytes() for v in m.state_dict().values())).hexdigest()
print(json.dumps({"weights": h, "portable": numerics.manifest()["numerics"]["portable"]}))
"""


@needs_portable
def test_portable_mode_is_in_force_in_this_process_and_verified():
    num = numerics.manifest()["numerics"]
    assert num["mode"] == "portable" and num["portable"], num["notes"]
    assert num["aten_cpu_capability"] == "AVX2"
    if torch.__version__.split("+")[0] in numerics.KNOWN_CANARIES:
        assert num["verified"] is True


def test_native_mode_sets_no_switch_and_says_so():
    got = python(MANIFEST, env={numerics.SWITCH: "native"})["numerics"]
    assert got["mode"] == "native" and not got["portable"]
    assert all(v is None for v in got["switches"].values())


def test_a_switch_set_by_the_user_wins_and_is_reported():
    got = python(MANIFEST, env={"ATEN_CPU_CAPABILITY": "default"})["numerics"]
    assert got["aten_cpu_capability"] == "DEFAULT" and not got["portable"]
    assert any("ATEN_CPU_CAPABILITY=default" in n for n in got["notes"])


def test_numpy_imported_first_is_reported():
    got = python("import numpy\n" + MANIFEST)["numerics"]
    assert not got["portable"] and any("numpy was imported before unlearnlab" in n for n in got["notes"])


def test_an_unknown_mode_falls_back_to_native_with_a_note():
    got = python(MANIFEST, env={numerics.SWITCH: "fast"})["numerics"]
    assert got["mode"] == "native" and any("'fast' is not one of portable, native" in n for n in got["notes"])


@needs_portable
def test_compute_threads_uses_one_thread_and_restores():
    before = torch.get_num_threads()
    with numerics.compute_threads():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_manifest_names_what_decides_the_numbers():
    env = numerics.manifest("cpu", "f" * 64)
    for key in ("versions", "cpu", "device", "threads", "determinism", "numerics", "data_fingerprint"):
        assert key in env
    assert env["versions"]["torch"] == torch.__version__
    line = numerics.summary(env)
    assert "torch" in line and "kernels" in line and "data ffffffffffff" in line
    other = json.loads(json.dumps(env))
    other["threads"]["torch"] = 7
    assert numerics.differences(env, other) == ["threads.torch"]
    if env["numerics"]["portable"]:
        assert numerics.identity(env) == "portable"
    else:
        assert numerics.identity(env).startswith("native/")
    assert numerics.identity(other) == numerics.identity(env) or not env["numerics"]["portable"]


qemu_cpus = pytest.mark.parametrize("cpu", ["Haswell", "EPYC"])
needs_qemu = pytest.mark.skipif(QEMU is None or os.uname().machine != "x86_64",
                                reason="qemu-x86_64 (Debian qemu-user) emulates the other CPUs")


@needs_portable
@needs_qemu
@qemu_cpus
def test_canary_bits_match_on_an_emulated_cpu(cpu):
    here = numerics.check()["canary"]
    there = python(MANIFEST, cpu=cpu)
    assert there["numerics"]["aten_cpu_capability"] == "AVX2"
    assert there["canary"] == here


@needs_portable
@needs_qemu
@qemu_cpus
def test_training_gives_the_same_weights_on_an_emulated_cpu(cpu):
    here = python(TRAIN)
    there = python(TRAIN, cpu=cpu)
    assert here["portable"] and there["portable"]
    assert there["weights"] == here["weights"]
