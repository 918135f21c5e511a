"""Large numbers cost what they must: an evaluation that releases intermediate arrays and
writes elementwise results into spare ones gives the same numbers as one that keeps every
array; memory stays near the inputs plus the answers (tracemalloc, NumPy included); the
--save archive is written from the arrays' own memory, and is a zip every reader accepts.
"""
from __future__ import annotations

import math
import warnings
import zipfile

import numpy as np
import pytest

from jaccli import archive as archive_module
from jaccli.api import compute
from jaccli.emit import module_text
from jaccli.archive import Archive
from jaccli.evaluate import Evaluator, all_finite
from jaccli.expr import Expr
from jaccli.jacobians import Product
from runjac import one, peak_bytes

RNG = np.random.default_rng(11)
X, Y, Z = RNG.normal(size=5), RNG.normal(size=5), RNG.normal(size=5) + 3
A, B = RNG.normal(size=(5, 5)), RNG.normal(size=(5, 5))

# Closed forms whose subexpressions are shared, used twice by one node (s * s), summed
# three at a time, viewed (transpose, vec) or handed out while still needed elsewhere.
SHARED = [
    ("sigmoid(x) * y", {"x": X, "y": Y}),
    ("sin(x) * sin(x) + exp(x)", {"x": X}),
    ("exp(x) + exp(x) + exp(x) * y", {"x": X, "y": Y}),
    ("tanh(x + y) * (x + y) - tanh(x + y)", {"x": X, "y": Y}),
    ("log(z) / z + sqrt(z) * log(z)", {"z": Z}),
    ("relu(x - y) / (1 + exp(x - y))", {"x": X, "y": Y}),
    ("tanh(A @ x) * tanh(A @ x)", {"A": A, "x": X}),
    ("sum(exp(x) * y) * exp(x)", {"x": X, "y": Y}),
    ("(A * B)' @ x + (A * B) @ y", {"A": A, "B": B, "x": X, "y": Y}),
    ("vec(A * B) * vec(A * B)", {"A": A, "B": B}),
    ("softmax(x) * sigmoid(x) ^ 2", {"x": X}),
    ("max(x, y) * min(x, y) + abs(x) ^ 3", {"x": X, "y": Y}),
    ("tanh(x)", {"x": X}),                      # f is handed out, then d/dx reads it
    ("sigmoid(x) * x", {"x": X}),
    ("exp(A)' + exp(A) * 2", {"A": A}),          # a view of exp(A) outlives its last user
]


def _unplanned(result):
    """Every number of `result` again, each root by an evaluator of its own that keeps
    every array and writes into none."""
    output = Evaluator(result.values)(result.tree)
    return output, [Evaluator(result.values).jacobian(jr.jacobian).dense()
                    for jr in result.jacobians]


@pytest.mark.parametrize("layout,wrt", [("numerator", "all"), ("denominator", "all"),
                                        ("numerator", "none")])
@pytest.mark.parametrize("text,values", SHARED, ids=[t for t, _ in SHARED])
def test_released_and_reused_arrays_give_the_same_numbers(text, values, layout, wrt):
    """With Jacobians for every name, and for f alone (whose arrays then have fewer uses)."""
    before = {k: v.copy() for k, v in values.items()}
    groups = [[n] for n in values] if wrt == "all" else []
    result = compute(text, wrt=groups, values=dict(values), layout=layout)
    output, jacobians = _unplanned(result)
    np.testing.assert_array_equal(result.output_value, output)
    for jr, expected in zip(result.jacobians, jacobians):
        np.testing.assert_array_equal(jr.value.dense(), expected)
    for name, value in values.items():      # no input is ever written into
        np.testing.assert_array_equal(value, before[name])


def test_sigmoid_times_y_matches_its_formula():
    """An independent oracle for the case the benchmark times: s = 1/(1+e^-x),
    d/dx = y s (1 - s), d/dy = s."""
    result = compute("sigmoid(x) * y", values={"x": X, "y": Y})
    s = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(result.output_value, s * Y, rtol=1e-15)
    jx, jy = result.jacobians
    np.testing.assert_allclose(jx.value.d, Y * s * (1 - s), rtol=1e-14)
    np.testing.assert_allclose(jy.value.d, s, rtol=1e-15)


def test_a_sum_that_repeats_a_term_reads_it_before_writing_over_it():
    """exp(x) + y + exp(x) as one node (the smart constructors would collect the terms)."""
    x, y = Expr("var", value="x", shape=(5,)), Expr("var", value="y", shape=(5,))
    e = Expr("exp", (x,), shape=(5,))
    for terms in [(e, y, e), (y, e, e), (e, e, y), (y, y, e)]:
        ev = Evaluator({"x": X, "y": Y})
        total = Expr("add", terms, shape=(5,))
        ev.expect([total])
        expected = sum({"exp": np.exp(X), "var": Y}[t.op] for t in terms)
        np.testing.assert_allclose(ev(total), expected, rtol=1e-15)


def test_asking_for_more_than_announced_evaluates_again():
    ev = Evaluator({"x": X})
    result = compute("exp(x) * x", values={"x": X})
    ev.expect([result.tree])
    first = ev(result.tree)
    np.testing.assert_array_equal(ev(result.tree), first)      # released, then made again
    np.testing.assert_array_equal(ev(result.tree.args[0]), np.exp(X))


def test_sigmoid_keeps_its_precision_far_below_zero():
    """(1 + tanh(x/2)) / 2 rounds to 0 below about -37; 1/(1+exp(-x)) does not."""
    x = np.array([-40.0, -300.0, -1000.0, 0.0, 40.0])
    result = compute("sigmoid(x)", values={"x": x})
    expected = [1 / (1 + math.exp(40)), 1 / (1 + math.exp(300)), 0.0, 0.5, 1 / (1 + math.exp(-40))]
    np.testing.assert_allclose(result.output_value, expected, rtol=1e-15, atol=0)
    assert result.warnings == []          # exp(1000) overflows on the way to an exact 0
    module = {}
    exec(module_text(result), module)       # --emit numpy: the same numbers, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(module["f"](x=x), expected, rtol=1e-15, atol=0)


def test_all_finite_answers_like_isfinite():
    for a in (np.array([1.0, 2.0]), np.array([1e308, 1e308]), np.array([1.0, np.nan]),
              np.array([np.inf, -np.inf]), np.array([[1.0, np.inf]]), np.empty(0), 2.0, np.nan):
        assert all_finite(a) == bool(np.all(np.isfinite(a))), a


# ------------------------------------------------------------------------ memory, counted

N = 10 ** 6
ARRAY = 8 * N


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("numbers")
    x, y = RNG.normal(size=N), RNG.normal(size=N)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return folder, x, y


def test_a_large_run_holds_the_inputs_and_three_more_arrays(inputs, tmp_path):
    """`jac "sigmoid(x) * y" --at x=@x.npy --at y=@y.npy --json --save out.npz`, n = 10^6:
    the two inputs, sigmoid(x) (also d/dy), f = sigmoid(x) * y and d/dx, and nothing near
    another array: no temporary per operation, no copy of an array to write it, no dense
    10^6 x 10^6 matrix (8 TB)."""
    folder, x, y = inputs
    one("x", at=["x=1"])                      # the parser, built once per process
    save = tmp_path / "out.npz"
    answers = []
    at = [f"x=@{folder / 'x.npy'}", f"y=@{folder / 'y.npy'}"]
    peak = peak_bytes(lambda: answers.append(one("sigmoid(x) * y", at=at, save=str(save))))
    status, doc, _ = answers[0]
    assert status == 0, doc
    assert peak < 5.5 * ARRAY, f"peak {peak / ARRAY:.1f} arrays of {N} numbers"
    s = 1 / (1 + np.exp(-x))
    with np.load(save) as saved:
        assert saved["x"].shape == saved["y"].shape == (N,)     # diagonals stay vectors
        np.testing.assert_allclose(saved["x"], y * s * (1 - s), rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(saved["y"], s, rtol=1e-15)


def test_an_array_is_written_to_the_archive_without_a_copy(tmp_path):
    big = RNG.normal(size=N)
    target = Archive(str(tmp_path / "a.npz"))
    peak = peak_bytes(lambda: (target.add("x", big), target.add("t", big.reshape(1000, 1000).T)))
    target.commit()
    assert peak < 0.05 * ARRAY, f"peak {peak / ARRAY:.2f} arrays"
    with np.load(tmp_path / "a.npz") as saved:
        np.testing.assert_array_equal(saved["x"], big)
        np.testing.assert_array_equal(saved["t"], big.reshape(1000, 1000).T)


M = 1500       # W is M x M: 18 MB


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_a_diagonal_times_a_matrix_goes_into_the_archive_a_block_at_a_time(tmp_path, layout):
    """tanh(W @ x) wrt x is diag(1 - t²)·W: with --save the run holds W and a block of the
    product, never the whole product (NumPy's closed form holds both)."""
    w = RNG.normal(size=(M, M)) / 40
    x = RNG.normal(size=M)
    np.save(tmp_path / "W.npy", w)
    np.save(tmp_path / "x.npy", x)
    one("x", at=["x=1"])
    save = tmp_path / "out.npz"
    answers = []
    at = [f"W=@{tmp_path / 'W.npy'}", f"x=@{tmp_path / 'x.npy'}"]
    peak = peak_bytes(lambda: answers.append(
        one("tanh(W @ x)", wrt=["x"], at=at, save=str(save), layout=layout)))
    status, doc, _ = answers[0]
    assert status == 0, doc
    assert doc["jacobians"][0]["value"] is None and "warnings" not in doc
    assert peak < 1.3 * w.nbytes, f"peak {peak / w.nbytes:.2f} times W"
    t = np.tanh(w @ x)
    expected = (1 - t * t)[:, None] * w
    with np.load(save) as saved:
        np.testing.assert_allclose(saved["x"], expected if layout == "numerator" else expected.T,
                                   rtol=1e-12, atol=1e-300)


FACTORS = [   # (scale, matrix): finite, overflowing, with NaN, inf times 0, empty
    (np.array([2.0, -3.0]), np.array([[1.0, 2.0], [3.0, -4.0]])),
    (np.array([1e200, 1.0]), np.array([[1e200, 1.0], [1.0, 1.0]])),
    (np.array([1e200, 1.0]), np.array([[1.0, 1e200], [1.0, 1.0]])),
    (np.array([1.0, np.nan]), np.eye(2)),
    (np.array([0.0, 1.0]), np.array([[np.inf, 1.0], [1.0, 1.0]])),
    (np.ones(3), np.empty((3, 0))),
    (np.ones(2), np.array([[np.nan, 1.0], [1.0, 1.0]])),
    (np.ones(2), np.array([[1.0, 1.0], [-np.inf, 1.0]])),
]


@pytest.mark.parametrize("side", ["rows", "cols"])
@pytest.mark.parametrize("scale,m", FACTORS)
def test_a_factored_product_has_the_numbers_of_the_product(scale, m, side):
    from jaccli.values import ScaledValue
    m = m if side == "rows" else m.T
    value = ScaledValue(scale, m, side)
    expected = np.empty(m.shape)       # entry by entry, as floats multiply
    for i, j in np.ndindex(m.shape):
        expected[i, j] = float(scale[i if side == "rows" else j]) * float(m[i, j])
    assert value.all_finite() == bool(np.all(np.isfinite(expected)))
    np.testing.assert_array_equal(value.dense(), expected)
    for whole in (value, value.T):
        blocks = list(whole.row_blocks())
        made = np.vstack(blocks) if blocks else np.empty((0, whole.shape[1]))
        made = made.T if whole.fortran else made
        np.testing.assert_array_equal(made.reshape(whole.shape), whole.dense())


def test_an_overflowing_product_of_finite_factors_is_reported():
    """diag(exp(x))·W with exp(x) near 1e199 and W near 1e200: each factor is finite, the
    Jacobian is not."""
    x, w, y = np.array([458.0, 0.0]), np.array([[1e200, 1.0], [1.0, 1.0]]), np.ones(2)
    result = compute("exp(x) * (W @ y)", wrt=[["y"]], shapes={"x": (2,), "W": (2, 2), "y": (2,)})
    assert isinstance(result.jacobians[0].jacobian, Product), result.jacobians[0].jacobian
    for layout_j in (result.jacobians[0].jacobian, result.jacobians[0].jacobian.T):
        ev = Evaluator({"x": x, "W": w, "y": y})
        value = ev.jacobian(layout_j)
        assert not np.all(np.isfinite(value.dense()))
        assert any("infinite values" in warning for warning in ev.warnings), ev.warnings


# ------------------------------------------------------------------------ the zip itself

ARRAYS = {
    "c": np.arange(12.0).reshape(3, 4),
    "f": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "strided": np.arange(24.0).reshape(4, 6)[::2, ::3],
    "broadcast": np.broadcast_to(2.5, (300_000,)),          # a scaled identity's diagonal
    "empty": np.empty((0, 3)),
    "1/αβ": np.ones(2),                                      # a batch key, a UTF-8 name
    "x,y": np.eye(2),
}


@pytest.mark.parametrize("zip64", [None, True])
def test_the_archive_is_a_zip_that_numpy_and_zipfile_read(tmp_path, monkeypatch, zip64):
    if zip64:       # the end records of an archive past 4 GB or 65535 entries
        directory = archive_module._directory
        monkeypatch.setattr(archive_module, "_directory",
                            lambda entries, start: directory(entries, start, zip64=True))
    target = Archive(str(tmp_path / "a.npz"))
    for key, array in ARRAYS.items():
        target.add(key, array)
    target.commit()
    with zipfile.ZipFile(tmp_path / "a.npz") as z:
        assert z.testzip() is None                           # every CRC checks
        assert z.namelist() == [key + ".npy" for key in ARRAYS]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
    with np.load(tmp_path / "a.npz") as saved:
        assert saved.files == list(ARRAYS)
        for key, array in ARRAYS.items():
            assert saved[key].shape == array.shape
            np.testing.assert_array_equal(saved[key], array)


def test_an_archive_with_nothing_in_it_is_an_empty_zip(tmp_path):
    target = Archive(str(tmp_path / "a.npz"))
    target.commit()
    with np.load(tmp_path / "a.npz") as saved:
        assert saved.files == []
    assert zipfile.ZipFile(tmp_path / "a.npz").namelist() == []
