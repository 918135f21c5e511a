"""The process behaves: `jac ... | head -1` exits quietly, Ctrl-C exits 130 without a
traceback, bytes and locales that are not UTF-8 still give answers, and command-line
errors keep exit status 2. These run the installed `jac` in a subprocess.
"""
from __future__ import annotations

import json
import shlex
import signal
import subprocess

import pytest

from runjac import jac_program, run_jac, strict_json

QUIET = ("Traceback", "BrokenPipe", "Exception ignored", "KeyboardInterrupt", "Aborted")


def _assert_quiet(stderr: bytes):
    text = stderr.decode("utf-8", "replace")
    for word in QUIET:
        assert word not in text, text


# ------------------------------------------------------------------------ a reader that goes away

def _read_then_close(args, stdin_data: bytes | None, first: int, tmp_path):
    """Start jac, read `first` bytes of its output, close the pipe like `head` does."""
    stdin = subprocess.DEVNULL
    if stdin_data:
        (tmp_path / "stdin").write_bytes(stdin_data)
        stdin = open(tmp_path / "stdin", "rb")
    p = subprocess.Popen(jac_program() + args, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    head = p.stdout.read(first)
    p.stdout.close()
    stderr = p.stderr.read()
    p.stderr.close()
    p.wait(timeout=60)
    if stdin is not subprocess.DEVNULL:
        stdin.close()
    return p.returncode, head, stderr


def test_batch_piped_into_head_exits_quietly(tmp_path):
    lines = b"sin(x) * y + x\n" * 5000      # far more than a pipe buffer holds
    status, head, stderr = _read_then_close(["-", "--json"], lines, 200, tmp_path)
    assert head.startswith(b'{"expression": "sin(x) * y + x"')
    _assert_quiet(stderr)
    assert status == 0


def test_one_large_document_piped_into_head_exits_quietly(tmp_path):
    values = ",".join(str(i / 300) for i in range(300))     # a 300x300 dense Jacobian
    status, head, stderr = _read_then_close(["softmax(x)", "--at", f"x={values}", "--json"],
                                            None, 10, tmp_path)
    assert head == b'{"expressi'
    _assert_quiet(stderr)
    assert status == 0


def test_terminal_rendering_piped_into_head_exits_quietly(tmp_path):
    lines = b"x * y\n" * 3000
    status, head, stderr = _read_then_close(["-"], lines, 20, tmp_path)
    assert head
    _assert_quiet(stderr)
    assert status == 0        # as on the JSON path


def test_shell_pipeline_into_head_dash_1(tmp_path):
    script = tmp_path / "lines.txt"
    script.write_text("x * y\n" * 5000)
    jac = shlex.join(jac_program())
    pipeline = f"set -o pipefail; {jac} - --json < {shlex.quote(str(script))} | head -1"
    r = subprocess.run(["bash", "-c", pipeline], capture_output=True, timeout=60)
    assert r.returncode == 0
    assert json.loads(r.stdout)["expression"] == "x * y"
    _assert_quiet(r.stderr)


# ------------------------------------------------------------------------ Ctrl-C

def _interrupt_batch(lines: bytes, stdin=subprocess.PIPE):
    """Start a batch, wait for its first answer, then send SIGINT as Ctrl-C does."""
    p = subprocess.Popen(jac_program() + ["-", "--json"], stdin=stdin,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if stdin == subprocess.PIPE:
        p.stdin.write(lines)               # small: fits the pipe; stdin stays open
        p.stdin.flush()
    first = p.stdout.readline()
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=30)
    finally:
        p.kill()
    return p.returncode, first, err


def test_ctrl_c_while_reading_stdin_exits_130_quietly():
    status, first, err = _interrupt_batch(b"x * y\n")
    assert json.loads(first)["expression"] == "x * y"
    assert status == 130
    _assert_quiet(err)


def test_ctrl_c_while_computing_exits_130_quietly(tmp_path):
    heavy = (" + ".join(f"{i}*sin(x*{i})" for i in range(1, 3001)) + "\n").encode()
    (tmp_path / "stdin").write_bytes(b"x\n" + heavy * 50)
    with open(tmp_path / "stdin", "rb") as stdin:
        status, first, err = _interrupt_batch(b"", stdin=stdin)
    assert status == 130
    _assert_quiet(err)


# ------------------------------------------------------------------------ bytes, locales, sizes

def test_argument_that_is_not_utf8_is_a_syntax_error():
    r = subprocess.run(jac_program() + [b"x*\xff", "--json"], capture_output=True, timeout=60)
    assert r.returncode == 1
    doc = strict_json(r.stdout.decode("utf-8"))
    assert doc["error"]["type"] == "syntax" and doc["error"]["column"] == 3
    _assert_quiet(r.stderr)


def test_an_ascii_locale_still_writes_valid_json():
    r = run_jac(["θ * x", "--json"], env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 0
    doc = json.loads(r.stdout.decode("ascii"))
    assert doc["variables"]["θ"]["kind"] == "vector"
    r = run_jac(["θ * x"], env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 0
    _assert_quiet(r.stderr)


def test_a_long_argument_gets_a_typed_answer():
    r = run_jac(["+".join(["x"] * 40000), "--json"])
    assert r.returncode == 0 and json.loads(r.stdout)["jacobians"][0]["symbolic"] == "40000*I"


def test_declared_size_of_10_to_the_18_answers():
    """(test_values counts the work: none per entry.)"""
    r = run_jac(["x * y", "--shape", "x=1000000000000000000", "--json"])
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["jacobians"][0]["shape"] == [10 ** 18, 10 ** 18]


@pytest.mark.parametrize("args,status", [
    (["--layout", "sideways", "x"], 2),
    (["--shape", "x=1x2x3", "x"], 2),
    (["--at", "novalue", "x"], 2),
    ([], 2),
    (["--help"], 0),
    (["--version"], 0),
    (["x", "--wrt"], 2),
])
def test_command_line_statuses(args, status):
    r = run_jac(args)
    assert r.returncode == status, r.stderr
    _assert_quiet(r.stderr)


@pytest.mark.parametrize("redirect,status", [
    ("- --json <&-", 0),          # no standard input: no lines
    ("x --json >&-", 0),          # no standard output
    ("'x+' --json 2>&-", 1),      # no standard error
    ("'x+' >&- 2>&-", 1),
])
def test_closed_standard_streams(redirect, status):
    jac = shlex.join(jac_program())
    r = subprocess.run(["bash", "-c", f"{jac} {redirect}"], capture_output=True, timeout=60)
    assert r.returncode == status, r.stderr
    _assert_quiet(r.stderr)
