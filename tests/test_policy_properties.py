"""Property tests: on arbitrary key policies, the sharing change only ever touches its own
statements, is idempotent, reversible, and independent of the order of the request."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import EXTERNAL, KEY_ARN, OTHER, OWNER, THIRD, catalogue, make_key

from kmswizard.policy.document import parse_policy, render, statements
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.plan import KeyPlan, plan_key
from kmswizard.policy.sharing import MANAGED_SIDS, ShareRequest, grants_to, is_managed

DEFAULT_SETTINGS = settings(max_examples=300, deadline=None)

# Accounts that the requests below also use, so that existing statements often overlap them.
KNOWN_ACCOUNTS = (OWNER, EXTERNAL, OTHER, THIRD, "210987654321")
REQUEST_ACCOUNTS = (EXTERNAL, OTHER, THIRD, "210987654321", "999988887777")

# Plain text strategies over fixed alphabets (much faster to generate than from_regex).
DIGITS = "0123456789"
UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + DIGITS
PATH_CHARS = UPPER_ALNUM + "abcdefghijklmnopqrstuvwxyz_-"
NAME_CHARS = PATH_CHARS + "+=,.@"

accounts = st.one_of(
    st.sampled_from(KNOWN_ACCOUNTS), st.text(DIGITS, min_size=12, max_size=12)
)
iam_names = st.text(NAME_CHARS, min_size=1, max_size=20)
paths = st.lists(st.text(PATH_CHARS, min_size=1, max_size=8), max_size=2).map(
    lambda parts: "/" + "".join(p + "/" for p in parts)
)
role_or_user_arns = st.builds(
    lambda account, kind, path, name: f"arn:aws:iam::{account}:{kind}{path}{name}",
    accounts, st.sampled_from(["role", "user"]), paths, iam_names,
)
unique_ids = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["AROA", "AIDA"]),
    st.text(UPPER_ALNUM, min_size=16, max_size=16),
)
aws_values = st.one_of(
    accounts.map(lambda a: f"arn:aws:iam::{a}:root"),
    accounts,  # bare account IDs
    role_or_user_arns,
    unique_ids,
    st.just("*"),
)


def one_or_many(values: st.SearchStrategy[Any], max_size: int = 3) -> st.SearchStrategy[Any]:
    """IAM lets most fields be a single value or a list of values."""
    return st.one_of(values, st.lists(values, min_size=1, max_size=max_size))


services = st.sampled_from(
    ["ec2.amazonaws.com", "logs.us-west-2.amazonaws.com", "s3.amazonaws.com"]
)
principals = st.one_of(
    st.just("*"),
    st.just({"AWS": "*"}),
    st.builds(lambda v: {"AWS": v}, one_or_many(aws_values)),
    st.builds(lambda v: {"Service": v}, one_or_many(services, 2)),
    st.builds(lambda a, s: {"AWS": a, "Service": s}, one_or_many(aws_values), services),
)
action_patterns = st.one_of(
    st.sampled_from(sorted(catalogue().actions)),
    st.sampled_from([
        "kms:*", "*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Get*", "kms:Describe*",
        "kms:List*", "kms:*Grant*", "kms:encrypt", "KMS:DECRYPT", "s3:GetObject", "kms:Encryp?",
    ]),
)
resources = st.sampled_from([
    "*", KEY_ARN, f"arn:aws:kms:*:{OWNER}:key/*", f"arn:aws:kms:us-east-1:{OWNER}:key/other",
])
condition_values = st.one_of(
    st.sampled_from(["true", "false", "o-abc123", "s3.us-west-2.amazonaws.com"]),
    st.booleans(),
    st.integers(min_value=0, max_value=10_000),
    st.lists(accounts, min_size=1, max_size=3),
)
conditions = st.dictionaries(
    st.sampled_from(["Bool", "StringEquals", "StringNotEquals", "ArnLike", "NumericLessThan",
                     "ForAnyValue:StringLike"]),
    st.dictionaries(
        st.sampled_from(["kms:GrantIsForAWSResource", "kms:ViaService", "kms:CallerAccount",
                         "aws:PrincipalOrgID", "aws:SourceVpce", "aws:SecureTransport"]),
        condition_values, min_size=1, max_size=2,
    ),
    min_size=1, max_size=2,
)
sids = st.one_of(
    st.text(max_size=20),  # shorter than the managed Sids, so never equal to them
    st.sampled_from(["Enable IAM User Permissions", "Allow use of the key",
                     "Allow attachment of persistent resources",
                     "Allow access for Key Administrators"]),
    # Near misses of the managed Sids are someone else's statements.
    st.sampled_from([sid.lower() for sid in MANAGED_SIDS] + [sid + " " for sid in MANAGED_SIDS]),
).filter(lambda sid: sid not in MANAGED_SIDS)


FIELD_ORDERS = ("as drawn", "reversed", "rotated")


@st.composite
def policy_statements(draw: st.DrawFn) -> dict[str, Any]:
    fields: list[tuple[str, Any]] = [("Effect", draw(st.sampled_from(["Allow", "Deny"])))]
    sid = draw(st.none() | sids)
    if sid is not None:
        fields.append(("Sid", sid))
    principal_field = draw(st.sampled_from(["Principal"] * 9 + ["NotPrincipal"]))
    fields.append((principal_field, draw(principals)))
    action_field = draw(st.sampled_from(["Action", "Action", "Action", "NotAction"]))
    fields.append((action_field, draw(one_or_many(action_patterns, 5))))
    resource_field = draw(st.sampled_from(["Resource", "Resource", "Resource", "NotResource"]))
    fields.append((resource_field, draw(one_or_many(resources, 2))))
    condition = draw(st.none() | conditions)
    if condition is not None:
        fields.append(("Condition", condition))
    order = draw(st.sampled_from(FIELD_ORDERS))
    if order == "reversed":
        fields.reverse()
    elif order == "rotated":
        fields = fields[2:] + fields[:2]
    return dict(fields)


# Statements that often already give a requested principal what it asks for (like the
# console's key-user statements), so the "already granted" paths get exercised too.
existing_grants = st.builds(
    lambda sid, aws, action, condition: {
        "Sid": sid, "Effect": "Allow", "Principal": {"AWS": aws}, "Action": action,
        "Resource": "*", **({"Condition": condition} if condition else {}),
    },
    st.sampled_from(["Allow use of the key", "Allow attachment of persistent resources",
                     "Legacy access"]),
    one_or_many(st.sampled_from(REQUEST_ACCOUNTS).flatmap(
        lambda a: st.sampled_from([a, f"arn:aws:iam::{a}:root"]))),
    st.sampled_from([
        "kms:*", "*", ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                       "kms:DescribeKey"], ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
    ]),
    st.sampled_from([None, None, {"Bool": {"kms:GrantIsForAWSResource": "true"}}]),
)


@st.composite
def key_policies(draw: st.DrawFn) -> dict[str, Any]:
    items = draw(st.lists(policy_statements() | existing_grants, max_size=5))
    policy: dict[str, Any] = {}
    if draw(st.booleans()):
        policy["Id"] = draw(st.sampled_from(["key-default-1", "key-consolepolicy-3", "custom"]))
    if draw(st.integers(0, 4)):
        policy["Version"] = "2012-10-17"
    shape = draw(st.sampled_from(["list", "list", "single", "absent"]))
    if shape == "single" and items:
        policy["Statement"] = items[0]
    elif shape != "absent" or items:
        policy["Statement"] = items
    if draw(st.booleans()):
        policy = dict(reversed(list(policy.items())))
    return policy


request_accounts = st.lists(st.sampled_from(REQUEST_ACCOUNTS), max_size=4, unique=True)
request_principals = st.lists(
    st.builds(
        lambda account, kind, path, name: f"arn:aws:iam::{account}:{kind}{path}{name}",
        st.sampled_from(REQUEST_ACCOUNTS), st.sampled_from(["role", "user"]), paths, iam_names,
    ),
    max_size=3,
    unique=True,
)
request_actions = st.one_of(
    st.none(),
    st.lists(
        st.sampled_from(["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                         "kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:decrypt"]),
        min_size=1, max_size=5,
    ),
)
share_requests = st.builds(
    lambda a, p, act, g: ShareRequest(accounts=tuple(a), principals=tuple(p),
                                      actions=None if act is None else tuple(act),
                                      grants_for_aws_resources=g),
    request_accounts, request_principals, request_actions, st.booleans(),
)
keys = st.sampled_from([
    make_key(),
    make_key(spec="RSA_2048", usage="ENCRYPT_DECRYPT"),
    make_key(spec="ECC_NIST_P256", usage="SIGN_VERIFY", state="Disabled"),
    make_key(spec="HMAC_256", usage="GENERATE_VERIFY_MAC", state="PendingDeletion"),
])


def run(key: KeyInfo, text: str, request: ShareRequest) -> KeyPlan:
    return plan_key(key, text, request, catalogue())


def as_text(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2, ensure_ascii=False)


def exact(items: list[dict[str, Any]]) -> str:
    """Order-sensitive form (dict equality ignores key order; the rendered text does not)."""
    return json.dumps(items, ensure_ascii=False)


# --- the properties ---------------------------------------------------------------------


@DEFAULT_SETTINGS
@given(policy=key_policies(), request=share_requests, key=keys)
def test_share_then_revoke_restores_the_original_statements(
    policy: dict[str, Any], request: ShareRequest, key: KeyInfo
) -> None:
    shared = run(key, as_text(policy), request)
    revoked = run(key, shared.after_text, ShareRequest())
    assert statements(revoked.after) == statements(policy)
    assert exact(statements(revoked.after)) == exact(statements(policy))
    assert not any(is_managed(s) for s in statements(revoked.after))


@DEFAULT_SETTINGS
@given(policy=key_policies(), request=share_requests, key=keys)
def test_planning_twice_is_planning_once(
    policy: dict[str, Any], request: ShareRequest, key: KeyInfo
) -> None:
    once = run(key, as_text(policy), request)
    twice = run(key, once.after_text, request)
    assert not twice.changed
    assert twice.after == once.after
    assert twice.after_text == once.after_text
    assert twice.diff() == []


@DEFAULT_SETTINGS
@given(policy=key_policies(), request=share_requests, key=keys)
def test_unmanaged_statements_never_change_and_keep_their_order(
    policy: dict[str, Any], request: ShareRequest, key: KeyInfo
) -> None:
    key_plan = run(key, as_text(policy), request)
    after = statements(key_plan.after)
    kept = [s for s in after if not is_managed(s)]
    assert exact(kept) == exact(statements(policy))
    # At most the two managed statements, each Sid once.
    managed_sids = [s["Sid"] for s in after if is_managed(s)]
    assert len(managed_sids) == len(set(managed_sids)) <= 2
    # Other top-level fields are untouched.
    assert {k: v for k, v in key_plan.after.items() if k not in ("Statement", "Version")} == {
        k: v for k, v in policy.items() if k not in ("Statement", "Version")
    }


@DEFAULT_SETTINGS
@given(policy=key_policies(), request=share_requests, key=keys)
def test_render_is_valid_json_of_the_after_policy(
    policy: dict[str, Any], request: ShareRequest, key: KeyInfo
) -> None:
    key_plan = run(key, as_text(policy), request)
    text = render(key_plan.after)
    assert text == key_plan.after_text
    assert json.loads(text) == key_plan.after
    # Strict JSON (no NaN/Infinity), no duplicate keys, UTF-8 encodable: it parses back as is.
    assert parse_policy(text) == key_plan.after
    text.encode("utf-8")


@DEFAULT_SETTINGS
@given(
    policy=key_policies(), request=share_requests, key=keys, data=st.data(),
)
def test_order_of_requested_accounts_and_principals_does_not_matter(
    policy: dict[str, Any], request: ShareRequest, key: KeyInfo, data: st.DataObject
) -> None:
    permuted = ShareRequest(
        accounts=tuple(data.draw(st.permutations(request.accounts))),
        principals=tuple(data.draw(st.permutations(request.principals))),
        actions=request.actions,
        grants_for_aws_resources=request.grants_for_aws_resources,
    )
    text = as_text(policy)
    assert run(key, text, permuted).after_text == run(key, text, request).after_text


@DEFAULT_SETTINGS
@given(policy=key_policies(), request=share_requests, key=keys)
def test_every_requested_principal_ends_up_with_the_access(
    policy: dict[str, Any], request: ShareRequest, key: KeyInfo
) -> None:
    key_plan = run(key, as_text(policy), request)
    after = statements(key_plan.after)
    wanted = request.principals_for(key)
    for principal in wanted:
        assert any(grants_to(s, principal, key, key_plan.actions, catalogue()) for s in after)
    # The managed statements name only requested principals.
    requested = {p.arn for p in wanted}
    for statement in after:
        if is_managed(statement):
            assert set(statement["Principal"]["AWS"]) <= requested
            assert statement["Effect"] == "Allow"
