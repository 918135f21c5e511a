"""Shape inference, exactly as SPEC.md "Shapes" says, and independent of the order of terms.

Declared names (`--shape`, `--at`) have fixed shapes. For the others, in three steps:
1. kinds first: a name that reaches an operand of `@`, `·`, `dot`, `'`, a reduction or
   `softmax` through element-wise operations only (`x` in `sum(2*x + 1)`) is a vector
   (lower case) or a matrix (upper case);
2. every other undeclared name belongs to a group of names combined with each other by
   element-wise operations; in those operations the operands whose shape comes from the
   expression (not numbers or declared scalars) give their shapes to the group. A group given
   two different shapes is a `shape` error naming both places;
3. a group given nothing gets the default for its case; lengths tied by the expression share
   one symbol (n, m, k, ... then n1, m1, ..., never a name of the expression).

Every step is a union of facts (groups, gifts, equal sizes), so the answer does not depend
on the order the tree is walked in. The one decision that does look at a size, whether a
matrix has the literal one row (`x'` is a row: `x' @ y` is a dot product, `x @ y'` an outer
product), is made again with what the whole expression showed until nothing changes.
`infer` then rebuilds the tree with `expr.typed`, which checks every operation once more.
"""
from __future__ import annotations

from collections import namedtuple

from . import expr as E
from . import sizes
from .errors import ShapeProblem
from .expr import Expr, describe_shape
from .notation import ascii_form

ELEMENTWISE = frozenset(("add", "neg") + E.ELEMENTWISE_BINARY + E.ELEMENTWISE_FUNCTIONS)
SHAPING = frozenset(E.SHAPING_OPS + ("transpose",))
_BROADCAST = frozenset(("add",) + E.ELEMENTWISE_BINARY)
_SAME_SHAPE = frozenset(("neg",) + E.ELEMENTWISE_FUNCTIONS)


# ---------------------------------------------------------------- the facts inference collects

class SizeClasses:
    """Union-find over size variables; a class may be bound to an int or a declared symbol."""

    __slots__ = ("parent", "value")

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

    def describe(self, dims: tuple) -> str:
        shown = tuple(self.get(d) for d in dims)
        if any(s is None for s in shown):
            return ("a scalar", "a vector", "a matrix")[len(shown)]
        return describe_shape(shown)


# A node whose rank is known, with a size variable per dimension; `firm` when its shape
# comes from the expression and may be given to a group (numbers and declared scalars
# broadcast and give nobody their shape).
Known = namedtuple("Known", "dims firm")


# The scalar facts, shared (a namedtuple costs a Python call to make, at every node).
_LOOSE_SCALAR, _FIRM_SCALAR = Known((), False), Known((), True)
# Known and Open facts made in the walk itself: tuple.__new__(Known, (dims, firm)) is
# Known(dims, firm) without the Python call of a namedtuple's __new__.
_make = tuple.__new__


# A node whose shape is that of a group of undeclared names, not yet known.
Open = namedtuple("Open", "group")


# A shape given to a group by the operand `source` of an element-wise operation, or
# (`entry`) the scalar shape of an entry of the vector literal `source`.
Gift = namedtuple("Gift", "dims source entry", defaults=(False,))


# Names that share one shape (a list), and the shapes given to them (a list of Gift).
Group = namedtuple("Group", "names gifts")


class NameGroups:
    """Union-find over the names of rule 2: names combined with each other share one shape,
    and every gift made to any of them is a gift to the group."""

    __slots__ = ("of", "parent", "groups")

    def __init__(self):
        self.of: dict[str, int] = {}
        self.parent: list[int] = []
        self.groups: list[Group] = []

    def find(self, g: int) -> int:
        parent = self.parent
        while parent[g] != g:
            g = parent[g] = parent[parent[g]]
        return g

    def of_name(self, name: str) -> int:
        g = self.of.get(name)
        if g is None:           # a group of its own
            g = self.of[name] = len(self.parent)
            self.parent.append(g)
            self.groups.append(_make(Group, ([name], [])))
            return g
        return self.find(g)

    def merge(self, ids) -> int:
        if len(ids) == 1:
            return self.find(ids[0])
        roots = list(dict.fromkeys([self.find(g) for g in ids]))
        first = roots[0]
        for other in roots[1:]:
            self.parent[other] = first
            self.groups[first].names.extend(self.groups[other].names)
            self.groups[first].gifts.extend(self.groups[other].gifts)
        return first

    def give(self, g: int, gift: Gift) -> None:
        self.groups[self.find(g)].gifts.append(gift)

    def roots(self) -> list[int]:
        find = self.find
        return list(dict.fromkeys([find(i) for i in self.of.values()]))


# ---------------------------------------------------------------- rule 1: kinds first

def kind_fixed_names(tree: Expr, declared, example_size: str = "n") -> list[str]:
    """Undeclared names that reach an operand of a shaping operation through element-wise
    operations only. Those of one operand must agree in case: a vector and a matrix that
    meet element-wise are a mismatch whatever their sizes, so it is said at once."""
    fixed: dict[str, None] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        stack.extend(node.args)
        if node.op not in SHAPING:
            continue
        for operand in node.args:
            reached = _names_through_elementwise(operand, declared)
            fixed.update(dict.fromkeys(reached))
            if len({n[0].isupper() for n in reached}) > 1:
                raise _mixed_case(reached, operand.column or node.column, example_size)
    return list(fixed)


def _names_through_elementwise(root: Expr, declared) -> list[str]:
    names: dict[str, None] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.op == "var" and node.value not in declared:
            names.setdefault(node.value)
        elif node.op in ELEMENTWISE:
            stack.extend(reversed(node.args))
    return list(names)


def _mixed_case(names, column, example_size: str) -> ShapeProblem:
    return ShapeProblem(
        f"{', '.join(names)} must share one shape, but lower-case names default to vectors "
        f"and upper-case names to matrices", column=column,
        hint=f"declare one of them, e.g. --shape {names[0]}={example_size}")


# ---------------------------------------------------------------- messages

class _Prefix:
    """The first k operands of an n-ary operation, built as an Expr only for a message
    (building each prefix eagerly would make a long sum quadratic)."""

    __slots__ = ("node", "k")

    def __init__(self, node: Expr, k: int):
        self.node, self.k = node, k

    def expr(self) -> Expr:
        return self.node.args[0] if self.k == 1 else Expr(self.node.op, self.node.args[:self.k])


def _mismatch(sizes_: SizeClasses, word: str, a, ta: Known, b: Expr, tb: Known, why: str,
              node: Expr) -> ShapeProblem:
    """`cannot apply '+' to a (shape) and b (shape): why`, pointing at the operator (in a
    sum, at the sign before the operand that does not fit)."""
    column = node.column or b.column
    if isinstance(a, _Prefix):
        if node.op == "add" and node.value:
            column = node.value[a.k - 1]
        a = a.expr()
    if node.op == "add" and b.op == "neg":      # a - c: name c and the '-'
        word, b = "'-'", b.args[0]
    return ShapeProblem(f"cannot apply {word} to {ascii_form(a)} ({sizes_.describe(ta.dims)}) and "
                        f"{ascii_form(b)} ({sizes_.describe(tb.dims)}): {why}", column=column)


# ---------------------------------------------------------------- the walk: node by node

class Walk:
    """Types every node bottom-up: merges the groups that meet, records gifts, and ties
    the sizes that operations require to be equal."""

    __slots__ = ("sizes", "groups", "dims", "declared", "assume_row", "said_not_row")

    def __init__(self, declared: dict, fixed: list[str], assume_row: set[int]):
        self.sizes = SizeClasses()
        self.groups = NameGroups()
        self.dims = {name: tuple([self.sizes.new(d) for d in shape])
                     for name, shape in declared.items()} if declared else {}
        for name in fixed:
            upper = name[0].isupper()
            self.dims[name] = (self.sizes.new(), self.sizes.new()) if upper else (self.sizes.new(),)
        self.declared = declared      # read only: its names
        self.assume_row = assume_row          # nodes whose operand is a row (see `is_row`)
        self.said_not_row: list[tuple[int, int]] = []   # (node id, its rows' size variable)

    def is_row(self, node: Expr, rows: int) -> bool:
        """Does a matrix operand of `node` have the literal one row?"""
        if id(node) in self.assume_row or self.sizes.get(rows) == 1:
            return True
        self.said_not_row.append((id(node), rows))
        return False

    def visit(self, node: Expr):
        op = node.op
        if op == "var":
            dims = self.dims.get(node.value)
            if dims is not None:
                return _make(Known, (dims, dims != () or node.value not in self.declared))
            return _make(Open, (self.groups.of_name(node.value),))
        args = node.args
        if not args:
            if op == "num" or op == "dim":
                return _LOOSE_SCALAR
            return Known(tuple(self.sizes.new(d) for d in E.infer_shape(op, (), node.value)), True)
        if len(args) == 1:
            if op in _SAME_SHAPE:
                return self.visit(args[0])
            kids = [self.visit(args[0])]
        elif len(args) == 2:
            kids = [self.visit(args[0]), self.visit(args[1])]
            if op in _BROADCAST:
                return self.elementwise2(node, kids[0], kids[1])
        else:
            kids = [self.visit(a) for a in args]
        if op in _BROADCAST:
            return self.elementwise(node, kids)
        if op in ("vector", "matrix"):
            return self.vector(node, kids)
        assert Open not in map(type, kids), "rule 1 fixes every operand here"
        if op == "transpose":
            return self.transpose(node, kids[0].dims)
        if op == "matmul":
            return self.matmul(node, node.args[0], node.args[1], kids[0], kids[1])
        if op == "dot":
            return self.dot(node, node.args[0], node.args[1], kids[0], kids[1])
        if op in E.REDUCTIONS:
            if op == "norm" and len(kids[0].dims) == 2:
                raise ShapeProblem("norm needs a vector (the Euclidean norm), not a matrix",
                                   column=node.column)
            return _FIRM_SCALAR
        if op == "softmax":
            if len(kids[0].dims) != 1:
                raise ShapeProblem(f"softmax needs a vector, not "
                                   f"{self.sizes.describe(kids[0].dims)}", column=node.column)
            return kids[0]
        if op in E.FORM_FUNCTIONS:
            return self.form_function(node, kids)
        raise AssertionError(op)

    def form_function(self, node: Expr, kids: list) -> Known:
        """diag(v): n x n; vec(A): its entries, row by row; kron(A, B): sizes multiply."""
        if node.op == "diag":
            if len(kids[0].dims) != 1:
                raise ShapeProblem(f"diag needs a vector, not {self.sizes.describe(kids[0].dims)}",
                                   column=node.column)
            return Known((kids[0].dims[0], kids[0].dims[0]), True)
        if node.op == "vec" and len(kids[0].dims) < 2:
            return kids[0]
        known = [tuple(self.sizes.get(d) for d in t.dims) for t in kids]
        if any(d is None for dims in known for d in dims):
            shape: tuple = (None,) if node.op == "vec" else (None, None)
        else:
            shape = E.infer_shape(node.op, [Expr("var", (), "", dims) for dims in known], None)
        return Known(tuple(self.sizes.new(d) for d in shape), True)

    def elementwise(self, node: Expr, kids: list):
        """Operands with a known shape broadcast against each other; each one whose shape
        comes from the expression gives it to the group of the undeclared operands."""
        opens = [t[0] for t in kids if type(t) is Open]
        group = self.groups.merge(opens) if opens else None
        out = None
        for k, (arg, t) in enumerate(zip(node.args, kids)):
            if type(t) is Open:
                continue
            if group is not None and t[1]:
                self.groups.give(group, Gift(t[0], arg))
            out = t if out is None else self.broadcast(node, k, out, arg, t)
        if out is not None and out[1]:
            return out
        return _make(Open, (group,)) if group is not None else _LOOSE_SCALAR

    def elementwise2(self, node: Expr, ta, tb):
        """`elementwise` for two operands, as most are, without its loops."""
        if type(ta) is Open:
            if type(tb) is Open:
                return _make(Open, (self.groups.merge([ta[0], tb[0]]),))
            opened, known, arg = ta, tb, node.args[1]
        elif type(tb) is Open:
            opened, known, arg = tb, ta, node.args[0]
        else:
            out = self.broadcast(node, 1, ta, node.args[1], tb)
            return out if out[1] else _LOOSE_SCALAR
        group = self.groups.find(opened[0])
        if known[1]:
            self.groups.give(group, Gift(known[0], arg))
            return known
        return _make(Open, (group,))

    def broadcast(self, node: Expr, k: int, ta: Known, b: Expr, tb: Known) -> Known:
        firm = ta[1] or tb[1]
        if ta[0] == ():
            return _make(Known, (tb[0], firm))
        if tb[0] == ():
            return _make(Known, (ta[0], firm))
        word = E.OP_WORDS.get(node.op, node.op)
        why = "element-wise operands must have the same shape"
        if len(ta.dims) != len(tb.dims):
            raise _mismatch(self.sizes, word, _Prefix(node, k), ta, b, tb,
                            why + " (a scalar broadcasts)", node)
        for da, db in zip(ta.dims, tb.dims):
            if not self.sizes.unify(da, db):
                raise _mismatch(self.sizes, word, _Prefix(node, k), ta, b, tb, why, node)
        return Known(ta.dims, True)

    def vector(self, node: Expr, kids: list) -> Known:
        for arg, t in zip(node.args, kids):
            if isinstance(t, Open):
                self.groups.give(t.group, Gift((), node, entry=True))
            elif t.dims != ():
                raise ShapeProblem(f"a vector literal [...] is built from scalars, but "
                                   f"{ascii_form(arg)} is {self.sizes.describe(t.dims)}",
                                   column=arg.column)
        if node.op == "matrix":                 # [[a, b], [c, d]]: rows of scalars
            return Known(tuple(self.sizes.new(d) for d in node.value), True)
        return Known((self.sizes.new(len(node.args)),), True)

    def transpose(self, node: Expr, dims: tuple) -> Known:
        if len(dims) == 1:
            return Known((self.sizes.new(1), dims[0]), True)
        if len(dims) == 2:
            return Known((dims[1],) if self.is_row(node, dims[0]) else (dims[1], dims[0]), True)
        return Known(dims, True)

    def matmul(self, node: Expr, a: Expr, b: Expr, ta: Known, tb: Known) -> Known:
        """matrix@matrix, matrix@vector, vector@matrix (xᵀA), vector@vector (the dot
        product), and a vector times a row (the outer product, SPEC.md)."""
        if ta.dims == () or tb.dims == ():
            raise _mismatch(self.sizes, "'@'", a, ta, b, tb,
                            "'@' needs vectors or matrices; use '*' to scale", node)
        if len(ta.dims) == 1 and len(tb.dims) == 2 and self.is_row(node, tb.dims[0]):
            return Known((ta.dims[0], tb.dims[1]), True)
        if not self.sizes.unify(ta.dims[-1], tb.dims[0]):
            raise _mismatch(self.sizes, "'@'", a, ta, b, tb, "the inner sizes differ", node)
        if len(ta.dims) == 1 and len(tb.dims) == 1:
            return _FIRM_SCALAR
        if len(ta.dims) == 1:
            return Known((tb.dims[1],), True)
        if len(tb.dims) == 1:
            return _FIRM_SCALAR if self.is_row(node, ta.dims[0]) else Known((ta.dims[0],), True)
        return Known((ta.dims[0], tb.dims[1]), True)

    def dot(self, node: Expr, a: Expr, b: Expr, ta: Known, tb: Known) -> Known:
        if len(ta.dims) != 1 or len(tb.dims) != 1:
            raise _mismatch(self.sizes, "the dot product", a, ta, b, tb, "it needs two vectors",
                            node)
        if not self.sizes.unify(ta.dims[0], tb.dims[0]):
            raise _mismatch(self.sizes, "the dot product", a, ta, b, tb,
                            "the vectors differ in length", node)
        return _FIRM_SCALAR


# ---------------------------------------------------------------- rules 2 and 3: settling groups

def settle(walk: Walk, example_size: str = "n") -> None:
    """Give every group its shape: the one its gifts agree on (their sizes tied), or the
    default for its case when it was given none."""
    groups, dims_of = walk.groups.groups, walk.dims
    for g in walk.groups.roots():
        names, gifts = groups[g]
        dims = (_agreed(walk.sizes, groups[g], example_size) if gifts
                else _default(walk.sizes, names, example_size))
        for name in names:
            dims_of[name] = dims


def _agreed(sizes_: SizeClasses, group: Group, example_size: str) -> tuple:
    gifts = sorted(group.gifts, key=lambda gift: gift.source.column or 0)
    first = gifts[0]
    for other in gifts[1:]:
        if len(other.dims) != len(first.dims) or not all(
                sizes_.unify(a, b) for a, b in zip(first.dims, other.dims)):
            raise _two_shapes(sizes_, group.names, first, other, example_size)
    return first.dims


def _two_shapes(sizes_: SizeClasses, names, a: Gift, b: Gift, example_size: str) -> ShapeProblem:
    def place(gift: Gift) -> str:
        source = gift.source.args[0] if gift.source.op == "neg" else gift.source
        where = f" (column {source.column})" if source.column else ""
        how = "as an entry of" if gift.entry else "from"
        return f"{sizes_.describe(gift.dims)} {how} {ascii_form(source)}{where}"
    who = names[0] if len(names) == 1 else f"{', '.join(names)} (which share one shape)"
    return ShapeProblem(f"{who} would need two shapes: {place(a)} and {place(b)}",
                        column=b.source.column or a.source.column,
                        hint=f"declare the one you mean, e.g. --shape {names[0]}=scalar "
                             f"or --shape {names[0]}={example_size}")


def _default(sizes_: SizeClasses, names, example_size: str) -> tuple:
    upper = names[0][0].isupper()
    if len(names) > 1 and any(n[0].isupper() != upper for n in names):
        raise _mixed_case(names, None, example_size)
    return (sizes_.new(), sizes_.new()) if upper else (sizes_.new(),)


# ---------------------------------------------------------------- declarations and symbols

def check_declarations(declared: dict, names) -> None:
    """Declared sizes are lengths (at least 1 whatever their symbols are) and their symbols
    are not names of the expression (in `x*n --shape x=n`, n would be both)."""
    for name, shape in declared.items():
        for d in shape:
            if not sizes.surely_positive(d):
                raise ShapeProblem(f"the size {d} of {name} could be zero or negative",
                                   hint="sizes are lengths: 3, n, 2*n, n+m, m*n")
            clash = sorted(sizes.symbols(d) & set(names))
            if clash:
                raise ShapeProblem(f"the size {d} of {name} uses {clash[0]}, which is also a "
                                   f"variable of the expression",
                                   hint=f"name the size differently, e.g. --shape {name}="
                                        f"{next(sizes.fresh_names(set(names)))}")


def name_sizes(walk: Walk, order, used) -> dict[str, tuple]:
    """Every variable's shape, free sizes named by fresh symbols: vectors first, so x gets n
    and a matrix W (m x n) its rows m, as in the article."""
    value, find = walk.sizes.value, walk.sizes.find
    fresh = None
    for rank in (1, 2):
        for n in order:
            dims = walk.dims[n]
            if len(dims) != rank:
                continue
            for d in dims:
                r = find(d)
                if value[r] is None:
                    if fresh is None:       # names not yet used by any size or variable
                        used = set(used)
                        for v in value:
                            if isinstance(v, sizes.Sym):
                                used |= sizes.symbols(v)
                        fresh = sizes.fresh_names(used)
                    value[r] = sizes.symbol(next(fresh))
    out: dict[str, tuple] = {}
    for n in order:
        dims = walk.dims[n]
        if len(dims) == 1:
            out[n] = (value[find(dims[0])],)
        elif len(dims) == 2:
            out[n] = (value[find(dims[0])], value[find(dims[1])])
        else:
            out[n] = tuple([value[find(d)] for d in dims])
    return out


# ---------------------------------------------------------------- the whole inference

def variable_shapes(tree: Expr, declared: dict[str, tuple], extra_names=(),
                    names=None, shaping=None) -> dict[str, tuple]:
    """The shape of every variable (those of the expression, then `extra_names`); `names`:
    the expression's variables (tree.variables()), when the caller has them; `shaping`:
    False when the caller knows the tree has no operation of rule 1 (SHAPING)."""
    names = tree.variables() if names is None else names
    order = list(dict.fromkeys(names + list(extra_names)))
    check_declarations(declared, order)
    # for hints: a size, not a name
    example_size = "n" if "n" not in order else next(sizes.fresh_names(set(order)))
    fixed = kind_fixed_names(tree, declared, example_size) if shaping is not False else []
    assume_row: set[int] = set()
    while True:
        walk = Walk(declared, fixed, assume_row)
        walk.visit(tree)
        for name in order:       # those of extra_names the expression does not have
            if name not in walk.dims and name not in walk.groups.of:
                walk.groups.of_name(name)
        settle(walk, example_size)
        # A size that turned out to be 1 only after the operation asking about it was typed:
        # type again, this time knowing it (the set only grows, so this ends).
        late = {nid for nid, rows in walk.said_not_row if walk.sizes.get(rows) == 1} \
            if walk.said_not_row else None
        if not late:
            return name_sizes(walk, order, list(order) + list(declared))
        assume_row |= late


def infer(tree: Expr, declared: dict[str, tuple], extra_names=(),
          names=None, shaping=None, shared=True) -> tuple[Expr, dict[str, tuple]]:
    """Typed tree and the shape of every variable (those of the expression, then `extra_names`;
    `names` and `shaping` as for variable_shapes; `shared` as for retype)."""
    shapes = variable_shapes(tree, declared, extra_names, names, shaping)
    return retype(tree, shapes, shared), shapes


def retype(tree: Expr, shapes: dict[str, tuple], shared=True) -> Expr:
    """Rebuild `tree` with every node's shape checked (expr.typed). `shared`: False when the
    caller knows no node appears twice (only names given with `where` share), so that none
    is remembered."""
    return _retyped(tree, shapes, {} if shared else None)


def _retyped(node: Expr, shapes: dict, memo: dict[int, Expr] | None) -> Expr:
    """(A function of its own, not a closure: a closure that calls itself is a reference
    cycle, and would keep the whole tree alive until the garbage collector runs.)"""
    if memo is not None and id(node) in memo:
        return memo[id(node)]
    op, args = node.op, node.args
    if op == "var":
        out = Expr("var", (), node.value, tuple(shapes[node.value]), node.column)
    elif not args:
        # A number is a scalar from the start (the parser says so); other leaves are sized
        out = node if node.shape is not None else E.typed(op, (), node.value, node.column)
    else:
        if len(args) == 1:
            args = (_retyped(args[0], shapes, memo),)
        elif len(args) == 2:
            args = (_retyped(args[0], shapes, memo), _retyped(args[1], shapes, memo))
        else:
            args = tuple([_retyped(a, shapes, memo) for a in args])
        if op in _SAME_SHAPE:       # expr.typed's own answer, without its call
            out = Expr(op, args, node.value, args[0].shape, node.column)
        elif len(args) == 2 and op in _BROADCAST and (
                args[0].shape == () or args[1].shape == () or args[0].shape == args[1].shape):
            # expr.typed's answer for element-wise operands that agree, without its calls
            value = None if op == "add" else node.value   # a sum's value: sign columns
            out = Expr(op, args, value, args[1].shape if args[0].shape == () else args[0].shape,
                       node.column)
        else:
            value = None if op == "add" else node.value
            out = E.typed(op, args, value, node.column)
    if memo is not None:
        memo[id(node)] = out
    return out
