"""Regenerate the README's wizard screenshots from the demo:

    python docs/make_screenshots.py

Writes docs/wizard-key-step.svg and docs/wizard-preview.svg (100x30, dark theme).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from kmswizard.aws.options import AwsOptions
from kmswizard.tui.app import make_app

DOCS = Path(__file__).resolve().parent
SIZE = (100, 30)


async def wait_for(pilot, condition, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise TimeoutError("the wizard did not get there")


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        app = make_app(AwsOptions(demo=True), cwd=Path(scratch), steady=True)
        async with app.run_test(size=SIZE) as pilot:
            screen = lambda: app.screen  # noqa: E731
            await wait_for(pilot, lambda: bool(getattr(screen(), "rows", None))
                           and screen().pending_details == 0)
            await pilot.press("down", "down", "down")
            await pilot.pause()
            app.save_screenshot("wizard-key-step.svg", str(DOCS))
            await pilot.press("enter")
            await wait_for(pilot, lambda: getattr(screen(), "loaded", False))
            account = screen().query_one("#account")
            account.value = "444455556666"
            await pilot.press("enter")
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: type(screen()).__name__ == "WhatStep")
            await pilot.press("ctrl+g", "ctrl+n")
            await wait_for(pilot, lambda: getattr(screen(), "plan", None) is not None)
            await pilot.pause()
            app.save_screenshot("wizard-preview.svg", str(DOCS))
            await pilot.press("ctrl+q")
            if type(screen()).__name__ == "QuitConfirm":
                await pilot.click("#quit")


if __name__ == "__main__":
    asyncio.run(main())
