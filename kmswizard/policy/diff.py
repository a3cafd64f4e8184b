"""Unified diffs of key policies, as pretty JSON, optionally colored for a terminal."""

from __future__ import annotations

import difflib

from kmswizard.policy.document import Policy, render

_GREEN, _RED, _CYAN, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[36m", "\x1b[0m"


def policy_diff(before: Policy, after: Policy, name: str) -> list[str]:
    """Diff lines (no trailing newlines); empty when the policies are equal."""
    if before == after:
        return []
    return list(
        difflib.unified_diff(
            render(before).splitlines(),
            render(after).splitlines(),
            fromfile=f"{name} (current)",
            tofile=f"{name} (proposed)",
            lineterm="",
        )
    )


def colorize(lines: list[str]) -> list[str]:
    def paint(line: str) -> str:
        if line.startswith(("+++", "---")):
            return line
        if line.startswith("+"):
            return f"{_GREEN}{line}{_RESET}"
        if line.startswith("-"):
            return f"{_RED}{line}{_RESET}"
        if line.startswith("@@"):
            return f"{_CYAN}{line}{_RESET}"
        return line

    return [paint(line) for line in lines]
