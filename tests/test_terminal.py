"""The installed `jac` as a person sees it: under a pseudo-terminal it is coloured and fits
the window; in a pipe it is plain text; NO_COLOR turns colour off; COLUMNS sets the width."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

ANSI = re.compile(r"\x1b\[([0-9;]*)m")
DIAGONAL = ["x * y", "--wrt", "x", "--at", "x=1,2,3", "--at", "y=4,5,6"]
WIDE = ["W @ x", "--wrt", "x", "--shape", "W=3x12"]


def jac_command() -> list[str]:
    jac = shutil.which("jac")
    return [jac] if jac else [sys.executable, "-m", "jaccli"]


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE",
                        "TTY_INTERACTIVE", "CLICOLOR_FORCE", "TERM")}
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


def run_in_pty(args, *, columns: int = 100, **env) -> str:
    """Run jac with stdout and stderr on a pseudo-terminal `columns` wide; what it wrote."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(jac_command() + args, stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env=clean_env(**env), close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:            # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=20)
    os.close(master)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def run_piped(args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(jac_command() + args, capture_output=True, text=True,
                          env=clean_env(**env), timeout=20)


def colour_codes(text: str) -> list[str]:
    """SGR parameters that set a foreground or background colour."""
    found = []
    for params in ANSI.findall(text):
        for p in params.split(";"):
            if p and (30 <= int(p) <= 38 or 40 <= int(p) <= 48 or 90 <= int(p) <= 107):
                found.append(p)
    return found


def visible(text: str) -> str:
    return ANSI.sub("", text)


def test_colour_on_a_terminal():
    out = run_in_pty(DIAGONAL)
    assert colour_codes(out), out
    plain = visible(out)
    assert "∂f/∂x = diag(y)" in plain and "3×3 diagonal" in plain
    assert "⎡4  0  0⎤" in plain


def test_no_colour_with_no_color():
    out = run_in_pty(DIAGONAL, NO_COLOR="1")
    assert colour_codes(out) == []
    assert "3×3 diagonal" in visible(out)


def test_plain_text_in_a_pipe():
    r = run_piped(DIAGONAL)
    assert r.returncode == 0
    assert "\x1b" not in r.stdout and "\x1b" not in r.stderr
    assert "⎡4  0  0⎤" in r.stdout


def test_json_in_a_pipe_and_on_a_terminal_has_no_ansi():
    assert "\x1b" not in run_piped(DIAGONAL + ["--json"]).stdout
    assert "\x1b" not in run_in_pty(DIAGONAL + ["--json"])


def test_errors_on_a_terminal_have_no_ansi():
    out = run_in_pty(["sigmod(x)"])
    assert "\x1b" not in out and "did you mean 'sigmoid'?" in out


@pytest.mark.parametrize("columns", [40, 60, 120])
def test_fits_the_terminal_width(columns):
    lines = visible(run_in_pty(WIDE, columns=columns)).splitlines()
    widest = max(len(line) for line in lines)
    assert widest <= columns
    matrix = [line for line in lines if line.lstrip().startswith("⎡")][0]
    assert "W₁,₁₂" in matrix               # the last column is always drawn
    shown = matrix.count("W₁")
    assert shown == 12 if columns >= 120 else "⋯" in matrix and shown < 12


def test_columns_sets_the_width_in_a_pipe():
    narrow = run_piped(WIDE, COLUMNS="50").stdout.splitlines()
    wide = run_piped(WIDE, COLUMNS="200").stdout.splitlines()
    assert max(len(line) for line in narrow) <= 50
    assert max(len(line) for line in wide) > 50
