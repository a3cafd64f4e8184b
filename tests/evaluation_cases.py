"""The effective-access table: one row per case, each with a one-line reason.

Run by ``test_evaluate_table.py``. Every row is one call of
``kmswizard.policy.evaluate.evaluate_action`` (one action, one principal, one key) and the
result AWS gives for it, reviewed against the IAM documentation ("Policy evaluation logic",
"Cross-account policy evaluation logic", "IAM JSON policy elements: Condition operators",
"NotPrincipal", "Resource") and the KMS developer guide ("Allowing users in other accounts to
use a KMS key", "Specifying KMS keys in IAM policy statements").

Unless a row says otherwise: the key is KEY_ARN in account 111122223333, the principal is
ROLE in account 444455556666 (cross-account), the action is kms:Decrypt and the IAM side is
one policy allowing kms:Decrypt on the key's ARN.

A row's ``context`` maps condition keys to the values in the request; a key mapped to ``[]``
is absent from the request, and a key not in the mapping is unknown (the result is then
``conditional`` and lists it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OWNER = "111122223333"
EXTERNAL = "444455556666"
OTHER = "777788889999"
REGION = "us-west-2"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{OWNER}:key/{KEY_ID}"
OTHER_KEY_ARN = f"arn:aws:kms:{REGION}:{OWNER}:key/0987dcba-09fe-87dc-65ba-ab0987654321"
ALIAS_ARN = f"arn:aws:kms:{REGION}:{OWNER}:alias/orders"

ROLE = f"arn:aws:iam::{EXTERNAL}:role/ExampleRole"
OTHER_ROLE = f"arn:aws:iam::{EXTERNAL}:role/OtherRole"
EXTERNAL_ROOT = f"arn:aws:iam::{EXTERNAL}:root"
OTHER_ROOT = f"arn:aws:iam::{OTHER}:root"
OWNER_ROOT = f"arn:aws:iam::{OWNER}:root"
LOCAL_ROLE = f"arn:aws:iam::{OWNER}:role/LocalRole"

Statement = dict[str, Any]
KEY_ONLY = None  # ``iam`` of a row that judges the key policy alone


def allow(
    principal: Any = EXTERNAL_ROOT,
    actions: Any = "kms:Decrypt",
    *,
    sid: str | None = None,
    resource: Any = "*",
    condition: dict[str, Any] | None = None,
    **fields: Any,
) -> Statement:
    """A key policy Allow statement; ``principal`` is a Principal.AWS value, or a whole
    Principal element when it is a dict or ``"*"``; pass NotAction= / NotResource= in
    ``fields`` (with actions/resource None) to use those instead."""
    return _statement("Allow", principal, actions, sid, resource, condition, fields)


def deny(
    principal: Any = "*",
    actions: Any = "kms:*",
    *,
    sid: str | None = None,
    resource: Any = "*",
    condition: dict[str, Any] | None = None,
    **fields: Any,
) -> Statement:
    return _statement("Deny", principal, actions, sid, resource, condition, fields)


def _statement(
    effect: str,
    principal: Any,
    actions: Any,
    sid: str | None,
    resource: Any,
    condition: dict[str, Any] | None,
    fields: dict[str, Any],
) -> Statement:
    statement: Statement = {"Effect": effect}
    if sid:
        statement["Sid"] = sid
    if principal is not None:
        statement["Principal"] = (
            principal if isinstance(principal, dict) or principal == "*" else {"AWS": principal}
        )
    if actions is not None:
        statement["Action"] = actions
    if resource is not None:
        statement["Resource"] = resource
    if condition is not None:
        statement["Condition"] = condition
    statement.update(fields)
    return statement


def iam_allow(
    actions: Any = "kms:Decrypt",
    resource: Any = KEY_ARN,
    *,
    sid: str | None = None,
    condition: dict[str, Any] | None = None,
    **fields: Any,
) -> Statement:
    """An IAM policy Allow statement (no Principal: the policy is attached to it)."""
    return _statement("Allow", None, actions, sid, resource, condition, fields)


def iam_deny(
    actions: Any = "kms:Decrypt",
    resource: Any = KEY_ARN,
    *,
    sid: str | None = None,
    condition: dict[str, Any] | None = None,
    **fields: Any,
) -> Statement:
    return _statement("Deny", None, actions, sid, resource, condition, fields)


def conditional_allow(condition: dict[str, Any], actions: Any = "kms:Decrypt") -> Statement:
    """The external account's root, with a condition: the usual shape of a conditioned grant."""
    return allow(EXTERNAL_ROOT, actions, sid="Conditioned", condition=condition)


@dataclass(frozen=True)
class Case:
    id: str
    reason: str
    key: list[Statement]
    expected: str
    action: str = "kms:Decrypt"
    iam: list[list[Statement]] | None = field(default_factory=lambda: [[iam_allow()]])
    principal: str = ROLE
    key_arn: str = KEY_ARN
    context: dict[str, list[str]] | None = None
    cites: tuple[str, ...] = ()  # each must be one of the verdict's citations, exactly
    condition_keys: tuple[str, ...] = ()  # the verdict's condition keys, exactly
    xfail: str | None = None  # why the implementation disagrees with AWS (reported)


GRANT_BOOL = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
EC_DEPT = "kms:EncryptionContext:dept"

CASES: list[Case] = [
    # --- principal forms ------------------------------------------------------------------
    Case("principal-account-root", "the account's root ARN delegates to the account's IAM "
         "policies", [allow(EXTERNAL_ROOT)], "allowed"),
    Case("principal-bare-account-id", "a bare account ID means the same as its root ARN",
         [allow(EXTERNAL)], "allowed"),
    Case("principal-role-arn", "the principal's own ARN in the key policy", [allow(ROLE)],
         "allowed"),
    Case("principal-star-string", '"Principal": "*" is everyone', [allow("*")], "allowed"),
    Case("principal-star-aws", '{"AWS": "*"} is everyone', [allow({"AWS": "*"})], "allowed"),
    Case("principal-in-list", "one matching value in a list of principals is enough",
         [allow([OTHER_ROOT, ROLE])], "allowed"),
    Case("principal-other-role-same-account", "another role of the same account does not cover "
         "this one", [allow(OTHER_ROLE)], "not granted by key policy"),
    Case("principal-other-account-root", "another account's root does not cover this account",
         [allow(OTHER_ROOT)], "not granted by key policy"),
    Case("principal-other-account-id", "another account's bare ID does not cover this account",
         [allow(OTHER)], "not granted by key policy"),
    Case("principal-service-only", "a service principal is not an IAM role",
         [allow({"Service": "ec2.amazonaws.com"})], "not granted by key policy"),
    Case("principal-owner-root-only", "the default key policy (owner root only) gives another "
         "account nothing", [allow(OWNER_ROOT, "kms:*")], "not granted by key policy"),
    # --- same account vs cross account -----------------------------------------------------
    Case("cross-account-named-role-still-needs-iam", "across accounts the key policy alone is "
         "never enough, even naming the role", [allow(ROLE)], "not granted by IAM policy",
         iam=[[iam_allow("kms:Encrypt")]]),
    Case("cross-account-iam-alone-not-enough", "across accounts an IAM policy alone gives "
         "nothing", [allow(OWNER_ROOT, "kms:*")], "not granted by key policy",
         iam=[[iam_allow("kms:*", "*")]]),
    Case("same-account-named-directly", "in its own account a key policy naming the role is "
         "enough without any IAM policy", [allow(OWNER_ROOT, "kms:*", sid="Root"),
                                           allow(LOCAL_ROLE, sid="Local")],
         "allowed", principal=LOCAL_ROLE, iam=[[iam_allow("kms:Encrypt")]],
         cites=("key policy statement 1 ('Local')",)),
    Case("same-account-root-delegates-to-iam", "in its own account the root statement only "
         "enables IAM policies", [allow(OWNER_ROOT, "kms:*")], "not granted by IAM policy",
         principal=LOCAL_ROLE, iam=[[iam_allow("kms:Encrypt")]]),
    Case("same-account-root-and-iam", "root statement plus an IAM policy in the key's account",
         [allow(OWNER_ROOT, "kms:*")], "allowed", principal=LOCAL_ROLE),
    Case("same-account-star-principal", "in its own account a key policy Allow to \"*\" "
         "covers the role without IAM (KMS guide: only other accounts also need IAM)",
         [allow(OWNER_ROOT, "kms:*"), allow("*", sid="Everyone")], "allowed",
         principal=LOCAL_ROLE, iam=[[iam_allow("kms:Encrypt")]],
         xfail="evaluate_action lets a key policy statement stand for the IAM side in the key's "
         "own account only when it names the principal's ARN, not for Principal \"*\""),
    Case("key-policy-only-judged", "with no IAM policy given only the key policy is judged",
         [allow(EXTERNAL_ROOT)], "allowed", iam=KEY_ONLY),
    # --- NotPrincipal ---------------------------------------------------------------------
    Case("notprincipal-deny-other-role", "Deny to everyone but another role hits this role",
         [allow(EXTERNAL_ROOT), deny(None, NotPrincipal={"AWS": [OTHER_ROLE, EXTERNAL_ROOT]},
                                     sid="OnlyOther")],
         "denied", cites=("key policy statement 1 ('OnlyOther')",)),
    Case("notprincipal-deny-excludes-role", "NotPrincipal naming the role and its account "
         "exempts the role", [allow(EXTERNAL_ROOT),
                              deny(None, NotPrincipal={"AWS": [ROLE, EXTERNAL_ROOT]})],
         "allowed"),
    Case("notprincipal-account-root-does-not-exempt-role", "NotPrincipal naming only the "
         "account root exempts the account, not its roles (IAM docs, NotPrincipal example)",
         [allow(EXTERNAL_ROOT), deny(None, NotPrincipal={"AWS": EXTERNAL_ROOT})], "denied"),
    Case("notprincipal-deny-other-action", "a NotPrincipal Deny of another action leaves this "
         "one", [allow(EXTERNAL_ROOT),
                 deny(None, "kms:Encrypt", NotPrincipal={"AWS": OTHER_ROLE})], "allowed"),
    # --- Action / NotAction and wildcards --------------------------------------------------
    Case("action-kms-star", '"kms:*" on both sides covers every KMS action',
         [allow(EXTERNAL_ROOT, "kms:*")], "allowed", iam=[[iam_allow("kms:*")]]),
    Case("action-star", '"*" (every service) on both sides, IAM Resource "*"',
         [allow(EXTERNAL_ROOT, "*")], "allowed", iam=[[iam_allow("*", "*")]]),
    Case("action-reencrypt-from", "kms:ReEncrypt* covers kms:ReEncryptFrom",
         [allow(EXTERNAL_ROOT, "kms:ReEncrypt*")], "allowed", action="kms:ReEncryptFrom",
         iam=[[iam_allow("kms:ReEncrypt*")]]),
    Case("action-reencrypt-to", "kms:ReEncrypt* covers kms:ReEncryptTo",
         [allow(EXTERNAL_ROOT, "kms:ReEncrypt*")], "allowed", action="kms:ReEncryptTo",
         iam=[[iam_allow("kms:ReEncrypt*")]]),
    Case("action-generatedatakey-pair", "kms:GenerateDataKey* covers "
         "kms:GenerateDataKeyPairWithoutPlaintext", [allow(EXTERNAL_ROOT, "kms:GenerateDataKey*")],
         "allowed", action="kms:GenerateDataKeyPairWithoutPlaintext",
         iam=[[iam_allow("kms:GenerateDataKey*")]]),
    Case("action-prefix-wildcard-does-not-cover-others", "kms:GenerateDataKey* does not cover "
         "kms:Decrypt", [allow(EXTERNAL_ROOT, "kms:GenerateDataKey*")],
         "not granted by key policy"),
    Case("action-question-mark", "? matches exactly one character",
         [allow(EXTERNAL_ROOT, "kms:Get?ublicKey")], "allowed", action="kms:GetPublicKey",
         iam=[[iam_allow("kms:GetPublicKey")]]),
    Case("action-case-insensitive", "action names are case-insensitive",
         [allow(EXTERNAL_ROOT, "KMS:decrypt")], "allowed"),
    Case("action-missing-from-key-policy", "an IAM action the key policy lacks is not "
         "effective", [allow(EXTERNAL_ROOT, "kms:Encrypt")], "not granted by key policy",
         iam=[[iam_allow(["kms:Encrypt", "kms:Decrypt"])]]),
    Case("notaction-allow-covers-others", "Allow NotAction [Encrypt] allows Decrypt",
         [allow(EXTERNAL_ROOT, None, NotAction=["kms:Encrypt"])], "allowed"),
    Case("notaction-allow-excludes-listed", "Allow NotAction [Decrypt] does not allow Decrypt",
         [allow(EXTERNAL_ROOT, None, NotAction="kms:Decrypt")], "not granted by key policy"),
    Case("notaction-deny-hits-others", "Deny NotAction [Encrypt] denies Decrypt",
         [allow(EXTERNAL_ROOT, "kms:*"), deny("*", None, NotAction="kms:Encrypt",
                                              sid="OnlyEncrypt")],
         "denied", cites=("key policy statement 1 ('OnlyEncrypt')",)),
    Case("notaction-deny-spares-listed", "Deny NotAction [Encrypt] leaves Encrypt",
         [allow(EXTERNAL_ROOT, "kms:*"), deny("*", None, NotAction="kms:Encrypt")],
         "allowed", action="kms:Encrypt", iam=[[iam_allow("kms:Encrypt")]]),
    Case("iam-action-other-service", "an IAM policy for s3:* says nothing about KMS",
         [allow(EXTERNAL_ROOT)], "not granted by IAM policy", iam=[[iam_allow("s3:*", "*")]]),
    # --- Resource / NotResource ------------------------------------------------------------
    Case("iam-resource-star", 'IAM Resource "*" covers the key', [allow(EXTERNAL_ROOT)],
         "allowed", iam=[[iam_allow(resource="*")]]),
    Case("iam-resource-key-wildcard", "key/* in the owner's account and region covers the key",
         [allow(EXTERNAL_ROOT)], "allowed",
         iam=[[iam_allow(resource=f"arn:aws:kms:*:{OWNER}:key/*")]]),
    Case("iam-resource-alias-arn", "an alias ARN never names the key in an IAM policy",
         [allow(EXTERNAL_ROOT)], "not granted by IAM policy",
         iam=[[iam_allow(resource=ALIAS_ARN)]]),
    Case("iam-resource-alias-wildcard", "alias/* does not match a key ARN either",
         [allow(EXTERNAL_ROOT)], "not granted by IAM policy",
         iam=[[iam_allow(resource=f"arn:aws:kms:{REGION}:{OWNER}:alias/*")]]),
    Case("iam-resource-other-key", "another key's ARN does not cover this key",
         [allow(EXTERNAL_ROOT)], "not granted by IAM policy",
         iam=[[iam_allow(resource=OTHER_KEY_ARN)]]),
    Case("iam-resource-other-account", "keys of another account do not cover this key",
         [allow(EXTERNAL_ROOT)], "not granted by IAM policy",
         iam=[[iam_allow(resource=f"arn:aws:kms:{REGION}:{OTHER}:key/*")]]),
    Case("iam-notresource-excludes-key", "NotResource naming the key excludes it",
         [allow(EXTERNAL_ROOT)], "not granted by IAM policy",
         iam=[[iam_allow(resource=None, NotResource=KEY_ARN)]]),
    Case("iam-notresource-other", "NotResource naming something else covers the key",
         [allow(EXTERNAL_ROOT)], "allowed", iam=[[iam_allow(resource=None,
                                                            NotResource=ALIAS_ARN)]]),
    Case("key-resource-key-arn", "a key policy may name its own key's ARN",
         [allow(EXTERNAL_ROOT, resource=KEY_ARN)], "allowed"),
    Case("key-resource-other-key", "a key policy statement naming another key does not apply",
         [allow(EXTERNAL_ROOT, resource=OTHER_KEY_ARN)], "not granted by key policy"),
    # --- condition operators: strings ------------------------------------------------------
    Case("stringequals-match", "StringEquals with the request's value",
         [conditional_allow({"StringEquals": {"kms:CallerAccount": EXTERNAL}})], "allowed",
         context={"kms:CallerAccount": [EXTERNAL]}),
    Case("stringequals-mismatch", "StringEquals with another value",
         [conditional_allow({"StringEquals": {"kms:CallerAccount": OTHER}})],
         "not granted by key policy", context={"kms:CallerAccount": [EXTERNAL]}),
    Case("stringequals-is-case-sensitive", "StringEquals compares case-sensitively",
         [conditional_allow({"StringEquals": {EC_DEPT: "Sales"}})], "not granted by key policy",
         context={EC_DEPT: ["sales"]}),
    Case("stringequals-values-are-or", "several values of one key: any may match",
         [conditional_allow({"StringEquals": {"kms:CallerAccount": [OTHER, EXTERNAL]}})],
         "allowed", context={"kms:CallerAccount": [EXTERNAL]}),
    Case("stringequals-keys-are-and", "several keys of one operator must all match",
         [conditional_allow({"StringEquals": {"kms:CallerAccount": EXTERNAL, EC_DEPT: "hr"}})],
         "not granted by key policy",
         context={"kms:CallerAccount": [EXTERNAL], EC_DEPT: ["sales"]}),
    Case("stringequalsignorecase", "StringEqualsIgnoreCase ignores case",
         [conditional_allow({"StringEqualsIgnoreCase": {EC_DEPT: "Sales"}})], "allowed",
         context={EC_DEPT: ["SALES"]}),
    Case("stringnotequals-other-value", "StringNotEquals with another value in the request",
         [conditional_allow({"StringNotEquals": {EC_DEPT: "hr"}})], "allowed",
         context={EC_DEPT: ["sales"]}),
    Case("stringnotequals-same-value", "StringNotEquals with the listed value",
         [conditional_allow({"StringNotEquals": {EC_DEPT: "hr"}})], "not granted by key policy",
         context={EC_DEPT: ["hr"]}),
    Case("stringnotequals-key-absent", "a negated operator is true when the key is absent "
         "(IAM docs, condition operators)",
         [conditional_allow({"StringNotEquals": {EC_DEPT: "hr"}})], "allowed",
         context={EC_DEPT: []}),
    Case("stringlike-wildcard", "StringLike with * matches",
         [conditional_allow({"StringLike": {"kms:ViaService": "*.us-west-2.amazonaws.com"}})],
         "allowed", context={"kms:ViaService": ["s3.us-west-2.amazonaws.com"]}),
    Case("stringlike-no-match", "StringLike pattern that does not match",
         [conditional_allow({"StringLike": {"kms:ViaService": "ec2.*"}})],
         "not granted by key policy", context={"kms:ViaService": ["s3.us-west-2.amazonaws.com"]}),
    Case("stringnotlike-match", "StringNotLike is false when the pattern matches",
         [conditional_allow({"StringNotLike": {"kms:ViaService": "ec2.*"}})],
         "not granted by key policy", context={"kms:ViaService": ["ec2.us-west-2.amazonaws.com"]}),
    Case("stringnotlike-no-match", "StringNotLike is true when the pattern does not match",
         [conditional_allow({"StringNotLike": {"kms:ViaService": "ec2.*"}})], "allowed",
         context={"kms:ViaService": ["s3.us-west-2.amazonaws.com"]}),
    # --- Bool ------------------------------------------------------------------------------
    Case("bool-true", "Bool kms:GrantIsForAWSResource true in the request",
         [conditional_allow(GRANT_BOOL, "kms:CreateGrant")], "allowed", action="kms:CreateGrant",
         iam=[[iam_allow("kms:CreateGrant", condition=GRANT_BOOL)]],
         context={"kms:GrantIsForAWSResource": ["true"]}),
    Case("bool-false", "Bool true against a request with false",
         [conditional_allow(GRANT_BOOL, "kms:CreateGrant")], "not granted by key policy",
         action="kms:CreateGrant", iam=[[iam_allow("kms:CreateGrant")]],
         context={"kms:GrantIsForAWSResource": ["false"]}),
    Case("bool-unknown", "no context: the grant statements depend on the key, on both sides",
         [conditional_allow(GRANT_BOOL, "kms:CreateGrant")], "conditional",
         action="kms:CreateGrant", iam=[[iam_allow("kms:CreateGrant", condition=GRANT_BOOL,
                                                   sid="Grants")]],
         cites=("key policy statement 0 ('Conditioned')", "IAM policy statement 0 ('Grants')"),
         condition_keys=("kms:GrantIsForAWSResource",)),
    # --- ARN -------------------------------------------------------------------------------
    Case("arnequals", "ArnEquals with the principal's ARN",
         [conditional_allow({"ArnEquals": {"aws:PrincipalArn": ROLE}})], "allowed",
         context={"aws:PrincipalArn": [ROLE]}),
    Case("arnequals-other", "ArnEquals with another ARN",
         [conditional_allow({"ArnEquals": {"aws:PrincipalArn": OTHER_ROLE}})],
         "not granted by key policy", context={"aws:PrincipalArn": [ROLE]}),
    Case("arnlike-wildcard", "ArnLike with a wildcard in the resource part",
         [conditional_allow({"ArnLike": {"aws:PrincipalArn":
                                         f"arn:aws:iam::{EXTERNAL}:role/Ex*"}})],
         "allowed", context={"aws:PrincipalArn": [ROLE]}),
    Case("arnlike-other-account", "ArnLike naming another account",
         [conditional_allow({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:role/*"}})],
         "not granted by key policy", context={"aws:PrincipalArn": [ROLE]}),
    Case("arnnotlike-no-match", "ArnNotLike is true for an ARN outside the pattern",
         [conditional_allow({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin*"}})],
         "allowed", context={"aws:PrincipalArn": [ROLE]}),
    Case("arnnotlike-match", "ArnNotLike is false for an ARN inside the pattern",
         [conditional_allow({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Ex*"}})],
         "not granted by key policy", context={"aws:PrincipalArn": [ROLE]}),
    # --- Null and IfExists -----------------------------------------------------------------
    Case("null-true-key-absent", 'Null "true" holds when the key is absent',
         [conditional_allow({"Null": {EC_DEPT: "true"}})], "allowed", context={EC_DEPT: []}),
    Case("null-true-key-present", 'Null "true" fails when the key is present',
         [conditional_allow({"Null": {EC_DEPT: "true"}})], "not granted by key policy",
         context={EC_DEPT: ["sales"]}),
    Case("null-false-key-present", 'Null "false" holds when the key is present',
         [conditional_allow({"Null": {EC_DEPT: "false"}})], "allowed",
         context={EC_DEPT: ["sales"]}),
    Case("null-false-key-absent", 'Null "false" fails when the key is absent',
         [conditional_allow({"Null": {EC_DEPT: "false"}})], "not granted by key policy",
         context={EC_DEPT: []}),
    Case("ifexists-key-absent", "...IfExists is true when the key is absent",
         [conditional_allow({"StringEqualsIfExists": {"kms:ViaService": "s3.amazonaws.com"}})],
         "allowed", context={"kms:ViaService": []}),
    Case("ifexists-key-present-mismatch", "...IfExists compares when the key is present",
         [conditional_allow({"StringEqualsIfExists": {"kms:ViaService": "s3.amazonaws.com"}})],
         "not granted by key policy", context={"kms:ViaService": ["ec2.amazonaws.com"]}),
    Case("plain-operator-key-absent", "a plain operator is false when the key is absent",
         [conditional_allow({"StringEquals": {"kms:ViaService": "s3.amazonaws.com"}})],
         "not granted by key policy", context={"kms:ViaService": []}),
    # --- set operators ---------------------------------------------------------------------
    Case("foranyvalue-one-matches", "ForAnyValue: one request value in the set is enough",
         [conditional_allow({"ForAnyValue:StringEquals": {
             "kms:EncryptionContextKeys": ["dept", "project"]}})],
         "allowed", context={"kms:EncryptionContextKeys": ["other", "dept"]}),
    Case("foranyvalue-none-matches", "ForAnyValue: no request value in the set",
         [conditional_allow({"ForAnyValue:StringEquals": {
             "kms:EncryptionContextKeys": ["dept", "project"]}})],
         "not granted by key policy", context={"kms:EncryptionContextKeys": ["other"]}),
    Case("foranyvalue-key-absent", "ForAnyValue is false when the key is absent",
         [conditional_allow({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "dept"}})],
         "not granted by key policy", context={"kms:EncryptionContextKeys": []}),
    Case("forallvalues-key-absent", "ForAllValues is true when the key is absent (IAM docs)",
         [conditional_allow({"ForAllValues:StringEquals": {
             "kms:EncryptionContextKeys": ["dept", "project"]}})],
         "allowed", context={"kms:EncryptionContextKeys": []}),
    Case("forallvalues-all-in-set", "ForAllValues: every request value is in the set",
         [conditional_allow({"ForAllValues:StringEquals": {
             "kms:EncryptionContextKeys": ["dept", "project"]}})],
         "allowed", context={"kms:EncryptionContextKeys": ["project", "dept"]}),
    Case("forallvalues-one-outside", "ForAllValues: one request value outside the set",
         [conditional_allow({"ForAllValues:StringEquals": {
             "kms:EncryptionContextKeys": ["dept", "project"]}})],
         "not granted by key policy", context={"kms:EncryptionContextKeys": ["dept", "other"]}),
    # --- unknown context and unsupported operators -----------------------------------------
    Case("unknown-context-lists-keys", "no value given for either key: conditional, both "
         "listed", [conditional_allow({"StringEquals": {"kms:CallerAccount": EXTERNAL},
                                       "StringLike": {"kms:ViaService": "s3.*"}})],
         "conditional", condition_keys=("kms:CallerAccount", "kms:ViaService")),
    Case("partly-known-context", "one key known and true, the other unknown: conditional on it",
         [conditional_allow({"StringEquals": {"kms:CallerAccount": EXTERNAL},
                             "StringLike": {"kms:ViaService": "s3.*"}})],
         "conditional", context={"kms:CallerAccount": [EXTERNAL]},
         condition_keys=("kms:CallerAccount", "kms:ViaService")),
    Case("known-false-beats-unknown", "one key known and false decides, whatever the other",
         [conditional_allow({"StringEquals": {"kms:CallerAccount": OTHER},
                             "StringLike": {"kms:ViaService": "s3.*"}})],
         "not granted by key policy", context={"kms:CallerAccount": [EXTERNAL]}),
    Case("numeric-unsupported", "NumericLessThan is not evaluated: conditional, even with "
         "the value given", [conditional_allow({"NumericLessThan": {"kms:RecipientAttestation:"
                                                                     "ImageSha384": "5"}})],
         "conditional", context={"kms:RecipientAttestation:ImageSha384": ["3"]},
         condition_keys=("kms:RecipientAttestation:ImageSha384",)),
    Case("date-unsupported", "DateGreaterThan is not evaluated: conditional",
         [conditional_allow({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})],
         "conditional", context={"aws:CurrentTime": ["2024-01-01T00:00:00Z"]},
         condition_keys=("aws:CurrentTime",)),
    # --- explicit Deny ---------------------------------------------------------------------
    Case("key-deny-wins", "an explicit Deny in the key policy beats its Allow",
         [allow(EXTERNAL_ROOT, sid="Use"), deny("*", "kms:Decrypt", sid="NoDecrypt")], "denied",
         cites=("key policy statement 1 ('NoDecrypt')",)),
    Case("key-deny-other-account", "a Deny for another account does not touch this one",
         [allow(EXTERNAL_ROOT), deny(OTHER_ROOT)], "allowed"),
    Case("key-deny-unknown-condition", "a Deny whose condition is unknown makes a certain Allow "
         "conditional", [allow(EXTERNAL_ROOT, sid="Use"),
                         deny("*", condition={"Bool": {"aws:SecureTransport": "false"}},
                              sid="TLS")],
         "conditional", cites=("key policy statement 1 ('TLS')",),
         condition_keys=("aws:SecureTransport",)),
    Case("key-deny-condition-true", "a Deny whose condition holds wins",
         [allow(EXTERNAL_ROOT), deny("*", condition={"Bool": {"aws:SecureTransport": "false"}})],
         "denied", context={"aws:SecureTransport": ["false"]}),
    Case("key-deny-condition-false", "a Deny whose condition fails does nothing",
         [allow(EXTERNAL_ROOT), deny("*", condition={"Bool": {"aws:SecureTransport": "false"}})],
         "allowed", context={"aws:SecureTransport": ["true"]}),
    Case("iam-deny-wins", "an explicit Deny in the IAM policy beats both Allows",
         [allow(EXTERNAL_ROOT)], "denied",
         iam=[[iam_allow(sid="Use"), iam_deny(sid="NoDecrypt")]],
         cites=("IAM policy statement 1 ('NoDecrypt')",)),
    Case("iam-deny-star", "an IAM Deny of kms:* on every resource", [allow(EXTERNAL_ROOT)],
         "denied", iam=[[iam_allow(), iam_deny("kms:*", "*")]]),
    Case("iam-deny-other-key", "an IAM Deny on another key does not touch this one",
         [allow(EXTERNAL_ROOT)], "allowed", iam=[[iam_allow(), iam_deny(resource=OTHER_KEY_ARN)]]),
    Case("deny-beats-not-granted", "a Deny is reported even where nothing allows",
         [deny(EXTERNAL_ROOT, "kms:Decrypt")], "denied", iam=[[iam_allow("kms:Encrypt")]]),
    # --- several IAM policies and citations ------------------------------------------------
    Case("iam-second-policy-allows", "any of several IAM policies may allow; cited by number",
         [allow(EXTERNAL_ROOT, sid="Ext")], "allowed",
         iam=[[iam_allow("kms:Encrypt", sid="Enc")], [iam_allow(sid="Dec")]],
         cites=("key policy statement 0 ('Ext')", "IAM policy 2 statement 0 ('Dec')")),
    Case("iam-second-policy-denies", "a Deny in any of several IAM policies wins",
         [allow(EXTERNAL_ROOT)], "denied",
         iam=[[iam_allow()], [iam_deny(sid="Block")]],
         cites=("IAM policy 2 statement 0 ('Block')",)),
    Case("iam-no-policy-allows", "none of several IAM policies allows it",
         [allow(EXTERNAL_ROOT)], "not granted by IAM policy",
         iam=[[iam_allow("kms:Encrypt")], [iam_allow("kms:DescribeKey")]]),
    Case("cite-index-without-sid", "statements without a Sid are cited by index",
         [allow(OWNER_ROOT, "kms:*"), allow(EXTERNAL_ROOT)], "allowed", iam=[[iam_allow()]],
         cites=("key policy statement 1", "IAM policy statement 0")),
    Case("cite-every-allowing-statement", "every statement that allows is cited",
         [allow(EXTERNAL_ROOT, sid="A"), allow(ROLE, sid="B")], "allowed",
         cites=("key policy statement 0 ('A')", "key policy statement 1 ('B')")),
]
