"""Naming what a closed form repeats, as the article does with u₁, u₂, …

The derivative of a chain sin(sin(sin(x))) holds every inner link twice (in the chain and in
its cosine), so written out it grows with the square of the depth. `name_repeats` finds the
subexpressions a form would print more than once, innermost first, and gives each a name:

    diag(cos(u₂) ⊙ cos(u₁) ⊙ cos(x))   where u₁ = sin(x), u₂ = sin(u₁)

so the printed size stays linear in the input. The names are for reading (the terminal, and
JSON's `where`); `symbolic` itself stays the whole form, so that it reads back in.
"""
from __future__ import annotations

from .expr import Expr

# A form is shortened only when written out it has more nodes than this.
LONG_FORM = 40
# A repeated subexpression is named when it has at least this many nodes.
SMALLEST_NAMED = 4

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def name_repeats(forms: list[Expr], *, prefix: str = "u", taken=()) -> tuple[dict, list]:
    """({subexpression: its name as a variable node}, [(name, definition with earlier names)]),
    empty when the forms are short or repeat nothing worth a name."""
    size: dict[Expr, int] = {}
    order: list[Expr] = []                     # children before parents
    for root in forms:
        stack = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if node in size:
                continue
            if ready:
                size[node] = 1 + sum(size[a] for a in node.args)
                order.append(node)
            else:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in size)
    if sum(size[f] for f in forms) <= LONG_FORM:
        return {}, []
    count: dict[Expr, int] = {node: 0 for node in order}
    for root in forms:
        count[root] += 1
    for node in reversed(order):              # parents before children
        for a in node.args:
            count[a] += count[node]
    names: dict[Expr, Expr] = {}
    definitions: list = []
    taken = set(taken)
    k = 0
    for node in order:                        # innermost first, so definitions build up
        if count[node] < 2 or size[node] < SMALLEST_NAMED or node.op in ("var", "num"):
            continue
        k += 1
        name = f"{prefix}{k}".translate(_SUBSCRIPT)
        while name in taken:
            k += 1
            name = f"{prefix}{k}".translate(_SUBSCRIPT)
        definitions.append((name, substitute(node, names, top=False)))
        names[node] = Expr("var", (), name, node.shape)
    return names, definitions


def substitute(e: Expr, names: dict, *, top: bool = True) -> Expr:
    """e with every named subexpression replaced by its name (e itself too, when `top`)."""
    if top and e in names:
        return names[e]
    memo: dict[Expr, Expr] = {}

    def walk(node: Expr) -> Expr:
        if node in names:
            return names[node]
        hit = memo.get(node)
        if hit is None:
            hit = Expr(node.op, tuple(walk(a) for a in node.args), node.value, node.shape) \
                if node.args else node
            memo[node] = hit
        return hit

    return Expr(e.op, tuple(walk(a) for a in e.args), e.value, e.shape) if e.args else e


def shortened(j, taken=()):
    """A Jacobian with its repeats named: (the named Jacobian, [(name, definition)]), or
    (j, []) when its form is short."""
    from .jacobians import map_payloads

    forms: list[Expr] = []
    map_payloads(j, lambda e: forms.append(e) or e)
    names, definitions = name_repeats(forms, taken=taken)
    if not names:
        return j, []
    return map_payloads(j, lambda e: substitute(e, names)), definitions
