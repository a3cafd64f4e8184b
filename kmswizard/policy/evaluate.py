"""Effective access: what a principal can really do with a key, given the key policy and
(optionally) the IAM policies attached to the principal.

The rules (AWS policy evaluation, for a principal in another account than the key):
an explicit Deny in either policy wins; otherwise the key policy must allow the action to the
principal (its ARN, its account's root ARN or ID, or ``*``) AND an IAM policy must allow it on
the key's ARN. Neither alone is enough. A principal in the key's own account is allowed by a
key policy statement naming it directly; one naming the account root delegates to IAM.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from kmswizard.policy.actions import ActionCatalogue, pattern_matches
from kmswizard.policy.conditions import Context, evaluate_condition
from kmswizard.policy.document import (
    Policy,
    Statement,
    as_list,
    aws_values,
    statement_label,
    statements,
)
from kmswizard.policy.principals import Principal, account_of, covers

Result = Literal[
    "allowed", "denied", "not granted by key policy", "not granted by IAM policy", "conditional"
]
Tri = bool | None


@dataclass(frozen=True)
class Citation:
    side: Literal["key policy", "IAM policy"]
    label: str  # "statement 2 ('Sid')" (IAM: "policy 1 statement 0 ...")

    def __str__(self) -> str:
        return f"{self.side} {self.label}"


@dataclass(frozen=True)
class ActionVerdict:
    action: str
    result: Result
    because: tuple[Citation, ...]
    condition_keys: tuple[str, ...] = ()

    @property
    def explanation(self) -> str:
        cited = ", ".join(str(c) for c in self.because) or "no statement"
        if self.result == "conditional":
            return f"depends on {', '.join(self.condition_keys)} ({cited})"
        if self.result == "denied":
            return f"explicit Deny in {cited}"
        if self.result == "allowed":
            return f"allowed by {cited}"
        return {
            "not granted by key policy": "no key policy statement allows it to this principal",
            "not granted by IAM policy": "no IAM policy statement allows it on this key",
        }[self.result]


def _principal_applies(statement: Statement, principal: str) -> bool:
    if "NotPrincipal" in statement:
        # NotPrincipal excludes only the principals it names: an account's root ARN (or ID)
        # there excludes the account itself, not its roles and users (IAM docs, NotPrincipal:
        # with [user/Bob, root] every other user of Bob's account is still denied).
        excluded = aws_values(statement["NotPrincipal"])
        return not any(v in ("*", principal) for v in excluded)
    who = Principal(principal)
    return any(covers(v, who) for v in aws_values(statement.get("Principal")))


def field_matches(statement: Statement, field: str, value: str) -> bool:
    """Action/NotAction or Resource/NotResource, with IAM wildcards."""
    if field in statement:
        return any(pattern_matches(str(p), value) for p in as_list(statement[field]))
    negative = "Not" + field
    if negative in statement:
        return not any(pattern_matches(str(p), value) for p in as_list(statement[negative]))
    return False


def _applies(
    statement: Statement, action: str, key_arn: str, principal: str | None, context: Context | None
) -> tuple[Tri, set[str]]:
    """Whether a statement applies to this request; None when its condition is undecided."""
    if principal is not None and not _principal_applies(statement, principal):
        return False, set()
    if not field_matches(statement, "Action", action):
        return False, set()
    if not field_matches(statement, "Resource", key_arn):
        return False, set()
    return evaluate_condition(statement.get("Condition"), context)


@dataclass(frozen=True)
class _Side:
    allow: Tri
    deny: Tri
    allow_by: tuple[Citation, ...]
    deny_by: tuple[Citation, ...]
    keys: frozenset[str]


def _side(
    items: Iterable[tuple[Citation, Statement]],
    action: str,
    key_arn: str,
    principal: str | None,
    context: Context | None,
) -> _Side:
    """Allow and Deny for one side; cites the statements that decided (the certain ones when
    there are any, else the conditional ones)."""
    certain: dict[str, list[Citation]] = {"Allow": [], "Deny": []}
    maybe: dict[str, list[Citation]] = {"Allow": [], "Deny": []}
    keys: set[str] = set()
    for citation, statement in items:
        effect = statement.get("Effect")
        if effect not in certain:
            continue
        applies, used = _applies(statement, action, key_arn, principal, context)
        if applies is False:
            continue
        keys |= used
        (certain if applies else maybe)[effect].append(citation)

    def verdict(effect: str) -> tuple[Tri, tuple[Citation, ...]]:
        if certain[effect]:
            return True, tuple(certain[effect])
        return (None, tuple(maybe[effect])) if maybe[effect] else (False, ())

    allow, allow_by = verdict("Allow")
    deny, deny_by = verdict("Deny")
    return _Side(allow, deny, allow_by, deny_by, frozenset(keys))


def key_policy_items(policy: Policy) -> list[tuple[Citation, Statement]]:
    return [
        (Citation("key policy", statement_label(s, i)), s) for i, s in enumerate(statements(policy))
    ]


def iam_items(policies: Sequence[Policy]) -> list[tuple[Citation, Statement]]:
    numbered = len(policies) > 1
    return [
        (
            Citation(
                "IAM policy",
                (f"{n + 1} " if numbered else "") + statement_label(s, i),
            ),
            s,
        )
        for n, policy in enumerate(policies)
        for i, s in enumerate(statements(policy))
    ]


def evaluate_action(
    action: str,
    key_policy: Policy,
    key_arn: str,
    principal: str,
    iam_policies: Sequence[Policy] | None,
    context: Context | None = None,
) -> ActionVerdict:
    """The verdict for one concrete action. With ``iam_policies`` None only the key policy is
    judged (as if the IAM side allowed everything): say so wherever that is shown."""
    key_side = _side(key_policy_items(key_policy), action, key_arn, principal, context)
    if iam_policies is None:
        iam_side = _Side(True, False, (), (), frozenset())
    else:
        iam_side = _side(iam_items(iam_policies), action, key_arn, None, context)
    same_account = account_of(principal) == key_arn.split(":")[4]
    if same_account and iam_policies is not None and key_side.allow is True:
        # In its own account, a key policy naming the principal itself is enough.
        direct = [
            c for c, s in key_policy_items(key_policy)
            if s.get("Effect") == "Allow"
            and principal in aws_values(s.get("Principal"))
            and _applies(s, action, key_arn, principal, context)[0] is True
        ]
        if direct:
            iam_side = _Side(True, iam_side.deny, tuple(direct), iam_side.deny_by, iam_side.keys)
    keys = tuple(sorted(key_side.keys | iam_side.keys))
    if key_side.deny is True or iam_side.deny is True:
        return ActionVerdict(action, "denied", (*key_side.deny_by, *iam_side.deny_by))
    if key_side.allow is False:
        return ActionVerdict(action, "not granted by key policy", ())
    if iam_side.allow is False:
        return ActionVerdict(action, "not granted by IAM policy", ())
    if None in (key_side.allow, iam_side.allow, key_side.deny, iam_side.deny):
        cited = (*key_side.allow_by, *iam_side.allow_by, *key_side.deny_by, *iam_side.deny_by)
        return ActionVerdict(action, "conditional", tuple(dict.fromkeys(cited)), keys)
    return ActionVerdict(action, "allowed", (*key_side.allow_by, *iam_side.allow_by))


def iam_actions(policies: Sequence[Policy], catalogue: ActionCatalogue) -> tuple[str, ...]:
    """The concrete KMS actions that the IAM policies' Allow statements mention."""
    found: set[str] = set()
    for policy in policies:
        for statement in statements(policy):
            if statement.get("Effect") != "Allow":
                continue
            if "Action" in statement:
                for pattern in as_list(statement["Action"]):
                    found |= {a for a in catalogue.actions if pattern_matches(str(pattern), a)}
            elif "NotAction" in statement:
                found |= {a for a in catalogue.actions if field_matches(statement, "Action", a)}
    return tuple(sorted(found))


def evaluate(
    actions: Sequence[str],
    key_policy: Policy,
    key_arn: str,
    principal: str,
    iam_policies: Sequence[Policy] | None,
    context: Context | None = None,
) -> tuple[ActionVerdict, ...]:
    return tuple(
        evaluate_action(a, key_policy, key_arn, principal, iam_policies, context) for a in actions
    )


def granted_by_key_policy(
    key_policy: Policy, key_arn: str, principal: str, catalogue: ActionCatalogue
) -> tuple[str, ...]:
    """The concrete actions the key policy certainly allows this principal (no Deny)."""
    return tuple(
        a
        for a in sorted(catalogue.actions)
        if evaluate_action(a, key_policy, key_arn, principal, None).result == "allowed"
    )
