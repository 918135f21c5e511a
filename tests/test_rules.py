"""One test per row of RULES.md, in both layouts, against central finite differences.

Every case runs jac in-process (`compute` + `to_dict`, the JSON of SPEC.md) at random values
drawn once from a fixed seed, away from kinks (|z| >= 0.3 at max/relu/abs) and inside the
domain (positive arguments for log and sqrt), and compares each Jacobian with the finite
differences of the independent evaluator in `oracle.py`. Where RULES.md states the answer
in closed form, the numbers are also checked against that formula, and the article's
closed forms are checked as text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

from oracle import evaluate, numeric_jacobian

N = 4
rng = np.random.default_rng(180201528)


def away(*shape, lo=0.3, hi=1.5):
    """Both signs, |v| in [lo, hi]: well away from the kinks at 0."""
    v = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(lo, hi, size=shape)
    return float(v) if not shape else v


def positive(*shape, lo=0.3, hi=2.0):
    v = rng.uniform(lo, hi, size=shape)
    return float(v) if not shape else v


def smooth(*shape):
    v = rng.uniform(-1.2, 1.2, size=shape)
    return float(v) if not shape else v


@dataclass
class Case:
    id: str
    expression: str
    wrt: tuple
    values: dict
    shapes: dict = field(default_factory=dict)
    # RULES.md's closed form, numerator layout: values -> one matrix per --wrt
    expected: Callable | None = None


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# -------------------------------------------------------------------- RULES.md: scalar rules

x0, y0 = away(), away()
px = positive()
SCALAR = [
    Case("constant", "3", ("x",), {"x": x0}, expected=lambda v: [[[0.0]]]),
    Case("constant_factor", "3*sin(x)", ("x",), {"x": x0},
         expected=lambda v: [[[3 * np.cos(v["x"])]]]),
    Case("power_integer", "x^3", ("x",), {"x": x0}, expected=lambda v: [[[3 * v["x"] ** 2]]]),
    Case("power_negative", "x^-2", ("x",), {"x": x0}, expected=lambda v: [[[-2 * v["x"] ** -3]]]),
    Case("power_fractional", "x^2.5", ("x",), {"x": px},
         expected=lambda v: [[[2.5 * v["x"] ** 1.5]]]),
    Case("power_starstar", "x**3", ("x",), {"x": x0}, expected=lambda v: [[[3 * v["x"] ** 2]]]),
    Case("sum", "sin(x) + x^2", ("x",), {"x": x0}),
    Case("difference", "sin(x) - x^2", ("x",), {"x": x0}),
    Case("product", "sin(x)*exp(x)", ("x",), {"x": x0}),
    Case("quotient", "sin(x)/(x^2 + 1)", ("x",), {"x": x0}),
    Case("quotient_of_variables", "x/y", ("x", "y"), {"x": x0, "y": away()},
         expected=lambda v: [[[1 / v["y"]]], [[-v["x"] / v["y"] ** 2]]]),
    Case("chain", "sin(x^2)", ("x",), {"x": x0},
         expected=lambda v: [[[np.cos(v["x"] ** 2) * 2 * v["x"]]]]),
    Case("rectifier_positive", "max(0, x)", ("x",), {"x": positive()},
         expected=lambda v: [[[1.0]]]),
    Case("rectifier_negative", "max(0, x)", ("x",), {"x": -positive()},
         expected=lambda v: [[[0.0]]]),
    Case("partials_3x2y", "3*x^2*y", ("x", "y"), {"x": x0, "y": y0},
         expected=lambda v: [[[6 * v["x"] * v["y"]]], [[3 * v["x"] ** 2]]]),
    Case("gradient_3x2y", "3*x^2*y", ("x,y",), {"x": x0, "y": y0},
         expected=lambda v: [[[6 * v["x"] * v["y"], 3 * v["x"] ** 2]]]),
    Case("article_jacobian", "[3*x^2*y, 2*x + y^8]", ("x,y",), {"x": x0, "y": y0},
         expected=lambda v: [[[6 * v["x"] * v["y"], 3 * v["x"] ** 2],
                              [2.0, 8 * v["y"] ** 7]]]),
    Case("article_jacobian_declared", "[3*x^2*y, 2*x + y^8]", ("x,y",), {"x": 1.5, "y": -0.9},
         shapes={"x": "scalar", "y": "scalar"},
         expected=lambda v: [[[6 * 1.5 * -0.9, 3 * 1.5 ** 2], [2.0, 8 * (-0.9) ** 7]]]),
]

# the scalar derivative of each function, RULES.md's "functions" row
FUNCTION_DERIVATIVES = {
    "sin": (np.cos, smooth),
    "cos": (lambda z: -np.sin(z), smooth),
    "tan": (lambda z: 1 + np.tan(z) ** 2, smooth),
    "exp": (np.exp, smooth),
    "log": (lambda z: 1 / z, positive),
    "sqrt": (lambda z: 1 / (2 * np.sqrt(z)), positive),
    "tanh": (lambda z: 1 - np.tanh(z) ** 2, smooth),
    "sigmoid": (lambda z: sigmoid(z) * (1 - sigmoid(z)), smooth),
    "abs": (np.sign, away),
    "relu": (lambda z: (z > 0).astype(float), away),
}

FUNCTIONS = []
for f, (df, draw) in FUNCTION_DERIVATIVES.items():
    FUNCTIONS.append(Case(f"{f}_scalar", f"{f}(x)", ("x",), {"x": draw()},
                          expected=lambda v, df=df: [[[float(df(np.float64(v["x"])))]]]))
    # an element-wise function of a vector: diag(f'(x))
    FUNCTIONS.append(Case(f"{f}_vector", f"{f}(x)", ("x",), {"x": draw(N)},
                          expected=lambda v, df=df: [np.diag(df(v["x"]))]))
    FUNCTIONS.append(Case(f"{f}_chain", f"{f}(2*x + 0.5)" if f not in ("log", "sqrt")
                          else f"{f}(x^2 + 0.5)", ("x",), {"x": away(N)}))
FUNCTIONS += [
    Case("abs_both_signs", "abs(x)", ("x",), {"x": np.array([-1.2, 0.4, -0.5, 2.0])},
         expected=lambda v: [np.diag([-1.0, 1.0, -1.0, 1.0])]),
    Case("relu_both_signs", "relu(x)", ("x",), {"x": np.array([-1.2, 0.4, -0.5, 2.0])},
         expected=lambda v: [np.diag([0.0, 1.0, 0.0, 1.0])]),
]

# -------------------------------------------------------------------- max / min conventions

w0 = away(N)
MAXMIN = [
    Case("max_zero_first", "max(0, x)", ("x",), {"x": away(N)}),
    Case("max_zero_second", "max(x, 0)", ("x",), {"x": away(N)}),
    Case("max_vectors", "max(w, x)", ("w", "x"), {"w": w0, "x": w0 + away(N)},
         expected=lambda v: [np.diag((v["w"] > v["x"]) * 1.0), np.diag((v["x"] > v["w"]) * 1.0)]),
    Case("min_vectors", "min(w, x)", ("w", "x"), {"w": w0, "x": w0 + away(N)},
         expected=lambda v: [np.diag((v["w"] < v["x"]) * 1.0), np.diag((v["x"] < v["w"]) * 1.0)]),
    Case("min_scalar_vector", "min(x, z)", ("x", "z"), {"x": away(N), "z": 0.05}),
    Case("max_of_scalars", "max(x, y)", ("x", "y"), {"x": 0.3, "y": -0.4}),
    Case("min_of_scalars", "min(x, y)", ("x", "y"), {"x": 0.3, "y": -0.4}),
]

# -------------------------------------------------------------------- element-wise binary on vectors

wv, xv = away(N), away(N)
ELEMENTWISE = [
    Case("add", "w + x", ("w", "x"), {"w": wv, "x": xv},
         expected=lambda v: [np.eye(N), np.eye(N)]),
    Case("sub", "w - x", ("w", "x"), {"w": wv, "x": xv},
         expected=lambda v: [np.eye(N), -np.eye(N)]),
    Case("hadamard", "w * x", ("w", "x"), {"w": wv, "x": xv},
         expected=lambda v: [np.diag(v["x"]), np.diag(v["w"])]),
    Case("divide", "w / x", ("w", "x"), {"w": wv, "x": xv},
         expected=lambda v: [np.diag(1 / v["x"]), np.diag(-v["w"] / v["x"] ** 2)]),
    Case("power", "w ^ x", ("w", "x"), {"w": positive(N), "x": smooth(N)}),
    Case("square", "x^2", ("x",), {"x": xv}, expected=lambda v: [np.diag(2 * v["x"])]),
    Case("identity", "x", ("x",), {"x": xv}, expected=lambda v: [np.eye(N)]),
    Case("negation", "-x", ("x",), {"x": xv}, expected=lambda v: [-np.eye(N)]),
    Case("functions_combined", "sin(w) * exp(x) - tanh(w) / (x^2 + 1)", ("w", "x"),
         {"w": wv, "x": xv}),
]

# -------------------------------------------------------------------- scalar and vector

zs = away()
SCALAR_VECTOR = [
    Case("vector_plus_scalar", "x + z", ("x", "z"), {"x": xv, "z": zs},
         expected=lambda v: [np.eye(N), np.ones((N, 1))]),
    Case("vector_minus_scalar", "x - z", ("x", "z"), {"x": xv, "z": zs},
         expected=lambda v: [np.eye(N), -np.ones((N, 1))]),
    Case("scalar_minus_vector", "z - x", ("x", "z"), {"x": xv, "z": zs},
         expected=lambda v: [-np.eye(N), np.ones((N, 1))]),
    Case("vector_times_scalar", "x * z", ("x", "z"), {"x": xv, "z": zs},
         expected=lambda v: [v["z"] * np.eye(N), v["x"][:, None]]),
    Case("vector_over_scalar", "x / z", ("x", "z"), {"x": xv, "z": zs},
         expected=lambda v: [np.eye(N) / v["z"], (-v["x"] / v["z"] ** 2)[:, None]]),
    Case("scalar_over_vector", "z / x", ("x", "z"), {"x": xv, "z": zs}),
    Case("scalar_power_vector", "z ^ x", ("x", "z"), {"x": smooth(N), "z": positive()}),
    Case("declared_scalar", "x * z", ("x", "z"), {"x": xv, "z": zs}, shapes={"z": "scalar"}),
]

# -------------------------------------------------------------------- reductions

REDUCTIONS = [
    Case("sum", "sum(x)", ("x",), {"x": xv}, expected=lambda v: [np.ones((1, N))]),
    Case("sum_scaled", "sum(x*z)", ("x", "z"), {"x": xv, "z": zs},
         expected=lambda v: [v["z"] * np.ones((1, N)), [[v["x"].sum()]]]),
    Case("dot_at", "w @ x", ("w", "x"), {"w": wv, "x": xv},
         expected=lambda v: [v["x"][None, :], v["w"][None, :]]),
    Case("dot_middle_dot", "w · x", ("w", "x"), {"w": wv, "x": xv},
         expected=lambda v: [v["x"][None, :], v["w"][None, :]]),
    Case("dot_function", "dot(w, x)", ("w", "x"), {"w": wv, "x": xv},
         expected=lambda v: [v["x"][None, :], v["w"][None, :]]),
    Case("dot_as_sum", "sum(w * x)", ("w", "x"), {"w": wv, "x": xv},
         expected=lambda v: [v["x"][None, :], v["w"][None, :]]),
    Case("sum_of_function", "sum(sin(x))", ("x",), {"x": xv},
         expected=lambda v: [np.cos(v["x"])[None, :]]),
    Case("sum_of_log", "sum(log(x))", ("x",), {"x": positive(N)},
         expected=lambda v: [(1 / v["x"])[None, :]]),
    Case("mean", "mean(x)", ("x",), {"x": xv}, expected=lambda v: [np.ones((1, N)) / N]),
    Case("norm", "norm(x)", ("x",), {"x": xv},
         expected=lambda v: [v["x"][None, :] / np.linalg.norm(v["x"])]),
    Case("softmax", "softmax(x)", ("x",), {"x": xv},
         expected=lambda v: [np.diag(softmax(v["x"])) - np.outer(softmax(v["x"]), softmax(v["x"]))]),
    Case("logsumexp", "logsumexp(x)", ("x",), {"x": xv},
         expected=lambda v: [softmax(v["x"])[None, :]]),
    Case("sum_of_matrix", "sum(A)", ("A",), {"A": smooth(3, 2)},
         expected=lambda v: [np.ones((1, 6))]),
    Case("mean_of_matrix", "mean(A * A)", ("A",), {"A": smooth(2, 3)}),
    Case("logsumexp_of_matrix", "logsumexp(A)", ("A",), {"A": smooth(2, 3)},
         expected=lambda v: [softmax(v["A"].reshape(-1))[None, :]]),
    Case("logsumexp_of_scaled_matrix", "logsumexp(A * z)", ("z", "A"),
         {"A": smooth(2, 3), "z": zs}),
]

# -------------------------------------------------------------------- chain rules

W0, V0 = smooth(3, N), smooth(2, 3)
CHAINS = [
    Case("single_variable", "exp(sin(x))", ("x",), {"x": x0}),
    Case("vector_single_variable", "sin(x^2)", ("x",), {"x": xv},
         expected=lambda v: [np.diag(np.cos(v["x"] ** 2) * 2 * v["x"])]),
    Case("total_derivative_scalar", "x * sin(x) + x^2", ("x",), {"x": x0},
         expected=lambda v: [[[np.sin(v["x"]) + v["x"] * np.cos(v["x"]) + 2 * v["x"]]]]),
    Case("total_derivative_product", "x * y + x^3 * y", ("x", "y"), {"x": x0, "y": y0}),
    Case("total_derivative_vector", "x * exp(x)", ("x",), {"x": xv},
         expected=lambda v: [np.diag(np.exp(v["x"]) * (1 + v["x"]))]),
    Case("total_derivative_dot_self", "x @ x", ("x",), {"x": xv},
         expected=lambda v: [2 * v["x"][None, :]]),
    Case("total_derivative_through_reduction", "norm(x) * x", ("x",), {"x": xv},
         expected=lambda v: [np.linalg.norm(v["x"]) * np.eye(N)
                             + np.outer(v["x"], v["x"]) / np.linalg.norm(v["x"])]),
    Case("total_derivative_mixed", "w @ x + sum(w * w) * z", ("w", "x", "z"),
         {"w": wv, "x": xv, "z": zs}),
    Case("vector_chain_matvec", "exp(W @ x)", ("x", "W"), {"W": W0, "x": xv},
         expected=lambda v: [np.exp(v["W"] @ v["x"])[:, None] * v["W"], None]),
    Case("vector_chain_softmax", "softmax(W @ x)", ("x",), {"W": W0, "x": xv}),
    Case("vector_chain_layers", "tanh(V @ sigmoid(W @ x))", ("x", "W", "V"),
         {"W": W0, "V": V0, "x": xv}),
    Case("vector_chain_logsumexp", "logsumexp(W @ x + b)", ("x", "b"),
         {"W": W0, "x": xv, "b": smooth(3)}),
    Case("elementwise_chain_stays_diagonal", "sin(x) * exp(x) / (1 + x^2)", ("x",), {"x": xv}),
]

# -------------------------------------------------------------------- matrices

A0 = smooth(N, N)
MATRICES = [
    Case("matvec", "W @ x", ("x", "W"), {"W": W0, "x": xv},
         expected=lambda v: [v["W"], np.kron(np.eye(3), v["x"][None, :])]),
    Case("vecmat", "x @ A", ("x", "A"), {"A": A0, "x": xv}, expected=lambda v: [v["A"].T, None]),
    Case("row_times_matrix", "x' @ A", ("x",), {"A": A0, "x": xv},
         expected=lambda v: [v["A"].T]),
    Case("quadratic_form_at", "x @ A @ x", ("x",), {"A": A0, "x": xv},
         expected=lambda v: [v["x"][None, :] @ (v["A"] + v["A"].T)]),
    Case("quadratic_form_transpose", "x' @ A @ x", ("x",), {"A": A0, "x": xv},
         expected=lambda v: [v["x"][None, :] @ (v["A"] + v["A"].T)]),
    Case("matrix_product", "A @ B", ("A", "B"), {"A": smooth(2, 3), "B": smooth(3, 2)}),
    Case("matrix_product_vector", "A @ B @ x", ("x", "A"), {"A": smooth(2, 3), "B": smooth(3, N),
                                                          "x": xv}),
    Case("matrix_elementwise", "sin(A) * A", ("A",), {"A": smooth(2, 3)}),
    Case("transpose_vector", "x'", ("x",), {"x": xv}, expected=lambda v: [np.eye(N)]),
    Case("transpose_back", "(x' @ A)'", ("x",), {"A": A0, "x": xv},
         expected=lambda v: [v["A"].T]),
]

# -------------------------------------------------------------------- the neuron and its loss

x_in = positive(N)
w_on = positive(N)
NEURON = [
    Case("neuron_active", "max(0, w @ x + b)", ("w", "b", "x"),
         {"w": w_on, "x": x_in, "b": 0.5},
         expected=lambda v: [v["x"][None, :], [[1.0]], v["w"][None, :]]),
    Case("neuron_inactive", "max(0, w @ x + b)", ("w", "b"),
         {"w": -w_on, "x": x_in, "b": 0.5},
         expected=lambda v: [np.zeros((1, N)), [[0.0]]]),
    Case("neuron_relu", "relu(w · x + b)", ("w", "b"), {"w": w_on, "x": x_in, "b": -0.2},
         expected=lambda v: [v["x"][None, :], [[1.0]]]),
]


def _loss_data(samples: int = 7, features: int = 3):
    """X, w, b with some samples active (z > 0) and some not, all |z| > 0.1."""
    while True:
        X, w, b = smooth(samples, features), smooth(features), smooth()
        z = X @ w + b
        if np.all(np.abs(z) > 0.1) and 0 < np.sum(z > 0) < samples:
            return {"X": X, "w": w, "b": b, "y": smooth(samples)}


def _loss_gradients(v):
    """RULES.md: dC/dw = (2/N) Σ_{z_i > 0} (w·x_i + b - y_i) x_iᵀ, dC/db likewise."""
    X, w, b, y = v["X"], v["w"], v["b"], v["y"]
    z = X @ w + b
    active = z > 0
    err = (z - y) * active
    return [(2 / len(y)) * (err @ X)[None, :], [[(2 / len(y)) * err.sum()]]]


LOSS = [
    Case("loss", "mean((y - max(0, X @ w + b))^2)", ("w", "b"), _loss_data(),
         shapes={"b": "scalar"}, expected=_loss_gradients),
    Case("loss_all_variables", "mean((y - max(0, X @ w + b))^2)", ("w", "b", "y", "X"),
         _loss_data(), shapes={"b": "scalar"}),
]

CASES = SCALAR + FUNCTIONS + MAXMIN + ELEMENTWISE + SCALAR_VECTOR + REDUCTIONS + CHAINS + \
    MATRICES + NEURON + LOSS


def _run(jac, case: Case, layout: str) -> dict:
    return jac(case.expression, wrt=list(case.wrt), shapes=case.shapes, values=case.values,
               layout=layout)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_matches_finite_differences(jac, case, layout):
    doc = _run(jac, case, layout)
    assert doc["layout"] == layout
    assert doc["output"]["shape"] == list(np.shape(evaluate(case.expression, case.values)))
    assert [j["wrt"] for j in doc["jacobians"]] == list(case.wrt)
    expected = case.expected(case.values) if case.expected else [None] * len(case.wrt)
    for entry, group, closed_form in zip(doc["jacobians"], case.wrt, expected):
        numeric = numeric_jacobian(case.expression, case.values, group.split(","))
        if layout == "denominator":
            numeric = numeric.T
        assert entry["shape"] == list(numeric.shape)
        value = np.array(entry["value"], dtype=float)
        np.testing.assert_allclose(value, numeric, rtol=1e-6, atol=1e-7)
        if closed_form is not None:
            closed_form = np.asarray(closed_form, dtype=float)
            if layout == "denominator":
                closed_form = closed_form.T
            np.testing.assert_allclose(value, closed_form, rtol=1e-12, atol=1e-12)
        if entry["diagonal"]:
            assert value.shape[0] == value.shape[1]
            assert np.count_nonzero(value - np.diag(np.diag(value))) == 0
            assert entry["diag"] == np.diag(value).tolist()


# -------------------------------------------------------------------- closed forms as text

# (expression, wrt, shapes, numerator form, denominator form, structure)
CLOSED_FORMS = [
    ("w*x", "w", {}, "diag(x)", "diag(x)", "diagonal"),
    ("w*x", "x", {}, "diag(w)", "diag(w)", "diagonal"),
    ("w+x", "w", {}, "I", "I", "identity"),
    ("w+x", "x", {}, "I", "I", "identity"),
    ("w-x", "w", {}, "I", "I", "identity"),
    ("w-x", "x", {}, "-I", "-I", "scaled_identity"),
    ("sum(x)", "x", {}, "1'", "1", "dense"),
    ("w@x", "w", {}, "x'", "x", "dense"),
    ("w@x", "x", {}, "w'", "w", "dense"),
    ("w·x", "w", {}, "x'", "x", "dense"),
    ("W@x", "x", {}, "W", "W'", "dense"),
    ("x*z", "x", {"z": "scalar"}, "z*I", "z*I", "scaled_identity"),
    ("x*z", "z", {"z": "scalar"}, "x", "x'", "dense"),
    ("x+z", "z", {"z": "scalar"}, "1", "1'", "dense"),
    ("x", "x", {}, "I", "I", "identity"),
]


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("expression, wrt, shapes, numerator, denominator, structure",
                         CLOSED_FORMS, ids=[f"{c[0]}/{c[1]}" for c in CLOSED_FORMS])
def test_article_closed_forms(jac, expression, wrt, shapes, numerator, denominator, structure,
                              layout):
    entry, = jac(expression, wrt=[wrt], shapes=shapes, layout=layout)["jacobians"]
    assert entry["symbolic"] == (numerator if layout == "numerator" else denominator)
    assert entry["structure"] == structure
    assert entry["latex"]


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_neuron_closed_forms_use_step(jac, layout):
    doc = jac("max(0, w@x + b)", wrt=["w", "b"], layout=layout)
    dw, db = doc["jacobians"]
    assert "step(" in dw["symbolic"] and "x" in dw["symbolic"]
    assert dw["shape"] == ([1, "n"] if layout == "numerator" else ["n", 1])
    assert db["shape"] == [1, 1] and db["diagonal"] is True


@pytest.mark.parametrize("text", ["x' @ A @ x", "x @ A @ x"])
def test_quadratic_form_reads_as_the_article(jac, text):
    """RULES.md: ∂(xᵀAx)/∂x = xᵀ(A + Aᵀ); the common left factor x is taken out."""
    doc = jac(text, wrt=["x"])
    assert doc["jacobians"][0]["symbolic"].replace(" ", "") == "x'@(A'+A)"


def test_loss_gradient_reads_as_the_article(jac):
    """RULES.md: ∂C/∂w = (2/N) Σ (w·xᵢ + b − yᵢ) xᵢᵀ over the active samples; the numbers
    come out of the product and the sum."""
    doc = jac("mean((y - max(0, X @ w + b))^2)", wrt=["w", "b"], shapes={"b": "scalar"})
    dw, db = (j["symbolic"] for j in doc["jacobians"])
    assert dw == "2*((max(0, X @ w + b) - y)*step(X @ w + b))' @ X/n"
    assert db == "2*mean((max(0, X @ w + b) - y)*step(X @ w + b))"


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_power_collection_keeps_closed_forms_small(jac, layout):
    assert jac("log(x^2)", wrt=["x"], layout=layout)["jacobians"][0]["symbolic"] == "diag(2/x)"
    assert jac("sqrt(x @ x)", wrt=["x"], layout=layout)["jacobians"][0]["symbolic"] == \
        ("x'/sqrt(x @ x)" if layout == "numerator" else "x/sqrt(x @ x)")


# -------------------------------------------------------------------- structure and `diagonal`

# (expression, wrt, shapes, values, structure or None for "any", diagonal)
DIAGONAL = [
    ("sin(x)*exp(x)", "x", {}, None, "diagonal", True),
    ("exp(sin(x)) / (x^2 + 1)", "x", {}, None, "diagonal", True),
    ("relu(x) + abs(x) - max(x, 0.5)", "x", {}, None, "diagonal", True),
    ("x * z", "x", {"z": "scalar"}, None, "scaled_identity", True),
    ("softmax(x)", "x", {}, None, "dense", False),
    ("W @ x", "x", {"W": "3x3"}, None, "dense", False),
    # all off-diagonal entries happen to be zero here, but the derivation says dense
    ("W @ x", "x", {}, {"W": np.eye(3), "x": [1.0, 2.0, 3.0]}, "dense", False),
    # a diagonal whose entries happen to be zero is still diagonal
    ("w * x", "w", {}, {"w": [1.0, 2.0], "x": [0.0, 0.0]}, "diagonal", True),
    ("sum(x)", "x", {}, None, "dense", False),
    ("sin(x)", "x", {"x": "scalar"}, None, None, True),              # 1x1
    ("sum(x * z)", "z", {"z": "scalar"}, None, "dense", True),      # 1x1 dense
    ("x + y - y", "y", {}, None, "zero", True),                      # zero, square
    ("sin(x)", "y", {"x": "3", "y": "3"}, None, "zero", True),       # absent, square
    ("sin(x)", "y", {"x": "3", "y": "2"}, None, "zero", False),      # absent, not square
    ("sum(x)", "y", {}, None, "zero", False),
    ("x' @ x", "x", {}, None, "dense", False),
    ("[x^2, y^2]", "x,y", {}, None, None, True),
    ("[x, y]", "x,y", {}, None, None, True),
    ("[x*y, y]", "x,y", {}, None, None, False),
    ("[3*x^2*y, 2*x + y^8]", "x,y", {}, None, None, False),
]


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("expression, wrt, shapes, values, structure, diagonal", DIAGONAL,
                         ids=[f"{c[0]}/{c[1]}" for c in DIAGONAL])
def test_structure_and_diagonal(jac, expression, wrt, shapes, values, structure, diagonal, layout):
    entry, = jac(expression, wrt=[wrt], shapes=shapes, values=values, layout=layout)["jacobians"]
    assert entry["diagonal"] is diagonal
    if structure is not None:
        assert entry["structure"] == structure
    assert entry["structure"] in ("zero", "identity", "scaled_identity", "diagonal", "dense")


def test_diagonal_values_are_the_diag_vector(jac):
    entry, = jac("w * x", wrt=["w"], values={"w": [1, 2, 3], "x": [4, 5, 6]})["jacobians"]
    assert entry["diag"] == [4.0, 5.0, 6.0]
    assert entry["value"] == np.diag([4.0, 5.0, 6.0]).tolist()


def test_dense_result_has_no_diag(jac):
    entry, = jac("softmax(x)", wrt=["x"], values={"x": [1, 2, 3]})["jacobians"]
    assert "diag" not in entry


# -------------------------------------------------------------------- derivative conventions at ties

# (expression, values, wrt, expected numerator value): SPEC.md "Derivative conventions"
TIES = [
    ("max(x, y)", {"x": 0.5, "y": 0.5}, "x", 1.0),      # a tie goes to the first argument
    ("max(x, y)", {"x": 0.5, "y": 0.5}, "y", 0.0),
    ("max(y, x)", {"x": 0.5, "y": 0.5}, "y", 1.0),
    ("min(x, y)", {"x": 0.5, "y": 0.5}, "x", 1.0),
    ("min(x, y)", {"x": 0.5, "y": 0.5}, "y", 0.0),
    ("max(0, x)", {"x": 0.0}, "x", 0.0),                 # the rectifier: slope 0 at z <= 0
    ("max(0, x)", {"x": 1e-9}, "x", 1.0),
    ("max(x, 0)", {"x": 0.0}, "x", 1.0),                 # ...but here x is the first argument
    ("relu(x)", {"x": 0.0}, "x", 0.0),
    ("relu(x)", {"x": -2.0}, "x", 0.0),
    ("abs(x)", {"x": 0.0}, "x", 0.0),                    # sign(x), 0 at 0
    ("abs(x)", {"x": -3.0}, "x", -1.0),
    ("min(x, 0)", {"x": 0.0}, "x", 1.0),
]


@pytest.mark.parametrize("expression, values, wrt, expected", TIES,
                         ids=[f"{c[0]}@{c[1]}/{c[2]}" for c in TIES])
def test_kink_conventions(jac, expression, values, wrt, expected):
    entry, = jac(expression, wrt=[wrt], values=values)["jacobians"]
    assert entry["value"] == [[expected]]


def test_tie_conventions_on_vectors(jac):
    doc = jac("max(w, x)", wrt=["w", "x"], values={"w": [1.0, 2.0, 3.0], "x": [1.0, 5.0, 0.0]})
    dw, dx = (j["diag"] for j in doc["jacobians"])
    assert dw == [1.0, 0.0, 1.0]
    assert dx == [0.0, 1.0, 0.0]


def test_numeric_exponents_fold(jac):
    """x^-2 parses as x^(-(2)); its derivative's exponent is the number -3, not -2 - 1."""
    entry, = jac("x^-2", wrt=["x"])["jacobians"]
    assert entry["symbolic"] == "diag(-2/x^3)"
