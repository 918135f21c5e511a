"""Derivatives with respect to matrix variables, and through matrix-valued subexpressions.

SPEC.md: "A matrix variable W (p×q) is differentiated through its row-major flattening
vec(W): the Jacobian of f: R^{p×q} → Rᵐ is m × pq in numerator layout." Every numeric
claim below is checked against the independent oracle's central finite differences
(tests/oracle.py, which flattens row-major too), in both layouts, at random values drawn
from a fixed seed; several are also checked against closed forms written with NumPy
(kron(eye(m), xᵀ), the commutation matrix, 2·vec(W)ᵀ, ...). Sizes without values are checked
by evaluating the reported size strings ("m*n", "m*n+n") at several integer
assignments of their symbols, so the test does not depend on how a product is spelled.
"""
from __future__ import annotations

import ast
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import jac_json
from oracle import evaluate, hazard, numeric_jacobian

LAYOUTS = ("numerator", "denominator")
RTOL, ATOL = 1e-5, 1e-6


# ---------------------------------------------------------------- helpers

def _values(seed: int, **shapes) -> dict:
    """Random values of the given shapes (a name -> shape tuple), from a fixed seed."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        out[name] = float(rng.uniform(0.5, 1.5)) if shape == () else rng.normal(size=shape)
    return out


def _lists(values: dict) -> dict:
    return {k: (v if isinstance(v, float) else np.asarray(v).tolist()) for k, v in values.items()}


def _matrix(j: dict) -> np.ndarray:
    assert j.get("value") is not None, j
    return np.array(j["value"], dtype=float)


def _check_numbers(text: str, values: dict, wrt: list[str], layout: str) -> list[dict]:
    """jac's numbers for each --wrt group equal finite differences of the oracle, with the
    shape SPEC.md gives (numerator: outputs x stacked vec of the variables)."""
    doc = jac_json(text, wrt=wrt, values=_lists(values), layout=layout)
    assert doc["layout"] == layout
    assert [j["wrt"] for j in doc["jacobians"]] == wrt
    for j, group in zip(doc["jacobians"], wrt):
        expected = numeric_jacobian(text, values, group.split(","))
        if layout == "denominator":
            expected = expected.T
        got = _matrix(j)
        assert list(got.shape) == j["shape"] == list(expected.shape), (text, group, layout)
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{text} wrt {group} ({layout})")
        if j["diagonal"]:
            _check_really_diagonal(got, j, text)
    return doc["jacobians"]


def _check_really_diagonal(got: np.ndarray, j: dict, text: str) -> None:
    assert got.shape[0] == got.shape[1], (text, j)
    off = got[~np.eye(got.shape[0], dtype=bool)]
    assert np.all(off == 0), (text, j["symbolic"])
    if got.shape[0] > 1 and j["structure"] != "zero":
        np.testing.assert_array_equal(np.array(j["diag"], dtype=float), np.diag(got))


def commutation(m: int, n: int) -> np.ndarray:
    """K with vec(Aᵀ) = K vec(A) for A m×n, row-major vec (built from its definition)."""
    k = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            k[j * m + i, i * n + j] = 1.0     # (Aᵀ)[j, i] sits at j*m + i; A[i, j] at i*n + j
    return k


def test_commutation_helper_is_right():
    a = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(commutation(2, 3) @ a.reshape(-1), a.T.reshape(-1))


# ---------------------------------------------------------------- finite differences, both layouts

W23 = {"W": (2, 3), "x": (3,)}
CASES = [
    # (expression, shapes of the variables, --wrt groups)
    ("W@x", W23, ["W"]),
    ("W@x", W23, ["W", "x"]),
    ("x@W", {"x": (2,), "W": (2, 3)}, ["W"]),
    ("sum(W@x)", W23, ["W"]),
    ("A@B", {"A": (2, 3), "B": (3, 4)}, ["A", "B"]),
    ("A@B", {"A": (2, 3), "B": (3, 4)}, ["A,B"]),
    ("A'", {"A": (2, 3)}, ["A"]),
    ("A'", {"A": (3, 3)}, ["A"]),
    ("A - A'", {"A": (3, 3)}, ["A"]),
    ("B' @ B", {"B": (2, 3)}, ["B"]),
    ("A @ A'", {"A": (2, 3)}, ["A"]),
    ("A @ A", {"A": (3, 3)}, ["A"]),
    ("sum(A' @ x)", {"A": (3, 2), "x": (3,)}, ["A"]),
    ("(A*a)' @ x", {"A": (3, 2), "a": (), "x": (3,)}, ["a", "A", "x"]),
    ("x @ (A' @ A) @ x", {"x": (3,), "A": (2, 3)}, ["A", "x"]),
    ("norm(W@x)", W23, ["W", "x"]),
    ("sum(sin(W))", {"W": (2, 3)}, ["W"]),
    ("sin(W)", {"W": (2, 3)}, ["W"]),
    ("sum(W*W)", {"W": (2, 3)}, ["W"]),
    ("logsumexp(A)", {"A": (2, 3)}, ["A"]),
    ("logsumexp(A@B)", {"A": (2, 3), "B": (3, 2)}, ["A", "B"]),
    ("W@x + b", {"W": (2, 3), "x": (3,), "b": (2,)}, ["W,x"]),
    ("W@x + b", {"W": (2, 3), "x": (3,), "b": (2,)}, ["x,W,b"]),
    ("x' @ A @ x", {"x": (3,), "A": (3, 3)}, ["A", "x", "A,x"]),
    ("x @ A @ y", {"x": (2,), "A": (2, 3), "y": (3,)}, ["A"]),
    ("(A@B)'", {"A": (2, 3), "B": (3, 4)}, ["A", "B"]),
    ("sum((A@B)' @ x)", {"A": (3, 2), "B": (2, 3), "x": (3,)}, ["A", "B"]),
    ("(A'@x)'", {"A": (3, 2), "x": (3,)}, ["A"]),
    ("x' @ A'", {"x": (3,), "A": (2, 3)}, ["A"]),
    ("A'@A - A@A'", {"A": (3, 3)}, ["A"]),
    ("(A + A') @ x", {"A": (3, 3), "x": (3,)}, ["A"]),
    ("sum(A@B@C)", {"A": (2, 3), "B": (3, 3), "C": (3, 2)}, ["A", "B", "C"]),
    ("tanh(A@B)", {"A": (2, 3), "B": (3, 2)}, ["A", "B"]),
    ("softmax(A'@x)", {"A": (3, 2), "x": (3,)}, ["A", "x"]),
    ("sum(A) * A", {"A": (2, 3)}, ["A"]),
    ("mean(A' * B)", {"A": (3, 2), "B": (2, 3)}, ["A", "B"]),
    ("A * B", {"A": (2, 3), "B": (2, 3)}, ["A", "B"]),
    ("exp(A') @ x", {"A": (3, 2), "x": (3,)}, ["A"]),
    ("[sum(A), sum(A' @ A)]", {"A": (2, 3)}, ["A"]),
    ("sum(A)*x", {"A": (2, 3), "x": (3,)}, ["A", "x"]),
    ("A + a", {"A": (2, 3), "a": ()}, ["a", "A"]),
    ("(2*A)' - A/3", {"A": (3, 3)}, ["A"]),
    ("dot(x, A@x)", {"A": (3, 3), "x": (3,)}, ["A", "x"]),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("text,shapes,wrt", CASES, ids=[f"{c[0]}|{'/'.join(c[2])}" for c in CASES])
def test_matches_finite_differences(text, shapes, wrt, layout):
    values = _values(20240611, **shapes)
    assert hazard(text, values) > 1e-3     # the points are smooth: FD means something
    _check_numbers(text, values, wrt, layout)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_points(seed):
    """The same identities at other random points (a different seed each)."""
    for text, shapes, wrt in CASES[::3]:
        _check_numbers(text, _values(seed, **shapes), wrt, "numerator")


# ---------------------------------------------------------------- closed forms

def test_W_at_x_wrt_W_is_kron_I_xT():
    v = _values(7, W=(2, 3), x=(3,))
    for layout in LAYOUTS:
        (j,) = jac_json("W@x", wrt=["W"], values=_lists(v), layout=layout)["jacobians"]
        closed = np.kron(np.eye(2), v["x"][None, :])          # m × mn
        if layout == "numerator":
            assert j["shape"] == [2, 6]
            assert j["symbolic"] == "kron(eye(2), x')"
            np.testing.assert_allclose(_matrix(j), closed, rtol=1e-12)
        else:
            assert j["shape"] == [6, 2]
            np.testing.assert_allclose(_matrix(j), closed.T, rtol=1e-12)
        assert j["structure"] == "dense" and j["diagonal"] is False


def test_x_at_W_wrt_W_is_kron_xT_I():
    v = _values(8, x=(2,), W=(2, 3))
    (j,) = jac_json("x@W", wrt=["W"], values=_lists(v))["jacobians"]
    assert j["shape"] == [3, 6]
    assert j["symbolic"] == "kron(x', eye(3))"
    np.testing.assert_allclose(_matrix(j), np.kron(v["x"][None, :], np.eye(3)), rtol=1e-12)


def test_A_at_B_closed_forms():
    v = _values(9, A=(2, 3), B=(3, 4))
    ja, jb = jac_json("A@B", wrt=["A", "B"], values=_lists(v))["jacobians"]
    assert ja["shape"] == [8, 6] and jb["shape"] == [8, 12]
    np.testing.assert_allclose(_matrix(ja), np.kron(np.eye(2), v["B"].T), rtol=1e-12)
    np.testing.assert_allclose(_matrix(jb), np.kron(v["A"], np.eye(4)), rtol=1e-12)
    assert ja["symbolic"] == "kron(eye(2), B')" and jb["symbolic"] == "kron(A, eye(4))"


@pytest.mark.parametrize("m,n", [(2, 3), (3, 2), (3, 3)])
def test_transpose_wrt_A_is_the_commutation_matrix(m, n):
    v = _values(10, A=(m, n))
    for layout in LAYOUTS:
        (j,) = jac_json("A'", wrt=["A"], values=_lists(v), layout=layout)["jacobians"]
        k = commutation(m, n)
        np.testing.assert_array_equal(_matrix(j), k if layout == "numerator" else k.T)
        # a permutation that moves entries: square, never diagonal
        assert j["shape"] == [m * n, m * n]
        assert j["diagonal"] is False and j["structure"] != "diagonal"


@pytest.mark.parametrize("shape", [(1, 3), (3, 1)])
def test_transpose_of_a_one_row_or_column_matrix_is_the_identity(shape):
    (j,) = jac_json("A'", wrt=["A"], shapes={"A": "x".join(map(str, shape))})["jacobians"]
    assert j["structure"] == "identity" and j["diagonal"] is True and j["shape"] == [3, 3]


def test_A_minus_AT_closed_form():
    v = _values(11, A=(3, 3))
    (j,) = jac_json("A - A'", wrt=["A"], values=_lists(v))["jacobians"]
    np.testing.assert_array_equal(_matrix(j), np.eye(9) - commutation(3, 3))
    assert j["diagonal"] is False


def test_BT_B_closed_form():
    v = _values(12, B=(2, 3))
    b = v["B"]
    (j,) = jac_json("B' @ B", wrt=["B"], values=_lists(v))["jacobians"]
    # d(BᵀB) = dBᵀ B + Bᵀ dB  ->  (I ⊗ Bᵀ)·K(2,3) + (Bᵀ ⊗ I)
    closed = np.kron(np.eye(3), b.T) @ commutation(2, 3) + np.kron(b.T, np.eye(3))
    assert j["shape"] == [9, 6]
    np.testing.assert_allclose(_matrix(j), closed, rtol=1e-12, atol=1e-14)


def test_scaled_transpose_wrt_scalar_is_AT_x():
    v = _values(13, A=(3, 2), a=(), x=(3,))
    for layout in LAYOUTS:
        (j,) = jac_json("(A*a)' @ x", wrt=["a"], values=_lists(v), layout=layout)["jacobians"]
        closed = (v["A"].T @ v["x"])[:, None]
        if layout == "numerator":
            assert j["shape"] == [2, 1]
            assert j["symbolic"] == "A' @ x"
            np.testing.assert_allclose(_matrix(j), closed, rtol=1e-12)
        else:
            assert j["shape"] == [1, 2]
            np.testing.assert_allclose(_matrix(j), closed.T, rtol=1e-12)


def test_sum_W_times_W_is_2_vecW():
    v = _values(14, W=(2, 3))
    (j,) = jac_json("sum(W*W)", wrt=["W"], values=_lists(v))["jacobians"]
    assert j["symbolic"] == "vec(2*W)'"
    assert j["shape"] == [1, 6]
    np.testing.assert_allclose(_matrix(j), 2 * v["W"].reshape(1, -1), rtol=1e-12)
    (d,) = jac_json("sum(W*W)", wrt=["W"], values=_lists(v), layout="denominator")["jacobians"]
    assert d["shape"] == [6, 1]
    np.testing.assert_allclose(_matrix(d), 2 * v["W"].reshape(-1, 1), rtol=1e-12)


def test_sum_sin_W_is_vec_cos_W():
    v = _values(15, W=(3, 2))
    (j,) = jac_json("sum(sin(W))", wrt=["W"], values=_lists(v))["jacobians"]
    np.testing.assert_allclose(_matrix(j), np.cos(v["W"]).reshape(1, -1), rtol=1e-12)


def test_logsumexp_of_a_matrix_is_its_softmax_row_major():
    v = _values(16, A=(2, 3))
    a = v["A"]
    (j,) = jac_json("logsumexp(A)", wrt=["A"], values=_lists(v))["jacobians"]
    e = np.exp(a - a.max())
    np.testing.assert_allclose(_matrix(j), (e / e.sum()).reshape(1, -1), rtol=1e-10)
    assert abs(_matrix(j).sum() - 1) < 1e-12


def test_norm_of_W_x_closed_form():
    v = _values(17, W=(2, 3), x=(3,))
    y = v["W"] @ v["x"]
    (j,) = jac_json("norm(W@x)", wrt=["W"], values=_lists(v))["jacobians"]
    closed = (y / np.linalg.norm(y))[None, :] @ np.kron(np.eye(2), v["x"][None, :])   # ŷᵀ (I ⊗ xᵀ)
    np.testing.assert_allclose(_matrix(j), closed, rtol=1e-10)


def test_quadratic_form_wrt_A_and_x():
    v = _values(18, x=(3,), A=(3, 3))
    x, a = v["x"], v["A"]
    ja, jx, both = jac_json("x' @ A @ x", wrt=["A", "x", "A,x"], values=_lists(v))["jacobians"]
    np.testing.assert_allclose(_matrix(ja), np.outer(x, x).reshape(1, -1), rtol=1e-10)   # vec(x xᵀ)ᵀ
    np.testing.assert_allclose(_matrix(jx), (x @ (a + a.T))[None, :], rtol=1e-10)
    assert both["shape"] == [1, 12]
    np.testing.assert_allclose(_matrix(both), np.hstack([_matrix(ja), _matrix(jx)]), rtol=1e-12)


def test_stacked_W_x_is_kron_then_W():
    v = _values(19, W=(2, 3), x=(3,), b=(2,))
    (j,) = jac_json("W@x + b", wrt=["W,x"], values=_lists(v))["jacobians"]
    assert j["shape"] == [2, 9]                    # m × (mn + n)
    closed = np.hstack([np.kron(np.eye(2), v["x"][None, :]), v["W"]])
    np.testing.assert_allclose(_matrix(j), closed, rtol=1e-12)
    (d,) = jac_json("W@x + b", wrt=["W,x"], values=_lists(v), layout="denominator")["jacobians"]
    assert d["shape"] == [9, 2]
    np.testing.assert_allclose(_matrix(d), closed.T, rtol=1e-12)


FORMS = [
    # expression, wrt, --shape, numerator closed form, denominator closed form
    ("W@x", "W", {"W": "2x3"}, "kron(eye(2), x')", "kron(eye(2), x)"),
    ("x@W", "W", {"W": "2x3"}, "kron(x', eye(3))", "kron(x, eye(3))"),
    ("A@B", "A", {"A": "2x3", "B": "3x4"}, "kron(eye(2), B')", "kron(eye(2), B)"),
    ("A@B", "B", {"A": "2x3", "B": "3x4"}, "kron(A, eye(4))", "kron(A', eye(4))"),
    ("A'", "A", {"A": "2x3"}, "commutation(2, 3)", "commutation(3, 2)"),
    ("A - A'", "A", {"A": "3x3"}, "eye(9) - commutation(3, 3)", "eye(9) - commutation(3, 3)"),
    ("(A')'", "A", {"A": "2x3"}, "I", "I"),
    ("sum(sin(W))", "W", {"W": "2x3"}, "vec(cos(W))'", "vec(cos(W))"),
    ("sum(W*W)", "W", {"W": "2x3"}, "vec(2*W)'", "vec(2*W)"),
    ("sin(W)", "W", {"W": "2x3"}, "diag(vec(cos(W)))", "diag(vec(cos(W)))"),
    ("A*B", "A", {"A": "2x3"}, "diag(vec(B))", "diag(vec(B))"),
    ("(A*a)' @ x", "a", {"A": "3x2", "a": "scalar"}, "A' @ x", "x' @ A"),
    ("x' @ A @ x", "x", {"A": "3x3"}, "x' @ (A' + A)", "(A' + A) @ x"),
    ("W@x + b", "W,x", {"W": "2x3"}, "hstack(kron(eye(2), x'), W)", "vstack(kron(eye(2), x), W')"),
]


@pytest.mark.parametrize("text,wrt,shapes,numerator,denominator", FORMS,
                         ids=[f"{c[0]}|{c[1]}" for c in FORMS])
def test_closed_forms(text, wrt, shapes, numerator, denominator):
    """The closed forms in SPEC.md's notation (kron(A, B), vec, I, ' ...), in each layout."""
    for layout, form in (("numerator", numerator), ("denominator", denominator)):
        (j,) = jac_json(text, wrt=[wrt], shapes=shapes, layout=layout)["jacobians"]
        assert j["symbolic"] == form, (text, wrt, layout)


# ---------------------------------------------------------------- structure and diagonal flags

STRUCTURE = [
    # expression, wrt, shapes, structure, diagonal
    ("A*B", "A", {"A": "2x3", "B": "2x3"}, "diagonal", True),    # element-wise stays diagonal (mn)
    ("sin(W)", "W", {"W": "2x3"}, "diagonal", True),
    ("relu(W)", "W", {"W": "2x3"}, "diagonal", True),
    ("W^2 + W", "W", {"W": "2x3"}, "diagonal", True),
    ("W", "W", {"W": "2x3"}, "identity", True),
    ("-W", "W", {"W": "2x3"}, "scaled_identity", True),
    ("A + A", "A", {"A": "2x3"}, "scaled_identity", True),
    ("3*W", "W", {"W": "2x3"}, "scaled_identity", True),
    ("(A')'", "A", {"A": "2x3"}, "identity", True),          # K(3,2)·K(2,3) = I
    ("(A')' * B", "A", {"A": "2x3", "B": "2x3"}, "diagonal", True),
    ("A - A", "A", {"A": "2x3"}, "zero", True),
    ("A'", "A", {"A": "2x3"}, None, False),
    ("A'", "A", {"A": "3x3"}, None, False),
    ("A - A'", "A", {"A": "3x3"}, None, False),
    ("A' * B", "A", {"A": "2x3", "B": "3x2"}, None, False),   # diag · K: a permutation
    ("A@B", "A", {"A": "3x3", "B": "3x3"}, "dense", False),
    ("W@x", "W", {"W": "2x3"}, "dense", False),
    ("sum(W*W)", "W", {"W": "2x3"}, "dense", False),
    ("sum(x)", "W", {"W": "2x3"}, "zero", False),             # 1×6: zero, not square
    ("sum(x)", "W", {"W": "1x1"}, "zero", True),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("text,wrt,shapes,structure,diagonal", STRUCTURE,
                         ids=[f"{c[0]}|{c[1]}|{c[2]}" for c in STRUCTURE])
def test_structure_and_diagonal(text, wrt, shapes, structure, diagonal, layout):
    doc = jac_json(text, wrt=[wrt], shapes=shapes, layout=layout)
    (j,) = doc["jacobians"]
    if structure is not None:
        assert j["structure"] == structure, j
    else:
        assert j["structure"] not in ("zero", "identity", "scaled_identity", "diagonal"), j
    assert j["diagonal"] is diagonal, j
    # and the numbers agree with the flag, at a random point
    names = set(re.findall(r"[A-Za-z]\w*", text)) - {"sin", "relu", "sum"}
    sh = {n: tuple(int(s) for s in shapes[n].split("x")) if n in shapes else (3,) for n in names | {wrt}}
    values = _values(21, **sh)
    (jv,) = jac_json(text, wrt=[wrt], values=_lists(values), layout=layout)["jacobians"]
    assert (jv["structure"], jv["diagonal"]) == (j["structure"], j["diagonal"])
    got = _matrix(jv)
    if wrt in names:
        expected = numeric_jacobian(text, values, [wrt])
        np.testing.assert_allclose(got, expected if layout == "numerator" else expected.T,
                                   rtol=RTOL, atol=ATOL)
    else:
        assert not got.any() and any("does not appear" in w for w in doc.get("warnings", []))
    if diagonal:
        _check_really_diagonal(got, jv, text)
    elif got.shape[0] == got.shape[1] and structure != "zero":
        assert np.any(got[~np.eye(got.shape[0], dtype=bool)] != 0)


# SPEC.md: "`diagonal` is true exactly when the Jacobian is square and every off-diagonal
# entry is zero for all values of the variables: decided from the derivation", and "a zero
# Jacobian is diagonal when square". These Jacobians are diagonal (or zero) for every value,
# and the derivation shows it: K·diag(vec(P))·Kᵀ = diag(vec(Pᵀ)) and K - K = 0.
MISSED_DIAGONAL = [
    ("sin(A')'", {"A": "2x3"}, "K(3,2)·diag(vec(cos(A')))·K(2,3) = diag(vec(cos(A)))"),
    ("(A'*B')'", {"A": "2x3", "B": "2x3"}, "K·diag(vec(B'))·K' = diag(vec(B))"),
    ("A' - A'", {"A": "2x3"}, "K(2,3) - K(2,3) = 0, a square zero Jacobian"),
]


@pytest.mark.parametrize("text,shapes,why", MISSED_DIAGONAL, ids=[c[0] for c in MISSED_DIAGONAL])
def test_diagonal_through_a_double_transpose(text, shapes, why):
    names = sorted(shapes)
    values = _values(22, **{n: tuple(int(s) for s in shapes[n].split("x")) for n in names})
    (j,) = jac_json(text, wrt=["A"], values=_lists(values))["jacobians"]
    got = _matrix(j)
    assert not np.any(got[~np.eye(got.shape[0], dtype=bool)])   # really diagonal: the oracle
    np.testing.assert_allclose(got, numeric_jacobian(text, values, ["A"]), atol=ATOL)
    assert j["diagonal"] is True, (text, why, j["symbolic"], j["structure"])


# ---------------------------------------------------------------- symbolic sizes

def _size(text, env: dict) -> int:
    """A reported size (an int, or a string such as "m*n+n") at integer symbol values."""
    if isinstance(text, int):
        return text
    tree = ast.parse(str(text).replace("^", "**"), mode="eval")

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.BinOp):
            ops = {ast.Add: lambda a, b: a + b, ast.Mult: lambda a, b: a * b,
                   ast.Sub: lambda a, b: a - b, ast.Pow: lambda a, b: a ** b}
            return ops[type(node.op)](ev(node.left), ev(node.right))
        raise AssertionError(f"unexpected size {text!r}")
    return ev(tree)


SYMBOLIC = [
    # expression, wrt, (rows, cols) of the numerator Jacobian from the variables' dims
    ("W@x", "W", lambda d: (d["W"][0], d["W"][0] * d["W"][1])),
    ("x@W", "W", lambda d: (d["W"][1], d["W"][0] * d["W"][1])),
    ("A@B", "A", lambda d: (d["A"][0] * d["B"][1], d["A"][0] * d["A"][1])),
    ("A@B", "B", lambda d: (d["A"][0] * d["B"][1], d["B"][0] * d["B"][1])),
    ("A'", "A", lambda d: (d["A"][0] * d["A"][1],) * 2),
    ("A - A'", "A", lambda d: (d["A"][0] ** 2,) * 2),
    ("B' @ B", "B", lambda d: (d["B"][1] ** 2, d["B"][0] * d["B"][1])),
    ("sum(W*W)", "W", lambda d: (1, d["W"][0] * d["W"][1])),
    ("logsumexp(A)", "A", lambda d: (1, d["A"][0] * d["A"][1])),
    ("W@x + b", "W,x", lambda d: (d["W"][0], d["W"][0] * d["W"][1] + d["x"][0])),
    ("x' @ A @ x", "A", lambda d: (1, d["x"][0] ** 2)),
    ("(A*a)' @ x", "a", lambda d: (d["A"][1], 1)),    # needs --shape a=scalar (SPEC rule 3)
]
DECLARED = {"(A*a)' @ x": {"a": "scalar"}}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("text,wrt,expect", SYMBOLIC, ids=[f"{c[0]}|{c[1]}" for c in SYMBOLIC])
def test_symbolic_sizes(text, wrt, expect, layout):
    doc = jac_json(text, wrt=[wrt], shapes=DECLARED.get(text), layout=layout)
    (j,) = doc["jacobians"]
    assert "value" not in j or j["value"] is None
    rows, cols = j["shape"]
    assert any(isinstance(dim, str) for dim in (rows, cols)), j["shape"]   # symbolic sizes
    dims_text = [rows, cols] + [d for var in doc["variables"].values() for d in var["shape"]]
    symbols = sorted({s for dim in dims_text if isinstance(dim, str)
                      for s in re.findall(r"[A-Za-z]\w*", dim)})
    for d in (rows, cols):
        assert isinstance(d, int) or re.fullmatch(r"[a-z0-9*+^ ()]+", d), d
    for trial, base in enumerate([(2, 3, 5, 7), (3, 4, 2, 6), (5, 2, 7, 3)]):
        env = dict(zip(symbols, base))
        dims = {name: tuple(_size(s, env) for s in var["shape"])
                for name, var in doc["variables"].items()}
        want = expect(dims)
        if layout == "denominator":
            want = want[::-1]
        assert (_size(rows, env), _size(cols, env)) == want, (text, j["shape"], doc["variables"])


def test_symbolic_shape_strings():
    """SPEC.md: "A size that combines symbols is written as an expression: ... "m*n"."""
    (j,) = jac_json("W@x", wrt=["W"], shapes={"W": "m,n"})["jacobians"]
    assert j["shape"] == ["m", "m*n"]
    (j,) = jac_json("W@x + b", wrt=["W,x"], shapes={"W": "m,n"})["jacobians"]
    assert j["shape"] == ["m", "m*n+n"]
    (j,) = jac_json("W@x", wrt=["W"], shapes={"W": "m,n"}, layout="denominator")["jacobians"]
    assert j["shape"] == ["m*n", "m"]


def test_matrices_only_when_named():
    """Default --wrt: every scalar and vector variable; matrices only when named."""
    doc = jac_json("W@x + b")
    assert [j["wrt"] for j in doc["jacobians"]] == ["x", "b"]
    assert doc["variables"]["W"]["kind"] == "matrix"


def test_matrix_output_and_variable_kinds():
    v = _values(23, A=(2, 3), B=(3, 4))
    doc = jac_json("A@B", wrt=["A"], values=_lists(v))
    assert {k: doc["output"][k] for k in ("kind", "shape")} == {"kind": "matrix", "shape": [2, 4]}
    assert doc["variables"]["A"] == {"kind": "matrix", "shape": [2, 3]}
    np.testing.assert_allclose(np.array(evaluate("A@B", v)), v["A"] @ v["B"])
    np.testing.assert_allclose(np.array(doc["output"]["value"]), v["A"] @ v["B"])


# ---------------------------------------------------------------- Hypothesis: random matrix expressions

MATS = {"A": (2, 3), "B": (3, 3), "C": (3, 2)}
VECS = {"x": (3,), "u": (2,)}
SCALARS = {"a": ()}
ALL = {**MATS, **VECS, **SCALARS}
SMOOTH = ["sin", "cos", "tanh", "sigmoid"]
KINKED = ["abs", "relu"]


def _by_shape(shape):
    return [n for n, s in ALL.items() if s == shape]


@st.composite
def expr_of(draw, shape: tuple, depth: int) -> str:
    """Text of an expression whose value has `shape` (fully parenthesised)."""
    leaves = _by_shape(shape)
    if len(shape) == 2:                          # C' is a 2x3 leaf too
        leaves = leaves + [n + "'" for n in _by_shape(shape[::-1])]
    if depth <= 0 or (leaves and draw(st.integers(0, 4)) == 0):
        if leaves:
            return draw(st.sampled_from(leaves))
        if len(shape) == 2:                      # (2, 2): only products reach it
            return f"({draw(expr_of((2, 3), 0))} @ {draw(expr_of((3, 2), 0))})"
        return draw(expr_of(shape, 1))
    d = depth - 1
    options = ["elementwise", "function", "scale"]
    if len(shape) == 2:
        options += ["transpose", "transpose", "matmul", "matmul"]
    elif len(shape) == 1:
        options += ["matvec", "vecmat", "matvec"]
    else:
        options += ["reduce", "reduce", "quad", "dotvec"]
    how = draw(st.sampled_from(options))
    if how == "elementwise":
        op = draw(st.sampled_from(["+", "-", "*", "*"]))
        return f"({draw(expr_of(shape, d))} {op} {draw(expr_of(shape, d))})"
    if how == "function":
        name = draw(st.sampled_from(SMOOTH + KINKED + ["square", "div"]))
        inner = draw(expr_of(shape, d))
        if name == "square":
            return f"({inner})^2"
        if name == "div":                        # a positive denominator
            return f"({inner} / (1.5 + sin({draw(expr_of(shape, d))})))"
        return f"{name}({inner})"
    if how == "scale":
        c = draw(st.sampled_from(["a", "2", "0.5", f"sum({draw(expr_of((3,), 0))})"]))
        return f"({c} * {draw(expr_of(shape, d))})"
    if how == "transpose":
        return f"({draw(expr_of(shape[::-1], d))})'"
    if how == "matmul":
        k = draw(st.sampled_from([2, 3]))
        return f"({draw(expr_of((shape[0], k), d))} @ {draw(expr_of((k, shape[1]), d))})"
    if how == "matvec":
        k = draw(st.sampled_from([2, 3]))
        return f"({draw(expr_of((shape[0], k), d))} @ {draw(expr_of((k,), d))})"
    if how == "vecmat":
        k = draw(st.sampled_from([2, 3]))
        return f"({draw(expr_of((k,), d))} @ {draw(expr_of((k, shape[0]), d))})"
    if how == "reduce":
        f = draw(st.sampled_from(["sum", "mean", "logsumexp", "norm", "sum"]))
        m = draw(st.sampled_from([(2, 3), (3, 3), (3, 2), (3,)] if f != "norm" else [(3,), (2,)]))
        return f"{f}({draw(expr_of(m, d))})"
    if how == "quad":
        m = draw(st.sampled_from([(2, 3), (3, 3), (3, 2)]))
        return f"({draw(expr_of((m[0],), 0))} @ {draw(expr_of(m, d))} @ {draw(expr_of((m[1],), 0))})"
    k = draw(st.sampled_from([2, 3]))
    return f"({draw(expr_of((k,), d))} @ {draw(expr_of((k,), d))})"


@st.composite
def cases(draw):
    shape = draw(st.sampled_from([(), (2,), (3,), (2, 3), (3, 3), (3, 2)]))
    text = draw(expr_of(shape, draw(st.integers(2, 3))))
    present = [n for n in ALL if re.search(rf"\b{n}\b", text)]
    mats = [n for n in present if n in MATS]
    assume(mats)
    wrt = draw(st.sampled_from(mats))
    if draw(st.booleans()):
        others = [n for n in present if n != wrt]
        if others:
            wrt = wrt + "," + draw(st.sampled_from(others))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    return text, shape, wrt, seed


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(cases())
def test_random_matrix_expressions(case):
    text, shape, wrt, seed = case
    rng = np.random.default_rng(seed)
    values = {n: (float(rng.uniform(0.3, 1.2)) if s == () else rng.uniform(-1.2, 1.2, size=s))
              for n, s in ALL.items() if re.search(rf"\b{n}\b", text)}
    assume(hazard(text, values) > 1e-3)              # away from kinks and domain edges
    out = np.asarray(evaluate(text, values), dtype=float)
    assume(np.all(np.isfinite(out)) and np.max(np.abs(out), initial=0) < 1e4)
    assert out.shape == shape, (text, out.shape)      # the generator's shapes are right

    expected = numeric_jacobian(text, values, wrt.split(","))
    assume(np.max(np.abs(expected), initial=0) < 1e4)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0)))
    num = None
    for layout in LAYOUTS:
        doc = jac_json(text, wrt=[wrt], values=_lists(values), layout=layout)
        (j,) = doc["jacobians"]
        got = _matrix(j)
        want = expected if layout == "numerator" else expected.T
        assert got.shape == want.shape, (text, wrt, layout, j["shape"])
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale,
                                   err_msg=f"{text} wrt {wrt} ({layout}): {j['symbolic']}")
        if j["diagonal"]:
            _check_really_diagonal(got, j, text)
        if num is None:
            num = got
        else:
            np.testing.assert_allclose(got, num.T, rtol=1e-12, atol=1e-12)
