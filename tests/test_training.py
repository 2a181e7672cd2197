import numpy as np
import pytest

from engine.runners.training import (
    TrainingStopped,
    generated_dataset,
    load_digits_dataset,
    train,
)


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset()


def test_digits_come_from_scikit_learn_scaled_to_the_unit_interval(digits):
    assert digits.train.m + len(digits.y_test) == 1797
    assert digits.train.layer_sizes == (64, 25, 10)
    assert 0 <= digits.train.X.min() and digits.train.X.max() <= 1


def test_correct_code_learns_the_digits(digits):
    run = train(digits, (), maxiter=50)
    assert run.test_accuracy > 0.9
    assert run.costs[-1] < run.costs[0] / 5


def test_the_seed_bug_stalls_fmin_cg_with_its_own_precision_loss_warning(digits):
    run = train(digits, ["sigmoid-sign-flip"], maxiter=50)
    assert run.warning == "Desired error not necessarily achieved due to precision loss."
    assert run.warnflag == 2
    assert run.test_accuracy < 0.3


def test_progress_starts_at_iteration_zero():
    seen = []
    train(generated_dataset((3, 5, 3), 20), (), maxiter=5, progress=lambda i, c: seen.append(i))
    assert seen[0] == 0 and seen == sorted(seen)


def test_a_stopped_run_keeps_what_it_learned():
    def stop_at_3(iteration, cost):
        if iteration == 3:
            raise TrainingStopped

    run = train(generated_dataset((3, 5, 3), 20), (), maxiter=50, progress=stop_at_3)
    assert run.stopped_early and len(run.costs) == 4
    assert np.isfinite(run.train_accuracy)


def test_generated_data_holds_out_a_quarter():
    data = generated_dataset((3, 5, 3), m=30)
    assert data.train.m == 30 and len(data.y_test) == 10
