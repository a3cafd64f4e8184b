"""Account IDs and IAM principal ARNs: validation and what a key-policy Principal covers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kmswizard.errors import UserError

ACCOUNT_RE = re.compile(r"^[0-9]{12}\Z")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f",
              "aws-eusc")
_NAME = r"[\w+=,.@-]{1,64}"
_PATH = r"(?:/[\x21-\x7e]{0,510}?)?/"
PRINCIPAL_RE = re.compile(
    rf"^arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{{12}}):"
    rf"(?P<kind>role|user)(?P<path>{_PATH}){_NAME}\Z",
    re.ASCII,
)
# AWS shows a principal that was deleted as its unique ID instead of its ARN.
UNIQUE_ID_RE = re.compile(r"^(AROA|AIDA)[A-Z0-9]{12,}$")


def partition_of_region(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("eusc-"):
        return "aws-eusc"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    return "aws"


def validate_account(value: object, where: str) -> str:
    if not isinstance(value, str) or not ACCOUNT_RE.match(value):
        raise UserError(f"{where}: {value!r} is not an AWS account ID (exactly 12 digits)")
    return value


def validate_principal(value: object, where: str) -> str:
    """An IAM role or user ARN (paths allowed). Everything broader or different is refused."""
    if not isinstance(value, str):
        raise UserError(f"{where}: {value!r} is not an IAM role or user ARN")
    if value.strip() == "*":
        raise UserError(f"{where}: '*' (everyone) is never allowed; name accounts or principals")
    if re.match(r"^arn:[a-z-]+:iam::[0-9]{12}:root\Z", value):
        account = value.split(":")[4]
        raise UserError(
            f"{where}: {value!r} is a whole account; list it under accounts = [\"{account}\"]"
        )
    if ":group/" in value:
        raise UserError(
            f"{where}: {value!r} is an IAM group; groups cannot be key policy principals"
        )
    service = not value.startswith("arn:") and value.endswith(".amazonaws.com")
    if service or ":assumed-role/" in value:
        raise UserError(f"{where}: {value!r} is not an IAM role or user ARN")
    match = PRINCIPAL_RE.match(value)
    if not match or match["partition"] not in PARTITIONS:
        raise UserError(
            f"{where}: {value!r} is not an IAM role or user ARN "
            "(expected arn:aws:iam::123456789012:role/Name or :user/Name)"
        )
    return value


@dataclass(frozen=True)
class Principal:
    """One external principal kmswizard grants: a whole account (root) or a role/user ARN."""

    arn: str

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def is_account(self) -> bool:
        return self.arn.endswith(":root")

    @property
    def label(self) -> str:
        return f"account {self.account}" if self.is_account else self.arn


def root_arn(account: str, partition: str) -> str:
    return f"arn:{partition}:iam::{account}:root"


def account_of(principal_value: str) -> str | None:
    """The account a key-policy principal value belongs to (ARN or bare account ID)."""
    if ACCOUNT_RE.match(principal_value):
        return principal_value
    parts = principal_value.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and ACCOUNT_RE.match(parts[4]):
        return parts[4]
    return None


def covers(policy_value: str, principal: Principal) -> bool:
    """Whether a value in a key policy's ``Principal.AWS`` grants to this principal.

    ``*`` covers everyone; an account's root ARN or bare ID covers every principal of the account
    (with an IAM policy there, which cross-account use always needs); an ARN covers itself.
    """
    if policy_value == "*":
        return True
    if policy_value == principal.arn:
        return True
    if ACCOUNT_RE.match(policy_value) or policy_value.endswith(":root"):
        return account_of(policy_value) == principal.account
    return False
