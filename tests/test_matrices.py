"""Derivatives with respect to matrices (row-major vec, SPEC.md) and through matrix-valued
subexpressions — products, transposes (the commutation matrix), element-wise work and
reductions — in both layouts, against the oracle's central finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import oracle

RNG = np.random.default_rng(20261127)


def values_for(shapes: dict) -> dict:
    return {n: RNG.normal(size=s) if s else np.array(RNG.normal()) for n, s in shapes.items()}


# (expression, wrt, shapes of the values, expected closed form or None)
CASES = [
    ("W@x", "W", {"W": (2, 3), "x": (3,)}, "kron(I, x')"),
    ("x@W", "W", {"W": (3, 2), "x": (3,)}, None),
    ("sum(W@x)", "W", {"W": (2, 3), "x": (3,)}, None),
    ("A@B", "A", {"A": (2, 3), "B": (3, 4)}, None),
    ("A@B", "B", {"A": (2, 3), "B": (3, 4)}, None),
    ("A'", "A", {"A": (2, 3)}, "commutation(2, 3)"),
    ("A - A'", "A", {"A": (3, 3)}, "I - commutation(3, 3)"),
    ("B' @ B", "B", {"B": (2, 3)}, None),
    ("sum(A' @ x)", "A", {"A": (2, 3), "x": (2,)}, None),
    ("(A*a)' @ x", "a", {"A": (2, 3), "x": (2,), "a": ()}, "A' @ x"),
    ("x @ (A' @ A) @ x", "A", {"A": (3, 2), "x": (2,)}, None),
    ("norm(W@x)", "W", {"W": (2, 3), "x": (3,)}, None),
    ("sum(sin(W))", "W", {"W": (2, 3)}, "vec(cos(W))'"),
    ("sum(W*W)", "W", {"W": (2, 3)}, "2*vec(W)'"),
    ("logsumexp(A)", "A", {"A": (2, 3)}, None),
    ("W@x + b", "W,x", {"W": (2, 3), "x": (3,), "b": (2,)}, None),
    ("x' @ A @ x", "A", {"A": (3, 3), "x": (3,)}, None),
    ("x' @ A @ x", "x", {"A": (3, 3), "x": (3,)}, "x' @ (A' + A)"),
    ("tanh(A@B)", "B", {"A": (2, 3), "B": (3, 2)}, None),
]


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("text, wrt, shapes, form", CASES)
def test_matrix_derivatives_match_finite_differences(jac, text, wrt, shapes, form, layout):
    values = values_for(shapes)
    doc = jac(text, wrt=[wrt], values={n: v.tolist() for n, v in values.items()}, layout=layout)
    j = doc["jacobians"][0]
    want = oracle.numeric_jacobian(text, values, wrt.split(","))
    if layout == "denominator":
        want = want.T
    got = np.array(j["value"], dtype=float)
    assert got.shape == want.shape == tuple(j["shape"])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if form is not None and layout == "numerator":
        assert j["symbolic"] == form


def test_a_matrix_jacobian_has_pq_columns_symbolically(jac):
    doc = jac("W@x", wrt=["W"])
    assert doc["variables"]["W"]["shape"] == ["m", "n"]
    assert doc["jacobians"][0]["shape"] == ["m", "m*n"]


def test_stacked_matrix_and_vector_sizes_add(jac):
    doc = jac("W@x + b", wrt=["W,x"])
    assert doc["jacobians"][0]["shape"] == ["m", "m*n+n"]


@pytest.mark.parametrize("text, wrt, structure, diagonal", [
    ("A*B", "A", "diagonal", True),            # element-wise work stays diagonal
    ("sin(A)", "A", "diagonal", True),
    ("A'", "A", "dense", False),               # a permutation, not diagonal
    ("A + A", "A", "scaled_identity", True),
    ("A@B", "A", "dense", False),
])
def test_matrix_structure(jac, text, wrt, structure, diagonal):
    j = jac(text, wrt=[wrt], shapes={"A": "3x3", "B": "3x3"})["jacobians"][0]
    assert (j["structure"], j["diagonal"]) == (structure, diagonal)


def test_default_wrt_leaves_matrices_out(jac):
    assert [j["wrt"] for j in jac("W@x + b")["jacobians"]] == ["x", "b"]


# ---------------------------------------------------------------- random matrix expressions

SHAPES = {"A": (2, 3), "B": (3, 3), "C": (3, 2), "x": (3,), "y": (2,)}


def _matrix(draw, depth: int):
    """A 3x3 matrix-valued expression built from A (2x3), B (3x3), C (3x2)."""
    if depth <= 0:
        return draw(st.sampled_from(["B", "B'", "C@A", "A'@A"]))
    inner = _matrix(draw, depth - 1)
    other = _matrix(draw, depth - 1)
    return draw(st.sampled_from([
        f"({inner}) @ ({other})", f"({inner})'", f"({inner}) * ({other})",
        f"({inner}) + ({other})", f"tanh({inner})", f"sin({inner})", f"0.5 * ({inner})",
        f"({inner}) - ({other})'",
    ]))


@st.composite
def matrix_problems(draw):
    body = _matrix(draw, draw(st.integers(0, 2)))
    outer = draw(st.sampled_from(["sum({})", "x @ ({}) @ x", "({}) @ x", "logsumexp({})",
                                  "C' @ ({})", "{}"]))
    wrt = draw(st.sampled_from(["A", "B", "C"]))
    return outer.format(body), wrt


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrix_problems(), st.sampled_from(["numerator", "denominator"]))
def test_random_matrix_expressions_match_finite_differences(jac, problem, layout):
    text, wrt = problem
    values = values_for(SHAPES)
    values = {n: 0.5 * v for n, v in values.items()}       # keep products moderate
    used = {n: v for n, v in values.items() if n in text or n == wrt}
    doc = jac(text, wrt=[wrt], values={n: v.tolist() for n, v in used.items()}, layout=layout)
    want = oracle.numeric_jacobian(text, used, [wrt])
    assume(np.all(np.isfinite(want)) and np.abs(want).max() < 1e4)
    got = np.array(doc["jacobians"][0]["value"], dtype=float)
    np.testing.assert_allclose(got, want.T if layout == "denominator" else want,
                               rtol=1e-4, atol=1e-5)
