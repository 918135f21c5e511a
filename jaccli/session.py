"""One run of jac: the options shared by every expression, then one expression or a batch.

Owns the path from a `Result` to the user's screen or pipe: JSON documents on stdout,
messages and warnings on stderr, the Rich rendering (imported only when used), `--save`,
and exit statuses (0 fine, 1 a bad expression or value, 130 interrupted).

Every expression gets an answer: a result, or an error of one of SPEC.md's types. Input
too deep or too large for Python (RecursionError, MemoryError) is `unsupported`; so is,
as a last resort, a bug in jac, reported on that line as an internal error so that a batch
goes on with the next line. A reader that goes away (`jac - | head -1`) ends the run
quietly; Ctrl-C ends it with status 130. A failure to write stdout (a full disk) ends it
with one line on stderr and status 1.

`--save` goes through `archive.Archive`: one archive per run (batch mode: keys
`<line>/<wrt>`), committed when the run ends normally and discarded otherwise, so the old
file stays until a complete new one replaces it.
"""
from __future__ import annotations

import gc
import os
import sys

from .errors import JacError, Unsupported

INTERRUPTED = 130   # 128 + SIGINT, what shells report for Ctrl-C
INTERNAL = "internal error"


def run(expression: str, **options) -> int:
    """A command line's work, its exit status: one expression, or a batch from stdin for '-'.
    `options` are the Session's."""
    session = Session(**options)
    return session.batch(sys.stdin) if expression == "-" else session.one(expression)


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C does, so a --save archive being written is discarded
    (the old one kept) instead of leaving its temporary file behind."""
    import signal

    def terminated(signum, frame):
        raise SystemExit(128 + signum)
    try:
        signal.signal(signal.SIGTERM, terminated)
    except (ValueError, OSError):   # not the main thread: leave the default
        pass


def tolerate_unprintable_output() -> None:
    """Under a locale that cannot encode an expression's characters, print '?' for them
    rather than fail while writing the answer."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="replace")


class Session:
    def __init__(self, *, wrt, shapes, at, layout, as_json, save, out=None, err=None,
                 steps=False, check=False, hessian=None, latex=False, emit=None):
        self.wrt, self.shapes, self.layout = wrt, shapes, layout
        self.steps, self.check, self.hessian = steps, check, hessian
        self.latex, self.emit_as = latex, emit
        self.as_json, self.save = as_json, save
        self.at = at
        # A closed stream (`jac x >&-`) is None: write to nowhere rather than fail.
        self.out = _Output(out or sys.stdout or open(os.devnull, "w"))
        self.err = err or sys.stderr or open(os.devnull, "w")
        self._values = None
        self.failed = False
        self.archive = None     # the open --save archive, while a run writes it
        self._key = ""          # the archive key's prefix: "<line>/" in batch mode
        self.in_batch = False   # expressions share the options: unused ones are not news

    # -- values are read once, for every expression --------------------------------------
    def values(self) -> dict:
        if self._values is None:
            from .inputs import parse_value
            self._values = {name: parse_value(text, name) for name, text in self.at}
        return self._values

    def compute(self, expression: str):
        from .api import compute
        return compute(expression, wrt=self.wrt, shapes=self.shapes,
                       values=self.values() if self.at else None, layout=self.layout,
                       hessian=self.hessian, steps=self.steps, check=self.check,
                       all_numbers=bool(self.save), shared=self.in_batch)

    # -- one expression, or one per line -----------------------------------------------------
    def one(self, expression: str) -> int:
        status = self._run(lambda: self.answer(expression), batch=False)
        return status or (1 if self.failed else 0)     # a failed --check is status 1

    def batch(self, lines) -> int:
        """One expression per line; blank and '#' lines skipped; a bad line is reported and
        the rest go on; status 1 if any line failed. With --save, one archive for them all."""
        return self._run(lambda: self._batch(lines), batch=True)

    def _run(self, work, *, batch: bool) -> int:
        """`work` with the --save archive around it: committed when the run ends normally,
        discarded (the old file kept) when it is interrupted, killed or fails to write."""
        if self.save:
            from .archive import Archive, check_target
            try:
                check_target(self.save)     # before any work: a device, a directory
            except JacError as e:
                self.report_error(e, None)
                return 1
            self.archive = Archive(self.save)
        self.in_batch = batch
        try:
            status = work()
            if self.archive is not None and batch:
                self.archive.commit()
            self.out.flush()
            return status
        except BrokenPipeError:
            quiet_broken_pipe()
            return 1 if self.failed else 0
        except OutputFailed as e:
            output_failed(e.error)
            return 1
        except KeyboardInterrupt:
            self._say("\n")
            return INTERRUPTED
        except _ArchiveFailed as e:
            self.report_error(e.error, None)
            return 1
        except JacError as e:     # the batch's archive could not be completed
            self.report_error(e, None)
            return 1
        finally:
            if self.archive is not None:
                self.archive.discard()

    def _batch(self, lines) -> int:
        shown = False          # a rendering is on stdout: the next one starts after a blank line
        for number, (raw, too_long) in enumerate(_bounded_lines(lines), 1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            self._key = f"{number}/"
            if not self.as_json and shown:
                self.out.write("\n")
            if too_long:
                self.failed, shown = True, False
                self.report_error(_too_long(), line[:80] + "…")
            else:
                shown = self.answer(line) == 0
            self.out.flush()
        return 1 if self.failed else 0

    def answer(self, expression: str) -> int:
        """Compute and write one expression's result or error; 0 or 1."""
        expression = _without_surrogates(expression)
        # No collection during an answer: its expression trees and Jacobians are acyclic, and
        # each full pass would rescan all of them, so the work would grow faster than the
        # input (x17 time for x10 terms). Cycles left by an error are collected after it.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.emit(self.compute(expression))
            return 0
        except JacError as e:
            error = e
        except RecursionError:
            error = Unsupported("the expression is nested too deeply for jac to work through",
                                hint="split it into smaller expressions")
        except MemoryError:
            error = Unsupported("the expression needs more memory than this machine has",
                                hint="use smaller sizes, or name fewer variables with --wrt")
        except (BrokenPipeError, OutputFailed, _ArchiveFailed):   # the run ends (see _run)
            raise
        except Exception as e:  # a bug in jac: answer this line anyway, and say so
            error = Unsupported(f"jac could not handle this expression ({INTERNAL}: "
                                f"{type(e).__name__}: {str(e)[:200]})",
                                hint="please report this expression as a bug")
        finally:
            if collecting:
                gc.enable()
        self.failed = True
        self.report_error(error, expression)
        return 1

    # -- output ----------------------------------------------------------------------------
    def emit(self, result) -> None:
        from .report import format_warning
        if self.save:
            self.write_archive(result)
            if not self.in_batch:     # one expression: saved before its answer is shown
                try:
                    self.archive.commit()
                except JacError as e:
                    raise _ArchiveFailed(e) from None
        if self.as_json:
            from .serialize import to_dict
            doc = to_dict(result)
            if self.latex:
                from .latex import fragment
                doc["latex_fragment"] = fragment(result)
            if self.emit_as:
                from .emit import module_text
                doc["numpy_module"] = module_text(result)
            self._write_json(doc)
        elif self.emit_as:
            from .emit import module_text
            self.out.write(module_text(result))
        elif self.latex:
            from .latex import fragment
            self.out.write(fragment(result) + "\n")
        else:
            from .values import NotListed
            from .render import render_result
            render_result(result, self.out)
            for jr in result.jacobians:
                if isinstance(jr.value, NotListed):
                    rows, cols = jr.value.shape
                    result.warnings.append(f"the {rows}x{cols} Jacobian with respect to {jr.wrt} "
                                           "has too many entries to show: its numbers were not "
                                           "computed (write them with --save FILE.npz)")
        for w in result.warnings:
            self._say(format_warning(w) + "\n")
        if self.check:
            from .check import failed, verdict
            if failed(result):
                self.failed = True
                if self.as_json or self.emit_as or self.latex:   # the rendering shows verdicts
                    for t in result.jacobians + result.hessians:
                        if t.check and t.check["ok"] is False:
                            self._say(f"jac: {t.wrt}: {verdict(t.check)}\n")

    def report_error(self, error: JacError, expression: str) -> None:
        from .report import format_error
        if self.as_json:
            from .serialize import error_dict
            self._write_json(error_dict(error, expression))
        self._say(format_error(error, expression) + "\n")

    def _write_json(self, doc: dict) -> None:
        """One JSON document on a line; escaped to ASCII when stdout cannot encode it."""
        from .serialize import dumps
        text = dumps(doc)
        if not text.isascii():
            try:
                text.encode(getattr(self.out, "encoding", None) or "utf-8")
            except (UnicodeEncodeError, LookupError):
                import json
                text = json.dumps(doc, ensure_ascii=True, allow_nan=False)
        self.out.write(text + "\n")

    def _say(self, text: str) -> None:
        """A message on stderr, control characters escaped (user input is quoted in
        messages: it must not drive the terminal). A stderr that fails is ignored."""
        from .report import escape_controls
        try:
            self.err.write(escape_controls(text))
            self.err.flush()
        except BrokenPipeError:
            raise
        except OSError:
            pass

    def write_archive(self, result) -> None:
        """This result's Jacobians into the --save archive: the diagonal vector of a
        diagonal Jacobian, else the dense matrix."""
        from .values import TooLarge
        arrays = {}
        for jr in result.jacobians:
            if isinstance(jr.value, TooLarge):
                continue   # a warning already says why
            if jr.value is None:
                result.warnings.append(f"--save: the Jacobian with respect to {jr.wrt} has no "
                                       "numbers (give every variable a value with --at); "
                                       "it is not in the archive")
                continue
            d = getattr(jr.value, "d", None)
            if jr.jacobian.diagonal and d is not None:
                arrays[jr.wrt] = d
            else:   # a factored product is made into the archive a block at a time
                arrays[jr.wrt] = jr.value if hasattr(jr.value, "row_blocks") else jr.value.dense()
        for wrt, array in arrays.items():
            try:
                self.archive.add(self._key + wrt, array)
            except JacError as e:     # a full disk: no later line can be saved either
                raise _ArchiveFailed(e) from None


class OutputFailed(Exception):
    """Writing the answer failed (a full disk): the run ends with one line and status 1."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


class _Output:
    """stdout, with a failed write (other than a closed pipe) raised as OutputFailed, so
    that it ends the run instead of being taken for a bug in the expression's answer."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputFailed(e) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputFailed(e) from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _ArchiveFailed(Exception):
    """The --save archive could not be written: the run ends, the old archive stays."""

    def __init__(self, error: JacError):
        super().__init__(error.message)
        self.error = error


def _bounded_lines(lines):
    """(text, too_long) for each line. A line is read at most MAX_EXPRESSION_CHARS (in
    bytes, four per character) at a time: a longer one is yielded as its beginning with
    too_long set, and the rest of it is skipped unread, so no line decides how much memory
    jac takes (`jac - < /dev/zero` answers once and stays small). A binary stream is
    decoded line by line: bytes that are not UTF-8 become U+FFFD in that line (a syntax
    error there) instead of ending the run."""
    from .api import MAX_EXPRESSION_CHARS
    if lines is None:       # stdin closed (`jac - <&-`): no lines
        return
    source = getattr(lines, "buffer", None)
    binary = source is not None
    source = source if binary else lines
    if not hasattr(source, "readline"):     # lines already in memory (a list, an iterator)
        for line in source:
            yield line, len(line.rstrip("\r\n")) > MAX_EXPRESSION_CHARS
        return
    limit = (4 if binary else 1) * MAX_EXPRESSION_CHARS + 2
    newline = b"\n" if binary else "\n"
    while True:
        line = source.readline(limit)
        if not line:
            return
        too_long = len(line) == limit and not line.endswith(newline)
        yield (line.decode("utf-8", "replace") if binary else line), too_long
        while too_long:
            rest = source.readline(limit)
            too_long = bool(rest) and not rest.endswith(newline)


def _too_long() -> Unsupported:
    from .api import MAX_EXPRESSION_CHARS
    return Unsupported(f"the line is longer than {MAX_EXPRESSION_CHARS} characters, more than "
                       "jac reads as one expression; the rest of it was skipped",
                       hint="split it into smaller expressions")


def _without_surrogates(text: str) -> str:
    """Arguments that were not UTF-8 reach Python as lone surrogates, which no stream can
    print; show them as U+FFFD (the column of every character stays the same)."""
    if text.isascii():
        return text
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def output_failed(error: OSError) -> None:
    """stdout cannot be written (`jac x >/dev/full`): say so on stderr in one line, and
    point stdout at /dev/null so that the flush at exit does not fail a second time."""
    reason = error.strerror or str(error)
    try:
        sys.stderr.write(f"jac: cannot write the output: {reason}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    _stdout_to_devnull((sys.stdout,))


def _stdout_to_devnull(streams) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for stream in streams:
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass   # not a file descriptor (a test's stream): nothing will flush to it
    os.close(devnull)


def quiet_broken_pipe() -> None:
    """The reader has gone (`jac ... | head -1`): point stdout and stderr at /dev/null so
    nothing, not even the final flush at exit, complains."""
    _stdout_to_devnull((sys.stdout, sys.stderr))
