"""The key step in a large region (hundreds of keys), and the wizard's fast start.

Correctness only (the suite has no timed assertions): every row appears, the details fill in
(the rows on screen first), the filter works; importing the wizard does not import boto3."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_tui_support import keys_listed, reset_demo, until
from textual import events
from textual.widgets import Input, Static

from kmswizard.aws.options import AwsOptions
from kmswizard.tui.app import make_app
from kmswizard.tui.screens.key_step import DETAIL_WORKERS, KeyStep
from kmswizard.tui.widgets.key_table import KeyTable

REGION = "eu-central-1"  # the demo account's keys are in us-west-2: this one is ours alone
COUNT = 300


@pytest.fixture
def many_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """COUNT customer managed keys (every other one with an alias) and one AWS managed key,
    made directly in moto's backend (fast), in a region of the demo account."""
    from moto.kms import models
    from moto.kms.models import kms_backends

    from kmswizard.aws import demo

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    reset_demo()
    # moto makes an RSA key pair for every key, even a symmetric one (~50 ms each): these
    # keys share one, which the wizard never uses.
    shared = models.generate_private_key("SYMMETRIC_DEFAULT")
    monkeypatch.setattr(models, "generate_private_key", lambda spec: shared)
    backend = kms_backends[demo.DEMO_ACCOUNT][REGION]
    backend.reset()
    for i in range(COUNT):
        key = demo.add_key(backend, f"{i:08d}-0000-4000-8000-000000000000", "ENCRYPT_DECRYPT",
                           "SYMMETRIC_DEFAULT", f"bulk key number {i}")
        if i % 2:
            backend.create_alias(key.id, f"alias/bulk-{i:03d}")
    demo.add_aws_managed_key(backend, "ffffffff-0000-4000-8000-000000000000", "alias/aws/ebs",
                             "Default key for EBS")
    yield backend
    backend.reset()


async def test_many_keys_listed_then_described_visible_first(many_keys: Any,
                                                             tmp_path: Path) -> None:
    app = make_app(AwsOptions(demo=True, region=REGION), cwd=tmp_path, steady=True)
    described: list[str] = []
    lock = threading.Lock()
    async with app.run_test(size=(100, 30)) as pilot:
        real = app.gateway.describe_summary

        def recording(summary: Any) -> Any:
            with lock:
                described.append(summary.key_id)
            return real(summary)

        app.gateway.describe_summary = recording  # type: ignore[method-assign]
        await keys_listed(pilot)
        screen = app.screen

        def burst(*keys: str) -> None:
            for key in keys:
                character = "/" if key == "slash" else key
                app.post_message(events.Key(key, character))

        assert isinstance(screen, KeyStep)
        table = screen.query_one("#keys", KeyTable)
        assert table.row_count == COUNT + 1 == len(screen.rows)
        assert all(row.info is not None for row in screen.rows.values())
        assert sorted(described) == sorted(screen.rows)  # each key described once
        # The rows on screen were described first (give or take the keys already in flight).
        visible = table.row_keys[:table.size.height - 1]
        assert set(visible) <= set(described[:len(visible) + DETAIL_WORKERS])
        # Aliased keys first, the AWS managed key last and not shareable (from its alias).
        assert screen.rows[table.row_keys[0]].summary.aliases == ("alias/bulk-001",)
        managed = screen.rows[table.row_keys[-1]]
        assert managed.summary.aliases == ("alias/aws/ebs",) and managed.aws_managed
        count = str(screen.query_one("#key-count", Static).render())
        assert f"{COUNT + 1} keys in {REGION}" in count
        # The listed keys are exempt from garbage collection while the list is shown.
        assert gc.get_freeze_count() > 0

        # "/" then the text in one burst, as a terminal delivers fast typing or a paste: the
        # characters that reach the list before the focus has moved are not lost.
        burst("slash", *"bulk-01")
        await until(pilot, lambda: screen.query_one("#filter", Input).value == "bulk-01")
        await pilot.pause()
        assert table.row_count == 5  # alias/bulk-011, -013, -015, -017, -019
        assert "5 of 301 keys" in str(screen.query_one("#key-count", Static).render())
        await pilot.press("ctrl+u")
        await type_into_filter(pilot, "number 299")  # descriptions are searched too
        assert table.row_keys == ["00000299-0000-4000-8000-000000000000"]
        # The rows follow the filter's value as it changes, not a message later: the frame
        # that shows the keystroke shows its rows.
        field_ = screen.query_one("#filter", Input)
        field_.value = "number 29"
        assert table.row_count == 11  # number 29 and 290 to 299
        field_.value = "number 299"
        assert table.row_keys == ["00000299-0000-4000-8000-000000000000"]
        await pilot.press("enter", "enter")  # to the table, then choose the key
        await until(pilot, lambda: type(app.screen).__name__ == "WhoStep")
        assert [k.key_id for k in app.state.keys] == ["00000299-0000-4000-8000-000000000000"]
    assert gc.get_freeze_count() == 0  # ... and collectable again once the wizard is gone


async def type_into_filter(pilot: Any, text: str) -> None:
    await pilot.press(*text)
    await pilot.pause()


def test_first_frame_imports_no_aws_sdk() -> None:
    """boto3, botocore and moto are imported by the first AWS call, in a worker thread after
    the first frame; --version and --help import none of them either."""
    code = (
        "import sys\n"
        "import kmswizard.tui.app, kmswizard.tui.screens.key_step\n"
        "from kmswizard.cli import main\n"
        "for args in (['--version'], ['--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "loaded = sorted(m for m in ('boto3', 'botocore', 'moto') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_detail_fetcher_takes_prioritized_keys_first() -> None:
    """What the key step does when the user scrolls or filters while details load: the keys
    now on screen jump the queue; every key is still described exactly once."""
    from kmswizard.aws.gateway import KeySummary
    from kmswizard.policy.keyinfo import KeyInfo
    from kmswizard.tui.screens.key_step import DetailFetcher

    summaries = [KeySummary(f"k{i:03d}", f"arn:aws:kms:us-west-2:111122223333:key/k{i:03d}", ())
                 for i in range(50)]
    order: list[str] = []

    class Gateway:
        def describe_summary(self, summary: KeySummary) -> KeyInfo:
            order.append(summary.key_id)
            if summary.key_id == "k007":
                raise RuntimeError("boom")
            return KeyInfo(arn=summary.arn, key_id=summary.key_id)

    fetcher = DetailFetcher(Gateway(), summaries, workers=1)  # type: ignore[arg-type]
    fetcher.prioritize(["k040", "k041", "k042"])
    fetcher.run()
    assert order[:3] == ["k040", "k041", "k042"]
    assert sorted(order) == [s.key_id for s in summaries]
    results = {key_id: (info, error) for key_id, info, error in fetcher.take()}
    assert len(results) == 50 and fetcher.take() == []
    assert results["k007"][0] is None and "RuntimeError: boom" in str(results["k007"][1])
