"""Save as profile: where, and an optional description."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from kmswizard.tui.screens.base import WizardDialog


class SaveProfile(WizardDialog):
    """ModalScreen[(Path, description) | None]."""

    def __init__(self, path: Path, description: str) -> None:
        super().__init__()
        self.path = path
        self.description = description

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog wide"):
            yield Static("Save as profile", classes="dialog-title")
            yield Static("A TOML profile that kmswizard plan / apply accept as it is.",
                         classes="hint")
            yield Static("File:")
            yield Input(self.shown_path(), id="save-path", compact=True)
            yield Static("", id="save-warning", classes="inline-warning")
            yield Static("Description (optional):")
            yield Input(self.description, id="save-description", compact=True,
                        placeholder="why this access exists")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Save", id="save", variant="primary", compact=True)

    def shown_path(self) -> str:
        try:
            return str(self.path.relative_to(self.wizard.cwd))
        except ValueError:
            return str(self.path)

    def on_mount(self) -> None:
        super().on_mount()
        self.check_path()
        self.query_one("#save-path", Input).focus()

    def target(self) -> Path:
        typed = self.query_one("#save-path", Input).value.strip()
        path = Path(typed).expanduser()
        if not path.is_absolute():
            path = self.wizard.cwd / path
        return path

    def check_path(self) -> None:
        warning = self.query_one("#save-warning", Static)
        path = self.target()
        typed = self.query_one("#save-path", Input).value.strip()
        message = ""
        if not typed:
            message = "✖ give a file name"
        elif path.is_dir():
            message = "✖ that is a folder; give a file name"
        elif path.exists():
            message = "▲ the file exists: saving replaces it"
        warning.update(message)
        warning.display = bool(message)
        self.query_one("#save", Button).disabled = not typed or path.is_dir()

    @on(Input.Changed, "#save-path")
    def _changed(self) -> None:
        self.check_path()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.save()

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.save()

    def save(self) -> None:
        if self.query_one("#save", Button).disabled:
            return
        description = self.query_one("#save-description", Input).value.strip()
        self.dismiss((self.target(), description))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
