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
from kmswizard.workflow import ApplyOutcome, apply_plan, plan_rollback

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
        Binding("ctrl+z", "undo", "Undo"),
        Binding("ctrl+o", "save_iam", "Save IAM"),
        Binding("ctrl+k", "check_iam", "Check"),
        Binding("ctrl+e", "handoff", "Handoff"),
        Binding("ctrl+s", "save_profile", "Save profile", show=False),
        Binding("ctrl+n", "next", "New share"),
    ]

    def __init__(self, plan: Plan, outcomes: list[ApplyOutcome], dry_run: bool = False) -> None:
        super().__init__()
        self.plan = plan
        self.outcomes = outcomes
        self.dry_run = dry_run
        self.undo_state: str = ""  # "", "planning", "running", "done"

    @property
    def undoable(self) -> list[ApplyOutcome]:
        """The keys this apply changed, with the backup taken just before."""
        if self.dry_run or self.undo_state == "done":
            return []
        return [o for o in self.outcomes if o.status == "applied" and o.backup is not None]

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
        from kmswizard.tui.screens.preview_step import iam_buttons

        with VerticalScroll(id="result-body", classes="body"):
            yield Static(self.heading(), classes="step-title", id="result-title")
            yield from self.outcome_widgets()
            if self.undoable:
                with Horizontal(id="undo-row", classes="actions"):
                    yield Button("↶ Undo", id="undo", compact=True)
                    several = len(self.undoable) > 1
                    later = "KEY" if several else self.undoable[0].key.name
                    yield Static(f"put back the key polic{'ies' if several else 'y'} saved just "
                                 f"before (ctrl+z; later: kmswizard rollback {later})",
                                 classes="hint", id="undo-hint")
            yield Static("", id="undo-result")
            after_apply: list[Widget] = [Static("IAM policy", classes="section-title"),
                                         Static("", id="result-iam")]
            if self.plan.iam_policy is not None:
                after_apply.append(iam_buttons(can_copy=False))
            after_apply += self.next_steps()
            for widget in after_apply:
                widget.add_class("after-apply")  # hidden once undone
                yield widget
            yield from self.would_send()
        with Horizontal(classes="nav"):
            yield Static("", id="result-summary")
            yield Button("◀ Back", id="back", compact=True)
            yield Button("Save profile", id="save-profile", compact=True)
            yield Button("New share", id="new", compact=True)
            yield Button("Quit", id="quit", compact=True, variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#undo-result").display = False
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
                        f"  the previous key policy is saved in {home_relative(outcome.backup)}",
                        "$text-muted")))
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
        if text is None:
            widget.update("None: the keys grant no external access any more.")
        elif state.iam_policy_path is not None and state.iam_policy_text == text:
            widget.update(f"Saved to {self.wizard.display_path(state.iam_policy_path)}: "
                          "send it to the external administrator (or the handoff bundle, "
                          "ctrl+e)")
        else:
            target = self.wizard.display_path(state.default_iam_policy_path(self.wizard.cwd))
            widget.update(f"Not saved{' (dry run)' if self.dry_run else ''}: ctrl+o saves it "
                          f"to {target}")
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
        if action in ("save_iam", "handoff"):
            return True if self.plan.iam_policy is not None else None
        if action == "undo":
            if not self.undoable:
                return False  # a dry run, nothing applied, or already undone
            return True if not self.undo_state else None
        return super().check_action(action, parameters)

    def action_check_iam(self) -> None:
        self.wizard.check_iam_policy(self.plan, applied=not self.dry_run)

    def action_handoff(self) -> None:
        self.wizard.write_handoff_bundle(self.plan)

    # -- undo -------------------------------------------------------------------------------

    def action_undo(self) -> None:
        """Restore the backups this apply took, through workflow.plan_rollback (the same
        checks, typed confirmation, concurrency guard and backup as any change)."""
        undoable = self.undoable
        if not undoable or self.undo_state or self.wizard.apply_running:
            return
        gateway = self.gateway
        self.undo_state = "planning"
        self.refresh_bindings()

        backups = [(o.key.arn, o.backup.stem) for o in undoable if o.backup is not None]

        def work() -> Plan:
            plans = [plan_rollback(gateway, arn, backup_id)[0] for arn, backup_id in backups]
            return Plan(tuple(k for p in plans for k in p.keys))

        def planned(plan: Plan) -> None:
            self.undo_state = ""
            self.refresh_bindings()
            if plan.blocked:
                errors = [f.message for k in plan.keys for f in k.findings
                          if f.severity == "error"]
                self.app.notify("Undo refused: " + "; ".join(errors), title="Undo",
                                severity="error", timeout=12)
                return
            if not plan.changed:
                self.app.notify("Nothing to undo: the key policy is already the saved one",
                                title="Undo")
                return
            self.confirm_undo(plan)

        def failed(_: BaseException) -> None:
            self.undo_state = ""
            self.refresh_bindings()

        self.wizard.run_job(self, work, name="plan-undo", on_done=planned, on_error=failed)

    def confirm_undo(self, plan: Plan) -> None:
        from kmswizard.tui.screens.confirm import ConfirmApply

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_undo(plan)

        one = len([k for k in plan.keys if k.changed]) == 1
        self.app.push_screen(ConfirmApply(
            plan, title=f"Undo: put back the previous key polic{'y' if one else 'ies'}?",
            verb="Restore", show_diff=True), confirmed)

    def run_undo(self, plan: Plan) -> None:
        wizard, gateway, dry_run = self.wizard, self.gateway, self.wizard.dry_run
        wizard.apply_running = True
        self.undo_state = "running"
        self.refresh_bindings()
        result = self.query_one("#undo-result", Static)
        result.update("restoring: PutKeyPolicy…")
        result.display = True

        def finish() -> None:
            wizard.apply_running = False

        def done(outcomes: list[ApplyOutcome]) -> None:
            finish()
            self.show_undo(outcomes, dry_run)

        def failed(_: BaseException) -> None:
            finish()
            self.undo_state = ""
            self.refresh_bindings()
            result.update(Content.assemble(
                ("undo failed (see the message); ctrl+z to retry", "$text-error")))

        wizard.run_job(
            self, lambda: apply_plan(gateway, plan, dry_run=dry_run, reason="rollback"),
            name="undo", on_done=done, on_error=failed,
        )

    def show_undo(self, outcomes: list[ApplyOutcome], dry_run: bool) -> None:
        lines: list[Content] = []
        for outcome in outcomes:
            name = outcome.key.name
            if outcome.status == "applied":
                lines.append(Content.assemble(
                    ("↶ ", "$text-success"), (name, "bold"),
                    ": previous key policy restored"))
                if outcome.backup is not None:
                    lines.append(Content.assemble((
                        f"  the policy it replaced is saved in {home_relative(outcome.backup)}",
                        "$text-muted")))
            elif outcome.status == "dry-run":
                lines.append(Content.assemble(("○ ", "$text-warning"), (name, "bold"),
                                              ": would be restored (dry run: nothing written)"))
            elif outcome.status == "unchanged":
                lines.append(Content.assemble(("= ", "$text-muted"), (name, "bold"),
                                              ": already the saved policy"))
            else:
                lines.append(Content.assemble(
                    ("✖ ", "bold $text-error"), (name, "bold"),
                    f": {outcome.message.removeprefix(f'{name}: ')}"))
        restored = [o for o in outcomes if o.status in ("applied", "unchanged")]
        self.undo_state = "done" if restored and len(restored) == len(outcomes) else ""
        result = self.query_one("#undo-result", Static)
        result.update(Content("\n").join(lines))
        result.display = True
        if self.undo_state == "done":
            self.query_one("#result-title", Static).update(Content.assemble(
                ("Undone: the previous key polic"
                 + ("ies are" if len(outcomes) > 1 else "y is") + " back",
                 "bold $text-warning")))
            for widget in self.query("#undo-row, .after-apply"):
                widget.display = False
            lines.append(Content.assemble((
                "The external account has the access it had before this change; the IAM "
                "policy is not needed for it.", "$text-muted")))
            result.update(Content("\n").join(lines))
            self.app.notify("The previous key policy is back", title="Undone", timeout=6)
        self.refresh_bindings()

    @on(Button.Pressed, "#undo")
    def _undo(self) -> None:
        self.action_undo()

    @on(Button.Pressed, "#check-iam")
    def _check(self) -> None:
        self.action_check_iam()

    @on(Button.Pressed, "#handoff")
    def _handoff(self) -> None:
        self.action_handoff()

    def action_next(self) -> None:
        """Start over: a new share, same region and dry-run setting."""
        old = self.state
        self.wizard.state = WizardState(region=old.region, dry_run=old.dry_run)
        self.wizard.back_to_first_step()
        self.app.screen.post_message(StateChanged("new"))

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
