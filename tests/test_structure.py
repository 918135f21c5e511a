"""Structure is never weaker than the numbers (issue 11): a permutation conjugating a
diagonal, K(p,q)·diag(vec(P))·K(q,p) = diag(vec(Pᵀ)), and terms that cancel (K - K = 0)
leave a diagonal or zero Jacobian, not a dense one.

The property: Hypothesis builds matrix expressions in A and B (p x q) from transposes,
element-wise functions, sums, differences and products; for the Jacobian with respect to
A (square: the output has as many entries as A), when the numbers are diagonal at several
random points (checked against the oracle's finite differences), jac must say `diagonal`,
and when they are zero, `zero`. Only that direction: a diagonal flag for numbers that are
not diagonal would already fail the value checks of test_matrices.py."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import jac_json
from oracle import evaluate, numeric_jacobian

ATOL = 1e-5


def oriented(depth: int, point: dict):
    """Expressions as (text, flipped): flipped when the shape is q x p rather than p x q.

    A sum or difference that is zero for every value (`A - A''`) is left out: seeing that
    needs an algebra of values, not of Jacobians, so it is not what this property is about;
    such a sum is recognised by its value at `point`."""
    leaf = st.sampled_from([("A", False), ("A'", True), ("B", False), ("B'", True)])
    if depth == 0:
        return leaf
    inner = oriented(depth - 1, point)

    def join(op):
        same_shape = st.tuples(inner, inner).filter(lambda t: t[0][1] == t[1][1])
        made = same_shape.map(lambda t: (f"({t[0][0]} {op} {t[1][0]})", t[0][1]))
        if op == "*":
            return made
        return made.filter(lambda e: np.any(np.asarray(evaluate(e[0], point)) != 0))

    return st.one_of(
        leaf,
        inner.map(lambda e: (f"({e[0]})'", not e[1])),
        st.tuples(st.sampled_from(["sin", "exp", "tanh"]), inner).map(
            lambda t: (f"{t[0]}({t[1][0]})", t[1][1])),
        inner.map(lambda e: (f"(-{e[0]})", e[1])),
        inner.map(lambda e: (f"(2*{e[0]})", e[1])),
        join("+"), join("-"), join("*"),
    )


def _points(shape, seeds):
    for seed in seeds:
        rng = np.random.default_rng(seed)
        yield {"A": rng.uniform(-1, 1, shape), "B": rng.uniform(-1, 1, shape)}


SHAPES = [(2, 3), (3, 2), (2, 2)]
cases = st.sampled_from(SHAPES).flatmap(
    lambda shape: st.tuples(oriented(3, next(_points(shape, seeds=(99,)))), st.just(shape)))


def _value(j: dict) -> np.ndarray:
    return np.asarray(j["value"], dtype=float)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.filter_too_much])
@given(cases)
def test_structure_is_never_weaker_than_the_numbers(case):
    (text, _), shape = case
    off_diagonal, largest = 0.0, 0.0
    for values in _points(shape, seeds=(1, 2, 3)):
        doc = jac_json(text, wrt=["A"], values={k: v.tolist() for k, v in values.items()})
        (j,) = doc["jacobians"]
        got = _value(j)
        np.testing.assert_allclose(got, numeric_jacobian(text, values, ["A"]), atol=ATOL)
        off_diagonal = max(off_diagonal, np.abs(got[~np.eye(len(got), dtype=bool)]).max())
        largest = max(largest, np.abs(got).max())
    if largest == 0:
        assert j["structure"] == "zero", (text, j["symbolic"])
    if off_diagonal == 0:
        assert j["diagonal"] is True, (text, j["symbolic"], j["structure"])


@pytest.mark.parametrize("text, symbolic", [
    ("sin(A')'", "diag(vec(cos(A)))"),
    ("(A'*B')'", "diag(vec(B))"),
    ("A' - A'", "0"),
    ("(A' + A')'", "2*I"),
    ("(A' - sin(A'))'", "diag(vec(1 - cos(A)))"),
    ("2*A' - A' - A'", "0"),
])
def test_conjugated_and_cancelled_forms(text, symbolic):
    (values,) = _points((2, 3), seeds=(7,))
    doc = jac_json(text, wrt=["A"], values={k: v.tolist() for k, v in values.items()})
    (j,) = doc["jacobians"]
    assert j["symbolic"] == symbolic
    assert j["diagonal"] is True
    np.testing.assert_allclose(_value(j), numeric_jacobian(text, values, ["A"]), atol=ATOL)


def test_a_transpose_alone_stays_a_permutation():
    """K is not diagonal: the conjugation rule must not fire on a single commutation."""
    (values,) = _points((2, 3), seeds=(7,))
    (j,) = jac_json("A' + 2*A'", wrt=["A"], values={k: v.tolist() for k, v in values.items()})[
        "jacobians"]
    assert j["diagonal"] is False
    np.testing.assert_allclose(_value(j), numeric_jacobian("A' + 2*A'", values, ["A"]), atol=ATOL)


@pytest.mark.parametrize("text", ["W@x - W@x", "y@W - 2*y@W + y@W", "(W@x)*2 - W@x*2",
                                  "(W'@y)' - y'@W", "A' - A' + W - W"])
def test_terms_that_cancel_leave_zero(text):
    """Oracle: the finite differences are zero; the structure must say so."""
    rng = np.random.default_rng(5)
    values = {"W": rng.uniform(-1, 1, (2, 3)), "A": rng.uniform(-1, 1, (3, 2)),
              "x": rng.uniform(-1, 1, 3), "y": rng.uniform(-1, 1, 2)}
    names = [n for n in values if n in text]
    doc = jac_json(text, wrt=["W"], values={n: values[n].tolist() for n in names})
    (j,) = doc["jacobians"]
    assert not numeric_jacobian(text, {n: values[n] for n in names}, ["W"]).any()
    assert j["structure"] == "zero", j["symbolic"]
