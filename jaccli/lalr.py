"""The LALR(1) parser of `grammar/jac.lark`: Lark builds the tables, this module runs them.

`python grammar/generate.py` asks Lark for the grammar's terminals, rules and LALR(1) parse
table and writes them, as plain Python literals, to `grammar/tables.py` (installed as
`jaccli.grammar.tables`). At run time jac needs only this driver, about a hundred lines, and
the standard library: importing Lark's own runtime and rebuilding its objects took a fifth of
a one-shot run. The driver follows Lark's contextual lexer and LALR loop exactly, so trees
and syntax errors are Lark's own (tests/test_grammar_tables.py compares them on thousands of
inputs):

- Lexing: at each position the terminals the parser state accepts (and the ignored ones) are
  tried in Lark's order, the first that matches wins (one regular expression per state,
  which also skips an ignored terminal before the token). A keyword the state accepts beside
  a terminal that also matches it (`where` beside NAME) is that terminal's match retyped when
  the text is exactly the keyword; where the state does not accept the keyword, `where` is a
  name like any other.
- Reducing: a rule's children go to the callback named after its alias or its rule; a `?rule`
  with one child passes the child up.
- Errors: `UnexpectedCharacters` (no terminal matches) and `UnexpectedToken` (a terminal the
  state does not accept; type `$END` at the end of the text), with Lark's expected sets.
"""
from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:      # importing typing would cost a one-shot run a few milliseconds
    from typing import Any, Callable, Final, NoReturn

SHIFT_LIMIT: Final = 0   # an action >= 0 shifts to that state; ~action reduces by that rule


class Token:
    """A terminal: its text (`value`), its `type`, its offset `pos` in the text, and its
    1-based `line` and `column`. (A plain class, not a str: mypyc compiles it.)"""

    __slots__ = ("type", "value", "pos", "line", "column")

    def __init__(self, type_: str, value: str, pos: int, line: int, column: int) -> None:
        self.type, self.value, self.pos, self.line, self.column = type_, value, pos, line, column


class UnexpectedInput(Exception):
    """The text is not in the language."""


class UnexpectedCharacters(UnexpectedInput):
    def __init__(self, pos_in_stream: int, allowed: set[str]) -> None:
        super().__init__(f"no terminal matches at position {pos_in_stream}")
        self.pos_in_stream, self.allowed = pos_in_stream, allowed


class UnexpectedToken(UnexpectedInput):
    def __init__(self, token: Token, expected: set[str]) -> None:
        super().__init__(f"unexpected {token.type} {token.value!r}")
        self.token, self.expected = token, expected


class _Rule:
    """A rule as the LALR loop reduces by it: the symbol it makes (`origin`), how many
    children it takes, the callback they go to (None: passed up or inlined), whether a single
    child is passed up, the positions of inlined children, and whether it always passes its
    one child up (`unit`). `chains`, shared by the rules of one origin, holds for each state
    below the rule's children (once asked for) {lookahead: the state the loop goes to}, see
    `Parser._unit_chain`: a list and a dict of strings, no key to build per reduction."""

    __slots__ = ("origin", "length", "callback", "expand_single", "inlined", "unit", "chains")

    def __init__(self, origin: str, length: int, callback: Any, expand_single: bool,
                 inlined: tuple[int, ...], unit: bool,
                 chains: list[dict[str, int] | None]) -> None:
        self.origin, self.length, self.callback = origin, length, callback
        self.expand_single, self.inlined, self.unit = expand_single, inlined, unit
        self.chains = chains


class _Lexer:
    """Lark's basic lexer for a set of terminals: one regular expression of them in Lark's
    order (`scanner`), the keywords found through another terminal ({terminal: {text:
    keyword}}), the terminal names, and those tried in order."""

    __slots__ = ("scanner", "keywords", "names", "ordered")

    def __init__(self, scanner: re.Pattern[str], keywords: dict[str, dict[str, str]],
                 names: frozenset[str], ordered: list[str]) -> None:
        self.scanner, self.keywords, self.names, self.ordered = scanner, keywords, names, ordered


class _FastLexer:
    """A parser state's lexer as one match (see `Parser._fast_lexer`): the bound `match` of
    its regular expression, and its keywords or None."""

    __slots__ = ("match", "keywords")

    def __init__(self, match: Callable[[str, int], re.Match[str] | None],
                 keywords: dict[str, dict[str, str]] | None) -> None:
        self.match, self.keywords = match, keywords


class Parser:
    """Parses text with the tables of a `tables` module (or any object with its names),
    calling `callbacks`' methods as rules reduce."""

    def __init__(self, tables: Any, callbacks: Any) -> None:
        self.callbacks = callbacks
        self.states: list[dict[str, int]] = tables.STATES
        self.start: int = tables.START
        self.end: int = tables.END
        self.terminals: dict[str, str] = dict(tables.TERMINALS)
        self.order: list[str] = [name for name, _ in tables.TERMINALS]
        self.ignore: frozenset[str] = frozenset(tables.IGNORE)
        self.keywords: list[tuple[str, str, str, bool]] = tables.KEYWORDS
        self.rules: list[_Rule] = []
        chains: dict[str, list[dict[str, int] | None]] = {}
        for origin, length, alias, expand_single, inlined in tables.RULES:
            name = alias or origin
            callback = None if _inlined(name) else getattr(callbacks, name, None)
            if callback is None and not _inlined(name) and not (expand_single and length == 1):
                raise TypeError(f"{type(callbacks).__name__} has no method for the rule {name}")
            unit = length == 1 and expand_single and not inlined
            if origin not in chains:
                chains[origin] = [None] * len(self.states)
            self.rules.append(_Rule(origin, length, callback, expand_single, inlined, unit,
                                    chains[origin]))
        self.lexers: dict[frozenset[str], _Lexer] = {}
        self.by_state: dict[int, _Lexer] = {}
        # For each state, once asked for: its lexer as one match, with what is ignored before
        # a terminal skipped in the same match, see `_fast_lexer`.
        self.fast_lexers: list[_FastLexer | None] = [None] * len(self.states)
        self.skip = "|".join(self.terminals[n] for n in self.order if n in self.ignore)

    def _lexer(self, names: frozenset[str]) -> _Lexer:
        """Lark's basic lexer for these terminals: a keyword that another terminal matches
        whole is found through that terminal."""
        hit = self.lexers.get(names)
        if hit is None:
            keywords: dict[str, dict[str, str]] = {}
            inside = set()
            for terminal, keyword, text, embedded in self.keywords:
                if terminal in names and keyword in names:
                    keywords.setdefault(terminal, {})[text] = keyword
                    if embedded:
                        inside.add(keyword)
            ordered = [n for n in self.order if n in names and n not in inside]
            scanner = re.compile("|".join(f"(?P<{n}>{self.terminals[n]})" for n in ordered))
            hit = self.lexers[names] = _Lexer(scanner, keywords, names, ordered)
        return hit

    def _state_lexer(self, state: int) -> _Lexer:
        """The lexer of a parser state: the terminals it can act on, and the ignored ones."""
        hit = self.by_state.get(state)
        if hit is None:
            names = frozenset(s for s in self.states[state] if s in self.terminals)
            hit = self.by_state[state] = self._lexer(names | self.ignore)
        return hit

    def _fast_lexer(self, state: int) -> _FastLexer:
        """The lexer of a state as one match: one ignored terminal or none (assumed, as in
        jac's grammar, never to begin where a terminal does), then the first terminal in
        Lark's order that matches, or the end of the text (no group: `lastgroup` is None).
        No match: `_skip_ignored` lexes on as Lark does. (One ignored terminal, not a run of
        them: `(?:[ ]+)*` before a failing match backtracks in exponential time.)"""
        lexer = self._state_lexer(state)
        groups = [f"(?P<{n}>{self.terminals[n]})" for n in lexer.ordered if n not in self.ignore]
        skip = f"(?:{self.skip})?" if self.skip else ""
        fused = re.compile(skip + "(?:" + "|".join(groups + [r"\Z"]) + ")")
        hit = self.fast_lexers[state] = _FastLexer(fused.match, lexer.keywords or None)
        return hit

    def _skip_ignored(self, state: int, text: str, pos: int, line: int,
                      line_start: int) -> tuple[int, int, int]:
        """The fast lexer found nothing at pos: lex as Lark does, one ignored terminal at a
        time, to (pos, line, line_start) of what follows them, or Lark's error."""
        lexer = self._state_lexer(state)
        start = pos
        while True:
            m = lexer.scanner.match(text, pos)
            if m is None:
                self._unlexed(lexer, text, pos, line, line_start)
            if m.lastgroup not in self.ignore:
                assert pos > start, "an ignored terminal begins where a terminal does"
                return pos, line, line_start
            value = m.group()
            newlines = value.count("\n")
            if newlines:
                line += newlines
                line_start = pos + value.rindex("\n") + 1
            pos += len(value)

    @staticmethod
    def _scan(lexer: _Lexer, text: str, pos: int) -> tuple[str, str] | None:
        """(text, terminal) of the lexer's match at pos, or None."""
        m = lexer.scanner.match(text, pos)
        if m is None or m.lastgroup is None:
            return None
        value, kind = m.group(), m.lastgroup
        return value, lexer.keywords.get(kind, {}).get(value, kind)

    def parse(self, text: str) -> Any:
        """Lark's contextual lexer feeding Lark's LALR loop, one token at a time: each token
        is lexed as the current parser state sees it. (One loop, its names local: this runs
        for every line of a batch.)"""
        table, rules, lexers = self.states, self.rules, self.fast_lexers
        accept = self.end
        multiline = "\n" in text       # lines and columns counted only when there are lines
        # The rule's symbol takes the place of its first child on both stacks (see below).
        states: list[int] = [self.start]
        values: list[Any] = []
        pos, line, line_start, end = 0, 1, 0, len(text)
        token: Token | None = None
        state = self.start
        while True:
            if pos < end:
                lexer = lexers[state] or self._fast_lexer(state)
                m = lexer.match(text, pos)
                if m is None:        # more than one ignored terminal, or nothing accepted
                    pos, line, line_start = self._skip_ignored(state, text, pos, line, line_start)
                    continue
                group = m.lastgroup
                if group is None:    # only what is ignored, up to the end
                    pos = end
                    continue
                kind: str = group
                value: str = m[kind]      # not m.group(kind): no tuple of arguments
                after: int = m.end()
                start = after - len(value)
                if lexer.keywords is not None:
                    keywords = lexer.keywords.get(kind)
                    if keywords is not None:
                        kind = keywords.get(value, kind)
                if multiline:
                    newlines = text.count("\n", pos, start)
                    if newlines:
                        line += newlines
                        line_start = text.rindex("\n", pos, start) + 1
                token = Token(kind, value, start, line, start - line_start + 1)
                if multiline:
                    newlines = value.count("\n")
                    if newlines:
                        line += newlines
                        line_start = start + value.rindex("\n") + 1
                pos = after
            else:
                token = Token("$END", "", token.pos, token.line, token.column) \
                    if token is not None else Token("$END", "", 0, 1, 1)
                kind = "$END"
            while True:      # reduce until the token shifts (or, at the end, is accepted)
                action = table[state].get(kind)
                if action is None:
                    raise UnexpectedToken(token, {s for s in table[state] if s.isupper()})
                if action >= SHIFT_LIMIT:
                    states.append(action)
                    values.append(token)
                    state = action
                    break
                rule = rules[~action]
                # The rule's symbol takes the place of its first child on both stacks (a
                # slot of its own when it has none): fewer list operations than popping the
                # children and pushing it.
                length = rule.length
                children: list[Any]
                if length:
                    children = values[-length:]
                    if length > 1:
                        del states[1 - length:], values[1 - length:]
                else:
                    children = []
                    states.append(state)     # a placeholder, replaced by the goto below
                    values.append(None)
                if rule.inlined:
                    children = _splice(children, rule.inlined)
                made: Any
                if rule.expand_single and len(children) == 1:
                    made = children[0]
                elif rule.callback is not None:
                    made = rule.callback(children)
                else:      # an inlined rule: its children, for its parent
                    made = children
                # The goto, and then every rule that passes one child up that the token
                # reduces by next (see `_unit_chain`): found once per parser. (So a rule that
                # passes its child up is reduced here only if one ever comes first.)
                below = states[-2]
                gotos = rule.chains[below]
                if gotos is None:
                    gotos = rule.chains[below] = {}
                goto = gotos.get(kind)
                if goto is None:
                    goto = gotos[kind] = self._unit_chain(below, rule.origin, kind)
                states[-1] = state = goto
                values[-1] = made
                if goto == accept and kind == "$END":
                    return made

    def _unit_chain(self, below: int, origin: str, kind: str) -> int:
        """The top state after the goto on `origin` over the state `below`, and then after
        every rule that passes its one child up that the lookahead `kind` reduces by next."""
        top = self.states[below][origin]
        while top != self.end:
            action = self.states[top].get(kind)
            if action is None or action >= SHIFT_LIMIT:
                break
            rule = self.rules[~action]
            if not rule.unit:
                break
            top = self.states[below][rule.origin]
        return top

    def _unlexed(self, lexer: _Lexer, text: str, pos: int, line: int,
                 line_start: int) -> NoReturn:
        """No terminal the state accepts matches at pos: UnexpectedCharacters, or
        UnexpectedToken for a terminal of the grammar the state does not accept."""
        allowed = set(lexer.names - self.ignore) or {"<END-OF-FILE>"}
        whole = self._scan(self._lexer(frozenset(self.order)), text, pos)   # every terminal
        if whole is None or whole[1] in self.ignore:
            raise UnexpectedCharacters(pos, allowed)
        raise UnexpectedToken(Token(whole[1], whole[0], pos, line, pos - line_start + 1),
                              allowed)


def _splice(children: list[Any], inlined: tuple[int, ...]) -> list[Any]:
    """The children with those of inlined rules put in their place. A list in first place is
    extended where it is (a left-recursive `(...)*` grows one list: linear, not quadratic)."""
    if len(children) == 2 and inlined == (1,):       # `x (op x)*`: x, then the list
        return [children[0], *children[1]]
    out = children[0] if inlined[0] == 0 else [children[0]]
    for i in range(1, len(children)):
        if i in inlined:
            out.extend(children[i])
        else:
            out.append(children[i])
    return out


def _inlined(symbol: str) -> bool:
    """Rules named _x (Lark's own for `(...)*` among them) give their children to the rule
    that uses them."""
    return symbol.startswith("_")


def tables_from_grammar(grammar_text: str) -> dict:
    """The tables of this driver, built by Lark from the grammar (Lark is needed here only:
    by `grammar/generate.py`, and when the shipped tables are stale)."""
    from lark import Lark
    from lark.grammar import Terminal

    lark = Lark(grammar_text, parser="lalr", lexer="contextual", maybe_placeholders=False)
    lexer = lark.parser.lexer
    root = lexer.root_lexer
    # Lark's tree building as this driver does it: no token filtered out (a grammar that
    # needs that needs more here), no user callbacks on terminals.
    assert not lark.lexer_conf.callbacks
    for rule in lark.rules:
        assert not any(isinstance(s, Terminal) and s.filter_out for s in rule.expansion) or \
            rule.options.keep_all_tokens, f"{rule}: anonymous tokens are not supported"
    keywords = []     # Lark's lexer finds a string another terminal matches through that one
    for regex in root.terminals:
        if regex.pattern.type != "re":
            continue
        for string in root.terminals:
            text = string.pattern.value
            if string.pattern.type == "str" and string.priority == regex.priority:
                m = re.match(regex.pattern.to_regexp(), text)
                if m is not None and m.group(0) == text:
                    keywords.append((str(regex.name), str(string.name), text,
                                     string.pattern.flags <= regex.pattern.flags))
    table = lark.parser.parser.parser.parse_table
    number = {rule: i for i, rule in enumerate(lark.rules)}
    states = {}
    for state, actions in table.states.items():
        states[state] = {str(symbol): arg if action.name == "Shift" else ~number[arg]
                         for symbol, (action, arg) in actions.items()}
    assert sorted(states) == list(range(len(states)))
    start, = table.start_states.values()
    end, = table.end_states.values()
    return {
        "TERMINALS": [(str(t.name), t.pattern.to_regexp()) for t in root.terminals],
        "IGNORE": sorted(str(name) for name in lark.lexer_conf.ignore),
        "KEYWORDS": keywords,
        "RULES": [(str(r.origin.name), len(r.expansion), r.alias and str(r.alias),
                   bool(r.options.expand1) and not r.alias,
                   tuple(i for i, s in enumerate(r.expansion) if _inlined(s.name)))
                  for r in lark.rules],
        "STATES": [states[s] for s in range(len(states))],
        "START": start,
        "END": end,
    }
