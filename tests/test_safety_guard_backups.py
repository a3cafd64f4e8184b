"""Safety of apply: the concurrency guard, the backup before every write, and the audit log."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import FaultProxy
from test_e2e_cli import (
    RunCli,
    account_of,
    assert_exit,
    create_key,
    policy_text,
    put_policy,
    root_statement,
)

from kmswizard import cli, workflow
from kmswizard.aws.gateway import KmsGateway
from kmswizard.aws.options import AwsOptions
from kmswizard.profiles import Profile
from kmswizard.state import sha256
from kmswizard.workflow import apply_plan, build_plan

REGION = "us-west-2"
EXTERNAL = "444455556666"
MOTO_CALLER = "arn:aws:sts::123456789012:user/moto"
STAMP = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")
GUARD = "the key policy changed since the plan; nothing written (plan again to see the new diff)"

pytestmark = pytest.mark.usefixtures("fast_aws")


def backup_files(state: Path, meta: dict[str, Any]) -> list[Path]:
    account, region = meta["Arn"].split(":")[4], meta["Arn"].split(":")[3]
    return sorted((state / "backups" / account / region / meta["KeyId"]).glob("*.json"))


def audit_lines(state: Path) -> list[dict[str, Any]]:
    path = state / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def someone_elses_statement(account: str) -> dict[str, Any]:
    return {"Sid": "AddedByAnotherAdmin", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:role/Auditor"},
            "Action": "kms:DescribeKey", "Resource": "*"}


# --- 1. the concurrency guard -----------------------------------------------------------------


@pytest.mark.parametrize("change", ["rewritten", "reformatted"])
def test_guard_refuses_a_key_whose_policy_changed_after_the_plan(
    change: str, kms: Any, moto_endpoint: str, private_state_dir: Path
) -> None:
    racing = create_key(kms, "alias/racing")
    calm = create_key(kms, "alias/calm")
    gateway = KmsGateway(AwsOptions(region=REGION, endpoint_url=moto_endpoint))
    plan = build_plan(gateway, Profile(keys=("alias/racing", "alias/calm"), accounts=(EXTERNAL,)))

    # Between the plan and the apply, someone else changes one key policy: a new statement,
    # or only the same policy written with other whitespace (not what the plan was made from).
    if change == "rewritten":
        owner = account_of(racing)
        put_policy(kms, racing["KeyId"], [root_statement(owner), someone_elses_statement(owner)])
    else:
        same = json.loads(policy_text(kms, racing["KeyId"]))
        kms.put_key_policy(KeyId=racing["KeyId"], PolicyName="default",
                           Policy=json.dumps(same, separators=(",", ":")))
    theirs = policy_text(kms, racing["KeyId"])

    outcomes = apply_plan(gateway, plan)

    assert [(o.status, o.message) for o in outcomes] == [
        ("failed", f"alias/racing: {GUARD}"),
        ("applied", "alias/calm: key policy updated"),
    ]
    assert policy_text(kms, racing["KeyId"]) == theirs, "the guard let a write through"
    assert outcomes[0].backup is None and backup_files(private_state_dir, racing) == []
    assert len(backup_files(private_state_dir, calm)) == 1
    assert sorted((a["key_arn"], a["result"]) for a in audit_lines(private_state_dir)) == sorted(
        [(racing["Arn"], "failed"), (calm["Arn"], "applied")])


def test_guard_through_the_cli_exits_1_and_writes_nothing(
    kms: Any, moto_endpoint: str, private_state_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    meta = create_key(kms, "alias/orders")
    owner = account_of(meta)
    profile = tmp_path / "p.toml"
    profile.write_text(f'key = "alias/orders"\naccounts = ["{EXTERNAL}"]\n')
    real_build_plan = workflow.build_plan
    theirs: list[str] = []

    def plan_then_race(*args: Any, **kwargs: Any) -> Any:
        plan = real_build_plan(*args, **kwargs)
        put_policy(kms, meta["KeyId"], [root_statement(owner), someone_elses_statement(owner)])
        theirs.append(policy_text(kms, meta["KeyId"]))
        return plan

    monkeypatch.setattr(workflow, "build_plan", plan_then_race)

    status = cli.main(["apply", str(profile), "--yes", "--endpoint-url", moto_endpoint,
                       "--region", REGION])

    err = capsys.readouterr().err
    assert status == 1, err
    assert f"failed: alias/orders: {GUARD}" in err.splitlines()
    assert "applied:" not in err and "previous policy saved" not in err
    assert len(theirs) == 1, "the plan was not built through workflow.build_plan"
    assert policy_text(kms, meta["KeyId"]) == theirs[0], "the racing change was overwritten"
    assert backup_files(private_state_dir, meta) == []


# --- 2. backups -------------------------------------------------------------------------------


def test_every_put_is_preceded_by_a_durable_backup_of_the_replaced_policy(
    kms: Any, moto_endpoint: str, private_state_dir: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    gateway = KmsGateway(AwsOptions(region=REGION, endpoint_url=moto_endpoint))
    started = datetime.now(UTC)

    [first] = apply_plan(gateway, build_plan(gateway, Profile(keys=("alias/orders",),
                                                               accounts=(EXTERNAL,))))
    shared = policy_text(kms, meta["KeyId"])
    [second] = apply_plan(gateway, build_plan(gateway, Profile(keys=("alias/orders",))),
                          reason="revoke")

    assert (first.status, second.status) == ("applied", "applied")
    files = backup_files(private_state_dir, meta)
    assert files == [first.backup, second.backup]
    # One folder per account, region and key ID; one UTC-timestamped JSON file per write.
    assert files[0].parent == (private_state_dir / "backups" / account_of(meta) / REGION
                               / meta["KeyId"])
    assert all(STAMP.match(f.stem) for f in files), [f.name for f in files]
    assert not list(files[0].parent.glob(".*")), "a temporary file was left behind"
    records = [json.loads(f.read_text()) for f in files]
    assert [r["policy"] for r in records] == [original, shared]  # the replaced text, exactly
    for record, path, reason in zip(records, files, ["apply", "revoke"], strict=True):
        assert record["key_arn"] == meta["Arn"]
        assert record["caller_arn"] == MOTO_CALLER
        assert record["reason"] == reason
        assert record["sha256"] == sha256(record["policy"])
        taken = datetime.fromisoformat(record["taken_at"])
        assert taken.utcoffset() == timedelta(0), "not UTC"
        assert started - timedelta(seconds=1) <= taken <= datetime.now(UTC)
        assert path.stem == taken.strftime("%Y%m%dT%H%M%S.%fZ")


def test_unwritable_state_directory_means_nothing_is_applied(
    kms: Any, fault_proxy: FaultProxy, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    metas = [create_key(kms, "alias/a"), create_key(kms, "alias/b")]
    originals = [policy_text(kms, m["KeyId"]) for m in metas]
    profile = tmp_path / "p.toml"
    profile.write_text(f'keys = ["alias/a", "alias/b"]\naccounts = ["{EXTERNAL}"]\n')
    # Tests run as root, so permissions would not stop the writes: a regular file in the way
    # of the state directory does.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = {**aws_env, "AWS_ENDPOINT_URL": fault_proxy.url, "XDG_STATE_HOME": str(blocker / "x")}

    result = run_cli("apply", profile, "--yes", env=env)

    assert_exit(result, 1)
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 2, result.stderr
    for line, name in zip(failed, ["alias/a", "alias/b"], strict=True):
        assert line.startswith(f"failed: {name}: cannot write the backup of {name} to ")
        assert "nothing was applied" in line
        assert "cannot write the audit log" in line  # the warning rides on the same line
    assert "applied:" not in result.stderr
    assert fault_proxy.count("PutKeyPolicy") == 0, "a key policy was written without a backup"
    assert [policy_text(kms, m["KeyId"]) for m in metas] == originals


# --- 4. the audit log -------------------------------------------------------------------------


def test_audit_log_has_one_line_per_key_for_every_dry_run_and_apply(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    changing = create_key(kms, "alias/changing")
    shared_already = create_key(kms, "alias/shared")
    profile = tmp_path / "p.toml"
    profile.write_text(f'keys = ["alias/changing", "alias/shared"]\naccounts = ["{EXTERNAL}"]\n')
    only_shared = tmp_path / "shared.toml"
    only_shared.write_text(f'key = "alias/shared"\naccounts = ["{EXTERNAL}"]\n')
    assert_exit(run_cli("apply", only_shared, "--yes", env=aws_env), 0)
    state = Path(aws_env["XDG_STATE_HOME"]) / "kmswizard"
    before = {m["Arn"]: policy_text(kms, m["KeyId"]) for m in (changing, shared_already)}
    skip = len(audit_lines(state))
    assert skip == 1

    assert_exit(run_cli("apply", profile, "--dry-run", env=aws_env), 2)
    assert_exit(run_cli("apply", profile, "--yes", env=aws_env), 0)
    again = run_cli("apply", profile, "--yes", env=aws_env)
    assert_exit(again, 0)
    assert "nothing to change" in again.stderr

    after = {m["Arn"]: policy_text(kms, m["KeyId"]) for m in (changing, shared_already)}
    lines = audit_lines(state)[skip:]
    # Keys are applied in parallel: within one run the lines come in any order.
    runs = [sorted((a["key_arn"], a["action"], a["result"]) for a in run)
            for run in (lines[:2], lines[2:4], lines[4:])]
    assert runs == [
        sorted([(changing["Arn"], "apply (dry run)", "dry-run"),
                (shared_already["Arn"], "apply (dry run)", "unchanged")]),
        sorted([(changing["Arn"], "apply", "applied"),
                (shared_already["Arn"], "apply", "unchanged")]),
        # An apply with nothing left to change is an apply too: audited, nothing written.
        sorted([(changing["Arn"], "apply", "unchanged"),
                (shared_already["Arn"], "apply", "unchanged")]),
    ]
    for index, line in enumerate(lines):
        assert set(line) >= {"time", "caller_arn", "key_arn", "sha256_before", "sha256_after",
                             "result"}
        assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
        assert line["caller_arn"] == MOTO_CALLER
        # The hashes are those of the real texts: as read before, as in KMS after the apply
        # (for the dry run: what the apply then wrote).
        read_before = before if index < 4 else after  # the last run read the applied ones
        assert line["sha256_before"] == sha256(read_before[line["key_arn"]])
        assert line["sha256_after"] == sha256(after[line["key_arn"]])
    assert after[changing["Arn"]] != before[changing["Arn"]]
    [applied] = [a for a in lines if a["result"] == "applied"]
    assert applied["backup"] and Path(applied["backup"]).is_file()
    assert json.loads(Path(applied["backup"]).read_text())["policy"] == before[changing["Arn"]]
