"""Printing expressions: ASCII (the input language, used in JSON), Unicode, and LaTeX.

One precedence-driven printer serves all three; a `Style` supplies the symbols. Printing
is iterative in spirit where depth matters: long sums are flat `add` nodes, so recursion
depth follows nesting, which the parser bounds.
"""
from __future__ import annotations

from dataclasses import dataclass

from .expr import Expr

# Binding strength, loosest first, as in SPEC.md.
ADD, MUL, UNARY, POW, POSTFIX, ATOM = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class Style:
    name: str
    mul: str = "*"            # element-wise product of two non-scalars
    scale: str = "*"          # a scalar times something
    div: str = "/"
    matmul: str = " @ "
    dot: str = " · "
    pow: str = "^"
    transpose: str = "'"
    ones: str = "1"
    latex: bool = False


ASCII = Style("ascii", dot=" @ ")
UNICODE = Style("unicode", mul=" ⊙ ", scale="·", matmul=" ", transpose="ᵀ", ones="𝟏")
LATEX = Style("latex", mul=r" \odot ", scale=" ", div="/", matmul=" ", dot=r" \cdot ",
              transpose=r"^\top", ones=r"\mathbf{1}", latex=True)

_LATEX_FUNCS = {"sin", "cos", "tan", "exp", "log", "tanh"}
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def format_number(v: float) -> str:
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _name(text: str, style: Style, shape=()) -> str:
    """In LaTeX, vectors and matrices are bold (the papers' x, W) and long names upright."""
    if style.latex and shape:
        return r"\mathbf{" + text.replace("_", r"\_") + "}"
    if style.latex and len(text) > 1 and text.isascii():
        return r"\mathrm{" + text.replace("_", r"\_") + "}"
    return text


def show(e: Expr, style: Style = ASCII, context: int = 0) -> str:
    """`e` printed so that it binds at least as tightly as `context` requires."""
    text, level = _show(e, style)
    if level < context or (level == context and context in (UNARY,) and text.startswith("-")):
        return (r"\left(" + text + r"\right)") if style.latex else f"({text})"
    return text


def function_form(name: str, inner: str, style: Style) -> str:
    if style.latex:
        if name in _LATEX_FUNCS:
            return f"\\{name}\\left({inner}\\right)"
        if name == "sqrt":
            return f"\\sqrt{{{inner}}}"
        if name == "norm":
            return f"\\lVert {inner} \\rVert"
        if name == "diag":
            return f"\\operatorname{{diag}}\\left({inner}\\right)"
        return f"\\operatorname{{{name}}}\\left({inner}\\right)"
    if style.name == "unicode" and name == "norm":
        return f"‖{inner}‖"
    return f"{name}({inner})"


def _show(e: Expr, s: Style) -> tuple[str, int]:
    op = e.op
    if op == "num":
        text = format_number(e.value)
        return text, (UNARY if text.startswith("-") else ATOM)
    if op == "var":
        return _name(e.value, s, e.shape), ATOM
    if op == "dim":
        text = str(e.value)
        return text, (ATOM if text.isalnum() else MUL)
    if op == "ones":
        return s.ones, ATOM
    if op == "zeros":
        return "0", ATOM
    if op == "add":
        parts = []
        for i, t in enumerate(e.args):
            if t.op == "neg":
                body = show(t.args[0], s, MUL)
                parts.append(("-" if i == 0 else " - ") + body)
            elif t.op == "num" and t.value < 0 and i:
                parts.append(" - " + format_number(-t.value))
            elif t.op in ("mul", "div") and t.args[0].op == "num" and t.args[0].value < 0 and i:
                flipped = Expr(t.op, (Expr("num", (), -t.args[0].value, ()), t.args[1]), None, t.shape)
                parts.append(" - " + show(flipped, s, MUL))
            else:
                body = show(t, s, ADD)
                parts.append(body if i == 0 else " + " + body)
        return "".join(parts), ADD
    if op == "neg":
        # -a*b and -a/b read the same whether the sign binds to a or to the product.
        return "-" + show(e.args[0], s, MUL if e.args[0].op in ("mul", "div") else POW), UNARY
    if op == "mul":
        a, b = e.args
        scalar = a.shape == () or b.shape == ()
        symbol = s.scale if scalar else s.mul
        if s.latex and a.op == "num" and b.op != "num":
            symbol = " "
        # a·(b·c) = a·b·c and a·(b/c) = a·b/c: no parentheses needed on the right.
        right = MUL if b.op in ("mul", "div") and symbol.strip() else (UNARY + 1 if symbol.strip() else POW)
        return show(a, s, MUL) + symbol + show(b, s, right), MUL
    if op == "div":
        a, b = e.args
        if s.latex:
            return f"\\frac{{{show(a, s)}}}{{{show(b, s)}}}", ATOM
        return show(a, s, MUL) + s.div + show(b, s, UNARY + 1), MUL
    if op == "matmul":
        a, b = e.args
        # vector@vector is the dot product: w·x on screen (the ASCII form keeps '@').
        symbol = s.dot if s.name == "unicode" and len(a.shape) == 1 == len(b.shape) else s.matmul
        if s.latex and a.shape is not None and len(a.shape) == 1:      # wᵀx, xᵀA
            return show(a, s, POSTFIX) + s.transpose + " " + show(b, s, UNARY + 1), MUL
        return show(a, s, MUL) + symbol + show(b, s, UNARY + 1), MUL
    if op == "dot":
        a, b = e.args
        return show(a, s, MUL) + s.dot + show(b, s, UNARY + 1), MUL
    if op == "pow":
        a, b = e.args
        if s.latex:
            return f"{{{show(a, s, POSTFIX)}}}^{{{show(b, s)}}}", POW
        if s.name == "unicode" and b.op == "num" and b.value == int(b.value) and abs(b.value) < 100:
            return show(a, s, POSTFIX) + format_number(b.value).translate(_SUPERSCRIPT), POW
        return show(a, s, POSTFIX) + s.pow + show(b, s, POW), POW
    if op == "transpose":
        return show(e.args[0], s, ATOM) + s.transpose, POSTFIX
    if op == "vector":
        inner = ", ".join(show(a, s) for a in e.args)
        if s.latex:
            return r"\begin{bmatrix}" + r" \\ ".join(show(a, s) for a in e.args) + r"\end{bmatrix}", ATOM
        return f"[{inner}]", ATOM
    if op == "vec":
        return function_form("vec", show(e.args[0], s), s), ATOM
    return function_form(op, ", ".join(show(a, s) for a in e.args), s), ATOM


def ascii_form(e: Expr) -> str:
    return show(e, ASCII)


def unicode_form(e: Expr) -> str:
    return show(e, UNICODE)


def latex_form(e: Expr) -> str:
    return show(e, LATEX)
