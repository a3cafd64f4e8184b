"""Reliability: plan and apply against a KMS that fails, through the fault proxy (fault_proxy.py).

For a fault on each AWS call of apply (DescribeKey, GetKeyPolicy, PutKeyPolicy and STS
GetCallerIdentity), every test checks the same promises:

* the outcome is reported correctly: one line per key, "applied" only when the key policy
  really is the planned one, a plan that cannot be made is one error naming the call;
* no key policy is left in a state the user did not ask for (the old or the planned policy);
* the replaced policy was backed up whenever a PutKeyPolicy was attempted, and only then;
* every key that reached apply has its audit line;
* running the same profile again without faults converges (nothing left to change).

Clients use 2 attempts and a 1 s read timeout (the ``fast_aws`` fixture, or the environment of
the CLI subprocesses), so a fault on both attempts surfaces and a single one is retried.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import Fault, FaultProxy
from test_e2e_cli import RunCli, assert_exit, assert_one_error, create_key, policy_text

from kmswizard.aws.gateway import KmsGateway
from kmswizard.aws.options import AwsOptions
from kmswizard.errors import UserError
from kmswizard.profiles import Profile
from kmswizard.state import sha256
from kmswizard.workflow import ApplyOutcome, apply_plan, build_plan

REGION = "us-west-2"
EXTERNAL = "444455556666"
ATTEMPTS = 2  # AWS_MAX_ATTEMPTS in fast_aws and in cli_env below
MOTO_CALLER = "arn:aws:sts::123456789012:user/moto"

pytestmark = pytest.mark.usefixtures("fast_aws")


@dataclass(frozen=True)
class Case:
    operation: str
    kind: str
    expect: str  # "applied", "failed" or "plan-error" (build_plan raises)
    says: str  # a fragment of the key's result line, or of the plan error
    count: int = ATTEMPTS  # every attempt fails, so the fault surfaces
    skip: int = 0
    forward: bool = False
    caller_known: bool = True

    @property
    def id(self) -> str:
        where = {0: "", 1: "-guard-read"}.get(self.skip, f"-skip{self.skip}")
        return (
            f"{self.operation}-{self.kind}{'-forwarded' if self.forward else ''}{where}"
            f"{'' if self.count >= ATTEMPTS else '-once'}"
        )


CASES = [
    # DescribeKey: the plan cannot be made, so nothing is read further or written.
    Case("DescribeKey", "500", "plan-error", "DescribeKey"),
    Case("DescribeKey", "timeout", "plan-error", "did not answer in time"),
    Case("DescribeKey", "drop", "plan-error", "the connection was dropped"),
    # GetKeyPolicy: first the read for the plan, then (skip=1) the concurrency guard's read.
    Case("GetKeyPolicy", "500", "plan-error", "KMS had an internal error"),
    Case("GetKeyPolicy", "drop", "plan-error", "the connection was dropped"),
    Case("GetKeyPolicy", "timeout", "failed", "did not answer in time", skip=1),
    Case("GetKeyPolicy", "500", "failed", "KMS had an internal error", skip=1),
    # (Throttling, on every call: test_throttling_on_every_call_is_absorbed_by_retries.)
    # STS: who is calling is only for the audit log and the lockout check; apply goes on.
    Case("GetCallerIdentity", "500", "applied", "key policy updated", caller_known=False),
    Case("GetCallerIdentity", "timeout", "applied", "key policy updated", caller_known=False),
    Case("GetCallerIdentity", "drop", "applied", "key policy updated", caller_known=False),
    # PutKeyPolicy: with forward=True the write lands but its answer is lost or replaced.
    Case("PutKeyPolicy", "500", "failed", "reading it back shows nothing was written"),
    Case("PutKeyPolicy", "500", "applied", "confirmed by reading it back", forward=True),
    Case("PutKeyPolicy", "timeout", "failed", "reading it back shows nothing was written"),
    Case("PutKeyPolicy", "timeout", "applied", "confirmed by reading it back", forward=True),
    Case("PutKeyPolicy", "drop", "failed", "reading it back shows nothing was written"),
    Case("PutKeyPolicy", "drop", "applied", "confirmed by reading it back", forward=True),
]


# --- helpers ----------------------------------------------------------------------------------


def backup_folder(state: Path, meta: dict[str, Any]) -> Path:
    account, region = meta["Arn"].split(":")[4], meta["Arn"].split(":")[3]
    return state / "backups" / account / region / meta["KeyId"]


def backups_of(state: Path, meta: dict[str, Any]) -> list[dict[str, Any]]:
    folder = backup_folder(state, meta)
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def audit_lines(state: Path) -> list[dict[str, Any]]:
    path = state / "audit.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def gateway_via(proxy: FaultProxy) -> KmsGateway:
    """A new gateway (new clients, so the environment's timeouts apply) through the proxy."""
    return KmsGateway(AwsOptions(region=REGION, endpoint_url=proxy.url))


@functools.cache
def clean_gateway(endpoint: str) -> KmsGateway:
    """A gateway straight to moto, made once: creating clients costs ~0.2 s per gateway."""
    return KmsGateway(AwsOptions(region=REGION, endpoint_url=endpoint))


def share_profile(*refs: str) -> Profile:
    return Profile(keys=tuple(refs), accounts=(EXTERNAL,), grants_for_aws_resources=True)


def planned_text(proxy: FaultProxy, profile: Profile) -> str:
    """The key policy the profile asks for, planned with no fault (plans are pure)."""
    [key_plan] = build_plan(clean_gateway(proxy.upstream_url), profile).keys
    assert key_plan.changed
    return key_plan.after_text


def assert_converges(proxy: FaultProxy, kms: Any, meta: dict[str, Any], profile: Profile,
                     planned: str) -> None:
    """With the faults gone, applying the same profile again leaves nothing to change."""
    proxy.clear()
    gateway = clean_gateway(proxy.upstream_url)
    outcomes = apply_plan(gateway, build_plan(gateway, profile))
    assert [o.status for o in outcomes] in (["applied"], ["unchanged"]), outcomes
    again = build_plan(gateway, profile)
    assert not again.changed, "the same profile still has changes after a clean re-run"
    assert policy_text(kms, meta["KeyId"]) == planned


# --- in process: every fault on every call ----------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fault_on_one_aws_call_of_apply(
    case: Case, kms: Any, fault_proxy: FaultProxy, private_state_dir: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    profile = share_profile("alias/orders")
    planned = planned_text(fault_proxy, profile)
    fault_proxy.add(Fault(case.operation, case.kind, count=case.count, skip=case.skip,
                          forward=case.forward))
    before_requests = len(fault_proxy.requests)
    gateway = gateway_via(fault_proxy)

    outcome: ApplyOutcome | None = None
    try:
        plan = build_plan(gateway, profile)
    except UserError as exc:
        assert case.expect == "plan-error", f"the plan failed: {exc}"
        message = str(exc)
        assert case.operation in message and case.says in message, message
    else:
        assert case.expect != "plan-error", "the fault did not stop the plan"
        [outcome] = apply_plan(gateway, plan)
        message = outcome.message
        assert outcome.status == case.expect, message
        assert message.startswith("alias/orders: "), message
        assert case.says in message, message
    assert "\n" not in message and "Traceback" not in message

    faults = [r for r in fault_proxy.requests[before_requests:] if r.fault]
    assert len(faults) == min(case.count, ATTEMPTS), "the fault was not injected as planned"
    final = policy_text(kms, meta["KeyId"])
    assert final in (original, planned), "the key policy is neither the old nor the planned one"
    assert (final == planned) == (outcome is not None and outcome.status == "applied"), (
        f"reported {outcome and outcome.status!r} but the policy is "
        f"{'the planned one' if final == planned else 'unchanged'}"
    )

    put_attempted = fault_proxy.count("PutKeyPolicy") > 0
    saved = backups_of(private_state_dir, meta)
    if put_attempted:
        assert len(saved) == 1 and saved[0]["policy"] == original
        assert outcome is not None and outcome.backup is not None and outcome.backup.is_file()
        caller = MOTO_CALLER if case.caller_known else "unknown"
        assert saved[0]["caller_arn"] == caller
    else:
        assert saved == [], "a backup without any PutKeyPolicy"

    audit = audit_lines(private_state_dir)
    if outcome is None:
        assert audit == [], "a plan that failed must not be audited as an apply"
    else:
        [line] = audit
        assert line["result"] == outcome.status
        assert line["key_arn"] == meta["Arn"]
        assert line["caller_arn"] == (MOTO_CALLER if case.caller_known else None)
        assert line["sha256_before"] == sha256(original)
        assert line["sha256_after"] == sha256(planned)

    assert_converges(fault_proxy, kms, meta, profile, planned)


@pytest.mark.parametrize("forward", [False, True], ids=["not-written", "written"])
def test_put_outcome_unknown_and_the_read_back_fails_too(
    forward: bool, kms: Any, fault_proxy: FaultProxy, private_state_dir: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    profile = share_profile("alias/orders")
    planned = planned_text(fault_proxy, profile)
    gateway = gateway_via(fault_proxy)
    plan = build_plan(gateway, profile)
    fault_proxy.add(
        Fault("PutKeyPolicy", "drop", count=ATTEMPTS, forward=forward),
        # The guard's read passes; the read back after the unknown outcome is dropped too.
        Fault("GetKeyPolicy", "drop", count=ATTEMPTS, skip=1),
    )

    [outcome] = apply_plan(gateway, plan)

    assert outcome.status == "failed"
    assert outcome.message.startswith("alias/orders: outcome unknown: PutKeyPolicy")
    assert "reading the policy back failed too" in outcome.message
    assert "kmswizard plan" in outcome.message and "\n" not in outcome.message
    assert policy_text(kms, meta["KeyId"]) == (planned if forward else original)
    assert [b["policy"] for b in backups_of(private_state_dir, meta)] == [original]
    assert_converges(fault_proxy, kms, meta, profile, planned)


def test_throttling_on_every_call_is_absorbed_by_retries(
    kms: Any, fault_proxy: FaultProxy, private_state_dir: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    profile = share_profile("alias/orders")
    planned = planned_text(fault_proxy, profile)
    operations = ("DescribeKey", "GetKeyPolicy", "GetCallerIdentity", "PutKeyPolicy")
    fault_proxy.add(*(Fault(op, "throttle", count=1) for op in operations))
    gateway = gateway_via(fault_proxy)

    [outcome] = apply_plan(gateway, build_plan(gateway, profile))

    assert (outcome.status, outcome.message) == ("applied", "alias/orders: key policy updated")
    assert [f.fired for f in fault_proxy.faults] == [1, 1, 1, 1], "a throttle was not injected"
    for op in operations:  # each throttled call was retried, once
        assert [r.fault for r in fault_proxy.calls(op)][:2] == ["throttle", None], op
    assert policy_text(kms, meta["KeyId"]) == planned
    [line] = audit_lines(private_state_dir)
    assert line["caller_arn"] == MOTO_CALLER
    assert (line["sha256_before"], line["sha256_after"]) == (sha256(original), sha256(planned))


# --- the CLI, in a subprocess, through the proxy ----------------------------------------------


def cli_env(aws_env: dict[str, str], proxy: FaultProxy) -> dict[str, str]:
    return {**aws_env, "AWS_ENDPOINT_URL": proxy.url, "AWS_MAX_ATTEMPTS": str(ATTEMPTS),
            "KMSWIZARD_READ_TIMEOUT": "1"}


def cli_state(aws_env: dict[str, str]) -> Path:
    return Path(aws_env["XDG_STATE_HOME"]) / "kmswizard"


def status_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if line.startswith(("applied:", "failed:", "unchanged:"))]


def test_cli_fault_on_one_key_of_three(
    kms: Any, fault_proxy: FaultProxy, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    metas = {name: create_key(kms, f"alias/{name}") for name in ("a", "b", "c")}
    originals = {name: policy_text(kms, m["KeyId"]) for name, m in metas.items()}
    profile = tmp_path / "three.toml"
    profile.write_text(
        'keys = ["alias/a", "alias/b", "alias/c"]\n'
        f'accounts = ["{EXTERNAL}"]\n'
    )
    env = cli_env(aws_env, fault_proxy)
    fault_proxy.add(Fault("PutKeyPolicy", "500", count=ATTEMPTS, key_id=metas["b"]["KeyId"]))

    result = run_cli("apply", profile, "--yes", env=env)

    assert_exit(result, 1)
    lines = status_lines(result.stderr)
    assert len(lines) == 3, result.stderr
    assert lines[0] == "applied: alias/a: key policy updated"
    assert lines[1].startswith("failed: alias/b: PutKeyPolicy ")
    assert "KMS had an internal error" in lines[1]
    assert lines[1].endswith("reading it back shows nothing was written")
    assert lines[2] == "applied: alias/c: key policy updated"
    assert policy_text(kms, metas["b"]["KeyId"]) == originals["b"]
    for name in ("a", "c"):
        assert policy_text(kms, metas[name]["KeyId"]) != originals[name]
    # Every key had its PutKeyPolicy attempted, so every key has its backup.
    for name, meta in metas.items():
        assert [b["policy"] for b in backups_of(cli_state(aws_env), meta)] == [originals[name]]
    assert sorted((a["key_arn"], a["result"]) for a in audit_lines(cli_state(aws_env))) == sorted(
        [(metas["a"]["Arn"], "applied"), (metas["b"]["Arn"], "failed"),
         (metas["c"]["Arn"], "applied")])

    fault_proxy.clear()
    again = run_cli("apply", profile, "--yes", env=env)
    assert_exit(again, 0)
    assert status_lines(again.stderr) == [
        "unchanged: alias/a: no change", "applied: alias/b: key policy updated",
        "unchanged: alias/c: no change",
    ]
    assert_exit(run_cli("plan", profile, env=env), 0)


def test_cli_put_whose_answer_was_lost_but_landed_is_reported_applied(
    kms: Any, fault_proxy: FaultProxy, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    profile = tmp_path / "p.toml"
    profile.write_text(f'key = "alias/orders"\naccounts = ["{EXTERNAL}"]\n')
    env = cli_env(aws_env, fault_proxy)
    # (The same with a timeout instead of a dropped connection: in process, above.)
    fault_proxy.add(Fault("PutKeyPolicy", "drop", count=ATTEMPTS, forward=True))

    result = run_cli("apply", profile, "--yes", env=env)

    assert_exit(result, 0)
    [line] = status_lines(result.stderr)
    assert line.startswith("applied: alias/orders: key policy updated (confirmed by reading it "
                           "back after: PutKeyPolicy ")
    assert "the connection was dropped" in line
    assert policy_text(kms, meta["KeyId"]) != original
    assert fault_proxy.count("PutKeyPolicy") == ATTEMPTS
    fault_proxy.clear()
    assert_exit(run_cli("plan", profile, env=env), 0)


def test_cli_dropped_describe_key_is_one_error_line_and_writes_nothing(
    kms: Any, fault_proxy: FaultProxy, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    profile = tmp_path / "p.toml"
    profile.write_text(f'key = "alias/orders"\naccounts = ["{EXTERNAL}"]\n')
    env = cli_env(aws_env, fault_proxy)
    fault_proxy.add(Fault("DescribeKey", "drop", count=ATTEMPTS))

    result = run_cli("apply", profile, "--yes", env=env)

    assert_one_error(result, "DescribeKey alias/orders", "the connection was dropped")
    assert policy_text(kms, meta["KeyId"]) == original
    assert fault_proxy.count("PutKeyPolicy") == 0
    assert not (cli_state(aws_env) / "backups").exists()


def test_cli_sts_unreachable_still_applies_and_audits_an_unknown_caller(
    kms: Any, fault_proxy: FaultProxy, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    profile = tmp_path / "p.toml"
    profile.write_text(f'key = "alias/orders"\naccounts = ["{EXTERNAL}"]\n')
    env = cli_env(aws_env, fault_proxy)
    fault_proxy.add(Fault("GetCallerIdentity", "drop", count=ATTEMPTS))

    result = run_cli("apply", profile, "--yes", env=env)

    assert_exit(result, 0)
    assert status_lines(result.stderr) == ["applied: alias/orders: key policy updated"]
    [line] = audit_lines(cli_state(aws_env))
    assert line["caller_arn"] is None and line["result"] == "applied"
    [saved] = backups_of(cli_state(aws_env), meta)
    assert saved["caller_arn"] == "unknown" and saved["policy"] == original
