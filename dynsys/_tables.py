"""The one plain-text table of :mod:`dynsys`: the ``table()`` of every result is built here.

Private. Columns are separated by two spaces and padded to their widest cell, labels on the
left, numbers on the right; no line ends in spaces, so a table pastes cleanly and its rows
split on whitespace.
"""

from __future__ import annotations

__all__ = ["text_table"]


def text_table(rows, align: str) -> str:
    """`rows` as aligned text columns, one line per row.

    Parameters
    ----------
    rows : sequence of sequence
        The header first, then the rows; every row has one cell per column. Cells are
        written with ``str``.
    align : str
        One letter per column: ``"l"`` pads the column on the right (labels), ``"r"`` on the
        left (numbers).

    Returns
    -------
    str
        The lines joined by newlines, trailing spaces stripped.

    Raises
    ------
    ValueError
        A row whose length is not that of `align`, or a letter other than "l" and "r".

    Examples
    --------
    >>> print(text_table([["type", "count"], ["stable", 3], ["saddle", 12]], "lr"))
    type    count
    stable      3
    saddle     12
    """
    if set(align) - {"l", "r"}:
        raise ValueError(f"`align` must hold one letter 'l' or 'r' per column; got {align!r}.")
    cells = [[str(v) for v in row] for row in rows]
    for i, row in enumerate(cells):
        if len(row) != len(align):
            raise ValueError(f"`rows` must have {len(align)} cells per row, one per letter of "
                             f"`align` ({align!r}); row {i} has {len(row)}.")
    widths = [max((len(row[c]) for row in cells), default=0) for c in range(len(align))]
    lines = []
    for row in cells:
        padded = [v.ljust(w) if a == "l" else v.rjust(w) for v, w, a in zip(row, widths, align)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)
