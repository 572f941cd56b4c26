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
    """benchmarks/readme_tables.py, which writes README's demo tables and parses them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "benchmarks" / "readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_demo_tables_reproduce_on_this_machine(default_classwise, default_random):
    """In portable numerics README's numbers (times aside) are this machine's, whatever its CPU."""
    import pytest

    import unlearnlab as ul
    from unlearnlab import numerics
    from unlearnlab.methods import METHODS

    if not numerics.portable():
        pytest.skip("portable numerics are not in force here: " + "; ".join(numerics.apply()["notes"] or ["native"]))
    tables = _readme_tables()
    sections = tables.sections(README)
    assert set(sections) == {"class:3", "random:0.1"}
    for request, result in (("class:3", default_classwise), ("random:0.1", default_random)):
        theirs = tables.rows(sections[request])
        assert len(theirs) == 17 and set(theirs) <= {"original", *METHODS.names()}
        # a plugin method the suite registered before these runs may have run too: compare README's rows
        ours = tables.rows(ul.render([r.to_contract() for r in result.runs if r.method in theirs]))
        assert ours == theirs, request
