"""Builds jac with its core compiled to C by mypyc where it can, and as plain Python otherwise.

Everything about the package is in pyproject.toml; this file only adds the compiled modules.
The compiled core answers a batch line about 1.5x faster (issue 10); the same modules, as
Python, are the fallback and what developers edit.

- A regular install or wheel (`pip install .`) compiles CORE when mypyc (part of mypy, a
  build requirement only) imports and a C compiler works; when either is missing, or the
  compiler fails, it warns and installs plain Python: a working jac either way.
- An editable install (`pip install -e .`) never compiles: an extension module built in place
  beside its .py source would shadow every later edit of that source.
- JAC_COMPILE=0 never compiles; JAC_COMPILE=1 must compile (the build fails if it cannot,
  for a release or a CI run that means to test the compiled core).
"""
from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

# The modules of a batch line's hot path, which mypyc compiles as they are.
CORE = ["node", "expr", "algebra", "derive", "rules", "sizes", "notation", "serialize",
        "shapes", "api", "lalr", "syntax", "jacobians"]
# setuptools commands that produce an installable build; metadata queries, sdists and
# editable installs (editable_wheel, develop) get plain Python.
BUILDS = {"bdist_wheel", "build", "build_ext", "install"}

SWITCH = os.environ.get("JAC_COMPILE", "")


def _fallback(why: str) -> list:
    if SWITCH == "1":
        raise SystemExit(f"jac: JAC_COMPILE=1 but the core cannot be compiled: {why}")
    print(f"jac: installing the core as plain Python ({why})", file=sys.stderr)
    return []


def compiled_core() -> list:
    """mypyc's extension modules for CORE, or [] for a plain-Python build."""
    if SWITCH == "0" or not BUILDS.intersection(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        return _fallback("mypyc is not installed")
    try:
        modules = mypycify([f"jaccli/{name}.py" for name in CORE], opt_level="3",
                           group_name="jaccli")
    except (Exception, SystemExit) as e:      # mypyc reports type errors by exiting
        return _fallback(f"mypyc failed: {e}")
    return modules


class OptionalBuildExt(build_ext):
    """build_ext that, when the C compiler fails, removes what it built and leaves the
    Python modules to be installed (a half-built core would not import)."""

    def run(self):
        try:
            super().run()
        except Exception as e:
            for ext in self.extensions:
                built = self.get_ext_fullpath(ext.name)
                if os.path.exists(built):
                    os.remove(built)
            self.extensions = []
            _fallback(f"the C compiler failed: {e}")


setup(ext_modules=compiled_core(), cmdclass={"build_ext": OptionalBuildExt})
