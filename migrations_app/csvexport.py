"""CSV exports a spreadsheet program cannot execute.

A cell beginning with =, +, -, @, a tab or a carriage return is read as a formula by
Excel/LibreOffice (`=HYPERLINK(...)` in a customer's name would run in the auditor's
spreadsheet); such a cell is prefixed with a single quote, which those programs show as text.
"""

import csv
import io

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> object:
    """The cell as written: a string starting like a formula gets a leading single quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer (semicolon-separated, as French spreadsheets expect) whose every cell is
    neutralised; `getvalue()` returns the text written so far."""

    def __init__(self):
        self._out = io.StringIO()
        self._writer = csv.writer(self._out, delimiter=";")

    def writerow(self, row) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)

    def getvalue(self) -> str:
        return self._out.getvalue()
