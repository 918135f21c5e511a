"""The chain rule: walk a typed expression and combine the local rules of `rules.py`.

J(node) = Σᵢ ∂node/∂argᵢ · J(argᵢ) — the vector chain rule and, summed over every path, the
total-derivative rule. Jacobians are in numerator layout; `api.py` transposes once at the
edge for denominator layout.

A `Derivation` indexes the tree once — for every node, which operands contain which
variable — so each Jacobian visits only the paths that lead to its variable: a sum of
5,000 distinct names differentiated with respect to all of them stays linear.
Subexpressions are memoised structurally, so a variable used many times costs no more.
"""
from __future__ import annotations

from . import jacobians as J
from . import rules
from .expr import Expr


class Derivation:
    """One typed tree, differentiated with respect to any of its variables."""

    def __init__(self, tree: Expr):
        self.tree = tree
        # node -> {variable name: indices of the operands that contain it}
        self.paths: dict[Expr, dict[str, tuple[int, ...]]] = {}
        # (node, operand index) -> ∂node/∂operand: the same for every variable
        self.locals: dict[tuple[Expr, int], J.Jacobian] = {}
        paths = self.paths
        stack = [tree]
        while stack:                      # post-order without recursion
            node = stack[-1]
            args = node.args
            if args:
                pending = [a for a in args if a not in paths]
                if pending:
                    stack.extend(pending)
                    continue
            stack.pop()
            if node in paths:
                continue
            if not args:
                paths[node] = {node.value: ()} if node.op == "var" else {}
            elif len(args) == 1:
                paths[node] = dict.fromkeys(paths[args[0]], (0,))
            else:
                found: dict[str, list[int]] = {}
                for i, a in enumerate(args):
                    for name in paths[a]:
                        found.setdefault(name, []).append(i)
                paths[node] = {name: tuple(ix) for name, ix in found.items()}

    def vector_entries(self) -> int:
        """How many entries the vector literals hold (their Jacobians visit every entry)."""
        return sum(len(node.args) for node in self.paths if node.op in ("vector", "matrix"))

    def jacobian(self, name: str, shape: tuple) -> J.Jacobian:
        """∂tree/∂name (a variable of the given shape; matrices through row-major vec)."""
        return self._d(self.tree, name, rules.size(shape), {})

    def _d(self, node: Expr, name: str, n, memo: dict) -> J.Jacobian:
        """∂node/∂name, memoised in `memo` (a method, not a closure calling itself: that
        would be a reference cycle keeping every Jacobian alive until a collection)."""
        hit = memo.get(node)
        if hit is not None:
            return hit
        through = self.paths[node].get(name)
        if through is None:
            out: J.Jacobian = J.Zero(rules.size(node.shape), n)
        elif node.op == "var":
            out = J.Identity(n)
        elif node.op in ("vector", "matrix"):      # entries in row-major order
            out = J.vstack(self._d(a, name, n, memo) for a in node.args)
        elif len(through) == 1:                     # one path: no sum to form
            i = through[0]
            out = J.jmul(self._local(node, i), self._d(node.args[i], name, n, memo))
            if isinstance(out, J.Sum):              # as jsum would: its terms merged
                out = J.jsum(out)
        else:
            out = J.jsum(*(J.jmul(self._local(node, i), self._d(node.args[i], name, n, memo))
                           for i in through))
        memo[node] = out
        return out

    def _local(self, node: Expr, i: int) -> J.Jacobian:
        local = self.locals.get((node, i))
        if local is None:
            local = self.locals[node, i] = rules.local(node, i)
        return local


def jacobian(tree: Expr, name: str, shape: tuple) -> J.Jacobian:
    """∂tree/∂name for a single variable."""
    return Derivation(tree).jacobian(name, shape)
