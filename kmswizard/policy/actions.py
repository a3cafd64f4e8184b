"""KMS action names: validation, canonical spelling, wildcards, and per-key-type defaults.

The catalogue of operation names is passed in (the AWS layer reads it from botocore's KMS
service model), so this module stays pure and never carries a hand-kept list of operations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from kmswizard.errors import UserError

# IAM permissions that are not API operations (ReEncrypt is authorized as these two).
IAM_ONLY_ACTIONS = ("ReEncryptFrom", "ReEncryptTo", "SynchronizeMultiRegionKey")
# API operations that are not IAM permissions.
NOT_IAM_ACTIONS = frozenset({"ReEncrypt"})

GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
GRANT_CONDITION = {"Bool": {"kms:GrantIsForAWSResource": "true"}}

# The only operations KMS allows a principal in another account to call.
CROSS_ACCOUNT_ACTIONS = frozenset(
    "kms:" + name
    for name in (
        "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GenerateMac", "VerifyMac",
        "DeriveSharedSecret", "DescribeKey", "GetPublicKey", "GetKeyRotationStatus",
        "CreateGrant", "ListGrants", "RetireGrant", "RevokeGrant",
    )
)

_SYMMETRIC_OPS = (
    "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
)
# Cryptographic operations usable with each key type (KeyUsage, with symmetric split out).
_CRYPTO_BY_TYPE: dict[str, tuple[str, ...]] = {
    "SYMMETRIC": _SYMMETRIC_OPS,
    "ENCRYPT_DECRYPT": ("Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"),
    "SIGN_VERIFY": ("Sign", "Verify", "GetPublicKey"),
    "KEY_AGREEMENT": ("DeriveSharedSecret", "GetPublicKey"),
    "GENERATE_VERIFY_MAC": ("GenerateMac", "VerifyMac"),
}
CRYPTO_ACTIONS = frozenset("kms:" + op for ops in _CRYPTO_BY_TYPE.values() for op in ops)

# The AWS console's key-user defaults (KMS developer guide, "Default key policy").
_DEFAULTS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "SYMMETRIC": ("Encrypt", "Decrypt", "ReEncrypt*", "GenerateDataKey*", "DescribeKey"),
    "ENCRYPT_DECRYPT": ("Encrypt", "Decrypt", "ReEncrypt*", "DescribeKey", "GetPublicKey"),
    "SIGN_VERIFY": ("Sign", "Verify", "DescribeKey", "GetPublicKey"),
    "KEY_AGREEMENT": ("DeriveSharedSecret", "DescribeKey", "GetPublicKey"),
    "GENERATE_VERIFY_MAC": ("GenerateMac", "VerifyMac", "DescribeKey"),
}

_TYPE_LABELS = {
    "SYMMETRIC": "symmetric encryption",
    "ENCRYPT_DECRYPT": "asymmetric encryption",
    "SIGN_VERIFY": "signing",
    "KEY_AGREEMENT": "key agreement",
    "GENERATE_VERIFY_MAC": "HMAC",
}

# Verbs of operations that change a key, its policy, aliases, grants, material or store.
_ADMIN_PREFIXES = tuple(
    "kms:" + verb
    for verb in (
        "Cancel", "Connect", "Create", "Delete", "Disable", "Disconnect", "Enable", "Import",
        "Put", "Replicate", "Rotate", "Schedule", "Synchronize", "Tag", "Untag", "Update",
    )
)


def key_type(key_spec: str, key_usage: str) -> str:
    """Classify a key for its default actions; symmetric is split out of ENCRYPT_DECRYPT."""
    if key_spec == "SYMMETRIC_DEFAULT":
        return "SYMMETRIC"
    if key_usage not in _CRYPTO_BY_TYPE:
        raise UserError(
            f"kmswizard does not support keys with KeyUsage {key_usage!r} (key spec "
            f"{key_spec!r}) yet"
        )
    return key_usage


def key_type_label(key_spec: str, key_usage: str) -> str:
    return _TYPE_LABELS[key_type(key_spec, key_usage)]


def default_actions(key_spec: str, key_usage: str) -> tuple[str, ...]:
    """The actions kmswizard grants when a profile names none: the console's key-user set."""
    return tuple("kms:" + a for a in _DEFAULTS_BY_TYPE[key_type(key_spec, key_usage)])


def applicable_crypto_actions(key_spec: str, key_usage: str) -> frozenset[str]:
    return frozenset("kms:" + a for a in _CRYPTO_BY_TYPE[key_type(key_spec, key_usage)])


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """IAM action matching: case-insensitive, `*` any run of characters, `?` one character."""
    parts = re.split(r"([*?])", pattern)
    body = "".join(
        ".*" if part == "*" else "." if part == "?" else f"({re.escape(part)})" if part else ""
        for part in parts
    )
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL)


def pattern_matches(pattern: str, action: str) -> bool:
    """Whether an IAM action pattern (as written in a policy) covers a concrete action."""
    return bool(_pattern_regex(pattern).match(action))


@dataclass(frozen=True)
class ActionCatalogue:
    """Every KMS IAM action, spelled canonically (``kms:GenerateDataKey``)."""

    actions: frozenset[str]

    @classmethod
    def from_operations(cls, operation_names: Iterable[str]) -> ActionCatalogue:
        names = (set(operation_names) - NOT_IAM_ACTIONS) | set(IAM_ONLY_ACTIONS)
        return cls(frozenset("kms:" + name for name in names))

    @cached_property
    def _by_lower(self) -> dict[str, str]:
        return {a.lower(): a for a in self.actions}

    @cached_property
    def sorted_actions(self) -> tuple[str, ...]:
        return tuple(sorted(self.actions))

    def expand(self, pattern: str) -> frozenset[str]:
        """The concrete actions a pattern covers (itself, if it is a plain action name)."""
        if "*" not in pattern and "?" not in pattern:
            exact = self._by_lower.get(pattern.lower())
            return frozenset({exact}) if exact else frozenset()
        regex = _pattern_regex(pattern)
        return frozenset(a for a in self.actions if regex.match(a))

    def canonical(self, name: str) -> str:
        """Validate an action or wildcard and return it in canonical spelling.

        Raises UserError naming the value when it is not a KMS action or matches none.
        """
        text = name.strip()
        if not text.lower().startswith("kms:"):
            raise UserError(f"{name!r} is not a KMS action (KMS actions start with 'kms:')")
        if text.lower() == "kms:reencrypt":
            raise UserError(
                f"{name!r} is not an IAM action: re-encryption is authorized by "
                "kms:ReEncryptFrom and kms:ReEncryptTo (or kms:ReEncrypt* for both)"
            )
        if "*" not in text and "?" not in text:
            exact = self._by_lower.get(text.lower())
            if exact is None:
                raise UserError(f"{name!r} is not a KMS action")
            return exact
        regex = _pattern_regex(text)
        for action in self.sorted_actions:
            match = regex.match(action)
            if match:
                # Take each literal segment's spelling from a matching action.
                pieces = iter(match.groups())
                return "".join(
                    part if part in ("*", "?") else next(pieces)
                    for part in re.split(r"([*?])", text)
                    if part
                )
        raise UserError(f"{name!r} matches no KMS action")

    def canonical_list(self, names: Iterable[str]) -> tuple[str, ...]:
        """Canonical, de-duplicated, in first-seen order."""
        out: dict[str, None] = {}
        for name in names:
            out[self.canonical(name)] = None
        return tuple(out)

    def is_admin(self, action: str) -> bool:
        """Key administration: changes or deletes the key, its policy, aliases or material."""
        return action not in CROSS_ACCOUNT_ACTIONS and action.startswith(_ADMIN_PREFIXES)


def shareable_actions(key_spec: str, key_usage: str) -> tuple[str, ...]:
    """The actions worth offering for this key type, as a checklist: the default set (with its
    wildcards) plus the other operations of the type that work across accounts and that no
    default wildcard already covers. (Grant operations come with the grants statement.)"""
    kind = key_type(key_spec, key_usage)
    defaults = default_actions(key_spec, key_usage)
    extra = [*_CRYPTO_BY_TYPE[kind], "DescribeKey"]
    if kind == "SYMMETRIC":
        extra.append("GetKeyRotationStatus")
    uncovered = [
        "kms:" + name
        for name in extra
        if not any(pattern_matches(d, "kms:" + name) for d in defaults)
    ]
    return tuple(dict.fromkeys([*defaults, *uncovered]))


def action_presets(key_spec: str, key_usage: str) -> dict[str, tuple[str, ...]]:
    """Named action sets for this key type, the default ("full use") first."""
    kind = key_type(key_spec, key_usage)
    presets: dict[str, tuple[str, ...]] = {"full use": default_actions(key_spec, key_usage)}
    if kind in ("SYMMETRIC", "ENCRYPT_DECRYPT"):
        presets["decrypt only"] = ("kms:Decrypt", "kms:DescribeKey")
        encrypt = ["kms:Encrypt", "kms:DescribeKey"]
        if kind == "SYMMETRIC":
            encrypt.insert(1, "kms:GenerateDataKey*")
        else:
            encrypt.append("kms:GetPublicKey")
        presets["encrypt only"] = tuple(encrypt)
    elif kind == "SIGN_VERIFY":
        presets["verify only"] = ("kms:Verify", "kms:DescribeKey", "kms:GetPublicKey")
    elif kind == "GENERATE_VERIFY_MAC":
        presets["verify only"] = ("kms:VerifyMac", "kms:DescribeKey")
    view = ["kms:DescribeKey"]
    if "GetPublicKey" in _CRYPTO_BY_TYPE[kind]:
        view.append("kms:GetPublicKey")
    presets["view only"] = tuple(view)
    return presets
