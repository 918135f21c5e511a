"""An independent evaluator of the jac expression language, for the tests.

Written from SPEC.md alone: its own tokenizer and recursive-descent parser, and NumPy
semantics for every operator. It shares no code with `jaccli` (in particular not
`jaccli.evaluate`), so agreement between the two is evidence, not an echo.

It also reads the closed forms jac prints in JSON (`symbolic`): the helpers `eye(n)`,
`ones(n)` / `ones(m, n)`, `zeros(m, n)` / `zeros(n)`, `diag(v)`, `kron(A, B)`, `vec(A)` (row-major),
`commutation(m, n)` (vec(Aᵀ) = commutation(m, n) @ vec(A) for A m×n), `step(v)`, `sign(v)`;
the outer product `x @ y'` (a vector times a row is a matrix); and the papers' symbols
`ᵀ ⊙ ⊘ −` as the operators `' * / -` (SPEC.md: a symbol jac prints is never part of a name).
Brackets build vectors (`[a, b, c]`, scalars), matrices from rows (`[[1, 2], [3, 4]]`, as
`--at` writes them: every item a comma list) and block matrices (`[A, x]` side by side,
`[A; B]` stacked, `[[A; 0], [B; 0]]`; a scalar item such as `0` fills its block). Size arguments are
expressions too, so a size symbol (`n`, `m*n`) is a name bound to a number.

`numeric_jacobian` differentiates an expression by central finite differences in
numerator layout (rows: the output, flattened row-major; columns: the variables of one
`--wrt` group, each flattened row-major, side by side). `Evaluation.hazard` is the
smallest distance seen to a kink or a domain edge (|z| at abs/relu, |a - b| at max/min,
|cos z| at tan, the argument of log/sqrt, the denominator of / and of a negative power,
the base of a fractional power, ‖x‖ at norm), so a test can stay away
from points where finite differences mean nothing.
"""
from __future__ import annotations

import math
import re

import numpy as np

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>(?!ᵀ)[^\W\d_](?:(?!ᵀ)\w)*)
  | (?P<op>\*\*|[-+*/@·^'()\[\],;ᵀ⊙⊘−])
""", re.VERBOSE)


# The papers' symbols SPEC.md accepts as input, and `**`, spelled as the parser knows them.
_PAPER_SYMBOLS = {"**": "^", "ᵀ": "'", "⊙": "*", "⊘": "/", "−": "-"}


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SyntaxError(f"oracle: unexpected {text[pos]!r} at {pos + 1}")
        pos = m.end()
        if m.lastgroup != "ws":
            value = m.group()
            tokens.append((m.lastgroup, _PAPER_SYMBOLS.get(value, value)))
    tokens.append(("end", ""))
    return tokens


class _Parser:
    """expr := product (('+'|'-') product)*; product := unary (('*'|'/'|'@'|'·') unary)*;
    unary := '-' unary | power; power := postfix ('^' exponent)?;
    exponent := '-' exponent | power; postfix := atom "'"*."""

    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> str:
        return self.tokens[self.i][1]

    def take(self, want: str | None = None):
        kind, value = self.tokens[self.i]
        if want is not None and value != want:
            raise SyntaxError(f"oracle: expected {want!r}, found {value!r}")
        self.i += 1
        return kind, value

    def parse(self):
        tree = self.expr()
        if self.tokens[self.i][0] != "end":
            raise SyntaxError(f"oracle: trailing {self.peek()!r}")
        return tree

    def expr(self):
        out = self.product()
        while self.peek() in ("+", "-"):
            op = {"+": "add", "-": "sub"}[self.take()[1]]
            out = (op, out, self.product())
        return out

    def product(self):
        out = self.unary()
        while self.peek() in ("*", "/", "@", "·"):
            op = {"*": "mul", "/": "div", "@": "matmul", "·": "dot"}[self.take()[1]]
            out = (op, out, self.unary())
        return out

    def unary(self):
        if self.peek() == "-":
            self.take()
            return ("neg", self.unary())
        return self.power()

    def power(self):
        base = self.postfix()
        if self.peek() == "^":
            self.take()
            return ("pow", base, self.exponent())
        return base

    def exponent(self):
        if self.peek() == "-":
            self.take()
            return ("neg", self.exponent())
        return self.power()

    def postfix(self):
        out = self.atom()
        while self.peek() == "'":
            self.take()
            out = ("transpose", out)
        return out

    def atom(self):
        kind, value = self.take()
        if kind == "number":
            return ("num", float(value))
        if kind == "name":
            if self.peek() == "(":
                self.take()
                args = self.arguments(")")
                return ("call", value, *args)
            return ("var", value)
        if value == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if value == "[":
            rows = self.rows()
            return ("vector", *rows[0]) if len(rows) == 1 else ("block", *rows)
        raise SyntaxError(f"oracle: unexpected {value!r}")

    def rows(self) -> list[tuple]:
        """`[a, b; c, d]`: rows of a block matrix, `;` between rows (one row: `[a, b, c]`)."""
        rows, row = [], [self.expr()]
        while self.peek() in (",", ";"):
            if self.take()[1] == ";":
                rows.append(tuple(row))
                row = []
            row.append(self.expr())
        self.take("]")
        return rows + [tuple(row)]

    def arguments(self, close: str) -> list:
        args = [self.expr()]
        while self.peek() == ",":
            self.take()
            args.append(self.expr())
        self.take(close)
        return args


def parse(text: str):
    return _Parser(text).parse()


def _softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def _logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def _size(v) -> int:
    n = float(v)
    if not n.is_integer() or n < 1:
        raise ValueError(f"oracle: a size must be a positive integer, not {v!r}")
    return int(n)


def _flat(v) -> np.ndarray:
    """A vector, given as a vector, a row or a one-column matrix."""
    a = np.asarray(v, dtype=float)
    if a.ndim == 2 and 1 in a.shape:
        return a.reshape(-1)
    if a.ndim != 1:
        raise ValueError(f"oracle: expected a vector, got shape {a.shape}")
    return a


def _column(block) -> np.ndarray:
    """A block of hstack/vstack: a vector is a column, a number 1x1."""
    b = np.asarray(block, dtype=float)
    return b.reshape(-1, 1) if b.ndim == 1 else np.atleast_2d(b)


def _kron(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim == 1 and b.ndim == 1:
        return np.kron(a, b)
    column = lambda v: v.reshape(-1, 1) if v.ndim == 1 else np.atleast_2d(v)   # noqa: E731
    return np.kron(column(a), column(b))


def commutation(m, n) -> np.ndarray:
    """K with vec(Aᵀ) = K vec(A) for A m×n, vec row-major: vec(A)[i*n + j] = A[i, j]."""
    m, n = _size(m), _size(n)
    k = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            k[j * m + i, i * n + j] = 1.0
    return k


class NeedsSize(ValueError):
    """A block whose size only the whole result can tell (a lone `0` row, an `I` alone)."""


def _block_dims(item, h, w) -> tuple:
    """What an item says of its block's size, given what is known (h, w may be None)."""
    if hasattr(item, "sized"):                  # a lazy I or 1 of the paper readers
        return item.complete(h if item.rows is None else item.rows, w if item.cols is None else item.cols)
    a = np.asarray(item)
    return (a.shape[0], 1) if a.ndim == 1 else a.shape


def _fill(known: list, total) -> list:
    missing = [i for i, k in enumerate(known) if k is None]
    if not missing or total is None:
        return known
    rest = total - sum(k for k in known if k is not None)
    if len(missing) == 1 and rest >= 1:
        return [rest if k is None else k for k in known]
    if rest == len(missing):
        return [1 if k is None else k for k in known]
    return known


def assemble_blocks(rows: list[list], shape=None, scalar=lambda a: np.ndim(a) == 0,
                    split=(None, None)) -> np.ndarray:
    """A block matrix: a scalar item fills its block; a vector is a column; a block's height
    comes from its row, its width from its column; a row or column of scalars alone is 1
    high or wide, unless `shape` (the whole result's) says otherwise (`[0; I]` in 5 rows).
    `split`: (heights, widths) of the blocks where the reader knows them (a Jacobian with
    respect to x,y has a block per variable), else None."""
    if len({len(r) for r in rows}) != 1:
        raise ValueError("oracle: a block matrix with rows of different lengths")
    known_heights, known_widths = split
    heights = list(known_heights) if known_heights and len(known_heights) == len(rows) \
        else [None] * len(rows)
    widths = list(known_widths) if known_widths and len(known_widths) == len(rows[0]) \
        else [None] * len(rows[0])
    lone = lambda items: all(scalar(a) for a in items)               # noqa: E731
    for attempt in range(4):                    # what one block fixes, another may need
        if attempt == 2:                        # then a row or column of scalars alone is 1
            heights = [1 if h is None and lone(rows[i]) else h for i, h in enumerate(heights)]
            widths = [1 if w is None and lone([r[j] for r in rows]) else w for j, w in enumerate(widths)]
        for i, row in enumerate(rows):
            for j, item in enumerate(row):
                if scalar(item):
                    continue
                h, w = _block_dims(item, heights[i], widths[j])
                for dims, k, v in ((heights, i, h), (widths, j, w)):
                    if v is not None and dims[k] not in (None, v):
                        raise ValueError(f"oracle: block sizes {dims[k]} and {v} do not fit")
                    if v is not None:
                        dims[k] = v
        heights = _fill(heights, None if shape is None else shape[0])
        widths = _fill(widths, None if shape is None else shape[1])
    if None in heights or None in widths:
        raise NeedsSize("the size of a block is not known")
    out = []
    for i, row in enumerate(rows):
        parts = []
        for j, item in enumerate(row):
            h, w = heights[i], widths[j]
            if scalar(item):
                parts.append(np.full((h, w), float(np.reshape(item, -1)[0])))
            elif hasattr(item, "sized"):
                parts.append(np.asarray(item.sized(h, w), dtype=float))
            else:
                a = np.asarray(item, dtype=float)
                parts.append(a.reshape(-1, 1) if a.ndim == 1 else a)
            if parts[-1].shape != (h, w):
                raise ValueError(f"oracle: a block of {parts[-1].shape} where {(h, w)} fits")
        out.append(np.hstack(parts))
    return np.vstack(out)


def _ones(*sizes):
    return np.ones(tuple(_size(s) for s in sizes))


def _zeros(*sizes):
    return np.zeros(tuple(_size(s) for s in sizes))


_FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log,
    "sqrt": np.sqrt, "tanh": np.tanh, "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0.0), "abs": np.abs,
    "sum": np.sum, "mean": np.mean, "norm": lambda z: np.sqrt(np.sum(z * z)),
    "softmax": _softmax, "logsumexp": _logsumexp,
    "max": np.maximum, "min": np.minimum, "dot": lambda a, b: np.dot(a, b),
    "eye": lambda n: np.eye(_size(n)), "ones": _ones, "zeros": _zeros,
    "diag": lambda v: np.diag(_flat(v)), "kron": _kron,
    "hstack": lambda *blocks: np.hstack([_column(b) for b in blocks]),
    "vstack": lambda *blocks: np.vstack([_column(b) for b in blocks]),
    "vec": lambda a: np.reshape(np.asarray(a, dtype=float), -1),
    "commutation": commutation,
    "step": lambda z: np.where(np.asarray(z) > 0, 1.0, 0.0), "sign": np.sign,
}


def _min_abs(a) -> float:
    return float(np.min(np.abs(a))) if np.size(a) else math.inf


class Evaluation:
    """Evaluates a parsed expression at `values` (name -> array-like) with NumPy."""

    def __init__(self, values: dict):
        self.values = {k: np.asarray(v, dtype=float) for k, v in values.items()}
        self.hazard = math.inf

    def _near(self, distance: float) -> None:
        self.hazard = min(self.hazard, distance)

    def __call__(self, node):
        op = node[0]
        if op == "num":
            return node[1]
        if op == "var":
            if node[1] not in self.values:
                raise NameError(f"oracle: {node[1]!r} has no value (not a variable, size or helper)")
            v = self.values[node[1]]
            return float(v) if v.ndim == 0 else v
        if op == "call":
            name, args = node[1], [self(a) for a in node[2:]]
            if name not in _FUNCTIONS:
                raise NameError(f"oracle: unknown function {name!r}")
            if name in ("abs", "relu", "step", "sign"):
                self._near(_min_abs(args[0]))
            elif name in ("max", "min"):
                self._near(_min_abs(np.subtract(args[0], args[1])))
            elif name == "tan":
                self._near(_min_abs(np.cos(args[0])))
            elif name in ("log", "sqrt"):
                self._near(float(np.min(args[0])))
            elif name == "norm":
                self._near(float(np.sqrt(np.sum(np.square(args[0])))))
            return _FUNCTIONS[name](*args)
        if op == "vector":
            items = [self(a) for a in node[1:]]
            if all(np.ndim(a) == 0 for a in items):
                return np.array([float(a) for a in items])       # [a, b, c]: a vector
            if all(a[0] == "vector" for a in node[1:]):
                # [[1, 2], [3, 4]]: rows, as a matrix is written in --at and in JSON values
                return assemble_blocks([[np.atleast_2d(a)] for a in items])
            return assemble_blocks([items])                      # [A, x]: blocks side by side
        if op == "block":
            return assemble_blocks([[self(a) for a in row] for row in node[1:]])
        args = [self(a) for a in node[1:]]
        if op == "neg":
            return -args[0]
        if op == "transpose":
            a = np.asarray(args[0])
            if a.ndim == 0:
                return float(a)
            if a.ndim == 1:
                return a[None, :]
            return a[0] if a.shape[0] == 1 else a.T
        a, b = args
        if op == "add":
            return np.add(a, b)
        if op == "sub":
            return np.subtract(a, b)
        if op == "mul":
            return np.multiply(a, b)
        if op == "div":
            self._near(_min_abs(b))
            return np.divide(a, b)
        if op == "pow":
            integral = np.ndim(b) == 0 and float(b).is_integer()
            if not integral:
                self._near(float(np.min(a)))
            elif float(b) < 0:
                self._near(_min_abs(a))
            return np.power(a, b)
        if op == "matmul" and np.ndim(a) == 1 and np.ndim(b) == 2 and np.shape(b)[0] == 1:
            return np.outer(a, b[0])     # x @ y': a vector times a row is the outer product
        if op in ("matmul", "dot"):
            out = np.matmul(a, b)
            if np.ndim(a) == 2 and np.shape(a)[0] == 1 and np.ndim(b) == 1:
                return float(out[0])    # a row times a column is a scalar, as in SPEC.md
            return float(out) if np.ndim(out) == 0 else out
        raise AssertionError(op)


def evaluate(text: str, values: dict):
    """The value of `text`: a float, a 1-D array (vector) or a 2-D array (matrix or row)."""
    return Evaluation(values)(parse(text))


def hazard(text: str, values: dict) -> float:
    """How close the evaluation comes to a kink or a domain edge (see module docstring)."""
    ev = Evaluation(values)
    ev(parse(text))
    return ev.hazard


def numeric_jacobian(text: str, values: dict, wrt: list[str], h: float = 1e-6) -> np.ndarray:
    """Central finite differences, numerator layout: d vec(f) / d [vec(w1); vec(w2); ...].

    A name in `wrt` without a value is a variable the expression does not use: its columns
    are those of `values[name]` when given, so callers pass a value for it too."""
    tree = parse(text)
    base = {k: np.array(v, dtype=float) for k, v in values.items()}

    def f(vals) -> np.ndarray:
        return np.reshape(np.asarray(Evaluation(vals)(tree), dtype=float), -1)

    rows = f(base).size
    columns = []
    for name in wrt:
        flat = base[name].reshape(-1)
        for k in range(flat.size):
            step = h * max(1.0, abs(flat[k]))
            plus = {**base, name: _bumped(base[name], k, step)}
            minus = {**base, name: _bumped(base[name], k, -step)}
            columns.append((f(plus) - f(minus)) / (2 * step))
    if not columns:
        return np.zeros((rows, 0))
    return np.stack(columns, axis=1)


def _bumped(a: np.ndarray, k: int, step: float) -> np.ndarray:
    out = np.array(a, dtype=float)
    out.reshape(-1)[k] += step
    return out
