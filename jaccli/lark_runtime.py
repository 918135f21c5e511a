"""Jac's parser from the LALR tables shipped in `jaccli.grammar.tables`, put together from
Lark's parsing runtime alone (its lexer, LALR driver and callback builder).

`import lark` runs Lark's package `__init__`, which imports the grammar compiler and with it
pickle, tempfile, getpass and hashlib: about 20 ms, a fifth of a symbolic run, for tables jac
never builds at run time. `install()` therefore registers the `lark` package without running its
`__init__`, so that `lark.lexer`, `lark.visitors` and the rest import as usual; the first use
of an attribute of the package itself (`lark.Lark`, `from lark import Tree`) runs the
`__init__` then, so other code sees the whole of Lark.

No file outside the package is read: the tables are Python literals in the package and the
grammar they were built from is compared with `jac.lark`; when they differ (a grammar edited
without `python grammar/generate.py`), the parser is built from the grammar in memory.
"""
from __future__ import annotations

import sys
import types


def install() -> None:
    """Make `lark`'s submodules importable without its `__init__` (see the module docstring)."""
    if "lark" in sys.modules:
        return
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("lark")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return   # not a plain package on sys.path: the ordinary import (and its error) applies
    package = types.ModuleType("lark")
    package.__spec__, package.__loader__ = spec, spec.loader
    package.__file__, package.__package__ = spec.origin, "lark"
    package.__path__ = list(spec.submodule_search_locations)

    def __getattr__(name):
        del package.__dict__["__getattr__"]
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = __getattr__
    sys.modules["lark"] = package


def shipped_tables_match(grammar_text: str) -> bool:
    """Were the shipped tables built from this grammar text?"""
    try:
        tables = shipped_tables()
    except (ImportError, OSError):
        return False
    return tables.GRAMMAR == grammar_text


def from_tables(transformer):
    """A parser (an object with `parse(text)`) from the shipped tables, calling `transformer`'s
    methods as the LALR parser reduces, as `Lark(..., parser="lalr", transformer=...)` does."""
    import re

    from lark.common import LexerConf, ParserConf
    from lark.grammar import Rule
    from lark.lexer import ContextualLexer, LexerThread, TerminalDef
    from lark.parse_tree_builder import ParseTreeBuilder
    from lark.parsers.lalr_parser import LALR_Parser
    from lark.tree import Tree
    from lark.utils import SerializeMemoizer

    tables = shipped_tables()
    DATA, MEMO = tables.DATA, tables.MEMO

    memo = SerializeMemoizer.deserialize(MEMO, {"Rule": Rule, "TerminalDef": TerminalDef}, {})
    rules = [Rule.deserialize(r, memo) for r in DATA["rules"]]
    frontend = DATA["parser"]
    lexer_conf = LexerConf.deserialize(frontend["lexer_conf"], memo)
    # What Lark's own loader sets on a deserialized lexer configuration.
    lexer_conf.callbacks, lexer_conf.re_module, lexer_conf.postlex = {}, re, None
    lexer_conf.skip_validation = True
    callbacks = ParseTreeBuilder(rules, Tree, False, False, False).create_callback(transformer)
    parser_conf = ParserConf.deserialize(frontend["parser_conf"], memo)
    parser_conf.callbacks = callbacks
    lalr = LALR_Parser.deserialize(frontend["parser"], memo, callbacks)
    states = {state: list(actions) for state, actions in lalr._parse_table.states.items()}
    lexer = ContextualLexer(lexer_conf, states)
    start, = parser_conf.start

    class TableParser:
        def parse(self, text: str):
            return lalr.parse(LexerThread.from_text(lexer, text), start)

    return TableParser()


def shipped_tables():
    """The module of generated tables: `jaccli.grammar.tables` when installed, or
    `grammar/tables.py` of a source checkout (where jaccli/ has no grammar package)."""
    try:
        from .grammar import tables
    except ImportError:
        import importlib.util
        import os

        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "grammar", "tables.py")
        spec = importlib.util.spec_from_file_location("jaccli_grammar_tables", path)
        if spec is None or not os.path.exists(path):
            raise
        tables = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tables)
    return tables


def from_grammar(grammar_text: str, transformer):
    """The same parser built by Lark from the grammar, in memory (no cache file)."""
    from lark import Lark

    return Lark(grammar_text, parser="lalr", lexer="contextual", transformer=transformer,
                maybe_placeholders=False)


def build(grammar_path: str, transformer):
    """The parser for the grammar at `grammar_path`: from the shipped tables when they were
    built from it, else from the grammar itself."""
    with open(grammar_path, encoding="utf-8") as f:
        text = f.read()
    if shipped_tables_match(text):
        try:
            return from_tables(transformer)
        except Exception:   # tables in a form this version of Lark does not read
            pass
    return from_grammar(text, transformer)
