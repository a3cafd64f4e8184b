"""Check an IAM policy: what a principal of the external account can really do with the key,
given the key policy (as it is now, or as it will be after Apply) and the IAM policy their
administrator attached (pasted, or loaded from a file). The same evaluation as
`kmswizard check`."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    Select,
    Static,
    TextArea,
)

from kmswizard.aws.catalogue import kms_catalogue
from kmswizard.errors import UserError
from kmswizard.policy.check import AccessCheck, check_access
from kmswizard.policy.document import Policy, parse_policy
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.plan import KeyPlan, Plan
from kmswizard.policy.principals import validate_principal
from kmswizard.tui.access import RESULT_MARK, finding_lines, representative

if TYPE_CHECKING:
    from kmswizard.tui.app import WizardApp

AFTER, CURRENT = "after", "current"


def default_principal(key_plan: KeyPlan) -> str:
    """A role or user the plan names, else a representative role of the first account."""
    named = [p for p in key_plan.principals if not p.endswith(":root")]
    if named:
        return named[0]
    if key_plan.principals:
        return representative(key_plan.principals[0])
    return ""


def check_lines(check: AccessCheck, source: str, width: int = 78) -> Content:
    """The action-by-result matrix (one action a line, the reason under it, wrapped to
    ``width``), then the findings: readable at 80 columns."""
    side = "the key policy and the IAM policy" if check.iam_given else "the key policy only"
    verdict = ("every action checked is allowed" if check.complete
               else "not every action checked is allowed")
    lines = [
        Content.assemble(("Judged: ", "$text-muted"), f"{side} ({source})"),
        Content.assemble((verdict, "bold $text-success" if check.complete
                          else "bold $text-warning")),
        Content(""),
    ]
    column = max([len(v.action) for v in check.verdicts] + [6])
    for item in check.verdicts:
        mark, style = RESULT_MARK[item.result]
        lines.append(Content.assemble((f"{mark} ", style), item.action.ljust(column), "  ",
                                      (item.result, style)))
        why = textwrap.fill(item.explanation, width=max(30, width), initial_indent="    ",
                            subsequent_indent="    ", break_on_hyphens=False)
        lines.append(Content.assemble((why, "$text-muted")))
    if not check.verdicts:
        lines.append(Content("(no action to check)"))
    findings = finding_lines(check, ("error", "warning", "info"), indent="")
    if findings:
        lines.append(Content(""))
        lines.extend(findings)
    return Content("\n").join(lines)


class CheckIamPolicy(Screen[None]):
    """Paste (or load) the external administrator's IAM policy; see what it really allows."""

    AUTO_FOCUS = "#iam-text"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", key_display="esc"),
        Binding("ctrl+t", "toggle_source", "Current/after"),
    ]

    def __init__(self, plan: Plan, applied: bool) -> None:
        super().__init__()
        self.plan = plan
        self.key_plan = plan.keys[0]
        self.source = CURRENT if applied or not self.key_plan.changed else AFTER
        self.current: dict[str, Policy] = {}  # key ARN -> key policy read from KMS
        self.reading: set[str] = set()
        self.result: AccessCheck | None = None

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="check-body", classes="body"):
            yield Static(Content.assemble(
                ("Check an IAM policy", "bold $text-primary"),
                ("  what a principal can really do: the key policy AND its IAM policy must "
                 "allow an action", "$text-muted")), id="check-title")
            if len(self.plan.keys) > 1:
                with Horizontal(classes="controls check-row"):
                    yield Label("Key", classes="field-label wide-label")
                    yield Select([(k.key.name, i) for i, k in enumerate(self.plan.keys)],
                                 value=0, allow_blank=False, id="check-key", compact=True)
            with Horizontal(classes="controls check-row"):
                yield Label("Key policy", classes="field-label wide-label")
                yield Button(self.source_label(), id="check-source", compact=True,
                             tooltip="Which key policy to judge (ctrl+t)")
                yield Static("ctrl+t switches", id="source-hint", classes="hint")
            with Horizontal(classes="controls check-row"):
                yield Label("Principal", classes="field-label wide-label")
                yield Input(default_principal(self.key_plan), id="check-principal",
                            compact=True, placeholder="arn:aws:iam::444455556666:role/Name")
            yield Static("", id="principal-error", classes="inline-error")
            with Horizontal(classes="controls check-row"):
                yield Label("IAM policy", classes="field-label wide-label")
                yield Input(id="iam-file", compact=True, placeholder="a JSON file to load, "
                            "or paste the policy below")
                yield Button("Load", id="load-iam", compact=True)
                if self.plan.iam_policy is not None:
                    yield Button("Wizard's", id="ours", compact=True,
                                 tooltip="Start from the IAM policy the wizard emits")
            yield TextArea(id="iam-text", soft_wrap=True, tab_behavior="focus",
                           placeholder="Paste the external administrator's IAM policy JSON "
                           "here (empty: judge the key policy only)")
            yield Static("", id="iam-error", classes="inline-error")
            yield Static("", id="check-result")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        if self.wizard.steady:
            for widget in self.query(Input):
                widget.cursor_blink = False
            self.query_one(TextArea).cursor_blink = False
        self.query_one("#principal-error").display = False
        self.query_one("#iam-error").display = False
        self.refresh_check()
        self.call_after_refresh(self.query_one("#check-body").scroll_home, animate=False)

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_check)

    # -- inputs ----------------------------------------------------------------------------

    def principal(self) -> str | None:
        value = self.query_one("#check-principal", Input).value.strip()
        error = self.query_one("#principal-error", Static)
        problem = None
        if not value:
            problem = "enter the ARN of a role or user of the external account"
        else:
            try:
                validate_principal(value, "principal")
            except UserError as exc:
                problem = str(exc).removeprefix("principal: ")
        error.update(f"✖ {problem}" if problem else "")
        error.display = problem is not None
        return None if problem else value

    def iam_policy(self) -> tuple[list[Policy] | None, bool]:
        """The pasted policy (None when empty); False when it does not parse."""
        text = self.query_one("#iam-text", TextArea).text
        error = self.query_one("#iam-error", Static)
        error.display = False
        if not text.strip():
            return None, True
        try:
            policy = parse_policy(text, "the IAM policy")
        except UserError as exc:
            error.update(f"✖ {exc}")
            error.display = True
            return None, False
        return [policy], True

    def key_policy(self) -> Policy | None:
        key_plan = self.key_plan
        if self.source == AFTER:
            return key_plan.after
        policy = self.current.get(key_plan.key.arn)
        if policy is None:
            self.read_current(key_plan.key)
        return policy

    def read_current(self, key: KeyInfo) -> None:
        if key.arn in self.reading:
            return
        self.reading.add(key.arn)
        gateway = self.wizard.gateway

        def work() -> Policy:
            return parse_policy(gateway.get_policy(key), f"the key policy of {key.arn}")

        def done(policy: Policy) -> None:
            self.reading.discard(key.arn)
            self.current[key.arn] = policy
            self.refresh_check()

        def failed(_: BaseException) -> None:
            self.reading.discard(key.arn)
            self.query_one("#check-result", Static).update(
                "could not read the key policy (see the message): ctrl+t twice to retry")

        self.wizard.run_job(self, work, name="read-policy", on_done=done, on_error=failed)

    def refresh_check(self) -> None:
        """Evaluate again with what is on screen (cheap and offline, so on every change)."""
        output = self.query_one("#check-result", Static)
        principal = self.principal()
        policies, parsed = self.iam_policy()
        key_policy = self.key_policy()
        if principal is None or not parsed:
            self.result = None
            output.update(Content.assemble(
                ("Fix the entries above to see what the principal can do.", "$text-muted")))
            return
        if key_policy is None:
            self.result = None
            output.update(Content.assemble(("reading the key policy…", "$text-muted")))
            return
        key = self.key_plan.key
        try:
            self.result = check_access(key_policy, key.arn, principal, policies, kms_catalogue())
        except (UserError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # A policy whose JSON parses but whose shape is not a policy's.
            self.result = None
            error = self.query_one("#iam-error", Static)
            error.update(f"✖ cannot evaluate this IAM policy: {exc}")
            error.display = True
            output.update("")
            return
        source = ("as it will be after Apply" if self.source == AFTER
                  else "as it is now in KMS")
        width = (self.size.width or self.app.size.width) - 5
        output.update(check_lines(self.result, f"{key.name}, {source}", width))

    @on(Input.Changed, "#check-principal")
    @on(TextArea.Changed, "#iam-text")
    def _changed(self) -> None:
        self.refresh_check()

    def source_label(self) -> str:
        return ("after apply (as planned) ▾" if self.source == AFTER
                else "current (read from KMS) ▾")

    @on(Button.Pressed, "#check-source")
    def _source(self) -> None:
        self.action_toggle_source()

    @on(Select.Changed, "#check-key")
    def _key(self, event: Select.Changed) -> None:
        if isinstance(event.value, int):
            self.key_plan = self.plan.keys[event.value]
            self.refresh_check()

    def load(self) -> None:
        typed = self.query_one("#iam-file", Input).value.strip()
        error = self.query_one("#iam-error", Static)
        if not typed:
            error.update("✖ give the path of a JSON file")
            error.display = True
            return
        path = Path(typed).expanduser()
        if not path.is_absolute():
            path = self.wizard.cwd / path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            error.update(f"✖ cannot read {path}: {reason}")
            error.display = True
            return
        self.query_one("#iam-text", TextArea).load_text(text)
        self.refresh_check()

    @on(Input.Submitted, "#iam-file")
    @on(Button.Pressed, "#load-iam")
    def _load(self) -> None:
        self.load()

    @on(Button.Pressed, "#ours")
    def _ours(self) -> None:
        text = self.wizard.iam_policy_text(self.plan)
        if text is not None:
            self.query_one("#iam-text", TextArea).load_text(text)
            self.refresh_check()

    def action_toggle_source(self) -> None:
        self.source = CURRENT if self.source == AFTER else AFTER
        self.query_one("#check-source", Button).label = self.source_label()
        self.refresh_check()

    def action_close(self) -> None:
        self.dismiss(None)
