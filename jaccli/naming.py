"""Naming what a closed form repeats, as the article does with u₁, u₂, …

The derivative of a chain sin(sin(sin(x))) holds every inner link twice (in the chain and in
its cosine), so written out it grows with the square of the depth. `name_repeats` finds the
subexpressions a form would print more than once, innermost first, and gives each a name:

    diag(cos(u₂) ⊙ cos(u₁) ⊙ cos(x))   where u₁ = sin(x), u₂ = sin(u₁)

so the printed size stays linear in the input. The names are for reading (the terminal, and
JSON's `named` and `where`). JSON's `symbolic` and `latex` stay the whole form unless that
would be very long (`LONG_SYMBOLIC` nodes written out): then they too name the repeats, in
the input language's own `where`, with ASCII names (u1, u2), and still read back in.
"""
from __future__ import annotations

from .expr import Expr, written_size
from .jacobians import map_payloads, payloads
from .notation import LATEX, ascii_form, latex_form

# A form is shortened only when written out it has more nodes than this.
LONG_FORM = 40
# A repeated subexpression is named when it has at least this many nodes.
SMALLEST_NAMED = 4
# JSON's symbolic and latex name repeats (with `where`) past this many nodes written out.
LONG_SYMBOLIC = 1000

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def name_repeats(forms: list[Expr], *, prefix: str = "u", taken=(),
                 subscripts: bool = True) -> tuple[dict, list]:
    """({subexpression: its name as a variable node}, [(name, definition with earlier names)]),
    empty when the forms are short or repeat nothing worth a name. Names are u₁, u₂, … or,
    without `subscripts`, u1, u2, … (ASCII, for the input language)."""
    size, order = _sizes(forms)
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
    digits = _SUBSCRIPT if subscripts else {}
    k = 0
    for node in order:                        # innermost first, so definitions build up
        if count[node] < 2 or size[node] < SMALLEST_NAMED or node.op in ("var", "num"):
            continue
        k += 1
        name = f"{prefix}{k}".translate(digits)
        while name in taken:
            k += 1
            name = f"{prefix}{k}".translate(digits)
        definitions.append((name, substitute(node, names, top=False)))
        names[node] = Expr("var", (), name, node.shape)
    return names, definitions


def written_out(forms: list[Expr]) -> int:
    """How many nodes the forms have written out in full (shared subexpressions counted each
    time they appear), found without writing them."""
    return sum(written_size(f) for f in forms)


def _sizes(forms: list[Expr]) -> tuple[dict, list]:
    """({node: its size written out}, the nodes, children before parents)."""
    size: dict[Expr, int] = {}
    order: list[Expr] = []
    for root in forms:
        stack = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if node in size:
                continue
            if ready:
                size[node] = written_size(node)
                order.append(node)
            else:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in size)
    return size, order


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


def closed_forms(j, taken=(), size: int | None = None, typeset=None) -> tuple[str, str]:
    """(ASCII, LaTeX) of a Jacobian for JSON's `symbolic` and `latex` and for --latex: the
    whole form or, when written out (`size` nodes, counted when not given) it would be very
    long, the form with its repeats named in the input language's `where` (linear in size,
    and read back the same). `typeset`: `shortened(j, taken)` when the caller has it."""
    if size is None:
        size = written_out(payloads(j))
    if size > LONG_SYMBOLIC:
        named, definitions = shortened(j, taken=taken, subscripts=False)
        typeset, typeset_definitions = typeset or shortened(j, taken=taken)   # u₁: u_{1}
        if definitions:
            symbolic = named.form() + " where " + ", ".join(
                f"{name} = {ascii_form(d)}" for name, d in definitions)
            latex = typeset.form(LATEX) + r" \quad \text{where } " + r",\ ".join(
                f"{latex_form(Expr('var', (), name, d.shape))} = {latex_form(d)}"
                for name, d in typeset_definitions)
            return symbolic, latex
    return j.form(), j.form(LATEX)


def shortened(j, taken=(), *, subscripts: bool = True):
    """A Jacobian with its repeats named: (the named Jacobian, [(name, definition)]), or
    (j, []) when its form is short."""
    names, definitions = name_repeats(payloads(j), taken=taken, subscripts=subscripts)
    if not names:
        return j, []
    return map_payloads(j, lambda e: substitute(e, names)), definitions
