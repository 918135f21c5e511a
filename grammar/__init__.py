"""The grammar of jac's expression language (`jac.lark`), shipped inside the package as
`jaccli.grammar`; see `jaccli/syntax.py` for how it is loaded."""
