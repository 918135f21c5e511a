"""Shared helpers: run jac in-process and get the JSON document of SPEC.md as a dict; and the
Hypothesis profile: the same examples on every run (a test run that passes passes again, so
a submission's CI is not decided by chance), fresh ones with JAC_EXPLORE=1 (to look for new
counterexamples; each suite also takes a JAC_..._EXAMPLES count)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("JAC_EXPLORE") else "repeatable")

from jaccli.api import compute
from jaccli.inputs import parse_shape
from jaccli.serialize import dumps, to_dict


def jac_json(text: str, *, wrt=None, shapes=None, values=None, layout: str = "numerator") -> dict:
    """What `jac TEXT --wrt ... --shape ... --at ... --json` prints, as a dict.

    wrt: names as on the command line ("x", "x,y"), one per Jacobian; shapes: name -> the
    `--shape` spec ("scalar", "3", "3x4", "m,n"); values: name -> number or nested lists."""
    groups = None if wrt is None else [w.split(",") for w in wrt]
    declared = {name: parse_shape(spec) for name, spec in (shapes or {}).items()}
    arrays = {name: np.asarray(v, dtype=float) for name, v in (values or {}).items()}
    doc = to_dict(compute(text, wrt=groups, shapes=declared, values=arrays or None, layout=layout))
    return json.loads(dumps(doc))   # exactly what a script reading --json would see


@pytest.fixture(scope="session")
def jac():
    return jac_json


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: builds and installs a wheel (seconds); runs by "
                                       "default and in CI, deselect with -m 'not slow'")
