"""Write docs/article.md: Parr & Howard's "The Matrix Calculus You Need For Deep Learning",
section by section, each rule with the jac command that shows it and jac's real output.

    python docs/make_gallery.py           # rewrite docs/article.md
    python docs/make_gallery.py --check   # exit 1 if docs/article.md differs from jac's output

Every command runs in-process through click, as a pipe would see it: 80 columns, no colour.
tests/test_gallery.py runs the check, so the page cannot drift from what jac prints.
"""
from __future__ import annotations

import pathlib
import shlex
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PAGE = HERE / "article.md"
WIDTH = 80

INTRO = """\
# The article, rule by rule

Terence Parr and Jeremy Howard's *The Matrix Calculus You Need For Deep Learning* builds
the gradient of a neural network's loss from a handful of rules. This page walks through
the article section by section: for each rule, the `jac` command that shows it and what
`jac` prints.

The outputs are real: `python docs/make_gallery.py` runs every command and writes this
page, and a test fails when the page and jac disagree. They are shown as a pipe sees them,
80 columns wide without colour; in a terminal the labels, kinds and diagonals are coloured
and matrices use the full width.

Names that start with a lower-case letter are vectors unless the expression or `--shape`
says otherwise; `n` is a symbolic length. Jacobians are in numerator layout unless
`--layout denominator` is given: row i holds the derivatives of fᵢ.
"""

# (title, prose, [command, ...]); a command is what a user types at the prompt.
SECTIONS = [
    ("Introduction: a neuron",
     "The article's running example is one neuron, activation(x) = max(0, w·x + b). jac infers "
     "that w and x are vectors of one length n and b a scalar, and gives the gradient with "
     "respect to each: a row, since f is a scalar. `step(v)` is the derivative of "
     "max(0, v): 1 where v > 0, else 0.",
     ['jac "max(0, w@x + b)"']),
    ("Review: scalar derivative rules",
     "Declared scalars follow the rules of school calculus: the power rule, d/dx 3x² = 6x, and "
     "the chain rule, d/dx sin(x²) = 2x·cos(x²).",
     ['jac "3*x^2" --shape x=scalar',
      'jac "sin(x^2)" --shape x=scalar']),
    ("Introduction to vector calculus and partial derivatives",
     "For f(x, y) = 3x²y the partial derivatives are ∂f/∂x = 6yx and ∂f/∂y = 3x². Stacking them "
     "side by side gives the gradient ∇f(x, y) = [6yx, 3x²]: `--wrt x,y` is one Jacobian with "
     "respect to the stacked vector [x; y].",
     ['jac "3*x^2*y" --shape x=scalar --shape y=scalar',
      'jac "3*x^2*y" --wrt x,y --shape x=scalar --shape y=scalar --at x=1 --at y=2']),
    ("Matrix calculus",
     "With two functions, f(x, y) = 3x²y and g(x, y) = 2x + y⁸, the gradients become the rows of "
     "the Jacobian matrix.",
     ['jac "[3*x^2*y, 2*x + y^8]" --wrt x,y --shape x=scalar --shape y=scalar']),
    ("Generalization of the Jacobian",
     "The Jacobian of the identity function f(x) = x is the identity matrix I. The article uses "
     "numerator layout, one row per output; denominator layout is the transpose, so the "
     "gradient of w·x is the row xᵀ in one and the column x in the other.",
     ['jac "x" --shape x=3',
      'jac "w @ x" --wrt w',
      'jac "w @ x" --wrt w --layout denominator']),
    ("Derivatives of vector element-wise binary operators",
     "An element-wise operation makes each fᵢ depend on wᵢ and xᵢ alone, so every off-diagonal "
     "entry is zero and the Jacobian is diagonal: ∂(w + x)/∂w = I, ∂(w - x)/∂x = -I, "
     "∂(w ⊙ x)/∂w = diag(x), ∂(w ⊘ x)/∂x = diag(-w/x²). jac decides this from the "
     "derivation, never from numbers that happen to be zero.",
     ['jac "w + x" --shape w=3',
      'jac "w - x" --wrt x',
      'jac "w * x" --wrt w --at w=1,2,3 --at x=4,5,6',
      'jac "w / x" --wrt x --shape x=3']),
    ("Derivatives involving scalar expansion",
     "Adding or multiplying a scalar z broadcasts it over the vector: ∂(x + z)/∂x = I and "
     "∂(x + z)/∂z = 𝟏; ∂(xz)/∂x = zI and ∂(xz)/∂z = x.",
     ['jac "x + z" --shape z=scalar --shape x=3',
      'jac "x * z" --shape z=scalar']),
    ("Vector sum reduction",
     "Summing the elements of a vector gives ∂sum(x)/∂x = 𝟏ᵀ, a row of ones. For y = sum(xz) "
     "with a scalar z, ∂y/∂x = z𝟏ᵀ and ∂y/∂z = sum(x).",
     ['jac "sum(x)" --shape x=4',
      'jac "sum(x * z)" --shape z=scalar']),
    ("The chain rules",
     "The single-variable chain rule, the total derivative (f(x) = x + x² has df/dx = 1 + 2x), "
     "and the vector chain rule: for f(x) = [ln(x²), sin(3x)] the derivative is the column "
     "[2x/x², 3cos(3x)], which jac simplifies to [2/x, 3cos(3x)].",
     ['jac "x + x^2" --shape x=scalar',
      'jac "[log(x^2), sin(3*x)]" --shape x=scalar']),
    ("The gradient of neuron activation",
     "Back to the neuron: with values for w, x and b jac prints the numbers too. Here "
     "w·x + b = 32.5 > 0, so the gradient with respect to w is xᵀ and with respect to b is 1.",
     ['jac "max(0, w@x + b)" --wrt w --wrt b --at w=1,2,3 --at x=4,5,6 --at b=0.5']),
    ("The gradient of the neural network loss function",
     "The article's loss over a batch X of N rows: the mean squared error of the neuron's "
     "activations against targets y. Its gradient with respect to w and b follows from the "
     "same rules, the chain rule carrying step(Xw + b) through.",
     ['jac "mean((y - max(0, X @ w + b))^2)" --wrt w --wrt b --shape b=scalar']),
    ("When something is wrong",
     "A typo gets a pointed message on stderr and exit status 1: the expression with a caret "
     "under the column, and the nearest name. A shape error points at the operator and "
     "names both operands' shapes.",
     ['jac "sigmod(w@x)"',
      'jac "x * y" --shape x=3 --shape y=4']),
    ("For scripts: JSON and batch mode",
     "`--json` writes one JSON document (pipe it into `jq`); `jac -` reads one expression per "
     "line and writes one JSON object per line, a bad line becoming an error object while "
     "the rest go on.",
     ['jac "w * x" --at w=1,2,3 --at x=4,5,6 --json',
      "printf 'x*y\\nsin(x\\n' | jac - --json"]),
]


def run(command: str) -> tuple[str, int]:
    """Run one command line as typed ("printf '...' | jac ..." feeds the printf text to stdin)."""
    from click.testing import CliRunner

    from jaccli.cli import command as jac

    stdin = None
    if command.startswith("printf "):
        feed, _, command = command.partition(" | ")
        stdin = shlex.split(feed)[1].encode().decode("unicode_escape")
    words = shlex.split(command)
    assert words[0] == "jac", command
    env = {"COLUMNS": str(WIDTH), "NO_COLOR": "1", "FORCE_COLOR": None, "TTY_COMPATIBLE": None,
           "TTY_INTERACTIVE": None, "LINES": None}
    result = CliRunner().invoke(jac, words[1:], input=stdin, env=env, prog_name="jac")
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.stdout + result.stderr, result.exit_code


def page() -> str:
    out = [INTRO]
    for number, (title, prose, commands) in enumerate(SECTIONS, start=1):
        out.append(f"\n## {number}. {title}\n\n{prose}\n")
        for command in commands:
            text, status = run(command)
            block = f"$ {command}\n{text.rstrip()}\n"
            if status:
                block += f"[exit status {status}]\n"
            out.append(f"\n```console\n{block}```\n")
    return "".join(out)


def main(argv: list[str]) -> int:
    text = page()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print("docs/article.md is out of date: run python docs/make_gallery.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
