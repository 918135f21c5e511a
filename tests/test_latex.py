"""--latex and the JSON `latex` fields: the markup parses. Always: braces, \\left/\\right and
\\begin/\\end balance and every command is one a paper's preamble knows. When KaTeX is
installed (`.ci/run` installs it with npm; JAC_KATEX names another copy) every sample is
also typeset by KaTeX in strict mode, which rejects any error."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from jaccli.api import compute
from jaccli.inputs import parse_shape
from jaccli.latex import fragment
from jaccli.serialize import to_dict

from runjac import session

HERE = Path(__file__).parent
ROOT = HERE.parent

SAMPLES = [
    ("max(0, w@x + b)", None, {"b": "scalar"}, None),
    ("mean((y - max(0, X @ w + b))^2)", ["w"], {"b": "scalar"}, ["w"]),
    ("softmax(x)", None, {}, None),
    ("norm(x) + sqrt(sum(x^2))/3", None, {}, None),
    ("sum(tanh(W @ x))", ["W", "x"], {}, ["x"]),
    ("W'", ["W"], {}, None),
    ("A @ B", ["A", "B"], {}, None),
    ("x' @ A @ x", ["x", "A"], {}, ["x"]),
    ("[3*x^2*y, 2*x + y^8]", ["x,y"], {"x": "scalar", "y": "scalar"}, None),
    ("theta_1 * exp(-x) / (1 + abs(x)) - logsumexp(x)", None, {}, None),
    ("θ * sin(x) * cos(x) * log(x) + tan(x)", None, {"θ": "scalar"}, None),
    ("x * y", ["x"], {"x": "3"}, None),
    ("2*x - x/5", None, {}, None),
    ("sigmoid(W @ x) @ v + dot(u, v) + min(u, v) @ u", None, {}, None),
    ("-mean(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))", ["w"], {}, ["w"]),
    ("x^y + 2^x", ["x", "y"], {}, None),
]
IDS = [s[0] for s in SAMPLES]

# Commands of LaTeX and amsmath (plus \operatorname) that jac may write.
KNOWN = {"frac", "left", "right", "operatorname", "mathbf", "mathrm", "top", "odot", "cdot",
         "otimes", "sqrt", "lVert", "rVert", "exp", "log", "sin", "cos", "tan", "tanh",
         "begin", "end", "partial", "\\", ",", "_", "mathbf"}
ENVIRONMENTS = {"align*", "bmatrix"}


def _result(text, wrt, shapes, hessian, layout="numerator"):
    groups = None if wrt is None else [w.split(",") for w in wrt]
    h = None if hessian is None else [w.split(",") for w in hessian]
    return compute(text, groups, {n: parse_shape(s) for n, s in shapes.items()}, None, layout,
                   hessian=h)


def _all_markup(layout="numerator"):
    out = []
    for text, wrt, shapes, hessian in SAMPLES:
        r = _result(text, wrt, shapes, hessian, layout)
        doc = to_dict(r)
        out.append(fragment(r))
        out.extend(j["latex"] for j in doc["jacobians"] + doc.get("hessians", []))
    return out


def assert_well_formed(tex: str) -> None:
    body = re.sub(r"(?m)^%.*$", "", tex)                 # comments
    body = re.sub(r"\\[{}]", "", body)                   # \{ and \} are not groups
    depth = 0
    for ch in body:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, f"a '}}' closes nothing in {tex!r}"
    assert depth == 0, f"unclosed '{{' in {tex!r}"
    stack = []
    for m in re.finditer(r"\\(left|right|begin\{([^}]*)\}|end\{([^}]*)\})", body):
        word = m.group(1)
        if word == "left" or word.startswith("begin"):
            stack.append(m.group(2) or "left")
        else:
            want = m.group(3) or "left"
            assert stack and stack.pop() == want, f"unbalanced {m.group(0)} in {tex!r}"
    assert not stack, f"unclosed {stack} in {tex!r}"
    commands = set(re.findall(r"\\([A-Za-z]+|.)", body))
    assert commands <= KNOWN, f"unknown commands {commands - KNOWN} in {tex!r}"
    assert set(re.findall(r"\\begin\{([^}]*)\}", body)) <= ENVIRONMENTS


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_markup_is_well_formed(layout):
    for tex in _all_markup(layout):
        assert_well_formed(tex)


@pytest.mark.parametrize("bad", [r"\frac{a}{b", r"\left(x", r"\begin{align*} x", r"\foo{x}",
                                 r"a}{b"])
def test_the_well_formedness_check_can_fail(bad):
    with pytest.raises(AssertionError):
        assert_well_formed(bad)


def test_fragment_shape():
    r = _result("mean((y - max(0, X @ w + b))^2)", ["w"], {"b": "scalar"}, ["w"])
    tex = fragment(r)
    lines = tex.splitlines()
    assert lines[0].startswith("% jac: mean(") and lines[1] == r"\begin{align*}"
    assert lines[-1] == r"\end{align*}"
    assert r"\frac{\partial f}{\partial \mathbf{w}} &= " in tex
    assert r"\frac{\partial^2 f}{\partial \mathbf{w} \, \partial \mathbf{w}^\top} &= " in tex
    assert r"\mathbf{y}" in tex and r"\operatorname{step}" in tex and r"^\top" in tex
    assert r"f &= " in tex and r"\partial b}" not in tex
    matrix = fragment(_result("sum(tanh(W @ x))", ["W"], {}, None))
    assert r"\frac{\partial f}{\partial \operatorname{vec}\left(W\right)}" in matrix


def test_latex_option_prints_the_fragment_and_json_carries_it():
    s, out, _ = session(as_json=False, wrt=["w"], shapes={"b": "scalar"}, latex=True)
    assert s.one("max(0, w@x + b)") == 0
    text = out.getvalue()
    assert text.startswith("% jac: max(0, w@x + b)") and text.rstrip().endswith(r"\end{align*}")
    s, out, _ = session(as_json=True, wrt=["w"], shapes={"b": "scalar"}, latex=True)
    assert s.one("max(0, w@x + b)") == 0
    doc = json.loads(out.getvalue())
    assert doc["latex_fragment"] == text.rstrip("\n")


def _katex() -> Path | None:
    for candidate in (os.environ.get("JAC_KATEX"), ROOT / ".ci" / "katex" / "node_modules" / "katex"):
        if candidate and (Path(candidate) / "package.json").exists():
            return Path(candidate)
    return None


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_katex_typesets_every_sample(layout):
    katex = _katex()
    node = shutil.which("node")
    if katex is None or node is None:
        pytest.skip("KaTeX is not installed (.ci/run installs it with npm into .ci/katex; "
                    "or set JAC_KATEX to a katex package directory)")
    samples = _all_markup(layout) + [r"\frac{a}{"]      # the last one must be rejected
    run = subprocess.run([node, str(HERE / "js" / "katex_render.js"), str(katex.resolve())],
                         input=json.dumps(samples), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    errors = json.loads(run.stdout)
    assert errors[-1], "KaTeX accepted broken markup: the harness cannot fail"
    bad = [(tex, e) for tex, e in zip(samples[:-1], errors[:-1]) if e]
    assert not bad, bad
