"""Every derivative rule of jac, and nothing else (RULES.md, numerator layout).

`LOCAL[op](node, i)` is the Jacobian of `node` with respect to its i-th operand, a structured
`Jacobian` from `jacobians.py`. The chain rule that strings them together lives in
`derive.py`; no rule knows about layouts.

Element-wise operations only state the element derivative (a scalar-valued closed form per
entry); `elementwise` turns it into diag(g), g·I, a column (a broadcast scalar operand) or a
1x1 Jacobian, so element-wise work stays diagonal by construction.
"""
from __future__ import annotations

from . import expr as E
from . import jacobians as J
from . import sizes
from .errors import Unsupported
from .expr import Expr


def size(shape) -> sizes.Size:
    if len(shape) < 2:          # a scalar or a vector: asked for at every node
        return shape[0] if shape else 1
    return sizes.product(shape)


def elementwise(node: Expr, arg: Expr, g: Expr) -> J.Jacobian:
    """∂y/∂u for y = f(u, ...) element-wise with ∂yᵢ/∂uᵢ = gᵢ: diag(g), or a column when the
    scalar u is broadcast (∂(x + z)/∂z = 1), or g itself for scalars."""
    n = size(node.shape)
    if arg.shape == node.shape:
        if node.shape == ():
            return J.scalar(g)
        return J.diagonal(E.vec(g), n)
    return J.column(E.vec(E.fit(g, node.shape)), n)


# ---------------------------------------------------------------- element-wise, one operand

def _d_neg(node, u):
    """d(-u) = -1"""
    return E.num(-1)


def _d_sin(node, u):
    """sin' = cos"""
    return E.call("cos", u)


def _d_cos(node, u):
    """cos' = -sin"""
    return E.neg(E.call("sin", u))


def _d_tan(node, u):
    """tan' = 1 + tan²"""
    return E.add(E.ONE, E.pow_(node, E.num(2)))


def _d_exp(node, u):
    """exp' = exp"""
    return node


def _d_log(node, u):
    """log' = 1/u"""
    return E.div(E.ONE, u)


def _d_sqrt(node, u):
    """sqrt' = 1/(2√u)"""
    return E.div(E.ONE, E.mul(E.num(2), node))


def _d_tanh(node, u):
    """tanh' = 1 - tanh²"""
    return E.sub(E.ONE, E.pow_(node, E.num(2)))


def _d_sigmoid(node, u):
    """σ' = σ(1 - σ)"""
    return E.mul(node, E.sub(E.ONE, node))


def _d_relu(node, u):
    """relu' = step(u): 0 for u ≤ 0, 1 for u > 0"""
    return E.call("step", u)


def _d_abs(node, u):
    """abs' = sign(u), 0 at 0"""
    return E.call("sign", u)


def _d_flat(node, u):
    """step' = sign' = 0 (almost everywhere)"""
    return E.ZERO


UNARY = {"neg": _d_neg, "sin": _d_sin, "cos": _d_cos, "tan": _d_tan, "exp": _d_exp,
         "log": _d_log, "sqrt": _d_sqrt, "tanh": _d_tanh, "sigmoid": _d_sigmoid,
         "relu": _d_relu, "abs": _d_abs, "step": _d_flat, "sign": _d_flat}


# ---------------------------------------------------------------- element-wise, two operands

def _d_add(node, i):
    """∂(u + v)/∂u = ∂(u + v)/∂v = 1"""
    return E.ONE


def _d_mul(node, i):
    """∂(u ⊙ v)/∂u = v, ∂(u ⊙ v)/∂v = u"""
    return node.args[1 - i]


def _d_div(node, i):
    """∂(u/v)/∂u = 1/v, ∂(u/v)/∂v = -u/v²"""
    u, v = node.args
    if i == 0:
        return E.div(E.ONE, v)
    return E.neg(E.div(u, E.pow_(v, E.num(2))))


def _d_pow(node, i):
    """∂(uᵛ)/∂u = v·uᵛ⁻¹, ∂(uᵛ)/∂v = log(u)·uᵛ"""
    u, v = node.args
    if i == 0:
        exponent = E.num(v.value - 1) if E.is_number(v) else E.sub(v, E.ONE)
        return E.mul(v, E.pow_(u, exponent))
    return E.mul(E.call("log", u), node)


def _d_max(node, i):
    """max(u, v): 1 toward the larger operand, the first at a tie: ∂/∂v = step(v - u)"""
    u, v = node.args
    toward_second = E.call("step", E.sub(v, u))
    return E.sub(E.ONE, toward_second) if i == 0 else toward_second


def _d_min(node, i):
    """min(u, v): 1 toward the smaller operand, the first at a tie: ∂/∂v = step(u - v)"""
    u, v = node.args
    toward_second = E.call("step", E.sub(u, v))
    return E.sub(E.ONE, toward_second) if i == 0 else toward_second


BINARY = {"add": _d_add, "mul": _d_mul, "div": _d_div, "pow": _d_pow, "max": _d_max, "min": _d_min}


# ---------------------------------------------------------------- reductions and vector functions

def _d_sum(node, i):
    """∂sum(x)/∂x = 1ᵀ"""
    u = node.args[0]
    return J.row(E.ones((size(u.shape),)), size(u.shape)) if u.shape else J.Identity(1)


def _d_mean(node, i):
    """∂mean(x)/∂x = 1ᵀ/n"""
    u = node.args[0]
    n = size(u.shape)
    return J.row(E.div(E.ones((n,)), E.dim(n)), n) if u.shape else J.Identity(1)


def _d_norm(node, i):
    """∂‖x‖/∂x = xᵀ/‖x‖"""
    u = node.args[0]
    if u.shape == ():
        return J.scalar(E.call("sign", u))
    return J.row(E.div(u, node), size(u.shape))


def _d_logsumexp(node, i):
    """∂logsumexp(x)/∂x = softmax(x)ᵀ; over all entries of a matrix X, vec(exp(X - logsumexp(X)))ᵀ"""
    u = node.args[0]
    if u.shape == ():
        return J.Identity(1)
    if len(u.shape) == 2:
        return J.row(E.vec(E.call("exp", E.sub(u, node))), size(u.shape))
    return J.row(E.call("softmax", u), size(u.shape))


def _d_softmax(node, i):
    """∂softmax(x)/∂x = diag(s) - s sᵀ with s = softmax(x)"""
    n = size(node.shape)
    outer = J.jmul(J.column(node, n), J.row(node, n))
    return J.jsum(J.diagonal(node, n), J.scale(outer, E.num(-1)))


def _d_dot(node, i):
    """∂(u·v)/∂u = vᵀ, ∂(u·v)/∂v = uᵀ"""
    other = node.args[1 - i]
    return J.row(other, size(other.shape))


def _d_matmul(node, i):
    """W x: ∂/∂x = W, ∂/∂vec(W) = I ⊗ xᵀ;  xᵀA: ∂/∂x = Aᵀ, ∂/∂vec(A) = xᵀ ⊗ I;
    u vᵀ: ∂/∂u = I ⊗ v, ∂/∂v = u ⊗ I;
    A B: ∂/∂vec(A) = I ⊗ Bᵀ, ∂/∂vec(B) = A ⊗ I;  u·v: ∂/∂u = vᵀ (row-major vec throughout)."""
    a, b = node.args
    if len(a.shape) == 1 and len(b.shape) == 1:
        return _d_dot(node, i)
    if len(b.shape) == 1:  # matrix @ vector
        if i == 1:
            return J.as_jacobian(a, a.shape[0], a.shape[1])
        return J.kron(J.Identity(a.shape[0]), J.row(b, b.shape[0]))
    if len(a.shape) == 1 and len(node.shape) == 2:     # u @ vᵀ: vec(u vᵀ) = u ⊗ v
        v = E.vec(b)
        if i == 0:
            return J.kron(J.Identity(a.shape[0]), J.column(v, v.shape[0]))
        return J.kron(J.column(a, a.shape[0]), J.Identity(v.shape[0]))
    if len(a.shape) == 1:  # vector @ matrix
        if i == 0:
            return J.as_jacobian(E.transpose(b), b.shape[1], b.shape[0])
        return J.kron(J.row(a, a.shape[0]), J.Identity(b.shape[1]))
    if i == 0:
        return J.kron(J.Identity(a.shape[0]), J.as_jacobian(E.transpose(b), b.shape[1], b.shape[0]))
    return J.kron(J.as_jacobian(a, a.shape[0], a.shape[1]), J.Identity(b.shape[1]))


def _d_passthrough(node, i):
    """vec(x) and the transpose of a vector keep the entries in order: the Jacobian is I"""
    return J.Identity(size(node.shape))


def _d_transpose(node, i):
    """vec(Aᵀ) = K vec(A): the commutation matrix K (I for vectors and rows)"""
    shape = node.args[0].shape
    if len(shape) == 2:
        return J.commutation(shape[0], shape[1])
    return J.Identity(size(node.shape))


def _d_diag(node, i):
    """vec(diag(v)) picks v into the diagonal: ∂/∂v = diag(vec(I)) (I ⊗ 𝟏)"""
    n = node.shape[0]
    pick = J.kron(J.Identity(n), J.column(E.ones((n,)), n))
    return J.jmul(J.diagonal(E.vec(E.eye(n)), sizes.mul(n, n)), pick)


def _d_kron(node, i):
    """vec(P ⊗ Q) = (I ⊗ K(r, q) ⊗ I)(vec(P) ⊗ vec(Q)) for P p×r, Q q×s (row-major vec):
    ∂/∂vec(P) = (I ⊗ K ⊗ I)(I ⊗ vec(Q)), ∂/∂vec(Q) = (I ⊗ K ⊗ I)(vec(P) ⊗ I)"""
    a, b = node.args
    (p, r), (q, s) = (E.as_matrix_shape(x.shape) for x in (a, b))
    order = J.kron(J.kron(J.Identity(p), J.commutation(r, q)), J.Identity(s))
    if i == 0:
        inner = J.kron(J.Identity(size(a.shape) or 1), J.column(E.vec(b), size(b.shape) or 1))
    else:
        inner = J.kron(J.column(E.vec(a), size(a.shape) or 1), J.Identity(size(b.shape) or 1))
    return J.jmul(order, inner)


def _d_blocks(node, i):
    """vec(vstack(B₁, …)) = [vec(B₁); …]: ∂/∂vec(Bᵢ) picks its rows, [0; I; 0];
    hstack(B₁, …) = vstack(B₁ᵀ, …)ᵀ, so ∂/∂vec(Bᵢ) = K(C, r) [0; I; 0] K(r, cᵢ)"""
    shapes = [E.as_matrix_shape(a.shape) for a in node.args]
    counts = [sizes.mul(r, c) for r, c in shapes]
    n = counts[i]
    pick = J.vstack([J.Identity(n) if k == i else J.Zero(m, n) for k, m in enumerate(counts)])
    if node.op == "vstack":
        return pick
    rows, cols = E.as_matrix_shape(node.shape)
    into = J.jmul(pick, J.commutation(rows, shapes[i][1]))
    return J.jmul(J.commutation(cols, rows), into)


STRUCTURAL = {"diag": _d_diag, "kron": _d_kron, "hstack": _d_blocks, "vstack": _d_blocks, "sum": _d_sum, "mean": _d_mean, "norm": _d_norm, "logsumexp": _d_logsumexp,
              "softmax": _d_softmax, "dot": _d_dot, "matmul": _d_matmul,
              "transpose": _d_transpose, "vec": _d_passthrough}


def local(node: Expr, i: int) -> J.Jacobian:
    """The Jacobian of `node` with respect to its operand `i`."""
    op = node.op
    if op in UNARY:
        return elementwise(node, node.args[0], UNARY[op](node, node.args[0]))
    if op in BINARY:
        return elementwise(node, node.args[i], BINARY[op](node, i))
    if op in STRUCTURAL:
        return STRUCTURAL[op](node, i)
    raise Unsupported(f"no derivative rule for {op}")
