"""10,000 generated key policies through share -> revoke: the sharing change is safe on anything.

One test, many examples. The strategy of test_policy_properties.py draws every character of
every name, which costs ~7 ms per example; here each example is one drawn integer whose digits
pick a policy and a request from pools built once from the same ingredients (every Principal,
Action and Resource form, NotPrincipal/NotAction/NotResource, Deny, conditions, unicode Sids,
unique-ID principals, statements that already grant what is requested, over-size padding), so
10,000 examples take about half a minute. Its keys strategy and helpers are imported from there.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_helpers import EXTERNAL, KEY_ARN, OTHER, OWNER, SYMMETRIC_DEFAULTS, THIRD, catalogue
from test_policy_properties import (
    FIELD_ORDERS,
    KNOWN_ACCOUNTS,
    REQUEST_ACCOUNTS,
    as_text,
    exact,
    keys,
    run,
)

from kmswizard.errors import UserError
from kmswizard.policy.document import (
    MAX_POLICY_BYTES,
    aws_principals,
    parse_policy,
    render,
    size_bytes,
    statements,
)
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.plan import Plan
from kmswizard.policy.principals import UNIQUE_ID_RE
from kmswizard.policy.sharing import GRANTS_SID, MANAGED_SIDS, USE_SID, ShareRequest, is_managed
from kmswizard.workflow import apply_plan

EXAMPLES = 10_000

# --- pools, built once (seeded: the same pools on every run) ----------------------------------

_rng = random.Random(0x5AFE)
UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
NAME_CHARS = UPPER_ALNUM + "abcdefghijklmnopqrstuvwxyz_-+=,.@"
UNICODE_BITS = [
    "é", "ñ", "ü", "ß", "鍵", "共有", "🔑", "🗝️", "مفتاح", "ключ", "e\u0301", "\u200b", "\u00a0",
    '"', "\\", "/", "\t", "\n", "<", "&", "'", "\u2028", "\U0001d518", "\u03a9", " ",
]


def _name(length: int) -> str:
    return "".join(_rng.choice(NAME_CHARS) for _ in range(length))


def _unique_id() -> str:
    return _rng.choice(["AROA", "AIDA"]) + "".join(_rng.choice(UPPER_ALNUM) for _ in range(16))


def _unicode_sid() -> str:
    return "".join(
        _rng.choice(UNICODE_BITS) if _rng.random() < 0.4 else _rng.choice(NAME_CHARS)
        for _ in range(_rng.randint(1, 16))
    )


ACCOUNTS = [*KNOWN_ACCOUNTS, *REQUEST_ACCOUNTS,
            *("".join(_rng.choice("0123456789") for _ in range(12)) for _ in range(4))]


def _role_or_user(account: str) -> str:
    path = "/" + "".join(_name(_rng.randint(1, 6)) + "/" for _ in range(_rng.randint(0, 2)))
    kind = _rng.choice(["role", "user"])
    return f"arn:aws:iam::{account}:{kind}{path}{_name(_rng.randint(1, 12))}"


AWS_VALUES = [
    *(f"arn:aws:iam::{a}:root" for a in ACCOUNTS),
    *ACCOUNTS,  # bare account IDs
    *(_role_or_user(_rng.choice(ACCOUNTS)) for _ in range(24)),
    *(_unique_id() for _ in range(12)),  # principals AWS shows by unique ID: deleted
    "*",
]
SERVICES = ["ec2.amazonaws.com", "logs.us-west-2.amazonaws.com", "s3.amazonaws.com"]


def _one_or_many(pool: list[Any], most: int) -> Any:
    if _rng.random() < 0.4:
        return _rng.choice(pool)
    return [_rng.choice(pool) for _ in range(_rng.randint(1, most))]


def _principal() -> Any:
    form = _rng.randrange(7)
    if form == 0:
        return "*"
    if form == 1:
        return {"AWS": "*"}
    if form == 2:
        return {"Service": _one_or_many(SERVICES, 2)}
    if form == 3:
        return {"AWS": _one_or_many(AWS_VALUES, 3), "Service": _rng.choice(SERVICES)}
    if form == 4:
        return {"Federated": "cognito-identity.amazonaws.com"}
    return {"AWS": _one_or_many(AWS_VALUES, 4)}


ACTION_VALUES = [
    *sorted(catalogue().actions),
    "kms:*", "*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Get*", "kms:Describe*",
    "kms:List*", "kms:*Grant*", "kms:encrypt", "KMS:DECRYPT", "s3:GetObject", "kms:Encryp?",
]
ACTIONS = [
    *(_one_or_many(ACTION_VALUES, 5) for _ in range(200)),
    "kms:*", "*", list(SYMMETRIC_DEFAULTS),
    ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
]
RESOURCE_VALUES = [
    "*", KEY_ARN, f"arn:aws:kms:*:{OWNER}:key/*", f"arn:aws:kms:us-east-1:{OWNER}:key/other",
]
RESOURCES = [*RESOURCE_VALUES, *(_one_or_many(RESOURCE_VALUES, 2) for _ in range(12))]
CONDITION_VALUES = ["true", "false", "o-abc123", "s3.us-west-2.amazonaws.com", True, False, 0,
                    10_000, [EXTERNAL, OTHER], [THIRD]]
CONDITIONS = [
    {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    *(
        {
            op: {
                key: _rng.choice(CONDITION_VALUES)
                for key in _rng.sample(["kms:GrantIsForAWSResource", "kms:ViaService",
                                        "kms:CallerAccount", "aws:PrincipalOrgID",
                                        "aws:SourceVpce", "aws:SecureTransport"],
                                       _rng.randint(1, 2))
            }
            for op in _rng.sample(["Bool", "StringEquals", "StringNotEquals", "ArnLike",
                                   "NumericLessThan", "ForAnyValue:StringLike"],
                                  _rng.randint(1, 2))
        }
        for _ in range(40)
    ),
]
SIDS = [
    "", "Enable IAM User Permissions", "Allow use of the key",
    "Allow attachment of persistent resources", "Allow access for Key Administrators",
    *(sid.lower() for sid in MANAGED_SIDS), *(sid + " " for sid in MANAGED_SIDS),
    *(_unicode_sid() for _ in range(40)),
]
assert not set(SIDS) & set(MANAGED_SIDS)
PRINCIPALS = [_principal() for _ in range(300)]
# Statements that already give requested accounts what they ask for (the console's key users).
GRANTING = [
    {"Sid": sid, "Effect": "Allow",
     "Principal": {"AWS": _one_or_many(
         [*REQUEST_ACCOUNTS, *(f"arn:aws:iam::{a}:root" for a in REQUEST_ACCOUNTS)], 3)},
     "Action": action, "Resource": "*", **({"Condition": cond} if cond else {})}
    for sid, action, cond in (
        (_rng.choice(["Allow use of the key", "Allow attachment of persistent resources",
                      "Legacy access"]),
         _rng.choice(["kms:*", "*", list(SYMMETRIC_DEFAULTS),
                      ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]]),
         _rng.choice([None, None, {"Bool": {"kms:GrantIsForAWSResource": "true"}}]))
        for _ in range(30)
    )
]
REQUEST_PRINCIPALS = [_role_or_user(_rng.choice(REQUEST_ACCOUNTS)) for _ in range(8)]
REQUEST_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                   "kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:decrypt"]


class Picker:
    """Picks from pools with the digits of one drawn number. Digit 0 is the simplest choice
    (the first in a pool, no to every chance), so a number hypothesis shrinks toward zero bytes
    gives a simpler example."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def below(self, n: int) -> int:
        self.seed, digit = divmod(self.seed, n)
        return digit

    def choice(self, pool: list[Any]) -> Any:
        return pool[self.below(len(pool))]

    def chance(self, one_in: int) -> bool:
        return self.below(one_in) == one_in - 1


def _statement(seed: int) -> dict[str, Any]:
    pick = Picker(seed)
    if pick.chance(6):
        return dict(pick.choice(GRANTING))
    fields: list[tuple[str, Any]] = [("Effect", pick.choice(["Allow", "Allow", "Deny"]))]
    if not pick.chance(4):
        fields.append(("Sid", pick.choice(SIDS)))
    fields.append(("NotPrincipal" if pick.chance(10) else "Principal", pick.choice(PRINCIPALS)))
    fields.append(("NotAction" if pick.chance(4) else "Action", pick.choice(ACTIONS)))
    fields.append(("NotResource" if pick.chance(4) else "Resource", pick.choice(RESOURCES)))
    if pick.chance(3):
        fields.append(("Condition", pick.choice(CONDITIONS)))
    order = pick.choice(list(FIELD_ORDERS))
    if order == "reversed":
        fields.reverse()
    elif order == "rotated":
        fields = fields[2:] + fields[:2]
    # Values are shared with the pools: nothing here or in kmswizard (which plans from the
    # text) ever changes them.
    return dict(fields)


def _padding(target: int, policy: dict[str, Any]) -> dict[str, Any]:
    """An unmanaged statement that brings the (compact) policy to about ``target`` bytes."""
    statement = {"Sid": "Padding", "Effect": "Allow", "Principal": {"Service": SERVICES[0]},
                 "Action": "kms:Decrypt", "Resource": "*",
                 "Condition": {"StringEquals": {"kms:EncryptionContext:pad": ""}}}
    current = len(json.dumps({**policy, "Statement": [*statements(policy), statement]},
                             separators=(",", ":"), ensure_ascii=False).encode())
    statement["Condition"]["StringEquals"]["kms:EncryptionContext:pad"] = "p" * max(
        0, target - current)
    return statement


def light_policy(pick: Picker) -> dict[str, Any]:
    items = [_statement(pick.below(2**64)) for _ in range(pick.below(6))]
    policy: dict[str, Any] = {}
    if pick.chance(2):
        policy["Id"] = pick.choice(["key-default-1", "key-consolepolicy-3", "custom"])
    if not pick.chance(5):
        policy["Version"] = "2012-10-17"
    if pick.chance(8):  # near the 32 KB limit: the share may push it over
        target = MAX_POLICY_BYTES - 1_500 + pick.below(1_600)
        items.insert(pick.below(len(items) + 1), _padding(target, {**policy, "Statement": items}))
    form = pick.choice(["list", "list", "single", "absent"])
    if form == "single" and items:  # one statement as an object (the padding if any)
        policy["Statement"] = next((s for s in items if s.get("Sid") == "Padding"), items[0])
    elif form != "absent" or items:
        policy["Statement"] = items
    if pick.chance(2):
        policy = dict(reversed(list(policy.items())))
    return policy


def light_request(pick: Picker) -> ShareRequest:
    accounts = [a for a in REQUEST_ACCOUNTS if pick.chance(3)]
    principals = sorted({pick.choice(REQUEST_PRINCIPALS) for _ in range(pick.below(4))})
    actions = None if pick.chance(2) else tuple(
        pick.choice(REQUEST_ACTIONS) for _ in range(1 + pick.below(5)))
    return ShareRequest(accounts=tuple(accounts), principals=tuple(principals), actions=actions,
                        grants_for_aws_resources=pick.chance(2))


def _decode(seed: int) -> tuple[dict[str, Any], ShareRequest, bool]:
    pick = Picker(seed)
    return light_policy(pick), light_request(pick), pick.chance(8)


# One draw of 64 bytes per example, decoded into a policy and a request: the cheapest for
# hypothesis (~0.4 ms per example, against ~1.1 ms for a list of draws), and uniform (its large
# integers, unlike its bytes, are mostly small numbers, whose digits would be mostly 0).
policies_and_requests = st.binary(min_size=64, max_size=64).map(
    lambda data: _decode(int.from_bytes(data, "little")))


def unique_ids_in(policy: dict[str, Any]) -> set[str]:
    return {v for s in statements(policy) for v in aws_principals(s) if UNIQUE_ID_RE.match(v)}


def ordered(policy: dict[str, Any]) -> str:
    """Order-sensitive form of a document (dict equality ignores the order of fields)."""
    return json.dumps(policy, ensure_ascii=False)


def check_valid_json(text: str, policy: dict[str, Any]) -> None:
    """Strict JSON (no NaN, no duplicate keys), UTF-8, and exactly the planned policy."""
    assert ordered(parse_policy(text)) == ordered(policy)
    text.encode("utf-8")


# --- the property -----------------------------------------------------------------------------

stats = {"examples": 0, "changed": 0, "too_large": 0, "unique_ids": 0, "padded": 0}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(example=policies_and_requests, key=keys)
def share_then_revoke(example: tuple[dict[str, Any], ShareRequest, bool], key: KeyInfo) -> None:
    policy, request, pretty = example
    stats["examples"] += 1
    # Pretty, as KMS returns a policy, or compact (json's C encoder: 10x cheaper).
    text = as_text(policy) if pretty else json.dumps(policy, ensure_ascii=False)
    shared = run(key, text, request)
    stats["changed"] += shared.changed
    stats["padded"] += len(text) > MAX_POLICY_BYTES - 2_000
    written = shared.after_text.encode()

    # Output is always valid JSON, and it is the very document that was planned.
    check_valid_json(shared.after_text, shared.after)
    # Statements kmswizard does not manage never change, nor move relative to each other.
    assert exact([s for s in statements(shared.after) if not is_managed(s)]) == exact(
        statements(policy))
    assert {s.get("Sid") for s in statements(shared.after) if is_managed(s)} <= {
        USE_SID, GRANTS_SID}
    # Over-size results are refused, never truncated.
    codes = {f.code: f for f in shared.findings}
    assert len(written) == size_bytes(shared.after)
    too_large = len(written) > MAX_POLICY_BYTES
    assert ("policy-too-large" in codes) == too_large
    if too_large:
        stats["too_large"] += 1
        assert codes["policy-too-large"].severity == "error" and shared.blocked
        assert written == render(shared.after).encode()  # all of it (compact), not cut
        with pytest.raises(UserError, match="nothing was applied"):
            apply_plan(None, Plan((shared,)))  # type: ignore[arg-type]  # refused before AWS
    # Principals AWS shows by unique ID (deleted) are kept, and reported.
    ids = unique_ids_in(policy)
    assert unique_ids_in(shared.after) == ids
    if ids:
        stats["unique_ids"] += 1
        reported = " ".join(f.message for f in shared.findings if f.code == "deleted-principal")
        assert all(i in reported for i in ids)

    # Revoking everything gives back the original statements exactly.
    revoked = run(key, shared.after_text, ShareRequest())
    check_valid_json(revoked.after_text, revoked.after)
    assert exact(statements(revoked.after)) == exact(statements(policy))
    assert not any(is_managed(s) for s in statements(revoked.after))
    others = {k: v for k, v in policy.items() if k not in ("Statement", "Version")}
    assert {k: v for k, v in revoked.after.items() if k not in ("Statement", "Version")} == others
    if "Version" in policy and isinstance(policy.get("Statement"), list):
        # Nothing to normalize: the document comes back field for field, in order (so its
        # rendering, a function of that, is the same too).
        assert ordered(revoked.after) == ordered(policy)


def test_10000_policies_share_then_revoke() -> None:
    share_then_revoke()
    assert stats["examples"] >= EXAMPLES
    # The generator really reaches the cases it is meant to reach.
    assert stats["changed"] > EXAMPLES // 4
    assert stats["too_large"] > 50 and stats["unique_ids"] > 500
