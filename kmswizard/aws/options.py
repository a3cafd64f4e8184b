"""How to reach AWS, as chosen on the command line or in the environment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwsOptions:
    region: str | None = None
    aws_profile: str | None = None
    endpoint_url: str | None = None
    demo: bool = False
