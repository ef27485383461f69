"""The exceptions opsctl raises, and the exit code each means.

::

    OpsctlError                 base: a message a user can act on
    ├── UsageError              bad command-line input (exit 2)
    ├── RepoError               the ops repository has errors; carries the findings (exit 1)
    ├── GitError                a git command failed or a revision is unknown (exit 1)
    ├── TemplateError           a runbook template does not parse or render; carries file:line (exit 1)
    ├── ServiceError            a remote service refused or failed; names the service (exit 1)
    │   └── VendorError         the same, typed (opsctl.vendors.errors)
    └── ProblemsFound           the command ran and found what it checks for: validate's
                                errors, drift for --check, changes for diff --exit-code (exit 1)

Exit codes: 0 ok, 1 problems, 2 usage, 3 internal error. :func:`exit_code` decides them
for every exception, and the CLI (:mod:`opsctl.cli.main`) asks it and nothing else.
Tracebacks are never shown for these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsctl.model.findings import Finding
    from opsctl.model.locations import Location, SourceMap

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


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


class ProblemsFound(OpsctlError):
    """The command did its job and found problems it has already reported; ``str()`` may be empty."""


def raise_for_findings(findings: list[Finding], *, strict: bool = False) -> None:
    """:class:`ProblemsFound` when any finding is an error (or, with ``strict``, when there is any)."""
    if any(f.is_error for f in findings) or (strict and findings):
        raise ProblemsFound("")


def exit_code(exc: BaseException) -> int:
    """The exit code for an exception that ended a command: the one place that decides."""
    if isinstance(exc, OpsctlError):
        return exc.exit_code
    if isinstance(exc, BrokenPipeError):  # `opsctl schedule | head`: the reader left
        return EXIT_PROBLEMS
    return EXIT_INTERNAL
