"""The `jac` program's entry point. A command line of expression and options, as users type
most, is read here and run at once; anything else (help, version, shell completion, every
command-line error) goes to click in `jaccli/cli.py`, whose messages and exit statuses are
SPEC.md's. Importing click is a fifth of a one-shot symbolic run, so the common path skips it.
"""
from __future__ import annotations

import gc
import os
import sys


def main():
    # Imports build many long-lived objects and no garbage cycles: no collection while they
    # run (see Session.answer for the work itself).
    gc.disable()
    completing = "_JAC_COMPLETE" in os.environ
    from .arguments import common_parameters
    parameters = None if completing else common_parameters(sys.argv[1:])
    if parameters is None:
        gc.enable()
        from .cli import main as through_click
        through_click()   # exits
    from .session import (INTERRUPTED, exit_cleanly_on_sigterm, quiet_broken_pipe, run,
                          tolerate_unprintable_output)
    tolerate_unprintable_output()
    if parameters["save"]:
        exit_cleanly_on_sigterm()
    if parameters["expression"] == "-":
        # A batch may run long: collect between lines, never rescanning what the imports built.
        gc.freeze()
        gc.enable()
    try:
        status = run(**parameters)
    except KeyboardInterrupt:   # Ctrl-C outside a session
        status = INTERRUPTED
    except BrokenPipeError:
        quiet_broken_pipe()
        status = 0
    sys.exit(status)
