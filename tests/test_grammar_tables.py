"""The LALR tables shipped in `grammar/tables.py` are the parser of `grammar/jac.lark`, and jac
loads them with Lark's runtime alone, reading no file from a directory others can write.

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

from jaccli import lark_runtime
from jaccli.syntax import grammar_path

ROOT = Path(__file__).resolve().parents[1]

VALID = ["x", "max(0, w@x + b)", "-x^-2", "2^-x'", "[1, x, sin(y)]", "a*b/c@d·e",
         "x - -y + 3e-2*z", "((x))''", "f(x)", "sum()", "x ** 2", "mean((y - X@w)^2)"]
INVALID = ["", "x +* y", "(x", "x y", "x = 2", "x + )", "[x,", "x +", "sin(", "x $ y",
           "x ^", "1.2.3", "()", "[]", "x,y", "x'y"]
ALPHABET = ["x", "y", "sin", "2", "1e3", ".5", "+", "-", "*", "/", "@", "·", "^", "**", "'",
            "(", ")", "[", "]", ",", " ", "=", "{"]


def _grammar_text() -> str:
    return Path(grammar_path()).read_text(encoding="utf-8")


def test_shipped_tables_were_built_from_the_current_grammar():
    tables = lark_runtime.shipped_tables()
    assert tables.GRAMMAR == _grammar_text(), (
        "grammar/tables.py was built from another version of grammar/jac.lark: "
        "run `python grammar/generate.py` and commit grammar/tables.py")


def _outcome(parser, text):
    """The tree, or the error's type, position and expected tokens: what syntax.py reads."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
    try:
        return ("tree", parser.parse(text))
    except UnexpectedCharacters as e:
        return ("characters", e.pos_in_stream, sorted(e.allowed or ()))
    except UnexpectedToken as e:
        return ("token", e.token.type, str(e.token), e.token.column, sorted(e.expected))
    except UnexpectedInput as e:
        return (type(e).__name__,)


def test_tables_parse_exactly_as_the_grammar_does():
    """Trees and errors (position, expected tokens) agree on fixed and random inputs."""
    from lark.visitors import Transformer
    shipped = lark_runtime.from_tables(Transformer())
    built = lark_runtime.from_grammar(_grammar_text(), Transformer())
    rng = random.Random(10)
    randoms = ["".join(rng.choices(ALPHABET, k=rng.randint(1, 12))) for _ in range(3000)]
    outcomes = set()
    for text in VALID + INVALID + randoms:
        got, want = _outcome(shipped, text), _outcome(built, text)
        assert got == want, text
        outcomes.add(got[0])
    assert {"tree", "characters", "token"} <= outcomes   # every kind was compared


_PROBE = """
import json, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
sys.argv = ["jac"] + json.loads(sys.argv[1])
from jaccli.cli import main
try:
    main()
except SystemExit:
    pass
from jaccli import syntax
report = {"opened": opened, "parser": type(syntax._parser).__name__,
          "modules": sorted(m for m in sys.modules if m.split(".")[0] in
                            ("lark", "pickle", "tempfile", "getpass", "hashlib"))}
print(json.dumps(report), file=sys.stderr)
"""


def probe(argv, cwd, env=None) -> dict:
    """Run jac's main in a fresh interpreter; report files opened, parser kind, modules."""
    p = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=60)
    return json.loads(p.stderr.strip().splitlines()[-1])


def test_a_run_loads_the_tables_with_lark_runtime_only(tmp_path):
    report = probe(["max(0, w@x + b)", "--wrt", "w", "--json"], tmp_path)
    assert report["parser"] == "TableParser"
    assert "lark.load_grammar" not in report["modules"]
    assert "lark.lark" not in report["modules"]
    assert not {"pickle", "tempfile", "getpass"} & set(report["modules"])


def test_the_rest_of_lark_is_there_when_asked_for(tmp_path):
    """Lark's package registered without its __init__ runs it on first use of an attribute."""
    code = ("import sys, jaccli.syntax as s\n"
            "s.parse('x + y')\n"
            "assert 'lark.lark' not in sys.modules\n"
            "import lark, lark.lexer\n"
            "from lark import Lark, Token\n"
            "assert Token is lark.lexer.Token and lark.Tree and lark.__version__\n"
            "assert Lark('start: \"a\"', parser='lalr').parse('a').data == 'start'\n"
            "print('ok')\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert p.stdout.strip() == "ok", p.stderr


def test_no_file_read_lies_in_a_directory_others_may_write(tmp_path):
    """The old parser cache was a pickle in the shared temporary directory."""
    report = probe(["sin(x) * y", "--json"], tmp_path)
    assert report["opened"], "the audit hook saw no file at all"
    for path in report["opened"]:
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(folder):
            assert not os.stat(folder).st_mode & 0o002, path


def test_a_stale_table_falls_back_to_the_grammar(tmp_path):
    """A grammar edited without regenerating: jac still parses by the edited grammar."""
    from lark.visitors import Transformer
    edited = _grammar_text().replace('"*" | "/"', '"*" | "⊘" | "/"')
    assert edited != _grammar_text()
    path = tmp_path / "jac.lark"
    path.write_text(edited, encoding="utf-8")
    parser = lark_runtime.build(str(path), Transformer())
    assert type(parser).__name__ == "Lark"
    assert parser.parse("x ⊘ y").data == "product_chain"


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
    assert "⊕" in namespace["GRAMMAR"] and "⊕" in repr(namespace["MEMO"])
