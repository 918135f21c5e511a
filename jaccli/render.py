"""Rich renderables for a `Result`: header, one panel per Jacobian. No maths here."""
from __future__ import annotations


def render_result(result, out) -> None:
    from rich.console import Console
    console = Console(file=out, highlight=False)
    from .notation import unicode_form
    from . import sizes
    shapes = ", ".join(f"{n}: {_shape(s)}" for n, s in result.variables.items())
    console.print(f"f = {unicode_form(result.tree)}   ({shapes}; f: {_shape(result.output_shape)}; "
                  f"{result.layout} layout)")
    for jr in result.jacobians:
        j = jr.jacobian
        console.print(f"∂f/∂{jr.wrt}  {sizes.to_json(j.rows)}×{sizes.to_json(j.cols)} {j.structure}"
                      f"{' (diagonal)' if j.diagonal else ''}:  {j.form()}")
        if jr.value is not None:
            console.print(str(jr.value.dense()))


def _shape(s) -> str:
    if s == ():
        return "scalar"
    return "×".join(str(d) for d in s)
