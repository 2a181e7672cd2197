"""Saved runs: a check kept with its code, settings, verdict, findings and gradients, to
be linked (`?run=ID`), listed and compared without running anything again (internal).

`record` (what a run holds, and the check rebuilt from it), `store` (the database, through
SQLAlchemy), `compare` (two runs side by side). Internal: the stable API is
`engine.__all__`; these modules may change.
"""
