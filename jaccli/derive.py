"""The chain rule: walk a typed expression and combine the local rules of `rules.py`.

J(node) = Σᵢ ∂node/∂argᵢ · J(argᵢ) — the vector chain rule and, summed over every path, the
total-derivative rule. Jacobians are in numerator layout; `api.py` transposes once at the
edge for denominator layout. Subexpressions are memoised structurally, so a variable used
many times, or a 5,000-term sum, costs time linear in the expression.
"""
from __future__ import annotations

from . import jacobians as J
from . import rules
from .expr import Expr


def jacobian(tree: Expr, name: str, shape: tuple) -> J.Jacobian:
    """∂tree/∂name (a variable of the given shape; matrices through row-major vec)."""
    n = rules.size(shape)
    memo: dict[Expr, J.Jacobian] = {}
    depends: dict[Expr, bool] = {}

    def uses(node: Expr) -> bool:
        hit = depends.get(node)
        if hit is None:
            hit = (node.op == "var" and node.value == name) or any(uses(a) for a in node.args)
            depends[node] = hit
        return hit

    def d(node: Expr) -> J.Jacobian:
        hit = memo.get(node)
        if hit is not None:
            return hit
        rows = rules.size(node.shape)
        if not uses(node):
            out = J.Zero(rows, n)
        elif node.op == "var":
            out = J.Identity(n)
        elif node.op == "vector":
            out = J.vstack(d(a) for a in node.args)
        else:
            terms = [J.jmul(rules.local(node, i), d(a)) for i, a in enumerate(node.args) if uses(a)]
            out = J.jsum(*terms)
        memo[node] = out
        return out

    return d(tree)
