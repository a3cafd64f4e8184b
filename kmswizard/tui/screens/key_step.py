"""Step 1: choose the key. Keys appear as soon as ListKeys and ListAliases answer; DescribeKey
fills in spec, usage, state and description behind, a few keys at a time in parallel, the rows
on screen first; the table takes the answers in batches (every 50 ms), so a region with
thousands of keys stays responsive, and so does the filter."""

from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, LoadingIndicator, Static

from kmswizard.errors import UserError
from kmswizard.policy.actions import key_type_label
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.keyrefs import validate_key_ref
from kmswizard.profiles import REGION_RE
from kmswizard.tui.messages import StateChanged
from kmswizard.tui.screens.base import WizardStep
from kmswizard.tui.widgets.key_table import Column, KeyTable

if TYPE_CHECKING:
    from kmswizard.aws.gateway import KeySummary, KmsGateway

DETAIL_WORKERS = 12  # DescribeKey calls in flight (KMS allows far more per second)
BATCH_SECONDS = 0.05  # how often the table takes the answers that arrived
AWS_MANAGED_REFUSAL = (
    "{name} is an AWS managed key: AWS owns its key policy, which cannot be changed. "
    "Share a customer managed key instead."
)


@dataclass
class Row:
    summary: KeySummary
    info: KeyInfo | None = None
    error: str | None = None
    haystack: str = field(default="", init=False, repr=False)
    """Everything the filter looks in, lower case: made when the row changes (as the
    details arrive, a batch at a time), so that a keystroke only searches."""

    def __post_init__(self) -> None:
        self.set_details(self.info, self.error)

    @property
    def key_id(self) -> str:
        return self.summary.key_id

    @property
    def aws_managed(self) -> bool:
        return self.summary.aws_managed or (self.info is not None and self.info.manager == "AWS")

    @property
    def name(self) -> str:
        return self.summary.aliases[0] if self.summary.aliases else self.summary.key_id

    def set_details(self, info: KeyInfo | None, error: str | None) -> None:
        self.info, self.error = info, error
        values = [self.summary.key_id, self.summary.arn, *self.summary.aliases]
        if info is not None:
            values += [info.description, info.spec, info.usage, info.state]
        self.haystack = "\n".join(values).lower()

    def matches(self, needle: str) -> bool:
        return not needle or needle.lower() in self.haystack


def settle_heap() -> None:
    """Exempt what is alive now (the listed keys, long-lived) from garbage collection: with
    thousands of keys, every full collection walks them all (100+ ms, measured at 5,000),
    and one would otherwise land on a keystroke. Freed rows still go by reference count."""
    gc.freeze()


def _sort_key(row: Row) -> tuple[bool, bool, str]:
    return (row.summary.aws_managed, not row.summary.aliases, row.name)


def alias_label(summary: KeySummary) -> str:
    """Aliases without the ``alias/`` prefix, as the AWS console lists them."""
    if not summary.aliases:
        return summary.key_id
    first = summary.aliases[0].removeprefix("alias/")
    more = len(summary.aliases) - 1
    return first + (f" +{more}" if more else "")


def state_label(row: Row) -> str:
    if row.aws_managed:
        return "not shareable"
    if row.error:
        return "unknown"
    if row.info is None:
        return "…"
    return {"Enabled": "enabled", "Disabled": "disabled",
            "PendingDeletion": "pending deletion"}.get(row.info.state, row.info.state)


NARROWEST = {"spec": 8, "usage": 8, "state": 8, "alias": 12}
Details = tuple[str, KeyInfo | None, str | None]  # key ID, DescribeKey's answer, or the error


class DetailFetcher:
    """DescribeKey for every listed key with a bounded pool of threads. Keys are taken in
    order; ``prioritize`` moves keys (those on screen) to the front. Answers pile up until
    the screen ``take``s them, so the screen updates once per batch, not once per key."""

    def __init__(self, gateway: KmsGateway, summaries: Iterable[KeySummary],
                 workers: int = DETAIL_WORKERS) -> None:
        self.gateway = gateway
        self.workers = workers
        self._summaries = {s.key_id: s for s in summaries}
        self._queue: deque[str] = deque(self._summaries)
        self._taken: set[str] = set()
        self._results: list[Details] = []
        self._lock = threading.Lock()
        self.cancelled = False

    def prioritize(self, key_ids: Iterable[str]) -> None:
        with self._lock:
            for key_id in reversed(list(key_ids)):
                if key_id in self._summaries and key_id not in self._taken:
                    self._queue.appendleft(key_id)

    def cancel(self) -> None:
        self.cancelled = True

    def take(self) -> list[Details]:
        with self._lock:
            results, self._results = self._results, []
        return results

    def _next(self) -> KeySummary | None:
        with self._lock:
            while self._queue and not self.cancelled:
                key_id = self._queue.popleft()
                if key_id not in self._taken:
                    self._taken.add(key_id)
                    return self._summaries[key_id]
        return None

    def _loop(self) -> None:
        while (summary := self._next()) is not None:
            info: KeyInfo | None = None
            error: str | None = None
            try:
                info = self.gateway.describe_summary(summary)
            except UserError as exc:
                error = str(exc)
            except Exception as exc:  # one key's details; never the whole list
                error = f"unexpected error: {type(exc).__name__}: {exc}"
            with self._lock:
                self._results.append((summary.key_id, info, error))

    def run(self) -> None:
        """Blocks until every key was described (or ``cancel``); run it in a thread worker."""
        count = max(1, min(self.workers, len(self._summaries)))
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="describe") as pool:
            for _ in range(count):
                pool.submit(self._loop)


class RefValidator(Validator):
    def validate(self, value: str) -> ValidationResult:
        try:
            validate_key_ref(value.strip(), "key")
        except UserError as exc:
            return self.failure(str(exc).removeprefix("key: "))
        return self.success()


class RegionValidator(Validator):
    def validate(self, value: str) -> ValidationResult:
        if REGION_RE.match(value.strip()):
            return self.success()
        return self.failure(f"{value.strip()!r} is not an AWS region name (like us-west-2)")


class KeyStep(WizardStep):
    STEP = 0
    AUTO_FOCUS = "#keys"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next"),
        # priority: run when the key is read, before the keys typed after it reach the list
        Binding("ctrl+f", "focus_field('filter')", "Filter", show=False, priority=True),
        Binding("slash", "focus_field('filter')", "Filter", key_display="/"),
        Binding("ctrl+r", "focus_field('region')", "Region", priority=True),
        Binding("ctrl+l", "app.load_profile", "Load"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, Row] = {}
        self.generation = 0
        self.listed_region: str | None = None
        self.pending_details = 0
        self._layout: tuple[tuple[str, int], ...] = ()
        self._accounts: list[str] = []
        self._widths = dict(NARROWEST)
        self._styles: dict[str, str] = {}
        self._fetcher: DetailFetcher | None = None
        self._batch_timer: Timer | None = None
        self._prioritized: tuple[str, ...] = ()
        self._typing_into: Input | None = None  # where keys typed on the list go
        # Keys marked with space (several keys); Enter on a row keeps them in the selection.
        self.marked: set[str] = set()

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="key-controls", classes="controls"):
            yield Label("Region", classes="field-label")
            # No select-on-focus: the characters typed on the list before the focus moves
            # here are already in the field (ctrl+r and / select all themselves).
            yield Input(self.state.region or "", id="region", placeholder="us-west-2",
                        compact=True, validators=[RegionValidator()], valid_empty=False,
                        validate_on=["submitted"], select_on_focus=False)
            yield Label("Filter", classes="field-label")
            yield Input(id="filter", placeholder="alias, key ID or description", compact=True,
                        select_on_focus=False)
        with Horizontal(id="key-status", classes="status-line"):
            yield LoadingIndicator(id="details-spinner")
            yield Static("listing keys…", id="key-count")
        yield KeyTable(self.cells_of, typed=self.typed_on_list, id="keys")
        yield Static("", id="key-details")
        with Horizontal(classes="controls"):
            yield Label("Key ARN", classes="field-label")
            yield Input(id="key-ref", compact=True, validators=[RefValidator()],
                        placeholder="a key in another account: arn:aws:kms:region:account:key/…")
        yield Static("", id="ref-error", classes="inline-error")
        with Horizontal(classes="nav"):
            yield Static("", id="selection")
            yield Button("Load profile…", id="load-profile", compact=True)
            yield Button("Next ▶", id="next", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        if len(self.state.keys) > 1:
            self.marked = set(self.state.key_arns)
        self.query_one("#details-spinner").display = False
        self.query_one("#ref-error").display = False
        self.app.theme_changed_signal.subscribe(self, lambda _: self.theme_changed())
        # Filter as the value changes (a watcher, not the Changed message): the rows are
        # rebuilt in the keystroke's own frame instead of a frame or two later.
        self.watch(self.query_one("#filter", Input), "value", self._filter, init=False)
        self.show_selection()
        # After the first frame: the listing's thread imports boto3 (and starts the demo's
        # moto), which would otherwise compete with the first paint for the interpreter.
        self.call_after_refresh(self.list_keys)

    def on_unmount(self) -> None:
        if self._fetcher is not None:
            self._fetcher.cancel()
        gc.unfreeze()  # what settle_heap exempted is collectable again (it may be garbage now)

    # -- listing --------------------------------------------------------------------------

    def list_keys(self, region: str | None = None) -> None:
        self.generation += 1
        generation = self.generation
        self.stop_details()
        table = self.query_one(KeyTable)
        table.loading = True
        self.query_one("#key-count", Static).update("listing keys…")
        wanted = region or self.state.region
        wizard = self.wizard

        def work() -> tuple[str, list[Row]]:
            gateway = wizard.gateway  # made here: boto3 is imported in this thread
            where = wanted or gateway.region
            # Rows (and their search text) made and sorted here, off the UI thread.
            rows = sorted((Row(s) for s in gateway.list_key_summaries(where)), key=_sort_key)
            return where, rows

        def done(result: tuple[str, list[Row]]) -> None:
            if generation != self.generation:
                return
            where, rows = result
            self.listed_region = where
            self.state.region = where
            self.query_one("#region", Input).value = where
            table.loading = False
            focused = self.focused
            if focused is None or focused.id == "region":
                table.focus()
            self.rows = {r.key_id: r for r in rows}
            self._accounts = sorted({r.summary.arn.split(":")[4] for r in rows})
            self._widths = dict(NARROWEST)
            self.measure(rows)
            self.render_rows()
            self.refresh_bindings()  # the table's keys (enter, space) work again
            settle_heap()
            self.fill_details(generation)

        def failed(_: BaseException) -> None:
            if generation != self.generation:
                return
            table.loading = False
            self.rows = {}
            self._accounts = []
            self._widths = dict(NARROWEST)
            self.render_rows()
            self.query_one("#key-count", Static).update(
                "could not list the keys (see the message): retry with ctrl+r and Enter, "
                "or enter a key ARN below"
            )

        self.wizard.run_job(self, work, name="list-keys", on_done=done, on_error=failed,
                            exclusive=True)

    def stop_details(self) -> None:
        if self._fetcher is not None:
            self._fetcher.cancel()
            self._fetcher = None
        if self._batch_timer is not None:
            self._batch_timer.stop()
            self._batch_timer = None
        self.pending_details = 0

    def fill_details(self, generation: int) -> None:
        """DescribeKey every listed key in the background: the rows on screen first, then
        the others in the table's order."""
        table = self.query_one(KeyTable)
        shown = table.row_keys
        order = [*table.visible_keys(), *shown, *self.rows]
        fetcher = DetailFetcher(self.wizard.gateway,
                                (self.rows[k].summary for k in dict.fromkeys(order)))
        self._fetcher = fetcher
        self._prioritized = tuple(table.visible_keys())
        self.pending_details = len(self.rows)
        self.show_count()
        if not self.rows:
            return
        self._batch_timer = self.set_interval(BATCH_SECONDS, lambda: self.take_details(generation))

        def work() -> None:
            fetcher.run()

        def done(_: None) -> None:
            if generation == self.generation:
                self.take_details(generation)

        self.wizard.run_job(self, work, name="key-details", on_done=done)

    def take_details(self, generation: int) -> None:
        """Take the DescribeKey answers that arrived since the last batch (the timer)."""
        fetcher = self._fetcher
        if fetcher is None or generation != self.generation:
            return
        table = self.query_one(KeyTable)
        visible = tuple(table.visible_keys())
        if visible != self._prioritized:  # scrolled or filtered: what is on screen first
            self._prioritized = visible
            fetcher.prioritize(k for k in visible if self.rows[k].info is None)
        results = fetcher.take()
        if not results:
            return
        changed = []
        for key_id, info, error in results:
            row = self.rows.get(key_id)
            if row is not None:
                row.set_details(info, error)
                changed.append(row)
        self.measure(changed)
        self.pending_details = max(0, self.pending_details - len(results))
        if self.pending_details == 0 and self._batch_timer is not None:
            self._batch_timer.stop()
            self._batch_timer = None
            settle_heap()
        needle = self.query_one("#filter", Input).value.strip()
        if needle or self.layout_changed():
            self.render_rows()  # descriptions can match the filter; columns can widen
        else:
            table.refresh()
            self.show_count()
            current = self.current_row()
            if current is not None and any(r[0] == current.key_id for r in results):
                self.show_details()

    def show_count(self) -> None:
        spinner = self.query_one("#details-spinner")
        count = self.query_one("#key-count", Static)
        total = len(self.rows)
        shown = self.query_one(KeyTable).row_count
        region = self.listed_region or "?"
        if len(self._accounts) == 1:
            region = f"{region} (account {self._accounts[0]})"
        if self.pending_details:
            spinner.display = True
            count.update(f"{total} keys in {region}; loading details… "
                         f"{total - self.pending_details}/{total}")
            return
        spinner.display = False
        if not total:
            count.update(f"no keys listed in {region}: change the region (ctrl+r) or enter "
                         "a key ARN below")
        elif shown != total:
            count.update(f"{shown} of {total} keys in {region} match the filter")
        else:
            count.update(f"{total} keys in {region} · enter: choose · space: mark several")

    # -- the table ------------------------------------------------------------------------

    def measure(self, rows: Iterable[Row]) -> None:
        """Widen the columns for these rows (kept per listing: a filter never narrows them)."""
        widths = self._widths
        for row in rows:
            info = row.info
            if info is not None:
                widths["spec"] = max(widths["spec"], len(info.spec))
                widths["usage"] = max(widths["usage"], len(info.usage))
            widths["state"] = max(widths["state"], len(state_label(row)))
            widths["alias"] = max(widths["alias"], len(alias_label(row.summary)))

    def _columns(self, width: int) -> tuple[tuple[str, int], ...]:
        widths = self._widths
        spec, usage, state, alias = (widths[k] for k in ("spec", "usage", "state", "alias"))
        need_alias = 2 + min(30, alias)
        fixed = spec + usage + state + 2 * 4
        available = max(14, width - fixed)
        alias = min(need_alias, available)
        rest = available - alias
        columns: list[tuple[str, int]] = [("alias", alias)]
        # Optional columns, as the width allows: description first, then the short key ID
        # (the full key ID and ARN are always in the details line under the table).
        key_id = rest >= 10 + 18
        if key_id:
            rest -= 10
            columns.append(("key_id", 9))
            rest -= 1
        description = rest - 2 if rest >= 18 else 0
        columns += [("spec", spec), ("usage", usage), ("state", state)]
        if description:
            columns.append(("description", description))
        return tuple(columns)

    LABELS: ClassVar[dict[str, str]] = {
        "alias": "  Alias", "key_id": "Key ID", "spec": "Spec", "usage": "Usage",
        "state": "State", "description": "Description",
    }

    def _table_width(self) -> int:
        table = self.query_one(KeyTable)
        return max(40, (table.size.width or self.app.size.width) - 1)

    def layout_changed(self) -> bool:
        return self._columns(self._table_width()) != self._layout

    def render_rows(self) -> None:
        """Show the rows matching the filter, in columns that fit (keeps the cursor's key)."""
        table = self.query_one(KeyTable)
        layout = self._columns(self._table_width())
        if layout != self._layout or not table.columns:
            self._layout = layout
            table.set_columns([Column(key, self.LABELS[key], size) for key, size in layout])
        needle = self.query_one("#filter", Input).value.strip().lower()
        if needle:
            table.set_rows([k for k, row in self.rows.items() if needle in row.haystack])
        else:
            table.set_rows(list(self.rows))
        self.show_count()
        self.show_details()

    def update_row(self, row: Row) -> None:
        if self.layout_changed():
            self.render_rows()
        else:
            self.query_one(KeyTable).refresh_key(row.key_id)

    def theme_changed(self) -> None:
        self._styles = {}
        self.render_rows()

    def _style(self, name: str) -> str:
        """A theme color (the theme's variables are computed once per theme, not per cell)."""
        if not self._styles:
            self._styles = self.app.get_css_variables()
        return self._styles.get(name, "")

    def cells_of(self, key_id: str) -> list[Text]:
        row = self.rows.get(key_id)
        return self.cells(row) if row is not None else []

    def cells(self, row: Row) -> list[Text]:
        selected = row.summary.arn in self.state.key_arns
        muted = "dim" if row.aws_managed else ""
        values: dict[str, Text] = {
            "alias": Text.assemble(
                ("✓ " if selected else "  ", f"bold {self._style('text-success')}"),
                (alias_label(row.summary), "bold" if selected else muted),
            ),
            "key_id": Text(row.summary.key_id[:8] + "…", style="dim"),
        }
        info = row.info
        values["spec"] = Text(info.spec if info else "…", style=muted)
        values["usage"] = Text(info.usage if info else "…", style=muted)
        state = state_label(row)
        state_style = {
            "not shareable": self._style("text-error"),
            "pending deletion": self._style("text-error"),
            "disabled": self._style("text-warning"),
            "unknown": self._style("text-warning"),
            "enabled": self._style("text-success"),
        }.get(state, "")
        values["state"] = Text(state, style=state_style)
        values["description"] = Text(info.description if info else "", style=muted)
        return [values[key] for key, _ in self._layout]

    def current_row(self) -> Row | None:
        key = self.query_one(KeyTable).cursor_key
        return self.rows.get(key) if key is not None else None

    def show_details(self) -> None:
        details = self.query_one("#key-details", Static)
        row = self.current_row()
        if row is None:
            details.update("")
            return
        lines = [row.summary.arn]
        if row.aws_managed:
            lines.append(f"{row.name}: AWS managed — not shareable (its key policy cannot be "
                         "changed)")
        elif row.error:
            lines.append(f"details unavailable: {row.error}")
        elif row.info is None:
            lines.append("loading details…")
        else:
            info = row.info
            parts = [f"{key_type_label(info.spec, info.usage)} key", info.state]
            if info.state == "PendingDeletion":
                parts[1] = "pending deletion: new access will be refused"
            elif info.state == "Disabled":
                parts[1] = "disabled: usable once enabled"
            if info.description:
                parts.append(info.description)
            lines.append(" · ".join(parts))
        details.update("\n".join(lines))

    @on(KeyTable.Highlighted, "#keys")
    def _highlighted(self, _: KeyTable.Highlighted) -> None:
        self.show_details()

    @on(KeyTable.Selected, "#keys")
    def _selected(self, event: KeyTable.Selected) -> None:
        row = self.rows.get(event.key)
        if row is not None:
            self.choose(row)

    @on(KeyTable.MarkRequested, "#keys")
    def _mark(self, _: KeyTable.MarkRequested) -> None:
        self.toggle_mark()

    def on_resize(self, _: events.Resize) -> None:
        if self.rows:
            self.call_after_refresh(self._relayout)

    def _relayout(self) -> None:
        if self.layout_changed():
            self.render_rows()

    def _filter(self) -> None:
        self.render_rows()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(KeyTable).focus()

    # -- choosing -------------------------------------------------------------------------

    def refuse(self, name: str) -> None:
        self.app.notify(AWS_MANAGED_REFUSAL.format(name=name), title="Not shareable",
                        severity="error", timeout=8)

    def with_shareable_info(self, row: Row, then: Callable[[KeyInfo], None]) -> None:
        """Call ``then(info)`` once the row's details are known (DescribeKey if needed), or
        refuse an AWS managed key (known from its alias, else from DescribeKey)."""
        if row.aws_managed:
            self.refuse(row.name)
            return

        def checked(info: KeyInfo) -> None:
            if info.manager == "AWS":
                self.refuse(info.name)
            else:
                then(info)

        if row.info is not None:
            checked(row.info)
            return
        gateway = self.gateway

        def done(info: KeyInfo) -> None:
            row.set_details(info, None)
            self.measure([row])
            self.update_row(row)
            checked(info)

        self.wizard.run_job(self, lambda: gateway.describe_summary(row.summary),
                            name="describe", on_done=done)

    def choose(self, row: Row) -> None:
        """Enter on a row: share this key (with the keys marked with space), go to step 2."""

        def go(info: KeyInfo) -> None:
            keys = [k for k in self.state.keys if k.arn in self.marked and k.arn != info.arn]
            self.state.select_keys([*keys, info], {})
            self.refresh_marks()
            self.go_next()

        self.with_shareable_info(row, go)

    def toggle_mark(self) -> None:
        """Space: add the highlighted key to the selection, or take it out."""
        row = self.current_row()
        if row is None:
            return

        def go(info: KeyInfo) -> None:
            # Everything ticked is part of the selection from now on.
            self.marked |= set(self.state.key_arns)
            if info.arn in self.state.key_arns:
                keys = [k for k in self.state.keys if k.arn != info.arn]
                self.marked.discard(info.arn)
            else:
                keys = [*self.state.keys, info]
                self.marked.add(info.arn)
            self.state.select_keys(keys, {})
            self.refresh_marks()

        self.with_shareable_info(row, go)

    def refresh_marks(self) -> None:
        self.query_one(KeyTable).refresh()
        self.show_selection()

    def show_selection(self) -> None:
        label = self.query_one("#selection", Static)
        keys = self.state.keys
        if len(keys) > 1:
            label.update(f"Selected: {len(keys)} keys ({', '.join(k.name for k in keys)})")
        elif keys:
            label.update(f"Selected: {keys[0].name}")
        else:
            label.update("Choose a key: enter on a row, or paste a key ARN")
        self.refresh_bindings()

    @on(Input.Changed, "#key-ref")
    def _ref_changed(self, event: Input.Changed) -> None:
        error = self.query_one("#ref-error", Static)
        failed = event.validation_result is not None and not event.validation_result.is_valid
        if event.value.strip() and failed and event.validation_result is not None:
            error.update("✖ " + "; ".join(event.validation_result.failure_descriptions))
            error.display = True
        else:
            error.display = False

    @on(Input.Submitted, "#key-ref")
    def _ref_submitted(self, event: Input.Submitted) -> None:
        ref = event.value.strip()
        if not ref:
            return
        try:
            validate_key_ref(ref, "key ARN")
        except UserError as exc:
            self.app.notify(str(exc), severity="error")
            return
        gateway, region = self.gateway, self.state.region

        def done(info: KeyInfo) -> None:
            if info.manager == "AWS":
                self.refuse(info.name)
                return
            self.state.select_keys([info], {info.arn: ref})
            self.marked = set()
            self.refresh_marks()
            self.query_one("#key-ref", Input).value = ""
            self.go_next()

        self.wizard.run_job(self, lambda: gateway.describe_key(ref, region), name="describe-ref",
                            on_done=done)

    @on(Input.Submitted, "#region")
    def _region_submitted(self, event: Input.Submitted) -> None:
        region = event.value.strip()
        if event.validation_result is not None and not event.validation_result.is_valid:
            self.app.notify("; ".join(event.validation_result.failure_descriptions),
                            severity="error")
            return
        self.state.region = region
        for key in self.state.keys:
            if key.region != region and not self.state.refs.get(key.arn, "").startswith("arn:"):
                self.state.refs[key.arn] = key.arn
        self.list_keys(region)
        self.query_one(KeyTable).focus()

    def on_state_changed(self, _: StateChanged) -> None:
        """A profile was loaded: list its region if needed, show its keys as selected."""
        self.marked = set(self.state.key_arns) if len(self.state.keys) > 1 else set()
        if self.state.region and self.state.region != self.listed_region:
            self.list_keys(self.state.region)
        else:
            self.refresh_marks()
        self.show_selection()

    def action_focus_field(self, field: str) -> None:
        widget = self.query_one(f"#{field}", Input)
        widget.focus()
        widget.select_all()
        self._typing_into = widget

    def typed_on_list(self, character: str) -> None:
        """Typing on the key list filters it. This also takes the characters typed right
        after / or ctrl+r that reach the list before the focus has moved (Textual moves it
        after the keys already read): they go to that field, none is lost."""
        target = self._typing_into or self.query_one("#filter", Input)
        selection = target.selection
        if selection.is_empty:
            target.insert_text_at_cursor(character)
        else:
            target.replace(character, *selection)
        target.focus()
        self._typing_into = target

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, KeyTable):
            self._typing_into = None

    # -- navigation -----------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        self.refresh_marks()

    @on(Button.Pressed, "#load-profile")
    def _load_pressed(self) -> None:
        self.wizard.action_load_profile()

    def action_next(self) -> None:
        if self.state.keys:
            self.go_next()
            return
        row = self.current_row()
        if row is None:
            self.app.notify("Choose a key first: enter on a row, or paste a key ARN",
                            severity="warning")
            return
        self.choose(row)

    def go_next(self) -> None:
        from kmswizard.tui.screens.who_step import WhoStep

        self.app.push_screen(WhoStep())
