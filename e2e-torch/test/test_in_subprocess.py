"""Run under --subprocess (a CUSTOM_HANDLERS entry): every test in its own interpreter."""

import os

import torch
from torch.testing._internal.common_utils import TestCase, run_tests


class TestIsolated(TestCase):
    def test_fresh_process_a(self):
        self.assertEqual(torch.zeros(2).sum().item(), 0.0)
        os.environ["LEAKED_STATE"] = "a"

    def test_fresh_process_b(self):
        # Another interpreter: nothing test_a set is visible here.
        self.assertNotIn("LEAKED_STATE", os.environ)


if __name__ == "__main__":
    run_tests()
