"""A `Result` as a LaTeX fragment for a paper: an `align*` environment with f, each
Jacobian as ∂f/∂x and each Hessian as ∂²f/∂x∂xᵀ, vectors in bold.

The closed forms are the JSON `latex` field's (naming.closed_forms: a very long one names
its repeats, `where u_{1} = …`); this module only writes the left-hand sides and the
environment around them.
"""
from __future__ import annotations

from .naming import closed_forms
from .notation import latex_form


def name_tex(name: str, shape) -> str:
    """A variable as `notation.LATEX` writes it in closed forms: vectors bold, long names
    upright."""
    body = name.replace("_", r"\_")
    if len(name) > 1 and name.isascii():
        body = r"\mathrm{" + body + "}"
    return r"\mathbf{" + body + "}" if len(shape) == 1 else body


def _wrt_tex(wrt: str, variables: dict) -> str:
    """x, (x, y), and vec(W) for a matrix (its entries row by row, as SPEC.md differentiates)."""
    names = wrt.split(",")
    parts = [name_tex(n, variables.get(n, ())) for n in names]
    parts = [r"\operatorname{vec}\left(" + p + r"\right)" if len(variables.get(n, ())) == 2 else p
             for n, p in zip(names, parts)]
    return parts[0] if len(parts) == 1 else r"\left(" + ", ".join(parts) + r"\right)"


def jacobian_label(wrt: str, variables: dict) -> str:
    return r"\frac{\partial f}{\partial " + _wrt_tex(wrt, variables) + "}"


def hessian_label(wrt: str, variables: dict) -> str:
    x = _wrt_tex(wrt, variables)
    return r"\frac{\partial^2 f}{\partial " + x + r" \, \partial " + x + r"^\top}"


def lines(result) -> list[str]:
    """`lhs &= rhs` lines: f, then the Jacobians, then the Hessians."""
    out = [f"f &= {latex_form(result.tree)}"]
    for jr in result.jacobians:
        tex = closed_forms(jr.jacobian, result.variables)[1]
        out.append(f"{jacobian_label(jr.wrt, result.variables)} &= {tex}")
    for h in result.hessians:
        tex = closed_forms(h.jacobian, result.variables)[1]
        out.append(f"{hessian_label(h.wrt, result.variables)} &= {tex}")
    return out


def fragment(result) -> str:
    """The whole `align*` environment, with the layout as a comment for the reader."""
    body = " \\\\\n".join("  " + line for line in lines(result))
    return (f"% jac: {result.expression.replace(chr(10), ' ')} ({result.layout} layout)\n"
            "\\begin{align*}\n" + body + "\n\\end{align*}")
