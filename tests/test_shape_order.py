"""SPEC.md "Shapes" does not depend on the order of terms (issue 11): rule 1 fixes kinds
first, rule 2 spreads shapes until nothing changes, and a name given two different shapes is
a `shape` error naming both places.

The property: Hypothesis builds an expression as a tree of its own, prints it, and prints
it again with the operands of `+`, `*`, `max`, `min` and the terms of every sum permuted;
both texts must give the same shapes (up to the names jac picks for free sizes) or both a
`shape` error, with and without declarations."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaccli import sizes
from jaccli.errors import JacError
from jaccli.inputs import parse_shape
from jaccli.shapes import infer
from jaccli.syntax import parse

NAMES = ["x", "y", "z", "W"]
COMMUTATIVE = ("add", "mul", "max", "min")


# ---------------------------------------------------------------- a tree of the tests' own

def leaves():
    """Names, a number, and the firm shapes rule 2 spreads: reductions and products of names."""
    name = st.sampled_from(NAMES).map(lambda n: ("name", n))
    return st.one_of(name, name, st.just(("num", "2")),
                     name.map(lambda n: ("sum", n)),
                     st.tuples(name, name).map(lambda t: ("matmul", *t)))


def extend(inner):
    two = st.tuples(inner, inner)
    return st.one_of(
        st.lists(inner, min_size=2, max_size=4).map(lambda ts: ("add", *ts)),
        two.map(lambda t: ("mul", *t)),
        two.map(lambda t: ("div", *t)),
        two.map(lambda t: ("max", *t)),
        two.map(lambda t: ("min", *t)),
        two.map(lambda t: ("matmul", *t)),
        two.map(lambda t: ("dot", *t)),
        inner.map(lambda t: ("neg", t)),
        inner.map(lambda t: ("sin", t)),
        inner.map(lambda t: ("sum", t)),
        inner.map(lambda t: ("norm", t)),
        inner.map(lambda t: ("softmax", t)),
        inner.map(lambda t: ("transpose", t)),
        st.lists(inner, min_size=1, max_size=3).map(lambda ts: ("vector", *ts)),
    )


trees = st.recursive(leaves(), extend, max_leaves=12)


def text(t) -> str:
    op, *args = t
    if op in ("name", "num"):
        return args[0]
    shown = [text(a) for a in args]
    if op == "add":
        return "(" + " + ".join(shown) + ")"
    if op in ("mul", "div", "matmul"):
        return f"({shown[0]} {dict(mul='*', div='/', matmul='@')[op]} {shown[1]})"
    if op == "neg":
        return f"(-{shown[0]})"
    if op == "transpose":
        return f"({shown[0]})'"
    if op == "vector":
        return "[" + ", ".join(shown) + "]"
    return f"{op}({', '.join(shown)})"


def permuted(t, rng: random.Random):
    op, *args = t
    if op in ("name", "num"):
        return t
    args = [permuted(a, rng) for a in args]
    if op in COMMUTATIVE:
        rng.shuffle(args)
    return (op, *args)


# ---------------------------------------------------------------- what inference says

def outcome(expression: str, declared: dict):
    """Variables and shapes with jac's own size symbols renamed by first appearance over the
    sorted names (so `n` and `m` swapping places is no difference), or the error type."""
    try:
        _, shapes = infer(parse(expression), declared)
    except JacError as e:
        return ("error", e.type)
    rename: dict = {}
    out = {}
    for name in sorted(shapes):
        out[name] = tuple(d if isinstance(d, int) or d in declared_sizes(declared)
                          else rename.setdefault(d, f"s{len(rename)}") for d in shapes[name])
    return out


def declared_sizes(declared: dict) -> set:
    return {d for shape in declared.values() for d in shape if isinstance(d, sizes.Sym)}


DECLARATIONS = st.dictionaries(st.sampled_from(NAMES),
                               st.sampled_from(["scalar", "3", "n", "2x3", "m,n", "1x3"]),
                               max_size=3)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, DECLARATIONS, st.randoms(use_true_random=False))
def test_shapes_do_not_depend_on_the_order_of_terms(tree, specs, rng):
    declared = {name: parse_shape(spec) for name, spec in specs.items()}
    first = outcome(text(tree), declared)
    for _ in range(3):
        again = permuted(tree, rng)
        assert outcome(text(again), declared) == first, (text(tree), text(again), specs)


# ---------------------------------------------------------------- the cases of issue 11

def shapes_of(jac, expression, **kw) -> dict:
    return {n: v["shape"] for n, v in jac(expression, **kw)["variables"].items()}


def shape_error(jac, expression, **kw) -> JacError:
    with pytest.raises(JacError) as info:
        jac(expression, **kw)
    assert info.value.type == "shape", info.value.message
    return info.value


@pytest.mark.parametrize("expression", ["sum(y)*z + sum(z)", "sum(z) + sum(y)*z",
                                        "sum(2*z) + sum(y)*z", "sum(y)*z + sum(z*2)"])
def test_rule_one_fixes_kinds_before_rule_two_spreads_shapes(jac, expression):
    """z is an operand of sum, so a vector; a scalar next to it broadcasts."""
    s = shapes_of(jac, expression)
    assert len(s["z"]) == 1 and len(s["y"]) == 1


@pytest.mark.parametrize("expression", ["(-z - v@y) + max(z, v)", "z - v@y + max(z, v)",
                                        "max(z, v) + (-z - v@y)", "max(v, z) - v@y - z"])
def test_a_name_given_two_shapes_is_an_error_naming_both_places(jac, expression):
    e = shape_error(jac, expression)
    assert "z" in e.message and "a scalar" in e.message and "a vector" in e.message
    assert "v @ y" in e.message                     # the place that gives the scalar
    assert "--shape z=" in e.hint
    assert e.column is not None


@pytest.mark.parametrize("expression", ["(-z - v@y) + max(z, v)", "z - v@y + max(z, v)"])
def test_a_declaration_settles_a_name_given_two_shapes(jac, expression):
    assert shapes_of(jac, expression, shapes={"z": "scalar"})["z"] == []
    assert shapes_of(jac, expression, shapes={"z": "4"}) == {"z": [4], "v": [4], "y": [4]}


def test_shapes_given_by_several_places_tie_their_sizes(jac):
    s = shapes_of(jac, "(a + W@x) * 2 + (a - V@y)")
    assert s["a"] == [s["W"][0]] == [s["V"][0]]
    assert shapes_of(jac, "a + x + b*y", shapes={"x": "3"}) == {"a": [3], "x": [3], "b": [3],
                                                                "y": [3]}
    e = shape_error(jac, "(a + x) + max(a, y)", shapes={"x": "3", "y": "4"})
    assert "length 3" in e.message and "length 4" in e.message


def test_the_same_shape_given_twice_is_no_conflict(jac):
    s = shapes_of(jac, "x'@A@x + b'@x + c")
    assert s["c"] == []


def test_an_entry_of_a_vector_literal_and_a_vector_are_two_shapes(jac):
    e = shape_error(jac, "[a, b] + a*v")
    assert "entry" in e.message and "a, v" in e.message


def test_the_hint_offers_a_size_that_is_no_variable(jac):
    e = shape_error(jac, "n - v@y + max(n, v)")
    assert "--shape n=n" not in e.hint and "--shape n=m" in e.hint
