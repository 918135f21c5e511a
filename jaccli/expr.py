"""Expressions: the vocabulary of operations, their shapes, and smart constructors (the
node class itself, `Expr`, is `node.py`'s, re-exported here).

One vocabulary runs through jac: the grammar's aliases, the `op` of a node and the keys of
the rule table in `rules.py` are the same words (`add`, `mul`, `matmul`, `sin`, `sum` ...).

A node built by the parser is untyped (`shape is None`). Shape inference (`shapes.py`)
rebuilds it with `typed`, which checks operands and records the node's shape:
`()` scalar, `(n,)` vector, `(m, n)` matrix. Closed-form derivatives are built from the same
nodes through the smart constructors below (`add`, `mul`, ...), which simplify as they go
and always keep the exact shape, so a closed form can be evaluated, printed, and
differentiated again.
"""
from __future__ import annotations

from fractions import Fraction

from . import sizes
from .errors import ShapeProblem
from .node import Expr, deep_recursion, remember_key, written_size  # noqa: F401  (re-exported)
from .notation import ascii_form

ELEMENTWISE_FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid",
                         "relu", "abs", "step", "sign")
BINARY_FUNCTIONS = ("max", "min", "dot")
REDUCTIONS = ("sum", "mean", "norm", "logsumexp")
VECTOR_FUNCTIONS = ("softmax",)
# The helpers closed forms are printed with, so that every printed form reads back in.
# diag, vec, kron and the block functions take expressions; the sized ones take sizes (how
# many arguments).
FORM_FUNCTIONS = ("diag", "vec", "kron", "hstack", "vstack")
# Blocks side by side or one above another, any number of them (a vector is a column).
BLOCK_FUNCTIONS = ("hstack", "vstack")
SIZED = {"eye": (1,), "ones": (1, 2), "zeros": (1, 2), "commutation": (2,)}
FUNCTIONS = ELEMENTWISE_FUNCTIONS + BINARY_FUNCTIONS + REDUCTIONS + VECTOR_FUNCTIONS + \
    FORM_FUNCTIONS + tuple(SIZED)
ARITY = {**{f: 1 for f in ELEMENTWISE_FUNCTIONS + REDUCTIONS + VECTOR_FUNCTIONS},
         **{f: 2 for f in BINARY_FUNCTIONS}, "diag": 1, "vec": 1, "kron": 2}
ELEMENTWISE_BINARY = ("mul", "div", "pow", "max", "min")
# Ops whose operands get the vector/matrix default of SPEC.md shape rule 1.
SHAPING_OPS = ("matmul", "dot", "diag", "vec", "kron") + REDUCTIONS + VECTOR_FUNCTIONS


# ---------------------------------------------------------------- shapes of operations

def describe_shape(shape) -> str:
    if shape == ():
        return "a scalar"
    if len(shape) == 1:
        return f"a vector of length {shape[0]}"
    return f"a {shape[0]}x{shape[1]} matrix"


def _mismatch(op_word: str, a: Expr, b: Expr, why: str = "") -> ShapeProblem:
    msg = (f"cannot apply {op_word} to {ascii_form(a)!s} ({describe_shape(a.shape)}) and "
           f"{ascii_form(b)} ({describe_shape(b.shape)})")
    return ShapeProblem(msg + (f": {why}" if why else ""), column=b.column or a.column)


OP_WORDS = {"add": "'+'", "mul": "'*'", "div": "'/'", "pow": "'^'", "max": "max", "min": "min",
            "matmul": "'@'", "dot": "the dot product"}


def broadcast_shape(op: str, args) -> tuple:
    """Element-wise operations: scalars broadcast, everything else must match exactly."""
    shape: tuple = ()
    first = None
    for a in args:
        if a.shape == ():
            continue
        if first is None:
            first, shape = a, a.shape
        elif a.shape != shape:
            why = "element-wise operands must have the same shape (a scalar broadcasts)"
            raise _mismatch(OP_WORDS.get(op, op), first, a, why)
    return shape


_BROADCAST = frozenset(("add",) + ELEMENTWISE_BINARY)
_SAME_SHAPE = frozenset(("neg",) + ELEMENTWISE_FUNCTIONS)


def infer_shape(op: str, args, value):
    """The shape of `op(*args)`, or a ShapeProblem naming both operands."""
    if op in _BROADCAST:                # the most common ops first
        return broadcast_shape(op, args)
    if op in _SAME_SHAPE:
        return args[0].shape
    if op == "num" or op == "dim":
        return ()
    if op in ("ones", "zeros"):
        return value
    if op == "eye":
        return (value, value)
    if op == "commutation":
        n = sizes.mul(value[0], value[1])
        return (n, n)
    if op == "diag":
        if len(args[0].shape) != 1:
            raise ShapeProblem(f"diag needs a vector, not {describe_shape(args[0].shape)}",
                               column=args[0].column)
        return (args[0].shape[0], args[0].shape[0])
    if op == "kron":
        sa, sb = (as_matrix_shape(x.shape) for x in args)
        return (sizes.mul(sa[0], sb[0]), sizes.mul(sa[1], sb[1]))
    if op in BLOCK_FUNCTIONS:
        along, across = (1, 0) if op == "hstack" else (0, 1)
        blocks = [as_matrix_shape(x.shape) for x in args]
        if any(b[across] != blocks[0][across] for b in blocks):
            raise ShapeProblem(f"{op} needs blocks with the same number of "
                               f"{'rows' if op == 'hstack' else 'columns'}",
                               column=args[0].column)
        total = sizes.total(b[along] for b in blocks)
        return (blocks[0][0], total) if op == "hstack" else (total, blocks[0][1])
    if op == "transpose":
        s = args[0].shape
        if len(s) == 1:
            return (1, s[0])
        if len(s) == 2:
            return (s[1],) if s[0] == 1 else (s[1], s[0])
        return ()
    if op == "vec":
        s = args[0].shape
        return (sizes.product(s),) if s else (1,)
    if op == "matmul":
        a, b = args
        sa, sb = a.shape, b.shape
        if sa == () or sb == ():
            raise _mismatch("'@'", a, b, "'@' needs vectors or matrices; use '*' to scale")
        if len(sa) == 1 and len(sb) == 2 and sb[0] == 1 and sa[0] != 1:
            return (sa[0], sb[1])                      # u @ v': the outer product
        inner_a = sa[-1]
        inner_b = sb[0]
        if inner_a != inner_b:
            raise _mismatch("'@'", a, b, f"inner sizes {inner_a} and {inner_b} differ")
        if len(sa) == 1 and len(sb) == 1:
            return ()
        if len(sa) == 1:
            return (sb[1],)
        if len(sb) == 1:
            return () if sa[0] == 1 else (sa[0],)
        return (sa[0], sb[1])
    if op == "dot":
        a, b = args
        if len(a.shape) != 1 or len(b.shape) != 1:
            raise _mismatch("the dot product", a, b, "it needs two vectors")
        if a.shape != b.shape:
            raise _mismatch("the dot product", a, b, "the vectors differ in length")
        return ()
    if op in REDUCTIONS:
        if op == "norm" and len(args[0].shape) == 2:
            raise ShapeProblem("norm needs a vector (the Euclidean norm)", column=args[0].column)
        return ()
    if op == "softmax":
        if len(args[0].shape) != 1:
            raise ShapeProblem(f"softmax needs a vector, not {describe_shape(args[0].shape)}",
                               column=args[0].column)
        return args[0].shape
    if op in ("vector", "matrix"):
        for a in args:
            if a.shape != ():
                raise ShapeProblem(f"a vector or matrix literal [...] is built from scalars, but "
                                   f"an entry is {describe_shape(a.shape)}", column=a.column)
        return (len(args),) if op == "vector" else tuple(value)
    raise AssertionError(f"unknown op {op}")


def as_matrix_shape(shape) -> tuple:
    """A Kronecker factor's shape: a vector is a column, a scalar 1x1."""
    return (shape + (1, 1))[:2] if len(shape) < 2 else shape


def typed(op: str, args=(), value=None, column=None) -> Expr:
    """A node with its shape checked and recorded; no simplification."""
    args = tuple(args)
    if op in _BROADCAST:                # infer_shape's commonest cases, without its call
        shape = broadcast_shape(op, args)
    elif op in _SAME_SHAPE:
        shape = args[0].shape
    else:
        shape = infer_shape(op, args, value)
    return Expr(op, args, value, shape, column)


# ---------------------------------------------------------------- leaves

def exact(value):
    """A number as jac keeps it: exact, an int when whole (most are: ints compare, hash and
    multiply at C speed) and else a Fraction (so 2/3 stays 2/3 and 0.1 is 1/10), or a float
    only for what no fraction can hold (inf, nan). Equal values of either kind are equal
    and hash alike, so nodes compare the same whichever kind made them."""
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else value
    if isinstance(value, int):
        return int(value)
    if value != value or value in (float("inf"), float("-inf")):
        return float(value)
    return exact(Fraction(repr(float(value))))


def quotient(a, b):
    """a / b of two exact numbers, exact (int / int would be a float); a float (inf, nan)
    divides as a float."""
    if isinstance(a, float) or isinstance(b, float):
        return a / b
    return exact(Fraction(a) / b)


def num(value) -> Expr:
    if type(value) is int:      # rules and constructors ask for 2, 0, -1, 1 all the time
        hit = _SMALL_NUMBERS.get(value)
        if hit is not None:
            return hit
    return Expr("num", (), exact(value), ())


# Shared nodes for the small whole numbers (a node is immutable; an exact Fraction costs a
# call to make).
_SMALL_NUMBERS = {k: Expr("num", (), k, ()) for k in range(-2, 5)}


def var(name: str, shape) -> Expr:
    return Expr("var", (), name, tuple(shape))


def dim(size) -> Expr:
    """A size used as a number (the n in mean's 1/n)."""
    return num(size) if isinstance(size, int) else Expr("dim", (), size, ())


def ones(shape) -> Expr:
    shape = tuple(shape)
    return num(1) if shape == () else Expr("ones", (), shape, shape)


def eye(n) -> Expr:
    return Expr("eye", (), n, (n, n))


def zeros(shape) -> Expr:
    shape = tuple(shape)
    return num(0) if shape == () else Expr("zeros", (), shape, shape)


ZERO = num(0)
ONE = num(1)
_F0, _F1 = 0, 1        # coefficients, as exact numbers (ints when whole)


def is_zero(e: Expr) -> bool:
    return (e.op == "num" and e.value == 0) or e.op == "zeros"


def is_one(e: Expr) -> bool:
    return (e.op == "num" and e.value == 1) or e.op == "ones"


def is_number(e: Expr) -> bool:
    return e.op == "num"


def fit(e: Expr, shape) -> Expr:
    """`e` broadcast to `shape` (scalars only), keeping expressions small."""
    if e.shape == tuple(shape):
        return e
    if is_zero(e):
        return zeros(shape)
    if is_one(e):
        return ones(shape)
    return typed("mul", (e, ones(shape)))


# ---------------------------------------------------------------- smart constructors

def coefficient(t: Expr) -> tuple:
    """t = c·u with c a number and u free of numeric factors: (c, u). Numbers give (c, 1).

    Products and quotients built here keep this normal form — `neg(u)`, `c*u` or `u` —
    so numbers meet and fold: 2*x'/(2*sqrt(s)) becomes x'/sqrt(s)."""
    if t.op == "num":
        return t.value, ONE
    if t.op == "neg":
        c, u = coefficient(t.args[0])
        return -c, u
    if t.op == "mul" and is_number(t.args[0]):
        c, u = coefficient(t.args[1])
        return (t.args[0].value if c == 1 else t.args[0].value * c), u
    if t.op == "div" and is_number(t.args[0]) and t.args[0].value != 1:
        return t.args[0].value, typed("div", (ONE, t.args[1]))
    return _F1, t


def _scaled(c, core: Expr, shape) -> Expr:
    """c·core in normal form, broadcast to `shape`."""
    if c == 1:                  # the common cases first
        return fit(num(c) if core.op == "num" and core.value == 1 else core, shape)
    if c == -1 and not (core.op == "num" and core.value == 1):
        return fit(typed("neg", (core,)), shape)
    if c == 0:
        return zeros(shape)
    if is_one(core) and core.op == "num":
        return fit(num(c), shape)
    if c == 1:
        return fit(core, shape)
    if c == -1:
        return fit(typed("neg", (core,)), shape)
    if core.op == "div" and is_one(core.args[0]) and core.args[0].op == "num":
        return fit(typed("div", (num(c), core.args[1])), shape)      # c/u, not c*(1/u)
    return fit(typed("mul", (num(c), core)), shape)


def add(*terms: Expr) -> Expr:
    """Sum with flattening, like terms collected (x + x = 2*x), zeros dropped, numbers folded.
    The shape of the sum is kept exactly."""
    flat: list[Expr] = []
    for t in terms:
        flat.extend(t.args if t.op == "add" else (t,))
    shape = broadcast_shape("add", flat)
    coefficients: dict = {}
    constant: int | Fraction = _F0      # an exact number: the compiled core checks the type
    constant_at = -1                    # -1: no number yet
    for t in flat:
        c, u = (_F1, t) if is_number(t) else coefficient(t)
        if is_number(u) or u.op == "ones":    # -2 is neg(2), and 1 is 1 in any shape
            constant += c * (u.value if is_number(u) else 1)
            constant_at = len(coefficients) if constant_at < 0 else constant_at
        elif not is_zero(u):
            old = coefficients.get(u)       # not 0 + c: Fraction's slow reflected path
            coefficients[u] = c if old is None else old + c
    coefficients = _common_left_factors(coefficients)
    rest = [mul(num(c), u) for u, c in coefficients.items() if c]
    if constant:
        rest.insert(min(constant_at, len(rest)), num(constant))
    if not rest:
        return zeros(shape)
    if len(rest) == 1:
        return fit(rest[0], shape)
    return fit(typed("add", rest), shape)


def _common_left_factors(coefficients: dict) -> dict:
    """x@A + x@B = x@(A + B): products with one left operand share it (xᵀA + xᵀAᵀ = xᵀ(A + Aᵀ)),
    when their right operands have one shape (yᵀA, a vector, and yᵀx, a scalar that the sum
    broadcasts, do not add up to yᵀ(A + x))."""
    groups: dict[tuple, list] = {}
    for u, c in coefficients.items():
        if u.op == "matmul" and c:
            groups.setdefault((u.args[0], u.args[1].shape), []).append((u, c))
    if all(len(g) < 2 for g in groups.values()):
        return coefficients
    out: dict[Expr, float] = {}
    for u, c in coefficients.items():
        group = groups.get((u.args[0], u.args[1].shape)) if u.op == "matmul" else None
        if group is None or len(group) < 2:
            out[u] = out.get(u, 0) + c
        elif group[0][0] is u:
            right = add(*(mul(num(cg), g.args[1]) for g, cg in group))
            merged = matmul(u.args[0], right)
            out[merged] = out.get(merged, 0) + 1
    return out


def neg(a: Expr) -> Expr:
    c, u = coefficient(a)
    return _scaled(-c, u, a.shape)


def sub(a: Expr, b: Expr) -> Expr:
    return add(a, neg(b))


# What mul has to look into: numbers, signs, products, quotients, powers and the constant
# vectors (is_zero, is_one). Any other factor is its own base with no number in it.
_NOT_PLAIN = frozenset(("num", "neg", "mul", "div", "pow", "ones", "zeros"))


def mul(a: Expr, b: Expr) -> Expr:
    """Element-wise product; numbers lead and fold, 1/u · u = 1, c·q · u/q = c·u."""
    shape = broadcast_shape("mul", (a, b))
    if a.op not in _NOT_PLAIN and b.op not in _NOT_PLAIN and a != b:
        return Expr("mul", (a, b), None, shape)     # two distinct plain factors: as they are
    if is_zero(a) or is_zero(b):
        return zeros(shape)
    (ca, u), (cb, v) = coefficient(a), coefficient(b)
    c = cb if ca == 1 else ca if cb == 1 else ca * cb
    return _scaled(c, _product(u, v), shape)


def _powers(t: Expr, sign, out: dict) -> None:
    """Collect t as {base: exponent}: x*x/x^3 gives {x: -1}. Only numeric exponents merge."""
    if t.op == "mul":
        _powers(t.args[0], sign, out)
        _powers(t.args[1], sign, out)
    elif t.op == "div":
        _powers(t.args[0], sign, out)
        _powers(t.args[1], -sign, out)
    elif t.op == "pow" and is_number(t.args[1]):
        e = t.args[1].value
        if e == int(e):      # (u^a)^k = u^(a·k) and (u·v)^k = u^k·v^k for whole k
            _powers(t.args[0], sign * e, out)
        else:
            out[t.args[0]] = out.get(t.args[0], 0) + sign * e
    elif not is_one(t):
        out[t] = out.get(t, 0) + sign


# Products of more factors than this are not collected as they are built (algebra.py
# collects every closed form anyway): the chain rule multiplies one factor at a time, and
# collecting each partial product made a chain's derivative quadratic in its length.
LONG_PRODUCT = 32


def _long(t: Expr, other: Expr) -> bool:
    """Whether t and other together have more than LONG_PRODUCT factors (counted only so far)."""
    count, stack = 0, [t, other]
    while stack:
        node = stack.pop()
        if node.op in ("mul", "div") or (node.op == "pow" and is_number(node.args[1])):
            stack.extend(node.args[:1] if node.op == "pow" else node.args)
        else:
            count += 1
            if count > LONG_PRODUCT:
                return True
    return False


def _product(u: Expr, v: Expr) -> Expr:
    """u·v for coefficient-free u, v; repeated bases merge their exponents (x·x = x^2,
    x/x^2 = 1/x), otherwise the factors keep the order they came in."""
    if is_one(u):
        return v
    if is_one(v):
        return u
    if _long(u, v):
        return typed("mul", (u, v))
    powers: dict = {}
    _powers(u, 1, powers)
    _powers(v, 1, powers)
    simple = all(e == 1 for e in powers.values()) and u.op not in ("div", "pow") \
        and v.op not in ("div", "pow")
    if simple and len(powers) == (len(_factor_list(u)) + len(_factor_list(v))):
        return typed("mul", (u, v))
    return _from_powers(powers)


def _factor_list(t: Expr) -> list:
    return _factor_list(t.args[0]) + _factor_list(t.args[1]) if t.op == "mul" else [t]


def _from_powers(powers: dict) -> Expr:
    def chain(items):
        out = None
        for base, e in items:
            f = base if e == 1 else typed("pow", (base, num(e)))
            out = f if out is None else typed("mul", (out, f))
        return out

    top = chain((b, e) for b, e in powers.items() if e > 0)
    bottom = chain((b, -e) for b, e in powers.items() if e < 0)
    if bottom is None:
        return top if top is not None else ONE
    return typed("div", (top if top is not None else ONE, bottom))


def div(a: Expr, b: Expr) -> Expr:
    """Element-wise quotient; numeric factors fold into the leading coefficient, u/u = 1."""
    shape = broadcast_shape("div", (a, b))
    if is_zero(a):
        return zeros(shape)
    if is_zero(b):
        return typed("div", (a, b))
    (ca, u), (cb, v) = coefficient(a), coefficient(b)
    return _scaled(quotient(ca, cb), _quotient(u, v), shape)


def _quotient(u: Expr, v: Expr) -> Expr:
    if is_one(v):
        return u
    if u == v:
        return ONE
    if _long(u, v):
        return typed("div", (u, v))
    powers: dict = {}
    _powers(u, 1, powers)
    _powers(v, -1, powers)
    if any(e == 0 for e in powers.values()) or any(_merges(t) for t in (u, v)):
        return _from_powers({b: e for b, e in powers.items() if e != 0})
    return typed("div", (u, v))


def _merges(t: Expr) -> bool:
    """Whether t's factors repeat a base (so collecting powers changes it)."""
    powers: dict = {}
    _powers(t, 1, powers)
    return len(powers) < len(_factor_list(t)) if t.op == "mul" else False


def pow_(a: Expr, b: Expr) -> Expr:
    shape = broadcast_shape("pow", (a, b))
    if is_zero(b):
        return ones(shape)
    if is_one(b):
        return fit(a, shape)
    if is_number(a) and is_number(b):
        folded = fold_power(a.value, b.value)
        if folded is not None:
            return num(folded)
    return typed("pow", (a, b))


def fold_power(a, b):
    """a^b as an exact number when it is one and small (2^3 = 8, 4^-1 = 1/4), else None:
    2^0.5 stays a power and 2^1e309 is never computed."""
    if isinstance(a, float) or isinstance(b, float) or b.denominator != 1:
        return None
    if a == 0 and b < 0:
        return None
    if abs(b) > 64 or (a.numerator.bit_length() + a.denominator.bit_length()) * abs(b) > 256:
        return None
    return exact(Fraction(a) ** int(b))


def call(op: str, *args: Expr) -> Expr:
    if op in ("sum", "mean"):                         # linear: sum(c·u) = c·sum(u)
        c, u = coefficient(args[0])
        if c != 1 and u.shape == args[0].shape:
            return _scaled(c, typed(op, (u,)), ())
    return typed(op, args)


def dot(a: Expr, b: Expr) -> Expr:
    if is_zero(a) or is_zero(b):
        return ZERO
    if is_one(b) or b.op == "div" and is_one(b.args[0]) or b.op == "mul" and is_one(b.args[1]):
        a, b = b, a
    if is_one(a):
        return call("sum", b)
    if a.op == "div" and is_one(a.args[0]) and a.args[1].shape == ():   # (1/c)ᵀu = sum(u)/c
        return div(call("sum", b), a.args[1])
    if a.op == "mul" and is_one(a.args[1]) and a.args[0].shape == ():   # (c·1)ᵀu = c·sum(u)
        return mul(a.args[0], call("sum", b))
    return typed("dot", (a, b))


def matmul(a: Expr, b: Expr) -> Expr:
    shape = infer_shape("matmul", (a, b), None)
    if is_zero(a) or is_zero(b):
        return zeros(shape)
    if len(a.shape) == 1 and len(b.shape) == 1:
        return dot(a, b)
    (ca, u), (cb, v) = coefficient(a), coefficient(b)
    if ca * cb != 1:                                   # (c·u)@v = c·(u@v)
        return _scaled(ca * cb, matmul(u, v), shape)
    for i, p in enumerate((a, b)):
        if p.op == "div" and p.args[1].shape == ():    # (u/s)@v = (u@v)/s for a scalar s
            q = (p.args[0], b) if i == 0 else (a, p.args[0])
            return div(matmul(*q), p.args[1])
    return typed("matmul", (a, b))


def transpose(a: Expr) -> Expr:
    if a.op == "transpose" and infer_shape("transpose", (a,), None) == a.args[0].shape:
        return a.args[0]
    if a.op in ("zeros", "ones"):
        return (zeros if a.op == "zeros" else ones)(infer_shape("transpose", (a,), None))
    return typed("transpose", (a,))


def vec(a: Expr) -> Expr:
    """Row-major flattening of a matrix; vectors and scalars pass through."""
    if len(a.shape) < 2:
        return a
    if a.op in ("zeros", "ones"):
        return (zeros if a.op == "zeros" else ones)((sizes.product(a.shape),))
    if a.op == "transpose" and len(a.args[0].shape) == 1:     # vec(xᵀ) = x
        return a.args[0]
    if a.op == "matmul" and a.args[0].op == "transpose" and len(a.args[0].args[0].shape) == 1:
        return matmul(a.args[0].args[0], a.args[1])         # vec(xᵀA) = x@A
    return typed("vec", (a,))
