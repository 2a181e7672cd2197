"""Saved runs: a check kept with its code, settings, verdict, findings and gradients, to
be linked (`?run=ID`), listed and compared without running anything again."""
