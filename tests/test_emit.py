"""--emit numpy: the emitted module, run in a subprocess, gives jac's numbers, keeps the
structure (a diagonal as a vector, diag(d)·W as a row scaling), and its self-test passes
for correct Jacobians and fails for a wrong one."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from jaccli import emit, rules
from jaccli import expr as E
from jaccli.api import compute
from jaccli.inputs import parse_shape

from conftest import jac_json

RNG = np.random.default_rng(4)

CASES = [
    ("max(0, w@x + b)", ["w", "b"], {"b": "scalar"}, None,
     {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 0.3], "b": 0.2}),
    ("mean((y - max(0, X @ w + b))^2)", ["w"], {"b": "scalar"}, ["w"],
     {"y": RNG.normal(size=4), "X": RNG.normal(size=(4, 3)), "w": RNG.normal(size=3), "b": 0.1}),
    ("w * x", ["w", "x"], {}, None, {"w": [1.0, 2.0, 3.0], "x": [4.0, -5.0, 6.0]}),
    ("sigmoid(W @ x)", ["x", "W"], {}, None, {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=3)}),
    ("softmax(x) * sum(x^2)", ["x"], {}, None, {"x": [0.1, -0.4, 1.3]}),
    ("x' @ A @ x", ["x", "A"], {}, ["x"], {"x": RNG.normal(size=3), "A": RNG.normal(size=(3, 3))}),
    ("sum(x^3) + norm(x) + logsumexp(x)", ["x"], {}, ["x"], {"x": [1.0, 2.0, 0.5]}),
    ("A @ B'", ["A", "B"], {}, None, {"A": RNG.normal(size=(2, 3)), "B": RNG.normal(size=(4, 3))}),
    ("diag(x) @ eye(3) @ y + sum(kron(x, x)) * sum(vec(A @ A'))", ["y", "A"], {"x": "3", "y": "3"}, None,
     {"x": [0.2, 0.5, -0.3], "y": [1.0, 2.0, 0.5], "A": RNG.normal(size=(3, 2))}),
    ("sum(x @ y')", ["x", "y"], {}, None, {"x": [0.3, 0.1], "y": [1.0, -2.0]}),
    ("[3*x^2*y, 2*x + y^8]", ["x,y"], {"x": "scalar", "y": "scalar"}, None, {"x": 0.5, "y": -1.2}),
    ("x*y*sin(x)", ["x,y"], {"x": "scalar", "y": "scalar"}, ["x,y"], {"x": 0.5, "y": 1.5}),
    ("-mean(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))", ["w"], {}, ["w"],
     {"y": [1.0, 0.0, 1.0, 0.0], "X": RNG.normal(size=(4, 2)), "w": RNG.normal(size=2)}),
    ("sqrt(x) / (1 + abs(x - 3)) + tan(x) + min(x, 2*x) + relu(x) * exp(-x)", ["x"], {}, None,
     {"x": [0.3, 0.7, 1.1]}),
]
IDS = [c[0] for c in CASES]

DRIVER = """
import importlib.util, json, sys
import numpy as np
spec = importlib.util.spec_from_file_location("emitted", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
values = {m.NAMES[k]: np.asarray(v) for k, v in json.loads(sys.stdin.read()).items()}
out = {"jacobians": {k: v.tolist() for k, v in m.jacobians(**values).items()},
       "vectors": {k: v.tolist() for k, v in m.jacobians(**values, diagonal_as_vector=True).items()}}
if hasattr(m, "hessians"):
    out["hessians"] = {k: v.tolist() for k, v in m.hessians(**values).items()}
print(json.dumps(out))
"""


def _emit(tmp_path, text, wrt, shapes, hessian, layout="numerator"):
    groups = [w.split(",") for w in wrt]
    h = None if hessian is None else [w.split(",") for w in hessian]
    r = compute(text, groups, {n: parse_shape(s) for n, s in shapes.items()}, None, layout, hessian=h)
    path = tmp_path / "emitted.py"
    path.write_text(emit.module_text(r))
    return path


def _lists(values):
    return {k: np.asarray(v, dtype=float).tolist() for k, v in values.items()}


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("text, wrt, shapes, hessian, values", CASES, ids=IDS)
def test_emitted_module_gives_jacs_numbers(tmp_path, text, wrt, shapes, hessian, values, layout):
    path = _emit(tmp_path, text, wrt, shapes, hessian, layout)
    run = subprocess.run([sys.executable, "-c", DRIVER, str(path)], input=json.dumps(_lists(values)),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    doc = jac_json(text, wrt=wrt, shapes=shapes, values=values, layout=layout)
    for entry in doc["jacobians"]:
        np.testing.assert_allclose(got["jacobians"][entry["wrt"]], entry["value"], rtol=1e-12, atol=1e-14)
        if entry["diagonal"] and entry["kind"] != "scalar" and entry["shape"] != [1, 1]:
            np.testing.assert_allclose(got["vectors"][entry["wrt"]], entry["diag"], rtol=1e-12, atol=1e-14)
    if hessian:
        groups = [h.split(",") for h in hessian]
        arrays = {k: np.asarray(v, dtype=float) for k, v in values.items()}
        r = compute(text, [w.split(",") for w in wrt], {n: parse_shape(s) for n, s in shapes.items()},
                    arrays, layout, hessian=groups)
        for h in r.hessians:
            np.testing.assert_allclose(got["hessians"][h.wrt], h.value.dense(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("text, wrt, shapes, hessian, values", CASES, ids=IDS)
def test_self_test_passes_as_a_script(tmp_path, text, wrt, shapes, hessian, values, layout):
    path = _emit(tmp_path, text, wrt, shapes, hessian, layout)
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("self-test: ok")


def test_self_test_fails_for_a_wrong_jacobian(tmp_path, monkeypatch):
    monkeypatch.setitem(rules.UNARY, "tanh", lambda node, u: E.call("tanh", u))   # wrong on purpose
    path = _emit(tmp_path, "sum(tanh(W @ x))", ["x"], {}, None)
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "self-test: FAILED" in run.stdout


def test_structure_is_kept_in_the_code(tmp_path):
    source = _emit(tmp_path, "sigmoid(W @ x)", ["x"], {}, None).read_text()
    body = source[source.index("def jacobians"):source.index("def _random_arguments")]
    assert "[:, None] *" in body            # diag(d) @ W as a row scaling
    assert "np.diag" not in body and "@" not in body.split("out = {}")[1]
    source = _emit(tmp_path, "w * x", ["w"], {}, None).read_text()
    body = source[source.index("def jacobians"):source.index("def _random_arguments")]
    assert "if diagonal_as_vector else np.diag(" in body     # the diagonal is a vector until the end
    assert "d f / dw = diag(x)" in source and '"""Jacobians of f = w*x' in source


def test_module_is_self_contained_and_reads_sizes_from_arguments(tmp_path):
    source = _emit(tmp_path, "W @ x", ["x"], {}, None).read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import numpy as np"]
    assert "W.shape[0]" in source


def test_keyword_and_taken_names_become_keyword_arguments(tmp_path):
    path = _emit(tmp_path, "lambda * np + sum(out)", ["lambda"], {"lambda": "3", "np": "3"}, None)
    code = (f"import importlib.util, numpy\nspec = importlib.util.spec_from_file_location('m', {str(path)!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "print(m.jacobians(lambda_=[1, 2, 3], np_=[4, 5, 6], out_=[1, 1, 1])['lambda'].diagonal())")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["[4.", "5.", "6.]"]


def test_every_function_of_the_language_has_a_numpy_spelling():
    ops = set(E.FUNCTIONS) | set(E.SIZED) | {"num", "var", "dim", "add", "neg", "mul", "div",
                                             "pow", "matmul", "transpose", "vec", "vector"}
    assert ops <= set(emit.EXPRESSIONS)


def test_cli_prints_the_module():
    from runjac import session
    s, out, _ = session(as_json=False, wrt=["w"], emit="numpy")
    assert s.one("w @ x") == 0
    assert out.getvalue().startswith('"""Jacobians of f = w @ x')


def test_json_carries_the_module():
    from runjac import one
    status, doc, _ = one("w @ x", wrt=["w"], emit="numpy")
    assert status == 0 and doc["numpy_module"].startswith('"""Jacobians of f = w @ x')
