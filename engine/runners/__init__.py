"""Where work runs beyond one check in this process (internal).

`usercode` runs a visitor's code in `usercode_child` behind `sandbox`, talking over
`channel`, one at a time per visitor through `runqueue`; `cluster` provides Dask
clients; `training` runs an optimiser on the built-in network.

Internal: the public API is `engine.__all__`; names here may change between versions.
"""
