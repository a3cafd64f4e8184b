#!/usr/bin/env python3
"""kmswizard benchmarks: one run, every figure side by side (issue 6).

    python benchmarks/run.py                       # full: ~9 minutes on 2 cores
    python benchmarks/run.py --quick               # ~4 minutes; 100-key CLI loop extrapolated
    python benchmarks/run.py --latency-ms 30       # also through a 30 ms-per-call proxy

Run it with the interpreter of a virtualenv where kmswizard is installed with its test extra
(``pip install -e '.[test]'``: moto, boto3, textual). It needs nothing else; the ``aws`` CLI
(v1 or v2) and ``tmux`` are used when they are on PATH, and their absence is said in the output.

What it measures (see benchmarks/README.md for the method and the figures):

1. apply to 10 and 100 keys: ``kmswizard apply PROFILE --yes`` (a subprocess, as a user runs it)
   against the bash loop a user would write with the aws CLI (describe-key, get-key-policy, a
   ``python3 -c`` edit, put-key-policy per key), or, without the aws CLI, one boto3 process per
   key. Same endpoint, same keys, every key policy reset to the same text before each run.
2. the wizard on a 1,000-key account, launched in a real terminal (tmux): first frame, and the
   key list populated with the keys; plus when every key's details are filled in.
3. filtering 5,000 keys: keystrokes typed into the key step's filter (in process, headless),
   each timed until the first frame after the table was rebuilt for the new filter; and the
   same on a 50-key account, for the part of a keystroke that does not depend on the keys.
4. plan_key on a ~32 KB key policy: CPU time (time.process_time), median of many runs.
5. with ``--latency-ms N``, 1. again through a local proxy that delays every request N ms.

Everything runs on 127.0.0.1: a moto server in a subprocess (so its CPU does not share this
process's GIL with the wizard measured in process), an optional latency proxy, and tmux on a
private socket. All of them are stopped on exit, including Ctrl+C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
RAISED_PUT_RATE = 100.0  # PutKeyPolicy per second in the "raised quota" row
SHARE_WITH = "444455556666"  # the account every benchmark shares the keys with
APPLY_REGION = "us-west-2"  # 100 keys, applied to by both contenders
LIST_REGION = "eu-west-1"  # the 1,000-key account the wizard opens
FILTER_REGION = "eu-central-1"  # the 5,000-key account for the filter
REFERENCE_REGION = "ap-southeast-2"  # 50 keys: the filter's fixed cost, by the same method
REFERENCE_KEYS = 50
TERMINAL = (120, 40)  # columns x lines, for tmux and the headless app alike
# Typed one keystroke at a time into the filter: a word, then a correction.
FILTER_KEYS = (*"payments-db", "backspace", "backspace")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

TEAMS = ("orders", "payments", "billing", "search", "identity", "ledger", "shipping",
         "catalog", "reports", "audit")
APPS = ("api", "worker", "db", "cache", "queue", "events", "backup", "etl")
ENVS = ("prod", "staging", "dev")

_started = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr; the results table goes to stdout."""
    print(f"[{time.monotonic() - _started:7.1f}s] {message}", file=sys.stderr, flush=True)


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms:.1f} ms" if ms < 100 else f"{ms:,.0f} ms"


# --- the moto server ---------------------------------------------------------------------------

# Runs in the server subprocess. moto gives every key, even a symmetric one, a freshly generated
# RSA-2048 private key (used only by Sign/Verify/GetPublicKey): ~40 ms of CPU per CreateKey, so
# seeding 6,000 keys would take minutes. Caching it per key spec makes seeding ~10x faster and
# changes nothing the benchmarks call (DescribeKey, List*, Get/PutKeyPolicy never touch it).
MOTO_BOOT = """
import functools, logging, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
import moto.kms.models as models
models.generate_private_key = functools.lru_cache(maxsize=None)(models.generate_private_key)
from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"""


def _die_with_parent() -> None:
    """In a child: get SIGTERM if this benchmark dies, even by SIGKILL (Linux only)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Terminate one child we started (its process group if it leads one), then kill it."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=5)


@contextlib.contextmanager
def moto_server(workdir: Path) -> Iterator[str]:
    """A moto server in its own process on a free port of 127.0.0.1; yields its URL."""
    for _attempt in range(3):
        port = free_port()
        log = open(workdir / "moto-server.log", "ab")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(
            [sys.executable, "-c", MOTO_BOOT, str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        if process.poll() is None and time.monotonic() < deadline:
            try:
                yield url
            finally:
                stop_process(process)
                log.close()
            return
        stop_process(process)
        log.close()
    raise SystemExit(f"could not start the moto server (see {workdir / 'moto-server.log'})")


# --- a latency-injecting proxy -------------------------------------------------------------------

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailers", "transfer-encoding", "upgrade", "content-length"}


class LatencyProxy:
    """Forwards every HTTP request to ``upstream`` after ``delay`` seconds (one simulated round
    trip to a real endpoint); threaded and keep-alive, like an AWS endpoint. 127.0.0.1 only."""

    def __init__(self, upstream: str, delay: float) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.delay = delay
        self.requests = 0
        local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                time.sleep(proxy.delay)
                proxy.requests += 1
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in _HOP_BY_HOP}
                for _attempt in range(2):
                    conn = getattr(local, "conn", None)
                    if conn is None:
                        conn = local.conn = http.client.HTTPConnection(host, int(port),
                                                                       timeout=60)
                    try:
                        conn.request(self.command, self.path, body=body, headers=headers)
                        answer = conn.getresponse()
                        data = answer.read()
                        break
                    except (OSError, http.client.HTTPException):
                        conn.close()
                        local.conn = None
                else:
                    self.send_error(502)
                    return
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            # socketserver's default listen backlog is 5: ten clients connecting at once
            # would see some SYNs dropped and retried a second later.
            request_queue_size = 128

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LatencyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- seeding -------------------------------------------------------------------------------------


def console_policy(account: str) -> str:
    """A key policy as the console writes it: root, key administrators, key users."""
    iam = f"arn:aws:iam::{account}"
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "key-consolepolicy-3",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"{iam}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
             "Principal": {"AWS": f"{iam}:role/KeyAdmin"},
             "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*",
                        "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*",
                        "kms:Delete*", "kms:TagResource", "kms:UntagResource",
                        "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
             "Resource": "*"},
            {"Sid": "Allow use of the key", "Effect": "Allow",
             "Principal": {"AWS": f"{iam}:role/AppRole"},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
                        "kms:GenerateDataKey*", "kms:DescribeKey"],
             "Resource": "*"},
        ],
    }, indent=4)


def alias_for(index: int) -> tuple[str, str]:
    """A realistic alias and description for key number ``index``."""
    team = TEAMS[index % len(TEAMS)]
    app = APPS[(index // len(TEAMS)) % len(APPS)]
    env = ENVS[(index // (len(TEAMS) * len(APPS))) % len(ENVS)]
    return f"alias/{team}-{app}-{env}-{index:04d}", f"{team} {app} data key ({env})"


def kms_client(endpoint: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=region, aws_access_key_id="testing",
                                    aws_secret_access_key="testing")
    return session.client("kms", endpoint_url=endpoint,
                          config=Config(max_pool_connections=16, retries={"max_attempts": 5}))


def seed(endpoint: str, region: str, count: int, policy: str) -> list[str]:
    """Create ``count`` symmetric keys with aliases; return the aliases, in creation order."""
    client = kms_client(endpoint, region)

    def one(index: int) -> str:
        alias, description = alias_for(index)
        key = client.create_key(Description=description, Policy=policy)["KeyMetadata"]
        client.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        return alias

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


def reset_policies(endpoint: str, region: str, aliases: list[str], policy: str) -> None:
    """Put the seeded key policy back on every key (between two apply runs)."""
    client = kms_client(endpoint, region)

    def one(alias: str) -> None:
        key_id = client.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
        client.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, aliases))


def count_shared(endpoint: str, region: str, aliases: list[str]) -> int:
    """How many of the keys' policies name the account shared with (checks a run's work)."""
    client = kms_client(endpoint, region)

    def one(alias: str) -> bool:
        key_id = client.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
        text = client.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
        return f"arn:aws:iam::{SHARE_WITH}:root" in text

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(one, aliases))


# --- the contenders: the aws CLI loop, one boto3 process per key, kmswizard apply ----------------

# The loop as a user writes it in bash: one key at a time, one aws process per call, the edit
# with python3 (no jq needed).
CLI_LOOP = r"""#!/usr/bin/env bash
set -euo pipefail
account=444455556666
for alias in "$@"; do
  key_id=$(aws kms describe-key --key-id "$alias" --query KeyMetadata.KeyId --output text)
  aws kms get-key-policy --key-id "$key_id" --policy-name default \
      --output text --query Policy > policy.json
  python3 -c '
import json, sys
path, account = sys.argv[1], sys.argv[2]
policy = json.load(open(path))
policy["Statement"].append({
    "Sid": "Allow use of the key by " + account,
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::" + account + ":root"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
               "kms:DescribeKey"],
    "Resource": "*",
})
json.dump(policy, open(path, "w"), indent=2)
' policy.json "$account"
  aws kms put-key-policy --key-id "$key_id" --policy-name default --policy file://policy.json
done
"""

# Without the aws CLI: the same steps, one boto3 process per key.
BOTO3_LOOP = r"""#!/usr/bin/env bash
set -euo pipefail
for alias in "$@"; do
  "$BENCH_PYTHON" -c '
import json, sys, boto3
account = "444455556666"
kms = boto3.client("kms")
key_id = kms.describe_key(KeyId=sys.argv[1])["KeyMetadata"]["KeyId"]
policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
policy["Statement"].append({
    "Sid": "Allow use of the key by " + account,
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::" + account + ":root"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
               "kms:DescribeKey"],
    "Resource": "*",
})
kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy, indent=2))
' "$alias"
done
"""


def clean_env(endpoint: str, region: str, home: Path) -> dict[str, str]:
    """Fake credentials, this endpoint, and no AWS configuration of the machine (empty HOME)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KMSWIZARD_"))}
    env.update(CREDENTIALS)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_DEFAULT_REGION=region,
        AWS_CONFIG_FILE=str(home / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-credentials"),
        AWS_PAGER="",
        HOME=str(home),
        XDG_STATE_HOME=str(home / "state"),
        NO_COLOR="1",
        BENCH_PYTHON=sys.executable,
    )
    return env


def timed(command: list[str], env: dict[str, str], cwd: Path, timeout: float,
          check: bool = True) -> float:
    """Wall time of a command; its output goes to a log file; a failure stops the benchmark
    (with ``check``)."""
    log = cwd / "last-run.log"
    with open(log, "wb") as out:
        start = time.perf_counter()
        # Its own process group, so that a timeout or Ctrl+C stops the loop's aws children too.
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, preexec_fn=_die_with_parent)
        try:
            returncode = process.wait(timeout=timeout)
            elapsed = time.perf_counter() - start
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
    if returncode != 0 and check:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"{shlex.join(command[:3])} ... failed (exit {returncode}):\n{tail}")
    return elapsed


@dataclass
class ApplyBench:
    """Runs both contenders on the first N keys of the apply region, resetting in between."""

    endpoint: str  # the moto server (seeding, resetting, checking)
    aliases: list[str]
    policy: str
    workdir: Path
    baseline: str  # "aws" or "boto3"
    kmswizard: Path

    def _check(self, aliases: list[str], who: str) -> None:
        shared = count_shared(self.endpoint, APPLY_REGION, aliases)
        if shared != len(aliases):
            raise SystemExit(f"{who}: only {shared} of {len(aliases)} key policies were changed")

    def baseline_run(self, count: int, via: str) -> float:
        aliases = self.aliases[:count]
        reset_policies(self.endpoint, APPLY_REGION, self.aliases, self.policy)
        cwd = self.workdir / f"baseline-{count}"
        cwd.mkdir(exist_ok=True)
        script = cwd / "loop.sh"
        script.write_text(CLI_LOOP if self.baseline == "aws" else BOTO3_LOOP)
        env = clean_env(via, APPLY_REGION, cwd / "home")
        elapsed = timed(["bash", str(script), *aliases], env, cwd, timeout=30 + 20 * count)
        self._check(aliases, f"the {self.baseline} loop")
        return elapsed

    def kmswizard_run(self, count: int, via: str, *options: str) -> float:
        aliases = self.aliases[:count]
        reset_policies(self.endpoint, APPLY_REGION, self.aliases, self.policy)
        cwd = self.workdir / f"kmswizard-{count}"
        cwd.mkdir(exist_ok=True)
        profile = cwd / "share.toml"
        profile.write_text(
            f"keys = {json.dumps(aliases)}\nregion = \"{APPLY_REGION}\"\n"
            f"accounts = [\"{SHARE_WITH}\"]\n"
        )
        env = clean_env(via, APPLY_REGION, cwd / "home")
        elapsed = timed([str(self.kmswizard), "apply", str(profile), "--yes", *options], env,
                        cwd, timeout=60 + 5 * count)
        self._check(aliases, "kmswizard apply")
        return elapsed


# --- the wizard in a real terminal (tmux) ---------------------------------------------------------


@dataclass
class StartupTimes:
    first_frame: float | None = None
    populated: float | None = None
    details: float | None = None
    polls: int = 0
    screens: dict[str, str] = field(default_factory=dict)


class Tmux:
    """A tmux server of our own (private socket, no user configuration)."""

    def __init__(self, workdir: Path) -> None:
        self.base = ["tmux", "-S", str(workdir / "tmux.sock"), "-f", "/dev/null"]
        columns, lines = TERMINAL
        subprocess.run([*self.base, "new-session", "-d", "-s", "bench", "-x", str(columns),
                        "-y", str(lines), "sleep 3600"], check=True, timeout=10)
        subprocess.run([*self.base, "set-option", "-g", "remain-on-exit", "on"],
                       check=False, timeout=10)

    def capture(self) -> str:
        return subprocess.run([*self.base, "capture-pane", "-p", "-t", "bench"],
                              capture_output=True, text=True, timeout=10).stdout

    def respawn(self, command: str) -> None:
        subprocess.run([*self.base, "respawn-pane", "-k", "-t", "bench", command],
                       check=True, timeout=10)

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, check=False,
                       timeout=10)


def wizard_startup(tmux: Tmux, kmswizard: Path, env: dict[str, str], count: int,
                   first_alias: str, budget: float) -> StartupTimes:
    """Launch the wizard in the tmux pane and poll what the terminal shows.

    first frame: the header and step bar are on screen; populated: the key count line and the
    first key's alias are in the table; details: "loading details" has gone from the count line.
    """
    env_args = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()
                        if k.startswith(("AWS_", "XDG_"))
                        or k in ("HOME", "PATH", "NO_COLOR", "PYTHONPATH"))
    command = (f"env -i TERM=tmux-256color COLORTERM=truecolor LANG=C.UTF-8 {env_args} "
               f"{shlex.quote(str(kmswizard))} --region {LIST_REGION}")
    label = first_alias.removeprefix("alias/")
    times = StartupTimes()
    start = time.perf_counter()
    tmux.respawn(command)
    while time.perf_counter() - start < budget:
        screen = tmux.capture()
        now = time.perf_counter() - start
        times.polls += 1
        if times.first_frame is None and "kmswizard" in screen and "1 Key" in screen:
            times.first_frame = now
            times.screens["first frame"] = screen
        if times.populated is None and f"{count} keys in" in screen and label in screen:
            times.populated = now
            times.screens["populated"] = screen
        if (times.populated is not None and "loading details" not in screen
                and f"{count} keys in" in screen):
            times.details = now
            times.screens["details"] = screen
            break
        time.sleep(0.005)
    tmux.respawn("sleep 3600")  # ends the wizard (SIGHUP), ready for the next run
    return times


# --- filtering 5,000 keys (in process, headless) -------------------------------------------------


@dataclass
class FilterTimes:
    populated: float | None = None  # in-process: app start to the filled table drawn
    details: float | None = None  # ... to every DescribeKey shown
    details_pending: int = 0
    keystrokes: list[tuple[str, int, float]] = field(default_factory=list)  # text, rows, ms
    timed_out: str | None = None


async def _filter_bench(endpoint: str, region: str, count: int, workdir: Path,
                        budget: float) -> FilterTimes:
    from textual import events
    from textual.widgets import Input

    from kmswizard.aws.options import AwsOptions
    from kmswizard.tui.app import make_app
    from kmswizard.tui.screens.key_step import KeyStep

    times = FilterTimes()
    app = make_app(AwsOptions(endpoint_url=endpoint, region=region), cwd=workdir)
    start = time.perf_counter()
    deadline = start + budget
    async with app.run_test(size=TERMINAL):
        while time.perf_counter() < deadline:
            screen = app.screen
            if (isinstance(screen, KeyStep) and len(screen.rows) == count
                    and getattr(screen.query_one("#keys"), "row_count", -1) == count):
                break
            await asyncio.sleep(0.01)
        else:
            times.timed_out = "the key list was not populated"
            return times
        step = app.screen
        assert isinstance(step, KeyStep)
        await step.wait_for_refresh()  # the filled table drawn (headless: composited)
        times.populated = time.perf_counter() - start
        while step.pending_details and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        times.details_pending = step.pending_details
        if not step.pending_details:
            times.details = time.perf_counter() - start
        await step.wait_for_refresh()

        table: Any = step.query_one("#keys")  # the key table (whatever its class)
        field_ = step.query_one("#filter", Input)
        field_.focus()
        await step.wait_for_refresh()
        await asyncio.sleep(0.05)  # the same typist's gap as between the keystrokes below
        # Instrumentation only: count the table rebuilds the filter triggers (so that a
        # keystroke that leaves the row count unchanged is still timed to its rebuild), and
        # note when the next frame is handed to the terminal driver (App._display, a private
        # hook of Textual < 9; without it, the end of Screen.wait_for_refresh).
        renders = 0
        rebuilt = False
        frame_at: float | None = None
        render_rows = getattr(step, "render_rows", None)
        if callable(render_rows):
            def counted() -> None:
                nonlocal renders, rebuilt
                render_rows()
                renders += 1
                rebuilt = True

            step.render_rows = counted  # type: ignore[method-assign]
        else:
            times.timed_out = "no KeyStep.render_rows to observe: timed to the next refresh"
        display = getattr(app, "_display", None)
        if callable(display):
            def displayed(screen: Any, renderable: Any) -> None:
                nonlocal frame_at
                if renderable is not None and rebuilt and frame_at is None:
                    frame_at = time.perf_counter()
                display(screen, renderable)

            app._display = displayed  # type: ignore[method-assign]
        typed = ""
        for key in FILTER_KEYS:
            typed = typed[:-1] if key == "backspace" else typed + key
            expected = sum(1 for row in step.rows.values() if row.matches(typed))
            before = renders
            rebuilt, frame_at = False, None
            begin = time.perf_counter()
            app.post_message(events.Key(key, None if key == "backspace" else key))
            while time.perf_counter() < deadline:
                if renders != before or (not callable(render_rows) and field_.value == typed
                                         and table.row_count == expected):
                    break
                await asyncio.sleep(0.0005)
            else:
                times.timed_out = f"keystroke {key!r} ({typed!r}) not shown within the budget"
                break
            rebuilt = True  # (without render_rows to observe: the table shows it now)
            await step.wait_for_refresh()
            elapsed = ((frame_at or time.perf_counter()) - begin) * 1000
            if field_.value != typed or table.row_count != expected:
                raise SystemExit(f"filter {typed!r}: the table shows {table.row_count} rows, "
                                 f"expected {expected}")
            label = "⌫" if key == "backspace" else key
            times.keystrokes.append((f"{label} → {typed!r}", expected, elapsed))
            say(f"  filter {label} → {typed!r:14} {expected:5} rows {elapsed:9.1f} ms")
            await asyncio.sleep(0.05)  # a fast typist's gap between keystrokes
    return times


def filter_bench(endpoint: str, region: str, count: int, workdir: Path,
                 budget: float) -> FilterTimes:
    os.environ.update(CREDENTIALS)
    os.environ.update(AWS_CONFIG_FILE=str(workdir / "no-aws-config"),
                      AWS_SHARED_CREDENTIALS_FILE=str(workdir / "no-aws-credentials"),
                      XDG_STATE_HOME=str(workdir / "state"))
    return asyncio.run(_filter_bench(endpoint, region, count, workdir, budget))


# --- plan_key on a 32 KB key policy ---------------------------------------------------------------


def big_policy(target: int = 32_000) -> str:
    """A realistic key policy padded to about ``target`` bytes: console statements, service
    statements with kms:ViaService, organisation and encryption-context conditions, existing
    cross-account access, and per-application roles (pretty-printed, as KMS returns it)."""
    iam = f"arn:aws:iam::{ACCOUNT}"
    crypto = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
              "kms:DescribeKey"]
    statements: list[dict[str, Any]] = [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"{iam}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
         "Principal": {"AWS": [f"{iam}:role/KeyAdmin", f"{iam}:role/SecurityOps",
                               f"{iam}:role/aws-reserved/sso.amazonaws.com/"
                               "AWSReservedSSO_AdministratorAccess_0123456789abcdef"]},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                    "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                    "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                    "kms:CancelKeyDeletion"],
         "Resource": "*"},
        {"Sid": "Allow use of the key", "Effect": "Allow",
         "Principal": {"AWS": [f"{iam}:role/AppRole", f"{iam}:role/BatchRole"]},
         "Action": crypto, "Resource": "*"},
        {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
         "Principal": {"AWS": [f"{iam}:role/AppRole", f"{iam}:role/BatchRole"]},
         "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
        {"Sid": "Deny deletion without MFA", "Effect": "Deny",
         "Principal": {"AWS": "*"},
         "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
        {"Sid": "Allow use across the organisation", "Effect": "Allow",
         "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt", "kms:DescribeKey"],
         "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
        {"Sid": "Existing partner access", "Effect": "Allow",
         "Principal": {"AWS": ["arn:aws:iam::210987654321:root",
                               "arn:aws:iam::333344445555:role/Ingest"]},
         "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
    ]
    services = ["ec2", "rds", "s3", "secretsmanager", "dynamodb", "sqs", "sns", "lambda",
                "logs", "backup", "elasticfilesystem", "ssm"]
    for service in services:
        statements.append({
            "Sid": f"Allow access through {service} for authorized principals",
            "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": [*crypto, "kms:CreateGrant"], "Resource": "*",
            "Condition": {"StringEquals": {
                "kms:ViaService": f"{service}.us-west-2.amazonaws.com",
                "kms:CallerAccount": ACCOUNT}},
        })
    index = 0
    while True:
        team, app_name = TEAMS[index % len(TEAMS)], APPS[index % len(APPS)]
        candidate = {
            "Sid": f"App{index:03d}{team.title()}{app_name.title()}Decrypt",
            "Effect": "Allow",
            "Principal": {"AWS": f"{iam}:role/{team}-{app_name}-{index:03d}"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
            "Condition": {"StringEquals": {
                f"kms:EncryptionContext:{team}:application": f"{app_name}-{index:03d}"}},
        }
        trial = {"Version": "2012-10-17", "Id": "key-consolepolicy-3",
                 "Statement": [*statements, candidate]}
        if len(json.dumps(trial, indent=2).encode()) > target:
            break
        statements.append(candidate)
        index += 1
    return json.dumps({"Version": "2012-10-17", "Id": "key-consolepolicy-3",
                       "Statement": statements}, indent=2)


@dataclass
class PlanTimes:
    size: int
    statements: int
    runs: int
    median_ms: float
    p90_ms: float
    changed: bool


def plan_bench(runs: int) -> PlanTimes:
    from kmswizard.aws.catalogue import kms_catalogue
    from kmswizard.policy.keyinfo import KeyInfo
    from kmswizard.policy.plan import plan_key
    from kmswizard.policy.sharing import ShareRequest

    text = big_policy()
    key = KeyInfo(arn=f"arn:aws:kms:us-west-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                  key_id="1234abcd-12ab-34cd-56ef-1234567890ab", aliases=("alias/orders",))
    request = ShareRequest(accounts=(SHARE_WITH,))
    catalogue = kms_catalogue()
    caller = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
    plan = plan_key(key, text, request, catalogue, caller)  # warm-up (and imports)
    for _ in range(5):
        plan_key(key, text, request, catalogue, caller)
    samples = []
    for _ in range(runs):
        begin = time.process_time()
        plan_key(key, text, request, catalogue, caller)
        samples.append((time.process_time() - begin) * 1000)
    samples.sort()
    return PlanTimes(len(text.encode()), len(json.loads(text)["Statement"]), runs,
                     statistics.median(samples), samples[int(len(samples) * 0.9) - 1],
                     plan.changed)


# --- the report ----------------------------------------------------------------------------------


@dataclass
class Row:
    measurement: str
    kmswizard: str
    baseline: str = "—"
    ratio: str = "—"
    goal: str = "—"
    met: str = "—"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def print_table(rows: list[Row]) -> None:
    headers = ("measurement", "kmswizard", "baseline", "ratio", "goal", "met?")
    cells = [headers] + [(r.measurement, r.kmswizard, r.baseline, r.ratio, r.goal, r.met)
                         for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(headers))]
    for number, line in enumerate(cells):
        print("| " + " | ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) + " |")
        if number == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def source_description() -> str:
    """Which kmswizard was measured: its folder and, in a git checkout, the commit (read-only
    git commands) and whether kmswizard/ differs from it."""
    import kmswizard

    package = Path(kmswizard.__file__).resolve().parent
    git = ["git", "-C", str(package.parent)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, timeout=30, check=False)
    if commit.returncode != 0:
        return f"from {package}"
    changed = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "kmswizard"],
                             capture_output=True, timeout=30, check=False).returncode
    state = " with uncommitted changes in kmswizard/" if changed else ""
    return f"from {package} at commit {commit.stdout.strip()}{state}"


def machine_notes(baseline: str, load: tuple[float, ...]) -> list[str]:
    import boto3
    import moto
    import textual

    notes = [
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average {load[0]:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end (other work on the machine skews the figures)",
        f"kmswizard {source_description()}; boto3 {boto3.__version__}, "
        f"textual {textual.__version__}, moto {moto.__version__} (server in a subprocess)",
    ]
    if baseline == "aws":
        version = subprocess.run(["aws", "--version"], capture_output=True, text=True,
                                 timeout=30, check=False)
        notes.append(f"baseline: {(version.stdout or version.stderr).strip()} at "
                     f"{shutil.which('aws')}")
    else:
        notes.append("baseline: no aws CLI on PATH: one boto3 process per key instead")
    if shutil.which("tmux"):
        version = subprocess.run(["tmux", "-V"], capture_output=True, text=True, timeout=10,
                                 check=False)
        notes.append(f"terminal: {version.stdout.strip()}, {TERMINAL[0]}x{TERMINAL[1]}")
    return notes


# --- main ----------------------------------------------------------------------------------------


def median_of(runs: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    samples = [measure() for _ in range(runs)]
    return statistics.median(samples), samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions; the 100-key baseline loop is extrapolated "
                        "from the 10-key one instead of run (saves ~4 minutes per loop)")
    parser.add_argument("--latency-ms", type=float, default=0.0, metavar="N",
                        help="also compare apply through a proxy adding N ms per request")
    parser.add_argument("--baseline", choices=("auto", "aws", "boto3"), default="auto",
                        help="auto: the aws CLI loop if aws is on PATH, else one boto3 "
                        "process per key")
    parser.add_argument("--list-keys", type=int, default=1000, metavar="N",
                        help="keys in the account the wizard opens (default 1000)")
    parser.add_argument("--filter-keys", type=int, default=5000, metavar="N",
                        help="keys for the filter benchmark (default 5000)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    if not 0 <= args.latency_ms <= 2000:
        parser.error("--latency-ms: give 0 to 2000")

    kmswizard = Path(sys.executable).parent / "kmswizard"
    if not kmswizard.exists():
        found = shutil.which("kmswizard")
        if not found:
            parser.error("kmswizard is not installed in this interpreter's environment")
        kmswizard = Path(found)
    try:
        import moto  # noqa: F401
        import textual  # noqa: F401
    except ImportError as exc:
        parser.error(f"{exc.name} is missing: pip install -e '.[test]'")
    baseline = args.baseline
    if baseline == "auto":
        baseline = "aws" if shutil.which("aws") else "boto3"
    if baseline == "aws" and not shutil.which("aws"):
        parser.error("--baseline aws: no aws on PATH")
    baseline_name = "aws CLI loop" if baseline == "aws" else "boto3 process per key"

    # SIGTERM / SIGHUP end the run like Ctrl+C: every server and child is stopped.
    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)

    load = os.getloadavg()
    source = source_description()
    results: dict[str, Any] = {"quick": args.quick, "latency_ms": args.latency_ms,
                               "baseline": baseline}
    rows: list[Row] = []
    footnotes: list[str] = []
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="kmswizard-bench-"))
        if not args.keep:
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        say(f"scratch folder {workdir}")
        endpoint = stack.enter_context(moto_server(workdir))
        say(f"moto server at {endpoint} (a subprocess)")

        policy = console_policy(ACCOUNT)
        begin = time.perf_counter()
        apply_aliases = seed(endpoint, APPLY_REGION, 100, policy)
        list_aliases = seed(endpoint, LIST_REGION, args.list_keys, policy)
        filter_aliases = seed(endpoint, FILTER_REGION, args.filter_keys, policy)
        seed(endpoint, REFERENCE_REGION, REFERENCE_KEYS, policy)
        say(f"seeded {len(apply_aliases) + len(list_aliases) + len(filter_aliases):,} keys "
            f"with aliases in {time.perf_counter() - begin:.0f} s")

        # 1. apply: kmswizard against the baseline loop ------------------------------------
        bench = ApplyBench(endpoint, apply_aliases, policy, workdir, baseline, kmswizard)
        reps_10, reps_100 = (3, 1) if args.quick else (5, 3)
        proxies: list[tuple[str, str]] = [("", endpoint)]
        if args.latency_ms:
            proxy = stack.enter_context(LatencyProxy(endpoint, args.latency_ms / 1000))
            proxies.append((f" +{args.latency_ms:g} ms/call", proxy.url))
            say(f"latency proxy at {proxy.url}: +{args.latency_ms:g} ms per request")
        for suffix, via in proxies:
            say(f"{baseline_name}, 10 keys{suffix}…")
            base_10 = bench.baseline_run(10, via)
            per_key = base_10 / 10
            say(f"  {base_10:.1f} s ({per_key:.2f} s per key)")
            if args.quick:
                base_100 = per_key * 100
                base_100_label = f"≈ {fmt_s(base_100)} (extrapolated)"
                footnotes.append(
                    f"--quick: the 100-key {baseline_name}{suffix} was not run; its figure is "
                    f"100 x the measured per-key time of the 10-key run ({per_key:.2f} s)")
            else:
                say(f"{baseline_name}, 100 keys{suffix} (~{per_key * 100 / 60:.0f} min)…")
                base_100 = bench.baseline_run(100, via)
                base_100_label = fmt_s(base_100)
                say(f"  {base_100:.1f} s")
            say(f"kmswizard apply, 10 keys{suffix} x{reps_10}…")
            kms_10, samples_10 = median_of(reps_10, partial(bench.kmswizard_run, 10, via))
            say(f"  median {kms_10:.2f} s of {[round(s, 2) for s in samples_10]}")
            say(f"kmswizard apply, 100 keys{suffix} x{reps_100}…")
            kms_100, samples_100 = median_of(reps_100, partial(bench.kmswizard_run, 100, via))
            say(f"  median {kms_100:.2f} s of {[round(s, 2) for s in samples_100]}")
            ratio_10, ratio_100 = base_10 / kms_10, base_100 / kms_100
            approx = "≈ " if args.quick else ""
            goal_10, goal_100 = (15, 30) if not suffix else (None, None)
            rows.append(Row(f"apply, 10 keys{suffix}", fmt_s(kms_10), fmt_s(base_10),
                            f"{ratio_10:.1f}x", f"≥ {goal_10}x" if goal_10 else "—",
                            verdict(ratio_10 >= goal_10 if goal_10 else None)))
            rows.append(Row(f"apply, 100 keys{suffix}", fmt_s(kms_100), base_100_label,
                            f"{approx}{ratio_100:.1f}x", f"≥ {goal_100}x" if goal_100 else "—",
                            verdict(ratio_100 >= goal_100 if goal_100 else None)))
            results["apply_with_latency" if suffix else "apply"] = {
                "kmswizard_10_s": samples_10, "kmswizard_100_s": samples_100,
                "baseline_10_s": base_10, "baseline_100_s": base_100,
                "baseline_100_extrapolated": args.quick,
            }
            if suffix:
                continue
            from kmswizard.aws.options import PUT_KEY_POLICY_QUOTA

            # What the quota costs: the same 100 keys as in an account whose PutKeyPolicy
            # quota was raised (informative; the goal is measured at the default above).
            say(f"kmswizard apply, 100 keys --put-rate {RAISED_PUT_RATE:g} x{reps_100}…")
            raised, samples_raised = median_of(reps_100, partial(
                bench.kmswizard_run, 100, via, "--put-rate", f"{RAISED_PUT_RATE:g}"))
            say(f"  median {raised:.2f} s of {[round(s, 2) for s in samples_raised]}")
            rows.append(Row(f"apply, 100 keys, --put-rate {RAISED_PUT_RATE:g} (a raised quota)",
                            fmt_s(raised), base_100_label, f"{approx}{base_100 / raised:.1f}x"))
            results["apply"]["kmswizard_100_raised_quota_s"] = samples_raised
            floor = (100 - PUT_KEY_POLICY_QUOTA) / PUT_KEY_POLICY_QUOTA
            footnotes.append(
                f"apply, 100 keys: at least {floor:.2f} s of it is the PutKeyPolicy quota "
                f"kmswizard keeps to by default ({PUT_KEY_POLICY_QUOTA:g} per second, burst "
                f"{PUT_KEY_POLICY_QUOTA:g}); against this baseline no tool keeping to it can "
                f"exceed {approx}{base_100 / floor:.1f}x, even with every other cost at zero")

        # 2. the wizard's start on a 1,000-key account, in tmux ------------------------------
        list_count = args.list_keys
        if shutil.which("tmux"):
            tmux = Tmux(workdir)
            stack.callback(tmux.close)
            env = clean_env(endpoint, LIST_REGION, workdir / "wizard-home")
            first_alias = sorted(list_aliases)[0]
            runs = []
            for number in range(1 if args.quick else 3):
                say(f"wizard start, {list_count} keys, in tmux (run {number + 1})…")
                times = wizard_startup(tmux, kmswizard, env, list_count, first_alias,
                                       budget=120 if args.quick else 300)
                say(f"  first frame {fmt_s(times.first_frame)}, populated "
                    f"{fmt_s(times.populated)}, details {fmt_s(times.details)} "
                    f"({times.polls} screen captures)")
                runs.append(times)
                for name, screen in times.screens.items():
                    (workdir / f"screen-{number}-{name.replace(' ', '-')}.txt").write_text(screen)

            def med(values: list[float | None]) -> float | None:
                known = [v for v in values if v is not None]
                return statistics.median(known) if len(known) == len(values) else None

            first = med([t.first_frame for t in runs])
            populated = med([t.populated for t in runs])
            details = med([t.details for t in runs])
            rows.append(Row("wizard: first frame", fmt_s(first), goal="≤ 1.0 s",
                            met=verdict(first is not None and first <= 1.0)))
            imports, _ = median_of(3, lambda: timed(
                [sys.executable, "-c", "import kmswizard.cli, kmswizard.tui.app, "
                 "kmswizard.tui.screens.key_step"], env, workdir, timeout=60, check=False))
            rows.append(Row("  of which: interpreter start + imports", fmt_s(imports)))
            results["imports_s"] = imports
            rows.append(Row(f"wizard: {list_count:,} keys listed", fmt_s(populated),
                            goal="≤ 1.5 s", met=verdict(populated is not None
                                                        and populated <= 1.5)))
            rows.append(Row(f"wizard: {list_count:,} keys' details filled",
                            fmt_s(details) if details else "not within the budget"))
            results["wizard_start"] = [t.__dict__ | {"screens": None} for t in runs]
            if len(runs) > 1:
                footnotes.append(f"wizard start: median of {len(runs)} launches")
        else:
            rows.append(Row("wizard: first frame", "not measured (no tmux)", goal="≤ 1.0 s"))
            rows.append(Row(f"wizard: {list_count:,} keys listed", "not measured (no tmux)",
                            goal="≤ 1.5 s"))

        # 3. filtering 5,000 keys ------------------------------------------------------------
        say(f"filter, {args.filter_keys} keys, in process (headless)…")
        filtered = filter_bench(endpoint, FILTER_REGION, args.filter_keys, workdir,
                                budget=420 if args.quick else 900)
        say(f"filter, {REFERENCE_KEYS} keys (reference: the same method on a small account)…")
        reference = filter_bench(endpoint, REFERENCE_REGION, REFERENCE_KEYS, workdir,
                                 budget=120)
        latencies = [ms for _, _, ms in filtered.keystrokes]
        if latencies:
            worst = max(latencies)
            rows.append(Row(f"filter, {args.filter_keys:,} keys: median keystroke",
                            fmt_ms(statistics.median(latencies)), goal="< 50 ms",
                            met=verdict(statistics.median(latencies) < 50)))
            rows.append(Row(f"filter, {args.filter_keys:,} keys: slowest keystroke",
                            fmt_ms(worst), goal="< 50 ms", met=verdict(worst < 50)))
        small = [ms for _, _, ms in reference.keystrokes]
        if small:
            rows.append(Row(f"  reference: {REFERENCE_KEYS} keys, median / slowest",
                            f"{fmt_ms(statistics.median(small))} / {fmt_ms(max(small))}"))
        rows.append(Row(f"filter, {args.filter_keys:,} keys: listed (in process)",
                        fmt_s(filtered.populated)))
        rows.append(Row(f"filter, {args.filter_keys:,} keys: details filled (in process)",
                        fmt_s(filtered.details) if filtered.details
                        else f"{filtered.details_pending} still pending"))
        if filtered.timed_out:
            footnotes.append(f"filter: {filtered.timed_out}")
        if filtered.details is None:
            footnotes.append("filter: typed while key details were still loading")
        typed = ", ".join(f"{t}: {n} rows {ms:.0f} ms" for t, n, ms in filtered.keystrokes)
        footnotes.append(f"filter keystrokes: {typed}")
        results["filter"] = filtered.__dict__
        results["filter_reference"] = reference.__dict__

        # 4. plan_key on a 32 KB policy -------------------------------------------------------
        say("plan_key on a ~32 KB key policy…")
        plan = plan_bench(100 if args.quick else 400)
        rows.append(Row(f"plan, {plan.size / 1024:.1f} KB policy (CPU, median)",
                        fmt_ms(plan.median_ms), goal="< 20 ms",
                        met=verdict(plan.median_ms < 20)))
        footnotes.append(
            f"plan: {plan.size:,} bytes, {plan.statements} statements; median of {plan.runs} "
            f"runs, p90 {plan.p90_ms:.1f} ms; time.process_time around plan_key only")
        results["plan"] = plan.__dict__

    print()
    print(f"kmswizard benchmarks ({'quick' if args.quick else 'full'} run; baseline: "
          f"{baseline_name}; ratio = baseline / kmswizard)")
    print()
    print_table(rows)
    print()
    if source_description() != source:
        footnotes.append(f"kmswizard changed during the run: it was {source} at the start")
    for note in footnotes + machine_notes(baseline, load):
        print(f"- {note}")
    if args.json:
        results["table"] = [r.__dict__ for r in rows]
        results["notes"] = footnotes
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers and subprocesses stopped", file=sys.stderr)
        sys.exit(130)
