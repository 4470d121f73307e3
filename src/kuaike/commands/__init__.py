"""The `kuaike` commands, one module per command group; `kuaike.cli` registers them.

Commands sit above every stage: they call the pipeline facade or a stage's functions, print the
result, and hold all the click code.
"""
