"""GradScope's built-in network and its swappable pieces (internal).

`layout` names every parameter (matrix, row, column); `pieces` holds the correct
pieces of a hand-written network and gradient check, which catalogue bugs swap for
their buggy twins; `model` is the cost and backprop built from those pieces.

Internal: the public API is `engine.__all__`; names here may change between versions.
"""
