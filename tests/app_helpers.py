"""Helpers for driving the app in Streamlit's AppTest."""

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "overview": "app.py",
    "check": "pages/1_Gradient_check.py",
    "bugs": "pages/2_Bug_lab.py",
    "epsilon": "pages/3_Epsilon.py",
    "training": "pages/4_Training.py",
    "code": "pages/5_Your_code.py",
}


def start_app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    return at.run()


def open_page(at: AppTest, page: str) -> AppTest:
    return at.switch_page(PAGES[page]).run()


def plotly_figures(at: AppTest) -> list[dict]:
    """Figure JSON of every Plotly chart on the page."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def trace_values(trace: dict, axis: str) -> np.ndarray:
    """A trace's x or y, decoding Plotly's base64 typed arrays."""
    values = trace.get(axis, [])
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
    return np.asarray(values, dtype=float)


def texts(at: AppTest) -> str:
    """All markdown, captions, plain text and alerts of the page, joined."""
    parts = [
        e.value
        for kind in ("markdown", "caption", "error", "warning", "info", "success", "text")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)
