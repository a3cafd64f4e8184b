"""The wizard, driven with Textual's Pilot on the embedded demo KMS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_tui_support import (
    EXTERNAL,
    PROFILES,
    ROLE,
    USER,
    demo_app,
    keys_listed,
    managed_statements,
    notifications,
    orders_policy,
    pick_key,
    screen_name,
    to_preview,
    to_who,
    type_into,
    until,
)
from textual.widgets import (
    Button,
    DataTable,
    Input,
    OptionList,
    SelectionList,
    Static,
    Switch,
)

from kmswizard.aws.catalogue import kms_catalogue
from kmswizard.aws.errors import AwsError
from kmswizard.errors import UserError
from kmswizard.policy.sharing import GRANTS_SID, USE_SID
from kmswizard.profiles import load_profile, parse_profile
from kmswizard.tui.app import WizardApp
from kmswizard.tui.widgets.key_table import KeyTable
from kmswizard.workflow import build_plan

SIZE = (100, 30)


pytestmark = pytest.mark.usefixtures("fresh_demo")


async def confirm_apply(pilot, answer: str = "alias/orders", keys: bool = False) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+n")
    await until(pilot, lambda: screen_name(pilot.app) == "ConfirmApply")
    await type_into(pilot, "#confirm-input", answer, keys=keys)
    await pilot.press("enter")
    await until(pilot, lambda: screen_name(pilot.app) == "ResultStep")
    await pilot.pause()


def headless_plan_unchanged(app: WizardApp, profile_name: str) -> bool:
    profile = load_profile(PROFILES / profile_name, kms_catalogue())
    return not build_plan(app.gateway, profile).changed


async def test_happy_path_whole_account(cwd: Path) -> None:
    """Seed example 1: account 444455556666, default actions, grants on, alias/orders."""
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await pilot.press("enter")
        assert app.state.accounts == [EXTERNAL]
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "WhatStep")
        await pilot.press("ctrl+g")
        assert app.screen.query_one("#grants", Switch).value is True
        # Back (esc) to the first step and Next again: everything entered is kept.
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "WhoStep")
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "KeyStep")
        await pilot.press("ctrl+n")  # the key is still selected
        await until(pilot, lambda: screen_name(app) == "WhoStep")
        await until(pilot, lambda: app.screen.loaded)  # type: ignore[attr-defined]
        assert app.screen.query_one("#grantees", DataTable).row_count == 1
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "WhatStep")
        assert app.screen.query_one("#grants", Switch).value is True
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "PreviewStep")
        await until(pilot, lambda: app.state.plan is not None)
        assert not app.screen.query_one("#next", Button).disabled
        await confirm_apply(pilot, keys=True)

        policy = managed_statements(orders_policy(app))
        assert policy[USE_SID]["Principal"]["AWS"] == [f"arn:aws:iam::{EXTERNAL}:root"]
        assert policy[USE_SID]["Action"] == [
            "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
            "kms:DescribeKey",
        ]
        assert GRANTS_SID in policy
        # Exactly what the example profile asks for: the headless plan has nothing left to do.
        assert headless_plan_unchanged(app, "orders-account.toml")

        saved = cwd / "kmswizard-iam-policy-orders.json"
        assert saved.is_file()
        iam = json.loads(saved.read_text())
        assert iam["Statement"][0]["Resource"].endswith(":key/1234abcd-12ab-34cd-56ef-1234567890ab")
        assert "kmswizard-iam-policy-orders.json" in str(
            app.screen.query_one("#result-iam", Static).render()
        )
        next_steps = str(app.screen.query_one("#next-steps", Static).render())
        assert "attach the IAM policy" in next_steps
        assert "arn:aws:kms:us-west-2:111122223333:key/1234abcd" in next_steps
        # "New share" starts over on the key step, nothing selected, nothing pending.
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "KeyStep")
        await pilot.pause()
        assert app.state.keys == [] and app.state.accounts == []
        assert "Choose a key" in str(app.screen.query_one("#selection", Static).render())
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_specific_role_and_user(cwd: Path) -> None:
    """Seed example 2: a role and a user of 444455556666, decrypt only."""
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        await to_who(pilot)
        await type_into(pilot, "#principal", ROLE)
        await pilot.press("enter")
        await type_into(pilot, "#principal", USER)
        await pilot.click("#add-principal")
        assert app.state.principals == [ROLE, USER]
        rows = app.screen.query_one("#grantees", DataTable)
        assert rows.row_count == 2
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "WhatStep")
        await pilot.click("#preset-1")  # decrypt only
        assert app.screen.query_one("#actions", SelectionList).selected == [
            "kms:Decrypt", "kms:DescribeKey"]
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "PreviewStep")
        await until(pilot, lambda: app.state.plan is not None)
        await confirm_apply(pilot, "1234abcd-12ab-34cd-56ef-1234567890ab")  # the key ID works too

        policy = managed_statements(orders_policy(app))
        assert sorted(policy[USE_SID]["Principal"]["AWS"]) == [ROLE, USER]
        assert GRANTS_SID not in policy
        assert headless_plan_unchanged(app, "orders-roles.toml")


async def test_dry_run_writes_nothing(cwd: Path) -> None:
    app = demo_app(cwd, dry_run=True)
    async with app.run_test(size=SIZE) as pilot:
        before = orders_policy(app)
        await to_who(pilot)
        assert "DRY RUN" in str(app.screen.query_one("#dry-run", Static).render())
        await type_into(pilot, "#account", EXTERNAL)
        await to_preview(pilot)
        assert str(app.screen.query_one("#next", Button).label).startswith("Dry run")
        await pilot.press("ctrl+n")  # no confirmation: nothing will be written
        await until(pilot, lambda: screen_name(app) == "ResultStep")
        assert "nothing was written" in str(
            app.screen.query_one("#result-title", Static).render())
        shown = str(app.screen.query_one("#would-send-0", Static).render())
        assert f"arn:aws:iam::{EXTERNAL}:root" in shown
        assert orders_policy(app) == before
        assert list(cwd.iterdir()) == []
        # the toggle: ctrl+d or a click
        toggle = app.screen.query_one("#dry-run", Static)
        await pilot.press("ctrl+d")
        assert not app.dry_run and not app.state.dry_run
        assert "off" in str(toggle.render())
        await pilot.click("#dry-run")
        assert app.dry_run


async def test_bad_account_blocks_next(cwd: Path) -> None:
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        await to_who(pilot)
        await type_into(pilot, "#account", "12345", keys=True)
        error = app.screen.query_one("#account-error", Static)
        assert error.display
        assert "not an AWS account ID (exactly 12 digits)" in str(error.render())
        assert app.screen.query_one("#next", Button).disabled
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen_name(app) == "WhoStep"
        # the owner account itself is refused as you type, too
        await pilot.press("ctrl+u")
        await type_into(pilot, "#account", "111122223333")
        assert "own account" in str(error.render())
        assert app.screen.query_one("#next", Button).disabled
        await pilot.press("ctrl+u")
        assert not error.display
        assert not app.screen.query_one("#next", Button).disabled
        # a whole account given as a principal is explained
        await type_into(pilot, "#principal", f"arn:aws:iam::{EXTERNAL}:root")
        assert "add 444455556666 as an account" in str(
            app.screen.query_one("#principal-error", Static).render())
        assert app.screen.query_one("#next", Button).disabled


async def test_loading_a_profile_prefills_every_step(cwd: Path) -> None:
    path = PROFILES / "orders-roles.toml"
    profile = load_profile(path, kms_catalogue())
    app = demo_app(cwd, profile=profile, profile_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await keys_listed(pilot)
        await until(pilot, lambda: [k.name for k in app.state.keys] == ["alias/orders"])
        await pilot.pause()
        assert "alias/orders" in str(app.screen.query_one("#selection", Static).render())
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "WhoStep")
        await until(pilot, lambda: app.screen.loaded)  # type: ignore[attr-defined]
        table = app.screen.query_one("#grantees", DataTable)
        assert sorted(str(r.key.value) for r in table.ordered_rows) == [ROLE, USER]
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "WhatStep")
        assert app.screen.query_one("#actions", SelectionList).selected == [
            "kms:Decrypt", "kms:DescribeKey"]
        assert app.screen.query_one("#grants", Switch).value is False
        await pilot.press("ctrl+n")
        await until(pilot, lambda: app.state.plan is not None)
        plan = app.state.plan
        assert plan is not None
        assert plan.keys[0].principals == (ROLE, USER)
        assert plan.keys[0].actions == ("kms:Decrypt", "kms:DescribeKey")


async def test_load_profile_dialog_and_several_keys(cwd: Path) -> None:
    (cwd / "profiles").mkdir()
    (cwd / "profiles" / "several-keys.toml").write_text(
        (PROFILES / "several-keys.toml").read_text())
    (cwd / "broken.toml").write_text('key = "alias/orders"\naccounts = ["123"]\n')
    (cwd / "pyproject.toml").write_text('[project]\nname = "not-a-profile"\n')
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        await keys_listed(pilot)
        await pilot.click("#load-profile")
        await until(pilot, lambda: screen_name(app) == "LoadProfile")
        files = app.screen.query_one("#profile-files", OptionList)
        assert files.option_count == 2  # broken.toml, profiles/several-keys.toml
        await pilot.press("enter")  # broken.toml: the error is explained, nothing loaded
        await pilot.pause()
        error = app.screen.query_one("#load-error", Static)
        assert "not an AWS account ID" in str(error.render())
        await pilot.press("down", "enter")  # profiles/several-keys.toml
        await until(pilot, lambda: len(app.state.keys) == 3)
        assert screen_name(app) == "KeyStep"
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "WhoStep")
        await until(pilot, lambda: app.screen.loaded)  # type: ignore[attr-defined]
        await to_preview(pilot)
        for index in range(3):  # every key's diff
            assert app.screen.query_one(f"#diff-{index}", Static)
        assert app.state.plan is not None and len(app.state.plan.keys) == 3


async def test_save_as_profile_round_trips(cwd: Path) -> None:
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await pilot.press("enter")
        await type_into(pilot, "#principal", ROLE)
        await to_preview(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen_name(app) == "SaveProfile")
        path_input = app.screen.query_one("#save-path", Input)
        assert path_input.value == "orders.toml"
        await type_into(pilot, "#save-description", "shared in a test")
        await pilot.press("enter")
        await until(pilot, lambda: (cwd / "orders.toml").is_file())
        text = (cwd / "orders.toml").read_text()
        profile = parse_profile(text, "orders.toml", kms_catalogue())
        assert profile == app.state.profile()
        assert profile.keys == ("alias/orders",)
        assert profile.accounts == (EXTERNAL,)
        assert profile.principals == (ROLE,)
        assert profile.actions is None and profile.region == "us-west-2"
        assert profile.description == "shared in a test"
        # `kmswizard plan` accepts it unchanged and plans the same change as the wizard.
        headless = build_plan(app.gateway, profile)
        assert app.state.plan is not None
        assert headless.keys[0].after == app.state.plan.keys[0].after


async def test_aws_error_during_apply_is_shown(cwd: Path) -> None:
    """PutKeyPolicy is refused by AWS: the failure is shown, nothing crashes, retry works."""
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        before = orders_policy(app)

        def refuse(key: object, text: str) -> None:
            raise AwsError(
                "PutKeyPolicy alias/orders: access denied: User is not authorized to perform "
                "kms:PutKeyPolicy", "AccessDeniedException",
                "User is not authorized to perform kms:PutKeyPolicy",
            )

        app.gateway.put_policy = refuse  # type: ignore[method-assign]
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await to_preview(pilot)
        await confirm_apply(pilot)
        assert any("access denied" in m for m in notifications(app))
        assert "failed" in str(app.screen.query_one("#result-title", Static).render())
        assert "access denied" in str(app.screen.query_one("#outcomes", Static).render())
        assert orders_policy(app) == before
        assert not (cwd / "kmswizard-iam-policy-orders.json").exists()
        # back to the preview, which plans again; the app is still running
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "PreviewStep")
        await until(pilot, lambda: app.state.plan is not None)
        assert app.is_running


async def test_unexpected_error_during_apply_stays_on_preview(cwd: Path) -> None:
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        def refuse(key: object, text: str) -> None:
            raise UserError("PutKeyPolicy alias/orders: cannot reach the KMS endpoint")

        app.gateway.put_policy = refuse  # type: ignore[method-assign]
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await to_preview(pilot)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "ConfirmApply")
        await type_into(pilot, "#confirm-input", "alias/orders")
        await pilot.press("enter")
        await until(pilot, lambda: any("cannot reach" in m for m in notifications(app)))
        await until(pilot, lambda: not app.apply_running)
        assert screen_name(app) == "PreviewStep"
        assert not app.screen.query_one("#next", Button).disabled  # Apply can be retried
        assert app.is_running


async def test_aws_managed_key_cannot_be_picked(cwd: Path) -> None:
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        await pick_key(pilot, "alias/aws/s3")
        await pilot.pause()
        assert screen_name(app) == "KeyStep"
        assert app.state.keys == []
        assert any("AWS managed key" in m for m in notifications(app))
        await pilot.press("space")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.state.keys == []
        assert screen_name(app) == "KeyStep"
        assert "AWS managed — not shareable" in str(
            app.screen.query_one("#key-details", Static).render())

        # An unexpected failure reading a key policy is a notification, not a traceback.
        def broken(key: object) -> str:
            raise RuntimeError("boom")

        app.gateway.get_policy = broken  # type: ignore[method-assign]
        await pick_key(pilot, "alias/orders")
        await until(pilot, lambda: screen_name(app) == "WhoStep")
        await until(pilot, lambda: any("unexpected error: RuntimeError: boom" in m
                                       for m in notifications(app)))
        assert "could not read the key policy" in str(
            app.screen.query_one("#current-none", Static).render())
        assert app.is_running
        await pilot.press("escape")
        assert screen_name(app) == "KeyStep"


async def test_key_arn_input_and_filter(cwd: Path) -> None:
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        await keys_listed(pilot)
        await pilot.press("slash")  # focuses the filter
        await pilot.press(*"hmac")
        assert app.screen.query_one("#keys", KeyTable).row_count == 1
        await pilot.press("ctrl+u")
        # another region: the demo has no keys there; then back
        await pilot.press("ctrl+r")
        assert app.focused is app.screen.query_one("#region", Input)
        await type_into(pilot, "#region", "eu-west-1")
        await pilot.press("enter")
        await until(pilot, lambda: "no keys listed in eu-west-1" in str(
            app.screen.query_one("#key-count", Static).render()))
        await pilot.press("ctrl+r")
        await type_into(pilot, "#region", "us-west-2")
        await pilot.press("enter")
        await keys_listed(pilot)
        assert app.screen.query_one("#keys", KeyTable).row_count == 9
        await type_into(pilot, "#key-ref", "arn:aws:kms:us-west-2:111122223333:alias/aws/s3")
        assert "AWS managed" in str(app.screen.query_one("#ref-error", Static).render())
        widget = app.screen.query_one("#key-ref", Input)
        widget.value = ""
        arn = "arn:aws:kms:us-west-2:111122223333:key/3234abcd-12ab-34cd-56ef-1234567890ab"
        await type_into(pilot, "#key-ref", arn)
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "WhoStep")
        assert [k.name for k in app.state.keys] == ["alias/release-signing"]
        assert app.state.refs[app.state.keys[0].arn] == arn


async def test_apply_needs_the_typed_name_and_quit_asks_first(cwd: Path) -> None:
    app = demo_app(cwd)
    async with app.run_test(size=SIZE) as pilot:
        before = orders_policy(app)
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await to_preview(pilot)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(app) == "ConfirmApply")
        assert app.screen.query_one("#confirm", Button).disabled
        await pilot.press("enter")  # Enter alone never applies
        await type_into(pilot, "#confirm-input", "orders")
        await pilot.press("enter")
        await pilot.pause()
        assert screen_name(app) == "ConfirmApply"
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "PreviewStep")
        assert orders_policy(app) == before
        # an apply is pending: ctrl+q asks first
        await pilot.press("ctrl+q")
        await until(pilot, lambda: screen_name(app) == "QuitConfirm")
        await pilot.press("escape")
        assert screen_name(app) == "PreviewStep"
        await pilot.press("ctrl+q")
        await until(pilot, lambda: screen_name(app) == "QuitConfirm")
        await pilot.click("#quit")
    assert app.return_code == 0
