"""Work grows linearly with the input, proved by counting work, never by timing: Python calls
made, garbage collections run, bytes allocated (tracemalloc). Timings are in benchmarks/.
"""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import jaccli.algebra
from jaccli.api import compute
from jaccli.serialize import dumps, to_dict

from runjac import session


def a_sum(n: int) -> str:
    return " + ".join(f"{i + 1}*sin(x*{i + 1})" for i in range(n))


def a_chain(depth: int) -> str:
    return "sin(" * depth + "x" + ")" * depth


def calls_and_size(text: str) -> tuple[int, int]:
    """(Python calls made to compute `text` and write its JSON, characters of that JSON)."""
    compute("x")   # the parser is built once, outside the count
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        doc = dumps(to_dict(compute(text)))
    finally:
        sys.setprofile(None)
    return calls, len(doc)


def test_a_sum_ten_times_longer_is_ten_times_the_work():
    small, large = calls_and_size(a_sum(200)), calls_and_size(a_sum(2000))
    assert large[0] <= 11 * small[0], (small, large)
    assert large[1] <= 11.5 * small[1], (small, large)   # the terms' numbers get longer


def test_a_chain_four_times_deeper_is_four_times_the_work():
    """The chain rule's product is collected once, not per partial product (expr.LONG_PRODUCT,
    algebra.product_chain), and JSON names the repeats of a form this long (naming.py)."""
    small, large = calls_and_size(a_chain(50)), calls_and_size(a_chain(200))
    assert large[0] <= 4.5 * small[0], (small, large)
    assert large[1] <= 4.5 * small[1], (small, large)


def test_no_garbage_collection_runs_during_an_answer():
    """A full collection rescans every tree built so far: with it, a 10x longer sum took 17x
    the time. Collections run between the answers of a batch, not inside them."""
    runs = []
    inside = [False]

    def record(phase, info):
        if phase == "start" and inside[0]:
            runs.append(info["generation"])

    s, out, _ = session()
    answer = s.answer

    def watched(expression):
        inside[0] = True
        try:
            return answer(expression)
        finally:
            inside[0] = False

    s.answer = watched
    gc.collect()
    gc.callbacks.append(record)
    try:
        assert s.one(a_sum(1500)) == 0
    finally:
        gc.callbacks.remove(record)
    assert gc.isenabled()           # and it is back on afterwards
    assert runs == []
    assert '"jacobians"' in out.getvalue()


def test_an_npy_value_is_copied_once(tmp_path):
    from jaccli.inputs import parse_value
    path = tmp_path / "big.npy"
    np.save(path, np.arange(10 ** 6, dtype=float))
    tracemalloc.start()
    try:
        value = parse_value(f"@{path}", "x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert value.shape == (10 ** 6,) and value[-1] == 10 ** 6 - 1
    assert peak < 1.25 * value.nbytes, peak     # two copies would peak at twice its size


_RSS_PROBE = """
import sys
from jaccli.inputs import parse_value

def peak():   # this process's own high-water mark (getrusage's counts its parent's too)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) * 1024

parse_value("1", "x")     # imports NumPy first
before = peak()
value = parse_value("@" + sys.argv[1], "x")
print((peak() - before) / value.nbytes)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads Linux's VmHWM")
def test_reading_an_npy_file_does_not_also_map_it_into_memory(tmp_path):
    """Peak resident memory (which counts the pages of a memory-mapped file once touched)
    grows by the array read, not twice that."""
    path = tmp_path / "big.npy"
    np.save(path, np.arange(4 * 10 ** 6, dtype=float))
    p = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(path)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert 0.9 < float(p.stdout) < 1.4, p.stdout


@pytest.mark.skipif(not jaccli.algebra.__file__.endswith(".py"),
                    reason="algebra.py is compiled (setup.py): its methods cannot be replaced "
                           "to count calls (the count is the Python code's, the same compiled)")
def test_a_canonical_form_is_not_simplified_again():
    """jacobians.simplified passes over a Jacobian twice; the second pass over forms that are
    already canonical does no algebra (counted: expansions into polynomials)."""
    from jaccli.algebra import Algebra
    from jaccli.syntax import parse
    from jaccli.shapes import infer

    typed, _ = infer(parse("(1 - tanh(W @ x)^2) * sigmoid(x) / 3 + x * x"), {}, [])
    algebra = Algebra()
    expansions = 0
    expand = algebra._poly

    def counted(e):
        nonlocal expansions
        expansions += 1
        return expand(e)

    algebra._poly = counted
    once = algebra.simplify(typed)
    first = expansions
    assert first > 0
    assert algebra.simplify(once) is once and algebra.simplify(typed) is once
    assert expansions == first


def test_an_answer_leaves_no_garbage_for_the_collector():
    """An answer's trees and Jacobians are freed by reference counting as soon as it is written
    (no recursive closure or other reference cycle keeps them): a batch never waits for a
    collection to give their memory back. Counted: objects a full collection finds."""
    s, out, _ = session()
    lines = ["max(0, w@x + b)", "softmax(x) * y", "tanh(tanh(w)) / v", "[v, z] * w",
             "norm(u - v)^2", "sum(exp(W @ x))", "x' @ A @ x", "mean((y - X @ w)^2)"]
    s.answer("x")                 # the parser and lazy imports are built outside the count
    gc.collect()
    for line in lines:
        assert s.answer(line) == 0
    assert gc.collect() == 0
    assert out.getvalue().count('"jacobians"') == len(lines) + 1


def test_the_written_out_size_kept_on_nodes_counts_every_appearance():
    """JSON and the terminal decide whether to name repeats from expr.written_size (kept on
    each node, shared by an answer's Jacobians): it is the size of the form written out, as a
    plain recursive count finds it, shared subtrees counted each time they appear; and
    jacobians.payloads collects the forms map_payloads visits, in its order."""
    from jaccli.expr import written_size
    from jaccli.jacobians import map_payloads, payloads

    def counted(e):
        return 1 + sum(counted(a) for a in e.args)

    for text in ["sin(sin(sin(sin(x))))", "tanh(tanh(w)) / v", "softmax(x) * y",
                 "[x^2*y, 2*x + y^8]", "sum(tanh(W @ x))", "a_sum", "x' @ W @ y"]:
        text = a_sum(30) if text == "a_sum" else text
        result = compute(text, wrt=[["W"]] if "W" in text else None)
        for jr in result.jacobians:
            visited = []
            map_payloads(jr.jacobian, lambda e: visited.append(e) or e)
            assert payloads(jr.jacobian) == visited
            assert [written_size(f) for f in visited] == [counted(f) for f in visited]
