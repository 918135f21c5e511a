"""jac: a command-line Jacobian calculator for the matrix calculus of deep learning."""

__version__ = "0.1.0"
