"""Every figure of the performance targets (issue 10) in one run, each as a ratio measured in
this run, with autograd, SymPy and JAX side by side where they are installed.

usage: python benchmarks/targets.py [ROUNDS] [SECTION]
       ROUNDS: default 15; SECTION: one of one-shot, numbers, growth, batch (default: all);
       `pip install .[bench]` for peers

Run it with the Python of the environment jac is installed in. One-shot figures are medians
of paired rounds: every command runs once per round, in turn, and each ratio is the median of
that round's ratio to `python -c "import numpy"`, so a machine busy with other work skews
numerator and denominator alike. Linear growth is shown by the ratios of CPU time and output
size when the input grows 10x (sums) or 4x (chains). The .npy rows compare whole one-shot
runs of jac with a hand-written NumPy script doing the same work, in wall time and in peak
memory (the child's maximum resident set). Prints the table in Markdown at the end.
"""
from __future__ import annotations

import io
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

PY = sys.executable
# Users' installs have bytecode caches: time with them, as users run jac.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# The installed `jac` script beside this Python, as users run it; else the module.
_SCRIPT = os.path.join(os.path.dirname(PY), "jac")
JAC = [_SCRIPT] if os.access(_SCRIPT, os.X_OK) else [PY, "-m", "jaccli"]
NEURON = "max(0, w@x + b)"
AT = ["--at", "w=1,2,3", "--at", "x=4,5,6", "--at", "b=0.5"]

PEERS = {
    "autograd": """
import autograd.numpy as np
from autograd import jacobian
x, b = np.array([4., 5., 6.]), 0.5
print(jacobian(lambda w: np.maximum(0, np.dot(w, x) + b))(np.array([1., 2., 3.])))
""",
    "jax": """
import jax, jax.numpy as jnp
x, b = jnp.array([4., 5., 6.]), 0.5
print(jax.jacobian(lambda w: jnp.maximum(0, jnp.dot(w, x) + b))(jnp.array([1., 2., 3.])))
""",
    "sympy": """
import sympy as sp
w, x = sp.Matrix(sp.symbols("w0:3")), sp.Matrix(sp.symbols("x0:3"))
b = sp.Symbol("b")
J = sp.Matrix([sp.Max(0, (w.T * x)[0] + b)]).jacobian(w)
print(J.subs({**dict(zip(w, [1, 2, 3])), **dict(zip(x, [4, 5, 6])), b: 0.5}))
""",
}


def timed_child(cmd, stdin=None, statuses=(0, 1)) -> tuple[float, float, float]:
    """(wall seconds, peak resident MB, CPU seconds) of one child process, through os.wait4;
    RuntimeError for an exit status not in `statuses`."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=ENV, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if stdin:
        child.stdin.write(stdin)
        child.stdin.close()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in statuses:
        raise RuntimeError(f"{' '.join(cmd[:4])}: exit status {child.returncode}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def installed(module: str) -> bool:
    return subprocess.run([PY, "-c", f"import {module}"], capture_output=True).returncode == 0


def paired(commands: dict, rounds: int) -> dict:
    """name -> median over rounds of (wall of name / wall of the first command)."""
    names = list(commands)
    for cmd in commands.values():
        timed_child(cmd)                      # warm: bytecode caches, disk cache
    ratios = {name: [] for name in names}
    walls = {name: [] for name in names}
    for _ in range(rounds):
        round_walls = {name: timed_child(commands[name])[0] for name in names}
        for name in names:
            walls[name].append(round_walls[name])
            ratios[name].append(round_walls[name] / round_walls[names[0]])
    return {name: (statistics.median(walls[name]) * 1000, statistics.median(ratios[name]))
            for name in names}


def one_shot(rounds: int, rows: list) -> None:
    print("one-shot runs (median wall, median ratio to python -c 'import numpy')")
    jac = JAC + [NEURON, "--wrt", "w"]
    commands = {
        "python -c 'import numpy'": [PY, "-c", "import numpy"],
        "python -c pass": [PY, "-c", "pass"],
        "jac symbolic --json": jac + ["--json"],
        "jac --at values --json": jac + ["--json"] + AT,
        "jac --at values, Rich output": jac + AT,
    }
    for peer, code in PEERS.items():
        if installed(peer):
            commands[f"{peer}: the neuron's Jacobian"] = [PY, "-c", code]
        else:
            print(f"  ({peer} is not installed: skipped)")
    figures = paired(commands, rounds)
    for name, (ms, ratio) in figures.items():
        print(f"  {name:34} {ms:7.1f} ms  {ratio:5.2f}x")
    goals = {"jac symbolic --json": ("`jac \"max(0, w@x + b)\" --wrt w --json`", 0.6),
             "jac --at values --json": ("the same with `--at w=1,2,3 --at x=4,5,6 --at b=0.5`",
                                        1.2),
             "jac --at values, Rich output": ("the same with values, Rich output", 1.5)}
    for name, (label, goal) in goals.items():
        rows.append((label, f"≤ {goal}× `import numpy`", f"{figures[name][1]:.2f}×"))
    for name, (ms, ratio) in figures.items():
        if ":" in name:
            rows.append((f"peer: {name}", "", f"{ratio:.2f}×"))


def answer(text: str) -> tuple[float, int]:
    """(CPU seconds, characters written) for one `jac TEXT --json`, in-process as the CLI
    runs it."""
    from jaccli.session import Session
    out, err = io.StringIO(), io.StringIO()
    session = Session(wrt=None, shapes={}, at=[], layout="numerator", as_json=True, save=None,
                      out=out, err=err)
    start = time.process_time()     # CPU time: other work on the machine does not count
    status = session.one(text)
    elapsed = time.process_time() - start
    if status:
        raise RuntimeError(err.getvalue()[-300:])
    return elapsed, len(out.getvalue())


def growth(rows: list) -> None:
    print("growth: in-process answers (parse, derive, JSON) as the CLI makes them, CPU time")
    answer("x")   # builds the parser
    # Distinct powers keep every term; 10^5 terms would pass the 10^5-character line cap
    # (README "Reliability"), so the sums stop at 10^4.
    cases = [("sums", lambda n: " + ".join(f"x^{i + 2}" for i in range(n)), (10 ** 3, 10 ** 4)),
             ("chains", lambda d: "sin(" * d + "x" + ")" * d, (50, 200))]
    for label, make, sizes in cases:
        figures = [answer(make(n)) for n in sizes]
        for n, (seconds, chars) in zip(sizes, figures):
            print(f"  {label} {n:>7}: {seconds * 1000:9.1f} ms  {chars:10} characters")
        steps = []
        for (a, fa), (b, fb) in zip(zip(sizes, figures), zip(sizes[1:], figures[1:])):
            steps.append(f"time ×{fb[0] / fa[0]:.1f}, size ×{fb[1] / fa[1]:.1f}")
            print(f"  {label} {a} -> {b} (×{b // a}): {steps[-1]}")
        goal = "×10 per ×10" if label == "sums" else "×4 per ×4"
        rows.append((f"{label} " + " → ".join(str(n) for n in sizes), goal, "; ".join(steps)))


SIGMOID_SCRIPT = """
import sys, numpy as np
x, y = np.load(sys.argv[1]), np.load(sys.argv[2])
s = 1 / (1 + np.exp(-x))
np.savez(sys.argv[3], x=y * s * (1 - s), y=s)
"""
TANH_SCRIPT = """
import sys, numpy as np
W, x = np.load(sys.argv[1]), np.load(sys.argv[2])
t = np.tanh(W @ x)
np.savez(sys.argv[3], x=(1 - t * t)[:, None] * W)
"""


# W is 4000 x 4000 (1.6·10^7 numbers: more than jac takes in one value given as text, within
# what it takes from a .npy file). A run that fails stops the benchmark rather than timing
# jac's refusal.
DATA_SCRIPT = """
import os, sys, numpy as np
rng = np.random.default_rng(0)
for name, size, scale in (("x", 10 ** 6, 1), ("y", 10 ** 6, 1), ("W", (4000, 4000), 1 / 63),
                          ("v", 4000, 1)):
    np.save(os.path.join(sys.argv[1], name + ".npy"), rng.normal(size=size) * scale)
"""


def numbers(rounds: int, rows: list) -> None:
    print("numbers from .npy with --save, against a hand-written NumPy script (median wall, "
          "peak RSS)")
    with tempfile.TemporaryDirectory() as folder:
        def path(name):
            return os.path.join(folder, name)
        # Made by a child: a child's peak memory counts the pages it shares with this process
        # when it starts, so this one stays small until these figures are taken.
        subprocess.run([PY, "-c", DATA_SCRIPT, folder], check=True)
        cases = [
            ("`sigmoid(x) * y`, n = 10⁶", 1.3, 1.2,
             JAC + ["sigmoid(x) * y", "--at", f"x=@{path('x.npy')}",
              "--at", f"y=@{path('y.npy')}", "--json", "--save", path("jac.npz")],
             [PY, "-c", SIGMOID_SCRIPT, path("x.npy"), path("y.npy"), path("np.npz")]),
            ("`tanh(W @ x)` wrt x, n = 4000", 1.15, None,
             JAC + ["tanh(W @ x)", "--wrt", "x", "--at", f"W=@{path('W.npy')}",
              "--at", f"x=@{path('v.npy')}", "--json", "--save", path("jac2.npz")],
             [PY, "-c", TANH_SCRIPT, path("W.npy"), path("v.npy"), path("np2.npz")]),
        ]
        for label, time_goal, memory_goal, jac, script in cases:
            timed_child(jac, statuses=(0,))      # an error message is fast: not a figure
            timed_child(script, statuses=(0,))
            pairs = [(timed_child(jac, statuses=(0,)), timed_child(script, statuses=(0,)))
                     for _ in range(max(3, rounds // 3))]
            t = statistics.median(j[0] / s[0] for j, s in pairs)
            m = statistics.median(j[1] / s[1] for j, s in pairs)
            jw = statistics.median(j[0] for j, _ in pairs) * 1000
            sw = statistics.median(s[0] for _, s in pairs) * 1000
            jm, sm = pairs[-1][0][1], pairs[-1][1][1]
            print(f"  {label}: jac {jw:.0f} ms / {jm:.0f} MB, NumPy {sw:.0f} ms / {sm:.0f} MB: "
                  f"time {t:.2f}x, memory {m:.2f}x")
            goal = f"≤ {time_goal}× the NumPy script" + (
                f"; memory ≤ {memory_goal}×" if memory_goal else "")
            rows.append((label + ", `--save`", goal, f"time {t:.2f}×, memory {m:.2f}×"))


def batch(rows: list) -> None:
    rng = random.Random(1)
    templates = ["{f}({a}) * {b}", "{a} @ {b}", "{f}({a} + {c}*{b})", "sum({a} * {b})",
                 "max(0, {a}@{b} + {c})", "softmax({a}) * {c}", "{f}({f}({a})) / {b}",
                 "norm({a} - {b})^2", "[{a}, {b}] * {c}", "{a}^{c} - {f}({b})"]
    functions = ["sin", "cos", "exp", "tanh", "sigmoid", "log", "sqrt", "abs", "relu"]
    names = ["x", "y", "z", "w", "u", "v"]
    lines = []
    for _ in range(1000):
        a, b, c = rng.sample(names, 3)
        lines.append(rng.choice(templates).format(f=rng.choice(functions), a=a, b=b, c=c))
    data = ("\n".join(lines) + "\n").encode()
    cmd = JAC + ["-", "--json"]
    timed_child(cmd, data)
    runs = [timed_child(cmd, data) for _ in range(3)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    print(f"batch: {len(lines)} varied expressions through jac - --json: {wall * 1000:.0f} ms "
          f"({len(lines) / wall:,.0f} expressions/s), {cpu * 1000:.0f} ms of CPU time "
          f"({len(lines) / cpu:,.0f} /s)")
    rows.append(("batch: 1,000 varied expressions through `jac - --json`", "≥ 5,000 /s",
                 f"{len(lines) / wall:,.0f} /s ({len(lines) / cpu:,.0f} /s of CPU time)"))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, load average {load:.1f} at the start")


SECTIONS = ("one-shot", "numbers", "growth", "batch")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    chosen = sys.argv[2:] or SECTIONS
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        sys.exit(f"unknown section {unknown[0]!r}: choose from {', '.join(SECTIONS)}")
    print(machine())
    first, large, linear, many = [], [], [], []
    if "one-shot" in chosen:
        one_shot(rounds, first)
    if "numbers" in chosen:
        numbers(rounds, large)     # before growth(), which makes this process large
    if "growth" in chosen:
        growth(linear)
    if "batch" in chosen:
        batch(many)
    rows = first + linear + large + many     # in the order of the table
    print("\n| run | goal | measured |\n| --- | --- | --- |")
    for label, goal, measured in rows:
        print(f"| {label} | {goal} | {measured} |")


if __name__ == "__main__":
    main()
