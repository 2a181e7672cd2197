import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import engine  # noqa: E402


@pytest.fixture
def seed_problem():
    """The seed's set-up: 3-5-3, m = 5, lambda = 1, labels [1, 2, 0, 1, 2]."""
    return engine.make_problem((3, 5, 3), m=5, seed=0, lamb=1.0)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium for the browser tests of one module."""
    from tests.browser_helpers import launched_chromium

    with launched_chromium() as chromium:
        yield chromium
