"""A linear layer and a sigmoid as torch.autograd.Function subclasses with hand-written
backward passes.

Each Function has a staticmethod forward(ctx, ...) that saves what the backward needs
with ctx.save_for_backward, and a staticmethod backward(ctx, grad_output) that returns
one gradient per forward input (None where ctx.needs_input_grad says none is wanted).
LinearFunction keeps torch's layout: weight is (out_features, in_features) and
output = input @ weight.T + bias. Everything is float64, as gradcheck wants.

Written for the GradScope corpus in the style of PyTorch's tutorial "Extending PyTorch:
Defining new autograd Functions" (LinearFunction, MyReLU), checked as its gradcheck
does: autograd calls the hand-written backward with a random upstream gradient, and the
result is compared with finite differences of the forward.
"""

import torch
from torch.autograd import Function

BUG = None  # or "grad-weight-transposed", "grad-bias-averaged", "grad-input-weight-transposed"


class LinearFunction(Function):
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input @ weight.T
        if bias is not None:
            output = output + bias  # broadcast over the batch
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None

        # grad_output is (batch, out_features), like the output
        if ctx.needs_input_grad[0]:
            if BUG == "grad-input-weight-transposed":
                grad_input = grad_output @ weight.T
            else:
                grad_input = grad_output @ weight  # (batch, in_features)
        if ctx.needs_input_grad[1]:
            if BUG == "grad-weight-transposed":
                grad_weight = input.T @ grad_output
            else:
                grad_weight = grad_output.T @ input  # (out_features, in_features)
        if bias is not None and ctx.needs_input_grad[2]:
            if BUG == "grad-bias-averaged":
                grad_bias = grad_output.mean(0)
            else:
                grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


class MySigmoid(Function):
    @staticmethod
    def forward(ctx, input):
        output = 1 / (1 + torch.exp(-input))
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        return grad_output * output * (1 - output)


linear = LinearFunction.apply
sigmoid = MySigmoid.apply

# a small batch through a 4 -> 4 layer (square weight, like a hidden-to-hidden layer)
torch.manual_seed(3)
x = torch.randn(5, 4, dtype=torch.double, requires_grad=True)
weight = torch.randn(4, 4, dtype=torch.double, requires_grad=True)
bias = torch.randn(4, dtype=torch.double, requires_grad=True)

out = sigmoid(linear(x, weight, bias))

if __name__ == "__main__":
    from torch.autograd import gradcheck

    print("linear:", gradcheck(linear, (x, weight, bias), eps=1e-6, atol=1e-4))
    print("sigmoid:", gradcheck(sigmoid, (x,), eps=1e-6, atol=1e-4))
