"""The worked cases of the effective-access issue, on the KMS developer guide's examples
("Allowing users in other accounts to use a KMS key"): key policy and IAM policy together."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import (
    EXTERNAL,
    GRANT_ACTION_LIST,
    GRANT_CONDITION_BLOCK,
    KEY_ARN,
    OWNER,
    ROLE,
    ROOT_STATEMENT,
    SYMMETRIC_DEFAULTS,
    USER,
    catalogue,
)

from kmswizard.policy.check import check_access
from kmswizard.policy.evaluate import evaluate, evaluate_action, granted_by_key_policy, iam_actions

EXTERNAL_ROOT = f"arn:aws:iam::{EXTERNAL}:root"
OTHER_ROLE = f"arn:aws:iam::{EXTERNAL}:role/OtherRole"
REENCRYPT = ("kms:ReEncryptFrom", "kms:ReEncryptTo")
GENERATE_DATA_KEY = (
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateDataKeyWithoutPlaintext",
)
EXPANDED_DEFAULTS = tuple(
    sorted(("kms:Encrypt", "kms:Decrypt", *REENCRYPT, *GENERATE_DATA_KEY, "kms:DescribeKey"))
)


def key_policy(*principals: str, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The guide's key policy: the owner's root statement and a key-user statement."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            ROOT_STATEMENT,
            {
                "Sid": "Allow an external account to use this KMS key",
                "Effect": "Allow",
                "Principal": {"AWS": list(principals)},
                "Action": SYMMETRIC_DEFAULTS,
                "Resource": "*",
            },
            *(extra or []),
        ],
    }


def iam_policy(actions: list[str], *statements: dict[str, Any]) -> dict[str, Any]:
    """The guide's IAM policy for the external role, naming the key by its ARN."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"Allow Use Of KMS Key In Account {OWNER}",
                "Effect": "Allow",
                "Action": actions,
                "Resource": KEY_ARN,
            },
            *statements,
        ],
    }


def results(verdicts: Any) -> dict[str, str]:
    return {v.action: v.result for v in verdicts}


def codes(check: Any) -> list[str]:
    return [f.code for f in check.findings]


def test_account_root_in_key_policy_and_iam_policy_on_a_role_is_allowed() -> None:
    check = check_access(
        key_policy(EXTERNAL_ROOT), KEY_ARN, ROLE, [iam_policy(SYMMETRIC_DEFAULTS)], catalogue()
    )
    assert results(check.verdicts) == dict.fromkeys(EXPANDED_DEFAULTS, "allowed")
    assert check.complete
    assert not [f for f in check.findings if f.severity in ("error", "warning")]
    decrypt = next(v for v in check.verdicts if v.action == "kms:Decrypt")
    assert [str(c) for c in decrypt.because] == [
        "key policy statement 1 ('Allow an external account to use this KMS key')",
        f"IAM policy statement 0 ('Allow Use Of KMS Key In Account {OWNER}')",
    ]
    assert check.as_dict()["complete"] is True


def test_the_key_policy_alone_is_not_enough() -> None:
    verdicts = evaluate(EXPANDED_DEFAULTS, key_policy(EXTERNAL_ROOT), KEY_ARN, ROLE,
                        [iam_policy(["kms:Decrypt"])])
    assert results(verdicts) == {
        a: "allowed" if a == "kms:Decrypt" else "not granted by IAM policy"
        for a in EXPANDED_DEFAULTS
    }


def test_specific_role_in_key_policy_and_iam_policy_on_another_role_is_not_allowed() -> None:
    policy = key_policy(ROLE, USER)
    check = check_access(policy, KEY_ARN, OTHER_ROLE, [iam_policy(SYMMETRIC_DEFAULTS)],
                         catalogue())
    assert results(check.verdicts) == dict.fromkeys(
        EXPANDED_DEFAULTS, "not granted by key policy"
    )
    assert not check.complete
    assert codes(check)[0] == "principal-not-in-key-policy"
    finding = check.findings[0]
    assert finding.severity == "error"
    assert OTHER_ROLE in finding.message and EXTERNAL in finding.message
    # The role the key policy names gets everything with the same IAM policy.
    named = check_access(policy, KEY_ARN, ROLE, [iam_policy(SYMMETRIC_DEFAULTS)], catalogue())
    assert named.complete and "principal-not-in-key-policy" not in codes(named)


def test_iam_action_the_key_policy_lacks_is_flagged_not_effective() -> None:
    iam = [iam_policy([*SYMMETRIC_DEFAULTS, "kms:ScheduleKeyDeletion", "kms:Sign"])]
    check = check_access(key_policy(EXTERNAL_ROOT), KEY_ARN, ROLE, iam, catalogue())
    verdicts = results(check.verdicts)
    assert verdicts["kms:ScheduleKeyDeletion"] == "not granted by key policy"
    assert verdicts["kms:Sign"] == "not granted by key policy"
    assert all(verdicts[a] == "allowed" for a in EXPANDED_DEFAULTS)
    assert not check.complete
    ineffective = [f for f in check.findings if f.code == "ineffective-iam-action"]
    assert len(ineffective) == 1
    assert ineffective[0].severity == "warning"
    assert "kms:ScheduleKeyDeletion" in ineffective[0].message
    assert "kms:Sign" in ineffective[0].message
    assert "kms:Decrypt" not in ineffective[0].message


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("kms:ReEncrypt*", REENCRYPT), ("kms:GenerateDataKey*", GENERATE_DATA_KEY)],
)
def test_wildcards_expand_to_the_concrete_actions(
    pattern: str, expected: tuple[str, ...]
) -> None:
    assert iam_actions([iam_policy([pattern])], catalogue()) == expected
    assert tuple(sorted(catalogue().expand(pattern))) == expected
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": EXTERNAL_ROOT}, "Action": pattern,
        "Resource": "*",
    }]}
    assert granted_by_key_policy(policy, KEY_ARN, ROLE, catalogue()) == expected
    check = check_access(policy, KEY_ARN, ROLE, [iam_policy([pattern])], catalogue())
    assert results(check.verdicts) == dict.fromkeys(expected, "allowed")


def test_default_actions_expand_to_nine_concrete_actions() -> None:
    assert iam_actions([iam_policy(SYMMETRIC_DEFAULTS)], catalogue()) == EXPANDED_DEFAULTS
    assert len(EXPANDED_DEFAULTS) == 9
    # ReEncrypt is an API operation, not an IAM action: nothing authorizes it by that name.
    assert "kms:ReEncrypt" not in catalogue().actions


DENY_DECRYPT = {"Sid": "DenyDecrypt", "Effect": "Deny", "Action": "kms:Decrypt"}


@pytest.mark.parametrize(
    ("key_extra", "iam_extra", "cited"),
    [
        pytest.param([{**DENY_DECRYPT, "Principal": "*", "Resource": "*"}], [],
                     "key policy statement 2 ('DenyDecrypt')", id="deny-in-key-policy"),
        pytest.param([], [{**DENY_DECRYPT, "Resource": KEY_ARN}],
                     "IAM policy statement 1 ('DenyDecrypt')", id="deny-in-iam-policy"),
        pytest.param([{**DENY_DECRYPT, "NotPrincipal": {"AWS": [
            f"arn:aws:iam::{OWNER}:role/Admin", f"arn:aws:iam::{OWNER}:root"]},
                       "Resource": "*"}], [],
                     "key policy statement 2 ('DenyDecrypt')", id="deny-with-notprincipal"),
        pytest.param([{"Sid": "OnlyEncrypt", "Effect": "Deny", "Principal": {"AWS": EXTERNAL},
                       "NotAction": ["kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*"}],
                     [], "key policy statement 2 ('OnlyEncrypt')", id="deny-via-notaction"),
    ],
)
def test_explicit_deny_in_either_policy_wins(
    key_extra: list[dict[str, Any]], iam_extra: list[dict[str, Any]], cited: str
) -> None:
    policy = key_policy(EXTERNAL_ROOT, extra=key_extra)
    iam = [iam_policy(SYMMETRIC_DEFAULTS, *iam_extra)]
    verdict = evaluate_action("kms:Decrypt", policy, KEY_ARN, ROLE, iam)
    assert verdict.result == "denied"
    assert [str(c) for c in verdict.because] == [cited]
    assert verdict.explanation == f"explicit Deny in {cited}"
    # The same statements without the Deny allow it: the Deny is what decides.
    without = evaluate_action("kms:Decrypt", key_policy(EXTERNAL_ROOT), KEY_ARN, ROLE,
                              [iam_policy(SYMMETRIC_DEFAULTS)])
    assert without.result == "allowed"
    check = check_access(policy, KEY_ARN, ROLE, iam, catalogue())
    assert results(check.verdicts)["kms:Decrypt"] == "denied"
    assert results(check.verdicts)["kms:Encrypt"] == "allowed"
    assert not check.complete


def test_notprincipal_deny_spares_the_principals_it_names() -> None:
    spared = {"Sid": "OnlyExample", "Effect": "Deny", "Action": "kms:*", "Resource": "*",
              "NotPrincipal": {"AWS": [ROLE, EXTERNAL_ROOT]}}
    policy = key_policy(EXTERNAL_ROOT, extra=[spared])
    iam = [iam_policy(SYMMETRIC_DEFAULTS)]
    assert evaluate_action("kms:Decrypt", policy, KEY_ARN, ROLE, iam).result == "allowed"
    assert evaluate_action("kms:Decrypt", policy, KEY_ARN, OTHER_ROLE, iam).result == "denied"


def test_grants_statement_is_conditional_until_the_context_says() -> None:
    grants = {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
              "Principal": {"AWS": EXTERNAL_ROOT}, "Action": GRANT_ACTION_LIST,
              "Resource": "*", "Condition": GRANT_CONDITION_BLOCK}
    policy = key_policy(EXTERNAL_ROOT, extra=[grants])
    iam = [iam_policy(GRANT_ACTION_LIST)]
    unknown = evaluate_action("kms:CreateGrant", policy, KEY_ARN, ROLE, iam)
    assert unknown.result == "conditional"
    assert unknown.condition_keys == ("kms:GrantIsForAWSResource",)
    assert "depends on kms:GrantIsForAWSResource" in unknown.explanation
    context = {"kms:grantisforawsresource": ["true"]}
    assert evaluate_action("kms:CreateGrant", policy, KEY_ARN, ROLE, iam,
                           context).result == "allowed"
    context = {"kms:grantisforawsresource": ["false"]}
    assert evaluate_action("kms:CreateGrant", policy, KEY_ARN, ROLE, iam,
                           context).result == "not granted by key policy"


def test_key_policy_only_check_reports_what_the_key_policy_grants() -> None:
    check = check_access(key_policy(EXTERNAL_ROOT), KEY_ARN, ROLE, None, catalogue())
    assert results(check.verdicts) == dict.fromkeys(EXPANDED_DEFAULTS, "allowed")
    assert "key-policy-only" in codes(check)
    assert check.as_dict()["iam_policies_given"] is False


def test_key_policy_broader_than_iam_and_resource_mismatch_findings() -> None:
    iam = {"Version": "2012-10-17", "Statement": [{
        "Sid": "ByAlias", "Effect": "Allow", "Action": ["kms:Decrypt"],
        "Resource": f"arn:aws:kms:us-west-2:{OWNER}:alias/orders",
    }]}
    check = check_access(key_policy(EXTERNAL_ROOT), KEY_ARN, ROLE, [iam], catalogue())
    assert results(check.verdicts) == {"kms:Decrypt": "not granted by IAM policy"}
    by_code = {f.code: f for f in check.findings}
    assert "alias/orders" in by_code["iam-resource-mismatch"].message
    assert "'ByAlias'" in by_code["iam-resource-mismatch"].message
    assert "kms:Encrypt" in by_code["key-policy-broader"].message
    assert "kms:Decrypt" not in by_code["key-policy-broader"].message
    # Findings come most severe first.
    order = {"error": 0, "warning": 1, "info": 2}
    severities = [order[f.severity] for f in check.findings]
    assert severities == sorted(severities)
