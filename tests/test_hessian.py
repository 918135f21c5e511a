"""--hessian: second derivatives of a scalar f, against second differences of the
independent oracle and against known closed forms (A + Aᵀ; Xᵀ diag(s ⊙ (1 - s)) X / n);
structure flags from the derivation; both layouts; errors for what has no Hessian."""
from __future__ import annotations

import numpy as np
import pytest

from jaccli.api import compute
from jaccli.inputs import parse_shape
from jaccli.serialize import to_dict

from oracle import evaluate
from runjac import one, session

RNG = np.random.default_rng(5)


def second_differences(text: str, values: dict, names: list[str], h: float = 1e-4) -> np.ndarray:
    """H[i, j] = ∂²f/∂zᵢ∂zⱼ over z = [vec(x); vec(y); ...], by the oracle's evaluator."""
    coords = [(n, k) for n in names for k in range(np.size(values[n]))]
    base = {k: np.array(v, dtype=float) for k, v in values.items()}

    def f(moves):
        v = {k: a.copy() for k, a in base.items()}
        for (n, k), s in moves:
            v[n].reshape(-1)[k] += s
        return float(np.reshape(evaluate(text, v), -1)[0])

    steps = {c: h * max(1.0, abs(base[c[0]].reshape(-1)[c[1]])) for c in coords}
    out = np.zeros((len(coords), len(coords)))
    for i, a in enumerate(coords):
        for j, b in enumerate(coords):
            ha, hb = steps[a], steps[b]
            out[i, j] = (f([(a, ha), (b, hb)]) - f([(a, ha), (b, -hb)]) - f([(a, -ha), (b, hb)])
                         + f([(a, -ha), (b, -hb)])) / (4 * ha * hb)
    return out


def hessian(text, names, values, shapes=None, layout="numerator"):
    arrays = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    r = compute(text, None, {n: parse_shape(s) for n, s in (shapes or {}).items()}, arrays,
                layout, hessian=[names.split(",")])
    return r.hessians[0]


CASES = [
    ("x' @ A @ x", "x", {"x": RNG.normal(size=3), "A": RNG.normal(size=(3, 3))}, {}),
    ("sum(x^3)", "x", {"x": [1.0, -2.0, 0.5]}, {}),
    ("-mean(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))", "w",
     {"y": [1.0, 0.0, 1.0, 1.0], "X": RNG.normal(size=(4, 3)), "w": RNG.normal(size=3)}, {}),
    ("mean((y - max(0, X @ w + b))^2)", "w",
     {"y": RNG.normal(size=4), "X": RNG.normal(size=(4, 2)), "w": RNG.normal(size=2), "b": 0.3},
     {"b": "scalar"}),
    ("logsumexp(x) + norm(x)", "x", {"x": [0.3, -1.0, 2.0]}, {}),
    ("sum(softmax(W @ x) * v)", "x", {"W": RNG.normal(size=(3, 2)), "x": RNG.normal(size=2),
                                      "v": RNG.normal(size=3)}, {}),
    ("x*y*sin(x) + y^3", "x,y", {"x": 0.7, "y": -0.4}, {"x": "scalar", "y": "scalar"}),
    ("sum(w * x) * sum(x^2)", "w,x", {"w": [0.5, 1.0], "x": [2.0, -1.0]}, {}),
    ("sum(tanh(W @ x))", "x", {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=3)}, {}),
    ("sqrt(x @ x) / (1 + exp(-sum(x)))", "x", {"x": [0.4, 0.9, 1.3]}, {}),
    ("sum(tanh(W @ x))", "W", {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=3)}, {}),
    ("sum(tanh(W @ x))", "W,x", {"W": RNG.normal(size=(2, 2)), "x": RNG.normal(size=2)}, {}),
    ("x' @ A @ x", "A", {"x": RNG.normal(size=3), "A": RNG.normal(size=(3, 3))}, {}),
    ("logsumexp(X @ w)", "w", {"X": RNG.normal(size=(3, 2)), "w": RNG.normal(size=2)}, {}),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("text, names, values, shapes", CASES, ids=IDS)
def test_against_second_differences(text, names, values, shapes, layout):
    h = hessian(text, names, values, shapes, layout)
    want = second_differences(text, values, names.split(","))
    if layout == "denominator":
        want = want.T
    got = h.value.dense()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_quadratic_form_is_a_plus_a_transpose():
    a, x = RNG.normal(size=(4, 4)), RNG.normal(size=4)
    h = hessian("x' @ A @ x", "x", {"x": x, "A": a})
    np.testing.assert_allclose(h.value.dense(), a + a.T, rtol=1e-12)
    assert h.jacobian.structure == "dense" and not h.jacobian.diagonal


def test_cubes_give_a_diagonal():
    h = hessian("sum(x^3)", "x", {"x": [1.0, 2.0, 3.0]})
    assert h.jacobian.form() == "diag(6*x)"
    assert h.jacobian.structure == "diagonal" and h.jacobian.diagonal
    np.testing.assert_array_equal(h.value.d, [6.0, 12.0, 18.0])


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_numbers_of_a_product_are_gathered_in_its_diagonal(layout):
    """The chain rule leaves 3 on Aᵀ and 2 on the diagonal; they are one 6, on the diagonal."""
    a, x = RNG.normal(size=(3, 2)), RNG.normal(size=2)
    h = hessian("sum((A @ x)^3)", "x", {"A": a, "x": x}, layout=layout)
    assert h.jacobian.form() == "A' @ diag(6*(A @ x)) @ A"
    np.testing.assert_allclose(h.value.dense(), a.T @ np.diag(6 * (a @ x)) @ a, rtol=1e-12)


def test_a_gradient_kept_as_a_sum_is_the_sum_of_its_terms():
    """A Jacobian left as a lazy sum of rows (jsum merges most) still gives one gradient."""
    from jaccli import expr as E
    from jaccli import jacobians as J
    from jaccli.evaluate import Evaluator
    from jaccli.hessian import gradient_expr

    x, y = E.Expr("var", (), "x", (3,)), E.Expr("var", (), "y", (3,))
    v = gradient_expr(J.Sum([J.Row(x), J.Row(y)]), 3)
    assert v.shape == (3,)
    values = {"x": np.array([1.0, 2.0, 3.0]), "y": np.array([0.5, 0.25, 0.0])}
    np.testing.assert_allclose(Evaluator(values)(v), [1.5, 2.25, 3.0])


@pytest.mark.parametrize("text, structure", [
    ("sum(x^2)/2", "identity"),
    ("c*sum(x^2)", "scaled_identity"),
    ("sum(exp(x))", "diagonal"),
    ("w @ x", "zero"),
])
def test_structure_is_decided_by_the_derivation(text, structure):
    r = compute(text, None, {"c": ()}, None, "numerator", hessian=[["x"]])
    h = r.hessians[0].jacobian
    assert h.structure == structure
    assert h.diagonal


def test_logistic_loss_hessian_is_the_weighted_gram_matrix():
    x, w = RNG.normal(size=(5, 3)), RNG.normal(size=3)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    h = hessian("-mean(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))", "w",
                {"y": y, "X": x, "w": w})
    s = 1 / (1 + np.exp(-x @ w))
    np.testing.assert_allclose(h.value.dense(), x.T @ np.diag(s * (1 - s)) @ x / 5, rtol=1e-10)
    assert "sigmoid(X @ w)" in h.jacobian.form()


def test_json_hessians_are_shaped_like_jacobians():
    status, doc, _ = one("x' @ A @ x", wrt=["x"], hessian=[["x"]], at=["x=1,2", "A=[[1,2],[3,4]]"])
    assert status == 0
    (h,) = doc["hessians"]
    assert set(doc["jacobians"][0]) <= set(h) | {"gradient"}
    assert h["wrt"] == "x" and h["shape"] == [2, 2]
    assert h["value"] == [[2.0, 5.0], [5.0, 8.0]]


def test_terminal_shows_the_hessian():
    s, out, _ = session(as_json=False, wrt=["x"], at=["x=1,2,3"], hessian=[["x"]])
    assert s.one("sum(x^3)") == 0
    assert "∂²f/∂x∂xᵀ = diag(6·x)" in out.getvalue()


@pytest.mark.parametrize("text, name, kind, words", [
    ("x * y", "x", "shape", "scalar f"),
    ("sum(x^2)", "X", "name", "did you mean 'x'"),
])
def test_errors(text, name, kind, words):
    status, doc, err = one(text, hessian=[[name]])
    assert status == 1 and doc["error"]["type"] == kind
    assert words in doc["error"]["message"] + doc["error"].get("hint", "")
    assert "Traceback" not in err
