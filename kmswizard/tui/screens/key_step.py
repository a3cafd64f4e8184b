"""Step 1: choose the key. Keys appear as soon as ListKeys answers; DescribeKey fills in
spec, usage, state and description behind, in a worker."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, DataTable, Input, Label, LoadingIndicator, Static
from textual.worker import get_current_worker

from kmswizard.aws.gateway import KeySummary
from kmswizard.errors import UserError
from kmswizard.policy.actions import key_type_label
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.keyrefs import validate_key_ref
from kmswizard.profiles import REGION_RE
from kmswizard.tui.messages import KeyDetails, StateChanged
from kmswizard.tui.screens.base import WizardStep

DETAIL_WORKERS = 8
AWS_MANAGED_REFUSAL = (
    "{name} is an AWS managed key: AWS owns its key policy, which cannot be changed. "
    "Share a customer managed key instead."
)


@dataclass
class Row:
    summary: KeySummary
    info: KeyInfo | None = None
    error: str | None = None

    @property
    def key_id(self) -> str:
        return self.summary.key_id

    @property
    def aws_managed(self) -> bool:
        return self.summary.aws_managed or (self.info is not None and self.info.manager == "AWS")

    @property
    def name(self) -> str:
        return self.summary.aliases[0] if self.summary.aliases else self.summary.key_id

    def matches(self, needle: str) -> bool:
        if not needle:
            return True
        haystack = [self.summary.key_id, self.summary.arn, *self.summary.aliases]
        if self.info is not None:
            haystack += [self.info.description, self.info.spec, self.info.usage, self.info.state]
        return any(needle.lower() in value.lower() for value in haystack)


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


class KeyTable(DataTable[Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Choose"),
        Binding("space", "mark", "Mark"),
    ]

    def action_mark(self) -> None:
        screen = self.screen
        if isinstance(screen, KeyStep):
            screen.toggle_mark()


class KeyStep(WizardStep):
    STEP = 0
    AUTO_FOCUS = "#keys"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next"),
        Binding("ctrl+f", "focus_field('filter')", "Filter", show=False),
        Binding("slash", "focus_field('filter')", "Filter", key_display="/"),
        Binding("ctrl+r", "focus_field('region')", "Region"),
        Binding("ctrl+l", "app.load_profile", "Load"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, Row] = {}
        self.generation = 0
        self.listed_region: str | None = None
        self.pending_details = 0
        self._layout: tuple[tuple[str, int], ...] = ()
        # Keys marked with space (several keys); Enter on a row keeps them in the selection.
        self.marked: set[str] = set()

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="key-controls", classes="controls"):
            yield Label("Region", classes="field-label")
            yield Input(self.state.region or "", id="region", placeholder="us-west-2",
                        compact=True, validators=[RegionValidator()], valid_empty=False,
                        validate_on=["submitted"])
            yield Label("Filter", classes="field-label")
            yield Input(id="filter", placeholder="alias, key ID or description", compact=True)
        with Horizontal(id="key-status", classes="status-line"):
            yield LoadingIndicator(id="details-spinner")
            yield Static("listing keys…", id="key-count")
        table = KeyTable(id="keys", cursor_type="row", zebra_stripes=True)
        table.border_title = "Keys"
        yield table
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
        self.app.theme_changed_signal.subscribe(self, lambda _: self.render_rows())
        self.show_selection()
        self.list_keys()

    # -- listing --------------------------------------------------------------------------

    def list_keys(self, region: str | None = None) -> None:
        self.generation += 1
        generation = self.generation
        table = self.query_one(KeyTable)
        table.loading = True
        self.query_one("#key-count", Static).update("listing keys…")
        wanted = region or self.state.region
        gateway = self.gateway

        def work() -> tuple[str, list[KeySummary]]:
            where = wanted or gateway.region
            return where, gateway.list_key_summaries(where)

        def done(result: tuple[str, list[KeySummary]]) -> None:
            if generation != self.generation:
                return
            where, summaries = result
            self.listed_region = where
            self.state.region = where
            self.query_one("#region", Input).value = where
            table.loading = False
            focused = self.focused
            if focused is None or focused.id == "region":
                table.focus()
            self.rows = {s.key_id: Row(s) for s in sorted(
                summaries, key=lambda s: _sort_key(Row(s)))}
            self.render_rows()
            self.refresh_bindings()  # the table's keys (enter, space) work again
            self.fill_details(generation, summaries)

        def failed(_: BaseException) -> None:
            if generation != self.generation:
                return
            table.loading = False
            self.rows = {}
            self.render_rows()
            self.query_one("#key-count", Static).update(
                "could not list the keys (see the message): retry with ctrl+r and Enter, "
                "or enter a key ARN below"
            )

        self.wizard.run_job(self, work, name="list-keys", on_done=done, on_error=failed,
                            exclusive=True)

    def fill_details(self, generation: int, summaries: list[KeySummary]) -> None:
        self.pending_details = len(summaries)
        self.show_count()
        if not summaries:
            return
        gateway = self.gateway

        def work() -> None:
            worker = get_current_worker()
            with ThreadPoolExecutor(max_workers=DETAIL_WORKERS) as pool:
                futures = {pool.submit(gateway.describe_summary, s): s for s in summaries}
                for future in as_completed(futures):
                    if worker.is_cancelled:
                        pool.shutdown(wait=False, cancel_futures=True)
                        return
                    summary = futures[future]
                    try:
                        info: KeyInfo | None = future.result()
                        error = None
                    except UserError as exc:
                        info, error = None, str(exc)
                    self.post_message(KeyDetails(generation, summary.key_id, info, error))

        self.wizard.run_job(self, work, name="key-details", exclusive=True)

    def on_key_details(self, message: KeyDetails) -> None:
        if message.generation != self.generation or message.key_id not in self.rows:
            return
        row = self.rows[message.key_id]
        row.info, row.error = message.info, message.error
        self.pending_details = max(0, self.pending_details - 1)
        self.update_row(row)
        self.show_count()
        table = self.query_one(KeyTable)
        if self.current_row() is row or table.row_count == 0:
            self.show_details()

    def show_count(self) -> None:
        spinner = self.query_one("#details-spinner")
        count = self.query_one("#key-count", Static)
        total = len(self.rows)
        shown = self.query_one(KeyTable).row_count
        region = self.listed_region or "?"
        accounts = sorted({r.summary.arn.split(":")[4] for r in self.rows.values()})
        if len(accounts) == 1:
            region = f"{region} (account {accounts[0]})"
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

    def _columns(self, width: int) -> tuple[tuple[str, int], ...]:
        rows = list(self.rows.values())

        def widest(values: list[str], header: str, floor: int) -> int:
            return max([floor, len(header), *map(len, values)])

        spec = widest([r.info.spec for r in rows if r.info], "Spec", 8)
        usage = widest([r.info.usage for r in rows if r.info], "Usage", 8)
        state = widest([state_label(r) for r in rows], "State", 8)
        need_alias = 2 + min(30, widest([alias_label(r.summary) for r in rows], "Alias", 12))
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

    def render_rows(self) -> None:
        """Rebuild the table for the current filter and width (keeps the cursor's key)."""
        table = self.query_one(KeyTable)
        current = self.current_row()
        width = table.size.width or self.app.size.width
        layout = self._columns(max(40, width - 1))
        table.clear(columns=layout != self._layout)
        if layout != self._layout or not table.columns:
            for key, size in layout:
                table.add_column(self.LABELS[key], width=size, key=key)
            self._layout = layout
        needle = self.query_one("#filter", Input).value.strip()
        for row in self.rows.values():
            if row.matches(needle):
                table.add_row(*self.cells(row), key=row.key_id)
        if current is not None and current.key_id in self.visible_ids():
            table.move_cursor(row=table.get_row_index(current.key_id))
        self.show_count()
        self.show_details()

    def visible_ids(self) -> list[str]:
        table = self.query_one(KeyTable)
        return [str(r.key.value) for r in table.ordered_rows]

    def update_row(self, row: Row) -> None:
        table = self.query_one(KeyTable)
        if row.key_id not in self.visible_ids():
            return
        layout = self._columns(max(40, (table.size.width or self.app.size.width) - 1))
        if layout != self._layout:
            self.render_rows()
            return
        for (column, _), cell in zip(self._layout, self.cells(row), strict=True):
            table.update_cell(row.key_id, column, cell)

    def _style(self, name: str) -> str:
        return self.app.get_css_variables().get(name, "")

    def cells(self, row: Row) -> list[Text]:
        widths = dict(self._layout)
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
        cells = []
        for key, _ in self._layout:
            text = values[key].copy()
            text.truncate(widths[key], overflow="ellipsis")
            cells.append(text)
        return cells

    def current_row(self) -> Row | None:
        table = self.query_one(KeyTable)
        if table.row_count == 0:
            return None
        try:
            row_key, _ = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0))
        except Exception:
            return None
        return self.rows.get(str(row_key.value))

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

    @on(DataTable.RowHighlighted, "#keys")
    def _highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.show_details()

    @on(DataTable.RowSelected, "#keys")
    def _selected(self, event: DataTable.RowSelected) -> None:
        row = self.rows.get(str(event.row_key.value))
        if row is not None:
            self.choose(row)

    def on_resize(self, _: events.Resize) -> None:
        if self.rows:
            self.call_after_refresh(self._relayout)

    def _relayout(self) -> None:
        table = self.query_one(KeyTable)
        if self._columns(max(40, table.size.width - 1)) != self._layout:
            self.render_rows()

    @on(Input.Changed, "#filter")
    def _filter(self) -> None:
        self.render_rows()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(KeyTable).focus()

    # -- choosing -------------------------------------------------------------------------

    def refuse(self, name: str) -> None:
        self.app.notify(AWS_MANAGED_REFUSAL.format(name=name), title="Not shareable",
                        severity="error", timeout=8)

    def with_info(self, row: Row, then: Callable[[KeyInfo], None]) -> None:
        """Call ``then(info)`` once the row's details are known (DescribeKey if needed)."""
        if row.info is not None:
            then(row.info)
            return
        gateway = self.gateway

        def done(info: KeyInfo) -> None:
            row.info, row.error = info, None
            self.update_row(row)
            then(info)

        self.wizard.run_job(self, lambda: gateway.describe_summary(row.summary),
                            name="describe", on_done=done)

    def choose(self, row: Row) -> None:
        """Enter on a row: share this key (with the keys marked with space), go to step 2."""
        if row.aws_managed:
            self.refuse(row.name)
            return

        def go(info: KeyInfo) -> None:
            if info.manager == "AWS":
                self.refuse(info.name)
                return
            keys = [k for k in self.state.keys if k.arn in self.marked and k.arn != info.arn]
            self.state.select_keys([*keys, info], {})
            self.refresh_marks()
            self.go_next()

        self.with_info(row, go)

    def toggle_mark(self) -> None:
        """Space: add the highlighted key to the selection, or take it out."""
        row = self.current_row()
        if row is None:
            return
        if row.aws_managed:
            self.refuse(row.name)
            return

        def go(info: KeyInfo) -> None:
            if info.manager == "AWS":
                self.refuse(info.name)
                return
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

        self.with_info(row, go)

    def refresh_marks(self) -> None:
        for row in self.rows.values():
            self.update_row(row)
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

    # -- navigation -----------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        self.refresh_marks()

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()

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
