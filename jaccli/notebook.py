"""The Python API: `from jaccli import jacobian`, for notebooks and scripts.

`jacobian(expression, wrt=..., shapes=..., values=..., layout=...)` runs the same
`api.compute` as the command line and returns a `Jacobians` whose fields mirror the JSON
document of SPEC.md (`jacobians[i].symbolic`, `.structure`, `.value` ...), with NumPy
arrays for numbers. In Jupyter a result shows its closed forms (`_repr_latex_`,
`_repr_markdown_`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .api import LAYOUTS, compute
from .inputs import parse_shape, parse_wrt


@dataclass
class Entry:
    """One Jacobian (or Hessian), as in the JSON `jacobians` list."""
    wrt: str
    shape: list
    symbolic: str
    latex: str
    structure: str
    kind: str
    diagonal: bool
    value: np.ndarray | None = None     # the dense matrix, when every variable has a value
    diag: np.ndarray | None = None      # the diagonal, when `diagonal` and there are values
    check: dict | None = None           # with check=True: {ok, max_abs_error, points}
    steps: list | None = None           # with steps=True: [{rule, expression, result, ...}]
    gradient: dict | None = None        # scalar f, matrix W: {shape, symbolic, latex, value}


@dataclass
class Jacobians:
    """What `jac --json` prints, as Python objects; `result["w"]` is the Jacobian for w."""
    expression: str
    layout: str
    output: dict
    variables: dict
    jacobians: list[Entry]
    hessians: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    latex_fragment: str = ""

    def __getitem__(self, wrt: str) -> Entry:
        for e in self.jacobians:
            if e.wrt == wrt:
                return e
        raise KeyError(f"no Jacobian with respect to {wrt!r}; there are: "
                       + ", ".join(e.wrt for e in self.jacobians))

    def hessian(self, wrt: str) -> Entry:
        for e in self.hessians:
            if e.wrt == wrt:
                return e
        raise KeyError(f"no Hessian with respect to {wrt!r} (ask with hessian=[{wrt!r}])")

    @property
    def ok(self) -> bool:
        """With check=True: whether every Jacobian and Hessian agreed with finite differences."""
        return all(e.check is None or e.check["ok"] for e in self.jacobians + self.hessians)

    def _repr_latex_(self) -> str:
        body = self.latex_fragment.split("\n", 1)[1].replace("align*", "aligned")
        return f"$${body}$$"

    def _repr_markdown_(self) -> str:
        out = [f"**f** = `{self.expression}` ({self.layout} layout)", ""]
        for title, entries in (("∂f/∂", self.jacobians), ("∂²f/∂", self.hessians)):
            for e in entries:
                dims = "×".join(str(s) for s in e.shape)
                line = f"- {title}{e.wrt} = `{e.symbolic}` ({dims}, {e.structure})"
                if e.check is not None:
                    line += f" — check: {'ok' if e.check['ok'] else 'FAILED'}"
                out.append(line)
        return "\n".join(out)


def _groups(wrt):
    if wrt is None:
        return None
    if isinstance(wrt, str):
        wrt = [wrt]
    return parse_wrt([w if isinstance(w, str) else ",".join(w) for w in wrt])


def _shapes(shapes) -> dict:
    out = {}
    for name, spec in (shapes or {}).items():
        if isinstance(spec, str):
            out[name] = parse_shape(spec)
        elif isinstance(spec, int):
            out[name] = (spec,)
        else:
            out[name] = tuple(spec)
    return out


def _entry(jr, result) -> Entry:
    from .serialize import jacobian_entry
    doc = jacobian_entry(jr, result)
    value = diag = None
    if jr.value is not None and not getattr(jr.value, "too_large", False):
        value = jr.value.dense()
        if jr.jacobian.diagonal:
            d = getattr(jr.value, "d", None)
            diag = d if d is not None else np.diag(value)
    gradient = doc.get("gradient")
    if gradient is not None and gradient.get("value") is not None:
        gradient = {**gradient, "value": np.asarray(gradient["value"], dtype=float)}
    return Entry(wrt=doc["wrt"], shape=doc["shape"], symbolic=doc["symbolic"], latex=doc["latex"],
                 structure=doc["structure"], kind=doc["kind"], diagonal=doc["diagonal"],
                 value=value, diag=diag, check=doc.get("check"), steps=doc.get("steps"),
                 gradient=gradient)


def jacobian(expression: str, wrt=None, *, shapes=None, values=None, layout: str = "numerator",
             hessian=None, check: bool = False, steps: bool = False) -> Jacobians:
    """Differentiate `expression` as `jac` does.

    wrt:     "w", "x,y" (one stacked Jacobian), or a list of those; None for every scalar
             and vector variable.
    shapes:  name -> "scalar", "3", "3x4", "m,n", an int or a tuple (as --shape).
    values:  name -> a NumPy array, a list or a number (as --at).
    layout:  "numerator" or "denominator".
    hessian: names as for wrt (scalar f); check, steps: as --check and --steps.
    Raises jaccli.errors.JacError (with .type, .message, .column) for a bad expression.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    arrays = {name: np.asarray(v, dtype=float) for name, v in (values or {}).items()}
    result = compute(expression, _groups(wrt), _shapes(shapes), arrays or None, layout,
                     hessian=_groups(hessian), check=check, steps=steps)
    from .latex import fragment
    from .serialize import to_dict
    doc = to_dict(result)
    output = dict(doc["output"])
    if arrays:
        from .evaluate import Evaluator
        from .values import NotEvaluable
        try:
            output["value"] = np.asarray(Evaluator(arrays)(result.tree), dtype=float)
        except NotEvaluable:
            pass
    return Jacobians(expression=expression, layout=layout, output=output,
                     variables=doc["variables"],
                     jacobians=[_entry(jr, result) for jr in result.jacobians],
                     hessians=[_entry(h, result) for h in result.hessians],
                     warnings=list(result.warnings), latex_fragment=fragment(result))
