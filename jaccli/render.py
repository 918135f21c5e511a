"""Rich renderables for a `Result`: a header, then each Jacobian with its kind, closed form
and matrix. No maths here: entries come from `entries.py`, numbers from the evaluated values.

What it draws, for `jac "x * y" --wrt x --at x=1,2,3 --at y=4,5,6`:

    f = x ⊙ y
      x, y: vectors of length 3 → f: vector of length 3
      at x = [1, 2, 3], y = [4, 5, 6]
      numerator layout: J[i, j] = ∂fᵢ/∂xⱼ

    ∂f/∂x = diag(y)
      3×3 diagonal: element-wise in x, so ∂fᵢ/∂xⱼ = 0 for i ≠ j
      ⎡4  0  0⎤
      ⎢0  5  0⎥
      ⎣0  0  6⎦

Without values but with small sizes the matrix shows entries (`y₁ 0 0`); with symbolic sizes
a pattern (`y₁ 0 ⋯ 0`, `⋮ ⋱`, `yₙ`); anything wider or taller than the screen is elided
with `⋯ ⋮ ⋱`. Colour appears only on a terminal and follows NO_COLOR: Rich decides.
"""
from __future__ import annotations

from collections import namedtuple

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from . import sizes
from .entries import entry_text
from .naming import LONG_SYMBOLIC, name_repeats, shortened, substitute, written_out
from .notation import UNICODE, unicode_form

INDENT = "  "
MAX_ROWS = 10            # taller matrices show their first and last rows around a ⋮ row
HEAD_ROWS, TAIL_ROWS = 6, 2
MAX_COLS = 10            # wider matrices show as many first columns as fit, ⋯, the last two
TAIL_COLS = 2
MAX_ENTRY = 24           # a symbolic entry longer than this is not drawn: the closed form says it
GAP = "  "

# Styles, by role; a console without colour drops them.
LABEL = "bold cyan"
FORM = "bold"
NAME = "cyan"
NOTE = "dim"
DIAGONAL = "bold green"
WHY = "green"
ZERO = "dim"
ELLIPSIS = "dim"

ELL = None               # an elided run of rows or columns
_EXAMPLE_SIZES = (3, 2, 4, 5)
_HELPERS = (("step(", "step(v) is 1 where v > 0, else 0"),
            ("sign(", "sign(v) is -1, 0 or 1 by the sign of v"),
            ("𝟏", "𝟏 is a vector of ones"),
            ("⊗", "A ⊗ B is the Kronecker product"),
            ("vec(", "vec(W) lists the entries of W row by row"),
            ("commutation(", "commutation(m, n) reorders vec(A) into vec(Aᵀ)"))


class _PipeConsole(Console):
    def on_broken_pipe(self) -> None:
        """A reader that went away (`jac ... | head -1`) is the session's to handle, as on
        the JSON path: quiet, status 0."""
        self.quiet = True
        raise BrokenPipeError


def make_console(out, *, width: int | None = None) -> Console:
    """A console on `out`: colour and width from the terminal, plain text in a pipe."""
    return _PipeConsole(file=out, width=width, highlight=False, markup=False, emoji=False)


def render_result(result, out, *, width: int | None = None) -> None:
    from .expr import deep_recursion

    with deep_recursion():
        make_console(out, width=width).print(ResultView(result))


# ---------------------------------------------------------------- words

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉‚")


def size_text(size, *, alone: bool = True) -> str:
    """3, n, 2n, n², m·n, and (n+m) when it stands in a product such as `n×(n+m)`."""
    if sizes.is_concrete(size):
        return str(size)
    parts = []
    for mono, coef in sorted(size.terms.items(), key=lambda t: (-len(t[0]), t[0])):
        body = "·".join(sym + (str(mono.count(sym)).translate(_SUPERSCRIPT) if mono.count(sym) > 1 else "")
                        for sym in dict.fromkeys(mono))
        lead = "" if coef == 1 and body else "-" if coef == -1 and body else str(coef)
        parts.append(lead + body)
    text = "+".join(parts).replace("+-", "-")
    return text if alone or len(parts) == 1 else f"({text})"


def _dims(rows, cols) -> str:
    return f"{size_text(rows, alone=False)}×{size_text(cols, alone=False)}"


def shape_words(shape, *, plural: bool = False) -> str:
    """`()` -> scalar, `(3,)` -> vector of length 3, `(2, 3)` -> 2×3 matrix."""
    s = "s" if plural else ""
    if shape == ():
        return f"scalar{s}"
    if len(shape) == 1:
        return f"vector{s} of length {size_text(shape[0])}"
    if shape[0] == 1:
        return f"{_dims(1, shape[1])} row{s}"
    return f"{_dims(*shape)} matri{'ces' if plural else 'x'}"


def kind_words(j) -> str:
    """`1×3 row vector`, `3×3 diagonal`, `2×6 matrix`."""
    dims = _dims(j.rows, j.cols)
    if j.structure == "zero":
        return f"{dims} zero"
    if j.rows == 1 and j.cols == 1:
        return "1×1 scalar"
    if j.structure == "identity":
        return f"{dims} identity"
    if j.structure == "scaled_identity":
        return f"{dims} scaled identity"
    if j.structure == "diagonal":
        return f"{dims} diagonal"
    if j.rows == 1:
        return f"{dims} row vector"
    if j.cols == 1:
        return f"{dims} column vector"
    return f"{dims} matrix"


def _why(j, wrt: str, result) -> str | None:
    """Why the Jacobian has its kind, in a few words (diagonal: element-wise)."""
    x = wrt if "," not in wrt else f"({wrt})"
    if j.structure == "zero":
        return f"f does not depend on {x}"
    if j.rows == 1 and j.cols == 1:
        return None
    if j.structure in ("identity", "scaled_identity", "diagonal"):
        return f"element-wise in {x}, so ∂fᵢ/∂{x}ⱼ = 0 for i ≠ j"
    scalar_f = result.output_shape == ()
    if scalar_f and j.rows == 1:
        return "the gradient of f, as a row (numerator layout)"
    if scalar_f and j.cols == 1 and result.layout == "denominator":
        return "the gradient of f, as a column (denominator layout)"
    if j.rows == j.cols and "," not in wrt:
        return f"not diagonal: fᵢ depends on more than {x}ᵢ"
    return None


def format_number(v: float) -> str:
    v = float(v)
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "∞" if v > 0 else "-∞"
    if v == 0:
        return "0"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def _value_text(value, limit: int = 36) -> str:
    """A short rendering of an --at value: 0.5, [1, 2, 3], [[1, 2], [3, 4]]."""
    import numpy as np

    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return format_number(a)

    def listed(items, most, show):
        return "[" + ", ".join(show(x) for x in items[:most]) + (", …" if len(items) > most else "") + "]"

    text = listed(a, 8, format_number) if a.ndim == 1 else \
        listed(a, 4, lambda r: listed(r, 8, format_number))
    return text if len(text) <= limit else text[: limit - 2] + "…]"


# ---------------------------------------------------------------- the matrix

class Cell(namedtuple("Cell", "text kind")):
    """One entry as drawn: its text and kind ("num", "sym" or "ell")."""
    __slots__ = ()


def pick(size, *, limit: int, head: int, tail: int) -> list:
    """The row or column indices to draw (1-based; ELL for an elided run)."""
    if not sizes.is_concrete(size):
        return [1, 2, ELL, size]
    if size <= limit:
        return list(range(1, size + 1))
    return list(range(1, head + 1)) + [ELL] + list(range(size - tail + 1, size + 1))


def _value_entry(value, r: int, c: int) -> float:
    d = getattr(value, "d", None)
    if d is not None:
        return d[r - 1] if r == c else 0.0
    return value.dense()[r - 1, c - 1]


def _cell(j, value, r, c) -> Cell | None:
    if r is ELL and c is ELL:
        return Cell("⋱", "ell")
    if r is ELL:
        return Cell("⋮", "ell")
    if c is ELL:
        return Cell("⋯", "ell")
    if value is not None:
        return Cell(format_number(_value_entry(value, r, c)), "num")
    text = entry_text(j, r, c)
    if text is None or len(text) > MAX_ENTRY:
        return None
    return Cell(text, "sym")


def _layout_column(cells: list[Cell]) -> list[str]:
    """Pad one column: numbers aligned on the decimal point, other entries centred."""
    numbers = [c.text for c in cells if c.kind == "num"]
    left = max((len(t.split(".")[0]) for t in numbers), default=0)
    right = max((len(t.split(".")[1]) + 1 if "." in t else 0 for t in numbers), default=0)
    texts = []
    for c in cells:
        if c.kind == "num":
            whole, dot, frac = c.text.partition(".")
            texts.append(whole.rjust(left) + (dot + frac).ljust(right))
        else:
            texts.append(c.text)
    width = max(Text(t).cell_len for t in texts)
    out = []
    for t, c in zip(texts, cells):
        pad = width - Text(t).cell_len
        out.append(t + " " * pad if c.kind == "num" else " " * (pad // 2) + t + " " * (pad - pad // 2))
    return out


class MatrixView:
    """A Jacobian drawn in brackets, entries aligned, elided to the available width."""

    def __init__(self, *, jacobian, value=None, labels=None):
        self.jacobian, self.value = jacobian, value
        self.labels = labels     # column -> a heading (which entry of a matrix W it is), or None

    def grid(self, max_width: int):
        """Rows of (padded text, cell) that fit `max_width`; None when there is nothing to draw."""
        j = self.jacobian
        rows = pick(j.rows, limit=MAX_ROWS, head=HEAD_ROWS, tail=TAIL_ROWS)
        budget = max_width - len(INDENT) - 2
        room = max(MAX_COLS, (budget + len(GAP)) // (1 + len(GAP)))   # columns one cell wide
        cols = pick(j.cols, limit=room, head=room - TAIL_COLS - 1, tail=TAIL_COLS)
        columns: dict = {}

        def column(c):
            if c not in columns:
                cells = [_cell(j, self.value, r, c) for r in rows]
                if self.labels is not None:
                    cells.insert(0, Cell(" " if c is ELL else self.labels(c), "sym"))
                columns[c] = None if None in cells else (_layout_column(cells), cells)
            return columns[c]

        def width(shown):
            return sum(Text(column(c)[0][0]).cell_len for c in shown) + len(GAP) * (len(shown) - 1)

        if ELL in cols:
            k = cols.index(ELL)
            head, tail, elided = cols[:k], cols[k + 1:], True
        else:
            head, tail, elided = cols, [], False
        while True:
            shown = head + [ELL] * elided + tail
            if any(column(c) is None for c in shown):
                return None
            if width(shown) <= budget or len(head) + len(tail) <= 1:
                break
            if not elided:                     # too wide: keep the first and last columns
                elided, tail = True, head[-TAIL_COLS:]
                head = head[: max(1, len(head) - TAIL_COLS - 1)]
            elif len(head) > max(1, len(tail)):
                head.pop()
            elif len(tail) > 1:
                tail.pop(0)
            else:
                head.pop()
        laid = [column(c) for c in shown]
        height = len(rows) + (self.labels is not None)
        return [[(texts[k], cells[k]) for texts, cells in laid] for k in range(height)]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        grid = self.grid(options.max_width)
        if grid is None:
            return
        if self.labels is not None:
            heading, grid = grid[0], grid[1:]
            yield Text(INDENT + " " + GAP.join(text for text, _ in heading).rstrip(), style=NOTE)
        n = len(grid)
        for k, row in enumerate(grid):
            if n == 1:
                left, right = "[", "]"
            elif k == 0:
                left, right = "⎡", "⎤"
            elif k == n - 1:
                left, right = "⎣", "⎦"
            else:
                left, right = "⎢", "⎥"
            line = Text(INDENT + left)
            for i, (text, cell) in enumerate(row):
                if i:
                    line.append(GAP)
                style = ELLIPSIS if cell.kind == "ell" else ZERO if cell.text == "0" else ""
                line.append(text, style=style)
            line.append(right)
            yield line


# ---------------------------------------------------------------- the whole result

def _wrap(text: Text, console: Console, options: ConsoleOptions, *, first: str = INDENT,
          rest: str = INDENT + "  ") -> RenderResult:
    """`text` wrapped to the width, each line indented, no trailing spaces."""
    for k, line in enumerate(text.wrap(console, max(16, options.max_width - len(rest)))):
        line.rstrip()
        yield Text(first if k == 0 else rest) + line


class JacobianView:
    """`∂f/∂w = closed form`, its kind in words (and why), and its matrix."""

    def __init__(self, *, result, item):
        self.result, self.item = result, item

    def label(self) -> str:
        wrt = self.item.wrt
        if "," in wrt:
            return f"∂f/∂({', '.join(wrt.split(','))})"
        if len(self.result.variables.get(wrt, ())) == 2:      # a matrix, through its vec
            return f"∂f/∂vec({wrt})"
        return f"∂f/∂{wrt}"

    def gradient(self, console: Console, options: ConsoleOptions, value) -> RenderResult:
        """A scalar's gradient with respect to a matrix W, shaped like W, comes first."""
        from .jacobians import as_jacobian

        rows, cols = self.item.gradient_shape
        head = Text(f"∂f/∂{self.item.wrt}", style=LABEL)
        head.append(" = ")
        head.append(unicode_form(self.item.gradient), style=FORM)
        yield from _wrap(head, console, options, first="", rest=INDENT)
        yield from _wrap(Text(f"{_dims(rows, cols)} matrix shaped like {self.item.wrt}: entry (i, j) "
                              f"is ∂f/∂{self.item.wrt}ᵢⱼ", style="italic"), console, options)
        shaped = None
        if value is not None:
            from .values import DenseValue
            shaped = DenseValue(value.dense().reshape(rows, cols))
        yield MatrixView(jacobian=as_jacobian(self.item.gradient, rows, cols), value=shaped)
        yield Text("")

    def entry_labels(self, j):
        """Column headings W₁₁ W₁₂ … when the columns are the entries of a matrix W."""
        shape = self.result.variables.get(self.item.wrt, ())
        if len(shape) != 2 or self.result.layout != "numerator" or not sizes.is_concrete(shape[1]):
            return None
        name, q = self.item.wrt, shape[1]

        def label(c):
            if not sizes.is_concrete(c):
                return " "
            i, k = divmod(c - 1, q)
            sep = "," if max(i + 1, k + 1) > 9 else ""
            return name + (str(i + 1) + sep + str(k + 1)).translate(_SUBSCRIPT)

        return label

    def why(self) -> str | None:
        return _why(self.item.jacobian, self.item.wrt, self.result)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        j, value = self.item.jacobian, self.item.value
        if getattr(value, "too_large", False):      # shape only: no numbers to draw
            value = None
        if getattr(self.item, "steps", None):      # --steps: the derivation, then its answer
            from .explain import StepsView
            yield StepsView(self.item, self.result)
            yield Text("")
        if getattr(self.item, "gradient", None) is not None:
            yield from self.gradient(console, options, value)
        head = Text(self.label(), style=LABEL)
        head.append(" = ")
        named, definitions = shortened(j, taken=self.result.variables)
        head.append(named.form(UNICODE), style=FORM)
        scalar = j.rows == 1 and j.cols == 1
        if scalar and value is not None:
            head.append(" = ")
            head.append(format_number(_value_entry(value, 1, 1)), style=FORM)
        yield from _wrap(head, console, options, first="", rest=INDENT)
        if definitions:
            yield from _wrap(_where(definitions), console, options)
        kind = Text()
        words = kind_words(j)
        why = self.why()
        diagonal = j.diagonal and not scalar and j.structure != "zero"
        kind.append(words, style=DIAGONAL if diagonal else "italic")
        if why:
            kind.append(", " if why.startswith("not ") else ": ")
            kind.append(why, style=WHY if diagonal else NOTE)
        yield from _wrap(kind, console, options)
        if getattr(self.item, "check", None) is not None:     # --check: one line
            from .explain import check_line
            yield from _wrap(check_line(self.item.check), console, options)
        if not scalar:
            yield MatrixView(jacobian=j, value=value, labels=self.entry_labels(j))


def _where(definitions) -> Text:
    """`where u₁ = …, u₂ = …`"""
    where = Text("where ")
    for k, (name, definition) in enumerate(definitions):
        where.append(", " if k else "")
        where.append(name, style=NAME)
        where.append(" = " + unicode_form(definition))
    return where


class HessianView(JacobianView):
    """`∂²f/∂x∂xᵀ = closed form` (--hessian), drawn as a Jacobian is."""

    def label(self) -> str:
        wrt = self.item.wrt
        x = wrt if "," not in wrt else f"({', '.join(wrt.split(','))})"
        return f"∂²f/∂{x}∂{x}ᵀ"

    def why(self) -> str | None:
        j, x = self.item.jacobian, self.item.wrt
        if j.structure in ("identity", "scaled_identity", "diagonal"):
            return f"each ∂f/∂{x}ᵢ depends on {x}ᵢ alone"
        if j.structure == "zero":
            return f"f is linear in {x}"
        return None


class ResultView:
    """The header (expression, shapes, values, layout), each Jacobian, and footnotes."""

    def __init__(self, result):
        self.result = result

    def header(self, console: Console, options: ConsoleOptions) -> RenderResult:
        r = self.result
        line = Text("f = ", style=FORM)
        # An expression that is very long written out (names given with `where` make that
        # easy) is shown with its repeats named, as long closed forms are.
        names, definitions = name_repeats([r.tree], prefix="v", taken=r.variables) \
            if written_out([r.tree]) > LONG_SYMBOLIC else ({}, [])
        line.append(unicode_form(substitute(r.tree, names)), style=FORM)
        yield from _wrap(line, console, options, first="", rest=INDENT)
        if definitions:
            yield from _wrap(_where(definitions), console, options)
        groups: dict[tuple, list[str]] = {}
        for name, shape in r.variables.items():
            groups.setdefault(tuple(shape), []).append(name)
        shapes = Text()
        for k, (shape, names) in enumerate(groups.items()):
            if k:
                shapes.append("; ")
            shapes.append(", ".join(names), style=NAME)
            shapes.append(": " + shape_words(shape, plural=len(names) > 1))
        if groups:
            shapes.append(" → ")
        shapes.append("f", style=NAME)
        shapes.append(": " + shape_words(tuple(r.output_shape)))
        yield from _wrap(shapes, console, options)
        if r.values:
            at = Text("at ")
            for k, (name, value) in enumerate(r.values.items()):
                if k:
                    at.append(", ")
                at.append(name, style=NAME)
                at.append(" = " + _value_text(value))
            yield from _wrap(at, console, options)
        if r.layout == "numerator":
            layout = Text("numerator layout: J[i, j] = ∂fᵢ/∂xⱼ", style=NOTE)
        else:
            layout = Text("denominator layout: J[i, j] = ∂fⱼ/∂xᵢ, the transpose of numerator layout",
                          style=NOTE)
        yield from _wrap(layout, console, options)

    def footnotes(self, console: Console, options: ConsoleOptions) -> RenderResult:
        forms = " ".join(jr.jacobian.form(UNICODE) for jr in self.result.jacobians
                         + list(getattr(self.result, "hessians", ())))
        for marker, text in _HELPERS:
            if marker in forms:
                yield from _wrap(Text(text, style=NOTE), console, options, first="", rest=INDENT)
        hint = self.size_hint()
        if hint:
            yield from _wrap(Text(hint, style=NOTE), console, options, first="", rest=INDENT)

    def size_hint(self) -> str | None:
        """How to see entries when sizes are symbolic: `--shape w=3`, sizes chosen consistently."""
        r = self.result
        if all(jr.value is not None for jr in r.jacobians):
            return None
        numbers: dict = {}
        options = []
        for name, shape in r.variables.items():
            fresh = [d for d in shape if not sizes.is_concrete(d) and d not in numbers]
            if not fresh or not all(sizes.is_concrete(d) or sizes.is_symbol(d) for d in shape):
                continue
            for d in fresh:
                numbers[d] = _EXAMPLE_SIZES[len(numbers) % len(_EXAMPLE_SIZES)]
            spec = "x".join(str(numbers.get(d, d)) for d in shape)
            options.append(f"--shape {name}={spec}")
        if not numbers:
            return None
        names = ", ".join(str(d) for d in numbers)
        what = "is a symbolic size" if len(numbers) == 1 else "are symbolic sizes"
        hint = f"{names} {what}: try {' '.join(options)}"
        first, shape = next(iter(r.variables.items()))
        if len(numbers) == 1 and len(shape) == 1 and shape[0] in numbers:
            values = ",".join(str(k) for k in range(1, numbers[shape[0]] + 1))
            return hint + f", or --at {first}={values} for numbers"
        return hint + ", or --at for numbers"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.header(console, options)
        for item in self.result.jacobians:
            yield Text("")
            yield JacobianView(result=self.result, item=item)
        for item in getattr(self.result, "hessians", ()):
            yield Text("")
            yield HessianView(result=self.result, item=item)
        notes = list(self.footnotes(console, options))
        if notes:
            yield Text("")
            yield from notes

