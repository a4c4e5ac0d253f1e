"""Run by the autoload handlers with TORCH_DEVICE_BACKEND_AUTOLOAD=1 and =0, after
test/cpp_extensions is installed."""

import os

from torch.testing._internal.common_utils import TestCase, run_tests


class TestDeviceBackendAutoload(TestCase):
    def test_autoload(self):
        switch = os.getenv("TORCH_DEVICE_BACKEND_AUTOLOAD", "0")
        loaded = os.getenv("E2E_BACKEND_AUTOLOADED", "0")
        # torch ran the backend's entry point exactly when the switch was on.
        self.assertEqual(loaded, switch)


if __name__ == "__main__":
    run_tests()
