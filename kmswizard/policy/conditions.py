"""Condition blocks, evaluated in three values: True, False, or None (unknown: the request
context that would decide it was not given).

Supported operators: String*, Bool, Arn*, Null, each with ``IfExists`` and the
``ForAnyValue:`` / ``ForAllValues:`` set qualifiers. Anything else (numeric, date, IP, binary)
is reported as unknown rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kmswizard.policy.document import as_list

Context = Mapping[str, Sequence[str]]  # condition key (lower case) -> values in the request

_Matcher = Callable[[str, str], bool]


def _like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ARN matching is done per colon-separated part, each part case-sensitive with wildcards."""
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != len(value_parts):
        return False
    return all(_like(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


_POSITIVE: dict[str, _Matcher] = {
    "stringequals": lambda p, v: p == v,
    "stringequalsignorecase": lambda p, v: p.lower() == v.lower(),
    "stringlike": _like,
    "bool": lambda p, v: p.lower() == v.lower(),
    "arnequals": _arn_like,
    "arnlike": _arn_like,
}
_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
}


def supported(operator: str) -> bool:
    base = operator.split(":")[-1].lower().removesuffix("ifexists")
    return base in _POSITIVE or base in _NEGATED or base == "null"


def _one_key(operator: str, expected: list[str], present: list[str] | None) -> bool | None:
    qualifier, _, name = operator.rpartition(":")
    qualifier = qualifier.lower()
    base = name.lower()
    if_exists = base.endswith("ifexists")
    base = base.removesuffix("ifexists")
    if base == "null":
        is_null = present is None or not present
        return any((e.lower() == "true") == is_null for e in expected)
    negated = base in _NEGATED
    if present is None or not present:
        # A missing key matches nothing: true for ...IfExists, ForAllValues and the negated
        # operators (StringNotEquals, ArnNotLike...), false otherwise (ForAnyValue included).
        return if_exists or qualifier == "forallvalues" or (
            negated and qualifier != "foranyvalue"
        )
    matcher = _POSITIVE[_NEGATED.get(base, base)]

    def matches(value: str) -> bool:
        hit = any(matcher(e, value) for e in expected)
        return not hit if negated else hit

    if qualifier == "forallvalues":
        return all(matches(v) for v in present)
    # ForAnyValue, and the plain (single-valued) form: any request value satisfies it.
    return any(matches(v) for v in present)


def evaluate_condition(condition: Any, context: Context | None) -> tuple[bool | None, set[str]]:
    """(result, condition keys it depends on). None means the context does not decide it."""
    if not condition:
        return True, set()
    if not isinstance(condition, dict):
        return None, {"<malformed Condition>"}
    keys: set[str] = set()
    result: bool | None = True
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return None, keys | {"<malformed Condition>"}
        for key, values in block.items():
            keys.add(key)
            expected = [str(v) for v in as_list(values)]
            known = context is not None and key.lower() in context
            if not supported(operator) or not known:
                if result is not False:
                    result = None
                continue
            assert context is not None
            outcome = _one_key(operator, expected, [str(v) for v in context[key.lower()]])
            if outcome is False:
                result = False
    return result, keys
