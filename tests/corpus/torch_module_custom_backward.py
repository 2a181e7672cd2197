"""A two-layer nn.Module classifier whose hidden activation, SiLU (Swish), is a custom
torch.autograd.Function with a hand-written backward.

Linear -> SiLU -> Linear, trained with F.cross_entropy plus an L2 penalty on the two
weight matrices written out by hand (0.5 * reg * sum(W ** 2)). Autograd does everything
except the activation: SiLU.forward saves its input, SiLU.backward returns
grad_output * d/dx [x * sigmoid(x)] = grad_output * s * (1 + x * (1 - s)).
The weights are torch.randn * 0.1 and the biases are drawn non-zero, so no term hides.

The model and the data are float32 (torch's default dtype), as they are in the forum
posts it imitates: a checker must compare at float32's noise floor (or cast a copy of the
model to float64 for its reference), not at float64's.

Written for the GradScope corpus in the style of PyTorch forum / Stack Overflow posts
that define a custom activation as a torch.autograd.Function inside an nn.Module ("my
custom backward gives wrong gradients") and check it with loss.backward().
"""

import torch
import torch.nn.functional as F
from torch import nn

BUG = None  # or "grad-is-sigmoid", "grad-output-dropped", "sigmoid-sign-in-backward"


class SiLU(torch.autograd.Function):
    """x * sigmoid(x), with its derivative written by hand."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        if BUG == "sigmoid-sign-in-backward":
            s = 1 / (1 + torch.exp(x))
        else:
            s = torch.sigmoid(x)
        if BUG == "grad-is-sigmoid":
            local = s
        else:
            local = s * (1 + x * (1 - s))
        if BUG == "grad-output-dropped":
            return local
        return grad_output * local


class Net(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_out)
        # small random weights, non-zero biases
        self.fc1.weight = nn.Parameter(torch.randn(n_hidden, n_in) * 0.1)
        self.fc1.bias = nn.Parameter(torch.randn(n_hidden) * 0.1)
        self.fc2.weight = nn.Parameter(torch.randn(n_out, n_hidden) * 0.1)
        self.fc2.bias = nn.Parameter(torch.randn(n_out) * 0.1)

    def forward(self, x):
        h = SiLU.apply(self.fc1(x))
        return self.fc2(h)


torch.manual_seed(42)
model = Net(5, 6, 3)
X = 3 * torch.randn(8, 5)
y = torch.tensor([0, 1, 2, 0, 1, 2, 2, 1])
reg = 0.1


def compute_loss():
    loss = F.cross_entropy(model(X), y)
    loss = loss + 0.5 * reg * (torch.sum(model.fc1.weight**2) + torch.sum(model.fc2.weight**2))
    return loss


loss = compute_loss()
