"""pytest set-up shared by every test: the `device` fixture runs a test on every device that works here."""
from __future__ import annotations

import pytest

from tests.helpers import devices_under_test, skipped_devices, unsupported_dtype_reason


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", devices_under_test())


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"baregrad test devices: {', '.join(devices_under_test())}"]
    lines += [f"skipped device {name}: {reason}" for name, reason in skipped_devices()]
    return lines


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A dtype the device declares unsupported (e.g. float64 on WEBGPU) skips the case with the device's reason."""
    outcome = yield
    report = outcome.get_result()
    reason = unsupported_dtype_reason(call.excinfo.value) if call.excinfo is not None else None
    if reason is not None and report.failed:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {reason}")
