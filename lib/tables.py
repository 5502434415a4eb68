"""Result tables for the chapters: a real table in JupyterLab and in the rendered book, plain text in a
terminal. ``Table(rows)`` takes a list of dicts (one per row; the keys of the first row are the
columns, in order) and displays as HTML; numbers are formatted per column (``formats``), and the
table scrolls sideways instead of being cut off when it is wider than the page."""
from __future__ import annotations

import html
import math
from typing import Sequence


class Table:
    """A table of ``rows`` (dicts). ``formats`` maps a column to a format spec (".4f") or a function;
    other floats get 4 significant digits. ``caption`` is shown above the table."""

    def __init__(self, rows: Sequence[dict], columns: Sequence[str] | None = None, formats: dict | None = None,
                 caption: str | None = None):
        rows = list(rows)
        if not rows and columns is None:
            raise ValueError("a table needs at least one row, or its columns")
        self.columns = list(columns) if columns is not None else list(rows[0])
        missing = [c for row in rows for c in self.columns if c not in row]
        if missing:
            raise ValueError(f"rows lack the column(s) {sorted(set(missing))}")
        self.rows, self.formats, self.caption = rows, dict(formats or {}), caption

    def cell(self, column: str, value) -> str:
        fmt = self.formats.get(column)
        if value is None:
            return "–"
        if callable(fmt):
            return fmt(value)
        if fmt is not None:
            return format(value, fmt)
        if isinstance(value, float):
            return "nan" if math.isnan(value) else f"{value:.4g}"
        return str(value)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(self.cell(c, row[c]))}</td>" for c in self.columns)
                       + "</tr>" for row in self.rows)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f'<div style="overflow-x: auto"><table class="dataframe book-table">{caption}'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")

    def __repr__(self) -> str:
        cells = [[str(c) for c in self.columns]] + [[self.cell(c, row[c]) for c in self.columns] for row in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
        return "\n".join(([self.caption] if self.caption else []) + lines)
