"""Local state: a backup of every key policy before kmswizard replaces it, and an audit log.

Both live under the user's state directory ($XDG_STATE_HOME/kmswizard, by default
~/.local/state/kmswizard). AWS keeps no history of key policies; these files are the way back.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kmswizard.errors import UserError
from kmswizard.files import atomic_write_text
from kmswizard.policy.keyinfo import KeyInfo


def state_dir() -> Path:
    """KMSWIZARD_STATE_DIR if set (the demo sets it), else the XDG state directory."""
    if os.environ.get("KMSWIZARD_STATE_DIR"):
        return Path(os.environ["KMSWIZARD_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "kmswizard"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Backup:
    path: Path
    key_arn: str
    taken_at: str
    caller_arn: str
    reason: str
    policy: str

    @property
    def backup_id(self) -> str:
        return self.path.stem


def backup_folder(key: KeyInfo) -> Path:
    return state_dir() / "backups" / key.account / key.region / key.key_id


def write_backup(key: KeyInfo, policy_text: str, caller_arn: str, reason: str) -> Backup:
    """Durably save the policy about to be replaced; raise UserError if that is not possible."""
    moment = _now()
    folder = backup_folder(key)
    stem = moment.strftime("%Y%m%dT%H%M%S.%fZ")
    path = folder / f"{stem}.json"
    record = {
        "key_arn": key.arn,
        "taken_at": moment.isoformat(),
        "caller_arn": caller_arn,
        "reason": reason,
        "sha256": sha256(policy_text),
        "policy": policy_text,
    }
    try:
        atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise UserError(
            f"cannot write the backup of {key.name} to {path}: {exc.strerror or exc}; "
            "nothing was applied"
        ) from None
    return Backup(path, key.arn, record["taken_at"], caller_arn, reason, policy_text)


def _read_backup(path: Path) -> Backup:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Backup(
            path, data["key_arn"], data["taken_at"], data.get("caller_arn", ""),
            data.get("reason", ""), data["policy"],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a readable kmswizard backup ({exc})") from None


def list_backups(key: KeyInfo) -> list[Backup]:
    """Oldest first."""
    folder = backup_folder(key)
    if not folder.is_dir():
        return []
    return [_read_backup(p) for p in sorted(folder.glob("*.json"))]


def find_backup(key: KeyInfo, wanted: str | None) -> Backup:
    """The latest backup, or the one named by its ID (file name without .json) or path."""
    backups = list_backups(key)
    if not backups:
        raise UserError(f"no backups of {key.name} in {backup_folder(key)}")
    if wanted is None:
        return backups[-1]
    for backup in backups:
        if wanted in (backup.backup_id, backup.path.name, str(backup.path)):
            return backup
    if Path(wanted).is_file():
        backup = _read_backup(Path(wanted))
        if backup.key_arn != key.arn:
            raise UserError(f"{wanted}: is a backup of {backup.key_arn}, not of {key.arn}")
        return backup
    raise UserError(f"--to {wanted!r}: no such backup of {key.name} (see kmswizard history)")


_audit_lock = threading.Lock()


def append_audit(entry: dict[str, Any]) -> None:
    """One JSON line per apply or dry run, flushed to disk before returning (thread-safe:
    keys are applied in parallel)."""
    path = state_dir() / "audit.log"
    line = json.dumps({"time": _now().isoformat(), **entry}, ensure_ascii=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _audit_lock, open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise UserError(f"cannot write the audit log {path}: {exc.strerror or exc}") from None
