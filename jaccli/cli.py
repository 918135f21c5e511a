"""The command line: click options in, a `Result` out to the renderer (Rich) or to JSON.

Only long options exist, so any expression may begin with '-': `parse_args` sends every
argument that is not one of our options to the EXPRESSION. Domain errors become exit
status 1 (with a JSON error object under --json), command-line errors exit 2 (click).
"""
from __future__ import annotations

import os
import sys

import click

from . import __version__
from .arguments import LAYOUTS, SINGLE_OPTIONS, split

EXAMPLES = """\b
Examples (Parr & Howard, "The Matrix Calculus You Need For Deep Learning"):
  jac "max(0, w@x + b)" --wrt w --wrt b       the neuron's gradient: step(w·x + b)·xᵀ
  jac "w * x" --at w=1,2,3 --at x=4,5,6       element-wise: diag(x) and diag(w), with numbers
  jac "W @ x" --wrt x --shape W=3x4           a matrix-vector product: W
  jac "w @ x" --wrt w --layout denominator    layouts: the column x instead of the row x'
  jac "[3*x^2*y, 2*x + y^8]" --wrt x,y --shape x=scalar --shape y=scalar
  jac "mean((y - max(0, X @ w + b))^2)" --wrt w --shape b=scalar   the loss
  jac "softmax(x)" --at x=1,2,3 --json | jq '.jacobians[0].value'
  printf 'x*y\\nsin(x)\\n' | jac - --json       batch mode: one JSON line per expression

\b
Explanations, checks, second derivatives, code:
  jac "mean((y - max(0, X @ w + b))^2)" --wrt w --shape b=scalar --steps
                                              the derivation rule by rule, as in the article
  jac "sum(tanh(W @ x))" --wrt x --check      the Jacobian against finite differences
  jac "x' @ A @ x" --hessian x                the Hessian: A' + A
  jac "sum(x^3)" --hessian x --at x=1,2,3     diag(6*x), diagonal, with numbers
  jac "max(0, w@x + b)" --wrt w --latex       an align* fragment for a paper
  jac "w * x" --wrt w --emit numpy > grad.py  a NumPy module; python grad.py tests it

\b
Closed forms (JSON "symbolic") are input: they read back to their own numbers. Beyond
the operators they use eye(n) (identity), ones(n) (vector of ones), zeros(m, n), diag(v),
step(v) (1 where v > 0), sign(v), kron(A, B), vec(A) (the entries row by row),
commutation(m, n) (the permutation with vec(Aᵀ) = commutation(m, n)·vec(A)), and u @ v'
(an outer product); a whole form that is just the identity or ones is written I, z*I, 1,
1'. A very long form names its repeats: f(u2) where u1 = g(x), u2 = h(u1) (you may write
that too: jac "max(0, u) where u = w@x + b" --wrt w). Numbers are exact (2/3). On a terminal and in LaTeX they read as in the papers, vectors
as columns: xᵀ, A y, 𝟏, I, ⊙ (element-wise product), ⊗; jac reads ᵀ ⊙ ⊘ − as ' * / -.

\b
Shell completion (--wrt <TAB> offers the expression's variables):
  eval "$(_JAC_COMPLETE=bash_source jac)"     in ~/.bashrc (zsh_source, fish_source alike)
"""

class JacCommand(click.Command):
    def parse_args(self, ctx, args):
        """Everything that is not one of our long options is the expression, even '-x'."""
        options, positional, dangling = split(args)
        if dangling and not ctx.resilient_parsing:   # resilient: completing `--wrt <TAB>`
            raise click.BadOptionUsage(dangling, f"Option '{dangling}' requires an argument.",
                                       ctx)
        seen = set()
        for word in options:
            name = word.split("=", 1)[0]
            if name in SINGLE_OPTIONS:        # given twice, the last would silently win
                if name in seen:
                    raise click.BadOptionUsage(name, f"{name} is given twice; give it once", ctx)
                seen.add(name)
        return super().parse_args(ctx, options + ["--"] + positional)


def _assignments(option: str):
    def convert(ctx, param, items):
        from .inputs import check_once, split_assignment
        out = []
        try:
            for item in items:
                out.append(split_assignment(item, option))
            check_once(out, option)
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
        return out
    return convert


def _shapes(ctx, param, items):
    from .inputs import check_once, parse_shape, split_assignment
    out = {}
    try:
        pairs = [split_assignment(item, "--shape") for item in items]
        check_once(pairs, "--shape")
        for name, spec in pairs:
            out[name] = parse_shape(spec)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    return out


def _complete(name: str):
    """A `shell_complete` callback that imports the completion code only when completing."""
    def complete(ctx, param, incomplete):
        from . import completion
        return getattr(completion, name)(ctx, param, incomplete)
    return complete


def _wrt(ctx, param, items):
    from .inputs import parse_wrt
    try:
        return parse_wrt(items) if items else None
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _save(ctx, param, path):
    if path is None:
        return None
    from .archive import check_name
    try:
        return check_name(path)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.command(cls=JacCommand, epilog=EXAMPLES, context_settings={"max_content_width": 100})
@click.argument("expression", required=False)
@click.option("--wrt", multiple=True, callback=_wrt, metavar="NAME[,NAME]",
              shell_complete=_complete("complete_wrt"),
              help="Differentiate with respect to NAME (repeatable); x,y stacks [x; y]. "
                   "Default: every scalar and vector variable.")
@click.option("--shape", "shapes", multiple=True, callback=_shapes, metavar="NAME=SPEC",
              shell_complete=_complete("complete_assignment"),
              help="Declare a shape: scalar, N, MxN or M,N (symbols: n, m,n, batch).")
@click.option("--at", "at", multiple=True, callback=_assignments("--at"), metavar="NAME=VALUE",
              shell_complete=_complete("complete_assignment"),
              help="A value: 0.5, 1,2,3, [1,2,3], [[1,2],[3,4]] or @FILE (.npy, .json, text).")
@click.option("--layout", type=click.Choice(LAYOUTS), default="numerator", show_default=True,
              help="Jacobian layout (denominator is the transpose).")
@click.option("--json", "as_json", is_flag=True, help="Write JSON (batch mode: one object per line).")
@click.option("--save", callback=_save, metavar="FILE.npz",
              help="Also write each Jacobian's numbers to a NumPy archive (exactly FILE.npz, "
                   "replaced atomically; batch mode: keys LINE/NAME).")
@click.option("--steps", is_flag=True,
              help="Show each derivation rule by rule: intermediate variables, the rule, "
                   "local Jacobians, the chain-rule product (JSON: jacobians[i].steps).")
@click.option("--check", is_flag=True,
              help="Compare every Jacobian and Hessian with central finite differences, at "
                   "the --at values or at seeded random values away from kinks; exit 1 if "
                   "one disagrees (JSON: jacobians[i].check).")
@click.option("--hessian", multiple=True, callback=_wrt, metavar="NAME[,NAME]",
              shell_complete=_complete("complete_wrt"),
              help="Also the Hessian of a scalar f with respect to NAME (repeatable; JSON: "
                   "hessians).")
@click.option("--latex", is_flag=True,
              help="Print the results as a LaTeX align* fragment (with --json: the key "
                   "latex_fragment).")
@click.option("--emit", type=click.Choice(["numpy"]), metavar="numpy",
              help="Print a self-contained Python module (NumPy only) that computes the "
                   "Jacobians; run it as a script to test it against finite differences "
                   "(with --json: the key numpy_module).")
@click.version_option(__version__, "--version", prog_name="jac")
@click.help_option("--help")
def command(expression, wrt, shapes, at, layout, as_json, save, steps, check, hessian, latex,
            emit):
    """Jacobians of vector expressions: shape, closed form, diagonal or not, numbers.

    EXPRESSION uses + - * / ^ (element-wise), @ (matrix product), ' (transpose),
    [a, b] (vectors), and sin cos tan exp log sqrt tanh sigmoid relu abs max min
    sum mean norm softmax logsumexp dot. Use - to read one expression per line.
    """
    if expression is None:
        raise click.UsageError("give an EXPRESSION (or - to read expressions from stdin)")
    from .session import run
    sys.exit(run(expression, wrt=wrt, shapes=shapes, at=at, layout=layout, as_json=as_json,
                 save=save, steps=steps, check=check, hessian=hessian, latex=latex, emit=emit))


def main():
    if "_JAC_COMPLETE" in os.environ:     # shell completion: jac's own bash and zsh scripts
        from .completion import register
        register()
    from .session import INTERRUPTED, exit_cleanly_on_sigterm, output_failed, quiet_broken_pipe
    _tolerate_unprintable_output()
    exit_cleanly_on_sigterm()
    # Not standalone: click would turn Ctrl-C into "Aborted!" and status 1, and a closed
    # pipe into status 1; the session handles both, and the rest is done here.
    try:
        try:
            status = command.main(prog_name="jac", standalone_mode=False)
        except click.ClickException as e:
            e.show(file=_Escaped(sys.stderr))
            status = e.exit_code
        if sys.stdout is not None:
            sys.stdout.flush()     # here, where a failure can still be reported
    except (click.exceptions.Abort, KeyboardInterrupt):   # Ctrl-C outside a session
        status = INTERRUPTED
    except BrokenPipeError:
        quiet_broken_pipe()
        status = 0
    except OSError as e:       # --help or --version to a full disk
        output_failed(e)
        status = 1
    sys.exit(status if isinstance(status, int) else 0)


class _Escaped:
    """A stream that escapes control characters: click echoes arguments in its usage
    errors (`Got unexpected extra argument (...)`), and they must not drive the terminal."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        from .report import escape_controls
        return self._stream.write(escape_controls(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _tolerate_unprintable_output():
    """Under a locale that cannot encode an expression's characters, print '?' for them
    rather than fail while writing the answer."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="replace")
