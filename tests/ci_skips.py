"""pytest plugin: in CI, a skipped contract, keyring or spec test is a failure (issue 12).

Locally these tests skip with their reason (``-ra`` prints it: no Prism after a failed ``npm ci``, no Secret
Service outside ``dbus-run-session``, no ``../shared/nango/openapi.yaml``). In CI (``CI`` set to true/1/yes,
as GitHub Actions, GitLab and .ci/run do) the same skip fails the run: a green CI that silently ran none of
them would hide a broken contract or keyring.

Required in CI: tests marked ``keyring``, tests using the ``spec_path`` or ``prism`` fixture, and every test
of the modules in ``REQUIRED_MODULES`` (including a skip of the whole module at collection).
"""

from __future__ import annotations

import os

import pytest

REQUIRED_MODULES = {
    "test_contract_prism.py": "Prism contract",
    "test_fake_server_spec.py": "OpenAPI spec",
    "test_keyring_secret_service.py": "keyring",
}
REQUIRED_FIXTURES = {"spec_path": "OpenAPI spec", "prism": "Prism contract"}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def required_kind(item: pytest.Item) -> str | None:
    """Why ``item`` must not be skipped in CI, or None."""
    if item.get_closest_marker("keyring") is not None:
        return "keyring"
    for fixture, kind in REQUIRED_FIXTURES.items():
        if fixture in getattr(item, "fixturenames", ()):
            return kind
    return REQUIRED_MODULES.get(item.path.name)


def _reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail(report: pytest.CollectReport | pytest.TestReport, kind: str) -> None:
    report.outcome = "failed"
    report.longrepr = (
        f"{kind} test skipped in CI (CI={os.environ.get('CI')}): {_reason(report.longrepr)}\n"
        "In CI these tests must run: install what the reason names (tests/run.sh does), or run locally "
        "without CI set to let them skip."
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and not hasattr(report, "wasxfail"):
        kind = required_kind(item)
        if kind is not None:
            _fail(report, kind)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and isinstance(collector, pytest.Module):
        kind = REQUIRED_MODULES.get(collector.path.name)
        if kind is not None:
            _fail(report, kind)
