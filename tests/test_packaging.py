"""A non-editable install finds the grammar and its LALR tables.

Builds a wheel from a copy of the source tree, installs it with `pip install --target` into
an empty directory, and runs jac from there with the source checkout out of sight: the
grammar must come from inside the installed package (`jaccli/grammar/jac.lark`). Takes a
few seconds (pip builds in an isolated environment), so it is marked `slow`; it runs by
default and in CI.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "setup.py", "README.md", "jaccli", "grammar"]
# The wheel built here is plain Python (setup.py compiles the core otherwise, a minute more):
# the grammar is found the same way in both, and `.ci/run` installs and tests the compiled one.
BUILD_ENV = {**os.environ, "JAC_COMPILE": "0"}


def _pip(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check",
                           "--no-input", "--quiet"], cwd=cwd, input="", capture_output=True,
                          text=True, timeout=300, env=BUILD_ENV)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the directory it was installed into)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    dist = base / "dist"
    built = _pip("wheel", ".", "--no-deps", "-w", str(dist), cwd=source)
    if built.returncode != 0:
        # Offline: build with the setuptools already installed instead of fetching one.
        built = _pip("wheel", ".", "--no-deps", "--no-build-isolation", "-w", str(dist), cwd=source)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel, = dist.glob("jac-*.whl")
    target = base / "target"
    done = _pip("install", "--no-deps", "--target", str(target), str(wheel), cwd=base)
    assert done.returncode == 0, done.stdout + done.stderr
    return wheel, target


def _run_installed(target: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, input="",
                          capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_wheel_contains_the_grammar(installed):
    wheel, _ = installed
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "jaccli/grammar/jac.lark" in names
        assert z.read("jaccli/grammar/jac.lark") == (ROOT / "grammar" / "jac.lark").read_bytes()
        assert z.read("jaccli/grammar/tables.py") == (ROOT / "grammar" / "tables.py").read_bytes()
    assert any(n.endswith("entry_points.txt") for n in names)


@pytest.mark.slow
def test_installed_package_parses_with_its_own_grammar(installed, tmp_path):
    _, target = installed
    code = ("import json, jaccli, jaccli.syntax as s\n"
            "tree = s.parse('max(0, w@x + b)')\n"
            "print(json.dumps({'package': jaccli.__file__, 'grammar': s.grammar_path(),\n"
            "                  'variables': tree.variables()}))\n")
    p = _run_installed(target, tmp_path, "-c", code)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert Path(out["package"]).resolve().is_relative_to(target.resolve())
    grammar = Path(out["grammar"]).resolve()
    assert grammar == (target / "jaccli" / "grammar" / "jac.lark").resolve()
    assert out["variables"] == ["w", "x", "b"]


@pytest.mark.slow
def test_installed_program_runs(installed, tmp_path):
    _, target = installed
    p = _run_installed(target, tmp_path, "-m", "jaccli", "w @ x", "--wrt", "w", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["jacobians"][0]["symbolic"] == "x'"


@pytest.mark.slow
def test_installed_package_loads_its_shipped_tables(installed, tmp_path):
    """The wheel's parser runs the LALR tables it ships, importing no part of Lark."""
    _, target = installed
    code = ("import json, sys, jaccli.syntax as s\n"
            "s.parse('max(0, w@x + b)')\n"
            "print(json.dumps({'shipped': s._parser.states is s.shipped_tables().STATES,\n"
            "                  'lark': any(m.split('.')[0] == 'lark' for m in sys.modules),\n"
            "                  'pickle': 'pickle' in sys.modules}))\n")
    p = _run_installed(target, tmp_path, "-c", code)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"shipped": True, "lark": False, "pickle": False}
