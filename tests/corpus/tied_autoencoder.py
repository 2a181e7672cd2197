"""A denoising autoencoder with tied weights, its gradients derived by hand in NumPy.

The decoder reuses the encoder's weights transposed (W' = W.T), so W is used twice and
its gradient is the sum of two terms, the encoder's and the decoder's. The input is
corrupted by a fixed masking noise before encoding; the reconstruction is compared with
the clean input by the cross-entropy of sigmoid units, averaged over the examples.

Written for the GradScope corpus in the style of the deeplearning.net "Denoising
Autoencoders (dA)" tutorial (W, b, b_prime; tied weights; corruption by masking), ported
from Theano's symbolic gradients to hand-written ones as course exercises do.
"""

import numpy as np

BUG = None  # or "decoder-term-missing", "encoder-term-from-clean-input",
#              "visible-bias-not-averaged"

rng = np.random.RandomState(123)
n_examples, n_visible, n_hidden = 8, 6, 4
x = (rng.uniform(size=(n_examples, n_visible)) < 0.5).astype(float)  # binary inputs
keep = rng.binomial(1, 0.7, size=x.shape)  # the masking noise, drawn once

params = {
    "W": rng.uniform(-0.5, 0.5, size=(n_visible, n_hidden)),
    "b": 0.1 * rng.randn(n_hidden),
    "b_prime": 0.1 * rng.randn(n_visible),
}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def cost_and_grads(params, x):
    W, b, b_prime = params["W"], params["b"], params["b_prime"]
    n = x.shape[0]
    tilde_x = x * keep  # corrupted input
    y = sigmoid(tilde_x @ W + b)  # hidden code
    z = sigmoid(y @ W.T + b_prime)  # reconstruction, tied weights
    L = -np.sum(x * np.log(z) + (1 - x) * np.log(1 - z), axis=1)
    cost = np.mean(L)

    dz = (z - x) / n  # sigmoid and cross-entropy: the derivative cancels
    if BUG == "visible-bias-not-averaged":
        g_b_prime = (z - x).sum(axis=0)
    else:
        g_b_prime = dz.sum(axis=0)
    gW_dec = dz.T @ y  # through W.T in the decoder
    dy = dz @ W * y * (1 - y)
    g_b = dy.sum(axis=0)
    if BUG == "encoder-term-from-clean-input":
        gW_enc = x.T @ dy
    else:
        gW_enc = tilde_x.T @ dy  # through W in the encoder
    if BUG == "decoder-term-missing":
        gW = gW_enc
    else:
        gW = gW_enc + gW_dec
    return cost, {"W": gW, "b": g_b, "b_prime": g_b_prime}
