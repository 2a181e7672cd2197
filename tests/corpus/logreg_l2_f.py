"""Multinomial logistic regression with an L2 penalty, for scipy.optimize.minimize.

loss_and_grad(w_flat, X, Y_onehot, alpha) returns the mean cross-entropy of the softmax
of X @ W + b plus 0.5 * alpha * ||W||^2, and its gradient as one flat vector, so that it
can be passed as minimize(loss_and_grad, w0, args=..., jac=True). The vector unrolls the
coefficients W (n_features, n_classes) row by row, followed by the intercept b
(n_classes,) at the END; the intercept is not penalised.

Written for the GradScope corpus in the style of scikit-learn-flavoured tutorials that
write their own multinomial loss for scipy (an intercept appended after the coefficients,
as scikit-learn's own loss-and-gradient helpers do; alpha the inverse of C).
"""

import numpy as np

BUG = None  # or "intercept-grad-first", "alpha-on-intercept", "grad-sum-not-mean",
#              "binary-cross-entropy-cost", "likelihood-gradient-sign"


def _unpack(w_flat, n_features, n_classes):
    W = w_flat[: n_features * n_classes].reshape(n_features, n_classes)
    b = w_flat[n_features * n_classes :]
    return W, b


def log_softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def loss_and_grad(w_flat, X, Y_onehot, alpha):
    n_samples, n_features = X.shape
    n_classes = Y_onehot.shape[1]
    W, b = _unpack(w_flat, n_features, n_classes)

    log_p = log_softmax(X @ W + b)
    p = np.exp(log_p)
    if BUG == "binary-cross-entropy-cost":
        data_loss = -np.sum(Y_onehot * log_p + (1 - Y_onehot) * np.log(1 - p)) / n_samples
    else:
        data_loss = -np.sum(Y_onehot * log_p) / n_samples
    loss = data_loss + 0.5 * alpha * np.sum(W * W)

    if BUG == "likelihood-gradient-sign":
        diff = Y_onehot - p
    else:
        diff = p - Y_onehot
    if BUG != "grad-sum-not-mean":
        diff = diff / n_samples
    grad_W = X.T @ diff
    grad_b = diff.sum(axis=0)
    if BUG == "intercept-grad-first":
        grad = np.concatenate([grad_b, grad_W.ravel()])
    else:
        grad = np.concatenate([grad_W.ravel(), grad_b])
    # the penalty's gradient: alpha * W on the coefficients, nothing on the intercept
    if BUG == "alpha-on-intercept":
        grad += alpha * w_flat
    else:
        grad[: n_features * n_classes] += alpha * w_flat[: n_features * n_classes]
    return loss, grad


def predict(w_flat, X, n_classes):
    W, b = _unpack(w_flat, X.shape[1], n_classes)
    return np.argmax(X @ W + b, axis=1)


rng = np.random.RandomState(11)
n_samples, n_features, n_classes = 8, 4, 3
X = rng.randn(n_samples, n_features)
y = np.array([0, 1, 2, 1, 0, 2, 2, 1])
Y_onehot = np.eye(n_classes)[y]
alpha = 0.1  # 1 / C
w_flat = np.concatenate([0.5 * rng.randn(n_features * n_classes), 0.3 * rng.randn(n_classes)])

if __name__ == "__main__":
    from scipy.optimize import minimize

    res = minimize(loss_and_grad, w_flat, args=(X, Y_onehot, alpha), jac=True, method="L-BFGS-B")
    print("loss:", res.fun, "accuracy:", np.mean(predict(res.x, X, n_classes) == y))
