"""Textbook results (tests/textbook_cases.json): jac's closed form is the book's, in both layouts.

For each row (see tests/textbook_table.py for the keys and the token rule):
- the book form itself is right: evaluated by the oracle it equals central finite
  differences of the expression (no jac involved but its shape inference for the sizes);
- jac's form agrees with the book: at random values, every notation of jac's answer reads
  back to its numbers (tests/closedforms.py), and those numbers are the book form's; the
  form jac prints without values (sizes as symbols) evaluates to them too;
- jac's form is as short as the book's: at most 1.25× its tokens;
- where the row lists the papers' LaTeX (`paper`), jac's LaTeX is one of them.

`python benchmarks/textbook.py` prints the ratios and writes docs/textbook.md; the last test
checks that page is up to date.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from closedforms import check_document, close, fits, oracle_value, sized_whole_form
from conftest import jac_json
from oracle import numeric_jacobian
from textbook_table import WITHIN, concrete, jac_part, load, norm_latex, ratio, row_id, shapes_of

ROOT = Path(__file__).resolve().parent.parent
ROWS = load()

# Rows jac does not meet yet (issue 7 is in progress): (test, row id) -> what is missing.
# Not strict: a row that starts passing shows as XPASS, and should then leave this table.
# The size in eye(m)/ones(n) is a token the book's bare I/1 does not spend: where the form
# is little more than that vector, 4/3 (SPEC.md wants the sized spelling inside a form, so
# that it reads back; the shared checker allows 10% of rows past 1.25).
SIZED_ONES = {"sum(x * z) wrt x den", "W @ x wrt W den", "mean(x) wrt x den"}
PENDING: dict[tuple[str, str], str] = {}


def rows(test: str) -> list:
    """The table's rows for one test, the pending ones marked."""
    out = []
    for r in ROWS:
        why = PENDING.get((test, row_id(r)))
        marks = [pytest.mark.xfail(strict=False, reason=why)] if why else []
        out.append(pytest.param(r, id=row_id(r), marks=marks))
    return out


def _symbolic_run(row: dict) -> dict:
    doc = jac_json(row["expr"], wrt=[row["wrt"]], shapes=shapes_of(row), layout=row["layout"])
    assert "error" not in doc, doc
    return doc


def _expected(row: dict, values: dict) -> np.ndarray:
    """Finite differences in the row's layout (or shaped like the matrix, for a gradient)."""
    numeric = numeric_jacobian(row["expr"], values, [row["wrt"]])
    if row.get("gradient"):
        return numeric.reshape(np.shape(values[row["wrt"]]))
    return numeric if row["layout"] == "numerator" else numeric.T


def test_the_table_is_large_and_in_both_layouts():
    results = {(r["expr"], r["wrt"], bool(r.get("gradient"))) for r in ROWS}
    assert len(results) >= 30
    for result in results:
        layouts = {r["layout"] for r in ROWS if (r["expr"], r["wrt"], bool(r.get("gradient"))) == result}
        assert layouts == {"numerator", "denominator"}, result


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_book_form_is_right(row):
    doc = _symbolic_run(row)
    sizes, values = concrete(doc["variables"])
    want = _expected(row, values)
    got = fits(oracle_value(row["book"], {**values, **sizes}), want)
    close(got, want, f"book form {row['book']!r} against finite differences")


@pytest.mark.parametrize("row", rows("agrees"))
def test_jac_agrees_with_the_book(row):
    doc0 = _symbolic_run(row)
    sizes, values = concrete(doc0["variables"])
    doc = check_document(row["expr"], values, [row["wrt"]], row["layout"])
    part = jac_part(doc, row)
    assert part is not None, f"no {'gradient' if row.get('gradient') else 'Jacobian'} entry"
    want = np.asarray(part["value"], dtype=float)
    close(fits(oracle_value(row["book"], {**values, **sizes}), want), want,
          f"jac's numbers against the book form {row['book']!r}")
    symbolic = sized_whole_form(jac_part(doc0, row)["symbolic"], want.shape)
    close(fits(oracle_value(symbolic, {**values, **sizes}), want), want,
          f"jac's form with symbolic sizes {symbolic!r} (sizes {sizes})")


@pytest.mark.parametrize("row", rows("short"))
def test_jac_is_as_short_as_the_book(row):
    part = jac_part(_symbolic_run(row), row)
    assert part is not None and part.get("symbolic"), "no closed form"
    r = ratio(part["symbolic"], row)
    limit = 4 / 3 if row_id(row) in SIZED_ONES else WITHIN
    assert r <= limit, f"{part['symbolic']!r} is {r:.2f}× the book's {row['book']!r}"


def test_nine_in_ten_rows_are_within_the_limit():
    """The shared checker's rule over the whole table: 90% within 1.25x, none over 2x."""
    ratios = [ratio(jac_part(_symbolic_run(r), r)["symbolic"], r) for r in ROWS]
    assert sum(x <= WITHIN for x in ratios) >= 0.9 * len(ratios) and max(ratios) <= 2


@pytest.mark.parametrize("row", [r for r in ROWS if r.get("paper")], ids=row_id)
def test_latex_is_the_papers(row):
    part = jac_part(_symbolic_run(row), row)
    assert norm_latex(part["latex"]) in [norm_latex(p) for p in row["paper"]], part["latex"]


def test_docs_page_is_up_to_date():
    spec = importlib.util.spec_from_file_location("textbook_benchmark", ROOT / "benchmarks" / "textbook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    actual = (ROOT / "docs" / "textbook.md").read_text(encoding="utf-8")
    assert actual == module.page(module.measure()), \
        "docs/textbook.md drifted from jac's output: run python benchmarks/textbook.py"
