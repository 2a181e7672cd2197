"""A corpus variant through GradScope's Python API, as a notebook user would call it.

Kept apart from manifest.py, which verify.py imports without the engine: the program
runs as a module (`manifest.load`), then `engine.check_params` with the manifest's loss,
params and grads (segments and setter as arguments), or `engine.check_layer` with the
forward call's function and its arguments by name. Used by
tests/test_corpus_python_api.py and benchmarks/diagnosis_corpus.py.
"""

from __future__ import annotations

import ast

import engine
from tests.corpus.manifest import Program, load


def check_variant(prog: Program, bug: str | None, layer: bool = False):
    """The CheckResult of one variant: layer mode (the forward call) or the loss mode."""
    namespace = load(prog, bug)
    if layer:
        call = ast.parse(prog.forward_call, mode="eval").body
        forward = eval(ast.unparse(call.func), namespace)
        inputs = {ast.unparse(a): eval(ast.unparse(a), namespace) for a in call.args}
        return engine.check_layer(forward, inputs)
    options = {}
    if prog.segments:
        text = ",".join(f"{s.name}:{'x'.join(map(str, s.shape))}" for s in prog.segments)
        options = {"segments": text, "order": prog.segments[0].order}
    if prog.set_params:
        options["set_params"] = eval(prog.set_params, namespace)
    grads = (lambda: eval(prog.grads, namespace)) if prog.grads else None
    return engine.check_params(
        lambda: eval(prog.loss, namespace),
        eval(prog.params, namespace),
        grads,
        eps=prog.eps,
        **options,
    )
