"""Where each parameter lives: the unrolled vector versus the weight matrices.

Every view in GradScope speaks about a gradient entry as "Theta2 row 1 (output 1)
column 0 (bias)", never as "element 21": this module is the one place that knows
how the flat parameter vector maps onto named matrices, rows, columns and units.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


def validate_layer_sizes(layer_sizes) -> tuple[int, ...]:
    """Return the sizes as a tuple of ints, or raise ValueError naming `layer_sizes`."""
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise ValueError(
            f"layer_sizes must be a sequence of integers, got {layer_sizes!r}"
        ) from None
    checked = []
    for size in sizes:
        try:
            whole = not isinstance(size, bool) and float(size).is_integer()
        except (TypeError, ValueError):
            whole = False
        if not whole:
            raise ValueError(f"layer_sizes must hold whole numbers, got {sizes!r}")
        if int(float(size)) < 1:
            raise ValueError(f"layer_sizes must all be at least 1, got {sizes!r}")
        checked.append(int(float(size)))
    if len(checked) < 2:
        raise ValueError(
            f"layer_sizes needs at least two layers (inputs and outputs), got {sizes!r}"
        )
    return tuple(checked)


def network_shapes(layer_sizes) -> tuple[tuple[int, int], ...]:
    """Theta_l is s_{l+1} x (s_l + 1): one row per unit fed, column 0 for the bias."""
    sizes = validate_layer_sizes(layer_sizes)
    return tuple((n_out, n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))


@dataclass(frozen=True)
class Layout:
    """The shapes of the weight matrices, in unrolling order, and what their axes mean.

    `is_network` is True when the shapes chain like a layered network
    (rows of one matrix + 1 == columns of the next); only then are rows and columns
    named after units ("hidden 3", "input 2", "bias").
    """

    shapes: tuple[tuple[int, int], ...]

    @classmethod
    def from_layer_sizes(cls, layer_sizes) -> Layout:
        return cls(network_shapes(layer_sizes))

    @classmethod
    def from_shapes(cls, shapes) -> Layout:
        try:
            checked = tuple((int(rows), int(cols)) for rows, cols in shapes)
        except (TypeError, ValueError):
            raise ValueError(
                f"shapes must be a sequence of (rows, columns) pairs, got {shapes!r}"
            ) from None
        if not checked:
            raise ValueError("shapes must name at least one weight matrix")
        if any(rows < 1 or cols < 1 for rows, cols in checked):
            raise ValueError(f"shapes must have positive dimensions, got {checked!r}")
        return cls(checked)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"Theta{k + 1}" for k in range(len(self.shapes)))

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        return tuple(rows * cols for rows, cols in self.shapes)

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        return tuple(int(x) for x in np.concatenate([[0], np.cumsum(self.sizes)]))

    @property
    def n_params(self) -> int:
        return self.offsets[-1]

    @cached_property
    def is_network(self) -> bool:
        return all(
            rows + 1 == next_cols
            for (rows, _), (_, next_cols) in zip(self.shapes[:-1], self.shapes[1:])
        )

    @cached_property
    def layer_sizes(self) -> tuple[int, ...] | None:
        if not self.is_network:
            return None
        return (self.shapes[0][1] - 1,) + tuple(rows for rows, _ in self.shapes)

    def split(self, vector: np.ndarray) -> list[np.ndarray]:
        """Cut a flat vector into the matrices, row-major (views, not copies)."""
        vector = np.asarray(vector)
        if vector.shape != (self.n_params,):
            raise ValueError(
                f"expected a vector of {self.n_params} parameters, got shape {vector.shape}"
            )
        return [
            vector[start:stop].reshape(shape)
            for start, stop, shape in zip(self.offsets[:-1], self.offsets[1:], self.shapes)
        ]

    @staticmethod
    def unroll(matrices) -> np.ndarray:
        """The seed's layout: each matrix raveled row-major, concatenated in order."""
        return np.concatenate([np.asarray(m).ravel() for m in matrices])

    def locate(self, index: int) -> tuple[int, int, int]:
        """(matrix number, row, column) of a flat index."""
        if not 0 <= index < self.n_params:
            raise IndexError(f"parameter index {index} outside 0..{self.n_params - 1}")
        k = int(np.searchsorted(self.offsets, index, side="right")) - 1
        row, col = divmod(index - self.offsets[k], self.shapes[k][1])
        return k, row, col

    # --- words for axes -----------------------------------------------------------

    def _layer_name(self, layer: int, unit: int) -> str:
        """Layer 0 is the input, len(shapes) the output; in between, hidden layers."""
        n_layers = len(self.shapes)
        if layer == 0:
            return f"input {unit}"
        if layer == n_layers:
            return f"output {unit}"
        if n_layers == 2:
            return f"hidden {unit}"
        return f"hidden{layer} unit {unit}"

    def row_label(self, k: int, row: int) -> str:
        if not self.is_network:
            return f"row {row}"
        return self._layer_name(k + 1, row)

    def column_label(self, k: int, col: int) -> str:
        if col == 0:
            return "bias"
        if not self.is_network:
            return f"column {col}"
        return self._layer_name(k, col - 1)

    def row_labels(self, k: int) -> list[str]:
        return [self.row_label(k, r) for r in range(self.shapes[k][0])]

    def column_labels(self, k: int) -> list[str]:
        return [self.column_label(k, c) for c in range(self.shapes[k][1])]

    def describe(self, index: int) -> str:
        """E.g. 'Theta2 row 1 (output 1) column 0 (bias)'."""
        k, row, col = self.locate(index)
        return self.describe_entry(k, row, col)

    def describe_entry(self, k: int, row: int, col: int) -> str:
        row_word = self.row_label(k, row)
        col_word = self.column_label(k, col)
        row_part = f"row {row}" if row_word == f"row {row}" else f"row {row} ({row_word})"
        col_part = f"column {col}" if col_word == f"column {col}" else f"column {col} ({col_word})"
        return f"{self.names[k]} {row_part} {col_part}"
