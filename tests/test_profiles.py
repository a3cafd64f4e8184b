"""Profiles (kmswizard.profiles): validation with file:line, canonical actions, save and load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import kmswizard.files
from kmswizard.aws.catalogue import kms_catalogue
from kmswizard.errors import UserError
from kmswizard.policy.sharing import ShareRequest
from kmswizard.profiles import Profile, load_profile, parse_profile, save_profile

SOURCE = "profiles/orders.toml"
EXTERNAL = "444455556666"
ROLE = f"arn:aws:iam::{EXTERNAL}:role/ExampleRole"
USER = f"arn:aws:iam::{EXTERNAL}:user/ExampleUser"
KEY_ARN = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def parse(text: str) -> Profile:
    return parse_profile(text, SOURCE, kms_catalogue())


def error_of(text: str) -> str:
    with pytest.raises(UserError) as caught:
        parse(text)
    return str(caught.value)


# --- validation errors name the value and its line --------------------------------------------

KEY = 'key = "alias/orders"\n'
ACCOUNTS = f'accounts = ["{EXTERNAL}"]\n'

# (profile text, line of the bad value, what the message must quote)
BAD_VALUES: dict[str, tuple[str, int, str]] = {
    "account-11-digits": (
        'description = "x"\n' + KEY + 'accounts = ["44445555666"]\n', 3, "'44445555666'"),
    "account-13-digits-second": (
        KEY + f'accounts = ["{EXTERNAL}", "4444555566667"]\n', 2, "'4444555566667'"),
    "account-not-a-string": (KEY + "accounts = [444455556666]\n", 2, "444455556666"),
    "accounts-not-a-list": (KEY + f'accounts = "{EXTERNAL}"\n', 2, f"'{EXTERNAL}'"),
    "principal-malformed-in-multiline-array": (
        KEY + "principals = [\n"
        f'  "{ROLE}",\n  "{USER}",\n  "arn:aws:iam::{EXTERNAL}:rol/Bad",\n]\n',
        5, f"arn:aws:iam::{EXTERNAL}:rol/Bad"),
    "principal-everyone": (KEY + 'principals = ["*"]\n', 2, "'*'"),
    "principal-group": (
        KEY + f'principals = ["arn:aws:iam::{EXTERNAL}:group/Readers"]\n', 2, "group/Readers"),
    "principal-root": (
        KEY + f'principals = ["arn:aws:iam::{EXTERNAL}:root"]\n', 2, f"{EXTERNAL}:root"),
    "principal-service": (
        KEY + 'principals = ["logs.amazonaws.com"]\n', 2, "'logs.amazonaws.com'"),
    "principal-assumed-role": (
        KEY + f'principals = ["arn:aws:sts::{EXTERNAL}:assumed-role/R/session"]\n', 2,
        "assumed-role/R/session"),
    "action-misspelled": (
        KEY + ACCOUNTS + 'actions = [\n  "kms:Decrypt",\n  "kms:Decrypy",\n]\n', 5,
        "'kms:Decrypy'"),
    "action-without-prefix": (KEY + ACCOUNTS + 'actions = ["Decrypt"]\n', 3, "'Decrypt'"),
    "action-reencrypt-api-name": (
        KEY + ACCOUNTS + 'actions = ["kms:ReEncrypt"]\n', 3, "'kms:ReEncrypt'"),
    "action-wildcard-matching-nothing": (
        KEY + ACCOUNTS + 'actions = ["kms:Frobnicate*"]\n', 3, "'kms:Frobnicate*'"),
    "unknown-field": (KEY + f'acounts = ["{EXTERNAL}"]\n', 2, "'acounts'"),
    "unknown-table": ('description = "x"\n[profile]\n' + KEY + ACCOUNTS, 2, "'profile'"),
    "region-malformed": (KEY + ACCOUNTS + 'region = "us-west"\n', 3, "'us-west'"),
    "region-not-a-string": (KEY + ACCOUNTS + "region = 5\n", 3, "5"),
    "key-not-a-reference": ('description = "x"\nkey = "orders"\n' + ACCOUNTS, 2, "'orders'"),
    "key-aws-managed-alias": ('key = "alias/aws/ebs"\n' + ACCOUNTS, 1, "'alias/aws/ebs'"),
    "key-aws-managed-alias-arn": (
        'key = "arn:aws:kms:us-west-2:111122223333:alias/aws/s3"\n' + ACCOUNTS, 1,
        "alias/aws/s3"),
    "keys-bad-entry-in-multiline-array": (
        'keys = [\n  "alias/orders",\n  "key/1234",\n]\n' + ACCOUNTS, 3, "'key/1234'"),
    "keys-listed-twice": (
        'keys = ["alias/orders",\n  "alias/orders"]\n' + ACCOUNTS, 1, "'alias/orders'"),
    "grants-not-a-boolean": (
        KEY + ACCOUNTS + 'grants_for_aws_resources = "yes"\n', 3, "'yes'"),
    "description-not-a-string": (KEY + ACCOUNTS + "description = 5\n", 3, "5"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_validation_error_names_the_value_and_its_line(case: str) -> None:
    text, line, value = BAD_VALUES[case]

    message = error_of(text)

    assert message.startswith(f"{SOURCE}:{line}: "), message
    assert value in message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # An array left open at the end of the file: tomllib only says "end of document".
        (KEY + 'region = "us-west-2"\n' + f'accounts = ["{EXTERNAL}"\n', 3),
        (KEY + f'accounts = ["{EXTERNAL}",\n  "777788889999",\n', 2),
        (KEY + f'accounts = ["{EXTERNAL}"', 2),
        # Errors tomllib places itself.
        (KEY + f'accounts = ["{EXTERNAL}" "777788889999"]\n', 2),
        ('key = "alias/orders\n' + ACCOUNTS, 1),
        (KEY + ACCOUNTS + "grants_for_aws_resources = yes\n", 3),
        (KEY + KEY + ACCOUNTS, 2),
    ],
    ids=["open-array-third-line", "open-multiline-array", "open-array-no-newline",
         "missing-comma", "unterminated-string", "bare-word", "duplicate-field"],
)
def test_invalid_toml_names_the_line(text: str, line: int) -> None:
    message = error_of(text)

    assert message.startswith(f"{SOURCE}:{line}: invalid TOML"), message


def test_an_array_left_open_is_reported_where_it_starts() -> None:
    message = error_of(KEY + "# a comment with [ brackets\n" + f'accounts = ["{EXTERNAL}"\n')

    assert message == (
        f"{SOURCE}:3: invalid TOML: the array that starts here is never closed"
    )


# --- actions ----------------------------------------------------------------------------------


def test_actions_are_spelled_canonically_and_deduplicated() -> None:
    profile = parse(
        KEY + ACCOUNTS
        + 'actions = ["KMS:decrypt", " kms:generatedatakey* ", "kms:describekey", '
        '"kms:Decrypt", "kms:reencrypt*"]\n'
    )

    assert profile.actions == (
        "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:ReEncrypt*",
    )
    assert profile.request().actions == profile.actions


def test_no_actions_means_the_key_types_defaults() -> None:
    assert parse(KEY + ACCOUNTS).actions is None


def test_empty_actions_with_accounts_is_an_error() -> None:
    message = error_of(KEY + ACCOUNTS + "actions = []\n")

    assert message.startswith(f"{SOURCE}:3: actions: ")
    assert "leave actions out" in message


def test_empty_actions_without_anyone_to_grant_is_accepted() -> None:
    profile = parse(KEY + "accounts = []\nactions = []\n")

    assert profile.actions == ()
    assert profile.accounts == ()


# --- key / keys and accounts / principals -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [KEY + 'keys = ["alias/other"]\n' + ACCOUNTS, ACCOUNTS],
    ids=["both", "neither"],
)
def test_exactly_one_of_key_and_keys(text: str) -> None:
    message = error_of(text)

    assert message.startswith(SOURCE)
    assert 'exactly one of key = "..." or keys = [...]' in message


def test_keys_may_not_be_empty() -> None:
    message = error_of("keys = []\n" + ACCOUNTS)

    assert message.startswith(f"{SOURCE}:1: keys: ")
    assert "empty" in message


def test_key_and_keys_give_the_same_tuple() -> None:
    assert parse(KEY + ACCOUNTS).keys == ("alias/orders",)
    assert parse(f'keys = ["alias/orders", "{KEY_ARN}"]\n' + ACCOUNTS).keys == (
        "alias/orders", KEY_ARN,
    )


def test_empty_accounts_and_principals_revoke() -> None:
    profile = parse(KEY + "accounts = []\nprincipals = []\n")

    assert (profile.accounts, profile.principals) == ((), ())
    assert profile.request() == ShareRequest(accounts=(), principals=(), actions=None,
                                             grants_for_aws_resources=False)


def test_accounts_or_principals_must_be_given() -> None:
    message = error_of(KEY + "grants_for_aws_resources = true\n")

    assert message.startswith(SOURCE)
    assert "accounts = [...]" in message and "principals = [...]" in message


def test_duplicate_accounts_and_principals_are_kept_once_in_order() -> None:
    profile = parse(
        KEY + f'accounts = ["777788889999", "{EXTERNAL}", "777788889999"]\n'
        f'principals = ["{USER}", "{ROLE}", "{USER}"]\n'
    )

    assert profile.accounts == ("777788889999", EXTERNAL)
    assert profile.principals == (USER, ROLE)


def test_a_full_profile_is_read_field_by_field() -> None:
    profile = parse(
        'description = "Orders for analytics"\n'
        f'keys = ["alias/orders", "{KEY_ARN}"]\n'
        'region = "eu-central-1"\n'
        f'accounts = ["{EXTERNAL}"]\n'
        f'principals = ["{ROLE}"]\n'
        'actions = ["kms:Decrypt"]\n'
        "grants_for_aws_resources = true\n"
    )

    assert profile == Profile(
        keys=("alias/orders", KEY_ARN),
        accounts=(EXTERNAL,),
        principals=(ROLE,),
        actions=("kms:Decrypt",),
        grants_for_aws_resources=True,
        region="eu-central-1",
        description="Orders for analytics",
    )


def test_the_seed_profiles_are_valid() -> None:
    folder = Path(__file__).resolve().parents[1] / "profiles"
    paths = sorted(folder.glob("*.toml"))
    assert paths
    for path in paths:
        profile = load_profile(path, kms_catalogue())
        assert profile.keys, path


# --- load and save ----------------------------------------------------------------------------


def test_load_profile_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"

    with pytest.raises(UserError, match="no such profile file") as caught:
        load_profile(path, kms_catalogue())
    assert str(path) in str(caught.value)


def test_load_profile_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'description = "caf\xe9"\n')

    with pytest.raises(UserError, match="cannot read the profile"):
        load_profile(path, kms_catalogue())


def test_load_profile_names_the_path_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(KEY + 'accounts = ["1"]\n', encoding="utf-8")

    with pytest.raises(UserError) as caught:
        load_profile(path, kms_catalogue())
    assert str(caught.value).startswith(f"{path}:2: accounts[0]: '1'")


ROUND_TRIPS = {
    "everything": Profile(
        keys=("alias/orders", KEY_ARN),
        accounts=(EXTERNAL, "777788889999"),
        principals=(ROLE, USER),
        actions=("kms:Decrypt", "kms:GenerateDataKey*"),
        grants_for_aws_resources=True,
        region="us-west-2",
        description='Orders "v2" \\ for the café team\nsecond line',
    ),
    "one-key-defaults": Profile(keys=("alias/orders",), accounts=(EXTERNAL,)),
    "revoke": Profile(keys=(KEY_ARN,)),
}


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_save_then_load_gives_the_same_profile(name: str, tmp_path: Path) -> None:
    profile = ROUND_TRIPS[name]
    path = tmp_path / "new" / "folder" / "saved.toml"

    save_profile(profile, path)

    assert load_profile(path, kms_catalogue()) == profile
    text = path.read_text(encoding="utf-8")
    assert parse_profile(text, str(path), kms_catalogue()) == profile
    assert ("keys = [" in text) == (len(profile.keys) > 1)
    assert ("actions" in text) == (profile.actions is not None)
    assert sorted(p.name for p in path.parent.iterdir()) == ["saved.toml"]


def test_save_replaces_an_existing_profile_without_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "saved.toml"
    save_profile(ROUND_TRIPS["everything"], path)

    save_profile(ROUND_TRIPS["revoke"], path)

    assert load_profile(path, kms_catalogue()) == ROUND_TRIPS["revoke"]
    assert [p.name for p in tmp_path.iterdir()] == ["saved.toml"]


def test_a_failed_save_keeps_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "saved.toml"
    save_profile(ROUND_TRIPS["one-key-defaults"], path)
    before = path.read_bytes()

    def fail(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(kmswizard.files.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        save_profile(ROUND_TRIPS["everything"], path)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["saved.toml"]
