"""Key policy diffs and JSON documents, colored with the theme's variables."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.highlight import highlight
from textual.widgets import Static

ADDED = "$text-success on $success-muted"
REMOVED = "$text-error on $error-muted"
HUNK = "$text-accent"
HEADER = "bold"


def diff_content(lines: Sequence[str]) -> Content:
    """A unified diff, one Content: additions green, removals red, hunks in the accent color.

    The +/- signs are kept, so the diff reads the same without color (and at 80 columns
    long lines wrap rather than being cut)."""
    parts: list[str | tuple[str, str]] = []
    for index, line in enumerate(lines):
        if index:
            parts.append("\n")
        if line.startswith(("+++", "---")):
            parts.append((line, HEADER))
        elif line.startswith("+"):
            parts.append((line, ADDED))
        elif line.startswith("-"):
            parts.append((line, REMOVED))
        elif line.startswith("@@"):
            parts.append((line, HUNK))
        else:
            parts.append(line)
    return Content.assemble(*parts)


class DiffView(Static):
    """A key policy diff (current → proposed)."""

    def __init__(self, lines: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(diff_content(lines), id=id, classes="diff-view")
        self.lines = list(lines)


class JsonView(Static):
    """A JSON document, highlighted with the theme's colors (no TextArea)."""

    def __init__(self, text: str, *, id: str | None = None) -> None:
        super().__init__(highlight(text, language="json"), id=id, classes="json-view")
        self.text = text

    def show(self, text: str) -> None:
        self.text = text
        self.update(highlight(text, language="json"))
