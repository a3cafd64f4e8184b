"""The wizard application: one app, five steps, every AWS call in a thread worker.

``make_app`` builds the app for ``run_app`` (the command line) and for the tests.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from kmswizard.aws.options import AwsOptions
from kmswizard.errors import UserError
from kmswizard.files import atomic_write_text
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.profiles import Profile, save_profile
from kmswizard.tui.messages import StateChanged
from kmswizard.tui.state import WizardState, base_name

if TYPE_CHECKING:
    # boto3 (and moto for the demo) are imported by the first AWS call, in a worker thread,
    # after the first frame: see WizardApp.gateway.
    from kmswizard.aws.gateway import KmsGateway
    from kmswizard.policy.plan import Plan

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


def error_text(error: BaseException | None) -> str:
    """The one line a user sees for a failure: the AWS message in plain words."""
    if isinstance(error, UserError):
        return str(error)
    if error is None:
        return "unexpected error"
    return f"unexpected error: {type(error).__name__}: {error}"


@dataclass
class Job:
    owner: Screen[Any] | App[Any]
    on_done: Done | None
    on_error: Failed | None


class WizardApp(App[int]):
    CSS_PATH = Path(__file__).with_name("wizard.tcss")
    TITLE = "kmswizard"
    ENABLE_COMMAND_PALETTE = True  # ctrl+p: themes (light/dark), keys; not in the footer
    # Textual declares it as a plain class attribute; the screens get -narrow or -wide.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "request_quit", "Quit", priority=True),
        Binding("ctrl+d", "toggle_dry_run", "Dry run", priority=True),
    ]

    dry_run: reactive[bool] = reactive(False)

    def __init__(
        self,
        options: AwsOptions,
        profile: Profile | None = None,
        profile_path: Path | None = None,
        dry_run: bool = False,
        cwd: Path | None = None,
        steady: bool = False,
        gateway: KmsGateway | None = None,
    ) -> None:
        super().__init__()
        self.options = options
        self._gateway = gateway
        self._gateway_lock = threading.Lock()
        self.cwd = Path.cwd() if cwd is None else Path(cwd)
        self.state = WizardState(region=options.region, dry_run=dry_run)
        self.initial_profile = profile
        self.initial_profile_path = profile_path
        self.steady = steady
        self.apply_running = False
        self._jobs: dict[Worker[Any], Job] = {}
        self.set_reactive(WizardApp.dry_run, dry_run)
        if steady:
            self.animation_level = "none"
        self.sub_title = (
            "demo — nothing leaves this machine" if options.demo
            else self._aws_label()
        )

    @property
    def gateway(self) -> KmsGateway:
        """The KMS gateway, made on first use (it imports boto3: a worker thread's first AWS
        call pays for that, not the first frame). Thread-safe."""
        if self._gateway is None:
            with self._gateway_lock:
                if self._gateway is None:
                    from kmswizard.aws.gateway import KmsGateway

                    self._gateway = KmsGateway(self.options)
        return self._gateway

    def _aws_label(self) -> str:
        parts = []
        if self.options.aws_profile:
            parts.append(f"AWS profile {self.options.aws_profile}")
        if self.options.endpoint_url:
            parts.append(self.options.endpoint_url)
        return " · ".join(parts)

    # -- start ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        from kmswizard.tui.screens.key_step import KeyStep

        self.push_screen(KeyStep())
        if self.initial_profile is not None:
            self.load_profile(self.initial_profile, self.initial_profile_path)

    # -- workers --------------------------------------------------------------------------

    def run_job(
        self,
        owner: Screen[Any] | App[Any],
        work: Callable[[], Any],
        *,
        name: str,
        on_done: Done | None = None,
        on_error: Failed | None = None,
        group: str | None = None,
        exclusive: bool = False,
    ) -> Worker[Any]:
        """Run ``work`` in a thread; call back on the app's thread when it ends (if the owner
        screen is still there). Errors always become a notification, never a traceback."""
        worker: Worker[Any] = self.run_worker(
            work, name=name, group=group or name, thread=True, exit_on_error=False,
            exclusive=exclusive,
        )
        self._jobs[worker] = Job(owner, on_done, on_error)
        return worker

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        job = self._jobs.get(event.worker)
        if job is None or event.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        del self._jobs[event.worker]
        alive = job.owner is self or job.owner in self.screen_stack
        if event.state == WorkerState.ERROR:
            self.notify(error_text(event.worker.error), title="Error", severity="error",
                        timeout=12)
            if alive and job.on_error is not None:
                job.on_error(event.worker.error or RuntimeError("unknown"))
        elif event.state == WorkerState.SUCCESS and alive and job.on_done is not None:
            try:
                job.on_done(event.worker.result)
            except UserError as exc:
                self.notify(str(exc), title="Error", severity="error", timeout=12)

    def _fatal_error(self) -> None:
        """An unexpected exception escaped a handler: Textual ends the app and prints a
        traceback; the wizard prints one line instead (KMSWIZARD_DEBUG=1 shows the traceback),
        like the headless commands. Overrides a private hook of Textual (pinned < 9)."""
        if os.environ.get("KMSWIZARD_DEBUG"):
            super()._fatal_error()
            return
        self.bell()
        self._exit_renderables.append(Text(
            f"kmswizard: internal error: {type(self._exception).__name__}: {self._exception} "
            "(set KMSWIZARD_DEBUG=1 to see the traceback)"
        ))
        self._close_messages_no_wait()

    # -- dry run, quit ----------------------------------------------------------------------

    def watch_dry_run(self, dry_run: bool) -> None:
        self.state.dry_run = dry_run

    def action_toggle_dry_run(self) -> None:
        self.dry_run = not self.dry_run
        self.notify(
            "Dry run on: Apply shows what would be sent and writes nothing"
            if self.dry_run else "Dry run off: Apply writes the key policy",
            timeout=4,
        )

    @property
    def apply_pending(self) -> bool:
        plan = self.state.plan
        return self.apply_running or (
            plan is not None and plan.changed and not plan.blocked and not self.dry_run
        )

    def action_request_quit(self) -> None:
        from kmswizard.tui.screens.quit_confirm import QuitConfirm

        if isinstance(self.screen, QuitConfirm):
            self.exit(0)
            return
        if not self.apply_pending:
            self.exit(0)
            return

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.exit(0)

        self.push_screen(QuitConfirm(running=self.apply_running), answered)

    # -- profiles ---------------------------------------------------------------------------

    def action_load_profile(self) -> None:
        from kmswizard.tui.screens.load_profile import LoadProfile

        def chosen(result: tuple[Profile, Path] | None) -> None:
            if result is not None:
                self.load_profile(*result)

        self.push_screen(LoadProfile(self.cwd), chosen)

    def load_profile(self, profile: Profile, path: Path | None) -> None:
        """Prefill every step from a profile; its keys are resolved with DescribeKey."""
        self.state.apply_profile(profile, path)
        region = self.state.region

        def work() -> list[KeyInfo]:
            from kmswizard.workflow import resolve_keys

            return resolve_keys(self.gateway, profile.keys, region or self.gateway.region)

        def done(keys: list[KeyInfo]) -> None:
            managed = [k for k in keys if k.manager == "AWS"]
            if managed:
                self.notify(
                    f"{managed[0].name} is an AWS managed key: its key policy cannot be changed",
                    severity="error",
                )
            refs = dict(zip((k.arn for k in keys), profile.keys, strict=True))
            self.state.select_keys([k for k in keys if k.manager != "AWS"], refs)
            self.back_to_first_step()
            self.screen.post_message(StateChanged("profile"))
            where = f" from {path.name}" if path else ""
            self.notify(
                f"Profile loaded{where}: every step is prefilled; review them with ctrl+n",
                title="Profile", timeout=4,
            )

        self.run_job(self, work, name="resolve-profile", on_done=done)

    def back_to_first_step(self) -> None:
        from kmswizard.tui.screens.key_step import KeyStep

        while not isinstance(self.screen, KeyStep) and len(self.screen_stack) > 2:
            self.pop_screen()

    def save_profile_dialog(self) -> None:
        from kmswizard.tui.screens.save_profile import SaveProfile

        if not self.state.keys:
            self.notify("choose a key first", severity="warning")
            return

        def chosen(result: tuple[Path, str] | None) -> None:
            if result is None:
                return
            path, description = result
            profile = self.state.profile(description or None)
            try:
                save_profile(profile, path)
            except OSError as exc:
                self.notify(f"cannot write {path}: {exc.strerror or exc}", severity="error")
                return
            self.state.description = description or None
            self.state.profile_path = path
            self.notify(f"Profile saved to {self.display_path(path)}", title="Saved")

        self.push_screen(
            SaveProfile(self.state.default_profile_path(self.cwd), self.state.description or ""),
            chosen,
        )

    # -- the IAM policy ---------------------------------------------------------------------

    def iam_policy_text(self, plan: Plan | None = None) -> str | None:
        plan = plan or self.state.plan
        if plan is None or plan.iam_policy is None:
            return None
        return json.dumps(plan.iam_policy, indent=2) + "\n"

    def save_iam_policy(self, text: str, quiet: bool = False) -> Path | None:
        path = self.state.default_iam_policy_path(self.cwd)
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            self.notify(f"cannot write {path}: {exc.strerror or exc}", severity="error")
            return None
        self.state.iam_policy_path = path
        self.state.iam_policy_text = text
        if not quiet:
            self.notify(f"IAM policy saved to {self.display_path(path)}", title="Saved")
        return path

    # -- the external administrator: check an IAM policy, the handoff bundle -----------------

    def check_iam_policy(self, plan: Plan, applied: bool) -> None:
        from kmswizard.tui.screens.check_iam import CheckIamPolicy

        self.push_screen(CheckIamPolicy(plan, applied))

    def handoff_folder(self, plan: Plan) -> Path:
        return self.cwd / f"kmswizard-handoff-{base_name([k.key for k in plan.keys])}"

    def write_handoff_bundle(self, plan: Plan) -> None:
        """kmswizard.handoff.write_handoff into ./kmswizard-handoff-<key>/, in a worker."""
        from kmswizard.handoff import write_handoff

        folder = self.handoff_folder(plan)

        def done(files: list[Path]) -> None:
            self.notify(f"Handoff bundle written to {self.display_path(folder)}/ "
                        f"({len(files)} files): send the folder to the external administrator",
                        title="Handoff", timeout=10)

        self.run_job(self.screen, lambda: write_handoff(plan, folder), name="handoff",
                     on_done=done)

    def display_path(self, path: Path) -> str:
        try:
            return f"./{path.relative_to(self.cwd)}"
        except ValueError:
            return str(path)


def make_app(
    options: AwsOptions,
    profile: Profile | None = None,
    profile_path: Path | None = None,
    dry_run: bool = False,
    cwd: Path | None = None,
    steady: bool = False,
) -> WizardApp:
    """The wizard; ``steady`` turns animations and the cursor blink off (for snapshots)."""
    return WizardApp(options, profile, profile_path, dry_run, cwd, steady)


def run_app(
    options: AwsOptions, profile: Profile | None, profile_path: Path | None, dry_run: bool
) -> int:
    app = make_app(options, profile, profile_path, dry_run)
    result = app.run()
    return app.return_code or int(result or 0)
