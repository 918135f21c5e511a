"""A `Result` as the JSON document of SPEC.md (and JSON error objects). No Rich, no NumPy
import unless there are numbers to write."""
from __future__ import annotations

import json
import math

from . import sizes
from .api import MAX_LISTED, Result, kind_of, output_kind
from .errors import JacError
from .expr import deep_recursion
from .jacobians import payloads
from .naming import LONG_FORM, closed_forms, shortened, written_out
from .notation import LATEX, ascii_form, latex_form


def _shape(shape) -> list:
    return [sizes.to_json(s) for s in shape]


def _finite(x: float):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def _listed(a) -> list:
    """Nested lists with non-finite numbers as the strings SPEC.md names."""
    import numpy as np

    out = a.tolist()
    if np.all(np.isfinite(a)):
        return out
    if a.ndim == 1:
        return [_finite(x) for x in out]
    return [[_finite(x) for x in row] for row in out]


def jacobian_entry(jr, result: Result) -> dict:
    j = jr.jacobian
    size = written_out(payloads(j))
    # the form with its repeats named, as the terminal shows it (long forms only)
    named, definitions = shortened(j, taken=result.variables) if size > LONG_FORM else (j, [])
    symbolic, latex = closed_forms(j, result.variables, size, (named, definitions))
    entry = {
        "wrt": jr.wrt,
        "shape": [sizes.to_json(j.rows), sizes.to_json(j.cols)],
        "symbolic": symbolic,
        "latex": latex,
        "structure": j.structure,
        "kind": j.kind,
        "diagonal": bool(j.diagonal),
    }
    if definitions:
        entry["named"] = {"symbolic": named.form(), "latex": _latex(named)}
        entry["where"] = {name: {"symbolic": ascii_form(d), "latex": latex_form(d)}
                          for name, d in definitions}
    v = jr.value
    if jr.gradient_shape is not None:
        entry["gradient"] = _gradient(jr)
    if v is not None:
        rows, cols = v.shape
        if rows * cols <= MAX_LISTED:
            entry["value"] = _listed(v.dense())
        else:
            entry["value"] = None
            entry["note"] = (f"the {rows}x{cols} Jacobian has more than {MAX_LISTED} entries: "
                             "write its numbers with --save FILE.npz")
        if j.diagonal:
            d = getattr(v, "d", None)
            if d is None:
                import numpy as np
                d = np.diag(v.dense())
            if d.size <= MAX_LISTED:
                entry["diag"] = _listed(d)
            elif "note" not in entry:
                entry["note"] = "the diagonal has more than 10^5 entries: use --save FILE.npz"
    if jr.check is not None:
        entry["check"] = dict(jr.check)
    if jr.steps is not None:
        entry["steps"] = [dict(step) for step in jr.steps]
    return entry


def _gradient(jr) -> dict:
    from .notation import ASCII, LATEX, show

    rows, cols = jr.gradient_shape
    g: dict = {"shape": [sizes.to_json(rows), sizes.to_json(cols)]}
    if jr.gradient is not None:
        g["symbolic"] = show(jr.gradient, ASCII)
        g["latex"] = show(jr.gradient, LATEX)
    v = jr.value
    if v is not None and not getattr(v, "too_large", False) and rows * cols <= MAX_LISTED:
        g["value"] = _listed(v.dense().reshape(rows, cols))
    return g


def _output_value(value):
    import numpy as np

    a = np.asarray(value, dtype=float)
    if a.size > MAX_LISTED:
        return None
    return _listed(a) if a.ndim else _listed(a.reshape(1))[0]


def _latex(j) -> str:
    return j.form(LATEX)


def to_dict(result: Result) -> dict:
    with deep_recursion():
        return _document(result)


def _document(result: Result) -> dict:
    doc: dict = {
        "expression": result.expression,
        "layout": result.layout,
        "output": {"kind": output_kind(result.output_shape), "shape": _shape(result.output_shape)},
        "variables": {n: {"kind": kind_of(s), "shape": _shape(s)} for n, s in result.variables.items()},
        "jacobians": [jacobian_entry(jr, result) for jr in result.jacobians],
    }
    if result.output_value is not None:
        doc["output"]["value"] = _output_value(result.output_value)
    if result.hessians:
        doc["hessians"] = [jacobian_entry(h, result) for h in result.hessians]
    if result.warnings:
        doc["warnings"] = list(result.warnings)
    return doc


def error_dict(error: JacError, expression: str | None = None) -> dict:
    body: dict = {"type": error.type, "message": error.message}
    if error.column is not None:
        body["column"] = error.column
    if error.hint:
        body["hint"] = error.hint
    doc: dict = {"error": body}
    if expression is not None:
        doc["expression"] = expression
    return doc


# JSON leaves DEL, the C1 controls and the Unicode line separators raw in strings. Escaped,
# no document can drive a terminal it is shown on (U+009B starts an escape sequence), and
# line readers such as str.splitlines, which end a line at U+0085, U+2028 and U+2029, see
# every document on its own line.
_UNSAFE = {c: f"\\u{c:04x}" for c in [0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]}


def dumps(doc: dict) -> str:
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False)
    if text.isascii() and "\x7f" not in text:     # nothing to escape: skip the translation
        return text
    return text.translate(_UNSAFE)
