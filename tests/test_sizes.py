"""Sizes of any name and any number (SPEC.md "Shapes", issue 7 item 5): declared names such as
`batch`, `N`, `d_model` in every output path, jac's own symbols that never run out nor
collide with a variable, and declared sizes that could be zero or negative refused."""
from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from jaccli import sizes
from jaccli.cli import command
from jaccli.errors import JacError


def cli(*args: str):
    result = CliRunner().invoke(command, list(args), prog_name="jac")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"jac {args} raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    return result


# ---------------------------------------------------------------- the size algebra

@pytest.mark.parametrize("text, shown", [("batch", "batch"), ("d_model", "d_model"), ("N", "N"),
                                         ("2*batch", "2*batch"), ("N*d", "N*d"),
                                         ("n1 + n2", "n1+n2"), ("2*n - 3*n", "-n"),
                                         ("θ", "θ")])
def test_sizes_are_written_with_any_name(text, shown):
    assert str(sizes.parse(text)) == shown


@pytest.mark.parametrize("text", ["2n", "n!", "", "n +", "_n", "3.5"])
def test_malformed_sizes(text):
    with pytest.raises(ValueError):
        sizes.parse(text)


def test_upper_and_lower_case_symbols_are_different_sizes():
    assert sizes.parse("N") != sizes.parse("n")
    assert sizes.add(sizes.parse("N"), sizes.parse("n")) == sizes.parse("n+N")


polynomials = st.dictionaries(
    st.lists(st.sampled_from(["n", "m", "batch"]), max_size=3).map(lambda m: tuple(sorted(m))),
    st.integers(-4, 4), max_size=4)


@settings(max_examples=300, deadline=None)
@given(polynomials)
def test_surely_positive_is_never_wrong(terms):
    """Oracle: the polynomial evaluated at every assignment of 1..4 to its symbols."""
    s = sizes._make(dict(terms))
    names = sorted({x for mono in terms for x in mono})
    values = [sum(c * _product(v[names.index(x)] for x in mono) for mono, c in terms.items())
              for v in itertools.product(range(1, 5), repeat=len(names))]
    if sizes.surely_positive(s):
        assert min(values) >= 1
    if min(values) <= 0:
        assert not sizes.surely_positive(s)
    if all(c >= 0 for c in terms.values()) and min(values) >= 1:
        assert sizes.surely_positive(s)        # exact for sums of products with positive coefficients


def _product(xs):
    out = 1
    for x in xs:
        out *= x
    return out


def test_fresh_names_never_run_out_and_avoid_the_names_in_use():
    used = {"n", "m", "n1", "k2"} | set(sizes.LETTERS[5:])
    names = list(itertools.islice(sizes.fresh_names(used), 200))
    assert len(set(names)) == 200 and not set(names) & used
    assert all(sizes.NAME.fullmatch(n) for n in names)     # each can be written in --shape


# ---------------------------------------------------------------- declared sizes, every output path

DECLARED = [
    ("x + X@y", ["--shape", "X=N,d"]),
    ("x + X@y", ["--shape", "X=batch,d_model"]),
    ("W@x + b", ["--shape", "x=d_model", "--shape", "W=Hidden,d_model"]),
    ("mean(x) + sum(W@x)", ["--shape", "x=d_model", "--wrt", "x,W"]),
    ("sum(x*y)", ["--shape", "x=N", "--shape", "y=N"]),
    ("x' @ A @ x", ["--shape", "x=dim", "--wrt", "A"]),
    ("softmax(x)", ["--shape", "x=2*seq_len"]),
    ("[sum(x), sum(y)]", ["--shape", "x=n", "--shape", "y=N", "--wrt", "x,y"]),
]


@pytest.mark.parametrize("expression, options", DECLARED)
@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_declared_size_names_in_json_and_in_the_terminal(expression, options, layout):
    declared = {o.split("=")[0]: o.split("=")[1] for o in options[1::2] if "=" in o}
    terminal = cli(expression, *options, "--layout", layout)
    assert terminal.exit_code == 0, terminal.stderr
    doc = json.loads(cli(expression, *options, "--layout", layout, "--json").stdout)
    for name, spec in declared.items():
        want = [int(p) if p.isdigit() else p for p in spec.split(",")]
        assert doc["variables"][name]["shape"] == want
        for symbol in sizes.symbols(sizes.parse(spec.split(",")[0])):
            assert symbol in terminal.stdout
    for j in doc["jacobians"]:
        assert all(isinstance(d, int) or sizes.parse(d) is not None for d in j["shape"])


def test_upper_and_lower_case_sizes_stay_apart(jac):
    doc = jac("sum(x) + sum(y)", shapes={"x": "n", "y": "N"})
    assert doc["variables"]["x"]["shape"] == ["n"] and doc["variables"]["y"]["shape"] == ["N"]
    assert doc["jacobians"][0]["shape"] == [1, "n"] and doc["jacobians"][1]["shape"] == [1, "N"]


def test_the_hint_for_numbers_follows_declared_names():
    r = cli("x + X@y", "--shape", "X=N,d")
    assert "--shape X=3x2" in r.stdout


# ---------------------------------------------------------------- jac's own symbols

def test_many_independent_sizes_get_many_symbols(jac):
    expression = " + ".join(f"v{2 * i}@v{2 * i + 1}" for i in range(30))
    doc = jac(expression, wrt=["v0"])
    lengths = [doc["variables"][f"v{2 * i}"]["shape"][0] for i in range(30)]
    assert len(set(lengths)) == 30
    for i in range(30):
        assert doc["variables"][f"v{2 * i + 1}"]["shape"][0] == lengths[i]
    assert not set(lengths) & set(doc["variables"])


def test_symbols_avoid_every_name_of_the_expression(jac):
    names = list(sizes.LETTERS) + ["n1", "m1"]
    expression = " + ".join(f"sum({n})" for n in names)
    doc = jac(expression, wrt=["n"])
    picked = {doc["variables"][n]["shape"][0] for n in names}
    assert len(picked) == len(names) and not picked & set(names)


# ---------------------------------------------------------------- refused declarations

@pytest.mark.parametrize("spec", ["2*n-3*n", "n-1", "n-m", "0", "-3", "2,n-n"])
def test_a_size_that_could_be_zero_or_negative_is_a_shape_error(jac, spec):
    with pytest.raises(JacError) as info:
        jac("sin(x)", shapes={"x": spec})
    assert info.value.type == "shape" and "zero or negative" in info.value.message
    r = cli("sin(x)", "--shape", f"x={spec}")
    assert r.exit_code == 1 and "zero or negative" in r.stderr


@pytest.mark.parametrize("spec", ["2*n-1", "n+m-1", "m*n - n + 1"])
def test_sizes_with_a_minus_that_are_lengths_anyway(jac, spec):
    assert jac("sin(x)", shapes={"x": spec})["variables"]["x"]["shape"] == [str(sizes.parse(spec))]


@pytest.mark.parametrize("expression, shapes, clash", [
    ("x*n", {"x": "n"}, "n"), ("W@x + batch", {"W": "batch,d"}, "batch"),
    ("x", {"x": "2*y"}, None)])
def test_a_size_named_like_a_variable_is_a_shape_error(jac, expression, shapes, clash):
    if clash is None:                            # y is no variable of `x`: a size like any other
        assert jac(expression, shapes=shapes)["variables"]["x"]["shape"] == ["2*y"]
        return
    with pytest.raises(JacError) as info:
        jac(expression, shapes=shapes)
    assert info.value.type == "shape" and clash in info.value.message
    r = cli(expression, *[f"--shape={k}={v}" for k, v in shapes.items()])
    assert r.exit_code == 1
