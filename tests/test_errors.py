"""Errors that point: the caret under the column, the nearest name, shape errors at the
operator with both operands' shapes, all on stderr with SPEC's exit statuses."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from jaccli.cli import command
from jaccli.errors import JacError
from jaccli.report import caret_lines, did_you_mean, format_error, nearest


def jac(*args, input=None):
    return CliRunner().invoke(command, list(args), input=input, prog_name="jac")


def caret_column(stderr: str, expression: str) -> int:
    """The 1-based column the caret points at, read off the echoed expression."""
    lines = stderr.splitlines()
    echo = next(i for i, line in enumerate(lines) if line.endswith(expression))
    start = lines[echo].index(expression)
    return lines[echo + 1].index("^") - start + 1


@pytest.mark.parametrize("expression, column, words", [
    ("x +", 4, "expected an operand after '+'"),
    ("x +* y", 4, "found '*'"),
    ("sin(x", 6, "expected ')'"),
    ("x )", 3, "unmatched ')'"),
    ("2 $ x", 3, "unexpected character '$'"),
])
def test_syntax_error_caret_and_words(expression, column, words):
    r = jac(expression)
    assert r.exit_code == 1 and r.stdout == ""
    assert words in r.stderr
    assert caret_column(r.stderr, expression) == column
    assert f"at column {column}" in r.stderr


def test_json_error_column_matches_the_caret():
    r = jac("x +* y", "--json")
    assert json.loads(r.stdout)["error"]["column"] == caret_column(r.stderr, "x +* y") == 4


@pytest.mark.parametrize("expression, guess", [
    ("sigmod(x)", "sigmoid"), ("tanhh(x)", "tanh"), ("soft_max(x)", "softmax"), ("summ(x)", "sum"),
    ("logsumexpp(x)", "logsumexp"),
])
def test_unknown_function_suggests_the_nearest(expression, guess):
    r = jac(expression)
    assert r.exit_code == 1
    assert f"did you mean '{guess}'?" in r.stderr
    lines = r.stderr.splitlines()
    echo = next(i for i, line in enumerate(lines) if line.endswith(expression))
    assert lines[echo + 1].strip() == "^" * len(expression.split("(")[0])   # the whole name
    doc = json.loads(jac(expression, "--json").stdout)
    assert doc["error"]["type"] == "name" and guess in doc["error"]["hint"]


def test_function_used_as_a_variable():
    r = jac("sin + x")
    assert r.exit_code == 1 and "'sin' is a function" in r.stderr


def test_unknown_wrt_name_suggests_a_variable():
    r = jac("alpha * x", "--wrt", "alpah")
    assert r.exit_code == 0
    assert "alpah does not appear in the expression" in r.stderr
    assert "did you mean 'alpha'?" in r.stderr


def test_misspelt_value_name_is_a_warning_with_a_suggestion():
    r = jac("alpha * x", "--at", "alpah=2", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert any("did you mean 'alpha'?" in w for w in doc["warnings"])


def test_unrelated_extra_value_is_a_warning_for_one_expression():
    r = jac("sin(x)", "--at", "x=1,2", "--at", "y=3,4")
    assert r.exit_code == 0 and "y has a value (--at) but does not appear" in r.stderr


def test_unrelated_extra_value_is_silent_in_a_batch():
    r = jac("-", "--at", "x=1,2", "--at", "y=3,4", input="sin(x)\nx*y\n")   # lines share --at
    assert r.exit_code == 0 and "warning" not in r.stderr


@pytest.mark.parametrize("expression, column, operator", [
    ("x * y", 3, "'*'"),
    ("x^y", 2, "'^'"),
    ("a @ x", 3, "'@'"),
    ("x · y", 3, "the dot product"),
    ("a + b - x", 7, "'-'"),
    ("a + b + x", 7, "'+'"),                  # a later '+' of a sum, not where x starts
    ("x*(a + b)", 2, "'*'"),
    ("max(x, y)", 1, "max"),
])
def test_shape_error_points_at_the_operator(expression, column, operator):
    r = jac(expression, "--shape", "x=3", "--shape", "y=4", "--shape", "a=2,5", "--shape", "b=2,5")
    assert r.exit_code == 1
    assert f"cannot apply {operator}" in r.stderr
    assert caret_column(r.stderr, expression) == column


def test_shape_error_shows_both_shapes():
    r = jac("a + b - x", "--shape", "x=3", "--shape", "a=2", "--shape", "b=2")
    assert "a + b (a vector of length 2) and x (a vector of length 3)" in r.stderr


# ---------------------------------------------------------------- report.py itself

def test_nearest():
    assert nearest("sigmod", ["sin", "sigmoid", "sign"]) == "sigmoid"
    assert nearest("X", ["x", "y"]) == "x"          # the same name in another case
    assert nearest("zzz", ["x", "y"]) is None
    assert did_you_mean("tanhh", ["tanh"]) == "did you mean 'tanh'?"
    assert did_you_mean("q", ["x"]) is None


def test_caret_keeps_long_expressions_on_screen():
    expression = "x + " * 60 + "y +"
    echo, caret = caret_lines(expression, len(expression) + 1)
    assert len(echo) < 110
    assert caret.index("^") <= len(echo)


def test_format_error_layout():
    error = JacError("unknown function 'sigmod'", column=5, hint="did you mean 'sigmoid'?")
    error.type = "name"
    assert format_error(error, "2 * sigmod(x)") == (
        "jac: unknown name at column 5: unknown function 'sigmod'\n"
        "  2 * sigmod(x)\n"
        "      ^^^^^^\n"
        "  hint: did you mean 'sigmoid'?")


def test_report_imports_neither_rich_nor_numpy():
    import subprocess
    import sys
    code = "import sys, jaccli.report; assert 'rich' not in sys.modules and 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
