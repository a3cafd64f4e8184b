"""Load a profile: the *.toml files of the current folder and of profiles/, or any path."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from kmswizard.aws.catalogue import kms_catalogue
from kmswizard.errors import UserError
from kmswizard.profiles import load_profile
from kmswizard.tui.screens.base import WizardDialog


def looks_like_profile(path: Path) -> bool:
    """A kmswizard profile names its keys; other TOML files (pyproject.toml…) are left out.
    A file that does not parse is listed, so that loading it explains the error."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True
    return "key" in data or "keys" in data


def profile_files(cwd: Path) -> list[Path]:
    found: list[Path] = []
    for folder in (cwd, cwd / "profiles"):
        if folder.is_dir():
            found.extend(sorted(p for p in folder.glob("*.toml")
                                if p.is_file() and looks_like_profile(p)))
    return found


class LoadProfile(WizardDialog):
    """ModalScreen[(Profile, Path) | None]."""

    def __init__(self, cwd: Path) -> None:
        super().__init__()
        self.cwd = cwd
        self.files = profile_files(cwd)

    def shown_path(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.cwd))
        except ValueError:
            return str(path)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog wide"):
            yield Static("Load a profile", classes="dialog-title")
            if self.files:
                yield Static("Profiles here and in profiles/:", classes="hint")
                yield OptionList(*[Option(self.shown_path(p), id=str(i))
                                   for i, p in enumerate(self.files)], id="profile-files")
            else:
                yield Static("No *.toml in this folder or in profiles/.", classes="hint")
            yield Static("Or a path:", classes="hint")
            yield Input(id="profile-path", placeholder="path/to/profile.toml", compact=True)
            yield Static("", id="load-error", classes="inline-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Load", id="load", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#load-error").display = False
        if self.files:
            self.query_one("#profile-files", OptionList).focus()
        else:
            self.query_one("#profile-path", Input).focus()

    def load(self, path: Path) -> None:
        if not path.is_absolute():
            path = self.cwd / path
        try:
            profile = load_profile(path, kms_catalogue())
        except UserError as exc:
            error = self.query_one("#load-error", Static)
            error.update(f"✖ {exc}")
            error.display = True
            return
        self.dismiss((profile, path))

    @on(OptionList.OptionSelected, "#profile-files")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.load(self.files[int(event.option.id or 0)])

    @on(Input.Submitted, "#profile-path")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.load(Path(event.value.strip()).expanduser())

    @on(Button.Pressed, "#load")
    def _load(self) -> None:
        typed = self.query_one("#profile-path", Input).value.strip()
        if typed:
            self.load(Path(typed).expanduser())
        elif self.files:
            index = self.query_one("#profile-files", OptionList).highlighted or 0
            self.load(self.files[index])

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
