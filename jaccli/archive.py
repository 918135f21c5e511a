"""`--save FILE.npz`: a NumPy archive written atomically.

Arrays go, as they are computed, into a temporary file beside the target (same directory,
so the final rename stays on one file system); `commit` renames it over the target in
one step. Until then the old archive is untouched: a full disk, `ulimit -f`, Ctrl-C or
SIGTERM leave either the old archive or the new complete one, never a torn file, and
`discard` removes the temporary file. Arrays are written one at a time into the zip, so
a batch of many lines never holds more than one line's numbers in memory.
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
        self._zip = None
        self._temp = None
        self._real = path     # the file replaced: `path`, or where its symbolic link points

    def _fail(self, e: OSError) -> ValueProblem:
        self.discard()
        return ValueProblem(f"cannot write {shown(self.path)}: {e.strerror or e}")

    def _open(self) -> None:
        import tempfile
        import zipfile
        check_target(self.path)
        # Through a symbolic link, the file it points at is replaced (as writing in place
        # would), not the link.
        self._real = os.path.realpath(self.path)
        folder, name = os.path.split(self._real)
        try:   # the name is cut so that the temporary one stays within NAME_MAX
            fd, self._temp = tempfile.mkstemp(dir=folder, prefix=f".{name[:64]}.", suffix=".part")
            self._file = os.fdopen(fd, "w+b")
            self._zip = zipfile.ZipFile(self._file, "w", zipfile.ZIP_STORED, allowZip64=True)
        except OSError as e:
            raise self._fail(e) from None

    def add(self, key: str, array) -> None:
        """One array under `key` (np.load's name for it)."""
        import numpy as np
        if self._zip is None:
            self._open()
        try:
            with self._zip.open(key + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)
        except OSError as e:
            raise self._fail(e) from None

    def commit(self) -> None:
        """Replace the target with the complete archive (an empty one if nothing was added)."""
        if self._zip is None:
            self._open()
        try:
            self._zip.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.chmod(self._temp, _mode_for(self._real))
            check_target(self._real)
            os.replace(self._temp, self._real)
        except OSError as e:
            raise self._fail(e) from None
        self._zip = self._file = self._temp = None

    def discard(self) -> None:
        """Drop the temporary file; the target stays as it was."""
        for close in (self._zip, self._file):
            try:
                if close is not None:
                    close.close()
            except (OSError, ValueError):
                pass
        if self._temp is not None:
            try:
                os.unlink(self._temp)
            except OSError:
                pass
        self._zip = self._file = self._temp = None


def _mode_for(path: str) -> int:
    """The permissions the archive would have had if written in place: the old file's, or
    the usual 0666 less the umask (mkstemp makes its files private)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
