"""The line under the header: where the user is in the wizard, and whether Apply writes."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

if TYPE_CHECKING:
    from kmswizard.tui.app import WizardApp

STEPS = ("Key", "Who", "What", "Preview", "Apply")


def step_content(current: int) -> Content:
    """The steps, ticked when done, with the current step highlighted (0-based index)."""
    parts: list[str | tuple[str, str]] = []
    for index, name in enumerate(STEPS):
        if index:
            parts.append((" \u203a ", "$text-muted"))
        if index < current:
            parts.append((f"✓ {name}", "$text-success"))
        elif index == current:
            parts.append((f" {index + 1} {name} ", "bold $text on $accent-muted"))
        else:
            parts.append((f"{index + 1} {name}", "$text-muted"))
    return Content.assemble(*parts)


class StepIndicator(Static):
    """The five steps, done ones ticked."""

    step: reactive[int] = reactive(0)

    def __init__(self, step: int) -> None:
        super().__init__(step_content(step))
        self.set_reactive(StepIndicator.step, step)

    def watch_step(self, step: int) -> None:
        self.update(step_content(step))


class DryRunToggle(Static):
    """Always says whether Apply writes; a click (or ctrl+d) toggles dry run."""

    def on_mount(self) -> None:
        self.tooltip = "Dry run: Apply shows what would be sent and writes nothing (ctrl+d)"
        self.watch(self.app, "dry_run", self._sync)

    def _sync(self, dry_run: bool) -> None:
        self.set_class(dry_run, "-on")
        self.update(
            " DRY RUN: nothing is written " if dry_run else "dry run: off"
        )

    def on_click(self, event: events.Click) -> None:
        event.stop()
        cast("WizardApp", self.app).action_toggle_dry_run()


class StatusBar(Horizontal):
    """Step indicator on the left, dry-run state on the right."""

    def __init__(self, step: int) -> None:
        super().__init__(id="status-bar")
        self._step = step

    def compose(self) -> ComposeResult:
        yield StepIndicator(self._step)
        yield DryRunToggle(id="dry-run")
