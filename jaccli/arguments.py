"""The words of a command line, sorted without click: which are our options and which is the
EXPRESSION (`split`), and, for the command lines users type most, the parameters themselves
(`common_parameters`), so that a one-shot run need not import click (a fifth of its time).

Only long options exist, so any expression may begin with '-': every word that is not one of
our options belongs to the EXPRESSION. `common_parameters` answers only when the command line
is certainly valid and gives exactly what click would pass to the command; for anything else
(help, version, a missing or extra expression, any value that does not convert) it
answers None and click takes over, with its own messages and exit statuses. `--save` is
read here too when its FILE.npz is a name jac writes (`archive.check_name`).
"""
from __future__ import annotations

VALUE_OPTIONS = ("--wrt", "--shape", "--at", "--layout", "--save", "--hessian", "--emit")
FLAG_OPTIONS = ("--json", "--help", "--version", "--steps", "--check", "--latex")
# Options that may be given once: given twice, the last would silently win.
SINGLE_OPTIONS = ("--layout", "--save", "--emit")
# Options whose command lines click reads (their values are checked there).
_CLICKS_OWN = ("--help", "--version", "--hessian", "--emit", "--steps", "--check", "--latex")
LAYOUTS = ("numerator", "denominator")


def split(args: list[str]) -> tuple[list[str], list[str], str | None]:
    """(option words, EXPRESSION words, a value option that ended the line without its value).

    Sorting stops at such an option: it is an error, or a shell completing `--wrt <TAB>`."""
    options, positional = [], []
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if arg == "--":
            positional.extend(args[i + 1:])
            break
        if name in VALUE_OPTIONS and "=" in arg or arg in FLAG_OPTIONS:
            options.append(arg)
        elif arg in VALUE_OPTIONS:
            if i + 1 == len(args):
                return options, positional, arg
            options.extend(args[i:i + 2])
            i += 1
        else:
            positional.append(arg)
        i += 1
    return options, positional, None


def common_parameters(args: list[str]) -> dict | None:
    """The keyword arguments of `jaccli.cli.command` for this command line, or None when click
    must read it (see the module docstring)."""
    from .inputs import check_once, parse_shape, parse_wrt, split_assignment

    options, positional, dangling = split(args)
    if dangling or len(positional) != 1:
        return None
    given: dict = {name: [] for name in VALUE_OPTIONS}
    as_json = False
    words = iter(options)
    for word in words:
        if word == "--json":
            as_json = True
            continue
        if word.split("=", 1)[0] in _CLICKS_OWN:
            return None
        name, has_value, value = word.partition("=")
        given[name].append(value if has_value else next(words))
    if any(len(given[name]) > 1 for name in SINGLE_OPTIONS if name in given):
        return None                              # click says which was given twice
    layout = given["--layout"][-1] if given["--layout"] else "numerator"
    if layout not in LAYOUTS:
        return None
    try:
        save = None
        if given["--save"]:
            from .archive import check_name
            save = check_name(given["--save"][0])
        wrt = parse_wrt(given["--wrt"]) if given["--wrt"] else None
        declared = [split_assignment(item, "--shape") for item in given["--shape"]]
        check_once(declared, "--shape")
        shapes = {name: parse_shape(spec) for name, spec in declared}
        at = [split_assignment(item, "--at") for item in given["--at"]]
        check_once(at, "--at")
    except ValueError:
        return None
    return {"expression": positional[0], "wrt": wrt, "shapes": shapes, "at": at,
            "layout": layout, "as_json": as_json, "save": save,
            "steps": False, "check": False, "hessian": None, "latex": False, "emit": None}

