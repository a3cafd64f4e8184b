"""The effective-access table (tests/evaluation_cases.py), one test per row."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from evaluation_cases import CASES, Case

from kmswizard.policy.evaluate import evaluate_action


def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


def _run(case: Case) -> Any:
    key_policy = {"Version": "2012-10-17", "Statement": case.key}
    iam = (
        None
        if case.iam is None
        else [{"Version": "2012-10-17", "Statement": statements} for statements in case.iam]
    )
    context = (
        None if case.context is None else {k.lower(): v for k, v in case.context.items()}
    )
    return evaluate_action(case.action, key_policy, case.key_arn, case.principal, iam, context)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: Case) -> None:
    verdict = _run(case)
    cited = [str(c) for c in verdict.because]
    detail = f"{case.reason}: got {verdict.result!r} ({verdict.explanation})"
    assert verdict.result == case.expected, detail
    assert verdict.action == case.action
    for citation in case.cites:
        assert citation in cited, f"{case.reason}: {citation!r} not cited in {cited}"
    if case.expected == "conditional":
        assert verdict.condition_keys == case.condition_keys, detail
        for key in case.condition_keys:
            assert key in verdict.explanation
    else:
        assert verdict.condition_keys == (), detail
    if case.expected in ("allowed", "denied"):
        assert cited, f"{case.reason}: an {case.expected} verdict cites its statements"
    if case.expected.startswith("not granted"):
        assert cited == []


def test_the_table_is_big_enough_and_well_formed() -> None:
    assert len(CASES) >= 40
    ids = Counter(c.id for c in CASES)
    assert [i for i, n in ids.items() if n > 1] == []
    for case in CASES:
        assert case.reason.strip() and "\n" not in case.reason, case.id
        assert case.expected in (
            "allowed", "denied", "not granted by key policy", "not granted by IAM policy",
            "conditional",
        ), case.id


def _operators(case: Case) -> set[str]:
    found = set()
    statements = [*case.key, *(s for policy in (case.iam or []) for s in policy)]
    for statement in statements:
        found |= set(statement.get("Condition", {}))
    return found


def test_the_table_covers_every_operator_family_and_element() -> None:
    operators = set().union(*(_operators(c) for c in CASES))
    for operator in (
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike",
        "StringNotLike", "Bool", "ArnEquals", "ArnLike", "ArnNotLike", "Null",
        "StringEqualsIfExists", "ForAnyValue:StringEquals", "ForAllValues:StringEquals",
        "NumericLessThan", "DateGreaterThan",
    ):
        assert operator in operators, operator
    elements = Counter(
        element
        for case in CASES
        for statement in [*case.key, *(s for p in (case.iam or []) for s in p)]
        for element in statement
    )
    for element in ("NotPrincipal", "NotAction", "NotResource", "Condition", "Sid"):
        assert elements[element] > 0, element
    results = Counter(c.expected for c in CASES)
    assert set(results) == {
        "allowed", "denied", "not granted by key policy", "not granted by IAM policy",
        "conditional",
    }
    assert any(c.principal.split(":")[4] == c.key_arn.split(":")[4] for c in CASES)
    assert any(c.iam is not None and len(c.iam) > 1 for c in CASES)
