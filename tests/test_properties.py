"""Hypothesis: random well-typed expressions over the whole language, checked three ways.

The generator builds expression text over every operator (+ - * / ^ ** @ · ' unary minus,
vector literals, every function) with consistent shapes: scalars a, b; vectors x, y (3)
and u (2); matrices A (3x3) and B (2x3). Values come from a drawn seed and fix every
shape. Arguments of log and sqrt and denominators are made positive (e^2 + 0.5, exp(e),
...); kinks are avoided by asking the oracle how close the evaluation came to one.

For each expression:
- each Jacobian's numbers match central finite differences of the independent oracle;
- the denominator-layout numbers are the transpose of the numerator-layout ones;
- a Jacobian whose `diagonal` is true is square with exactly zero off-diagonal entries.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import jac_json
from oracle import evaluate, hazard, numeric_jacobian, parse

ADD, MUL, UNARY, POW, POSTFIX, ATOM = 1, 2, 3, 4, 5, 6

SHAPES = {"a": (), "b": (), "x": (3,), "y": (3,), "u": (2,), "A": (3, 3), "B": (2, 3)}
LEAVES = {"s": ["a", "b"], "v": ["x", "y"], "w": ["u"], "M": ["A"], "R": ["B"], "r": []}
NUMBERS = ["0.5", "2", "3", "1.5", "0.25", "1e-1", ".75"]
SMOOTH = ["sin", "cos", "tan", "exp", "tanh", "sigmoid"]
KINKED = ["abs", "relu"]


class T:
    """Generated text and how tightly it binds (SPEC.md's precedence, loosest first)."""

    def __init__(self, text: str, prec: int):
        self.text, self.prec = text, prec

    def at(self, need: int) -> str:
        return self.text if self.prec >= need else f"({self.text})"


def binary(op: str, left: T, right: T) -> T:
    level = ADD if op in "+-" else MUL
    return T(f"{left.at(level)} {op} {right.at(level + 1)}", level)


def neg(e: T) -> T:
    return T("-" + e.at(UNARY), UNARY)


def call(name: str, *args: T) -> T:
    return T(f"{name}({', '.join(a.text for a in args)})", ATOM)


def power(base: T, exponent: T, symbol: str = "^") -> T:
    return T(f"{base.at(POSTFIX)}{symbol}{exponent.at(POW)}", POW)


def transpose(e: T) -> T:
    return T(e.at(POSTFIX) + "'", POSTFIX)


@st.composite
def positive(draw, kind: str, depth: int) -> T:
    """An expression of `kind` that is positive wherever it is defined."""
    e = draw(expression(kind, depth))
    form = draw(st.sampled_from(["square", "exp", "sigmoid", "abs"]))
    if form == "square":
        return binary("+", power(e, T("2", ATOM)), T("0.5", ATOM))
    if form == "exp":
        return call("exp", e)
    if form == "sigmoid":
        return binary("+", call("sigmoid", e), T("0.25", ATOM))
    return binary("+", T("1", ATOM), call("abs", e))


def _leaf(draw, kind: str) -> T:
    if kind == "r":
        return T(draw(st.sampled_from(["x'", "y'"])), POSTFIX)
    if kind == "s" and draw(st.integers(0, 2)) == 2:
        return T(draw(st.sampled_from(NUMBERS)), ATOM)
    return T(draw(st.sampled_from(LEAVES[kind])), ATOM)


@st.composite
def expression(draw, kind: str, depth: int, root: bool = False) -> T:
    """A random expression of one kind: s scalar, v 3-vector, w 2-vector, M 3x3, R 2x3, r 1x3."""
    if depth <= 0 or (not root and depth <= 2 and draw(st.integers(0, 3)) == 3):
        return _leaf(draw, kind)
    sub = lambda k: expression(k, depth - 1)     # noqa: E731
    pos = lambda k: positive(k, depth - 1)       # noqa: E731
    arith = st.sampled_from("+-*")

    choices = ["arith", "scalar_arith", "function", "divide", "integer_power", "log_sqrt", "maxmin",
               "neg"]
    if kind == "s":
        choices += ["reduce", "dot", "quadratic", "reduce_matrix", "positive_power"]
    if kind in ("v", "w"):
        choices += ["softmax", "literal", "matvec", "positive_power"]
    if kind == "v":
        choices += ["row_back"]
    if kind == "M":
        choices += ["matmul", "leaf_transpose"]
    if kind == "R":
        choices += ["matmul"]
    if kind == "r":
        choices += ["row_of_vector"]
    pick = draw(st.sampled_from(choices))

    if pick == "neg":
        return neg(draw(sub(kind)))
    if pick == "arith":
        return binary(draw(arith), draw(sub(kind)), draw(sub(kind)))
    if pick == "scalar_arith":
        pair = [draw(sub(kind)), draw(sub("s"))]
        if draw(st.booleans()):
            pair.reverse()
        return binary(draw(arith), *pair)
    if pick == "divide":
        numerator = draw(sub(draw(st.sampled_from([kind, "s"]))))
        return binary("/", numerator, draw(pos(kind)))
    if pick == "integer_power":
        exponent = draw(st.sampled_from(["2", "3", "-1", "(-2)"]))
        return power(draw(sub(kind)), T(exponent, ATOM if exponent[0] != "-" else POW),
                     draw(st.sampled_from(["^", "**"])))
    if pick == "positive_power":
        if draw(st.booleans()):
            return power(draw(pos(kind)), draw(sub(draw(st.sampled_from([kind, "s"])))))
        return power(T(draw(st.sampled_from(["2", "0.5"])), ATOM), draw(sub(kind)))
    if pick == "function":
        return call(draw(st.sampled_from(SMOOTH + KINKED)), draw(sub(kind)))
    if pick == "log_sqrt":
        return call(draw(st.sampled_from(["log", "sqrt"])), draw(pos(kind)))
    if pick == "maxmin":
        name = draw(st.sampled_from(["max", "min"]))
        other = draw(st.sampled_from([kind, "s", "zero"]))
        second = T("0", ATOM) if other == "zero" else draw(sub(other))
        args = [draw(sub(kind)), second]
        if draw(st.booleans()):
            args.reverse()
        return call(name, *args)
    if pick == "reduce":
        return call(draw(st.sampled_from(["sum", "mean", "norm", "logsumexp"])),
                    draw(sub(draw(st.sampled_from(["v", "w"])))))
    if pick == "reduce_matrix":
        return call(draw(st.sampled_from(["sum", "mean", "logsumexp"])),
                    draw(sub(draw(st.sampled_from(["M", "R"])))))
    if pick == "dot":
        k = draw(st.sampled_from(["v", "w"]))
        left, right = draw(sub(k)), draw(sub(k))
        form = draw(st.sampled_from(["@", "·", "dot"]))
        return call("dot", left, right) if form == "dot" else binary(form, left, right)
    if pick == "quadratic":
        left = transpose(draw(sub("v"))) if draw(st.booleans()) else draw(sub("v"))
        middle = draw(sub("M"))
        return binary("@", binary("@", left, middle), draw(sub("v")))
    if pick == "softmax":
        return call("softmax", draw(sub(kind)))
    if pick == "literal":
        return T("[" + ", ".join(draw(sub("s")).text for _ in range(3 if kind == "v" else 2)) + "]",
                 ATOM)
    if pick == "matvec":
        if kind == "v":
            form = draw(st.sampled_from(["M@v", "v@M", "B'@w"]))
            if form == "M@v":
                return binary("@", draw(sub("M")), draw(sub("v")))
            if form == "v@M":
                return binary("@", draw(sub("v")), draw(sub("M")))
            return binary("@", T("B'", POSTFIX), draw(sub("w")))
        if draw(st.booleans()):
            return binary("@", draw(sub("R")), draw(sub("v")))
        return binary("@", draw(sub("v")), T("B'", POSTFIX))
    if pick == "row_back":
        return transpose(draw(sub("r")))
    if pick == "row_of_vector":
        row = transpose(draw(sub("v")))
        return binary("@", row, draw(sub("M"))) if draw(st.booleans()) else row
    if pick == "matmul":
        if kind == "M":
            return binary("@", draw(sub("M")), draw(sub("M")))
        return binary("@", draw(sub("R")), draw(sub("M")))
    if pick == "leaf_transpose":
        return T("A'", POSTFIX)
    raise AssertionError(pick)


def _values(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {name: (float(rng.uniform(-1.5, 1.5)) if shape == () else rng.uniform(-1.5, 1.5, shape))
            for name, shape in SHAPES.items()}


def _names(tree) -> list[str]:
    out: list[str] = []

    def walk(node):
        if node[0] == "var":
            if node[1] not in out:
                out.append(node[1])
        elif node[0] == "call":
            for a in node[2:]:
                walk(a)
        elif node[0] != "num":
            for a in node[1:]:
                walk(a)

    walk(tree)
    return out


@st.composite
def problem(draw):
    kind = draw(st.sampled_from(["s", "s", "v", "v", "w", "M", "R", "r"]))
    text = draw(expression(kind, draw(st.integers(1, 4)), root=True)).text
    values = _values(draw(st.integers(0, 2 ** 32 - 1)))
    names = _names(parse(text))
    # Transposing a matrix that depends on the variable is outside jac's core: keep A', B'
    # out of matrix --wrt.
    wrt = [n for n in names if not (len(SHAPES[n]) == 2 and f"{n}'" in text)]
    if len(wrt) >= 2 and draw(st.booleans()):
        wrt.append(f"{wrt[0]},{wrt[1]}")
    return text, {n: values[n] for n in names}, wrt


BOUNDED = settings(max_examples=int(__import__("os").environ.get("JAC_PROPERTY_EXAMPLES", "150")), deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _tame(text: str, values: dict) -> None:
    """Stay away from kinks and domain edges, and from numbers too large to difference."""
    with np.errstate(all="ignore"):
        assume(hazard(text, values) > 0.05)
        out = np.asarray(evaluate(text, values), dtype=float)
    assume(np.all(np.isfinite(out)) and np.max(np.abs(out), initial=0.0) < 1e4)


def _numbers(entry) -> np.ndarray:
    return np.array(entry["value"], dtype=float)


@BOUNDED
@given(problem())
def test_jacobians_match_finite_differences(case):
    text, values, wrt = case
    _tame(text, values)
    doc = jac_json(text, wrt=wrt, values=values)
    assert [j["wrt"] for j in doc["jacobians"]] == wrt
    for entry in doc["jacobians"]:
        names = entry["wrt"].split(",")
        with np.errstate(all="ignore"):
            numeric = numeric_jacobian(text, values, names)
            coarse = numeric_jacobian(text, values, names, h=4e-6)
        assume(np.all(np.isfinite(numeric)) and np.max(np.abs(numeric), initial=0.0) < 1e5)
        assert entry["shape"] == list(numeric.shape), entry
        scale = max(1.0, float(np.max(np.abs(numeric), initial=0.0)))
        # Where two step sizes disagree, finite differences have not settled (a huge third
        # derivative, as in tan(A^-2) near a pole): no verdict there.
        assume(np.allclose(numeric, coarse, rtol=1e-5, atol=1e-6 * scale))
        np.testing.assert_allclose(_numbers(entry), numeric, rtol=1e-4, atol=1e-5 * scale,
                                   err_msg=f"{text} wrt {entry['wrt']}: {entry['symbolic']}")


@BOUNDED
@given(problem())
def test_denominator_is_the_transpose_and_diagonal_means_diagonal(case):
    text, values, wrt = case
    num = jac_json(text, wrt=wrt, values=values)
    den = jac_json(text, wrt=wrt, values=values, layout="denominator")
    assert num["variables"] == den["variables"] and num["output"] == den["output"]
    for n, d in zip(num["jacobians"], den["jacobians"]):
        assert d["shape"] == n["shape"][::-1]
        assert d["diagonal"] == n["diagonal"]
        assert d["structure"] == n["structure"]
        np.testing.assert_allclose(_numbers(d), _numbers(n).T, rtol=1e-12, atol=1e-12,
                                   equal_nan=True, err_msg=text)
        for entry in (n, d):
            if entry["diagonal"]:
                value = _numbers(entry)
                assert value.shape[0] == value.shape[1]
                off = value[~np.eye(value.shape[0], dtype=bool)]
                assert np.all(off == 0), (text, entry["symbolic"], value)
                np.testing.assert_array_equal(np.array(entry["diag"], dtype=float), np.diag(value))
            else:
                assert "diag" not in entry
