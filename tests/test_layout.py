import numpy as np
import pytest

from engine.network.layout import Layout


def test_network_shapes_put_the_bias_in_an_extra_column():
    assert Layout.from_layer_sizes((3, 5, 3)).shapes == ((5, 4), (3, 6))


def test_parameter_count_of_the_seed_network_is_38():
    assert Layout.from_layer_sizes((3, 5, 3)).n_params == 38


def test_split_and_unroll_use_the_seeds_row_major_order():
    layout = Layout.from_layer_sizes((3, 5, 3))
    vector = np.arange(38.0)
    theta1, theta2 = layout.split(vector)
    assert theta1[0].tolist() == [0, 1, 2, 3]
    assert theta2[0, 0] == 20
    np.testing.assert_array_equal(layout.unroll([theta1, theta2]), vector)


def test_locate_maps_a_flat_index_to_matrix_row_and_column():
    layout = Layout.from_layer_sizes((3, 5, 3))
    assert layout.locate(0) == (0, 0, 0)
    assert layout.locate(26) == (1, 1, 0)
    assert layout.locate(37) == (1, 2, 5)


def test_describe_names_units_in_words():
    layout = Layout.from_layer_sizes((3, 5, 3))
    assert layout.describe(26) == "Theta2 row 1 (output 1) column 0 (bias)"
    assert layout.describe(7) == "Theta1 row 1 (hidden 1) column 3 (input 2)"


def test_deeper_networks_number_their_hidden_layers():
    layout = Layout.from_layer_sizes((2, 4, 3, 2))
    assert layout.row_label(0, 3) == "hidden1 unit 3"
    assert layout.column_label(2, 1) == "hidden2 unit 0"


def test_shapes_that_do_not_chain_get_generic_labels():
    layout = Layout.from_shapes([(2, 3), (4, 4)])
    assert not layout.is_network
    assert layout.describe(6) == "Theta2 row 0 column 0 (bias)"
    assert layout.column_label(1, 2) == "column 2"


@pytest.mark.parametrize("sizes", [(3,), (3, 0, 2), (3, -1), (2.5, 3), "abc", None])
def test_bad_layer_sizes_raise_value_error_naming_the_argument(sizes):
    with pytest.raises(ValueError, match="layer_sizes"):
        Layout.from_layer_sizes(sizes)


def test_split_refuses_a_vector_of_the_wrong_length():
    with pytest.raises(ValueError, match="38"):
        Layout.from_layer_sizes((3, 5, 3)).split(np.zeros(37))
