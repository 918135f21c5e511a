"""A `Result` as the JSON document of SPEC.md (and JSON error objects). No Rich, no NumPy
import unless there are numbers to write."""
from __future__ import annotations

import json
import math

from . import sizes
from .api import MAX_LISTED, Result, kind_of, output_kind
from .errors import JacError
from .notation import latex_form


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
    entry = {
        "wrt": jr.wrt,
        "shape": [sizes.to_json(j.rows), sizes.to_json(j.cols)],
        "symbolic": j.form(),
        "latex": _latex(j),
        "structure": j.structure,
        "kind": j.kind,
        "diagonal": bool(j.diagonal),
    }
    v = jr.value
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
    return entry


def _latex(j) -> str:
    from .notation import LATEX
    return j.form(LATEX)


def to_dict(result: Result) -> dict:
    doc = {
        "expression": result.expression,
        "layout": result.layout,
        "output": {"kind": output_kind(result.output_shape), "shape": _shape(result.output_shape)},
        "variables": {n: {"kind": kind_of(s), "shape": _shape(s)} for n, s in result.variables.items()},
        "jacobians": [jacobian_entry(jr, result) for jr in result.jacobians],
    }
    if result.warnings:
        doc["warnings"] = list(result.warnings)
    return doc


def error_dict(error: JacError, expression: str | None = None) -> dict:
    body = {"type": error.type, "message": error.message}
    if error.column is not None:
        body["column"] = error.column
    if error.hint:
        body["hint"] = error.hint
    doc = {"error": body}
    if expression is not None:
        doc["expression"] = expression
    return doc


# JSON leaves DEL, the C1 controls and the Unicode line separators raw in strings. Escaped,
# no document can drive a terminal it is shown on (U+009B starts an escape sequence), and
# line readers such as str.splitlines, which end a line at U+0085, U+2028 and U+2029, see
# every document on its own line.
_UNSAFE = {c: f"\\u{c:04x}" for c in [0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]}


def dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, allow_nan=False).translate(_UNSAFE)
