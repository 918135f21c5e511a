"""Long closed forms name what they repeat (u₁ = …, as the article does), so the printed
size grows with the input, not with its square; `symbolic` stays whole and reads back."""
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
    """Written out, the form grows as depth²; named, as depth: ×4 depth, about ×4 text."""
    small, large = (len(terminal(chain(d, f))) for d in (25, 100))
    whole_small, whole_large = (len(jac_json(chain(d, f), wrt=["x"])["jacobians"][0]["symbolic"])
                                for d in (25, 100))
    assert whole_large / whole_small > 10           # the whole form is quadratic ...
    assert large / small < 5                        # ... what the terminal prints is not


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
