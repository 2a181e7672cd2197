import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the user's own arrays (from_arrays) ------------------------------------------


def _user_layout():
    return Layout.from_arrays(["W1", "b1", "K", "s"], [(4, 3), (3,), (2, 3, 2, 2), ()])


def test_from_arrays_keeps_the_users_names_and_shapes_of_any_ndim():
    layout = _user_layout()
    assert layout.names == ("W1", "b1", "K", "s")
    assert layout.shapes == ((4, 3), (3,), (2, 3, 2, 2), ())
    assert layout.sizes == (12, 3, 24, 1)
    assert layout.offsets == (0, 12, 15, 39, 40)
    assert layout.n_params == 40


def test_from_arrays_splits_row_major_into_views_of_each_shape():
    layout = _user_layout()
    vector = np.arange(40.0)
    w1, b1, k, s = layout.split(vector)
    assert w1[1].tolist() == [3, 4, 5]
    assert b1.tolist() == [12, 13, 14]
    assert k[0, 0, 1, 0] == 15 + 2
    assert s.shape == () and s == 39
    np.testing.assert_array_equal(layout.unroll([w1, b1, k, s]), vector)


def test_from_arrays_describes_entries_in_the_users_index_notation():
    layout = Layout.from_arrays(["W1", "b1", "weights[0]", "s"], [(4, 3), (3,), (2, 3), ()])
    assert layout.describe(5) == "W1[1, 2]"
    assert layout.describe(13) == "b1[1]"
    assert layout.describe(20) == "weights[0][1, 2]"
    assert layout.describe(21) == "s"


def test_only_theta_layouts_are_founding():
    assert Layout.from_layer_sizes((3, 5, 3)).founding
    assert Layout.from_shapes([(2, 3), (4, 4)]).founding
    assert not Layout.from_arrays(["W1"], [(5, 4)]).founding


def test_user_arrays_never_call_column_0_a_bias_nor_name_units():
    layout = Layout.from_arrays(["W1", "W2"], [(5, 4), (3, 6)])
    assert not layout.is_network
    assert layout.describe(0) == "W1[0, 0]"
    assert "bias" not in " ".join(layout.column_labels(0) + layout.row_labels(1))
    assert not layout.is_bias(0)


def test_a_1d_user_array_is_a_bias():
    layout = _user_layout()
    assert [layout.is_bias(k) for k in range(4)] == [False, True, False, False]


def test_position_gives_the_index_tuple_for_any_ndim():
    layout = _user_layout()
    assert layout.position(14) == (1, (2,))
    assert layout.position(38) == (2, (1, 2, 1, 1))
    assert layout.position(39) == (3, ())


def test_shape_text_writes_matrices_as_rows_x_columns_and_others_as_tuples():
    layout = _user_layout()
    assert [layout.shape_text(k) for k in range(4)] == ["4x3", "(3,)", "(2, 3, 2, 2)", "()"]


@pytest.mark.parametrize(
    "names, shapes, match",
    [
        (["a", "a"], [(1,), (2,)], "unique"),
        (["a"], [(0, 3)], "no entries"),
        (["a", "b"], [(1,)], "2 names but 1 shapes"),
        (["a"], [(1.5,)], "shapes"),
        ("ab", [(1,)], "names"),
        ([], [], "at least one"),
    ],
)
def test_bad_arrays_raise_value_error_saying_what_is_wrong(names, shapes, match):
    with pytest.raises(ValueError, match=match):
        Layout.from_arrays(names, shapes)


user_shapes = st.lists(
    st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple), min_size=1, max_size=4
)


@settings(max_examples=60, deadline=None)
@given(user_shapes)
def test_every_user_entry_has_one_position_and_one_name_matching_numpys_row_major_order(shapes):
    names = [f"a{k}" for k in range(len(shapes))]
    layout = Layout.from_arrays(names, shapes)
    vector = np.arange(float(layout.n_params))
    parts = layout.split(vector)
    described = set()
    for index in range(layout.n_params):
        k, where = layout.position(index)
        assert parts[k][where] == index
        described.add(layout.describe(index))
    assert len(described) == layout.n_params
    np.testing.assert_array_equal(layout.unroll(parts), vector)
