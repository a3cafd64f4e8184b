"""Messages the wizard's workers post back to the screens (thread-safe: post_message)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class StateChanged(Message):
    """Something in the WizardState changed outside the screen (a profile was loaded)."""

    reason: str
