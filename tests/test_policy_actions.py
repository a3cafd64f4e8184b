"""KMS action names: canonical spelling, wildcards, refusals and per-key-type defaults."""

from __future__ import annotations

import pytest
from policy_helpers import catalogue

from kmswizard.errors import UserError
from kmswizard.policy.actions import (
    CROSS_ACCOUNT_ACTIONS,
    CRYPTO_ACTIONS,
    GRANT_ACTIONS,
    ActionCatalogue,
    applicable_crypto_actions,
    default_actions,
    key_type,
    key_type_label,
    pattern_matches,
)

# --- the catalogue ----------------------------------------------------------------------


def test_catalogue_maps_api_operations_to_iam_actions() -> None:
    actions = catalogue().actions
    # ReEncrypt is an API operation but authorized as two IAM actions.
    assert "kms:ReEncrypt" not in actions
    assert {"kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:SynchronizeMultiRegionKey"} <= actions
    assert {"kms:Decrypt", "kms:PutKeyPolicy", "kms:CreateGrant"} <= actions
    assert all(a.startswith("kms:") for a in actions)


def test_catalogue_from_operations_is_explicit_about_its_input() -> None:
    small = ActionCatalogue.from_operations(["Encrypt", "ReEncrypt"])
    assert small.actions == frozenset(
        {"kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:SynchronizeMultiRegionKey"}
    )
    assert small.sorted_actions == tuple(sorted(small.actions))


def test_hand_kept_action_tables_name_real_actions() -> None:
    """The module's constant tables must agree with the botocore model."""
    actions = catalogue().actions
    assert actions >= CROSS_ACCOUNT_ACTIONS
    assert actions >= CRYPTO_ACTIONS
    assert actions >= set(GRANT_ACTIONS)


# --- canonical spelling -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("KMS:decrypt", "kms:Decrypt"),
        ("kms:decrypt", "kms:Decrypt"),
        ("kms:Decrypt", "kms:Decrypt"),
        ("kms:reencrypt*", "kms:ReEncrypt*"),
        ("KMS:REENCRYPTFROM", "kms:ReEncryptFrom"),
        ("kms:generatedatakey*", "kms:GenerateDataKey*"),
        ("kms:GENERATEDATAKEYPAIRWITHOUTPLAINTEXT", "kms:GenerateDataKeyPairWithoutPlaintext"),
        ("kms:describekey", "kms:DescribeKey"),
        ("kms:getpublickey", "kms:GetPublicKey"),
        ("kms:generatemac", "kms:GenerateMac"),
        ("kms:derivesharedsecret", "kms:DeriveSharedSecret"),
        ("  kms:Encrypt  ", "kms:Encrypt"),
        ("kms:*", "kms:*"),
        ("KMS:*", "kms:*"),
        ("kms:encryp?", "kms:Encryp?"),
        ("kms:get*", "kms:Get*"),
    ],
)
def test_canonical_spelling(written: str, canonical: str) -> None:
    assert catalogue().canonical(written) == canonical


def test_canonical_list_deduplicates_case_insensitively_in_first_seen_order() -> None:
    result = catalogue().canonical_list(
        ["kms:decrypt", "KMS:Encrypt", "kms:Decrypt", "kms:reencrypt*", "kms:ReEncrypt*"]
    )
    assert result == ("kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*")


# --- wildcards --------------------------------------------------------------------------


def test_reencrypt_wildcard_expands_to_from_and_to() -> None:
    assert catalogue().expand("kms:ReEncrypt*") == {"kms:ReEncryptFrom", "kms:ReEncryptTo"}


def test_generate_data_key_wildcard_expands_to_four_actions() -> None:
    assert catalogue().expand("kms:GenerateDataKey*") == {
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:GenerateDataKeyPair",
        "kms:GenerateDataKeyPairWithoutPlaintext",
    }


def test_expand_is_case_insensitive_and_exact_for_plain_names() -> None:
    cat = catalogue()
    assert cat.expand("kms:decrypt") == {"kms:Decrypt"}
    # A plain name is not a prefix: Decrypt does not pull in anything else.
    assert cat.expand("kms:Encrypt") == {"kms:Encrypt"}
    assert cat.expand("kms:reencrypt*") == cat.expand("kms:ReEncrypt*")
    assert cat.expand("kms:Nope") == frozenset()
    assert cat.expand("s3:GetObject") == frozenset()


def test_star_expands_to_every_action() -> None:
    cat = catalogue()
    assert cat.expand("kms:*") == cat.actions
    assert cat.expand("*") == cat.actions


def test_question_mark_matches_exactly_one_character() -> None:
    cat = catalogue()
    assert cat.expand("kms:Encryp?") == {"kms:Encrypt"}
    assert cat.expand("kms:Encry?") == frozenset()
    assert pattern_matches("kms:Sig?", "kms:Sign")
    assert not pattern_matches("kms:Sig?", "kms:Sig")


def test_pattern_matches_treats_regex_characters_literally() -> None:
    assert pattern_matches("kms:*", "kms:Decrypt")
    assert pattern_matches("KMS:DECRYPT", "kms:Decrypt")
    assert not pattern_matches("kms:Decrypt", "kms:DecryptX")
    # "." in a pattern is a dot, not "any character".
    assert not pattern_matches("kms.Decrypt", "kms:Decrypt")
    assert pattern_matches(
        "arn:aws:kms:*:111122223333:key/*",
        "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    assert not pattern_matches(
        "arn:aws:kms:*:111122223333:key/*",
        "arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )


# --- refusals ---------------------------------------------------------------------------


def test_reencrypt_is_refused_with_a_hint() -> None:
    for written in ("kms:ReEncrypt", "kms:reencrypt", " KMS:REENCRYPT "):
        with pytest.raises(UserError) as info:
            catalogue().canonical(written)
        message = str(info.value)
        assert repr(written) in message
        assert "kms:ReEncryptFrom" in message
        assert "kms:ReEncryptTo" in message
        assert "kms:ReEncrypt*" in message


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("s3:GetObject", "is not a KMS action"),
        ("kms:Nope", "is not a KMS action"),
        ("kms:Zz*", "matches no KMS action"),
        ("kms:Decrypt?", "matches no KMS action"),
        ("Decrypt", "is not a KMS action"),
        ("", "is not a KMS action"),
        ("*", "is not a KMS action"),
        ("kms:", "is not a KMS action"),
    ],
)
def test_unknown_actions_are_refused_naming_the_value(written: str, reason: str) -> None:
    with pytest.raises(UserError) as info:
        catalogue().canonical(written)
    assert repr(written) in str(info.value)
    assert reason in str(info.value)


def test_canonical_list_refuses_the_first_bad_value() -> None:
    with pytest.raises(UserError, match="'kms:Nope'"):
        catalogue().canonical_list(["kms:Decrypt", "kms:Nope", "s3:GetObject"])


# --- per-key-type defaults --------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "usage", "expected", "label"),
    [
        (
            "SYMMETRIC_DEFAULT",
            "ENCRYPT_DECRYPT",
            ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
             "kms:DescribeKey"),
            "symmetric encryption",
        ),
        (
            "RSA_2048",
            "ENCRYPT_DECRYPT",
            ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey",
             "kms:GetPublicKey"),
            "asymmetric encryption",
        ),
        (
            "ECC_NIST_P256",
            "SIGN_VERIFY",
            ("kms:Sign", "kms:Verify", "kms:DescribeKey", "kms:GetPublicKey"),
            "signing",
        ),
        (
            "ECC_NIST_P256",
            "KEY_AGREEMENT",
            ("kms:DeriveSharedSecret", "kms:DescribeKey", "kms:GetPublicKey"),
            "key agreement",
        ),
        (
            "HMAC_256",
            "GENERATE_VERIFY_MAC",
            ("kms:GenerateMac", "kms:VerifyMac", "kms:DescribeKey"),
            "HMAC",
        ),
    ],
)
def test_default_actions_per_key_type(
    spec: str, usage: str, expected: tuple[str, ...], label: str
) -> None:
    defaults = default_actions(spec, usage)
    assert defaults == expected
    assert key_type_label(spec, usage) == label
    cat = catalogue()
    for action in defaults:
        # Already canonical, a real action (or wildcard over real ones), usable across accounts.
        assert cat.canonical(action) == action
        expanded = cat.expand(action)
        assert expanded
        assert expanded <= CROSS_ACCOUNT_ACTIONS
        assert not any(cat.is_admin(a) for a in expanded)
    # Every cryptographic action in the defaults applies to this key type.
    applicable = applicable_crypto_actions(spec, usage)
    crypto = set().union(*(cat.expand(a) for a in defaults)) & CRYPTO_ACTIONS
    assert crypto
    assert crypto <= applicable


def test_symmetric_key_type_is_split_out_of_encrypt_decrypt() -> None:
    assert key_type("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT") == "SYMMETRIC"
    assert key_type("RSA_4096", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
    assert "kms:Sign" not in applicable_crypto_actions("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    assert "kms:GenerateDataKey" not in applicable_crypto_actions("RSA_2048", "ENCRYPT_DECRYPT")
    assert "kms:Sign" in applicable_crypto_actions("RSA_2048", "SIGN_VERIFY")


def test_unknown_key_usage_is_a_user_error() -> None:
    with pytest.raises(UserError) as info:
        default_actions("RSA_2048", "WHATEVER")
    assert "'WHATEVER'" in str(info.value)
    assert "'RSA_2048'" in str(info.value)


# --- administration vs use --------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CreateAlias",
     "kms:ImportKeyMaterial", "kms:TagResource", "kms:UpdateKeyDescription"],
)
def test_admin_actions(action: str) -> None:
    assert catalogue().is_admin(action)


@pytest.mark.parametrize(
    "action",
    ["kms:Decrypt", "kms:Encrypt", "kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey",
     "kms:GetPublicKey", "kms:ListAliases", "kms:GetKeyPolicy", "kms:DescribeCustomKeyStores"],
)
def test_use_and_read_only_actions_are_not_admin(action: str) -> None:
    assert not catalogue().is_admin(action)
