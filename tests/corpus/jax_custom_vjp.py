"""A softplus layer, softplus(x @ W), with a custom reverse-mode rule (jax.custom_vjp).

softplus(z) = log(1 + exp(z)) is computed stably as logaddexp(0, z). The forward rule
layer_fwd returns the output and the residuals the backward rule needs (x, W and the
pre-activation z); layer_bwd(res, g) returns one cotangent per primal input, in order:
with gz = g * sigmoid(z), dx = gz @ W.T and dW = x.T @ gz. x is a batch (5, 4) and W a
square 4 -> 4 weight. Everything runs in float64 (jax_enable_x64, set first).

The data are module-level NumPy arrays; jax converts them on each call.

Written for the GradScope corpus in the style of JAX's documentation "Custom derivative
rules for JAX-transformable Python functions" (jax.custom_vjp, f_fwd / f_bwd, a
numerically stable log1pexp), checked as jax.vjp does: the backward rule is run with a
random cotangent and compared with finite differences of the forward.
"""

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

BUG = None  # or "dW-transposed", "grad-from-output-residual", "sigmoid-sign"


@jax.custom_vjp
def layer(x, W):
    return jnp.logaddexp(0.0, x @ W)


def layer_fwd(x, W):
    z = x @ W
    out = jnp.logaddexp(0.0, z)
    if BUG == "grad-from-output-residual":
        return out, (x, W, out)
    return out, (x, W, z)


def layer_bwd(res, g):
    x, W, z = res
    if BUG == "sigmoid-sign":
        dz = g / (1 + jnp.exp(z))
    else:
        dz = g * jax.nn.sigmoid(z)
    dx = dz @ W.T
    if BUG == "dW-transposed":
        dW = dz.T @ x
    else:
        dW = x.T @ dz
    return dx, dW


layer.defvjp(layer_fwd, layer_bwd)

rng = np.random.default_rng(7)
x = rng.standard_normal((5, 4))
W = rng.standard_normal((4, 4))

out = layer(x, W)
