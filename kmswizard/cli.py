"""The command line: plan / apply / iam-policy / keys, and the wizard when no command is given.

Exit status: 0 success (nothing to change), 2 changes pending (plan, apply --dry-run),
1 error (bad input, AWS error, a finding that blocks the change, a failed key).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kmswizard import __version__
from kmswizard.errors import UserError

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
COMMANDS = ("plan", "apply", "iam-policy", "keys", "history", "rollback", "check", "handoff")


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 1 like every other error."""

    def error(self, message: str) -> Any:
        raise UserError(f"{message} (see {self.prog} --help)")


def _common(parser: argparse.ArgumentParser, inherit: bool) -> None:
    """AWS options, accepted before or after the subcommand."""
    default: Any = argparse.SUPPRESS if inherit else None
    group = parser.add_argument_group("AWS")
    group.add_argument("--region", default=default, help="AWS region (else the profile's, "
                       "else the AWS configuration's)")
    group.add_argument("--aws-profile", metavar="NAME", default=default,
                       help="AWS named profile (also AWS_PROFILE)")
    group.add_argument("--endpoint-url", metavar="URL", default=default,
                       help="KMS endpoint (also AWS_ENDPOINT_URL)")
    group.add_argument("--demo", action="store_true",
                       default=argparse.SUPPRESS if inherit else False,
                       help="use the embedded in-memory demo KMS; nothing leaves this machine")
    parser.add_argument("--version", action="version", version=f"kmswizard {__version__}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kmswizard",
        description="Share an AWS KMS key with other AWS accounts, safely. Without a command, "
        "opens the wizard (optionally prefilled from PROFILE.toml).",
        allow_abbrev=False,
        epilog="exit status: 0 nothing to change, 2 changes pending, 1 error",
    )
    _common(parser, inherit=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        _common(p, inherit=True)
        return p

    plan = command("plan", "show what apply would change (exit 2 when changes are pending)")
    plan.add_argument("profile", type=Path, metavar="PROFILE")
    plan.add_argument("--json", action="store_true", help="print one JSON object")
    plan.add_argument("--concurrency", type=int, metavar="N",
                      help="keys read in parallel (default 10)")

    apply = command("apply", "apply a profile to the key policies with PutKeyPolicy")
    apply.add_argument("profile", type=Path, metavar="PROFILE")
    apply.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    apply.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    apply.add_argument("--json", action="store_true", help="print one JSON object")
    apply.add_argument("--concurrency", type=int, metavar="N",
                       help="keys read and written in parallel (default 10)")
    apply.add_argument("--put-rate", type=float, metavar="N",
                       help="PutKeyPolicy calls per second per region (default 15, KMS's "
                       "default quota; raise it only if your account's quota was raised, "
                       "lower it to leave room for other tools)")
    apply.add_argument("--wait-for-principals", type=float, default=0.0, metavar="SECONDS",
                       help="when KMS does not yet see a just-created role or user, retry for "
                       "up to SECONDS (IAM propagation)")

    iam = command("iam-policy", "print the IAM policy the external administrator attaches")
    iam.add_argument("profile", type=Path, metavar="PROFILE")

    check = command("check", "show what an external principal can really do with a key "
                    "(key policy and IAM policy together); exit 0 when every checked action is "
                    "allowed, 2 otherwise")
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument("--key", metavar="KEY", help="read the key policy of this key from AWS")
    source.add_argument("--key-policy", metavar="FILE", type=Path,
                        help="a key policy JSON file (offline; give the key's ARN with --key-arn)")
    check.add_argument("--key-arn", metavar="ARN", help="the key's ARN, with --key-policy")
    check.add_argument("--principal", metavar="ARN", required=True,
                       help="the external role or user ARN to check")
    check.add_argument("--iam-policy", metavar="FILE", type=Path, action="append", default=[],
                       help="an IAM policy attached to the principal (repeatable)")
    check.add_argument("--action", metavar="ACTION", action="append", default=[],
                       help="check these actions (repeatable; default: those the IAM policies "
                       "list, else those the key policy grants)")
    check.add_argument("--context", metavar="KEY=VALUE", action="append", default=[],
                       help="a request context value for conditions, e.g. "
                       "kms:GrantIsForAWSResource=true (repeatable)")
    check.add_argument("--json", action="store_true", help="print one JSON object")

    handoff = command("handoff", "write the bundle the external account's administrator needs")
    handoff.add_argument("profile", type=Path, metavar="PROFILE")
    handoff.add_argument("--out", type=Path, metavar="DIR", required=True,
                         help="folder to write into (created if needed)")

    history = command("history", "list the saved backups of a key's policy")
    history.add_argument("key", metavar="KEY", help="key ID, key ARN, alias or alias ARN")
    history.add_argument("--json", action="store_true", help="print JSON")

    rollback = command("rollback", "restore a saved key policy (default: the latest backup)")
    rollback.add_argument("key", metavar="KEY", help="key ID, key ARN, alias or alias ARN")
    rollback.add_argument("--to", metavar="BACKUP", help="backup ID (see history) or file")
    rollback.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rollback.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    rollback.add_argument("--json", action="store_true", help="print one JSON object")

    keys = command("keys", "list the KMS keys in the region")
    keys.add_argument("--json", action="store_true", help="print JSON")
    return parser


def build_wizard_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kmswizard", allow_abbrev=False)
    _common(parser, inherit=False)
    parser.add_argument("profile", type=Path, nargs="?", metavar="PROFILE.toml")
    parser.add_argument("--dry-run", action="store_true")
    return parser


def _options(args: argparse.Namespace) -> Any:
    from kmswizard.aws.options import PUT_KEY_POLICY_QUOTA, AwsOptions

    if args.demo and (args.endpoint_url or args.aws_profile):
        raise UserError("--demo uses the embedded KMS; it cannot be combined with "
                        "--endpoint-url or --aws-profile")
    if args.demo and args.region and args.region != "us-west-2":
        raise UserError(f"--region {args.region}: the demo account lives in us-west-2")
    put_rate = getattr(args, "put_rate", None)
    if put_rate is None:
        put_rate = PUT_KEY_POLICY_QUOTA
    elif not 0.1 <= put_rate <= 1000:  # also refuses nan
        raise UserError(f"--put-rate {put_rate:g}: give 0.1 to 1000 calls per second")
    return AwsOptions(
        region=args.region,
        aws_profile=args.aws_profile,
        endpoint_url=None if args.demo else args.endpoint_url,
        demo=args.demo,
        put_rate=put_rate,
    )


def _use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _load(path: Path) -> Any:
    from kmswizard.aws.catalogue import kms_catalogue
    from kmswizard.profiles import load_profile

    return load_profile(path, kms_catalogue())


def _gateway(args: argparse.Namespace) -> Any:
    from kmswizard.aws.demo import DEMO_NOTICE
    from kmswizard.aws.gateway import KmsGateway

    options = _options(args)
    if options.demo:
        _say(DEMO_NOTICE)
    return KmsGateway(options)


class _ProgressBar:
    """A one-line progress bar on a terminal's stderr; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total < 2:
            return
        filled = round(24 * done / total)
        sys.stderr.write(f"\r{stage:<22} [{'#' * filled}{'.' * (24 - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _concurrency(args: argparse.Namespace) -> int:
    from kmswizard.workflow import DEFAULT_CONCURRENCY

    value = getattr(args, "concurrency", None)
    if value is None:
        value = DEFAULT_CONCURRENCY
    if not 1 <= value <= 64:
        raise UserError(f"--concurrency {value}: give 1 to 64")
    return int(value)


def _plan(args: argparse.Namespace, gateway: Any) -> Any:
    from kmswizard.workflow import build_plan

    profile = _load(args.profile)
    return build_plan(gateway, profile, _ProgressBar(), _concurrency(args))


def _print_plan(plan: Any, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    from kmswizard.report import render_plan

    if as_json:
        print(json.dumps({**plan.as_dict(), **(extra or {})}, indent=2))
    else:
        print(render_plan(plan, _use_color()))


def _blocked_message(plan: Any) -> str:
    errors = [f"{k.key.name}: {f.message}" for k in plan.keys for f in k.findings
              if f.severity == "error"]
    return f"the plan has {len(errors)} error(s); nothing written. First: {errors[0]}"


def cmd_plan(args: argparse.Namespace) -> int:
    plan = _plan(args, _gateway(args))
    _print_plan(plan, args.json)
    if plan.blocked:
        raise UserError(_blocked_message(plan))
    return EXIT_CHANGES if plan.changed else EXIT_OK


def _confirm(plan: Any) -> bool:
    names = ", ".join(k.key.name for k in plan.keys if k.changed)
    sys.stderr.write(f"Apply the changes above to {names}? Type 'yes' to apply: ")
    sys.stderr.flush()
    try:
        return input().strip().lower() == "yes"
    except EOFError:
        return False


def _execute(gateway: Any, plan: Any, args: argparse.Namespace, reason: str) -> int:
    """Show, confirm and apply a plan: shared by apply and rollback."""
    from kmswizard.workflow import apply_plan

    wait = getattr(args, "wait_for_principals", 0.0)
    if plan.blocked:
        _print_plan(plan, args.json)
        raise UserError(_blocked_message(plan))
    if args.dry_run or not plan.changed:
        # Audited either way (one line per key): a dry run, or an apply with nothing to change
        # (which calls no AWS write: every key is "unchanged").
        outcomes = apply_plan(gateway, plan, dry_run=args.dry_run, reason=reason)
        _print_plan(plan, args.json, {"dry_run": args.dry_run,
                                      "applied": [o.as_dict() for o in outcomes]})
        _say("dry run: nothing was written" if args.dry_run else "nothing to change")
        return EXIT_CHANGES if plan.changed and args.dry_run else EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            _print_plan(plan, args.json)
            raise UserError("refusing to apply without confirmation: not on a terminal; "
                            "review the plan and pass --yes")
        from kmswizard.report import render_plan

        review = render_plan(plan, _use_color())
        print(review, file=sys.stderr if args.json else sys.stdout)
        if not _confirm(plan):
            raise UserError("not confirmed; nothing was written")
    outcomes = apply_plan(gateway, plan, progress=_ProgressBar(), wait_for_principals=wait,
                          reason=reason, concurrency=_concurrency(args))
    if args.json:
        _print_plan(plan, True, {"dry_run": False, "applied": [o.as_dict() for o in outcomes]})
    elif args.yes:
        _print_plan(plan, False)
    for outcome in outcomes:
        _say(f"{outcome.status}: {outcome.message}")
        if outcome.backup:
            _say(f"    previous policy saved to {outcome.backup}")
    return EXIT_ERROR if any(o.status == "failed" for o in outcomes) else EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    if args.wait_for_principals < 0 or args.wait_for_principals > 900:
        raise UserError("--wait-for-principals: give 0 to 900 seconds")
    gateway = _gateway(args)
    return _execute(gateway, _plan(args, gateway), args, "apply")


def _read_policy_file(path: Path) -> Any:
    from kmswizard.policy.document import parse_policy

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    return parse_policy(text, str(path))


def _context(pairs: Sequence[str]) -> dict[str, list[str]] | None:
    context: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--context {pair!r}: expected KEY=VALUE, e.g. "
                            "kms:GrantIsForAWSResource=true")
        context.setdefault(name.strip().lower(), []).append(value)
    return context or None


def cmd_check(args: argparse.Namespace) -> int:
    from kmswizard.aws.catalogue import kms_catalogue
    from kmswizard.policy.check import check_access
    from kmswizard.policy.keyrefs import KEY_ARN_RE
    from kmswizard.policy.principals import validate_principal
    from kmswizard.report import render_check

    validate_principal(args.principal, "--principal")
    catalogue = kms_catalogue()
    actions = [catalogue.canonical(a) for a in args.action]
    iam = [_read_policy_file(p) for p in args.iam_policy] or None
    context = _context(args.context)
    if args.key_policy:
        if not args.key_arn or not KEY_ARN_RE.match(args.key_arn):
            raise UserError("--key-policy needs --key-arn with the key's ARN "
                            "(arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)")
        key_policy, key_arn = _read_policy_file(args.key_policy), args.key_arn
    else:
        from kmswizard.policy.document import parse_policy

        gateway = _gateway(args)
        key = gateway.describe_key(args.key)
        key_arn = key.arn
        key_policy = parse_policy(gateway.get_policy(key), f"the key policy of {key.arn}")
    result = check_access(key_policy, key_arn, args.principal, iam, catalogue, actions, context)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(render_check(result))
    return EXIT_OK if result.complete else EXIT_CHANGES


def cmd_handoff(args: argparse.Namespace) -> int:
    from kmswizard.handoff import write_handoff

    gateway = _gateway(args)
    plan = _plan(args, gateway)
    files = write_handoff(plan, args.out)
    if plan.changed:
        _say("note: the key policy changes in this profile are not applied yet: run "
             f"kmswizard apply {args.profile} before the external administrator starts")
    for path in files:
        print(path)
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from kmswizard.workflow import key_history

    key, backups = key_history(_gateway(args), args.key)
    if args.json:
        print(json.dumps([
            {"id": b.backup_id, "taken_at": b.taken_at, "caller_arn": b.caller_arn,
             "reason": b.reason, "path": str(b.path)} for b in backups
        ], indent=2))
        return EXIT_OK
    if not backups:
        _say(f"no backups of {key.name} yet: kmswizard saves one before every change it applies")
        return EXIT_OK
    print(f"Backups of {key.name} ({key.arn}), oldest first:")
    for backup in backups:
        print(f"  {backup.backup_id}  {backup.reason:<8}  {backup.caller_arn}  {backup.path}")
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    from kmswizard.workflow import plan_rollback

    gateway = _gateway(args)
    plan, backup = plan_rollback(gateway, args.key, args.to)
    _say(f"restoring the key policy saved at {backup.taken_at} ({backup.path})")
    return _execute(gateway, plan, args, "rollback")


def cmd_iam_policy(args: argparse.Namespace) -> int:
    plan = _plan(args, _gateway(args))
    if plan.blocked:
        raise UserError(_blocked_message(plan))
    if plan.iam_policy is None:
        raise UserError("the profile grants no external access, so there is no IAM policy "
                        "to attach")
    print(json.dumps(plan.iam_policy, indent=2))
    return EXIT_OK


def cmd_keys(args: argparse.Namespace) -> int:
    from kmswizard.report import key_as_dict, render_keys

    keys = _gateway(args).list_keys()
    if args.json:
        print(json.dumps([key_as_dict(k) for k in keys], indent=2))
    else:
        print(render_keys(keys))
    return EXIT_OK


def run_wizard(argv: Sequence[str]) -> int:
    args = build_wizard_parser().parse_args(argv)
    from kmswizard.tui.app import run_app

    profile = _load(args.profile) if args.profile else None
    return run_app(_options(args), profile=profile, profile_path=args.profile,
                   dry_run=args.dry_run)


_VALUED = (
    "--region", "--aws-profile", "--endpoint-url", "--to", "--wait-for-principals", "--key",
    "--key-policy", "--key-arn", "--principal", "--iam-policy", "--action", "--context", "--out",
    "--concurrency", "--put-rate",
)


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand, if the first positional argument is one (option values skipped)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


HANDLERS = {
    "plan": cmd_plan,
    "apply": cmd_apply,
    "iam-policy": cmd_iam_policy,
    "keys": cmd_keys,
    "history": cmd_history,
    "check": cmd_check,
    "handoff": cmd_handoff,
    "rollback": cmd_rollback,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if any(a == "--profile" or a.startswith("--profile=") for a in argv):
            raise UserError(
                "there is no --profile option: use --aws-profile NAME for an AWS named "
                "profile; give a kmswizard profile file as an argument (kmswizard plan FILE)"
            )
        if _command_of(argv) or "-h" in argv or "--help" in argv or "--version" in argv:
            args = build_parser().parse_args(argv)
            if args.command:
                return HANDLERS[args.command](args)
        return run_wizard(argv)
    except UserError as exc:
        _say(f"kmswizard: error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("kmswizard: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as other CLI tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:
        if os.environ.get("KMSWIZARD_DEBUG"):
            raise
        _say(f"kmswizard: internal error: {type(exc).__name__}: {exc} "
             "(set KMSWIZARD_DEBUG=1 to see the traceback)")
        return EXIT_ERROR
