"""The wizard's safety and handoff actions, driven with Pilot on the embedded demo KMS:
the concurrency guard re-plans, undo restores the backup, effective access on the preview,
checking an IAM policy, the handoff bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_tui_support import (
    EXTERNAL,
    ROLE,
    demo_app,
    notifications,
    orders_policy,
    screen_name,
    to_preview,
    to_who,
    type_into,
    until,
)
from textual.widgets import Button, Static, TextArea

from kmswizard.state import list_backups
from kmswizard.tui.widgets.diff_view import DiffView

SIZE = (100, 30)
ORDERS_ARN = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MEANWHILE = {
    "Sid": "Added meanwhile", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:role/Auditor"},
    "Action": "kms:DescribeKey", "Resource": "*",
}


pytestmark = pytest.mark.usefixtures("fresh_demo")


def text_of(app: object, selector: str) -> str:
    """The text of a Static, or of every Static inside a container."""
    widget = app.screen.query_one(selector)  # type: ignore[attr-defined]
    if isinstance(widget, Static):
        return str(widget.render())
    return "\n".join(str(w.render()) for w in widget.query(Static))


async def confirm(pilot, answer: str = "alias/orders") -> None:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: screen_name(pilot.app) == "ConfirmApply")
    await type_into(pilot, "#confirm-input", answer)
    await pilot.press("enter")


async def test_policy_changed_after_the_preview_is_planned_again(cwd: Path) -> None:
    """The concurrency guard: someone changes the key policy between preview and confirm.
    Nothing is written; the wizard plans again, says so, shows what changed and the new diff,
    and the second confirmation applies on top of the other change. The preview also shows
    the effective access of the account once the IAM policy is attached."""
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await to_preview(pilot)
        access = text_of(app, "#access")
        assert f"account {EXTERNAL} (new)" in access
        assert f"checked as arn:aws:iam::{EXTERNAL}:role/ANY-ROLE" in access
        assert "allowed: Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey" in access

        # Someone else changes the key policy while the preview is on screen.
        key = app.gateway.describe_key("alias/orders", "us-west-2")
        changed = json.loads(orders_policy(app))
        changed["Statement"].append(MEANWHILE)
        app.gateway.put_policy(key, json.dumps(changed, indent=2))
        changed_text = orders_policy(app)
        first_plan = app.state.plan

        await pilot.press("ctrl+n")
        await confirm(pilot)
        await until(pilot, lambda: app.screen.query_one("#plan-notice").display)
        await until(pilot, lambda: app.state.plan is not None and app.state.plan is not first_plan)
        await pilot.pause()
        assert screen_name(app) == "PreviewStep"
        notice = text_of(app, "#plan-notice")
        assert "changed since you previewed it" in notice
        assert "review the new diff" in notice.lower()
        assert orders_policy(app) == changed_text  # the guard wrote nothing
        outside = app.screen.query_one("#outside-0", DiffView)
        assert any(line.startswith("+") and "Added meanwhile" in line for line in outside.lines)
        new_diff = app.screen.query_one("#diff-0", DiffView).lines
        assert any(f"arn:aws:iam::{EXTERNAL}:root" in line for line in new_diff)
        plan = app.state.plan
        assert plan is not None and MEANWHILE in plan.keys[0].before["Statement"]
        assert any("changed since you previewed it" in m for m in notifications(app))

        # Confirm again: applied on top of the other change.
        assert not app.screen.query_one("#next", Button).disabled
        await pilot.press("ctrl+n")
        await confirm(pilot)
        await until(pilot, lambda: screen_name(app) == "ResultStep")
        await pilot.pause()
        assert "Applied" in text_of(app, "#result-title")
        statements = json.loads(orders_policy(app))["Statement"]
        assert MEANWHILE in statements
        assert any(f"arn:aws:iam::{EXTERNAL}:root" in json.dumps(s) for s in statements)


async def test_undo_restores_the_policy_and_handoff_writes_the_bundle(cwd: Path) -> None:
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        original = orders_policy(app)
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await to_preview(pilot)
        await pilot.press("ctrl+n")
        await confirm(pilot)
        await until(pilot, lambda: screen_name(app) == "ResultStep")
        await pilot.pause()
        assert orders_policy(app) != original

        # The handoff bundle, from the result screen.
        await pilot.press("ctrl+e")
        folder = cwd / "kmswizard-handoff-orders"
        names = ("iam-policy.json", "key-arns.txt", "README.md", f"commands-{EXTERNAL}.sh")
        await until(pilot, lambda: all((folder / n).is_file() for n in names))
        assert (folder / "key-arns.txt").read_text() == ORDERS_ARN + "\n"
        await until(pilot, lambda: any("kmswizard-handoff-orders" in m
                                       for m in notifications(app)))

        # Undo: the diff back to the saved policy, the typed confirmation, then restored.
        await pilot.press("ctrl+z")
        await until(pilot, lambda: screen_name(app) == "ConfirmApply")
        dialog = app.screen
        assert "Undo" in str(dialog.query_one(".dialog-title", Static).render())
        restore_diff = dialog.query_one("#confirm-diff-0", DiffView).lines
        assert any(line.startswith("-") and f"{EXTERNAL}:root" in line for line in restore_diff)
        assert str(dialog.query_one("#confirm", Button).label) == "Restore"
        await confirm(pilot)
        await until(pilot, lambda: screen_name(app) == "ResultStep"
                    and app.screen.undo_state == "done")  # type: ignore[attr-defined]
        await pilot.pause()
        assert orders_policy(app) == original  # byte for byte
        key = app.gateway.describe_key("alias/orders", "us-west-2")
        backups = list_backups(key)
        assert len(backups) == 2  # the apply's, and the undo's own
        assert [b.reason for b in backups] == ["wizard", "rollback"]
        assert "restored" in text_of(app, "#undo-result")
        assert "Undone" in text_of(app, "#result-title")
        await pilot.press("ctrl+z")  # nothing left to undo
        await pilot.pause()
        assert screen_name(app) == "ResultStep"


async def test_check_an_iam_policy(cwd: Path) -> None:
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        await to_who(pilot)
        await type_into(pilot, "#principal", ROLE)
        await to_preview(pilot)
        assert ROLE in text_of(app, "#access")

        await pilot.press("ctrl+k")
        await until(pilot, lambda: screen_name(app) == "CheckIamPolicy")
        screen = app.screen
        assert screen.query_one("#check-principal").value == ROLE  # type: ignore[attr-defined]
        result = screen.query_one("#check-result", Static)
        # No IAM policy yet: the key policy side only, after apply.
        assert "the key policy only" in str(result.render())
        assert "as it will be after Apply" in str(result.render())

        # Invalid JSON: an inline error, never a traceback.
        area = screen.query_one("#iam-text", TextArea)
        area.focus()
        await pilot.press(*'{"Version": ')
        await pilot.pause()
        error = screen.query_one("#iam-error", Static)
        assert error.display and "not valid JSON" in str(error.render())
        assert app.is_running

        # A policy loaded from a file: Decrypt is effective, Sign is not (the key policy).
        theirs = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Sign"], "Resource": ORDERS_ARN}]}
        (cwd / "theirs.json").write_text(json.dumps(theirs))
        await type_into(pilot, "#iam-file", "theirs.json")
        await pilot.press("enter")
        await pilot.pause()
        assert not error.display
        shown = str(result.render())
        assert "the key policy and the IAM policy" in shown
        assert "kms:Decrypt" in shown and "allowed" in shown
        assert "not granted by key policy" in shown  # kms:Sign
        assert "ineffective-iam-action" in shown

        # The principal is validated as you type.
        await type_into(pilot, "#check-principal", f"arn:aws:iam::{EXTERNAL}:group/Admins")
        assert "IAM group" in text_of(app, "#principal-error")
        await type_into(pilot, "#check-principal", ROLE)
        assert not screen.query_one("#principal-error").display

        # The current key policy (read from KMS): nothing is shared yet.
        await pilot.press("ctrl+t")
        await until(pilot, lambda: "as it is now in KMS" in str(result.render()))
        assert "principal-not-in-key-policy" in str(result.render())

        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "PreviewStep")
        await pilot.press("ctrl+e")  # the handoff bundle, from the preview
        await until(pilot, lambda: (cwd / "kmswizard-handoff-orders" / "iam-policy.json")
                    .is_file())
        written = json.loads((cwd / "kmswizard-handoff-orders" / "iam-policy.json").read_text())
        assert app.state.plan is not None and written == app.state.plan.iam_policy
