"""Printing expressions: ASCII (the input language, used in JSON), Unicode, and LaTeX.

One precedence-driven printer serves all three; a `Style` supplies the symbols. Printing
is iterative in spirit where depth matters: long sums are flat `add` nodes, so recursion
depth follows nesting, which the parser bounds.
"""
from __future__ import annotations

from fractions import Fraction

from . import sizes
from . import node
from .node import Expr

# Binding strength, loosest first, as in SPEC.md.
ADD, MUL, UNARY, POW, POSTFIX, ATOM = 1, 2, 3, 4, 5, 6


# What a Style spells, besides its name.
SPELLINGS = ("mul", "scale", "div", "matmul", "dot", "pow", "transpose", "ones", "eye", "latex")


class Style:
    """How one notation writes each operator. (A plain class: `dataclasses` costs a tenth of
    a one-shot run to import.)"""

    __slots__ = ("name",) + SPELLINGS

    def __init__(self, name: str, *,
                 mul: str = "*",            # element-wise product of two non-scalars
                 scale: str = "*",          # a scalar times something
                 div: str = "/",
                 matmul: str = " @ ",
                 dot: str = " · ",
                 pow: str = "^",
                 transpose: str = "'",
                 ones: str | None = None,   # None: written with its size, ones(n), so it reads back
                 eye: str | None = None,    # None: eye(n)
                 latex: bool = False):
        self.name, self.mul, self.scale, self.div = name, mul, scale, div
        self.matmul, self.dot, self.pow, self.transpose = matmul, dot, pow, transpose
        self.ones, self.eye, self.latex = ones, eye, latex

    def but(self, **changes) -> "Style":
        """This style with some spellings changed."""
        fields = {k: getattr(self, k) for k in SPELLINGS}
        fields.update(changes)
        return Style(fields.pop("name", self.name), **fields)

    def __repr__(self):
        return f"Style({self.name!r})"

    @property
    def ascii(self) -> bool:
        """The input language (JSON's symbolic), at the top of a form or inside one."""
        return self.name.startswith("ascii")


ASCII = Style("ascii", dot=" @ ")
UNICODE = Style("unicode", mul=" ⊙ ", scale="·", matmul=" ", transpose="ᵀ", ones="𝟏", eye="I")
LATEX = Style("latex", mul=r" \odot ", scale=" ", div="/", matmul=" ", dot=r" \cdot ",
              transpose=r"^\top", ones=r"\mathbf{1}", eye="I", latex=True)

_LATEX_FUNCS = {"sin", "cos", "tan", "exp", "log", "tanh"}
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def format_number(v) -> str:
    """Exact and readable: 3, 0.25, 2/3, 1e309 (a whole number with many trailing zeros)."""
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        v = Fraction(repr(v))
    if v.denominator == 1:
        n = v.numerator
        if abs(n) < 10 ** 15:
            return str(n)
        if n.bit_length() > 10000:          # past Python's int-to-text limit: close enough
            return repr(float(v)) if abs(n).bit_length() < 1024 else ("-inf" if n < 0 else "inf")
        digits = str(abs(n))
        zeros = len(digits) - len(digits.rstrip("0"))
        if zeros >= 6:
            return ("-" if n < 0 else "") + digits.rstrip("0") + f"e{zeros}"
        return str(n)
    d, twos, fives = v.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    places = max(twos, fives)
    if d == 1 and places <= 6:
        text = f"{v.numerator * 10 ** places // v.denominator:d}"
        sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
        text = text.rjust(places + 1, "0")
        return sign + text[:-places] + "." + text[-places:]
    return f"{v.numerator}/{v.denominator}"


_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def _name(text: str, style: Style, shape=None) -> str:
    if not style.latex:
        return text
    stem = text.rstrip("₀₁₂₃₄₅₆₇₈₉")
    if stem != text and stem:                   # u₁ (a name jac gave): u_{1}
        return _name(stem, style, shape) + "_{" + text[len(stem):].translate(_SUBSCRIPT_DIGITS) + "}"
    if len(text) > 1 and text.isascii():
        text = r"\mathrm{" + text.replace("_", r"\_") + "}"
    if shape is not None and len(shape) == 1:      # the papers' bold vectors
        return r"\mathbf{" + text + "}"
    return text


def _size_text(n) -> str:
    return str(n).replace(" ", "")


def _is_product(e: Expr) -> bool:
    """A matrix product (not a dot product): associative, so chains need no parentheses."""
    return e.op == "matmul" and e.shape is not None and e.shape != ()


def show(e: Expr, style: Style = ASCII, context: int = 0) -> str:
    """`e` printed so that it binds at least as tightly as `context` requires."""
    if e.op == "var":           # the commonest node, an atom: never in parentheses
        return _name(e.value, style, e.shape) if style.latex else e.value
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
    """(text, binding strength) of e: the leaves here, every other op by its printer."""
    op = e.op
    if op == "var":
        return _name(e.value, s, e.shape), ATOM
    if op == "num":
        text = format_number(e.value)
        if s.latex and "/" in text:     # 1/3 I would read as 1/(3 I) too
            v = e.value
            frac = f"\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
            return ("-" + frac, UNARY) if v < 0 else (frac, ATOM)
        return text, (UNARY if text.startswith("-") else MUL if "/" in text else ATOM)
    printer = _PRINTERS.get(op)
    if printer is None:
        return _call(e, s)
    return printer(e, s)


def _call(e: Expr, s: Style) -> tuple[str, int]:
    return function_form(e.op, ", ".join([show(a, s) for a in e.args]), s), ATOM


def _dim(e: Expr, s: Style) -> tuple[str, int]:
    text = _size_text(e.value)
    if sizes.NAME.fullmatch(text):         # one symbol, printed as a name (d_model)
        return _name(text, s), ATOM
    return text, MUL


def _ones(e: Expr, s: Style) -> tuple[str, int]:
    if s.ones is not None:
        if len(e.shape) == 2:          # a matrix of ones is 𝟏𝟏ᵀ, a row of them 𝟏ᵀ
            row = s.ones + s.transpose
            return (row, POSTFIX) if e.shape[0] == 1 else (s.ones + s.matmul.strip() + row, MUL)
        return s.ones, ATOM
    return "ones(" + ", ".join(_size_text(d) for d in e.shape) + ")", ATOM


def _eye(e: Expr, s: Style) -> tuple[str, int]:
    return (s.eye, ATOM) if s.eye is not None else (f"eye({_size_text(e.value)})", ATOM)


def _commutation(e: Expr, s: Style) -> tuple[str, int]:
    m, n = (_size_text(d) for d in e.value)
    return (f"K_{{{m},{n}}}", ATOM) if s.latex else (f"commutation({m}, {n})", ATOM)


def _kron(e: Expr, s: Style) -> tuple[str, int]:
    if s.ascii:                                # the input language's kron(A, B)
        return _call(e, s)
    symbol = r" \otimes " if s.latex else " ⊗ "
    return show(e.args[0], s, POSTFIX) + symbol + show(e.args[1], s, POSTFIX), MUL


def _zeros(e: Expr, s: Style) -> tuple[str, int]:
    if s.eye is None and e.shape:             # sized, so that it reads back
        return "zeros(" + ", ".join(_size_text(d) for d in e.shape) + ")", ATOM
    return "0", ATOM


def _add(e: Expr, s: Style) -> tuple[str, int]:
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


def _neg(e: Expr, s: Style) -> tuple[str, int]:
    # -a*b and -a/b read the same whether the sign binds to a or to the product.
    return "-" + show(e.args[0], s, MUL if e.args[0].op in ("mul", "div") else POW), UNARY


def _mul(e: Expr, s: Style) -> tuple[str, int]:
    a, b = e.args
    scalar = a.shape == () or b.shape == ()
    symbol = s.scale if scalar else s.mul
    if s.latex and a.op == "num" and b.op != "num":
        symbol = " "
    # a·(b·c) = a·b·c and a·(b/c) = a·b/c: no parentheses needed on the right.
    right = MUL if b.op in ("mul", "div") and symbol.strip() else (UNARY + 1 if symbol.strip() else POW)
    if right == MUL and s.ascii and a.shape != () and \
            _leftmost(b, ("mul", "div")).op in ("matmul", "dot"):
        right = UNARY + 1       # a*(X@y*c), not a*X@y*c: that is ((a*X)@y)*c
    if not scalar and not s.ascii:       # a ⊙ (B c): ⊙ and a product never mix bare
        # ⊙ is associative: a ⊙ b ⊙ c needs no parentheses
        return (_hadamard_operand(a, s, MUL) + symbol +
                _hadamard_operand(b, s, right)), MUL
    return show(a, s, MUL) + symbol + show(b, s, right), MUL


def follows_matmul_bare(e: Expr) -> bool:
    """Whether the matrix product `e` may follow '@' without parentheses in the input
    language: P @ (1/A^2 @ x), not P @ 1/A^2 @ x, which is ((P @ 1)/A^2) @ x; and B @ (x @ C),
    not B @ x @ C, where NumPy's x is a column after B and a row before C."""
    first = _leftmost(e, ("matmul",))
    return first.op not in ("mul", "div") and first.shape is not None and len(first.shape) == 2


def _leftmost(e: Expr, ops: tuple) -> Expr:
    """The operand `e` begins with when printed, looking through the operators `ops` (the
    input language reads '*', '/' and '@' alike, left to right: a bare right operand's first
    factor joins the product on its left)."""
    while e.op in ops:
        e = e.args[0]
    return e


def _div(e: Expr, s: Style) -> tuple[str, int]:
    a, b = e.args
    if s.latex:
        return f"\\frac{{{show(a, s)}}}{{{show(b, s)}}}", ATOM
    return show(a, s, MUL) + s.div + show(b, s, UNARY + 1), MUL


def _matmul(e: Expr, s: Style) -> tuple[str, int]:
    a, b = e.args
    # vector@vector is the dot product: w·x on screen (the ASCII form keeps '@').
    symbol = s.dot if s.name == "unicode" and len(a.shape) == 1 == len(b.shape) else s.matmul
    if s.latex and a.shape is not None and len(a.shape) == 1 and len(b.shape) != 2:  # wᵀx
        return show(a, s, POSTFIX) + s.transpose + " " + show(b, s, UNARY + 1), MUL
    right = MUL if _is_product(b) and _is_product(e) else UNARY + 1     # A B x = A (B x)
    if right == MUL and s.ascii and not follows_matmul_bare(b):
        right = UNARY + 1
    if not s.ascii:                      # (a ⊙ B) c, (A ⊗ B) C: never bare
        return _operand(a, s, MUL) + symbol + _operand(b, s, right), MUL
    return show(a, s, MUL) + symbol + show(b, s, right), MUL


def _dot(e: Expr, s: Style) -> tuple[str, int]:
    a, b = e.args
    if s.latex:
        return show(a, s, POSTFIX) + s.transpose + " " + show(b, s, UNARY + 1), MUL
    return show(a, s, MUL) + s.dot + show(b, s, UNARY + 1), MUL


def _pow(e: Expr, s: Style) -> tuple[str, int]:
    a, b = e.args
    if s.latex:
        return f"{{{show(a, s, POSTFIX)}}}^{{{show(b, s)}}}", POW
    if s.name == "unicode" and b.op == "num" and b.value == int(b.value) and abs(b.value) < 100:
        return show(a, s, POSTFIX) + format_number(b.value).translate(_SUPERSCRIPT), POW
    return show(a, s, POSTFIX) + s.pow + show(b, s, POW), POW


def _transpose(e: Expr, s: Style) -> tuple[str, int]:
    return show(e.args[0], s, ATOM) + s.transpose, POSTFIX


def _vector(e: Expr, s: Style) -> tuple[str, int]:
    inner = ", ".join(show(a, s) for a in e.args)
    if s.latex:
        return r"\begin{bmatrix}" + r" \\ ".join(show(a, s) for a in e.args) + r"\end{bmatrix}", ATOM
    return f"[{inner}]", ATOM


def _matrix(e: Expr, s: Style) -> tuple[str, int]:
    rows, cols = e.value
    grid = [[show(a, s) for a in e.args[r * cols:(r + 1) * cols]] for r in range(rows)]
    if s.latex:
        return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(r) for r in grid) + \
            r"\end{bmatrix}", ATOM
    return "[" + ", ".join("[" + ", ".join(r) + "]" for r in grid) + "]", ATOM


def _vec(e: Expr, s: Style) -> tuple[str, int]:
    return function_form("vec", show(e.args[0], s), s), ATOM


_PRINTERS = {"dim": _dim, "ones": _ones, "eye": _eye, "commutation": _commutation, "kron": _kron,
             "zeros": _zeros, "add": _add, "neg": _neg, "mul": _mul, "div": _div,
             "matmul": _matmul, "dot": _dot, "pow": _pow, "transpose": _transpose,
             "vector": _vector, "matrix": _matrix, "vec": _vec}


def mixes(e: Expr, beside_hadamard: bool) -> bool:
    """Whether `e` bare beside a matrix product (or, `beside_hadamard`, beside ⊙) could be read
    two ways: an element-wise product or quotient of non-scalars, a Kronecker product, or a
    matrix product beside ⊙."""
    if e.op == "div":                          # (1/M) x or 1/(M x)? unless M is a scalar
        return e.args[1].shape != ()
    if e.op == "mul":
        return all(a.shape != () for a in e.args)
    return e.op == "kron" or (beside_hadamard and _is_product(e))


def _operand(e: Expr, s: Style, context: int, *, beside_hadamard: bool = False) -> str:
    if mixes(e, beside_hadamard):
        text = show(e, s)
        return (r"\left(" + text + r"\right)") if s.latex else f"({text})"
    return show(e, s, context)


def _hadamard_operand(e: Expr, s: Style, context: int) -> str:
    if e.op == "mul" and all(a.shape != () for a in e.args):
        return show(e, s, context)
    return _operand(e, s, context, beside_hadamard=True)


def ascii_form(e: Expr) -> str:
    return show(e, ASCII)


def unicode_form(e: Expr) -> str:
    return show(e, UNICODE)


def latex_form(e: Expr) -> str:
    return show(e, LATEX)


node.printer = ascii_form     # a node's repr is its ASCII form
