"""The catalogue, one mistake per module: each defines `BUG`, a `Bug` holding everything
about that mistake. `engine.bugs.catalogue` finds them here, so adding a bug is adding a file.
"""
