"""From two gradients to a named mistake (internal).

`patterns` is level 1: what the gradients show, offered to the bugs' detectors;
`reproduction` is level 2: the catalogue bugs that reproduce the gradients exactly;
`diagnose` merges and ranks both; `finding` is what one conclusion is; `seed_matrix`
runs every bug on many seeds to see whether it is named first.

Internal: the public API is `engine.__all__`; names here may change between versions.
"""
