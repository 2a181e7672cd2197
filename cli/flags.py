"""Flags more than one command takes, with their types, and what they turn into.

The problem flags become a Scenario here, through the same text parsers the app and
the codecs use (`engine.scenario.parse`); only the error names the flag.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from engine.gradcheck.compare import CheckResult
from engine.network.model import validate_eps
from engine.params.structure import DTYPE_NAMES
from engine.scenario.parse import parse_layer_sizes
from engine.scenario.settings import Scenario
from engine.scenario.workload import MAX_SECONDS, MAX_SEEDS
from presentation.exports import flagged_rows

TABLE_CHOICES = ("auto", "all", "diverging", "none")
FULL_TABLE_LIMIT = 200  # parameters: "auto" prints every row up to here, else the flagged ones


def bounded_float(low: float, high: float):
    """An argparse type: a finite number of seconds in (low, high] (argparse names the flag)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not (math.isfinite(value) and low < value <= high):
            bound = f" and at most {high:g}" if math.isfinite(high) else ""
            raise argparse.ArgumentTypeError(
                f"must be a finite number of seconds above {low:g}{bound}, got {text!r}"
            )
        return value

    return parse


def seed_count(text: str) -> int:
    """An argparse type: how many seeds, 1 to MAX_SEEDS."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_SEEDS:,}, got {text!r}")
    return value


def add_problem_flags(
    parser: argparse.ArgumentParser, flags=("sizes", "m", "seed", "lambda", "eps")
) -> None:
    """The scenario's problem settings; `scenario_from_flags` reads them back."""
    defaults = Scenario()
    helps = {
        "sizes": (
            ",".join(map(str, defaults.layer_sizes)),
            "layer sizes, inputs first, comma-separated (default: %(default)s, the seed's)",
        ),
        "m": (defaults.m, "number of examples (default: %(default)s)"),
        "seed": (defaults.seed, "random seed (default: %(default)s)"),
        "lambda": (defaults.lamb, "regularisation strength (default: %(default)s)"),
        "eps": (defaults.eps, "finite-difference step (default: %(default)s)"),
    }
    for flag in flags:
        default, text = helps[flag]
        dest = "lamb" if flag == "lambda" else flag
        parser.add_argument(f"--{flag}", dest=dest, default=default, help=text)


def scenario_from_flags(args: argparse.Namespace, **settings) -> Scenario:
    """The validated scenario the problem flags on `args` name, plus the `settings` a
    command gives itself; whatever neither names keeps the Scenario's default.

    ValueError names the first bad flag or setting.
    """
    try:
        layer_sizes = parse_layer_sizes(args.sizes)
    except ValueError:
        raise ValueError(
            f"--sizes must be whole numbers separated by commas, got {args.sizes!r}"
        ) from None
    given = {name: getattr(args, name) for name in ("m", "seed", "lamb", "eps") if name in args}
    return Scenario.create(layer_sizes=layer_sizes, **given, **settings)


def add_contract_flags(parser: argparse.ArgumentParser) -> None:
    """check-code's general contract: Python expressions evaluated in the file's namespace."""
    group = parser.add_argument_group(
        "your code as it is (selects this mode)",
        "Python expressions evaluated in FILE's namespace after it ran; the check runs at "
        "your own point and data (the problem flags below do not apply).",
    )
    group.add_argument(
        "--loss",
        metavar="EXPR",
        help="the loss: a number, a 0-d or 1-element array, or (loss, grads), e.g. "
        "'net.loss(X, y)'",
    )
    group.add_argument(
        "--params",
        metavar="EXPR",
        help="the arrays to check, perturbed in place: an array, a dict / list / tuple of "
        "arrays, or an object whose attributes hold them, e.g. 'net.params'",
    )
    group.add_argument(
        "--grads",
        metavar="EXPR",
        help="the gradient, evaluated after the loss, when the loss does not return it: "
        "the params' structure, or one flat vector in their order",
    )
    group.add_argument(
        "--forward",
        metavar="CALL",
        help="instead of --loss/--params, a layer's forward call, e.g. "
        "'affine_forward(x, w, b)': its float inputs (x included) are checked as a "
        "vector-Jacobian product, sum(output * dout) for a random dout; the backward is "
        "--backward, else the twin by name (affine_backward(dout, cache)), or autograd for "
        "torch tensors and jax.vjp for JAX functions",
    )
    group.add_argument(
        "--backward",
        metavar="EXPR",
        help="with --forward: the backward function, called as backward(dout, cache) "
        "(default: the forward's name with forward -> backward)",
    )
    group.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        help="the check's precision (default: the params': float32 if any is float32)",
    )
    group.add_argument(
        "--segments",
        metavar="NAME:SHAPE,...",
        help="cut one flat params vector into named arrays, e.g. 'Theta1:5x4,Theta2:3x6' "
        "(sizes must add up to its length; default: found from ex4's or the founding "
        "question's layer sizes in the loss call, else one array)",
    )
    group.add_argument(
        "--order",
        choices=("C", "F"),
        help="how the segments are unrolled: C row-major, F column-major (Octave's (:)); "
        "default: F where your reshape of the vector says order='F', else C",
    )
    group.add_argument(
        "--set-params",
        metavar="EXPR",
        help="a setter taking the flat vector, e.g. 'NN.setParams', when --params is a "
        "getter returning a copy (default: the getter's set twin, e.g. NN.getParams() -> "
        "NN.setParams)",
    )


def contract_eps(args: argparse.Namespace) -> float:
    """--eps for the general contract (its problem flags do not apply); ValueError names it."""
    try:
        return validate_eps(float(args.eps))
    except (TypeError, ValueError):
        raise ValueError(f"--eps must be a small positive number, got {args.eps!r}") from None


def add_budget_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-seconds",
        type=bounded_float(0.0, math.inf),
        default=MAX_SECONDS,
        help="refuse work estimated above this many CPU seconds, as the app does "
        "(default: %(default)s; memory stays capped)",
    )


def add_dask_flag(parser: argparse.ArgumentParser, help: str) -> None:
    """A plain switch: the CLI never takes a scheduler address from its arguments (one
    comes only from the GRADSCOPE_DASK_SCHEDULER setting, see engine.runners.cluster)."""
    parser.add_argument("--dask", action="store_true", help=help)


def add_table_flag(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument("--table", choices=TABLE_CHOICES, default="auto", help=help)


def rows_to_show(result: CheckResult, choice: str) -> np.ndarray:
    """The parameter rows a `--table` choice prints (and puts into the JSON)."""
    if choice == "none":
        return np.array([], dtype=int)
    if choice == "all" or (choice == "auto" and result.layout.n_params <= FULL_TABLE_LIMIT):
        return np.arange(result.layout.n_params)
    return flagged_rows(result)
