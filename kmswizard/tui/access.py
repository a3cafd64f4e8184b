"""Effective access for the screens: what each external principal can really do with a key,
judged by kmswizard.policy.check (key policy AND IAM policy), summed up in a few lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.content import Content

from kmswizard.policy.actions import GRANT_ACTIONS, ActionCatalogue
from kmswizard.policy.check import AccessCheck, check_access
from kmswizard.policy.document import Policy, as_list, statements
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.plan import Plan
from kmswizard.policy.sharing import managed_principals

ANY_ROLE = "ANY-ROLE"
RESULT_ORDER = ("allowed", "conditional", "denied", "not granted by key policy",
                "not granted by IAM policy")
RESULT_MARK = {
    "allowed": ("✔", "$text-success"),
    "conditional": ("◐", "$text-warning"),
    "denied": ("✖", "$text-error"),
    "not granted by key policy": ("✖", "$text-error"),
    "not granted by IAM policy": ("✖", "$text-error"),
}
FINDING_MARK = {"error": ("✖", "bold $text-error"), "warning": ("▲", "bold $text-warning"),
                "info": ("\u2139", "$text-accent")}


def representative(principal: str) -> str:
    """Who to check for a key policy principal: a whole account is checked as one of its roles
    (any role the IAM policy is attached to gets the same)."""
    if principal.endswith(":root"):
        partition, account = principal.split(":")[1], principal.split(":")[4]
        return f"arn:{partition}:iam::{account}:role/{ANY_ROLE}"
    return principal


def iam_policy_for(iam_policy: Policy, key_arn: str) -> Policy:
    """The statements of the wizard's IAM policy that name this key (one policy covers every
    key of the plan; the others' statements are not this key's business)."""
    kept = [s for s in statements(iam_policy)
            if key_arn in [str(r) for r in as_list(s.get("Resource"))]]
    return {**iam_policy, "Statement": kept}


@dataclass(frozen=True)
class PrincipalAccess:
    key: KeyInfo
    principal: str  # as the key policy names it: an account's root ARN, or a role/user ARN
    check: AccessCheck
    new: bool  # not granted by kmswizard before this change
    patterns: tuple[str, ...] = ()  # the actions as the plan names them (kms:ReEncrypt*…)

    @property
    def whole_account(self) -> bool:
        return self.principal.endswith(":root")


def effective_access(plan: Plan, catalogue: ActionCatalogue) -> list[PrincipalAccess]:
    """For each principal the plan grants: check_access on the planned key policy, with the
    wizard's IAM policy attached (pure: run it with the plan, in the worker)."""
    found: list[PrincipalAccess] = []
    iam = plan.iam_policy
    if iam is None:
        return found
    for key_plan in plan.keys:
        key = key_plan.key
        before = set(managed_principals(key_plan.before))
        policy = iam_policy_for(iam, key.arn)
        patterns = (*key_plan.actions, *(GRANT_ACTIONS if key_plan.grants else ()))
        for principal in key_plan.principals:
            check = check_access(key_plan.after, key.arn, representative(principal), [policy],
                                 catalogue)
            found.append(PrincipalAccess(key, principal, check, principal not in before,
                                         patterns))
    return found


def short(action: str) -> str:
    return action.removeprefix("kms:")


def compress(actions: list[str], patterns: Sequence[str],
             catalogue: ActionCatalogue | None) -> list[str]:
    """Name the actions as the plan does: ``kms:ReEncrypt*`` when all it covers are there."""
    if catalogue is None or not patterns:
        return actions
    left = list(actions)
    named: list[str] = []
    for pattern in patterns:
        covered = set(catalogue.expand(pattern))
        if covered and covered <= set(left):
            named.append(pattern)
            left = [a for a in left if a not in covered]
    return named + left


def verdict_lines(check: AccessCheck, indent: str = "", patterns: Sequence[str] = (),
                  catalogue: ActionCatalogue | None = None) -> list[Content]:
    """One line per result: ``✔ allowed: Decrypt, Encrypt…`` (conditional: per condition)."""
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for verdict in check.verdicts:
        keys = verdict.condition_keys if verdict.result == "conditional" else ()
        groups.setdefault((verdict.result, keys), []).append(verdict.action)
    lines = []
    for (result, keys), actions in sorted(groups.items(),
                                          key=lambda g: RESULT_ORDER.index(g[0][0])):
        mark, style = RESULT_MARK[result]
        label = f"only when {', '.join(keys)} allows" if keys else result
        names = ", ".join(short(a) for a in compress(actions, patterns, catalogue))
        lines.append(Content.assemble(indent, (f"{mark} {label}: ", style), names))
    if not lines:
        lines.append(Content.assemble(indent, ("nothing to check", "$text-muted")))
    return lines


def finding_lines(check: AccessCheck, severities: Sequence[str], indent: str = "  "
                  ) -> list[Content]:
    lines = []
    for finding in check.findings:
        if finding.severity in severities:
            mark, style = FINDING_MARK[finding.severity]
            lines.append(Content.assemble(indent, (f"{mark} {finding.code}", style),
                                          f": {finding.message}"))
    return lines


def access_blocks(accesses: Sequence[PrincipalAccess], several_keys: bool,
                  catalogue: ActionCatalogue | None = None) -> list[tuple[Content, Content]]:
    """The preview's section: per principal, who it is (a heading), then the verdicts by
    result and the warnings (the body)."""
    blocks = []
    for item in accesses:
        who = (f"account {item.principal.split(':')[4]}" if item.whole_account
               else item.principal)
        head: list[str | tuple[str, str]] = []
        if several_keys:
            head.append((f"{item.key.name}: ", "$text-muted"))
        head.append((who, "bold"))
        if item.new:
            head.append((" (new)", "$text-success"))
        if item.whole_account:
            head.append((f" — any role or user there with the IAM policy, checked as "
                         f"{item.check.principal}", "$text-muted"))
        lines = verdict_lines(item.check, "", item.patterns, catalogue)
        lines.extend(finding_lines(item.check, ("error", "warning"), indent=""))
        blocks.append((Content.assemble(*head), Content("\n").join(lines)))
    return blocks
