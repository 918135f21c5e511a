"""Shell completion: what `--wrt`, `--shape` and `--at` offer, and the shell scripts.

Click drives completion (`_JAC_COMPLETE=bash_complete jac ...`): it parses the words typed
so far with resilient parsing, then asks the option being completed. `--wrt <TAB>` offers
the variables of the expression already on the line, `--shape <TAB>` and `--at <TAB>` the
same names followed by `=`; `--layout` is a click.Choice and completes by itself.

The scripts in `completions/` are click's, with two changes: in bash and zsh a candidate
ending in `=` gets no space after it, so `--shape x=` waits for the size; fish gets one
line per candidate (click 8.4 sends three, which fish's command substitution splits
apart). Imported only when completing or generating the scripts.
"""
from __future__ import annotations

from click.shell_completion import (BashComplete, CompletionItem, FishComplete, ZshComplete,
                                    add_completion_class, get_completion_class)

PROG = "jac"
COMPLETE_VAR = "_JAC_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def variables(ctx) -> dict:
    """Name -> shape in words for the expression typed so far; {} when it does not parse."""
    from .errors import JacError
    from .syntax import parse

    text = ctx.params.get("expression")
    if not text or text == "-":
        return {}
    try:
        tree = parse(text)
    except JacError:
        return {}
    names = tree.variables()
    try:
        from .shapes import infer
        _, shapes = infer(tree, dict(ctx.params.get("shapes") or {}))
    except JacError:
        return {n: None for n in names}
    kinds = ("scalar", "vector", "matrix")
    return {n: kinds[len(shapes[n])] for n in names}


def complete_wrt(ctx, param, incomplete: str) -> list[CompletionItem]:
    """`--wrt x` or `--wrt x,y`: names of the expression, after any already listed."""
    done, _, partial = incomplete.rpartition(",")
    taken = set(done.split(",")) if done else set()
    prefix = done + "," if done else ""
    return [CompletionItem(prefix + n, help=kind) for n, kind in variables(ctx).items()
            if n.startswith(partial) and n not in taken]


def complete_assignment(ctx, param, incomplete: str) -> list[CompletionItem]:
    """`--shape x=` / `--at x=`: each name of the expression, followed by '='."""
    if "=" in incomplete:
        return []
    return [CompletionItem(n + "=", help=kind) for n, kind in variables(ctx).items()
            if n.startswith(incomplete)]


# Click's scripts, with no trailing space after a candidate that ends in '=' (the name of a
# --shape or --at, waiting for its value).
_BASH_PLAIN = "            COMPREPLY+=($value)\n"
_BASH_NOSPACE = _BASH_PLAIN + "            [[ $value == *= ]] && compopt -o nospace\n"
_ZSH_ADD = """\
    if [ -n "$completions_with_descriptions" ]; then
        _describe -V unsorted completions_with_descriptions -U
    fi

    if [ -n "$completions" ]; then
        compadd -U -V unsorted -a completions
    fi
"""
_ZSH_NOSPACE = """\
    local -a suffix
    [[ "${completions_with_descriptions[1]%%:*}${completions[1]}" == *= ]] && suffix=(-S '')

    if [ -n "$completions_with_descriptions" ]; then
        _describe -V unsorted completions_with_descriptions -U "${suffix[@]}"
    fi

    if [ -n "$completions" ]; then
        compadd -U -V unsorted "${suffix[@]}" -a completions
    fi
"""


class JacBashComplete(BashComplete):
    source_template = BashComplete.source_template.replace(_BASH_PLAIN, _BASH_NOSPACE)


class JacZshComplete(ZshComplete):
    source_template = ZshComplete.source_template.replace(_ZSH_ADD, _ZSH_NOSPACE)


class JacFishComplete(FishComplete):
    """One line per candidate, `type,value<TAB>help`: fish splits a command's output into
    lines, so click 8.4's three lines per candidate never reach its script whole."""

    source_template = """\
function %(complete_func)s;
    set -l response (env %(complete_var)s=fish_complete COMP_WORDS=(commandline -cp) \
COMP_CWORD=(commandline -t) %(prog_name)s);

    for completion in $response;
        set -l metadata (string split -m 1 "," -- $completion);

        if test "$metadata[1]" = "dir";
            __fish_complete_directories $metadata[2];
        else if test "$metadata[1]" = "file";
            __fish_complete_path $metadata[2];
        else if test "$metadata[1]" = "plain";
            echo $metadata[2];
        end;
    end;
end;

complete --no-files --command %(prog_name)s --arguments \
"(%(complete_func)s)";
"""

    def format_completion(self, item: CompletionItem) -> str:
        value = " ".join(item.value.split("\n"))
        return f"{item.type},{value}" + (f"\t{' '.join(item.help.split())}" if item.help else "")


def register() -> None:
    """Use jac's scripts for `_JAC_COMPLETE=bash_source` and friends."""
    assert _BASH_PLAIN in BashComplete.source_template and _ZSH_ADD in ZshComplete.source_template
    add_completion_class(JacBashComplete)
    add_completion_class(JacZshComplete)
    add_completion_class(JacFishComplete)


def source(shell: str) -> str:
    """The completion script for `shell`, as `_JAC_COMPLETE={shell}_source jac` prints it.
    The script needs the program's name only, not its command (cli.py imports this module,
    never the other way round)."""
    register()
    complete = get_completion_class(shell)(None, {}, PROG, COMPLETE_VAR)
    return complete.source_template % complete.source_vars()
