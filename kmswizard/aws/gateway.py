"""One gateway to KMS: resolve keys, list them, read and write key policies.

GetKeyPolicy and PutKeyPolicy take a key ID or key ARN, never an alias, so every key is
resolved with DescribeKey first, as real AWS requires.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from kmswizard.aws.errors import aws_errors
from kmswizard.aws.options import AwsOptions
from kmswizard.aws.ratelimit import TokenBucket
from kmswizard.errors import UserError
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.keyrefs import region_of_ref, validate_key_ref

POLICY_NAME = "default"


def client_config() -> Config:
    """Adaptive retries absorb throttling; AWS_MAX_ATTEMPTS and KMSWIZARD_READ_TIMEOUT
    (seconds) tune them, e.g. for a slow endpoint or for tests."""
    return Config(
        # total_max_attempts counts the first request, as AWS_MAX_ATTEMPTS does (botocore's
        # "max_attempts" would count only the retries: one attempt more than asked for).
        retries={
            "mode": "adaptive",
            "total_max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS", 6)),
        },
        connect_timeout=5,
        read_timeout=float(os.environ.get("KMSWIZARD_READ_TIMEOUT", 30)),
        max_pool_connections=32,
    )


@dataclass(frozen=True)
class KeySummary:
    """What ListKeys + ListAliases tell about a key, before DescribeKey fills in the rest."""

    key_id: str
    arn: str
    aliases: tuple[str, ...]

    @property
    def aws_managed(self) -> bool:
        """Only AWS managed keys have aliases beginning with alias/aws/."""
        return any(a.startswith("alias/aws/") for a in self.aliases)


def key_info_from_metadata(meta: dict[str, Any], aliases: Iterable[str]) -> KeyInfo:
    spec = meta.get("KeySpec") or meta.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    multi_region = meta.get("MultiRegionConfiguration") or {}
    return KeyInfo(
        arn=meta["Arn"],
        key_id=meta["KeyId"],
        spec=spec,
        usage=meta.get("KeyUsage") or "ENCRYPT_DECRYPT",
        state=meta.get("KeyState", "Enabled"),
        manager=meta.get("KeyManager", "CUSTOMER"),
        description=meta.get("Description", "") or "",
        aliases=tuple(aliases),
        multi_region=multi_region.get("MultiRegionKeyType"),
        replicas=tuple(r["Arn"] for r in multi_region.get("ReplicaKeys", []))
        if multi_region.get("MultiRegionKeyType") == "PRIMARY"
        else (),
    )


class KmsGateway:
    """Thread-safe: clients are created under a lock, one per region, and shared."""

    def __init__(self, options: AwsOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._caller: str | None = None
        self._put_buckets: dict[str, TokenBucket] = {}
        self._caller_asked = False

    def _boto_session(self) -> boto3.session.Session:
        if self._session is None:
            if self.options.demo:
                from kmswizard.aws.demo import demo_session

                self._session = demo_session()
            else:
                with aws_errors("opening", "the AWS configuration"):
                    self._session = boto3.session.Session(
                        profile_name=self.options.aws_profile
                    )
        return self._session

    @property
    def region(self) -> str:
        """The region for key IDs and aliases: --region, else the AWS configuration's."""
        region = self.options.region or self._boto_session().region_name
        if not region:
            raise UserError(
                "no AWS region: pass --region, set region in the profile, or set AWS_REGION"
            )
        return str(region)

    def client(self, region: str | None = None) -> Any:
        region = region or self.region
        with self._lock:
            if region not in self._clients:
                with aws_errors("connecting to KMS in", region, self.endpoint_label):
                    self._clients[region] = self._boto_session().client(
                        "kms",
                        region_name=region,
                        endpoint_url=None if self.options.demo else self.options.endpoint_url,
                        config=client_config(),
                    )
            return self._clients[region]

    def _call(self, region: str | None, operation: str, target: str, **kwargs: Any) -> Any:
        client = self.client(region)
        method = getattr(client, _snake(operation))
        with aws_errors(operation, target, self.endpoint_label):
            return method(**kwargs)

    def caller_arn(self) -> str | None:
        """Who is calling (STS GetCallerIdentity), once per gateway; None if STS cannot say.

        Used for the lockout check and the audit log, neither of which needs it to be safe:
        the lockout check always protects the key's own account.
        """
        with self._lock:
            if not self._caller_asked:
                self._caller = self._ask_caller()
                self._caller_asked = True
            return self._caller

    def _ask_caller(self) -> str | None:
        try:
            with aws_errors("GetCallerIdentity", "", self.endpoint_label):
                sts = self._boto_session().client(
                    "sts",
                    region_name=self.region,
                    endpoint_url=None if self.options.demo else self.options.endpoint_url,
                    config=client_config(),
                )
                return str(sts.get_caller_identity()["Arn"])
        except UserError:
            return None

    @property
    def endpoint_label(self) -> str | None:
        """The endpoint to name in error messages (boto3 itself reads the environment)."""
        if self.options.demo:
            return None
        return (
            self.options.endpoint_url
            or os.environ.get("AWS_ENDPOINT_URL_KMS")
            or os.environ.get("AWS_ENDPOINT_URL")
        )

    def describe_key(self, ref: str, region: str | None = None) -> KeyInfo:
        """Resolve any key reference to a KeyInfo with its ARN, spec, state and aliases."""
        validate_key_ref(ref, "key")
        region = region_of_ref(ref) or region
        try:
            meta = self._call(region, "DescribeKey", ref, KeyId=ref)["KeyMetadata"]
        except UserError as exc:
            if "not found" in str(exc):
                where = region_of_ref(ref) or region or self.region
                raise UserError(f"key {ref!r} not found in {where}") from None
            raise
        aliases = self.aliases_of(meta["KeyId"], meta["Arn"].split(":")[3])
        if ref.split(":")[-1].startswith("alias/"):
            named = ref.split(":")[-1]
            aliases = (named, *[a for a in aliases if a != named])
        return key_info_from_metadata(meta, aliases)

    def aliases_of(self, key_id: str, region: str) -> tuple[str, ...]:
        found: list[str] = []
        client = self.client(region)
        with aws_errors("ListAliases", key_id, self.endpoint_label):
            for page in client.get_paginator("list_aliases").paginate(KeyId=key_id):
                found.extend(a["AliasName"] for a in page.get("Aliases", []))
        return tuple(sorted(found))

    def get_policy(self, key: KeyInfo) -> str:
        result = self._call(
            key.region, "GetKeyPolicy", key.arn, KeyId=key.arn, PolicyName=POLICY_NAME
        )
        return str(result["Policy"])

    def put_bucket(self, region: str) -> TokenBucket:
        """PutKeyPolicy's pacing in one Region (KMS's quotas are per account and Region):
        ``options.put_rate`` per second, after a burst of one second's worth."""
        with self._lock:
            bucket = self._put_buckets.get(region)
            if bucket is None:
                rate = self.options.put_rate
                bucket = self._put_buckets[region] = TokenBucket(rate, burst=max(1, int(rate)))
            return bucket

    def put_policy(self, key: KeyInfo, text: str) -> None:
        """Write a key policy. Never bypasses KMS's lockout safety check."""
        self.put_bucket(key.region).take()
        self._call(
            key.region,
            "PutKeyPolicy",
            key.arn,
            KeyId=key.arn,
            PolicyName=POLICY_NAME,
            Policy=text,
            BypassPolicyLockoutSafetyCheck=False,
        )

    def list_key_summaries(self, region: str | None = None) -> list[KeySummary]:
        """ListKeys + ListAliases, paginated: fast, with no per-key calls."""
        region = region or self.region
        client = self.client(region)
        keys: list[dict[str, str]] = []
        aliases: dict[str, list[str]] = {}
        with aws_errors("ListKeys", f"in {region}", self.endpoint_label):
            pages = client.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1000})
            for page in pages:
                keys.extend(page.get("Keys", []))
        with aws_errors("ListAliases", f"in {region}", self.endpoint_label):
            paginator = client.get_paginator("list_aliases")
            pages = paginator.paginate(PaginationConfig={"PageSize": 100})
            for page in pages:
                for alias in page.get("Aliases", []):
                    # AWS-reserved aliases with no key yet have no TargetKeyId.
                    if alias.get("TargetKeyId"):
                        aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
        return [
            KeySummary(k["KeyId"], k["KeyArn"], tuple(sorted(aliases.get(k["KeyId"], []))))
            for k in keys
        ]

    def describe_summary(self, summary: KeySummary) -> KeyInfo:
        region = summary.arn.split(":")[3]
        meta = self._call(region, "DescribeKey", summary.arn, KeyId=summary.arn)["KeyMetadata"]
        return key_info_from_metadata(meta, summary.aliases)

    def list_keys(self, region: str | None = None, workers: int = 8) -> list[KeyInfo]:
        """Every key in the region with its details, sorted by name."""
        summaries = self.list_key_summaries(region)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            infos = list(pool.map(self.describe_summary, summaries))
        return sorted(infos, key=lambda k: (k.manager == "AWS", not k.aliases, k.name))


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
