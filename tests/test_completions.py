"""Shell completion through click's protocol (`_JAC_COMPLETE=bash_complete`, COMP_WORDS,
COMP_CWORD), and the scripts in completions/ kept in step with the code."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from jaccli.cli import command
from jaccli.completion import register, source

ROOT = Path(__file__).resolve().parent.parent


def complete(line: str, shell: str = "bash") -> list[str]:
    """What jac offers at the end of `line` (a trailing space means a new, empty word)."""
    words = shlex.split(line)
    if line.endswith(" "):
        words.append("")
    env = {"_JAC_COMPLETE": f"{shell}_complete", "COMP_WORDS": line,
           "COMP_CWORD": str(len(words) - 1)}
    r = CliRunner().invoke(command, [], env=env, prog_name="jac")
    assert r.exit_code == 0, r.output
    if shell == "bash":
        return [row.split(",", 1)[1] for row in r.stdout.splitlines() if row.startswith("plain,")]
    lines = r.stdout.splitlines()
    return [lines[i + 1] for i in range(0, len(lines), 3) if lines[i] == "plain"]


def test_wrt_offers_the_variables_of_the_expression():
    assert complete('jac "max(0, w@x + b)" --wrt ') == ["w", "x", "b"]


def test_wrt_filters_by_prefix_and_continues_a_list():
    assert complete('jac "alpha*x + beta" --wrt a') == ["alpha"]
    assert complete('jac "x * y + z" --wrt x,') == ["x,y", "x,z"]


def test_wrt_when_options_come_first():
    assert complete('jac --layout numerator "x * y" --wrt ') == ["x", "y"]


def test_wrt_with_an_expression_that_does_not_parse_offers_nothing():
    assert complete('jac "sin(x" --wrt ') == []
    assert complete("jac --wrt ") == []


def test_layout_offers_the_layouts():
    assert complete('jac "x" --layout ') == ["numerator", "denominator"]
    assert complete('jac "x" --layout d') == ["denominator"]


def test_shape_and_at_offer_names_followed_by_equals():
    assert complete('jac "W @ x + b" --shape ') == ["W=", "x=", "b="]
    assert complete('jac "W @ x + b" --at x=1,2 --at ') == ["W=", "x=", "b="]
    assert complete('jac "W @ x + b" --shape b') == ["b="]


def test_option_names():
    assert complete('jac "x" --sh') == ["--shape"]


def test_zsh_gets_the_kind_of_each_variable_as_help():
    env = {"_JAC_COMPLETE": "zsh_complete", "COMP_WORDS": 'jac "W @ x" --wrt ', "COMP_CWORD": "3"}
    r = CliRunner().invoke(command, [], env=env, prog_name="jac")
    assert r.stdout.splitlines() == ["plain", "W", "matrix", "plain", "x", "vector"]


def test_fish_gets_one_line_per_candidate():
    register()                     # as jaccli.cli.main does when _JAC_COMPLETE is set
    env = {"_JAC_COMPLETE": "fish_complete", "COMP_WORDS": 'jac "W @ x" --wrt x,', "COMP_CWORD": "x,"}
    r = CliRunner().invoke(command, [], env=env, prog_name="jac")
    assert r.stdout.splitlines() == ["plain,x,W\tmatrix"]


def test_a_value_option_at_the_end_is_still_a_usage_error():
    r = CliRunner().invoke(command, ["x", "--wrt"], prog_name="jac")
    assert r.exit_code == 2 and "requires an argument" in r.output


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_scripts_match_the_code(shell):
    path = ROOT / "completions" / f"jac.{shell}"
    assert path.read_text(encoding="utf-8") == source(shell), \
        "run python completions/generate.py"


def test_generator_check_passes():
    subprocess.run([sys.executable, str(ROOT / "completions" / "generate.py"), "--check"], check=True)


def test_installed_jac_prints_the_same_bash_script():
    jac = shutil.which("jac")
    if jac is None:
        pytest.skip("jac is not installed on PATH")
    env = {**os.environ, "_JAC_COMPLETE": "bash_source"}
    out = subprocess.run([jac], env=env, capture_output=True, text=True, check=True).stdout
    # click versions differ in the blank line they print after the script
    assert out.rstrip("\n") == (ROOT / "completions" / "jac.bash").read_text(encoding="utf-8").rstrip("\n")
    assert "compopt -o nospace" in out          # `--shape x=` waits for the size


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_script_completes_in_bash():
    """Source the script in a real bash and run its completion function as readline would."""
    script = ROOT / "completions" / "jac.bash"
    jac = shutil.which("jac")
    if jac is None:
        pytest.skip("jac is not installed on PATH")
    probe = f"""
source {shlex.quote(str(script))}
COMP_WORDS=(jac '"x * y"' --wrt '')
COMP_CWORD=3
_jac_completion jac
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", probe], capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["x", "y"]


@pytest.mark.skipif(shutil.which("fish") is None or shutil.which("jac") is None,
                    reason="needs fish and an installed jac")
def test_fish_script_completes_in_fish():
    script = ROOT / "completions" / "jac.fish"
    probe = f'source {shlex.quote(str(script))}; complete -C \'jac "W @ x" --wrt \''
    out = subprocess.run(["fish", "--no-config", "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines() == ["W\tmatrix", "x\tvector"]
