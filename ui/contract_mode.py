"""The Your code page's "your model as it is" mode: the general contract of `check-code
FILE --loss EXPR --params EXPR [--grads EXPR] [--segments ... --order ... --set-params
...]`, or its layer mode `check-code FILE --forward CALL [--backward EXPR]`, with pasted
or uploaded sources.

Nothing of the user's code runs here: before a run the page only parses it (`ast`), and
the run itself is `engine.runners.usercode.run_user_contract` in the sandbox, one per
session through the server's queue.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import hashlib
import json
import re
from pathlib import PurePosixPath

import numpy as np
import streamlit as st

from engine.diagnosis.diagnose import diagnose
from engine.params.layer import DOUT_SEED, backward_twin, parse_forward
from engine.params.segments import ORDERS, parse_segments
from engine.params.structure import DTYPE_NAMES, ContractError
from engine.runners.usercode import (
    MAX_SOURCE_BYTES,
    MAX_SOURCE_FILES,
    CodeRun,
    check_sources,
    run_user_contract,
    sources_from_zip,
)
from engine.scenario.settings import Scenario
from presentation import figures
from presentation.exports import EXPORT_EVERY_ROW_UP_TO, flagged_rows, result_sections
from presentation.report import build_report
from ui import linked_run, runs
from ui.coderun import queued_run, show_hint_and_failure
from ui.components import findings_list, noise_note, status_badge, status_card, styled_table
from ui.contract_examples import CONTRACT_EXAMPLES, LAYER, LOSS
from ui.share import chart, release_upload

PASTED_FILE = "model.py"
MAX_PASTED_BYTES = 256 * 1024
MAX_EXPRESSION_CHARS = 2000
ROLES = ("loss", "params", "grads", "set_params")
LAYER_ROLES = ("forward", "backward")
ROLE_NAMES = {"set_params": "setter", "forward": "forward call"}
CHECKS = {LOSS: "a loss and its params", LAYER: "a layer's forward call"}
ORDER_CHOICES = {"": "found from your reshape (else C)", **{o: o for o in ORDERS}}
STATUS_CARD_ARRAYS = 6  # more arrays: the badge and the table, not a metric per array
HEATMAP_ARRAYS = 24  # heatmaps drawn; the rest are in the table and the downloads
DTYPES = {"": "the params' own", **{name: name for name in reversed(DTYPE_NAMES)}}
SOURCE_KINDS = {"paste": "Paste one file", "files": "Upload .py files or a .zip"}
FILES_KEY = "contract-files"  # {path: bytes} of the uploaded files (not a widget)
UPLOADS_KEY = "contract-uploads"  # how many uploads were read: names the next uploader
UPLOAD_NOTE_KEY = "contract-upload-note"
RUN_KEY = "contract-run"
# What the visitor typed or chose: kept when the mode's widgets are not drawn.
KEPT_KEYS = (
    "contract-example",
    "contract-kind",
    "contract-source",
    "contract-main",
    "contract-loss",
    "contract-params",
    "contract-grads",
    "contract-segments",
    "contract-order",
    "contract-set-params",
    "contract-check",
    "contract-forward",
    "contract-backward",
    "contract-dtype",
    "contract-only-diverging",
)


def keep_typed_values() -> None:
    """Widget values survive a run where their widgets are not drawn (the other mode)."""
    for key in KEPT_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def load_example() -> None:
    example = CONTRACT_EXAMPLES[st.session_state["contract-example"]]
    st.session_state.update(
        {
            "contract-kind": "paste",
            "contract-source": example.source,
            "contract-loss": example.loss,
            "contract-params": example.params,
            "contract-grads": example.grads,
            "contract-segments": "",
            "contract-order": "",
            "contract-set-params": "",
            "contract-check": example.check,
            "contract-forward": example.forward,
            "contract-backward": example.backward,
            "contract-dtype": example.dtype,
        }
    )


# A saved run's contract settings (this page's save, or `check-code --save`) by field.
RUN_FIELDS = {
    "loss": "contract-loss",
    "params": "contract-params",
    "grads": "contract-grads",
    "segments": "contract-segments",
    "order": "contract-order",
    "set_params": "contract-set-params",
    "forward": "contract-forward",
    "backward": "contract-backward",
}


def run_fields(run) -> tuple[dict, list[str]]:
    """This mode's fields as a saved run holds them (`ui.linked_run.fill` puts them in),
    and what could not be filled back, in words. The run's code is its main file: put in
    as pasted code, or with the other files of its upload when the run kept them. Runs
    saved before the expressions were kept lack them."""
    settings, notes = run.settings, []
    values = {"code-mode": "contract", "contract-kind": "paste", "contract-source": run.code or ""}
    for name, key in RUN_FIELDS.items():
        value = settings.get(name)
        values[key] = value if isinstance(value, str) else ""
    if values["contract-order"] not in ORDER_CHOICES:
        values["contract-order"] = ""
    dtype = settings.get("dtype") or ""
    values["contract-dtype"] = dtype if dtype in DTYPES else ""
    check = settings.get("check") or (LAYER if values["contract-forward"] else LOSS)
    values["contract-check"] = check if check in CHECKS else LOSS
    if not any(isinstance(settings.get(name), str) for name in ("loss", "params", "forward")):
        notes.append("the expressions (this run was saved without them; its description is below)")
    main, file = settings.get("main"), settings.get("file")
    if isinstance(main, str) and main not in ("", PASTED_FILE):  # an upload: all its files
        values["contract-kind"] = "files"
        values[FILES_KEY] = {
            main: (run.code or "").encode(),
            **{path: text.encode() for path, text in run.other_files.items()},
        }
        values["contract-main"] = main
    elif isinstance(file, str) and file:  # `check-code FILE --save` keeps FILE alone
        notes.append(
            f"the files beside {file} that it may import: the run keeps {file} alone, now "
            f"pasted as {PASTED_FILE}"
        )
    return values, notes


def upload_key() -> str:
    """A new uploader after each read: the old one, and the files it holds, go away."""
    return f"contract-upload-{st.session_state.get(UPLOADS_KEY, 0)}"


def read_uploads() -> None:
    """The uploaded .py files and zips as {path: bytes}, read no further than the bounds
    and released at once; a refusal is a message and keeps the files read before."""
    key = upload_key()
    uploads = st.session_state.get(key) or []
    st.session_state[UPLOADS_KEY] = st.session_state.get(UPLOADS_KEY, 0) + 1
    files: dict[str, bytes] = {}
    try:
        for upload in uploads:
            data = upload.read(MAX_SOURCE_BYTES + 1)
            name = upload.name
            release_upload(upload)
            if len(data) > MAX_SOURCE_BYTES:
                raise ValueError(
                    f"{name} has more than {MAX_SOURCE_BYTES // 1024**2} MB; uploads up to "
                    "that size are read"
                )
            if name.lower().endswith(".zip"):
                try:
                    found = sources_from_zip(data)
                except ValueError as error:
                    raise ValueError(f"{name}: {error}") from None
            else:
                found = {name: data}
            for path in found:
                if path in files:
                    raise ValueError(f"{path} was given twice")
            files.update(found)
        if not files:
            return
        if len(files) > MAX_SOURCE_FILES:
            raise ValueError(f"{len(files)} .py files; at most {MAX_SOURCE_FILES} are taken")
        if sum(len(d) for d in files.values()) > MAX_SOURCE_BYTES:
            raise ValueError(
                f"the files are over {MAX_SOURCE_BYTES // 1024**2} MB together: keep the "
                "model and its helper modules only"
            )
    except ValueError as error:
        for upload in uploads:
            release_upload(upload)
        st.session_state[UPLOAD_NOTE_KEY] = f"{error}. Your files were not changed."
        return
    st.session_state[FILES_KEY] = files
    st.session_state["contract-main"] = guess_main(files)


def guess_main(files: dict[str, bytes]) -> str:
    """The likely main file: the least deep one that no other file imports (read as
    text, never run); else the least deep."""
    names = sorted(files, key=lambda p: (len(PurePosixPath(p).parts), p))
    for name in names:
        stem = re.escape(PurePosixPath(name).stem)
        imported = re.compile(
            rf"^\s*(from\s+(\.*\w+\.)*{stem}\s+import|import\s+.*\b{stem}\b)", re.M
        )
        if not any(
            imported.search(d.decode("utf-8", "replace")) for n, d in files.items() if n != name
        ):
            return name
    return names[0]


def parse_expression(role: str, text: str) -> str | None:
    """Why `text` is not a Python expression for `role`, or None: parsed, never run."""
    if len(text) > MAX_EXPRESSION_CHARS:
        return f"The {role} expression is longer than {MAX_EXPRESSION_CHARS:,} characters."
    try:
        ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        return f"The {role} expression `{text}` is not a Python expression: {error.msg}."
    return None


def top_level_names(tree: ast.Module) -> set[str] | None:
    """Names the module binds at its top level, or None when a star import hides them."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return None
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        else:
            names |= {
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
    return names


def free_names(text: str) -> set[str]:
    """The names an expression reads from the module (comprehension variables aside)."""
    tree = ast.parse(text.strip(), mode="eval")
    bound = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return used - bound - set(dir(builtins))


def model_lines(run: CodeRun, check: str = LOSS) -> list[str]:
    """What the run found, in the CLI's words: arrays, count, precision, how grads came
    (in layer mode: the forward call, its inputs and how its backward was called)."""
    model = run.model
    arrays = model.describe_arrays()
    precision = (
        model.dtype
        if model.dtype == model.params_dtype
        else f"{model.dtype} (chosen; the params are {model.params_dtype})"
    )
    count = (
        f"{model.n_params:,} parameters in {len(model.names)} "
        f"{'array' if len(model.names) == 1 else 'arrays'}, checked in {precision}"
    )
    if check == LAYER:
        return [f"inputs {arrays}", count, *model.notes]
    grads = (
        f"grads from `{model.grads}`"
        if model.grads is not None
        else "the loss returns (loss, grads)"
    )
    return [
        f"params `{model.params}`: {arrays}",
        count,
        f"loss `{model.loss}`; {grads}",
        *model.notes,
    ]


def file_stem(main: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(main).stem)[:80] or "code"
    return f"gradscope-{stem}"


def export_json(run: CodeRun, findings) -> str:
    """The run as JSON: the user's model, the result, the findings and the parameters
    (every one up to EXPORT_EVERY_ROW_UP_TO, else the diverging and kinked ones)."""
    result = run.result
    rows, note = np.arange(result.layout.n_params), None
    if result.layout.n_params > EXPORT_EVERY_ROW_UP_TO:
        rows = flagged_rows(result)
        note = (
            f"{len(rows):,} of {result.layout.n_params:,} parameters: the diverging and "
            f"kinked ones (every parameter is exported up to {EXPORT_EVERY_ROW_UP_TO:,})"
        )
    document = {
        "model": run.model.as_dict(),
        **result_sections(result, findings, rows, note),
        "seconds": round(run.seconds, 3),
        "isolation_description": run.isolation,
    }
    return json.dumps(document, indent=2)


def contract_mode(scenario: Scenario, saved=None, notes: list[str] = ()) -> None:
    """The whole mode: example, sources, expressions, preview, run, result. With a
    `saved` run of code (`?run=ID`), its stored result stands where a live one would
    be, until the code is run live (`notes`: its settings not filled back)."""
    if "contract-source" not in st.session_state:
        st.session_state["contract-example"] = next(iter(CONTRACT_EXAMPLES))
        load_example()
    st.markdown(
        "Your program as it is: it runs once as a module in the sandbox, then the three "
        "expressions below are evaluated in its namespace. **Params**: an array, a dict / "
        "list / tuple of arrays, or an object holding them (perturbed in place and "
        "restored). **Loss**: a number, or `(loss, grads)`. **Grads**, when the loss gives "
        "only a number: the params' structure, or one flat vector (torch params: "
        "loss.backward()). Or a **layer's forward call**, `affine_forward(x, w, b)`: its "
        "inputs checked as a vector-Jacobian product with a random dout, against the "
        "backward found by name (torch autograd, jax.vjp). The check runs at your own "
        "point and data; the sidebar's scenario is not used (only its eps)."
    )
    left, right = st.columns([2, 1])
    left.selectbox(
        "Start from an example",
        list(CONTRACT_EXAMPLES),
        key="contract-example",
        format_func=lambda k: CONTRACT_EXAMPLES[k].title,
        on_change=load_example,
    )
    example = CONTRACT_EXAMPLES[st.session_state["contract-example"]]
    left.caption(f"{example.description} Style of: {example.convention}.")
    kind = right.radio(
        "Your code",
        list(SOURCE_KINDS),
        key="contract-kind",
        format_func=SOURCE_KINDS.get,
        horizontal=True,
    )
    sources, main = source_input(kind)
    if sources is None:
        stop_with(saved, scenario, notes)

    check = st.radio(
        "Check",
        list(CHECKS),
        key="contract-check",
        format_func=CHECKS.get,
        horizontal=True,
        help="A loss and its params: your loss expression, the arrays it depends on and, "
        "optionally, your gradient. A layer's forward call: a forward/backward pair (or a "
        "torch autograd.Function's apply, a JAX function) checked as a vector-Jacobian "
        "product with a random dout.",
    )
    expressions, dtype = layer_fields() if check == LAYER else loss_fields()
    if not preview(sources, main, check, expressions, dtype):
        stop_with(saved, scenario, notes)

    signature = hashlib.sha256(
        repr((sorted(sources.items()), main, check, expressions, dtype, scenario.eps)).encode()
    ).hexdigest()
    if st.button(
        "Run the check", type="primary", icon=":material/play_arrow:", key="contract-run-button"
    ):
        run = queued_run(
            lambda shown: run_user_contract(
                sources,
                **run_arguments(check, expressions),
                eps=scenario.eps,
                dtype=dtype or None,
                progress=shown.progress,
                heartbeat=shown.heartbeat,
                main=main,
            )
        )
        if run is not None:
            st.session_state[RUN_KEY] = (signature, run, check)
    stored = st.session_state.get(RUN_KEY)
    if not stored or stored[0] != signature:
        if stored and stored[1].ok:
            st.caption("The last run, before your latest changes, found:")
            st.text("\n".join(model_lines(stored[1], stored[2] if len(stored) > 2 else LOSS)))
        if not saved:
            st.info("Press **Run the check** to run your code in the sandbox.")
        stop_with(saved, scenario, notes)
    show_run(
        stored[1],
        scenario,
        main,
        stored[2],
        main_source(sources, main),
        {**expressions, "dtype": dtype},
        other_sources(sources, main),
    )


def stop_with(saved, scenario: Scenario, notes: list[str]) -> None:
    """End the page; in a saved run of code, with its stored result shown first."""
    if saved:
        linked_run.saved_code_view(saved, scenario, notes)
    st.stop()


def loss_fields() -> tuple[dict, str]:
    """The loss mode's fields: loss, params, grads and precision; segments, order and a
    setter for a flat vector. Returns (expressions, dtype), the expressions stripped."""
    cols = st.columns([3, 3, 3, 2])
    loss = cols[0].text_input("Loss expression", key="contract-loss", placeholder="net.loss(X, y)")
    params = cols[1].text_input(
        "Params expression", key="contract-params", placeholder="net.params"
    )
    grads = cols[2].text_input(
        "Grads expression (optional)",
        key="contract-grads",
        placeholder="net.backprop(x, y)",
        help="Leave empty when the loss returns (loss, grads), or for a torch model "
        "(the gradient then comes from loss.backward()).",
    )
    dtype = cols[3].selectbox(
        "Precision", list(DTYPES), key="contract-dtype", format_func=DTYPES.get
    )
    given = any(
        st.session_state.get(k)
        for k in ("contract-segments", "contract-order", "contract-set-params")
    )
    with st.expander("One flat vector of parameters (optional)", expanded=bool(given)):
        st.caption(
            "Name the matrices one flat params vector unrolls (Ng's `nn_params`), and a "
            "setter when the params expression is a getter returning a copy. Left empty, "
            "they are found from ex4's layer sizes in the loss call and a getter's `set` twin."
        )
        left, middle, right = st.columns([4, 3, 3])
        segments = left.text_input(
            "Segments", key="contract-segments", placeholder="Theta1:25x401,Theta2:10x26"
        )
        order = middle.selectbox(
            "Unrolled in order",
            list(ORDER_CHOICES),
            key="contract-order",
            format_func=ORDER_CHOICES.get,
            disabled=not segments.strip(),
            help="C: row by row (NumPy's default); F: column by column (Octave's (:)).",
        )
        set_params = right.text_input(
            "Setter", key="contract-set-params", placeholder="NN.setParams"
        )
    expressions = {
        "loss": loss.strip(),
        "params": params.strip(),
        "grads": grads.strip(),
        "segments": segments.strip(),
        "order": order if segments.strip() else "",
        "set_params": set_params.strip(),
    }
    return expressions, dtype


def layer_fields() -> tuple[dict, str]:
    """The layer mode's fields: the forward call, an optional backward and the precision."""
    cols = st.columns([4, 3, 2])
    forward = cols[0].text_input(
        "Forward call",
        key="contract-forward",
        placeholder="affine_forward(x, w, b)",
        help="The layer's forward function called on its inputs, as your code names them. "
        "Its float arrays (x included) are the inputs checked; other arguments (a "
        "conv_param dict, labels) are passed as they are.",
    )
    backward = cols[1].text_input(
        "Backward (optional)",
        key="contract-backward",
        placeholder="affine_backward",
        help="Called as backward(dout, cache). Leave empty to take the forward's twin by "
        "name (affine_forward -> affine_backward); torch tensors use autograd and JAX "
        "functions jax.vjp, which run your hand-written backward.",
    )
    dtype = cols[2].selectbox(
        "Precision", list(DTYPES), key="contract-dtype", format_func=DTYPES.get
    )
    return {"forward": forward.strip(), "backward": backward.strip()}, dtype


def run_arguments(check: str, expressions: dict) -> dict:
    """run_user_contract's arguments for the mode: empty fields left out."""
    if check == LAYER:
        return {
            "loss": None,
            "params": None,
            "forward": expressions["forward"],
            "backward": expressions["backward"] or None,
        }
    return {
        "loss": expressions["loss"],
        "params": expressions["params"],
        "grads": expressions["grads"] or None,
        "segments": expressions["segments"] or None,
        "order": expressions["order"] or None,
        "set_params": expressions["set_params"] or None,
    }


def source_input(kind: str) -> tuple[dict[str, bytes] | None, str | None]:
    """The sources to run and the main file, or (None, None) with a message."""
    if kind == "paste":
        text = st.text_area(
            "Your code (one file, run as model.py)", key="contract-source", height=420
        )
        data = text.encode("utf-8", errors="replace")
        if len(data) > MAX_PASTED_BYTES:
            st.error(
                f"Your code is longer than {MAX_PASTED_BYTES:,} bytes; upload it as files "
                "or shorten it."
            )
            return None, None
        return {PASTED_FILE: data}, PASTED_FILE
    st.file_uploader(
        f"Your .py files, or a .zip of a folder with its helper modules (up to "
        f"{MAX_SOURCE_FILES} .py files, {MAX_SOURCE_BYTES // 1024**2} MB)",
        type=["py", "zip"],
        accept_multiple_files=True,
        key=upload_key(),
        on_change=read_uploads,
    )
    note = st.session_state.pop(UPLOAD_NOTE_KEY, None)
    if note:
        st.error("That upload was refused.", icon=":material/upload_file:")
        st.text(note)
    files = st.session_state.get(FILES_KEY)
    if not files:
        st.info("Upload your model's .py file (and its helpers), or a .zip of its folder.")
        return None, None
    names = sorted(files, key=lambda p: (len(PurePosixPath(p).parts), p))
    if st.session_state.get("contract-main") not in names:
        st.session_state["contract-main"] = names[0]
    main = st.selectbox(
        "Main file (runs as a module; the .py files of its folder import)",
        names,
        key="contract-main",
        format_func=lambda p: f"{p} ({len(files[p]):,} bytes)",
    )
    return files, main


def preview(
    sources: dict[str, bytes], main: str, check: str, expressions: dict, dtype: str
) -> bool:
    """What will be checked, as far as it is known without running the code (the source
    and the expressions are parsed, never run); False, with a message, when it cannot run."""
    if check == LAYER and not expressions["forward"]:
        st.info(
            "Type the layer's forward call, e.g. `affine_forward(x, w, b)`: its float-array "
            "arguments are the inputs checked."
        )
        return False
    for role in ("loss", "params") if check == LOSS else ():
        if not expressions[role]:
            st.info(f"Type the {role} expression (a Python expression on your code's names).")
            return False
    roles = LAYER_ROLES if check == LAYER else ROLES
    problems = [
        message
        for role in roles
        if expressions[role]
        and (message := parse_expression(ROLE_NAMES.get(role, role), expressions[role]))
    ]
    call = None
    if check == LAYER and not problems:
        try:
            call = parse_forward(expressions["forward"])
        except ContractError as error:
            problems.append(in_layer_words(str(error)))
    segments = ()
    if check == LOSS and expressions["segments"]:
        try:
            segments = parse_segments(expressions["segments"])
        except ContractError as error:
            problems.append(in_page_words(error, "--segments", "The segments"))
    tree, shipped = parse_main(sources, main, problems)
    if problems:
        # Messages quote what the user typed: plain text, never Markdown.
        st.error("**Your code cannot be checked as it is.**", icon=":material/error:")
        st.text("\n".join(problems))
        return False
    defined = top_level_names(tree)
    missing = sorted(
        {name for role in roles if expressions[role] for name in free_names(expressions[role])}
        - (defined or set())
    )
    helpers = len(shipped) - 1
    lines = [
        f"{main} runs once as a module"
        + (f", with {helpers} helper module{'s' * (helpers != 1)} importable" if helpers else "")
    ]
    if check == LAYER:
        lines += layer_preview(call, expressions["backward"])
    else:
        lines += loss_preview(expressions, segments)
    lines.append(f"precision: {DTYPES[dtype]}")
    with st.container(border=True):
        st.markdown("**What will be checked**")
        st.text("\n".join(lines))
        if defined is not None and missing:
            st.caption(
                "Not defined at the top level of your main file (fine if they come from "
                "elsewhere, e.g. an import inside a function):"
            )
            st.text(", ".join(missing))
    return True


def in_page_words(error: Exception, flag: str, field: str) -> str:
    """The engine's message with the command line's flag named as the page's field."""
    return str(error).replace(flag, field, 1)


def in_layer_words(message: str) -> str:
    """A layer-mode message from the engine in the page's words: the command line's
    --forward, --backward (and --grads, the backward's gradients) named as the fields."""
    message = message.replace("give --backward", "fill in the Backward field")
    message = re.sub(
        r"--(forward|backward|grads)\b",
        lambda m: "the forward call" if m[1] == "forward" else "the backward",
        message,
    )
    return message[:1].upper() + message[1:]


def parse_main(sources: dict[str, bytes], main: str, problems: list[str]):
    """The main file's syntax tree and the sources shipped with it; (None, {}) and a line
    in `problems` when they cannot be read or parsed."""
    try:
        shipped, main_in_folder = check_sources(sources, main)
        text = shipped[main_in_folder].decode("utf-8")
        return ast.parse(text, filename=main), shipped
    except ValueError as error:  # UnicodeDecodeError included
        problems.append(f"{main}: {error}")
    except SyntaxError as error:
        problems.append(
            f"{main} has a syntax error on line {error.lineno}: {error.msg}"
            + (f"\n    {error.text.strip()}" if error.text else "")
        )
    return None, {}


def loss_preview(expressions: dict, segments) -> list[str]:
    """The loss mode's lines of "What will be checked"."""
    grads = (
        f"grads `{expressions['grads']}`, evaluated after the loss"
        if expressions["grads"]
        else "the loss must return (loss, grads), or torch params get loss.backward()"
    )
    lines = [
        f"params `{expressions['params']}`: perturbed in place, one entry at a time",
        f"loss `{expressions['loss']}`; {grads}",
    ]
    if segments:
        cut = ", ".join(f"{s.name} {'x'.join(map(str, s.shape))}" for s in segments)
        order = expressions["order"] or "as your reshape of it says (else C)"
        lines.append(f"the flat vector cut into {cut}, unrolled in order {order}")
    if expressions["set_params"]:
        lines.append(f"moved through the setter `{expressions['set_params']}`")
    return lines


def layer_preview(call, backward: str) -> list[str]:
    """The layer mode's lines of "What will be checked": the call, how its backward is
    found, its inputs and the drawn dout."""
    twin = backward_twin(call.function)
    if backward:
        how = f"backward `{backward}` (given), called as {backward}(dout, cache)"
    elif twin:
        how = f"backward {twin} (found by name), called as {twin}(dout, cache)"
    else:
        how = (
            "backward by torch autograd (tensors) or jax.vjp (a JAX function), which run "
            "your own; a NumPy pair needs the Backward field"
        )
    lines = [f"layer: {call.text}, {how}"]
    if backward or twin:
        lines.append("on torch tensors autograd runs instead, for a JAX function jax.vjp")
    others = [f"{name}={value}" for name, value in call.keywords]
    lines += [
        f"inputs: the float arrays or tensors among {', '.join(call.arguments) or 'none'}, "
        "each moved in place; other arguments passed as they are"
        + (f" ({', '.join(others)})" if others else ""),
        f"loss: sum(output * dout), dout drawn at random (seed {DOUT_SEED}) in the output's "
        "shape; the backward's gradients against central differences",
    ]
    return lines


def main_source(sources: dict[str, bytes], main: str) -> str | None:
    """The main file's text, the file the findings' lines are in (None if not there)."""
    data = sources.get(main)
    return None if data is None else data.decode("utf-8", errors="replace")


def other_sources(sources: dict[str, bytes], main: str) -> dict[str, str]:
    """The upload's files other than the main one, as text: a saved run keeps them."""
    return {
        path: data.decode("utf-8", errors="replace")
        for path, data in sources.items()
        if path != main
    }


def show_run(
    run: CodeRun,
    scenario: Scenario,
    main: str,
    check: str = LOSS,
    source: str | None = None,
    fields: dict | None = None,
    other_files: dict[str, str] | None = None,
) -> None:
    if check == LAYER and not run.ok:
        run = dataclasses.replace(run, message=in_layer_words(run.message))
    show_hint_and_failure(run)
    if run.ok:
        show_result(run, scenario, main, check, source, fields, other_files)
    if run.output:
        with st.expander("What your code printed"):
            st.text(run.output)


def show_result(
    run: CodeRun,
    scenario: Scenario,
    main: str,
    check: str = LOSS,
    source: str | None = None,
    fields: dict | None = None,
    other_files: dict[str, str] | None = None,
) -> None:
    """The run's verdict, findings (with the lines of `source`, the main file, they name),
    downloads, heatmaps, scatter and table. `fields` (expressions and precision) and the
    upload's `other_files` are saved with the run, so its link fills the page back."""
    result = run.result
    findings = diagnose(result)
    lines = model_lines(run, check)
    st.text("\n".join(lines))
    if len(result.matrices) <= STATUS_CARD_ARRAYS:
        status_card(result, findings)
    else:
        status_badge(result)
        st.metric("Relative difference", f"{result.relative_difference:.3g}")
    st.caption(f"Ran in {run.seconds:.1f} s in the sandbox.")
    findings_list(findings, limit=3, source=source, source_name=main)
    runs.save_panel(
        result,
        findings,
        key="save-contract",
        identity=st.session_state.get(RUN_KEY, ("",))[0],  # the shown run's signature
        kind="code",
        code=source,  # the main file: the one the findings' lines are in
        other_files=other_files,
        settings={
            "mode": "contract",
            "check": check,
            "main": main,
            "what": lines,
            **(fields or {}),
            "eps": scenario.eps,
        },
    )
    stem = file_stem(main)
    subject = f"{main}: " + "; ".join(lines)
    left, middle, right = st.columns(3)
    left.download_button(
        "Report (HTML, works offline)",
        data=lambda: build_report(
            None, result, findings, subject=subject, source=source, source_name=main
        ),
        file_name=f"{stem}.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/description:",
        key="contract-download-report",
    )
    middle.download_button(
        "JSON of the run",
        data=lambda: export_json(run, findings),
        file_name=f"{stem}.json",
        mime="application/json",
        on_click="ignore",
        icon=":material/data_object:",
        key="contract-download-json",
    )
    right.download_button(
        "CSV of every parameter",
        data=lambda: result.table().to_csv(),
        file_name=f"{stem}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/table:",
        key="contract-download-csv",
    )
    order = sorted(range(len(result.matrices)), key=lambda i: -result.matrices[i].n_diverging)
    if len(result.matrices) > HEATMAP_ARRAYS:
        st.caption(
            f"Heatmaps of {HEATMAP_ARRAYS} of {len(result.matrices)} arrays (the most "
            "diverging first); every entry is in the table and the downloads."
        )
    for index in sorted(order[:HEATMAP_ARRAYS]):
        m = result.matrices[index]
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", m.name)[:60]
        chart(
            figures.matrix_heatmaps(m),
            f"contract-heatmap-{index}",
            scenario,
            f"contract-{index}",
            file_name=f"{stem}-{safe}.html",
        )
    chart(
        figures.gradient_scatter(result),
        "contract-scatter",
        scenario,
        "contract-scatter",
        file_name=f"{stem}-scatter.html",
    )
    only = st.toggle("Only diverging rows", key="contract-only-diverging")
    styled_table(result, only)
    noise_note(result)
