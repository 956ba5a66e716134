"""Every module's README lists each of its inputs and outputs, so the tables cannot drift silently."""

from __future__ import annotations

import pytest

from tests.terraform.conftest import MODULES, TERRAFORM_ROOT, load_dir


@pytest.mark.parametrize("module", MODULES)
def test_readme_tables_cover_the_module(module: str) -> None:
    directory = TERRAFORM_ROOT / "modules" / module
    readme = (directory / "README.md").read_text()
    parsed = load_dir(directory)
    inputs = [name for block in parsed.get("variable", []) for name in block]
    outputs = [name for block in parsed.get("output", []) for name in block]
    assert inputs, f"{module} declares no variables"
    assert outputs, f"{module} declares no outputs"
    inputs_table = readme.split("## Inputs", 1)[1].split("## Outputs", 1)[0]
    outputs_table = readme.split("## Outputs", 1)[1]
    missing = [name for name in inputs if f"| `{name}` |" not in inputs_table]
    missing += [name for name in outputs if f"| `{name}` |" not in outputs_table]
    assert not missing, f"terraform/modules/{module}/README.md does not document: {', '.join(missing)}"
    for name in inputs:
        body = next(block[name] for block in parsed["variable"] if name in block)
        assert body.get("description"), f"{module}: variable {name} has no description"
        assert body.get("type"), f"{module}: variable {name} has no type"
    for name in outputs:
        body = next(block[name] for block in parsed["output"] if name in block)
        assert body.get("description"), f"{module}: output {name} has no description"
