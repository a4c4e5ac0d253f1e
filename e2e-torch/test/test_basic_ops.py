"""common_utils' TestCase and run_tests with parametrize and CPU device instantiation."""

import torch
from torch.testing._internal.common_device_type import instantiate_device_type_tests
from torch.testing._internal.common_utils import (
    TestCase,
    instantiate_parametrized_tests,
    parametrize,
    run_tests,
    slowTest,
)


class TestArith(TestCase):
    @parametrize("n", [1, 7, 64])
    def test_sum_of_ones(self, n):
        self.assertEqual(torch.ones(n).sum(), torch.tensor(float(n)))

    def test_matmul_identity(self):
        a = torch.randn(5, 5)
        self.assertEqual(a @ torch.eye(5), a)

    @slowTest
    def test_big_reduction(self):
        self.assertEqual(torch.arange(10_000, dtype=torch.float64).sum(), 49_995_000.0)

    def test_skipped_with_reason(self):
        self.skipTest("needs a feature this build lacks")


class TestDeviceOps(TestCase):
    def test_add(self, device):
        x = torch.ones(3, device=device)
        self.assertEqual((x + x).sum().item(), 6.0)


instantiate_parametrized_tests(TestArith)
instantiate_device_type_tests(TestDeviceOps, globals(), only_for="cpu")

if __name__ == "__main__":
    run_tests()
