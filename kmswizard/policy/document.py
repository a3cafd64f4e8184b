"""Reading and writing key policy documents without losing anything the user wrote."""

from __future__ import annotations

import json
from typing import Any

from kmswizard.errors import UserError

MAX_POLICY_BYTES = 32_768

Statement = dict[str, Any]
Policy = dict[str, Any]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise UserError(
                f"the key policy has the field {key!r} twice in one object; "
                "kmswizard refuses to rewrite it (one of the values would be lost)"
            )
        seen[key] = value
    return seen


def parse_policy(text: str, where: str = "key policy") -> Policy:
    """Parse policy JSON, refusing anything that a rewrite could silently change."""
    def _no_constants(name: str) -> Any:
        # Python's json reads NaN and Infinity, but they are not JSON: render() would write
        # them back and KMS would refuse the document.
        raise UserError(f"{where} is not valid JSON: {name} is not a JSON value")

    try:
        policy = json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants
        )
    except json.JSONDecodeError as exc:
        raise UserError(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(policy, dict):
        raise UserError(f"{where} is not a JSON object")
    try:
        json.dumps(policy, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise UserError(
            f"{where} contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff); "
            "it cannot be written back as UTF-8"
        ) from None
    statements = policy.get("Statement", [])
    items = statements if isinstance(statements, list) else [statements]
    for index, statement in enumerate(items):
        if not isinstance(statement, dict):
            raise UserError(f"{where}: statement {index} is not a JSON object")
    return policy


def statements(policy: Policy) -> list[Statement]:
    """The statements, whether the document holds a list or a single object."""
    value = policy.get("Statement", [])
    return list(value) if isinstance(value, list) else [value]


def as_list(value: Any) -> list[Any]:
    """IAM lets most fields be a string or a list of strings."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def aws_values(principal: Any) -> list[str]:
    """The ``AWS`` values of a Principal or NotPrincipal (``"*"`` for a bare ``"*"``)."""
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return [str(v) for v in as_list(principal.get("AWS"))]
    return []


def aws_principals(statement: Statement) -> list[str]:
    """The ``Principal.AWS`` values of a statement (``"*"`` for a bare ``"Principal": "*"``)."""
    return aws_values(statement.get("Principal"))


def statement_label(statement: Statement, index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {index} ({sid!r})" if sid else f"statement {index}"


def render(policy: Policy) -> str:
    """Pretty JSON, as written to KMS and shown in diffs; compact if pretty would not fit."""
    text = json.dumps(policy, indent=2, ensure_ascii=False)
    if len(text.encode()) > MAX_POLICY_BYTES:
        text = json.dumps(policy, separators=(",", ":"), ensure_ascii=False)
    return text


def size_bytes(policy: Policy) -> int:
    return len(render(policy).encode())
