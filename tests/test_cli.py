"""The command line of SPEC.md: through click's CliRunner (fast, in-process) and through
the installed program in a subprocess (`python -m jaccli` and the `jac` console script).

JSON fields, exit statuses 0/1/2, error `type` and `column`, nothing on stdout but JSON
under --json, expressions starting with '-', options on either side of the expression,
--save, --version, --help, absent and default --wrt, stacked --wrt sizes, and never a
Python traceback.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import jaccli
from jaccli.cli import command

JACOBIAN_KEYS = {"wrt", "shape", "symbolic", "latex", "structure", "diagonal"}


def cli(*args: str, input: str | None = None):
    """Run `jac ARGS` in-process; a Python exception other than SystemExit fails the test."""
    result = CliRunner().invoke(command, list(args), input=input, prog_name="jac")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"jac {args} raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr   # a bug caught at the last resort
    return result


def only_json(stdout: str) -> dict:
    """stdout under --json is exactly one JSON document (with strict numbers) and a newline."""
    assert stdout.endswith("\n") and stdout.count("\n") == 1, stdout
    return json.loads(stdout, parse_constant=_no_bare_constants)


def _no_bare_constants(name):
    raise AssertionError(f"bare {name} in JSON output: SPEC.md writes it as a string")


# -------------------------------------------------------------------- JSON documents

def test_json_document_fields():
    r = cli("w * x", "--at", "w=1,2,3", "--at", "x=4,5,6", "--json")
    assert r.exit_code == 0
    assert r.stderr == ""
    doc = only_json(r.stdout)
    assert doc["expression"] == "w * x"
    assert doc["layout"] == "numerator"
    assert doc["output"] == {"kind": "vector", "shape": [3], "value": [4.0, 10.0, 18.0]}
    assert doc["variables"] == {"w": {"kind": "vector", "shape": [3]},
                                "x": {"kind": "vector", "shape": [3]}}
    dw, dx = doc["jacobians"]
    assert JACOBIAN_KEYS <= set(dw)
    assert (dw["wrt"], dw["shape"], dw["symbolic"], dw["structure"], dw["diagonal"]) == \
        ("w", [3, 3], "diag(x)", "diagonal", True)
    assert dw["value"] == np.diag([4.0, 5.0, 6.0]).tolist()
    assert dw["diag"] == [4.0, 5.0, 6.0]
    assert dx["diag"] == [1.0, 2.0, 3.0]


def test_json_without_values_has_no_numbers():
    doc = only_json(cli("max(0, w@x + b)", "--json").stdout)
    assert [j["wrt"] for j in doc["jacobians"]] == ["w", "x", "b"]
    for j in doc["jacobians"]:
        assert JACOBIAN_KEYS <= set(j)
        assert "value" not in j and "diag" not in j
    assert doc["jacobians"][0]["shape"] == [1, "n"]


def test_json_symbolic_sizes_are_strings():
    doc = only_json(cli("W @ x", "--wrt", "x", "--json").stdout)
    rows, cols = doc["jacobians"][0]["shape"]
    assert isinstance(rows, str) and isinstance(cols, str) and rows != cols
    assert doc["jacobians"][0]["symbolic"] == "W"


def test_layout_option_transposes():
    num = only_json(cli("w @ x", "--wrt", "w", "--at", "w=1,2", "--at", "x=3,4", "--json").stdout)
    den = only_json(cli("w @ x", "--wrt", "w", "--at", "w=1,2", "--at", "x=3,4", "--json",
                        "--layout", "denominator").stdout)
    assert den["layout"] == "denominator"
    assert num["jacobians"][0]["value"] == [[3.0, 4.0]]
    assert den["jacobians"][0]["value"] == [[3.0], [4.0]]
    assert (num["jacobians"][0]["symbolic"], den["jacobians"][0]["symbolic"]) == ("x'", "x")


def test_non_finite_numbers_are_strings_with_a_warning():
    r = cli("sqrt(x)", "--at", "x=0,1", "--json")
    assert r.exit_code == 0
    doc = only_json(r.stdout)
    assert doc["jacobians"][0]["diag"] == ["Infinity", 0.5]
    assert doc["warnings"]
    assert r.stderr.strip()            # the warning is also said on stderr


def test_nan_value_is_the_string_nan():
    doc = only_json(cli("x * y", "--wrt", "x", "--at", "x=1,2", "--at", "y=nan,1", "--json").stdout)
    assert doc["jacobians"][0]["diag"] == ["NaN", 1.0]
    assert doc["warnings"]


# -------------------------------------------------------------------- errors

ERRORS = [
    # args, error type, column
    (["x +* y"], "syntax", 4),
    (["(x"], "syntax", 3),
    (["x y"], "syntax", 3),
    (["x = 2"], "syntax", 3),
    (["sin(x, y)"], "syntax", 1),
    (["x + )"], "syntax", 5),
    (["sin + x"], "name", 1),
    (["2 * foo(x)"], "name", 5),
    (["x * y", "--shape", "x=3", "--shape", "y=2"], "shape", None),
    (["x * W"], "shape", None),
    (["x", "--at", "x=abc"], "value", None),
    (["x", "--at", "x=[[1,2],[3]]"], "value", None),
    (["x", "--at", "x=@/nonexistent/values.npy"], "value", None),
    (["(" * 300 + "-" * 300 + "x" + ")" * 300], "unsupported", None),   # nests too deeply
]


@pytest.mark.parametrize("args, type_, column", ERRORS, ids=[" ".join(e[0]) for e in ERRORS])
def test_error_object_and_exit_status_1(args, type_, column):
    r = cli(*args, "--json")
    assert r.exit_code == 1
    doc = only_json(r.stdout)
    assert set(doc) == {"error", "expression"}
    assert doc["expression"] == args[0]
    err = doc["error"]
    assert err["type"] == type_
    assert err["message"]
    if column is not None:
        assert err["column"] == column
    if "column" in err:
        assert isinstance(err["column"], int) and err["column"] >= 1
    assert r.stderr.strip()            # and a message for people on stderr


@pytest.mark.parametrize("args, type_, column", ERRORS, ids=[" ".join(e[0]) for e in ERRORS])
def test_errors_without_json_write_nothing_to_stdout(args, type_, column):
    r = cli(*args)
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr.strip()


def test_syntax_error_echoes_the_expression_with_a_caret():
    r = cli("x +* y")
    lines = r.stderr.splitlines()
    echo = next(i for i, line in enumerate(lines) if line.rstrip().endswith("x +* y"))
    caret = lines[echo + 1]
    assert caret.strip() == "^"
    assert caret.index("^") == lines[echo].index("x +* y") + 3     # column 4


def test_shape_error_message_names_operands():
    r = cli("x * y", "--shape", "x=3", "--shape", "y=2", "--json")
    message = only_json(r.stdout)["error"]["message"]
    assert "x" in message and "y" in message and "3" in message and "2" in message


USAGE_ERRORS = [
    ["x", "--shape", "x=2n"],
    ["x", "--shape", "x=n!"],
    ["x", "--shape", "x"],
    ["x", "--shape", "x=1x2x3"],
    ["x", "--layout", "sideways"],
    ["x", "--wrt", "1x"],
    ["x", "--at", "novalue"],
    ["x", "--bogus"],
    ["x", "y"],
    [],
    ["--json"],
    ["x", "--wrt"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=[" ".join(a) or "nothing" for a in USAGE_ERRORS])
def test_bad_command_line_exits_2(args):
    r = cli(*args)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.strip()
    assert cli(*args, "--json").stdout == ""


# -------------------------------------------------------------------- the command line itself

def test_expression_starting_with_minus():
    doc = only_json(cli("-x", "--wrt", "x", "--json").stdout)
    assert doc["expression"] == "-x"
    assert doc["jacobians"][0]["symbolic"] == "-I"
    assert doc["jacobians"][0]["structure"] == "scaled_identity"


def test_negative_sum_of_products():
    doc = only_json(cli("-sum(y * log(p))", "--at", "y=0,1", "--at", "p=0.25,0.75", "--json").stdout)
    dy, dp = doc["jacobians"]
    assert (dy["wrt"], dp["wrt"]) == ("y", "p")
    assert dy["value"] == [[-np.log(0.25), -np.log(0.75)]]
    assert dp["value"] == [[-0.0, -1 / 0.75]]


@pytest.mark.parametrize("args", [
    ["-x", "--wrt", "x", "--json", "--at", "x=1,2"],
    ["--wrt", "x", "--json", "--at", "x=1,2", "-x"],
    ["--wrt", "x", "-x", "--json", "--at", "x=1,2"],
    ["--wrt=x", "--at=x=1,2", "--json", "-x"],
    ["--json", "--at", "x=1,2", "--wrt", "x", "--", "-x"],
])
def test_options_before_or_after_the_expression(args):
    r = cli(*args)
    assert r.exit_code == 0, r.stderr
    doc = only_json(r.stdout)
    assert doc["expression"] == "-x"
    assert doc["jacobians"][0]["value"] == [[-1.0, 0.0], [0.0, -1.0]]


def test_save_writes_diagonal_vectors_and_dense_matrices(tmp_path):
    path = tmp_path / "out.npz"
    r = cli("w * sum(x) + softmax(x)", "--wrt", "w", "--wrt", "x", "--at", "w=1,2,3",
            "--at", "x=0.5,1,2", "--save", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    doc = only_json(r.stdout)
    with np.load(path) as archive:
        assert sorted(archive.files) == ["w", "x"]
        assert doc["jacobians"][0]["diagonal"] is True
        assert archive["w"].shape == (3,)
        np.testing.assert_array_equal(archive["w"], doc["jacobians"][0]["diag"])
        assert archive["x"].shape == (3, 3)
        np.testing.assert_array_equal(archive["x"], doc["jacobians"][1]["value"])


def test_save_stacked_wrt_is_keyed_by_its_name(tmp_path):
    path = tmp_path / "stacked.npz"
    r = cli("x + y", "--wrt", "x,y", "--at", "x=1,2", "--at", "y=3,4", "--save", str(path))
    assert r.exit_code == 0, r.stderr
    with np.load(path) as archive:
        np.testing.assert_array_equal(archive["x,y"], [[1, 0, 1, 0], [0, 1, 0, 1]])


def test_version():
    r = cli("--version")
    assert r.exit_code == 0
    assert jaccli.__version__ in r.stdout


def test_help_shows_options_and_worked_examples():
    r = cli("--help")
    assert r.exit_code == 0
    for option in ("--wrt", "--shape", "--at", "--layout", "--json", "--save", "--version", "--help"):
        assert option in r.stdout
    assert "Examples" in r.stdout
    assert 'jac "max(0, w@x + b)"' in r.stdout
    for helper in ("diag(", "step(", "kron("):   # the closed forms' extra notation
        assert helper in r.stdout


def test_absent_wrt_variable_gives_zero_and_a_warning():
    r = cli("sin(x)", "--wrt", "y", "--shape", "x=3", "--shape", "y=3", "--json")
    assert r.exit_code == 0
    doc = only_json(r.stdout)
    j, = doc["jacobians"]
    assert (j["wrt"], j["shape"], j["structure"], j["symbolic"], j["diagonal"]) == \
        ("y", [3, 3], "zero", "0", True)
    assert any("y" in w and "not appear" in w for w in doc["warnings"])
    assert "y" in r.stderr and "not appear" in r.stderr
    assert doc["variables"]["y"] == {"kind": "vector", "shape": [3]}


def test_absent_wrt_variable_with_a_value_has_zero_numbers():
    doc = only_json(cli("sum(x)", "--wrt", "y", "--at", "x=1,2", "--at", "y=1,2,3", "--json").stdout)
    assert doc["jacobians"][0]["value"] == [[0.0, 0.0, 0.0]]


def test_default_wrt_excludes_matrices():
    doc = only_json(cli("W @ x + b", "--json").stdout)
    assert [j["wrt"] for j in doc["jacobians"]] == ["x", "b"]
    assert doc["variables"]["W"]["kind"] == "matrix"
    named = only_json(cli("W @ x + b", "--wrt", "W", "--json").stdout)
    rows, cols = named["jacobians"][0]["shape"]
    assert rows == doc["output"]["shape"][0]
    assert cols == "m*n"                               # vec(W): m x n entries, row-major


def test_default_wrt_is_order_of_first_appearance_with_scalars():
    doc = only_json(cli("z * x + sum(y)", "--shape", "z=scalar", "--json").stdout)
    assert [j["wrt"] for j in doc["jacobians"]] == ["z", "x", "y"]


@pytest.mark.parametrize("args, shape", [
    (["x + y", "--wrt", "x,y"], ["n", "2*n"]),
    (["sum(x) + sum(y)", "--wrt", "x,y"], [1, "n+m"]),
    (["sum(x) + sum(y)", "--wrt", "x,y", "--layout", "denominator"], ["n+m", 1]),
    (["sum(x) + z", "--wrt", "x,z", "--shape", "z=scalar"], [1, "n+1"]),
    (["x + y", "--wrt", "x,y", "--shape", "x=3"], [3, 6]),
    (["[3*x^2*y, 2*x + y^8]", "--wrt", "x,y"], [2, 2]),
])
def test_stacked_wrt_sizes_add(args, shape):
    doc = only_json(cli(*args, "--json").stdout)
    j, = doc["jacobians"]
    assert j["wrt"] == args[2]
    assert j["shape"] == shape


def test_stacked_wrt_numbers_are_blocks_side_by_side():
    doc = only_json(cli("[3*x^2*y, 2*x + y^8]", "--wrt", "x,y", "--shape", "x=scalar",
                        "--shape", "y=scalar", "--at", "x=1.5", "--at", "y=-0.9", "--json").stdout)
    value = np.array(doc["jacobians"][0]["value"])
    np.testing.assert_allclose(value, [[6 * 1.5 * -0.9, 3 * 1.5 ** 2], [2, 8 * (-0.9) ** 7]])


def test_batch_mode_one_json_line_per_expression():
    r = cli("-", "--json", input="x*y\n\n# a comment\nsin(\nsum(x)\n")
    assert r.exit_code == 1                            # one line failed
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["expression"] for d in docs] == ["x*y", "sin(", "sum(x)"]
    assert docs[1]["error"]["type"] == "syntax"
    assert docs[2]["jacobians"][0]["symbolic"] == "1'"


def test_batch_mode_all_good_exits_0():
    r = cli("-", "--json", input="x\nsum(x)\n")
    assert r.exit_code == 0
    assert len(r.stdout.splitlines()) == 2


def test_terminal_rendering_without_json():
    r = cli("w * x", "--wrt", "w")
    assert r.exit_code == 0
    assert "diag(x)" in r.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.stdout)


NASTY = [
    [""], [" "], ["x +"], [")"], ["["], ["[]"], ["x @@ y"], ["'x"], ["x''''"], ["1e"],
    ["sin()"], ["max(x)"], ["x^"], ["x", "--at", "x="], ["x", "--at", "x=[1,"],
    ["x", "--at", "x=1e999"], ["x / 0", "--at", "x=1"], ["log(x)", "--at", "x=-1,0"],
    ["x", "--shape", "x=0"], ["x", "--shape", "x=-3"], ["x", "--wrt", ","], ["x", "--wrt", "x,"],
    ["W @ W", "--wrt", "W"], ["norm(x)", "--at", "x=0,0"], ["softmax(x)", "--at", "x=1000,-1000"],
    ["x @ x", "--at", "x=[[1,2],[3,4]]"], ["(" * 400 + "x" + ")" * 400], ["-" * 400 + "x"],
    ["-", "--at", "x=1,2"], ["--", "--json"],
]


@pytest.mark.parametrize("args", NASTY, ids=[repr(a)[:40] for a in NASTY])
def test_never_a_traceback(args):
    for extra in ([], ["--json"]):
        r = cli(*args, *extra)
        assert r.exit_code in (0, 1, 2)
        if extra and r.exit_code in (0, 1) and args[0] != "-":
            doc = only_json(r.stdout)
            assert ("error" in doc) == (r.exit_code == 1)


# -------------------------------------------------------------------- the installed program

def _jac_program() -> str:
    """The `jac` console script of the Python running the tests (a venv's bin/ first)."""
    here = str(Path(sys.executable).parent)
    found = shutil.which("jac", path=here + os.pathsep + os.environ.get("PATH", ""))
    if found is None:
        pytest.fail("the jac console script is not installed")
    return found


def run(argv: list[str], tmp_path, input: str | None = None) -> subprocess.CompletedProcess:
    # From an empty directory, so the installed package answers, not the source tree.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(argv, cwd=tmp_path, input=input or "", capture_output=True, text=True,
                          timeout=60, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    return proc


def test_python_dash_m_jaccli(tmp_path):
    p = run([sys.executable, "-m", "jaccli", "w @ x", "--wrt", "w", "--at", "w=1,2,3",
             "--at", "x=4,5,6", "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    doc = only_json(p.stdout)
    assert doc["jacobians"][0]["symbolic"] == "x'"
    assert doc["jacobians"][0]["value"] == [[4.0, 5.0, 6.0]]


def test_python_dash_m_jaccli_error(tmp_path):
    p = run([sys.executable, "-m", "jaccli", "x +* y", "--json"], tmp_path)
    assert p.returncode == 1
    err = only_json(p.stdout)["error"]
    assert (err["type"], err["column"]) == ("syntax", 4)
    assert "^" in p.stderr


def test_installed_jac_script(tmp_path):
    jac = _jac_program()
    p = run([jac, "-x", "--wrt", "x", "--at", "x=1,2", "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert only_json(p.stdout)["jacobians"][0]["diag"] == [-1.0, -1.0]

    p = run([jac, "max(0, w@x + b)", "--wrt", "w", "--wrt", "b", "--at", "w=1,2,3",
             "--at", "x=4,5,6", "--at", "b=0.5"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert all(n in p.stdout for n in "456")           # the numbers of x' are shown

    p = run([jac, "sin + x", "--json"], tmp_path)
    assert p.returncode == 1
    assert only_json(p.stdout)["error"]["type"] == "name"

    p = run([jac, "x", "--layout", "sideways", "--json"], tmp_path)
    assert p.returncode == 2
    assert p.stdout == ""

    p = run([jac, "--version"], tmp_path)
    assert p.returncode == 0 and jaccli.__version__ in p.stdout


def test_installed_jac_batch_and_save(tmp_path):
    jac = _jac_program()
    p = run([jac, "-", "--json", "--at", "x=1,2", "--save", "out.npz"], tmp_path,
            input="x*x\nsum(x)\n")
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == 2
    with np.load(tmp_path / "out.npz") as archive:
        assert archive.files == ["1/x", "2/x"]     # SPEC.md: <line>/<wrt>


@pytest.mark.parametrize("args", [["(((x"], ["x", "--at", "x=[1,"], ["x", "--shape", "x=0"],
                                  ["-" * 400 + "x"], ["x", "--at", "x=@missing.json"]])
def test_installed_jac_never_a_traceback(tmp_path, args):
    p = run([_jac_program(), *args], tmp_path)
    assert p.returncode in (1, 2)
    assert p.stderr.strip()


def test_save_to_an_unwritable_path_is_an_error():
    r = CliRunner().invoke(command, ["x", "--at", "x=1", "--json", "--save",
                                     "/nonexistent/dir/out.npz"], prog_name="jac")
    assert r.exit_code == 1
    assert only_json(r.stdout)["error"]["type"] == "value"
    assert "/nonexistent/dir/out.npz" in r.stderr


def test_installed_jac_save_to_an_unwritable_path(tmp_path):
    p = subprocess.run([_jac_program(), "x", "--at", "x=1", "--save", "/nonexistent/d/o.npz"],
                       cwd=tmp_path, input="", capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr
    assert "/nonexistent/d/o.npz" in p.stderr
