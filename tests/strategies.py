"""Hypothesis strategies shared by the property tests."""

from hypothesis import strategies as st

from engine.bugs.catalogue import BUGS
from engine.network.model import make_problem
from engine.scenario.settings import Scenario

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def problems(max_units=6, max_m=8, min_lamb=0.0, activations=ACTIVATIONS):
    """Small built-in networks (2 to 4 layers) with their data, drawn from a seed."""
    return st.builds(
        make_problem,
        layer_sizes=st.lists(st.integers(1, max_units), min_size=2, max_size=4).map(tuple),
        m=st.integers(1, max_m),
        seed=st.integers(0, 2**20),
        lamb=st.floats(min_lamb, 3),
        activation=st.sampled_from(activations),
    )


def scenarios(
    max_units=8, max_layers=5, max_m=50, max_lamb=10.0, min_eps=1e-10, max_threshold=1.0, max_bugs=4
):
    """Valid scenarios; the defaults stay small enough to run, the codec tests widen them."""
    return st.builds(
        Scenario.create,
        layer_sizes=st.lists(st.integers(1, max_units), min_size=2, max_size=max_layers).map(tuple),
        m=st.integers(1, max_m),
        seed=st.integers(0, 2**31 - 1),
        lamb=st.floats(0, max_lamb),
        eps=st.floats(min_eps, 0.5),
        activation=st.sampled_from(ACTIVATIONS),
        threshold=st.none() | st.floats(1e-12, max_threshold),
        bugs=st.lists(st.sampled_from(list(BUGS)), unique=True, max_size=max_bugs).map(tuple),
    )
