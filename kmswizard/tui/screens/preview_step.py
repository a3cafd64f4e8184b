"""Step 4: the plan. Each key's policy diff, the findings, the IAM policy; then Apply."""

from __future__ import annotations

import difflib
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, LoadingIndicator, Static

from kmswizard.aws.catalogue import kms_catalogue
from kmswizard.policy.actions import key_type_label
from kmswizard.policy.document import Policy, render
from kmswizard.policy.findings import Finding
from kmswizard.policy.plan import KeyPlan, Plan
from kmswizard.tui.access import PrincipalAccess, access_blocks, effective_access
from kmswizard.tui.screens.base import WizardStep
from kmswizard.tui.widgets.diff_view import DiffView, JsonView
from kmswizard.workflow import ApplyOutcome, apply_plan, plan_keys

CHANGED_SINCE = "changed since the plan"  # workflow's concurrency guard refused the key

SEVERITY_MARK = {"error": "✖ error", "warning": "▲ warning", "info": "\u2139 info"}
SEVERITY_STYLE = {"error": "bold $text-error", "warning": "bold $text-warning",
                  "info": "$text-accent"}


def finding_line(finding: Finding, key_name: str | None) -> Content:
    prefix = f"{key_name}: " if key_name else ""
    return Content.assemble(
        (f"{SEVERITY_MARK[finding.severity]:<9}", SEVERITY_STYLE[finding.severity]),
        " ",
        (finding.code, "bold"),
        f"  {prefix}{finding.message}",
    )


def key_heading(key_plan: KeyPlan) -> Content:
    key = key_plan.key
    return Content.assemble(
        (key.name, "bold"),
        ("  " + key.arn, "$text-muted"),
        "\n",
        (f"{key_type_label(key.spec, key.usage)} key ({key.spec}), {key.state}", "$text-muted"),
    )


def outside_diff(previewed: Policy, now: Policy, name: str) -> list[str]:
    """What someone else changed in a key policy between the preview and the apply."""
    if previewed == now:
        return []
    return list(difflib.unified_diff(
        render(previewed).splitlines(), render(now).splitlines(),
        fromfile=f"{name} (as previewed)", tofile=f"{name} (now)", lineterm="",
    ))


def iam_buttons(can_copy: bool = True) -> Horizontal:
    """The actions on the IAM policy, under it (preview and result)."""
    buttons = [Button("Copy IAM", id="copy-iam", compact=True)] if can_copy else []
    buttons += [
        Button("Save IAM", id="save-iam", compact=True),
        Button("Check an IAM policy…", id="check-iam", compact=True),
        Button("Handoff bundle", id="handoff", compact=True),
    ]
    return Horizontal(*buttons, id="iam-actions", classes="actions")


class PreviewStep(WizardStep):
    STEP = 3
    AUTO_FOCUS = "#preview-body"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+b", "back", "Back", key_display="esc"),
        Binding("ctrl+n", "next", "Apply"),
        Binding("ctrl+y", "copy_iam", "Copy IAM", show=False),
        Binding("ctrl+o", "save_iam", "Save IAM"),
        Binding("ctrl+k", "check_iam", "Check"),
        Binding("ctrl+e", "handoff", "Handoff"),
        Binding("ctrl+s", "save_profile", "Profile"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.plan: Plan | None = None
        self.accesses: list[PrincipalAccess] = []
        self.replan = False
        # The concurrency guard refused these keys: their plan as previewed, by key ARN.
        self.stale: dict[str, KeyPlan] = {}
        # Keys applied before the guard stopped the others (kept for the result screen).
        self.earlier: dict[str, ApplyOutcome] = {}

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="preview-body", classes="body"):
            yield Static(f"Preview: {self.state.keys_label}", classes="step-title")
            yield Static("", id="plan-notice", classes="notice")
            with Horizontal(id="plan-status", classes="status-line"):
                yield LoadingIndicator(id="plan-spinner")
                yield Static("reading the key policies and planning…", id="plan-message")
            yield Vertical(id="plan")
        with Horizontal(classes="nav"):
            yield Static("", id="preview-summary")
            yield Button("◀ Back", id="back", compact=True)
            yield Button("Save profile", id="save-profile", compact=True)
            yield Button("Apply ▶", id="next", variant="error", compact=True, disabled=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#plan-notice").display = False
        self.watch(self.app, "dry_run", self._dry_run_changed)
        self.make_plan()

    def _dry_run_changed(self, _: bool) -> None:
        self.update_buttons()

    # -- planning -------------------------------------------------------------------------------

    def make_plan(self) -> None:
        self.plan = None
        self.state.plan = None
        self.query_one("#plan-spinner").display = True
        self.query_one("#plan-message", Static).update("reading the key policies and planning…")
        self.update_buttons()
        gateway, keys, request = self.gateway, list(self.state.keys), self.state.request()

        def work() -> tuple[Plan, list[PrincipalAccess]]:
            plan = plan_keys(gateway, keys, request)
            return plan, effective_access(plan, kms_catalogue())

        def failed(_: BaseException) -> None:
            self.query_one("#plan-spinner").display = False
            self.query_one("#plan-message", Static).update(
                "could not plan the change (see the message): go back (esc) to change it, "
                "then come back here to retry"
            )

        self.wizard.run_job(self, work, name="plan", on_done=self.show_plan, on_error=failed,
                            exclusive=True)

    def show_plan(self, result: tuple[Plan, list[PrincipalAccess]]) -> None:
        plan, self.accesses = result
        self.plan = plan
        self.state.plan = plan
        self.query_one("#plan-spinner").display = False
        self.query_one("#plan-message", Static).update(self.status_text(plan))
        self.call_later(self._replace_plan, plan)
        self.update_buttons()

    async def _replace_plan(self, plan: Plan) -> None:
        container = self.query_one("#plan", Vertical)
        await container.remove_children()
        await container.mount_all(self.plan_widgets(plan))

    def status_text(self, plan: Plan) -> Content:
        changed = sum(k.changed for k in plan.keys)
        counts = {severity: sum(f.severity == severity for k in plan.keys for f in k.findings)
                  for severity in ("error", "warning", "info")}
        errors = counts["error"]
        total = len(plan.keys)
        if changed:
            text = f"{changed} of {total} key polic{'y' if total == 1 else 'ies'} would change"
        else:
            text = ("nothing to apply: the key policy already grants what is asked" if total == 1
                    else "nothing to apply: the key policies already grant what is asked")
        if errors:
            return Content.assemble(
                (f"{text}; {errors} error{'s' if errors > 1 else ''} block Apply",
                 "bold $text-error"))
        found = ", ".join(f"{n} {severity}{'s' if n > 1 and severity != 'info' else ''}"
                          for severity, n in counts.items() if n)
        return Content.assemble((text, "bold"), (f" · {found or 'no findings'}", "$text-muted"))

    def plan_widgets(self, plan: Plan) -> list[Widget]:
        """Findings first (errors block Apply), then each key's diff, then the IAM policy."""
        widgets: list[Widget] = [Static("Findings", classes="section-title")]
        several = len(plan.keys) > 1
        findings = [(k.key.name, f) for k in plan.keys for f in k.findings]
        findings.sort(key=lambda pair: ("error", "warning", "info").index(pair[1].severity))
        if findings:
            lines = [finding_line(f, name if several else None) for name, f in findings]
            widgets.append(Static(Content("\n").join(lines), id="findings"))
        else:
            widgets.append(Static("No findings.", id="findings", classes="muted"))
        widgets.append(Static("Effective access once the IAM policy is attached",
                              classes="section-title"))
        if self.accesses:
            blocks: list[Widget] = []
            for head, body in access_blocks(self.accesses, several, kms_catalogue()):
                blocks += [Static(head, classes="access-head"),
                           Static(body, classes="access-body")]
            widgets.append(Vertical(*blocks, id="access"))
        else:
            widgets.append(Static("Nobody outside the account gets access through kmswizard.",
                                  id="access", classes="muted"))
        for index, key_plan in enumerate(plan.keys):
            widgets.append(Static(key_heading(key_plan), classes="key-heading"))
            stale = self.stale.get(key_plan.key.arn)
            if stale is not None:
                outside = outside_diff(stale.before, key_plan.before, key_plan.key.name)
                if outside:
                    view = DiffView(outside, id=f"outside-{index}")
                    view.border_title = "changed by someone else: as previewed → now"
                    view.add_class("outside")
                    widgets.append(view)
            diff = key_plan.diff()
            if diff:
                view = DiffView(diff, id=f"diff-{index}")
                view.border_title = "key policy: current → proposed"
                widgets.append(view)
            else:
                widgets.append(Static("No change to the key policy.", classes="muted"))
        widgets.append(Static("IAM policy for the external administrator", classes="section-title"))
        text = self.wizard.iam_policy_text(plan)
        if text is None:
            widgets.append(Static("None: this change grants no external access.",
                                  classes="muted", id="iam-policy-none"))
        else:
            accounts = sorted({p.split(":")[4] for k in plan.keys for p in k.principals})
            widgets.append(Static(
                f"To attach in account{'s' if len(accounts) > 1 else ''} {', '.join(accounts)} "
                "to the roles or users that will use the key (it names the key by ARN).",
                classes="hint"))
            widgets.append(JsonView(text, id="iam-policy"))
            widgets.append(Static(self.iam_path_text(text), id="iam-path", classes="hint"))
            widgets.append(iam_buttons())
        return widgets

    def iam_path_text(self, text: str) -> str:
        state = self.state
        if state.iam_policy_path is not None and state.iam_policy_text == text:
            return f"Saved to {self.wizard.display_path(state.iam_policy_path)}"
        target = self.wizard.display_path(state.default_iam_policy_path(self.wizard.cwd))
        return f"Not saved yet: ctrl+o saves it to {target} (and Apply does)"

    def update_buttons(self) -> None:
        plan = self.plan
        running = self.wizard.apply_running
        apply_button = self.query_one("#next", Button)
        apply_button.label = "Dry run ▶" if self.wizard.dry_run else "Apply ▶"
        apply_button.disabled = not self.can_go_next()
        for button in self.query("#iam-actions Button").results(Button):
            button.disabled = running and button.id == "save-iam"
        summary = self.query_one("#preview-summary", Static)
        if running:
            summary.update("applying…")
        elif plan is None:
            summary.update("")
        elif plan.blocked:
            summary.update("errors block Apply")
        elif not plan.changed:
            summary.update("nothing to apply")
        else:
            summary.update("dry run: nothing is written" if self.wizard.dry_run else "")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("copy_iam", "save_iam", "handoff"):
            return True if self.plan is not None and self.plan.iam_policy is not None else None
        if action == "check_iam":
            return True if self.plan is not None else None
        return super().check_action(action, parameters)

    def can_go_next(self) -> bool:
        plan = self.plan
        return (plan is not None and plan.changed and not plan.blocked
                and not self.wizard.apply_running)

    # -- IAM policy and profile -------------------------------------------------------------------

    def action_copy_iam(self) -> None:
        text = self.wizard.iam_policy_text(self.plan)
        if text is None:
            return
        self.app.copy_to_clipboard(text)
        self.app.notify("IAM policy copied to the clipboard (if your terminal does not allow "
                        "that, save it with ctrl+o)", title="Copied", timeout=5)

    def action_save_iam(self) -> None:
        text = self.wizard.iam_policy_text(self.plan)
        if text is None:
            return
        if self.wizard.save_iam_policy(text) is not None:
            self.query_one("#iam-path", Static).update(self.iam_path_text(text))

    def action_save_profile(self) -> None:
        self.wizard.save_profile_dialog()

    def action_check_iam(self) -> None:
        if self.plan is not None:
            self.wizard.check_iam_policy(self.plan, applied=False)

    def action_handoff(self) -> None:
        if self.plan is not None:
            self.wizard.write_handoff_bundle(self.plan)

    @on(Button.Pressed, "#check-iam")
    def _check(self) -> None:
        self.action_check_iam()

    @on(Button.Pressed, "#handoff")
    def _handoff(self) -> None:
        self.action_handoff()

    @on(Button.Pressed, "#copy-iam")
    def _copy(self) -> None:
        self.action_copy_iam()

    @on(Button.Pressed, "#save-iam")
    def _save(self) -> None:
        self.action_save_iam()

    @on(Button.Pressed, "#save-profile")
    def _save_profile(self) -> None:
        self.action_save_profile()

    # -- navigation and apply ---------------------------------------------------------------------

    def action_back(self) -> None:
        if self.wizard.apply_running:
            self.app.notify("Apply is running; wait for it to finish", severity="warning")
            return
        self.state.plan = None
        super().action_back()

    def on_screen_resume(self) -> None:
        if self.replan:
            self.replan = False
            self.clear_notice()
            self.make_plan()

    def clear_notice(self) -> None:
        self.stale = {}
        self.earlier = {}
        self.query_one("#plan-notice").display = False

    def action_next(self) -> None:
        plan = self.plan
        if plan is None or self.wizard.apply_running:
            return
        if plan.blocked:
            self.app.notify("The findings marked error block Apply: go back and change the "
                            "request", severity="error")
            return
        if not plan.changed:
            self.app.notify("Nothing to apply: the key policies are already as requested")
            return
        if self.wizard.dry_run:
            self.apply(plan, dry_run=True)
            return
        from kmswizard.tui.screens.confirm import ConfirmApply

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.apply(plan)

        self.app.push_screen(ConfirmApply(plan), confirmed)

    def apply(self, plan: Plan, dry_run: bool = False) -> None:
        """PutKeyPolicy through workflow.apply_plan (backups, audit log, concurrency guard);
        in a dry run the same call writes nothing and the result shows what would be sent."""
        wizard, gateway = self.wizard, self.gateway
        wizard.apply_running = True
        self.query_one("#plan-spinner").display = True
        self.query_one("#plan-message", Static).update(
            "dry run…" if dry_run else "applying: PutKeyPolicy…")
        self.update_buttons()

        def finish() -> None:
            wizard.apply_running = False
            self.query_one("#plan-spinner").display = False
            self.update_buttons()

        def done(outcomes: list[ApplyOutcome]) -> None:
            finish()
            self.query_one("#plan-message", Static).update(self.status_text(plan))
            if dry_run:
                self.show_result(plan, outcomes, dry_run=True)
                return
            self.state.plan = None
            outcomes = [self.earlier.get(o.key.arn, o) if o.status == "unchanged" else o
                        for o in outcomes]
            text = wizard.iam_policy_text(plan)
            if text is not None and any(o.status == "applied" for o in outcomes) and (
                self.state.iam_policy_text != text or self.state.iam_policy_path is None
            ):
                wizard.save_iam_policy(text, quiet=True)
            stale = [o for o in outcomes if o.status == "failed" and CHANGED_SINCE in o.message]
            if stale:
                self.changed_meanwhile(plan, outcomes, stale)
                return
            failed = [o for o in outcomes if o.status == "failed"]
            if failed:
                self.app.notify("\n".join(o.message for o in failed), title="Apply failed",
                                severity="error", timeout=15)
            self.show_result(plan, outcomes)

        def error(_: BaseException) -> None:
            finish()
            self.query_one("#plan-message", Static).update(Content.assemble((
                "apply failed (see the message); fix the cause, then Apply again", "$text-error")))

        wizard.run_job(
            self, lambda: apply_plan(gateway, plan, dry_run=dry_run, reason="wizard"),
            name="apply", on_done=done, on_error=error,
        )

    def changed_meanwhile(self, plan: Plan, outcomes: list[ApplyOutcome],
                          stale: list[ApplyOutcome]) -> None:
        """The concurrency guard refused keys whose policy someone changed after the preview:
        nothing was written to them. Plan again and show the new diff, with what changed."""
        arns = {o.key.arn for o in stale}
        self.stale = {k.key.arn: k for k in plan.keys if k.key.arn in arns}
        self.earlier = {o.key.arn: o for o in outcomes if o.status == "applied"}
        names = ", ".join(o.key.name for o in stale)
        one = len(stale) == 1
        text = (f"▲ The key polic{'y' if one else 'ies'} of {names} changed since you "
                f"previewed {'it' if one else 'them'}; nothing was written to "
                f"{'it' if one else 'them'}. Review the new diff below and confirm again.")
        applied = [o.key.name for o in self.earlier.values()]
        if applied:
            text += f" Already applied: {', '.join(applied)}."
        notice = self.query_one("#plan-notice", Static)
        notice.update(text)
        notice.display = True
        self.app.notify(f"{names}: the key policy changed since you previewed it; review the "
                        "new diff", title="Changed meanwhile", severity="warning", timeout=10)
        self.query_one("#preview-body").scroll_home(animate=False)
        self.make_plan()

    def show_result(self, plan: Plan, outcomes: list[ApplyOutcome], dry_run: bool = False) -> None:
        from kmswizard.tui.screens.result_step import ResultStep

        self.replan = not dry_run
        self.app.push_screen(ResultStep(plan, outcomes, dry_run=dry_run))
