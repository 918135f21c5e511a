"""Canonical closed forms: expand, collect, factor, and write in the papers' orientation.

A closed form built by the chain rule is correct but verbose: like terms sit apart
(-x'/2 - x'/2), products hide cancellations (y*(1 - s) - (1 - y)*s is s - y), a size
enters as a float. `simplify` turns any typed expression into one canonical form:

1. `Algebra.poly` expands it into a polynomial: {term: exact coefficient}. A term is a
   product of factors with exact exponents (x^2/norm(x) is {x: 2, norm(x): -1}); sums of
   products distribute (bounded by EXPAND_LIMIT, past which a sum stays one factor);
   `@`, `dot`, `sum`, `vec` and the transpose are linear and distribute too, with the
   transpose pushed onto the leaves ((AB)ᵀ = BᵀAᵀ, (Aᵀ)ᵀ = A) and x@A (NumPy's xᵀA)
   written Aᵀ@x, so every vector-valued product reads as a column, A y.
2. `Algebra.build` writes a polynomial back as an expression, sorted, with what all terms
   share taken out (2*a*s - 2*b*s = 2*s*(a - b)), matrix products of one matrix or one
   vector merged (Xᵀa + Xᵀb = Xᵀ(a + b), A x + Aᵀx = (A + Aᵀ) x), sum(u)/n shown as mean(u).
3. `display` orients dot products and rows: a row vᵀ is printed with the transpose pushed
   in ((Xᵀu)ᵀ = uᵀX), choosing for a dot product the side with fewer transposes.

Every step is an identity of matrix calculus; exponents merge as for reals where the form
is defined (sqrt(s)^2 = s where sqrt(s) is).
"""
from __future__ import annotations

import zlib
from fractions import Fraction
from math import gcd

from . import expr as E
from . import sizes
from .expr import Expr, typed

# A product of sums is expanded only while it has at most this many terms.
EXPAND_LIMIT = 24
_ELEMENTWISE = set(E.ELEMENTWISE_FUNCTIONS) - {"sqrt"}
# The element-wise functions whose value at 0 is an exact number (log's is not; step's is 0:
# it is 1 only where its operand is positive).
_AT_ZERO = {"sin": 0, "tan": 0, "tanh": 0, "relu": 0, "abs": 0, "sign": 0, "step": 0,
            "cos": 1, "exp": 1, "sigmoid": Fraction(1, 2)}
_ONE = E.ONE
# Coefficients and exponents are exact numbers as nodes keep them (expr.exact): ints when
# whole (most are 1), Fractions otherwise; whatever divides goes through expr.quotient, so no
# quotient is ever a float.
_HALF = Fraction(1, 2)


def simplify(e: Expr) -> Expr:
    """The canonical, display-oriented form of `e` (same shape, same numbers)."""
    return Algebra().simplify(e)


class Algebra:
    """One simplification session; memoises per node so shared subtrees cost once. (A
    node's sort key depends on the node alone: it is kept on the node itself.)"""

    def __init__(self):
        self.polys: dict[Expr, dict] = {}
        self.factors: dict[Expr, dict] = {_ONE: {}}
        self.splits: dict[Expr, tuple] = {}
        # e -> its canonical form, and every canonical form to itself: a form simplified
        # once is not worked on again (jacobians.simplified passes over a Jacobian twice).
        self.done: dict[Expr, Expr] = {}

    def simplify(self, e: Expr) -> Expr:
        out = self.done.get(e)
        if out is None:
            with E.deep_recursion():
                try:
                    out = display(self.build(self.poly(e), e.shape), self)
                except RecursionError:
                    out = e
            self.done[e] = out
            self.done.setdefault(out, out)
        return out

    # ------------------------------------------------------------------ keys and terms
    def key(self, e: Expr) -> tuple:
        """A deterministic total order on expressions (Python's hash of a name is not),
        compared in constant time: the node, its size and its operands' heads come first (so
        x comes before y, X @ w before b, cos(x) before cos(sin(x))), then a digest of the
        whole tree."""
        k = getattr(e, "_key", None)
        if k is None:
            # Python hashes tuples of ints the same in every run (strings it does not)
            crc = zlib.crc32(f"{e.op} {e.value}".encode())
            if e.args:
                kids = [self.key(a) for a in e.args]
                k = (e.op, str(e.value), 1 + sum([c[2] for c in kids]),
                     tuple([c[:2] for c in kids]), hash((crc, *[c[4] for c in kids])))
            else:
                k = (e.op, str(e.value), 1, (), hash((crc,)))
            E.remember_key(e, k)
        return k

    def term(self, factors: dict) -> Expr:
        """The product of {base: exponent} as one canonical expression."""
        factors = {b: x for b, x in factors.items() if x}
        if len(factors) == 1:           # most terms: one factor, to the first power, or none
            (b, x), = factors.items()
            if x == 1 and b.op != "sum":
                self.factors.setdefault(b, factors)
                return b
        elif not factors:
            return _ONE
        factors = self.merge_vec(factors)
        nonscalar = [b for b in factors if b.shape != ()]
        if len(nonscalar) > 1:
            for b in [b for b in nonscalar if b.op == "ones"]:
                del factors[b]
        if not factors:
            return _ONE
        order = sorted(factors, key=lambda b: (b.shape != (), self.key(b)))
        factors = {b: factors[b] for b in order}
        shown = _mean_form(factors)
        # signs from numerators: comparing a Fraction with 0 takes Fraction's slow path
        top = [_power(b, x) for b, x in shown.items() if x.numerator > 0]
        bottom = [_power(b, -x) for b, x in shown.items() if x.numerator < 0]
        t = _chain(top) if top else _ONE
        if bottom:
            t = typed("div", (t, _chain(bottom)))
        self.factors.setdefault(t, factors)
        return t

    def merge_vec(self, factors: dict) -> dict:
        """vec(A)ᵃ ⊙ vec(B)ᵇ = vec(Aᵃ ⊙ Bᵇ), the product inside one canonical term: element-wise
        work on flattened matrices stays inside vec, where like factors meet (vec(C)·vec(1/√C)
        is vec(√C), vec(C)² is vec(C²), a like term of vec(C ⊙ C))."""
        vecs = [b for b in factors if b.op == "vec"]
        if not vecs or len(vecs) == 1 and factors[vecs[0]] == 1:
            return factors
        others = [b for b in factors if b.shape != () and b.op != "vec" and b.op != "ones"]
        if others or len({b.args[0].shape for b in vecs}) != 1:
            return factors
        inner: dict = {}
        for b in vecs:
            x = factors[b]
            inner = times(inner, {base: y * x for base, y in self.factors_of(b.args[0]).items()})
        out = {b: x for b, x in factors.items() if b.op != "vec"}
        inner = {b: x for b, x in inner.items() if x}
        if all(b.shape == () for b in inner):     # vec(C) ⊙ vec(a/C) = a (as `plain` counts 𝟏)
            out = times(out, inner)
        else:
            out[typed("vec", (self.term(inner),))] = 1
        return out

    def factors_of(self, t: Expr) -> dict:
        f = self.factors.get(t)
        if f is None:
            f = {t: 1}
            self.factors[t] = f
        return f

    def atom(self, e: Expr) -> dict:
        """e as a polynomial of one term: itself."""
        return {self.whole(e): 1}

    # ------------------------------------------------------------------ expression -> poly
    def poly(self, e: Expr) -> dict:
        hit = self.polys.get(e)
        if hit is None:
            hit = self._poly(e)
            self.polys[e] = hit
        return hit

    def _poly(self, e: Expr) -> dict:
        op = e.op
        if op == "num":
            if isinstance(e.value, float):            # inf, nan: kept as they are
                return self.atom(e)
            return {_ONE: e.value} if e.value else {}
        if op in ("var", "dim"):
            return self.atom(e)
        if op == "ones":
            return {_ONE: 1}
        if op == "zeros":
            return {}
        if op == "add":
            out: dict = {}
            for a in e.args:
                _accumulate(out, self.poly(a))
            return out
        if op == "neg":
            return {t: -c for t, c in self.poly(e.args[0]).items()}
        if op == "mul":
            return self.product_chain(e)
        if op == "div":
            a, b = e.args
            return self.product(self.poly(a), a.shape, self.inverse(self.poly(b), b.shape), b.shape)
        if op == "pow":
            return self.power(e)
        if op == "sqrt":
            return self.raised(self.poly(e.args[0]), e.args[0].shape, _HALF)
        if op in ("matmul", "dot"):
            return self.matmul(e)
        if op == "transpose":
            return self.transposed(e.args[0])
        if op == "vec":
            return self.vectorised(e.args[0])
        if op == "sum":
            return self.summed(e.args[0])
        if op == "mean":
            a = e.args[0]
            n = sizes.product(a.shape) if a.shape else 1
            return self.product(self.summed(a), (), self.inverse(self.poly(E.dim(n)), ()), ())
        if op == "softmax" and all(self.split(t)[1].op == "ones" for t in self.fitted(e.args[0])):
            # softmax(c·𝟏) = 𝟏/n: every entry alike (softmax(x - x) too)
            return self.poly(typed("div", (E.ones(e.shape), E.dim(e.shape[0]))))
        if op in _AT_ZERO and not self.poly(e.args[0]):         # f(0): sin(u - u) is 0
            value = _AT_ZERO[op]
            return {_ONE: value} if value else {}
        args = tuple(self.simplify_inner(a) for a in e.args)
        if op in _ELEMENTWISE and args[0].op == "vec":          # f(vec(A)) = vec(f(A))
            return self.atom(typed("vec", (typed(op, (args[0].args[0],)),)))
        if op in _ELEMENTWISE and e.args[0].shape:              # f(s·𝟏) = f(s)·𝟏
            p = self.fitted(e.args[0])
            splits = [self.split(t) for t in p]
            if p and all(core.op == "ones" for _, core in splits):   # s: (a - b), a sum too
                scalar = self.build({self.term(f): c for (f, _), c in zip(splits, p.values())}, ())
                return self.atom(typed(op, (scalar,)))
        if all(a is b for a, b in zip(args, e.args)):     # operands already canonical
            return self.atom(e)
        return self.atom(typed(op, args, e.value))

    def simplify_inner(self, e: Expr) -> Expr:
        p = self.poly(e)
        if e.op == "var":           # its own canonical form (what build would give back)
            return e
        return self.build(p, e.shape)

    # ------------------------------------------------------------------ element-wise algebra
    def product(self, p: dict, ps, q: dict, qs) -> dict:
        if len(p) * len(q) > EXPAND_LIMIT:
            if len(p) > 1:
                p = self.as_factor(p, ps)
            if len(q) > 1:
                q = self.as_factor(q, qs)
        out: dict = {}
        for t, c in p.items():
            ft = self.factors_of(t)
            for u, d in q.items():
                key = self.plain(times(ft, self.factors_of(u)))
                old = out.get(key)
                out[key] = c * d if old is None else old + c * d
        return {t: c for t, c in out.items() if c}

    def product_chain(self, e: Expr) -> dict:
        """poly of a product a*b*c*... however it nests: as `product` operand by operand, left
        to right, but one-term operands are multiplied into one running set of factors, made
        a term only when a sum comes or at the end. The chain rule's products are long chains
        of one-term factors; a term per partial product made them quadratic in their length."""
        operands, stack = [], [e]
        while stack:                                # the operands, left to right
            node = stack.pop()
            if node.op == "mul" and (node is e or node not in self.polys):
                stack.extend(reversed(node.args))
            else:
                operands.append(node)
        first = operands[0]
        p, shape = self.poly(first), first.shape    # the product so far, apart from ...
        c: int | Fraction = 1             # ... c·f: one-term operands not yet in
        f = None
        for operand in operands[1:]:
            q = self.poly(operand)
            if len(q) == 1 and len(p) <= 1:
                if f is None:                       # p itself is a one-term poly: start
                    if not p:
                        return {}
                    (t, c), = p.items()
                    f = dict(self.factors_of(t))
                (t, d), = q.items()
                if d != 1:
                    c *= d
                for b, x in self.factors_of(t).items():
                    old = f.get(b)
                    f[b] = x if old is None else old + x
            else:
                if f is not None:
                    p, f = ({self.plain(f): c} if c else {}), None
                p = self.product(p, shape, q, operand.shape)
            shape = shape or operand.shape
        if f is not None:
            p = {self.plain(f): c} if c else {}
        return p

    def plain(self, factors: dict) -> Expr:
        """The term of `factors`, a vector of ones counted as the number 1 (it broadcasts)."""
        if any(b.op == "ones" for b in factors) and all(b.shape == () or b.op == "ones"
                                                       for b in factors):
            factors = {b: x for b, x in factors.items() if b.op != "ones"}
        return self.term(factors)

    def as_factor(self, p: dict, shape) -> dict:
        """A sum kept whole, as one factor: its shared content stays outside."""
        g, common, rest = self.content(p)
        if any(b.shape != () for b in common):       # the shared factors carry the shape:
            shape = _broadcast(rest)                 # e ⊙ (0.5 + s), not e ⊙ (0.5 + s)·𝟏
        return {self.term(times(common, {self.whole(self.sum_expr(rest, shape)): 1})): g}

    def whole(self, e: Expr) -> Expr:
        """e as one factor of a product (a sum kept together), its own base."""
        self.factors.setdefault(e, {e: 1})
        return e

    def inverse(self, p: dict, shape) -> dict:
        if not p:
            return self.atom(typed("div", (_ONE, E.zeros(shape))))
        if len(p) > 1:
            p = self.as_factor(p, shape)
        (t, c), = p.items()
        return {self.term({b: -x for b, x in self.factors_of(t).items()}): E.quotient(1, c)}

    def power(self, e: Expr) -> dict:
        a, b = e.args
        pb = self.poly(b)
        if not pb:
            return {_ONE: 1}
        if len(pb) == 1 and _ONE in pb:
            return self.raised(self.poly(a), a.shape, pb[_ONE])
        return self.atom(typed("pow", (self.simplify_inner(a), self.simplify_inner(b))))

    def raised(self, p: dict, shape, k: Fraction | int) -> dict:
        if not p:
            return {} if k > 0 else self.atom(typed("pow", (E.zeros(shape), E.num(k))))
        if len(p) == 1:
            (t, c), = p.items()
            f = self.factors_of(t)
            whole = k.denominator == 1
            if whole or (c == 1 and all(x == 1 for x in f.values()) and len(f) == 1):
                folded = E.fold_power(c, k)
                if folded is not None:
                    return {self.term({b: x * k for b, x in f.items()}): folded}
        g, common, rest = self.content(p) if len(p) > 1 else (1, {}, p)
        folded = E.fold_power(g, k)
        if len(p) > 1 and folded is not None and k.denominator == 1:
            raised = {b: x * k for b, x in common.items()}
            return {self.term(times(raised, {self.whole(self.sum_expr(rest, shape)): k})):
                    folded}
        return {self.term({self.whole(self.build(p, shape)): k}): 1}

    # ------------------------------------------------------------------ linear maps
    def fitted(self, e: Expr) -> dict:
        """poly(e) with every term of e's own shape (a scalar term c becomes c·1)."""
        return self.fit_poly(self.poly(e), e.shape)

    def fit_poly(self, p: dict, shape) -> dict:
        if shape == ():
            return p
        ones = E.ones(shape)
        out: dict = {}
        for t, c in p.items():
            if t.shape != tuple(shape):
                merged = dict(self.factors_of(t))
                merged[ones] = 1
                t = self.term(merged)
            old = out.get(t)
            out[t] = c if old is None else old + c
        return out

    def split(self, t: Expr) -> tuple[dict, Expr]:
        """t = s·m: its scalar factors s, and the product m of the others."""
        hit = self.splits.get(t)
        if hit is None:
            f = self.factors_of(t)
            scalars = {b: x for b, x in f.items() if b.shape == ()}
            if len(scalars) == len(f):
                hit = (scalars, _ONE)
            elif not scalars:       # term(f) is t: its factors are those term made it from
                hit = ({}, t)
            else:
                hit = (scalars, self.term({b: x for b, x in f.items() if b.shape != ()}))
            self.splits[t] = hit
        return hit

    def linear(self, p: dict, shape, core_map) -> dict:
        """Σ c·s·m ↦ Σ c·s·core_map(m): a map linear in its argument."""
        out: dict = {}
        for t, c in p.items():
            scalars, core = self.split(t)
            for u, d in core_map(core).items():
                key = self.plain(times(scalars, self.factors_of(u)))
                old = out.get(key)
                out[key] = c * d if old is None else old + c * d
        return {t: c for t, c in out.items() if c}

    def bilinear(self, a: Expr, b: Expr, core_map) -> dict:
        p, q = self.fitted(a), self.fitted(b)
        if len(p) * len(q) > EXPAND_LIMIT:
            p = self.as_factor(p, a.shape) if len(p) > 1 else p
            q = self.as_factor(q, b.shape) if len(q) > 1 else q
        out: dict = {}
        for t, c in q.items():
            s_t, core_t = self.split(t)
            part = self.linear(p, a.shape, lambda m: core_map(m, core_t))
            for u, d in part.items():
                key = self.plain(times(self.factors_of(u), s_t))
                old = out.get(key)
                out[key] = c * d if old is None else old + c * d
        return {t: c for t, c in out.items() if c}

    def matmul(self, e: Expr) -> dict:
        a, b = e.args
        sa, sb = a.shape, b.shape
        if len(sa) == 1 and len(sb) == 1:
            return self.bilinear(a, b, self.dot_core)
        if len(sa) == 1 and len(e.shape) == 2:                 # u @ v': the outer product
            return self.bilinear(a, b, self.outer_core)
        if len(sa) == 1:                                        # xᵀA written Aᵀx
            return self.poly(typed("matmul", (typed("transpose", (b,)), a)))
        if len(sb) == 1 and e.shape == ():                      # a row times a column
            return self.bilinear(typed("transpose", (a,)), b, self.dot_core)
        if len(sb) == 1:
            return self.bilinear(a, b, self.product_core)
        if sa[0] == 1:
            column = typed("matmul", (typed("transpose", (b,)), typed("transpose", (a,))))
            return self.transposed(column)                     # uᵀB = (Bᵀu)ᵀ
        return self.bilinear(a, b, self.product_core)

    def dot_core(self, u: Expr, v: Expr) -> dict:
        if u.op == "ones":
            return self.summed_core(v)
        if v.op == "ones":
            return self.summed_core(u)
        fu, fv = self.factors_of(u), self.factors_of(v)
        if any(b in fv and fv[b] + x == 0 for b, x in fu.items()):   # (y/s)ᵀs = sum(y)
            return self.linear(self.fit_poly({self.term(times(fu, fv)): 1}, u.shape), u.shape,
                               self.summed_core)
        first, second = sorted((u, v), key=self.key)
        return self.atom(typed("dot", (first, second)))

    def outer_core(self, u: Expr, r: Expr) -> dict:
        return self.atom(typed("matmul", (u, r)))

    def product_core(self, m: Expr, v: Expr) -> dict:
        """m @ v for a matrix m: identities drop, chains nest to the right: A @ (B @ v)."""
        if m.op == "eye":
            return {v: 1}
        if v.op == "eye":
            return {m: 1}
        if m.op == "diag" and v.op == "matmul" and len(v.args[0].shape) == 1 and len(v.shape) == 2:
            d, (u, row) = m.args[0], v.args                     # diag(d) u vᵀ = (d ⊙ u) vᵀ
            du = self.fit_poly(self.product(self.poly(d), d.shape, self.poly(u), u.shape), u.shape)
            return self.linear(du, u.shape, lambda core: self.outer_core(core, row))
        if m.op == "diag" and len(v.shape) == 1:
            return self.product({m.args[0]: 1} if m.args[0] in self.factors
                                else self.poly(m.args[0]), m.args[0].shape, {v: 1}, v.shape)
        if m.op == "matmul" and len(m.args[0].shape) == 1 and len(v.shape) == 1:
            u, row = m.args                                    # (u vᵀ) w = u (v·w)
            w = self.fitted(typed("transpose", (row,)))
            dots: dict = {}
            for t, c in w.items():
                _accumulate(dots, {k: c * d for k, d in self.dot_core(t, v).items()})
            return self.product(self.poly(u), u.shape, dots, ())
        if m.op == "matmul" and len(m.args[0].shape) == 2 and len(m.args[1].shape) == 2:
            inner = typed("matmul", (m.args[1], v))
            return self.atom(typed("matmul", (m.args[0], inner)))
        return self.atom(typed("matmul", (m, v)))

    def transposed(self, a: Expr) -> dict:
        p = self.fitted(a)
        return self.linear(p, a.shape, lambda m: self.transpose_core(m, a.shape))

    def transpose_core(self, m: Expr, shape) -> dict:
        if m.shape == ():                                       # a scalar is its own transpose
            return {self.term(self.factors_of(m)): 1}
        if len(m.shape) == 1:
            return self.atom(typed("transpose", (m,)))
        if m.op == "transpose":
            return {m.args[0]: 1} if m.args[0] in self.factors else self.poly(m.args[0])
        if m.op == "eye":
            return {m: 1}
        if m.op == "ones":
            return {self.term({E.ones(_flipped(m.shape)): 1}): 1}
        if m.op == "diag":
            return self.atom(m)
        if m.op == "matmul":
            x, y = m.args
            return self.poly(typed("matmul", (typed("transpose", (y,)), typed("transpose", (x,)))))
        if m.op == "vec":
            return self.atom(typed("transpose", (m,)))
        f = self.factors_of(m)
        if len(f) > 1 or next(iter(f.values())) != 1:          # (A ⊙ B)ᵀ = Aᵀ ⊙ Bᵀ
            out = {_ONE: 1}
            for b, power in f.items():
                pb = self.transpose_core(b, b.shape)
                out = self.product(out, (), self.raised(pb, b.shape, power) if power != 1 else pb,
                                   ())
            return out
        if m.op in _ELEMENTWISE:                                  # f(A)ᵀ = f(Aᵀ)
            inner = self.build(self.transposed(m.args[0]), _flipped(m.shape))
            return self.atom(typed(m.op, (inner,)))
        return self.atom(typed("transpose", (m,)))

    def vectorised(self, a: Expr) -> dict:
        if len(a.shape) < 2:
            return self.poly(a)
        p = self.fitted(a)
        return self.linear(p, a.shape, self.vec_core)

    def vec_core(self, m: Expr) -> dict:
        if m.op == "transpose" and len(m.args[0].shape) == 1:
            return {m.args[0]: 1}
        if m.op == "ones":
            return {self.term({E.ones((sizes.product(m.shape),)): 1}): 1}
        return self.atom(typed("vec", (m,)))

    def summed(self, a: Expr) -> dict:
        if a.shape == ():
            return self.poly(a)
        return self.linear(self.fitted(a), a.shape, self.summed_core)

    def summed_core(self, m: Expr) -> dict:
        if m.shape == ():
            return {self.term(self.factors_of(m)): 1}
        if m.op == "softmax":               # its entries add up to 1
            return {_ONE: 1}
        if m.op == "ones":
            n = sizes.product(m.shape)
            return {_ONE: n} if isinstance(n, int) else self.atom(E.dim(n))
        if m.op == "vec":
            return self.summed_core(m.args[0])
        if m.op == "transpose":
            return self.summed_core(m.args[0])
        return self.atom(typed("sum", (m,)))

    # ------------------------------------------------------------------ poly -> expression
    def content(self, p: dict) -> tuple[Fraction | int, dict, dict]:
        """p = g · F · rest: the number and the factors every term shares."""
        coefficients = list(p.values())
        # A shared number comes out when it makes the terms whole without new denominators:
        # (2a + 2b) = 2(a + b), (a + b)/2, but m + 1/1000 stays as it is.
        denominators = {c.denominator for c in coefficients}
        g = Fraction(_gcd_all([c.numerator for c in coefficients]),
                     denominators.pop() if len(denominators) == 1 else 1)
        if all(c.numerator < 0 for c in coefficients):
            g = -g
        terms = [self.factors_of(t) for t in p]
        common = {}
        for b, x in terms[0].items():
            xs = [f.get(b, 0) for f in terms]
            if all(y.numerator > 0 for y in xs):
                common[b] = min(xs)
            elif all(y.numerator < 0 for y in xs):
                common[b] = max(xs)
        common = {b: x for b, x in common.items() if b.shape == () or b.op != "ones"}
        if not common and g == 1:
            return 1, {}, p
        rest = {}
        for t, c in p.items():
            f = dict(self.factors_of(t))
            for b, x in common.items():
                f[b] -= x
            rest[self.term(f)] = E.quotient(c, g)
        return E.exact(g), common, rest

    def build(self, p: dict, shape) -> Expr:
        p = {t: c for t, c in p.items() if c}
        if not p:
            return E.zeros(shape)
        if len(p) == 1 and self.split(next(iter(p)))[1].op != "vec":
            (t, c), = p.items()
            return _fit(scaled(c, t), shape)
        if len(p) == 1:
            return self.sum_expr(p, shape)
        g, common, rest = self.content(p)
        # the shared factors may carry the shape: x - σ·x = (1 - σ)·x, the sum a scalar
        body = self.sum_expr(rest, shape if not common else _broadcast(rest))
        if common:
            body = self.term(times(common, {self.whole(body): 1}))
        return _fit(scaled(g, body), shape)

    def sum_expr(self, p: dict, shape) -> Expr:
        """Σ c·t with matrix products of one matrix, or of one vector, merged."""
        p = self.merge_sums(self.merge_products(p))
        cores = {t: self.split(t) for t in p}
        vecs = [core for _, core in cores.values() if core.op == "vec"]
        # Σ s·vec(A) = vec(Σ s·A) when the A have one shape (vec(kron(I, vᵀ)) = vec(vec(I) vᵀ),
        # but a 3x9 and a 9x3 matrix do not add)
        if vecs and all(core.shape == () or core.op == "vec" for _, core in cores.values()) \
                and len({core.args[0].shape for core in vecs}) == 1:
            inner: dict = {}
            for t, c in p.items():
                scalars, core = cores[t]
                f = dict(scalars)
                if core.op == "vec":
                    f[core.args[0]] = f.get(core.args[0], 0) + 1
                key = self.term(f)
                old = inner.get(key)
                inner[key] = c if old is None else old + c
            return typed("vec", (self.build(inner, vecs[0].args[0].shape),))
        if len(p) == 1:
            (t, c), = p.items()
            return _fit(scaled(c, t), shape)
        if any(self.split(t)[1].op not in ("ones", "num") for t in p):   # 1 - tanh(u)^2, Xw + b
            p = {(self.term(self.split(t)[0]) if self.split(t)[1].op == "ones" else t): c
                 for t, c in p.items()}
        order = sorted(p, key=lambda t: (p[t].numerator < 0, self.key(t)))
        return _fit(typed("add", [scaled(p[t], t) for t in order]), shape)

    def merge_sums(self, p: dict) -> dict:
        """s·sum(u) + t·sum(v) = sum(s·u + t·v) for sums over one shape."""
        found: dict = {}
        for t in p:
            f = self.factors_of(t)
            sums = [b for b, x in f.items() if b.op == "sum" and x == 1]
            if len(sums) == 1 and sums[0].args[0].shape and all(b.shape == () for b in f):
                found[t] = sums[0]
        shapes = [b.args[0].shape for b in found.values()]
        if len(found) < 2 or len(set(shapes)) != 1:
            return p
        inner: dict = {}
        out: dict = {}
        for t, c in p.items():
            if t not in found:
                out[t] = c
                continue
            b = found[t]
            f = times({g: x for g, x in self.factors_of(t).items() if g != b},
                      self.factors_of(b.args[0]))
            _accumulate(inner, {self.plain(f): c})
        if inner:
            total = self.build(inner, shapes[0])
            g, core = _peel(total)
            key = self.term({typed("sum", (core,)): 1})
            old = out.get(key)
            out[key] = g if old is None else old + g
        return {t: c for t, c in out.items() if c}

    def merge_products(self, p: dict) -> dict:
        """s·M@u + t·M@v = M@(s·u + t·v), and A@x + B@x = (A + B)@x (s, t scalar factors)."""
        for side in (0, 1):
            parts = {t: self.split(t) for t in p}
            groups: dict[Expr, list] = {}
            for t, (_, core) in parts.items():
                if _is_product(core):
                    groups.setdefault(core.args[side], []).append(t)
            merged = {g: ts for g, ts in groups.items() if len(ts) > 1}
            if not merged:
                continue
            out: dict = {}
            done = set()
            for t, c in p.items():
                scalars, core = parts[t]
                shared = core.args[side] if _is_product(core) else None
                if shared is None or shared not in merged:
                    old = out.get(t)
                    out[t] = c if old is None else old + c
                    continue
                if shared in done:
                    continue
                done.add(shared)
                inner: dict = {}
                for u in merged[shared]:
                    s_u, core_u = parts[u]
                    f = dict(s_u)
                    f[core_u.args[1 - side]] = f.get(core_u.args[1 - side], 0) + 1
                    key = self.term(f)
                    old = inner.get(key)
                    inner[key] = p[u] if old is None else old + p[u]
                other = core.args[1 - side]
                g, combined = _peel(self.build(inner, other.shape))
                args = (shared, combined) if side == 0 else (combined, shared)
                key = self.term({typed("matmul", args): 1})
                old = out.get(key)
                out[key] = g if old is None else old + g
            p = {t: c for t, c in out.items() if c}
        return p


# ---------------------------------------------------------------- display orientation

def display(e: Expr, algebra: Algebra | None = None) -> Expr:
    """e with dot products written as a row times a column, transposes pushed inward."""
    if not _has_dot(e):         # most forms: nothing to orient
        return e
    return _oriented(e, algebra or Algebra(), {})


def _oriented(node: Expr, algebra: Algebra, memo: dict) -> Expr:
    """display's walk (a function of its own: a closure calling itself is a reference cycle)."""
    hit = memo.get(node)
    if hit is not None:
        return hit
    if node.op == "dot":
        a, b = (_oriented(x, algebra, memo) for x in node.args)
        if a.op == "var" and b.op == "var":
            out = typed("dot", (a, b))
        else:
            ra, rb = row_form(a, algebra), row_form(b, algebra)
            out = typed("matmul", (ra, b)) if _transposes(ra) + _transposes(b) <= \
                _transposes(rb) + _transposes(a) else typed("matmul", (rb, a))
    elif node.args:
        args = tuple(_oriented(x, algebra, memo) for x in node.args)
        same = all(x is y for x, y in zip(args, node.args))     # most nodes: kept as they are
        out = node if same else Expr(node.op, args, node.value, node.shape)
    else:
        out = node
    memo[node] = out
    return out


def _has_dot(e: Expr) -> bool:
    """Whether e has a dot product anywhere (each shared node looked at once)."""
    seen: set[int] = set()
    stack = [e]
    while stack:
        node = stack.pop()
        if node.op == "dot":
            return True
        for a in node.args:
            if a.args and id(a) not in seen:      # a leaf is never a dot product
                seen.add(id(a))
                stack.append(a)
    return False


def row_form(v: Expr, algebra: Algebra | None = None) -> Expr:
    """vᵀ for a vector v, as a 1×n row with the transpose pushed in: (Xᵀu)ᵀ = uᵀX,
    (c·x)ᵀ = c·xᵀ, (-u)ᵀ = -uᵀ; anything else is (v)ᵀ."""
    algebra = algebra or Algebra()
    if v.op == "neg":
        return typed("neg", (row_form(v.args[0], algebra),))
    if v.op == "mul" and v.args[0].shape == () and v.args[1].shape != ():
        return typed("mul", (v.args[0], row_form(v.args[1], algebra)))
    if v.op == "mul" and v.args[1].shape == () and v.args[0].shape != ():
        return typed("mul", (row_form(v.args[0], algebra), v.args[1]))
    if v.op == "div" and v.args[1].shape == ():
        return typed("div", (row_form(v.args[0], algebra), v.args[1]))
    if v.op == "matmul" and len(v.args[0].shape) == 2 and len(v.args[1].shape) == 1:
        m, u = v.args
        mt = display(algebra.build(algebra.transposed(m), (m.shape[1], m.shape[0])), algebra)
        return typed("matmul", (row_form(u, algebra), mt))
    return typed("transpose", (v,))


def _is_product(t: Expr) -> bool:
    """A matrix product with a matrix or vector result (not a dot product)."""
    return t.op == "matmul" and t.shape != ()


def _transposes(e: Expr) -> int:
    count, stack = 0, [e]
    while stack:
        node = stack.pop()
        count += node.op == "transpose"
        stack.extend(node.args)
    return count


# ---------------------------------------------------------------- small helpers

def scaled(c: Fraction | int, t: Expr) -> Expr:
    """c·t written as p*t/q: -2*t/3, t/n, -t."""
    if t is _ONE or (t.op == "num" and t.value == 1):
        return E.num(c)
    if c == 1:
        return t
    if c == -1:
        return typed("neg", (t,))
    p, q = abs(c.numerator), c.denominator
    if t.op == "div" and E.is_number(t.args[0]) and t.args[0].value == 1:   # 2/x, not 2*1/x
        body = typed("div", (E.num(p), typed("mul", (t.args[1], E.num(q))) if q != 1 else t.args[1]))
        return typed("neg", (body,)) if c < 0 else body
    body = t if p == 1 else typed("mul", (E.num(p), t))
    if q != 1:
        body = typed("div", (body, E.num(q)))
    return typed("neg", (body,)) if c < 0 else body


def _peel(e: Expr) -> tuple[Fraction | int, Expr]:
    """e = g·core for the exact number g that `scaled` put in front."""
    if e.op == "neg":
        g, core = _peel(e.args[0])
        return -g, core
    if e.op == "div" and E.is_number(e.args[1]) and not isinstance(e.args[1].value, float):
        g, core = _peel(e.args[0])
        return E.quotient(g, e.args[1].value), core
    if e.op == "mul" and E.is_number(e.args[0]) and not isinstance(e.args[0].value, float):
        return e.args[0].value, e.args[1]
    return 1, e


def _fit(e: Expr, shape) -> Expr:
    """A scalar e broadcast to `shape`, written as the papers do: 1/n becomes 𝟏/n."""
    shape = tuple(shape)
    if e.shape == shape or shape == () or e.shape != ():
        return e
    if E.is_zero(e):
        return E.zeros(shape)
    if e.op == "num":
        return scaled(e.value, E.ones(shape)) if not isinstance(e.value, float) else \
            typed("mul", (e, E.ones(shape)))
    if e.op == "neg":
        return typed("neg", (_fit(e.args[0], shape),))
    if e.op == "div":
        return typed("div", (_fit(e.args[0], shape), e.args[1]))
    if e.op == "mul" and E.is_number(e.args[0]):
        return typed("mul", (e.args[0], _fit(e.args[1], shape)))
    return typed("mul", (e, E.ones(shape)))


def _broadcast(p: dict) -> tuple:
    """The shape of a sum of these terms (scalars broadcast)."""
    return next((t.shape for t in p if t.shape != ()), ())


def _flipped(shape) -> tuple:
    """The shape of a transpose: a 1 x n row becomes a vector, m x n becomes n x m."""
    return (shape[1],) if shape[0] == 1 else (shape[1], shape[0])


def _power(base: Expr, x: Fraction) -> Expr:
    if x == 1:
        return base
    if x == _HALF:
        return typed("sqrt", (base,))
    return typed("pow", (base, E.num(x)))


def _chain(factors: list) -> Expr:
    out = factors[0]
    for f in factors[1:]:
        out = typed("mul", (out, f))
    return out


def _mean_form(factors: dict) -> dict:
    """sum(u)·n⁻¹ is shown as mean(u) when n is u's size."""
    if not any(b.op == "sum" for b in factors):
        return factors
    out = dict(factors)
    for b, x in factors.items():
        if b.op == "sum" and x == 1 and b.args[0].shape:
            n = E.dim(sizes.product(b.args[0].shape))
            if out.get(n) == -1 and n.op == "dim":
                del out[n]
                out[typed("mean", b.args)] = out.pop(b)
    return out


def times(a: dict, b: dict) -> dict:
    """The factors of a product: {base: exponent} with the exponents of shared bases added.
    (Here and throughout, a missing entry is not added to as 0: 0 + a Fraction takes
    Fraction's slow reflected path.)"""
    out = dict(a)
    for base, x in b.items():
        old = out.get(base)
        out[base] = x if old is None else old + x
    return out


def _accumulate(out: dict, p: dict) -> None:
    for t, c in p.items():
        old = out.get(t)
        total = c if old is None else old + c
        if total:
            out[t] = total
        else:
            out.pop(t, None)


def _gcd_all(values) -> int:
    g = 0
    for v in values:
        g = gcd(g, abs(v))
    return g or 1
