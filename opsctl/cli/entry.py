"""The `opsctl` console script: the fast path first, then the full command line.

Kept to the standard library so that `opsctl whoisoncall` answered from compiled answers
(:mod:`opsctl.cli.answer_cache`) starts in a few milliseconds more than the interpreter itself.
"""

from __future__ import annotations


def main() -> None:
    import os
    import sys

    from opsctl.cli.answer_cache import try_answer

    if try_answer(sys.argv[1:], os.environ, sys.stdout):
        return
    from opsctl.cli.main import main as full

    full()
