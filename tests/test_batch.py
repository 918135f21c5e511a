"""Batch mode answers every line: one JSON object per line, in order, whatever the line,
even a line that crashes deep inside jac (RecursionError, MemoryError, a bug), which
becomes a typed `unsupported` error on that line while the batch goes on.
"""
from __future__ import annotations

import inspect
import sys

import pytest
from click.testing import CliRunner

import jaccli.api
from jaccli.cli import command
from runjac import batch, check_answer, session, strict_json

NASTY = [
    "x * y",
    "(" * 20000 + "x" + ")" * 20000,
    "sin(" * 20000 + "x" + ")" * 20000,
    " + ".join(f"{i}*sin(x)" for i in range(1, 5001)),
    "x" * 10 ** 5,
    "+" * 10 ** 5,
    "\x00\x01\x02\x1b[2J",
    "θ · θ",
    "sum(x",
    "unknown(x)",
    "x * W",
    "   ",
    "# a comment",
    "\t# an indented comment",
    "softmax(x)",
]


def _answered(lines):
    return [ln.rstrip("\r") for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def test_every_line_gets_one_answer_in_order():
    status, docs, err = batch(NASTY)
    assert [d["expression"] for d in docs] == _answered(NASTY)
    kinds = [check_answer(d, err) for d in docs]
    assert kinds[0] == "ok" and kinds[-1] == "ok"
    assert kinds[2] == "unsupported" and kinds[8] == "syntax" and kinds[9] == "name"
    assert kinds[10] == "shape"
    assert status == 1


def test_a_good_batch_exits_0_and_skips_blank_and_comment_lines():
    status, docs, err = batch(["", "x*y", "# note", "  ", "sin(x)", ""])
    assert status == 0 and err == ""
    assert [d["expression"] for d in docs] == ["x*y", "sin(x)"]


def test_crlf_lines():
    s, out, err = session()
    assert s.batch(iter(["x*y\r\n", "sin(x)\r\n"])) == 0
    assert [strict_json(x)["expression"] for x in out.getvalue().splitlines()] == ["x*y", "sin(x)"]


# ------------------------------------------------------------------------ crashes deep inside

class Boom:
    """compute() that fails the way deep trouble does, for chosen lines."""

    def __init__(self, real):
        self.real = real

    def __call__(self, text, **kw):
        if text == "recursion":
            raise RecursionError("maximum recursion depth exceeded")
        if text == "memory":
            raise MemoryError()
        if text == "bug":
            raise ZeroDivisionError("division by zero")
        if text == "overflow":
            raise OverflowError("int too large to convert to float")
        return self.real(text, **kw)


def test_lines_that_crash_deep_inside_are_typed_errors(monkeypatch):
    monkeypatch.setattr(jaccli.api, "compute", Boom(jaccli.api.compute))
    lines = ["x*y", "recursion", "sin(x)", "memory", "bug", "overflow", "x+1"]
    status, docs, err = batch(lines)
    assert [d["expression"] for d in docs] == lines
    assert status == 1
    assert "jacobians" in docs[0] and "jacobians" in docs[2] and "jacobians" in docs[6]
    for d in docs[1:2] + docs[3:6]:
        assert d["error"]["type"] == "unsupported"
    assert "nested too deeply" in docs[1]["error"]["message"]
    assert "memory" in docs[3]["error"]["message"]
    assert "internal error" in docs[4]["error"]["message"]      # a bug, and said so
    assert "Traceback" not in err


@pytest.mark.skipif(not jaccli.algebra.__file__.endswith(".py"),
                    reason="the core is compiled (setup.py): its calls do not count against "
                           "Python's recursion limit, so a low limit raises nothing there")
def test_a_real_recursion_error_becomes_unsupported():
    """With little stack left, a legal 200-level expression overflows Python's stack deep in
    the core; the line is answered and the next one works again."""
    nested = "sin(" * 200 + "x" + ")" * 200
    s, out, err = session()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)
    try:
        s.batch(iter([nested + "\n"]))
    finally:
        sys.setrecursionlimit(limit)
    s.batch(iter(["x*y\n"]))
    first, second = [strict_json(x) for x in out.getvalue().splitlines()]
    assert first["error"]["type"] == "unsupported" and first["expression"] == nested
    assert "jacobians" in second


def test_a_bad_value_file_answers_every_line(tmp_path):
    status, docs, err = batch(["x*y", "sin(x)"], at=[f"x=@{tmp_path / 'missing.npy'}"])
    assert [d["error"]["type"] for d in docs] == ["value", "value"]
    assert all("missing.npy" in d["error"]["message"] for d in docs)


# ------------------------------------------------------------------------ through the command line

def _cli_batch(data: bytes, *args):
    result = CliRunner().invoke(command, ["-", "--json", *args], input=data, prog_name="jac")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result, [strict_json(x) for x in result.stdout.splitlines()]


def test_bytes_that_are_not_utf8_are_a_syntax_error_on_their_line():
    result, docs = _cli_batch(b"x*y\n\xff\xfe x\nsin(x)\n\xc3\n")
    assert [("error" in d) for d in docs] == [False, True, False, True]
    assert docs[1]["error"]["type"] == "syntax" and docs[1]["error"]["column"] == 1
    assert result.exit_code == 1


def test_a_thousand_lines_in_order():
    lines = [f"{i}*x + y" if i % 3 else f"{i} +" for i in range(1000)]
    result, docs = _cli_batch("".join(line + "\n" for line in lines).encode())
    assert [d["expression"] for d in docs] == lines
    assert [("error" in d) for d in docs] == [i % 3 == 0 for i in range(1000)]


def test_terminal_batch_separates_results_and_reports_errors_on_stderr():
    result = CliRunner().invoke(command, ["-"], input="x*y\nsum(x\nsin(x)\n", prog_name="jac")
    assert result.exit_code == 1
    assert "∂f/∂x" in result.stdout and "syntax error" in result.stderr
    assert "Traceback" not in result.stderr
    assert "\n\n\n" not in result.stdout       # a failed line leaves no extra blank line
    assert result.stdout.count("f = ") == 2


@pytest.mark.parametrize("line", ["\u2028", "x\u2029y", "θ\x85", "\x1c\x1d\x1e"])
def test_unicode_line_separators_stay_inside_one_json_line(line):
    status, docs, err = batch([line, "x"])
    assert [d["expression"] for d in docs][-1] == "x"
    assert len(docs) == len(_answered([line, "x"]))
