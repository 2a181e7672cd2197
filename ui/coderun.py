"""Running a visitor's code from a page: a place in the server's queue, then the sandbox,
with a progress bar whose Streamlit calls end the run when the session closes or reruns."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from engine.runners.runqueue import AlreadyQueued, shared_queue


class RunProgress:
    """The progress bar of one run. Every update is a Streamlit call, and a Streamlit call
    raises when the session was closed or rerun: that is how a run learns to end."""

    def __init__(self):
        self.value, self.text = 0.0, "Starting your code in the sandbox…"
        self.bar = st.progress(self.value, text=self.text)

    def waiting(self, position: int) -> None:
        self.show(0.0, f"Waiting for a place to run your code: number {position} in line")

    def progress(self, done: int, total: int) -> None:
        self.show(done / total, f"Numerical gradient: {done} of {total} parameters")

    def heartbeat(self) -> None:
        self.show(self.value, self.text)

    def show(self, value: float, text: str) -> None:
        self.value, self.text = value, text
        self.bar.progress(value, text=text)


def queued_run(run: Callable[[RunProgress], object]):
    """`run(progress)` once this session has a place in the server's queue (one run per
    session, first come first served); None, with a message, if its last run still goes."""
    shown = RunProgress()
    context = get_script_run_ctx()
    owner = context.session_id if context else "no-session"
    try:
        with shared_queue().place(owner, on_wait=shown.waiting):
            shown.show(0.0, "Starting your code in the sandbox…")
            return run(shown)
    except AlreadyQueued:
        st.warning("Your previous run is still going; wait for it to finish.")
        return None
    finally:
        shown.bar.empty()


def show_hint_and_failure(run) -> None:
    """A hint about the code, and why it could not be checked: plain text, never Markdown
    (messages quote the user's code and exceptions)."""
    if run.hint:
        st.info("A hint about your code:", icon=":material/lightbulb:")
        st.text(run.hint)
    if not run.ok:
        st.error("**Your code could not be checked.**", icon=":material/error:")
        st.text(run.message)
        if run.line:
            st.code(f"line {run.line}: {run.line_text}", language="python")
