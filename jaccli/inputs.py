"""What the user gives besides the expression: `--shape` specs, `--at` values (inline or
`@FILE`), and `--wrt` lists. Shape specs need no NumPy; values import it when they are read.
"""
from __future__ import annotations

import json
import os
import re

from . import sizes
from .errors import ValueProblem

NAME = re.compile(r"^[^\W\d_]\w*$")


def split_assignment(text: str, option: str) -> tuple[str, str]:
    """'x=3' -> ('x', '3'); ValueError with a message for click otherwise."""
    if "=" not in text:
        raise ValueError(f"expected NAME=VALUE, got {text!r} (e.g. {option} x=...)")
    name, _, rest = text.partition("=")
    name = name.strip()
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not a variable name")
    return name, rest.strip()


def parse_shape(spec: str) -> tuple:
    """`scalar`, `N`, `MxN`, `M,N` (integers, symbols, or size expressions such as 2*n).

    Whether the sizes are positive is a question about the expression's shapes, answered
    by shape inference (a `shape` error), not a malformed option."""
    spec = spec.strip()
    if spec.lower() == "scalar":
        return ()
    if not spec:
        raise ValueError("empty shape: use scalar, N, MxN or M,N")
    if _foreign_digit(spec):
        raise ValueError(f"{spec!r}: write sizes with the ASCII digits 0-9")
    product = re.fullmatch(r"(\d+)\s*[x×]\s*(\d+)", spec)
    parts = list(product.groups()) if product else spec.split(",")
    if len(parts) > 2:
        raise ValueError(f"{spec!r}: jac handles scalars, vectors and matrices (at most 2 dimensions)")
    try:
        return tuple(sizes.parse(p) for p in parts)
    except ValueError as e:
        raise ValueError(f"{spec!r} is not a shape ({e}); use scalar, N, MxN or M,N "
                         "(sizes are numbers, names such as n or batch, or 2*n, n+m)") from None


def check_once(assignments, option: str) -> None:
    """SPEC.md: giving `--at` or `--shape` twice for one name is a command-line error."""
    seen = set()
    for name, _ in assignments:
        if name in seen:
            raise ValueError(f"{option} {name}=... is given twice; give each name once")
        seen.add(name)


def _foreign_digit(text: str) -> bool:
    """A digit that is not 0-9 (SPEC.md: numbers are written in ASCII digits)."""
    return not text.isascii() and any(ch.isdigit() and not ch.isascii() for ch in text)


def parse_wrt(items) -> list[list[str]]:
    out = []
    for item in items:
        names = [n.strip() for n in item.split(",")]
        if not all(NAME.match(n) for n in names):
            raise ValueError(f"--wrt {item!r}: expected NAME or NAME,NAME,...")
        out.append(names)
    return out


_INFINITY = re.compile(r"(?i)(?<![\w.])[+-]?inf(inity)?\b")   # inf, -Infinity: JSON's words
_NAN = re.compile(r"(?i)\bnan\b")

# The most numbers one value may hold (80 MB of float64), for every way of giving it as
# text: a text or JSON file (counted while it is read), or inline numbers.
MAX_VALUE_ENTRIES = 10 ** 7
# A .npy file's size is in its header, checked before anything is allocated, and it is read
# straight into one array: it may hold ten times as many (800 MB; a 4096 x 4096 layer is
# 1.7·10^7 numbers).
NPY_ENTRIES_PER_TEXT_ENTRY = 10
# A JSON value is parsed whole: its text may take at most this much (a number and a comma
# take at least 2 bytes; the count is checked again before parsing).
MAX_JSON_BYTES = 32 * MAX_VALUE_ENTRIES
CHUNK = 1 << 20     # files are read a MB at a time, never a whole cap at once
NPY_MAGIC = b"\x93NUMPY"


def _json_numbers(text: str, where: str):
    """JSON (plus nan, inf) as nested lists of numbers; ValueProblem for anything else."""
    def inf(m):
        return "-Infinity" if m.group(0).startswith("-") else "Infinity"
    if text.count(",") >= MAX_VALUE_ENTRIES:     # too many numbers: refused before parsing
        raise _too_many(where)
    text = _NAN.sub("NaN", _INFINITY.sub(inf, text))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueProblem(f"{where} is not valid JSON ({e.msg}, line {e.lineno} column {e.colno})",
                           hint="write numbers in brackets: [1, 2, 3] or [[1, 2], [3, 4]]") from None
    except RecursionError:
        raise ValueProblem(f"{where} nests brackets too deeply; jac takes scalars, vectors "
                           "and matrices") from None
    _only_numbers(data, where)
    return data


def _too_many(where: str, cap: int | None = None) -> ValueProblem:
    cap = cap or MAX_VALUE_ENTRIES
    return ValueProblem(f"{where} holds more than {cap} numbers; jac takes at most {cap} per "
                        "value" + (" (10 times as many from a .npy file)" if cap ==
                                   MAX_VALUE_ENTRIES else ""), hint="use smaller values")


def _only_numbers(data, where: str) -> None:
    """Every leaf a number (not true/false, null or a string); lists nested at most twice."""
    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list):
            if depth >= 2:
                raise ValueProblem(f"{where} has more than 2 dimensions; jac takes scalars, "
                                   "vectors and matrices")
            stack.extend((x, depth + 1) for x in item)
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            shown = json.dumps(item)[:30]
            raise ValueProblem(f"{where} holds {shown}, which is not a number")


def parse_value(text: str, name: str):
    """A value as given to `--at`: a number, `1,2,3`, `[..]`, `[[..],[..]]` or `@FILE`."""
    text = text.strip()
    if text.startswith("@"):
        return read_value_file(text[1:], name)
    where = f"the value of {name}"
    if not text:
        raise ValueProblem(f"--at {name}= has no value", hint=f"e.g. --at {name}=1,2,3")
    if text.startswith("["):
        return as_array(_json_numbers(text, where), where)
    if text.count(",") >= MAX_VALUE_ENTRIES:
        raise _too_many(where)
    if _foreign_digit(text):      # float() would read the Arabic-Indic ٣ as 3
        raise ValueProblem(f"cannot read {where}: {text[:60]!r} (write numbers with the "
                           "ASCII digits 0-9)")
    try:
        data = [float(p) for p in text.split(",")]
    except ValueError:
        raise ValueProblem(f"cannot read {where}: {text[:60]!r}",
                           hint="write a number, 1,2,3, [1,2,3] or [[1,2],[3,4]], or @FILE") from None
    return as_array(data[0] if len(data) == 1 and "," not in text else data, where)


def as_array(data, where: str):
    import numpy as np

    try:
        a = np.asarray(data, dtype=float)   # a float array read from a file is not copied again
    except (ValueError, TypeError):
        raise ValueProblem(f"{where} is not a rectangular array of numbers "
                           f"(ragged rows, or entries that are not numbers)") from None
    if a.ndim > 2:
        raise ValueProblem(f"{where} has {a.ndim} dimensions; jac takes scalars, vectors and matrices")
    if a.size == 0:
        raise ValueProblem(f"{where} is empty")
    return a


def read_value_file(path: str, name: str):
    """`--at NAME=@FILE`: .npy, .json, or text. Anything else is a ValueProblem naming it."""
    path = os.path.expanduser(path)
    where = f"the file {path!r} (value of {name})"
    if not path:
        raise ValueProblem(f"--at {name}=@ names no file", hint=f"e.g. --at {name}=@values.npy")
    if os.path.isdir(path):
        raise ValueProblem(f"cannot read {where}: it is a directory")
    if not os.path.exists(path):       # a pipe such as <(seq 3) is fine: it exists
        raise ValueProblem(f"cannot read {where}: no such file")
    try:
        if path.endswith(".npy"):
            return as_array(_read_npy(path, where), where)
        with open(path, "rb") as f:
            head = f.read(len(NPY_MAGIC))
            if head.startswith(NPY_MAGIC):
                raise ValueProblem(f"{where} is a .npy file: name it FILE.npy")
            if path.endswith(".json"):
                text = _decoded(head + _read_capped(f, MAX_JSON_BYTES - len(head), where), where)
                return as_array(_json_numbers(text, where), where)
            return as_array(_text_numbers(head, f, where), where)
    except OSError as e:
        raise ValueProblem(f"cannot read {where}: {e.strerror or e}") from None


def _read_capped(f, limit: int, where: str) -> bytes:
    """At most `limit` bytes, read a chunk at a time (nothing is allocated up front), with
    NUL bytes refused as they arrive: `@/dev/zero` ends after the first chunk."""
    chunks, size = [], 0
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            return b"".join(chunks)
        if b"\x00" in chunk:
            raise ValueProblem(f"{where} is not text, .npy or .json")
        size += len(chunk)
        if size > limit:
            raise ValueProblem(f"{where} is too large for a JSON value (more than "
                               f"{limit // 2 ** 20} MB)", hint="save large values with numpy.save as .npy")
        chunks.append(chunk)


def _decoded(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueProblem(f"{where} is not text, .npy or .json") from None


def _read_npy(path: str, where: str):
    """A .npy array, checked before anything is allocated: memory-mapping validates the
    header against the file's size, so a header that promises 10^12 numbers is an error,
    not an attempt to allocate them."""
    import numpy as np

    with open(path, "rb") as f:
        if f.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise ValueProblem(f"{where} is not a .npy file (it does not start with the "
                               "NumPy header)", hint="write it with numpy.save")
    try:
        a = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError, OSError) as e:
        if "mmap length" in str(e):
            raise ValueProblem(f"{where} is truncated: its header promises more numbers than "
                               "the file holds") from None
        raise ValueProblem(f"{where} is not a valid .npy file ({_short(str(e))})") from None
    if a.dtype.kind not in "biuf":
        raise ValueProblem(f"{where} holds {a.dtype} data, not numbers")
    if a.ndim > 2:
        raise ValueProblem(f"{where} has {a.ndim} dimensions; jac takes scalars, vectors and matrices")
    if a.size > NPY_ENTRIES_PER_TEXT_ENTRY * MAX_VALUE_ENTRIES:
        raise _too_many(where, NPY_ENTRIES_PER_TEXT_ENTRY * MAX_VALUE_ENTRIES)
    return _npy_numbers(path, a, where)


def _npy_numbers(path: str, mapped, where: str):
    """The numbers of a checked .npy file (`mapped`: its memory map, whose data is never
    touched) as one array, read from the file straight into it. Copying out of the map would
    bring every page of the file into the process too, doubling its peak memory."""
    import numpy as np

    fortran = mapped.flags.f_contiguous and not mapped.flags.c_contiguous
    flat = np.empty(mapped.size, dtype=mapped.dtype)
    with open(path, "rb") as f:
        f.seek(mapped.offset)
        if f.readinto(memoryview(flat).cast("B")) != flat.nbytes:
            raise ValueProblem(f"{where} is truncated: its header promises more numbers than "
                               "the file holds")
    data = flat.reshape(mapped.shape, order="F" if fortran else "C")
    return data.astype(float, copy=False)


def _short(text: str) -> str:
    return text if len(text) <= 100 else text[:97] + "..."


# A number, a '#' (the rest of the line is a comment) or a line break, in a text file.
_TEXT_TOKEN = re.compile(rb"[^\s,#]+|#|\n")
_SEPARATOR = re.compile(rb"[\s,][^\s,]*\Z")      # the last separator in a chunk
_LONGEST_NUMBER = 400                            # characters; longer is not a number


def _text_numbers(head: bytes, f, where: str):
    """Rows of numbers from a text file, read a chunk at a time and counted as they are
    read: the file is refused as soon as it holds more than MAX_VALUE_ENTRIES numbers, so
    neither its size nor a line's length decides how much memory jac takes."""
    from array import array

    rows, row = [], array("d")
    state = {"count": 0, "line": 1, "comment": False}

    def take(data: bytes) -> None:
        nonlocal row
        for m in _TEXT_TOKEN.finditer(data):
            token = m.group()
            if token == b"\n":
                if row:
                    rows.append(row)
                    row = array("d")
                state["comment"] = False
                state["line"] += 1
            elif state["comment"]:
                continue
            elif token == b"#":
                state["comment"] = True
            else:
                try:
                    row.append(float(token))
                except ValueError:
                    shown = token[:40].decode("utf-8", "replace")
                    raise ValueProblem(f"{where}: line {state['line']} holds {shown!r}, which is "
                                       "not a number (each row must be numbers only)") from None
                state["count"] += 1
                if state["count"] > MAX_VALUE_ENTRIES:
                    raise _too_many(where)

    carry = b""
    chunk = head + f.read(CHUNK)
    chunk = chunk.removeprefix(b"\xef\xbb\xbf")
    while chunk:
        if b"\x00" in chunk:
            raise ValueProblem(f"{where} is not text, .npy or .json")
        data = carry + chunk
        last = _SEPARATOR.search(data)          # an unfinished number waits for the next chunk
        cut = last.start() + 1 if last else 0
        take(data[:cut])
        carry = data[cut:]
        if state["comment"]:
            carry = b""                         # the rest of a word in a comment
        elif b"#" in carry:
            take(carry[:carry.index(b"#") + 1])
            carry = b""
        elif len(carry) > _LONGEST_NUMBER:
            raise ValueProblem(f"{where}: line {state['line']} holds "
                               f"{carry[:20].decode('utf-8', 'replace')!r}..., which is not a number")
        chunk = f.read(CHUNK)
    take(carry)
    if row:
        rows.append(row)
    if not rows:
        raise ValueProblem(f"{where} is empty")
    if len(rows) == 1:
        return rows[0]
    if all(len(r) == 1 for r in rows):
        return [r[0] for r in rows]
    if len({len(r) for r in rows}) > 1:
        raise ValueProblem(f"{where} has ragged rows ({', '.join(str(len(r)) for r in rows[:5])} numbers)")
    return rows
