"""Starting a script as a terminal or honcho would, whatever started the tests.

A shell started in the background (`make test &`, some CI runners) ignores SIGINT, its
children inherit that, and bash can neither trap nor reset a signal ignored on entry: a
script's tests about Ctrl-C would then test nothing but that. `with_sigint(command)` runs
`command` with SIGINT at its default (a Python that resets it, then execs the command: the
same process, so its pid and session are the caller's)."""

from __future__ import annotations

import sys

_RESET_THEN_EXEC = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def with_sigint(*command: str) -> list[str]:
    return [sys.executable, "-c", _RESET_THEN_EXEC, *command]
