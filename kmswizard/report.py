"""Plans and key lists as text for a terminal or a pipe."""

from __future__ import annotations

import json
from collections.abc import Sequence

from kmswizard.policy.actions import key_type_label
from kmswizard.policy.check import AccessCheck
from kmswizard.policy.diff import colorize
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.plan import KeyPlan, Plan

_MARK = {"error": "ERROR  ", "warning": "warning", "info": "info   "}


def key_heading(key: KeyInfo) -> str:
    label = key_type_label(key.spec, key.usage)
    return f"Key {key.name}  {key.arn}\n    {label} key ({key.spec}), {key.state}"


def render_key_plan(key_plan: KeyPlan, color: bool) -> list[str]:
    lines = [key_heading(key_plan.key)]
    diff = key_plan.diff()
    if diff:
        lines.extend(colorize(diff) if color else diff)
    else:
        lines.append("    no change to the key policy")
    for finding in key_plan.findings:
        lines.append(f"    {_MARK[finding.severity]} {finding.code}: {finding.message}")
    return lines


def render_plan(plan: Plan, color: bool) -> str:
    lines: list[str] = []
    for key_plan in plan.keys:
        lines.extend(render_key_plan(key_plan, color))
        lines.append("")
    if plan.iam_policy is not None:
        lines.append(
            "IAM policy for the external account's administrator to attach to the roles or "
            "users that will use the key(s):"
        )
        lines.append(json.dumps(plan.iam_policy, indent=2))
        lines.append("")
    changed = sum(k.changed for k in plan.keys)
    summary = f"{changed} of {len(plan.keys)} key policies would change"
    if plan.blocked:
        summary += "; errors above block the change"
    lines.append(summary + ".")
    return "\n".join(lines)


def key_as_dict(key: KeyInfo) -> dict[str, object]:
    return {
        "key_id": key.key_id,
        "arn": key.arn,
        "aliases": list(key.aliases),
        "spec": key.spec,
        "usage": key.usage,
        "state": key.state,
        "manager": key.manager,
        "description": key.description,
    }


def render_keys(keys: Sequence[KeyInfo]) -> str:
    header = ("KEY ID", "ALIASES", "SPEC", "USAGE", "STATE", "MANAGER", "DESCRIPTION", "ARN")
    rows = [
        (k.key_id, ",".join(k.aliases) or "-", k.spec, k.usage, k.state, k.manager,
         k.description or "-", k.arn)
        for k in keys
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
        + "  " + row[-1]
        for row in [header, *rows]
    )


_RESULT_MARK = {
    "allowed": "allowed",
    "denied": "DENIED",
    "not granted by key policy": "no: key policy",
    "not granted by IAM policy": "no: IAM policy",
    "conditional": "conditional",
}


def render_check(check: AccessCheck) -> str:
    """The action-by-result matrix, then the findings."""
    side = "key policy and IAM policy" if check.iam_given else "key policy only"
    lines = [f"Principal {check.principal}", f"Key       {check.key_arn}", f"Judged    {side}", ""]
    width = max([len(v.action) for v in check.verdicts] + [6])
    lines.append(f"{'ACTION'.ljust(width)}  {'RESULT'.ljust(15)}  WHY")
    for verdict in check.verdicts:
        lines.append(
            f"{verdict.action.ljust(width)}  {_RESULT_MARK[verdict.result].ljust(15)}  "
            f"{verdict.explanation}"
        )
    if not check.verdicts:
        lines.append("(no action to check)")
    if check.findings:
        lines.append("")
    for finding in check.findings:
        lines.append(f"{_MARK[finding.severity]} {finding.code}: {finding.message}")
    return "\n".join(lines)
