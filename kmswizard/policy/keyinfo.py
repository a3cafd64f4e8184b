"""What the core needs to know about a key, as plain data (filled in by the AWS layer)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class KeyInfo:
    arn: str
    key_id: str
    spec: str = "SYMMETRIC_DEFAULT"
    usage: str = "ENCRYPT_DECRYPT"
    state: str = "Enabled"
    manager: str = "CUSTOMER"
    description: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)
    multi_region: str | None = None  # "PRIMARY", "REPLICA" or None
    replicas: tuple[str, ...] = ()  # replica key ARNs of a multi-Region primary key (those
    # not planned alongside it, once a plan is made)

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def partition(self) -> str:
        return self.arn.split(":")[1]

    @property
    def name(self) -> str:
        """How people know the key: its first alias, else its key ID."""
        return self.aliases[0] if self.aliases else self.key_id
