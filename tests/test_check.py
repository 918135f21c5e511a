"""--check: finite differences that pass correct Jacobians and Hessians, fail wrong ones
(a rule broken on purpose), stay away from kinks, and agree with the test oracle."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

from jaccli import check as C
from jaccli import rules
from jaccli.api import compute

from oracle import hazard, numeric_jacobian
from runjac import one, session
from test_properties import SHAPES, problem

CASES = [
    ("max(0, w@x + b)", ["w", "b"], {"b": "scalar"}),
    ("mean((y - max(0, X @ w + b))^2)", ["w"], {"b": "scalar"}),
    ("sum(abs(x) * relu(y - x))", ["x,y"], {}),
    ("softmax(W @ x)", ["x"], {"W": "2x3"}),
    ("log(sum(exp(x))) + norm(x)", ["x"], {}),
    ("sqrt(x) / (1 + x^2)", ["x"], {}),
    ("min(x, y) * tan(x)", ["x", "y"], {}),
    ("sum(tanh(W @ x))", ["W"], {}),
    ("x' @ A @ x", ["x", "A"], {}),
    ("[3*x^2*y, 2*x + y^8]", ["x,y"], {"x": "scalar", "y": "scalar"}),
]


def _compute(text, wrt, shapes, layout="numerator", values=None, hessian=None):
    from jaccli.inputs import parse_shape
    declared = {n: parse_shape(s) for n, s in shapes.items()}
    return compute(text, [w.split(",") for w in wrt], declared, values, layout,
                   hessian=hessian, check=True)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("text, wrt, shapes", CASES, ids=[c[0] for c in CASES])
def test_correct_jacobians_pass_at_random_points(text, wrt, shapes, layout):
    r = _compute(text, wrt, shapes, layout)
    for jr in r.jacobians:
        assert jr.check["ok"] is True, (jr.wrt, jr.check)
        assert jr.check["points"] == C.POINTS and jr.check["seed"] == C.SEED
        assert 0 <= jr.check["max_abs_error"] < 1e-4


@pytest.mark.parametrize("text, wrt, shapes", CASES, ids=[c[0] for c in CASES])
def test_random_points_stay_away_from_kinks_by_the_oracle(text, wrt, shapes):
    r = _compute(text, wrt, shapes)
    points = C.random_points(r)
    assert len(points) == C.POINTS
    for values in points:
        assert hazard(text, values) >= C.MARGIN * 0.999
    again = C.random_points(r)                   # seeded: the same points every run
    assert all(np.array_equal(p[n], q[n]) for p, q in zip(points, again) for n in p)


def test_max_abs_error_matches_an_independent_difference():
    values = {"w": np.array([0.3, -1.2, 2.0]), "x": np.array([1.0, 0.5, -0.7]), "b": np.array(0.4)}
    r = compute("sin(w * x) @ x + b^2", [["w"], ["b"]], {}, values, "numerator", check=True)
    for jr in r.jacobians:
        want = np.max(np.abs(jr.value.dense() - numeric_jacobian("sin(w * x) @ x + b^2", values, [jr.wrt])))
        assert jr.check["points"] == 1 and "seed" not in jr.check
        assert abs(jr.check["max_abs_error"] - want) < 1e-7


def test_given_values_on_a_kink_accept_the_side_jac_takes():
    values = {"x": np.array([0.0, 1.0, -2.0])}
    r = compute("relu(x) + max(x, 0)", [["x"]], {}, values, "numerator", check=True)
    assert r.jacobians[0].check["ok"] is True


def _broken_sin(node, u):
    return rules.E.call("sin", u)      # the wrong derivative: sin' = sin


def test_a_wrong_rule_fails_the_check_and_the_run(monkeypatch):
    monkeypatch.setitem(rules.UNARY, "sin", _broken_sin)
    status, doc, err = one("sum(sin(x))", wrt=["x"], check=True)
    assert status == 1
    assert doc["jacobians"][0]["check"]["ok"] is False
    assert doc["jacobians"][0]["check"]["max_abs_error"] > 0.01
    assert "check: FAILED" in err
    s, out, _ = session(as_json=False, wrt=["x"], at=["x=1,2"], check=True)
    assert s.one("sum(sin(x))") == 1
    assert "check: FAILED" in out.getvalue()


def test_a_wrong_hessian_fails(monkeypatch):
    status, doc, _ = one("sum(sin(x))", wrt=["x"], hessian=[["x"]], check=True)
    assert status == 0 and doc["hessians"][0]["check"]["ok"] is True
    # Break the second derivative only: cos' = sin (instead of -sin).
    monkeypatch.setitem(rules.UNARY, "cos", lambda node, u: rules.E.call("sin", u))
    status, doc, _ = one("sum(sin(x))", wrt=["x"], hessian=[["x"]], check=True)
    assert status == 1
    assert doc["jacobians"][0]["check"]["ok"] is True
    assert doc["hessians"][0]["check"]["ok"] is False


def test_terminal_verdict_and_status_zero_when_fine():
    s, out, _ = session(as_json=False, wrt=["w"], check=True)
    assert s.one("w @ x") == 0
    lines = [line for line in out.getvalue().splitlines() if "check:" in line]
    assert len(lines) == 1 and "check: ok" in lines[0] and "3 random points" in lines[0]


def test_no_safe_point_is_reported_not_failed():
    # log(-x^2 - 1) is never defined: no random point works, and jac says so.
    status, doc, err = one("log(-(x^2) - 1)", wrt=["x"], shapes={"x": "scalar"}, check=True)
    assert status == 0
    assert doc["jacobians"][0]["check"]["ok"] is None
    assert "--check" in err


def test_long_vectors_are_checked_on_a_sample_of_columns(monkeypatch):
    calls = []
    real = C._f
    monkeypatch.setattr(C, "_f", lambda tree, values: calls.append(1) or real(tree, values))
    status, doc, _ = one("x * y", wrt=["x"], shapes={"x": "200000"}, check=True)
    assert status == 0 and doc["jacobians"][0]["check"]["ok"] is True
    # WORK bounds the numbers differenced: f is evaluated at most twice per sampled column.
    per_point = max(10, C.WORK // (2 * 2 * 200000))
    assert len(calls) <= C.POINTS * (2 * per_point + 1)


def test_a_jacobian_too_large_to_compute_is_not_checked_and_says_so():
    status, doc, err = one("W @ x", wrt=["W"], shapes={"W": "3000x3000"}, check=True)
    assert status == 0
    assert doc["jacobians"][0]["check"]["ok"] is None and "too large" in err


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(problem())
def test_the_verdict_agrees_with_the_oracle(case):
    """At check's own random points, 'ok' is what the test oracle's finite differences say
    (where the oracle's verdict is clear: far inside or far outside the tolerance)."""
    text, given_values, wrt = case
    shapes = {n: SHAPES[n] for n in given_values}       # declared, so no values are needed
    r = compute(text, [w.split(",") for w in wrt], shapes, None, "numerator", check=True)
    points = C.random_points(r)
    assume(points)
    for i, jr in enumerate(r.jacobians):
        if jr.check["ok"] is None:
            continue
        clear_fail = False
        for values in points:
            at = compute(text, [w.split(",") for w in wrt], shapes, values, "numerator")
            got = at.jacobians[i].value.dense()
            with np.errstate(all="ignore"):
                want = numeric_jacobian(text, values, jr.wrt.split(","))
            assume(np.all(np.isfinite(want)))
            scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
            error = float(np.max(np.abs(got - want), initial=0.0)) / scale
            assume(error < 1e-7 or error > 1e-3)
            clear_fail = clear_fail or error > 1e-3
        assert jr.check["ok"] is (not clear_fail), (text, jr.wrt, jr.check)
