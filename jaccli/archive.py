"""`--save FILE.npz`: a NumPy archive written atomically.

Arrays go, as they are computed, into a temporary file beside the target (same directory,
so the final rename stays on one file system); `commit` renames it over the target in
one step. Until then the old archive is untouched: a full disk, `ulimit -f`, Ctrl-C or
SIGTERM leave either the old archive or the new complete one, never a torn file, and
`discard` removes the temporary file. Arrays are written one at a time into the zip, so
a batch of many lines never holds more than one line's numbers in memory.

The zip is written here, not through `zipfile`: its entries are stored (as numpy.savez
stores them) with ZIP64 sizes, each array straight from its own memory with no copy, and
a run with --save imports neither zipfile nor tempfile (a tenth of a one-shot run's time).
"""
from __future__ import annotations

import os
import stat

from .errors import ValueProblem
from .report import shown


def check_name(path: str) -> str:
    """The `--save` argument as given, or ValueError (a command-line error) saying why."""
    if not path:
        raise ValueError("--save needs a file name ending in .npz, e.g. --save out.npz")
    if not path.lower().endswith(".npz") or os.path.basename(path).lower() == ".npz":
        raise ValueError(f"{shown(path)} does not end in .npz: jac writes exactly the file "
                         "named, a NumPy archive, e.g. --save out.npz")
    return path


def check_target(path: str) -> None:
    """A target that exists must be a regular file (not a device, a FIFO, a directory)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as e:
        raise ValueProblem(f"cannot write {shown(path)}: {e.strerror or e}") from None
    if not stat.S_ISREG(mode):
        what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise ValueProblem(f"cannot write {shown(path)}: it exists and is {what}",
                           hint="name a new file or an existing .npz archive")


class Archive:
    def __init__(self, path: str):
        self.path = path
        self._file = None      # the temporary file, open
        self._entries = None   # (name, crc, size, offset) of each entry written
        self._temp = None
        self._real = path     # the file replaced: `path`, or where its symbolic link points
        self._written_back = 0    # the disk has been asked for the bytes before this offset

    def _fail(self, e: OSError) -> ValueProblem:
        self.discard()
        return ValueProblem(f"cannot write {shown(self.path)}: {e.strerror or e}")

    def _open(self) -> None:
        check_target(self.path)
        # Through a symbolic link, the file it points at is replaced (as writing in place
        # would), not the link.
        self._real = os.path.realpath(self.path)
        folder, name = os.path.split(self._real)
        try:   # the name is cut so that the temporary one stays within NAME_MAX
            fd, self._temp = _create_beside(folder, f".{name[:64]}.")
            self._file = os.fdopen(fd, "wb")
        except OSError as e:
            raise self._fail(e) from None
        self._entries = []
        self._written_back = 0

    def _start_writeback(self) -> None:
        """Ask the system to start writing what is in its cache to the disk, a few MB at a
        time, while the rest is made: commit's fsync then waits for the last few MB, not
        for the whole archive (about 30% less time for 72 MB). Advice only: it changes
        nothing that is written."""
        end = self._file.tell()
        if end - self._written_back < WRITEBACK or not hasattr(os, "posix_fadvise"):
            return
        self._file.flush()
        try:    # DONTNEED starts the writing; pages still being written stay in the cache
            os.posix_fadvise(self._file.fileno(), self._written_back, end - self._written_back,
                             os.POSIX_FADV_DONTNEED)
        except OSError:
            pass
        self._written_back = end

    def add(self, key: str, array) -> None:
        """One array under `key` (np.load's name for it), in the .npy format. `array` is an
        ndarray, or numbers made a block of rows at a time (an object with `shape`,
        `row_blocks()` and `fortran`, as evaluate's factored products are), written as they
        are made."""
        import io
        import zlib

        import numpy as np
        if self._file is None:
            self._open()
        if hasattr(array, "row_blocks"):     # rows of its transpose when it says `fortran`
            shape, fortran = tuple(array.shape), bool(getattr(array, "fortran", False))
            blocks = array.row_blocks()
        else:
            array = np.asarray(array, dtype=float)
            shape, fortran, blocks = array.shape, _fortran(array), _blocks(array)
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(head, {"descr": np.lib.format.dtype_to_descr(
            np.dtype(float)), "fortran_order": fortran, "shape": shape})
        head = head.getvalue()
        name = (key + ".npy").encode()
        size = len(head) + 8 * _count(shape)
        local = _local_header(name, 0, size)
        try:
            offset = self._file.tell()
            self._file.write(local)
            self._file.write(head)
            crc = zlib.crc32(head)
            for block in blocks:
                if not block.size:
                    continue
                data = memoryview(block.reshape(-1)).cast("B")
                for start in range(0, data.nbytes, PIECE):    # checked while in the cache
                    piece = data[start:start + PIECE]
                    crc = zlib.crc32(piece, crc)
                    self._file.write(piece)
                    self._start_writeback()
            end = self._file.tell()
            if end - offset - len(local) != size:
                raise AssertionError(f"{key}: {end - offset - len(local)} bytes for {size}")
            self._file.seek(offset + _CRC_AT)      # the checksum is known at the end
            self._file.write(crc.to_bytes(4, "little"))
            self._file.seek(end)
        except OSError as e:
            raise self._fail(e) from None
        self._entries.append((name, crc, size, offset))

    def commit(self) -> None:
        """Replace the target with the complete archive (an empty one if nothing was added)."""
        if self._file is None:
            self._open()
        try:
            self._file.write(_directory(self._entries, self._file.tell()))
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.chmod(self._temp, _mode_for(self._real))
            check_target(self._real)
            os.replace(self._temp, self._real)
        except OSError as e:
            raise self._fail(e) from None
        self._file = self._temp = self._entries = None

    def discard(self) -> None:
        """Drop the temporary file; the target stays as it was."""
        try:
            if self._file is not None:
                self._file.close()
        except (OSError, ValueError):
            pass
        if self._temp is not None:
            try:
                os.unlink(self._temp)
            except OSError:
                pass
        self._file = self._temp = self._entries = None


# Data is checksummed and written this many bytes at a time; a non-contiguous array (a
# broadcast diagonal) is copied out this many numbers at a time.
PIECE = 1 << 20
WRITEBACK = 8 << 20
BLOCK = 1 << 17


def _count(shape) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _fortran(array) -> bool:
    """Whether the numbers go in column order (as np.save writes a transposed array)."""
    return array.flags.f_contiguous and not array.flags.c_contiguous


def _blocks(array):
    """`array` in the order its .npy header states, as contiguous arrays: the array itself
    (or its transpose) when it is contiguous, so a 400 MB Jacobian is written without a
    second copy of it (NumPy's own writer copies the data of a zip entry out with tobytes)."""
    import numpy as np
    if array.flags.c_contiguous:
        yield array
    elif _fortran(array):
        yield array.T
    else:
        for row in (array.reshape(1, -1) if array.ndim == 1 else array):
            for start in range(0, row.size, BLOCK):
                yield np.ascontiguousarray(row[start:start + BLOCK])


def _create_beside(folder: str, prefix: str) -> tuple[int, str]:
    """A new private file PREFIX<random>.part in `folder`, open for writing: (fd, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | \
        getattr(os, "O_BINARY", 0)
    for _ in range(100):
        path = os.path.join(folder, f"{prefix}{os.urandom(6).hex()}.part")
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


# The zip format (PKWARE's APPNOTE): stored entries, every size and offset in ZIP64 fields.
_VERSION = 45            # ZIP64
_MADE_BY = 3 << 8 | _VERSION   # Unix
_UTF8_NAME = 0x800       # general purpose flag: the name is UTF-8
_FULL32, _FULL16 = 0xFFFFFFFF, 0xFFFF     # "the value is in the ZIP64 field"
_ENTRY_MODE = 0o100600 << 16              # a regular file, rw-------


def _dos_time() -> tuple[int, int]:
    import time
    t = time.localtime()
    return (t.tm_hour << 11 | t.tm_min << 5 | t.tm_sec // 2,
            max(t.tm_year - 1980, 0) << 9 | t.tm_mon << 5 | t.tm_mday)


def _flags(name: bytes) -> int:
    return 0 if name.isascii() else _UTF8_NAME


_CRC_AT = 14     # where the checksum sits in a local header


def _local_header(name: bytes, crc: int, size: int) -> bytes:
    import struct
    clock, day = _dos_time()
    extra = struct.pack("<HHQQ", 1, 16, size, size)
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, _VERSION, _flags(name), 0, clock, day, crc,
                       _FULL32, _FULL32, len(name), len(extra)) + name + extra


def _directory(entries, start: int, zip64: bool | None = None) -> bytes:
    """The central directory, beginning at offset `start`, and the end records: ZIP64 ones
    too when the counts or offsets need them (`zip64`: whether to write them anyway). An
    empty archive is its last end record alone, which np.load knows for a zip."""
    import struct
    clock, day = _dos_time()
    parts = []
    for name, crc, size, offset in entries:
        extra = struct.pack("<HHQQQ", 1, 24, size, size, offset)
        parts.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _MADE_BY, _VERSION,
                                 _flags(name), 0, clock, day, crc, _FULL32, _FULL32, len(name),
                                 len(extra), 0, 0, 0, _ENTRY_MODE, _FULL32) + name + extra)
    directory = b"".join(parts)
    count, end = len(entries), start + len(directory)
    if zip64 is None:
        zip64 = count >= _FULL16 or end >= _FULL32
    last = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, _FULL16), min(count, _FULL16),
                       min(len(directory), _FULL32), min(start, _FULL32), 0)
    if not zip64:
        return directory + last
    zip64_end = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _MADE_BY, _VERSION, 0, 0, count,
                            count, len(directory), start)
    locator = struct.pack("<IIQI", 0x07064B50, 0, end, 1)
    return directory + zip64_end + locator + last


def _mode_for(path: str) -> int:
    """The permissions the archive would have had if written in place: the old file's, or
    the usual 0666 less the umask (mkstemp makes its files private)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
