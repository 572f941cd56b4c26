"""README promises that commands and code can be checked: its two set-up lines and its method example."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from tests.conftest import make_tiny_task
from unlearnlab.methods import build_method, load_method_file, run_method

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_opens_with_the_two_setup_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(first_block) == 2
    demo, tests = first_block
    assert demo.endswith("unlearnlab demo") and "torch==2.13.0" in demo
    assert "pytest" in tests and "'.[test]'" in tests and "torch==2.13.0" in tests


def test_add_a_method_example_runs(tmp_path, tiny_data, tiny_original):
    section = README.split("## Add a method", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    path = tmp_path / "my_method.py"
    path.write_text(code)
    load_method_file(path)
    name = re.search(r'@register_method\("([^"]+)"', code).group(1)
    task = make_tiny_task(tiny_data, tiny_original)
    method = build_method(name)
    result = run_method(method, tiny_original, task)
    n_f = len(task.forget_idx)
    assert result.steps == method.epochs * -(-n_f // 64) and result.samples == method.epochs * n_f
    moved = [not torch.equal(a, b) for a, b in zip(result.model.parameters(), tiny_original.parameters())]
    assert any(moved)
