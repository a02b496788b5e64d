"""Tables of the HTML report: header cells with their scope, a policy's colour beside its name,
and long tables folded away behind a summary that says how many rows they hold."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

LONG_TABLE_ROWS = 12
"""Tables with more rows than this are folded (``<details>``), their size on the summary line."""


def swatch(color: str) -> str:
    """A small square of ``color`` before a policy's name (decorative: the name says it)."""
    style = f"background:{html.escape(color)}"
    return f'<span class="swatch" style="{style}" aria-hidden="true"></span>'


def policy_label(policy: str, colors: Mapping[str, str]) -> str:
    """A policy's name as HTML, after the swatch of its colour when it has one."""
    color = colors.get(policy)
    return (swatch(color) if color else "") + html.escape(policy)


def plain_text(value: Any, decimals: int = 2) -> str:
    """A cell as text: whole numbers with thousands separators, other numbers with
    ``decimals`` decimals, NaN as ``n/a``, anything else as it is."""
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return "n/a" if np.isnan(value) else f"{float(value):,.{decimals}f}"
    return str(value)


def html_table(
    frame: pd.DataFrame,
    cell: Callable[[Any, Any, Any], str] | None = None,
    label: Callable[[Any], str] = lambda name: html.escape(str(name)),
    decimals: int = 2,
) -> str:
    """``frame`` as an HTML table: its index as row headers (``<th scope="row">``), its columns
    as column headers (``<th scope="col">``, the first named after the index).

    ``cell(row, column, value)`` gives each cell's text (escaped here; default
    :func:`plain_text` with ``decimals``), ``label(name)`` each header's HTML (already
    escaped: :func:`policy_label`, say).
    """

    def text(row: Any, column: Any, value: Any) -> str:
        return plain_text(value, decimals) if cell is None else cell(row, column, value)

    corner = html.escape(str(frame.index.name or ""))
    head = "".join(f'<th scope="col">{label(c)}</th>' for c in frame.columns)
    rows = []
    for key, values in zip(frame.index, frame.to_numpy(dtype=object), strict=True):
        cells = "".join(
            f"<td>{html.escape(text(key, c, v))}</td>"
            for c, v in zip(frame.columns, values, strict=True)
        )
        rows.append(f'<tr><th scope="row">{label(key)}</th>{cells}</tr>')
    return (
        f'<table class="data"><thead><tr><th scope="col">{corner}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def fold(table: str, rows: int, what: str) -> str:
    """``table`` (HTML of ``rows`` rows) as it is when short, else behind a ``<details>``
    summary ``what (N rows)``."""
    if rows <= LONG_TABLE_ROWS:
        return table
    return f"<details><summary>{html.escape(what)} ({rows:,} rows)</summary>{table}</details>"


__all__ = ["LONG_TABLE_ROWS", "fold", "html_table", "plain_text", "policy_label", "swatch"]
