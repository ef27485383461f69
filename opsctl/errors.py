"""The exceptions opsctl raises, and the exit code each means.

::

    OpsctlError                 base: a message a user can act on
    ├── UsageError              bad command-line input (exit 2)
    ├── RepoError               the ops repository has errors; carries the findings (exit 1)
    ├── GitError                a git command failed or a revision is unknown (exit 1)
    ├── TemplateError           a runbook template does not parse or render; carries file:line (exit 1)
    └── ServiceError            a remote service refused or failed; names the service (exit 1)

The CLI turns each into its one-line message and :func:`exit_code`; nothing else decides
exit codes. Tracebacks are never shown for these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsctl.model.findings import Finding
    from opsctl.model.locations import Location, SourceMap

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


class OpsctlError(Exception):
    """Base class: ``str(error)`` is a complete sentence for the user."""

    exit_code = EXIT_PROBLEMS


class UsageError(OpsctlError):
    """An option or argument is invalid, e.g. an unknown team or an unreadable time."""

    exit_code = EXIT_USAGE


class RepoError(OpsctlError):
    """The ops repository has errors that stop the command; ``findings`` lists them."""

    def __init__(self, findings: list[Finding], sources: SourceMap | None) -> None:
        self.findings = findings
        self.sources = sources
        count = sum(f.is_error for f in findings)
        super().__init__(f"the ops repository has {count} error{'s' if count != 1 else ''}; run `opsctl validate` to see all")


class GitError(OpsctlError):
    """A git command failed; the message says which and why."""


class TemplateError(OpsctlError):
    """A runbook template does not parse, names a field that does not exist, or fails while rendering.

    ``location`` is the template's file and line; ``problem`` says what is wrong there.
    """

    def __init__(self, problem: str, location: Location | None) -> None:
        self.problem = problem
        self.location = location
        super().__init__(f"{location}: {problem}" if location is not None else problem)


class ServiceError(OpsctlError):
    """A remote service (PagerDuty, Slack) failed; the message names it, never a token."""


def exit_code_for(findings: list[Finding], *, strict: bool = False) -> int:
    """0 clean, 1 when any error (or, with ``strict``, any warning)."""
    if any(f.is_error for f in findings):
        return EXIT_PROBLEMS
    if strict and findings:
        return EXIT_PROBLEMS
    return EXIT_OK
