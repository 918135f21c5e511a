"""`python -m jaccli`: the same program as the installed `jac` command."""
from jaccli.program import main

main()
