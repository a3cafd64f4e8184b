"""Step 3: which actions, and whether AWS services may create grants for the external side."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, SelectionList, Static, Switch
from textual.widgets.selection_list import Selection

from kmswizard.policy.actions import action_presets, key_type_label
from kmswizard.tui.labels import action_prompt
from kmswizard.tui.screens.base import WizardStep

GRANTS_HELP = (
    "AWS services such as EBS, RDS or Redshift create grants to use the key on the external "
    "account's behalf (kms:GrantIsForAWSResource)."
)
EACH_DEFAULTS = "each key's defaults"


class WhatStep(WizardStep):
    STEP = 2
    AUTO_FOCUS = "#actions"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+b", "back", "Back", key_display="esc"),
        Binding("ctrl+n", "next", "Next"),
        Binding("ctrl+g", "toggle_grants", "Grants"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.presets: dict[str, tuple[str, ...] | None] = {}

    def compose_body(self) -> ComposeResult:
        state = self.state
        choices = state.action_choices()
        keys = state.keys
        if choices.mixed:
            kinds = sorted({key_type_label(k.spec, k.usage) for k in keys})
            subtitle = (f"keys of different types ({', '.join(kinds)}): unchanged, each key "
                        "gets its own type's default actions")
            self.presets = {EACH_DEFAULTS: None, "view only": ("kms:DescribeKey",)}
        else:
            key = keys[0]
            subtitle = (f"{key_type_label(key.spec, key.usage)} key ({key.spec}); preselected: "
                        "the AWS console's defaults for this type")
            presets = action_presets(key.spec, key.usage)
            self.presets = {name: (None if index == 0 else actions)
                            for index, (name, actions) in enumerate(presets.items())}
        selected = set(state.effective_actions())
        with VerticalScroll(id="what-body", classes="body"):
            yield Static(f"What {self.state.keys_label} may be used for", classes="step-title")
            yield Static(subtitle, classes="hint")
            with Horizontal(id="presets", classes="controls"):
                yield Label("Presets", classes="field-label")
                for index, name in enumerate(self.presets):
                    yield Button(name, id=f"preset-{index}", compact=True, classes="preset")
            width = max(len(a) for a in choices.options) if choices.options else 0
            yield SelectionList[str](
                *[Selection(action_prompt(action, width), action, action in selected)
                  for action in choices.options],
                id="actions",
            )
            yield Static("", id="actions-error", classes="inline-error")
            with Horizontal(id="grants-row", classes="controls"):
                yield Switch(state.grants, id="grants")
                yield Label("Allow attachment of persistent resources (grants for AWS services)",
                            id="grants-label")
            yield Static(GRANTS_HELP, classes="hint")
        with Horizontal(classes="nav"):
            yield Static("", id="what-summary")
            yield Button("◀ Back", id="back", compact=True)
            yield Button("Next ▶", id="next", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#actions-error").display = False
        self.query_one("#actions", SelectionList).border_title = "Actions"
        self.update_summary()

    def selected(self) -> list[str]:
        return list(self.query_one("#actions", SelectionList).selected)

    def update_summary(self) -> None:
        count = len(self.selected())
        who = bool(self.state.grantees)
        error = self.query_one("#actions-error", Static)
        problem = who and count == 0
        error.display = problem
        error.update("✖ choose at least one action (or a preset)")
        summary = f"{count} action{'s' if count != 1 else ''}"
        if self.state.actions is None:
            summary += " (defaults)"
        summary += ", grants " + ("on" if self.state.grants else "off")
        self.query_one("#what-summary", Static).update(summary)
        self.query_one("#next", Button).disabled = problem
        self.refresh_bindings()

    @on(SelectionList.SelectedChanged, "#actions")
    def _changed(self) -> None:
        self.state.set_actions(self.selected())
        self.update_summary()

    @on(Button.Pressed, ".preset")
    def _preset(self, event: Button.Pressed) -> None:
        name = list(self.presets)[int(str(event.button.id).removeprefix("preset-"))]
        actions = self.presets[name]
        wanted = set(actions if actions is not None else self.state.action_choices().defaults)
        selection = self.query_one("#actions", SelectionList)
        with self.prevent(SelectionList.SelectedChanged):
            selection.deselect_all()
            for action in self.state.action_choices().options:
                if action in wanted:
                    selection.select(action)
        if actions is None:
            self.state.actions = None
            self.state.what_chosen = True
        else:
            self.state.set_actions(self.selected())
        self.update_summary()
        self.app.notify(f"Preset: {name}", timeout=2)

    @on(Switch.Changed, "#grants")
    def _grants(self, event: Switch.Changed) -> None:
        self.state.grants = event.value
        self.state.what_chosen = True
        self.update_summary()

    def action_toggle_grants(self) -> None:
        switch = self.query_one("#grants", Switch)
        switch.value = not switch.value

    def can_go_next(self) -> bool:
        return not (self.state.grantees and self.state.actions == ())

    def action_next(self) -> None:
        if not self.can_go_next():
            self.app.notify("Choose at least one action", severity="error")
            return
        from kmswizard.tui.screens.preview_step import PreviewStep

        self.app.push_screen(PreviewStep())
