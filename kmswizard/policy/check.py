"""`kmswizard check`: the action-by-result matrix for one principal and what is wrong with it.

Findings: IAM actions the key policy does not allow (not effective), IAM Resource patterns
that do not match the key, a principal whose account the key policy never names, and a key
policy granting more than the IAM side uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kmswizard.policy.actions import CROSS_ACCOUNT_ACTIONS, ActionCatalogue, pattern_matches
from kmswizard.policy.conditions import Context
from kmswizard.policy.document import Policy, as_list, aws_values, statement_label, statements
from kmswizard.policy.evaluate import (
    ActionVerdict,
    evaluate,
    evaluate_action,
    iam_actions,
)
from kmswizard.policy.findings import SEVERITY_ORDER, Finding
from kmswizard.policy.principals import Principal, account_of, covers


@dataclass(frozen=True)
class AccessCheck:
    principal: str
    key_arn: str
    verdicts: tuple[ActionVerdict, ...]
    findings: tuple[Finding, ...]
    iam_given: bool

    @property
    def complete(self) -> bool:
        """The principal can use every action checked (exit 0 of `kmswizard check`)."""
        return bool(self.verdicts) and all(v.result == "allowed" for v in self.verdicts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "key_arn": self.key_arn,
            "iam_policies_given": self.iam_given,
            "complete": self.complete,
            "actions": [
                {
                    "action": v.action,
                    "result": v.result,
                    "explanation": v.explanation,
                    "statements": [str(c) for c in v.because],
                    "condition_keys": list(v.condition_keys),
                }
                for v in self.verdicts
            ],
            "findings": [f.as_dict() for f in self.findings],
        }


def _names_account(key_policy: Policy, principal: str) -> bool:
    who = Principal(principal)
    return any(
        covers(value, who)
        for statement in statements(key_policy)
        if statement.get("Effect") == "Allow"
        for value in aws_values(statement.get("Principal"))
    )


def _resource_findings(iam_policies: Sequence[Policy], key_arn: str) -> list[Finding]:
    found = []
    for n, policy in enumerate(iam_policies):
        for i, statement in enumerate(statements(policy)):
            if statement.get("Effect") != "Allow" or "Resource" not in statement:
                continue
            actions = as_list(statement.get("Action"))
            if not any(str(a).lower().startswith(("kms:", "*")) for a in actions):
                continue
            resources = [str(r) for r in as_list(statement["Resource"])]
            if not any(pattern_matches(r, key_arn) for r in resources):
                where = (f"IAM policy {n + 1} " if len(iam_policies) > 1 else "IAM policy ") + (
                    statement_label(statement, i)
                )
                found.append(Finding(
                    "warning", "iam-resource-mismatch",
                    f"{where} names Resource {', '.join(resources)}, which does not match the key "
                    f"{key_arn}: external principals must name the key by its ARN",
                ))
    return found


def check_access(
    key_policy: Policy,
    key_arn: str,
    principal: str,
    iam_policies: Sequence[Policy] | None,
    catalogue: ActionCatalogue,
    actions: Sequence[str] | None = None,
    context: Context | None = None,
) -> AccessCheck:
    """Evaluate the actions the IAM policies list (or ``actions``, or else what the key policy
    grants across accounts) and explain what stands in the way."""
    key_grants = tuple(
        a for a in sorted(CROSS_ACCOUNT_ACTIONS & catalogue.actions)
        if evaluate_action(a, key_policy, key_arn, principal, None, context).result
        in ("allowed", "conditional")
    )
    if actions:
        checked: tuple[str, ...] = tuple(sorted({a for p in actions for a in catalogue.expand(p)}))
    elif iam_policies:
        checked = iam_actions(iam_policies, catalogue)
    else:
        checked = key_grants
    verdicts = evaluate(checked, key_policy, key_arn, principal, iam_policies, context)

    found: list[Finding] = []
    if not _names_account(key_policy, principal):
        found.append(Finding(
            "error", "principal-not-in-key-policy",
            f"the key policy names neither {principal} nor its account "
            f"{account_of(principal)}: an IAM policy there gives nothing",
        ))
    elif iam_policies is not None:
        ineffective = [v.action for v in verdicts if v.result == "not granted by key policy"]
        if ineffective:
            found.append(Finding(
                "warning", "ineffective-iam-action",
                f"the IAM policy allows {', '.join(ineffective)}, which the key policy does not "
                "allow this principal: not effective",
            ))
    if iam_policies is not None:
        found.extend(_resource_findings(iam_policies, key_arn))
        unused = sorted(set(key_grants) - set(iam_actions(iam_policies, catalogue)))
        if unused:
            found.append(Finding(
                "info", "key-policy-broader",
                f"the key policy also allows {', '.join(unused)}, which the IAM policy does not "
                "use (least privilege: remove them from the key policy if nobody needs them)",
            ))
    else:
        found.append(Finding(
            "info", "key-policy-only",
            "no IAM policy given: only the key policy side was judged; the external principal "
            "also needs an IAM policy allowing these actions on the key ARN",
        ))
    found.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    return AccessCheck(principal, key_arn, verdicts, tuple(found), iam_policies is not None)
