"""Write jac.bash, jac.zsh and jac.fish from click's shell completion for the `jac` command.

    python completions/generate.py           # rewrite the three files
    python completions/generate.py --check   # exit 1 if any file differs from the code

Each file is the script that `_JAC_COMPLETE={bash,zsh,fish}_source jac` prints; the tests run
the check, so the files cannot drift from the options in jaccli/cli.py.
"""
from __future__ import annotations

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from jaccli.completion import SHELLS, source  # noqa: E402


def expected() -> dict[pathlib.Path, str]:
    return {HERE / f"jac.{shell}": source(shell) for shell in SHELLS}


def main(argv: list[str]) -> int:
    stale = [path for path, text in expected().items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path.name} is out of date: run python completions/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in expected().items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
