"""Hostile input and hostile conditions (issue 8): every size bounded before the work is
done, every write atomic or refused, every failure one line with a documented status.

Real conditions where they matter: /dev/zero and /dev/full, a real signal sent to a
subprocess, a pty for what reaches a terminal. Work is counted (calls, tracemalloc peaks),
never timed.
"""
from __future__ import annotations

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


def test_inline_and_npy_values_have_the_same_cap(tmp_path, small_cap):
    np.save(tmp_path / "v.npy", np.zeros(small_cap + 1))
    for at in (f"x=@{tmp_path / 'v.npy'}", "x=" + ",".join(["1"] * (small_cap + 1)),
               "x=[" + ",".join(["1"] * (small_cap + 1)) + "]"):
        status, doc, _ = one("sum(x)", at=[at])
        assert status == 1 and f"at most {small_cap}" in doc["error"]["message"], at
    np.save(tmp_path / "ok.npy", np.zeros(small_cap))
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
