"""The handoff bundle: everything the external account's administrator needs, in one folder.

The IAM policy, the key ARNs (their console will not list another account's key), the aws CLI
commands to create and attach the policy and to verify access, and a README in plain words.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kmswizard.errors import UserError
from kmswizard.files import atomic_write_text
from kmswizard.policy.plan import Plan
from kmswizard.policy.principals import account_of


def policy_name(plan: Plan) -> str:
    """An IAM policy name that says what it is for (IAM allows [\\w+=,.@-], 128 characters)."""
    first = plan.keys[0].key.name.removeprefix("alias/")
    more = f"-and-{len(plan.keys) - 1}-more" if len(plan.keys) > 1 else ""
    owner = plan.keys[0].key.account
    return re.sub(r"[^\w+=,.@-]", "-", f"use-kms-{first}{more}-from-{owner}")[:128]


def _commands(plan: Plan, account: str, name: str) -> str:
    policy_arn = f"arn:{plan.keys[0].key.partition}:iam::{account}:policy/{name}"
    lines = [
        "#!/bin/sh",
        f"# Run in AWS account {account} with IAM administrator credentials.",
        "set -e",
        "",
        "# 1. Create the IAM policy from iam-policy.json (in this folder).",
        f"aws iam create-policy --policy-name {name} --policy-document file://iam-policy.json",
        "",
        "# 2. Attach it to the roles or users that will use the key(s).",
    ]
    named = sorted({p for k in plan.keys for p in k.principals if account_of(p) == account})
    specific = [p for p in named if not p.endswith(":root")]
    for arn in specific:
        kind, _, rest = arn.split(":", 5)[5].partition("/")
        flag = "--role-name" if kind == "role" else "--user-name"
        verb = "attach-role-policy" if kind == "role" else "attach-user-policy"
        lines.append(f"aws iam {verb} {flag} {rest.rsplit('/', 1)[-1]} --policy-arn {policy_arn}")
    if any(p.endswith(":root") for p in named):
        lines += [
            "# The key policy trusts the whole account: attach the policy to any role or user,",
            "# for example:",
            f"# aws iam attach-role-policy --role-name ROLE_NAME --policy-arn {policy_arn}",
        ]
    lines += ["", "# 3. Check access (run as one of those roles or users):"]
    for key_plan in plan.keys:
        key = key_plan.key
        lines.append(f"aws kms describe-key --key-id {key.arn} --region {key.region}")
    return "\n".join(lines) + "\n"


def _readme(plan: Plan, accounts: list[str], name: str) -> str:
    owner = plan.keys[0].key.account
    keys = "\n".join(
        f"- `{k.key.arn}` ({k.key.name}): {', '.join(k.actions)}" for k in plan.keys if k.principals
    )
    grants = any(k.grants for k in plan.keys)
    grants_text = (
        "The policy also lets AWS services (such as EBS, RDS or Redshift) create grants on the "
        "key for you, only when the grant is for an AWS resource (`kms:GrantIsForAWSResource`). "
        "Services that keep using a key for a resource (an encrypted volume, a database) need this."
        if grants
        else "AWS services that keep using a key for a resource (an encrypted EBS volume, an RDS "
        "database) need permission to create grants; ask the key owner to enable \"attachment of "
        "persistent resources\" if you need that."
    )
    return f"""# Using KMS keys shared with you by account {owner}

Account {owner} has changed the key policy of the keys below to allow your account
({", ".join(accounts)}). That alone gives nobody access yet: your IAM administrator must also
attach an IAM policy to the roles or users that will use the keys. Neither policy is enough on
its own.

## The keys

Your console will not list these keys, because they belong to another account: always name them
by their full key ARN (aliases of another account's keys do not work).

{keys}

The ARNs are also in `key-arns.txt`.

## What to do

1. Create an IAM policy from `iam-policy.json` (suggested name `{name}`).
2. Attach it to the roles or users that need the keys.
3. Check: as one of them, run `aws kms describe-key --key-id <key ARN>`.

`commands-<account>.sh` has these commands ready to run for each account.

## Good to know

- {grants_text}
- The IAM policy may allow less than the key policy, never more: actions the key policy does
  not allow have no effect.
- Every use of the keys is recorded in AWS CloudTrail in both accounts: yours and {owner}.
"""


def write_handoff(plan: Plan, out: Path) -> list[Path]:
    """Write the bundle into ``out`` (created if needed); return the files written."""
    if plan.blocked:
        raise UserError("the plan has errors; fix them before handing off an IAM policy")
    if plan.iam_policy is None:
        raise UserError("the profile grants no external access, so there is nothing to hand off")
    accounts = sorted({
        account
        for k in plan.keys
        for p in k.principals
        if (account := account_of(p)) is not None
    })
    name = policy_name(plan)
    files: dict[str, str] = {
        "iam-policy.json": json.dumps(plan.iam_policy, indent=2) + "\n",
        "key-arns.txt": "".join(f"{k.key.arn}\n" for k in plan.keys if k.principals),
        "README.md": _readme(plan, accounts, name),
    }
    for account in accounts:
        files[f"commands-{account}.sh"] = _commands(plan, account, name)
    written = []
    for filename, text in files.items():
        path = Path(out) / filename
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    return written
