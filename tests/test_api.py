"""The Python API (`from jaccli import jacobian`): fields mirror the JSON, numbers are NumPy
arrays equal to finite differences of the independent oracle, notebook representations."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from jaccli import jacobian
from jaccli.errors import JacError

from conftest import jac_json
from oracle import numeric_jacobian

RNG = np.random.default_rng(9)

CASES = [
    ("max(0, w@x + b)", ["w", "b"], {"w": [1.0, 2.0, 3.0], "x": [4.0, 5.0, 6.0], "b": -1.0}),
    ("w * x", ["x"], {"w": [1.0, -2.0, 3.0], "x": [0.5, 5.0, 2.0]}),
    ("W @ x", ["x"], {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=3)}),
    ("sum(tanh(W @ x))", ["x"], {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=3)}),
    ("softmax(x)", ["x"], {"x": [1.0, 2.0, 0.5]}),
    ("[3*x^2*y, 2*x + y^8]", ["x,y"], {"x": 0.7, "y": 1.1}),
]


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("text, wrt, values", CASES, ids=[c[0] for c in CASES])
def test_values_match_finite_differences(text, wrt, values, layout):
    r = jacobian(text, wrt=wrt, values={k: np.asarray(v) for k, v in values.items()}, layout=layout)
    for entry, group in zip(r.jacobians, wrt):
        want = numeric_jacobian(text, values, group.split(","))
        if layout == "denominator":
            want = want.T
        assert isinstance(entry.value, np.ndarray)
        assert entry.value.shape == tuple(entry.shape)
        np.testing.assert_allclose(entry.value, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("text, wrt, values", CASES, ids=[c[0] for c in CASES])
def test_fields_mirror_the_json(text, wrt, values):
    r = jacobian(text, wrt=wrt, values=values)
    doc = jac_json(text, wrt=wrt, values=values)
    assert r.layout == doc["layout"] and r.expression == doc["expression"]
    assert r.variables == doc["variables"]
    assert r.output["shape"] == doc["output"]["shape"]
    for entry, want in zip(r.jacobians, doc["jacobians"]):
        for key in ("wrt", "shape", "symbolic", "latex", "structure", "kind", "diagonal"):
            assert getattr(entry, key) == want[key], key
        np.testing.assert_array_equal(entry.value, np.asarray(want["value"]))
        if want["diagonal"] and "diag" in want:
            np.testing.assert_array_equal(entry.diag, np.asarray(want["diag"]))


def test_output_value_and_lookup_by_name():
    r = jacobian("x * y", wrt="x", values={"x": np.array([1.0, 2.0]), "y": [3, 4]})
    np.testing.assert_array_equal(r.output["value"], [3.0, 8.0])
    assert r["x"].diagonal and r["x"].structure == "diagonal"
    np.testing.assert_array_equal(r["x"].diag, [3.0, 4.0])
    with pytest.raises(KeyError, match="there are: x"):
        r["y"]


def test_shapes_as_specs_ints_and_tuples_without_values():
    r = jacobian("W @ x", wrt="x", shapes={"W": "3x4"})
    assert r["x"].shape == [3, 4] and r["x"].value is None
    assert jacobian("W @ x", wrt="x", shapes={"W": (3, 4)})["x"].shape == [3, 4]
    assert jacobian("x * c", wrt="x", shapes={"x": 5, "c": "scalar"})["x"].structure == "scaled_identity"


def test_symbolic_sizes_stay_symbols():
    r = jacobian("w @ x", wrt="w")
    assert r["w"].shape[0] == 1 and isinstance(r["w"].shape[1], str)


def test_errors_are_jac_errors_with_a_type():
    with pytest.raises(JacError) as e:
        jacobian("sin(x", wrt="x")
    assert e.value.type == "syntax" and e.value.column
    with pytest.raises(ValueError, match="layout"):
        jacobian("x", layout="sideways")


def test_notebook_representations():
    r = jacobian("x' @ A @ x", wrt="x")
    tex = r._repr_latex_()
    assert tex.startswith("$$\\begin{aligned}") and tex.endswith("\\end{aligned}$$")
    assert "\\frac{\\partial f}{\\partial \\mathbf{x}}" in tex
    md = r._repr_markdown_()
    assert "`x' @ A @ x`" in md and f"`{r['x'].symbolic}`" in md


def test_importing_jaccli_stays_light():
    code = ("import sys, jaccli; heavy = [m for m in ('numpy', 'rich', 'lark', 'jaccli.notebook') "
            "if m in sys.modules]; print(heavy); assert not heavy; "
            "from jaccli import jacobian; assert 'jaccli.notebook' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_hessian_check_and_steps_through_the_api():
    x = np.array([0.5, -1.0, 2.0])
    r = jacobian("sum(x^3)", wrt="x", values={"x": x}, hessian="x", check=True, steps=True)
    h = r.hessian("x")
    assert h.structure == "diagonal" and isinstance(h.value, np.ndarray)
    np.testing.assert_allclose(h.diag, 6 * x)
    assert r.ok and r["x"].check["ok"] and h.check["ok"]
    assert r["x"].steps[-1]["symbolic"] == r["x"].symbolic
    assert "∂²f/∂x" in r._repr_markdown_() and "check: ok" in r._repr_markdown_()
    with pytest.raises(KeyError):
        r.hessian("y")


def test_help_documents_the_new_options():
    from click.testing import CliRunner

    from jaccli.cli import command
    text = CliRunner().invoke(command, ["--help"]).output
    for option in ("--steps", "--check", "--hessian", "--latex", "--emit"):
        assert option in text
    for example in ("--steps", "--check", "--hessian x", "--latex", "--emit numpy"):
        assert example in text.split("Explanations, checks")[1]


def test_matrix_gradient_has_the_matrix_shape():
    w, x = RNG.normal(size=(2, 3)), RNG.normal(size=3)
    r = jacobian("sum(tanh(W @ x))", wrt="W", values={"W": w, "x": x})
    g = r["W"].gradient
    assert g["shape"] == [2, 3] and isinstance(g["value"], np.ndarray)
    np.testing.assert_allclose(g["value"], np.outer(1 - np.tanh(w @ x) ** 2, x), rtol=1e-12)
