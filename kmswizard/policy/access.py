"""Who outside the owner account can reach a key through its key policy, and through what."""

from __future__ import annotations

from dataclasses import dataclass

from kmswizard.policy.document import Policy, aws_principals, statement_label, statements
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.principals import UNIQUE_ID_RE, account_of
from kmswizard.policy.sharing import CONSOLE_SIDS, is_managed


@dataclass(frozen=True)
class ExternalAccess:
    principal: str  # as written in the policy: ARN, account ID, unique ID or "*"
    statement_index: int
    statement_label: str
    managed: bool  # in a statement kmswizard manages
    console: bool  # in a statement the AWS console manages
    conditional: bool

    @property
    def source(self) -> str:
        if self.managed:
            return "kmswizard"
        if self.console:
            return "AWS console"
        return "other statement"


def external_access(policy: Policy, key: KeyInfo) -> tuple[ExternalAccess, ...]:
    """Every Allow grant to a principal outside the key's account (or to everyone)."""
    found: list[ExternalAccess] = []
    for index, statement in enumerate(statements(policy)):
        if statement.get("Effect") != "Allow":
            continue
        for value in aws_principals(statement):
            account = account_of(value)
            external = value == "*" or (account is not None and account != key.account)
            if not external or UNIQUE_ID_RE.match(value):
                continue
            found.append(
                ExternalAccess(
                    principal=value,
                    statement_index=index,
                    statement_label=statement_label(statement, index),
                    managed=is_managed(statement),
                    console=statement.get("Sid") in CONSOLE_SIDS,
                    conditional=bool(statement.get("Condition")),
                )
            )
    return tuple(found)
