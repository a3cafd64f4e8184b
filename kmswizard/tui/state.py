"""What the user entered in the wizard, kept across Back and Next.

The screens read from and write to one WizardState; the ShareRequest and the Profile the
wizard plans and saves are built from it, so the wizard and ``kmswizard plan`` agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kmswizard.policy.actions import default_actions, key_type, shareable_actions
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.plan import Plan
from kmswizard.policy.sharing import ShareRequest
from kmswizard.profiles import Profile


def short_name(key: KeyInfo) -> str:
    """A file-name friendly name: the first alias without ``alias/``, else the key ID."""
    name = key.aliases[0].removeprefix("alias/") if key.aliases else key.key_id
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or key.key_id


@dataclass
class ActionChoices:
    """The checklist offered for the selected keys: every option, and the defaults."""

    options: tuple[str, ...]
    defaults: tuple[str, ...]
    mixed: bool  # keys of different types: unchanged defaults mean "each key's own"


@dataclass
class WizardState:
    region: str | None = None
    keys: list[KeyInfo] = field(default_factory=list)
    # How each selected key is named in a saved profile (alias, key ID or ARN), by key ARN.
    refs: dict[str, str] = field(default_factory=dict)
    accounts: list[str] = field(default_factory=list)
    principals: list[str] = field(default_factory=list)
    actions: tuple[str, ...] | None = None  # None: the key type's default actions
    grants: bool = False
    dry_run: bool = False
    description: str | None = None
    profile_path: Path | None = None
    # Set once the user (or a loaded profile) chose the principals / actions, so the current
    # managed access read from the key policy is no longer used to prefill them.
    who_chosen: bool = False
    what_chosen: bool = False
    prefilled_for: frozenset[str] = frozenset()
    pending_account: str = ""
    pending_principal: str = ""
    plan: Plan | None = None  # the plan on screen, not yet applied
    iam_policy_path: Path | None = None
    iam_policy_text: str | None = None  # what was saved there

    # -- keys -----------------------------------------------------------------------------

    def select_keys(self, keys: list[KeyInfo], refs: dict[str, str]) -> None:
        """Replace the selection; actions chosen for another key type go back to defaults."""
        before = {key_type(k.spec, k.usage) for k in self.keys}
        after = {key_type(k.spec, k.usage) for k in keys}
        self.keys = list(keys)
        self.refs = {k.arn: refs.get(k.arn) or self.refs.get(k.arn) or default_ref(k)
                     for k in keys}
        if before and before != after and not self._actions_fit():
            self.actions = None
            self.what_chosen = False

    def _actions_fit(self) -> bool:
        if self.actions is None:
            return True
        choices = self.action_choices()
        return set(self.actions) <= set(choices.options)

    @property
    def key_arns(self) -> frozenset[str]:
        return frozenset(k.arn for k in self.keys)

    @property
    def keys_label(self) -> str:
        if not self.keys:
            return "no key"
        names = ", ".join(k.name for k in self.keys[:3])
        more = len(self.keys) - 3
        return names + (f" and {more} more" if more > 0 else "")

    @property
    def owner_accounts(self) -> frozenset[str]:
        return frozenset(k.account for k in self.keys)

    # -- actions --------------------------------------------------------------------------

    def action_choices(self) -> ActionChoices:
        options: dict[str, None] = {}
        defaults: dict[str, None] = {}
        types = {key_type(k.spec, k.usage) for k in self.keys}
        for key in self.keys:
            options.update(dict.fromkeys(shareable_actions(key.spec, key.usage)))
            defaults.update(dict.fromkeys(default_actions(key.spec, key.usage)))
        for action in self.actions or ():
            options.setdefault(action, None)
        return ActionChoices(tuple(options), tuple(defaults), mixed=len(types) > 1)

    def effective_actions(self) -> tuple[str, ...]:
        return self.actions if self.actions is not None else self.action_choices().defaults

    def set_actions(self, selected: list[str]) -> None:
        """Store the checklist; the defaults are stored as None (as a profile leaves them out)."""
        choices = self.action_choices()
        ordered = tuple(a for a in choices.options if a in selected)
        self.actions = None if set(ordered) == set(choices.defaults) else ordered
        self.what_chosen = True

    # -- who ------------------------------------------------------------------------------

    @property
    def grantees(self) -> list[str]:
        return [*self.accounts, *self.principals]

    # -- the request and the profile ------------------------------------------------------

    def request(self) -> ShareRequest:
        return ShareRequest(
            accounts=tuple(self.accounts),
            principals=tuple(self.principals),
            actions=self.actions,
            grants_for_aws_resources=self.grants,
        )

    def profile(self, description: str | None = None) -> Profile:
        return Profile(
            keys=tuple(self.refs.get(k.arn) or default_ref(k) for k in self.keys),
            accounts=tuple(self.accounts),
            principals=tuple(self.principals),
            actions=self.actions,
            grants_for_aws_resources=self.grants,
            region=self.region,
            description=description if description is not None else self.description,
        )

    def apply_profile(self, profile: Profile, path: Path | None) -> None:
        """Take everything but the keys from a profile (the keys are resolved in a worker)."""
        if profile.region:
            self.region = profile.region
        self.accounts = list(profile.accounts)
        self.principals = list(profile.principals)
        self.actions = profile.actions
        self.grants = profile.grants_for_aws_resources
        self.description = profile.description
        self.profile_path = path
        self.who_chosen = True
        self.what_chosen = True
        self.pending_account = self.pending_principal = ""
        self.plan = None
        self.iam_policy_path = None
        self.iam_policy_text = None

    def base_name(self) -> str:
        return base_name(self.keys)

    def default_profile_path(self, cwd: Path) -> Path:
        if self.profile_path is not None:
            return self.profile_path
        return cwd / f"{self.base_name()}.toml"

    def default_iam_policy_path(self, cwd: Path) -> Path:
        return cwd / f"kmswizard-iam-policy-{self.base_name()}.json"


def base_name(keys: list[KeyInfo]) -> str:
    """What the wizard's files are named after: ``orders``, ``orders-and-2-more``."""
    if not keys:
        return "kmswizard"
    first = short_name(keys[0])
    return first if len(keys) == 1 else f"{first}-and-{len(keys) - 1}-more"


def default_ref(key: KeyInfo) -> str:
    """How a key is written in a profile: its alias (with the region), else its key ARN."""
    return key.aliases[0] if key.aliases else key.arn
