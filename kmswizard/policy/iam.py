"""The IAM policy the external account's administrator attaches to delegate the access.

It has no Principal (it is attached to a role or user) and names the keys by ARN: external
callers cannot use aliases of another account's keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kmswizard.policy.actions import GRANT_ACTIONS, GRANT_CONDITION
from kmswizard.policy.document import Policy


def _resource(arns: Sequence[str]) -> str | list[str]:
    return arns[0] if len(arns) == 1 else list(arns)


def build_iam_policy(keys: Sequence[tuple[str, Sequence[str], bool]]) -> Policy | None:
    """One policy for all keys: ``(key ARN, actions, grants)`` each; None when nothing is shared.

    Keys with the same actions share a statement; keys with grants share the grants statement.
    """
    # Grouped by owner and set of actions (in the order first seen): the same set written in
    # another order is the same permission.
    groups: dict[tuple[str, frozenset[str]], tuple[tuple[str, ...], list[str]]] = {}
    grant_arns: list[str] = []
    for arn, actions, grants in keys:
        if not actions:
            continue
        owner = arn.split(":")[4]
        groups.setdefault((owner, frozenset(actions)), (tuple(actions), []))[1].append(arn)
        if grants:
            grant_arns.append(arn)
    if not groups:
        return None
    statements: list[dict[str, Any]] = []
    used: dict[str, int] = {}
    for (owner, _), (actions, arns) in groups.items():
        base = f"AllowUseOfKey{'s' if len(arns) > 1 else ''}InAccount{owner}"
        used[base] = used.get(base, 0) + 1
        sid = base if used[base] == 1 else f"{base}Set{used[base]}"
        statements.append(
            {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": _resource(arns)}
        )
    if grant_arns:
        statements.append(
            {
                "Sid": "AllowAttachmentOfPersistentResources",
                "Effect": "Allow",
                "Action": list(GRANT_ACTIONS),
                "Resource": _resource(grant_arns),
                "Condition": {k: dict(v) for k, v in GRANT_CONDITION.items()},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
