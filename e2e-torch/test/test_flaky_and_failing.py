"""A flaky test (fails the first time it runs in a process, when reruns exist) and one
that fails only when E2E_INJECT_FAILURE=1."""

import os
import sys

import torch
from torch.testing._internal.common_utils import TestCase, run_tests

_calls = {"flaky": 0}
_RERUNS = any(a.startswith("--reruns=") and a != "--reruns=0" for a in sys.argv)


class TestTrouble(TestCase):
    def test_a_flaky(self):
        _calls["flaky"] += 1
        if _RERUNS and _calls["flaky"] == 1:
            self.fail("fails once, then passes")
        self.assertTrue(torch.ones(1).bool().item())

    def test_b_injected(self):
        self.assertNotEqual(os.environ.get("E2E_INJECT_FAILURE"), "1", "failure injected on request")


if __name__ == "__main__":
    run_tests()
