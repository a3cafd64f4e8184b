"""Snapshots of each step of the wizard at 100x30 on the demo (pytest-textual-snapshot).

Deterministic: animations and the cursor blink are off (make_app(steady=True)), every
worker has finished before the screenshot, the backups' clock is fixed.
Update after a deliberate change with: pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_tui_support import (
    EXTERNAL,
    demo_app,
    keys_listed,
    reset_demo,
    screen_name,
    to_preview,
    to_who,
    type_into,
    until,
)
from textual.pilot import Pilot

SIZE = (100, 30)
Snap = Callable[..., bool]


@pytest.fixture(autouse=True)
def fresh_demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A fixed folder: the result screen shows the backup's path.
    state = Path(tempfile.gettempdir()) / "kmswizard-snapshot-state"
    shutil.rmtree(state, ignore_errors=True)
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setattr("kmswizard.state._now", lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    reset_demo()
    yield
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    return tmp_path


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def test_key_step(snap_compare: Snap, cwd: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await keys_listed(pilot)
        await pilot.press("down", "down", "down")
        await settle(pilot)

    assert snap_compare(demo_app(cwd), terminal_size=SIZE, run_before=run_before)


def test_who_step(snap_compare: Snap, cwd: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await to_who(pilot, "alias/analytics")
        await type_into(pilot, "#account", "777788889999")
        await pilot.press("enter")
        await type_into(pilot, "#principal", "arn:aws:iam::777788889999:group/Admins")
        await settle(pilot)

    assert snap_compare(demo_app(cwd), terminal_size=SIZE, run_before=run_before)


def test_what_step(snap_compare: Snap, cwd: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(pilot.app) == "WhatStep")
        await pilot.press("ctrl+g")
        await settle(pilot)

    assert snap_compare(demo_app(cwd), terminal_size=SIZE, run_before=run_before)


def test_preview_step(snap_compare: Snap, cwd: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await to_preview(pilot)
        await settle(pilot)

    assert snap_compare(demo_app(cwd), terminal_size=SIZE, run_before=run_before)


def test_confirm_dialog(snap_compare: Snap, cwd: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await to_preview(pilot)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(pilot.app) == "ConfirmApply")
        await type_into(pilot, "#confirm-input", "alias/")
        await settle(pilot)

    assert snap_compare(demo_app(cwd), terminal_size=SIZE, run_before=run_before)


def test_result_step(snap_compare: Snap, cwd: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await to_who(pilot)
        await type_into(pilot, "#account", EXTERNAL)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(pilot.app) == "WhatStep")
        await pilot.press("ctrl+g")
        await pilot.press("ctrl+n")
        await until(pilot, lambda: pilot.app.state.plan is not None)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen_name(pilot.app) == "ConfirmApply")
        await type_into(pilot, "#confirm-input", "alias/orders")
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(pilot.app) == "ResultStep")
        await settle(pilot)

    assert snap_compare(demo_app(cwd), terminal_size=SIZE, run_before=run_before)
