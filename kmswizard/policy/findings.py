"""Findings: what a reviewer should know about a planned key policy, by severity.

Errors block the change; warnings and info are reported with the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from kmswizard.policy.access import external_access
from kmswizard.policy.actions import (
    CROSS_ACCOUNT_ACTIONS,
    CRYPTO_ACTIONS,
    ActionCatalogue,
    applicable_crypto_actions,
    key_type_label,
)
from kmswizard.policy.document import (
    MAX_POLICY_BYTES,
    Policy,
    as_list,
    aws_principals,
    size_bytes,
    statement_label,
    statements,
)
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.lockout import lockout_message
from kmswizard.policy.principals import UNIQUE_ID_RE, Principal
from kmswizard.policy.sharing import MANAGED_SIDS, SharingResult, is_managed

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"severity": self.severity, "code": self.code, "message": self.message}


def _grant_pairs(policy: Policy, catalogue: ActionCatalogue) -> set[tuple[str, str]]:
    """(principal, action) pairs the managed statements allow."""
    pairs: set[tuple[str, str]] = set()
    for statement in statements(policy):
        if not is_managed(statement):
            continue
        actions: set[str] = set()
        for pattern in as_list(statement.get("Action")):
            actions |= catalogue.expand(str(pattern))
        tag = "grants:" if statement.get("Sid") == MANAGED_SIDS[1] else ""
        for principal in aws_principals(statement):
            pairs.update((principal, tag + action) for action in actions)
    return pairs


def _action_findings(
    key: KeyInfo, actions: Sequence[str], catalogue: ActionCatalogue
) -> list[Finding]:
    found: list[Finding] = []
    applicable = applicable_crypto_actions(key.spec, key.usage)
    label = key_type_label(key.spec, key.usage)
    for pattern in actions:
        expanded = catalogue.expand(pattern)
        admin = sorted(a for a in expanded if catalogue.is_admin(a))
        if admin:
            shown = ", ".join(admin[:4]) + (" …" if len(admin) > 4 else "")
            found.append(Finding(
                "error", "admin-action",
                f"{pattern} grants key administration to external principals ({shown}); "
                "list only the actions they need",
            ))
            continue
        useless = sorted(expanded - CROSS_ACCOUNT_ACTIONS)
        if useless:
            found.append(Finding(
                "warning", "not-cross-account",
                f"{pattern} has no effect for another account: KMS allows only cryptographic "
                f"operations, DescribeKey, GetPublicKey, GetKeyRotationStatus and grant "
                f"operations across accounts ({', '.join(useless[:4])})",
            ))
        crypto = expanded & CRYPTO_ACTIONS
        if crypto and not (crypto & applicable) and not (expanded - CRYPTO_ACTIONS):
            found.append(Finding(
                "warning", "not-applicable",
                f"{pattern} does not apply to {key.name}, a {label} key ({key.spec})",
            ))
    return found


def _sort(found: list[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(found, key=lambda f: SEVERITY_ORDER[f.severity]))


def _pending_deletion(key: KeyInfo) -> Finding:
    return Finding(
        "error", "pending-deletion",
        f"{key.name} is pending deletion: refusing to grant new access to a key that is about "
        "to be deleted (cancel the deletion first; removing access is allowed)",
    )


def policy_findings(
    key: KeyInfo,
    before: Policy,
    after: Policy,
    caller_arn: str | None,
    wanted_values: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Findings about any new key policy, however it was made (sharing or rollback)."""
    found: list[Finding] = []
    if key.state == "Disabled":
        found.append(Finding(
            "warning", "key-disabled",
            f"{key.name} is disabled: external principals cannot use it until it is enabled",
        ))
    if key.state not in ("Enabled", "Disabled", "PendingDeletion"):
        found.append(Finding("warning", "key-state", f"{key.name} is in state {key.state}"))
    for access in external_access(after, key):
        if access.managed:
            continue
        if access.principal == "*":
            if not access.conditional:
                found.append(Finding(
                    "warning", "wildcard-principal",
                    f"{access.statement_label} allows everyone (Principal \"*\") with no "
                    "condition; kmswizard leaves it as it is, but review it",
                ))
            continue
        if access.principal not in wanted_values:
            origin = " (added by the AWS console)" if access.console else ""
            found.append(Finding(
                "info", "unmanaged-access",
                f"{access.principal} has access through {access.statement_label}{origin}, which "
                "kmswizard does not manage or change",
            ))
    for index, statement in enumerate(statements(after)):
        for value in aws_principals(statement):
            if UNIQUE_ID_RE.match(value):
                found.append(Finding(
                    "warning", "deleted-principal",
                    f"a principal in {statement_label(statement, index)} was deleted: AWS shows "
                    f"it as its unique ID {value}; kmswizard keeps it unchanged",
                ))
    if key.replicas:
        found.append(Finding(
            "info", "replicas",
            f"{key.name} is a multi-Region primary key; each replica has its own key policy, and "
            f"these replicas are not in this plan: {', '.join(key.replicas)} (list their ARNs "
            "under keys to share them too)",
        ))
    lockout = lockout_message(before, after, key, caller_arn)
    if lockout:
        found.append(Finding("error", "lockout", lockout))
    size = size_bytes(after)
    if size > MAX_POLICY_BYTES:
        found.append(Finding(
            "error", "policy-too-large",
            f"the new key policy of {key.name} would be {size:,} bytes; KMS allows "
            f"{MAX_POLICY_BYTES:,}",
        ))
    return found


def restore_findings(
    key: KeyInfo, before: Policy, after: Policy, caller_arn: str | None
) -> tuple[Finding, ...]:
    """Findings for putting back an earlier policy (rollback)."""
    found = policy_findings(key, before, after, caller_arn)
    earlier = {a.principal for a in external_access(before, key)}
    if key.state == "PendingDeletion" and any(
        a.principal not in earlier for a in external_access(after, key)
    ):
        found.append(_pending_deletion(key))
    return _sort(found)


def findings_for(
    key: KeyInfo,
    before: Policy,
    after: Policy,
    wanted: Sequence[Principal],
    actions: Sequence[str],
    result: SharingResult,
    catalogue: ActionCatalogue,
    caller_arn: str | None = None,
) -> tuple[Finding, ...]:
    """All findings for one key's planned sharing change, most severe first."""
    found: list[Finding] = []
    if any(p.account == key.account for p in wanted):
        own = next(p for p in wanted if p.account == key.account)
        found.append(Finding(
            "error", "owner-account",
            f"{own.label} is in the key's own account {key.account}: kmswizard shares with other "
            "accounts; use IAM policies for principals in the owner account",
        ))
    if wanted:
        found.extend(_action_findings(key, actions, catalogue))
    for principal in wanted:
        if principal.is_account:
            found.append(Finding(
                "info", "whole-account",
                f"{principal.label} is granted as a whole: its administrators choose which roles "
                "and users get the key; naming specific roles or users is least privilege",
            ))
    new_access = _grant_pairs(after, catalogue) - _grant_pairs(before, catalogue)
    if new_access and key.state == "PendingDeletion":
        found.append(_pending_deletion(key))
    for cover in result.coverage:
        what = "grants for AWS resources" if cover.what == "grants" else "the requested actions"
        found.append(Finding(
            "info", "already-granted",
            f"{cover.principal.label} already has {what} through "
            f"{statement_label(cover.statement, cover.statement_index)}; not duplicated",
        ))
    if result.duplicate_managed:
        found.append(Finding(
            "warning", "duplicate-managed",
            f"the key policy had {result.duplicate_managed} extra statement(s) with a kmswizard "
            "Sid; they are merged into one",
        ))
    wanted_values = frozenset({p.arn for p in wanted} | {p.account for p in wanted if p.is_account})
    found.extend(policy_findings(key, before, after, caller_arn, wanted_values))
    return _sort(found)
