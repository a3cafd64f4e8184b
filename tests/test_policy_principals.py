"""Account IDs and principal ARNs: what kmswizard accepts, refuses, and how it matches them."""

from __future__ import annotations

import pytest

from kmswizard.errors import UserError
from kmswizard.policy.principals import (
    Principal,
    account_of,
    covers,
    partition_of_region,
    root_arn,
    validate_account,
    validate_principal,
)

# --- account IDs ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["444455556666", "000000000000", "123456789012"])
def test_account_ids_of_twelve_digits_are_accepted(value: str) -> None:
    assert validate_account(value, "accounts[0]") == value


@pytest.mark.parametrize(
    "value",
    [
        "44445555666",  # 11 digits
        "4444555566667",  # 13 digits
        "4444-5555-6666",
        "44445555666a",
        " 444455556666",
        "444455556666 ",
        "444455556666\n",
        "\u0664" * 12,  # ARABIC-INDIC DIGIT FOUR: a digit, but not an account ID
        "arn:aws:iam::444455556666:root",
        "",
        None,
        444455556666,
        ["444455556666"],
    ],
)
def test_anything_but_twelve_ascii_digits_is_refused(value: object) -> None:
    with pytest.raises(UserError) as info:
        validate_account(value, "accounts[2]")
    message = str(info.value)
    assert message.startswith("accounts[2]: ")
    assert repr(value) in message
    assert "12 digits" in message


# --- principal ARNs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::444455556666:role/ExampleRole",
        "arn:aws:iam::444455556666:user/ExampleUser",
        "arn:aws:iam::444455556666:role/service-role/MyServiceRole",
        "arn:aws:iam::444455556666:role/a/deep/path/Role",
        "arn:aws:iam::444455556666:user/division_abc/subdivision_xyz/Bob",
        "arn:aws:iam::444455556666:role/With+=,.@_-Chars",
        "arn:aws-cn:iam::444455556666:role/ChinaRole",
        "arn:aws-us-gov:iam::444455556666:user/GovUser",
        "arn:aws:iam::444455556666:role/" + "R" * 64,
        # Role names may contain dots: this is a role, not a service principal.
        "arn:aws:iam::444455556666:role/backup.amazonaws.com",
    ],
)
def test_role_and_user_arns_are_accepted(value: str) -> None:
    assert validate_principal(value, "principals[0]") == value


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("arn:aws:iam::444455556666:root", 'accounts = ["444455556666"]'),
        ("arn:aws:iam::444455556666:group/Developers", "group"),
        ("ec2.amazonaws.com", "not an IAM role or user ARN"),
        ("logs.us-west-2.amazonaws.com", "not an IAM role or user ARN"),
        ("arn:aws:sts::444455556666:assumed-role/ExampleRole/session", "not an IAM role"),
        ("arn:aws:iam::44445555666:role/ExampleRole", "not an IAM role or user ARN"),
        ("arn:aws:iam::4444555566667:role/ExampleRole", "not an IAM role or user ARN"),
        ("arn:aws:iam::444455556666:role", "not an IAM role or user ARN"),
        ("arn:aws:iam::444455556666:role/", "not an IAM role or user ARN"),
        ("arn:aws:iam::444455556666:role/" + "R" * 65, "not an IAM role or user ARN"),
        ("arn:aws:iam::444455556666:role/Has Space", "not an IAM role or user ARN"),
        ("arn:aws:iam::444455556666:instance-profile/Web", "not an IAM role or user ARN"),
        ("arn:aws:iam:us-east-1:444455556666:role/Regional", "not an IAM role or user ARN"),
        ("arn:aws:sts::444455556666:role/ExampleRole", "not an IAM role or user ARN"),
        ("arn:aws:s3:::444455556666:role/ExampleRole", "not an IAM role or user ARN"),
        ("arn:nope:iam::444455556666:role/ExampleRole", "not an IAM role or user ARN"),
        ("arn:aws:iam::444455556666:role/ExampleRole\n", "not an IAM role or user ARN"),
        ("arn:aws:iam::444455556666:role/R\u00f6lle", "not an IAM role or user ARN"),
        ("arn:aws:iam::" + "\u0664" * 12 + ":role/R", "not an IAM role or user ARN"),
        ("role/ExampleRole", "not an IAM role or user ARN"),
        ("444455556666", "not an IAM role or user ARN"),
        ("AROAABCDEFGHIJKLMNOP", "not an IAM role or user ARN"),
        ("", "not an IAM role or user ARN"),
    ],
)
def test_other_principals_are_refused_naming_the_value(value: str, hint: str) -> None:
    with pytest.raises(UserError) as info:
        validate_principal(value, "principals[3]")
    message = str(info.value)
    assert message.startswith("principals[3]: ")
    assert repr(value) in message
    assert hint in message


@pytest.mark.parametrize("value", ["*", " * "])
def test_everyone_is_never_a_principal(value: str) -> None:
    with pytest.raises(UserError) as info:
        validate_principal(value, "principals[0]")
    assert "'*'" in str(info.value)
    assert "never allowed" in str(info.value)


@pytest.mark.parametrize("value", [None, 444455556666, ["arn:aws:iam::444455556666:role/R"]])
def test_non_string_principals_are_refused(value: object) -> None:
    with pytest.raises(UserError) as info:
        validate_principal(value, "principals[1]")
    assert repr(value) in str(info.value)


# --- Principal, root ARNs, accounts, coverage -------------------------------------------


def test_principal_properties() -> None:
    account = Principal(root_arn("444455556666", "aws"))
    assert account.arn == "arn:aws:iam::444455556666:root"
    assert account.account == "444455556666"
    assert account.is_account
    assert account.label == "account 444455556666"

    role = Principal("arn:aws:iam::444455556666:role/path/ExampleRole")
    assert role.account == "444455556666"
    assert not role.is_account
    assert role.label == "arn:aws:iam::444455556666:role/path/ExampleRole"


def test_root_arn_uses_the_partition() -> None:
    assert root_arn("444455556666", "aws-cn") == "arn:aws-cn:iam::444455556666:root"


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-west-2", "aws"),
        ("eu-central-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("eusc-de-east-1", "aws-eusc"),
    ],
)
def test_partition_of_region(region: str, partition: str) -> None:
    assert partition_of_region(region) == partition


@pytest.mark.parametrize(
    ("value", "account"),
    [
        ("444455556666", "444455556666"),
        ("arn:aws:iam::444455556666:root", "444455556666"),
        ("arn:aws:iam::444455556666:role/x/Y", "444455556666"),
        ("arn:aws:sts::444455556666:assumed-role/R/s", "444455556666"),
        ("*", None),
        ("AROAABCDEFGHIJKLMNOP", None),
        ("ec2.amazonaws.com", None),
        ("arn:aws:iam::4444:root", None),
    ],
)
def test_account_of(value: str, account: str | None) -> None:
    assert account_of(value) == account


def test_covers() -> None:
    role = Principal("arn:aws:iam::444455556666:role/ExampleRole")
    account = Principal("arn:aws:iam::444455556666:root")
    # Everyone, the whole account (root ARN or bare ID), or the ARN itself.
    for value in ("*", "arn:aws:iam::444455556666:root", "444455556666",
                  "arn:aws:iam::444455556666:role/ExampleRole"):
        assert covers(value, role), value
    assert covers("444455556666", account)
    assert covers("arn:aws:iam::444455556666:root", account)
    # A role does not cover its account, nor other roles; other accounts cover nothing here.
    assert not covers("arn:aws:iam::444455556666:role/ExampleRole", account)
    assert not covers("arn:aws:iam::444455556666:role/OtherRole", role)
    assert not covers("arn:aws:iam::777788889999:root", role)
    assert not covers("777788889999", account)
    # A deleted principal's unique ID covers nobody.
    assert not covers("AROAABCDEFGHIJKLMNOP", role)
