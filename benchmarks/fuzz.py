"""Send thousands of random lines through the installed `jac - --json` and count the answers.

usage: python benchmarks/fuzz.py [LINES] [SEED]        (defaults: 3000 lines, seed 1)

The lines mix token soups built from the language's own symbols, random Unicode with
control characters, raw bytes that are not UTF-8, random well-typed expressions, and a few
very long or very deep lines. No line is blank or a comment, so every line must get exactly
one JSON object, in order: a result, or an error whose `type` is one of SPEC.md's five,
never an "internal error", and stderr must hold no traceback. Prints the counts and exits
1 if anything is missing. (For the Hypothesis suite's long run:
`JAC_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py`.)
"""
import collections
import json
import random
import shutil
import subprocess
import sys
import time

TYPES = {"syntax", "shape", "name", "value", "unsupported"}
TOKENS = (
    ["x", "y", "z", "w", "b", "W", "A", "θ", "x1", "_", "n"]
    + ["sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "max",
       "min", "sum", "mean", "norm", "softmax", "logsumexp", "dot", "diag", "kron"]
    + ["0", "1", "2.5", ".5", "1e-3", "1e308", "1e999", "3.", "1e", "1.2.3"]
    + ["+", "-", "*", "/", "^", "**", "@", "·", "'", "(", ")", "[", "]", ",", " ", " ", "\t"]
    + [" where ", " where u = ", ", v = ", "u", "v", "where"]
    + ["{", "}", ";", "=", "$", "#", "\\", '"', "!", "%", "&", "|", "~", "`", "?", ":"]
    + ["\x00", "\x07", "\x1b[31m", "\x0b", "\u200b", "\ufeff", "é", "∂", "😀", "\u2028", "\x85"]
)
UNARY = ["sin", "cos", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "softmax", "-"]


def well_typed(rng, depth):
    """A random expression over vectors x, y and scalar-valued reductions."""
    if depth == 0:
        return rng.choice(["x", "y", "2", "0.5", "sum(x)", "w@x"])
    pick = rng.random()
    a = well_typed(rng, depth - 1)
    if pick < 0.4:
        op = rng.choice(UNARY)
        return f"-({a})" if op == "-" else f"{op}({a})"
    b = well_typed(rng, depth - 1)
    if pick < 0.8:
        return f"({a} {rng.choice(['+', '-', '*', '/'])} {b})"
    return rng.choice([f"max({a}, {b})", f"mean({a})", f"logsumexp({a})", f"({a})^2"])


def random_line(rng) -> bytes:
    pick = rng.random()
    if pick < 0.45:
        text = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 30)))
    elif pick < 0.6:
        text = "".join(chr(rng.choice([rng.randint(1, 127), rng.randint(128, 0x2FFF),
                                       rng.randint(0x1F300, 0x1F64F)]))
                       for _ in range(rng.randint(1, 40)))
    elif pick < 0.7:
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 40))).replace(b"\n", b"")
    elif pick < 0.97:
        text = well_typed(rng, rng.randint(0, 5))
    else:
        text = rng.choice([
            "(" * 20000 + "x" + ")" * 20000,
            "sin(" * 5000 + "x" + ")" * 5000,
            " + ".join(f"{i}*sin(x)" for i in range(1, 5001)),
            "x" * 100000,
            "-" * 30000 + "x",
        ])
    return text.replace("\n", " ").encode("utf-8", "surrogatepass")


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    lines = []
    while len(lines) < count:     # every line one jac answers: no blank or comment lines
        line = random_line(rng)
        text = line.decode("utf-8", "replace")
        if text.strip() and not text.lstrip().startswith("#"):
            lines.append(line)
    expected = count

    jac = shutil.which("jac")
    cmd = [jac] if jac else [sys.executable, "-m", "jaccli"]
    start = time.perf_counter()
    r = subprocess.run(cmd + ["-", "--json"], input=b"".join(ln + b"\n" for ln in lines),
                       capture_output=True, timeout=3600)
    elapsed = time.perf_counter() - start

    kinds = collections.Counter()
    internal = out_of_order = 0
    answers = r.stdout.decode("utf-8").split("\n")[:-1]
    for line, answer in zip(lines, answers):
        doc = json.loads(answer)
        out_of_order += doc["expression"] != line.decode("utf-8", "replace").rstrip("\r")
        if "error" in doc:
            kinds[doc["error"]["type"]] += 1
            internal += "internal error" in doc["error"]["message"]
        else:
            kinds["result"] += 1
    stderr = r.stderr.decode("utf-8", "replace")
    tracebacks = stderr.count("Traceback")
    print(f"{count} lines sent, {len(answers)} JSON answers in {elapsed:.1f} s, "
          f"exit status {r.returncode}")
    print("  " + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())))
    print(f"  out of order: {out_of_order}, "
          f"untyped: {sum(v for k, v in kinds.items() if k not in TYPES | {'result'})}, "
          f"internal errors: {internal}, tracebacks on stderr: {tracebacks}, "
          f"NumPy RuntimeWarnings: {stderr.count('RuntimeWarning')}")
    ok = (len(answers) == expected and internal == 0 and tracebacks == 0 and not out_of_order
          and set(kinds) <= TYPES | {"result"})
    print("OK: every line got one typed answer" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
