"""Shared fixtures for the tests that talk to a KMS: one moto server for the whole session.

* ``moto_server``: the endpoint URL of a ThreadedMotoServer running in this process;
* ``aws_env``: an environment for ``kmswizard`` subprocesses that reaches only that server
  (moto's state is reset first, so every test starts with no keys);
* ``kms``: a boto3 KMS client on the server, to create keys and read policies back;
* ``run_cli``: run the installed ``kmswizard`` console script in a subprocess;
* ``aws_managed_key``: make an AWS managed key (moto cannot create one through the API);
* ``private_state_dir`` (automatic): backups and the audit log go to a temporary folder.

The server runs in this process, so moto's backends (``moto.kms.models.kms_backends``) are the
server's. Its account is 123456789012 unless MOTO_ACCOUNT_ID is set in this process (the embedded
demo sets it), so tests read the account from the ARNs they get back rather than assume it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

MOTO_REGION = "us-west-2"
MOTO_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
CLI = Path(sys.executable).parent / "kmswizard"
CLI_TIMEOUT = 60

RunCli = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on a free port of 127.0.0.1, shared by the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture
def moto_endpoint(moto_server: str) -> str:
    """The server's endpoint, with every key of the previous test gone."""
    reset_moto(moto_server)
    return moto_server


@pytest.fixture
def aws_env(moto_endpoint: str, tmp_path: Path) -> dict[str, str]:
    """Environment for a kmswizard subprocess: fake credentials, the moto endpoint, an empty
    HOME (so no ~/.aws configuration of the machine running the tests is read), no color, no
    other AWS_* variable and no KMSWIZARD_DEBUG."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KMSWIZARD_"))}
    env.update(
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=MOTO_REGION,
        NO_COLOR="1",
        HOME=str(home),
        XDG_STATE_HOME=str(home / ".local" / "state"),
    )
    return env


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Backups and the audit log of in-process tests go to a temporary folder, never to the
    home of whoever runs the tests."""
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.delenv("KMSWIZARD_STATE_DIR", raising=False)
    return state / "kmswizard"


@pytest.fixture
def fresh_demo() -> None:
    """The in-process demo KMS as seeded: the wizard's tests share it (one per process)."""
    from test_tui_support import reset_demo

    reset_demo()


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """The wizard's working folder, where it saves and looks for profiles."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture(scope="session")
def moto_clients(moto_server: str) -> dict[str, Any]:
    """boto3 clients on the server, made once ("kms", "sts"): creating one takes ~0.1 s."""
    session = boto3.session.Session(region_name=MOTO_REGION, **MOTO_CREDENTIALS)
    return {name: session.client(name, endpoint_url=moto_server) for name in ("kms", "sts")}


@pytest.fixture
def kms(moto_endpoint: str, moto_clients: dict[str, Any]) -> Any:
    """A boto3 KMS client on the moto server (us-west-2), for a test that starts with no keys."""
    return moto_clients["kms"]


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """``run_cli(*args, env=..., input=None)``: the console script, run in a scratch folder."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()

    def run(
        *args: str | os.PathLike[str], env: dict[str, str], input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), *map(str, args)],
            env=env,
            input=input,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )

    return run


@pytest.fixture
def aws_managed_key(
    moto_endpoint: str, moto_clients: dict[str, Any]
) -> Callable[..., dict[str, str]]:
    """``aws_managed_key(alias, description, key_id=None)`` -> {"KeyId", "Arn"}: a key with
    KeyManager AWS
    in the server's backend (moto's API only creates customer managed keys)."""
    from moto.kms.models import kms_backends

    from kmswizard.aws.demo import add_aws_managed_key

    account = moto_clients["sts"].get_caller_identity()["Account"]

    def make(
        alias: str = "alias/aws/ebs", description: str = "EBS default", key_id: str | None = None
    ) -> dict[str, str]:
        backend = kms_backends[account][MOTO_REGION]
        key = add_aws_managed_key(backend, key_id or str(uuid.uuid4()), alias, description)
        return {"KeyId": key.id, "Arn": key.arn}

    return make


# --- fixtures for the safety/reliability tests (tests/test_safety_*.py) ----------------------


@pytest.fixture
def fault_proxy(moto_endpoint: str) -> Iterator[Any]:
    """A FaultProxy (tests/fault_proxy.py) in front of the freshly reset moto server; add
    faults with ``fault_proxy.add(Fault(...))`` and point clients at ``fault_proxy.url``."""
    from fault_proxy import FaultProxy

    with FaultProxy(moto_endpoint, lifetime=120) as proxy:
        yield proxy


@pytest.fixture
def fast_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """For in-process gateways: fake credentials, no AWS configuration of the machine, and
    short timeouts and few attempts (read timeout 1 s, 2 attempts) so fault tests stay fast."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", MOTO_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("KMSWIZARD_READ_TIMEOUT", "1")
