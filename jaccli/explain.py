"""Rich views of the explanations: `--steps` derivations and `--check` verdicts.

Only drawing: the steps come from `steps.py`, the checks from `check.py`.
"""
from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from .check import verdict

INDENT = "  "


def check_line(check: dict) -> Text:
    """`check: ok, ...` in green, `check: FAILED, ...` in bold red."""
    style = "green" if check["ok"] else ("bold red" if check["ok"] is False else "dim")
    return Text(verdict(check), style=style)


class StepsView:
    """The derivation as the article writes it: each intermediate variable, its rule, the
    local Jacobian and the running product, then the substitution back."""

    def __init__(self, item, result):
        self.item, self.result = item, result

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(20, options.max_width - 6)
        wrt = self.item.wrt
        x = wrt if "," not in wrt else f"({', '.join(wrt.split(','))})"
        title = Text(f"Derivation of ∂f/∂{x}", style="bold cyan")
        title.append(" (numerator layout, one intermediate variable per operation)", style="dim")
        yield title
        current = None
        for k, step in enumerate(self.item.steps, 1):
            if step.get("wrt", current) != current:       # a --wrt x,y group: one walk per name
                current = step["wrt"]
                yield Text(f"{INDENT}with respect to {current}:", style="cyan")
            head = Text(f"{k}. ", style="bold")
            head.append(step["expression"], style="bold")
            yield from _lines(head, console, width, INDENT, INDENT + "   ")
            body = INDENT + "   "

            def line(text: str, style: str = "") -> RenderResult:
                yield from _lines(Text(text, style=style), console, width, body, body + "  ")

            yield from line(step["rule"], "italic")
            if step.get("local") and step.get("chain"):
                yield from line("local: " + step["local"])
            if step.get("chain"):
                yield from line("chain rule: " + step["chain"])
            for name in step.get("simplifications", ()):
                yield from line("simplify: " + name, "dim")
            result = step["result"]
            yield from line("= " + result.split(" = ", 1)[-1] if step.get("chain") else result,
                            "green")


def _lines(text: Text, console: Console, width: int, first: str, rest: str) -> RenderResult:
    for k, line in enumerate(text.wrap(console, width)):
        line.rstrip()
        yield Text(first if k == 0 else rest) + line
