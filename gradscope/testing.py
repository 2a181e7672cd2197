"""`gradscope.assert_gradients_match`: a gradient check for a user's test suite.

A failing check raises `GradientMismatch`, an AssertionError, so pytest (or unittest)
reports it as a failed test whose reason is the top finding, not a dump of two arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gradscope.notebook import NotebookCheck, check_params
from presentation.report import source_excerpt

ARRAY_LINES = 8  # diverging arrays listed in the message; every one is in the report


class GradientMismatch(AssertionError):
    """The analytic gradient disagrees with finite differences.

    The message starts with the most likely explanation and its evidence; `check`
    holds the whole check (`str(error.check)` prints every finding).
    """

    __module__ = "gradscope"  # tracebacks and pytest name it as users import it

    def __init__(self, message: str, check: NotebookCheck | None = None):
        super().__init__(message)
        self.check = check


def assert_gradients_match(
    loss: Callable[[], object],
    params,
    grads=None,
    report: str | Path | None = None,
    *,
    subject: str | None = None,
    **options,
) -> NotebookCheck:
    """Raise GradientMismatch unless the gradient of `loss()` matches finite differences.

    The arguments are `gradscope.check_params`'s. `report`: where to write the HTML
    report when the check fails (folders created; nothing is written on success). The
    check is returned when it passes, to inspect further.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this function's
    check = check_params(loss, params, grads, subject=subject, **options)
    if check.passed:
        return check
    written = check.write_report(report) if report is not None else None
    raise GradientMismatch(failure_message(check, written), check)


def failure_message(check: NotebookCheck, report: Path | None = None) -> str:
    """The top finding and its evidence, one line per diverging array, where the report is."""
    lines = []
    if check.findings:
        top = check.findings[0]
        lines += [top.message, f"evidence: {top.evidence}", *_where(check, top)]
    diverging = [m for m in check.result.matrices if not m.agrees]
    for m in diverging[:ARRAY_LINES]:
        lines.append(
            f"{m.name} {m.shape_text}: {m.n_diverging} of {m.analytic.size} entries "
            f"diverge, relative difference {m.relative_difference:.3g}, "
            f"worst {m.describe_worst()}"
        )
    if len(diverging) > ARRAY_LINES:
        lines.append(f"... and {len(diverging) - ARRAY_LINES} more arrays diverge")
    if report is not None:
        lines.append(f"report written to {report}")
    return "\n".join(lines)


def _where(check: NotebookCheck, top) -> list[str]:
    """The top finding's lines of the user's file, quoted: the failure says where to look."""
    trace = check.result.trace
    if trace is None or not top.lines:
        return []
    excerpt = source_excerpt(trace.source, top.lines)
    if not excerpt:
        return []
    name = Path(trace.filename).name
    numbers = ", ".join(map(str, top.lines))
    return [f"cause: {top.cause}; look at {name} line{'s' * (len(top.lines) > 1)} {numbers}:"] + [
        f"  {row}" for row in excerpt.splitlines()
    ]
