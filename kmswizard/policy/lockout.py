"""The lockout check: a new key policy must still let the key's own account (or the caller)
manage the key policy. KMS refuses such a policy too, but only after the call; kmswizard
refuses it before, and says which statement was the last to allow it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kmswizard.policy.document import (
    Policy,
    Statement,
    aws_principals,
    aws_values,
    statement_label,
    statements,
)
from kmswizard.policy.evaluate import field_matches
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.principals import Principal, covers, root_arn

PUT_KEY_POLICY = "kms:PutKeyPolicy"
_ASSUMED_ROLE = re.compile(r"^arn:([a-z-]+):sts::(\d{12}):assumed-role/([^/]+)/.+$")


def _is_own_role(value: str, who: str) -> bool:
    """Whether ``value`` is the role ARN behind an assumed-role session ``who``."""
    session = _ASSUMED_ROLE.match(who)
    if not session:
        return False
    partition, account, role = session.groups()
    return bool(re.match(rf"^arn:{partition}:iam::{account}:role/(.+/)?{re.escape(role)}$", value))


def _names_principal(value: str, who: str) -> bool:
    """Like principals.covers; an assumed-role session also matches its role's ARN."""
    return _is_own_role(value, who) or covers(value, Principal(who))


def _matches(statement: Statement, who: str, key: KeyInfo) -> bool:
    if "NotPrincipal" in statement:
        # NotPrincipal spares only the principals it names exactly: an account's root there
        # spares the account itself, not its roles and users (so a Deny still reaches them).
        excluded = aws_values(statement["NotPrincipal"])
        principal_ok = not any(v in ("*", who) or _is_own_role(v, who) for v in excluded)
    else:
        principal_ok = any(_names_principal(v, who) for v in aws_principals(statement))
    return (
        principal_ok
        and field_matches(statement, "Action", PUT_KEY_POLICY)
        and field_matches(statement, "Resource", key.arn)
    )


def admins_of(policy: Policy, key: KeyInfo, who: Sequence[str]) -> list[int]:
    """Indexes of the Allow statements that certainly let one of ``who`` call PutKeyPolicy.

    A conditional Allow is not certain; an unconditional Deny that matches removes them all.
    """
    items = statements(policy)
    for candidate in who:
        for statement in items:
            if (
                statement.get("Effect") == "Deny"
                and not statement.get("Condition")
                and _matches(statement, candidate, key)
            ):
                return []
    return [
        index
        for index, statement in enumerate(items)
        if statement.get("Effect") == "Allow"
        and not statement.get("Condition")
        and any(_matches(statement, candidate, key) for candidate in who)
    ]


def lockout_message(
    before: Policy, after: Policy, key: KeyInfo, caller_arn: str | None
) -> str | None:
    """Why ``after`` would lock the owner out, or None when it would not.

    Only a policy that loses the ability is refused: one that never had it is KMS's to judge.
    """
    who = [root_arn(key.account, key.partition), *([caller_arn] if caller_arn else [])]
    if admins_of(after, key, who):
        return None
    previous = admins_of(before, key, who)
    if not previous:
        return None
    last = previous[-1]
    label = statement_label(statements(before)[last], last)
    return (
        f"the new key policy of {key.name} would no longer let account {key.account}"
        f"{' or ' + caller_arn if caller_arn else ''} manage the key policy "
        f"(kms:PutKeyPolicy); {label} was the last to allow it"
    )
