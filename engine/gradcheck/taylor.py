"""Each example's loss as a polynomial in one unit's shift, without re-running the layers.

Moving Theta_k[i, j] by s e shifts unit i of layer k+1 by t = s e a[n, j] in example n,
and the finite difference needs L_n(t) - L_n(0) at every such t. Re-running the layers
above unit i for each t costs a forward pass of those layers per unit; this module gets
the function's Taylor coefficients in t instead, for every unit at once:

* each elementwise piece of the forward pass (the hidden activation, the per-output
  loss) is sampled around its own operating point at a few Chebyshev-Lobatto nodes and
  interpolated: local coefficients of g(z + d) - g(z), from values of the
  implementation's own function, so a bug in it is in the numbers as in a finite
  difference, and no derivative formula enters;
* those series are composed through the weight matrices above as polynomials in t,
  truncated at a degree whose remainder is below round-off for the reach of the shifts.

The first matrix above the unit turns the shift into a rank-one change of the next
layer, so that step is a few matrix products over the examples; layers further up carry
one polynomial per (example, unit, next unit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

ROUND_OFF_REACH = 1e-15  # (reach)^(dropped order) below this is below a cost's round-off
DEGREES = (3, 5, 7, 9)  # past 9, the fit's Vandermonde amplifies round-off 1,000-fold
SAFE_FIT_RADIUS = 1e-7  # fits at a smaller radius would lose d to z + d's rounding
SHARED_FIT_REACH = 1e-3  # one fit may serve two reaches up to this: 1e-3^5 is round-off
# Per chunk of units above a hidden layer, in elements of the two largest arrays a chunk
# holds at once. On 400-100-50-10 the exact check's peak is then 3.5 MB, as before the
# series; 2^19 took it to 3.9 MB (10% faster warm, a first call 1.3 ms slower).
SERIES_CHUNK_ELEMENTS = 120_000


def taylor_degree(reach: float, central: bool) -> int:
    """A first guess: the lowest degree whose dropped terms (relative reach**order)
    are round-off; `next_term` then checks it on the actual coefficients.

    A central stencil cancels the even terms, so degree R leaves reach**(R+1) behind;
    a one-sided one leaves reach**R. Past the table, the highest degree.
    """
    for degree in DEGREES:
        dropped_order = degree + 1 if central else degree
        if reach**dropped_order <= ROUND_OFF_REACH:
            return degree
    return DEGREES[-1]


def next_term(sizes, central: bool) -> float:
    """The size of the first dropped term the stencil sees, extrapolated.

    sizes[r-1] bounds the degree-r term. Within the loss's radius of convergence the
    terms fall geometrically, so T_{R+s} ~ T_R^2 / T_{R-s}, s = 2 for a central
    stencil (odd terms only) and 1 otherwise. Terms that do not fall give infinity.
    """
    step = 2 if central else 1
    last, before = float(sizes[-1]), float(sizes[-1 - step])
    if last == 0.0:
        return 0.0
    if before == 0.0 or last >= before:
        return float("inf")
    return last * last / before


def _fit_matrix(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev-Lobatto nodes but the middle one (exactly 0: g(z) - g(z) = 0 needs no
    evaluation), and the matrix taking g's changes there to coefficients 1..R."""
    count = degree + 2
    nodes = np.cos(np.pi * np.arange(count) / (count - 1))
    nodes[np.abs(nodes) < 1e-12] = 0.0
    inverse = np.linalg.inv(np.vander(nodes, count, increasing=True))
    moved = nodes != 0.0
    return nodes[moved], inverse[1 : degree + 1][:, moved]


_FITS = {degree: _fit_matrix(degree) for degree in DEGREES}


def local_series(g: Callable, z: np.ndarray, radius, degree: int, unit=1.0, base=None):
    """Coefficients 1..degree of g(z + d) - g(z) in powers of d / unit, per entry of z.

    `radius` (a scalar or an array like z) is the reach |d| <= radius the series serves:
    g is sampled at z + radius * node and interpolated. `base` is g(z) if known.
    Returns shape (degree, *z.shape).
    """
    nodes, to_coefficients = _FITS[degree]
    shape = (-1,) + (1,) * z.ndim
    changes = g(z[None] + nodes.reshape(shape) * radius)
    changes -= g(z) if base is None else base
    coefficients = (to_coefficients @ changes.reshape(nodes.size, -1)).reshape((degree,) + z.shape)
    if isinstance(radius, np.ndarray):
        coefficients *= (unit / radius) ** np.arange(1, degree + 1).reshape(shape)
    elif radius != unit:
        coefficients *= np.array([(unit / radius) ** r for r in range(1, degree + 1)]).reshape(
            shape
        )
    return coefficients


def times(a: np.ndarray, b: np.ndarray, a_from: int = 1) -> np.ndarray:
    """Product of two polynomials without constant term, truncated at their degree.

    Coefficient arrays have shape (R, ...), row r-1 holding the coefficient of tau**r;
    `a_from` is a's lowest non-zero degree (the product starts at a_from + 1).
    """
    degree = a.shape[0]
    out = np.empty(a.shape if a.shape == b.shape else np.broadcast_shapes(a.shape, b.shape))
    out[:a_from] = 0.0
    for total in range(a_from + 1, degree + 1):
        first = total - a_from  # b's degree in the first product
        np.multiply(a[a_from - 1 : a_from], b[first - 1 : first], out=out[total - 1 : total])
        for p in range(a_from + 1, total):
            out[total - 1] += a[p - 1] * b[total - p - 1]
    return out


def powers_of(u: np.ndarray):
    """u, u**2, ..., u**R, each truncated at degree R, one at a time (u**q starts at
    degree q, so its rows below q are zero)."""
    power = u
    yield power
    for q in range(2, u.shape[0] + 1):
        power = times(power, u, a_from=q - 1)
        yield power


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """sum_q outer[q] * inner(tau)**q: the outer series (in d) at d = inner(tau)."""
    terms = (outer[q] * power for q, power in enumerate(powers_of(inner)))
    total = next(terms)
    for term in terms:
        total += term
    return total


def reach_of(polynomial: np.ndarray) -> np.ndarray:
    """An upper bound of |p(tau)| for |tau| <= 1, per entry."""
    return np.abs(polynomial).sum(axis=0)


def reach_in_u(polynomial: np.ndarray, u_reach: np.ndarray) -> np.ndarray:
    """A bound of |p(u)| per (example, entry, unit) for |u| <= u_reach[example, unit]."""
    total = np.zeros(polynomial.shape[1:])
    for r, row in enumerate(polynomial, start=1):
        total += np.abs(row) * (u_reach[:, None, :] ** r)
    return total


def largest_in_u(polynomial: np.ndarray, u_reach: float) -> float:
    """A bound of |p(u)| over all entries for |u| <= u_reach."""
    return float(sum(np.abs(row).max() * u_reach**r for r, row in enumerate(polynomial, 1)))


def summed_over_outputs(outer: np.ndarray, inner: np.ndarray, from_power: int = 1):
    """sum_c of outer's series (R, m, c) at inner (R, m, c, units): (R, m, units),
    its terms outer[q] inner^q from q = from_power on."""
    degree = inner.shape[0]
    out = np.zeros((degree, inner.shape[1], inner.shape[3]))
    for q, power in enumerate(powers_of(inner)):  # power starts at degree q+1
        if q + 1 >= from_power:
            out[q:] += np.matmul(outer[q][None, :, None, :], power[q:])[:, :, 0, :]
    return out


def largest_reach(polynomial: np.ndarray) -> float:
    """An upper bound of |p(tau)| for |tau| <= 1 over all entries."""
    return float(np.abs(polynomial).sum(axis=0).max())


class RankOne(NamedTuple):
    """The first step above a unit: the next layer's activation series, the weights
    above it, and how many P_q to make as products (see `_rank_one_step`)."""

    beta: np.ndarray
    above: np.ndarray
    products: int


class LossSeries:
    """The forward pass's pieces, for Taylor series of the loss in one unit's shift.

    `f` is the hidden activation, `loss(z_out)` the per-(example, output) loss; Z[l] are
    the pre-activations and thetas[l] the weight matrices (bias in column 0).
    `kinked`: the activation has a kink at 0 (ReLU); a series is then never stretched
    across it, and the units whose reach would cross one are reported.
    """

    def __init__(self, f, loss, Z, values, thetas, kinked: bool):
        self.f, self.loss, self.Z, self.values = f, loss, Z, values
        self.thetas, self.kinked = thetas, kinked
        self._loss_fits = {}  # degree -> (radius, the loss's series in d)

    def _loss_series(self, reach: float, degree: int, shared_reach: float = 0.0):
        """The loss's series in d at the output, for |d| <= reach.

        One fit serves the output layer's own shifts and the layer below's when both
        reaches are small: made at the larger one (`shared_reach` is the other), whose
        fit error (radius^(degree+2)) is then below round-off for both, the
        cross-entropy is evaluated once instead of twice (a tenth of a small check).
        """
        cached = self._loss_fits.get(degree)
        if cached is not None and reach <= cached[0] <= max(reach, SHARED_FIT_REACH):
            return cached[1]
        shared = shared_reach if shared_reach <= SHARED_FIT_REACH else 0.0
        radius = max(reach, shared, SAFE_FIT_RADIUS)
        series = self._series(-1, radius, degree)
        self._loss_fits[degree] = (radius, series)
        return series

    def _series(self, layer: int, radius, degree: int, unit=1.0) -> np.ndarray:
        """The local series of layer `layer`'s piece: the activation, or the loss on top."""
        layer %= len(self.Z)
        g = self.loss if layer == len(self.Z) - 1 else self.f
        return local_series(g, self.Z[layer], radius, degree, unit, base=self.values[layer])

    def coefficients(self, k, reach: float, degree: int, chunk_elements: int, loss_reach=0.0):
        """(R, m, units) coefficients of L_n(reach tau) - L_n(0), unit i of Z[k] shifted.

        Also returns a bool per unit: some shift in reach may cross a ReLU kink, so the
        series does not hold there (the caller evaluates those units another way).
        `loss_reach` is the output layer's own reach, for one fit of the loss to serve it.
        """
        last = len(self.thetas) - 1
        if k == last:
            own = self._loss_series(reach, degree)
            scaled = own * np.array([reach**r for r in range(1, degree + 1)])[:, None, None]
            return scaled, np.zeros(self.Z[k].shape[1], dtype=bool)
        if self.kinked:
            radius, kinky = self._kink_safe(self.Z[k], np.full(self.Z[k].shape, reach))
        else:
            radius, kinky = reach, np.zeros(self.Z[k].shape[1], dtype=bool)
        u = self._series(k, radius, degree, unit=reach)
        weights = self.thetas[k + 1][:, 1:]  # (next units, units)
        if k + 1 == last:
            return self._into_the_loss(u, weights, loss_reach), kinky
        u_reach = reach_of(u)  # (m, units): |u| <= u_reach for |tau| <= 1
        step, crossing = self._rank_one_step(k, u_reach, weights, degree)
        kinky |= crossing
        units = u.shape[2]
        widest = max(z.shape[1] for z in self.Z[k + 2 :])
        # d and the power of it being made are (degree, m, widest, chunk) each
        chunk = max(
            1, min(chunk_elements, SERIES_CHUNK_ELEMENTS) // (2 * degree * u.shape[1] * widest)
        )
        out = np.empty_like(u)
        for start in range(0, units, chunk):
            part = slice(start, min(start + chunk, units))
            out[:, :, part], crossed = self._through_layers(
                k, u[:, :, part], u_reach[:, part], weights[:, part], step
            )
            kinky[part] |= crossed
        return out, kinky

    def _into_the_loss(self, u, weights, loss_reach: float):
        """Unit feeding the output: L = sum_c sum_q gamma_q[n, c] (w_ci u)^q."""
        reach = np.abs(weights).max() * largest_reach(u)
        gamma = self._loss_series(reach, u.shape[0], shared_reach=loss_reach)
        out = np.zeros_like(u)
        for q, power in enumerate(powers_of(u)):  # u**(q+1) starts at degree q+1
            out[q:] += (gamma[q] @ weights ** (q + 1))[None] * power[q:]
        return out

    def _rank_one_step(self, k, u_reach, weights, degree):
        """Layer k+2's pre-activation moves by sum_q P_q u^q, P_q = mixed_q @ W**q.

        mixed_q[(n, c), h] = Theta_{k+2}[c, h] beta_q[n, h], beta the activation's
        series at layer k+1, where unit i moves entry h by W[h, i] u. When layer k+2 is
        the output, P_R enters the loss only linearly (`_through_layers`): it is not
        made. mixed_q is made per chunk of units (kept, it held a quarter of the peak).
        """
        z_next = self.Z[k + 1]
        if self.kinked:
            change = np.abs(weights)[None] * u_reach[:, None, :]  # (m, next, units)
            radius, crossing = self._kink_safe(z_next, change)
        else:
            radius = max(np.abs(weights).max() * u_reach.max(), SAFE_FIT_RADIUS)
            crossing = np.zeros(weights.shape[1], dtype=bool)
        beta = self._series(k + 1, radius, degree)  # (R, m, next)
        above = self.thetas[k + 2][:, 1:]  # (outputs of the next layer, next)
        direct = k + 2 == len(self.thetas) - 1
        return RankOne(beta, above, degree - 1 if direct else degree), crossing

    def _through_layers(self, k, u, u_reach, weights, step):
        """Unit feeding hidden layers: the loss as a series in u, the unit's change of
        activation, composed with u(tau) at the end.

        The rank-one step is one matrix product per power of u; higher layers compose
        one series per (example, next unit, unit). Into the output directly, the
        loss's linear term sum_c gamma_1 P_q is ((gamma_1 Theta) * beta_q) @ W**q, a
        product over the next layer alone, and P_R is needed nowhere else.
        """
        degree, m, units = u.shape
        d = np.empty((degree, m, self.Z[k + 2].shape[1], units))
        for q in range(step.products):  # mixed[(n, c), h] = Theta[c, h] beta_q[n, h]
            mixed = (step.beta[q][:, None, :] * step.above[None]).reshape(m * d.shape[2], -1)
            np.matmul(mixed, weights ** (q + 1), out=d[q].reshape(-1, units))
        direct = step.products < degree
        crossing = np.zeros(units, dtype=bool)
        for layer in range(k + 2, len(self.thetas) - 1):
            radius, more = self._kink_safe(self.Z[layer], reach_in_u(d, u_reach))
            crossing |= more
            beta = self._series(layer, radius, degree)
            d = np.matmul(self.thetas[layer + 1][:, 1:], compose(beta[..., None], d))
        largest_u = float(u_reach.max())
        if direct:
            d[-1] = 0.0  # P_R: its only term is the linear one below
            last_term = np.abs(step.above).sum(axis=1).max() * np.abs(step.beta[-1]).max()
            reach = (
                largest_in_u(d, largest_u)
                + last_term * (np.abs(weights).max() * largest_u) ** degree
            )
        else:
            reach = largest_in_u(d, largest_u)
        gamma = self._series(-1, max(reach, SAFE_FIT_RADIUS), degree)  # (R, m, outputs)
        in_u = summed_over_outputs(gamma, d, from_power=2 if direct else 1)  # (R, m, units)
        if direct:
            through = gamma[0] @ step.above  # (m, next)
            for q in range(degree):
                in_u[q] += (through * step.beta[q]) @ weights ** (q + 1)
        loss = np.zeros_like(u)
        for q, power in enumerate(powers_of(u)):
            loss[q:] += in_u[q] * power[q:]
        return loss, crossing

    def _kink_safe(self, z, change):
        """Fit radius per entry of z, and the units whose shifts would cross a kink.

        `change` bounds how far each unit moves each entry of z: (m, units) for z's own
        units, (m, entries, units) above them. Smooth activations: its largest value.
        ReLU: never past |z|, so a series stays on one side, and a unit crosses where
        its change reaches |z|.
        """
        reach = max(float(change.max()), SAFE_FIT_RADIUS)
        units = change.shape[-1]
        if not self.kinked:
            return reach, np.zeros(units, dtype=bool)
        distance = np.abs(z)
        radius = np.maximum(np.minimum(reach, 0.999 * distance), 1e-30)
        near = distance if change.ndim == 2 else distance[:, :, None]
        crossing = (change >= near).reshape(-1, units).any(axis=0)
        return radius, crossing
