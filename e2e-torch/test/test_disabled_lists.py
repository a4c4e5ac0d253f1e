"""Tests that the torch lane disables, re-enables and marks slow through PyTorch's
lists, served to the harness from a loopback server (see xtask/src/lanes/torch/lists.rs).
Every test passes when it runs once, so the file passes without the lists too."""

import torch
from torch.testing._internal.common_device_type import dtypes, instantiate_device_type_tests
from torch.testing._internal.common_utils import TestCase, run_tests

_calls = {"flaky": 0}


class TestDisabledLists(TestCase):
    # Disabled on linux: skipped here; under --rerun-disabled-tests it passes every
    # run, so it is a candidate to re-enable.
    def test_disabled_on_linux(self):
        self.assertEqual(torch.ones(2).sum().item(), 2.0)

    # Disabled everywhere; fails every second run, so a rerun keeps it disabled.
    def test_disabled_everywhere(self):
        _calls["flaky"] += 1
        self.assertEqual(_calls["flaky"] % 2, 1, "fails every second run")

    # Disabled on Windows and macOS only: runs here.
    def test_disabled_elsewhere(self):
        self.assertTrue(torch.zeros(1).eq(0).all().item())

    # Disabled everywhere, but its issue is in REENABLED_ISSUES: runs.
    def test_reenabled(self):
        self.assertEqual(torch.arange(4).max().item(), 3)

    # In the checkout's test/slow_tests.json: skipped unless PYTORCH_TEST_WITH_SLOW.
    def test_listed_slow(self):
        self.assertEqual(torch.eye(3).trace().item(), 3.0)


class TestDisabledDevice(TestCase):
    # Instantiated as TestDisabledDeviceCPU.test_mul_cpu_float32; the list names the
    # generic test, which common_utils matches without its device and dtype.
    @dtypes(torch.float32)
    def test_mul(self, device, dtype):
        x = torch.full((2,), 3, device=device, dtype=dtype)
        self.assertEqual((x * x).sum().item(), 18)


instantiate_device_type_tests(TestDisabledDevice, globals(), only_for="cpu")

if __name__ == "__main__":
    run_tests()
