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


TIMED = ("Time (s)", "Speed-up")


def _rows(table: str) -> dict[str, tuple[str, ...]]:
    """{method: its cells} of a markdown table, without padding, the "(cached)" mark or the timed columns."""
    lines = [line.strip().strip("|") for line in table.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].split("|")]
    keep = [i for i, h in enumerate(header) if h not in TIMED]
    out = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.split("|")]
        out[cells[0].replace(" (cached)", "")] = tuple(cells[i] for i in keep[1:])
    return out


def test_readme_demo_tables_reproduce_on_this_machine(default_classwise, default_random):
    """In portable numerics README's numbers (times aside) are this machine's, whatever its CPU."""
    import pytest

    import unlearnlab as ul
    from unlearnlab import numerics
    from unlearnlab.methods import METHODS

    if not numerics.portable():
        pytest.skip("portable numerics are not in force here: " + "; ".join(numerics.apply()["notes"] or ["native"]))
    begin = "<!-- demo-tables:begin (python benchmarks/readme_tables.py) -->"
    section = README.split(begin, 1)[1].split("<!-- demo-tables:end -->", 1)[0]
    parts = re.split(r"^Forget `([^`]+)`.*$", section, flags=re.M)
    tables = dict(zip(parts[1::2], parts[2::2]))
    assert set(tables) == {"class:3", "random:0.1"}
    for request, result in (("class:3", default_classwise), ("random:0.1", default_random)):
        theirs = _rows(tables[request])
        assert len(theirs) == 17 and set(theirs) <= {"original", *METHODS.names()}
        # a plugin method the suite registered before these runs may have run too: compare README's rows
        ours = _rows(ul.render([r.to_contract() for r in result.runs if r.method in theirs]))
        assert ours == theirs, request
