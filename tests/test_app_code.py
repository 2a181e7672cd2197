"""The "Your code" page through AppTest: examples, verdicts, errors, the off switch."""

import pytest

from engine.runners.sandbox import ENABLE_VARIABLE
from tests.app_helpers import open_page, plotly_figures, start_app, texts
from ui.contract_examples import CONTRACT_EXAMPLES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run_example(name):
    at = open_page(start_app(), "code")
    at.selectbox(key="code-example").select(name).run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert not at.exception
    return at


def test_the_seed_question_is_a_sign_error_in_theta2_pointing_at_the_sigmoid():
    at = run_example("seed-question")
    said = texts(at)
    assert "FAIL" in said
    assert "output layer" in said and "Theta2" in said and "1/(1+np.exp(-z))" in said
    assert len(plotly_figures(at)) == 3  # two heatmaps and the scatter


def test_the_seed_question_quotes_its_own_sigmoid_line():
    at = run_example("seed-question")
    quoted = [c.value for c in at.code]
    assert any("| return 1 / (1 + np.exp(z))" in text for text in quoted), quoted
    assert "Look at lines 5" in texts(at)


def test_the_seed_answer_passes_with_a_correct_numerical_loop():
    at = run_example("seed-answer")
    assert "PASS" in texts(at)


@pytest.mark.parametrize(
    "name, bug",
    [
        ("bias-regularised", "bias-regularized"),
        ("missing-1-over-m", "grad-missing-1-over-m"),
        ("octave-port", "column-major-unroll"),
    ],
)
def test_catalogue_bugs_written_in_user_style_are_named(name, bug):
    at = run_example(name)
    assert f"`{bug}`" in texts(at)


def test_code_that_raises_gets_its_line_number_and_the_page_stays_usable():
    at = open_page(start_app(), "code")
    at.text_area(key="code-source").input(
        "import numpy as np\n\ndef computeCost(t, *a):\n    return t[99]\n\n"
        "def gradient(t, *a):\n    return t\n"
    ).run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert not at.exception
    assert "could not be checked" in at.error[0].value
    assert "IndexError" in texts(at)
    assert "line 4: return t[99]" in at.code[0].value
    at.selectbox(key="code-example").select("seed-answer").run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert "PASS" in texts(at)


def test_switching_code_execution_off_is_said_on_the_page(monkeypatch):
    monkeypatch.setenv(ENABLE_VARIABLE, "off")
    at = open_page(start_app(), "code")
    assert not at.exception
    assert "switched off" in at.info[0].value
    assert not [b for b in at.button if b.label == "Run the check"]


def test_plain_convention_needs_readable_shapes():
    at = open_page(start_app(), "code")
    at.radio(key="code-convention").set_value("plain").run()
    at.text_input(key="code-shapes").input("five by four").run()
    assert "Shapes must look like" in at.error[0].value


def test_the_page_can_send_the_numerical_gradient_to_dask_inside_the_sandbox():
    at = open_page(start_app(), "code")
    at.toggle(key="code-dask").set_value(True).run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert not at.exception
    assert "FAIL" in texts(at) and "output layer" in texts(at)


def test_no_field_takes_a_dask_scheduler_address():
    at = open_page(start_app(), "code")
    labels = [w.label.lower() for w in at.text_input]
    assert not [label for label in labels if "address" in label or "scheduler" in label]


def test_the_page_states_the_isolation_in_force():
    at = open_page(start_app(), "code")
    assert "Isolation of user code: sandbox" in texts(at)


def test_an_error_message_from_user_code_is_shown_as_plain_text():
    at = open_page(start_app(), "code")
    message = "**bold** ![x](http://127.0.0.1:9/x.png)"
    at.text_area(key="code-source").input(
        f"def computeCost(t, *a):\n    raise ValueError({message!r})\n\n"
        "def gradient(t, *a):\n    return t\n"
    ).run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert any(message in t.value for t in at.text)
    markdown = [e.value for kind in ("markdown", "error", "info", "warning") for e in at.get(kind)]
    assert not [m for m in markdown if "![x]" in m]


def test_without_a_sandbox_a_server_open_to_other_machines_refuses_pasted_code(monkeypatch):
    from engine.runners.sandbox import SANDBOX_VARIABLE, detect_isolation

    monkeypatch.setenv(SANDBOX_VARIABLE, "off")
    detect_isolation.cache_clear()
    try:
        at = open_page(start_app(), "code")
        assert "cannot sandbox pasted code" in at.info[0].value
        assert not [b for b in at.button if b.label == "Run the check"]
    finally:
        detect_isolation.cache_clear()


def test_code_longer_than_the_limit_is_refused_with_a_message():
    at = open_page(start_app(), "code")
    at.text_area(key="code-source").input("x = 1\n" * 60_000).run()
    assert "longer than" in at.error[0].value


# --- "your model as it is": the general contract with pasted or uploaded sources ---


def contract_page(example=None):
    at = open_page(start_app(), "code")
    at.radio(key="code-mode").set_value("contract").run()
    if example:
        at.selectbox(key="contract-example").select(example).run()
    assert not at.exception
    return at


def run_contract(at):
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert not at.exception
    return at


def zip_of(files: dict) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload_files(at, files):
    at.radio(key="contract-kind").set_value("files").run()
    at.file_uploader[0].set_value(files).run()
    assert not at.exception
    return at


def test_the_contract_mode_runs_an_example_and_names_the_users_arrays():
    at = run_contract(contract_page("nielsen-network"))
    said = texts(at)
    assert "FAIL" in said
    assert "params `(net.biases, net.weights)`: biases[0] 4x1, biases[1] 2x1" in said
    assert "weights[0] (4×4)" in [m.label for m in at.metric]
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert titles[2].startswith("weights[0] (4x4): 12 of 16 entries diverge")
    assert "Theta" not in said and "output layer" not in said
    downloads = [e.proto.label for e in at.get("download_button")]
    assert {"Report (HTML, works offline)", "JSON of the run"} <= set(downloads)


def test_the_contract_runs_json_export_and_report_describe_the_users_model():
    import json

    from engine.diagnosis.diagnose import diagnose
    from presentation.report import build_report
    from ui.contract_mode import export_json, model_lines

    at = run_contract(contract_page("cs231n-two-layer"))
    run = at.session_state["contract-run"][1]
    document = json.loads(export_json(run, diagnose(run.result)))
    assert [a["name"] for a in document["model"]["arrays"]] == ["W1", "b1", "W2", "b2"]
    assert document["result"]["status"] == "pass" and len(document["parameters"]) == 83
    report = build_report(None, run.result, [], subject="; ".join(model_lines(run)))
    assert "W1 4x10, b1 (10,), W2 10x3, b2 (3,)" in report


def test_a_bad_expression_gives_a_message_naming_it_and_no_run():
    at = contract_page()
    at.text_input(key="contract-params").input("net.params[").run()
    assert not at.exception
    assert "cannot be checked as it is" in at.error[0].value
    assert "The params expression `net.params[` is not a Python expression" in texts(at)
    assert not [b for b in at.button if b.label == "Run the check"]


def test_a_zip_of_a_folder_with_a_helper_module_runs_from_the_chosen_main_file():
    model = (
        "import numpy as np\nfrom helpers import half_square\n\n"
        "w = np.arange(1.0, 4.0)\n\n\ndef loss():\n    return half_square(w), w.copy()\n"
    )
    helper = "import numpy as np\n\n\ndef half_square(v):\n    return 0.5 * float(np.sum(v**2))\n"
    archive = zip_of({"proj/model.py": model, "proj/helpers.py": helper, "proj/README": "x"})
    at = upload_files(contract_page(), ("proj.zip", archive, "application/zip"))
    options = at.selectbox(key="contract-main").options
    assert [o.split(" (")[0] for o in options] == ["proj/helpers.py", "proj/model.py"]
    assert at.selectbox(key="contract-main").value == "proj/model.py"  # helpers is imported
    at.text_input(key="contract-loss").input("loss()")
    at.text_input(key="contract-params").input("w")
    at.text_input(key="contract-grads").input("").run()
    assert "with 1 helper module importable" in texts(at)
    at = run_contract(at)
    assert "PASS" in texts(at) and "params `w`: w (3,)" in texts(at)


@pytest.mark.parametrize(
    "files, words",
    [
        ({"../outside.py": "x = 1"}, "leaves its folder"),
        ({"/etc/model.py": "x = 1"}, "leaves its folder"),
        ({"big.py": "#" * (8 * 1024**2 + 1)}, "MB together"),
    ],
)
def test_an_oversized_or_path_escaping_zip_is_refused_with_a_message(files, words):
    at = upload_files(contract_page(), ("model.zip", zip_of(files), "application/zip"))
    assert "That upload was refused." in at.error[0].value
    assert words in texts(at) and "model.zip" in texts(at)
    assert not [b for b in at.button if b.label == "Run the check"]
    assert at.file_uploader[0].key == "contract-upload-1"  # a fresh box; the file is gone


def test_switching_examples_fills_the_code_and_the_three_expressions():
    at = contract_page("flat-theta")
    assert "def cost_function(theta):" in at.text_area(key="contract-source").value
    assert at.text_input(key="contract-loss").value == "cost_function(theta)"
    assert at.text_input(key="contract-params").value == "theta"
    assert at.text_input(key="contract-grads").value == ""
    at.selectbox(key="contract-example").select("affine-layer").run()
    assert at.text_input(key="contract-params").value == "(x, w, b)"
    assert at.text_input(key="contract-grads").value.startswith("affine_backward(dout")


def test_what_was_typed_in_one_mode_is_kept_while_the_other_is_shown():
    at = contract_page()
    at.text_input(key="contract-loss").input("net.loss(X, y, reg=0.0)").run()
    at.radio(key="code-mode").set_value("functions").run()
    at.text_input(key="code-cost").input("myCost").run()
    at.radio(key="code-mode").set_value("contract").run()
    assert at.text_input(key="contract-loss").value == "net.loss(X, y, reg=0.0)"
    at.radio(key="code-mode").set_value("functions").run()
    assert at.text_input(key="code-cost").value == "myCost"


@pytest.mark.parametrize("name", list(CONTRACT_EXAMPLES))
def test_every_example_gives_its_verdict_on_the_users_arrays(name):
    example = CONTRACT_EXAMPLES[name]
    at = run_contract(contract_page(name))
    result = at.session_state["contract-run"][1].result
    assert [m.name for m in result.matrices if m.n_diverging] == list(example.diverging)
    assert ("FAIL" if example.diverging else "PASS") in texts(at)
    assert len(plotly_figures(at)) == len(result.matrices) + 1


def test_a_syntax_error_and_unknown_names_are_seen_before_anything_runs():
    at = contract_page()
    at.text_area(key="contract-source").input("import numpy as np\nw = np.ones(3\n").run()
    assert "model.py has a syntax error on line 2" in texts(at)
    assert not [b for b in at.button if b.label == "Run the check"]
    at.text_area(key="contract-source").input("import numpy as np\nw = np.ones(3)\n").run()
    at.text_input(key="contract-params").input("w").run()
    assert "Not defined at the top level" in texts(at)
    assert "X, net, y" in [t.value for t in at.text]


# --- layer mode: a layer's forward call, its backward found by name or by autograd ---


def run_button(at):
    return [b for b in at.button if b.label == "Run the check"]


def test_the_layer_mode_replaces_the_expressions_and_previews_the_backward_found_by_name():
    at = contract_page("cs231n-affine-relu-layer")
    assert at.radio(key="contract-check").value == "layer"
    labels = [w.label for w in at.text_input]
    assert "Forward call" in labels and "Backward (optional)" in labels
    assert "Loss expression" not in labels and "Params expression" not in labels
    said = texts(at)
    assert (
        "layer: affine_relu_forward(x, w, b), backward affine_relu_backward (found by name)" in said
    )
    assert "inputs: the float arrays or tensors among x, w, b" in said
    assert run_button(at)


def test_a_backward_given_in_the_layer_mode_is_previewed_as_given():
    at = contract_page("cs231n-affine-relu-layer")
    at.text_input(key="contract-backward").input("my_backward").run()
    assert "backward `my_backward` (given), called as my_backward(dout, cache)" in texts(at)
    assert "my_backward" in [t.value for t in at.text]  # not defined in the code


def test_a_torch_functions_apply_call_is_previewed_as_checked_by_autograd():
    at = contract_page("torch-function")
    assert "layer: TanhLinear.apply(x, weight), backward by torch autograd" in texts(at)


@pytest.mark.parametrize(
    "call, words",
    [
        ("", "Type the layer's forward call"),
        ("x + w", "The forward call `x + w` is not a call: give the forward call"),
        ("affine_relu_forward", "The forward call `affine_relu_forward` is not a call"),
        ("affine_relu_forward(x, w", "`affine_relu_forward(x, w` is not a Python expression"),
        ("affine_relu_forward(*inputs)", "write the arguments out (no *args or **kwargs)"),
    ],
    ids=["empty", "not-a-call", "a-name", "syntax", "starred"],
)
def test_a_bad_forward_call_gets_a_message_before_any_run(call, words):
    at = contract_page("cs231n-affine-relu-layer")
    at.text_input(key="contract-forward").input(call).run()
    assert not at.exception
    assert words in texts(at)
    assert not run_button(at)


def test_the_layer_mode_runs_and_shows_the_inputs_by_the_users_names():
    at = run_contract(contract_page("cs231n-affine-relu-layer"))
    said = texts(at)
    assert "inputs x (4, 3, 2), w 6x5, b (5,)" in said
    assert "`affine_relu_forward(x, w, b)` checked as a vector-Jacobian product" in said
    assert "FAIL" in said
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert titles[1].startswith("w (6x5): 24 of 30 entries diverge")
    assert " 0 of 24 entries diverge" in titles[0] and " 0 of 5 entries diverge" in titles[2]


def test_switching_to_the_layer_mode_and_back_keeps_the_loss_fields():
    at = contract_page("nielsen-network")
    at.radio(key="contract-check").set_value("layer").run()
    at.text_input(key="contract-forward").input("layer_forward(x)").run()
    at.radio(key="contract-check").set_value("loss").run()
    assert at.text_input(key="contract-loss").value == "quadratic_cost(net, x, y)"
    assert at.text_input(key="contract-grads").value == "net.backprop(x, y)"
    at.radio(key="contract-check").set_value("layer").run()
    assert at.text_input(key="contract-forward").value == "layer_forward(x)"


def test_segments_and_their_order_are_previewed():
    at = contract_page("flat-theta")
    at.text_input(key="contract-segments").input("bias:1, w:3").run()
    at.selectbox(key="contract-order").set_value("F").run()
    assert "the flat vector cut into bias 1, w 3, unrolled in order F" in texts(at)


def test_a_bad_segment_is_named_before_any_run():
    at = contract_page("flat-theta")
    at.text_input(key="contract-segments").input("theta five").run()
    assert "The segments: 'theta five' is not NAME:SHAPE" in texts(at)
    assert not run_button(at)


def test_a_flat_vector_is_checked_as_the_segments_typed():
    at = contract_page("flat-theta")
    at.text_input(key="contract-segments").input("bias:1,w:3").run()
    at = run_contract(at)
    assert "params `theta`: bias (1,), w (3,)" in texts(at) and "PASS" in texts(at)


def test_examples_needing_torch_or_jax_are_offered_only_where_they_import(monkeypatch):
    import importlib.util

    from ui.contract_examples import ALL_CONTRACT_EXAMPLES, offered

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *rest: None if name in ("torch", "jax") else real(name, *rest),
    )
    kept = offered(ALL_CONTRACT_EXAMPLES)
    assert "cs231n-affine-relu-layer" in kept
    assert not {"torch-function", "torch-module"} & set(kept)


@pytest.mark.parametrize(
    "backward, words",
    [
        ("", "The forward call `double(x)`: fill in the Backward field (the function taking"),
        ("bad", "The backward `bad(dout, cache)`: the gradient of x is a NoneType"),
    ],
    ids=["no-twin", "backward-returns-none"],
)
def test_a_layer_the_engine_refuses_gets_the_reason_in_the_pages_words(backward, words):
    at = contract_page("cs231n-affine-relu-layer")
    at.text_area(key="contract-source").input(
        "import numpy as np\n\nx = np.ones((2, 3))\n\n\ndef double(x):\n    return 2 * x, x\n\n\n"
        "def bad(dout, cache):\n    return None\n"
    )
    at.text_input(key="contract-forward").input("double(x)")
    at.text_input(key="contract-backward").input(backward).run()
    at = run_contract(at)
    assert "could not be checked" in at.error[0].value
    assert words in texts(at)
    assert "--" not in texts(at).split("could not be checked")[1]
