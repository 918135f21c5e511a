"""Plain-text messages for stderr: errors with the expression echoed and a caret under the
column (a whole name underlined), nearest-name suggestions, and warnings. Used on every
path, the JSON one included, so it imports neither Rich nor NumPy.
"""
from __future__ import annotations

import re

from .errors import JacError

TITLES = {"syntax": "syntax error", "shape": "shape error", "name": "unknown name",
          "value": "bad value", "unsupported": "not supported"}
WIDTH = 100       # the echoed expression is cut to this many characters around the caret


# What must never reach a terminal raw: C0 controls (ESC among them) but newline and tab,
# DEL, and the C1 controls U+0080-U+009F (U+009B alone starts an escape sequence).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """`text` with every control character written as a visible escape (`\x1b`)."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def shown(text: str) -> str:
    """User input quoted for a message, every unprintable character escaped ('a\x1bb')."""
    return repr(text)


def nearest(name: str, candidates) -> str | None:
    """The candidate most like `name` (a typo, or the same name in another case), or None."""
    candidates = [c for c in dict.fromkeys(candidates) if c != name]
    for c in candidates:
        if c.lower() == name.lower():
            return c
    import difflib      # only when a name is wrong
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: str, candidates) -> str | None:
    """`did you mean 'sigmoid'?`, or None when nothing is close."""
    guess = nearest(name, candidates)
    return f"did you mean '{guess}'?" if guess else None


def _span(line: str, start: int) -> int:
    """How many characters to underline from `start` (0-based): a whole name, else one."""
    if start >= len(line) or not (line[start].isalpha() or line[start] == "_"):
        return 1
    end = start
    while end < len(line) and (line[end].isalnum() or line[end] == "_"):
        end += 1
    return end - start


def caret_lines(expression: str, column: int) -> list[str]:
    """The expression and a caret under `column` (1-based), on one line each."""
    line = expression.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    line = "".join(ch if ch.isprintable() else "?" for ch in line)
    span = _span(line, column - 1)
    start = 0
    if len(line) > WIDTH:  # keep the caret on screen for very long input
        start = max(0, min(column - WIDTH // 2, len(line) - WIDTH))
        line = ("…" if start else "") + line[start:start + WIDTH] + ("…" if start + WIDTH < len(line) else "")
        column = column - start + (1 if start else 0)
        span = min(span, len(line) - column + 1)
    return ["  " + line, "  " + " " * (column - 1) + "^" * max(1, span)]


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
