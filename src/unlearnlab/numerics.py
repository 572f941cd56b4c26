"""Portable numerics: the same seed gives the same bits on any x86-64 CPU with AVX2.

Training amplifies last-bit differences, and the CPU libraries under PyTorch and NumPy each pick
their kernels by the CPU they run on. Measured on torch 2.13.0 (CPU wheel), an AMD EPYC with
AVX-512 against emulated Intel CPUs (`qemu-x86_64 -cpu Haswell`, `-cpu EPYC`; see
docs/numerics.md), five libraries decide the bits, and each has a switch:

=================  ========================  ===================================================
library            switch                    why
=================  ========================  ===================================================
ATen (torch ops)   ATEN_CPU_CAPABILITY=avx2  AVX-512 kernels (log_softmax, reductions) round
                                             differently from the AVX2 ones
oneDNN (conv)      ONEDNN_MAX_CPU_ISA=AVX2   its JIT picks AVX-512 convolution kernels
MKL (matmul, exp)  MKL_CBWR=COMPATIBLE       MKL takes one AVX2 path on Intel, another on AMD;
                                             MKL_CBWR=AVX2 pins Intel only, COMPATIBLE both
OpenBLAS (NumPy)   OPENBLAS_CORETYPE=Haswell NumPy's matmul kernel follows the CPU
NumPy SIMD         NPY_DISABLE_CPU_FEATURES  np.exp / np.log have AVX-512 loops
=================  ========================  ===================================================

and, independently of the CPU, the number of threads a reduction is split over: portable runs
use one intra-op thread (`compute_threads`).

Every switch is read when its library first loads or first computes, so `apply()` runs when
`unlearnlab` is imported, before it imports NumPy or torch; a switch the user set in the
environment is respected (and reported). `UNLEARNLAB_NUMERICS=native` turns the whole mode off
for the fastest kernels of this CPU. `manifest()` says what is in force, and `check()` verifies
it: a few fixed computations whose bits in portable mode are known for this torch build.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache, wraps
from typing import Any

SWITCH = "UNLEARNLAB_NUMERICS"
MODES = ("portable", "native")

#: Every NumPy name for an AVX-512 dispatch target (NumPy 1.x names, then 2.x's), so its
#: AVX2 loops run. Unknown names are ignored by NumPy.
_NPY_AVX512 = ("AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR "
               "X86_V4")

PORTABLE_ENV: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "COMPATIBLE",
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": _NPY_AVX512,
}

#: Switches read when NumPy is imported (torch reads its own at first use, so a late import of ours is fine).
_READ_AT_NUMPY_IMPORT = ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")

#: sha256[:12] of `_canary()` in portable mode, by torch version: the same on an AMD EPYC
#: (AVX-512), an emulated Intel Haswell and an emulated AMD EPYC (see docs/numerics.md).
KNOWN_CANARIES: dict[str, dict[str, str]] = {
    "2.13.0": {"mkl_matmul": "5628b0068ea9", "mkl_exp": "dc52e4cd9e54", "aten_log_softmax": "b7279bc0df61",
               "onednn_conv": "cbe18949b24a", "openblas_matmul": "dbab4b58d0cf", "numpy_exp_log": "3c99d469a688"},
}

_state: dict[str, Any] = {}


def _mode_from_env() -> str:
    mode = os.environ.get(SWITCH, "portable").strip().lower() or "portable"
    return mode if mode in MODES else "invalid"


def _cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (Linux); None where they cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def apply() -> dict[str, Any]:
    """Set the portable switches (unless the user set them or chose native); idempotent.

    Must run before NumPy and torch compute anything: `unlearnlab/__init__.py` calls it first.
    """
    if _state:
        return _state
    mode = _mode_from_env()
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    flags = _cpu_flags()
    notes: list[str] = []
    applied: dict[str, str] = {}
    user_set: dict[str, str] = {}
    if mode == "invalid":
        notes.append(f"{SWITCH}={os.environ.get(SWITCH)!r} is not one of {', '.join(MODES)}; running native")
        mode = "native"
    if mode == "portable" and not x86:
        notes.append(f"portable numerics exist for x86-64 CPUs only; this is {platform.machine()}")
    elif mode == "portable" and flags is not None and not {"avx2", "fma"} <= flags:
        notes.append("this CPU lacks AVX2/FMA, so it cannot run the portable kernels; results differ from AVX2 CPUs")
    elif mode == "portable":
        for key, value in PORTABLE_ENV.items():
            if key in os.environ:
                if os.environ[key] != value:
                    user_set[key] = os.environ[key]
                    notes.append(f"{key}={os.environ[key]} set in the environment overrides the portable {value}")
                continue
            if key in _READ_AT_NUMPY_IMPORT and "numpy" in sys.modules:
                notes.append(f"numpy was imported before unlearnlab, so {key} came too late; import unlearnlab first")
            os.environ[key] = value
            applied[key] = value
    _state.update(mode=mode, applied=applied, user_set=user_set, notes=notes)
    return _state


def portable() -> bool:
    """True when the portable mode was requested and nothing overrides a switch."""
    st = apply()
    return st["mode"] == "portable" and not st["user_set"] and not st["notes"]


@contextmanager
def compute_threads() -> Iterator[None]:
    """One intra-op thread for torch and the BLAS in portable mode (a reduction's result depends on
    how many threads share it); nothing changes in native mode."""
    if apply()["mode"] != "portable":
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)


def with_compute_threads(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: run `fn` inside `compute_threads()`."""
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with compute_threads():
            return fn(*args, **kwargs)

    return wrapper


def _digest(array) -> str:
    return hashlib.sha256(array.tobytes()).hexdigest()[:12]


def _canary() -> dict[str, str]:
    """Fixed computations, one per library that picks kernels by CPU (bits hashed)."""
    import numpy as np
    import torch

    with compute_threads():
        g = torch.Generator().manual_seed(0)
        a = torch.randn(96, 77, generator=g)
        b = torch.randn(77, 33, generator=g)
        # Sized like the small CNN's layers: oneDNN keeps its AVX2 kernels for tiny convolutions.
        img = torch.randn(64, 16, 8, 8, generator=g, requires_grad=True)
        w = torch.randn(32, 16, 3, 3, generator=g, requires_grad=True)
        conv = torch.nn.functional.conv2d(img, w, padding=1)
        conv.square().sum().backward()
        rng = np.random.default_rng(0)
        u, v = rng.normal(size=(200, 300)), rng.normal(size=(300, 100))
        with torch.no_grad():
            return {
                "mkl_matmul": _digest((a @ b).numpy()),
                "mkl_exp": _digest(torch.exp(a).numpy()),
                "aten_log_softmax": _digest(torch.log_softmax(a, dim=1).numpy()),
                "onednn_conv": _digest(np.concatenate([conv.numpy().ravel(), w.grad.numpy().ravel()])),
                "openblas_matmul": _digest(u @ v),
                "numpy_exp_log": _digest(np.concatenate([np.exp(u).ravel(), np.log1p(np.abs(u)).ravel()])),
            }


@lru_cache(maxsize=1)
def check() -> dict[str, Any]:
    """Verify the portable mode on this machine: {"verified": bool | None, "differs": [...]}.

    None when no reference is known for this torch version (the mode is then applied but unverified).
    """
    import torch

    version = torch.__version__.split("+")[0]
    known = KNOWN_CANARIES.get(version)
    got = _canary()
    if not known:
        return {"verified": None, "canary": got, "differs": [], "reason": f"no reference bits for torch {version}"}
    differs = sorted(k for k, h in known.items() if got.get(k) != h)
    return {"verified": not differs, "canary": got, "differs": differs}


@lru_cache(maxsize=1)
def _static_manifest() -> dict[str, Any]:
    import numpy as np
    import torch

    from . import __version__

    versions: dict[str, str | None] = {"unlearnlab": __version__, "python": platform.python_version(),
                                       "torch": torch.__version__, "numpy": np.__version__}
    for name, module in (("scipy", "scipy"), ("scikit-learn", "sklearn"), ("safetensors", "safetensors")):
        mod = sys.modules.get(module)
        if mod is None:
            try:
                mod = __import__(module)
            except ImportError:
                mod = None
        versions[name] = getattr(mod, "__version__", None)
    st = apply()
    verification = check() if st["mode"] == "portable" else {"verified": None, "differs": []}
    is_portable = portable() and verification["verified"] is not False
    notes = list(st["notes"])
    if verification["verified"] is False:
        notes.append("portable kernels requested but these differ from the reference bits: "
                     + ", ".join(verification["differs"]))
    elif st["mode"] == "portable" and verification["verified"] is None:
        notes.append(verification.get("reason", "unverified"))
    return {
        "versions": versions,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "numerics": {
            "mode": st["mode"],
            "portable": is_portable,
            "verified": verification["verified"],
            "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "switches": {k: os.environ.get(k) for k in PORTABLE_ENV},
            "notes": notes,
        },
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
    }


def manifest(device: Any = None, data_fingerprint: str | None = None) -> dict[str, Any]:
    """The environment a number was computed in: versions, device, CPU and its kernels, threads,
    determinism settings and the data fingerprint. Stored with every run."""
    import torch

    out = dict(_static_manifest())
    dev = torch.device(device) if device is not None else torch.device("cpu")
    out["device"] = str(dev)
    if dev.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(dev)
        out["cuda"] = torch.version.cuda
        out["cudnn"] = torch.backends.cudnn.version()
    out["threads"] = {"torch": torch.get_num_threads(), "torch_interop": torch.get_num_interop_threads()}
    out["determinism"] = {
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "one_thread_per_job": apply()["mode"] == "portable",
    }
    if data_fingerprint is not None:
        out["data_fingerprint"] = data_fingerprint
    return out


def summary(env: dict[str, Any]) -> str:
    """One line for tables and logs: where a number came from and whether it is portable."""
    num = env.get("numerics", {})
    kind = ("portable" if num.get("portable") else
            "portable requested, not in force" if num.get("mode") == "portable" else "native")
    threads = env.get("threads", {}).get("torch")
    cores = f" ({env['cpu_count']} cores)" if env.get("cpu_count") else ""
    parts = [f"torch {env.get('versions', {}).get('torch', '?')}", f"{env.get('device', '?')}",
             f"{env.get('cpu', '?')}{cores}", f"{num.get('aten_cpu_capability', '?')} kernels ({kind})"]
    if threads is not None:
        parts.append(f"{threads} thread{'s' if threads != 1 else ''}")
    if env.get("data_fingerprint"):
        parts.append(f"data {env['data_fingerprint'][:12]}")
    return ", ".join(parts)


def differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two manifests (what to look at when numbers differ)."""
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += differences(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append(f"{prefix}{key}")
    return out


def identity(env: dict[str, Any]) -> str:
    """What must match for two machines to give the same bits: "portable" for every machine in
    portable mode; otherwise this CPU, its kernel level and the thread count (cache keys use it)."""
    num = env.get("numerics", {})
    if num.get("portable"):
        return "portable"
    return "native/" + "/".join(str(v) for v in (env.get("cpu"), num.get("aten_cpu_capability"),
                                                env.get("threads", {}).get("torch"), env.get("device")))
