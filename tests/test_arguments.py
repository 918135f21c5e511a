"""The command line read without click (jaccli/arguments.py) means what click reads: on every
command line it accepts, the parameters are click's; everything else is left to click.
And the common runs import only what they need (counted by modules, never timed).
"""
from __future__ import annotations

import json
import random
import subprocess
import sys

import click
import pytest

from jaccli.arguments import common_parameters
from jaccli.cli import command

WORDS = ["x*y", "-x", "sin(x)", "--", "-", "", "--json", "--json=1", "--wrt", "x", "x,y",
         "--wrt=x,y", "--wrt=", "--wrt=1", "--shape", "x=3", "x=scalar", "x=0", "--shape=y=2x3",
         "--at", "x=1,2", "y=[1,2]", "--at=x", "--at=x=@f.npy", "--layout", "denominator",
         "--layout=numerator", "--layout=bogus", "--save", "out.npz", "--save=", "--help",
         "--version", "--wrtx", "-h"]
COMMON = [["max(0, w@x + b)", "--wrt", "w", "--json"],
          ["w*x", "--at", "w=1,2,3", "--at=x=4,5,6", "--layout", "denominator"],
          ["W @ x", "--wrt=x", "--shape", "W=3x4", "--json"],
          ["-", "--json"], ["--", "--json"], ["x", "--shape", "x=n", "--wrt", "x,y"],
          ["x", "--at", "x=1", "--save", "out.npz"], ["x", "--save=folder.npz", "--json"]]


def _click_parameters(argv):
    """What click passes to the command, or None when it refuses the line or exits early."""
    try:
        return command.make_context("jac", list(argv)).params
    except (click.exceptions.Exit, click.ClickException):
        return None


def _comparable(params):
    return {**params, "wrt": None if params["wrt"] is None else [list(g) for g in params["wrt"]],
            "at": [tuple(a) for a in params["at"]]}


def _check(argv):
    fast = common_parameters(list(argv))
    if fast is None:
        return False
    slow = _click_parameters(argv)
    assert slow is not None, argv
    assert _comparable(fast) == _comparable(slow), argv
    return True


@pytest.mark.parametrize("argv", COMMON)
def test_common_command_lines_are_read_without_click_as_click_reads_them(argv, tmp_path,
                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _check(argv)


def test_random_command_lines_agree_with_click(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.npz").mkdir()
    rng = random.Random(8)
    words = WORDS + ["folder.npz"]
    read = 0
    for _ in range(3000):
        read += _check([rng.choice(words) for _ in range(rng.randint(0, 7))])
    assert read > 100          # the fast path was taken often enough to be compared


@pytest.mark.parametrize("argv", [[], ["--help"], ["x", "--version"], ["x", "y"], ["x", "--wrt"],
                                  ["x", "--layout", "bogus"], ["x", "--wrt", "1"],
                                  ["x", "--save", "."], ["x", "--save="],
                                  ["x", "--save", "a.npz", "--save", "b.npz"],
                                  ["x", "--shape", "x=2n"]])
def test_help_version_and_errors_are_left_to_click(argv):
    assert common_parameters(argv) is None


# What jac itself imports (not what the interpreter's start, e.g. an editable install's
# finder, brought in before): heavy packages only where a path needs them, and never Lark
# (its tables run on jaccli/lalr.py) or the standard modules that cost a tenth of a run.
_IMPORTS = """
import json, sys
before = set(sys.modules)
sys.argv = ["jac"] + json.loads(sys.argv[1])
from jaccli.program import main
try:
    main()
except SystemExit as e:
    status = e.code
print(json.dumps([status] + [m for m in ("click", "numpy", "rich", "lark", "dataclasses",
                                         "typing", "inspect", "difflib")
                             if m in sys.modules and m not in before]), file=sys.stderr)
"""


def _imported(argv, tmp_path):
    p = subprocess.run([sys.executable, "-c", _IMPORTS, json.dumps(argv)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    return json.loads(p.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("argv, wanted", [
    (["max(0, w@x + b)", "--wrt", "w", "--json"], [0]),
    (["max(0, w@x + b)", "--wrt", "w", "--json", "--at", "w=1,2,3", "--at", "x=4,5,6",
      "--at", "b=0.5"], [0, "numpy"]),
    (["w * x", "--at", "w=1,2,3", "--at", "x=4,5,6"], [0, "numpy", "rich"]),
    (["x +* y", "--json"], [1]),
    (["x", "--layout", "bogus"], [2, "click"]),
    (["x*y", "--at", "x=1,2", "--at", "y=3,4", "--json", "--save", "out.npz"], [0, "numpy"]),
    (["x", "--save", "out.txt"], [2, "click"]),
])
def test_a_run_imports_only_what_it_needs(argv, wanted, tmp_path):
    got = _imported(argv, tmp_path)
    if len(wanted) > 1:     # NumPy, Rich and click bring typing, inspect, ... along
        got = [got[0]] + [m for m in got[1:] if m in ("click", "numpy", "rich", "lark")]
    assert got == wanted
