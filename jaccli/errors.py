"""The errors jac reports to users: one class per SPEC.md error `type`.

Every failure that reaches the user is a `JacError`; the CLI turns it into a message on
stderr, a JSON error object, and exit status 1. Nothing else may escape as a traceback.
"""
from __future__ import annotations


class JacError(Exception):
    """A bad expression or value; `type` is the JSON error type of SPEC.md."""

    type = "value"

    def __init__(self, message: str, *, column: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.column = column
        self.hint = hint


class SyntaxProblem(JacError):
    type = "syntax"


class ShapeProblem(JacError):
    type = "shape"


class NameProblem(JacError):
    type = "name"


class ValueProblem(JacError):
    type = "value"


class Unsupported(JacError):
    type = "unsupported"
