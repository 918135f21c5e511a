"""SPEC.md "Shapes": declared shapes, inference through operators, defaults by case, tied
lengths sharing one symbol, and shape errors that name both operands and their shapes."""
from __future__ import annotations

import pytest

from jaccli.errors import JacError


def shapes_of(jac, text, **kw) -> dict:
    doc = jac(text, **kw)
    return {name: v["shape"] for name, v in doc["variables"].items()}


def kinds_of(jac, text, **kw) -> dict:
    doc = jac(text, **kw)
    return {name: v["kind"] for name, v in doc["variables"].items()}


def shape_error(jac, text, **kw) -> JacError:
    with pytest.raises(JacError) as info:
        jac(text, **kw)
    assert info.value.type == "shape", info.value.message
    return info.value


def test_neuron_vectors_of_one_length_and_a_scalar_bias(jac):
    s = shapes_of(jac, "max(0, w@x + b)")
    assert s["b"] == []
    assert len(s["w"]) == 1 and s["w"] == s["x"]
    assert isinstance(s["w"][0], str)          # one symbolic length, shared


def test_neuron_output_is_scalar(jac):
    doc = jac("max(0, w@x + b)")
    assert doc["output"] == {"kind": "scalar", "shape": []}
    assert [j["wrt"] for j in doc["jacobians"]] == ["w", "x", "b"]   # order of appearance


def test_product_of_undeclared_names_makes_vectors(jac):
    s = shapes_of(jac, "x*y")
    assert len(s["x"]) == 1 and s["x"] == s["y"]


@pytest.mark.parametrize("text", ["2*x", "x^2", "x + 1", "-x", "sin(x)", "x / 2", "2^x"])
def test_numbers_broadcast_and_keep_a_name_a_vector(jac, text):
    assert kinds_of(jac, text) == {"x": "vector"}


def test_declared_scalar_keeps_the_other_name_a_vector(jac):
    assert kinds_of(jac, "x*z", shapes={"z": "scalar"}) == {"x": "vector", "z": "scalar"}


@pytest.mark.parametrize("text, scalar", [("sum(x) + c", "c"), ("w@x + b", "b"),
                                          ("c * mean(x)", "c"), ("x + norm(y)", "x"),
                                          ("dot(u, v) - d", "d")])
def test_a_product_or_reduction_gives_its_scalar_shape(jac, text, scalar):
    kinds = kinds_of(jac, text)
    assert kinds[scalar] == "scalar"
    assert sum(k == "vector" for k in kinds.values()) == len(kinds) - 1


@pytest.mark.parametrize("text", ["sin(z) * x", "(z * 2) * x", "x / z^2"])
def test_expressions_of_declared_scalars_give_nobody_their_shape(jac, text):
    assert kinds_of(jac, text, shapes={"z": "scalar"}) == {"z": "scalar", "x": "vector"}


def test_names_combined_with_each_other_share_one_shape(jac):
    s = shapes_of(jac, "2*a + x")
    assert s["a"] == s["x"] and len(s["a"]) == 1
    # ...and the group takes a shape from the expression when one reaches it
    assert kinds_of(jac, "a * b + sum(x)") == {"a": "scalar", "b": "scalar", "x": "vector"}
    assert kinds_of(jac, "(a + b) * x", shapes={"x": "3"}) == {"a": "vector", "b": "vector",
                                                                "x": "vector"}


def test_vector_literal_gives_its_length(jac):
    assert shapes_of(jac, "[a, b] * c") == {"a": [], "b": [], "c": [2]}


def test_vector_from_the_expression_gives_its_length(jac):
    s = shapes_of(jac, "W @ x + y")
    assert len(s["W"]) == 2 and len(s["x"]) == 1
    assert s["y"] == [s["W"][0]]               # the rows of W
    assert s["x"] == [s["W"][1]]               # the inner size
    assert s["W"][0] != s["W"][1]              # nothing ties rows to columns


def test_softmax_output_gives_its_length(jac):
    s = shapes_of(jac, "softmax(x) + y")
    assert s["x"] == s["y"]


def test_declared_length_propagates(jac):
    assert shapes_of(jac, "x + y * z", shapes={"z": "5"}) == {"x": [5], "y": [5], "z": [5]}


def test_declared_matrix_gives_its_shape_to_an_undeclared_name(jac):
    assert shapes_of(jac, "A * B", shapes={"B": "2x3"}) == {"A": [2, 3], "B": [2, 3]}


def test_values_fix_shapes(jac):
    doc = jac("W @ x", values={"W": [[1, 2, 3], [4, 5, 6]], "x": [1, 2, 3]})
    assert {n: v["shape"] for n, v in doc["variables"].items()} == {"W": [2, 3], "x": [3]}
    assert doc["output"] == {"kind": "vector", "shape": [2], "value": [14.0, 32.0]}


@pytest.mark.parametrize("text, kinds", [
    ("W", {"W": "matrix"}),
    ("A + B", {"A": "matrix", "B": "matrix"}),
    ("W @ x", {"W": "matrix", "x": "vector"}),
    ("x @ W", {"x": "vector", "W": "matrix"}),
    ("sum(X)", {"X": "matrix"}),
    ("x", {"x": "vector"}),
    ("sum(x)", {"x": "vector"}),
])
def test_upper_case_defaults_to_matrix_lower_case_to_vector(jac, text, kinds):
    assert kinds_of(jac, text) == kinds


def test_matrix_shapes_through_products(jac):
    s = shapes_of(jac, "A @ B @ x")
    assert s["A"][1] == s["B"][0] and s["B"][1] == s["x"][0]


def test_transposes(jac):
    doc = jac("x'")
    assert doc["output"]["kind"] == "row"
    assert doc["output"]["shape"] == [1, doc["variables"]["x"]["shape"][0]]
    s = shapes_of(jac, "W' @ x")
    assert s["x"] == [s["W"][0]]


def test_vector_literal_entries_are_scalars(jac):
    doc = jac("[a, b] + c")
    assert doc["variables"]["a"]["kind"] == doc["variables"]["b"]["kind"] == "scalar"
    assert doc["variables"]["c"]["shape"] == [2]
    assert doc["output"]["shape"] == [2]


def test_article_jacobian_scalars_inferred(jac):
    doc = jac("[3*x^2*y, 2*x + y^8]", wrt=["x,y"])
    assert doc["variables"] == {"x": {"kind": "scalar", "shape": []},
                                "y": {"kind": "scalar", "shape": []}}
    assert doc["jacobians"][0]["shape"] == [2, 2]


def test_tied_lengths_share_one_symbol_and_free_ones_differ(jac):
    s = shapes_of(jac, "sum(x) + sum(y) + x @ z")
    assert s["x"] == s["z"]
    assert s["y"] != s["x"]


def test_symbols_avoid_names_used_in_the_expression(jac):
    s = shapes_of(jac, "n @ m")
    assert s["n"] == s["m"]
    assert s["n"][0] not in ("n", "m")
    assert len(s["n"][0]) == 1


def test_unicode_names(jac):
    s = shapes_of(jac, "θ @ x")
    assert s["θ"] == s["x"] and len(s["θ"]) == 1


def test_declared_symbolic_sizes(jac):
    assert shapes_of(jac, "W @ x", shapes={"W": "m,n"}) == {"W": ["m", "n"], "x": ["n"]}
    assert shapes_of(jac, "x + y", shapes={"x": "2*n"}) == {"x": ["2*n"], "y": ["2*n"]}


# -------------------------------------------------------------------- errors

def test_mixed_case_group_asks_for_a_shape(jac):
    e = shape_error(jac, "x * W")
    assert "x" in e.message and "W" in e.message
    assert "--shape" in (e.message + " " + (e.hint or ""))


def test_mixed_case_group_resolved_by_a_declaration(jac):
    assert shapes_of(jac, "x * W", shapes={"W": "2x3"}) == {"x": [2, 3], "W": [2, 3]}
    assert kinds_of(jac, "x * W", shapes={"x": "3"}) == {"x": "vector", "W": "vector"}


@pytest.mark.parametrize("text, shapes, words", [
    ("x * y", {"x": "3", "y": "2"}, ["x", "y", "length 3", "length 2"]),
    ("x + y", {"x": "n", "y": "m"}, ["x", "y", "length n", "length m"]),
    ("x @ y", {"x": "3", "y": "4"}, ["x", "y", "length 3", "length 4"]),
    ("W @ x", {"W": "2x3", "x": "4"}, ["W", "x", "2x3", "length 4"]),
    ("dot(x, y)", {"x": "3", "y": "4"}, ["x", "y", "length 3", "length 4"]),
    ("A + B", {"A": "2x3", "B": "3x2"}, ["A", "B", "2x3", "3x2"]),
    ("W + x", {"W": "2x3", "x": "3"}, ["W", "x", "2x3", "length 3"]),
    ("x @ 2", {}, ["x", "2", "scalar"]),
])
def test_shape_error_names_both_operands_and_their_shapes(jac, text, shapes, words):
    e = shape_error(jac, text, shapes=shapes)
    for w in words:
        assert w in e.message, (w, e.message)
    assert e.column is not None and 1 <= e.column <= len(text)


@pytest.mark.parametrize("text, shapes", [
    ("norm(W)", {}),
    ("softmax(W)", {}),
    ("[x, y]", {"x": "3"}),
    ("sum(x) @ y", {}),
])
def test_other_shape_errors(jac, text, shapes):
    shape_error(jac, text, shapes=shapes)


@pytest.mark.parametrize("shapes, values", [
    ({"x": "scalar"}, {"x": [1, 2]}),
    ({"x": "3"}, {"x": [1, 2]}),
    ({"x": "2x2"}, {"x": [1, 2]}),
    ({"x": "2"}, {"x": 1.5}),
])
def test_value_contradicting_a_declaration(jac, shapes, values):
    e = shape_error(jac, "sin(x)", shapes=shapes, values=values)
    assert "x" in e.message


def test_value_agreeing_with_a_symbolic_declaration(jac):
    assert shapes_of(jac, "sin(x)", shapes={"x": "n"}, values={"x": [1, 2]}) == {"x": [2]}


def test_value_contradicting_the_expression(jac):
    e = shape_error(jac, "w @ x", values={"w": [1, 2, 3], "x": [1, 2]})
    assert "length 3" in e.message and "length 2" in e.message


# -------------------------------------------------------------------- outer products

def declared_shapes(shapes: dict) -> dict:
    from jaccli.inputs import parse_shape
    return {name: parse_shape(spec) for name, spec in shapes.items()}


def inferred(text: str, **shapes) -> dict:
    """Variable shapes as shape inference gives them, symbols as strings."""
    from jaccli.shapes import variable_shapes
    from jaccli.syntax import parse
    out = variable_shapes(parse(text), declared_shapes(shapes))
    return {name: [d if isinstance(d, int) else str(d) for d in shape] for name, shape in out.items()}


@pytest.mark.parametrize("text, shapes, want", [
    # a vector times a row is the outer product: no size is tied, none is set to 1
    ("x@x'", {}, {"x": ["n"]}),
    ("x@x'", {"x": "3"}, {"x": [3]}),
    ("x@y'", {}, {"x": ["n"], "y": ["m"]}),
    ("x@A", {"A": "1x4"}, {"x": ["n"], "A": [1, 4]}),
    ("(x@y')@z", {}, {"x": ["n"], "y": ["m"], "z": ["m"]}),
    ("W@x@x'", {}, {"W": ["m", "n"], "x": ["n"]}),
    ("x@(y@z')", {}, {"x": ["n"], "y": ["n"], "z": ["m"]}),
    # otherwise vector@matrix is x'A, and x'@y the dot product
    ("x@A", {}, {"x": ["n"], "A": ["n", "m"]}),
    ("x@A", {"A": "2x4"}, {"x": [2], "A": [2, 4]}),
    ("x'@x", {}, {"x": ["n"]}),
    ("x'@y", {"x": "3"}, {"x": [3], "y": [3]}),
    # a row known only from elsewhere in the expression, in either order
    ("x@A + sum(A + y')", {}, {"x": ["n"], "A": [1, "m"], "y": ["m"]}),
    ("sum(A + y') + x@A", {}, {"A": [1, "n"], "y": ["n"], "x": ["m"]}),
])
def test_outer_product_shapes(text, shapes, want):
    assert inferred(text, **shapes) == want


def test_outer_product_agrees_with_numpy():
    """Oracle: NumPy's outer product of vectors of the declared lengths."""
    import numpy as np
    for n, m in [(3, 2), (1, 4), (2, 1)]:
        s = inferred("x@y'", x=str(n), y=str(m))
        assert np.outer(np.ones(s["x"]), np.ones(s["y"])).shape == (n, m)


def test_outer_product_output_is_a_matrix(jac):
    doc = jac("x@x'", shapes={"x": "3"})
    assert doc["output"] == {"kind": "matrix", "shape": [3, 3]}
