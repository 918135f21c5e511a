"""jac: a command-line Jacobian calculator for the matrix calculus of deep learning.

`from jaccli import jacobian` is the Python API (`notebook.py`); it is imported on first
use, so `import jaccli` (and the command line) stays light.
"""

__version__ = "0.1.0"


def __getattr__(name):
    if name in ("jacobian", "Jacobians"):
        from . import notebook
        return getattr(notebook, name)
    raise AttributeError(f"module 'jaccli' has no attribute {name!r}")
