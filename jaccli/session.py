"""One run of jac: the options shared by every expression, then one expression or a batch.

Owns the path from a `Result` to the user's screen or pipe: JSON documents on stdout,
messages and warnings on stderr, the Rich rendering (imported only when used), `--save`,
and exit statuses (0 fine, 1 a bad expression or value).
"""
from __future__ import annotations

import sys

from .errors import JacError


class Session:
    def __init__(self, *, wrt, shapes, at, layout, as_json, save, out=None, err=None):
        self.wrt, self.shapes, self.layout = wrt, shapes, layout
        self.as_json, self.save = as_json, save
        self.at = at
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._values = None

    # -- values are read once, for every expression --------------------------------------
    def values(self) -> dict:
        if self._values is None:
            from .inputs import parse_value
            self._values = {name: parse_value(text, name) for name, text in self.at}
        return self._values

    def compute(self, expression: str):
        from .api import compute
        return compute(expression, wrt=self.wrt, shapes=self.shapes,
                       values=self.values() if self.at else None, layout=self.layout)

    # -- one expression --------------------------------------------------------------------
    def one(self, expression: str) -> int:
        try:
            result = self.compute(expression)
        except JacError as e:
            self.report_error(e, expression)
            return 1
        self.emit(result)
        return 0

    def batch(self, lines) -> int:
        """One expression per line; blank and '#' lines skipped; a bad line is reported and
        the rest go on; status 1 if any line failed."""
        failed = False
        first = True
        for raw in lines:
            line = raw.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if not self.as_json and not first:
                self.out.write("\n")
            first = False
            failed |= self.one(line) != 0
            self.out.flush()
        return 1 if failed else 0

    # -- output ----------------------------------------------------------------------------
    def emit(self, result) -> None:
        from .report import format_warning
        if self.save:
            self.write_archive(result)
        if self.as_json:
            from .serialize import dumps, to_dict
            self.out.write(dumps(to_dict(result)) + "\n")
        else:
            from .render import render_result
            render_result(result, self.out)
        for w in result.warnings:
            self.err.write(format_warning(w) + "\n")

    def report_error(self, error: JacError, expression: str) -> None:
        from .report import format_error
        if self.as_json:
            from .serialize import dumps, error_dict
            self.out.write(dumps(error_dict(error, expression)) + "\n")
        self.err.write(format_error(error, expression) + "\n")

    def write_archive(self, result) -> None:
        import numpy as np
        arrays = {}
        for jr in result.jacobians:
            if jr.value is None:
                continue
            d = getattr(jr.value, "d", None)
            arrays[jr.wrt] = d if (jr.jacobian.diagonal and d is not None) else jr.value.dense()
        try:
            np.savez(self.save, **arrays)
        except OSError as e:
            raise JacError(f"cannot write {self.save}: {e.strerror}") from None
