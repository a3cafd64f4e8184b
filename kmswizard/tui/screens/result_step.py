"""Step 5: what was applied (or, in a dry run, what would be sent), and what comes next."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, Static

from kmswizard.policy.plan import KeyPlan, Plan
from kmswizard.policy.sharing import managed_principals
from kmswizard.tui.messages import StateChanged
from kmswizard.tui.screens.base import WizardStep
from kmswizard.tui.state import WizardState
from kmswizard.tui.widgets.diff_view import JsonView
from kmswizard.workflow import ApplyOutcome

STATUS_MARK = {"applied": ("✔", "$text-success"), "unchanged": ("=", "$text-muted"),
               "failed": ("✖", "bold $text-error"), "dry-run": ("○", "$text-warning")}


def home_relative(path: Path) -> str:
    try:
        return f"~/{path.relative_to(Path.home())}"
    except ValueError:
        return str(path)


def label(principal: str) -> str:
    return f"account {principal.split(':')[4]}" if principal.endswith(":root") else principal


def change_summary(key_plan: KeyPlan) -> str:
    """What a key policy change does, in words."""
    before = set(managed_principals(key_plan.before))
    after = set(managed_principals(key_plan.after))
    parts = []
    if after - before:
        parts.append("adds " + ", ".join(label(p) for p in sorted(after - before)))
    if before - after:
        parts.append("removes " + ", ".join(label(p) for p in sorted(before - after)))
    if not parts and key_plan.changed:
        parts.append("the managed statements changed (actions or grants)")
    if key_plan.grants and after:
        parts.append("grants for AWS services allowed")
    return "; ".join(parts)


def outcome_line(key_plan: KeyPlan, status: str, message: str) -> Content:
    mark, style = STATUS_MARK[status]
    words = {
        "applied": "key policy updated",
        "unchanged": "no change needed",
        "dry-run": "would be updated (dry run)",
    }.get(status, message.removeprefix(f"{key_plan.key.name}: "))
    detail = change_summary(key_plan) if status in ("applied", "dry-run") else ""
    return Content.assemble(
        (f"{mark} ", style),
        (key_plan.key.name, "bold"),
        f": {words}",
        (f" — {detail}" if detail else "", "$text-muted"),
    )


class ResultStep(WizardStep):
    STEP = 4
    AUTO_FOCUS = "#result-body"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+b", "back", "Back", key_display="esc"),
        Binding("ctrl+o", "save_iam", "Save IAM"),
        Binding("ctrl+s", "save_profile", "Save profile"),
        Binding("ctrl+n", "next", "New share"),
    ]

    def __init__(self, plan: Plan, outcomes: list[ApplyOutcome], dry_run: bool = False) -> None:
        super().__init__()
        self.plan = plan
        self.outcomes = outcomes
        self.dry_run = dry_run

    def heading(self) -> Content:
        if self.dry_run:
            return Content.assemble(("Dry run: nothing was written", "bold $text-warning"))
        failed = sum(o.status == "failed" for o in self.outcomes)
        if failed:
            return Content.assemble(
                (f"Apply failed for {failed} of {len(self.outcomes)} key"
                 f"{'s' if len(self.outcomes) > 1 else ''}", "bold $text-error"))
        return Content.assemble(("Applied", "bold $text-success"))

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="result-body", classes="body"):
            yield Static(self.heading(), classes="step-title", id="result-title")
            yield from self.outcome_widgets()
            yield Static("IAM policy", classes="section-title")
            yield Static("", id="result-iam")
            yield from self.next_steps()
            yield from self.would_send()
        with Horizontal(classes="nav"):
            yield Static("", id="result-summary")
            yield Button("◀ Back", id="back", compact=True)
            yield Button("Save IAM", id="save-iam", compact=True)
            yield Button("Save profile", id="save-profile", compact=True)
            yield Button("New share", id="new", compact=True)
            yield Button("Quit", id="quit", compact=True, variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.show_iam()

    def outcome_widgets(self) -> list[Widget]:
        plan = self.plan
        title = "What would change" if self.dry_run else "What changed"
        widgets: list[Widget] = [Static(title, classes="section-title")]
        lines: list[Content] = []
        by_arn = {o.key.arn: o for o in self.outcomes}
        for key_plan in plan.keys:
            outcome = by_arn.get(key_plan.key.arn)
            if outcome is not None:
                lines.append(outcome_line(key_plan, outcome.status, outcome.message))
                if outcome.backup is not None:
                    lines.append(Content.assemble((
                        f"  the previous key policy is saved in {home_relative(outcome.backup)}"
                        f" (undo: kmswizard rollback {key_plan.key.name})", "$text-muted")))
        widgets.append(Static(Content("\n").join(lines), id="outcomes"))
        return widgets

    def would_send(self) -> list[Widget]:
        """Dry run: the PutKeyPolicy requests that were not sent."""
        if not self.dry_run:
            return []
        widgets: list[Widget] = [Static("What would be sent", classes="section-title")]
        for index, key_plan in enumerate(k for k in self.plan.keys if k.changed):
            widgets.append(Static(
                f"PutKeyPolicy KeyId={key_plan.key.arn} PolicyName=default Policy=",
                classes="hint"))
            widgets.append(JsonView(key_plan.after_text, id=f"would-send-{index}"))
        return widgets

    def show_iam(self) -> None:
        text = self.wizard.iam_policy_text(self.plan)
        state = self.state
        widget = self.query_one("#result-iam", Static)
        save = self.query_one("#save-iam", Button)
        if text is None:
            widget.update("None: the keys grant no external access any more.")
            save.disabled = True
        elif state.iam_policy_path is not None and state.iam_policy_text == text:
            widget.update(f"Saved to {self.wizard.display_path(state.iam_policy_path)}: "
                          "send it to the external administrator")
            save.disabled = False
        else:
            target = self.wizard.display_path(state.default_iam_policy_path(self.wizard.cwd))
            widget.update(f"Not saved{' (dry run)' if self.dry_run else ''}: ctrl+o saves it "
                          f"to {target}")
            save.disabled = False
        self.refresh_bindings()

    def next_steps(self) -> list[Widget]:
        plan = self.plan
        failed = bool(self.outcomes) and all(o.status == "failed" for o in self.outcomes)
        if failed:
            return [Static("Nothing was changed. Go back (esc) to review the plan and retry.",
                           classes="hint")]
        principals = sorted({p for k in plan.keys for p in k.principals})
        widgets: list[Widget] = [
            Static("What the external administrator does next", classes="section-title")]
        if not principals:
            widgets.append(Static(
                "Nobody outside the account has access through kmswizard any more. Tell the "
                "external administrator: their IAM policy for the key can be removed.",
                classes="hint"))
            return widgets
        accounts = sorted({p.split(":")[4] for p in principals})
        whole = [p for p in principals if p.endswith(":root")]
        named = [p for p in principals if not p.endswith(":root")]
        where = f"account{'s' if len(accounts) > 1 else ''} {', '.join(accounts)}"
        if named and not whole:
            to_whom = "to " + ", ".join(named)
        else:
            to_whom = "to the roles or users that will use the key"
        arns = "\n".join(f"   {k.key.arn}" for k in plan.keys)
        it = "the keys" if len(plan.keys) > 1 else "the key"
        steps = [
            f"1. In {where}, attach the IAM policy {to_whom} (the key policy sets the most "
            "they can get; the IAM policy delegates it).",
            f"2. Use {it} by ARN: their console will not list a key of another account, and "
            f"aliases do not work across accounts.\n{arns}",
        ]
        if plan.keys and plan.keys[0].grants:
            steps.append("3. AWS services there (EBS, RDS, Redshift…) may now create grants for "
                         "resources encrypted with the key.")
        widgets.append(Static("\n".join(steps), id="next-steps"))
        return widgets

    # -- actions ----------------------------------------------------------------------------------

    def action_save_iam(self) -> None:
        text = self.wizard.iam_policy_text(self.plan)
        if text is not None:
            self.wizard.save_iam_policy(text)
            self.show_iam()

    def action_save_profile(self) -> None:
        self.wizard.save_profile_dialog()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save_iam":
            return True if self.plan.iam_policy is not None else None
        return super().check_action(action, parameters)

    def action_next(self) -> None:
        """Start over: a new share, same region and dry-run setting."""
        old = self.state
        self.wizard.state = WizardState(region=old.region, dry_run=old.dry_run)
        self.wizard.back_to_first_step()
        self.app.screen.post_message(StateChanged("new"))

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#save-iam")
    def _save_iam(self) -> None:
        self.action_save_iam()

    @on(Button.Pressed, "#save-profile")
    def _save_profile(self) -> None:
        self.action_save_profile()

    @on(Button.Pressed, "#new")
    def _new(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#quit")
    def _quit(self) -> None:
        self.wizard.action_request_quit()
