"""pytest set-up shared by every test: the `device` fixture runs a test on every device that works here."""
from __future__ import annotations

import pytest

from tests.helpers import skipped_devices, devices_under_test


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", devices_under_test())


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"baregrad test devices: {', '.join(devices_under_test())}"]
    lines += [f"skipped device {name}: {reason}" for name, reason in skipped_devices()]
    return lines
