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
    product = re.fullmatch(r"(\d+)\s*[x×]\s*(\d+)", spec)
    parts = list(product.groups()) if product else spec.split(",")
    if len(parts) > 2:
        raise ValueError(f"{spec!r}: jac handles scalars, vectors and matrices (at most 2 dimensions)")
    try:
        return tuple(sizes.parse(p) for p in parts)
    except ValueError as e:
        raise ValueError(f"{spec!r} is not a shape ({e}); use scalar, N, MxN or M,N "
                         "(sizes are numbers, names such as n or batch, or 2*n, n+m)") from None


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

# The most numbers one value may hold (400 MB of float64), so a file cannot exhaust memory.
MAX_VALUE_ENTRIES = 5 * 10 ** 7
NPY_MAGIC = b"\x93NUMPY"


def _json_numbers(text: str, where: str):
    """JSON (plus nan, inf) as nested lists of numbers; ValueProblem for anything else."""
    def inf(m):
        return "-Infinity" if m.group(0).startswith("-") else "Infinity"
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
            raw = f.read(8 * MAX_VALUE_ENTRIES + 1)
        if len(raw) > 8 * MAX_VALUE_ENTRIES:
            raise ValueProblem(f"{where} is too large for a text or JSON value",
                               hint="save large values with numpy.save as .npy")
        if raw.startswith(NPY_MAGIC):
            raise ValueProblem(f"{where} is a .npy file: name it FILE.npy")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueProblem(f"{where} is not text, .npy or .json") from None
        if "\x00" in text:
            raise ValueProblem(f"{where} is not text, .npy or .json")
        if path.endswith(".json"):
            return as_array(_json_numbers(text, where), where)
        return as_array(_text_numbers(text, where), where)
    except OSError as e:
        raise ValueProblem(f"cannot read {where}: {e.strerror or e}") from None


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
    if a.size > MAX_VALUE_ENTRIES:
        raise ValueProblem(f"{where} holds {a.size} numbers; jac takes at most {MAX_VALUE_ENTRIES}")
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


def _text_numbers(text: str, where: str):
    rows = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            rows.append([float(p) for p in re.split(r"[,\s]+", line) if p])
        except ValueError:
            raise ValueProblem(f"{where}: {line[:40]!r} is not a row of numbers") from None
    if not rows:
        raise ValueProblem(f"{where} is empty")
    if len(rows) == 1:
        return rows[0]
    if all(len(r) == 1 for r in rows):
        return [r[0] for r in rows]
    if len({len(r) for r in rows}) > 1:
        raise ValueProblem(f"{where} has ragged rows ({', '.join(str(len(r)) for r in rows[:5])} numbers)")
    return rows
