"""Where each parameter lives: the unrolled vector versus the named arrays.

Every view in GradScope speaks about a gradient entry as "Theta2 row 1 (output 1)
column 0 (bias)" (the founding network) or "W1[2, 3]" (the user's own arrays), never
as "element 21": this module is the one place that knows how the flat parameter
vector maps onto named arrays, their indices, and (for the founding network) rows,
columns and units.
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


def _check_array_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"array names must be non-empty strings, got {name!r}")
    return name


def shape_text(shape) -> str:
    """'4x10' for a matrix, '(10,)' for a vector, '()' for a scalar, '(2, 3, 4)' beyond."""
    shape = tuple(shape)
    if len(shape) == 2:
        return f"{shape[0]}x{shape[1]}"
    return str(shape)


@dataclass(frozen=True)
class Layout:
    """The shapes of the parameter arrays, in unrolling order, and what their axes mean.

    Two kinds of layout:
    - the founding network's (`from_layer_sizes`, `from_shapes`): 2-D matrices named
      Theta1..K, column 0 the bias; `founding` is True. `is_network` is True when the
      shapes chain like a layered network (rows of one matrix + 1 == columns of the
      next); only then are rows and columns named after units ("hidden 3", "input 2").
    - the user's own arrays (`from_arrays`): any ndim (0-D scalars included), the
      user's names ("W1", "b1", "weights[0]"); entries are described as `W1[2, 3]`,
      and nothing is called a bias column, a unit or an output layer.
    Both unroll row-major, array after array in the given order.
    """

    shapes: tuple[tuple[int, ...], ...]
    array_names: tuple[str, ...] | None = None

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

    @classmethod
    def from_arrays(cls, names, shapes) -> Layout:
        """The user's arrays: `names[i]` has shape `shapes[i]` (any ndim, () for a scalar).

        E.g. `Layout.from_arrays(["W1", "b1"], [(4, 10), (10,)])`; unrolled row-major
        in the given order.
        """
        if isinstance(names, str):
            raise ValueError(f"names must be a sequence of strings, got {names!r}")
        try:
            names = tuple(_check_array_name(name) for name in names)
        except TypeError:
            raise ValueError(f"names must be a sequence of strings, got {names!r}") from None
        try:
            shapes = tuple(shapes)
            checked = []
            for shape in shapes:
                if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
                    shape = (shape,)
                dims = []
                for d in shape:
                    if isinstance(d, bool) or not float(d).is_integer():
                        raise TypeError
                    dims.append(int(d))
                checked.append(tuple(dims))
        except (TypeError, ValueError):
            raise ValueError(
                f"shapes must be a sequence of shapes (tuples of integers), got {shapes!r}"
            ) from None
        if not names:
            raise ValueError("a layout needs at least one array")
        if len(names) != len(checked):
            raise ValueError(f"got {len(names)} names but {len(checked)} shapes: {list(names)!r}")
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"array names must be unique, got {twice!r} more than once")
        for name, shape in zip(names, checked):
            if any(d < 1 for d in shape):
                raise ValueError(f"array {name!r} has no entries (shape {shape!r})")
        return cls(tuple(checked), names)

    @property
    def founding(self) -> bool:
        """True for the founding network's Theta matrices (bias in column 0).

        Only then do row/column/unit/"bias column"/"output layer" words apply.
        """
        return self.array_names is None

    @property
    def names(self) -> tuple[str, ...]:
        if self.array_names is not None:
            return self.array_names
        return tuple(f"Theta{k + 1}" for k in range(len(self.shapes)))

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(np.prod(shape, dtype=np.int64)) for shape in self.shapes)

    @property
    def ndims(self) -> tuple[int, ...]:
        return tuple(len(shape) for shape in self.shapes)

    def shape_text(self, k: int) -> str:
        """'4x10', '(10,)', '()' or '(2, 3, 2, 2)' for array k."""
        return shape_text(self.shapes[k])

    def describe_arrays(self) -> str:
        """Every array with its shape, in order: 'W1 4x10, b1 (10,), W2 10x3, b2 (3,)'."""
        return ", ".join(
            f"{name} {shape_text(shape)}" for name, shape in zip(self.names, self.shapes)
        )

    def is_bias(self, k: int) -> bool:
        """Array k of the user's layout is a bias vector (1-D); never true when founding."""
        return not self.founding and len(self.shapes[k]) == 1

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        return tuple(int(x) for x in np.concatenate([[0], np.cumsum(self.sizes)]))

    @property
    def n_params(self) -> int:
        return self.offsets[-1]

    @cached_property
    def is_network(self) -> bool:
        if not self.founding:
            return False
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
        """Cut a flat vector into the arrays, row-major (views, not copies)."""
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

    def position(self, index: int) -> tuple[int, tuple[int, ...]]:
        """(array number, index tuple within that array) of a flat index, any ndim."""
        index = int(index)
        if not 0 <= index < self.n_params:
            raise IndexError(f"parameter index {index} outside 0..{self.n_params - 1}")
        k = int(np.searchsorted(self.offsets, index, side="right")) - 1
        within = index - self.offsets[k]
        shape = self.shapes[k]
        if not shape:
            return k, ()
        return k, tuple(int(i) for i in np.unravel_index(within, shape))

    def locate(self, index: int) -> tuple[int, int, int]:
        """(matrix number, row, column) of a flat index in a 2-D array.

        For arrays of other ndim use `position`; this raises ValueError there.
        """
        k, where = self.position(index)
        if len(where) != 2:
            raise ValueError(f"{self.describe(index)} is in a {len(where)}-D array; use position()")
        return k, where[0], where[1]

    def entry_name(self, k: int, where) -> str:
        """The user's spelling of one entry: 'W1[2, 3]', 'b1[4]', 's' for a 0-D array."""
        where = tuple(int(i) for i in where)
        if not where:
            return self.names[k]
        return f"{self.names[k]}[{', '.join(str(i) for i in where)}]"

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
        if col == 0 and self.founding:
            return "bias"
        if not self.is_network:
            return f"column {col}"
        return self._layer_name(k, col - 1)

    def row_labels(self, k: int) -> list[str]:
        """Founding: one word per row ('hidden 3'). User arrays: the row index of a 2-D array
        ('row 3'); a 1-D array is one row ('b1'); 0-D too; 3-D+ arrays: their leading index."""
        shape = self.shapes[k]
        if self.founding or len(shape) == 2:
            return [self.row_label(k, r) for r in range(shape[0])]
        if len(shape) < 2:
            return [self.names[k]]
        return [f"[{i}]" for i in range(shape[0])]

    def column_labels(self, k: int) -> list[str]:
        """Founding: 'bias', 'input 2'... User arrays: 'column 3' for 2-D, the index for
        1-D ('[4]'), the array's name for 0-D; 3-D+: the trailing index."""
        shape = self.shapes[k]
        if self.founding or len(shape) == 2:
            return [self.column_label(k, c) for c in range(shape[1])]
        if not shape:
            return [self.names[k]]
        return [f"[{i}]" for i in range(shape[-1])]

    def describe(self, index: int) -> str:
        """E.g. 'Theta2 row 1 (output 1) column 0 (bias)', or 'W1[2, 3]' for user arrays."""
        k, where = self.position(index)
        if not self.founding:
            return self.entry_name(k, where)
        return self.describe_entry(k, *where)

    def describe_entry(self, k: int, row: int, col: int) -> str:
        if not self.founding:
            return self.entry_name(k, (row, col))
        row_word = self.row_label(k, row)
        col_word = self.column_label(k, col)
        row_part = f"row {row}" if row_word == f"row {row}" else f"row {row} ({row_word})"
        col_part = f"column {col}" if col_word == f"column {col}" else f"column {col} ({col_word})"
        return f"{self.names[k]} {row_part} {col_part}"
