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
