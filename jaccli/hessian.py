"""`--hessian NAME`: second derivatives of a scalar f, symbolic and structured.

The gradient's closed form is an `Expr` (the payload v of the row Jacobian vᵀ, a matrix
variable through vec), so the Hessian is its Jacobian, by the same chain rule:
H = ∂v/∂x, with `derive.Derivation(v)`. Its kind (diagonal, scaled identity, dense ...) is
decided by that derivation, as for any Jacobian: `sum(x^3)` gives diag(6*x), `x' @ A @ x`
gives A + Aᵀ. A group `x,y` gives the block matrix [[Hxx, Hxy], [Hyx, Hyy]]; a matrix
variable goes through vec, as for Jacobians.
Numerator layout: H[i, j] = ∂(∇f)ᵢ/∂xⱼ; denominator layout is its transpose.
"""
from __future__ import annotations

from . import expr as E
from . import jacobians as J
from . import rules
from .algebra import Algebra
from .derive import Derivation
from .errors import NameProblem, ShapeProblem, Unsupported
from .expr import Expr


def gradient_expr(j: J.Jacobian, n) -> Expr:
    """The gradient of a scalar f as an expression: v for the 1×n Jacobian vᵀ (a scalar
    expression when n is 1 and the variable is a scalar)."""
    if isinstance(j, J.Row):
        return j.v
    if isinstance(j, J.Zero):
        return E.zeros((n,)) if n != 1 else E.ZERO
    entry = J.scalar_entry(j)
    if entry is not None:
        return entry
    if isinstance(j, J.Sum):
        return E.add(*(_as_vector(gradient_expr(t, n), n) for t in j.terms))
    if isinstance(j, J.Product):
        return _row_times(j.factors)
    raise _not_yet(j)


def _as_vector(v: Expr, n) -> Expr:
    """A term's gradient with the shape of the whole: (n,), or a scalar when n is 1."""
    return v if n == 1 else E.fit(v, (n,))


def _not_yet(j: J.Jacobian) -> Unsupported:
    return Unsupported(f"jac cannot yet differentiate the gradient {j.form()} again: it has no "
                       "closed form as a vector", hint="ask for the Hessian with respect to "
                       "another variable, or write f another way")


def _row_times(factors) -> Expr:
    """vᵀ F₁ F₂ ... as the expression of the resulting row's entries."""
    first = factors[0]
    v = gradient_expr(first, first.cols)
    for f in factors[1:]:
        if isinstance(f, J.Identity):
            continue
        if isinstance(f, J.Scaled):
            v = E.mul(f.c, v)
        elif isinstance(f, J.Diagonal):
            v = E.mul(v, f.d)
        elif isinstance(f, J.Matrix):
            v = E.matmul(v, f.m)
        else:
            raise _not_yet(J.Product(factors))
    return v


def hessians(result, derivation: Derivation, groups, algebra=None) -> list[tuple[str, J.Jacobian]]:
    """(wrt, Hessian) for each group of names, in the result's layout; the gradient and the
    Hessian in the canonical form of `algebra` (algebra.py)."""
    algebra = algebra or Algebra()
    if result.output_shape != ():
        from .expr import describe_shape
        raise ShapeProblem("--hessian needs a scalar f, but f is "
                           f"{describe_shape(result.output_shape)}",
                           hint="use --wrt for the Jacobian of a vector or matrix f")
    out = []
    shapes = result.variables
    for group in groups:
        for name in group:
            if name not in shapes:
                from .report import did_you_mean
                guess = did_you_mean(name, list(shapes))
                raise NameProblem(f"--hessian {name}: {name} is not a variable of the expression",
                                  hint=guess or "name one of: " + ", ".join(shapes))
        gradients = {}
        for name in group:
            n = rules.size(shapes[name])
            gradient = J.simplified(derivation.jacobian(name, shapes[name]), algebra)
            gradients[name] = Derivation(gradient_expr(gradient, n))
        rows = []
        for a in group:
            blocks = [J.simplified(gradients[a].jacobian(b, shapes[b]), algebra)
                      if b in gradients[a].paths[gradients[a].tree]
                      else J.Zero(rules.size(shapes[a]), rules.size(shapes[b])) for b in group]
            rows.append(J.hstack(blocks))
        h = J.vstack(rows) if len(rows) > 1 else rows[0]
        if result.layout == "denominator":
            h = h.T
        out.append((",".join(group), h))
    return out
