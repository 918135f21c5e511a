"""`--steps`: a derivation written out rule by rule, as Parr & Howard do it.

Every subexpression on a path to the variable becomes an intermediate variable
(u₁ = X w, u₂ = u₁ + b, u₃ = max(0, u₂), ..., f = mean(u₅)). For each, in the order the
chain rule meets them: the rule of RULES.md that applies, its local Jacobians (written in
the intermediate variables, from `rules.local` applied to the node with its operands
replaced by u's), the vector chain rule product, the simplified running result, and the
identities of `jacobians.jmul` that simplified it (𝟏ᵀ diag(d) = dᵀ ...). A last step
substitutes the intermediate variables back: the Jacobian that `derive.py` gives.

This walker mirrors `derive.Derivation.jacobian` (J(node) = Σᵢ ∂node/∂argᵢ · J(argᵢ))
with the same rules and products; it only records what it does. Steps are in numerator
layout, the article's.
"""
from __future__ import annotations

from . import expr as E
from . import jacobians as J
from . import rules
from .algebra import Algebra
from .derive import Derivation
from .expr import Expr
from .notation import UNICODE, show

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

_FUNCTION_RULES = {
    "sum": "sum reduction: ∂sum(u)/∂u = 𝟏ᵀ",
    "mean": "mean reduction: ∂mean(u)/∂u = 𝟏ᵀ/n",
    "norm": "Euclidean norm: ∂‖u‖/∂u = uᵀ/‖u‖",
    "logsumexp": "log-sum-exp: ∂logsumexp(u)/∂u = softmax(u)ᵀ",
    "softmax": "softmax: ∂s/∂u = diag(s) - s sᵀ",
    "dot": "dot product: ∂(u·v)/∂u = vᵀ",
    "transpose": "transpose: reorders the entries (I for vectors, K for matrices)",
    "vec": "vec: keeps the entries in order (I)",
    "vector": "vector of scalars: one row per entry",
    "max": "piecewise max: element-wise, 1 toward the larger operand (diagonal)",
    "min": "piecewise min: element-wise, 1 toward the smaller operand (diagonal)",
}


def rule_name(node: Expr, through: tuple) -> str:
    """The rule of RULES.md that `node` needs, in the article's words."""
    op, args = node.op, node.args
    if op == "matmul":
        a, b = (len(x.shape) for x in args)
        name = {(1, 1): "dot product: ∂(u·v)/∂u = vᵀ",
                (2, 1): "matrix-vector product: ∂(W u)/∂u = W, ∂(W u)/∂vec(W) = I ⊗ uᵀ",
                (1, 2): "vector-matrix product: ∂(uᵀA)/∂u = Aᵀ"}.get(
            (a, b), "matrix product (through vec)")
    elif op in _FUNCTION_RULES:
        name = _FUNCTION_RULES[op]
    elif op in ("add", "mul", "div", "pow") and node.shape != () and any(
            args[i].shape == () for i in through):
        name = "scalar expansion: a scalar operand broadcast, its Jacobian a column"
    elif op in ("add", "mul", "div", "pow"):
        word = {"add": "sum", "mul": "product", "div": "quotient", "pow": "power"}[op]
        if op == "add" and any(a.op == "neg" for a in args):
            word = "difference"
        name = (f"element-wise {word}{' (Hadamard)' * (op == 'mul')}: diagonal"
                if node.shape != () else f"scalar {word} rule")
    elif op == "neg":
        name = "negation: -I" if node.shape != () else "scalar negation: -1"
    elif op in E.ELEMENTWISE_FUNCTIONS:
        name = ("element-wise function: ∂f(u)/∂u = diag(f'(u)), diagonal" if node.shape != ()
                else "scalar derivative")
    else:
        name = f"the rule for {op}"
    if len(through) > 1:
        name += "; total derivative: the terms of every path add up"
    return name


def simplification(a: J.Jacobian, b: J.Jacobian, out: J.Jacobian) -> str | None:
    """The identity that turned a · b into `out`, named as the article would, or None."""
    if isinstance(a, J.Zero) or isinstance(b, J.Zero):
        return "0 · J = 0"
    if isinstance(b, J.Identity):
        return None                     # ∂x/∂x = I: nothing to simplify
    if isinstance(a, J.Identity):
        return "1 · J = J" if a.rows == 1 else "I · J = J"
    if isinstance(b, J.Product):        # a meets the first factor of b
        b = b.factors[0]
    if isinstance(a, J.Row) and isinstance(b, J.Diagonal):
        ones = E.is_one(a.v) or (a.v.op == "div" and E.is_one(a.v.args[0]))
        return "𝟏ᵀ diag(d) = dᵀ" if ones else "vᵀ diag(d) = (v ⊙ d)ᵀ"
    if isinstance(a, J.Diagonal) and isinstance(b, J.Diagonal):
        return "diag(a) diag(b) = diag(a ⊙ b)"
    if isinstance(a, J.Diagonal) and isinstance(b, J.Column):
        return "diag(a) v = a ⊙ v"
    if isinstance(a, J.Row) and isinstance(b, J.Column):
        return "vᵀ u = v·u (a scalar)"
    if isinstance(a, J.Row) and isinstance(b, J.Matrix):
        return "vᵀ M: a row times a matrix is a row"
    if isinstance(a, J.Diagonal) and isinstance(out, J.Product):
        return "diag(d) M: the rows of M scaled by d"
    if J.scalar_entry(a) is not None or isinstance(a, J.Scaled):
        return "c · J: a scalar scales J"
    return None


class _Walk:
    def __init__(self, tree: Expr, name: str, shape: tuple, derivation: Derivation,
                 algebra: Algebra | None = None):
        self.tree, self.name, self.shape = tree, name, shape
        self.algebra = algebra or Algebra()
        self.n = rules.size(shape)
        self.paths = derivation.paths
        self.labels: dict[Expr, Expr] = {}      # subexpression -> its u (a variable node)
        self.jacobians: dict[Expr, J.Jacobian] = {}
        self.shown: dict[Expr, J.Jacobian] = {}      # the same, as jac prints closed forms
        self.steps: list[dict] = []
        self.folded: set[Expr] = set()     # -u inside a sum: written y - u, as the article does

    def placeholder(self, node: Expr) -> Expr:
        """`node` with every operand that holds the variable replaced by its u (a folded
        negation keeps its sign: y - u₃)."""
        args = tuple(self.labels.get(a) or (self.placeholder(a) if a in self.folded else a)
                     for a in node.args)
        return Expr(node.op, args, node.value, node.shape)

    def label_text(self, node: Expr) -> str:
        return "f" if node is self.tree else self.labels[node].value

    def run(self) -> list[dict]:
        order, seen = [], set()
        stack = [(self.tree, False)]
        while stack:                                   # post-order, each node once
            node, ready = stack.pop()
            if node in seen:
                continue
            if ready:
                seen.add(node)
                order.append(node)
                continue
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(node.args)
                         if self.name in self.paths[a] and a not in seen)
        x = self.name
        parents: dict[Expr, set[str]] = {}
        for node in order:
            for a in node.args:
                parents.setdefault(a, set()).add(node.op)
        self.folded = {n for n in order if n.op == "neg" and parents.get(n) == {"add"}}
        for node in order:
            if node.op == "var" or node in self.folded:
                continue
            if node is not self.tree:
                k = len(self.labels) + 1
                self.labels[node] = E.var(f"u{k}".translate(_SUBSCRIPT), node.shape)
            self.step(node)
        if self.tree.op == "var":
            self.steps.append({"rule": "the variable itself: ∂x/∂x = I",
                               "expression": f"f = {x}", "result": f"∂f/∂{x} = I",
                               "symbolic": "I"})
        return self.steps

    def step(self, node: Expr) -> None:
        x, me = self.name, self.label_text(node)
        through = self.paths[node][x]
        local_node = self.placeholder(node)
        if node.op == "vector":                    # one row per entry, as derive.py stacks them
            self.stack_rows(node, local_node)
            return
        terms, locals_, chain, named = [], [], [], []
        for i in through:
            arg = node.args[i]
            local = rules.local(local_node, i)
            if arg in self.folded:     # ∂(y - u)/∂u = -I: the sum's rule and the sign at once
                local = J.jmul(local, rules.local(self.placeholder(arg), 0))
                arg = arg.args[0]
            below = self.jacobians.get(arg) if arg.op != "var" else J.Identity(self.n)
            arg_text = arg.value if arg.op == "var" else self.labels[arg].value
            locals_.append(f"∂{me}/∂{arg_text} = {local.form(UNICODE)}")
            product = J.jmul(local, below)
            # ∂x/∂x = I: a direct path contributes its local Jacobian alone
            chain.append(_paren(local) if arg.op == "var"
                         else f"{_paren(local)} · {_paren(self.shown[arg])}")
            name = simplification(local, below, product)
            if name:
                named.append(name)
            terms.append(product)
        out = J.jsum(*terms)
        self.jacobians[node] = out
        shown = self.shown[node] = J.simplified(out, self.algebra)
        step = {
            "variable": me,
            "expression": f"{me} = {show(local_node, UNICODE)}",
            "rule": rule_name(node, through),
            "local": "; ".join(locals_),
            "result": f"∂{me}/∂{x} = {shown.form(UNICODE)}",
            "symbolic": shown.form(),
        }
        if any(node.args[i].op != "var" for i in through) or len(through) > 1:
            step["chain"] = f"∂{me}/∂{x} = " + " + ".join(chain)
        if named:
            step["simplifications"] = list(dict.fromkeys(named))
        self.steps.append(step)


    def stack_rows(self, node: Expr, local_node: Expr) -> None:
        x, me = self.name, self.label_text(node)
        rows = [self.jacobians[a] if a in self.jacobians else
                J.Identity(self.n) if a.op == "var" and a.value == x else J.Zero(1, self.n)
                for a in node.args]
        out = J.vstack(rows)
        self.jacobians[node] = out
        self.shown[node] = out
        self.steps.append({
            "variable": me,
            "expression": f"{me} = {show(local_node, UNICODE)}",
            "rule": _FUNCTION_RULES["vector"],
            "result": f"∂{me}/∂{x} = {out.form(UNICODE)}",
            "symbolic": out.form(),
        })


def _paren(j: J.Jacobian) -> str:
    text = j.form(UNICODE)
    return f"({text})" if isinstance(j, J.Sum) or text.startswith("-") else text


def derivation_steps(tree: Expr, group: list[str], variable_shapes: dict, layout: str,
                     final=None, algebra=None) -> list[dict]:
    """The steps for one `--wrt` group (each name in turn), then the substitution back:
    `final` is the Jacobian in the chosen layout (as `api.compute` gives it); closed forms
    are shown in the canonical form of `algebra`."""
    algebra = algebra or Algebra()
    derivation = Derivation(tree)
    steps: list[dict] = []
    for name in group:
        shape = variable_shapes[name]
        if name not in derivation.paths[tree]:
            steps.append({"rule": "f does not depend on " + name,
                          "expression": f"f = {show(tree, UNICODE)}",
                          "result": f"∂f/∂{name} = 0", "symbolic": "0", "wrt": name})
            continue
        walker = _Walk(tree, name, shape, derivation, algebra)
        walk = walker.run()
        if len(group) > 1:
            for s in walk:
                s["wrt"] = name
        steps.extend(walk)
        if len(walk) > 1 or tree.op == "var":
            direct = J.simplified(derivation.jacobian(name, shape), algebra)
            steps.append({"rule": "substitute the intermediate variables back",
                          "expression": "; ".join(f"{u.value} = {show(e, UNICODE)}"
                                                  for e, u in walker.labels.items()),
                          "result": f"∂f/∂{name} = {direct.form(UNICODE)}",
                          "symbolic": direct.form(),
                          **({"wrt": name} if len(group) > 1 else {})})
    if layout == "denominator" and final is not None:
        steps.append({"rule": "denominator layout: the transpose of the numerator-layout result",
                      "expression": "(∂f/∂x)ᵀ", "result": final.form(UNICODE),
                      "symbolic": final.form()})
    return steps

