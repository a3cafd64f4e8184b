"""The handoff bundle: in process on plans from plan_key, and `kmswizard handoff` end to end
on the moto server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from policy_helpers import EXTERNAL, KEY_ARN, OTHER, OWNER, ROLE, USER, make_key, plan

from kmswizard.errors import UserError
from kmswizard.handoff import write_handoff
from kmswizard.policy.plan import Plan

RunCli = Callable[..., "subprocess.CompletedProcess[str]"]  # the run_cli fixture (conftest.py)

BUNDLE = {"iam-policy.json", "key-arns.txt", "README.md"}


def bundle(plan_: Plan, out: Path) -> dict[str, str]:
    """Write the bundle; the text of each file by name (and check what was returned)."""
    written = write_handoff(plan_, out)
    assert sorted(written) == sorted(out / p.name for p in written)
    assert {p.name for p in written} == {p.name for p in out.iterdir()}
    return {p.name: p.read_text(encoding="utf-8") for p in written}


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


# --- in process -------------------------------------------------------------------------------


def test_bundle_for_a_whole_account_with_grants(tmp_path: Path) -> None:
    key = make_key(aliases=("alias/orders",))
    the_plan = Plan((plan(key=key, accounts=[EXTERNAL], grants=True),))
    files = bundle(the_plan, tmp_path / "out")
    assert set(files) == BUNDLE | {f"commands-{EXTERNAL}.sh"}

    assert json.loads(files["iam-policy.json"]) == the_plan.iam_policy
    iam = the_plan.iam_policy
    assert iam is not None and iam["Statement"][0]["Resource"] == KEY_ARN
    assert files["key-arns.txt"] == f"{KEY_ARN}\n"

    commands = files[f"commands-{EXTERNAL}.sh"]
    name = f"use-kms-orders-from-{OWNER}"
    policy_arn = f"arn:aws:iam::{EXTERNAL}:policy/{name}"
    assert commands.startswith("#!/bin/sh\n")
    assert (f"aws iam create-policy --policy-name {name} "
            "--policy-document file://iam-policy.json") in commands
    # A whole account: no role or user to name, only a commented example to adapt.
    assert not [line for line in commands.splitlines()
                if line.startswith("aws iam attach-")]
    assert (f"# aws iam attach-role-policy --role-name ROLE_NAME --policy-arn {policy_arn}"
            in commands)
    assert f"aws kms describe-key --key-id {KEY_ARN} --region us-west-2" in commands

    readme = files["README.md"]
    assert KEY_ARN in readme
    assert "alias/orders" in readme
    assert "console will not list these keys" in readme
    assert "grants" in readme and "kms:GrantIsForAWSResource" in readme
    assert "CloudTrail" in readme and "both accounts" in readme
    assert OWNER in readme and EXTERNAL in readme
    assert name in readme


def test_bundle_names_roles_and_users_per_account(tmp_path: Path) -> None:
    path_role = f"arn:aws:iam::{OTHER}:role/team/app/Reader"
    the_plan = Plan((plan(principals=[ROLE, USER, path_role], actions=["kms:Decrypt"]),))
    files = bundle(the_plan, tmp_path / "out")
    assert set(files) == BUNDLE | {f"commands-{EXTERNAL}.sh", f"commands-{OTHER}.sh"}

    external = files[f"commands-{EXTERNAL}.sh"]
    assert lines_with(external, "aws iam attach-role-policy") == [
        f"aws iam attach-role-policy --role-name ExampleRole --policy-arn "
        f"arn:aws:iam::{EXTERNAL}:policy/use-kms-{make_key().key_id}-from-{OWNER}"
    ]
    assert len(lines_with(external, "aws iam attach-user-policy --user-name ExampleUser ")) == 1
    assert "Reader" not in external
    assert "ROLE_NAME" not in external  # no whole account here

    other = files[f"commands-{OTHER}.sh"]
    assert lines_with(other, "aws iam attach-") == [
        f"aws iam attach-role-policy --role-name Reader --policy-arn "
        f"arn:aws:iam::{OTHER}:policy/use-kms-{make_key().key_id}-from-{OWNER}"
    ]
    assert "ExampleRole" not in other and "ExampleUser" not in other
    for commands in (external, other):
        assert "file://iam-policy.json" in commands
        assert f"aws kms describe-key --key-id {KEY_ARN}" in commands

    iam = json.loads(files["iam-policy.json"])
    assert iam == the_plan.iam_policy
    assert iam["Statement"][0]["Action"] == ["kms:Decrypt"]
    # No grants asked for: the README says how to get them, not that they are there.
    assert "attachment of" in files["README.md"]


def test_bundle_for_several_keys_lists_every_key(tmp_path: Path) -> None:
    second_id = "0987dcba-09fe-87dc-65ba-ab0987654321"
    first = plan(key=make_key(aliases=("alias/orders",)), accounts=[EXTERNAL])
    second = plan(key=make_key(second_id, aliases=("alias/invoices",)), accounts=[EXTERNAL])
    files = bundle(Plan((first, second)), tmp_path / "out")
    arns = [first.key.arn, second.key.arn]
    assert files["key-arns.txt"].splitlines() == arns
    commands = files[f"commands-{EXTERNAL}.sh"]
    assert "use-kms-orders-and-1-more-from-" in commands
    for arn in arns:
        assert f"aws kms describe-key --key-id {arn}" in commands
        assert arn in files["README.md"]


def test_nothing_to_hand_off_for_a_revoke_plan(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(UserError, match="nothing to hand off"):
        write_handoff(Plan((plan(),)), out)
    assert not out.exists()


def test_blocked_plan_is_refused(tmp_path: Path) -> None:
    blocked = plan(key=make_key(state="PendingDeletion"), accounts=[EXTERNAL])
    assert blocked.blocked
    out = tmp_path / "out"
    with pytest.raises(UserError, match="errors"):
        write_handoff(Plan((blocked,)), out)
    assert not out.exists()


def test_unwritable_folder_is_a_user_error(tmp_path: Path) -> None:
    out = tmp_path / "a-file"
    out.write_text("not a folder", encoding="utf-8")
    with pytest.raises(UserError, match="cannot write"):
        write_handoff(Plan((plan(accounts=[EXTERNAL]),)), out)


# --- end to end on the moto server ------------------------------------------------------------


def assert_exit(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, (
        f"exit {result.returncode}, expected {code}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_handoff_cli_writes_the_bundle_and_notes_pending_changes(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    kms.create_alias(AliasName="alias/orders", TargetKeyId=meta["KeyId"])
    owner = meta["Arn"].split(":")[4]
    profile = tmp_path / "orders.toml"
    profile.write_text(
        f'key = "alias/orders"\naccounts = ["{EXTERNAL}"]\n'
        f'principals = ["{ROLE}"]\ngrants_for_aws_resources = true\n',
        encoding="utf-8",
    )
    out = tmp_path / "handoff" / "partner"

    result = run_cli("handoff", profile, "--out", out, env=aws_env)
    assert_exit(result, 0)
    names = {"iam-policy.json", "key-arns.txt", "README.md", f"commands-{EXTERNAL}.sh"}
    assert {Path(line).name for line in result.stdout.splitlines()} == names
    assert all(Path(line).parent == out for line in result.stdout.splitlines())
    assert {p.name for p in out.iterdir()} == names
    assert "not applied yet" in result.stderr
    assert f"kmswizard apply {profile}" in result.stderr

    printed = run_cli("iam-policy", profile, env=aws_env)
    assert_exit(printed, 0)
    assert json.loads((out / "iam-policy.json").read_text()) == json.loads(printed.stdout)
    assert (out / "key-arns.txt").read_text() == f"{meta['Arn']}\n"
    commands = (out / f"commands-{EXTERNAL}.sh").read_text()
    assert "--policy-document file://iam-policy.json" in commands
    assert "aws iam attach-role-policy --role-name ExampleRole " in commands
    assert "ROLE_NAME" in commands  # the whole account is shared too
    assert f"aws kms describe-key --key-id {meta['Arn']} --region us-west-2" in commands
    readme = (out / "README.md").read_text()
    assert meta["Arn"] in readme and "CloudTrail" in readme and owner in readme

    applied = run_cli("apply", profile, "--yes", env=aws_env)
    assert_exit(applied, 0)
    again = run_cli("handoff", profile, "--out", out, env=aws_env)
    assert_exit(again, 0)
    assert "not applied yet" not in again.stderr
    assert again.stderr == ""
    assert json.loads((out / "iam-policy.json").read_text()) == json.loads(printed.stdout)


def test_handoff_cli_revoke_profile_has_nothing_to_hand_off(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    kms.create_alias(AliasName="alias/orders", TargetKeyId=meta["KeyId"])
    profile = tmp_path / "revoke.toml"
    profile.write_text('key = "alias/orders"\naccounts = []\nprincipals = []\n',
                       encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("handoff", profile, "--out", out, env=aws_env)
    assert_exit(result, 1)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kmswizard: error:")
    assert "nothing to hand off" in lines[0]
    assert result.stdout == ""
    assert not out.exists()
