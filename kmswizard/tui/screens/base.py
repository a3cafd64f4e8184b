"""What every step shares: header, step indicator, footer, Back/Next, the app's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Header, Input

from kmswizard.tui.state import WizardState
from kmswizard.tui.widgets.step_indicator import StatusBar

if TYPE_CHECKING:
    from kmswizard.aws.gateway import KmsGateway
    from kmswizard.tui.app import WizardApp


def steady_inputs(screen: Screen[Any]) -> None:
    """No cursor blink when the app is steady (snapshots must not depend on timing)."""
    if cast("WizardApp", screen.app).steady:
        for widget in screen.query(Input):
            widget.cursor_blink = False


class WizardStep(Screen[None]):
    """One step of the wizard. Subclasses compose their body and implement next/back."""

    STEP: ClassVar[int] = 0
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+b", "back", "Back", key_display="esc"),
        Binding("ctrl+n", "next", "Next"),
    ]

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    @property
    def state(self) -> WizardState:
        return self.wizard.state

    @property
    def gateway(self) -> KmsGateway:
        return self.wizard.gateway

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusBar(self.STEP)
        yield from self.compose_body()
        yield Footer(compact=True, show_command_palette=False)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        steady_inputs(self)

    def can_go_next(self) -> bool:
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next":
            return True if self.can_go_next() else None
        if action == "back":
            return self.STEP > 0
        return True

    def action_back(self) -> None:
        if self.STEP > 0:
            self.app.pop_screen()

    def action_next(self) -> None:
        """Overridden by each step."""

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()


class WizardDialog(ModalScreen[Any]):
    """Base of the dialogs: escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def on_mount(self) -> None:
        steady_inputs(self)

    def action_cancel(self) -> None:
        self.dismiss(None)
