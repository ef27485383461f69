"""Golden cases: broken repositories and the exact lines validate prints for them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import CASES, Case, run

CASE_FILES = sorted((CASES / "validate").glob("*.case"))


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_validate_case(path: Path, tmp_path: Path) -> None:
    case = Case.parse(path)
    root = case.build(tmp_path / "repo", CASES / "validate" / "_base")
    result = run(*case.args, root=root)
    stdout = result.stdout.replace(str(root.resolve()), "<root>")  # where a message names the folder
    if os.environ.get("OPSCTL_UPDATE_GOLDEN"):
        case.update(stdout, result.exit_code)
        pytest.skip("golden output rewritten")
    assert stdout == case.stdout
    assert result.exit_code == case.exit_code
