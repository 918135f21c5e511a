"""--steps: the derivation rule by rule. Every intermediate Jacobian, with the intermediate
variables given their values, equals finite differences of that subexpression by the
independent oracle; the last step is the Jacobian jac answers; the article's neuron and
loss read as the article writes them."""
from __future__ import annotations

import numpy as np
import pytest

from jaccli import steps as S
from jaccli.api import compute
from jaccli.derive import Derivation
from jaccli.evaluate import Evaluator
from jaccli.inputs import parse_shape
from jaccli.notation import ascii_form

from oracle import numeric_jacobian
from runjac import one, session

RNG = np.random.default_rng(6)

CASES = [
    ("max(0, w@x + b)", "w", {"w": RNG.normal(size=3), "x": RNG.normal(size=3), "b": 0.4}),
    ("mean((y - max(0, X @ w + b))^2)", "w",
     {"y": RNG.normal(size=4), "X": RNG.normal(size=(4, 3)), "w": RNG.normal(size=3), "b": 0.2}),
    ("sum(x * sin(x))", "x", {"x": RNG.normal(size=3)}),
    ("softmax(W @ x) * norm(x)", "x", {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=3)}),
    ("-mean(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))", "w",
     {"y": np.array([1.0, 0.0, 1.0]), "X": RNG.normal(size=(3, 2)), "w": RNG.normal(size=2)}),
    ("sum(tanh(W @ x))", "W", {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=3)}),
    ("x' @ A @ x", "x", {"x": RNG.normal(size=3), "A": RNG.normal(size=(3, 3))}),
    ("[3*x^2*y, 2*x + y^8]", "x", {"x": 0.6, "y": -0.8}),
]
IDS = [c[0] for c in CASES]


def _typed(text, values):
    r = compute(text, None, {}, {k: np.asarray(v, dtype=float) for k, v in values.items()}, "numerator")
    return r.tree, r.variables


@pytest.mark.parametrize("text, name, values", CASES, ids=IDS)
def test_every_intermediate_jacobian_matches_finite_differences(text, name, values):
    tree, shapes = _typed(text, values)
    walk = S._Walk(tree, name, shapes[name], Derivation(tree))
    walk.run()
    values = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    at = dict(values)
    ev = Evaluator(values)
    for node, u in walk.labels.items():          # each u gets the value of what it stands for
        at[u.value] = np.asarray(ev(node), dtype=float)
    assert walk.jacobians, "no steps"
    for node, j in walk.jacobians.items():
        got = Evaluator(at).jacobian(j).dense()
        want = numeric_jacobian(ascii_form(node), values, [name])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=ascii_form(node))


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("text, name, values", CASES, ids=IDS)
def test_the_last_step_is_the_answer(text, name, values, layout):
    r = compute(text, [[name]], {}, None, layout, steps=True)
    jr = r.jacobians[0]
    assert all({"rule", "expression", "result"} <= set(s) for s in jr.steps)
    assert jr.steps[-1]["symbolic"] == jr.jacobian.form()
    if layout == "denominator":
        assert jr.steps[-1]["rule"].startswith("denominator layout")


def _steps(text, wrt, shapes=None):
    status, doc, err = one(text, wrt=wrt, shapes=shapes or {}, steps=True)
    assert status == 0, err
    return doc["jacobians"][0]["steps"]


def test_the_articles_neuron():
    steps = _steps("max(0, w@x + b)", ["w"])
    assert [s["expression"] for s in steps[:3]] == ["u₁ = w · x", "u₂ = u₁ + b", "f = max(0, u₂)"]
    assert steps[0]["rule"].startswith("dot product") and steps[0]["result"] == "∂u₁/∂w = xᵀ"
    assert steps[2]["rule"].startswith("piecewise max")
    assert steps[2]["local"] == "∂f/∂u₂ = step(u₂)"
    assert steps[-1]["rule"] == "substitute the intermediate variables back"
    assert steps[-1]["result"] == "∂f/∂w = step(w · x + b)·xᵀ"


def test_the_articles_loss():
    steps = _steps("mean((y - max(0, X @ w + b))^2)", ["w"], {"b": "scalar"})
    rules = [s["rule"].split(":")[0] for s in steps]
    assert rules[0] == "matrix-vector product" and "piecewise max" in rules
    assert "element-wise power" in rules and rules[-2] == "mean reduction"
    assert steps[0]["expression"] == "u₁ = X w" and steps[0]["result"] == "∂u₁/∂w = X"
    assert any(s["expression"] == "u₃ = max(0, u₂)" for s in steps)
    difference = next(s for s in steps if s["expression"] == "u₄ = y - u₃")   # as the article
    assert difference["rule"].startswith("element-wise difference")
    assert difference["local"] == "∂u₄/∂u₃ = -I"
    named = [n for s in steps for n in s.get("simplifications", [])]
    assert "𝟏ᵀ diag(d) = dᵀ" in named and "diag(a) diag(b) = diag(a ⊙ b)" in named
    assert "diag(d) M: the rows of M scaled by d" in named


def test_total_derivative_is_named_and_sums_every_path():
    steps = _steps("sum(x * sin(x))", ["x"])
    product = next(s for s in steps if s["expression"] == "u₂ = x ⊙ u₁")
    assert "total derivative" in product["rule"]
    assert product["chain"] == "∂u₂/∂x = diag(u₁) + diag(x) · diag(cos(x))"


def test_scalar_expansion_is_named():
    steps = _steps("sum(x + c)", ["c"], {"c": "scalar"})
    assert steps[0]["rule"].startswith("scalar expansion")


def test_groups_say_which_name_each_step_is_for():
    status, doc, _ = one("x * y", wrt=["x,y"], steps=True)
    steps = doc["jacobians"][0]["steps"]
    assert {s["wrt"] for s in steps} == {"x", "y"}


def test_terminal_reads_like_the_article():
    s, out, _ = session(as_json=False, wrt=["w"], shapes={"b": "scalar"}, steps=True)
    assert s.one("mean((y - max(0, X @ w + b))^2)") == 0
    text = out.getvalue()
    assert "Derivation of ∂f/∂w" in text
    assert "1. u₁ = X w" in text and "3. u₃ = max(0, u₂)" in text
    assert "simplify: 𝟏ᵀ diag(d) = dᵀ" in text
    assert text.index("Derivation of") < text.index("\n∂f/∂w = ")     # the answer follows


def test_steps_are_absent_unless_asked():
    status, doc, _ = one("w @ x", wrt=["w"])
    assert "steps" not in doc["jacobians"][0]
