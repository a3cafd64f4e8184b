"""KmsGateway and the plan/apply workflow, in process, against moto's mock_aws."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from kmswizard.aws.demo import add_aws_managed_key
from kmswizard.aws.gateway import KeySummary, KmsGateway
from kmswizard.aws.options import AwsOptions
from kmswizard.errors import UserError
from kmswizard.policy.sharing import GRANTS_SID, USE_SID
from kmswizard.profiles import Profile
from kmswizard.workflow import apply_plan, build_plan

REGION = "us-west-2"
EXTERNAL = "444455556666"


@pytest.fixture
def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Fake credentials, no AWS configuration or endpoint of the machine running the tests."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.fixture
def kms(fake_aws_env: None) -> Iterator[Any]:
    """A boto3 KMS client on moto's in-process mock (fresh state for each test)."""
    with mock_aws():
        yield boto3.session.Session(region_name=REGION).client("kms")


@pytest.fixture
def gateway(kms: Any) -> KmsGateway:
    return KmsGateway(AwsOptions(region=REGION))


def create_key(
    kms: Any, *aliases: str, spec: str = "SYMMETRIC_DEFAULT", usage: str = "ENCRYPT_DECRYPT"
) -> dict[str, Any]:
    meta = kms.create_key(KeySpec=spec, KeyUsage=usage, Description=f"{spec} key")["KeyMetadata"]
    for alias in aliases:
        kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return dict(meta)


def account_of(meta: dict[str, Any]) -> str:
    return str(meta["Arn"].split(":")[4])


def backend_of(meta: dict[str, Any]) -> Any:
    from moto.kms.models import kms_backends

    return kms_backends[account_of(meta)][REGION]


def make_aws_managed_key(kms: Any, alias: str = "alias/aws/ebs") -> dict[str, str]:
    account = boto3.session.Session(region_name=REGION).client("sts").get_caller_identity()[
        "Account"]
    from moto.kms.models import kms_backends

    key = add_aws_managed_key(kms_backends[account][REGION], str(uuid.uuid4()), alias, "AWS key")
    return {"KeyId": key.id, "Arn": key.arn}


def policy_text(kms: Any, key_id: str) -> str:
    return str(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])


def sids(kms: Any, key_id: str) -> list[str | None]:
    return [s.get("Sid") for s in json.loads(policy_text(kms, key_id))["Statement"]]


# --- describe_key -----------------------------------------------------------------------------


def test_describe_key_resolves_every_reference_form_to_the_same_key(
    kms: Any, gateway: KmsGateway
) -> None:
    meta = create_key(kms, "alias/orders", "alias/orders-eu")
    alias_arn = f"arn:aws:kms:{REGION}:{account_of(meta)}:alias/orders-eu"

    by_ref = {
        ref: gateway.describe_key(ref)
        for ref in ("alias/orders", meta["KeyId"], meta["Arn"], alias_arn)
    }

    assert {key.arn for key in by_ref.values()} == {meta["Arn"]}
    assert {key.key_id for key in by_ref.values()} == {meta["KeyId"]}
    # The alias a key was named by comes first (it is the name shown for the key).
    assert by_ref["alias/orders"].aliases == ("alias/orders", "alias/orders-eu")
    assert by_ref[alias_arn].aliases == ("alias/orders-eu", "alias/orders")
    assert by_ref[meta["KeyId"]].aliases == ("alias/orders", "alias/orders-eu")
    assert by_ref[meta["Arn"]].name == "alias/orders"
    key = by_ref[meta["KeyId"]]
    assert (key.spec, key.usage, key.state, key.manager) == (
        "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled", "CUSTOMER")


def test_describe_key_without_aliases_is_named_by_its_id(kms: Any, gateway: KmsGateway) -> None:
    meta = create_key(kms, spec="ECC_NIST_P256", usage="SIGN_VERIFY")

    key = gateway.describe_key(meta["KeyId"])

    assert key.aliases == ()
    assert key.name == meta["KeyId"]
    assert (key.spec, key.usage) == ("ECC_NIST_P256", "SIGN_VERIFY")


@pytest.mark.parametrize(
    ("ref", "region"),
    [
        ("alias/nope", REGION),
        ("0000abcd-12ab-34cd-56ef-1234567890ab", REGION),
        ("arn:aws:kms:eu-west-1:123456789012:key/0000abcd-12ab-34cd-56ef-1234567890ab",
         "eu-west-1"),
    ],
    ids=["alias", "key-id", "key-arn-in-another-region"],
)
def test_describe_key_not_found_names_the_key_and_region(
    kms: Any, gateway: KmsGateway, ref: str, region: str
) -> None:
    create_key(kms, "alias/orders")

    with pytest.raises(UserError) as caught:
        gateway.describe_key(ref)

    assert str(caught.value) == f"key {ref!r} not found in {region}"


def test_aws_managed_alias_is_refused_before_any_call(
    gateway: KmsGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_call(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an AWS call was made")

    monkeypatch.setattr(gateway, "_call", no_call)

    with pytest.raises(UserError, match="AWS managed key"):
        gateway.describe_key("alias/aws/ebs")


# --- listing ----------------------------------------------------------------------------------


def test_list_key_summaries_lists_real_keys_and_flags_aws_managed_ones(
    kms: Any, gateway: KmsGateway
) -> None:
    orders = create_key(kms, "alias/orders-b", "alias/orders-a")
    bare = create_key(kms)
    ebs = make_aws_managed_key(kms, "alias/aws/ebs")

    summaries = {s.key_id: s for s in gateway.list_key_summaries()}

    # moto also lists alias/aws/* aliases of keys that do not exist: they are not keys.
    assert set(summaries) == {orders["KeyId"], bare["KeyId"], ebs["KeyId"]}
    assert summaries[orders["KeyId"]] == KeySummary(
        orders["KeyId"], orders["Arn"], ("alias/orders-a", "alias/orders-b"))
    assert summaries[bare["KeyId"]].aliases == ()
    assert summaries[ebs["KeyId"]].aliases == ("alias/aws/ebs",)
    assert [s.key_id for s in summaries.values() if s.aws_managed] == [ebs["KeyId"]]


def test_list_key_summaries_skips_aliases_without_a_target_key(fake_aws_env: None) -> None:
    gateway = KmsGateway(AwsOptions(region=REGION))
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    arn = f"arn:aws:kms:{REGION}:111122223333:key/{key_id}"
    alias_arn = f"arn:aws:kms:{REGION}:111122223333:alias"
    with Stubber(gateway.client()) as stub:
        stub.add_response("list_keys", {"Keys": [{"KeyId": key_id, "KeyArn": arn}],
                                        "Truncated": False}, {"Limit": 1000})
        stub.add_response("list_aliases", {"Aliases": [
            {"AliasName": "alias/aws/rds", "AliasArn": f"{alias_arn}/aws/rds"},  # no key yet
            {"AliasName": "alias/orders", "AliasArn": f"{alias_arn}/orders",
             "TargetKeyId": key_id},
        ], "Truncated": False}, {"Limit": 100})

        summaries = gateway.list_key_summaries()

        stub.assert_no_pending_responses()
    assert summaries == [KeySummary(key_id, arn, ("alias/orders",))]
    assert not summaries[0].aws_managed


def test_list_keys_gives_each_keys_details_in_display_order(
    kms: Any, gateway: KmsGateway
) -> None:
    orders = create_key(kms, "alias/orders")
    signing = create_key(kms, "alias/signing", spec="RSA_2048", usage="SIGN_VERIFY")
    hmac = create_key(kms, "alias/hmac", spec="HMAC_256", usage="GENERATE_VERIFY_MAC")
    disabled = create_key(kms, "alias/legacy")
    kms.disable_key(KeyId=disabled["KeyId"])
    retired = create_key(kms)
    kms.schedule_key_deletion(KeyId=retired["KeyId"], PendingWindowInDays=7)
    ebs = make_aws_managed_key(kms, "alias/aws/ebs")

    keys = gateway.list_keys()

    details = [(k.key_id, k.spec, k.usage, k.state, k.manager) for k in keys]
    assert details == [
        # customer managed keys with an alias, by name; then without; AWS managed last
        (hmac["KeyId"], "HMAC_256", "GENERATE_VERIFY_MAC", "Enabled", "CUSTOMER"),
        (disabled["KeyId"], "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Disabled", "CUSTOMER"),
        (orders["KeyId"], "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled", "CUSTOMER"),
        (signing["KeyId"], "RSA_2048", "SIGN_VERIFY", "Enabled", "CUSTOMER"),
        (retired["KeyId"], "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "PendingDeletion",
         "CUSTOMER"),
        (ebs["KeyId"], "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled", "AWS"),
    ]
    assert keys[0].aliases == ("alias/hmac",)
    assert keys[0].description == "HMAC_256 key"
    assert keys[-1].arn == ebs["Arn"]


# --- key policies -----------------------------------------------------------------------------


def test_get_and_put_policy_round_trip_exactly(kms: Any, gateway: KmsGateway) -> None:
    meta = create_key(kms, "alias/orders")
    key = gateway.describe_key("alias/orders")
    assert gateway.get_policy(key) == policy_text(kms, meta["KeyId"])
    text = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Root", "Effect": "Allow",
                       "Principal": {"AWS": f"arn:aws:iam::{account_of(meta)}:root"},
                       "Action": "kms:*", "Resource": "*"}],
    }, indent=3)

    gateway.put_policy(key, text)

    assert gateway.get_policy(key) == text
    assert policy_text(kms, meta["KeyId"]) == text


# --- workflow: build_plan and apply_plan ------------------------------------------------------


def share(*keys: str, **fields: Any) -> Profile:
    return Profile(keys=keys, accounts=fields.pop("accounts", (EXTERNAL,)), **fields)


def test_build_then_apply_then_nothing_to_change(kms: Any, gateway: KmsGateway) -> None:
    meta = create_key(kms, "alias/orders")
    before = policy_text(kms, meta["KeyId"])
    profile = share("alias/orders", grants_for_aws_resources=True)
    said: list[tuple[str, int, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        said.append((stage, done, total))

    plan = build_plan(gateway, profile, progress=progress)

    assert plan.changed and not plan.blocked
    assert said == [("resolving keys", 1, 1), ("reading key policies", 1, 1)]
    assert policy_text(kms, meta["KeyId"]) == before

    outcomes = apply_plan(gateway, plan, progress=progress)

    assert [(o.status, o.key.arn) for o in outcomes] == [("applied", meta["Arn"])]
    assert said[-1] == ("applying", 1, 1)
    written = policy_text(kms, meta["KeyId"])
    assert written == plan.keys[0].after_text
    assert sids(kms, meta["KeyId"]) == ["Enable IAM User Permissions", USE_SID, GRANTS_SID]

    again = build_plan(gateway, profile)

    assert not again.changed
    assert [o.status for o in apply_plan(gateway, again)] == ["unchanged"]
    assert policy_text(kms, meta["KeyId"]) == written


def test_apply_refuses_a_key_whose_policy_changed_since_the_plan(
    kms: Any, gateway: KmsGateway
) -> None:
    meta = create_key(kms, "alias/orders")
    plan = build_plan(gateway, share("alias/orders"))
    changed = json.dumps(json.loads(policy_text(kms, meta["KeyId"])) | {"Id": "edited"})
    kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=changed)

    [outcome] = apply_plan(gateway, plan)

    assert outcome.status == "failed"
    assert "changed since the plan" in outcome.message
    assert outcome.message.startswith("alias/orders: ")
    assert policy_text(kms, meta["KeyId"]) == changed
    # Refused before the backup step: nothing to restore, since nothing was written.
    assert outcome.as_dict() == {
        "key_arn": meta["Arn"], "status": "failed", "message": outcome.message,
        "backup": None}


def test_one_failing_key_does_not_stop_the_others(kms: Any, gateway: KmsGateway) -> None:
    edited = create_key(kms, "alias/edited")
    vanished = create_key(kms, "alias/vanished")
    fine = create_key(kms, "alias/fine")
    plan = build_plan(gateway, share("alias/edited", "alias/vanished", "alias/fine"))
    edited_text = policy_text(kms, edited["KeyId"]).replace("key-default-1", "edited")
    kms.put_key_policy(KeyId=edited["KeyId"], PolicyName="default", Policy=edited_text)
    backend_of(vanished).delete_key(vanished["KeyId"])

    outcomes = apply_plan(gateway, plan)

    assert [(o.key.name, o.status) for o in outcomes] == [
        ("alias/edited", "failed"), ("alias/vanished", "failed"), ("alias/fine", "applied"),
    ]
    assert "changed since the plan" in outcomes[0].message
    assert "not found" in outcomes[1].message
    assert policy_text(kms, edited["KeyId"]) == edited_text
    assert sids(kms, fine["KeyId"]) == ["Enable IAM User Permissions", USE_SID]


def test_apply_plan_refuses_a_plan_with_errors_before_writing(
    kms: Any, gateway: KmsGateway
) -> None:
    fine = create_key(kms, "alias/fine")
    retired = create_key(kms, "alias/retired")
    kms.schedule_key_deletion(KeyId=retired["KeyId"], PendingWindowInDays=7)
    before = {m["KeyId"]: policy_text(kms, m["KeyId"]) for m in (fine, retired)}
    plan = build_plan(gateway, share("alias/fine", "alias/retired"))
    assert plan.blocked

    with pytest.raises(UserError, match="pending deletion"):
        apply_plan(gateway, plan)

    assert {k: policy_text(kms, k) for k in before} == before


def test_build_plan_refuses_the_same_key_twice(kms: Any, gateway: KmsGateway) -> None:
    meta = create_key(kms, "alias/orders")

    with pytest.raises(UserError, match="are the same key") as caught:
        build_plan(gateway, share("alias/orders", meta["KeyId"]))
    assert meta["Arn"] in str(caught.value)


def test_build_plan_refuses_an_aws_managed_key_by_id(kms: Any, gateway: KmsGateway) -> None:
    ebs = make_aws_managed_key(kms)
    before = policy_text(kms, ebs["KeyId"])

    with pytest.raises(UserError, match="is an AWS managed key") as caught:
        build_plan(gateway, share(ebs["KeyId"]))
    assert ebs["Arn"] in str(caught.value)
    assert policy_text(kms, ebs["KeyId"]) == before


def test_region_on_the_command_line_must_match_the_profile(kms: Any) -> None:
    gateway = KmsGateway(AwsOptions(region="eu-west-1"))

    with pytest.raises(UserError, match="--region eu-west-1 conflicts with region"):
        build_plan(gateway, share("alias/orders", region=REGION))


def test_the_profile_region_is_used_for_aliases(kms: Any) -> None:
    meta = create_key(kms, "alias/orders")
    gateway = KmsGateway(AwsOptions())  # no --region

    plan = build_plan(gateway, share("alias/orders", region=REGION))

    assert [k.key.arn for k in plan.keys] == [meta["Arn"]]


def test_parallel_plan_and_apply_match_sequential(kms: Any, gateway: KmsGateway) -> None:
    """Concurrency changes nothing but speed: same plans, same outcomes in the same order,
    same policies written, whether keys are handled one at a time or twelve at a time."""
    aliases = [f"alias/bulk-{i:02d}" for i in range(12)]
    for alias in aliases:
        create_key(kms, alias)
    profile = share(*aliases, grants_for_aws_resources=True)

    sequential = build_plan(gateway, profile, workers=1)
    parallel = build_plan(gateway, profile, workers=12)
    assert parallel.as_dict() == sequential.as_dict()
    assert [k.key.name for k in parallel.keys] == aliases

    outcomes = apply_plan(gateway, parallel, concurrency=12)
    assert [(o.key.name, o.status) for o in outcomes] == [(a, "applied") for a in aliases]
    for key_plan in sequential.keys:
        assert policy_text(kms, key_plan.key.key_id) == key_plan.after_text
    again = build_plan(gateway, profile, workers=12)
    assert [o.status for o in apply_plan(gateway, again, concurrency=1)] == ["unchanged"] * 12
