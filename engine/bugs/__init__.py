"""The bug catalogue: the mistakes people really make, one module each (internal).

`mistakes` holds one module per bug: its entry, its buggy piece, its detector and its
example lines; `catalogue` finds them (`BUGS` in catalogue order, the sidebar groups,
`implementation_with`); `bug` says what an entry is and what its detector claims;
`observations` is what the diagnosis sees in two gradients, for the detectors to read;
`founding` holds the seed's question and answer as programs, `examples` the "Your code" list.

Internal: the public API is `engine.__all__`; names here may change between versions.
"""
