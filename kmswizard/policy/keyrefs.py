"""Key references as users write them: key ID, key ARN, alias name or alias ARN."""

from __future__ import annotations

import re

from kmswizard.errors import UserError

_KEY_ID = r"(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
_ALIAS = r"alias/[a-zA-Z0-9/_-]{1,250}"
KEY_ID_RE = re.compile(rf"^{_KEY_ID}$")
ALIAS_RE = re.compile(rf"^{_ALIAS}$")
KEY_ARN_RE = re.compile(rf"^arn:[a-z-]+:kms:[a-z0-9-]+:\d{{12}}:key/{_KEY_ID}$")
ALIAS_ARN_RE = re.compile(rf"^arn:[a-z-]+:kms:[a-z0-9-]+:\d{{12}}:{_ALIAS}$")


def validate_key_ref(value: object, where: str) -> str:
    """Accept the four forms KMS accepts; refuse AWS managed aliases before any AWS call."""
    if not isinstance(value, str) or not any(
        r.match(value) for r in (KEY_ID_RE, ALIAS_RE, KEY_ARN_RE, ALIAS_ARN_RE)
    ):
        raise UserError(
            f"{where}: {value!r} is not a key ID, key ARN, alias name (alias/...) or alias ARN"
        )
    alias = value.split(":")[-1] if value.startswith("arn:") else value
    if alias.startswith("alias/aws/"):
        raise UserError(
            f"{where}: {value!r} is an AWS managed key (alias/aws/...): its key policy cannot be "
            "changed; share a customer managed key instead"
        )
    return value


def region_of_ref(value: str) -> str | None:
    """The region an ARN names; None for key IDs and alias names."""
    return value.split(":")[3] if value.startswith("arn:") else None
