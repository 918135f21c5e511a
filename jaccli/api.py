"""One call from text to answer: `compute(text, wrt, shapes, values, layout) -> Result`.

Parsing, shape inference, differentiation (numerator layout), the single transpose for
denominator layout, and evaluation when values are given. The CLI, the renderer and the
serializer only ever see a `Result`. NumPy is imported only when there are values.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import sizes
from .derive import Derivation
from .errors import ShapeProblem, Unsupported
from .expr import Expr, describe_shape
from .algebra import Algebra
from .jacobians import Jacobian, hstack, simplified
from .report import did_you_mean, nearest
from .shapes import infer
from .syntax import parse

LAYOUTS = ("numerator", "denominator")
MAX_LISTED = 10 ** 5   # SPEC.md: numbers are listed in JSON up to this many entries
# A vector literal's Jacobian has a block for every entry, for every name differentiated;
# past this many (names x entries) the answer would take minutes, so it is refused at once.
MAX_WORK = 2 * 10 ** 6


@dataclass
class JacobianResult:
    wrt: str
    jacobian: Jacobian          # in the chosen layout
    value: object = None        # evaluate.DiagonalValue | DenseValue | None
    # For a scalar f and one matrix W: ∂f/∂W with W's own shape (None otherwise, or when
    # the Jacobian has no matrix form), as deep-learning code uses it.
    gradient: Expr | None = None
    gradient_shape: tuple | None = None
    check: dict | None = None   # --check: {ok, max_abs_error, points} (check.py)
    steps: list | None = None   # --steps: the derivation rule by rule (steps.py)


@dataclass
class Result:
    expression: str
    layout: str
    tree: Expr
    output_shape: tuple
    variables: dict             # name -> shape, in order of first appearance
    jacobians: list[JacobianResult]
    warnings: list[str] = field(default_factory=list)
    values: dict = field(default_factory=dict)
    output_value: object = None  # f's own value at the given values (ndarray or float)
    hessians: list[JacobianResult] = field(default_factory=list)    # --hessian (hessian.py)


def kind_of(shape) -> str:
    return ("scalar", "vector", "matrix")[len(shape)]


def output_kind(shape) -> str:
    """SPEC.md: x' is a row (kind `row`, shape [1, n])."""
    return "row" if len(shape) == 2 and shape[0] == 1 else kind_of(shape)


def compute(text: str, wrt=None, shapes=None, values=None, layout: str = "numerator", *,
            hessian=None, steps: bool = False, check: bool = False) -> Result:
    """Differentiate `text`.

    wrt:    list of groups, each a list of names (`--wrt x,y` is one group of two);
            None for every scalar and vector variable of the expression.
    shapes: name -> shape tuple (`--shape`); values: name -> ndarray (`--at`).
    hessian: groups as for wrt (`--hessian`); steps: record each derivation (`--steps`);
    check:  compare every Jacobian and Hessian with finite differences (`--check`).
    """
    assert layout in LAYOUTS
    shapes = dict(shapes or {})
    values = dict(values or {})
    declared = _declarations(shapes, values)
    tree = parse(text)
    names_in_expression = tree.variables()
    extra = [n for group in (wrt or []) for n in group if n not in names_in_expression]
    typed, variable_shapes = infer(tree, declared, extra)
    warnings: list[str] = []
    if wrt is None:
        wrt = [[n] for n in names_in_expression if len(variable_shapes[n]) < 2]
    for n in dict.fromkeys(extra):
        guess = did_you_mean(n, names_in_expression)
        warnings.append(f"{n} does not appear in the expression: its Jacobian is zero"
                        + (f"; {guess}" if guess else ""))
    for n in declared:      # a typo in --at or --shape, when a likely name was left without
        guess = nearest(n, [m for m in names_in_expression if m not in declared])
        if n not in names_in_expression and n not in extra and guess:
            warnings.append(f"{n} has a value or --shape but does not appear in the expression; "
                            f"did you mean '{guess}'?")

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
    if values:
        _evaluate(result)
    if check:
        from .check import check_result
        check_result(result, lambda sampled: compute(text, wrt, shapes, sampled, layout,
                                                     hessian=hessian))
    return result


def matrix_gradient(j: Jacobian, shape: tuple):
    """∂f/∂W shaped like W from the 1 x pq row of a scalar f: the matrix G with vec(G) = row."""
    from . import jacobians as J
    from .expr import zeros

    if isinstance(j, J.Zero):
        return zeros(shape)
    if isinstance(j, J.Row):
        return J.unvec(j.v, *shape)
    return None


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


def _evaluate(result: Result) -> None:
    import numpy as np

    from .evaluate import Evaluator, NotEvaluable

    for name, value in result.values.items():
        if not np.all(np.isfinite(value)):
            result.warnings.append(f"the value of {name} is not finite everywhere (NaN or infinity)")
    ev = Evaluator(result.values)
    try:
        # f itself: its value is part of the answer, and a domain error is a warning too
        result.output_value = ev(result.tree)
    except NotEvaluable:
        pass              # a variable without a value: f has no numbers
    for jr in result.jacobians + result.hessians:
        try:
            jr.value = ev.jacobian(jr.jacobian)
        except NotEvaluable:
            jr.value = None
    result.warnings.extend(dict.fromkeys(ev.warnings))
