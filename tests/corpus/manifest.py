"""The check-any-code corpus: user programs written in the style of public conventions.

Issue 11 ("check any code as it is") asks GradScope to check the code people already
have, in the conventions they already use. This folder holds that code: 27 programs (and
one helper module), written for GradScope in the style of public course material and
books (the source each one imitates is named below; no one's code is copied). Each is
one importable .py file that builds its own model and data at import time with a fixed
seed, runs in well under a second, and exposes the names its author would have
(`nnCostFunction`, `net.params`, `net.backprop`, `affine_forward`, ...).

Bugs. Every program has a module-level switch, a line of its own:

    BUG = None  # or "reg-bias-column", ...

`None` is the working program. Each listed bug id turns on one mistake people make (and
post about) in that convention, in the program's own code, so the correct program and
its buggy variants share everything else. `variant_source(program, bug)` rewrites that
one line; `write_variant` writes the result (and the helper modules it imports) to a
folder, so a variant is itself a plain user file for `check-code`; `load` runs it in a
fresh namespace, as `check-code` will.

For each program the manifest gives the future CLI contract,

    python -m engine check-code FILE.py --loss EXPR --params EXPR [--grads EXPR]

as Python expressions evaluated in the program's namespace after it ran: `loss` (a
scalar, or `(loss, grads)`), `params` (an array, a dict / list / tuple of arrays) and,
where the loss does not return them, `grads` (same structure as the params, or one flat
vector in the params' order). Extra fields:
- `names`: the user's names of the arrays, in flattening order, where the structure's
  own path does not give them (a tuple such as `(net.biases, net.weights)` flattens to
  `biases[0], biases[1], weights[0], ...`). Dict params are named by their keys.
- `segments`: for one flat vector, the arrays it unrolls in the convention's own names
  (`Theta1`, `Theta2` for ex4 and the founding question) with shape and order (`"F"` for
  an Octave-style port; one order per program, as check-code's `--order` takes it).
  `segments_flags` writes them as check-code's flags. A plain f(theta) has no
  segments: its only array is `theta`. `segments_typed`: nothing in the code shows the
  cut (no layer sizes in the loss call), so the user types `--segments`.
- `set_params`: for objects with get/set-params methods, an expression for the setter
  (`params` is then the getter call).
- `layer`: for forward/backward pairs, the pair and its inputs; `loss` is then
  `sum(forward(...)[0] * dout)` with the program's random `dout`, and `grads` the
  backward call, as CS231n's notebooks check their layers. The same pair is also
  checked as check-code's layer mode, `--forward CALL` (`forward_call`: GradScope draws
  `dout` and finds the backward by name).
- `forward`: a call checked only in layer mode (a torch `autograd.Function`'s `.apply`,
  a `jax.custom_vjp` function), with no loss of the program's own.
- `helpers`: modules next to the program that it imports.
- `notes`: what is unusual about the program for a checker (1 x 1 losses, zero biases,
  3-D and 4-D arrays, a helper import, ...).

Each bug has a `cause`, one word of CAUSES, and `diverges`: the arrays (by the user's
names) whose analytic gradient differs from central differences at the program's own
check point; all other arrays agree. `extras` are variants that are not (visible) bugs
in the gradient code, to catch false alarms: `expect` says what a checker should report
("pass": nothing; "noise": the disagreement is float32 rounding or a kink crossed by the
finite-difference step, not a bug; "degenerate": a real bug hidden at this point, here
by biases that are all zero, which deserves a warning).

verify.py (a plain script, not collected by pytest) checks every claim of this file
against finite differences of its own: `python tests/corpus/verify.py`.
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
import types
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent

CAUSES = (
    "sign",
    "scale",
    "regularization",
    "layout",
    "zeroed",
    "backward-chain",
    "loss-mismatch",
    "checker",
    "precision",
    "kink",
    "unknown",
)

EXPECTS = ("flag", "pass", "noise", "degenerate")

CONVENTIONS = {
    "ng-ex4": "nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, "
    "X, y, lambda_) -> (J, grad), or separate cost and gradient functions; one flat "
    "theta unrolling Theta1, Theta2 (bias column 0), order 'C' or Octave's 'F'; labels "
    "1..K or 0..K-1",
    "founding": "computeCost(theta, X, y, num_inputs, num_hidden, num_labels, lamb) and "
    "gradient(theta, *args) for scipy's fmin_cg; flat row-major theta, bias column 0, "
    "labels 0..K-1",
    "f-theta": "plain functions of one flat vector over module-level data: "
    "f(theta) -> (J, grad), or cost(theta) -> J with grad(theta) -> vector",
    "cs231n-model": "an object with a params dict {'W1', 'b1', ...} (W is D x H, b 1-D) "
    "and loss(X, y) -> (loss, grads), grads a dict with the same keys",
    "cs231n-loss-function": "loss(W, X, y, reg) -> (loss, dW) over one weight matrix "
    "(bias trick: a column of ones in X)",
    "nielsen": "Network(sizes) with lists self.weights / self.biases (biases (n, 1) "
    "columns) and backprop(x, y) -> (nabla_b, nabla_w) for one example",
    "layer-pairs": "forward(x, params...) -> (out, cache) and backward(dout, cache) -> "
    "gradients of every input, x included; checked as a vector-Jacobian product",
    "get-set-params": "an object with getParams() -> vector, setParams(vector) and "
    "computeGradients(X, y) -> vector in the same order",
    "torch-autograd": "torch.autograd.Function subclasses with staticmethod forward(ctx, ...) "
    "/ backward(ctx, grad_output) (ctx.save_for_backward), alone or inside an nn.Module; "
    "gradients from autograd (loss.backward(), or a random upstream gradient)",
    "jax-custom-vjp": "jax.custom_vjp functions with f_fwd -> (out, residuals) and "
    "f_bwd(res, g) -> tuple of cotangents; checked through jax.vjp",
    "dlai-column": "deeplearning.ai's column convention: X (n_x, m), a parameters dict "
    "W1 (n_h, n_x), b1 (n_h, 1); forward_propagation -> (A2, cache), compute_cost, "
    "backward_propagation -> grads keyed dW1, db1, ... (mapped back to the params' keys)",
    "layer-objects": "layer objects with forward(x) / backward(grad) storing self.dW and "
    "self.db (Dense, activation classes) in a Network list; params typed as a tuple of "
    "the layers' arrays",
    "tied-autoencoder": "an autoencoder whose decoder reuses the encoder's weights "
    "transposed: params {'W', 'b', 'b_prime'}, cost_and_grads(params, x) -> (cost, grads); "
    "W's gradient sums an encoder and a decoder term",
}


@dataclass(frozen=True)
class Bug:
    id: str
    cause: str | None
    diverges: tuple[str, ...]
    description: str
    expect: str = "flag"
    report: str = ""  # the public report the bug follows (site, title, URL or issue)


@dataclass(frozen=True)
class Segment:
    name: str
    shape: tuple[int, ...]
    order: str = "C"


@dataclass(frozen=True)
class Program:
    file: str
    convention: str
    imitates: str
    loss: str | None = None
    params: str | None = None
    grads: str | None = None
    forward: str | None = None
    names: tuple[str, ...] | None = None
    segments: tuple[Segment, ...] = ()
    segments_typed: bool = False  # nothing in the code shows the cut: the user types it
    set_params: str | None = None
    layer: dict | None = None
    helpers: tuple[str, ...] = ()
    notes: str = ""
    eps: float = 1e-5
    bugs: tuple[Bug, ...] = ()
    extras: tuple[Bug, ...] = ()

    @property
    def variants(self) -> tuple[Bug, ...]:
        return self.bugs + self.extras

    def bug(self, bug_id: str) -> Bug:
        return next(b for b in self.variants if b.id == bug_id)

    @property
    def forward_call(self) -> str | None:
        """check-code's --forward for a layer: given, or the layer pair's forward called on
        its inputs and extra arguments (the backward is then found as its twin)."""
        if self.forward or not self.layer:
            return self.forward
        arguments = (*self.layer["inputs"], *self.layer.get("args", ()))
        return f"{self.layer['forward']}({', '.join(arguments)})"


EX4_ARGS = "(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_)"
EX4_LOSS = "nnCostFunction" + EX4_ARGS
SO_ARGS = "(theta, X, y, num_inputs, num_hidden, num_labels, lamb)"
BOTH_THETAS = ("Theta1", "Theta2")
NIELSEN_NAMES = ("biases[0]", "biases[1]", "weights[0]", "weights[1]")
LAYER_OBJECT_NAMES = tuple(f"layers[{k}].{a}" for k in (0, 2, 4) for a in ("W", "b"))
NIELSEN2_NAMES = ("biases[0]", "biases[1]", "biases[2]", "weights[0]", "weights[1]", "weights[2]")
SOFTMAX_NO_MAX = Bug(
    "no-max-shift",
    None,
    (),
    "softmax without subtracting the row maximum: a numerical-stability issue for large "
    "scores, not a gradient bug; at these scores nothing changes",
    expect="pass",
)

PROGRAMS: tuple[Program, ...] = (
    Program(
        "ex4_nncost_fortran.py",
        "ng-ex4",
        "Coursera Machine Learning (Andrew Ng), exercise 4, Python port of nnCostFunction.m "
        "with Octave's column-major unrolling",
        loss=EX4_LOSS,
        params="nn_params",
        segments=(Segment("Theta1", (5, 5), "F"), Segment("Theta2", (3, 6), "F")),
        notes=(
            "order='F' unrolling throughout (consistent, so correct); labels 1..K; the loss "
            "returns (J, grad)"
        ),
        bugs=(
            Bug(
                "grad-unrolled-C",
                "layout",
                BOTH_THETAS,
                "params reshaped with order='F' but the gradient unrolled with NumPy's "
                "default order='C'",
            ),
            Bug(
                "reg-bias-column",
                "regularization",
                BOTH_THETAS,
                "lambda/m * Theta added to the whole gradient, bias column 0 included (the "
                "cost skips it)",
            ),
            Bug(
                "sigmoid-gradient-of-a2",
                "backward-chain",
                ("Theta1",),
                "sigmoidGradient applied to the activation a2 instead of z2",
            ),
            Bug(
                "reg-cost-includes-bias",
                "regularization",
                BOTH_THETAS,
                "the cost's penalty sums every Theta entry, bias column 0 included; the "
                "gradient (correctly for the course's cost) skips column 0",
                report="GitHub kaleko/CourseraML issue #9 'Regularization Problem' "
                "https://github.com/kaleko/CourseraML/issues/9",
            ),
        ),
    ),
    Program(
        "ex4_loop.py",
        "ng-ex4",
        "Coursera Machine Learning (Andrew Ng), exercise 4, Python port with the per-example "
        "'for t = 1:m' backprop loop and checkNNGradients' debug weights",
        loss=EX4_LOSS,
        params="nn_params",
        segments=(Segment("Theta1", (5, 7)), Segment("Theta2", (4, 6))),
        notes="per-example backprop loop; deterministic sine 'debug' weights; labels 1..K",
        bugs=(
            Bug(
                "labels-not-shifted",
                "loss-mismatch",
                BOTH_THETAS,
                "the backprop loop recodes 1-based labels as if they were 0-based (the "
                "cost's one-hot matrix is right)",
            ),
            Bug(
                "no-divide-by-m",
                "scale",
                BOTH_THETAS,
                "accumulated Delta not divided by m (the regularization term is right)",
            ),
            Bug(
                "delta2-wrong-row",
                "backward-chain",
                ("Theta1",),
                "Octave's delta_2(2:end) translated as d2[:-1]: drops the last unit instead "
                "of the bias",
            ),
            Bug(
                "delta3-times-sigmoid-gradient",
                "loss-mismatch",
                BOTH_THETAS,
                "output error (a3 - y) .* sigmoidGradient(z3), the quadratic cost's delta, "
                "with the cross-entropy cost, where the sigmoid's derivative cancels",
                report="Data Science Stack Exchange: 'Do we need to add the sigmoid "
                "derivative term in the final layer's error value?' "
                "https://datascience.stackexchange.com/questions/41212/"
                "do-we-need-to-add-the-sigmoid-derivative-term-in-the-final-layers-error-value",
            ),
        ),
    ),
    Program(
        "ex4_separate.py",
        "ng-ex4",
        "Coursera Machine Learning (Andrew Ng), exercise 4, Python port with separate cost "
        "and gradient functions for scipy.optimize.minimize, labels 0..K-1",
        loss="nnCost" + EX4_ARGS,
        params="nn_params",
        grads="nnGrad" + EX4_ARGS,
        segments=(Segment("Theta1", (4, 6)), Segment("Theta2", (3, 5))),
        notes=(
            "separate cost and gradient functions; labels 0..K-1; a __main__ block (not run on "
            "import) trains with scipy"
        ),
        bugs=(
            Bug(
                "reg-half-lambda",
                "regularization",
                BOTH_THETAS,
                "gradient regularized with lambda/(2m), copied from the cost, instead of lambda/m",
            ),
            Bug(
                "delta3-sign", "sign", BOTH_THETAS, "output error written y - a3 instead of a3 - y"
            ),
            Bug(
                "theta2-grad-transposed",
                "layout",
                ("Theta2",),
                "Theta2's gradient built as a2.T @ d3 ((hidden+1) x K) and unrolled in that "
                "transposed shape",
            ),
            Bug(
                "reg-bias-column-ones",
                "regularization",
                BOTH_THETAS,
                "the regularization matrix is Theta with its bias column replaced by ones "
                "instead of zeros, so lambda/m is added to every bias entry",
                report="GitHub JWarmenhoven/Coursera-Machine-Learning issue #3 'Regarding "
                "regularized NN equation in exercise 4' "
                "https://github.com/JWarmenhoven/Coursera-Machine-Learning/issues/3",
            ),
        ),
    ),
    Program(
        "so_cost_gradient.py",
        "founding",
        "The Stack Overflow question GradScope was founded on: computeCost / gradient(theta, "
        "*args) for fmin_cg, one hidden layer, per-example loop",
        loss="computeCost" + SO_ARGS,
        params="theta",
        grads="gradient" + SO_ARGS,
        segments=(Segment("Theta1", (4, 4)), Segment("Theta2", (3, 5))),
        notes="gradient(theta, *args) takes the arguments as *args; a __main__ block calls fmin_cg",
        bugs=(
            Bug(
                "grad-missing-reg",
                "regularization",
                BOTH_THETAS,
                "the cost is regularized, the gradient is not",
            ),
            Bug(
                "tanh-derivative-for-sigmoid",
                "backward-chain",
                ("Theta1",),
                "hidden derivative written 1 - a^2 (tanh's) for sigmoid units",
            ),
            Bug("theta1-not-averaged", "scale", ("Theta1",), "D1 not divided by m (D2 is)"),
            Bug(
                "sigmoid-gradient-of-z2",
                "backward-chain",
                ("Theta1",),
                "the sigmoid derivative written for an activation, a * (1 - a), applied to "
                "the weighted input z2",
                report="GitHub PacktPublishing/Neural-Network-Projects-with-Python issue #4 "
                "'sigmoid derivative function isn't correct in first python example' "
                "https://github.com/PacktPublishing/Neural-Network-Projects-with-Python/issues/4",
            ),
        ),
    ),
    Program(
        "so_two_hidden.py",
        "founding",
        "The Stack Overflow question GradScope was founded on, extended to two hidden "
        "layers (num_hidden a list), vectorised",
        loss="computeCost" + SO_ARGS,
        params="theta",
        grads="gradient" + SO_ARGS,
        segments=(Segment("Theta1", (5, 5)), Segment("Theta2", (4, 6)), Segment("Theta3", (3, 5))),
        notes="three weight matrices; num_hidden is a list",
        bugs=(
            Bug(
                "hidden-delta-skips-sigmoid-gradient",
                "backward-chain",
                BOTH_THETAS,
                "delta of the second hidden layer not multiplied by sigmoid'(z3)",
            ),
            Bug(
                "output-delta-sign",
                "sign",
                ("Theta1", "Theta2", "Theta3"),
                "output error written Y - a4",
            ),
            Bug(
                "reg-loop-starts-at-1",
                "regularization",
                ("Theta1",),
                "the regularization loop runs range(1, len(grads)) and skips Theta1",
            ),
        ),
    ),
    Program(
        "softmax_f.py",
        "f-theta",
        "f(theta) -> (J, grad) for scipy.optimize.minimize(jac=True), softmax regression "
        "(UFLDL softmax exercise style)",
        loss="f(theta)",
        params="theta",
        notes=(
            "f returns (float(J), grad): in the float32 extra a float32 computation comes back as "
            "a Python float (the issue's .item() case)"
        ),
        bugs=(
            Bug("grad-no-1/N", "scale", ("theta",), "data gradient not divided by N"),
            Bug(
                "grad-transposed",
                "layout",
                ("theta",),
                "gradient computed K x (n+1), the transpose of W's shape, then flattened",
            ),
            Bug("residual-sign", "sign", ("theta",), "data gradient uses Y - P"),
            Bug(
                "grad-missing-reg",
                "regularization",
                ("theta",),
                "the cost has the L2 penalty, the gradient has none of it",
                report="GitHub zduey/machinelearning_coursera issue #2 'Failing to pass "
                "test on CheckNNGradients when reg_param != 0' "
                "https://github.com/zduey/machinelearning_coursera/issues/2",
            ),
        ),
        extras=(
            SOFTMAX_NO_MAX,
            Bug(
                "float32",
                "precision",
                ("theta",),
                "data and theta cast to float32: the code is right, but central differences "
                "with a float64-sized step drown in float32 rounding",
                expect="noise",
            ),
        ),
    ),
    Program(
        "mlp_regression_f.py",
        "f-theta",
        "cost(theta) and grad(theta) over a flat vector for scipy.optimize.minimize(jac=), "
        "a tanh MLP regression ('from scratch' tutorial style)",
        loss="cost(theta)",
        params="theta",
        grads="grad(theta)",
        notes="cost returns a 1 x 1 array, not a float",
        bugs=(
            Bug(
                "tanh-derivative-of-z",
                "backward-chain",
                ("theta",),
                "tanh' computed as 1 - z^2 from the pre-activation instead of 1 - tanh(z)^2",
            ),
            Bug(
                "mse-missing-factor-2",
                "scale",
                ("theta",),
                "derivative of mean((out - t)^2) written (out - t)/N, as for the 1/2 MSE",
            ),
            Bug(
                "b2-grad-missing",
                "zeroed",
                ("theta",),
                "the output bias' gradient left as a zero placeholder",
            ),
        ),
        extras=(
            Bug(
                "float32",
                "precision",
                ("theta",),
                "data, targets and theta cast to float32: the code is right, but central "
                "differences with a float64-sized step drown in float32 rounding",
                expect="noise",
            ),
        ),
    ),
    Program(
        "cs231n_two_layer_net.py",
        "cs231n-model",
        "CS231n assignment 1, TwoLayerNet (neural_net.py) with its toy model",
        loss="net.loss(X, y, reg=0.05)",
        params="net.params",
        notes="biases start at zero; X is scaled by 5",
        bugs=(
            Bug(
                "reg-grad-missing-2",
                "regularization",
                ("W1", "W2"),
                "loss adds reg * sum(W^2), gradient adds reg * W (the 2 is missing)",
            ),
            Bug(
                "relu-mask-from-upstream",
                "backward-chain",
                ("W1", "b1"),
                "ReLU mask taken from the upstream gradient (dhidden <= 0) instead of the "
                "hidden activations",
            ),
            Bug("db2-not-averaged", "scale", ("b2",), "b2's gradient not divided by N (W2's is)"),
            Bug(
                "softmax-over-batch-axis",
                "loss-mismatch",
                ("W1", "b1", "W2", "b2"),
                "softmax normalised with axis=0 (over the examples) instead of axis=1; the "
                "loss uses these probabilities, the gradient keeps the row-softmax form "
                "probs - onehot",
                report="GitHub MaoGWLeon/SMN_Pytorch issue #3 'questions on codes' (softmax "
                "over axis 0, should be -1 or 1) https://github.com/MaoGWLeon/SMN_Pytorch/issues/3",
            ),
        ),
        extras=(SOFTMAX_NO_MAX,),
    ),
    Program(
        "cs231n_three_layer_net.py",
        "cs231n-model",
        "CS231n assignment 2, FullyConnectedNet with two hidden layers, written out by hand",
        loss="model.loss(X, y)",
        params="model.params",
        notes="biases are all zero at the check point, which hides the reg-biases extra",
        bugs=(
            Bug(
                "relu2-missing-upstream",
                "backward-chain",
                ("W1", "b1", "W2", "b2"),
                "second ReLU's backward returns the mask (a2 > 0) without multiplying the "
                "upstream gradient",
            ),
            Bug(
                "softmax-grad-sign",
                "sign",
                ("W1", "b1", "W2", "b2", "W3", "b3"),
                "softmax gradient written (onehot - probs)/N",
            ),
            Bug(
                "b2-grad-not-filled",
                "zeroed",
                ("b2",),
                "grads pre-filled with zeros and the line for b2 forgotten",
            ),
            Bug(
                "db1-mean",
                "scale",
                ("b1",),
                "b1's gradient the mean of da1 over the batch instead of the sum",
                report="GitHub kvfrans/notes issue #5 'Issue on page "
                "/2-training-neural-networks/backpropagation.html' (d_b1 = mean should be "
                "sum) https://github.com/kvfrans/notes/issues/5",
            ),
        ),
        extras=(
            Bug(
                "reg-biases",
                "regularization",
                (),
                "biases regularized in the gradient only: a real bug, invisible here because "
                "the biases are all zero (course initialisation)",
                expect="degenerate",
            ),
        ),
    ),
    Program(
        "scratch_train_step.py",
        "cs231n-model",
        "'Neural network from scratch' tutorials and posts whose backward pass applies each "
        "layer's gradient-descent step as soon as that layer's gradient is known",
        loss="net.loss(X, y)",
        params="net.params",
        grads="net.train_step(X, y, learning_rate)[0]",
        notes=(
            "the loss returns the scalar only; the gradients are train_step's first result "
            "(it returns new parameters instead of changing them in place); a batch of 4 "
            "examples and 4 hidden units, so a bias gradient summed over the wrong axis "
            "keeps its shape; biases non-zero"
        ),
        bugs=(
            Bug(
                "hidden-delta-through-updated-W2",
                "backward-chain",
                ("W1", "b1"),
                "the hidden layer's error back-propagated through W2 after this step's "
                "update (W2 - learning_rate * dW2) instead of the W2 of the forward pass",
                report="GitHub Bot-Academy/NeuralNetworkFromScratch pull request #3 'Fixed "
                "formally wrong backpropagation/gradient descent' (the hidden-to-output "
                "weights are updated before the input-to-hidden gradient uses them) "
                "https://github.com/Bot-Academy/NeuralNetworkFromScratch/pull/3",
            ),
            Bug(
                "db1-summed-over-units",
                "layout",
                ("b1",),
                "b1's gradient summed over the hidden units (axis=1) instead of over the "
                "batch (axis=0): unnoticed because the batch and the layer are both 4 wide",
                report="GitHub SethHWeidman/DLFS_code issue #8 'Typo in "
                "02_fundamentals/Code.ipynb' (the bias gradient's sum over the wrong axis) "
                "https://github.com/SethHWeidman/DLFS_code/issues/8",
            ),
            Bug(
                "grads-not-averaged",
                "scale",
                ("W1", "b1", "W2", "b2"),
                "the loss is the mean over the batch, the gradients are its sum (dz2 not "
                "divided by N)",
                report="GitHub dennybritz/nn-from-scratch issue #13 'gradient checks do "
                "not match' (the loss is averaged over the batch, the gradients are not) "
                "https://github.com/dennybritz/nn-from-scratch/issues/13",
            ),
        ),
    ),
    Program(
        "cs231n_softmax.py",
        "cs231n-loss-function",
        "CS231n assignment 1, softmax_loss_naive (softmax.py), bias trick",
        loss="softmax_loss_naive(W, X_dev, y_dev, reg)",
        params="W",
        notes="bias trick: W's last row is the bias; also defines softmax_loss_vectorized",
        bugs=(
            Bug(
                "dW-not-averaged",
                "scale",
                ("W",),
                "loss divided by num_train, dW not (the regularization term is right)",
            ),
            Bug(
                "reg-grad-missing-2",
                "regularization",
                ("W",),
                "loss adds reg * sum(W*W), gradient adds reg * W",
            ),
            Bug(
                "correct-class-sign",
                "sign",
                ("W",),
                "the correct class' column gets + X[i] instead of - X[i]",
            ),
        ),
        extras=(SOFTMAX_NO_MAX,),
    ),
    Program(
        "cs231n_svm.py",
        "cs231n-loss-function",
        "CS231n assignment 1, svm_loss_vectorized (linear_svm.py), bias trick",
        loss="svm_loss_vectorized(W, X_dev, y_dev, reg)",
        params="W",
        notes="the kink extra moves W so that one hinge is exactly at 0",
        bugs=(
            Bug(
                "correct-class-count-once",
                "backward-chain",
                ("W",),
                "the correct class subtracts x_i once instead of once per positive margin",
            ),
            Bug(
                "reg-grad-includes-bias-row",
                "regularization",
                ("W",),
                "the loss leaves the bias row out of the penalty, the gradient does not",
            ),
            Bug(
                "mask-without-delta",
                "loss-mismatch",
                ("W",),
                "gradient mask from scores - correct > 0, forgetting the margin delta = 1 "
                "the loss uses",
            ),
            Bug(
                "reg-grad-skips-first-row",
                "regularization",
                ("W",),
                "the bias is W's last row, but the gradient's penalty skips row 0 (dW[1:]) "
                "as if the bias came first, like theta[0] elsewhere",
                report="GitHub dibgerge/ml-coursera-python-assignments issue #45 'Exercise 2 "
                "- First two grad values are incorrect' (the penalty excludes the wrong entry) "
                "https://github.com/dibgerge/ml-coursera-python-assignments/issues/45",
            ),
        ),
        extras=(
            Bug(
                "kink",
                "kink",
                ("W",),
                "weights where one example sits exactly on a hinge: the code is right, the "
                "+-eps steps straddle the kink",
                expect="noise",
            ),
        ),
    ),
    Program(
        "fc_net.py",
        "cs231n-model",
        "CS231n assignment 2, TwoLayerNet (fc_net.py) built from layers.py helpers",
        loss="model.loss(X, y)",
        params="model.params",
        helpers=("layers.py",),
        notes="imports a helper module (layers.py) from its own folder",
        bugs=(
            Bug(
                "W1-missing-reg",
                "regularization",
                ("W1",),
                "the regularization gradient added to W2 only",
            ),
            Bug(
                "backprop-scores-not-dscores",
                "backward-chain",
                ("W1", "b1", "W2", "b2"),
                "the scores passed to affine_backward instead of dscores",
            ),
            Bug(
                "dscores-divided-twice",
                "scale",
                ("W1", "b1", "W2", "b2"),
                "dscores divided by N again, though softmax_loss already averages",
            ),
        ),
    ),
    Program(
        "layers_affine_relu.py",
        "layer-pairs",
        "CS231n assignment 2, layers.py / layer_utils.py: affine, relu and the affine_relu "
        "sandwich, checked like eval_numerical_gradient_array",
        loss="np.sum(affine_relu_forward(x, w, b)[0] * dout)",
        params="(x, w, b)",
        grads="affine_relu_backward(dout, affine_relu_forward(x, w, b)[1])",
        names=("x", "w", "b"),
        layer={
            "forward": "affine_relu_forward",
            "backward": "affine_relu_backward",
            "inputs": ("x", "w", "b"),
            "dout": "dout",
        },
        notes="x is 3-D (N, 2, 4) and flattened by the layer; w is square",
        bugs=(
            Bug(
                "relu-mask-from-dout",
                "backward-chain",
                ("x", "w", "b"),
                "relu_backward masks with dout > 0 instead of x > 0",
            ),
            Bug(
                "dw-transposed",
                "layout",
                ("w",),
                "dw = dout.T @ x: the transpose, unnoticed because w is square",
            ),
            Bug("db-divided-by-N", "scale", ("b",), "db averaged over the batch instead of summed"),
        ),
        extras=(
            Bug(
                "kink",
                "kink",
                ("x", "w", "b"),
                "a bias that puts one unit's pre-activation exactly at 0: the code is right, "
                "the +-eps steps straddle the ReLU's corner",
                expect="noise",
            ),
        ),
    ),
    Program(
        "layers_batchnorm.py",
        "layer-pairs",
        "CS231n assignment 2, BatchNormalization: batchnorm_forward / batchnorm_backward "
        "along the computational graph",
        loss="np.sum(batchnorm_forward(x, gamma, beta, bn_param)[0] * dout)",
        params="(x, gamma, beta)",
        grads="batchnorm_backward(dout, batchnorm_forward(x, gamma, beta, bn_param)[1])",
        names=("x", "gamma", "beta"),
        layer={
            "forward": "batchnorm_forward",
            "backward": "batchnorm_backward",
            "inputs": ("x", "gamma", "beta"),
            "args": ("bn_param",),
            "dout": "dout",
        },
        notes=(
            "the forward updates bn_param's running averages on every call (harmless in train mode)"
        ),
        bugs=(
            Bug(
                "missing-dvar-term",
                "backward-chain",
                ("x",),
                "dx ignores the path through the variance",
            ),
            Bug(
                "dgamma-uses-x",
                "backward-chain",
                ("gamma",),
                "dgamma = sum(dout * x) instead of sum(dout * xhat)",
            ),
            Bug("dbeta-averaged", "scale", ("beta",), "dbeta = mean of dout instead of sum"),
        ),
    ),
    Program(
        "rnn_layers.py",
        "layer-pairs",
        "CS231n assignment 3, rnn_layers.py: rnn_forward / rnn_backward over (N, T, D) inputs",
        loss="np.sum(rnn_forward(x, h0, Wx, Wh, b)[0] * dh)",
        params="(x, h0, Wx, Wh, b)",
        grads="rnn_backward(dh, rnn_forward(x, h0, Wx, Wh, b)[1])",
        names=("x", "h0", "Wx", "Wh", "b"),
        layer={
            "forward": "rnn_forward",
            "backward": "rnn_backward",
            "inputs": ("x", "h0", "Wx", "Wh", "b"),
            "dout": "dh",
        },
        notes="x and dh are 3-D (N, T, D); Wh is square",
        bugs=(
            Bug(
                "no-dnext-carry",
                "backward-chain",
                ("x", "h0", "Wx", "Wh", "b"),
                "backward through time forgets the gradient flowing from step t+1",
            ),
            Bug(
                "dWh-transposed",
                "layout",
                ("Wh",),
                "dWh = da.T @ prev_h: transposed, unnoticed because Wh is square",
            ),
            Bug(
                "dh0-zero", "zeroed", ("h0",), "dh0 returned as zeros ('h0 is not learned anyway')"
            ),
        ),
    ),
    Program(
        "conv_layers.py",
        "layer-pairs",
        "CS231n assignment 2, ConvolutionalNetworks: conv_forward_naive / conv_backward_naive "
        "with a 4-D kernel",
        loss="np.sum(conv_forward_naive(x, w, b, conv_param)[0] * dout)",
        params="(x, w, b)",
        grads="conv_backward_naive(dout, conv_forward_naive(x, w, b, conv_param)[1])",
        names=("x", "w", "b"),
        layer={
            "forward": "conv_forward_naive",
            "backward": "conv_backward_naive",
            "inputs": ("x", "w", "b"),
            "args": ("conv_param",),
            "dout": "dout",
        },
        notes="x is 4-D (N, C, H, W) and w a 4-D kernel (F, C, HH, WW); naive loops",
        bugs=(
            Bug(
                "dx-crop-not-offset",
                "layout",
                ("x",),
                "padding removed as dx_pad[:, :, :H, :W]: shifted by pad",
            ),
            Bug(
                "dw-assigned-not-accumulated",
                "backward-chain",
                ("w",),
                "dw[f] = ... instead of += inside the loops: only the last window counts",
            ),
            Bug("db-averaged", "scale", ("b",), "db = mean of dout instead of sum"),
        ),
    ),
    Program(
        "nielsen_network.py",
        "nielsen",
        "Michael Nielsen, Neural Networks and Deep Learning, network.py (chapters 1-2), "
        "quadratic cost",
        loss="quadratic_cost(net, x, y)",
        params="(net.biases, net.weights)",
        grads="net.backprop(x, y)",
        names=NIELSEN_NAMES,
        notes=(
            "biases are (n, 1) columns; params is the tuple (net.biases, net.weights) to match "
            "backprop's (nabla_b, nabla_w); every layer has 4 units"
        ),
        bugs=(
            Bug(
                "sigmoid-prime-of-activation",
                "backward-chain",
                NIELSEN_NAMES,
                "output error uses sigmoid_prime(activation) instead of sigmoid_prime(z)",
            ),
            Bug(
                "nabla-w-transposed",
                "layout",
                ("weights[0]", "weights[1]"),
                "nabla_w = a @ delta.T: transposed, unnoticed because every layer has 4 units",
            ),
            Bug(
                "cost-derivative-factor-2",
                "scale",
                NIELSEN_NAMES,
                "cost_derivative returns 2 (a - y), the derivative of ||a - y||^2 without the 1/2",
            ),
        ),
    ),
    Program(
        "nielsen_network2.py",
        "nielsen",
        "Michael Nielsen, Neural Networks and Deep Learning, network2.py (chapter 3), "
        "CrossEntropyCost / QuadraticCost classes",
        loss="net.cost.fn(net.feedforward(x), y)",
        params="(net.biases, net.weights)",
        grads="net.backprop(x, y)",
        names=NIELSEN2_NAMES,
        notes="the loss comes from the cost class: net.cost.fn(net.feedforward(x), y)",
        bugs=(
            Bug(
                "quadratic-delta-with-cross-entropy",
                "loss-mismatch",
                NIELSEN2_NAMES,
                "CrossEntropyCost.delta keeps the sigmoid'(z) factor of the quadratic cost",
            ),
            Bug(
                "hidden-nabla-b-not-set",
                "zeroed",
                ("biases[0]", "biases[1]"),
                "the hidden-layer loop sets nabla_w but not nabla_b (left at zeros)",
            ),
            Bug("delta-sign", "sign", NIELSEN2_NAMES, "CrossEntropyCost.delta returns y - a"),
        ),
    ),
    Program(
        "getset_params_net.py",
        "get-set-params",
        "Welch Labs, Neural Networks Demystified: a network class with getParams / "
        "setParams / computeGradients",
        loss="NN.costFunction(X, y)",
        params="NN.getParams()",
        set_params="NN.setParams",
        grads="NN.computeGradients(X, y)",
        segments=(Segment("W1", (2, 3)), Segment("W2", (3, 1))),
        notes=(
            "setParams rebinds W1, W2 to views of the vector it is given: perturb through "
            "setParams, not in place"
        ),
        bugs=(
            Bug(
                "delta3-sign",
                "sign",
                ("W1", "W2"),
                "delta3 = (y - yHat) * sigmoidPrime(z3), the minus sign dropped",
            ),
            Bug(
                "sigmoid-prime-of-a2",
                "backward-chain",
                ("W1",),
                "delta2 uses sigmoidPrime(a2) instead of sigmoidPrime(z2)",
            ),
            Bug(
                "gradients-rolled-in-wrong-order",
                "layout",
                ("W1", "W2"),
                "computeGradients rolls dJdW2 before dJdW1, unlike getParams",
            ),
        ),
    ),
    Program(
        "torch_autograd_function.py",
        "torch-autograd",
        "PyTorch tutorial 'Extending PyTorch: Defining new autograd Functions' "
        "(LinearFunction, a hand-written sigmoid), checked like gradcheck",
        forward="LinearFunction.apply(x, weight, bias)",
        names=("x", "weight", "bias"),
        notes=(
            "float64 leaf tensors with requires_grad; weight is (out_features, in_features) "
            "and square (4 x 4), so a transposed gradient keeps its shape; checked as a "
            "vector-Jacobian product with a random upstream gradient through autograd"
        ),
        bugs=(
            Bug(
                "grad-weight-transposed",
                "layout",
                ("weight",),
                "grad_weight = input.T @ grad_output (the NumPy (in, out) habit) instead of "
                "grad_output.T @ input: the transpose, unnoticed because weight is square",
            ),
            Bug(
                "grad-bias-averaged",
                "scale",
                ("bias",),
                "grad_bias = grad_output.mean(0) instead of sum(0)",
            ),
            Bug(
                "grad-input-weight-transposed",
                "layout",
                ("x",),
                "grad_input = grad_output @ weight.T, as if weight were (in, out); torch's "
                "(out, in) layout needs grad_output @ weight",
            ),
        ),
    ),
    Program(
        "torch_module_custom_backward.py",
        "torch-autograd",
        "PyTorch forum / Stack Overflow posts: an nn.Module with a custom activation (SiLU / "
        "Swish) written as a torch.autograd.Function with a hand-written backward",
        loss="compute_loss()",
        params="model",
        names=("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"),
        eps=1e-3,
        notes=(
            "float32 model and data (torch's default): the correct program agrees with a "
            "float64 reference only to ~2e-7, so a checker must use float32's noise floor "
            "and a step that round-off does not swamp (eps 1e-3: at 1e-5 the float32 "
            "round-off, ~7e-2 per entry, hides these bugs); "
            "gradients from loss.backward(); params named by named_parameters; biases "
            "non-zero"
        ),
        bugs=(
            Bug(
                "grad-is-sigmoid",
                "backward-chain",
                ("fc1.weight", "fc1.bias"),
                "SiLU's derivative written sigmoid(x), dropping the x * s * (1 - s) term",
            ),
            Bug(
                "grad-output-dropped",
                "backward-chain",
                ("fc1.weight", "fc1.bias"),
                "backward returns the local derivative without multiplying by grad_output",
            ),
            Bug(
                "sigmoid-sign-in-backward",
                "sign",
                ("fc1.weight", "fc1.bias"),
                "backward recomputes the sigmoid as 1 / (1 + exp(x)), the minus sign dropped "
                "(forward uses torch.sigmoid)",
            ),
        ),
    ),
    Program(
        "jax_custom_vjp.py",
        "jax-custom-vjp",
        "JAX documentation 'Custom derivative rules for JAX-transformable Python functions' "
        "(jax.custom_vjp with f_fwd / f_bwd, a numerically stable softplus)",
        forward="layer(x, W)",
        names=("x", "W"),
        notes=(
            "x and W are NumPy float64 arrays (moved in place), jax_enable_x64 set at the "
            "top; W is square (4 x 4); checked as a VJP with jax.vjp, which runs layer_bwd"
        ),
        bugs=(
            Bug(
                "dW-transposed",
                "layout",
                ("W",),
                "dW = dz.T @ x instead of x.T @ dz: transposed, unnoticed because W is square",
            ),
            Bug(
                "grad-from-output-residual",
                "backward-chain",
                ("x", "W"),
                "layer_fwd saves the output softplus(z) as the residual instead of z, so the "
                "backward rule takes sigmoid of the output",
            ),
            Bug(
                "sigmoid-sign",
                "sign",
                ("x", "W"),
                "softplus' derivative written 1 / (1 + exp(z)) = sigmoid(-z)",
            ),
        ),
    ),
    Program(
        "dlai_planar_net.py",
        "dlai-column",
        "deeplearning.ai 'Neural Networks and Deep Learning', week 3 assignment 'Planar data "
        "classification with one hidden layer': column convention, a parameters dict, "
        "forward_propagation / compute_cost / backward_propagation",
        loss="compute_cost(forward_propagation(X, parameters)[0], Y)",
        params="parameters",
        grads=(
            "{k[1:]: g for k, g in backward_propagation(parameters, "
            "forward_propagation(X, parameters)[1], X, Y).items()}"
        ),
        notes=(
            "column convention: X is (n_x, m) = (2, 8), Y (1, 8), W1 (n_h, n_x), biases "
            "(n, 1) columns; the user's gradient keys are 'dW1', 'db1', ... (the grads "
            "expression maps them to the params' keys); the cost is a Python float; tanh "
            "hidden layer, sigmoid output; biases non-zero"
        ),
        bugs=(
            Bug(
                "tanh-derivative-1-minus-A1",
                "backward-chain",
                ("W1", "b1"),
                "dZ1 = W2.T dZ2 * (1 - A1): the tanh derivative written 1 - a instead of 1 - a^2",
                report="DeepLearning.AI community forum (Course 1, week 3, planar data "
                "classification): backward_propagation fails its test because dZ1 uses "
                "(1 - A1) instead of (1 - np.power(A1, 2))",
            ),
            Bug(
                "dW2-missing-1/m",
                "scale",
                ("W2",),
                "dW2 = dZ2 A1.T without the 1/m (db2, dW1 and db1 have it)",
            ),
            Bug(
                "cost-missing-minus",
                "sign",
                ("W1", "b1", "W2", "b2"),
                "compute_cost returns +1/m * sum(logprobs), the log-likelihood, instead of "
                "its negative; the gradients are those of the cross-entropy",
                report="DeepLearning.AI community forum (Course 1, week 3): compute_cost "
                "gives a negative cost because the leading minus sign is missing",
            ),
            Bug(
                "cost-log-A2-twice",
                "loss-mismatch",
                ("W1", "b1", "W2", "b2"),
                "logprobs = log(A2) * Y + (1 - Y) * log(A2): the second term takes log(A2) "
                "instead of log(1 - A2); backward keeps dZ2 = A2 - Y",
                report="DeepLearning.AI community forum (Course 1, week 3): compute_cost "
                "'wrong value' threads where the (1 - Y) term is multiplied by np.log(A2) "
                "instead of np.log(1 - A2)",
            ),
        ),
    ),
    Program(
        "layer_objects_mlp.py",
        "layer-objects",
        "'Neural network from scratch' blog posts and tutorials built on layer objects: "
        "Dense / ReLU / Tanh classes with forward(x) and backward(grad), a Network holding "
        "the list of layers, softmax cross-entropy, L2 weight decay on W",
        loss="net.loss(X, y)",
        params="(net.layers[0].W, net.layers[0].b, net.layers[2].W, net.layers[2].b, "
        "net.layers[4].W, net.layers[4].b)",
        grads="net.gradients(X, y)",
        names=LAYER_OBJECT_NAMES,
        notes=(
            "params is a list of the layers' own arrays (W (n_in, n_out), b 1-D), named by "
            "the layer objects' attributes; the gradients come from net.gradients(X, y), "
            "which runs its own forward and backward pass and reads each Dense layer's "
            "stored dW, db; weight decay on W only; a ReLU after the square 5 x 5 layer; "
            "biases non-zero"
        ),
        bugs=(
            Bug(
                "db-local-not-self",
                "zeroed",
                ("layers[0].b", "layers[2].b", "layers[4].b"),
                "Dense.backward assigns the bias gradient to a local db instead of self.db, "
                "so every layer reports the zeros db was initialised with",
            ),
            Bug(
                "decay-on-bias",
                "regularization",
                ("layers[0].b", "layers[2].b", "layers[4].b"),
                "weight decay added to db as well as dW; the loss penalises W only",
            ),
            Bug(
                "tanh-backward-from-input",
                "backward-chain",
                ("layers[0].W", "layers[0].b"),
                "Tanh.backward uses 1 - x^2 of its cached input instead of 1 - tanh(x)^2 of "
                "its output",
            ),
            Bug(
                "label-subtracted-at-columns",
                "loss-mismatch",
                LAYER_OBJECT_NAMES,
                "softmax gradient written grad[:, y] -= 1 (every row, in each label's column) "
                "instead of grad[np.arange(N), y] -= 1 (one entry per row)",
                report="Stack Overflow questions on the CS231n-style softmax gradient: "
                "why dscores[range(num_examples), y] -= 1 and not dscores[:, y] -= 1 "
                "(NumPy fancy indexing of the correct-class scores)",
            ),
            Bug(
                "grad-not-divided-by-batch",
                "scale",
                LAYER_OBJECT_NAMES,
                "the loss is the mean over the batch, the softmax gradient is not divided by "
                "N (the weight decay term is right)",
                report="GitHub dennybritz/nn-from-scratch issue #13 'gradient checks do "
                "not match' (the loss is averaged over the batch, the gradients are not) "
                "https://github.com/dennybritz/nn-from-scratch/issues/13",
            ),
        ),
    ),
    Program(
        "logreg_l2_f.py",
        "f-theta",
        "scikit-learn-style multinomial logistic regression written for "
        "scipy.optimize.minimize(jac=True): loss_and_grad(w_flat, X, Y_onehot, alpha) with "
        "the intercept at the end of the vector and L2 on the coefficients only",
        loss="loss_and_grad(w_flat, X, Y_onehot, alpha)",
        params="w_flat",
        segments=(Segment("W", (4, 3)), Segment("b", (3,))),
        segments_typed=True,
        notes=(
            "one flat vector: W (n_features, n_classes) unrolled row-major, then the "
            "intercept b (n_classes,) last; the loss returns (loss, grad); the penalty "
            "0.5 * alpha * ||W||^2 skips the intercept; a __main__ block (not run on "
            "import) trains with scipy"
        ),
        bugs=(
            Bug(
                "intercept-grad-first",
                "layout",
                ("W", "b"),
                "the gradient concatenated as [grad_b, grad_W] while the vector unpacks W "
                "first and the intercept last",
            ),
            Bug(
                "alpha-on-intercept",
                "regularization",
                ("b",),
                "the penalty's gradient added as alpha * w_flat to the whole vector, "
                "intercept included; the loss penalises W only",
            ),
            Bug(
                "grad-sum-not-mean",
                "scale",
                ("W", "b"),
                "the loss is the mean cross-entropy, the data gradient the sum over the "
                "samples (not divided by n_samples; the penalty term is right)",
            ),
            Bug(
                "binary-cross-entropy-cost",
                "loss-mismatch",
                ("W", "b"),
                "the cost is the binary cross-entropy summed over the one-hot columns, "
                "-sum(Y log p + (1 - Y) log(1 - p)), of the softmax probabilities; the "
                "gradient is the categorical one, p - Y",
            ),
            Bug(
                "likelihood-gradient-sign",
                "sign",
                ("W", "b"),
                "the data gradient written X.T (Y - p), the log-likelihood's gradient from "
                "a gradient-ascent derivation, for a loss that is minimised",
            ),
        ),
    ),
    Program(
        "tied_autoencoder.py",
        "tied-autoencoder",
        "the deeplearning.net 'Denoising Autoencoders (dA)' tutorial (W, b, b_prime, tied "
        "weights W' = W.T, masking corruption), its Theano gradients written by hand",
        loss="cost_and_grads(params, x)",
        params="params",
        notes=(
            "W is used twice (encoder W, decoder W.T): its gradient is the sum of two "
            "terms; the corruption mask is drawn once at import"
        ),
        bugs=(
            Bug(
                "decoder-term-missing",
                "backward-chain",
                ("W",),
                "tied weights: W's gradient keeps the encoder's term and drops the "
                "decoder's (gW = gW_enc), which is computed and never used",
            ),
            Bug(
                "encoder-term-from-clean-input",
                "backward-chain",
                ("W",),
                "the encoder's term of W's gradient uses the clean input x where the "
                "encoder read the corrupted one",
            ),
            Bug(
                "visible-bias-not-averaged",
                "scale",
                ("b_prime",),
                "the visible bias' gradient summed over the examples, not averaged as the cost is",
            ),
        ),
    ),
)


def segments_flags(prog: Program) -> list[str]:
    """The check-code flags that name a flat vector's segments (and its setter):
    `--segments Theta1:5x5,Theta2:3x6 --order F [--set-params NN.setParams]`."""
    flags = []
    if prog.segments:
        orders = {s.order for s in prog.segments}
        if len(orders) != 1:
            raise ValueError(f"{prog.file}: check-code takes one --order for all segments")
        text = ",".join(f"{s.name}:{'x'.join(map(str, s.shape))}" for s in prog.segments)
        flags += ["--segments", text, "--order", orders.pop()]
    if prog.set_params:
        flags += ["--set-params", prog.set_params]
    return flags


_BUG_LINE = re.compile(r"^BUG = None(?=\s|$)", re.MULTILINE)


def program(file: str) -> Program:
    return next(p for p in PROGRAMS if p.file == file)


def variant_source(prog: Program, bug: str | None = None) -> str:
    """The program's source with its BUG switch set to `bug` (None: unchanged)."""
    source = (CORPUS_DIR / prog.file).read_text(encoding="utf-8")
    if bug is None:
        return source
    prog.bug(bug)  # raises StopIteration for an unknown id
    new, count = _BUG_LINE.subn(f"BUG = {bug!r}", source)
    if count != 1:
        raise ValueError(f"{prog.file}: expected one 'BUG = None' line, found {count}")
    return new


def write_variant(prog: Program, bug: str | None, folder: Path) -> Path:
    """Write the variant (same file name) and its helper modules into folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for helper in prog.helpers:
        shutil.copy(CORPUS_DIR / helper, folder / helper)
    path = folder / prog.file
    path.write_text(variant_source(prog, bug), encoding="utf-8")
    return path


def load(prog: Program, bug: str | None = None) -> dict:
    """Run the variant as a module in a fresh namespace, its folder importable; return
    the namespace. Helper modules imported from the corpus folder are not left in
    sys.modules."""
    path = CORPUS_DIR / prog.file
    module = types.ModuleType(path.stem)
    module.__file__ = str(path)
    before = set(sys.modules)
    sys.path.insert(0, str(CORPUS_DIR))
    try:
        exec(compile(variant_source(prog, bug), str(path), "exec"), module.__dict__)
    finally:
        sys.path.remove(str(CORPUS_DIR))
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if Path(origin).parent == CORPUS_DIR:
                del sys.modules[name]
    return module.__dict__


def bug_lines(prog: Program, bug: str) -> tuple[int, ...]:
    """The lines a diagnosis should point at for `bug`, read from the program's own
    switch: the statements that run only in the buggy variant (`if BUG == id:` bodies,
    the `else` of `if BUG != id:`, a statement holding `... if BUG == id else ...`);
    for an omission (`if BUG != id:` with no else) the statements just before and after
    the skipped block, since the missing line is between them."""
    tree = ast.parse((CORPUS_DIR / prog.file).read_text(encoding="utf-8"))
    found: list[int] = []
    for body in _bodies(tree):
        for node in body:
            if isinstance(node, ast.If) and _tests_bug(node.test, bug, ast.Eq):
                found += _statement_lines(node.body)
            elif isinstance(node, ast.If) and _tests_bug(node.test, bug, ast.NotEq):
                if node.orelse:
                    found += _statement_lines(node.orelse)
                else:
                    found += _neighbours(tree, node)
            elif not isinstance(node, ast.If) and any(
                isinstance(e, ast.IfExp) and _tests_bug(e.test, bug, ast.Eq) for e in ast.walk(node)
            ):
                found.append(node.lineno)
    return tuple(sorted(set(found)))


def _neighbours(tree, node) -> list[int]:
    """The statements before and after `node` in its block; for an `elif` alone in its
    block, those of the whole `if` chain."""
    for body in _bodies(tree):
        if node in body:
            i = body.index(node)
            near = body[max(i - 1, 0) : i] + body[i + 1 : i + 2]
            if near:
                return [n.lineno for n in near]
            parent = next(n for n in ast.walk(tree) if body is getattr(n, "orelse", None))
            return _neighbours(tree, parent)
    return []


def _bodies(tree):
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield body


def _tests_bug(test, bug: str, op) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "BUG"
        and isinstance(test.ops[0], op)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == bug
    )


def _statement_lines(body) -> list[int]:
    """The simple statements of a block, nested blocks' included."""
    return [
        n.lineno
        for stmt in body
        for n in ast.walk(stmt)
        if isinstance(n, ast.stmt) and not isinstance(n, (ast.If, ast.For, ast.While))
    ]
