"""Text to untyped expression nodes: the Lark grammar in `grammar/jac.lark`, run by the LALR
driver in `lalr.py` with callbacks (`ToExpr`) that build `Expr` nodes as rules reduce (no
parse tree, no recursion), and syntax errors turned into `SyntaxProblem`s with a 1-based
column and a message in words. (Numbers, scalars whatever surrounds them, come typed.) While
they read, the callbacks note what would otherwise take a walk of the tree (`parse_noting`).
"""
from __future__ import annotations

import importlib
import os
import types
from fractions import Fraction

from . import lalr
from .errors import NameProblem, SyntaxProblem, Unsupported
from . import sizes
from .expr import ARITY, BLOCK_FUNCTIONS, FUNCTIONS, SHAPING_OPS, SIZED, Expr, exact, written_size

# Numbers are kept exact (fractions); a literal longer than this is refused.
MAX_NUMBER_DIGITS = 400
# Deeper nesting than this is refused: everything after parsing walks the tree recursively.
MAX_DEPTH = 250
# Names given with `where` are shared, not copied, but much of jac walks the form written
# out: written out, it may have at most this many nodes (a 10^5-character line has fewer).
MAX_WRITTEN_OUT = 10 ** 5

_OPS = {"*": "mul", "/": "div", "@": "matmul", "·": "dot", "⊙": "mul", "⊘": "div"}
_WORDS = {
    "NAME": "an operand", "NUMBER": "an operand", "LPAR": "an operand", "LSQB": "an operand",
    "MINUS": "an operand", "RPAR": "')'", "RSQB": "']'", "COMMA": "','",
    "PLUS": "an operator", "MULOP": "an operator", "POW": "an operator", "QUOTE": "an operator",
    "$END": "the end of the expression", "WHERE": "'where'", "EQUALS": "'='",
}

# For membership tests (FUNCTIONS, a tuple, keeps the order the hints list them in).
_FUNCTION_NAMES = frozenset(FUNCTIONS)
# The operations shape rule 1 starts from (shapes.SHAPING): a parse notes whether it made one.
SHAPING = frozenset(SHAPING_OPS + ("transpose",))

_parser: lalr.Parser | None = None
# The installed grammar's package (a source checkout has grammar/ beside jaccli/). Imported
# by name: the compiled build (setup.py) is made from a checkout, where `from .grammar import`
# names no module.
GRAMMAR_PACKAGE = __package__ + ".grammar"


def grammar_path() -> str:
    """The installed `jaccli/grammar/jac.lark`, or `grammar/jac.lark` of a source checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(here, "grammar", "jac.lark")
    return installed if os.path.exists(installed) else \
        os.path.join(os.path.dirname(here), "grammar", "jac.lark")


class ToExpr:
    """The parser's callbacks: each is named after a grammar rule or alias, takes the
    rule's children (tokens and `Expr`s) and returns an `Expr`. Per parse they note the
    names given with `where` (`given`), whether a size was written with a name
    (`size_names`), the variables in the order they were read (`names`: the order of
    Expr.variables, as nodes are made left to right) and whether an operation of shape rule 1
    was made (`shaping`)."""

    def __init__(self):
        self.given, self.size_names, self.names, self.shaping = {}, False, {}, False

    def num(self, c):
        text = c[0].value
        if len(text) > MAX_NUMBER_DIGITS:
            raise Unsupported(f"a number of {len(text)} characters is longer than jac reads "
                              f"({MAX_NUMBER_DIGITS})", column=c[0].column,
                              hint="write it with an exponent, as 1e400")
        # A whole number (most are) as an int: Fraction reads a string with a regex.
        value = int(text) if text.isdigit() else exact(Fraction(text))
        return Expr("num", (), value, (), c[0].column)     # a scalar, known now

    def var(self, c):
        name = c[0].value
        if name in _FUNCTION_NAMES:
            raise NameProblem(f"'{name}' is a function, not a variable: call it as {name}(...)",
                              column=c[0].column)
        self.names[name] = None
        return Expr("var", (), name, None, c[0].column)

    def call(self, c):
        name, column, args = c[0].value, c[0].column, (c[2] if len(c) == 4 else [])
        if name not in _FUNCTION_NAMES:
            import difflib
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else \
                "known functions: " + ", ".join(FUNCTIONS)
            raise NameProblem(f"unknown function '{name}'", column=column, hint=hint)
        if name in SIZED:
            return self.sized(name, args, column)
        if name in BLOCK_FUNCTIONS:
            if not args:
                raise SyntaxProblem(f"{name} takes at least one block", column=column)
            return Expr(name, tuple(args), column=column)
        if len(args) != ARITY[name]:
            want = ARITY[name]
            raise SyntaxProblem(f"{name} takes {want} argument{'s' if want > 1 else ''}, "
                                f"not {len(args)}", column=column)
        if name in SHAPING:
            self.shaping = True
        return Expr(name, tuple(args), None, None, column)

    def sized(self, name, args, column):
        """eye(n), ones(n), ones(m, n), zeros(...), commutation(m, n): the arguments are
        sizes (whole numbers or size names), as jac prints them in closed forms."""
        allowed = SIZED[name]
        if len(args) not in allowed:
            want = " or ".join(str(k) for k in allowed)
            raise SyntaxProblem(f"{name} takes {want} size argument(s), not {len(args)}",
                                column=column)
        dims = tuple(_size_of(a) for a in args)
        if not all(type(d) is int for d in dims):
            self.size_names = True
        if name == "eye":
            return Expr("eye", (), dims[0], column=column)
        return Expr(name, (), dims, column=column)

    def vector(self, c):
        entries = tuple(c[1])
        if entries and all(e.op == "vector" for e in entries):     # [[a, b], [c, d]]
            width = len(entries[0].args)
            for row in entries:
                if len(row.args) != width:
                    raise SyntaxProblem(f"the rows of a matrix [[...], [...]] must be equally "
                                        f"long: {width} and {len(row.args)} entries",
                                        column=row.column)
            flat = tuple(a for row in entries for a in row.args)
            return Expr("matrix", flat, (len(entries), width), None, c[0].column)
        return Expr("vector", entries, None, None, c[0].column)

    def group(self, c):
        return c[1]

    def arguments(self, c):
        return [x for x in c if isinstance(x, Expr)]

    def sum_chain(self, c):
        terms, columns = [c[0]], []
        for i in range(1, len(c), 2):
            sign, term = c[i], c[i + 1]
            terms.append(term if sign.value == "+" else
                         Expr("neg", (term,), None, None, sign.column))
            columns.append(sign.column)
        # value: the column of every sign, so a shape error can point at its '+'
        return Expr("add", tuple(terms), tuple(columns), None, c[1].column)

    def product_chain(self, c):
        out = c[0]
        for i in range(1, len(c), 2):
            op = _OPS[c[i].value]
            out = Expr(op, (out, c[i + 1]), None, None, c[i].column)
            if op in SHAPING:
                self.shaping = True
        return out

    def neg(self, c):
        return Expr("neg", (c[1],), None, None, c[0].column)

    def pow(self, c):
        return Expr("pow", (c[0], c[2]), None, None, c[1].column)

    def transpose(self, c):
        self.shaping = True
        return Expr("transpose", (c[0],), None, None, c[1].column)

    def binding(self, c):
        name = c[0].value
        if name in _FUNCTION_NAMES:
            raise NameProblem(f"'{name}' is a function and cannot be given as a name",
                              column=c[0].column)
        return _Binding(name, c[2], c[0].column)

    def where(self, c):
        """body where u1 = e1, u2 = e2: each name replaced by its expression (with the names
        before it replaced too), shared rather than copied."""
        body, bindings = c[0], [b for b in c[2:] if isinstance(b, _Binding)]
        names = [b.name for b in bindings]
        given: dict[str, Expr] = {}
        for i, b in enumerate(bindings):
            if b.name in given:
                raise SyntaxProblem(f"{b.name} is given twice after 'where'", column=b.column)
            later = set(names[i:]) & set(b.expr.variables())
            if later:
                raise SyntaxProblem(
                    f"the expression given for {b.name} uses {sorted(later)[0]}, which is not "
                    "given before it", column=b.column,
                    hint="give each name after the names it uses: u1 = sin(x), u2 = cos(u1)")
            given[b.name] = _replaced(b.expr, given)
        out = _replaced(body, given)
        _check_written_out(out)
        self.given = given
        return out

def parser():
    """The parser, from the tables shipped in the package (grammar/generate.py); from the
    grammar itself, with Lark, if it was edited since they were generated."""
    global _parser
    if _parser is None:
        with open(grammar_path(), encoding="utf-8") as f:
            text = f.read()
        tables = shipped_tables()
        if tables is None or tables.GRAMMAR != text:
            tables = types.SimpleNamespace(**lalr.tables_from_grammar(text))
        _parser = lalr.Parser(tables, ToExpr())
    return _parser


def shipped_tables():
    """`jaccli.grammar.tables` when installed, `grammar/tables.py` in a source checkout (where
    jaccli/ has no grammar package), or None."""
    try:
        tables = importlib.import_module(GRAMMAR_PACKAGE + ".tables")
    except ImportError:
        from importlib import util

        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "grammar", "tables.py")
        if not os.path.exists(path):
            return None
        spec = util.spec_from_file_location("jaccli_grammar_tables", path)
        tables = util.module_from_spec(spec)
        spec.loader.exec_module(tables)
    return tables


def parse(text: str) -> Expr:
    """Parse one expression; raise SyntaxProblem / NameProblem / Unsupported on bad input."""
    return parse_naming(text)[0]


def parse_naming(text: str) -> tuple[Expr, dict]:
    """Parse one expression: (it, {each name given with `where`: what it stands for})."""
    return parse_noting(text)[:2]


def parse_noting(text: str) -> tuple[Expr, dict, list | None, bool | None]:
    """Parse one expression: (it, the names given with `where` as for parse_naming, its
    variables as Expr.variables lists them, whether it has an operation of shape rule 1),
    the last two None when unknown (names given with `where` or used as sizes rewrite the
    tree after it was read: ask the tree)."""
    if not text.strip():
        raise SyntaxProblem("the expression is empty", column=1)
    the_parser = parser()
    callbacks = the_parser.callbacks
    callbacks.given, callbacks.size_names, callbacks.names, callbacks.shaping = {}, False, {}, False
    try:
        tree = the_parser.parse(text)
    except lalr.UnexpectedCharacters as unlexed:
        at = unlexed.pos_in_stream
        ch = text[at] if at < len(text) else ""
        what = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
        raise SyntaxProblem(f"unexpected character {what}", column=at + 1,
                            hint=_explain_character(ch)) from None
    except lalr.UnexpectedToken as unexpected:   # its own name: compiled, a name has one type
        raise _token_problem(text, unexpected) from None
    given = callbacks.given
    # Every node the callbacks make stands on a token of its own, or on the sign a
    # negated term shares with its sum: a tree parsed from fewer than MAX_DEPTH / 2
    # characters, without names given, cannot nest deeper than MAX_DEPTH.
    if given or callbacks.size_names or 2 * len(text) > MAX_DEPTH:
        tree = _sizes_as_numbers(tree, _size_names_within_depth(tree))
    if given or callbacks.size_names:
        return tree, given, None, None
    return tree, given, list(callbacks.names), callbacks.shaping


class _Binding:
    """`name = expr` after `where`."""

    def __init__(self, name: str, expr: Expr, column: int):
        self.name, self.expr, self.column = name, expr, column


def _children_first(root: Expr):
    """Every node of root once (shared nodes too), each after its operands, without recursion."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack[-1]
        pending = [a for a in node.args if id(a) not in seen]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            yield node


def _replaced(e: Expr, given: dict) -> Expr:
    """e with every variable named in `given` replaced by its expression (each node once)."""
    memo: dict[int, Expr] = {}
    for node in _children_first(e):
        if node.op == "var" and node.value in given:
            memo[id(node)] = given[node.value]
        elif node.args:
            args = tuple(memo[id(a)] for a in node.args)
            same = all(x is y for x, y in zip(args, node.args))
            memo[id(node)] = node if same else Expr(node.op, args, node.value,
                                                    column=node.column)
        else:
            memo[id(node)] = node
    return memo[id(e)]


def _check_written_out(root: Expr) -> None:
    """Refuse a form whose names, written out, would make it larger than jac takes."""
    size = written_size(root)
    if size > MAX_WRITTEN_OUT:
        raise Unsupported(f"written out, the expression has {size} nodes; jac takes "
                          f"at most {MAX_WRITTEN_OUT}", column=root.column,
                          hint="name fewer repeated parts, or split the expression")


def _size_of(e: Expr):
    """A size argument: a whole number, a size name, or a sum or product of them."""
    if e.op == "num" and e.value.denominator == 1 and e.value > 0:
        return int(e.value)
    if e.op == "var":
        return sizes.symbol(e.value)
    if e.op == "mul":
        return sizes.mul(_size_of(e.args[0]), _size_of(e.args[1]))
    if e.op == "add":
        out: sizes.Size = 0
        for a in e.args:
            out = sizes.add(out, _size_of(a))
        return out
    raise SyntaxProblem("a size is a whole number or a size name such as n", column=e.column)


def _size_names_within_depth(root: Expr) -> set:
    """The names used as sizes (ones(n)), refusing a tree nested deeper than MAX_DEPTH: both
    in one walk over the parsed tree."""
    names: set = set()
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Unsupported(f"the expression nests deeper than {MAX_DEPTH} levels",
                              column=node.column)
        if node.args:
            depth += 1
            stack.extend([(a, depth) for a in node.args])
        elif node.op in SIZED:
            dims = node.value if isinstance(node.value, tuple) else (node.value,)
            for d in dims:
                if isinstance(d, sizes.Sym):
                    names |= {s for mono in d.terms for s in mono}
    return names


def _sizes_as_numbers(root: Expr, names: set) -> Expr:
    """A name used as a size (ones(n)) stands for that size wherever else it appears (1/n)."""
    if not names:
        return root
    memo: dict = {}

    def walk(node: Expr) -> Expr:
        if id(node) in memo:
            return memo[id(node)]
        if node.op == "var" and node.value in names:
            out = Expr("dim", (), sizes.symbol(node.value), column=node.column)
        elif node.args:
            out = Expr(node.op, tuple(walk(a) for a in node.args), node.value, column=node.column)
        else:
            out = node
        memo[id(node)] = out
        return out

    return walk(root)


def _explain_character(ch: str) -> str | None:
    if ch in "{}":
        return "use ( ) for grouping and [ ] for vectors"
    if ch == ";":
        return "write one expression; vectors are [a, b, c]"
    if ch == "=":
        return "give values with --at NAME=VALUE, not inside the expression"
    if ch.isdigit():
        return "write numbers with the ASCII digits 0-9"
    return None


def _previous_token(text: str, column: int) -> str | None:
    before = text[: column - 1].rstrip()
    if not before:
        return None
    if before.endswith("**"):
        return "**"
    if before[-1].isalnum() or before[-1] == "_":      # a whole name or number: 'abc', '2.5'
        start = len(before)
        while start > 0 and (before[start - 1].isalnum() or before[start - 1] in "_."):
            start -= 1
        return before[start:]
    return before[-1]


def _open_bracket(text: str, column: int):
    """The innermost '(' or '[' still open before `column`: (char, 1-based column) or None."""
    stack = []
    for i, ch in enumerate(text[: column - 1]):
        if ch in "([":
            stack.append((ch, i + 1))
        elif ch in ")]" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _token_problem(text: str, e: lalr.UnexpectedToken) -> SyntaxProblem:
    ended = e.token.type == "$END"
    column = len(text.rstrip()) + 1 if ended else e.token.column
    raw = set(e.expected)
    if "NAME" not in raw:
        raw -= {"MINUS", "LPAR"}  # after an operand these are an operator and a call
        if "MINUS" in e.expected:
            raw.add("PLUS")
    found = ", but the expression ended" if ended else f", found '{e.token.value}'"
    if raw == {"NAME"}:          # after 'where' or ',' in its list: the name to give
        return SyntaxProblem("expected a name to give, as in 'where u = w @ x'" + found,
                             column=column)
    raw.discard("WHERE")         # an operand may always be followed by 'where': not news
    expected = {_WORDS.get(t, t) for t in raw}
    if not ended and e.token.value in ")]" and not _open_bracket(text, column):
        return SyntaxProblem(f"unmatched '{e.token.value}'", column=column,
                             hint="remove it, or add the opening bracket it closes")
    opened = _open_bracket(text, column)
    closer = {"(": "')'", "[": "']'"}.get(opened[0]) if opened else None
    # LALR merges states, so the raw set may offer a closer for a bracket that is not open.
    expected -= {"')'", "']'"} - {closer}
    if closer not in expected:
        closer = None
    if not opened:
        expected.discard("','")
    order = ["an operand", "an operator", "')'", "']'", "','", "'where'", "'='",
             "the end of the expression"]
    words = " or ".join(sorted(expected, key=lambda w: order.index(w) if w in order else 99))
    prev = _previous_token(text, column)
    message = f"expected {words}" if words else "unexpected input"
    if prev is not None:
        message += f" after '{prev}'"
    message += found
    hint = f"the '{opened[0]}' at column {opened[1]} is not closed" if closer and ended else None
    if not ended and e.token.type == "EQUALS":
        hint = _explain_character("=")
    return SyntaxProblem(message, column=column, hint=hint)
