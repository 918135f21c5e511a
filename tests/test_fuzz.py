"""Fuzzing: no input crashes jac, and well-typed input always gets an answer.

Hypothesis feeds jac random text (any Unicode, control characters included), token soups
built from the language's own symbols, random batches, and random well-typed expressions;
each answer must be a result or an error of a SPEC.md `type`, never a traceback, never an
"internal error" (a bug caught by the session's last resort). Then the inputs the issue
names one by one (20,000 nested parentheses, a 5,000-term sum, empty input, 10^5-character
lines), work linear in the length of a sum, and a sample through the installed program.

CI runs a few hundred examples in a few seconds. A longer run is one command:

    JAC_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py

(`python benchmarks/fuzz.py` sends thousands of random lines through `jac - --json`.)
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runjac import batch, check_answer, one, python_calls, run_jac, session, strict_json

SCALE = int(os.environ.get("JAC_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int):
    """Modest in CI; JAC_FUZZ_EXAMPLES sets every test's count for a long run."""
    return settings(max_examples=SCALE or examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ------------------------------------------------------------------------ strategies

TOKENS = (
    ["x", "y", "z", "w", "b", "W", "A", "θ", "x1", "_", "a_b", "n", "I"]
    + ["sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "max",
       "min", "sum", "mean", "norm", "softmax", "logsumexp", "dot", "diag", "step", "kron"]
    + ["0", "1", "2.5", ".5", "1e-3", "1e308", "1e999", "3.", "007", "1e", "1.2.3"]
    + ["+", "-", "*", "/", "^", "**", "@", "·", "'", "(", ")", "[", "]", ",", " ", "  ", "\t"]
    + [" where ", " where u = ", ", v = ", "u", "v"]
    + ["{", "}", ";", "=", "$", "#", "\\", "\"", "!", "%", "&", "|", "~", "`", "?", ":", "<"]
    + ["\x00", "\x07", "\x1b[31m", "\r", "\x0b", "\u200b", "\ufeff", "é", "∂", "∑", "😀", "\ud800"]
)
token_soups = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
any_text = st.text(st.characters(exclude_categories=()), max_size=60)   # surrogates, controls too
texts = st.one_of(token_soups, any_text)
line_texts = texts.map(lambda t: t.replace("\n", " "))       # one expression per line

# Well-typed expressions over declared shapes: scalars a, b; vectors x, y of length 3;
# a 3x3 matrix A. Every operand is parenthesised, so precedence never changes the type.
SHAPES = {"a": "scalar", "b": "scalar", "x": "3", "y": "3", "A": "3x3"}
VALUES = ["a=0.7", "b=-1.3", "x=[0.5,-1.5,2.0]", "y=[1.0,0.0,-2.5]",
          "A=[[1,2,0],[0,-1,3],[2,0.5,1]]"]
ELEMENTWISE = ["sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs"]
BINARY_OPS = ["+", "-", "*", "/"]
numbers = st.sampled_from(["2", "0.5", "3", "1e-3", "10"])


def _typed(depth: int):
    if depth == 0:
        return (st.one_of(numbers, st.sampled_from(["a", "b"])),
                st.sampled_from(["x", "y"]))
    s, v = _typed(depth - 1)
    scalar = st.one_of(
        s,
        st.tuples(s, st.sampled_from(BINARY_OPS), s).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(ELEMENTWISE), s).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["sum", "mean", "norm", "logsumexp"]), v)
        .map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(v, v).map(lambda t: f"({t[0]} @ {t[1]})"),
        st.tuples(v, v).map(lambda t: f"dot({t[0]}, {t[1]})"),
        st.tuples(s, st.sampled_from(["2", "3", "0.5", "-1"])).map(lambda t: f"(({t[0]})^{t[1]})"),
        st.tuples(st.sampled_from(["max", "min"]), s, s).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        s.map(lambda e: f"(-{e})"),
    )
    vector = st.one_of(
        v,
        st.tuples(v, st.sampled_from(BINARY_OPS), v).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(s, st.sampled_from(["*", "+", "-"]), v).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(v, st.sampled_from(["*", "/", "-"]), s).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(ELEMENTWISE + ["softmax"]), v).map(lambda t: f"{t[0]}({t[1]})"),
        v.map(lambda e: f"(A @ {e})"),
        v.map(lambda e: f"({e} @ A)"),
        v.map(lambda e: f"log(softmax({e}))"),
        st.tuples(st.sampled_from(["max", "min"]), v, st.sampled_from(["0", "x"]))
        .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(s, s, s).map(lambda t: f"[{t[0]}, {t[1]}, {t[2]}]"),
        v.map(lambda e: f"(({e})^2)"),
        v.map(lambda e: f"(-{e})"),
    )
    return scalar, vector


_scalar, _vector = _typed(3)
typed_expressions = st.one_of(_scalar, _vector).filter(
    lambda e: any(n in e for n in ("a", "b", "x", "y")))


def _matrices(depth: int):
    s, v = _typed(1)
    m = st.sampled_from(["A", "(A')"])
    for _ in range(depth):
        m = st.one_of(
            m,
            st.tuples(m, st.sampled_from(["+", "-", "*"]), m).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(m, s).map(lambda t: f"({t[0]} * {t[1]})"),
            st.tuples(st.sampled_from(ELEMENTWISE), m).map(lambda t: f"{t[0]}({t[1]})"),
            m.map(lambda e: f"(({e})')"),
        )
    return m, v


_m, _v = _matrices(2)
matrix_expressions = st.one_of(
    _m,
    st.tuples(_m, _v).map(lambda t: f"({t[0]} @ {t[1]})"),
    st.tuples(_v, _m).map(lambda t: f"({t[0]} @ {t[1]})"),
    st.tuples(_m, _v).map(lambda t: f"sum({t[0]} @ {t[1]})"),
    st.tuples(_v, _m, _v).map(lambda t: f"({t[0]} @ {t[1]} @ {t[2]})"),
)
SIZES = {"a": 1, "b": 1, "x": 3, "y": 3, "A": 9}


# ------------------------------------------------------------------------ random input

@fuzz(300)
@given(texts)
def test_random_text_gets_a_typed_answer(text):
    status, doc, err = one(text)
    kind = check_answer(doc, err)
    assert status == (0 if kind == "ok" else 1)


@fuzz(100)
@given(token_soups)
def test_random_text_in_the_terminal_never_crashes(text):
    s, out, err = session(as_json=False)
    status = s.one(text)
    assert status in (0, 1)
    assert "internal error" not in err.getvalue() and "Traceback" not in err.getvalue()
    if status == 1:
        assert err.getvalue().startswith("jac: ")


@fuzz(100)
@given(token_soups, st.sampled_from([(), ("x=1,2,3",), ("x=0", "y=-1e308"), ("W=[[1,2],[3,4]]",)]))
def test_random_text_with_values_gets_a_typed_answer(text, at):
    status, doc, err = one(text, at=at)
    check_answer(doc, err)


@fuzz(60)
@given(st.lists(st.one_of(line_texts, st.sampled_from(["", "   ", "# note", "x*y", "sin(x)"])),
                max_size=12))
def test_random_batch_answers_every_line_in_order(lines):
    status, docs, err = batch(lines)
    echoed = [_echoed(ln) for ln in lines]
    expected = [ln for ln in echoed if ln.strip() and not ln.lstrip().startswith("#")]
    assert [d["expression"] for d in docs] == expected
    kinds = [check_answer(d, err) for d in docs]
    assert status == (1 if any(k != "ok" for k in kinds) else 0)


def _echoed(line: str) -> str:
    """A line as its answer's `expression` shows it: without the line ending, and with
    unprintable lone surrogates as U+FFFD."""
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in line.rstrip("\r\n"))


# ------------------------------------------------------------------------ well-typed input

@fuzz(150)
@given(typed_expressions, st.booleans(), st.sampled_from(["numerator", "denominator"]))
def test_well_typed_expressions_always_get_jacobians(expression, with_values, layout):
    shapes = {k: v for k, v in SHAPES.items()}
    status, doc, err = one(expression, shapes=shapes, at=VALUES if with_values else (),
                           layout=layout)
    assert check_answer(doc, err) == "ok", (expression, doc)
    assert status == 0
    out = doc["output"]["shape"]
    rows = 1 if out == [] else out[0]
    for j in doc["jacobians"]:
        size = {"a": 1, "b": 1, "x": 3, "y": 3}[j["wrt"]]
        shape = [rows, size] if layout == "numerator" else [size, rows]
        assert j["shape"] == shape, (expression, j)
        if with_values:
            assert "value" in j and len(j["value"]) == shape[0], (expression, j)


@fuzz(100)
@given(matrix_expressions, st.sampled_from([["A"], ["x"], ["A,x"], ["x,A"], ["a", "A"], ["y,a,A"]]),
       st.booleans(), st.sampled_from(["numerator", "denominator"]))
def test_matrix_expressions_and_stacked_wrt(expression, wrt, with_values, layout):
    status, doc, err = one(expression, shapes=SHAPES, wrt=wrt, layout=layout,
                           at=VALUES if with_values else ())
    kind = check_answer(doc, err)
    if kind == "unsupported":        # a documented limit (e.g. d/dA of A'), said in words
        return
    assert kind == "ok", (expression, doc)
    out = doc["output"]["shape"]
    rows = 1
    for d in out:
        rows *= d
    for j, group in zip(doc["jacobians"], wrt):
        cols = sum(SIZES[n] for n in group.split(","))
        assert j["shape"] == ([rows, cols] if layout == "numerator" else [cols, rows]), (expression, j)
        if with_values:
            value = j["value"]
            assert len(value) == j["shape"][0] and len(value[0]) == j["shape"][1]


@fuzz(40)
@given(st.lists(typed_expressions, min_size=1, max_size=6))
def test_well_typed_batch_in_order(expressions):
    status, docs, err = batch(expressions, shapes=SHAPES, at=VALUES)
    assert [d["expression"] for d in docs] == expressions
    assert all(check_answer(d, err) == "ok" for d in docs)
    assert status == 0


# ------------------------------------------------------------------------ named inputs

LONG = 10 ** 5
NAMED = {
    "20000 nested parentheses": "(" * 20000 + "x" + ")" * 20000,
    "20000 unclosed parentheses": "(" * 20000 + "x",
    "20000 nested calls": "sin(" * 20000 + "x" + ")" * 20000,
    "20000 nested brackets": "[" * 20000 + "x" + "]" * 20000,
    "20000 unary minus": "-" * 20000 + "x",
    "20000 transposes": "x" + "'" * 20000,
    "a 20000-high power tower": "^".join(["x"] * 20000),
    "a 20000-factor product": "*".join(["x"] * 20000),
    "a 5000-term sum": " + ".join(f"{i + 1}*sin(x*{i + 1})" for i in range(5000)),
    "a 5000-term sum of one name": " + ".join(["x"] * 5000),
    "a 5000-term sum of distinct names": " + ".join(f"a{i}*b{i}" for i in range(5000)),
    "empty": "",
    "blanks": " \t\r\x0b\x0c",
    "a 10^5-character name": "x" * LONG,
    "a 10^5-character number": "9" * LONG,
    "a 10^5-character sum": "+".join(["x"] * (LONG // 2)),
    "a 10^5-character vector": "[" + ",".join(["x"] * (LONG // 2 - 1)) + "]",
    "10^5 operators": "+" * LONG,
    "10^5 spaces then x": " " * LONG + "x",
    "10^5 junk characters": "{;$" * (LONG // 3),
    "10^5 control characters": "".join(chr(i % 32) for i in range(LONG)),
    "10^5 random Unicode": "".join(chr(0x100 + (i * 7919) % 0xD000) for i in range(LONG)),
}


@pytest.mark.parametrize("text", NAMED.values(), ids=NAMED.keys())
def test_named_input_gets_a_typed_answer_with_work_linear_in_its_length(text):
    answers = []
    calls = python_calls(lambda: answers.append(one(text)))
    status, doc, err = answers[0]
    check_answer(doc, err)
    assert calls <= 200 * len(text) + 10 ** 4, f"{calls} calls for {len(text)} characters"


def test_deep_nesting_is_unsupported_and_points_at_it():
    status, doc, _ = one("sin(" * 20000 + "x" + ")" * 20000)
    assert doc["error"]["type"] == "unsupported"
    assert doc["error"]["column"] >= 1


def test_nested_parentheses_are_just_grouping():
    status, doc, _ = one("(" * 20000 + "x" + ")" * 20000, wrt=["x"])
    assert status == 0 and doc["jacobians"][0]["structure"] == "identity"


def test_five_thousand_term_sum_is_one_diagonal():
    status, doc, _ = one(" + ".join(f"{i + 1}*sin(x*{i + 1})" for i in range(5000)))
    assert status == 0
    assert doc["jacobians"][0]["structure"] == "diagonal"


def test_many_distinct_names_are_answered():
    text = " + ".join(f"a{i}*b{i}" for i in range(5000))
    status, doc, _ = one(text)
    assert status == 0 and len(doc["jacobians"]) == 10000
    assert doc["jacobians"][34]["wrt"] == "a17" and doc["jacobians"][34]["symbolic"] == "diag(b17)"


def test_a_huge_vector_of_distinct_names_is_refused_not_slow():
    text = "[" + ", ".join(f"a{i}" for i in range(3000)) + "]"
    status, doc, _ = one(text)                   # 3,000 Jacobians of 3,000 blocks each
    assert status == 1 and doc["error"]["type"] == "unsupported" and "--wrt" in doc["error"]["hint"]
    status, doc, _ = one(text, wrt=["a17"])      # one name is fine
    assert status == 0 and doc["jacobians"][0]["shape"] == [3000, 1]


# ------------------------------------------------------------------------ linear work

def _sum(n: int) -> str:
    return " + ".join(f"{i + 1}*sin(x*{i + 1})" for i in range(n))


def _calls(text: str) -> int:
    """Python function calls made while parsing and differentiating `text`."""
    from jaccli.api import compute
    return python_calls(lambda: compute(text))


def test_work_is_linear_in_the_length_of_a_sum():
    small, large = _calls(_sum(500)), _calls(_sum(5000))
    assert large / small <= 11, (small, large)   # 10x the terms, at most 11x the calls


# ------------------------------------------------------------------------ the installed program

def _random_lines(count: int, seed: int) -> list[bytes]:
    import random
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        pick = rng.random()
        if pick < 0.6:
            text = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 25)))
        elif pick < 0.8:
            text = "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(1, 30)))
        else:
            lines.append(bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 30)))
                         .replace(b"\n", b" ").replace(b"\r", b" "))
            continue
        lines.append(text.replace("\n", " ").replace("\r", " ")
                     .encode("utf-8", "surrogatepass"))
    return lines


def test_installed_program_answers_a_random_sample():
    lines = _random_lines(80, seed=4)
    r = run_jac(["-", "--json"], input=b"".join(line + b"\n" for line in lines))
    stderr = r.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr and "RuntimeWarning" not in stderr
    decoded = [ln.decode("utf-8", "replace") for ln in lines]
    expected = [ln for ln in decoded if ln.strip() and not ln.lstrip().startswith("#")]
    docs = [strict_json(x) for x in r.stdout.decode("utf-8").splitlines()]
    assert len(docs) == len(expected)
    kinds = [check_answer(d) for d in docs]
    assert r.returncode == (1 if any(k != "ok" for k in kinds) else 0)
