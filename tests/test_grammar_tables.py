"""The LALR tables shipped in `grammar/tables.py` are the parser of `grammar/jac.lark`: jac's
driver (jaccli/lalr.py) run on them parses exactly as Lark's own parser built from the
grammar, and a run imports no part of Lark and reads no file from a directory others can write.

If the first test fails, the grammar was edited without regenerating the tables: run
`python grammar/generate.py` (jac meanwhile builds the parser from the grammar, slowly).
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from jaccli import lalr, syntax
from jaccli.syntax import grammar_path

ROOT = Path(__file__).resolve().parents[1]

VALID = ["x", "max(0, w@x + b)", "max(0, u) where u = w@x + b", "where + wherever",
         "cos(u2) * cos(u1) where u1 = sin(x), u2 = sin(u1)", "-x^-2", "2^-x'", "[1, x, sin(y)]", "a*b/c@d·e",
         "x - -y + 3e-2*z", "((x))''", "f(x)", "sum()", "x ** 2", "mean((y - X@w)^2)"]
INVALID = ["", "x +* y", "(x", "x y", "x = 2", "x + )", "[x,", "x +", "sin(", "x $ y",
           "x ^", "1.2.3", "()", "[]", "x,y", "x'y"]
ALPHABET = ["x", "y", "sin", "2", "1e3", ".5", "+", "-", "*", "/", "@", "·", "^", "**", "'",
            "(", ")", "[", "]", ",", " ", "=", "{", " where ", "where", "u1", "wherever"]


def _grammar_text() -> str:
    return Path(grammar_path()).read_text(encoding="utf-8")


def test_shipped_tables_were_built_from_the_current_grammar():
    tables = syntax.shipped_tables()
    assert tables.GRAMMAR == _grammar_text(), (
        "grammar/tables.py was built from another version of grammar/jac.lark: "
        "run `python grammar/generate.py` and commit grammar/tables.py")


class _Trees:
    """Callbacks for jac's driver that build what Lark's parser builds: (rule, children)."""

    def __getattr__(self, name):
        return lambda children: (name, [_plain(c) for c in children])


def _plain(node):
    """A Lark Tree or Token, or the driver's tuple or Token, as comparable tuples."""
    if isinstance(node, (str, lalr.Token)):     # a token: Lark's is a str with a value too
        return ("token", node.type, node.value, node.line, node.column)
    if isinstance(node, tuple):
        return node
    return (str(node.data), [_plain(c) for c in node.children])


def _outcome(parse, text):
    """The tree, or the error's type, position and expected tokens: what syntax.py reads."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
    try:
        return ("tree", _plain(parse(text)))
    except (UnexpectedCharacters, lalr.UnexpectedCharacters) as e:
        return ("characters", e.pos_in_stream, sorted(e.allowed or ()))
    except (UnexpectedToken, lalr.UnexpectedToken) as e:
        return ("token", e.token.type, e.token.value, e.token.column, sorted(e.expected))
    except (UnexpectedInput, lalr.UnexpectedInput) as e:
        return (type(e).__name__,)


def test_tables_parse_exactly_as_the_grammar_does():
    """Trees (rules, tokens, lines and columns) and errors (position, expected tokens) agree
    with Lark's own parser on fixed and random inputs."""
    from lark import Lark
    shipped = lalr.Parser(syntax.shipped_tables(), _Trees())
    built = Lark(_grammar_text(), parser="lalr", lexer="contextual", maybe_placeholders=False)
    rng = random.Random(10)
    randoms = ["".join(rng.choices(ALPHABET, k=rng.randint(1, 12))) for _ in range(3000)]
    outcomes = set()
    # Long runs of what is ignored before a character no terminal takes: the driver's lexer
    # skips them in its own match, which must not backtrack through every split of the run.
    spaces = ["x +" + " " * 64 + "$", "x" + " " * 64 + "y", "(" + " \n" * 40, "x" + " " * 64]
    for text in VALID + INVALID + randoms + spaces + ["x +\n  y *\n z", "\n(x\n", "a\n  $"]:
        got, want = _outcome(shipped.parse, text), _outcome(built.parse, text)
        assert got == want, text
        outcomes.add(got[0])
    assert {"tree", "characters", "token"} <= outcomes   # every kind was compared


def test_a_long_sum_reaches_its_callback_as_one_flat_list():
    """`(...)*` is a left-recursive helper rule inlined into its parent: the callback gets
    every term and sign at once, not a nest of 5,000 levels."""
    calls = []

    class Count(_Trees):
        def sum_chain(self, children):
            calls.append(len(children))
            return "sum"

    parser = lalr.Parser(syntax.shipped_tables(), Count())
    assert parser.parse(" + ".join(["x"] * 5000)) == "sum"
    assert calls == [2 * 5000 - 1]


def test_a_callback_missing_for_a_rule_is_reported_when_the_parser_is_built():
    with pytest.raises(TypeError, match="has no method for the rule"):
        lalr.Parser(syntax.shipped_tables(), object())


_PROBE = """
import json, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
sys.argv = ["jac"] + json.loads(sys.argv[1])
from jaccli.program import main
try:
    main()
except SystemExit:
    pass
from jaccli import syntax
report = {"opened": opened, "parser": type(syntax._parser).__name__,
          "modules": sorted(m for m in sys.modules if m.split(".")[0] in
                            ("lark", "pickle", "tempfile", "getpass", "hashlib", "click"))}
print(json.dumps(report), file=sys.stderr)
"""


def probe(argv, cwd, env=None) -> dict:
    """Run jac's main in a fresh interpreter; report files opened, parser kind, modules."""
    p = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=60)
    return json.loads(p.stderr.strip().splitlines()[-1])


def test_a_run_imports_no_part_of_lark(tmp_path):
    report = probe(["max(0, w@x + b)", "--wrt", "w", "--json"], tmp_path)
    assert report["parser"] == "Parser"
    assert report["modules"] == []


def test_no_file_read_lies_in_a_directory_others_may_write(tmp_path):
    """The old parser cache was a pickle in the shared temporary directory."""
    report = probe(["sin(x) * y", "--json"], tmp_path)
    assert report["opened"], "the audit hook saw no file at all"
    for path in report["opened"]:
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(folder):
            assert not os.stat(folder).st_mode & 0o002, path


@pytest.mark.skipif(not syntax.__file__.endswith(".py"),
                    reason="syntax.py is compiled (setup.py): its own call of grammar_path "
                           "cannot be replaced, and an installed grammar is never edited")
def test_a_stale_table_falls_back_to_the_grammar(tmp_path, monkeypatch):
    """A grammar edited without regenerating: jac still parses by the edited grammar."""
    edited = _grammar_text().replace('"*" | "/"', '"*" | "÷" | "/"')
    assert edited != _grammar_text()
    path = tmp_path / "jac.lark"
    path.write_text(edited, encoding="utf-8")
    monkeypatch.setattr(syntax, "grammar_path", lambda: str(path))
    monkeypatch.setattr(syntax, "_parser", None)
    monkeypatch.setitem(syntax._OPS, "÷", "div")
    assert syntax.parse("x ÷ y").op == "div"
    assert syntax._parser.states is not syntax.shipped_tables().STATES


@pytest.mark.skipif(not (ROOT / "grammar" / "generate.py").exists(), reason="source checkout")
def test_the_generator_writes_what_is_shipped(tmp_path):
    """`python grammar/generate.py` on the current grammar leaves tables.py as it is."""
    import shutil
    copy = tmp_path / "grammar"
    shutil.copytree(ROOT / "grammar", copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = (copy / "tables.py").read_text(encoding="utf-8")
    p = subprocess.run([sys.executable, str(copy / "generate.py")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert (copy / "tables.py").read_text(encoding="utf-8") == before
    (copy / "jac.lark").write_text(_grammar_text().replace('"+"', '"+" | "⊕"'), encoding="utf-8")
    p = subprocess.run([sys.executable, str(copy / "generate.py")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and "wrote" in p.stdout, p.stderr
    namespace = {}
    exec((copy / "tables.py").read_text(encoding="utf-8"), namespace)
    assert "⊕" in namespace["GRAMMAR"] and "⊕" in repr(namespace["TERMINALS"])
