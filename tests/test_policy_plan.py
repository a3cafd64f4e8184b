"""Plans: findings, refusals, the IAM policy, the diff and the serialized shape."""

from __future__ import annotations

import copy
import json
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
    codes,
    default_policy,
    dump,
    key_arn,
    make_key,
    one_finding,
    plan,
)

from kmswizard.errors import UserError
from kmswizard.policy.diff import colorize, policy_diff
from kmswizard.policy.document import MAX_POLICY_BYTES, parse_policy, render, size_bytes
from kmswizard.policy.findings import SEVERITY_ORDER
from kmswizard.policy.iam import build_iam_policy
from kmswizard.policy.plan import Plan
from kmswizard.policy.sharing import USE_SID

EXTERNAL_ROOT = f"arn:aws:iam::{EXTERNAL}:root"
OTHER_ROOT = f"arn:aws:iam::{OTHER}:root"


def managed_use(arns: list[str], actions: Any = None) -> dict[str, Any]:
    return {
        "Sid": USE_SID,
        "Effect": "Allow",
        "Principal": {"AWS": arns},
        "Action": list(SYMMETRIC_DEFAULTS) if actions is None else actions,
        "Resource": "*",
    }


# --- errors -----------------------------------------------------------------------------


def test_owner_account_is_an_error() -> None:
    key_plan = plan(accounts=[OWNER])
    error = one_finding(key_plan, "owner-account")
    assert error.severity == "error"
    assert f"account {OWNER}" in error.message
    assert key_plan.blocked


def test_owner_account_role_is_an_error() -> None:
    owner_role = f"arn:aws:iam::{OWNER}:role/Local"
    key_plan = plan(principals=[owner_role], accounts=[EXTERNAL])
    error = one_finding(key_plan, "owner-account")
    assert owner_role in error.message
    assert key_plan.blocked


@pytest.mark.parametrize(
    ("action", "shown"),
    [
        ("kms:PutKeyPolicy", "kms:PutKeyPolicy"),
        ("kms:*", "kms:CancelKeyDeletion"),
        ("kms:ScheduleKeyDeletion", "kms:ScheduleKeyDeletion"),
        ("kms:Put*", "kms:PutKeyPolicy"),
    ],
)
def test_admin_actions_are_an_error(action: str, shown: str) -> None:
    key_plan = plan(accounts=[EXTERNAL], actions=["kms:Decrypt", action])
    error = one_finding(key_plan, "admin-action")
    assert error.severity == "error"
    assert error.message.startswith(action)
    assert shown in error.message
    assert key_plan.blocked
    # The error replaces the weaker warnings for the same pattern.
    assert "not-cross-account" not in codes(key_plan)


def test_admin_error_only_when_sharing() -> None:
    """The actions are irrelevant when nothing is shared (revoke)."""
    key_plan = plan(actions=["kms:PutKeyPolicy"])
    assert key_plan.findings == ()
    assert not key_plan.blocked


def test_pending_deletion_blocks_new_access() -> None:
    key = make_key(state="PendingDeletion", aliases=("alias/old",))
    key_plan = plan(key=key, accounts=[EXTERNAL])
    error = one_finding(key_plan, "pending-deletion")
    assert error.severity == "error"
    assert "alias/old" in error.message
    assert key_plan.blocked


def test_pending_deletion_blocks_new_actions_for_existing_principals() -> None:
    key = make_key(state="PendingDeletion")
    policy = default_policy()
    policy["Statement"].append(managed_use([EXTERNAL_ROOT], ["kms:Decrypt"]))
    same = plan(policy, key=key, accounts=[EXTERNAL], actions=["kms:Decrypt"])
    assert not same.changed
    assert codes(same) == ["whole-account"]
    more = plan(policy, key=key, accounts=[EXTERNAL], actions=["kms:Decrypt", "kms:Encrypt"])
    assert "pending-deletion" in codes(more)
    grants = plan(policy, key=key, accounts=[EXTERNAL], actions=["kms:Decrypt"], grants=True)
    assert "pending-deletion" in codes(grants)


def test_pending_deletion_allows_revoking() -> None:
    shared = plan(accounts=[EXTERNAL, OTHER], grants=True)
    key = make_key(state="PendingDeletion")
    revoke_all = plan(shared.after_text, key=key)
    assert revoke_all.changed
    assert "pending-deletion" not in codes(revoke_all)
    assert not revoke_all.blocked
    revoke_one = plan(shared.after_text, key=key, accounts=[OTHER], grants=True)
    assert revoke_one.changed
    assert "pending-deletion" not in codes(revoke_one)
    unchanged = plan(shared.after_text, key=key, accounts=[OTHER, EXTERNAL], grants=True)
    assert not unchanged.changed
    assert "pending-deletion" not in codes(unchanged)


def test_pending_deletion_allows_revoking_from_a_string_action_statement() -> None:
    """A hand-edited managed statement may hold Action as a string, as IAM allows."""
    key = make_key(state="PendingDeletion")
    policy = default_policy()
    policy["Statement"].append(managed_use([EXTERNAL_ROOT, OTHER_ROOT], "kms:Decrypt"))
    key_plan = plan(policy, key=key, accounts=[EXTERNAL], actions=["kms:Decrypt"])
    assert key_plan.changed  # OTHER loses access; EXTERNAL keeps the same action
    assert "pending-deletion" not in codes(key_plan)


def padded_policy(target: int) -> dict[str, Any]:
    """The default policy plus a big unmanaged Deny, about ``target`` bytes as compact JSON."""
    pad = {
        "Sid": "OnlyFromTheseEndpoints",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": []}},
    }
    policy = default_policy()
    policy["Statement"].append(pad)
    endpoints = pad["Condition"]["StringNotEquals"]["aws:SourceVpce"]
    while len(json.dumps(policy, separators=(",", ":"))) < target:
        endpoints.append(f"vpce-{len(endpoints):017x}")
    return policy


def test_policy_too_large_is_an_error() -> None:
    policy = padded_policy(MAX_POLICY_BYTES - 150)
    assert size_bytes(policy) <= MAX_POLICY_BYTES  # KMS would accept the current policy

    key_plan = plan(policy, accounts=[EXTERNAL], grants=True)
    error = one_finding(key_plan, "policy-too-large")
    assert error.severity == "error"
    assert f"{size_bytes(key_plan.after):,} bytes" in error.message
    assert size_bytes(key_plan.after) > MAX_POLICY_BYTES
    assert f"{MAX_POLICY_BYTES:,}" in error.message
    assert key_plan.blocked
    assert json.loads(key_plan.after_text) == key_plan.after
    # Revoking from it is fine.
    assert "policy-too-large" not in codes(plan(policy))


def test_policy_that_only_fits_compact_is_written_compact() -> None:
    policy = padded_policy(MAX_POLICY_BYTES * 2 // 3)
    key_plan = plan(policy, accounts=[EXTERNAL], grants=True)
    assert len(json.dumps(key_plan.after, indent=2).encode()) > MAX_POLICY_BYTES
    assert "policy-too-large" not in codes(key_plan)
    assert "\n" not in key_plan.after_text
    assert len(key_plan.after_text.encode()) <= MAX_POLICY_BYTES
    assert json.loads(key_plan.after_text) == key_plan.after


# --- warnings and info ------------------------------------------------------------------


def test_action_not_usable_across_accounts_is_a_warning() -> None:
    key_plan = plan(accounts=[EXTERNAL], actions=["kms:Decrypt", "kms:ListAliases"])
    warning = one_finding(key_plan, "not-cross-account")
    assert warning.severity == "warning"
    assert warning.message.startswith("kms:ListAliases")
    assert not key_plan.blocked


def test_action_not_applicable_to_the_key_type_is_a_warning() -> None:
    key_plan = plan(accounts=[EXTERNAL], actions=["kms:Sign"])
    warning = one_finding(key_plan, "not-applicable")
    assert warning.severity == "warning"
    assert "kms:Sign" in warning.message
    assert "symmetric encryption" in warning.message
    assert "SYMMETRIC_DEFAULT" in warning.message
    assert not key_plan.blocked
    # The same action on a signing key is fine.
    signing = make_key(spec="RSA_2048", usage="SIGN_VERIFY")
    assert "not-applicable" not in codes(plan(key=signing, accounts=[EXTERNAL],
                                              actions=["kms:Sign"]))
    # So is a symmetric action on a symmetric key.
    assert "not-applicable" not in codes(plan(accounts=[EXTERNAL], actions=["kms:Encrypt"]))


def test_wildcard_principal_without_condition_is_a_warning() -> None:
    policy = default_policy()
    policy["Statement"].append(
        {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
         "Resource": "*"}
    )
    key_plan = plan(policy, principals=[ROLE])
    warning = one_finding(key_plan, "wildcard-principal")
    assert warning.severity == "warning"
    assert "'Open'" in warning.message
    # Left exactly as it was.
    assert key_plan.after["Statement"][1] == policy["Statement"][1]


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": OWNER}}},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"},
    ],
)
def test_wildcard_principal_with_condition_or_deny_is_not_a_warning(
    statement: dict[str, Any],
) -> None:
    policy = default_policy()
    policy["Statement"].append(statement)
    assert "wildcard-principal" not in codes(plan(policy, accounts=[EXTERNAL]))


def test_wildcard_principal_in_aws_form_is_a_warning() -> None:
    policy = default_policy()
    policy["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "kms:Decrypt",
         "Resource": "*"}
    )
    warning = one_finding(plan(policy), "wildcard-principal")
    assert "statement 1" in warning.message


def test_unmanaged_external_access_is_reported() -> None:
    policy = default_policy()
    policy["Statement"].append(
        {"Sid": "Legacy", "Effect": "Allow", "Principal": {"AWS": [OTHER, "AROAABCDEFGHIJKLMNOP"]},
         "Action": "kms:Decrypt", "Resource": "*"}
    )
    key_plan = plan(policy, accounts=[EXTERNAL])
    info = one_finding(key_plan, "unmanaged-access")
    assert info.severity == "info"
    assert OTHER in info.message and "'Legacy'" in info.message
    assert "console" not in info.message
    # Asking for that account makes it expected access, not a surprise.
    assert "unmanaged-access" not in codes(plan(policy, accounts=[OTHER],
                                                actions=["kms:Decrypt"]))


def test_disabled_key_is_a_warning() -> None:
    key_plan = plan(key=make_key(state="Disabled"), accounts=[EXTERNAL])
    warning = one_finding(key_plan, "key-disabled")
    assert warning.severity == "warning"
    assert not key_plan.blocked


def test_other_key_states_are_a_warning() -> None:
    key_plan = plan(key=make_key(state="PendingImport"), accounts=[EXTERNAL])
    warning = one_finding(key_plan, "key-state")
    assert "PendingImport" in warning.message
    assert "key-state" not in codes(plan(accounts=[EXTERNAL]))


def test_whole_account_is_info_and_roles_are_not() -> None:
    key_plan = plan(accounts=[EXTERNAL], principals=[ROLE])
    info = one_finding(key_plan, "whole-account")
    assert info.severity == "info"
    assert f"account {EXTERNAL}" in info.message


def test_findings_are_sorted_most_severe_first() -> None:
    policy = default_policy()
    policy["Statement"].append(
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    )
    key_plan = plan(
        policy, key=make_key(state="Disabled"), accounts=[OWNER, EXTERNAL],
        actions=["kms:PutKeyPolicy", "kms:ListAliases", "kms:Sign"],
    )
    severities = [f.severity for f in key_plan.findings]
    assert {"error", "warning", "info"} <= set(severities)
    assert severities == sorted(severities, key=SEVERITY_ORDER.__getitem__)
    assert {"owner-account", "admin-action", "not-cross-account", "not-applicable",
            "key-disabled", "wildcard-principal", "whole-account"} <= set(codes(key_plan))


# --- refusals ---------------------------------------------------------------------------


def test_aws_managed_key_is_refused() -> None:
    key = make_key(manager="AWS", aliases=("alias/aws/s3",))
    with pytest.raises(UserError) as info:
        plan(key=key, accounts=[EXTERNAL])
    assert "alias/aws/s3" in str(info.value)
    assert "AWS managed key" in str(info.value)
    assert KEY_ARN in str(info.value)


def test_partition_mismatch_is_refused() -> None:
    with pytest.raises(UserError, match="partition 'aws-us-gov'"):
        plan(principals=["arn:aws-us-gov:iam::444455556666:user/U"])


@pytest.mark.parametrize(
    "text",
    [
        '{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": []}',
        '{"Statement": [{"Sid": "a", "Effect": "Allow", "Effect": "Deny"}]}',
        '{"Statement": [{"Principal": {"AWS": "111122223333", "AWS": "444455556666"}}]}',
    ],
)
def test_duplicate_json_keys_are_refused(text: str) -> None:
    with pytest.raises(UserError, match="twice in one object"):
        plan(text, accounts=[EXTERNAL])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "is not a JSON object"),
        ('"policy"', "is not a JSON object"),
        ('{"Statement": ["Allow"]}', "statement 0 is not a JSON object"),
        ('{"Statement": [{}, 7]}', "statement 1 is not a JSON object"),
    ],
)
def test_unusable_policy_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(UserError) as info:
        plan(text, accounts=[EXTERNAL])
    assert message in str(info.value)
    assert KEY_ARN in str(info.value)


def test_unknown_action_in_request_is_refused() -> None:
    with pytest.raises(UserError, match="'kms:Nope'"):
        plan(accounts=[EXTERNAL], actions=["kms:Nope"])


def test_unknown_key_usage_is_refused() -> None:
    with pytest.raises(UserError, match="'MADE_UP'"):
        plan(key=make_key(spec="RSA_2048", usage="MADE_UP"), accounts=[EXTERNAL])


def test_lone_surrogate_in_policy_is_a_user_error() -> None:
    """JSON may escape a lone UTF-16 surrogate; it cannot be written back as UTF-8."""
    text = '{"Version": "2012-10-17", "Statement": [{"Sid": "\\ud800", "Effect": "Deny"}]}'
    with pytest.raises(UserError, match="surrogate"):
        plan(text, accounts=[EXTERNAL])


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(constant: str) -> None:
    """Python's json reads NaN/Infinity, but they are not JSON and KMS would reject them."""
    text = (
        '{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "kms:*", '
        f'"Resource": "*", "Condition": {{"NumericGreaterThan": {{"x": {constant}}}}}}}]}}'
    )
    with pytest.raises(UserError, match=constant):
        parse_policy(text)


def test_plan_is_pure() -> None:
    """Same inputs, same plan; the input text is kept verbatim for the concurrency guard."""
    text = dump(default_policy())
    first = plan(text, accounts=[EXTERNAL], grants=True)
    second = plan(text, accounts=[EXTERNAL], grants=True)
    assert first == second
    assert first.before_text == text
    assert first.before == default_policy()


# --- serialized shape -------------------------------------------------------------------


def test_plan_as_dict_shape() -> None:
    key_plan = plan(accounts=[EXTERNAL], actions=["kms:Decrypt", "kms:Sign"])
    whole = Plan((key_plan,))
    data = whole.as_dict()
    assert list(data) == ["changed", "keys", "iam_policy"]
    assert data["changed"] is True
    assert data["iam_policy"] == whole.iam_policy
    [entry] = data["keys"]
    assert list(entry) == ["key_arn", "changed", "before", "after", "findings"]
    assert entry["key_arn"] == KEY_ARN
    assert entry["changed"] is True
    assert entry["before"] == default_policy()
    assert entry["after"] == key_plan.after
    assert entry["findings"]
    for finding in entry["findings"]:
        assert list(finding) == ["severity", "code", "message"]
        assert finding["severity"] in SEVERITY_ORDER
        assert all(isinstance(v, str) and v for v in finding.values())
    assert {f["code"] for f in entry["findings"]} == {"not-applicable", "whole-account"}
    # It serializes as plain JSON.
    assert json.loads(json.dumps(data)) == data


def test_unchanged_plan_as_dict() -> None:
    data = Plan((plan(),)).as_dict()
    assert data == {
        "changed": False,
        "keys": [{
            "key_arn": KEY_ARN, "changed": False, "before": default_policy(),
            "after": default_policy(), "findings": [],
        }],
        "iam_policy": None,
    }


def test_plan_blocked_and_changed_aggregate_over_keys() -> None:
    fine = plan(accounts=[EXTERNAL])
    bad = plan(key=make_key("0000abcd-12ab-34cd-56ef-1234567890ab"), accounts=[OWNER])
    untouched = plan(key=make_key("1111abcd-12ab-34cd-56ef-1234567890ab"))
    assert Plan((fine, bad)).blocked
    assert not Plan((fine, untouched)).blocked
    assert Plan((untouched, fine)).changed
    assert not Plan((untouched,)).changed


# --- the IAM policy ---------------------------------------------------------------------


KEY_B = "2222abcd-12ab-34cd-56ef-1234567890ab"
KEY_C = "3333abcd-12ab-34cd-56ef-1234567890ab"


def test_iam_policy_with_several_keys_and_different_actions() -> None:
    first = plan(accounts=[EXTERNAL], grants=True)
    second = plan(key=make_key(KEY_B), accounts=[EXTERNAL], actions=["kms:Decrypt"])
    policy = Plan((first, second)).iam_policy
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": f"AllowUseOfKeyInAccount{OWNER}", "Effect": "Allow",
             "Action": SYMMETRIC_DEFAULTS, "Resource": KEY_ARN},
            {"Sid": f"AllowUseOfKeyInAccount{OWNER}Set2", "Effect": "Allow",
             "Action": ["kms:Decrypt"], "Resource": key_arn(KEY_B)},
            {"Sid": "AllowAttachmentOfPersistentResources", "Effect": "Allow",
             "Action": GRANT_ACTION_LIST, "Resource": KEY_ARN,
             "Condition": GRANT_CONDITION_BLOCK},
        ],
    }
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(set(sids)) == len(sids)


def test_iam_policy_with_several_keys_and_the_same_actions() -> None:
    plans = tuple(
        plan(key=make_key(key_id), accounts=[EXTERNAL], grants=True)
        for key_id in ("1234abcd-12ab-34cd-56ef-1234567890ab", KEY_B, KEY_C)
    )
    arns = [KEY_ARN, key_arn(KEY_B), key_arn(KEY_C)]
    assert Plan(plans).iam_policy == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": f"AllowUseOfKeysInAccount{OWNER}", "Effect": "Allow",
             "Action": SYMMETRIC_DEFAULTS, "Resource": arns},
            {"Sid": "AllowAttachmentOfPersistentResources", "Effect": "Allow",
             "Action": GRANT_ACTION_LIST, "Resource": arns,
             "Condition": GRANT_CONDITION_BLOCK},
        ],
    }


def test_iam_policy_groups_the_same_set_of_actions_in_any_order() -> None:
    first = plan(accounts=[EXTERNAL], actions=["kms:Encrypt", "kms:Decrypt"])
    second = plan(key=make_key(KEY_B), accounts=[EXTERNAL], actions=["kms:Decrypt", "kms:Encrypt"])
    policy = Plan((first, second)).iam_policy
    assert policy is not None
    [statement] = policy["Statement"]
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:Encrypt"]
    assert statement["Resource"] == [KEY_ARN, key_arn(KEY_B)]


def test_iam_policy_per_owner_account() -> None:
    first = plan(accounts=[EXTERNAL])
    other_owner = make_key(KEY_B, owner=OTHER)
    second = plan(default_policy(OTHER), key=other_owner, accounts=[EXTERNAL])
    policy = Plan((first, second)).iam_policy
    assert policy is not None
    assert [(s["Sid"], s["Resource"]) for s in policy["Statement"]] == [
        (f"AllowUseOfKeyInAccount{OWNER}", KEY_ARN),
        (f"AllowUseOfKeyInAccount{OTHER}", other_owner.arn),
    ]


def test_iam_policy_leaves_out_keys_that_share_nothing() -> None:
    shared = plan(accounts=[EXTERNAL], grants=True)
    revoked = plan(shared.after_text, key=make_key(), grants=True)
    untouched = plan(key=make_key(KEY_B), grants=True)
    assert Plan((revoked,)).iam_policy is None
    assert Plan((revoked, untouched)).iam_policy is None
    assert Plan(()).iam_policy is None
    kept = Plan((plan(key=make_key(KEY_B), accounts=[EXTERNAL]), revoked)).iam_policy
    assert kept is not None
    assert [s["Resource"] for s in kept["Statement"]] == [key_arn(KEY_B)]


def test_build_iam_policy_directly() -> None:
    assert build_iam_policy([]) is None
    assert build_iam_policy([(KEY_ARN, (), True)]) is None
    policy = build_iam_policy([(KEY_ARN, ("kms:Decrypt",), False)])
    assert policy is not None
    assert "Principal" not in policy["Statement"][0]
    assert policy["Statement"][0]["Resource"] == KEY_ARN


# --- the diff ---------------------------------------------------------------------------


def test_diff_shows_only_the_added_statement() -> None:
    key_plan = plan(accounts=[EXTERNAL], key=make_key(aliases=("alias/shared",)))
    lines = key_plan.diff()
    assert lines[0] == "--- alias/shared (current)"
    assert lines[1] == "+++ alias/shared (proposed)"
    added = [line[1:] for line in lines[2:] if line.startswith("+")]
    removed = [line[1:] for line in lines[2:] if line.startswith("-")]
    assert any(USE_SID in line for line in added)
    assert any(EXTERNAL_ROOT in line for line in added)
    assert not any("Enable IAM User Permissions" in line for line in removed + added)
    assert all(not line.endswith("\n") for line in lines)
    # Applying the diff's "+" side gives the rendered after text.
    assert render(key_plan.after) == key_plan.after_text


def test_diff_is_empty_when_nothing_changes() -> None:
    assert plan().diff() == []
    assert policy_diff(default_policy(), default_policy(), "k") == []


def test_diff_of_a_revoke_only_removes() -> None:
    shared = plan(accounts=[EXTERNAL])
    lines = plan(shared.after_text).diff()
    body = lines[2:]
    assert any(line.startswith("-") and USE_SID in line for line in body)
    assert not any(line.startswith("+") and line.strip() not in ("+", "+    }") for line in body)


def test_colorize() -> None:
    lines = ["--- a", "+++ b", "@@ -1 +1 @@", "-old", "+new", " same"]
    assert colorize(lines) == [
        "--- a", "+++ b", "\x1b[36m@@ -1 +1 @@\x1b[0m", "\x1b[31m-old\x1b[0m",
        "\x1b[32m+new\x1b[0m", " same",
    ]


def test_render_keeps_unicode_and_key_order() -> None:
    policy = {"Statement": [{"Sid": "Clé", "Effect": "Allow"}], "Version": "2012-10-17"}
    text = render(policy)
    assert "Clé" in text
    assert text.index("Statement") < text.index("Version")
    assert json.loads(text) == policy
    assert size_bytes(policy) == len(text.encode())
    assert render(copy.deepcopy(ROOT_STATEMENT)) == json.dumps(ROOT_STATEMENT, indent=2)
