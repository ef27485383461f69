"""`opsctl runbooks render` on the command line: where output goes, exit codes and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import REPO_ROOT, copy_example, run

AT = "2026-11-23T12:00Z"


def test_html_goes_to_site_in_the_repository(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "ops")
    result = run("runbooks", "render", "--at", AT, "--no-git", root=root)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"opsctl runbooks: wrote 25 pages to {root / 'site'}; start at {root / 'site' / 'index.html'}\n"
    assert (root / "site" / "pipelines" / "aggregate_profit_investors.html").is_file()
    assert (root / "site" / "assets" / "site.css").is_file()


def test_markdown_goes_to_docs_runbooks_and_a_second_render_replaces_it(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "ops")
    assert run("runbooks", "render", "--format", "md", "--at", AT, root=root).exit_code == 0
    index = root / "docs" / "runbooks" / "README.md"
    assert "# Acme Data: who owns what, who is on call" in index.read_text("utf-8")
    ownership = root / "ownership.yaml"
    text = ownership.read_text("utf-8")
    start = text.index("  - id: daily_growth_experiments")
    end = text.index("  # --- investor pipelines")
    ownership.write_text(text[:start] + text[end:], encoding="utf-8")
    again = run("runbooks", "render", "--format", "md", "--at", AT, root=root)
    assert again.exit_code == 0, again.output
    assert "removed 1 stale" in again.stderr
    assert not (root / "docs" / "runbooks" / "pipelines" / "daily_growth_experiments.md").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "pdf"], "opsctl: --format: 'pdf' is not one of md, html\n"),
        (["--format", "htm"], "opsctl: --format: 'htm' is not one of md, html (did you mean 'html'?)\n"),
        (["--at", "soon"], None),
    ],
)
def test_bad_options_are_one_line_usage_errors(args: list[str], message: str | None, tmp_path: Path) -> None:
    result = run("runbooks", "render", "--out", str(tmp_path / "out"), *args, root=REPO_ROOT)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    if message is not None:
        assert result.stderr == message
    assert not (tmp_path / "out").exists()


def test_an_unwritable_out_is_a_one_line_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = run("runbooks", "render", "--out", str(blocker / "site"), "--no-git", root=REPO_ROOT)
    assert result.exit_code == 2
    assert result.stderr == f"opsctl: --out: cannot write {str(blocker / 'site')!r}: Not a directory\n"


def test_an_out_with_somebody_elses_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("ours", encoding="utf-8")
    result = run("runbooks", "render", "--format", "md", "--out", str(tmp_path), "--no-git", root=REPO_ROOT)
    assert result.exit_code == 2
    assert result.stderr == (
        f"opsctl: --out: {str(tmp_path)!r} has files that opsctl did not write; choose a new or empty folder\n"
    )


def test_a_template_error_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "ops")
    assert run("runbooks", "template", "service.html.j2", root=root).exit_code == 0
    template = root / "runbooks" / "templates" / "service.html.j2"
    template.write_text(template.read_text("utf-8").replace("{{ s.description }}", "{{ s.summary }}"), encoding="utf-8")
    result = run("runbooks", "render", "--out", str(tmp_path / "out"), "--no-git", root=root)
    assert result.exit_code == 1
    assert result.stderr == (
        "opsctl: runbooks/templates/service.html.j2:16:22: 'opsctl.model.Service object' has no attribute 'summary' "
        "(rendering services/dbt-platform.html)\n"
    )
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_missing_service_runbook_points_at_the_catalog(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "ops")
    (root / "runbooks" / "services" / "kafka-streaming.md").unlink()
    result = run("runbooks", "render", "--out", str(tmp_path / "out"), root=root)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("service_catalog/platform.yaml:")
    assert lines[0].endswith("error: runbook 'runbooks/services/kafka-streaming.md' does not exist")
    assert lines[-1] == "opsctl: the ops repository has 1 error; run `opsctl validate` to see all"


def test_a_new_repository_renders_with_the_shipped_templates(tmp_path: Path) -> None:
    target = tmp_path / "ops"
    assert run("init", str(target), "--team", "analytics", "--team-name", "Analytics").exit_code == 0
    assert not (target / "runbooks" / "templates").exists()
    for fmt in ("html", "md"):
        result = run("runbooks", "render", "--format", fmt, "--no-git", root=target)
        assert result.exit_code == 0, result.output
    page = (target / "site" / "pipelines" / "daily_orders.html").read_text("utf-8")
    assert "Alex Example" in page and "Shop database replica unavailable" in page
    assert "None written yet: add <code>monitoring</code>" in page  # an empty section says what to write
    checked = run("validate", root=target)
    assert checked.exit_code == 0 and checked.stdout == "", checked.output


def test_validate_imports_jinja2_only_for_a_repository_with_templates(tmp_path: Path) -> None:
    import subprocess
    import sys

    target = tmp_path / "ops"
    assert run("init", str(target)).exit_code == 0
    with_template = copy_example(tmp_path / "example")
    assert run("runbooks", "template", "pipeline.md.j2", root=with_template).exit_code == 0
    script = (
        "import sys\n"
        "from opsctl.cli.main import cli\n"
        "try:\n"
        "    cli.main(['--root', sys.argv[1], 'validate'], standalone_mode=False)\n"
        "finally:\n"
        "    print('JINJA', 'jinja2' in sys.modules, file=sys.stderr)\n"
    )
    for root, expected in ((target, "JINJA False"), (with_template, "JINJA True")):
        done = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, check=False)
        assert expected in done.stderr, done.stderr


def test_runbooks_template_lists_copies_and_refuses_to_overwrite(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "ops")
    listed = run("runbooks", "template", root=root)
    assert listed.exit_code == 0
    assert "pipeline.html.j2\n" in listed.stdout and "assets/site.css\n" in listed.stdout
    copied = run("runbooks", "template", "index.html.j2", root=root)
    assert copied.exit_code == 0
    assert copied.stderr == "opsctl runbooks: wrote runbooks/templates/index.html.j2, a copy of the shipped index.html.j2\n"
    assert "index.html.j2  (overridden in runbooks/templates/)\n" in run("runbooks", "template", root=root).stdout
    again = run("runbooks", "template", "index.html.j2", root=root)
    assert again.exit_code == 2
    assert again.stderr == (
        "opsctl: runbooks/templates/index.html.j2 exists already: edit it, or delete it to start again from the shipped one\n"
    )
    unknown = run("runbooks", "template", "pipline.html.j2", root=root)
    assert unknown.exit_code == 2
    assert unknown.stderr == (
        "opsctl: no template named 'pipline.html.j2' (did you mean 'pipeline.html.j2'?); `opsctl runbooks template` lists them\n"
    )
    assert run("validate", root=root).exit_code == 0
