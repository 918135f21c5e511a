"""Checks that a closed form says what its numbers say, shared by the closed-form tests.

One `compute` call gives both the JSON document and the terminal rendering (a Rich console
with no colour and a width no form reaches, so nothing wraps). Then:
- `symbolic`, read by the tests' oracle (not jac's parser), evaluates to `value` reshaped
  to [rows, cols] (SPEC.md "JSON output");
- `latex` and the terminal form, read by tests/paper_notation.py with column-vector
  semantics, have the Jacobian's shape and numbers;
- the `gradient` entry (scalar f, one matrix --wrt) is `value` in W's shape, and its forms
  read back to it;
- `output.value` is the oracle's value of f; and no number in a closed form has the
  many digits of a value that leaked in (`0.6666666666666666`).
"""
from __future__ import annotations

import json
import re
from io import StringIO

import numpy as np
from rich.console import Console

from jaccli.api import compute
from jaccli.inputs import parse_shape
from jaccli.render import ResultView
from jaccli.serialize import dumps, to_dict
from oracle import evaluate
from paper_notation import NotationError, paper_value

# A float printed with 6 or more decimals is a value that leaked, or inexact arithmetic.
LEAKED = re.compile(r"\d*\.\d{6,}")
SCALAR_VALUE = re.compile(r" = (-?\d+(?:\.\d*)?(?:e[-+]?\d+)?|-?nan|-?inf)$")


def run(text: str, *, wrt=None, shapes=None, values=None, layout: str = "numerator"):
    """(JSON document, terminal text) of `jac TEXT --wrt … --shape … --at … --layout …`."""
    result = compute(text, wrt=None if wrt is None else [w.split(",") for w in wrt],
                     shapes={n: parse_shape(s) for n, s in (shapes or {}).items()},
                     values={n: np.asarray(v, dtype=float) for n, v in (values or {}).items()} or None,
                     layout=layout)
    doc = json.loads(dumps(to_dict(result)))
    out = StringIO()
    Console(file=out, width=100_000, color_system=None, highlight=False, markup=False,
            emoji=False).print(ResultView(result))
    return doc, out.getvalue()


def terminal_forms(screen: str) -> dict[str, list[str]]:
    """wrt label -> the forms printed as `∂f/∂w = form` (a gradient may be printed too)."""
    forms: dict[str, list[str]] = {}
    for line in screen.splitlines():
        m = re.match(r"^(?:∂f/∂|∇)\(?([^=)]+?)\)?(?: f)? = (.+)$", line)
        if m:
            forms.setdefault(m.group(1).replace(" ", "").lstrip("_"), []).append(m.group(2))
    return forms


def terminal_where(screen: str) -> dict[str, str]:
    """Names the terminal defines once, `where u₁ = …` (one per line or comma-separated)."""
    defined: dict[str, str] = {}
    inside = False
    for line in screen.splitlines():
        inside = line.strip().startswith("where") or (inside and line.startswith(" "))
        m = re.match(r"^\s*(?:where\s+)?([^\W\d]\w*)\s*=\s*(.+)$", line)
        if inside and m:
            defined[m.group(1)] = m.group(2)
    return defined


def where_of(doc: dict, entry: dict, key: str) -> dict:
    """The `where` definitions (name -> form in the notation `key`) of an entry or document."""
    found = {}
    for holder in (doc, entry):
        for name, form in (holder.get("where") or {}).items():
            found[name] = form.get(key) if isinstance(form, dict) else (form if key == "symbolic" else None)
    return {k: v for k, v in found.items() if v is not None}


def oracle_value(text: str, values: dict, where: dict | None = None):
    env = dict(values)
    for name, form in (where or {}).items():
        env[name] = evaluate(form, env)
    with np.errstate(all="ignore"):
        return evaluate(text, env)


def fits(got, want: np.ndarray) -> np.ndarray:
    """The oracle's value at the expected [rows, cols]: a scalar is 1×1, a vector of n is
    n×1 or 1×n, a matrix must have the very shape (reshaping it would hide a transpose)."""
    got = np.asarray(got, dtype=float)
    if got.ndim == 2:
        assert got.shape == want.shape, f"shape {got.shape}, the Jacobian is {want.shape}"
        return got
    assert got.size == want.size and (got.ndim == 0 or 1 in want.shape), \
        f"shape {got.shape}, the Jacobian is {want.shape}"
    return got.reshape(want.shape)


def close(got, want, what: str) -> None:
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9 * scale, err_msg=what)


def check_forms(doc: dict, entry: dict, want: np.ndarray, values: dict, what: str) -> None:
    """An entry's `symbolic` and `latex` (a Jacobian or a gradient) give `want`."""
    sym = entry["symbolic"]
    assert not LEAKED.search(sym), f"{what}: a value leaked into {sym!r}"
    got = oracle_value(sym, values, where_of(doc, entry, "symbolic"))
    close(fits(got, want), want, f"{what}: symbolic {sym!r}")
    lat = entry["latex"]
    assert not LEAKED.search(lat), f"{what}: a value leaked into {lat!r}"
    try:
        got = paper_value(lat, "latex", values, want.shape, where_of(doc, entry, "latex"))
    except NotationError as e:
        raise AssertionError(f"{what}: latex {lat!r} does not read: {e}") from None
    assert got.shape == want.shape, f"{what}: latex {lat!r} reads as {got.shape}, not {want.shape}"
    close(got, want, f"{what}: latex {lat!r}")


def check_terminal(forms: list[str], targets: list[np.ndarray], values: dict, where: dict,
                   what: str) -> None:
    """Each printed form reads (papers' notation) as one of the targets: the Jacobian, or
    the gradient shaped like the matrix."""
    assert forms, f"{what}: no ∂f/∂… line in the terminal output"
    for form in forms:
        if all(t.shape == (1, 1) for t in targets):
            form = SCALAR_VALUE.sub("", form)
        errors = []
        for want in targets:
            try:
                got = paper_value(form, "unicode", values, want.shape, where)
                if got.shape == want.shape and np.allclose(got, want, rtol=1e-7,
                                                           atol=1e-9 * max(1.0, np.max(np.abs(want)))):
                    break
                errors.append(f"reads as {got.tolist()} not {want.tolist()}")
            except NotationError as e:
                errors.append(str(e))
        else:
            raise AssertionError(f"{what}: terminal form {form!r}: " + "; ".join(errors))


def check_document(text: str, values: dict, wrt, layout: str, shapes=None) -> dict:
    """Every closed form of `jac TEXT` in every notation reads back to its numbers."""
    doc, screen = run(text, wrt=wrt, values=values, layout=layout, shapes=shapes)
    assert "error" not in doc, doc
    what = f"{text} ({layout})"
    assert "value" in doc["output"], f"{what}: no output.value"
    with np.errstate(all="ignore"):
        f = np.asarray(evaluate(text, values), dtype=float)
    close(np.asarray(doc["output"]["value"], dtype=float).reshape(f.shape), f, f"{what}: output.value")
    printed = terminal_forms(screen)
    for entry in doc["jacobians"]:
        label = f"{what} wrt {entry['wrt']}"
        want = np.asarray(entry["value"], dtype=float)
        assert list(want.shape) == entry["shape"], label
        check_forms(doc, entry, want, values, label)
        targets = [want]
        grad = entry.get("gradient")
        if grad is not None:
            w = entry["wrt"]
            assert "," not in w and np.ndim(values[w]) == 2, f"{label}: a gradient needs one matrix"
            assert grad["shape"] == list(np.shape(values[w])), label
            g = np.asarray(grad["value"], dtype=float)
            close(g, want.reshape(g.shape), f"{label}: gradient value")
            check_forms(doc, grad, g, values, f"{label} gradient")
            targets.append(g)
        check_terminal(printed.get(entry["wrt"], []), targets, values,
                       terminal_where(screen), label)
    return doc
