"""Finite differences and their comparison with the analytic gradient (internal).

`numerical` (the coordinate loop and the exact vectorised path), `distributed` (the
loop on Dask), `noise` (the noise floor of a dtype and method), `compare` (the
per-matrix comparison, `CheckResult`), `check` (one check from a problem or from a
user's functions), `screen` (the fast localising screen), `sweep` (eps sweeps).

Internal: the public API is `engine.__all__`; names here may change between versions.
"""
