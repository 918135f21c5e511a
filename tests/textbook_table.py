"""The textbook table (tests/textbook_cases.json): each row's book form, jac's form, their length.

A row has the keys of /work/shared/examples/textbook.json: `expr`, `wrt`, `layout`, `args`
(extra jac arguments: `--shape` declarations), `book` (the textbook's closed form in jac's
ASCII input language, in the row's layout), `gradient` (compare the matrix-shaped `gradient`
entry rather than the Jacobian), `paper` (accepted LaTeX forms, normalised as that script
does), plus `source` (where the result is from).

Book forms write the identity and the ones vector with their sizes (`eye(n)`, `ones(m)`,
size symbols declared in `args`) so the oracle can evaluate them; the textbook writes them
`I` and `1`, and that is how they are counted: length is tokens(jac's `symbolic`, sizes
left symbolic) / tokens(book with eye(…) → I, ones(…) → 1), the token rule of
/work/shared/examples/textbook.py (parentheses and commas not counted).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

CASES = Path(__file__).resolve().parent / "textbook_cases.json"
TOKEN = re.compile(r"\d+\.\d*(?:e[-+]?\d+)?|\d+(?:e[-+]?\d+)?|[A-Za-z_][A-Za-z_0-9]*|\*\*|[-+*/@^',]")
WITHIN = 1.25
SIZES = (3, 4, 5, 2, 6, 7, 8, 9)      # distinct, so a transposed form cannot pass by accident


def load() -> list[dict]:
    return json.loads(CASES.read_text(encoding="utf-8"))


def row_id(row: dict) -> str:
    gradient = " gradient" if row.get("gradient") else ""
    return f"{row['expr']} wrt {row['wrt']} {row['layout'][:3]}{gradient}"


def tokens(text: str) -> list[str]:
    return [t for t in TOKEN.findall(text) if t not in ",()[]"]


def _sized_helpers_as_book(text: str) -> str:
    """eye(n) -> I, ones(m) -> 1: the identity and ones vector as the textbook writes them."""
    out, i = [], 0
    for m in re.finditer(r"\b(eye|ones)\(", text):
        if m.start() < i:
            continue
        depth, j = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        out.append(text[i:m.start()] + ("I" if m.group(1) == "eye" else "1"))
        i = j
    return "".join(out) + text[i:]


def book_display(row: dict) -> str:
    return _sized_helpers_as_book(row["book"])


def ratio(jac_form: str, row: dict) -> float:
    return len(tokens(jac_form)) / len(tokens(book_display(row)))


def norm_latex(s: str) -> str:
    """LaTeX without spacing and presentation commands (the rule of textbook.py)."""
    for a in (r"\mathbf", r"\boldsymbol", r"\bm", r"\left", r"\right", r"\,", r"\cdot", r"\;", r"\!",
              " ", "{", "}"):
        s = s.replace(a, "")
    return s.replace(r"\mathrm", "").replace(r"\operatorname", "")


def shapes_of(row: dict) -> dict:
    """--shape declarations of the row's args: name -> spec."""
    args, out = row.get("args", []), {}
    for flag, value in zip(args, args[1:]):
        if flag == "--shape":
            name, spec = value.split("=", 1)
            out[name] = spec
    return out


def concrete(variables: dict, seed: int = 0) -> tuple[dict, dict]:
    """Sizes for the symbols of jac's variable shapes and random values in (0.2, 0.8) (away
    from the kinks of the table's rectifiers) for every variable."""
    sizes: dict[str, int] = {}
    for v in variables.values():
        for d in v["shape"]:
            if isinstance(d, str) and d not in sizes:
                sizes[d] = SIZES[len(sizes) % len(SIZES)]
    rng = np.random.default_rng(seed)
    values = {}
    for name, v in variables.items():
        shape = [sizes[d] if isinstance(d, str) else d for d in v["shape"]]
        values[name] = rng.uniform(0.2, 0.8, shape) if shape else float(rng.uniform(0.2, 0.8))
    return sizes, values


def jac_part(doc: dict, row: dict) -> dict | None:
    """The row's entry of a jac document: the first Jacobian, or its gradient."""
    entry = (doc.get("jacobians") or [{}])[0]
    return entry.get("gradient") if row.get("gradient") else entry
