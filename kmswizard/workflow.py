"""Plan and apply, shared by the headless commands and the wizard.

Everything is validated and planned before the first write; each key is then written on its
own, so one failed key never stops or corrupts the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TypeVar

from kmswizard.aws.catalogue import kms_catalogue
from kmswizard.aws.errors import AwsError
from kmswizard.aws.gateway import KmsGateway
from kmswizard.errors import UserError
from kmswizard.policy.access import external_access
from kmswizard.policy.document import parse_policy
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.lockout import lockout_message
from kmswizard.policy.plan import KeyPlan, Plan, plan_key, plan_restore
from kmswizard.policy.sharing import ShareRequest
from kmswizard.profiles import Profile
from kmswizard.state import Backup, append_audit, find_backup, list_backups, sha256, write_backup

# (stage, keys done, keys in all): called from worker threads as each key finishes.
Progress = Callable[[str, int, int], None]
DEFAULT_CONCURRENCY = 10
T = TypeVar("T")
R = TypeVar("R")


def _quiet(stage: str, done: int, total: int) -> None:
    """The default progress sink: say nothing."""


def in_parallel(
    items: Sequence[T],
    work: Callable[[T], R],
    workers: int,
    stage: str = "",
    progress: Progress = _quiet,
) -> list[R]:
    """Run ``work`` on every item with a bounded pool; results (and the first error, if any)
    come back in the order of ``items``, whatever order they finish in."""
    if not items:
        return []
    lock = threading.Lock()
    done = 0

    def tracked(item: T) -> R:
        nonlocal done
        try:
            return work(item)
        finally:
            with lock:
                done += 1
                progress(stage, done, len(items))

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures = [pool.submit(tracked, item) for item in items]
        return [future.result() for future in futures]


def check_region(gateway: KmsGateway, profile: Profile) -> str | None:
    """The region for the profile's key IDs and aliases; a conflicting --region is an error."""
    cli_region = gateway.options.region
    if cli_region and profile.region and cli_region != profile.region:
        raise UserError(
            f"--region {cli_region} conflicts with region = \"{profile.region}\" in the profile"
        )
    return profile.region or cli_region


def resolve_keys(
    gateway: KmsGateway,
    refs: Sequence[str],
    region: str | None,
    workers: int = DEFAULT_CONCURRENCY,
    progress: Progress = _quiet,
) -> list[KeyInfo]:
    """DescribeKey every reference (in parallel, results in order); refuse duplicates."""
    keys = in_parallel(
        refs, lambda ref: gateway.describe_key(ref, region), workers, "resolving keys", progress
    )
    seen: dict[str, str] = {}
    for ref, key in zip(refs, keys, strict=True):
        if key.arn in seen:
            raise UserError(f"{seen[key.arn]!r} and {ref!r} are the same key ({key.arn})")
        seen[key.arn] = ref
    return keys


def plan_keys(
    gateway: KmsGateway,
    keys: Sequence[KeyInfo],
    request: ShareRequest,
    workers: int = DEFAULT_CONCURRENCY,
    progress: Progress = _quiet,
) -> Plan:
    """Read each key policy and plan the change; the wizard calls this with its own request."""
    catalogue = kms_catalogue()
    for key in keys:
        if key.manager == "AWS":
            raise UserError(
                f"{key.name} ({key.arn}) is an AWS managed key: its key policy cannot be "
                "changed; share a customer managed key instead"
            )
    texts = in_parallel(keys, gateway.get_policy, workers, "reading key policies", progress)
    planned = {key.arn for key in keys}
    keys = [replace(k, replicas=tuple(r for r in k.replicas if r not in planned)) for k in keys]
    caller = gateway.caller_arn()
    return Plan(
        tuple(
            plan_key(key, text, request, catalogue, caller)
            for key, text in zip(keys, texts, strict=True)
        )
    )


def build_plan(
    gateway: KmsGateway,
    profile: Profile,
    progress: Progress = _quiet,
    workers: int = DEFAULT_CONCURRENCY,
) -> Plan:
    region = check_region(gateway, profile)
    keys = resolve_keys(gateway, profile.keys, region, workers, progress)
    return plan_keys(gateway, keys, profile.request(), workers, progress)


@dataclass(frozen=True)
class ApplyOutcome:
    key: KeyInfo
    status: Literal["applied", "unchanged", "failed", "dry-run"]
    message: str
    backup: Path | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "key_arn": self.key.arn,
            "status": self.status,
            "message": self.message,
            "backup": str(self.backup) if self.backup else None,
        }


INVALID_PRINCIPALS = "invalid principals"
AWS_LOCKOUT = "will not allow you to update the key policy in the future"


def _new_principals(key_plan: KeyPlan) -> list[str]:
    before = {a.principal for a in external_access(key_plan.before, key_plan.key)}
    return sorted(
        {a.principal for a in external_access(key_plan.after, key_plan.key)} - before
    )


def _explain_rejection(exc: AwsError, key_plan: KeyPlan, caller: str | None) -> str:
    """Say what a MalformedPolicyDocumentException most likely means for this change."""
    name = key_plan.key.name
    if INVALID_PRINCIPALS in exc.aws_message:
        new = ", ".join(_new_principals(key_plan)) or "none (so an existing one)"
        return (
            f"{name}: KMS rejected the key policy: it names a principal that does not exist, or "
            f"one created moments ago that KMS cannot see yet. New in this change: {new}. Check "
            "the ARNs; for a just-created role or user, retry with --wait-for-principals 60. "
            "Nothing was written"
        )
    if AWS_LOCKOUT in exc.aws_message:
        ours = lockout_message(key_plan.before, key_plan.after, key_plan.key, caller)
        return f"{name}: refused: " + (
            ours or "the new key policy would no longer let you manage the key policy "
            "(kms:PutKeyPolicy)"
        ) + ". Nothing was written"
    return f"{name}: {exc}"


def _landed(gateway: KmsGateway, key_plan: KeyPlan, exc: AwsError) -> ApplyOutcome:
    """After a PutKeyPolicy whose outcome is unknown, read the policy back and say which."""
    key = key_plan.key
    try:
        current = parse_policy(gateway.get_policy(key))
    except UserError as again:
        return ApplyOutcome(
            key, "failed",
            f"{key.name}: outcome unknown: {exc}; reading the policy back failed too ({again}). "
            "Run kmswizard plan to see where it stands",
        )
    if current == key_plan.after:
        return ApplyOutcome(
            key, "applied", f"{key.name}: key policy updated (confirmed by reading it back "
            f"after: {exc})",
        )
    if current == key_plan.before:
        return ApplyOutcome(
            key, "failed", f"{key.name}: {exc}; reading it back shows nothing was written"
        )
    return ApplyOutcome(
        key, "failed",
        f"{key.name}: {exc}; the key policy is now neither the old nor the planned one: someone "
        "else changed it. Run kmswizard plan to see it",
    )


def _put(
    gateway: KmsGateway, key_plan: KeyPlan, caller: str | None, wait_for_principals: float
) -> ApplyOutcome:
    """PutKeyPolicy, retrying 'invalid principals' (IAM propagation) until the deadline."""
    key = key_plan.key
    deadline = time.monotonic() + wait_for_principals
    delay = 2.0
    while True:
        try:
            gateway.put_policy(key, key_plan.after_text)
            return ApplyOutcome(key, "applied", f"{key.name}: key policy updated")
        except AwsError as exc:
            propagating = INVALID_PRINCIPALS in exc.aws_message
            if propagating and time.monotonic() + delay <= deadline:
                time.sleep(delay)
                delay = min(delay * 2, 15.0)
                continue
            if exc.code == "MalformedPolicyDocumentException":
                return ApplyOutcome(key, "failed", _explain_rejection(exc, key_plan, caller))
            if exc.outcome_unknown:
                return _landed(gateway, key_plan, exc)
            return ApplyOutcome(key, "failed", f"{key.name}: {exc}")


def _apply_one(
    gateway: KmsGateway,
    key_plan: KeyPlan,
    caller: str | None,
    reason: str,
    wait_for_principals: float,
) -> ApplyOutcome:
    key = key_plan.key
    if not key_plan.changed:
        return ApplyOutcome(key, "unchanged", f"{key.name}: no change")
    try:
        current = gateway.get_policy(key)
    except UserError as exc:
        return ApplyOutcome(key, "failed", f"{key.name}: {exc}")
    if current != key_plan.before_text:
        return ApplyOutcome(
            key, "failed",
            f"{key.name}: the key policy changed since the plan; nothing written "
            "(plan again to see the new diff)",
        )
    try:
        backup = write_backup(key, current, caller or "unknown", reason)
    except UserError as exc:
        return ApplyOutcome(key, "failed", f"{key.name}: {exc}")
    outcome = _put(gateway, key_plan, caller, wait_for_principals)
    return ApplyOutcome(key, outcome.status, outcome.message, backup.path)


def _audit(outcome: ApplyOutcome, key_plan: KeyPlan, caller: str | None, reason: str) -> str:
    """Append the audit line; return a note for the user if it could not be written."""
    try:
        append_audit({
            "caller_arn": caller,
            "key_arn": key_plan.key.arn,
            "action": reason,
            "sha256_before": sha256(key_plan.before_text),
            "sha256_after": sha256(key_plan.after_text),
            "result": outcome.status,
            "message": outcome.message,
            "backup": str(outcome.backup) if outcome.backup else None,
        })
    except UserError as exc:
        return f" (warning: {exc})"
    return ""


def apply_plan(
    gateway: KmsGateway,
    plan: Plan,
    progress: Progress = _quiet,
    *,
    dry_run: bool = False,
    wait_for_principals: float = 0.0,
    reason: str = "apply",
    concurrency: int = DEFAULT_CONCURRENCY,
) -> list[ApplyOutcome]:
    """Write every changed key policy, each after a fresh read (the concurrency guard) and a
    durable backup; every key is audited. Refuses a plan with errors before writing anything.
    With ``dry_run`` nothing is written, and the audit log says so. Keys are applied
    ``concurrency`` at a time (the gateway keeps PutKeyPolicy within its quota); the outcomes
    come back in the plan's order."""
    if plan.blocked:
        errors = [f.message for k in plan.keys for f in k.findings if f.severity == "error"]
        raise UserError(f"the plan has errors, nothing was applied: {errors[0]}")
    caller = gateway.caller_arn()

    def one(key_plan: KeyPlan) -> ApplyOutcome:
        if dry_run:
            outcome = ApplyOutcome(
                key_plan.key, "dry-run" if key_plan.changed else "unchanged",
                f"{key_plan.key.name}: " + ("would be updated (dry run)" if key_plan.changed
                                            else "no change"),
            )
        else:
            outcome = _apply_one(gateway, key_plan, caller, reason, wait_for_principals)
        note = _audit(outcome, key_plan, caller, reason + (" (dry run)" if dry_run else ""))
        return ApplyOutcome(outcome.key, outcome.status, outcome.message + note, outcome.backup)

    return in_parallel(plan.keys, one, concurrency, "applying", progress)


def key_history(
    gateway: KmsGateway, ref: str, region: str | None = None
) -> tuple[KeyInfo, list[Backup]]:
    key = gateway.describe_key(ref, region)
    return key, list_backups(key)


def plan_rollback(
    gateway: KmsGateway, ref: str, backup_id: str | None, region: str | None = None
) -> tuple[Plan, Backup]:
    """Plan restoring a backup (default: the latest) through the same checks as any change."""
    key = gateway.describe_key(ref, region)
    backup = find_backup(key, backup_id)
    text = gateway.get_policy(key)
    return Plan((plan_restore(key, text, backup.policy, gateway.caller_arn()),)), backup
