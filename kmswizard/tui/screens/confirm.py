"""The typed confirmation before PutKeyPolicy: name the keys and who gets access."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Static

from kmswizard.policy.plan import Plan
from kmswizard.policy.sharing import managed_principals
from kmswizard.tui.screens.base import WizardDialog
from kmswizard.tui.screens.result_step import change_summary, label
from kmswizard.tui.widgets.diff_view import DiffView


def expected_answers(plan: Plan) -> tuple[str, set[str]]:
    """What to type: one changed key, its alias or key ID; several, "N keys"."""
    changed = [k.key for k in plan.keys if k.changed]
    if len(changed) == 1:
        key = changed[0]
        shown = key.aliases[0] if key.aliases else key.key_id
        return shown, {*key.aliases, key.key_id}
    phrase = f"{len(changed)} keys"
    return phrase, {phrase}


class ConfirmApply(WizardDialog):
    """ModalScreen[bool]: True only after the key's alias or ID was typed. ``verb`` names the
    change (Apply, Restore); ``show_diff`` shows each key policy's diff in the dialog."""

    def __init__(self, plan: Plan, *, title: str | None = None, verb: str = "Apply",
                 show_diff: bool = False) -> None:
        super().__init__()
        self.plan = plan
        self.title_text = title
        self.verb = verb
        self.show_diff = show_diff
        self.shown, self.answers = expected_answers(plan)

    def compose(self) -> ComposeResult:
        changed = [k for k in self.plan.keys if k.changed]
        lines: list[Content] = []
        for key_plan in changed:
            lines.append(Content.assemble(("• ", "$text-accent"), (key_plan.key.name, "bold")))
            lines.append(Content.assemble((key_plan.key.arn, "$text-muted")))
            summary = change_summary(key_plan)
            if summary:
                lines.append(Content(f"  {summary}"))
            before = set(managed_principals(key_plan.before))
            if before:  # some access existed: say what is left
                left = (managed_principals(key_plan.after) if key_plan.restore_text is not None
                        else key_plan.principals)
                who = ", ".join(label(p) for p in left) or "nobody (all revoked)"
                lines.append(Content.assemble(("  access afterwards: ", "$text-muted"), who))
        title = self.title_text or (
            "Apply the new key polic" + ("ies?" if len(changed) > 1 else "y?"))
        with Vertical(id="dialog", classes="dialog"):
            yield Static(title, classes="dialog-title")
            yield Static("PutKeyPolicy replaces the key policy of:", classes="hint")
            yield Static(Content("\n").join(lines), id="confirm-keys")
            if self.show_diff:
                with VerticalScroll(id="confirm-diff"):
                    for index, key_plan in enumerate(changed):
                        view = DiffView(key_plan.diff(), id=f"confirm-diff-{index}")
                        view.border_title = "key policy: current → restored"
                        yield view
            yield Static(Content.assemble("Type ", (self.shown, "bold"),
                                          " to confirm" + (" (or its key ID)" if len(changed) == 1
                                                           and self.shown not in
                                                           {k.key.key_id for k in changed}
                                                           else "") + ":"))
            yield Input(id="confirm-input", placeholder=self.shown, compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(self.verb, id="confirm", variant="error", compact=True,
                             disabled=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#confirm-input", Input).focus()

    def matches(self) -> bool:
        return self.query_one("#confirm-input", Input).value.strip() in self.answers

    @on(Input.Changed, "#confirm-input")
    def _typed(self) -> None:
        self.query_one("#confirm", Button).disabled = not self.matches()

    @on(Input.Submitted, "#confirm-input")
    def _submitted(self) -> None:
        if self.matches():
            self.dismiss(True)
        else:
            self.app.notify(f"Type {self.shown} exactly to {self.verb.lower()}",
                            severity="warning", timeout=3)

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if self.matches():
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)
