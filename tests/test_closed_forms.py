"""Closed forms a reader can trust (issue 7): every notation jac prints reads back to its numbers.

Part one is Hypothesis over the expression generators of tests/test_properties.py (scalars,
vectors, rows, matrices; every operator and function) and tests/test_matrices.py (matrix
variables, matrix --wrt, scalar f for the `gradient` entry), in both layouts, at random
values away from kinks and domain edges (the oracle's `hazard`). For each document
(tests/closedforms.py does the checking):
- `output.value` is the oracle's value of f;
- `symbolic`, parsed and evaluated by tests/oracle.py (not jac's parser), is `value`
  reshaped to [rows, cols];
- `latex` and the terminal's `∂f/∂w = …`, read by tests/paper_notation.py with vectors as
  columns, have the Jacobian's shape and numbers (read both ways where precedence is moot);
- a `gradient` entry is `value` in W's shape, and its forms read back to it;
- no closed form carries a float with six or more decimals (a leaked value).
More examples: JAC_CLOSED_FORM_EXAMPLES=5000 python -m pytest tests/test_closed_forms.py

Part two pins the regressions issue 7 lists, by their printed forms. Part three tests the
readers themselves: known forms give NumPy's numbers, and forms a paper cannot mean (a
column written as a row, a product whose precedence is moot) are refused.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from closedforms import check_document, close, fits, oracle_value, run, terminal_forms
from oracle import evaluate, hazard, numeric_jacobian
from paper_notation import NotationError, paper_value
from test_matrices import ALL as MATRIX_SHAPES, MATS, cases as matrix_cases, expr_of
from test_properties import _tame, problem

LAYOUTS = ("numerator", "denominator")
EXAMPLES = int(os.environ.get("JAC_CLOSED_FORM_EXAMPLES", "0"))


def examples(n: int):
    """A fixed sample in CI (a failure reproduces); a long run explores at random."""
    return settings(max_examples=EXAMPLES or n, deadline=None, database=None, derandomize=not EXAMPLES,
                    report_multiple_bugs=False,      # one minimal failure, not one per kind
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _finite_numbers(text: str, values: dict, wrt: list[str]) -> None:
    """No verdict where jac's own numbers are not finite or too large to compare."""
    doc, _ = run(text, wrt=wrt, values=values)
    assume("error" not in doc)
    for entry in doc["jacobians"]:
        v = np.asarray(entry.get("value"), dtype=float)
        assume(np.all(np.isfinite(v)) and np.max(np.abs(v), initial=0.0) < 1e6)


# ------------------------------------------------------------------ part one: properties

@examples(80)
@given(problem(), st.sampled_from(LAYOUTS))
def test_every_notation_reads_back(case, layout):
    text, values, wrt = case
    _tame(text, values)
    _finite_numbers(text, values, wrt)
    check_document(text, values, wrt, layout)


@examples(150)
@given(problem())
def test_printed_expressions_read_back(case):
    """The printer and the algebra on their own, over every input the generators make: an
    expression, and its canonical form, printed in the input language read back (by the
    oracle and by jac) to the expression's own value."""
    from jaccli.algebra import simplify
    from jaccli.api import compute
    from jaccli.notation import ascii_form

    text, values, _wrt = case
    _tame(text, values)
    want = np.asarray(evaluate(text, values), dtype=float)
    arrays = {n: np.asarray(v, dtype=float) for n, v in values.items()}
    tree = compute(text, wrt=[], values=arrays).tree
    for form in (tree, simplify(tree)):
        printed = ascii_form(form)
        with np.errstate(all="ignore"):
            close(np.asarray(evaluate(printed, values), dtype=float), want,
                  f"the oracle reads {printed!r}, printed for {text!r}")
            got = compute(printed, wrt=[], values=arrays).output_value
        close(np.asarray(got, dtype=float), want, f"jac reads {printed!r}, printed for {text!r}")


def _matrix_values(text: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {n: (float(rng.uniform(0.3, 1.2)) if s == () else rng.uniform(-1.2, 1.2, size=s))
            for n, s in MATRIX_SHAPES.items() if re.search(rf"\b{n}\b", text)}


@examples(60)
@given(matrix_cases(), st.sampled_from(LAYOUTS))
def test_matrix_wrt_reads_back(case, layout):
    text, _shape, wrt, seed = case
    values = _matrix_values(text, seed)
    _tame(text, values)
    _finite_numbers(text, values, [wrt])
    check_document(text, values, [wrt], layout)


@st.composite
def scalar_of_a_matrix(draw):
    """A scalar f of the matrices A (2×3), B (3×3), C (3×2), x, u, a, and one matrix to
    differentiate it by: the case of SPEC.md's `gradient` entry."""
    text = draw(expr_of((), draw(st.integers(1, 3))))
    present = [n for n in MATS if re.search(rf"\b{n}\b", text)]
    assume(present)
    return text, draw(st.sampled_from(present)), draw(st.integers(0, 2 ** 31 - 1))


@examples(60)
@given(scalar_of_a_matrix(), st.sampled_from(LAYOUTS))
def test_gradient_shaped_like_the_matrix_reads_back(case, layout):
    text, wrt, seed = case
    values = _matrix_values(text, seed)
    _tame(text, values)
    _finite_numbers(text, values, [wrt])
    doc = check_document(text, values, [wrt], layout)
    (entry,) = doc["jacobians"]
    assert "gradient" in entry, f"{text} wrt {wrt}: a scalar f and a matrix --wrt have a gradient"
    want = numeric_jacobian(text, values, [wrt]).reshape(np.shape(values[wrt]))
    close(np.asarray(entry["gradient"]["value"]), want, "gradient against finite differences")


# ------------------------------------------------------------------ part two: regressions

def _random(seed=0, **shapes):
    rng = np.random.default_rng(seed)
    return {n: (float(rng.uniform(0.5, 1.5)) if s == () else rng.uniform(0.2, 1.2, size=s))
            for n, s in shapes.items()}


def _entry(doc, wrt):
    return next(j for j in doc["jacobians"] if j["wrt"] == wrt)


def _squash(latex: str) -> str:
    """LaTeX without spacing and presentation commands, for comparing forms."""
    for a in (r"\mathbf", r"\boldsymbol", r"\left", r"\right", r"\,", r"\;", r"\!", " ", "{", "}"):
        latex = latex.replace(a, "")
    return latex.replace(r"\mathrm", "").replace(r"\operatorname", "")


def test_denominator_layout_reads_A_y():
    doc, screen = run("x'@A@y", layout="denominator")
    x, y = _entry(doc, "x"), _entry(doc, "y")
    assert x["symbolic"].replace(" ", "") == "A@y"
    assert _squash(x["latex"]) == "Ay"
    assert [form for form, _ in terminal_forms(screen)["x"]] == ["A y"]
    assert y["symbolic"].replace(" ", "") == "A'@x"
    assert _squash(y["latex"]) == r"A^\topx"
    assert [form for form, _ in terminal_forms(screen)["y"]] in (["Aᵀx"], ["Aᵀ x"])


@pytest.mark.parametrize("text, wrt, shapes, book", [
    ("x'@A@x", "x", {"x": "3"}, "(A + A') @ x"),
    ("sum(W@x)", "x", {"W": "2x3"}, "W' @ ones(2)"),
    ("mean((X@w + b - y)^2)", "w", {"X": "4x3", "b": "scalar"}, "2*X' @ (X@w + b - y)/4"),
])
def test_denominator_columns_in_every_notation(text, wrt, shapes, book):
    values = _random(1, **{n: v for n, v in {"x": (3,), "A": (3, 3), "W": (2, 3), "X": (4, 3),
                                             "w": (3,), "b": (), "y": (4,)}.items()
                           if re.search(rf"\b{n}\b", text)})
    doc = check_document(text, values, [wrt], "denominator")
    want = np.asarray(_entry(doc, wrt)["value"], dtype=float)
    close(fits(oracle_value(book, values), want), want, f"book form {book}")


def test_gaussian_collects_like_terms():
    doc, screen = run("exp(-x'@x/2)")
    sym = _entry(doc, "x")["symbolic"]
    assert sym.count("exp") == 1, sym
    values = _random(2, x=(3,))
    check_document("exp(-x'@x/2)", values, ["x"], "numerator")
    check_document("exp(-x'@x/2)", values, ["x"], "denominator")


def test_article_loss_keeps_numbers_exact_and_values_out():
    values = _random(3, X=(3, 2), w=(2,), b=(), y=(3,))
    text = "mean((y - max(0, X @ w + b))^2)"
    values["b"] = 2.0                     # every unit active: far from the rectifier's kink
    assert hazard(text, values) > 0.1
    doc = check_document(text, values, ["w", "b"], "numerator")
    for entry in doc["jacobians"]:
        assert "0.666" not in entry["symbolic"] and "0.666" not in entry["latex"], entry
        assert re.search(r"2\s*/\s*3|/\s*3\b", entry["symbolic"]), entry["symbolic"]
        forms = entry["symbolic"] + entry["latex"]
        for name, value in values.items():
            for v in np.ravel(value):
                assert repr(float(v))[:6] not in forms, (name, v, forms)


@pytest.mark.parametrize("paper, ascii_text", [
    ("xᵀ@x", "x'@x"), ("x⊙y", "x*y"), ("x⊘y", "x/y"), ("x−y", "x-y"), ("Aᵀ@x", "A'@x"),
])
def test_printed_symbols_read_as_operators(paper, ascii_text):
    doc, _ = run(paper)
    same, _ = run(ascii_text)
    assert doc["variables"] == same["variables"]
    assert [j["symbolic"] for j in doc["jacobians"]] == [j["symbolic"] for j in same["jacobians"]]


def test_outer_product_is_a_matrix():
    doc, _ = run("x@x'", shapes={"x": "3"})
    assert doc["output"]["shape"] == [3, 3]
    (entry,) = doc["jacobians"]
    assert entry["shape"] == [9, 3]
    values = _random(4, x=(3,))
    doc = check_document("x@x'", values, ["x"], "numerator")
    close(np.asarray(doc["jacobians"][0]["value"]), numeric_jacobian("x@x'", values, ["x"]),
          "x@x' against finite differences")
    free, _ = run("x@x'")
    (n,) = free["variables"]["x"]["shape"]
    assert isinstance(n, str) and free["output"]["shape"] == [n, n]


def test_softmax_form_reads_back():
    values = _random(5, x=(4,))
    for layout in LAYOUTS:
        check_document("softmax(x)", values, ["x"], layout)


@pytest.mark.parametrize("shapes", [{}, {"u": "3"}])
def test_ones_vector_reads_back(shapes):
    """`sum(0.5^u + norm(z))` wrt z: with u a vector the sum counts its length, which the
    ones vector must carry (`sum(1)` read back is 1)."""
    values = _random(6, z=(3,), u=(3,) if shapes else ())
    doc = check_document("sum(0.5^u + norm(z))", values, ["z"], "numerator")
    want = (3 if shapes else 1) * values["z"] / np.linalg.norm(values["z"])
    close(np.asarray(doc["jacobians"][0]["value"]).reshape(-1), want, "sum counts u's length")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_ones_vector_sized_by_the_whole_form_reads_back(layout):
    """∂ sum(u + u + B x)/∂vec(B) = vec(𝟏 xᵀ)ᵀ: only the row's length, n·m, fixes n."""
    values = _random(7, u=(2,), B=(2, 3), x=(3,))
    doc = check_document("sum(u + u + B @ x)", values, ["B"], layout)
    assert "vec(ones(2) @ x')" in doc["jacobians"][0]["symbolic"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_sum_kept_whole_beside_a_vector_stays_a_scalar(layout):
    """1/((0.5 + sin(a)²)·exp(sin(x))): the vector factor gives the shape, so the sum is no
    (0.5 + sin(a)²)·𝟏, which no reader could size (found by test_every_notation_reads_back)."""
    text = "(-sum(x) + log(sin(a)^2 + 0.5)) / exp(sin(x))"
    doc = check_document(text, _random(9, x=(3,), a=()), ["a"], layout)
    assert "ones" not in doc["jacobians"][0]["symbolic"]
    assert r"\mathbf{1}" not in doc["jacobians"][0]["latex"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_named_ones_vector_is_sized_where_it_is_used(layout):
    """A repeat named u₂ = 𝟏 xᵀ has the length of its 𝟏 from where u₂ is used, as a reader
    takes it (found at 500 examples: the reader sized each definition alone)."""
    text = "-log((x' @ A)^2 + 0.5) + (x + (a + b)) @ A @ x"
    values = _random(11, x=(3,), A=(3, 3), a=(), b=())
    doc = check_document(text, values, ["x", "A", "a", "b"], layout)
    entry = next(e for e in doc["jacobians"] if e["wrt"] == "A")
    assert any(d["latex"] == r"\mathbf{1} \mathbf{x}^\top" for d in entry["where"].values())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_function_of_a_broadcast_sum_is_the_function_of_the_sum(layout):
    """step((a - b)·𝟏𝟏ᵀ) = step(a - b)·𝟏𝟏ᵀ: ∂max(A + b, A + a)/∂b is (1 - step(a - b))·𝟏, with
    no matrix of ones that only the result's length could size (found at 600 examples)."""
    values = _random(12, A=(2, 3), a=(), b=())
    doc = check_document("max(A + b, A + a)", values, ["b"], layout)
    assert doc["jacobians"][0]["symbolic"].startswith("(1 - step(a - b))*ones(6)")


@pytest.mark.parametrize("text, form", [
    ("softmax(x + a)", "0"),                    # softmax does not see a shift
    ("softmax(x - x + (a + a))", "0"),
    ("logsumexp(x + a)", "1"),                  # the softmax's entries add up to 1
])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_softmax_entries_add_up_to_one(text, form, layout):
    """sum(softmax(v)) = 1, so ∂softmax(x + a)/∂a = 0 and ∂logsumexp(x + a)/∂a = 1 for a
    scalar a, where the chain rule writes (1 - sum(softmax(…)))·softmax(…), which no reader
    could size (found at 500 examples)."""
    values = _random(13, x=(3,), a=())
    doc = check_document(text, values, ["a"], layout)
    assert doc["jacobians"][0]["symbolic"] == form
    got = np.asarray(doc["jacobians"][0]["value"], dtype=float)
    close(got if layout == "numerator" else got.T, numeric_jacobian(text, values, ["a"]),
          f"{text}: finite differences")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_vecs_of_matrices_of_different_shapes_add_as_vecs(layout):
    """vec(kron(I, vᵀ)) is vec(vec(I) vᵀ), a 3x9 and a 9x3 matrix with the same entries in
    order: their vecs add, the matrices do not (jac reading back its own Jacobian with
    respect to B stopped with a shape error when differentiating it by a)."""
    text = "kron((1 + a)*eye(3), (B @ x + x)') + ((1 + a)*B) @ kron(eye(3), x')"
    values = _random(14, a=(), x=(3,), B=(3, 3))
    doc = check_document(text, values, ["a"], layout)
    got = np.asarray(doc["jacobians"][0]["value"], dtype=float)
    close(got if layout == "numerator" else got.T, numeric_jacobian(text, values, ["a"]),
          "finite differences")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_json_forms_that_name_their_repeats_read_back(layout):
    """Past LONG_SYMBOLIC nodes, `symbolic` and `latex` name their repeats with `where`;
    the test readers take the definitions from the form itself (found at 600 examples)."""
    text = ("log(((sigmoid(x) + 0.25)^x + a / (a^2 + 0.5))^2 + 0.5) @ "
            "(sin(A + A) + (A + A + (A + A))) @ sin(x'' + (x + x))")
    values = _random(15, x=(3,), a=(), A=(3, 3))
    doc = check_document(text, values, ["x,a"], layout)
    assert " where " in doc["jacobians"][0]["symbolic"]
    assert r"\text{where }" in doc["jacobians"][0]["latex"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_blocks_one_per_variable_read_back(layout):
    """∂(sum(x)·sum(A))/∂(A, x) = [sum(x)·𝟏ᵀ, sum(A)·𝟏ᵀ]: the 𝟏s are as long as vec(A) and
    x, which the reader knows from the variables, not from the form."""
    values = _random(10, x=(3,), A=(2, 3))
    doc = check_document("sum(x) * sum(A)", values, ["A,x"], layout)
    assert doc["jacobians"][0]["shape"] == ([1, 9] if layout == "numerator" else [9, 1])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_entry_previews_keep_transposes(layout):
    _, screen = run("x'@A@x", wrt=["x"], shapes={"x": "3"}, layout=layout)
    cells = re.findall(r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)[₁₂₃]", screen)
    assert cells, screen
    values = _random(7, x=(3,), A=(3, 3))
    want = numeric_jacobian("x'@A@x", values, ["x"])
    want = want if layout == "numerator" else want.T
    for inner in set(cells):
        # (v)ᵢ names an entry: of the row itself or of the column it transposes, both fine;
        # `(x (Aᵀ + A))ᵢ` reads neither way.
        try:
            got = paper_value(inner, "unicode", values, want.shape)
        except NotationError:
            got = paper_value(inner, "unicode", values, want.shape[::-1]).T
        close(got, want, f"preview ({inner})ᵢ")


@pytest.mark.parametrize("text, wrt, book", [
    ("x'@A@x", "A", "x @ x'"),
    ("a'@X@b", "X", "a @ b'"),
    ("sum(tanh(W@x))", "W", "(1 - tanh(W @ x)^2) @ x'"),
    # element-wise powers of a matrix collect inside vec: vec(C)² is vec(C²), like vec(C ⊙ C)
    ("sum(C' * (C' * C'))", "C", "3*C^2"),
    ("sum(C*C/C/C/C)", "C", "-1/C^2"),
    ("sum(sqrt(C) * C)", "C", "3*sqrt(C)/2"),
])
def test_gradient_is_the_textbook_matrix(text, wrt, book):
    shapes = {"x": (3,), "A": (3, 3), "a": (2,), "X": (2, 3), "b": (3,), "W": (2, 3), "C": (2, 3)}
    values = _random(8, **{n: s for n, s in shapes.items() if re.search(rf"\b{n}\b", text)})
    for layout in LAYOUTS:
        doc = check_document(text, values, [wrt], layout)
        grad = doc["jacobians"][0]["gradient"]
        close(np.asarray(grad["value"]), oracle_value(book, values), f"{text} wrt {wrt} is {book}")
        assert grad["symbolic"] == book, f"{text} wrt {wrt}: {grad['symbolic']}, not {book}"


def test_repeats_are_named_and_the_print_stays_linear():
    """A chain's derivative repeats its inner calls; named once (u₁ = …) the terminal form
    and the JSON `named` form grow linearly with the depth, and they read back."""
    values = _random(11, x=(3,))
    sizes = {}
    for depth in (10, 20, 40):
        text = "sin(" * depth + "x" + ")" * depth
        doc = check_document(text, values, ["x"], "numerator")
        _, screen = run(text, shapes={"x": "3"})
        sizes[depth] = (len(screen), len(doc["jacobians"][0].get("named", {}).get("symbolic", "")))
    assert sizes[40][0] < 2.5 * sizes[20][0] and sizes[20][0] < 2.5 * sizes[10][0], sizes
    assert 0 < sizes[40][1] < 2.5 * sizes[20][1], sizes


def test_vector_f_wrt_a_matrix_labels_its_columns():
    """Columns of ∂f/∂vec(W) are W's entries in row-major order; the terminal says which."""
    values = _random(12, W=(2, 3), x=(3,))
    _, screen = run("W @ x", wrt=["W"], values=values)
    header = next(line for line in screen.splitlines() if "W₁₁" in line)
    labels = header.split()
    assert labels == ["W₁₁", "W₁₂", "W₁₃", "W₂₁", "W₂₂", "W₂₃"], header


@pytest.mark.parametrize("shapes", [{"X": "N,d"}, {"x": "batch"}, {"X": "N,d_model"}])
def test_named_sizes_in_every_output(shapes):
    text = "sum(X @ w)" if "X" in shapes else "sum(x)"
    doc, screen = run(text, shapes=shapes)
    assert "error" not in doc, doc
    sizes = set(next(iter(shapes.values())).split(","))
    assert sizes <= set(re.findall(r"\w+", screen)), screen
    assert "internal error" not in screen


def test_many_independent_sizes():
    text = " + ".join(f"v{2 * i}@v{2 * i + 1}" for i in range(27))
    doc, _ = run(text, wrt=["v0"])
    assert "error" not in doc, doc
    sizes = {str(v["shape"][0]) for v in doc["variables"].values()}
    assert len(sizes) == 27


# ------------------------------------------------------------------ the readers themselves

_R = np.random.default_rng(10)
_ENV = {"x": _R.uniform(0.2, 1, 3), "y": _R.uniform(0.2, 1, 2), "A": _R.uniform(-1, 1, (3, 3)),
        "W": _R.uniform(-1, 1, (2, 3)), "a": 0.7, "n": 3.0}
_X, _Y, _A, _W = _ENV["x"], _ENV["y"], _ENV["A"], _ENV["W"]
_NORM = float(np.linalg.norm(_X))
READINGS = [
    ("unicode", "xᵀ(A + Aᵀ)", (_X @ (_A + _A.T))[None, :]),
    ("unicode", "(A + Aᵀ) x", ((_A + _A.T) @ _X)[:, None]),
    ("unicode", "Wᵀ𝟏", (_W.T @ np.ones(2))[:, None]),
    ("unicode", "𝟏ᵀ/n", np.ones((1, 3)) / 3),
    ("unicode", "I/‖x‖ − x xᵀ/‖x‖³", np.eye(3) / _NORM - np.outer(_X, _X) / _NORM ** 3),
    ("unicode", "-exp(-xᵀx/2)·xᵀ", -np.exp(-_X @ _X / 2) * _X[None, :]),
    ("unicode", "2·Wᵀ(W x − y)/n", (2 * _W.T @ (_W @ _X - _Y) / 3)[:, None]),
    ("unicode", "diag(x ⊙ x) − x xᵀ", np.diag(_X * _X) - np.outer(_X, _X)),
    ("unicode", "(𝟏 − tanh(W x)²)ᵀ (I ⊗ xᵀ)", np.kron(1 - np.tanh(_W @ _X) ** 2, _X)[None, :]),
    ("unicode", "[[a, 2], [a², 0]]", np.array([[0.7, 2], [0.49, 0]])),
    ("unicode", "[I; 2·I]", np.vstack([np.eye(3), 2 * np.eye(3)])),
    ("unicode", "commutation(2, 3) vec(W)", _W.T.reshape(-1, 1)),
    # a 𝟏 whose length only the whole form's length fixes
    ("unicode", "vec(𝟏 xᵀ)ᵀ", np.tile(_X, 2)[None, :]),
    ("unicode", "vec(2(𝟏𝟏ᵀW))", (2 * np.ones((2, 2)) @ _W).reshape(-1, 1)),
    ("latex", r"\left(A + A^\top\right) \mathbf{x}", ((_A + _A.T) @ _X)[:, None]),
    ("latex", r"W^\top \mathbf{1}", (_W.T @ np.ones(2))[:, None]),
    ("latex", r"\frac{I}{\lVert \mathbf{x} \rVert} - \frac{\mathbf{x} \mathbf{x}^\top}{{\lVert \mathbf{x} \rVert}^{3}}",
     np.eye(3) / _NORM - np.outer(_X, _X) / _NORM ** 3),
    ("latex", r"K_{2,3} \operatorname{vec}\left(W\right)", _W.T.reshape(-1, 1)),
    ("latex", r"\operatorname{vec}\left(\mathbf{1} \mathbf{x}^\top\right)^\top",
     np.tile(_X, 2)[None, :]),
    ("latex", r"\left(1 - {\tanh\left(W \mathbf{x}\right)}^{2}\right) \mathbf{x}^\top",
     np.outer(1 - np.tanh(_W @ _X) ** 2, _X)),
    ("latex", r"a \left(\mathbf{x} \odot \sqrt{\mathbf{x}}\right)", (0.7 * _X * np.sqrt(_X))[:, None]),
    ("latex", r"\operatorname{diag}\left(\sigma\left(\mathbf{x}\right)\right)",
     np.diag(1 / (1 + np.exp(-_X)))),
    ("latex", r"\begin{bmatrix}a \\ 2 a\end{bmatrix}", np.array([[0.7], [1.4]])),
]


@pytest.mark.parametrize("notation, text, want", READINGS, ids=[r[1] for r in READINGS])
def test_readers_read_the_papers(notation, text, want):
    close(paper_value(text, notation, _ENV, want.shape), want, text)


DROPPABLE = [(n, t, w) for n, t, w in READINGS if ("ᵀ" in t or r"^\top" in t)]


@pytest.mark.parametrize("notation, text, want", DROPPABLE, ids=[r[1] for r in DROPPABLE])
def test_readers_notice_a_dropped_transpose(notation, text, want):
    """Each transpose in a known form matters: without it the form is refused or wrong."""
    mark = "ᵀ" if notation == "unicode" else r"^\top"
    for k in range(text.count(mark)):
        at = [i for i in range(len(text)) if text.startswith(mark, i)][k]
        dropped = text[:at] + text[at + len(mark):]
        try:
            got = paper_value(dropped, notation, _ENV, want.shape)
        except NotationError:
            continue
        assert not np.allclose(got, want), f"{dropped!r} reads like {text!r}"


@pytest.mark.parametrize("notation, text, shape", [
    ("unicode", "y Aᵀ", (3, 1)),                 # a column written as a row
    ("latex", r"\mathbf{y}^\top A^\top", (3, 1)),
    ("unicode", "A ⊙ A x", (3, 1)),              # (A ⊙ A)x or A ⊙ (Ax)?
    ("unicode", "x/a yᵀ", (3, 2)),               # (x/a)yᵀ or x/(a yᵀ)?
    ("unicode", "I ⊗ xᵀ A", (3, 9)),             # (I ⊗ xᵀ)A or I ⊗ (xᵀA)?
    ("unicode", "A 𝟏 x", (3, 1)),
    ("unicode", "xᵀ@x", (1, 1)),                 # '@' is the input language, not the papers'
])
def test_readers_refuse_what_papers_cannot_mean(notation, text, shape):
    values = {**_ENV, "A": _R.uniform(-1, 1, (3, 3))}
    with pytest.raises(NotationError):
        paper_value(text, notation, values, shape)


def test_oracle_reads_the_new_ascii():
    x, y, W = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0]), np.arange(6.0).reshape(2, 3)
    assert evaluate("x @ y'", {"x": x, "y": y}).shape == (2, 3)
    np.testing.assert_array_equal(evaluate("commutation(2, 3) @ vec(W)", {"W": W}), W.T.reshape(-1))
    np.testing.assert_array_equal(evaluate("kron(eye(2), y')", {"y": y}), np.kron(np.eye(2), y[None, :]))
    np.testing.assert_array_equal(evaluate("[[1, 2], [3, 4]]", {}), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(evaluate("[eye(2); zeros(1, 2)]", {}), [[1, 0], [0, 1], [0, 0]])
    np.testing.assert_array_equal(evaluate("xᵀ@x − x⊙x⊘x", {"x": x}), 5 - x)
    np.testing.assert_array_equal(evaluate("step(x - 1.5) + sign(-x)", {"x": x}), [-1, 0])


def test_left_factors_merge_only_over_right_operands_of_one_shape():
    """yᵀA (a vector) and yᵀx (a scalar that a sum broadcasts) share their left operand but
    do not add up to yᵀ(A + x): the derivative of this max used to stop with a shape error
    (found by test_properties)."""
    text = "-max(y @ (A + A), y @ (x + x))"
    values = {"y": [1.2, 0.3, 0.7], "x": [-1.4, -1.5, 0.9],
              "A": [[0.9, -1.5, 1.1], [-1.4, 0.7, -1.0], [1.1, 0.1, -0.6]]}
    for layout in ("numerator", "denominator"):
        doc = check_document(text, values, None, layout)
        for entry in doc["jacobians"]:
            want = numeric_jacobian(text, values, [entry["wrt"]])
            got = np.asarray(entry["value"], dtype=float)
            close(got if layout == "numerator" else got.T, want, f"{layout} wrt {entry['wrt']}")


def _ascii_case(build):
    from jaccli import expr as E
    shapes = {"x": (3,), "v": (2,), "a": (2,), "A": (2, 3), "X": (2, 3), "B": (2, 2), "c": ()}
    leaves = {n: E.Expr("var", (), n, s) for n, s in shapes.items()}
    return build(E.typed, E.num, leaves)


ASCII_PRECEDENCE = [     # '*', '/' and '@' bind alike, left to right: a @ (1/A^2 @ x) needs ()
    lambda t, n, v: t("matmul", (t("matmul", (v["x"], t("transpose", (v["v"],)))),
                                 t("matmul", (t("div", (n(1), t("pow", (v["A"], n(2))))),
                                              v["x"])))),
    lambda t, n, v: t("matmul", (t("matmul", (v["x"], t("transpose", (v["v"],)))),
                                 t("matmul", (t("mul", (n(2), v["A"])), v["x"])))),
    lambda t, n, v: t("matmul", (t("transpose", (v["A"],)), t("matmul", (v["a"], v["B"])))),
    lambda t, n, v: t("mul", (v["a"], t("div", (t("matmul", (v["X"], v["x"])), v["c"])))),
    lambda t, n, v: t("mul", (v["a"], t("mul", (t("matmul", (v["X"], v["x"])), v["a"])))),
    lambda t, n, v: t("mul", (v["c"], t("mul", (t("matmul", (v["X"], v["x"])), v["a"])))),
]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_later_factor_of_a_product_keeps_its_parentheses(layout):
    """B @ diag(…) @ (A/(0.5 + A^2) @ A): bare, the quotient would divide B @ diag(…) @ A
    (found at 600 examples)."""
    text = "sin(A / (A^2 + 0.5) @ (A @ x)) @ B'"
    doc = check_document(text, _random(16, A=(3, 3), B=(2, 3), x=(3,)), ["x"], layout)
    if layout == "numerator":
        assert "@ (A/(0.5 + A^2) @ A)" in doc["jacobians"][0]["symbolic"]


@pytest.mark.parametrize("text, wrt, form, structure", [
    ("sin(u - u) @ (A @ x)", "A", "0", "zero"),         # sin(0) was a scalar standing for 𝟏·0
    ("sigmoid(x - x) * x", "x", "0.5*I", "scaled_identity"),
    ("cos(x - x) * x * 3", "x", "3*I", "scaled_identity"),   # was diag(3*ones(n))
    ("softmax(x - x) @ x", "x", ("ones(3)'/3", "ones(3)/3"), "dense"),   # softmax(c·𝟏) = 𝟏/n
    ("softmax(0*x) * x", "x", "1/3*I", "scaled_identity"),
])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_functions_at_zero_fold(text, wrt, form, structure, layout):
    """f(0) is a number for sin, cos, exp, sigmoid, …: a function of a zero vector is no
    f(0) that reads as a scalar, and diag(c·𝟏) is c·I (found at 600 examples)."""
    values = _random(17, u=(2,), A=(2, 3), x=(3,))
    doc = check_document(text, {n: v for n, v in values.items() if n in text}, [wrt], layout)
    entry = doc["jacobians"][0]
    if isinstance(form, tuple):                 # a row, and in denominator layout a column
        form = form[LAYOUTS.index(layout)]
    assert (entry["symbolic"], entry["structure"]) == (form, structure)


@pytest.mark.parametrize("build", ASCII_PRECEDENCE)
def test_ascii_forms_keep_the_parentheses_precedence_needs(build):
    """A right operand printed bare must mean the same under the input language's
    left-to-right reading of '*', '/' and '@' (found by test_every_notation_reads_back:
    `x @ s' @ 1/A^2 @ x` read as ((x @ s') @ 1)/A^2 @ x)."""
    from jaccli.api import compute
    from jaccli.evaluate import Evaluator
    from jaccli.notation import ascii_form

    tree = _ascii_case(build)
    values = _random(8, x=(3,), v=(2,), a=(2,), A=(2, 3), X=(2, 3), B=(2, 2), c=())
    text = ascii_form(tree)
    want = np.asarray(Evaluator(values)(tree), dtype=float)
    close(np.asarray(evaluate(text, values), dtype=float), want, f"the oracle reads {text!r}")
    got = compute(text, wrt=[], values={n: np.asarray(v) for n, v in values.items()})
    close(np.asarray(got.output_value, dtype=float), want, f"jac reads {text!r}")
