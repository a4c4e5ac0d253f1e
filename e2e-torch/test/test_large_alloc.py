"""common_utils' @serialTest on the real wheel: the big allocation runs alone on the
machine (pytest marker `serial`), the small tests beside everything else."""

import torch
from torch.testing._internal.common_utils import TestCase, run_tests, serialTest


class TestLargeAlloc(TestCase):
    @serialTest()
    def test_large_zeros_sum(self):
        big = torch.zeros(8 << 20, dtype=torch.float32)  # 32 MiB
        big[::1024] = 1.0
        self.assertEqual(big.sum().item(), float((8 << 20) // 1024))

    def test_small_ones(self):
        self.assertEqual(torch.ones(3).sum().item(), 3.0)

    def test_small_arange(self):
        self.assertEqual(torch.arange(4).tolist(), [0, 1, 2, 3])


if __name__ == "__main__":
    run_tests()
