"""Words for the screens: what each KMS action lets the external principals do.

Presentation only; which actions are offered and preselected comes from
kmswizard.policy.actions."""

from __future__ import annotations

from textual.content import Content

ACTION_HELP = {
    "kms:Encrypt": "encrypt data (up to 4 KB) with the key",
    "kms:Decrypt": "decrypt data encrypted with the key",
    "kms:ReEncrypt*": "re-encrypt ciphertext to or from another key",
    "kms:ReEncryptFrom": "re-encrypt ciphertext from this key to another",
    "kms:ReEncryptTo": "re-encrypt ciphertext from another key to this one",
    "kms:GenerateDataKey*": "data keys for envelope encryption (S3, EBS, SDKs…)",
    "kms:GenerateDataKey": "a data key, plaintext and encrypted",
    "kms:GenerateDataKeyWithoutPlaintext": "a data key, encrypted only",
    "kms:GenerateDataKeyPair": "an asymmetric data key pair",
    "kms:GenerateDataKeyPairWithoutPlaintext": "an asymmetric data key pair, encrypted only",
    "kms:DescribeKey": "read the key's metadata (most AWS services need it)",
    "kms:GetPublicKey": "download the public key",
    "kms:GetKeyRotationStatus": "see whether automatic rotation is on",
    "kms:Sign": "sign messages or digests",
    "kms:Verify": "verify signatures",
    "kms:GenerateMac": "compute HMACs",
    "kms:VerifyMac": "verify HMACs",
    "kms:DeriveSharedSecret": "derive a shared secret (ECDH key agreement)",
}


def action_prompt(action: str, width: int) -> Content:
    """``kms:Decrypt   decrypt data encrypted with the key`` (the help muted)."""
    help_text = ACTION_HELP.get(action, "")
    if not help_text:
        return Content(action)
    return Content.assemble(action.ljust(width), ("  " + help_text, "$text-muted"))
