"""On a failed browser test, attach the tail of its JupyterLab server's log to the report.

A timeout in the browser says only that something did not appear; the server's log says
whether a request failed or hung, which is what a rare failure in CI needs to be understood.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

#: characters of the server log shown with a failure
LOG_TAIL = 6000


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    env = getattr(item, "funcargs", {}).get("ui")
    lab = getattr(env, "lab", None)
    if lab is None:
        return
    try:
        log = lab.log()
    except OSError as exc:
        log = f"(cannot read the server log: {exc})"
    report.sections.append(("JupyterLab server log (tail)", log[-LOG_TAIL:]))
