"""Long closed forms name what they repeat (u₁ = …, as the article does), so the printed
size grows with the input, not with its square. `symbolic` stays whole unless written out it
would pass LONG_SYMBOLIC nodes; then it names its repeats with the language's `where`, and
still reads back to the same numbers."""
from __future__ import annotations

import io

import numpy as np
import pytest

from jaccli.api import compute
from jaccli.render import render_result

from conftest import jac_json


def chain(depth: int, f: str = "sin") -> str:
    text = "x"
    for _ in range(depth):
        text = f"{f}({text})"
    return text


def terminal(text: str, **options) -> str:
    out = io.StringIO()
    render_result(compute(text, **options), out, width=100)
    return out.getvalue()


def test_a_chain_names_its_links_innermost_first():
    doc = jac_json(chain(7), wrt=["x"])
    entry = doc["jacobians"][0]
    assert entry["where"]["u₁"]["symbolic"] == "sin(sin(sin(x)))"
    assert entry["where"]["u₂"]["symbolic"] == "sin(u₁)"
    assert "cos(u₃)" in entry["named"]["symbolic"]
    assert r"\mathbf{u}_{3}" in entry["named"]["latex"]
    assert "u₁" not in entry["symbolic"]             # the form itself stays whole


def test_short_forms_are_left_alone():
    entry = jac_json("sin(x) * y", wrt=["x"])["jacobians"][0]
    assert "where" not in entry and "named" not in entry


@pytest.mark.parametrize("f", ["sin", "tanh", "sigmoid"])
def test_printed_size_is_linear_in_the_depth_of_a_chain(f):
    """Written out, the form grows as depth²; named, as depth: ×4 depth, about ×4 text, in
    the terminal and in JSON (past LONG_SYMBOLIC nodes), both symbolic and latex."""
    small, large = (len(terminal(chain(d, f))) for d in (25, 100))
    assert large / small < 5
    entries = [jac_json(chain(d, f), wrt=["x"])["jacobians"][0] for d in (60, 240)]
    for key in ("symbolic", "latex"):
        assert " where " in entries[0]["symbolic"]
        assert len(entries[1][key]) / len(entries[0][key]) < 5, key


def test_a_long_symbolic_form_reads_back_to_the_same_numbers():
    x = [0.3, -0.7, 1.1]
    entry = jac_json(chain(60), wrt=["x"], values={"x": x})["jacobians"][0]
    assert entry["symbolic"].startswith("diag(") and " where u1 = " in entry["symbolic"]
    assert r"\text{where } \mathbf{u}_{1} = " in entry["latex"]
    back = jac_json(entry["symbolic"], values={"x": x})
    np.testing.assert_allclose(back["output"]["value"], entry["value"], rtol=1e-12)
    body, _, definitions = entry["symbolic"].partition(" where ")
    assert len(body) + len(definitions) < 40 * 60     # linear: a few characters a link


def test_a_form_just_short_enough_stays_whole():
    entry = jac_json(chain(30), wrt=["x"])["jacobians"][0]
    assert " where " not in entry["symbolic"] and "named" in entry


def test_the_terminal_says_where():
    text = terminal(chain(7))
    assert "where u₁ = sin(sin(sin(x))), u₂ = sin(u₁)" in text


def test_named_forms_denote_the_same_numbers():
    """Substituting the definitions back, in order, gives the whole form's numbers."""
    x = [0.3, -0.7, 1.1]
    doc = jac_json(chain(8), wrt=["x"], values={"x": x})
    entry = doc["jacobians"][0]
    text = entry["named"]["symbolic"]
    for name, d in reversed(list(entry["where"].items())):
        text = text.replace(name, f"({d['symbolic']})")
    for name, d in reversed(list(entry["where"].items())):
        text = text.replace(name, f"({d['symbolic']})")
    assert "u" not in text
    back = jac_json(text[len("diag("):-1], values={"x": x})
    np.testing.assert_allclose(np.diag(entry["value"]), back["output"]["value"])


def test_the_latex_fragment_of_a_long_form_names_its_repeats_as_json_does():
    from jaccli.latex import fragment

    result = compute(chain(60), wrt=[["x"]])
    tex = fragment(result)
    entry = jac_json(chain(60), wrt=["x"])["jacobians"][0]
    assert entry["latex"] in tex and r"\text{where } \mathbf{u}_{1} = " in tex
    assert len(tex) < 10 * 60 * 20           # linear: the whole form has ~60² cosines' text
