"""How to reach AWS, as chosen on the command line or in the environment."""

from __future__ import annotations

from dataclasses import dataclass

PUT_KEY_POLICY_QUOTA = 15.0
"""KMS's default PutKeyPolicy request quota, per second, per account and Region."""


@dataclass(frozen=True)
class AwsOptions:
    region: str | None = None
    aws_profile: str | None = None
    endpoint_url: str | None = None
    demo: bool = False
    # PutKeyPolicy calls per second per Region: KMS's default quota unless the account's
    # quota was raised (higher) or other tools share it (lower).
    put_rate: float = PUT_KEY_POLICY_QUOTA
