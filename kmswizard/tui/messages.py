"""Messages the wizard's workers post back to the screens (thread-safe: post_message)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from kmswizard.policy.keyinfo import KeyInfo


@dataclass
class KeyDetails(Message):
    """DescribeKey answered (or failed) for one listed key."""

    generation: int  # which listing it belongs to (a new region starts a new one)
    key_id: str
    info: KeyInfo | None
    error: str | None = None


@dataclass
class StateChanged(Message):
    """Something in the WizardState changed outside the screen (a profile was loaded)."""

    reason: str
