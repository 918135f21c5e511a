"""`--check`: every Jacobian and Hessian of a `Result` against central finite differences.

At the given values (one point) when every Jacobian has numbers; otherwise at seeded random
values (`POINTS` points, sizes from the declarations, `DEFAULT_SIZE` for a symbolic size),
drawn again until every kink is at least `MARGIN` away — the argument of relu, abs, step
and sign, the difference of the arguments of max and min — and every domain edge (log,
sqrt, a denominator, a fractional power, tan's poles, a norm at 0), so that finite
differences measure the derivative. At given values that sit on a kink, where jac takes
one side's derivative (SPEC.md), a one-sided difference is accepted too.

The finite differences evaluate f itself (never a closed form), so they are independent of
the derivation. Each check is `{"ok", "max_abs_error", "points"}` on the `JacobianResult`.
"""
from __future__ import annotations

import numpy as np

from . import sizes
from .evaluate import Evaluator
from .values import NotEvaluable

POINTS = 3              # random points per check when no values are given
DEFAULT_SIZE = 3        # a symbolic size, for the random points
SEED = 0
MARGIN = 0.05           # how far a random point stays from a kink or a domain edge
TRIES = 200
STEP = 1e-6             # relative step of the first differences
STEP2 = 1e-4            # relative step of the second differences (Hessians)
RTOL, ATOL = 1e-5, 1e-6            # Jacobians: |J - FD| <= ATOL + RTOL * max(1, max|FD|)
RTOL2, ATOL2 = 1e-4, 1e-5          # Hessians (second differences are rougher)
MAX_COLUMNS = 400       # wider Jacobians are checked on a seeded sample of their columns
MAX_HESSIAN_COLUMNS = 30    # a Hessian costs 4 evaluations of f per pair of columns
WORK = 5 * 10 ** 7      # numbers in f's variables, summed over every evaluation of one check

_KINKS = ("relu", "abs", "step", "sign")
_POSITIVE = ("log", "sqrt")


def check_result(result, recompute) -> None:
    """Attach a check to every Jacobian and Hessian of `result`. `recompute(values)` is the
    same computation at other values (a Result with numbers)."""
    targets = result.jacobians + result.hessians
    if not targets:
        return
    if result.values and all(t.value is not None and not getattr(t.value, "too_large", False)
                             for t in targets):
        near_kink = hazard(result.tree, result.values) < 1e-3
        for t in result.jacobians:
            t.check = _check_one(result, t, [result.values], one_sided=near_kink)
        for h in result.hessians:
            h.check = _check_hessian(result, h, [result.values])
        return
    points = random_points(result)
    evaluated = [recompute(values) for values in points]
    if not points:
        note = ("no random values away from kinks and domain edges were found: "
                "give values with --at to check")
        for t in targets:
            t.check = {"ok": None, "max_abs_error": None, "points": 0, "note": note}
        result.warnings.append("--check: " + note)
        return
    for i, t in enumerate(result.jacobians):
        t.check = _merge([_check_one(r, r.jacobians[i], [v]) for r, v in zip(evaluated, points)])
    for i, h in enumerate(result.hessians):
        h.check = _merge([_check_hessian(r, r.hessians[i], [v]) for r, v in zip(evaluated, points)])
    for t in targets:
        t.check["seed"] = SEED
        if t.check["ok"] is None:
            result.warnings.append(f"--check {t.wrt}: {t.check['note']}")


def failed(result) -> bool:
    return any(t.check is not None and t.check["ok"] is False
               for t in result.jacobians + result.hessians)


def verdict(check: dict) -> str:
    """One line for the terminal: `check: ok, finite differences agree to 3.1e-10 at 3
    random points`."""
    if check["ok"] is None:
        return f"check: not done ({check.get('note', 'no values')})"
    where = (f"{check['points']} random point" + ("s" if check["points"] != 1 else "")
             if "seed" in check else "the given values")
    if check["ok"]:
        return f"check: ok, finite differences agree to {check['max_abs_error']:.2g} at {where}"
    return f"check: FAILED, finite differences differ by {check['max_abs_error']:.2g} at {where}"


# ---------------------------------------------------------------- comparisons

def _merge(checks: list[dict]) -> dict:
    for c in checks:
        if c["ok"] is None:
            return c
    return {"ok": all(c["ok"] for c in checks),
            "max_abs_error": max(c["max_abs_error"] for c in checks),
            "points": sum(c["points"] for c in checks)}


def _f(tree, values) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.reshape(np.asarray(Evaluator(values)(tree), dtype=float), -1)


def _columns(values: dict, names: list[str], most: int = MAX_COLUMNS) -> list[tuple[str, int]]:
    """The (variable, entry) columns to check: all, or a seeded sample when there are more
    than `most` or when differencing them all would evaluate f on more than WORK numbers."""
    entries = sum(np.size(v) for v in values.values())
    most = max(10, min(most, WORK // (2 * max(1, entries))))
    cols = [(n, k) for n in names for k in range(np.size(values[n]))]
    if len(cols) > most:
        keep = np.random.default_rng(SEED).choice(len(cols), most, replace=False)
        cols = [cols[i] for i in sorted(keep)]
    return cols


def _column(value, k: int, denominator: bool) -> np.ndarray:
    """Column k of the numerator-layout Jacobian, without building a large diagonal."""
    d = getattr(value, "d", None)
    if d is not None:
        out = np.zeros(d.size)
        out[k] = d[k]
        return out
    a = value.dense()
    return a[k, :] if denominator else a[:, k]


def _bump(values: dict, name: str, k: int, step: float) -> dict:
    a = np.array(values[name], dtype=float)
    a.reshape(-1)[k] += step
    return {**values, name: a}


def _index(names: list[str], values: dict) -> dict:
    """(name, k) -> the column of the stacked [vec(x); vec(y); ...]."""
    out, start = {}, 0
    for n in names:
        for k in range(np.size(values[n])):
            out[(n, k)] = start + k
        start += np.size(values[n])
    return out


def _tolerance(scale: float, rtol: float, atol: float) -> float:
    return atol + rtol * max(1.0, scale)


def _not_done(jr) -> dict | None:
    if jr.value is None or getattr(jr.value, "too_large", False):
        return {"ok": None, "max_abs_error": None, "points": 0,
                "note": "the Jacobian is too large to compute at the check's points"}
    return None


def _check_one(result, jr, points, one_sided: bool = False) -> dict:
    if _not_done(jr):
        return _not_done(jr)
    names = [n for n in jr.wrt.split(",")]
    values = points[0]
    if any(n not in values for n in names):      # a variable f does not use: its value is 0
        values = {**values, **{n: np.zeros(_concrete_shape(result.variables[n], {}))
                               for n in names if n not in values}}
    base = _f(result.tree, values)
    index = _index(names, values)
    worst, ok = 0.0, True
    for name, k in _columns(values, names):
        step = STEP * max(1.0, abs(float(np.reshape(values[name], -1)[k])))
        plus = _f(result.tree, _bump(values, name, k, step))
        minus = _f(result.tree, _bump(values, name, k, -step))
        column = _column(jr.value, index[(name, k)], result.layout == "denominator")
        candidates = [(plus - minus) / (2 * step)]
        if one_sided:
            candidates += [(plus - base) / step, (base - minus) / step]
        errors = [_error(column, c) for c in candidates]
        best = min(range(len(errors)), key=lambda i: errors[i])
        worst = max(worst, errors[best])
        scale = float(np.max(np.abs(candidates[best]), initial=0.0)) if np.all(
            np.isfinite(candidates[best])) else 0.0
        loose = 100 if best else 1           # a one-sided difference is only first-order
        if not errors[best] <= _tolerance(scale, RTOL * loose, ATOL * loose):
            ok = False
    return {"ok": ok, "max_abs_error": worst, "points": 1}


def _check_hessian(result, h, points) -> dict:
    """H[i, j] against the second difference
    (f(x+hᵢ+hⱼ) - f(x+hᵢ-hⱼ) - f(x-hᵢ+hⱼ) + f(x-hᵢ-hⱼ)) / 4hᵢhⱼ."""
    if _not_done(h):
        return _not_done(h)
    names = h.wrt.split(",")
    values = points[0]
    index = _index(names, values)
    cols = _columns(values, names, MAX_HESSIAN_COLUMNS)
    got = {a: _column(h.value, index[a], result.layout == "denominator") for a in cols}
    steps = {c: STEP2 * max(1.0, abs(float(np.reshape(values[c[0]], -1)[c[1]]))) for c in cols}

    def f(bumps) -> float:
        v = values
        for (name, k), s in bumps:
            v = _bump(v, name, k, s)
        return float(_f(result.tree, v)[0])

    worst, fd_scale = 0.0, 0.0
    errors = []
    for a in cols:
        for b in cols:
            ha, hb = steps[a], steps[b]
            fd = (f([(a, ha), (b, hb)]) - f([(a, ha), (b, -hb)]) - f([(a, -ha), (b, hb)])
                  + f([(a, -ha), (b, -hb)])) / (4 * ha * hb)
            e = _error(np.array([got[b][index[a]]]), np.array([fd]))
            errors.append(e)
            if np.isfinite(fd):
                fd_scale = max(fd_scale, abs(fd))
    worst = max(errors, default=0.0)
    return {"ok": bool(worst <= _tolerance(fd_scale, RTOL2, ATOL2)), "max_abs_error": worst,
            "points": 1}


def _error(got: np.ndarray, want: np.ndarray) -> float:
    """Largest |got - want|; entries non-finite in both, in the same way, agree."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    with np.errstate(all="ignore"):
        diff = np.where(same, 0.0, np.abs(got - want))
    diff = np.where(np.isnan(diff), np.inf, diff)
    return float(np.max(diff, initial=0.0))


# ---------------------------------------------------------------- random points

def random_points(result, count: int = POINTS) -> list[dict]:
    """Up to `count` seeded random points (name -> array) away from kinks and domain edges;
    variables with a given value keep it."""
    rng = np.random.default_rng(SEED)
    bound = _sizes(result)
    points = []
    for _ in range(count):
        values = _sample(result, bound, rng)
        if values is None:
            break
        points.append(values)
    return points


def _sizes(result) -> dict:
    """Every symbolic size gets DEFAULT_SIZE; a given value's size is kept."""
    bound: dict[str, int] = {}
    for name, value in result.values.items():
        shape = result.variables.get(name)
        if shape is None:
            continue
        for s, n in zip(shape, np.shape(value)):
            if isinstance(s, sizes.Sym) and len(s.terms) == 1:
                (mono, coef), = s.terms.items()
                if len(mono) == 1:
                    bound[mono[0]] = n // coef
    return bound


def _concrete(size, bound: dict) -> int:
    if sizes.is_concrete(size):
        return size
    return sum(c * int(np.prod([bound.get(s, DEFAULT_SIZE) for s in mono]))
               for mono, c in size.terms.items())


def _concrete_shape(shape, bound: dict) -> tuple:
    return tuple(_concrete(s, bound) for s in shape)


def _sample(result, bound: dict, rng) -> dict | None:
    """Random values for every variable, away from kinks and domain edges; None if none found."""
    fixed = dict(result.values)
    shapes = {n: _concrete_shape(s, bound) for n, s in result.variables.items() if n not in fixed}
    for attempt in range(TRIES):
        # Half the tries draw positive values only: logs and square roots of variables need them.
        low = 0.2 if attempt % 2 else -1.5
        values = {n: rng.uniform(low, 1.5, size=s) for n, s in shapes.items()}
        values.update(fixed)
        if hazard(result.tree, values) >= MARGIN:
            return values
    return None


def _whole_nonnegative(e) -> bool:
    return e.op == "num" and e.value == int(e.value) and e.value >= 0


def hazard(tree, values: dict) -> float:
    """The smallest distance to a kink or a domain edge among f's subexpressions at `values`
    (0 when f is not finite there); inf when there are none."""
    ev = Evaluator(values)
    try:
        with np.errstate(all="ignore"):
            out = ev(tree)
    except NotEvaluable:
        return 0.0
    if not np.all(np.isfinite(out)):
        return 0.0
    nearest = np.inf
    with np.errstate(all="ignore"):
        for node, value in ev.memo.items():
            args = [ev.memo.get(a) for a in node.args]
            if any(a is None for a in args):
                continue
            op = node.op
            if op in _KINKS:
                d = np.abs(args[0])
            elif op in ("max", "min"):
                d = np.abs(np.subtract(args[0], args[1]))
            elif op in _POSITIVE or op == "norm":
                d = np.asarray(args[0]) if op != "norm" else np.asarray(value)
            elif op == "div":
                d = np.abs(args[1])
            elif op == "tan":
                d = np.abs(np.cos(args[0]))
            elif op == "pow" and not _whole_nonnegative(node.args[1]):
                # a fractional power needs a positive base; a negative whole one, a nonzero base
                whole = node.args[1].op == "num" and node.args[1].value == int(node.args[1].value)
                d = np.abs(args[0]) if whole else np.asarray(args[0])
            else:
                continue
            d = np.asarray(d, dtype=float)
            if d.size:
                nearest = min(nearest, float(np.nanmin(np.where(np.isnan(d), -np.inf, d))))
    return nearest
