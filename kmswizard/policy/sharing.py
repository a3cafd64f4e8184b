"""The sharing change: make the statements kmswizard manages grant exactly what was asked.

kmswizard manages at most two statements per key, recognized by their exact Sids:

* ``USE_SID``: the external principals may use the key (the chosen actions);
* ``GRANTS_SID``: the same principals may create, list and revoke grants, only for AWS
  services acting for them (``kms:GrantIsForAWSResource``).

Every other statement is left exactly as it was. Managed statements keep their position;
new ones are appended. A managed statement that already says the same thing (in any order
or string-or-list form) is kept byte for byte, so applying twice changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kmswizard.errors import UserError
from kmswizard.policy.actions import (
    GRANT_ACTIONS,
    GRANT_CONDITION,
    ActionCatalogue,
    pattern_matches,
)
from kmswizard.policy.document import Policy, Statement, as_list, aws_principals, statements
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.principals import (
    Principal,
    covers,
    root_arn,
    validate_account,
    validate_principal,
)

USE_SID = "Managed by kmswizard - external use of the key"
GRANTS_SID = "Managed by kmswizard - attachment of persistent resources"
MANAGED_SIDS = (USE_SID, GRANTS_SID)
# Sids the AWS console uses for key users; it warns that renaming them confuses its display,
# so kmswizard reports access found there but never rewrites those statements.
CONSOLE_SIDS = ("Allow use of the key", "Allow attachment of persistent resources")


@dataclass(frozen=True)
class ShareRequest:
    """The external access wanted on a key: who, which actions (None: the key type's
    defaults), and whether AWS services may create grants for them."""

    accounts: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    actions: tuple[str, ...] | None = None
    grants_for_aws_resources: bool = False

    def principals_for(self, key: KeyInfo) -> tuple[Principal, ...]:
        """Accounts as root ARNs in the key's partition, then roles/users; sorted, unique."""
        arns = {
            root_arn(validate_account(account, f"accounts[{index}]"), key.partition)
            for index, account in enumerate(self.accounts)
        }
        for index, arn in enumerate(self.principals):
            validate_principal(arn, f"principals[{index}]")
            partition = arn.split(":")[1]
            if partition != key.partition:
                raise UserError(
                    f"principals[{index}]: {arn!r} is in partition {partition!r} but the key "
                    f"{key.arn} is in {key.partition!r}"
                )
            arns.add(arn)
        return tuple(Principal(arn) for arn in sorted(arns))


@dataclass(frozen=True)
class Coverage:
    """Access asked for that an unmanaged statement already gives (so it is not duplicated)."""

    principal: Principal
    statement_index: int
    statement: Statement
    what: str  # "use" or "grants"


@dataclass(frozen=True)
class SharingResult:
    after: Policy
    managed_principals: tuple[Principal, ...]
    coverage: tuple[Coverage, ...]
    duplicate_managed: int


def is_managed(statement: Statement) -> bool:
    return statement.get("Sid") in MANAGED_SIDS


def _actions_cover(statement: Statement, wanted: Iterable[str], catalogue: ActionCatalogue) -> bool:
    wanted_actions: set[str] = set()
    for pattern in wanted:
        wanted_actions |= catalogue.expand(pattern)
    if "Action" in statement:
        granted: set[str] = set()
        for pattern in as_list(statement["Action"]):
            granted |= catalogue.expand(str(pattern)) if pattern != "*" else catalogue.actions
        return wanted_actions <= granted
    if "NotAction" in statement:
        excluded: set[str] = set()
        for pattern in as_list(statement["NotAction"]):
            excluded |= catalogue.expand(str(pattern)) if pattern != "*" else catalogue.actions
        return not (wanted_actions & excluded)
    return False


def _resource_covers(statement: Statement, key: KeyInfo) -> bool:
    if "Resource" not in statement:
        return False
    return any(pattern_matches(str(r), key.arn) for r in as_list(statement["Resource"]))


def _condition_is(statement: Statement, expected: dict[str, dict[str, str]] | None) -> bool:
    condition = statement.get("Condition")
    if not condition:
        return expected is None
    if expected is None or not isinstance(condition, dict):
        return False
    return _normalize_condition(condition) == _normalize_condition(expected)


def _normalize_condition(condition: Mapping[str, Any]) -> object:
    if not isinstance(condition, Mapping):  # malformed by hand: compared as it is
        return condition
    out = {}
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return condition
        out[operator.lower()] = {
            k.lower(): tuple(sorted(str(v).lower() for v in as_list(value)))
            for k, value in block.items()
        }
    return out


def grants_to(
    statement: Statement,
    principal: Principal,
    key: KeyInfo,
    wanted: Sequence[str],
    catalogue: ActionCatalogue,
    condition: dict[str, dict[str, str]] | None = None,
) -> bool:
    """Whether an Allow statement gives ``principal`` all of ``wanted`` on the key, under
    exactly ``condition`` (or none)."""
    return (
        statement.get("Effect") == "Allow"
        and "NotPrincipal" not in statement
        and any(covers(value, principal) for value in aws_principals(statement))
        and _resource_covers(statement, key)
        and _actions_cover(statement, wanted, catalogue)
        and (
            _condition_is(statement, condition)
            or (condition is not None and _condition_is(statement, None))
        )
    )


def _use_statement(principals: Sequence[Principal], actions: Sequence[str]) -> Statement:
    return {
        "Sid": USE_SID,
        "Effect": "Allow",
        "Principal": {"AWS": [p.arn for p in principals]},
        "Action": list(actions),
        "Resource": "*",
    }


def _grants_statement(principals: Sequence[Principal]) -> Statement:
    return {
        "Sid": GRANTS_SID,
        "Effect": "Allow",
        "Principal": {"AWS": [p.arn for p in principals]},
        "Action": list(GRANT_ACTIONS),
        "Resource": "*",
        "Condition": copy.deepcopy(GRANT_CONDITION),
    }


def _same_statement(a: Statement, b: Statement) -> bool:
    """Equal as IAM reads them: order and string-or-list forms do not matter."""
    if set(a) != set(b):
        return False
    for field in a:
        if field == "Principal":
            if sorted(aws_principals(a)) != sorted(aws_principals(b)):
                return False
            if set(a["Principal"]) != set(b["Principal"]):
                return False
        elif field in ("Action", "NotAction"):
            if {str(x).lower() for x in as_list(a[field])} != {
                str(x).lower() for x in as_list(b[field])
            }:
                return False
        elif field in ("Resource", "NotResource"):
            if set(as_list(a[field])) != set(as_list(b[field])):
                return False
        elif field == "Condition":
            if _normalize_condition(a[field]) != _normalize_condition(b[field]):
                return False
        elif a[field] != b[field]:
            return False
    return True


def managed_principals(policy: Policy) -> tuple[str, ...]:
    """The principals kmswizard currently manages on a key (from its use statement)."""
    found: set[str] = set()
    for statement in statements(policy):
        if statement.get("Sid") == USE_SID:
            found.update(aws_principals(statement))
    return tuple(sorted(found))


def apply_sharing(
    before: Policy,
    key: KeyInfo,
    principals: Sequence[Principal],
    actions: Sequence[str],
    grants: bool,
    catalogue: ActionCatalogue,
) -> SharingResult:
    """Return the new policy: unmanaged statements untouched, managed ones as requested."""
    existing = statements(before)
    unmanaged = [(i, s) for i, s in enumerate(existing) if not is_managed(s)]

    coverage: list[Coverage] = []
    use_needed: list[Principal] = []
    for principal in principals:
        hit = next(
            ((i, s) for i, s in unmanaged if grants_to(s, principal, key, actions, catalogue)),
            None,
        )
        if hit:
            coverage.append(Coverage(principal, hit[0], hit[1], "use"))
        else:
            use_needed.append(principal)
    grant_needed = list(use_needed)
    if grants:
        for principal in principals:
            if principal in use_needed:
                continue
            hit = next(
                (
                    (i, s)
                    for i, s in unmanaged
                    if grants_to(s, principal, key, GRANT_ACTIONS, catalogue, GRANT_CONDITION)
                ),
                None,
            )
            if hit:
                coverage.append(Coverage(principal, hit[0], hit[1], "grants"))
            else:
                grant_needed.append(principal)

    wanted = [_use_statement(use_needed, actions)] if use_needed else []
    if grants and grant_needed:
        wanted.append(_grants_statement(sorted(grant_needed, key=lambda p: p.arn)))

    current_managed = [s for s in existing if is_managed(s)]
    block = [
        next((old for old in current_managed if _same_statement(old, new)), new) for new in wanted
    ]
    new_statements: list[Statement] = []
    placed = False
    for statement in existing:
        if not is_managed(statement):
            new_statements.append(statement)
        elif not placed:
            new_statements.extend(block)
            placed = True
    if not placed:
        new_statements.extend(block)

    after = dict(before)
    if isinstance(before.get("Statement"), list) or new_statements != existing:
        after["Statement"] = new_statements
    if "Version" not in after and new_statements != existing:
        after = {"Version": "2012-10-17", **after}
    duplicates = max(0, len(current_managed) - len({s.get("Sid") for s in current_managed}))
    return SharingResult(after, tuple(use_needed), tuple(coverage), duplicates)
