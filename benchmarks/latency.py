"""One-shot latency of jac, the figure users feel at the prompt.

usage: python benchmarks/latency.py [RUNS]

Prints the median wall time of: an empty Python, `import numpy`, a symbolic `--json` run,
a `--json` run with values, and a terminal (Rich) rendering; and which of numpy / rich the
symbolic run imported (it should import neither).
"""
import os
import statistics
import subprocess
import sys
import time

# Users' installs have bytecode caches; a shell that forbids writing them would time the
# compiler instead of jac.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

PY = sys.executable
CASES = [
    ("python -c pass", [PY, "-c", "pass"]),
    ("python -c 'import numpy'", [PY, "-c", "import numpy"]),
    ("jac symbolic --json", [PY, "-m", "jaccli", "max(0, w@x + b)", "--json"]),
    ("jac with values --json", [PY, "-m", "jaccli", "max(0, w@x + b)", "--at", "w=1,2,3",
                                "--at", "x=4,5,6", "--at", "b=0.5", "--json"]),
    ("jac terminal rendering", [PY, "-m", "jaccli", "w * x", "--at", "w=1,2,3", "--at", "x=4,5,6"]),
]


def median_ms(cmd, runs):
    subprocess.run(cmd, capture_output=True, env=ENV)  # warm caches (bytecode, parser tables)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=ENV)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def imported(cmd):
    probe = [PY, "-X", "importtime"] + cmd[1:]
    err = subprocess.run(probe, capture_output=True, text=True, env=ENV).stderr
    mods = {line.split("|")[-1].strip() for line in err.splitlines() if "|" in line}
    return sorted(m for m in ("numpy", "rich", "lark", "click") if m in mods)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    figures = {}
    for label, cmd in CASES:
        figures[label] = median_ms(cmd, runs)
        print(f"{label:28} {figures[label]:7.1f} ms")
    base = figures["python -c 'import numpy'"]
    print(f"{'values / import numpy':28} {figures['jac with values --json'] / base:7.2f} x")
    print(f"{'symbolic / import numpy':28} {figures['jac symbolic --json'] / base:7.2f} x")
    print("symbolic --json imports:", ", ".join(imported(CASES[2][1])))


if __name__ == "__main__":
    main()
