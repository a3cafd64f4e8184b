"""The sharing change on a key policy: managed statements as asked, everything else untouched."""

from __future__ import annotations

import copy
import json
import textwrap
from typing import Any

import pytest
from policy_helpers import (
    EXTERNAL,
    GRANT_ACTION_LIST,
    GRANT_CONDITION_BLOCK,
    KEY_ARN,
    OTHER,
    OWNER,
    ROLE,
    ROOT_STATEMENT,
    SYMMETRIC_DEFAULTS,
    THIRD,
    USER,
    catalogue,
    codes,
    default_policy,
    dump,
    findings_with,
    make_key,
    one_finding,
    plan,
)

from kmswizard.errors import UserError
from kmswizard.policy.document import render, statements
from kmswizard.policy.plan import Plan
from kmswizard.policy.principals import Principal
from kmswizard.policy.sharing import (
    CONSOLE_SIDS,
    GRANTS_SID,
    MANAGED_SIDS,
    USE_SID,
    ShareRequest,
    apply_sharing,
    grants_to,
    is_managed,
    managed_principals,
)


def root(account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:root"


def use_statement(arns: list[str], actions: list[str] | None = None) -> dict[str, Any]:
    return {
        "Sid": USE_SID,
        "Effect": "Allow",
        "Principal": {"AWS": arns},
        "Action": list(actions if actions is not None else SYMMETRIC_DEFAULTS),
        "Resource": "*",
    }


def grants_statement(arns: list[str]) -> dict[str, Any]:
    return {
        "Sid": GRANTS_SID,
        "Effect": "Allow",
        "Principal": {"AWS": arns},
        "Action": list(GRANT_ACTION_LIST),
        "Resource": "*",
        "Condition": copy.deepcopy(GRANT_CONDITION_BLOCK),
    }


def console_statements(account: str = EXTERNAL) -> list[dict[str, Any]]:
    """What the AWS console writes when an external account is added as a key user."""
    return [
        {
            "Sid": "Allow use of the key",
            "Effect": "Allow",
            "Principal": {"AWS": root(account)},
            "Action": list(SYMMETRIC_DEFAULTS),
            "Resource": "*",
        },
        {
            "Sid": "Allow attachment of persistent resources",
            "Effect": "Allow",
            "Principal": {"AWS": root(account)},
            "Action": list(GRANT_ACTION_LIST),
            "Resource": "*",
            "Condition": copy.deepcopy(GRANT_CONDITION_BLOCK),
        },
    ]


def rendered_in_list(statement: dict[str, Any]) -> str:
    """A statement as render() writes it inside the Statement list (two levels deep)."""
    return textwrap.indent(json.dumps(statement, indent=2, ensure_ascii=False), "    ")


# A policy with statements kmswizard must never touch, in every shape IAM allows.
UNMANAGED: list[dict[str, Any]] = [
    copy.deepcopy(ROOT_STATEMENT),
    {
        "Sid": "DenyOutsideOrg",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    },
    {
        "Effect": "Allow",
        "Resource": ["*"],
        "Principal": {"Service": ["logs.us-west-2.amazonaws.com", "sns.amazonaws.com"]},
        "Action": ["kms:Encrypt*", "kms:Decrypt", "kms:GenerateDataKey*"],
        "Condition": {
            "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-west-2:{OWNER}:*"}
        },
    },
    {
        "Sid": "Key administrators (\u00e9quipe s\u00e9cu)",
        "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{OWNER}:role/Admin", "AROAEXAMPLEID123456789"]},
        "NotAction": ["kms:Decrypt", "kms:Encrypt"],
        "Resource": "*",
    },
    {
        "Sid": "ViaServiceOnly",
        "Effect": "Allow",
        "Principal": {"AWS": OTHER},
        "Action": "kms:Decrypt",
        "NotResource": "arn:aws:kms:*:*:key/other",
        "Condition": {
            "StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"},
            "Bool": {"aws:SecureTransport": True},
        },
    },
]


def unmanaged_policy() -> dict[str, Any]:
    return {"Id": "custom", "Version": "2012-10-17", "Statement": copy.deepcopy(UNMANAGED)}


# --- the documented examples ------------------------------------------------------------


def test_seed_example_1_external_account_with_defaults_and_grants() -> None:
    key_plan = plan(accounts=[EXTERNAL], grants=True)

    assert key_plan.changed
    assert key_plan.actions == tuple(SYMMETRIC_DEFAULTS)
    assert key_plan.principals == (root(EXTERNAL),)
    assert key_plan.after == {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            ROOT_STATEMENT,
            {
                "Sid": "Managed by kmswizard - external use of the key",
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
            },
            {
                "Sid": "Managed by kmswizard - attachment of persistent resources",
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ],
    }
    # The managed statements read like the developer guide's (same field order).
    assert [list(s) for s in statements(key_plan.after)[1:]] == [
        ["Sid", "Effect", "Principal", "Action", "Resource"],
        ["Sid", "Effect", "Principal", "Action", "Resource", "Condition"],
    ]
    assert not key_plan.blocked
    assert codes(key_plan) == ["whole-account"]

    # The IAM policy for the external administrator names the key by ARN.
    assert Plan((key_plan,)).iam_policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"AllowUseOfKeyInAccount{OWNER}",
                "Effect": "Allow",
                "Action": SYMMETRIC_DEFAULTS,
                "Resource": KEY_ARN,
            },
            {
                "Sid": "AllowAttachmentOfPersistentResources",
                "Effect": "Allow",
                "Action": GRANT_ACTION_LIST,
                "Resource": KEY_ARN,
                "Condition": GRANT_CONDITION_BLOCK,
            },
        ],
    }


def test_seed_example_2_specific_role_and_user() -> None:
    key_plan = plan(principals=[USER, ROLE])

    assert key_plan.principals == (ROLE, USER)  # sorted
    assert statements(key_plan.after) == [ROOT_STATEMENT, use_statement([ROLE, USER])]
    assert "whole-account" not in codes(key_plan)
    assert key_plan.findings == ()
    assert Plan((key_plan,)).iam_policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"AllowUseOfKeyInAccount{OWNER}",
                "Effect": "Allow",
                "Action": SYMMETRIC_DEFAULTS,
                "Resource": KEY_ARN,
            }
        ],
    }


def test_accounts_and_principals_together_sorted_and_deduplicated() -> None:
    key_plan = plan(accounts=[OTHER, EXTERNAL, OTHER], principals=[ROLE, ROLE], grants=True)
    expected = sorted([root(OTHER), root(EXTERNAL), ROLE])
    assert list(key_plan.principals) == expected
    assert statements(key_plan.after)[1:] == [use_statement(expected), grants_statement(expected)]


def test_explicit_actions_are_canonicalized_in_the_statement() -> None:
    key_plan = plan(accounts=[EXTERNAL], actions=["KMS:decrypt", "kms:describekey", "kms:Decrypt"])
    assert statements(key_plan.after)[1]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]


def test_default_actions_follow_the_key_type() -> None:
    key = make_key(spec="ECC_NIST_P256", usage="SIGN_VERIFY")
    key_plan = plan(key=key, accounts=[EXTERNAL])
    assert statements(key_plan.after)[1]["Action"] == [
        "kms:Sign", "kms:Verify", "kms:DescribeKey", "kms:GetPublicKey",
    ]
    assert codes(key_plan) == ["whole-account"]


# --- idempotence and order --------------------------------------------------------------


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"accounts": [EXTERNAL], "grants": True},
        {"accounts": [EXTERNAL, OTHER]},
        {"principals": [ROLE, USER], "grants": True},
        {"accounts": [OTHER], "principals": [ROLE], "actions": ["kms:Decrypt"]},
    ],
)
def test_planning_again_changes_nothing(request_kwargs: dict[str, Any]) -> None:
    first = plan(**request_kwargs)
    assert first.changed
    second = plan(first.after_text, **request_kwargs)
    assert not second.changed
    assert second.after == first.after
    assert second.after_text == first.after_text
    assert second.diff() == []
    third = plan(second.after_text, **request_kwargs)
    assert third.after_text == first.after_text


def test_principal_order_does_not_matter() -> None:
    shared = plan(accounts=[EXTERNAL, OTHER, THIRD], grants=True)
    again = plan(shared.after_text, accounts=[THIRD, OTHER, EXTERNAL], grants=True)
    assert not again.changed
    assert again.after_text == shared.after_text


def test_equivalent_hand_edited_managed_statement_is_kept_byte_for_byte() -> None:
    """Same meaning in another order / string form: nothing to change."""
    edited = {
        "Effect": "Allow",
        "Sid": USE_SID,
        "Resource": "*",
        "Action": ["kms:describekey", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:Decrypt",
                   "kms:Encrypt"],
        "Principal": {"AWS": [root(OTHER), root(EXTERNAL)]},
    }
    policy = default_policy()
    policy["Statement"].append(edited)
    text = dump(policy)
    key_plan = plan(text, accounts=[EXTERNAL, OTHER])
    assert not key_plan.changed
    assert json.dumps(statements(key_plan.after)[1]) == json.dumps(edited)

    single = copy.deepcopy(edited)
    single["Principal"] = {"AWS": root(EXTERNAL)}
    policy["Statement"][1] = single
    assert not plan(policy, accounts=[EXTERNAL]).changed


# --- revoking ---------------------------------------------------------------------------


def test_revoke_restores_the_original_exactly() -> None:
    original = default_policy()
    shared = plan(original, accounts=[EXTERNAL, OTHER], principals=[ROLE], grants=True)
    assert shared.changed
    revoked = plan(shared.after_text)
    assert revoked.changed
    assert revoked.after == original
    assert revoked.after_text == dump(original)
    assert managed_principals(revoked.after) == ()
    assert not any(is_managed(s) for s in statements(revoked.after))
    assert Plan((revoked,)).iam_policy is None


def test_removing_one_account_keeps_the_other() -> None:
    shared = plan(accounts=[EXTERNAL, OTHER], grants=True)
    reduced = plan(shared.after_text, accounts=[OTHER], grants=True)
    assert reduced.changed
    assert statements(reduced.after) == [
        ROOT_STATEMENT,
        use_statement([root(OTHER)]),
        grants_statement([root(OTHER)]),
    ]
    assert managed_principals(shared.after) == (root(EXTERNAL), root(OTHER))
    assert managed_principals(reduced.after) == (root(OTHER),)


def test_turning_grants_off_removes_only_the_grants_statement() -> None:
    shared = plan(accounts=[EXTERNAL], grants=True)
    no_grants = plan(shared.after_text, accounts=[EXTERNAL], grants=False)
    assert statements(no_grants.after) == [ROOT_STATEMENT, use_statement([root(EXTERNAL)])]
    # The use statement is the very same text as before.
    assert rendered_in_list(use_statement([root(EXTERNAL)])) in no_grants.after_text


def test_managed_statements_keep_their_position() -> None:
    policy = unmanaged_policy()
    policy["Statement"].insert(2, use_statement([root(THIRD)]))
    key_plan = plan(policy, accounts=[EXTERNAL], grants=True)
    after = statements(key_plan.after)
    assert [s.get("Sid") for s in after[2:4]] == [USE_SID, GRANTS_SID]
    assert after[:2] + after[4:] == UNMANAGED
    assert after[2] == use_statement([root(EXTERNAL)])


def test_duplicate_managed_statements_are_merged_with_a_warning() -> None:
    policy = default_policy()
    policy["Statement"] += [
        use_statement([root(EXTERNAL)]),
        {"Sid": "Between", "Effect": "Deny", "Principal": "*", "Action": "kms:Sign",
         "Resource": "*"},
        use_statement([root(OTHER)]),
    ]
    key_plan = plan(policy, accounts=[EXTERNAL])
    assert [s.get("Sid") for s in statements(key_plan.after)] == [
        ROOT_STATEMENT["Sid"], USE_SID, "Between",
    ]
    warning = one_finding(key_plan, "duplicate-managed")
    assert warning.severity == "warning"
    assert "1 extra" in warning.message


def test_malformed_condition_in_a_managed_statement_is_replaced_not_a_crash() -> None:
    broken = grants_statement([root(EXTERNAL)])
    broken["Condition"] = "kms:GrantIsForAWSResource"
    policy = default_policy()
    policy["Statement"] += [use_statement([root(EXTERNAL)]), broken]
    key_plan = plan(policy, accounts=[EXTERNAL], grants=True)
    assert key_plan.changed
    assert statements(key_plan.after)[2] == grants_statement([root(EXTERNAL)])


# --- unmanaged statements stay byte-identical -------------------------------------------


def test_unmanaged_statements_are_byte_identical_after_sharing() -> None:
    key_plan = plan(unmanaged_policy(), accounts=[EXTERNAL], principals=[ROLE], grants=True)
    after = statements(key_plan.after)
    assert len(after) == len(UNMANAGED) + 2
    for before, now in zip(UNMANAGED, after, strict=False):
        assert json.dumps(now, ensure_ascii=False) == json.dumps(before, ensure_ascii=False)
        assert rendered_in_list(before) in key_plan.after_text
    # The document's own fields keep their order too.
    assert list(key_plan.after) == ["Id", "Version", "Statement"]
    # The diff only adds lines (at most the last unmanaged statement's closing brace gets a
    # comma after it).
    diff = key_plan.diff()
    removed = [line for line in diff if line.startswith("-") and not line.startswith("---")]
    assert set(removed) <= {"-    }"}
    assert any(USE_SID in line for line in diff if line.startswith("+"))


def test_unmanaged_statements_are_byte_identical_after_revoking() -> None:
    shared = plan(unmanaged_policy(), accounts=[EXTERNAL], grants=True)
    revoked = plan(shared.after_text)
    assert revoked.after_text == render(unmanaged_policy())


def test_single_object_statement() -> None:
    policy = {"Version": "2012-10-17", "Statement": copy.deepcopy(ROOT_STATEMENT)}
    # Nothing asked: the single object stays a single object.
    untouched = plan(policy)
    assert not untouched.changed
    assert untouched.after_text == dump(policy)
    # Shared: it becomes a list, the original statement first and identical.
    shared = plan(policy, accounts=[EXTERNAL])
    assert isinstance(shared.after["Statement"], list)
    assert statements(shared.after) == [ROOT_STATEMENT, use_statement([root(EXTERNAL)])]
    assert rendered_in_list(ROOT_STATEMENT) in shared.after_text
    assert not plan(shared.after_text, accounts=[EXTERNAL]).changed
    # Revoked: the statements are the original ones again.
    assert statements(plan(shared.after_text).after) == [ROOT_STATEMENT]


def test_missing_version_is_added_only_when_something_changes() -> None:
    policy = {"Statement": [copy.deepcopy(ROOT_STATEMENT)]}
    assert plan(policy).after == policy
    shared = plan(policy, accounts=[EXTERNAL])
    assert list(shared.after) == ["Version", "Statement"]
    assert shared.after["Version"] == "2012-10-17"


def test_policy_without_statements() -> None:
    shared = plan({"Version": "2012-10-17"}, accounts=[EXTERNAL])
    assert statements(shared.after) == [use_statement([root(EXTERNAL)])]


# --- console statements and other existing access ---------------------------------------


def console_policy() -> dict[str, Any]:
    policy = default_policy()
    policy["Statement"] += console_statements(EXTERNAL)
    return policy


def test_console_statements_already_granting_are_reported_not_duplicated() -> None:
    key_plan = plan(console_policy(), accounts=[EXTERNAL], grants=True)
    assert not key_plan.changed
    assert not any(is_managed(s) for s in statements(key_plan.after))
    granted = findings_with(key_plan, "already-granted")
    assert {f.severity for f in granted} == {"info"}
    assert len(granted) == 2
    assert any("the requested actions" in f.message and "'Allow use of the key'" in f.message
               for f in granted)
    assert any("grants for AWS resources" in f.message
               and "'Allow attachment of persistent resources'" in f.message for f in granted)
    assert all(f"account {EXTERNAL}" in f.message for f in granted)
    assert "unmanaged-access" not in codes(key_plan)
    # The external admin still needs the IAM policy.
    assert Plan((key_plan,)).iam_policy is not None


def test_console_access_not_asked_for_is_reported_and_left_alone() -> None:
    key_plan = plan(console_policy(), accounts=[OTHER])
    assert key_plan.changed
    after = statements(key_plan.after)
    assert after[:3] == statements(console_policy())
    assert after[3] == use_statement([root(OTHER)])
    unmanaged = findings_with(key_plan, "unmanaged-access")
    assert {f.severity for f in unmanaged} == {"info"}
    assert len(unmanaged) == 2  # both console statements name the account
    assert all(root(EXTERNAL) in f.message for f in unmanaged)
    assert all("(added by the AWS console)" in f.message for f in unmanaged)


def test_console_access_is_never_rewritten_even_when_revoking() -> None:
    key_plan = plan(console_policy())
    assert not key_plan.changed
    assert len(findings_with(key_plan, "unmanaged-access")) == 2
    for sid in CONSOLE_SIDS:
        assert sid not in MANAGED_SIDS


def test_console_statement_with_fewer_actions_does_not_cover() -> None:
    key_plan = plan(
        console_policy(), accounts=[EXTERNAL],
        actions=[*SYMMETRIC_DEFAULTS, "kms:GetKeyRotationStatus"],
    )
    assert key_plan.changed
    after = statements(key_plan.after)
    assert after[:3] == statements(console_policy())
    assert after[3]["Sid"] == USE_SID
    assert "already-granted" not in codes(key_plan)


def test_grants_covered_by_console_only_for_covered_principals() -> None:
    """EXTERNAL is fully covered by the console; OTHER needs both managed statements."""
    key_plan = plan(console_policy(), accounts=[EXTERNAL, OTHER], grants=True)
    after = statements(key_plan.after)
    assert after[:3] == statements(console_policy())
    assert after[3:] == [use_statement([root(OTHER)]), grants_statement([root(OTHER)])]


def test_use_covered_but_grants_not_covered() -> None:
    policy = default_policy()
    policy["Statement"].append(console_statements(EXTERNAL)[0])
    key_plan = plan(policy, accounts=[EXTERNAL, OTHER], grants=True)
    after = statements(key_plan.after)
    assert after[2:] == [
        use_statement([root(OTHER)]),
        grants_statement([root(EXTERNAL), root(OTHER)]),
    ]


@pytest.mark.parametrize(
    ("statement", "covered"),
    [
        # Account as a bare ID, a list, every action: covers.
        ({"Effect": "Allow", "Principal": {"AWS": [EXTERNAL]}, "Action": "kms:*",
          "Resource": "*"}, True),
        ({"Effect": "Allow", "Principal": {"AWS": root(EXTERNAL)}, "Action": "*",
          "Resource": KEY_ARN}, True),
        ({"Effect": "Allow", "Principal": {"AWS": root(EXTERNAL)}, "NotAction": "kms:Sign",
          "Resource": "*"}, True),
        ({"Effect": "Allow", "Principal": {"AWS": root(EXTERNAL)},
          "Action": ["kms:encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                     "kms:GenerateDataKey*", "kms:Describe*"],
          "Resource": f"arn:aws:kms:*:{OWNER}:key/*"}, True),
        # Not enough: a condition, a Deny, a NotPrincipal, another account or role,
        # another key, an excluded action, a missing action.
        ({"Effect": "Allow", "Principal": {"AWS": root(EXTERNAL)}, "Action": "kms:*",
          "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, False),
        ({"Effect": "Deny", "Principal": {"AWS": root(EXTERNAL)}, "Action": "kms:*",
          "Resource": "*"}, False),
        ({"Effect": "Allow", "NotPrincipal": {"AWS": root(OWNER)},
          "Principal": {"AWS": root(EXTERNAL)}, "Action": "kms:*", "Resource": "*"}, False),
        ({"Effect": "Allow", "Principal": {"AWS": root(OTHER)}, "Action": "kms:*",
          "Resource": "*"}, False),
        ({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:*",
          "Resource": "*"}, False),
        ({"Effect": "Allow", "Principal": {"AWS": root(EXTERNAL)}, "Action": "kms:*",
          "Resource": f"arn:aws:kms:{'us-west-2'}:{OWNER}:key/other"}, False),
        ({"Effect": "Allow", "Principal": {"AWS": root(EXTERNAL)}, "Action": "kms:*",
          "NotResource": "arn:aws:kms:*:*:key/other"}, False),
        ({"Effect": "Allow", "Principal": {"AWS": root(EXTERNAL)}, "NotAction": "kms:Re*",
          "Resource": "*"}, False),
        ({"Effect": "Allow", "Principal": {"AWS": root(EXTERNAL)},
          "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}, False),
        ({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "kms:*",
          "Resource": "*"}, False),
    ],
)
def test_what_counts_as_existing_access(statement: dict[str, Any], covered: bool) -> None:
    key = make_key()
    principal = Principal(root(EXTERNAL))
    assert grants_to(statement, principal, key, SYMMETRIC_DEFAULTS, catalogue()) is covered
    policy = default_policy()
    policy["Statement"].append(statement)
    key_plan = plan(policy, accounts=[EXTERNAL])
    assert key_plan.changed is not covered
    assert ("already-granted" in codes(key_plan)) is covered


def test_role_is_covered_by_its_account() -> None:
    policy = default_policy()
    policy["Statement"].append(console_statements(EXTERNAL)[0])
    key_plan = plan(policy, principals=[ROLE])
    assert not key_plan.changed
    assert ROLE in one_finding(key_plan, "already-granted").message


def test_grant_statement_needs_the_grant_condition_or_none() -> None:
    key = make_key()
    principal = Principal(root(EXTERNAL))
    grant = console_statements(EXTERNAL)[1]
    args = (principal, key, GRANT_ACTION_LIST, catalogue(), GRANT_CONDITION_BLOCK)
    assert grants_to(grant, *args)
    # Case and string-or-list forms of the condition do not matter.
    relaxed = copy.deepcopy(grant)
    relaxed["Condition"] = {"bool": {"KMS:GrantIsForAWSResource": ["True"]}}
    assert grants_to(relaxed, *args)
    # No condition at all is broader, so it covers too.
    unconditional = {k: v for k, v in grant.items() if k != "Condition"}
    assert grants_to(unconditional, *args)
    # Another condition does not.
    other = copy.deepcopy(grant)
    other["Condition"] = {"StringEquals": {"kms:ViaService": "rds.us-west-2.amazonaws.com"}}
    assert not grants_to(other, *args)


# --- the request ------------------------------------------------------------------------


def test_principals_for_uses_the_key_partition_for_accounts() -> None:
    key = make_key(partition="aws-cn", region="cn-north-1")
    request = ShareRequest(
        accounts=(OTHER, EXTERNAL),
        principals=("arn:aws-cn:iam::444455556666:role/R",),
    )
    assert [p.arn for p in request.principals_for(key)] == [
        "arn:aws-cn:iam::444455556666:role/R",
        "arn:aws-cn:iam::444455556666:root",
        "arn:aws-cn:iam::777788889999:root",
    ]


def test_partition_mismatch_is_refused() -> None:
    with pytest.raises(UserError) as info:
        plan(principals=["arn:aws-cn:iam::444455556666:role/R"])
    message = str(info.value)
    assert "principals[0]" in message
    assert "'arn:aws-cn:iam::444455556666:role/R'" in message
    assert "'aws-cn'" in message and "'aws'" in message


def test_invalid_principal_in_request_is_refused() -> None:
    with pytest.raises(UserError, match=r"principals\[1\]: .*group"):
        plan(principals=[ROLE, "arn:aws:iam::444455556666:group/Devs"])


@pytest.mark.parametrize("account", ["44445555666", "abc", "arn:aws:iam::444455556666:root", ""])
def test_invalid_account_in_request_is_refused(account: str) -> None:
    with pytest.raises(UserError) as info:
        plan(accounts=[EXTERNAL, account])
    assert "accounts[1]" in str(info.value)
    assert repr(account) in str(info.value)


def test_apply_sharing_directly() -> None:
    """The lower-level function agrees with the plan and reports what it manages."""
    before = console_policy()
    snapshot = copy.deepcopy(before)
    principals = (Principal(root(EXTERNAL)), Principal(root(OTHER)))
    result = apply_sharing(before, make_key(), principals, SYMMETRIC_DEFAULTS, True, catalogue())
    assert before == snapshot  # the input is not mutated
    assert result.managed_principals == (Principal(root(OTHER)),)
    assert [(c.principal.arn, c.statement_index, c.what) for c in result.coverage] == [
        (root(EXTERNAL), 1, "use"),
        (root(EXTERNAL), 2, "grants"),
    ]
    assert result.duplicate_managed == 0
    assert statements(result.after)[3:] == [
        use_statement([root(OTHER)]), grants_statement([root(OTHER)]),
    ]
