"""The general contract of `check-code --loss --params [--grads]` (internal).

`structure` holds the pure logic, light enough for the sandboxed child to import:
flatten a params structure (an array, nested dicts / lists / tuples of arrays, an
object's array attributes) into arrays named by their path (`W1`, `weights[0]`),
perturb them in place one entry at a time and restore them, read a loss value, and
match grads to the params. `check` runs the same contract in this process
(`check_params`, for a user's own notebook: no sandbox).

Internal: the public API is `engine.__all__`; names here may change between versions.
"""
