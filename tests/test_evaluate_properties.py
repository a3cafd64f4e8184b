"""Property tests of the effective-access evaluation, against an independent reference.

The reference below is written from the AWS rules directly (fnmatch for wildcards, a tiny
three-valued condition check) and shares no helper with kmswizard.policy.evaluate:

* an explicit Deny that certainly applies, on either side, gives ``denied``;
* ``allowed`` needs an Allow that certainly applies on both sides (in the key's own account, a
  key policy statement naming the principal itself stands for the IAM side) and no Deny that
  might apply;
* the order of statements and of IAM policies never changes a result.
"""

from __future__ import annotations

import random
import re
from fnmatch import fnmatchcase
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kmswizard.policy.evaluate import evaluate_action

OWNER, EXTERNAL, OTHER = "111122223333", "444455556666", "777788889999"
REGION = "us-west-2"
KEY_ARN = f"arn:aws:kms:{REGION}:{OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{EXTERNAL}:role/ExampleRole"
LOCAL_ROLE = f"arn:aws:iam::{OWNER}:role/LocalRole"

PRINCIPAL_VALUES = (
    "*",
    f"arn:aws:iam::{EXTERNAL}:root",
    EXTERNAL,
    ROLE,
    f"arn:aws:iam::{EXTERNAL}:role/OtherRole",
    f"arn:aws:iam::{OWNER}:root",
    OWNER,
    LOCAL_ROLE,
    f"arn:aws:iam::{OTHER}:root",
    f"arn:aws:iam::{OTHER}:user/Someone",
)
ACTION_PATTERNS = (
    "kms:*", "*", "kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
    "kms:Describe*", "kms:*Grant*", "kms:Get?ublicKey", "KMS:DECRYPT", "s3:*", "kms:Create*",
)
RESOURCE_PATTERNS = (
    "*",
    KEY_ARN,
    f"arn:aws:kms:{REGION}:{OWNER}:key/0987dcba-09fe-87dc-65ba-ab0987654321",
    f"arn:aws:kms:*:{OWNER}:key/*",
    f"arn:aws:kms:{REGION}:{OWNER}:alias/orders",
    f"arn:aws:kms:{REGION}:{OWNER}:alias/*",
    f"arn:aws:kms:{REGION}:{OTHER}:key/*",
)
ACTIONS = (
    "kms:Decrypt", "kms:Encrypt", "kms:ReEncryptFrom", "kms:GenerateDataKeyPair",
    "kms:DescribeKey", "kms:CreateGrant", "kms:GetPublicKey", "kms:PutKeyPolicy",
)
CONDITIONS = (
    {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    {"StringEquals": {"kms:CallerAccount": EXTERNAL}},
    {"StringEquals": {"kms:CallerAccount": OWNER}},
    {"StringNotEquals": {"kms:CallerAccount": OTHER}},
)
CONTEXT_VALUES = {
    "kms:grantisforawsresource": (["true"], ["false"], []),
    "kms:calleraccount": ([EXTERNAL], [OWNER], [OTHER], []),
}

DEFAULT_SETTINGS = settings(max_examples=400, deadline=None)


# --- strategies -------------------------------------------------------------------------------


def some(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """One value or a short list of them."""
    return st.one_of(st.sampled_from(values), st.lists(st.sampled_from(values), min_size=1,
                                                       max_size=3))


principal_elements = st.one_of(
    st.just("*"),
    some(PRINCIPAL_VALUES).map(lambda v: {"AWS": v}),
)


@st.composite
def statements(draw: st.DrawFn, key_side: bool) -> dict[str, Any]:
    effect = draw(st.sampled_from(("Allow", "Deny")))
    statement: dict[str, Any] = {"Effect": effect}
    if key_side:
        if effect == "Deny" and draw(st.booleans()):
            statement["NotPrincipal"] = {"AWS": draw(some(PRINCIPAL_VALUES))}
        else:
            statement["Principal"] = draw(principal_elements)
    statement[draw(st.sampled_from(("Action", "NotAction")))] = draw(some(ACTION_PATTERNS))
    statement[draw(st.sampled_from(("Resource", "Resource", "NotResource")))] = draw(
        some(RESOURCE_PATTERNS)
    )
    if draw(st.booleans()):
        statement["Condition"] = draw(st.sampled_from(CONDITIONS))
    return statement


contexts = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in
                                        CONTEXT_VALUES.items()}),
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.lists(statements(key_side=True), max_size=4))
    iam = draw(st.one_of(
        st.none(),
        st.lists(st.lists(statements(key_side=False), max_size=3), max_size=2),
    ))
    # Sids make every statement recognizable whatever its position.
    for i, statement in enumerate(key):
        statement["Sid"] = f"K{i}"
    for n, policy in enumerate(iam or []):
        for i, statement in enumerate(policy):
            statement["Sid"] = f"I{n}x{i}"
    return {
        "key": key,
        "iam": iam,
        "principal": draw(st.sampled_from((ROLE, ROLE, LOCAL_ROLE))),
        "context": draw(contexts),
    }


# --- the reference ----------------------------------------------------------------------------


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def account(value: str) -> str:
    return value if value.isdigit() else value.split(":")[4]


def names(value: str, principal: str) -> bool:
    """A Principal value covers the principal: "*", itself, or its account (root or ID)."""
    if value in ("*", principal):
        return True
    is_account = value.isdigit() or value.endswith(":root")
    return is_account and account(value) == account(principal)


def principal_ok(statement: dict[str, Any], principal: str) -> bool:
    if "NotPrincipal" in statement:
        # Only the principals it names are spared (an account root spares only the account).
        spared = listed(statement["NotPrincipal"]["AWS"])
        return "*" not in spared and principal not in spared
    element = statement["Principal"]
    values = ["*"] if element == "*" else listed(element["AWS"])
    return any(names(v, principal) for v in values)


def action_ok(statement: dict[str, Any], action: str) -> bool:
    field = "Action" if "Action" in statement else "NotAction"
    hit = any(fnmatchcase(action.lower(), p.lower()) for p in listed(statement[field]))
    return hit if field == "Action" else not hit


def resource_ok(statement: dict[str, Any]) -> bool:
    field = "Resource" if "Resource" in statement else "NotResource"
    hit = any(fnmatchcase(KEY_ARN, p) for p in listed(statement[field]))
    return hit if field == "Resource" else not hit


def condition(statement: dict[str, Any], context: dict[str, list[str]] | None) -> bool | None:
    """True, False, or None when the context does not say."""
    if "Condition" not in statement:
        return True
    ((operator, block),) = statement["Condition"].items()
    ((key, expected),) = block.items()
    if context is None or key.lower() not in context:
        return None
    values = context[key.lower()]
    if operator == "Bool":
        return any(v.lower() == expected for v in values)
    if operator == "StringEquals":
        return expected in values
    assert operator == "StringNotEquals"
    return expected not in values  # absent key: true


def applies(
    statement: dict[str, Any], action: str, principal: str | None,
    context: dict[str, list[str]] | None,
) -> bool | None:
    if principal is not None and not principal_ok(statement, principal):
        return False
    if not action_ok(statement, action) or not resource_ok(statement):
        return False
    return condition(statement, context)


def side(
    items: list[dict[str, Any]], action: str, principal: str | None,
    context: dict[str, list[str]] | None,
) -> dict[str, set[bool | None]]:
    """For Allow and Deny, the set of outcomes of the statements that may apply."""
    out: dict[str, set[bool | None]] = {"Allow": set(), "Deny": set()}
    for statement in items:
        result = applies(statement, action, principal, context)
        if result is not False:
            out[statement["Effect"]].add(result)
    return out


def reference(scenario: dict[str, Any], action: str) -> str | None:
    """The result AWS gives; None where the table records a disagreement (xfail)."""
    principal, context = scenario["principal"], scenario["context"]
    key = side(scenario["key"], action, principal, context)
    contested = False
    if scenario["iam"] is None:
        iam: dict[str, set[bool | None]] = {"Allow": {True}, "Deny": set()}
    else:
        iam = side([s for p in scenario["iam"] for s in p], action, None, context)
        same_account = account(principal) == OWNER
        direct = same_account and any(
            s["Effect"] == "Allow"
            and isinstance(s.get("Principal"), dict)
            and principal in listed(s["Principal"]["AWS"])
            and applies(s, action, principal, context) is True
            for s in scenario["key"]
        )
        if direct:
            iam["Allow"].add(True)
        # "*" in the key's own account: the table's xfail row "same-account-star-principal".
        contested = same_account and True not in iam["Allow"] and any(
            s["Effect"] == "Allow"
            and "*" in (["*"] if s["Principal"] == "*" else listed(s["Principal"]["AWS"]))
            and applies(s, action, principal, context) is True
            for s in scenario["key"]
        )
    if True in key["Deny"] or True in iam["Deny"]:
        return "denied"
    if contested:
        return None
    if not key["Allow"]:
        return "not granted by key policy"
    if not iam["Allow"]:
        return "not granted by IAM policy"
    if True in key["Allow"] and True in iam["Allow"] and not key["Deny"] and not iam["Deny"]:
        return "allowed"
    return "conditional"


# --- the properties ---------------------------------------------------------------------------


def run(scenario: dict[str, Any], action: str) -> Any:
    key_policy = {"Version": "2012-10-17", "Statement": scenario["key"]}
    iam = (
        None
        if scenario["iam"] is None
        else [{"Version": "2012-10-17", "Statement": p} for p in scenario["iam"]]
    )
    return evaluate_action(action, key_policy, KEY_ARN, scenario["principal"], iam,
                           scenario["context"])


def cited_sids(verdict: Any) -> set[str]:
    return {m for c in verdict.because for m in re.findall(r"\('(\w+)'\)", str(c))}


@DEFAULT_SETTINGS
@given(scenarios())
def test_results_agree_with_the_reference(scenario: dict[str, Any]) -> None:
    for action in ACTIONS:
        verdict = run(scenario, action)
        expected = reference(scenario, action)
        if expected is None:
            continue
        assert verdict.result == expected, (action, verdict.explanation)
        if verdict.result == "allowed":
            # Cited: at least one key policy statement and (unless the IAM side was not given
            # or not needed) one IAM statement, each an Allow.
            sids = cited_sids(verdict)
            assert any(s.startswith("K") for s in sids)
            assert all(
                s["Effect"] == "Allow"
                for s in [*scenario["key"], *(x for p in scenario["iam"] or [] for x in p)]
                if s["Sid"] in sids
            )
        if verdict.result == "denied":
            denying = {
                s["Sid"]
                for s in [*scenario["key"], *(x for p in scenario["iam"] or [] for x in p)]
                if s["Effect"] == "Deny"
            }
            assert cited_sids(verdict) and cited_sids(verdict) <= denying


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_results_never_depend_on_statement_order(
    scenario: dict[str, Any], rnd: random.Random
) -> None:
    shuffled = dict(scenario)
    shuffled["key"] = rnd.sample(scenario["key"], len(scenario["key"]))
    if scenario["iam"] is not None:
        policies = [rnd.sample(p, len(p)) for p in scenario["iam"]]
        shuffled["iam"] = rnd.sample(policies, len(policies))
    for action in ACTIONS:
        before, after = run(scenario, action), run(shuffled, action)
        assert after.result == before.result, action
        assert after.condition_keys == before.condition_keys, action
        assert cited_sids(after) == cited_sids(before), action


def test_the_reference_itself_on_known_cases() -> None:
    """The reference must say what the KMS guide says on its own example."""
    shared = {"Sid": "K0", "Effect": "Allow", "Principal": {"AWS": EXTERNAL}, "Action": "kms:*",
              "Resource": "*"}
    iam = [[{"Sid": "I0x0", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN}]]
    base = {"key": [shared], "iam": iam, "principal": ROLE, "context": None}
    assert reference(base, "kms:Decrypt") == "allowed"
    assert reference(base, "kms:Encrypt") == "not granted by IAM policy"
    assert reference({**base, "key": []}, "kms:Decrypt") == "not granted by key policy"
    deny = {"Sid": "K1", "Effect": "Deny", "Principal": "*", "NotAction": "kms:Encrypt",
            "Resource": "*"}
    assert reference({**base, "key": [shared, deny]}, "kms:Decrypt") == "denied"
    maybe = {**deny, "Condition": CONDITIONS[0]}
    assert reference({**base, "key": [shared, maybe]}, "kms:Decrypt") == "conditional"
