"""Helpers for the wizard's Pilot and snapshot tests (imported by the other test_tui_* files).

The demo backend is moto's in-process mock, started once per process: ``reset_demo`` puts its
account back to the seeded state so that every test starts from the same keys and policies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from kmswizard.aws.options import AwsOptions
from kmswizard.policy.document import statements
from kmswizard.policy.sharing import GRANTS_SID, USE_SID
from kmswizard.profiles import Profile
from kmswizard.tui.app import WizardApp, make_app
from kmswizard.tui.widgets.key_table import KeyTable

EXTERNAL = "444455556666"
ROLE = "arn:aws:iam::444455556666:role/ExampleRole"
USER = "arn:aws:iam::444455556666:user/ExampleUser"
PROFILES = Path(__file__).resolve().parent.parent / "profiles"


_SEEDED: dict[str, str] = {}  # key ID -> key policy, as seeded


def reset_demo() -> None:
    """Start the demo KMS if needed, then restore its seeded account.

    The wizard only ever changes key policies, so putting them back is enough (and much
    faster than generating the RSA/ECC keys again); anything else re-seeds from scratch."""
    from moto.kms.models import kms_backends

    from kmswizard.aws import demo

    demo.demo_session()
    backend = kms_backends[demo.DEMO_ACCOUNT][demo.DEMO_REGION]
    if _SEEDED and set(backend.keys) == set(_SEEDED):
        for key_id, policy in _SEEDED.items():
            backend.keys[key_id].policy = policy
        return
    backend.reset()
    demo.seed()
    _SEEDED.clear()
    _SEEDED.update({key_id: key.policy for key_id, key in backend.keys.items()})


def demo_app(
    cwd: Path,
    profile: Profile | None = None,
    profile_path: Path | None = None,
    dry_run: bool = False,
) -> WizardApp:
    return make_app(AwsOptions(demo=True), profile=profile, profile_path=profile_path,
                    dry_run=dry_run, cwd=cwd, steady=True)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 15) -> None:
    """Let the app run until ``condition()`` holds (workers run in threads)."""
    steps = int(timeout / 0.02)
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {condition}")


def screen_name(app: WizardApp) -> str:
    return type(app.screen).__name__


async def keys_listed(pilot: Pilot[Any]) -> None:
    """Wait for the key step's table and every key's details."""
    from kmswizard.tui.screens.key_step import KeyStep

    app = pilot.app

    def ready() -> bool:
        screen = app.screen
        return (isinstance(screen, KeyStep) and bool(screen.rows)
                and screen.pending_details == 0
                and all(r.info is not None for r in screen.rows.values()))

    await until(pilot, ready)
    await pilot.pause()


async def pick_key(pilot: Pilot[Any], alias: str) -> None:
    """On the key step: move the cursor to the key (with the keyboard) and press Enter."""
    await keys_listed(pilot)
    table = pilot.app.screen.query_one("#keys", KeyTable)
    table.focus()
    names = table.row_keys
    screen: Any = pilot.app.screen
    index = next(
        i for i, key_id in enumerate(names) if alias in screen.rows[key_id].summary.aliases
    )
    table.move_cursor(row=index)
    await pilot.pause()
    await pilot.press("enter")


async def type_into(pilot: Pilot[Any], selector: str, text: str, keys: bool = False) -> None:
    """Focus an input and replace its text: key by key, or (faster, same events) at once."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    await pilot.pause()
    if keys:
        await pilot.press(*text)
    else:
        widget.value = text
        widget.cursor_position = len(text)
        await pilot.pause()


async def to_who(pilot: Pilot[Any], alias: str = "alias/orders") -> None:
    await pick_key(pilot, alias)
    await until(pilot, lambda: screen_name(pilot.app) == "WhoStep")
    await until(pilot, lambda: pilot.app.screen.loaded)  # type: ignore[attr-defined]


async def to_preview(pilot: Pilot[Any]) -> None:
    """From the who step: Next, Next, then wait for the plan."""
    await pilot.press("ctrl+n")
    await until(pilot, lambda: screen_name(pilot.app) == "WhatStep")
    await pilot.press("ctrl+n")
    await until(pilot, lambda: screen_name(pilot.app) == "PreviewStep")
    await until(pilot, lambda: pilot.app.screen.plan is not None)  # type: ignore[attr-defined]
    await pilot.pause()


def managed_statements(policy_text: str) -> dict[str, dict[str, Any]]:
    policy = json.loads(policy_text)
    return {s["Sid"]: s for s in statements(policy) if s.get("Sid") in (USE_SID, GRANTS_SID)}


def orders_policy(app: WizardApp) -> str:
    """The key policy of alias/orders, read back through the app's gateway."""
    key = app.gateway.describe_key("alias/orders", "us-west-2")
    return app.gateway.get_policy(key)


def notifications(app: WizardApp) -> list[str]:
    return [n.message for n in app._notifications]
