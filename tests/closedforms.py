"""Checks that a closed form says what its numbers say, shared by the closed-form tests.

One `compute` call gives both the JSON document and the terminal rendering (a Rich console
with no colour and a width no form reaches, so nothing wraps). Then:
- `symbolic`, read by the tests' oracle (not jac's parser), evaluates to `value` reshaped
  to [rows, cols] (SPEC.md "JSON output"), and jac itself, given it as input with the same
  values, prints that `output.value` (the soundness check of shared/examples/textbook.py);
- `latex` and the terminal form, read by tests/paper_notation.py with column-vector
  semantics, have the Jacobian's shape and numbers;
- the `gradient` entry (scalar f, one matrix --wrt) is `value` in W's shape, and its forms
  read back to it;
- a form with its repeats named (JSON `named` with `where`, the terminal's `where u₁ = …`)
  reads the same once the names are bound in order;
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
from paper_notation import NotationError, latex_tokens, paper_value

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


def terminal_forms(screen: str) -> dict[str, list[tuple[str, dict]]]:
    """wrt -> [(form, where)] for each `∂f/∂w = form` line (`∂f/∂vec(W)`, `∂f/∂(x, y)`, and
    a gradient `∂f/∂W` shaped like W may all appear), with the names its own `where u₁ = …,
    u₂ = …` lines (and their indented continuations) define."""
    forms: dict[str, list[tuple[str, dict]]] = {}
    where: dict | None = None
    inside = False
    for line in screen.splitlines():
        m = re.match(r"^(?:∂f/∂|∇_?)(\S+?|\(.+?\))(?: f)? = (.+)$", line)
        if m:
            label = re.sub(r"vec\((\w+)\)", r"\1", m.group(1)).replace(" ", "")
            if label.startswith("(") and label.endswith(")"):
                label = label[1:-1]
            where = {}
            forms.setdefault(label, []).append((m.group(2), where))
            continue
        inside = line.strip().startswith("where ") or (inside and line.startswith("   "))
        if inside and where is not None:
            for part in _top_level_split(line.strip().removeprefix("where ")):
                d = re.match(r"^([^\W\d]\w*)\s*=\s*(.+)$", part)
                if d:
                    where[d.group(1)] = d.group(2)
    return forms


def _top_level_split(text: str) -> list[str]:
    """`a = f(x, y), b = g(a)` -> ["a = f(x, y)", "b = g(a)"]: commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return parts + [text[start:].strip()]


_WHERE = {"symbolic": " where ", "latex": r" \quad \text{where } "}


def split_where(form: str, key: str) -> tuple[str, dict]:
    """(body, {name: definition}) of a form that names its repeats itself, as JSON's
    `symbolic` and `latex` do past LONG_SYMBOLIC nodes (`… where u1 = …, u2 = …`); a LaTeX
    name is keyed as the paper reader reads it (u_{1} is u_1)."""
    if _WHERE[key] not in form:
        return form, {}
    body, rest = form.split(_WHERE[key], 1)
    parts = _top_level_split(rest) if key == "symbolic" else rest.split(r",\ ")
    definitions = {}
    for part in parts:
        name, definition = part.split(" = ", 1)
        if key == "latex":
            name = latex_tokens(name)[0][1]
        definitions[name.strip()] = definition
    return body, definitions


def where_of(doc: dict, entry: dict, key: str) -> dict:
    """The `where` definitions (name -> form in the notation `key`) of an entry or document,
    in order (each may use the ones before)."""
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
    """The oracle's value at the expected [rows, cols], "reshaped" as SPEC.md says: a scalar
    is 1×1, a vector (1-D, n×1 or 1×n) fits n×1 or 1×n; a matrix with two sizes above 1
    must have the very shape (reshaping it would hide a transpose)."""
    got = np.asarray(got, dtype=float)
    vector_like = lambda shape: len(shape) < 2 or 1 in shape             # noqa: E731
    if got.ndim == 2 and not (vector_like(got.shape) and vector_like(want.shape)):
        assert got.shape == want.shape, f"shape {got.shape}, the Jacobian is {want.shape}"
        return got
    assert got.size == want.size and vector_like(want.shape), \
        f"shape {got.shape}, the Jacobian is {want.shape}"
    return got.reshape(want.shape)


def close(got, want, what: str) -> None:
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9 * scale, err_msg=what)


def jac_reads_back(sym: str, values: dict, want: np.ndarray, what: str) -> None:
    """jac itself takes its form as input (default --wrt, as a user would paste it) and its
    `output.value` is the Jacobian: how /work/shared/examples/textbook.py judges soundness."""
    names = set(re.findall(r"[^\W\d]\w*", sym))
    try:
        doc, _ = run(sym, values={k: v for k, v in values.items() if k in names})
    except Exception as e:          # the in-process API raises what the CLI would report
        raise AssertionError(f"{what}: jac cannot read back {sym!r}: {type(e).__name__}: {e}") from None
    assert "error" not in doc, f"{what}: jac cannot read back {sym!r}: {doc['error']['message']}"
    assert "value" in doc["output"], f"{what}: jac reads back {sym!r} without a value"
    got = np.asarray(doc["output"]["value"], dtype=float)
    close(fits(got, want), want, f"{what}: jac reading back {sym!r}")


_BARE = re.compile(r"(?P<sign>-?)(?:(?P<scale>.+)\*)?(?P<unit>I|1'?|0)")


def sized_whole_form(sym: str, shape) -> str:
    """SPEC.md: a form that is just the identity, the ones vector or zero is written as the
    papers do, I, z*I, 1, 1', 0 (the acceptance cases ask for exactly these); its size is the
    Jacobian's `shape`, stated beside it. With that size spelled out it is input."""
    m = _BARE.fullmatch(sym)
    if m is None:
        return sym
    rows, cols = shape
    unit = {"I": f"eye({rows})", "1": f"ones({rows})", "1'": f"ones({cols})'",
            "0": f"zeros({rows}, {cols})"}[m["unit"]]
    return m["sign"] + (f"{m['scale']}*" if m["scale"] else "") + unit


def check_forms(doc: dict, entry: dict, want: np.ndarray, values: dict, what: str,
                through_jac: bool = True) -> None:
    """An entry's `symbolic` and `latex` (a Jacobian, a gradient, or the form with repeats
    named) give `want`; `through_jac`: jac reads `symbolic` back too (a named form is not
    input on its own: its names are defined in `where`)."""
    sym = sized_whole_form(entry["symbolic"], want.shape)
    assert not LEAKED.search(sym), f"{what}: a value leaked into {sym!r}"
    body, named = split_where(sym, "symbolic")
    try:
        got = fits(oracle_value(body, values, {**where_of(doc, entry, "symbolic"), **named}),
                   want)
    except (AssertionError, ArithmeticError, LookupError, NameError, SyntaxError, ValueError) as e:
        raise AssertionError(f"{what}: symbolic {sym!r} does not read back: {e}") from None
    close(got, want, f"{what}: symbolic {sym!r}")
    if through_jac:
        jac_reads_back(sym, values, want, what)
    lat = entry["latex"]
    assert not LEAKED.search(lat), f"{what}: a value leaked into {lat!r}"
    try:
        body, named = split_where(lat, "latex")
        got = paper_value(body, "latex", values, want.shape,
                          {**where_of(doc, entry, "latex"), **named},
                          blocks_of(doc, entry.get("wrt", ""), values))
    except NotationError as e:
        raise AssertionError(f"{what}: latex {lat!r} does not read: {e}") from None
    assert got.shape == want.shape, f"{what}: latex {lat!r} reads as {got.shape}, not {want.shape}"
    close(got, want, f"{what}: latex {lat!r}")


def blocks_of(doc: dict, wrt: str, values: dict):
    """paper_value's `split`: a Jacobian with respect to x,y is [J_x, J_y] (numerator layout)
    or [J_xᵀ; J_yᵀ], a block per variable as long as the variable has entries."""
    names = wrt.split(",")
    if len(names) < 2:
        return None
    lengths = [int(np.size(values[n])) for n in names]
    return (None, lengths) if doc["layout"] == "numerator" else (lengths, None)


def check_terminal(forms: list[tuple[str, dict]], targets: list[np.ndarray], values: dict,
                   what: str, split=None) -> None:
    """Each printed form reads (papers' notation, with its `where` names) as one of the
    targets: the Jacobian, or the gradient shaped like the matrix."""
    assert forms, f"{what}: no ∂f/∂… line in the terminal output"
    for form, where in forms:
        if all(t.shape == (1, 1) for t in targets):
            form = SCALAR_VALUE.sub("", form)
        errors = []
        for want in targets:
            try:
                got = paper_value(form, "unicode", values, want.shape, where, split)
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
        if entry.get("named"):
            check_forms(doc, {**entry, **entry["named"]}, want, values, f"{label} (named)",
                        through_jac=False)
        targets = [want]
        grad = entry.get("gradient")
        if grad is not None:
            w = entry["wrt"]
            assert "," not in w and np.ndim(values[w]) == 2, f"{label}: a gradient needs one matrix"
            assert grad["shape"] == list(np.shape(values[w])), label
            g = np.asarray(grad["value"], dtype=float)
            close(g, want.reshape(g.shape), f"{label}: gradient value")
            check_forms(doc, grad, g, values, f"{label} gradient")
            if grad.get("named"):
                check_forms(doc, {**grad, **grad["named"]}, g, values, f"{label} gradient (named)",
                            through_jac=False)
            targets.append(g)
        check_terminal(printed.get(entry["wrt"], []), targets, values, label,
                       blocks_of(doc, entry["wrt"], values))
    return doc
