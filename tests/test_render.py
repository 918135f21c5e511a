"""Golden renderings at a fixed width with no colour, and the helpers behind them.

Each golden is what a pipe shows; in a terminal the same text carries styles. Entries come
from `jaccli.entries`, so the small-matrix tests also pin the article's drawings
(`y₁ 0 0 / 0 y₂ 0 / 0 0 y₃`)."""
from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from rich.console import Console

from jaccli import entries, sizes
from runjac import peak_bytes
from jaccli.api import compute
from jaccli.inputs import parse_shape
from jaccli.render import JacobianView, MatrixView, ResultView, format_number, kind_words


def result(text, wrt=None, shapes=None, values=None, layout="numerator"):
    return compute(text, wrt=None if wrt is None else [w.split(",") for w in wrt],
                   shapes={k: parse_shape(v) for k, v in (shapes or {}).items()},
                   values={k: np.asarray(v, float) for k, v in (values or {}).items()} or None,
                   layout=layout)


def show(renderable, width: int = 80) -> str:
    out = StringIO()
    Console(file=out, width=width, color_system=None).print(renderable)
    return out.getvalue()


def first(text, **kw) -> str:
    """The first Jacobian of `text`, rendered alone."""
    width = kw.pop("width", 80)
    r = result(text, **kw)
    return show(JacobianView(result=r, item=r.jacobians[0]), width)


def test_whole_result_with_values():
    r = result("x * y", wrt=["x"], values={"x": [1, 2, 3], "y": [4, 5, 6]})
    assert show(ResultView(r)) == """\
f = x ⊙ y
  x, y: vectors of length 3 → f: vector of length 3
  at x = [1, 2, 3], y = [4, 5, 6]
  numerator layout: J[i, j] = ∂fᵢ/∂xⱼ

∂f/∂x = diag(y)
  3×3 diagonal: element-wise in x, so ∂fᵢ/∂xⱼ = 0 for i ≠ j
  ⎡4  0  0⎤
  ⎢0  5  0⎥
  ⎣0  0  6⎦
"""


def test_header_neuron_with_symbolic_sizes_and_footnotes():
    assert show(ResultView(result("max(0, w@x + b)", wrt=["b"]))) == """\
f = max(0, w · x + b)
  w, x: vectors of length n; b: scalar → f: scalar
  numerator layout: J[i, j] = ∂fᵢ/∂xⱼ

∂f/∂b = step(w · x + b)
  1×1 scalar

step(v) is 1 where v > 0, else 0
n is a symbolic size: try --shape w=3, or --at w=1,2,3 for numbers
"""


def test_diagonal_symbolic_entries_as_the_article_draws_them():
    assert first("x * y", wrt=["x"], shapes={"x": "3"}) == """\
∂f/∂x = diag(y)
  3×3 diagonal: element-wise in x, so ∂fᵢ/∂xⱼ = 0 for i ≠ j
  ⎡y₁  0   0 ⎤
  ⎢0   y₂  0 ⎥
  ⎣0   0   y₃⎦
"""


def test_identity():
    assert first("x + y", wrt=["x"], shapes={"x": "3"}) == """\
∂f/∂x = I
  3×3 identity: element-wise in x, so ∂fᵢ/∂xⱼ = 0 for i ≠ j
  ⎡1  0  0⎤
  ⎢0  1  0⎥
  ⎣0  0  1⎦
"""


def test_row():
    assert first("w @ x", wrt=["w"], shapes={"w": "3"}) == """\
∂f/∂w = xᵀ
  1×3 row vector: the gradient of f, as a row (numerator layout)
  [x₁  x₂  x₃]
"""


def test_row_with_values():
    assert first("w @ x", wrt=["w"], values={"w": [1, 2, 3], "x": [0.5, -2, 10]}) == """\
∂f/∂w = xᵀ
  1×3 row vector: the gradient of f, as a row (numerator layout)
  [0.5  -2  10]
"""


def test_column():
    assert first("x * z", wrt=["z"], shapes={"z": "scalar", "x": "3"}) == """\
∂f/∂z = x
  3×1 column vector
  ⎡x₁⎤
  ⎢x₂⎥
  ⎣x₃⎦
"""


def test_column_in_denominator_layout_is_the_gradient():
    assert first("w @ x", wrt=["w"], layout="denominator") == """\
∂f/∂w = x
  n×1 column vector: the gradient of f, as a column (denominator layout)
  ⎡x₁⎤
  ⎢x₂⎥
  ⎢⋮ ⎥
  ⎣xₙ⎦
"""


def test_dense_numbers_align_on_the_decimal_point():
    assert first("softmax(x)", values={"x": [1, 2, 3]}) == """\
∂f/∂x = diag(softmax(x)) - softmax(x) softmax(x)ᵀ
  3×3 matrix, not diagonal: fᵢ depends on more than xᵢ
  ⎡ 0.0819251  -0.022033  -0.059892⎤
  ⎢-0.022033    0.184836  -0.162803⎥
  ⎣-0.059892   -0.162803   0.222695⎦
"""


def test_symbolic_size_shows_the_pattern():
    assert first("x * y", wrt=["x"]) == """\
∂f/∂x = diag(y)
  n×n diagonal: element-wise in x, so ∂fᵢ/∂xⱼ = 0 for i ≠ j
  ⎡y₁  0   ⋯  0 ⎤
  ⎢0   y₂  ⋯  0 ⎥
  ⎢⋮   ⋮   ⋱  ⋮ ⎥
  ⎣0   0   ⋯  yₙ⎦
"""


def test_symbolic_matrix_pattern():
    assert first("W @ x", wrt=["x"]) == """\
∂f/∂x = W
  m×n matrix
  ⎡W₁₁  W₁₂  ⋯  W₁ₙ⎤
  ⎢W₂₁  W₂₂  ⋯  W₂ₙ⎥
  ⎢ ⋮    ⋮   ⋱   ⋮ ⎥
  ⎣Wₘ₁  Wₘ₂  ⋯  Wₘₙ⎦
"""


def test_kronecker_entries():
    assert first("W @ x", wrt=["W"], shapes={"W": "2x3"}) == """\
∂f/∂vec(W) = I ⊗ xᵀ
  2×6 matrix
   W₁₁  W₁₂  W₁₃  W₂₁  W₂₂  W₂₃
  ⎡x₁   x₂   x₃    0    0    0 ⎤
  ⎣ 0    0    0   x₁   x₂   x₃ ⎦
"""


def test_a_scalar_gradient_with_respect_to_a_matrix_comes_first_shaped_like_it():
    assert first("x'@A@x", wrt=["A"], shapes={"A": "2x2"}) == """\
∂f/∂A = x xᵀ
  2×2 matrix shaped like A: entry (i, j) is ∂f/∂Aᵢⱼ
  ⎡(x xᵀ)₁₁  (x xᵀ)₁₂⎤
  ⎣(x xᵀ)₂₁  (x xᵀ)₂₂⎦

∂f/∂vec(A) = vec(x xᵀ)ᵀ
  1×4 row vector: the gradient of f, as a row (numerator layout)
     A₁₁       A₁₂       A₂₁       A₂₂
  [(x xᵀ)₁₁  (x xᵀ)₁₂  (x xᵀ)₂₁  (x xᵀ)₂₂]
"""


def test_wide_matrix_is_elided():
    assert first("W @ x", wrt=["x"], shapes={"W": "3x40"}) == """\
∂f/∂x = W
  3×40 matrix
  ⎡W₁₁  W₁₂  W₁₃  W₁₄  W₁₅  W₁₆  W₁₇  W₁₈  W₁₉  W₁,₁₀  W₁,₁₁  ⋯  W₁,₃₉  W₁,₄₀⎤
  ⎢W₂₁  W₂₂  W₂₃  W₂₄  W₂₅  W₂₆  W₂₇  W₂₈  W₂₉  W₂,₁₀  W₂,₁₁  ⋯  W₂,₃₉  W₂,₄₀⎥
  ⎣W₃₁  W₃₂  W₃₃  W₃₄  W₃₅  W₃₆  W₃₇  W₃₈  W₃₉  W₃,₁₀  W₃,₁₁  ⋯  W₃,₃₉  W₃,₄₀⎦
"""


def test_a_wider_console_shows_more_columns():
    narrow = first("W @ x", wrt=["x"], shapes={"W": "3x40"}, width=60)
    wide = first("W @ x", wrt=["x"], shapes={"W": "3x40"}, width=200)
    assert narrow.count("W₁") < wide.count("W₁") < 40


BIG = {"x": list(range(1, 31)), "y": list(range(101, 131))}


def test_large_values_are_elided_to_the_width():
    assert first("x * y", wrt=["x"], values=BIG, width=40) == """\
∂f/∂x = diag(y)
  30×30 diagonal: element-wise in x,
    so ∂fᵢ/∂xⱼ = 0 for i ≠ j
  ⎡101    0    0    0    0  ⋯    0    0⎤
  ⎢  0  102    0    0    0  ⋯    0    0⎥
  ⎢  0    0  103    0    0  ⋯    0    0⎥
  ⎢  0    0    0  104    0  ⋯    0    0⎥
  ⎢  0    0    0    0  105  ⋯    0    0⎥
  ⎢  0    0    0    0    0  ⋯    0    0⎥
  ⎢ ⋮    ⋮    ⋮    ⋮    ⋮   ⋱   ⋮    ⋮ ⎥
  ⎢  0    0    0    0    0  ⋯  129    0⎥
  ⎣  0    0    0    0    0  ⋯    0  130⎦
"""


@pytest.mark.parametrize("width", [20, 30, 40, 60, 80, 120, 200])
def test_no_line_is_wider_than_the_console(width):
    for kw in (dict(text="x * y", values=BIG), dict(text="W @ x", shapes={"W": "3x40"}),
               dict(text="max(0, w@x + b)"), dict(text="softmax(x)", values={"x": [1, 2, 3]})):
        text = show(ResultView(result(**kw)), width)
        assert max(Console(width=width).measure(line).maximum for line in text.splitlines()) <= width


def test_no_trailing_spaces():
    text = show(ResultView(result("mean((y - max(0, X @ w + b))^2)", shapes={"b": "scalar"})))
    assert all(line == line.rstrip() for line in text.splitlines())


def test_a_million_entry_diagonal_renders_without_a_dense_matrix():
    n = 10 ** 6
    r = result("x * y", wrt=["x"], values={"x": np.ones(n), "y": np.arange(n)})
    shown = []
    peak = peak_bytes(lambda: shown.append(show(ResultView(r))))
    text = shown[0]
    assert peak < 100 * 2 ** 20, f"peak {peak / 2 ** 20:.0f} MB"   # a dense matrix is 8 TB
    assert "1000000×1000000 diagonal" in text and "999999" in text


def test_plain_when_not_a_terminal_and_styled_on_one():
    r = result("x * y", wrt=["x"], values={"x": [1, 2, 3], "y": [4, 5, 6]})
    assert "\x1b[" not in show(ResultView(r))
    out = StringIO()
    Console(file=out, width=80, force_terminal=True, color_system="standard").print(ResultView(r))
    assert "\x1b[" in out.getvalue()


# ---------------------------------------------------------------- the helpers


@pytest.mark.parametrize("text, shapes, wrt, words", [
    ("x * y", {}, "x", "n×n diagonal"),
    ("x + y", {"x": "3"}, "x", "3×3 identity"),
    ("2 * x", {"x": "3"}, "x", "3×3 scaled identity"),
    ("w @ x", {"w": "3"}, "w", "1×3 row vector"),
    ("x * z", {"z": "scalar"}, "z", "n×1 column vector"),
    ("W @ x", {"W": "2x3"}, "x", "2×3 matrix"),
    ("sum(x)", {"x": "3"}, "x", "1×3 row vector"),
    ("x * z", {"z": "scalar"}, "q", "n×m zero"),
    ("3 * x^2", {"x": "scalar"}, "x", "1×1 scalar"),
])
def test_kind_in_words(text, shapes, wrt, words):
    assert kind_words(result(text, wrt=[wrt], shapes=shapes).jacobians[0].jacobian) == words


@pytest.mark.parametrize("text, shapes, wrt, grid", [
    ("x * y", {"x": "2"}, "x", [["y₁", "0"], ["0", "y₂"]]),
    ("sin(x)", {"x": "2"}, "x", [["cos(x₁)", "0"], ["0", "cos(x₂)"]]),
    ("x * z", {"z": "scalar", "x": "2"}, "x", [["z", "0"], ["0", "z"]]),
    ("sum(x)", {"x": "2"}, "x", [["1", "1"]]),
    ("W @ x", {"W": "2x2"}, "x", [["W₁₁", "W₁₂"], ["W₂₁", "W₂₂"]]),
    ("x' @ W", {"W": "2x2"}, "x", [["W₁₁", "W₂₁"], ["W₁₂", "W₂₂"]]),
    ("x * y", {"x": "2"}, "x,y", [["y₁", "0", "x₁", "0"], ["0", "y₂", "0", "x₂"]]),
])
def test_entries(text, shapes, wrt, grid):
    j = result(text, wrt=[wrt], shapes=shapes).jacobians[0].jacobian
    got = [[entries.entry_text(j, r, c) for c in range(1, j.cols + 1)] for r in range(1, j.rows + 1)]
    assert got == grid


def test_entries_at_a_symbolic_last_index():
    j = result("x * y", wrt=["x"]).jacobians[0].jacobian
    n = j.rows
    assert entries.entry_text(j, n, n) == "yₙ"
    assert entries.entry_text(j, 1, n) == "0"


def test_subscripts():
    assert entries.subscripts((12,)) == "₁₂"
    assert entries.subscripts((sizes.symbol("n"),)) == "ₙ"
    assert entries.subscripts((1, 2)) == "₁₂"
    assert entries.subscripts((1, 12)) == "₁,₁₂"
    assert entries.subscripts((sizes.symbol("q"),)) == "[q]"      # no subscript q in Unicode
    assert entries.subscripts((sizes.symbol("batch"), 1)) == "[batch,1]"
    assert entries.subscripts((1, sizes.symbol("d_model"))) == "[1,d_model]"


@pytest.mark.parametrize("value, text", [(4.0, "4"), (-0.0, "0"), (0.5, "0.5"), (1 / 3, "0.333333"),
                                         (1e-7, "1e-07"), (float("nan"), "nan"), (float("inf"), "∞")])
def test_format_number(value, text):
    assert format_number(value) == text


def test_matrix_view_draws_nothing_when_entries_are_too_long():
    r = result("mean((y - max(0, X @ w + b))^2)", wrt=["w"], shapes={"b": "scalar", "X": "2x2"})
    assert MatrixView(jacobian=r.jacobians[0].jacobian).grid(80) is None
