"""history and rollback, end to end; the lockout check, before AWS and as AWS says it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from fault_proxy import Fault, FaultProxy
from policy_helpers import OWNER, ROOT_STATEMENT, make_key
from test_e2e_cli import (
    RunCli,
    account_of,
    assert_exit,
    assert_one_error,
    create_key,
    policy_text,
)

from kmswizard.aws.gateway import KmsGateway
from kmswizard.aws.options import AwsOptions
from kmswizard.policy.lockout import lockout_message
from kmswizard.profiles import Profile
from kmswizard.state import sha256
from kmswizard.workflow import apply_plan, build_plan, plan_rollback

REGION = "us-west-2"
EXTERNAL = "444455556666"
GUARD = "the key policy changed since the plan; nothing written"
MOTO_CALLER = "arn:aws:sts::123456789012:user/moto"


def state_of(env: dict[str, str]) -> Path:
    return Path(env["XDG_STATE_HOME"]) / "kmswizard"


def history(run_cli: RunCli, env: dict[str, str], key: str = "alias/orders") -> list[Any]:
    result = run_cli("history", key, "--json", env=env)
    assert_exit(result, 0)
    return list(json.loads(result.stdout))


def backup_count(env: dict[str, str], meta: dict[str, Any]) -> int:
    """The backups of a key, counted in its folder (cheaper than running history)."""
    account, region = meta["Arn"].split(":")[4], meta["Arn"].split(":")[3]
    return len(list((state_of(env) / "backups" / account / region / meta["KeyId"]).glob("*.json")))


def audit_lines(state: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (state / "audit.log").read_text().splitlines()]


def profile_file(tmp_path: Path) -> Path:
    path = tmp_path / "orders.toml"
    path.write_text(f'key = "alias/orders"\naccounts = ["{EXTERNAL}"]\n'
                    "grants_for_aws_resources = true\n")
    return path


# --- 3. history and rollback ------------------------------------------------------------------


def test_history_and_rollback_round_trip(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])

    assert_exit(run_cli("apply", profile_file(tmp_path), "--yes", env=aws_env), 0)
    shared = policy_text(kms, meta["KeyId"])
    assert shared != original
    [first] = history(run_cli, aws_env)
    assert (first["reason"], first["caller_arn"]) == ("apply", MOTO_CALLER)
    assert json.loads(Path(first["path"]).read_text())["policy"] == original

    # A dry run shows the diff back to the original, and writes nothing (but the audit line).
    dry = run_cli("rollback", "alias/orders", "--dry-run", env=aws_env)
    assert_exit(dry, 2)
    assert "dry run: nothing was written" in dry.stderr
    assert f"restoring the key policy saved at {first['taken_at']}" in dry.stderr
    assert "--- alias/orders (current)" in dry.stdout
    assert "+++ alias/orders (proposed)" in dry.stdout
    assert policy_text(kms, meta["KeyId"]) == shared
    assert backup_count(aws_env, meta) == 1

    # The rollback restores the original text byte for byte, and is itself backed up.
    back = run_cli("rollback", "alias/orders", "--yes", env=aws_env)
    assert_exit(back, 0)
    assert "applied: alias/orders: key policy updated" in back.stderr
    assert policy_text(kms, meta["KeyId"]) == original
    first_again, second = history(run_cli, aws_env)
    assert first_again == first
    assert second["reason"] == "rollback"
    assert json.loads(Path(second["path"]).read_text())["policy"] == shared

    # --to an earlier backup: forwards again to the shared policy, then back to the original.
    forward = run_cli("rollback", "alias/orders", "--to", second["id"], "--yes", env=aws_env)
    assert_exit(forward, 0)
    assert policy_text(kms, meta["KeyId"]) == shared
    by_path = run_cli("rollback", "alias/orders", "--to", first["path"], "--yes", "--json",
                      env=aws_env)
    assert_exit(by_path, 0)
    [outcome] = json.loads(by_path.stdout)["applied"]
    assert (outcome["key_arn"], outcome["status"]) == (meta["Arn"], "applied")
    assert policy_text(kms, meta["KeyId"]) == original
    listing = run_cli("history", "alias/orders", env=aws_env)
    assert_exit(listing, 0)
    lines = listing.stdout.splitlines()
    assert lines[0] == f"Backups of alias/orders ({meta['Arn']}), oldest first:"
    assert [line.split()[:2] for line in lines[1:]] == [
        [first["id"], "apply"], [second["id"], "rollback"], *[[ANY, "rollback"]] * 2]
    assert all(MOTO_CALLER in line for line in lines[1:])

    # Rolling back to what is already there changes nothing and writes no backup (but is
    # audited).
    same = run_cli("rollback", "alias/orders", "--to", first["id"], "--yes", env=aws_env)
    assert_exit(same, 0)
    assert "nothing to change" in same.stderr
    assert backup_count(aws_env, meta) == 4

    unknown = run_cli("rollback", "alias/orders", "--to", "20000101T000000.000000Z", "--yes",
                      env=aws_env)
    assert_one_error(unknown, "--to '20000101T000000.000000Z'", "no such backup of alias/orders")
    assert policy_text(kms, meta["KeyId"]) == original

    # The audit log: apply, dry run, four rollbacks; the hashes are of the real texts.
    audit = audit_lines(state_of(aws_env))
    assert [(a["action"], a["result"]) for a in audit] == [
        ("apply", "applied"), ("rollback (dry run)", "dry-run"), ("rollback", "applied"),
        ("rollback", "applied"), ("rollback", "applied"), ("rollback", "unchanged")]
    hashes = [(a["sha256_before"], a["sha256_after"]) for a in audit]
    o, s = sha256(original), sha256(shared)
    assert hashes == [(o, s), (s, o), (s, o), (o, s), (s, o), (o, o)]


def test_rollback_of_a_key_without_backups_is_one_error_line(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])

    result = run_cli("rollback", "alias/orders", "--yes", env=aws_env)

    assert_one_error(result, "no backups of alias/orders")
    listing = run_cli("history", "alias/orders", env=aws_env)
    assert_exit(listing, 0)
    assert listing.stdout == ""
    assert "no backups of alias/orders yet" in listing.stderr
    assert not (state_of(aws_env) / "audit.log").exists()
    assert policy_text(kms, meta["KeyId"]) == original


@pytest.mark.usefixtures("fast_aws")
def test_rollback_goes_through_the_concurrency_guard(
    kms: Any, moto_endpoint: str, private_state_dir: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    gateway = KmsGateway(AwsOptions(region=REGION, endpoint_url=moto_endpoint))
    apply_plan(gateway, build_plan(gateway, Profile(keys=("alias/orders",), accounts=(EXTERNAL,))))
    plan, backup = plan_rollback(gateway, "alias/orders", None)
    assert plan.changed and not plan.blocked
    # Someone else writes the key policy between the rollback's plan and its apply.
    theirs = json.dumps({"Version": "2012-10-17", "Statement": [ROOT_STATEMENT | {
        "Principal": {"AWS": f"arn:aws:iam::{account_of(meta)}:root"}}]})
    kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=theirs)

    [outcome] = apply_plan(gateway, plan, reason="rollback")

    assert (outcome.status, outcome.message) == ("failed", f"alias/orders: {GUARD} "
                                                 "(plan again to see the new diff)")
    assert policy_text(kms, meta["KeyId"]) == theirs
    assert len(list(backup.path.parent.glob("*.json"))) == 1  # no backup for a refused write


# --- 5. the lockout check ---------------------------------------------------------------------


def test_rollback_that_would_lock_the_owner_out_is_refused_before_any_call(
    kms: Any, fault_proxy: FaultProxy, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    owner = account_of(meta)
    env = {**aws_env, "AWS_ENDPOINT_URL": fault_proxy.url}
    assert_exit(run_cli("apply", profile_file(tmp_path), "--yes", env=env), 0)
    shared = policy_text(kms, meta["KeyId"])
    [saved] = history(run_cli, env)
    # A backup (in the documented format) of a policy where the owner account can only read.
    read_only = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "ReadOnly", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{owner}:root"},
        "Action": ["kms:Describe*", "kms:Get*", "kms:List*"], "Resource": "*"}]}, indent=2)
    crafted = Path(saved["path"]).parent / "20300101T000000.000000Z.json"
    crafted.write_text(json.dumps({
        "key_arn": meta["Arn"], "taken_at": "2030-01-01T00:00:00+00:00",
        "caller_arn": "arn:aws:iam::123456789012:user/someone", "reason": "apply",
        "sha256": sha256(read_only), "policy": read_only}, indent=2))
    puts = fault_proxy.count("PutKeyPolicy")

    for extra in (["--yes"], ["--dry-run"]):
        result = run_cli("rollback", "alias/orders", "--to", crafted.stem, *extra, env=env)

        assert_exit(result, 1)
        last = result.stderr.splitlines()[-1]
        assert last.startswith("kmswizard: error: the plan has 1 error(s); nothing written.")
        assert (f"would no longer let account {owner}" in last
                and "manage the key policy (kms:PutKeyPolicy)" in last), last
        assert "statement 0 ('Enable IAM User Permissions') was the last to allow it" in last
        assert "ERROR   lockout:" in result.stdout  # the plan shows the finding
    assert fault_proxy.count("PutKeyPolicy") == puts, "PutKeyPolicy was called"
    assert policy_text(kms, meta["KeyId"]) == shared
    assert backup_count(env, meta) == 2  # the crafted one; no new backup


def test_aws_lockout_error_is_one_clear_line(
    kms: Any, fault_proxy: FaultProxy, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    fault_proxy.add(Fault(
        "PutKeyPolicy", "error", count=5, code="MalformedPolicyDocumentException",
        message="The new key policy will not allow you to update the key policy in the future.",
    ))
    env = {**aws_env, "AWS_ENDPOINT_URL": fault_proxy.url}

    result = run_cli("apply", profile_file(tmp_path), "--yes", env=env)

    assert_exit(result, 1)
    [line] = [x for x in result.stderr.splitlines() if x.startswith(("failed:", "applied:"))]
    assert line == ("failed: alias/orders: refused: the new key policy would no longer let you "
                    "manage the key policy (kms:PutKeyPolicy). Nothing was written")
    assert fault_proxy.count("PutKeyPolicy") == 1  # a client error: not retried
    assert policy_text(kms, meta["KeyId"]) == original


# --- lockout_message, unit by unit ------------------------------------------------------------

KEY = make_key()
ROOT = f"arn:aws:iam::{OWNER}:root"
ADMIN_ROLE = f"arn:aws:iam::{OWNER}:role/team/Admin"
SESSION = f"arn:aws:sts::{OWNER}:assumed-role/Admin/alice@example.com"


def policy(*items: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(items)}


def allow(principal: Any, action: Any = "kms:*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}


BEFORE = policy(dict(ROOT_STATEMENT))


def test_lockout_assumed_role_caller_keeps_access_through_its_role_with_a_path() -> None:
    after = policy(allow({"AWS": ADMIN_ROLE}))
    assert lockout_message(BEFORE, after, KEY, SESSION) is None
    # Without the caller, or for another role's session, the owner account lost it.
    for caller in (None, f"arn:aws:sts::{OWNER}:assumed-role/Other/s",
                   f"arn:aws:sts::{OWNER}:assumed-role/Admi/s",
                   "arn:aws:sts::444455556666:assumed-role/Admin/s"):
        message = lockout_message(BEFORE, after, KEY, caller)
        assert message is not None, caller
        assert "statement 0 ('Enable IAM User Permissions') was the last to allow it" in message


def test_lockout_conditional_allow_does_not_count() -> None:
    after = policy(allow({"AWS": ROOT}, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    message = lockout_message(BEFORE, after, KEY, None)
    assert message is not None and f"account {OWNER}" in message


@pytest.mark.parametrize("condition", [None, {"Bool": {"aws:SecureTransport": "false"}}])
def test_lockout_unconditional_deny_wins(condition: dict[str, Any] | None) -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "kms:PutKeyPolicy", "Resource": "*",
            **({"Condition": condition} if condition else {})}
    after = policy(allow({"AWS": ROOT}), deny)
    message = lockout_message(BEFORE, after, KEY, None)
    if condition:
        assert message is None, "a conditional Deny does not certainly apply"
    else:
        assert message is not None and "(kms:PutKeyPolicy)" in message


def test_lockout_not_principal() -> None:
    # Allow everyone but another account: the owner account is allowed.
    others = policy({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::444455556666:root"},
                     "Action": "kms:*", "Resource": "*"})
    assert lockout_message(BEFORE, others, KEY, None) is None
    # Deny everyone but the owner account: the owner account keeps it.
    spared = policy(allow({"AWS": ROOT}), {"Effect": "Deny", "NotPrincipal": {"AWS": ROOT},
                                           "Action": "kms:PutKeyPolicy", "Resource": "*"})
    assert lockout_message(BEFORE, spared, KEY, None) is None
    # Deny everyone but someone else: the owner account is denied.
    denied = policy(allow({"AWS": ROOT}), {"Effect": "Deny", "NotPrincipal": {"AWS": ADMIN_ROLE},
                                           "Action": "kms:PutKeyPolicy", "Resource": "*"})
    assert lockout_message(BEFORE, denied, KEY, None) is not None


def test_lockout_names_the_last_statement_that_allowed_it() -> None:
    before = policy(dict(ROOT_STATEMENT),
                    allow({"AWS": ROOT}, ["kms:PutKeyPolicy", "kms:GetKeyPolicy"], Sid="KeyAdmins"),
                    allow({"AWS": "arn:aws:iam::444455556666:root"}, "kms:Decrypt", Sid="Use"))
    message = lockout_message(before, policy(before["Statement"][2]), KEY, None)
    assert message == (
        f"the new key policy of {KEY.name} would no longer let account {OWNER} manage the key "
        "policy (kms:PutKeyPolicy); statement 1 ('KeyAdmins') was the last to allow it"
    )


def test_lockout_not_action_and_not_resource_forms() -> None:
    everything_but_decrypt = policy({"Effect": "Allow", "Principal": {"AWS": ROOT},
                                     "NotAction": "kms:Decrypt", "Resource": "*"})
    assert lockout_message(BEFORE, everything_but_decrypt, KEY, None) is None
    everything_but_put = policy({"Effect": "Allow", "Principal": {"AWS": ROOT},
                                 "NotAction": ["kms:Put*"], "Resource": "*"})
    assert lockout_message(BEFORE, everything_but_put, KEY, None) is not None
    other_keys_only = policy({"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*",
                              "NotResource": KEY.arn})
    assert lockout_message(BEFORE, other_keys_only, KEY, None) is not None


def test_lockout_is_only_about_losing_the_ability() -> None:
    never = policy(allow({"AWS": "arn:aws:iam::444455556666:root"}, "kms:Decrypt"))
    assert lockout_message(never, never, KEY, None) is None  # never had it: KMS's to judge
    assert lockout_message(BEFORE, BEFORE, KEY, None) is None
