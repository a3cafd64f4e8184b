"""The plan: for each key, the policy as read, as it would be written, and the findings.

The headless commands and the wizard both build and show this same object.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from kmswizard.errors import UserError
from kmswizard.policy.actions import ActionCatalogue, default_actions
from kmswizard.policy.diff import policy_diff
from kmswizard.policy.document import Policy, parse_policy, render
from kmswizard.policy.findings import Finding, findings_for, restore_findings
from kmswizard.policy.iam import build_iam_policy
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.sharing import ShareRequest, apply_sharing


@dataclass(frozen=True)
class KeyPlan:
    key: KeyInfo
    before_text: str  # exactly as read from KMS: the concurrency guard compares against it
    before: Policy
    after: Policy
    principals: tuple[str, ...]  # every external principal the request names
    actions: tuple[str, ...]
    grants: bool
    findings: tuple[Finding, ...]
    restore_text: str | None = None  # a rollback writes the saved policy back byte for byte

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def blocked(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    @cached_property
    def after_text(self) -> str:
        return self.restore_text if self.restore_text is not None else render(self.after)

    def diff(self) -> list[str]:
        return policy_diff(self.before, self.after, self.key.name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_arn": self.key.arn,
            "changed": self.changed,
            "before": self.before,
            "after": self.after,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class Plan:
    keys: tuple[KeyPlan, ...]

    @property
    def changed(self) -> bool:
        return any(k.changed for k in self.keys)

    @property
    def blocked(self) -> bool:
        return any(k.blocked for k in self.keys)

    @cached_property
    def iam_policy(self) -> Policy | None:
        return build_iam_policy(
            [(k.key.arn, k.actions if k.principals else (), k.grants) for k in self.keys]
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "keys": [k.as_dict() for k in self.keys],
            "iam_policy": self.iam_policy,
        }


def plan_key(
    key: KeyInfo,
    policy_text: str,
    request: ShareRequest,
    catalogue: ActionCatalogue,
    caller_arn: str | None = None,
) -> KeyPlan:
    """Plan one key: pure, so the same inputs always give the same plan."""
    if key.manager == "AWS":
        raise UserError(
            f"{key.name} ({key.arn}) is an AWS managed key: its key policy cannot be changed; "
            "share a customer managed key instead"
        )
    before = parse_policy(policy_text, f"the key policy of {key.arn}")
    wanted = request.principals_for(key)
    actions = (
        catalogue.canonical_list(request.actions)
        if request.actions is not None
        else default_actions(key.spec, key.usage)
    )
    result = apply_sharing(
        before, key, wanted, actions, request.grants_for_aws_resources, catalogue
    )
    findings = findings_for(
        key, before, result.after, wanted, actions, result, catalogue, caller_arn
    )
    return KeyPlan(
        key=key,
        before_text=policy_text,
        before=before,
        after=result.after,
        principals=tuple(p.arn for p in wanted),
        actions=actions,
        grants=request.grants_for_aws_resources,
        findings=findings,
    )



def plan_restore(
    key: KeyInfo, policy_text: str, saved_text: str, caller_arn: str | None = None
) -> KeyPlan:
    """Plan putting an earlier key policy back (rollback), checked like any other change."""
    before = parse_policy(policy_text, f"the key policy of {key.arn}")
    after = parse_policy(saved_text, f"the saved key policy of {key.arn}")
    return KeyPlan(
        key=key,
        before_text=policy_text,
        before=before,
        after=after,
        principals=(),
        actions=(),
        grants=False,
        findings=restore_findings(key, before, after, caller_arn),
        restore_text=saved_text,
    )
