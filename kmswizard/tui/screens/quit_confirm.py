"""Asked on ctrl+q when an apply is pending or running."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kmswizard.tui.screens.base import WizardDialog


class QuitConfirm(WizardDialog):
    """ModalScreen[bool]: True to quit."""

    def __init__(self, running: bool) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        if self.running:
            text = ("An apply is running. Quitting now may leave it unfinished; its outcome "
                    "would not be shown.")
        else:
            text = "The previewed change has not been applied. Quit without applying it?"
        with Vertical(id="dialog", classes="dialog"):
            yield Static("Quit kmswizard?", classes="dialog-title")
            yield Static(text)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Stay", id="stay", compact=True, variant="primary")
                yield Button("Quit", id="quit", compact=True, variant="error")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#stay", Button).focus()

    @on(Button.Pressed, "#stay")
    def _stay(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#quit")
    def _quit(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
