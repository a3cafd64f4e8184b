"""The key list: a virtual table that renders only the rows on screen.

Textual's DataTable builds an object (and measures it) for every row: at thousands of keys,
rebuilding it for each keystroke of the filter takes seconds. This table keeps the rows as a
list of key IDs and asks its owner for the cells of the few rows it draws, so filtering and
updating thousands of rows costs a list comprehension and a repaint.

It looks and behaves like the DataTable it replaces (row cursor, zebra stripes, header,
enter to select, a click on the highlighted row selects it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cells = Callable[[str], Sequence[Text]]
Typed = Callable[[str], None]
PADDING = 1  # on each side of each cell, as DataTable's cell_padding


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int


class _KeyMessage(Message):
    """A message about one key of a KeyTable (its ``control`` is the table)."""

    def __init__(self, table: KeyTable, key: str | None) -> None:
        super().__init__()
        self.table = table
        self.key = key

    @property
    def control(self) -> KeyTable:
        return self.table


class KeyTable(ScrollView, can_focus=True):
    """Rows are key IDs; ``cells(key_id)`` gives the Texts of a row when it is drawn."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-table--header", "key-table--cursor", "key-table--even-row",
    }
    DEFAULT_CSS = """
    KeyTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .key-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .key-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .key-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .key-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .key-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .key-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .key-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Choose"),
        Binding("space", "mark", "Mark"),
        Binding("up", "cursor_up", show=False),
        Binding("down", "cursor_down", show=False),
        Binding("pageup", "page_up", show=False),
        Binding("pagedown", "page_down", show=False),
        Binding("home,ctrl+home", "first", show=False),
        Binding("end,ctrl+end", "last", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class Highlighted(_KeyMessage):
        """The cursor moved to another key (or the rows changed under it)."""

        key: str | None

    class Selected(_KeyMessage):
        """Enter (or a click on the highlighted row) on a key."""

        key: str

    class MarkRequested(_KeyMessage):
        """Space on a key."""

        key: str

    def __init__(self, cells: Cells, *, typed: Typed | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._cells = cells
        self._typed = typed
        self.columns: tuple[Column, ...] = ()
        self.row_keys: list[str] = []
        self._index: dict[str, int] = {}
        self._highlighted: str | None = None

    # -- content --------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.row_keys)

    @property
    def cursor_key(self) -> str | None:
        if 0 <= self.cursor_row < len(self.row_keys):
            return self.row_keys[self.cursor_row]
        return None

    def set_columns(self, columns: Sequence[Column]) -> None:
        self.columns = tuple(columns)
        self._resize_virtual()
        self.refresh()

    def set_rows(self, keys: Sequence[str]) -> None:
        """Show these keys, in this order; the cursor stays on its key if it is still shown."""
        current = self.cursor_key
        self.row_keys = list(keys)
        self._index = {key: i for i, key in enumerate(self.row_keys)}
        self._resize_virtual()
        row = self._index.get(current, min(self.cursor_row, len(self.row_keys) - 1)) \
            if current is not None else 0
        self.move_cursor(row=max(0, row), scroll=current is not None)
        self.refresh()

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def refresh_key(self, key: str) -> None:
        """Redraw one row (its cells changed), if it is on screen."""
        index = self._index.get(key)
        if index is None:
            return
        y = index - round(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh_line(y)

    def visible_keys(self) -> list[str]:
        """The keys in the rows on screen now (the ones to fill first)."""
        top = round(self.scroll_y)
        return self.row_keys[top:top + max(1, self.size.height - 1)]

    def _resize_virtual(self) -> None:
        width = sum(c.width + 2 * PADDING for c in self.columns)
        self.virtual_size = Size(width, len(self.row_keys) + 1)

    # -- the cursor ------------------------------------------------------------------------

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        self.cursor_row = max(0, min(row, len(self.row_keys) - 1))
        if scroll:
            self.scroll_to_cursor()

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self.row_keys) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        if old != new:
            self.refresh_line(old - round(self.scroll_y) + 1)
            self.refresh_line(new - round(self.scroll_y) + 1)
        key = self.cursor_key
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.Highlighted(self, key))

    def scroll_to_cursor(self) -> None:
        rows = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - max(1, self.size.height - 2))

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self.row_keys) - 1)

    def action_select_cursor(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def action_mark(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.MarkRequested(self, key))

    def on_key(self, event: events.Key) -> None:
        """A character typed on the list (not bound to anything) goes to ``typed``, at once:
        its owner puts it in a field, so typing ahead is never lost."""
        if self._typed is None or not event.is_printable or event.character is None:
            return
        if event.key in self.screen.active_bindings:
            return
        event.stop()
        event.prevent_default()
        self._typed(event.character)

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        row = round(self.scroll_y) + offset.y - 1
        if row >= len(self.row_keys):
            return
        event.stop()
        if row == self.cursor_row:
            self.action_select_cursor()
        else:
            self.move_cursor(row=row)

    # -- drawing ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._line(
                [Text(c.label) for c in self.columns],
                base + self.get_component_rich_style("key-table--header"), width,
            )
        index = round(self.scroll_y) + y - 1
        if index >= len(self.row_keys):
            return Strip.blank(width, base)
        style = base
        if index % 2 == 0:
            style += self.get_component_rich_style("key-table--even-row")
        post = None
        if index == self.cursor_row:
            cursor = self.get_component_rich_style("key-table--cursor")
            style += cursor
            post = Style.from_color(color=cursor.color)  # as DataTable: the CSS color wins
        return self._line(list(self._cells(self.row_keys[index])), style, width, post)

    def _line(
        self, cells: list[Text], style: Style, width: int, post: Style | None = None
    ) -> Strip:
        """The cells, padded like DataTable's; ``post`` (the cursor) wins over cell colors."""
        segments: list[Segment] = []
        pad = " " * PADDING
        console = self.app.console
        for column, cell in zip(self.columns, cells, strict=False):
            text = cell.copy()
            text.truncate(column.width, overflow="ellipsis", pad=True)
            segments.append(Segment(pad, style))
            # Text.render leaves the Text's own style to the console: apply it here.
            cell_style = style + console.get_style(text.style, default=Style.null())
            for part in text.render(console):
                if not part.text:
                    continue
                combined = cell_style + part.style if part.style else cell_style
                segments.append(Segment(part.text, combined + post if post else combined))
            segments.append(Segment(pad, style))
        scroll_x = round(self.scroll_x)
        strip = Strip(segments)
        if scroll_x:
            strip = strip.crop(scroll_x)
        return strip.adjust_cell_length(width, style)
