"""What only a real browser and a real server show about pasted code on a shared server.

An exception text with an image link must not make the browser fetch it; a closed
browser tab and a stopped server must each end the code that was running. Harmless by
construction: a canary HTTP listener on 127.0.0.1, code that only sleeps, a server of
the test's own stopped by its PID.
"""

import http.server
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.browser_helpers import OUTPUT, open_app, settle, streamlit_server

pytestmark = pytest.mark.browser
CHILD_MARKER = b"engine.runners.usercode_child"
SLOW_CODE = """
import time
import numpy as np

def computeCost(theta, *args):
    time.sleep(0.5)
    return float(np.sum(theta ** 2))

def gradient(theta, *args):
    return 2 * theta
"""


@pytest.fixture(scope="module")
def server():
    with streamlit_server(OUTPUT / "streamlit-security.log") as (url, _):
        yield url


class CanaryListener:
    """An HTTP server on 127.0.0.1 that only counts the requests it gets."""

    def __init__(self):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the standard library's name
                outer.requests.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def code_children() -> list[int]:
    """PIDs of running user-code children (their command line names the child module)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if CHILD_MARKER in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def paste_and_run(page, source: str) -> None:
    editor = page.get_by_role("textbox", name="Your code")
    editor.fill(source)
    editor.press("Control+Enter")
    settle(page)
    page.get_by_role("button", name="Run the check").click()


def test_an_exception_text_with_an_image_link_is_shown_as_text_and_fetches_nothing(server, browser):
    canary = CanaryListener()
    try:
        link = f"http://127.0.0.1:{canary.port}"
        message = f'![canary]({link}/markdown.png) <img src="{link}/html.png">'
        source = (
            f"def computeCost(theta, *args):\n    raise ValueError({message!r})\n"
            "def gradient(theta, *args):\n    return theta\n"
        )
        page = open_app(browser, server, "Your_code")
        paste_and_run(page, source)
        page.get_by_text("could not be checked").first.wait_for(timeout=60_000)
        page.get_by_text("![canary]", exact=False).first.wait_for(timeout=10_000)
        time.sleep(1.0)  # time for any image the page asked for to arrive
        page.screenshot(path=str(OUTPUT / "your-code-error-as-text.png"))
        assert canary.requests == []
    finally:
        canary.close()


def test_closing_the_browser_ends_the_running_code(server, browser):
    assert code_children() == []
    page = open_app(browser, server, "Your_code")
    paste_and_run(page, SLOW_CODE)
    assert wait_until(lambda: code_children() != [], 30), "the code never started"
    page.context.close()
    assert wait_until(lambda: code_children() == [], 20), code_children()


def test_stopping_the_server_ends_the_running_code(browser):
    assert code_children() == []
    with streamlit_server(OUTPUT / "streamlit-sigterm.log") as (url, process):
        page = open_app(browser, url, "Your_code")
        paste_and_run(page, SLOW_CODE)
        assert wait_until(lambda: code_children() != [], 30), "the code never started"
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        assert wait_until(lambda: code_children() == [], 20), code_children()
        page.context.close()
