"""`--emit numpy`: a `Result` as a self-contained Python module that needs only NumPy.

The module has `f(**variables)`, `jacobians(**variables)` (a dict keyed by the `--wrt`
names, in jac's layout), `hessians(**variables)` with `--hessian`, the closed forms in its
docstring, and a finite-difference self-test when run as a script.

Expressions are printed by op name through `EXPRESSIONS`, one entry per op, so a new op
of `expr.py` is one line here. Jacobians keep their structure (`_jacobian_code`): a
diagonal is computed as its vector, diag(d)·W as a row scaling d[:, None] * W, W·diag(d)
as a column scaling, and only the returned value is a dense matrix (unless
`diagonal_as_vector=True`). Subexpressions used more than once are computed once.
"""
from __future__ import annotations

import keyword

from . import jacobians as J
from . import sizes
from .errors import Unsupported
from .expr import Expr
from .notation import ascii_form, format_number


def _num(v: float) -> str:
    text = format_number(v)
    special = {"nan": "np.nan", "inf": "np.inf", "-inf": "-np.inf"}
    if text in special:
        return special[text]
    if "/" in text:                      # an exact fraction such as 2/3
        return f"({text})"
    return text if "." in text or "e" in text else text + ".0"


def _transpose(p, e: Expr, a: str) -> str:
    inner = e.args[0].shape
    if len(inner) == 1:
        return f"{a}[None, :]"
    if len(e.shape) == 1:               # a 1×n row read back as a vector
        return f"{a}[0]"
    return f"{a}.T"


def _matmul(p, e: Expr, a: str, b: str) -> str:
    if len(e.args[0].shape) == 1 and len(e.args[1].shape) == 1:
        return f"np.dot({a}, {b})"
    if e.shape == ():                    # a row times a vector: one number
        return f"np.reshape({a} @ {b}, -1)[0]"
    if len(e.args[0].shape) == 1 and len(e.shape) == 2:       # u @ v': the outer product
        return f"np.outer({a}, {b})"
    return f"({a} @ {b})"


def _log(p, e: Expr, a: str) -> str:
    inner = e.args[0]
    if inner.op == "softmax":            # log-softmax and log-sigmoid without overflow
        x = p.code(inner.args[0])
        return f"({x} - _logsumexp({x}))"
    if inner.op == "sigmoid":
        return f"(-np.logaddexp(0.0, -{p.code(inner.args[0])}))"
    return f"np.log({a})"


def _shape_code(p, shape) -> str:
    inner = ", ".join(p.size(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


# op -> printer(printer, node, *operand codes). New ops of expr.py are one entry here.
EXPRESSIONS = {
    "num": lambda p, e: _num(e.value),
    "var": lambda p, e: p.name(e.value),
    "dim": lambda p, e: f"float({p.size(e.value)})",
    "ones": lambda p, e: f"np.ones({_shape_code(p, e.shape)})",
    "zeros": lambda p, e: f"np.zeros({_shape_code(p, e.shape)})",
    "add": lambda p, e, *a: "(" + " + ".join(a) + ")",
    "neg": lambda p, e, a: f"(-{a})",
    "mul": lambda p, e, a, b: f"({a} * {b})",
    "div": lambda p, e, a, b: f"({a} / {b})",
    "pow": lambda p, e, a, b: f"np.power({a}, {b})",
    "matmul": _matmul,
    "dot": lambda p, e, a, b: f"np.dot({a}, {b})",
    "transpose": _transpose,
    "vec": lambda p, e, a: f"np.reshape({a}, -1)",
    "vector": lambda p, e, *a: "np.array([" + ", ".join(f"float({x})" for x in a) + "])",
    "matrix": lambda p, e, *a: "np.reshape(np.array([" + ", ".join(f"float({x})" for x in a) +
                               f"]), {tuple(e.value)})",
    "sin": lambda p, e, a: f"np.sin({a})",
    "cos": lambda p, e, a: f"np.cos({a})",
    "tan": lambda p, e, a: f"np.tan({a})",
    "exp": lambda p, e, a: f"np.exp({a})",
    "log": _log,
    "sqrt": lambda p, e, a: f"np.sqrt({a})",
    "tanh": lambda p, e, a: f"np.tanh({a})",
    "sigmoid": lambda p, e, a: f"_sigmoid({a})",
    "relu": lambda p, e, a: f"np.maximum({a}, 0.0)",
    "abs": lambda p, e, a: f"np.abs({a})",
    "step": lambda p, e, a: f"np.where(np.asarray({a}) > 0, 1.0, 0.0)",
    "sign": lambda p, e, a: f"np.sign({a})",
    "max": lambda p, e, a, b: f"np.maximum({a}, {b})",
    "min": lambda p, e, a, b: f"np.minimum({a}, {b})",
    "sum": lambda p, e, a: f"np.sum({a})",
    "mean": lambda p, e, a: f"np.mean({a})",
    "norm": lambda p, e, a: f"np.sqrt(np.sum(np.square({a})))",
    "logsumexp": lambda p, e, a: f"_logsumexp({a})",
    "softmax": lambda p, e, a: f"_softmax({a})",
    # Matrix-calculus helpers, for closed forms that use them as expression nodes.
    "eye": lambda p, e, *a: f"np.eye({p.size(e.shape[0])})",
    "diag": lambda p, e, a: f"np.diag({a})",
    "kron": lambda p, e, a, b: f"_kron({a}, {b})",
    "hstack": lambda p, e, *a: f"_blocks(np.hstack, {', '.join(a)})",
    "vstack": lambda p, e, *a: f"_blocks(np.vstack, {', '.join(a)})",
    "commutation": lambda p, e, *a: (f"_commutation(int({a[0]}), int({a[1]}))" if a else
                                     f"_commutation({p.size(e.value[0])}, {p.size(e.value[1])})"),
}

_HELPERS = '''

def _sigmoid(x):
    with np.errstate(over="ignore"):     # exp(-x) is inf far below 0: the answer is 0
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _logsumexp(x):
    x = np.reshape(np.asarray(x, dtype=float), -1)
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def _softmax(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def _full(v, n):
    """v (a scalar, or n numbers in any shape) as a vector of length n."""
    return np.broadcast_to(np.reshape(np.asarray(v, dtype=float), -1), (n,))


def _column(x):
    """A factor of kron or a block of hstack/vstack as a matrix: a vector is a column."""
    x = np.asarray(x, dtype=float)
    return x.reshape(-1, 1) if x.ndim == 1 else np.atleast_2d(x)


def _blocks(stack, *blocks):
    """Blocks side by side or one above another."""
    return stack([_column(b) for b in blocks])


def _kron(a, b):
    """The Kronecker product."""
    return np.kron(_column(a), _column(b))


def _commutation(m, n):
    """K with vec(A') = K vec(A) for an m x n matrix A (row-major vec)."""
    k = np.zeros((m * n, m * n))
    i, j = np.divmod(np.arange(m * n), n)
    k[j * m + i, i * n + j] = 1.0
    return k
'''


class _Printer:
    """Expressions of one function body as NumPy code, shared subexpressions computed once."""

    def __init__(self, names: dict, size_sources: dict, uses: dict):
        self.names, self.sources, self.uses = names, size_sources, uses
        self.lines: list[str] = []
        self.done: dict[Expr, str] = {}

    def name(self, variable: str) -> str:
        return self.names[variable]

    def size(self, s) -> str:
        if sizes.is_concrete(s):
            return str(s)
        parts = []
        for mono, coef in s.terms.items():
            factors = [str(coef)] if coef != 1 or not mono else []
            factors += [self.symbol(m) for m in mono]
            parts.append("*".join(factors))
        if len(parts) == 1 and "*" not in parts[0]:
            return parts[0]
        return "(" + " + ".join(parts) + ")"

    def symbol(self, sym: str) -> str:
        if sym not in self.sources:
            raise Unsupported(f"--emit numpy: the size {sym} is not the length of any variable",
                              hint="declare it with --shape")
        return self.sources[sym]

    def code(self, e: Expr) -> str:
        hit = self.done.get(e)
        if hit is not None:
            return hit
        printer = EXPRESSIONS.get(e.op)
        if printer is None:
            raise Unsupported(f"--emit numpy has no NumPy spelling for {e.op}")
        if e.op == "log" and e.args and e.args[0].op in ("softmax", "sigmoid"):
            text = printer(self, e, "")
        else:
            text = printer(self, e, *(self.code(a) for a in e.args))
        if e.args and self.uses.get(e, 0) > 1:       # used again: compute it once
            temp = f"t{len(self.lines) + 1}"
            self.lines.append(f"{temp} = {text}")
            text = temp
        self.done[e] = text
        return text


def _count_uses(exprs) -> dict:
    uses: dict[Expr, int] = {}
    stack = list(exprs)
    while stack:
        e = stack.pop()
        uses[e] = uses.get(e, 0) + 1
        if uses[e] == 1:
            stack.extend(e.args)
    return uses


def _jacobian_code(p: _Printer, j: J.Jacobian) -> tuple[str, bool]:
    """(code, is_diagonal_vector): a diagonal Jacobian is the vector of its diagonal."""
    rows, cols = p.size(j.rows), p.size(j.cols)
    if isinstance(j, J.Zero):
        if j.rows == j.cols:
            return f"np.zeros({rows})", True
        return f"np.zeros(({rows}, {cols}))", False
    if isinstance(j, J.Identity):
        return f"np.ones({rows})", True
    if isinstance(j, J.Scaled):
        return f"_full({p.code(j.c)}, {rows})", True
    if isinstance(j, J.Diagonal):
        return f"_full({p.code(j.d)}, {rows})", True
    if isinstance(j, J.Row):
        return f"_full({p.code(j.v)}, {cols})[None, :]", False
    if isinstance(j, J.Column):
        return f"_full({p.code(j.v)}, {rows})[:, None]", False
    if isinstance(j, J.Scalar):
        return f"np.reshape(np.asarray({p.code(j.c)}, dtype=float), (1, 1))", False
    if isinstance(j, J.Matrix):
        return f"np.reshape({p.code(j.m)}, ({rows}, {cols}))", False
    if isinstance(j, J.Kron):
        (a, da), (b, db) = _jacobian_code(p, j.a), _jacobian_code(p, j.b)
        if da and db:
            return f"np.kron({a}, {b})", True
        return f"np.kron({_dense(a, da)}, {_dense(b, db)})", False
    if isinstance(j, J.Commutation):
        return f"_commutation({p.size(j.m)}, {p.size(j.n)})", False
    if isinstance(j, J.Sum):
        parts = [_jacobian_code(p, t) for t in j.terms]
        if all(d for _, d in parts):
            return "(" + " + ".join(c for c, _ in parts) + ")", True
        return "(" + " + ".join(_dense(c, d) for c, d in parts) + ")", False
    if isinstance(j, J.Product):
        code, diag = _jacobian_code(p, j.factors[0])
        for f in j.factors[1:]:
            c, d = _jacobian_code(p, f)
            if diag and d:
                code = f"({code} * {c})"
            elif diag:                       # diag(d) @ W: scale the rows of W
                code, diag = f"({code}[:, None] * {c})", False
            elif d:                          # W @ diag(d): scale the columns of W
                code = f"({code} * {c}[None, :])"
            else:
                code = f"({code} @ {c})"
        return code, diag
    if isinstance(j, J.Stack):
        blocks = [_dense(*_jacobian_code(p, b)) for b in j.blocks]
        stack = "np.hstack" if j.axis == "h" else "np.vstack"
        return f"{stack}([{', '.join(blocks)}])", False
    raise Unsupported(f"--emit numpy cannot write a {type(j).__name__} Jacobian yet")


def _dense(code: str, diag: bool) -> str:
    return f"np.diag({code})" if diag else code


# Names the emitted module uses itself: a variable with one of them gets a trailing underscore.
_TAKEN = {"np", "out", "f", "jacobians", "hessians", "diagonal_as_vector", "float", "self_test"}


def _python_names(variables) -> dict:
    """Variable names as Python identifiers: a keyword, a name the module uses itself or a
    name like its temporaries (t1, t2, ...) gets a trailing underscore (`lambda_`)."""
    def taken(n):
        return (keyword.iskeyword(n) or n in _TAKEN or n.startswith("_")
                or (n.startswith("t") and n[1:].isdigit()))
    return {n: n + "_" if taken(n) else n for n in variables}


def _size_sources(result, names: dict) -> dict:
    """symbol -> the code that reads it from an argument (`x.shape[0]`)."""
    out = {}
    for n, shape in result.variables.items():
        for axis, s in enumerate(shape):
            if isinstance(s, sizes.Sym) and len(s.terms) == 1:
                (mono, coef), = s.terms.items()
                if len(mono) == 1 and coef == 1 and mono[0] not in out:
                    out[mono[0]] = f"{names[n]}.shape[{axis}]"
    return out


def _signature(names: dict) -> str:
    return "*, " + ", ".join(names.values())


def _arguments(result, names: dict) -> list[str]:
    lines = []
    for n, shape in result.variables.items():
        py = names[n]
        read = f"float({py})" if shape == () else f"np.asarray({py}, dtype=float)"
        lines.append(f"{py} = {read}")
    return lines


def _function(result, name: str, entries, doc: str, names: dict, sources: dict) -> str:
    exprs = [e for jr in entries for e in J.payloads(jr.jacobian)]
    p = _Printer(names, sources, _count_uses(exprs))
    returns = []
    for jr in entries:
        code, diag = _jacobian_code(p, jr.jacobian)
        returns.append((jr.wrt, code, diag))
    body = _arguments(result, names) + p.lines + ["out = {}"]
    for wrt, code, diag in returns:
        if diag:
            body.append(f"out[{wrt!r}] = {code} if diagonal_as_vector else np.diag({code})")
        else:
            body.append(f"out[{wrt!r}] = {code}")
    body.append("return out")
    sig = _signature(names) + ", diagonal_as_vector=False"
    return (f"def {name}({sig}):\n    \"\"\"{doc}\"\"\"\n"
            + "".join(f"    {line}\n" for line in body))


def _closed_forms(result) -> str:
    lines = []
    for title, entries in (("d f / d", result.jacobians), ("d2 f / d d", result.hessians)):
        for jr in entries:
            j = jr.jacobian
            rows, cols = sizes.to_json(j.rows), sizes.to_json(j.cols)
            wrt = ",".join(f"vec({n})" if len(result.variables.get(n, ())) == 2 else n
                           for n in jr.wrt.split(","))
            lines.append(f"    {title}{wrt} = {j.form()}")
            lines.append(f"        {rows} x {cols}, {j.structure}"
                         + (", diagonal" if j.diagonal and j.structure != "diagonal" else ""))
    return "\n".join(lines)


def module_text(result) -> str:
    """The module's source."""
    names = _python_names(result.variables)
    sources = _size_sources(result, names)
    f_printer = _Printer(names, sources, _count_uses([result.tree]))
    f_code = f_printer.code(result.tree)
    f_body = _arguments(result, names) + f_printer.lines + [f"return {f_code}"]
    shapes = {n: [sizes.to_json(s) for s in shape] for n, shape in result.variables.items()}
    doc = (f'"""Jacobians of f = {ascii_form(result.tree)}, written by jac (--emit numpy).\n\n'
           f"Layout: {result.layout} (numerator: J[i, j] = d f_i / d x_j; denominator: its "
           "transpose).\nMatrix variables are flattened row by row (vec).\n"
           f"Variables (shapes; letters are sizes read from the arguments): {shapes}\n\n"
           f"Closed forms:\n{_closed_forms(result)}\n\n"
           "Run this file to test it against central finite differences.\n\"\"\"\n")
    parts = [doc, "import numpy as np\n", f"LAYOUT = {result.layout!r}",
             f"SHAPES = {shapes!r}",
             f"NAMES = {names!r}   # variable -> keyword argument", _HELPERS, "",
             f"def f({_signature(names)}):\n    \"\"\"f itself.\"\"\"\n"
             + "".join(f"    {line}\n" for line in f_body),
             "",
             _function(result, "jacobians", result.jacobians,
                       "The Jacobians, keyed by the --wrt names (diagonals as vectors if "
                       "asked).", names, sources)]
    if result.hessians:
        parts += ["", _function(result, "hessians", result.hessians,
                                "The Hessians, keyed by the --hessian names.", names, sources)]
    parts += ["", _SELF_TEST]
    return "\n".join(parts)


_SELF_TEST = """
def _random_arguments(rng, size=3):
    \"\"\"Positive values (safe for log and sqrt); a letter in SHAPES is a size of `size`.\"\"\"
    return {py: rng.uniform(0.5, 1.5, size=tuple(d if isinstance(d, int) else size
                                                     for d in SHAPES[name]))
            for name, py in NAMES.items()}


def _bumped(values, moves):
    v = {key: np.array(a, dtype=float) for key, a in values.items()}
    for (py, k), step in moves:
        v[py].reshape(-1)[k] += step
    return v


def _coordinates(values, group):
    return [(NAMES[n], k) for n in group.split(",") for k in range(np.size(values[NAMES[n]]))]


def _step(values, coordinate, h):
    py, k = coordinate
    return h * max(1.0, abs(float(np.reshape(values[py], -1)[k])))


def _differences(values, group, h=1e-6):
    \"\"\"Central differences of vec(f) over the stacked [vec(x); vec(y); ...].\"\"\"
    columns = []
    for c in _coordinates(values, group):
        s = _step(values, c, h)
        hi = np.reshape(f(**_bumped(values, [(c, s)])), -1)
        lo = np.reshape(f(**_bumped(values, [(c, -s)])), -1)
        columns.append((hi - lo) / (2 * s))
    out = np.stack(columns, axis=1)
    return out.T if LAYOUT == "denominator" else out


def _second_differences(values, group, h=1e-4):
    \"\"\"(f(x+hi+hj) - f(x+hi-hj) - f(x-hi+hj) + f(x-hi-hj)) / (4 hi hj).\"\"\"
    coords = _coordinates(values, group)
    out = np.zeros((len(coords), len(coords)))
    for i, a in enumerate(coords):
        for j, b in enumerate(coords):
            ha, hb = _step(values, a, h), _step(values, b, h)
            total = 0.0
            for sa, sb, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                moved = _bumped(values, [(a, sa * ha), (b, sb * hb)])
                total += sign * float(np.reshape(f(**moved), -1)[0])
            out[i, j] = total / (4 * ha * hb)
    return out


def self_test(seed=0):
    \"\"\"(ok, largest difference): every Jacobian (and Hessian) against finite differences
    at random values.\"\"\"
    values = _random_arguments(np.random.default_rng(seed))
    worst, ok = 0.0, True
    checks = [(got, _differences(values, wrt), 1e-6, 1e-5)
              for wrt, got in jacobians(**values).items()]
    if "hessians" in globals():
        checks += [(got, _second_differences(values, wrt), 1e-5, 1e-4)
                   for wrt, got in hessians(**values).items()]
    for got, want, atol, rtol in checks:
        err = float(np.max(np.abs(got - want), initial=0.0))
        worst = max(worst, err)
        ok = ok and err <= atol + rtol * max(1.0, float(np.max(np.abs(want), initial=0.0)))
    return ok, worst


if __name__ == "__main__":
    import sys

    ok, worst = self_test()
    print(f"self-test: {'ok' if ok else 'FAILED'} (largest difference from finite "
          f"differences {worst:.2g})")
    sys.exit(0 if ok else 1)
"""
