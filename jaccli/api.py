"""One call from text to answer: `compute(text, wrt, shapes, values, layout) -> Result`.

Parsing, shape inference, differentiation (numerator layout), the single transpose for
denominator layout, and evaluation when values are given. The CLI, the renderer and the
serializer only ever see a `Result`. NumPy is imported only when there are values.
"""
from __future__ import annotations

import re

from . import sizes
from .algebra import Algebra
from .derive import Derivation
from .errors import NameProblem, ShapeProblem, Unsupported
from .expr import Expr, describe_shape, zeros
from .jacobians import Jacobian, Row, Zero, hstack, simplified, unvec
from .report import did_you_mean, nearest
from .shapes import infer
from .syntax import MAX_DEPTH, parse_noting

LAYOUTS = ("numerator", "denominator")
MAX_LISTED = 10 ** 5   # SPEC.md: numbers are listed in JSON up to this many entries
# A vector literal's Jacobian has a block for every entry, for every name differentiated;
# past this many (names x entries) the answer would take minutes, so it is refused at once.
MAX_WORK = 2 * 10 ** 6
# The longest expression jac parses (about a second of work); a longer one is refused
# before parsing, and batch mode reads no more of a line than this.
MAX_EXPRESSION_CHARS = 10 ** 5


class JacobianResult:
    """One Jacobian (or Hessian) of a result, filled in as the run goes."""

    def __init__(self, wrt: str, jacobian: Jacobian):
        self.wrt = wrt
        self.jacobian = jacobian    # in the chosen layout
        self.value: object = None   # values.DiagonalValue | DenseValue | None
        # For a scalar f and one matrix W: ∂f/∂W with W's own shape (None otherwise, or when
        # the Jacobian has no matrix form), as deep-learning code uses it.
        self.gradient: Expr | None = None
        self.gradient_shape: tuple | None = None
        self.check: dict | None = None   # --check: {ok, max_abs_error, points} (check.py)
        self.steps: list | None = None   # --steps: the derivation rule by rule (steps.py)


class Result:
    """Everything one expression gives: what JSON and the terminal show."""

    def __init__(self, expression: str, layout: str, tree: Expr, output_shape: tuple,
                 variables: dict, jacobians: list, warnings: list, values: dict):
        self.expression, self.layout, self.tree = expression, layout, tree
        self.output_shape = output_shape
        self.variables = variables      # name -> shape, in order of first appearance
        self.jacobians: list[JacobianResult] = jacobians
        self.warnings: list[str] = warnings
        self.values = values
        self.output_value: object = None    # f's own value at the given values (ndarray, float)
        self.hessians: list[JacobianResult] = []    # --hessian (hessian.py)


def kind_of(shape) -> str:
    return ("scalar", "vector", "matrix")[len(shape)]


def output_kind(shape) -> str:
    """SPEC.md: x' is a row (kind `row`, shape [1, n])."""
    return "row" if len(shape) == 2 and shape[0] == 1 else kind_of(shape)


def compute(text: str, wrt=None, shapes=None, values=None, layout: str = "numerator", *,
            hessian=None, steps: bool = False, check: bool = False, all_numbers: bool = True,
            shared: bool = False) -> Result:
    """Differentiate `text`.

    wrt:    list of groups, each a list of names (`--wrt x,y` is one group of two);
            None for every scalar and vector variable of the expression.
    shapes: name -> shape tuple (`--shape`); values: name -> ndarray (`--at`).
    hessian: groups as for wrt (`--hessian`); steps: record each derivation (`--steps`);
    check:  compare every Jacobian and Hessian with finite differences (`--check`).
    all_numbers: False when only numbers that can be listed are wanted (no --save): a
            dense Jacobian of more than MAX_LISTED entries is then not computed at all.
    shared: the declarations serve many expressions (batch mode): one that this
            expression does not use is not worth a warning unless it looks like a typo.
    """
    assert layout in LAYOUTS
    _check_nesting(text)
    if len(text) > MAX_EXPRESSION_CHARS:
        raise Unsupported(f"the expression has {len(text)} characters; jac takes at most "
                          f"{MAX_EXPRESSION_CHARS}", hint="split it into smaller expressions")
    shapes = dict(shapes or {})
    values = dict(values or {})
    declared = _declarations(shapes, values)
    tree, given, names_in_expression, shaping = parse_noting(text)
    if names_in_expression is None:
        names_in_expression = tree.variables()
    _check_size_symbols(shapes, names_in_expression)
    extra = [n for group in (wrt or []) for n in group if n not in names_in_expression]
    for n in extra:
        if n in given:
            from .notation import ascii_form
            raise NameProblem(f"{n} is a name given with 'where' (it stands for "
                              f"{ascii_form(given[n])}), not a variable: jac differentiates "
                              "with respect to variables",
                              hint=f"try --wrt {names_in_expression[0]}"
                              if names_in_expression else None)
    typed, variable_shapes = infer(tree, declared, extra, names_in_expression, shaping,
                                   shared=bool(given))
    warnings: list[str] = []
    if wrt is None:
        wrt = [[n] for n in names_in_expression if len(variable_shapes[n]) < 2]
        matrices = [n for n in names_in_expression if len(variable_shapes[n]) == 2]
        if not wrt and matrices:
            names = ", ".join(matrices)
            warnings.append(f"{names} {'is a matrix' if len(matrices) == 1 else 'are matrices'}: "
                            "jac differentiates with respect to a matrix only when it is named; "
                            f"try --wrt {matrices[0]}")
    for n in dict.fromkeys(extra):
        guess = did_you_mean(n, names_in_expression)
        warnings.append(f"{n} does not appear in the expression: its Jacobian is zero"
                        + (f"; {guess}" if guess else ""))
    for n in declared:      # a typo in --at or --shape, or a name from another expression
        if n in names_in_expression or n in extra:
            continue
        guess = nearest(n, [m for m in names_in_expression if m not in declared])
        if shared and not guess:
            continue
        source = "a value (--at)" if n in values else "a --shape"
        warnings.append(f"{n} has {source} but does not appear in the expression; it is not used"
                        + (f"; did you mean '{guess}'?" if guess else ""))
    warnings.extend(confusable_names(names_in_expression))

    derivation = Derivation(typed)
    _check_work(derivation, sum(len(group) for group in wrt))
    results = []
    algebra = Algebra()
    for group in wrt:
        blocks = [simplified(derivation.jacobian(n, variable_shapes[n]), algebra) for n in group]
        j = hstack(blocks)
        jr = JacobianResult(",".join(group), j)
        if typed.shape == () and len(group) == 1 and len(variable_shapes[group[0]]) == 2:
            jr.gradient_shape = variable_shapes[group[0]]
            jr.gradient = matrix_gradient(j, jr.gradient_shape)
        if layout == "denominator":
            jr.jacobian = j.T
        results.append(jr)

    if steps:
        from .steps import derivation_steps
        for group, jr in zip(wrt, results):
            jr.steps = derivation_steps(typed, group, variable_shapes, layout, jr.jacobian,
                                        algebra)
    variables = {n: variable_shapes[n] for n in names_in_expression + list(dict.fromkeys(extra))}
    result = Result(text, layout, typed, typed.shape, variables, results, warnings, values)
    if hessian:
        from .hessian import hessians
        result.hessians = [JacobianResult(w, h)
                           for w, h in hessians(result, derivation, hessian, algebra)]
    if values or not names_in_expression:         # a constant has numbers of its own
        _evaluate(result, None if all_numbers else MAX_LISTED)
    if check:
        from .check import check_result
        check_result(result, lambda sampled: compute(text, wrt, shapes, sampled, layout,
                                                     hessian=hessian))
    return result


def matrix_gradient(j: Jacobian, shape: tuple):
    """∂f/∂W shaped like W from the 1 x pq row of a scalar f: the matrix G with vec(G) = row."""
    if isinstance(j, Zero):
        return zeros(shape)
    if isinstance(j, Row):
        return unvec(j.v, *shape)
    return None



# An opening bracket that makes a node: a call `f(`, a vector `[`; or a plain group `(`; or
# a closing bracket.
_BRACKETS = re.compile(r"(\w\s*)?([(\[])|[)\]]")


def _check_nesting(text: str) -> None:
    """Calls and vectors nested deeper than the parser's limit, refused before parsing (and
    before the length check, so that the answer points at the depth): a scan of at most
    MAX_EXPRESSION_CHARS characters."""
    if len(text) <= MAX_DEPTH:      # fewer brackets than the limit: nothing to scan for
        return
    open_nodes: list[int] = []      # for each open bracket: 1 if it makes a node, 0 for grouping
    depth = 0
    for m in _BRACKETS.finditer(text, 0, MAX_EXPRESSION_CHARS + 1):
        opener = m.group(2)
        if opener is None:
            depth -= open_nodes.pop() if open_nodes else 0
            continue
        node = int(opener == "[" or m.group(1) is not None)
        open_nodes.append(node)
        depth += node
        if depth > MAX_DEPTH:
            raise Unsupported(f"the expression nests deeper than {MAX_DEPTH} levels",
                              column=m.start(2) + 1, hint="split it into smaller expressions")


def _check_size_symbols(shapes: dict, names) -> None:
    """A size symbol that is also a variable (`jac "x*n" --shape x=n`) would make `n` mean
    two things in one closed form."""
    for name, shape in shapes.items():
        for size in shape:
            for symbol in sorted({s for m in getattr(size, "terms", {}) for s in m}):
                if symbol in names:
                    raise ShapeProblem(f"--shape {name} uses the size {symbol}, which is also a "
                                       "variable of the expression",
                                       hint="name the size with another letter, e.g. --shape "
                                            f"{name}={'m' if symbol != 'm' else 'k'}")


# Letters of other scripts that look like Latin ones: a name written with one of them is a
# different variable that prints the same (x and the Cyrillic х).
_LOOKALIKES = dict(zip(
    "аеорсухіјѕԁһԛԝАВЕКМНОРСТХУІЈЅαβεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhqwABEKMHOPCTXYIJSaBeikvoptuxABEZHIKMNOPTYX"))


def _skeleton(name: str) -> str:
    import unicodedata
    return "".join(_LOOKALIKES.get(ch, ch) for ch in unicodedata.normalize("NFKC", name))


def confusable_names(names) -> list[str]:
    """Warnings for distinct names that look the same (Latin x and Cyrillic х)."""
    if all(n.isascii() for n in names):     # ASCII names look alike only when they are equal
        return []
    import unicodedata
    by_look: dict = {}
    for n in names:
        by_look.setdefault(_skeleton(n), []).append(n)
    out = []
    for group in by_look.values():
        if len(group) > 1:
            def spelled(n):
                odd = [f"U+{ord(ch):04X} {unicodedata.name(ch, '?')}" for ch in n if not ch.isascii()]
                return f"'{n}'" + (f" ({', '.join(odd)})" if odd else "")
            out.append(f"{' and '.join(spelled(n) for n in group)} look alike but are "
                       "different variables")
    return out


def _check_work(derivation: Derivation, names: int) -> None:
    entries = derivation.vector_entries()
    if names * entries > MAX_WORK:
        raise Unsupported(f"differentiating a vector of {entries} entries with respect to "
                          f"{names} variables is more work than jac does at once",
                          hint="name the variables you need with --wrt")


def _declarations(shapes: dict, values: dict) -> dict:
    declared = dict(shapes)
    for name, value in values.items():
        shape = tuple(value.shape)
        if name in shapes:
            want = shapes[name]
            if len(want) != len(shape) or any(sizes.is_concrete(w) and w != s for w, s in zip(want, shape)):
                raise ShapeProblem(f"the value of {name} is {describe_shape(shape)}, but --shape "
                                   f"declares {describe_shape(want)}")
        declared[name] = shape
    return declared


def _evaluate(result: Result, dense_limit: int | None) -> None:
    from .evaluate import Evaluator
    from .values import NotEvaluable

    ev = Evaluator(result.values)
    for name, finite in ev.inputs_finite.items():
        if not finite:
            result.warnings.append(f"the value of {name} is not finite everywhere (NaN or infinity)")
    if not all(n in result.values for n in result.variables):
        dense_limit = None   # some Jacobians have no numbers at all: found while evaluating
    ev.expect([result.tree], [jr.jacobian for jr in result.jacobians + result.hessians], dense_limit)
    try:
        # f itself: its value is part of the answer, and a domain error is a warning too
        result.output_value = ev(result.tree)
    except NotEvaluable:
        pass              # a variable without a value: f has no numbers
    for jr in result.jacobians + result.hessians:
        try:
            jr.value = ev.jacobian(jr.jacobian, dense_limit)
        except NotEvaluable:
            jr.value = None
    result.warnings.extend(dict.fromkeys(ev.warnings))
