"""Helpers shared by the tests: repositories from case files, and running the CLI."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner, Result

from opsctl.cli.main import cli

TESTS = Path(__file__).parent
CASES = TESTS / "cases"
REPO_ROOT = TESTS.parent


def read_tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text("utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


@dataclass
class Case:
    """A golden case: files patched onto a base repository, a command line, the expected result.

    Sections of a ``.case`` file::

        # what the case shows
        args: validate --at 2026-06-01T00:00:00Z
        --- path            the whole new content of a file (`!delete` removes it)
        +++ path            a hunk: `-` lines are replaced by `+` lines (first occurrence)
        === stdout          the exact expected standard output
        === exit N          the expected exit code
    """

    path: Path
    args: list[str]
    files: dict[str, str | None] = field(default_factory=dict)
    hunks: list[tuple[str, str, str]] = field(default_factory=list)
    stdout: str = ""
    exit_code: int = 0

    @classmethod
    def parse(cls, path: Path) -> Case:
        text = path.read_text("utf-8")
        case = cls(path, [])
        blocks = re.split(r"^(---|\+\+\+|===) (.*)$\n?", text, flags=re.MULTILINE)
        header = blocks[0]
        for line in header.splitlines():
            if line.startswith("args:"):
                case.args = shlex.split(line.removeprefix("args:"))
        for marker, name, body in zip(blocks[1::3], blocks[2::3], blocks[3::3], strict=True):
            if marker == "---":
                case.files[name] = None if body.strip() == "!delete" else body
            elif marker == "+++":
                old = "".join(line[1:] + "\n" for line in body.splitlines() if line.startswith("-"))
                new = "".join(line[1:] + "\n" for line in body.splitlines() if line.startswith("+"))
                case.hunks.append((name, old, new))
            elif name == "stdout":
                case.stdout = body
            elif name.startswith("exit"):
                case.exit_code = int(name.split()[1])
        return case

    def build(self, root: Path, base: Path) -> Path:
        files: dict[str, str] = read_tree(base)
        for name, content in self.files.items():
            if content is None:
                files.pop(name, None)
            else:
                files[name] = content
        for name, old, new in self.hunks:
            assert old in files[name], f"{self.path.name}: hunk for {name} does not match:\n{old}"
            files[name] = files[name].replace(old, new, 1)
        return write_tree(root, files)

    def update(self, stdout: str, exit_code: int) -> None:
        """Rewrite the expected sections (OPSCTL_UPDATE_GOLDEN=1), to be reviewed by a person."""
        text = self.path.read_text("utf-8")
        head = text.split("=== stdout", 1)[0]
        self.path.write_text(f"{head}=== stdout\n{stdout}=== exit {exit_code}\n", encoding="utf-8")


def copy_example(target: Path) -> Path:
    """The example org's files (not the code) in ``target``."""
    import shutil

    target.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "ownership.yaml", target)
    for folder in ("rotations", "service_catalog", "runbooks"):
        shutil.copytree(REPO_ROOT / folder, target / folder)
    return target


def run(*args: str, root: Path | None = None, input: str | None = None) -> Result:
    prefix = ["--root", str(root)] if root is not None else []
    return CliRunner().invoke(cli, [*prefix, *args], input=input, catch_exceptions=False)
