"""Step 2: who outside the owner account has access today, and who should have it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.coordinate import Coordinate
from textual.css.query import NoMatches
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, DataTable, Input, Label, Static

from kmswizard.aws.catalogue import kms_catalogue
from kmswizard.errors import UserError
from kmswizard.policy.access import ExternalAccess, external_access
from kmswizard.policy.document import as_list, parse_policy, statements
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.principals import ACCOUNT_RE, validate_account, validate_principal
from kmswizard.policy.sharing import GRANTS_SID, USE_SID, managed_principals
from kmswizard.tui.screens.base import WizardStep

LEAST_PRIVILEGE = (
    "A whole account lets its administrators pass the key on to any of their roles and "
    "users; naming specific roles or users is least privilege."
)
ROOT_ARN = r"^arn:[a-z-]+:iam::[0-9]{12}:root$"


def _strip_where(message: str, where: str) -> str:
    return message.removeprefix(f"{where}: ")


def account_problem(value: str, owners: Iterable[str]) -> str | None:
    """Why an account ID cannot be added (None when it can)."""
    try:
        validate_account(value, "account")
    except UserError as exc:
        return _strip_where(str(exc), "account")
    if value in owners:
        return (f"{value} is the key's own account: kmswizard shares with other accounts "
                "(use IAM policies inside the owner account)")
    return None


def principal_problem(value: str, owners: Iterable[str], partitions: Iterable[str]) -> str | None:
    """Why a role/user ARN cannot be added (None when it can)."""
    import re

    if re.match(ROOT_ARN, value):
        account = value.split(":")[4]
        return f"that is the whole account {account}: add {account} as an account above"
    try:
        validate_principal(value, "principal")
    except UserError as exc:
        return _strip_where(str(exc), "principal")
    account, partition = value.split(":")[4], value.split(":")[1]
    if account in owners:
        return (f"{value} is in the key's own account {account}: kmswizard shares with other "
                "accounts")
    allowed = set(partitions)
    if allowed and partition not in allowed:
        return f"{value} is in partition {partition!r}, the key in {sorted(allowed)[0]!r}"
    return None


class AccountValidator(Validator):
    def __init__(self, step: WhoStep) -> None:
        super().__init__()
        self.step = step

    def validate(self, value: str) -> ValidationResult:
        problem = account_problem(value.strip(), self.step.state.owner_accounts)
        return self.failure(problem) if problem else self.success()


class PrincipalValidator(Validator):
    def __init__(self, step: WhoStep) -> None:
        super().__init__()
        self.step = step

    def validate(self, value: str) -> ValidationResult:
        keys = self.step.state.keys
        problem = principal_problem(
            value.strip(), self.step.state.owner_accounts, {k.partition for k in keys}
        )
        return self.failure(problem) if problem else self.success()


@dataclass(frozen=True)
class CurrentAccess:
    key: KeyInfo
    accesses: tuple[ExternalAccess, ...]
    managed: tuple[str, ...]
    managed_grants: bool
    managed_actions: tuple[str, ...]
    sids: tuple[str, ...]  # each statement's Sid ("" when it has none)


def read_access(key: KeyInfo, text: str) -> CurrentAccess:
    policy = parse_policy(text, f"the key policy of {key.arn}")
    use = [s for s in statements(policy) if s.get("Sid") == USE_SID]
    actions = tuple(str(a) for s in use for a in as_list(s.get("Action")))
    return CurrentAccess(
        key=key,
        accesses=external_access(policy, key),
        managed=managed_principals(policy),
        managed_grants=any(s.get("Sid") == GRANTS_SID for s in statements(policy)),
        managed_actions=actions,
        sids=tuple(str(s.get("Sid") or "") for s in statements(policy)),
    )


def grantee_value(principal: str) -> str:
    """How a managed principal is entered: a root ARN (or bare ID) as its account ID."""
    if principal.endswith(":root"):
        return principal.split(":")[4]
    return principal


class GranteeTable(DataTable[Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete,backspace", "remove", "Remove/restore", key_display="del"),
    ]

    def action_remove(self) -> None:
        screen = self.screen
        if isinstance(screen, WhoStep):
            screen.toggle_remove()


class WhoStep(WizardStep):
    STEP = 1
    AUTO_FOCUS = "#account"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+b", "back", "Back", key_display="esc"),
        Binding("ctrl+n", "next", "Next"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.current: list[CurrentAccess] = []
        self.loaded = False

    @property
    def managed(self) -> set[str]:
        return {grantee_value(p) for c in self.current for p in c.managed}

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="who-body", classes="body"):
            yield Static(f"Who may use {self.state.keys_label}", classes="step-title")
            yield Static("Access from outside the owner account today (key policy)",
                         classes="section-title")
            current = DataTable[Text](id="current", cursor_type="none", show_cursor=False)
            current.can_focus = False
            yield current
            yield Static("", id="current-none", classes="muted")
            yield Static(LEAST_PRIVILEGE, id="least-privilege", classes="hint")
            with Horizontal(classes="controls"):
                yield Label("Account", classes="field-label wide-label")
                yield Input(self.state.pending_account, id="account", compact=True,
                            placeholder="12-digit account ID, e.g. 444455556666",
                            validators=[AccountValidator(self)], valid_empty=True)
                yield Button("Add", id="add-account", compact=True)
            yield Static("", id="account-error", classes="inline-error")
            with Horizontal(classes="controls"):
                yield Label("Role/user", classes="field-label wide-label")
                yield Input(self.state.pending_principal, id="principal", compact=True,
                            placeholder="arn:aws:iam::444455556666:role/Name",
                            validators=[PrincipalValidator(self)], valid_empty=True)
                yield Button("Add", id="add-principal", compact=True)
            yield Static("", id="principal-error", classes="inline-error")
            yield Static("Access kmswizard will manage", classes="section-title")
            yield GranteeTable(id="grantees", cursor_type="row")
            yield Static("", id="grantees-none", classes="muted")
        with Horizontal(classes="nav"):
            yield Static("", id="who-summary")
            yield Button("◀ Back", id="back", compact=True)
            yield Button("Remove", id="remove", compact=True)
            yield Button("Next ▶", id="next", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        for selector in ("#account-error", "#principal-error", "#current-none"):
            self.query_one(selector).display = False
        self.query_one("#current", DataTable).loading = True
        grantees = self.query_one(GranteeTable)
        grantees.add_column("Account or role/user", key="principal")
        grantees.add_column("Kind", key="kind")
        grantees.add_column("Change", key="change")
        for selector in ("#account", "#principal"):
            widget = self.query_one(selector, Input)
            if widget.value:
                widget.validate(widget.value)
                self.show_problem(widget)
        self.render_grantees()
        self.read_policies()

    # -- current access ---------------------------------------------------------------------

    def read_policies(self) -> None:
        gateway, keys = self.gateway, list(self.state.keys)

        def work() -> list[CurrentAccess]:
            return [read_access(key, gateway.get_policy(key)) for key in keys]

        def failed(_: BaseException) -> None:
            table = self.query_one("#current", DataTable)
            table.loading = False
            none = self.query_one("#current-none", Static)
            none.update("could not read the key policy (see the message); go back (esc) and "
                        "retry, or choose another key")
            none.display = True

        self.wizard.run_job(self, work, name="read-policies", on_done=self.show_current,
                            on_error=failed)

    def show_current(self, current: list[CurrentAccess]) -> None:
        self.current = current
        self.loaded = True
        table = self.query_one("#current", DataTable)
        table.loading = False
        self.render_current()
        none = self.query_one("#current-none", Static)
        if table.row_count == 0:
            table.display = False
            owners = ", ".join(sorted(self.state.owner_accounts))
            none.update(f"Nobody outside {owners} has access through the key policy.")
            none.display = True
        self.prefill()
        self.render_grantees()
        self.refresh_bindings()

    def current_rows(self) -> list[tuple[str, str, str, bool]]:
        several = len(self.current) > 1
        rows = []
        for item in self.current:
            for access in item.accesses:
                source = access.source
                index = access.statement_index
                sid = item.sids[index] if index < len(item.sids) else ""
                label = f"#{index} {sid}" if sid else f"#{index} (no Sid)"
                if access.conditional:
                    label += " (with a condition)"
                if several:
                    label = f"{item.key.name}: {label}"
                rows.append((access.principal, source, label, access.managed))
        return rows

    def render_current(self) -> None:
        """Who has access today, in columns that fit the width (the statement is cut last)."""
        table = self.query_one("#current", DataTable)
        rows = self.current_rows()
        width = (table.size.width or self.app.size.width - 2) - 1
        principal = max([9, *(len(r[0]) for r in rows)])
        source = max([6, *(len(r[1]) for r in rows)])
        statement = max(12, width - principal - source - 6)
        principal = min(principal, max(20, width - source - statement - 6))
        table.clear(columns=True)
        table.add_column("Principal", width=principal, key="principal")
        table.add_column("Source", width=source, key="source")
        table.add_column("Statement", width=statement, key="statement")
        for value, where, label, managed in rows:
            cells = [Text(value), Text(where, style="bold" if managed else ""),
                     Text(label, style="dim")]
            for cell, size in zip(cells, (principal, source, statement), strict=True):
                cell.truncate(size, overflow="ellipsis")
            table.add_row(*cells)

    def on_resize(self) -> None:
        if self.loaded:
            self.call_after_refresh(self.render_current)

    def prefill(self) -> None:
        """First visit for these keys: start from what kmswizard already manages on them."""
        state = self.state
        if state.prefilled_for == state.key_arns:
            return
        state.prefilled_for = state.key_arns
        if not state.who_chosen:
            values = sorted(self.managed)
            state.accounts = [v for v in values if ACCOUNT_RE.match(v)]
            state.principals = [v for v in values if not ACCOUNT_RE.match(v)]
        if not state.what_chosen and self.current:
            state.grants = any(c.managed_grants for c in self.current)
            actions = {a for c in self.current for a in c.managed_actions}
            if len(self.current) == 1 and actions:
                try:
                    canonical = kms_catalogue().canonical_list(sorted(actions))
                except UserError:
                    canonical = ()
                if canonical:
                    state.set_actions(list(canonical))
                    state.what_chosen = False

    # -- the grantees -------------------------------------------------------------------------

    def grantee_rows(self) -> list[tuple[str, str, str]]:
        state, managed = self.state, self.managed
        rows: list[tuple[str, str, str]] = []
        for value in [*state.accounts, *state.principals]:
            kind = ("whole account" if ACCOUNT_RE.match(value)
                    else "role" if ":role/" in value else "user")
            change = "kept" if value in managed else "added"
            rows.append((value, kind, change))
        chosen = set(state.grantees)
        for value in sorted(managed - chosen):
            kind = ("whole account" if ACCOUNT_RE.match(value)
                    else "role" if ":role/" in value else "user")
            rows.append((value, kind, "removed"))
        return rows

    def render_grantees(self) -> None:
        table = self.query_one(GranteeTable)
        cursor = table.cursor_row
        table.clear()
        styles = {
            "added": self.app.get_css_variables().get("text-success", ""),
            "removed": self.app.get_css_variables().get("text-error", ""),
            "kept": "",
        }
        for value, kind, change in self.grantee_rows():
            strike = "strike dim" if change == "removed" else ""
            table.add_row(Text(value, style=strike), Text(kind, style=strike),
                          Text(change, style=styles[change]), key=value)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        none = self.query_one("#grantees-none", Static)
        table.display = table.row_count > 0
        none.display = table.row_count == 0
        none.update("Nobody yet: add an account ID or a role/user ARN above.")
        self.update_summary()

    def update_summary(self) -> None:
        state = self.state
        parts = []
        if state.accounts:
            parts.append(f"{len(state.accounts)} account{'s' if len(state.accounts) > 1 else ''}")
        if state.principals:
            parts.append(f"{len(state.principals)} "
                         f"{'roles or users' if len(state.principals) > 1 else 'role or user'}")
        removed = len(self.managed - set(state.grantees))
        if removed:
            parts.append(f"{removed} removed")
        self.query_one("#who-summary", Static).update(", ".join(parts) or "nobody yet")
        invalid = self.has_invalid()
        button = self.query_one("#next", Button)
        if button.disabled != invalid:
            button.disabled = invalid
            self.refresh_bindings()

    def add(self, value: str) -> bool:
        state = self.state
        value = value.strip()
        if not value:
            return True
        if ACCOUNT_RE.match(value):
            problem = account_problem(value, state.owner_accounts)
            target = state.accounts
        else:
            problem = principal_problem(value, state.owner_accounts,
                                        {k.partition for k in state.keys})
            target = state.principals
        if problem:
            self.app.notify(problem, severity="error")
            return False
        if value in target:
            self.app.notify(f"{value} is already in the list", timeout=3)
        else:
            target.append(value)
        state.who_chosen = True
        self.render_grantees()
        return True

    def toggle_remove(self) -> None:
        table = self.query_one(GranteeTable)
        if table.row_count == 0:
            return
        row_key, _ = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0))
        value = str(row_key.value)
        state = self.state
        if value in state.accounts:
            state.accounts.remove(value)
        elif value in state.principals:
            state.principals.remove(value)
        elif ACCOUNT_RE.match(value):
            state.accounts.append(value)
        else:
            state.principals.append(value)
        state.who_chosen = True
        self.render_grantees()

    # -- the inputs ------------------------------------------------------------------------------

    def show_problem(self, widget: Input) -> None:
        error = self.query_one(f"#{widget.id}-error", Static)
        result = widget.validate(widget.value)
        if widget.value.strip() and result is not None and not result.is_valid:
            error.update("✖ " + "; ".join(result.failure_descriptions))
            error.display = True
        else:
            error.display = False

    def has_invalid(self) -> bool:
        for selector in ("#account", "#principal"):
            try:
                widget = self.query_one(selector, Input)
            except NoMatches:
                return False
            if widget.value.strip() and not widget.is_valid:
                return True
        return False

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id == "account":
            self.state.pending_account = event.value
        elif event.input.id == "principal":
            self.state.pending_principal = event.value
        else:
            return
        self.show_problem(event.input)
        self.update_summary()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id not in ("account", "principal"):
            return
        if event.value.strip() and self.add(event.value):
            event.input.value = ""

    @on(Button.Pressed, "#add-account")
    def _add_account(self) -> None:
        widget = self.query_one("#account", Input)
        if not widget.value.strip():
            widget.focus()
            return
        if self.add(widget.value):
            widget.value = ""

    @on(Button.Pressed, "#add-principal")
    def _add_principal(self) -> None:
        widget = self.query_one("#principal", Input)
        if not widget.value.strip():
            widget.focus()
            return
        if self.add(widget.value):
            widget.value = ""

    @on(Button.Pressed, "#remove")
    def _remove(self) -> None:
        self.toggle_remove()

    # -- navigation --------------------------------------------------------------------------

    def can_go_next(self) -> bool:
        return not self.has_invalid()

    def action_next(self) -> None:
        if self.has_invalid():
            self.app.notify("Fix the highlighted entry first (or clear it)", severity="error")
            return
        for selector in ("#account", "#principal"):
            widget = self.query_one(selector, Input)
            if widget.value.strip():
                if not self.add(widget.value):
                    return
                widget.value = ""
        if not self.state.grantees and not self.managed:
            self.app.notify(
                "Add an account ID or a role/user ARN: nobody is to be given access",
                severity="warning",
            )
            return
        from kmswizard.tui.screens.what_step import WhatStep

        self.app.push_screen(WhatStep())
