"""How jac's work grows with the size of its input: the figures behind SPEC's promises.

usage: python benchmarks/scaling.py [RUNS]

Prints best-of-RUNS wall times for
  * parsing + differentiating sums of 500 and 5,000 distinct terms (and 50,000), with the
    ratio (10x the terms should cost at most 15x the time);
  * the same through the JSON document a user receives;
  * a 10^6-element diagonal from two .npy files (`jac "x*y" --at x=@big.npy --at y=@big2.npy
    --json`), in-process and as a one-shot run of the installed program, with its peak
    memory (a dense 10^6 x 10^6 matrix would be 8 TB);
  * a declared size of 10^18 (`--shape x=1000000000000000000`), which stays symbolic.
"""
import gc
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

from jaccli.api import compute
from jaccli.inputs import parse_shape
from jaccli.serialize import dumps, to_dict


def best(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def a_sum(n):
    return " + ".join(f"{i + 1}*sin(x*{i + 1})" for i in range(n))


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    gc.disable()   # as while jac answers (jaccli/session.py): full collections are not jac's work
    compute("x")   # build the parser once, outside the figures
    print("a 10^6-element diagonal: x*y with x, y from .npy files")
    with tempfile.TemporaryDirectory() as folder:
        rng = np.random.default_rng(0)
        big, big2 = os.path.join(folder, "big.npy"), os.path.join(folder, "big2.npy")
        np.save(big, rng.normal(size=10 ** 6))
        np.save(big2, rng.normal(size=10 ** 6))
        from jaccli.inputs import parse_value
        tracemalloc.start()
        start = time.perf_counter()
        values = {"x": parse_value("@" + big, "x"), "y": parse_value("@" + big2, "y")}
        doc = dumps(to_dict(compute("x*y", values=values)))
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  in-process: {elapsed * 1000:.1f} ms, peak {peak / 2 ** 20:.1f} MB traced, "
              f"{len(doc)} bytes of JSON")
        for n in (10 ** 5, 10 ** 6):
            v = {"x": values["x"][:n], "y": values["y"][:n]}
            t = best(lambda: compute("x*y + exp(x)", values=v), runs)
            print(f"  x*y + exp(x), n = {n:8}: {t * 1000:7.1f} ms")
        jac = shutil.which("jac")
        if jac:
            out = os.path.join(folder, "out.npz")
            cmd = [jac, "x*y", "--at", f"x=@{big}", "--at", f"y=@{big2}", "--json", "--save", out]
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            elapsed = time.perf_counter() - start
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024   # first child
            with np.load(out) as archive:
                saved = {k: archive[k].shape for k in archive.files}
            print(f"  installed jac --json --save: {elapsed * 1000:.0f} ms, max RSS {rss:.0f} MB,"
                  f" saved {saved}")

    print("sums: parse + shapes + differentiate (compute), and the JSON document")
    figures = {}
    for n in (500, 5000, 50000):
        text = a_sum(n)
        figures[n] = (best(lambda: compute(text), runs),
                      best(lambda: dumps(to_dict(compute(text))), runs))
        print(f"  {n:6} terms  {len(text):8} chars  compute {figures[n][0] * 1000:8.1f} ms"
              f"   --json {figures[n][1] * 1000:8.1f} ms")
    for a, b in ((500, 5000), (5000, 50000)):
        print(f"  {b}/{a} terms: compute x{figures[b][0] / figures[a][0]:.1f}, "
              f"--json x{figures[b][1] / figures[a][1]:.1f}  (linear: x10, promise: <= x15)")

    print("a declared size of 10^18")
    shapes = {"x": parse_shape(str(10 ** 18))}
    t = best(lambda: dumps(to_dict(compute("softmax(x) * y", shapes=shapes))), runs)
    print(f"  softmax(x) * y, x of length 10^18: {t * 1000:.2f} ms")


if __name__ == "__main__":
    main()
