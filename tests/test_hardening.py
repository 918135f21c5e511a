"""Hostile input and hostile conditions (issue 8): every size bounded before the work is
done, every write atomic or refused, every failure one line with a documented status.

Real conditions where they matter: /dev/zero and /dev/full, a real signal sent to a
subprocess, a pty for what reaches a terminal. Work is counted (calls, tracemalloc peaks),
never timed.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from runjac import one, peak_bytes

MB = 2 ** 20


# ------------------------------------------------------------------------ one cap for every reader

@pytest.fixture
def small_cap(monkeypatch):
    from jaccli import inputs
    monkeypatch.setattr(inputs, "MAX_VALUE_ENTRIES", 1000)
    return 1000


@pytest.mark.parametrize("name,content", [
    ("column.txt", b"0\n" * 10 ** 6),
    ("row.txt", b"1 " * 10 ** 6),
    ("matrix.txt", b"1 2 3 4\n" * 10 ** 5),
    ("v.json", b"[" + b"1," * 10 ** 6 + b"1]"),
])
def test_a_file_past_the_cap_is_refused_while_it_is_read(tmp_path, small_cap, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    answers = []
    peak = peak_bytes(lambda: answers.append(one("sum(x)", at=[f"x=@{path}"])))
    status, doc, _ = answers[0]
    assert status == 1 and doc["error"]["type"] == "value"
    assert f"at most {small_cap}" in doc["error"]["message"] and name in doc["error"]["message"]
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"   # read a MB at a time, not kept


def test_inline_values_have_one_cap_and_npy_files_ten_times_it(tmp_path, small_cap):
    """A .npy file's size is known from its header and it is read into one array: a layer
    of 4096 x 4096 weights (1.7·10^7 numbers) is a realistic value."""
    for at in ("x=" + ",".join(["1"] * (small_cap + 1)),
               "x=[" + ",".join(["1"] * (small_cap + 1)) + "]"):
        status, doc, _ = one("sum(x)", at=[at])
        assert status == 1 and f"at most {small_cap} per value" in doc["error"]["message"], at
    np.save(tmp_path / "v.npy", np.zeros(10 * small_cap + 1))
    status, doc, _ = one("sum(x)", at=[f"x=@{tmp_path / 'v.npy'}"])
    assert status == 1 and f"at most {10 * small_cap}" in doc["error"]["message"]
    np.save(tmp_path / "ok.npy", np.zeros(10 * small_cap))
    assert one("sum(x)", at=[f"x=@{tmp_path / 'ok.npy'}"])[0] == 0


def test_dev_zero_is_refused_after_one_chunk():
    answers = []
    peak = peak_bytes(lambda: answers.append(one("sum(x)", at=["x=@/dev/zero"])))
    status, doc, _ = answers[0]
    assert status == 1 and doc["error"]["type"] == "value" and "/dev/zero" in doc["error"]["message"]
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"


@pytest.mark.parametrize("content,expected", [
    (b"1 2 # a comment " + b"c" * 5 * MB + b"\n3 4\n", [[1, 2], [3, 4]]),   # a comment across chunks
    (b" ".join(b"%d" % i for i in range(300000)) + b"\n", list(range(300000))),   # numbers across chunks
    (b"1#x\n2#y\n", [1, 2]),
    (b"\xef\xbb\xbf1,2\r\n3,4\r\n", [[1, 2], [3, 4]]),
])
def test_text_files_read_in_chunks_read_the_same(tmp_path, content, expected):
    from jaccli.inputs import parse_value
    path = tmp_path / "v.txt"
    path.write_bytes(content)
    np.testing.assert_array_equal(parse_value(f"@{path}", "x"), np.array(expected, float))


def test_a_word_longer_than_any_number_is_refused_without_reading_on(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"1 2 " + b"9" * 3 * MB + b"\n")
    status, doc, _ = one("sum(x)", at=[f"x=@{path}"])
    assert status == 1 and "not a number" in doc["error"]["message"]


# ------------------------------------------------------------------------ --save

import os
import signal
import subprocess

from runjac import jac_program, run_jac


def _archive(path) -> dict:
    with np.load(path) as archive:
        return {k: archive[k].tolist() for k in archive.files}


def _leftovers(folder) -> list:
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def test_batch_save_is_one_archive_keyed_by_line_and_name(tmp_path):
    r = subprocess.run(jac_program() + ["-", "--json", "--at", "x=1,2", "--at", "y=3,4",
                                         "--save", "b.npz"],
                       input=b"x*y\n\n# a comment\nsin(x)\nx+\nz*2\n", capture_output=True,
                       cwd=tmp_path, timeout=60)
    assert r.returncode == 1                        # line 5 is bad; the others are saved
    saved = _archive(tmp_path / "b.npz")
    assert set(saved) == {"1/x", "1/y", "4/x"}
    assert saved["1/x"] == [3, 4] and saved["1/y"] == [1, 2]
    np.testing.assert_allclose(saved["4/x"], np.cos([1, 2]))
    assert _leftovers(tmp_path) == []


def test_save_writes_exactly_the_file_named(tmp_path):
    r = run_jac(["x*2", "--at", "x=1,2", "--save", str(tmp_path / "up.NPZ")])
    assert r.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["up.NPZ"]
    assert _archive(tmp_path / "up.NPZ") == {"x": [2, 2]}


@pytest.mark.parametrize("name", ["", "out.txt", "out", "/dev/full", ".npz"])
def test_save_to_a_name_not_ending_in_npz_is_a_command_line_error(tmp_path, name):
    r = subprocess.run(jac_program() + ["x", "--at", "x=1", "--save", name], cwd=tmp_path,
                       capture_output=True, timeout=60)
    assert r.returncode == 2 and b"--save" in r.stderr and b"Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_save_over_something_that_is_not_a_regular_file_is_refused(tmp_path, kind):
    target = tmp_path / "t.npz"
    if kind == "fifo":
        os.mkfifo(target)              # opening it would hang: it must not be opened
    elif kind == "directory":
        target.mkdir()
    else:
        target.symlink_to("/dev/full")
    r = run_jac(["x", "--at", "x=1", "--json", "--save", str(target)], timeout=30)
    assert r.returncode == 1
    assert str(target) in r.stderr.decode() and b"Traceback" not in r.stderr
    assert b'"type": "value"' in r.stdout
    assert _leftovers(tmp_path) == []
    if kind == "device":
        assert os.path.islink(target)


def _good_archive(path):
    np.savez(path, old=np.arange(3.0))


def test_a_failed_write_keeps_the_old_archive(tmp_path):
    """`ulimit -f`: the write fails with EFBIG half-way (Python ignores SIGXFSZ)."""
    target = tmp_path / "a.npz"
    _good_archive(target)
    big = tmp_path / "big.npy"
    np.save(big, np.linspace(1, 2, 10 ** 5))
    program = " ".join(jac_program())
    r = subprocess.run(["bash", "-c", f"ulimit -f 64; {program} 'x*2' --at x=@{big} --json "
                                      f"--save {target}"], capture_output=True, timeout=60)
    assert r.returncode == 1, r.stderr
    err = r.stderr.decode()
    assert f"cannot write '{target}'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert _archive(target) == {"old": [0, 1, 2]}
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("signum,status", [(signal.SIGTERM, 128 + signal.SIGTERM),
                                           (signal.SIGINT, 130)])
def test_a_signal_mid_batch_keeps_the_old_archive(tmp_path, signum, status):
    target = tmp_path / "a.npz"
    _good_archive(target)
    p = subprocess.Popen(jac_program() + ["-", "--json", "--at", "x=1,2", "--save", str(target)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(b"x*2\n")
    p.stdin.flush()
    assert b'"jacobians"' in p.stdout.readline()     # line 1 is in the temporary archive
    assert len(_leftovers(tmp_path)) == 1
    p.send_signal(signum)
    p.wait(timeout=30)
    assert p.returncode == status
    assert b"Traceback" not in p.stderr.read()
    assert _archive(target) == {"old": [0, 1, 2]}
    assert _leftovers(tmp_path) == []
    p.stdin.close()
    p.stdout.close()
    p.stderr.close()


def test_a_saved_archive_has_the_usual_permissions(tmp_path):
    target = tmp_path / "a.npz"
    r = subprocess.run(["bash", "-c", f"umask 022; {' '.join(jac_program())} x --at x=1 "
                                      f"--save {target}"], capture_output=True, timeout=60)
    assert r.returncode == 0
    assert os.stat(target).st_mode & 0o777 == 0o644


# ------------------------------------------------------------------------ write failures

@pytest.mark.parametrize("args", [["x", "--json"], ["x"], ["x", "--at", "x=1,2"], ["--help"],
                                  ["--version"], ["-", "--json"], ["-"]])
def test_a_full_disk_is_one_line_and_status_1(args):
    with open("/dev/full", "wb") as full:
        r = subprocess.run(jac_program() + args, input=b"x\nsin(x)\n", stdout=full,
                           stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 1
    assert r.stderr.decode().splitlines() == ["jac: cannot write the output: No space left on device"]


def test_a_reader_that_goes_away_is_still_quiet():
    r = subprocess.run(["bash", "-c", f"yes x | head -3000 | {' '.join(jac_program())} - --json "
                                      "| head -1; exit ${PIPESTATUS[2]}"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stderr == b""


# ------------------------------------------------------------------------ nothing raw reaches a terminal

TITLE = "\x1b]0;PWNED\x07"          # sets the window title; \x1b[2J would clear the screen


@pytest.mark.parametrize("args", [
    ["x", "y" + TITLE],                                  # click echoes an extra argument
    ["x", "--layout", TITLE],                            # ... and a bad choice
    ["x", "--shape", "x=" + TITLE],
    ["x", "--wrt", "x" + TITLE],
    ["x", "--at", "x=" + TITLE],
    ["x", "--at", "x=1", "--save", f"/nonexistent/{TITLE}.npz"],
    ["x", "--at", "x=1", "--save", f"{TITLE}.txt"],
    ["x\u009b2J"],                                       # a C1 CSI in the expression
])
def test_user_input_echoed_to_a_terminal_is_escaped(args):
    from test_terminal import run_in_pty
    shown = run_in_pty(args)
    assert "PWNED" in shown or "2J" in shown                  # the message quotes the input
    assert TITLE not in shown and "\x1b]" not in shown and "\u009b" not in shown
    assert "\x07" not in shown


def test_json_strings_escape_c1_controls_and_del():
    from runjac import session
    s, out, _ = session()
    s.one("x\u0085\u009b\u007f")
    text = out.getvalue()
    assert not any(0x7F <= ord(ch) <= 0x9F for ch in text)
    assert "\\u009b" in text and "\\u007f" in text


# ------------------------------------------------------------------------ unbounded input

def test_a_million_character_expression_is_refused_before_parsing():
    from runjac import python_calls
    answers = []
    calls = python_calls(lambda: answers.append(one("x+" * 500000 + "x")))
    status, doc, _ = answers[0]
    assert status == 1 and doc["error"]["type"] == "unsupported"
    assert "at most 100000" in doc["error"]["message"]
    assert calls < 10 ** 4, calls           # parsing it would take millions


@pytest.mark.parametrize("binary", [False, True])
def test_an_over_long_batch_line_is_answered_and_the_batch_goes_on(binary):
    import io

    from runjac import session, strict_json
    s, out, err = session()
    text = "x*2\n" + "y" * 10 ** 6 + "\nsin(x)\n" + "+" * (5 * 10 ** 5) + "\n"
    stream = io.TextIOWrapper(io.BytesIO(text.encode())) if binary else io.StringIO(text)
    peak = peak_bytes(lambda: s.batch(stream))
    docs = [strict_json(x) for x in out.getvalue().splitlines()]
    assert [d.get("error", {}).get("type", "ok") for d in docs] == ["ok", "unsupported", "ok",
                                                                     "unsupported"]
    assert "longer than 100000 characters" in docs[1]["error"]["message"]
    assert len(docs[1]["expression"]) < 100
    assert peak < 4 * 10 ** 5 * 8, f"{peak} bytes"     # never the whole 10^6-character line


def test_dev_zero_on_stdin_stays_small():
    p = subprocess.Popen(jac_program() + ["-", "--json"], stdin=open("/dev/zero", "rb"),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        first = p.stdout.readline()                       # answered at once, then skipping
        assert b'"unsupported"' in first and b"longer than" in first
        for _ in range(3):                                # while it reads on, sample memory
            with open(f"/proc/{p.pid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            peak_kb = int(status["VmHWM"].split()[0])
            assert peak_kb < 150 * 1024, f"peak resident {peak_kb} kB"
            with pytest.raises(subprocess.TimeoutExpired):
                p.wait(timeout=0.5)                       # it is still reading /dev/zero
    finally:
        p.kill()
        p.wait()
        p.stdout.close()


# ------------------------------------------------------------------------ rendering stays polynomial

def _rendering_calls(text: str, **shapes) -> int:
    from io import StringIO

    from rich.console import Console

    from jaccli.api import compute
    from jaccli.inputs import parse_shape
    from jaccli.render import render_result
    from runjac import python_calls
    result = compute(text, shapes={n: parse_shape(s) for n, s in shapes.items()})
    out = StringIO()
    return python_calls(lambda: Console(file=out, width=100).print() or render_result(result, out))


@pytest.mark.parametrize("layer,shapes", [
    ("softmax({})", {"x": "3"}),
    ("tanh(W@{})", {"x": "3", "W": "3x3"}),
])
def test_terminal_rendering_work_grows_polynomially_with_depth(layer, shapes):
    def nested(depth):
        text = "x"
        for _ in range(depth):
            text = layer.format(text)
        return text
    _rendering_calls(nested(2), **shapes)                  # imports, outside the counts
    shallow, deep = _rendering_calls(nested(6), **shapes), _rendering_calls(nested(12), **shapes)
    assert deep <= 6 * shallow, (shallow, deep)            # 3^6 = 729 times when entries expand


# ------------------------------------------------------------------------ numbers nobody would see

SOFTMAX4 = "softmax(softmax(softmax(softmax(x))))"


def _softmax4_jacobian(x):
    """The chain rule by hand: J = Π (diag(s_k) - s_k s_kᵀ), outermost first."""
    layers, s = [], x
    for _ in range(4):
        e = np.exp(s - s.max())
        s = e / e.sum()
        layers.append(np.diag(s) - np.outer(s, s))
    out = np.eye(len(x))
    for jac in layers:
        out = jac @ out
    return out


def test_a_dense_jacobian_too_large_to_list_is_not_computed(tmp_path):
    x = np.linspace(-1, 1, 3000)              # 9 * 10^6 entries: 72 MB per dense matrix
    np.save(tmp_path / "x.npy", x)
    answers = []
    peak = peak_bytes(lambda: answers.append(one(SOFTMAX4, at=[f"x=@{tmp_path / 'x.npy'}"])))
    status, doc, _ = answers[0]
    assert status == 0
    j = doc["jacobians"][0]
    assert j["shape"] == [3000, 3000] and j["value"] is None and "--save" in j["note"]
    assert peak < 16 * MB, f"peak {peak / MB:.0f} MB"


def test_the_same_jacobian_is_computed_when_it_is_saved(tmp_path):
    x = np.linspace(-1, 1, 400)               # 1.6 * 10^5 entries: more than JSON lists
    save = tmp_path / "j.npz"
    status, doc, _ = one(SOFTMAX4, at=["x=" + ",".join(map(repr, x.tolist()))], save=str(save))
    assert status == 0 and doc["jacobians"][0]["value"] is None
    np.testing.assert_allclose(_archive(save)["x"], _softmax4_jacobian(x), atol=1e-15)


def test_the_terminal_says_why_a_large_jacobian_has_no_numbers():
    from runjac import session
    s, out, err = session(as_json=False, at=["x=" + ",".join(["0.5"] * 400)])
    assert s.one(SOFTMAX4) == 0
    assert "400x400 Jacobian with respect to x has too many entries to show" in err.getvalue()
    assert "--save" in err.getvalue()


# ------------------------------------------------------------------------ ambiguous input

@pytest.mark.parametrize("args", [
    ["x", "--shape", "x=3", "--shape", "x=4"],
    ["x", "--shape", "x=3", "--shape", "x=3"],
    ["x", "--at", "x=1", "--at", "x=2"],
    ["x", "--at=x=1", "--at", " x =2"],
    ["x", "--shape", "x=\u0663"],                       # an Arabic-Indic 3
    ["x", "--save", "a.npz", "--save=b.npz"],
    ["x", "--layout", "numerator", "--layout", "denominator"],
])
def test_ambiguous_or_impossible_declarations_are_command_line_errors(args):
    r = run_jac(args)
    assert r.returncode == 2 and b"Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("spec", ["x=2*n-3*n", "x=m,-n+0", "x=0"])
def test_a_size_that_could_be_zero_or_negative_is_a_shape_error(spec):
    """SPEC.md "Shapes": a size that could be zero or negative is a `shape` error (status 1)."""
    r = run_jac(["x", "--shape", spec, "--json"])
    assert r.returncode == 1 and b"Traceback" not in r.stderr, r.stderr
    assert json.loads(r.stdout)["error"]["type"] == "shape"


def test_a_shape_and_a_value_for_one_name_are_fine():
    r = run_jac(["x", "--shape", "x=3", "--at", "x=1,2,3", "--json"])
    assert r.returncode == 0


def test_a_value_for_a_name_not_in_the_expression_is_a_warning():
    status, doc, err = one("x*2", at=["x=1,2", "zz=3,4"])
    assert status == 0
    assert any("zz" in w and "does not appear" in w for w in doc["warnings"])
    status, doc, _ = one("x*2", at=["xx=1,2"])
    assert any("xx" in w and "did you mean 'x'" in w for w in doc["warnings"])


def test_a_size_symbol_that_is_also_a_variable_is_a_shape_error():
    status, doc, _ = one("x*n", shapes={"x": "n"})
    assert status == 1 and doc["error"]["type"] == "shape" and "n" in doc["error"]["message"]
    assert one("x*k", shapes={"x": "n"})[0] == 0


@pytest.mark.parametrize("text", ["x*\u0663", "x + \u0661.5", "\u0967*x", "x*\uff13", "2e\u0663*x"])
def test_digits_other_than_ascii_are_a_syntax_error(text):
    status, doc, _ = one(text)
    assert status == 1 and doc["error"]["type"] == "syntax", doc


def test_inline_values_take_ascii_digits_only():
    status, doc, _ = one("x", at=["x=\u0663,\u0661"])
    assert status == 1 and doc["error"]["type"] == "value"


@pytest.mark.parametrize("text,names", [
    ("x*\u0445", ("x", "\u0445")),                       # Latin x, Cyrillic ha
    ("\u0391 @ a + A @ a", ("A", "\u0391")),              # Latin A, Greek Alpha (matrices)
    ("sum(p) + sum(\u0440)", ("p", "\u0440")),
])
def test_names_that_look_alike_are_a_warning(text, names):
    status, doc, _ = one(text)
    assert status == 0
    warned = [w for w in doc.get("warnings", []) if "look alike" in w]
    assert len(warned) == 1 and all(f"'{n}'" in warned[0] for n in names)


def test_distinct_looking_names_are_not_a_warning():
    status, doc, _ = one("x*y + θ*\u03c6")
    assert "warnings" not in doc


def test_a_matrix_alone_is_not_silently_skipped():
    status, doc, err = one("sum(W)")
    assert status == 0 and doc["jacobians"] == []
    assert any("--wrt W" in w for w in doc["warnings"]) and "--wrt W" in err
    assert "warnings" not in one("sum(W @ x)")[1]           # x is differentiated: no warning


# ------------------------------------------------------------------------ more sizes than letters

@pytest.mark.parametrize("text,wrt", [
    ("+".join(f"sum(v{i})" for i in range(40)), None),
    ("x", [",".join(f"a{i}" for i in range(30))]),
])
def test_more_independent_sizes_than_letters_get_names_of_their_own(text, wrt):
    """Past the single letters jac names sizes n1, m1, ... (never a variable's name)."""
    from runjac import check_answer
    status, doc, err = one(text, wrt=wrt)
    assert status == 0 and check_answer(doc, err) == "ok"
    shapes = [v["shape"][0] for v in doc["variables"].values() if v["shape"]]
    assert len(set(shapes)) == len(shapes) and not set(shapes) & set(doc["variables"])


def test_save_through_a_symbolic_link_replaces_the_file_it_points_at(tmp_path):
    (tmp_path / "real").mkdir()
    _good_archive(tmp_path / "real" / "a.npz")
    (tmp_path / "link.npz").symlink_to(tmp_path / "real" / "a.npz")
    assert run_jac(["x*2", "--at", "x=1", "--save", str(tmp_path / "link.npz")]).returncode == 0
    assert os.path.islink(tmp_path / "link.npz")
    assert _archive(tmp_path / "real" / "a.npz") == {"x": [[2.0]]}
    assert _leftovers(tmp_path / "real") == []


def test_save_to_a_long_file_name(tmp_path):
    target = tmp_path / ("j" * 246 + ".npz")       # 250 characters: NAME_MAX is 255
    assert run_jac(["x*2", "--at", "x=1", "--save", str(target)]).returncode == 0
    assert "x" in _archive(target)
