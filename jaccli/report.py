"""Plain-text messages for stderr: errors with the expression echoed and a caret under the
column, and warnings. Used on every path, so it imports neither Rich nor NumPy."""
from __future__ import annotations

from .errors import JacError

TITLES = {"syntax": "syntax error", "shape": "shape error", "name": "unknown name",
          "value": "bad value", "unsupported": "not supported"}


def caret_lines(expression: str, column: int) -> list[str]:
    """The expression and a caret under `column` (1-based), on one line each."""
    line = expression.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    line = "".join(ch if ch.isprintable() else "?" for ch in line)
    start = 0
    if len(line) > 100:  # keep the caret on screen for very long input
        start = max(0, min(column - 50, len(line) - 100))
        line = ("…" if start else "") + line[start:start + 100] + ("…" if start + 100 < len(line) else "")
        column = column - start + (1 if start else 0)
    return ["  " + line, "  " + " " * (column - 1) + "^"]


def format_error(error: JacError, expression: str | None = None) -> str:
    title = TITLES.get(error.type, "error")
    where = f" at column {error.column}" if error.column else ""
    lines = [f"jac: {title}{where}: {error.message}"]
    if expression is not None and error.column:
        lines += caret_lines(expression, error.column)
    if error.hint:
        lines.append(f"  hint: {error.hint}")
    return "\n".join(lines)


def format_warning(text: str) -> str:
    return f"jac: warning: {text}"
