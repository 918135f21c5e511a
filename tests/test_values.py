"""Numbers stay honest: values that are not finite, domain errors, stable functions at large
inputs, values that contradict a declaration, malformed @FILEs, a 10^6-element diagonal
that never becomes a matrix, and declared sizes up to 10^18 that never allocate.
"""
from __future__ import annotations

import json
import tracemalloc
import warnings

import numpy as np
import pytest

from runjac import NON_FINITE, check_answer, numbers_of, one, peak_bytes, python_calls, run_jac

NO_NUMPY_WARNINGS = pytest.mark.filterwarnings("error::RuntimeWarning")


# ------------------------------------------------------------------------ not finite, honestly

HONEST = [
    # expression, --at values, what a warning must mention
    ("x * y", ["x=nan,1", "y=2,3"], "value of x"),
    ("x * y", ["x=inf,1", "y=2,3"], "value of x"),
    ("x * y", ["x=[-Infinity, 1]", "y=2,3"], "value of x"),
    ("x * y", ["x=1e308,1", "y=10,1"], "overflow"),
    ("x ^ 2", ["x=1e308,1"], "overflow"),
    ("exp(x)", ["x=1000,1"], "overflow"),
    ("log(x)", ["x=-1,2"], "log of a value <= 0"),
    ("log(x)", ["x=0,2"], "log of a value <= 0"),
    ("sqrt(x)", ["x=-4,4"], "sqrt of a negative value"),
    ("1 / x", ["x=0,1"], "division by zero"),
    ("x / y", ["x=1,2", "y=0,1"], "division by zero"),
    ("x ^ 0.5", ["x=-1,4"], "fractional power"),
    ("sum(log(x))", ["x=-1,2,3"], "log of a value <= 0"),
    ("W @ x", ["W=[[1e308, 1e308], [1, 1]]", "x=10,1"], "overflow"),
    ("x * 1e400", ["x=1,2"], "beyond the floating-point range"),
]


@NO_NUMPY_WARNINGS
@pytest.mark.parametrize("expression,at,words", HONEST, ids=[f"{e} {a}" for e, a, _ in HONEST])
def test_non_finite_numbers_come_with_warnings(expression, at, words):
    status, doc, err = one(expression, at=at)
    assert status == 0 and check_answer(doc, err) == "ok"
    assert any(words in w for w in doc["warnings"]), doc["warnings"]
    for w in doc["warnings"]:
        assert f"jac: warning: {w}" in err           # the same note on stderr
    assert "RuntimeWarning" not in err


def test_non_finite_numbers_are_strings_in_json():
    status, doc, _ = one("x * y", at=["x=nan,inf", "y=1,-inf"], wrt=["y"])
    assert doc["jacobians"][0]["diag"] == ["NaN", "Infinity"]
    assert set(x for x in numbers_of(doc) if isinstance(x, str)) <= NON_FINITE


@NO_NUMPY_WARNINGS
def test_large_finite_values_stay_exact():
    status, doc, err = one("x * y", at=["x=1e308,-1e308", "y=1,0.5"], wrt=["y"])
    assert doc["jacobians"][0]["diag"] == [1e308, -1e308]
    assert "warnings" not in doc and err == ""


def test_installed_jac_never_prints_numpy_warnings():
    r = run_jac(["log(x) + sqrt(x) + 1/x", "--at", "x=-1,0,2", "--json"],
                env={"PYTHONWARNINGS": "error::RuntimeWarning"})
    stderr = r.stderr.decode()
    assert r.returncode == 0, stderr
    assert "RuntimeWarning" not in stderr and "Traceback" not in stderr
    doc = json.loads(r.stdout)
    assert doc["warnings"] and all(f"jac: warning: {w}" in stderr for w in doc["warnings"])


# ------------------------------------------------------------------------ stable at |x| = 1000

BIG = "x=-1000,-30,0,30,1000"


def _sigmoid(z):
    return np.exp(-np.logaddexp(0, -z))


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@NO_NUMPY_WARNINGS
@pytest.mark.parametrize("expression,expected", [
    ("sigmoid(x)", lambda z: np.diag(_sigmoid(z) * _sigmoid(-z))),
    ("softmax(x)", lambda z: np.diag(_softmax(z)) - np.outer(_softmax(z), _softmax(z))),
    ("logsumexp(x)", lambda z: _softmax(z)[None, :]),
    ("log(softmax(x))", lambda z: np.eye(z.size) - np.outer(np.ones(z.size), _softmax(z))),
    ("sum(log(softmax(x)))", lambda z: (np.ones(z.size) - z.size * _softmax(z))[None, :]),
    ("-sum(y * log(softmax(x)))", None),
])
def test_stable_functions_stay_finite_at_large_inputs(expression, expected):
    at = [BIG] + (["y=0,0,0,0,1"] if "y" in expression else [])   # an unused value warns
    status, doc, err = one(expression, at=at, wrt=["x"])
    assert status == 0 and "warnings" not in doc, doc.get("warnings")
    value = np.array(doc["jacobians"][0]["value"], dtype=float)
    assert np.all(np.isfinite(value))
    if expected is not None:
        z = np.array([-1000, -30, 0, 30, 1000], dtype=float)
        np.testing.assert_allclose(value, expected(z), atol=1e-12)


@NO_NUMPY_WARNINGS
@pytest.mark.parametrize("expression", ["sigmoid(x)", "softmax(x)", "logsumexp(x)",
                                        "log(softmax(x))"])
def test_stable_functions_themselves_give_no_warning(expression):
    from jaccli.evaluate import Evaluator
    from jaccli.shapes import infer
    from jaccli.syntax import parse
    x = np.array([-1000.0, 0.0, 1000.0])
    typed, _ = infer(parse(expression), {"x": (3,)}, [])
    ev = Evaluator({"x": x})
    assert np.all(np.isfinite(ev(typed))) and ev.warnings == []


# ------------------------------------------------------------------------ values against declarations

@pytest.mark.parametrize("expression,shapes,at", [
    ("sum(x)", {"x": "3"}, ["x=1,2"]),
    ("sum(x)", {"x": "scalar"}, ["x=1,2,3"]),
    ("sum(x)", {"x": "3"}, ["x=[[1,2,3]]"]),
    ("sum(x)", {"x": "3"}, ["x=5"]),
    ("W @ x", {"W": "2x3"}, ["W=[[1,2],[3,4],[5,6]]"]),
    ("W @ x", {"x": "3"}, ["W=[[1,2],[3,4]]"]),
    ("W @ x", {}, ["W=[[1,2,3],[4,5,6]]", "x=1,2"]),
    ("x * y", {}, ["x=1,2", "y=1,2,3"]),
    ("x + b", {"b": "scalar"}, ["b=1,2"]),
])
def test_a_value_contradicting_a_shape_is_a_shape_error(expression, shapes, at):
    status, doc, err = one(expression, shapes=shapes, at=at)
    assert status == 1 and doc["error"]["type"] == "shape", doc
    assert err.startswith("jac: shape error")


def test_a_value_fixes_a_symbolic_declaration():
    status, doc, _ = one("sum(x)", shapes={"x": "n"}, at=["x=1,2,3"])
    assert status == 0 and doc["variables"]["x"]["shape"] == [3]


# ------------------------------------------------------------------------ malformed values

def _npy_header_only(path, shape):
    import numpy.lib.format as fmt
    with open(path, "wb") as f:
        fmt.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": shape})
        f.write(b"\0" * 64)


def _truncated_npy(path):
    np.save(path, np.arange(1000.0))
    data = path.read_bytes()
    path.write_bytes(data[:300])


BAD_FILES = {
    "empty.txt": b"",
    "empty.json": b"",
    "empty.npy": b"",
    "blank-lines.txt": b"\n\n  \n# only a comment\n",
    "junk.txt": bytes(range(256)) * 3,
    "junk": b"\x89PNG\r\n\x1a\n" + bytes(range(200)),
    "nul.txt": b"1 2\x00 3\n",
    "latin1.txt": "1 2 \u00e9".encode("latin-1"),
    "ragged.txt": b"1 2 3\n4 5\n",
    "words.txt": b"1 2 three\n",
    "ragged.json": b"[[1, 2], [3]]",
    "cube.json": b"[[[1, 2]], [[3, 4]]]",
    "syntax.json": b"[1, 2,",
    "null.json": b"[1, null]",
    "strings.json": b'["1", "2"]',
    "bools.json": b"[true, false]",
    "object.json": b'{"x": [1, 2]}',
    "deep.json": b"[" * 100000 + b"1" + b"]" * 100000,
    "empty-list.json": b"[]",
    "junk.npy": b"\x93NUMPY\x09\x00garbage" + bytes(range(100)),
    "not-npy.npy": b"just text, not numpy",
    "pickle.npy": None,          # made below: object dtype
    "complex.npy": None,
    "strings.npy": None,
    "cube.npy": None,
    "zero-size.npy": None,
    "truncated.npy": None,
    "huge-header.npy": None,
    "npy-as.txt": None,
}


def _make(path):
    name = path.name
    if BAD_FILES[name] is not None:
        path.write_bytes(BAD_FILES[name])
    elif name == "pickle.npy":
        np.save(path, np.array([1, None], dtype=object), allow_pickle=True)
    elif name == "complex.npy":
        np.save(path, np.array([1 + 2j]))
    elif name == "strings.npy":
        np.save(path, np.array(["a", "b"]))
    elif name == "cube.npy":
        np.save(path, np.zeros((2, 2, 2)))
    elif name == "zero-size.npy":
        np.save(path, np.zeros((0,)))
    elif name == "truncated.npy":
        _truncated_npy(path)
    elif name == "huge-header.npy":
        _npy_header_only(path, (10 ** 12,))
    elif name == "npy-as.txt":
        with open(path, "wb") as f:
            np.save(f, np.arange(3.0))


@pytest.mark.parametrize("name", BAD_FILES)
def test_malformed_file_is_a_value_error_naming_it(tmp_path, name):
    path = tmp_path / name
    _make(path)
    answers = []
    peak = peak_bytes(lambda: answers.append(one("sum(x)", at=[f"x=@{path}"])))
    status, doc, err = answers[0]
    assert peak < 50 * 2 ** 20, f"peak {peak / 2 ** 20:.0f} MB"   # nothing it promises is read
    assert status == 1 and doc["error"]["type"] == "value", doc
    assert name in doc["error"]["message"]
    assert err.startswith("jac: bad value") and "Traceback" not in err


@pytest.mark.parametrize("where", ["missing.npy", "a-directory"])
def test_unreadable_path_is_a_value_error_naming_it(tmp_path, where):
    (tmp_path / "a-directory").mkdir()
    status, doc, _ = one("sum(x)", at=[f"x=@{tmp_path / where}"])
    assert doc["error"]["type"] == "value" and where in doc["error"]["message"]


@pytest.mark.parametrize("text", ["", "1,,2", "[1, 2", "abc", "[[1, 2], [3]]", "[[[1]]]",
                                  "[true]", "[null]", '["1"]', "{}", "1 2 3", "[" * 5000])
def test_malformed_inline_value_is_a_value_error_naming_the_variable(text):
    status, doc, _ = one("sum(x)", at=[f"x={text}"])
    assert status == 1 and doc["error"]["type"] == "value", doc
    assert "x" in doc["error"]["message"]


@pytest.mark.parametrize("content,shape", [
    (b"1 2 3\n", [3]),
    (b"1\n2\n3\n", [3]),
    (b"1, 2\n3, 4\n", [2, 2]),
    (b"\xef\xbb\xbf1 2 3\r\n", [3]),            # a byte-order mark and CRLF
    (b"# weights\n1 2  # first\n3 4\n", [2, 2]),
    (b"nan inf -inf 1e308\n", [4]),
])
def test_good_text_files(tmp_path, content, shape):
    path = tmp_path / "v.txt"
    path.write_bytes(content)
    status, doc, _ = one("x * 2", at=[f"x=@{path}"])
    assert status == 0 and doc["variables"]["x"]["shape"] == shape


# ------------------------------------------------------------------------ a 10^6-element diagonal

N = 10 ** 6


@pytest.fixture(scope="module")
def big_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=N), rng.normal(size=N)
    np.save(folder / "big.npy", x)
    np.save(folder / "big2.npy", y)
    return folder, x, y


def test_million_element_diagonal_is_never_a_matrix(big_files, tmp_path):
    folder, x, y = big_files
    save = tmp_path / "out.npz"
    answers = []
    peak = peak_bytes(lambda: answers.append(
        one("x*y", at=[f"x=@{folder / 'big.npy'}", f"y=@{folder / 'big2.npy'}"], save=str(save))))
    status, doc, err = answers[0]
    assert status == 0, doc
    for j, other in zip(doc["jacobians"], (y, x)):
        assert j["shape"] == [N, N] and j["diagonal"] is True
        assert j["value"] is None and "--save" in j["note"]
        assert "diag" not in j                      # more than 10^5 entries
    assert peak < 200 * 2 ** 20, f"peak {peak / 2 ** 20:.0f} MB"   # a dense matrix is 8 TB
    with np.load(save) as archive:
        np.testing.assert_array_equal(archive["x"], y)
        np.testing.assert_array_equal(archive["y"], x)


def test_million_element_diagonal_stays_a_vector_in_the_api(big_files):
    from jaccli.api import compute
    from jaccli.values import DiagonalValue
    folder, x, y = big_files
    r = compute("x*y + sin(x)", values={"x": x, "y": y}, wrt=[["x"]])
    value = r.jacobians[0].value
    assert isinstance(value, DiagonalValue) and value.d.shape == (N,)
    np.testing.assert_allclose(value.d, y + np.cos(x))


def test_work_on_a_diagonal_is_linear_in_its_length():
    """10x the entries: the same Python calls (NumPy does the per-entry work) and at most
    12x the memory (a dense Jacobian would take 100x)."""
    from jaccli.api import compute

    def work(n):
        values = {"x": np.linspace(0.1, 1, n), "y": np.linspace(1, 2, n)}
        return lambda: compute("x*y + exp(x)", values=values)

    compute("x")   # the parser is built once, outside the counts
    calls = python_calls(work(10 ** 5)), python_calls(work(10 ** 6))
    assert calls[1] <= 1.1 * calls[0], calls
    peaks = peak_bytes(work(10 ** 5)), peak_bytes(work(10 ** 6))
    assert peaks[1] <= 12 * peaks[0], peaks


def test_too_large_dense_jacobian_is_skipped_with_a_warning(monkeypatch, tmp_path):
    from jaccli import values
    monkeypatch.setattr(values, "MAX_ENTRIES", 10 ** 5)   # softmax over 400: 1.6*10^5
    save = tmp_path / "out.npz"
    values = ",".join(str(v) for v in np.linspace(-1, 1, 400))
    status, doc, err = one("softmax(x)", at=[f"x={values}"], save=str(save))
    assert status == 0
    j = doc["jacobians"][0]
    assert j["value"] is None and "note" in j
    assert any("too large to compute" in w for w in doc["warnings"])
    with np.load(save) as archive:
        assert "x" not in archive.files


# ------------------------------------------------------------------------ sizes up to 10^18

E18 = 10 ** 18


@pytest.mark.parametrize("expression,shapes", [
    ("x * y", {"x": str(E18)}),
    ("sum(x)", {"x": str(E18)}),
    ("softmax(x)", {"x": str(E18)}),
    ("W @ x", {"x": str(E18), "W": f"{E18}x{E18}"}),
    ("max(0, w@x + b)", {"x": str(E18)}),
    ("x * z", {"x": f"{E18}", "z": "scalar"}),
])
def test_sizes_up_to_10_to_the_18_stay_symbolic(expression, shapes):
    small = {name: spec.replace(str(E18), "7") for name, spec in shapes.items()}
    one(expression, shapes=small)     # imports and caches warmed, outside the counts
    answers = []
    calls = python_calls(lambda: answers.append(one(expression, shapes=shapes)))
    status, doc, _ = answers[0]
    assert calls <= 1.2 * python_calls(lambda: one(expression, shapes=small))   # no work per entry
    assert status == 0 and check_answer(doc) == "ok"
    assert E18 in doc["variables"]["x"]["shape"]
    assert not any("value" in j for j in doc["jacobians"])


def test_stacked_sizes_add_exactly():
    status, doc, _ = one("x * y", shapes={"x": str(E18)}, wrt=["x,y"])
    assert doc["jacobians"][0]["shape"] == [E18, 2 * E18]


def test_huge_declared_size_next_to_a_value_allocates_nothing():
    tracemalloc.start()
    status, doc, err = one("sum(x) + c", shapes={"x": str(E18)}, at=["c=1"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert status == 0 and peak < 50 * 2 ** 20
    dx, dc = doc["jacobians"]
    assert "value" not in dx            # x has no value: like a symbolic size, no numbers
    assert dc["value"] == [[1.0]]


def test_numpy_warnings_are_never_shown_in_process():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status, doc, _ = one("log(x) / x - sqrt(x) + exp(x * 1000)", at=["x=-1,0,1"])
    assert status == 0 and doc["warnings"]


def test_log_sigmoid_stays_finite_with_its_jacobian():
    status, doc, err = one("log(sigmoid(x))", at=["x=-1000,0,1000"])
    assert status == 0 and "warnings" not in doc, doc
    assert doc["jacobians"][0]["diag"] == [1.0, 0.5, 0.0]


def test_a_value_from_a_pipe(tmp_path):
    import os
    read, write = os.pipe()
    os.write(write, b"1 2 3\n")
    os.close(write)
    try:
        status, doc, err = one("sum(x)", at=[f"x=@/dev/fd/{read}"])
    finally:
        os.close(read)
    assert status == 0 and doc["variables"]["x"]["shape"] == [3], (doc, err)


def test_save_without_values_says_what_it_left_out(tmp_path):
    save = tmp_path / "out.npz"
    status, doc, err = one("x*y", at=["x=1,2,3"], save=str(save))
    assert status == 0
    with np.load(save) as archive:
        assert sorted(archive.files) == ["y"]           # d/dy = diag(x) has numbers
    assert any("respect to x has no numbers" in w for w in doc["warnings"])
    assert "--save" in err
