"""Helpers for the reliability tests: run jac in-process (a `Session` on string streams) or
as the installed program, and check that every answer is one SPEC.md allows.

An answer is a JSON document with `jacobians`, or an error object whose `type` is one of
SPEC.md's five. "internal error" marks a bug caught by the session's last resort: it is
a typed answer for the user, and a failure for these tests.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys

from jaccli.session import Session

ERROR_TYPES = {"syntax", "shape", "name", "value", "unsupported"}
NON_FINITE = {"NaN", "Infinity", "-Infinity"}


def session(*, as_json=True, wrt=None, shapes=None, at=(), layout="numerator", save=None, **extra):
    """A Session writing to string streams, options as on the command line (`wrt=["x,y"]`,
    `shapes={"x": "3"}`, `at=["x=1,2,3"]`; `extra`: steps, check, hessian, latex, emit as
    Session takes them); returns (session, out, err)."""
    from jaccli.inputs import parse_shape, split_assignment
    out, err = io.StringIO(), io.StringIO()
    declared = {n: parse_shape(s) for n, s in (shapes or {}).items()}
    groups = None if wrt is None else [w.split(",") for w in wrt]
    values = [split_assignment(a, "--at") for a in at]
    s = Session(wrt=groups, shapes=declared, at=values, layout=layout, as_json=as_json,
                save=save, out=out, err=err, **extra)
    return s, out, err


def one(expression: str, **options) -> tuple[int, dict, str]:
    """`jac EXPRESSION --json`, in-process: (status, the JSON document, stderr)."""
    s, out, err = session(**options)
    status = s.one(expression)
    lines = out.getvalue().splitlines()   # as strict a line reader as any
    assert len(lines) == 1, out.getvalue()
    return status, strict_json(lines[0]), err.getvalue()


def batch(lines, **options) -> tuple[int, list[dict], str]:
    """`jac - --json` with `lines` on stdin, in-process: (status, documents, stderr)."""
    s, out, err = session(**options)
    status = s.batch(io.StringIO("".join(line + "\n" for line in lines)))
    return status, [strict_json(x) for x in out.getvalue().splitlines()], err.getvalue()


def strict_json(text: str) -> dict:
    def bare(name):
        raise AssertionError(f"bare {name} in JSON: SPEC.md writes it as a string")
    return json.loads(text, parse_constant=bare)


def check_answer(doc: dict, stderr: str = "") -> str:
    """A result or a typed error, never a bug; returns the error type or 'ok'."""
    assert "Traceback" not in stderr, stderr
    assert "RuntimeWarning" not in stderr, stderr
    if "error" in doc:
        assert doc["error"]["type"] in ERROR_TYPES, doc
        assert "internal error" not in doc["error"]["message"], doc
        assert isinstance(doc["error"]["message"], str) and doc["error"]["message"]
        return doc["error"]["type"]
    assert isinstance(doc["jacobians"], list), doc
    for j in doc["jacobians"]:
        assert len(j["shape"]) == 2
    check_honest(doc)
    return "ok"


def numbers_of(doc: dict):
    for j in doc.get("jacobians", []):
        for key in ("value", "diag"):
            v = j.get(key)
            stack = [v] if v is not None else []
            while stack:
                item = stack.pop()
                if isinstance(item, list):
                    stack.extend(item)
                else:
                    yield item


def check_honest(doc: dict) -> None:
    """A number that is not finite never appears without a warning saying where from."""
    if any(x in NON_FINITE for x in numbers_of(doc) if isinstance(x, str)):
        assert doc.get("warnings"), doc


def python_calls(work) -> int:
    """Python function calls (and calls into C) made by `work()`: a measure of work that
    does not depend on the machine's speed or load, so tests never assert on time."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def peak_bytes(work) -> int:
    """The most memory `work()` held at once, as tracemalloc sees it (NumPy included)."""
    import tracemalloc
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def jac_program() -> list[str]:
    """The installed `jac` console script (or `python -m jaccli` when it is not on PATH)."""
    found = shutil.which("jac")
    return [found] if found else [sys.executable, "-m", "jaccli"]


def run_jac(args, *, input: bytes | None = None, timeout: float = 60, env=None):
    merged = dict(os.environ, **(env or {}))
    return subprocess.run(jac_program() + list(args), input=input, capture_output=True,
                          timeout=timeout, env=merged)
