"""End to end: `kmswizard check`, the installed console script in a subprocess.

Against a key on the moto server (created with boto3, its policy set with PutKeyPolicy), and
offline from a key policy file with an unreachable endpoint, which proves no AWS call is made.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RunCli = Callable[..., "subprocess.CompletedProcess[str]"]  # the run_cli fixture (conftest.py)

EXTERNAL = "444455556666"
EXTERNAL_ROOT = f"arn:aws:iam::{EXTERNAL}:root"
ROLE = f"arn:aws:iam::{EXTERNAL}:role/ExampleRole"
OWNER = "111122223333"
OFFLINE_KEY_ARN = f"arn:aws:kms:us-west-2:{OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there

USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
               "kms:DescribeKey"]
EXPANDED = sorted([
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
])
GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
GRANT_CONDITION = {"Bool": {"kms:GrantIsForAWSResource": "true"}}


# --- helpers ----------------------------------------------------------------------------------


def shared_key_policy(owner: str) -> dict[str, Any]:
    """The console's policy for a key shared with account 444455556666 (use and grants)."""
    return {
        "Version": "2012-10-17",
        "Id": "shared",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{owner}:root"}, "Action": "kms:*",
             "Resource": "*"},
            {"Sid": "Allow use of the key", "Effect": "Allow",
             "Principal": {"AWS": EXTERNAL_ROOT}, "Action": USE_ACTIONS, "Resource": "*"},
            {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
             "Principal": {"AWS": EXTERNAL_ROOT}, "Action": GRANT_ACTIONS, "Resource": "*",
             "Condition": GRANT_CONDITION},
        ],
    }


def iam_policy(key_arn: str, actions: list[str], grants: bool = False) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Sid": "UseKey", "Effect": "Allow", "Action": actions, "Resource": key_arn},
    ]
    if grants:
        statements.append({"Sid": "Grants", "Effect": "Allow", "Action": GRANT_ACTIONS,
                           "Resource": key_arn, "Condition": GRANT_CONDITION})
    return {"Version": "2012-10-17", "Statement": statements}


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def shared_key(kms: Any) -> str:
    """A key on the moto server whose policy shares it with 444455556666; its ARN."""
    meta = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    owner = meta["Arn"].split(":")[4]
    kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default",
                       Policy=json.dumps(shared_key_policy(owner)))
    return str(meta["Arn"])


def assert_exit(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, (
        f"exit {result.returncode}, expected {code}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    assert "Traceback" not in result.stdout + result.stderr


def matrix(stdout: str) -> dict[str, str]:
    """ACTION -> RESULT column of the text matrix."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ACTION"))
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        action, rest = line.split(None, 1)
        rows[action] = rest.split("  ")[0].strip()
    return rows


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """Fake credentials and an endpoint where nothing listens: any AWS call would fail."""
    home = tmp_path / "offline-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KMSWIZARD_"))}
    env.update(
        AWS_ENDPOINT_URL=UNREACHABLE, AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-west-2",
        AWS_MAX_ATTEMPTS="1", NO_COLOR="1", HOME=str(home),
        XDG_STATE_HOME=str(home / ".local" / "state"),
    )
    return env


# --- against the moto server ------------------------------------------------------------------


def test_check_shared_key_with_matching_iam_policy_exits_0_with_the_matrix(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    key_arn = shared_key(kms)
    iam = write_json(tmp_path / "iam.json", iam_policy(key_arn, USE_ACTIONS))
    result = run_cli("check", "--key", key_arn, "--principal", ROLE, "--iam-policy", iam,
                     env=aws_env)
    assert_exit(result, 0)
    assert f"Principal {ROLE}" in result.stdout
    assert f"Key       {key_arn}" in result.stdout
    assert "key policy and IAM policy" in result.stdout
    assert matrix(result.stdout) == dict.fromkeys(EXPANDED, "allowed")
    assert "allowed by key policy statement 1 ('Allow use of the key'), IAM policy statement 0 " \
           "('UseKey')" in result.stdout
    assert "ineffective-iam-action" not in result.stdout
    # Grants are in the key policy but not in this IAM policy: worth an info, not a failure.
    assert "info    key-policy-broader:" in result.stdout


def test_check_iam_policy_with_an_extra_action_exits_2_with_the_finding(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    key_arn = shared_key(kms)
    iam = write_json(tmp_path / "iam.json",
                     iam_policy(key_arn, [*USE_ACTIONS, "kms:ScheduleKeyDeletion"]))
    result = run_cli("check", "--key", key_arn, "--principal", ROLE, "--iam-policy", iam,
                     env=aws_env)
    assert_exit(result, 2)
    rows = matrix(result.stdout)
    assert rows["kms:ScheduleKeyDeletion"] == "no: key policy"
    assert all(rows[a] == "allowed" for a in EXPANDED)
    assert ("warning ineffective-iam-action: the IAM policy allows kms:ScheduleKeyDeletion, "
            "which the key policy does not allow this principal: not effective") in result.stdout


def test_check_json_structure(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    key_arn = shared_key(kms)
    iam = write_json(tmp_path / "iam.json", iam_policy(key_arn, ["kms:Decrypt", "kms:Sign"],
                                                        grants=True))
    result = run_cli("check", "--key", key_arn, "--principal", ROLE, "--iam-policy", iam,
                     "--json", env=aws_env)
    assert_exit(result, 2)
    data = json.loads(result.stdout)
    assert set(data) == {"principal", "key_arn", "iam_policies_given", "complete", "actions",
                         "findings"}
    assert data["principal"] == ROLE
    assert data["key_arn"] == key_arn
    assert data["iam_policies_given"] is True
    assert data["complete"] is False
    by_action = {a["action"]: a for a in data["actions"]}
    assert sorted(by_action) == sorted(["kms:Decrypt", "kms:Sign", *GRANT_ACTIONS])
    for entry in data["actions"]:
        assert set(entry) == {"action", "result", "explanation", "statements", "condition_keys"}
        assert isinstance(entry["explanation"], str) and entry["explanation"]
    decrypt = by_action["kms:Decrypt"]
    assert decrypt["result"] == "allowed"
    assert decrypt["statements"] == ["key policy statement 1 ('Allow use of the key')",
                                     "IAM policy statement 0 ('UseKey')"]
    assert decrypt["condition_keys"] == []
    assert by_action["kms:Sign"]["result"] == "not granted by key policy"
    assert by_action["kms:Sign"]["statements"] == []
    grant = by_action["kms:CreateGrant"]
    assert grant["result"] == "conditional"
    assert grant["condition_keys"] == ["kms:GrantIsForAWSResource"]
    assert "IAM policy statement 1 ('Grants')" in grant["statements"]
    codes = [f["code"] for f in data["findings"]]
    assert "ineffective-iam-action" in codes
    for finding in data["findings"]:
        assert {"severity", "code", "message"} <= set(finding)


def test_check_context_turns_a_conditional_create_grant_into_allowed(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    key_arn = shared_key(kms)
    iam = write_json(tmp_path / "iam.json", iam_policy(key_arn, USE_ACTIONS, grants=True))
    args = ("check", "--key", key_arn, "--principal", ROLE, "--iam-policy", iam,
            "--action", "kms:CreateGrant", "--action", "kms:Decrypt")
    unknown = run_cli(*args, env=aws_env)
    assert_exit(unknown, 2)
    assert matrix(unknown.stdout) == {"kms:CreateGrant": "conditional", "kms:Decrypt": "allowed"}
    assert "depends on kms:GrantIsForAWSResource" in unknown.stdout
    known = run_cli(*args, "--context", "kms:GrantIsForAWSResource=true", env=aws_env)
    assert_exit(known, 0)
    assert matrix(known.stdout) == {"kms:CreateGrant": "allowed", "kms:Decrypt": "allowed"}
    refused = run_cli(*args, "--context", "kms:GrantIsForAWSResource=false", env=aws_env)
    assert_exit(refused, 2)
    assert matrix(refused.stdout)["kms:CreateGrant"] == "no: key policy"


# --- offline, from a key policy file ----------------------------------------------------------


def test_check_key_policy_file_works_offline(
    offline_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    key_policy = write_json(tmp_path / "key-policy.json", shared_key_policy(OWNER))
    iam = write_json(tmp_path / "iam.json", iam_policy(OFFLINE_KEY_ARN, USE_ACTIONS))
    result = run_cli("check", "--key-policy", key_policy, "--key-arn", OFFLINE_KEY_ARN,
                     "--principal", ROLE, "--iam-policy", iam, "--json", env=offline_env)
    assert_exit(result, 0)
    data = json.loads(result.stdout)
    assert data["key_arn"] == OFFLINE_KEY_ARN and data["complete"] is True
    assert {a["action"]: a["result"] for a in data["actions"]} == dict.fromkeys(
        EXPANDED, "allowed")
    assert result.stderr == ""
    # The same arguments with --key instead of --key-policy do need AWS, and fail here.
    online = run_cli("check", "--key", OFFLINE_KEY_ARN, "--principal", ROLE,
                     "--iam-policy", iam, env=offline_env)
    assert_exit(online, 1)
    assert online.stderr.startswith("kmswizard: error:")


def test_check_key_policy_only_lists_what_the_key_policy_grants(
    offline_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    key_policy = write_json(tmp_path / "key-policy.json", shared_key_policy(OWNER))
    result = run_cli("check", "--key-policy", key_policy, "--key-arn", OFFLINE_KEY_ARN,
                     "--principal", ROLE, env=offline_env)
    assert_exit(result, 2)  # the grants are conditional
    assert "Judged    key policy only" in result.stdout
    rows = matrix(result.stdout)
    assert {a: rows[a] for a in EXPANDED} == dict.fromkeys(EXPANDED, "allowed")
    assert {a: rows[a] for a in GRANT_ACTIONS} == dict.fromkeys(GRANT_ACTIONS, "conditional")
    assert "key-policy-only" in result.stdout


def test_check_principal_the_key_policy_does_not_name(
    offline_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    policy = shared_key_policy(OWNER)
    for statement in policy["Statement"][1:]:
        statement["Principal"] = {"AWS": ROLE}
    key_policy = write_json(tmp_path / "key-policy.json", policy)
    iam = write_json(tmp_path / "iam.json", iam_policy(OFFLINE_KEY_ARN, USE_ACTIONS))
    other = f"arn:aws:iam::{EXTERNAL}:role/OtherRole"
    result = run_cli("check", "--key-policy", key_policy, "--key-arn", OFFLINE_KEY_ARN,
                     "--principal", other, "--iam-policy", iam, env=offline_env)
    assert_exit(result, 2)
    assert set(matrix(result.stdout).values()) == {"no: key policy"}
    assert "ERROR   principal-not-in-key-policy" in result.stdout


BAD_INPUTS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "key-policy-without-key-arn": (
        ["--key-policy", "{key_policy}", "--principal", ROLE], ("--key-arn",)),
    "key-policy-with-bad-key-arn": (
        ["--key-policy", "{key_policy}", "--key-arn", "alias/orders", "--principal", ROLE],
        ("--key-arn",)),
    "malformed-context": (
        ["--key-policy", "{key_policy}", "--key-arn", OFFLINE_KEY_ARN, "--principal", ROLE,
         "--context", "kms:GrantIsForAWSResource"], ("--context", "KEY=VALUE")),
    "context-without-name": (
        ["--key-policy", "{key_policy}", "--key-arn", OFFLINE_KEY_ARN, "--principal", ROLE,
         "--context", "=true"], ("--context",)),
    "principal-star": (
        ["--key-policy", "{key_policy}", "--key-arn", OFFLINE_KEY_ARN, "--principal", "*"],
        ("--principal", "'*'")),
    "principal-account-root": (
        ["--key-policy", "{key_policy}", "--key-arn", OFFLINE_KEY_ARN, "--principal",
         EXTERNAL_ROOT], ("--principal", "whole account")),
    "unreadable-iam-policy": (
        ["--key-policy", "{key_policy}", "--key-arn", OFFLINE_KEY_ARN, "--principal", ROLE,
         "--iam-policy", "{missing}"], ("missing.json", "cannot read it")),
    "iam-policy-not-json": (
        ["--key-policy", "{key_policy}", "--key-arn", OFFLINE_KEY_ARN, "--principal", ROLE,
         "--iam-policy", "{not_json}"], ("not-json.json", "not valid JSON")),
    "iam-policy-not-an-object": (
        ["--key-policy", "{key_policy}", "--key-arn", OFFLINE_KEY_ARN, "--principal", ROLE,
         "--iam-policy", "{a_list}"], ("list.json", "not a JSON object")),
    "key-policy-not-json": (
        ["--key-policy", "{not_json}", "--key-arn", OFFLINE_KEY_ARN, "--principal", ROLE],
        ("not-json.json", "not valid JSON")),
    "unknown-action": (
        ["--key-policy", "{key_policy}", "--key-arn", OFFLINE_KEY_ARN, "--principal", ROLE,
         "--action", "kms:Decrypy"], ("'kms:Decrypy'",)),
    "no-key-at-all": (["--principal", ROLE], ("--key",)),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_check_bad_input_is_one_error_line(
    name: str, offline_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    files = {
        "key_policy": write_json(tmp_path / "key-policy.json", shared_key_policy(OWNER)),
        "missing": tmp_path / "missing.json",
        "not_json": tmp_path / "not-json.json",
        "a_list": write_json(tmp_path / "list.json", [{"Effect": "Allow"}]),
    }
    files["not_json"].write_text("{'Version': 2012-10-17", encoding="utf-8")
    args, needles = BAD_INPUTS[name]
    result = run_cli("check", *(a.format(**files) for a in args), env=offline_env)
    assert_exit(result, 1)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kmswizard: error:"), lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
