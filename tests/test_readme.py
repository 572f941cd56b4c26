"""README promises that commands and code can be checked: its two set-up lines and its method example."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
EXAMPLE = ROOT / "examples" / "custom_method" / "src" / "unlearnlab_example" / "__init__.py"


def test_readme_opens_with_the_two_setup_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(first_block) == 2
    demo, tests = first_block
    assert demo.endswith("unlearnlab demo") and "torch==2.13.0" in demo
    assert "pytest" in tests and "'.[test]'" in tests and "torch==2.13.0" in tests


def test_add_your_own_method_shows_the_example_package_verbatim():
    section = README.split("## Add your own method", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert code == EXAMPLE.read_text()
    assert len(code.strip().splitlines()) <= 30
    toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    assert toml.strip() in (EXAMPLE.parents[2] / "pyproject.toml").read_text()


def _readme_tables():
    """README's demo tables by request, as `benchmarks/readme_tables.py` wrote them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "benchmarks" / "readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    section = README.split(module.BEGIN, 1)[1].split(module.END, 1)[0]
    parts = re.split(r"^Forget `([^`]+)`.*$", section, flags=re.M)
    return {request: module.untimed(body) for request, body in zip(parts[1::2], parts[2::2])}, module.untimed


def test_readme_demo_tables_reproduce_on_this_machine(default_classwise, default_random):
    """In portable numerics README's numbers (times aside) are this machine's, whatever its CPU."""
    import pytest

    import unlearnlab as ul
    from unlearnlab import numerics

    if not numerics.portable():
        pytest.skip("portable numerics are not in force here: " + "; ".join(numerics.apply()["notes"] or ["native"]))
    tables, untimed = _readme_tables()
    assert set(tables) == {"class:3", "random:0.1"}
    for request, result in (("class:3", default_classwise), ("random:0.1", default_random)):
        runs = sorted((r.to_contract() for r in result.runs),
                      key=lambda r: {"original": 0, "retrain": 1}.get(r["method"], 2))
        ours = untimed(ul.render([{**r, "cached": False} for r in runs]))
        theirs = tables[request].replace(" (cached)", "")
        # column widths follow the labels ("original (cached)"): compare cells, not padding
        strip = lambda t: [re.sub("-+", "-", line.replace(" ", "")) for line in t.strip().splitlines()  # noqa: E731
                           if line.strip()]
        assert strip(ours) == strip(theirs), (request, ours)
