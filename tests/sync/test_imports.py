"""The vendor clients are imported only by the commands that talk to the vendors."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO_ROOT

PROBE = """
import sys
from click.testing import CliRunner
from opsctl.cli.main import cli
result = CliRunner().invoke(cli, ["--root", sys.argv[1], *sys.argv[2:]])
assert result.exit_code == 0, result.output
heavy = ("pagerduty", "slack_sdk", "httpx2", "opsctl.sync", "opsctl.vendors.pagerduty_api")
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in heavy or name in heavy)))
"""


def loaded_by(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO_ROOT), *args], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    return done.stdout.strip()


def test_whoisoncall_does_not_import_the_vendor_clients() -> None:
    assert loaded_by("whoisoncall") == ""


def test_the_sync_help_does_not_either() -> None:
    assert loaded_by("sync", "pagerduty", "--help") == ""
