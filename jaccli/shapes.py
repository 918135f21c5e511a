"""Shape inference, exactly as SPEC.md "Shapes" says.

Declared names (`--shape`, `--at`) have fixed shapes. For the others:
1. a name that is an operand of `@`, `·`, `dot`, a reduction or `softmax` gets the default
   for its case (lower-case: vector, upper-case: matrix);
2. in an element-wise operation an undeclared name takes the shape of the other operand when
   that shape comes from the expression (a vector, a matrix, the scalar result of a product
   or reduction); numbers and declared scalars broadcast and give nobody their shape;
   undeclared names combined with each other share one shape;
3. names still open get the default for their case; lengths tied by the expression share
   one symbol (n, m, k, ... not used as names).

Two union-find structures carry this: groups of names that share one shape, and sizes
that must be equal. `infer` then rebuilds the tree with `expr.typed`, which checks every
operation once more with the final shapes.
"""
from __future__ import annotations

from . import expr as E
from . import sizes
from .errors import ShapeProblem, Unsupported
from .expr import Expr, describe_shape
from .notation import ascii_form

SYMBOLS = "nmkpqrstuvabcdefghijlowxyz"


class _Sizes:
    """Union-find over size variables; a class may be bound to an int or a declared symbol."""

    def __init__(self):
        self.parent: list[int] = []
        self.value: list = []

    def new(self, value=None) -> int:
        self.parent.append(len(self.parent))
        self.value.append(value)
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def get(self, i: int):
        return self.value[self.find(i)]

    def unify(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        va, vb = self.value[ra], self.value[rb]
        if va is not None and vb is not None and va != vb:
            return False
        self.parent[rb] = ra
        self.value[ra] = va if va is not None else vb
        return True


class _Known:
    """A shape made of size variables; `firm` when it may give an undeclared name its shape."""

    __slots__ = ("dims", "firm")

    def __init__(self, dims: tuple, firm: bool):
        self.dims, self.firm = dims, firm


class _Open:
    __slots__ = ("group",)

    def __init__(self, group: int):
        self.group = group


class _Inference:
    def __init__(self, declared: dict):
        self.sizes = _Sizes()
        self.declared = {name: tuple(self.sizes.new(d) for d in shape) for name, shape in declared.items()}
        self.group_of: dict[str, int] = {}
        self.group_parent: list[int] = []
        self.group_names: list[list[str]] = []
        self.group_dims: list = []  # None while open, else a tuple of size variables
        self.order: dict[str, None] = {}     # names in order of first appearance

    # -- groups of undeclared names ------------------------------------------------------
    def _find(self, g: int) -> int:
        while self.group_parent[g] != g:
            g = self.group_parent[g] = self.group_parent[self.group_parent[g]]
        return g

    def _group(self, name: str) -> int:
        if name not in self.group_of:
            self.group_of[name] = len(self.group_parent)
            self.group_parent.append(len(self.group_parent))
            self.group_names.append([name])
            self.group_dims.append(None)
        return self._find(self.group_of[name])

    def _bind(self, g: int, dims: tuple) -> None:
        self.group_dims[self._find(g)] = dims

    def _resolve(self, t):
        if isinstance(t, _Open):
            dims = self.group_dims[self._find(t.group)]
            if dims is not None:
                return _Known(dims, True)
        return t

    def _default(self, t, node: Expr) -> _Known:
        """Rule 1 / rule 3: an open group becomes a vector (lower case) or a matrix (upper)."""
        t = self._resolve(t)
        if isinstance(t, _Known):
            return t
        g = self._find(t.group)
        names = self.group_names[g]
        upper = {n[0].isupper() for n in names}
        if len(upper) > 1:
            raise ShapeProblem(
                f"{', '.join(names)} must share one shape, but lower-case names default to vectors "
                f"and upper-case names to matrices", column=node.column,
                hint=f"declare one of them, e.g. --shape {names[0]}=n")
        dims = (self.sizes.new(), self.sizes.new()) if upper.pop() else (self.sizes.new(),)
        self._bind(g, dims)
        return _Known(dims, True)

    # -- shapes as text, for messages ----------------------------------------------------
    def describe(self, t) -> str:
        t = self._resolve(t)
        if isinstance(t, _Open):
            return "a shape not yet known"
        shown = tuple("?" if self.sizes.get(d) is None else self.sizes.get(d) for d in t.dims)
        if any(s == "?" for s in shown):
            return {0: "a scalar", 1: "a vector", 2: "a matrix"}[len(shown)]
        return describe_shape(shown)

    def mismatch(self, word: str, a, ta, b: Expr, tb, why: str, node: Expr) -> ShapeProblem:
        column = _op_column(node, b)
        if isinstance(a, _Prefix):
            if node.op == "add" and node.value:          # the sign before operand k
                column = node.value[a.k - 1]
            a = a.expr()
        if node.op == "add" and b.op == "neg":      # a - c: name c and the '-'
            word, b = "'-'", b.args[0]
        return ShapeProblem(f"cannot apply {word} to {ascii_form(a)} ({self.describe(ta)}) and "
                            f"{ascii_form(b)} ({self.describe(tb)}): {why}", column=column)

    # -- the walk --------------------------------------------------------------------------
    def visit(self, node: Expr):
        op = node.op
        if op == "num":
            return _Known((), False)
        if op == "var":
            name = node.value
            self.order.setdefault(name)
            if name in self.declared:
                dims = self.declared[name]
                return _Known(dims, dims != ())
            return _Open(self._group(name))
        kids = [self.visit(a) for a in node.args]
        if op in ("add",) + E.ELEMENTWISE_BINARY:
            out = kids[0]
            for k, (arg, t) in enumerate(zip(node.args[1:], kids[1:]), start=1):
                out = self.elementwise(node, _Prefix(node, k), out, arg, t)
            return out
        if op == "neg" or op in E.ELEMENTWISE_FUNCTIONS:
            return kids[0]
        if op == "vector":
            for arg, t in zip(node.args, kids):
                t = self._resolve(t)
                if isinstance(t, _Open):
                    self._bind(t.group, ())
                elif t.dims != ():
                    raise ShapeProblem(f"a vector literal [...] is built from scalars, but "
                                       f"{ascii_form(arg)} is {self.describe(t)}", column=arg.column)
            return _Known((self.sizes.new(len(node.args)),), True)
        kids = [self._default(t, a) for t, a in zip(kids, node.args)]
        if op == "transpose":
            dims = kids[0].dims
            if len(dims) == 1:
                return _Known((self.sizes.new(1), dims[0]), True)
            if len(dims) == 2:
                if self.sizes.get(dims[0]) == 1:
                    return _Known((dims[1],), True)
                return _Known((dims[1], dims[0]), True)
            return kids[0]
        if op == "matmul":
            return self.matmul(node, *node.args, *kids)
        if op == "dot":
            (a, b), (ta, tb) = node.args, kids
            if len(ta.dims) != 1 or len(tb.dims) != 1:
                raise self.mismatch("the dot product", a, ta, b, tb, "it needs two vectors", node)
            if not self.sizes.unify(ta.dims[0], tb.dims[0]):
                raise self.mismatch("the dot product", a, ta, b, tb, "the vectors differ in length",
                                    node)
            return _Known((), True)
        if op in E.REDUCTIONS:
            if op == "norm" and len(kids[0].dims) == 2:
                raise ShapeProblem("norm needs a vector (the Euclidean norm), not a matrix",
                                   column=node.column)
            return _Known((), True)
        if op == "softmax":
            if len(kids[0].dims) != 1:
                raise ShapeProblem(f"softmax needs a vector, not {self.describe(kids[0])}",
                                   column=node.column)
            return kids[0]
        raise AssertionError(op)

    def elementwise(self, node: Expr, a: "_Prefix", ta, b: Expr, tb):
        ta, tb = self._resolve(ta), self._resolve(tb)
        word = E.OP_WORDS.get(node.op, node.op)
        if isinstance(ta, _Open) and isinstance(tb, _Open):
            ga, gb = self._find(ta.group), self._find(tb.group)
            if ga != gb:
                self.group_parent[gb] = ga
                self.group_names[ga] += self.group_names[gb]
            return _Open(ga)
        if isinstance(ta, _Open) or isinstance(tb, _Open):
            known, open_ = (ta, tb) if isinstance(tb, _Open) else (tb, ta)
            if known.dims != () or known.firm:
                self._bind(open_.group, known.dims)
                return _Known(known.dims, True)
            return open_
        if ta.dims == ():
            return _Known(tb.dims, tb.firm or ta.firm)
        if tb.dims == ():
            return _Known(ta.dims, ta.firm or tb.firm)
        if len(ta.dims) != len(tb.dims):
            raise self.mismatch(word, a, ta, b, tb,
                                "element-wise operands must have the same shape (a scalar broadcasts)",
                                node)
        for da, db in zip(ta.dims, tb.dims):
            if not self.sizes.unify(da, db):
                raise self.mismatch(word, a, ta, b, tb,
                                    "element-wise operands must have the same shape", node)
        return _Known(ta.dims, True)

    def matmul(self, node, a, b, ta, tb):
        if ta.dims == () or tb.dims == ():
            raise self.mismatch("'@'", a, ta, b, tb, "'@' needs vectors or matrices; use '*' to scale",
                                node)
        if not self.sizes.unify(ta.dims[-1], tb.dims[0]):
            raise self.mismatch("'@'", a, ta, b, tb, "the inner sizes differ", node)
        if len(ta.dims) == 1 and len(tb.dims) == 1:
            return _Known((), True)
        if len(ta.dims) == 1:
            return _Known((tb.dims[1],), True)
        if len(tb.dims) == 1:
            if self.sizes.get(ta.dims[0]) == 1:
                return _Known((), True)
            return _Known((ta.dims[0],), True)
        return _Known((ta.dims[0], tb.dims[1]), True)

    # -- the end: defaults, then symbols ----------------------------------------------------
    def finish(self, root: Expr, extra_names) -> dict[str, tuple]:
        dims_of: dict[str, tuple] = {}
        for name in list(self.order) + [n for n in extra_names if n not in self.order]:
            if name in self.declared:
                dims_of[name] = self.declared[name]
            else:
                dims_of[name] = self._default(_Open(self._group(name)), root).dims
        used = set(root.variables()) | set(extra_names)
        for value in self.sizes.value:
            if isinstance(value, sizes.Sym):
                used |= {s for mono in value.terms for s in mono}
        letters = iter(ch for ch in SYMBOLS if ch not in used)
        # Vectors first, so x gets n and a matrix W (m x n) its rows m, as in the article.
        ordered = [d for n in dims_of if len(dims_of[n]) == 1 for d in dims_of[n]] + \
                  [d for n in dims_of if len(dims_of[n]) == 2 for d in dims_of[n]]
        for d in ordered:
            r = self.sizes.find(d)
            if self.sizes.value[r] is None:
                letter = next(letters, None)
                if letter is None:   # sizes are single letters: more than 26 are not named
                    raise Unsupported(f"the expression has more independent sizes than jac "
                                      f"has letters for ({len(SYMBOLS)})",
                                      hint="declare sizes with --shape NAME=N, or give values")
                self.sizes.value[r] = sizes.symbol(letter)
        return {n: tuple(self.sizes.get(d) for d in dims) for n, dims in dims_of.items()}


class _Prefix:
    """The first k operands of an n-ary operation, built as an Expr only for a message
    (building each prefix eagerly would make a long sum quadratic)."""

    __slots__ = ("node", "k")

    def __init__(self, node: Expr, k: int):
        self.node, self.k = node, k

    def expr(self) -> Expr:
        return self.node.args[0] if self.k == 1 else Expr(self.node.op, self.node.args[:self.k])


def _op_column(node: Expr, b: Expr):
    """Where a mismatch points: the operator (for a sum, `mismatch` reads the sign's
    column from the parser)."""
    return node.column or b.column


def infer(tree: Expr, declared: dict[str, tuple], extra_names=()) -> tuple[Expr, dict[str, tuple]]:
    """Typed tree and the shape of every variable (those of the expression, then `extra_names`)."""
    inference = _Inference(declared)
    inference.visit(tree)
    shapes = inference.finish(tree, list(extra_names))
    return retype(tree, shapes), shapes


def retype(tree: Expr, shapes: dict[str, tuple]) -> Expr:
    """Rebuild `tree` with every node's shape checked (expr.typed)."""
    memo: dict[int, Expr] = {}

    def build(node: Expr) -> Expr:
        key = id(node)
        if key in memo:
            return memo[key]
        if node.op == "var":
            out = E.var(node.value, shapes[node.value])
            out = Expr("var", (), node.value, out.shape, node.column)
        elif node.op == "num":
            out = Expr("num", (), node.value, (), node.column)
        else:
            value = None if node.op == "add" else node.value   # a sum's value: sign columns
            out = E.typed(node.op, [build(a) for a in node.args], value, node.column)
        memo[key] = out
        return out

    return build(tree)
