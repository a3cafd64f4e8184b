"""Profiles: TOML files describing the external access kmswizard manages on some keys.

Loaded with tomllib, validated field by field (unknown fields are errors, so a typo never
silently drops access), saved with tomli-w through an atomic write.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from kmswizard.errors import UserError
from kmswizard.files import atomic_write_text
from kmswizard.policy.actions import ActionCatalogue
from kmswizard.policy.keyrefs import validate_key_ref
from kmswizard.policy.principals import validate_account, validate_principal
from kmswizard.policy.sharing import ShareRequest

FIELDS = (
    "key", "keys", "region", "accounts", "principals", "actions",
    "grants_for_aws_resources", "description",
)
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


@dataclass(frozen=True)
class Profile:
    keys: tuple[str, ...]
    accounts: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    actions: tuple[str, ...] | None = None
    grants_for_aws_resources: bool = False
    region: str | None = None
    description: str | None = None

    def request(self) -> ShareRequest:
        return ShareRequest(
            accounts=self.accounts,
            principals=self.principals,
            actions=self.actions,
            grants_for_aws_resources=self.grants_for_aws_resources,
        )

    def to_toml(self) -> str:
        data: dict[str, Any] = {}
        if self.description:
            data["description"] = self.description
        if len(self.keys) == 1:
            data["key"] = self.keys[0]
        else:
            data["keys"] = list(self.keys)
        if self.region:
            data["region"] = self.region
        data["accounts"] = list(self.accounts)
        data["principals"] = list(self.principals)
        if self.actions is not None:
            data["actions"] = list(self.actions)
        data["grants_for_aws_resources"] = self.grants_for_aws_resources
        return tomli_w.dumps(data, multiline_strings=False)


def _open_array_line(text: str) -> int | None:
    """The line where an array that is never closed begins (tomllib only says 'end of document')."""
    stack: list[int] = []
    in_string: str | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        i = 0
        while i < len(line):
            char = line[i]
            if in_string:
                if char == "\\" and in_string == '"':
                    i += 1
                elif char == in_string:
                    in_string = None
            elif char in "\"'":
                in_string = char
            elif char == "#":
                break
            elif char == "[" and ("=" in line[:i] or stack):
                stack.append(lineno)
            elif char == "]" and stack:
                stack.pop()
            i += 1
        if in_string == "'" or (in_string == '"' and not line.endswith("\\")):
            in_string = None  # basic and literal strings end at the line
    return stack[0] if stack else None


def _line_of(text: str, field: str, value: object = None) -> int | None:
    """Where a field (and, if given, one of its values) is written, for error messages."""
    lines = text.splitlines()
    start = next(
        # field = ..., "field" = ..., field.sub = ... or a [field] table header
        (i for i, line in enumerate(lines)
         if re.match(rf"^\s*(\[+\s*)?[\"']?{re.escape(field)}[\"']?\s*[=.\]]", line)),
        None,
    )
    if start is None:
        return None
    if isinstance(value, str):
        needle = value
        for i in range(start, len(lines)):
            if needle in lines[i]:
                return i + 1
    return start + 1


class _Where:
    def __init__(self, source: str, text: str) -> None:
        self.source, self.text = source, text

    def __call__(self, field: str, index: int | None = None, value: object = None) -> str:
        line = _line_of(self.text, field, value)
        place = f"{self.source}:{line}" if line else self.source
        return f"{place}: {field}" + (f"[{index}]" if index is not None else "")


def _string_list(data: dict[str, Any], field: str, where: _Where) -> list[str]:
    value = data.get(field, [])
    if not isinstance(value, list):
        raise UserError(f"{where(field)}: must be a list of strings, got {value!r}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise UserError(f"{where(field, index, item)}: {item!r} is not a string")
    return value


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def parse_profile(text: str, source: str, catalogue: ActionCatalogue) -> Profile:
    """Validate a profile completely; raise UserError naming the bad value and its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        detail = re.sub(r"\s*\(at .*\)$", "", message)
        if match:
            raise UserError(f"{source}:{match[1]}: invalid TOML: {detail}") from None
        opened = _open_array_line(text)
        if opened:
            raise UserError(
                f"{source}:{opened}: invalid TOML: the array that starts here is never closed"
            ) from None
        last = max(1, len(text.splitlines()))
        raise UserError(f"{source}:{last}: invalid TOML: {detail} at the end of the file") from None

    where = _Where(source, text)
    unknown = [name for name in data if name not in FIELDS]
    if unknown:
        raise UserError(
            f"{where(unknown[0])}: unknown field {unknown[0]!r} "
            f"(known fields: {', '.join(FIELDS)})"
        )
    if ("key" in data) == ("keys" in data):
        raise UserError(f"{source}: give exactly one of key = \"...\" or keys = [...]")
    if "key" in data:
        keys = [validate_key_ref(data["key"], where("key", None, data["key"]))]
    else:
        keys = _string_list(data, "keys", where)
        if not keys:
            raise UserError(f"{where('keys')}: the list of keys is empty")
        keys = [validate_key_ref(k, where("keys", i, k)) for i, k in enumerate(keys)]
    if len(set(keys)) != len(keys):
        duplicate = next(k for k in keys if keys.count(k) > 1)
        raise UserError(f"{where('keys', None, duplicate)}: {duplicate!r} is listed twice")

    if "accounts" not in data and "principals" not in data:
        raise UserError(
            f"{source}: give accounts = [...] and/or principals = [...] "
            "(empty lists revoke the access kmswizard manages)"
        )
    accounts = [
        validate_account(a, where("accounts", i, a))
        for i, a in enumerate(_string_list(data, "accounts", where))
    ]
    principals = [
        validate_principal(p, where("principals", i, p))
        for i, p in enumerate(_string_list(data, "principals", where))
    ]

    actions: tuple[str, ...] | None = None
    if "actions" in data:
        names = _string_list(data, "actions", where)
        if not names and (accounts or principals):
            raise UserError(
                f"{where('actions')}: the list is empty; leave actions out to get the "
                "key type's default actions"
            )
        canonical: list[str] = []
        for index, name in enumerate(names):
            try:
                canonical.append(catalogue.canonical(name))
            except UserError as exc:
                raise UserError(f"{where('actions', index, name)}: {exc}") from None
        actions = _unique(canonical)

    grants = data.get("grants_for_aws_resources", False)
    if not isinstance(grants, bool):
        raise UserError(
            f"{where('grants_for_aws_resources')}: must be true or false, got {grants!r}"
        )
    region = data.get("region")
    if region is not None and (not isinstance(region, str) or not REGION_RE.match(region)):
        raise UserError(f"{where('region')}: {region!r} is not an AWS region name")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise UserError(f"{where('description')}: must be a string, got {description!r}")

    return Profile(
        keys=tuple(keys),
        accounts=_unique(accounts),
        principals=_unique(principals),
        actions=actions,
        grants_for_aws_resources=grants,
        region=region,
        description=description,
    )


def load_profile(path: Path, catalogue: ActionCatalogue) -> Profile:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such profile file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the profile: {exc}") from None
    return parse_profile(text, str(path), catalogue)


def save_profile(profile: Profile, path: Path) -> None:
    atomic_write_text(Path(path), profile.to_toml())
