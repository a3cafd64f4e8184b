"""Plan and apply, shared by the headless commands and the wizard.

Everything is validated and planned before the first write; each key is then written on its
own, so one failed key never stops or corrupts the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from kmswizard.aws.catalogue import kms_catalogue
from kmswizard.aws.gateway import KmsGateway
from kmswizard.errors import UserError
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.plan import KeyPlan, Plan, plan_key
from kmswizard.policy.sharing import ShareRequest
from kmswizard.profiles import Profile

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """The default progress sink: say nothing."""


def check_region(gateway: KmsGateway, profile: Profile) -> str | None:
    """The region for the profile's key IDs and aliases; a conflicting --region is an error."""
    cli_region = gateway.options.region
    if cli_region and profile.region and cli_region != profile.region:
        raise UserError(
            f"--region {cli_region} conflicts with region = \"{profile.region}\" in the profile"
        )
    return profile.region or cli_region


def resolve_keys(
    gateway: KmsGateway, refs: Sequence[str], region: str | None, workers: int = 8
) -> list[KeyInfo]:
    """DescribeKey every reference (in parallel, results in order); refuse duplicates."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(refs)))) as pool:
        keys = list(pool.map(lambda ref: gateway.describe_key(ref, region), refs))
    seen: dict[str, str] = {}
    for ref, key in zip(refs, keys, strict=True):
        if key.arn in seen:
            raise UserError(f"{seen[key.arn]!r} and {ref!r} are the same key ({key.arn})")
        seen[key.arn] = ref
    return keys


def plan_keys(
    gateway: KmsGateway, keys: Sequence[KeyInfo], request: ShareRequest, workers: int = 8
) -> Plan:
    """Read each key policy and plan the change; the wizard calls this with its own request."""
    catalogue = kms_catalogue()
    for key in keys:
        if key.manager == "AWS":
            raise UserError(
                f"{key.name} ({key.arn}) is an AWS managed key: its key policy cannot be "
                "changed; share a customer managed key instead"
            )
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(keys)))) as pool:
        texts = list(pool.map(gateway.get_policy, keys))
    return Plan(
        tuple(
            plan_key(key, text, request, catalogue)
            for key, text in zip(keys, texts, strict=True)
        )
    )


def build_plan(gateway: KmsGateway, profile: Profile, progress: Progress = _quiet) -> Plan:
    region = check_region(gateway, profile)
    progress(f"resolving {len(profile.keys)} key(s)")
    keys = resolve_keys(gateway, profile.keys, region)
    progress("reading key policies")
    return plan_keys(gateway, keys, profile.request())


@dataclass(frozen=True)
class ApplyOutcome:
    key: KeyInfo
    status: Literal["applied", "unchanged", "failed"]
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"key_arn": self.key.arn, "status": self.status, "message": self.message}


def _apply_one(gateway: KmsGateway, key_plan: KeyPlan) -> ApplyOutcome:
    key = key_plan.key
    if not key_plan.changed:
        return ApplyOutcome(key, "unchanged", f"{key.name}: no change")
    try:
        current = gateway.get_policy(key)
        if current != key_plan.before_text:
            return ApplyOutcome(
                key, "failed",
                f"{key.name}: the key policy changed since the plan; nothing written "
                "(plan again to see the new diff)",
            )
        gateway.put_policy(key, key_plan.after_text)
    except UserError as exc:
        return ApplyOutcome(key, "failed", f"{key.name}: {exc}")
    return ApplyOutcome(key, "applied", f"{key.name}: key policy updated")


def apply_plan(gateway: KmsGateway, plan: Plan, progress: Progress = _quiet) -> list[ApplyOutcome]:
    """Write every changed key policy. Refuses a plan with errors before writing anything."""
    if plan.blocked:
        errors = [f.message for k in plan.keys for f in k.findings if f.severity == "error"]
        raise UserError(f"the plan has errors, nothing was applied: {errors[0]}")
    outcomes = []
    for key_plan in plan.keys:
        progress(f"applying {key_plan.key.name}")
        outcomes.append(_apply_one(gateway, key_plan))
    return outcomes
