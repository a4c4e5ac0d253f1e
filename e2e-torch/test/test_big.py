"""Many small tests: the file a plan splits into pieces (--shard-id/--num-shards)."""

import torch
from torch.testing._internal.common_utils import (
    TestCase,
    instantiate_parametrized_tests,
    parametrize,
    run_tests,
)


class TestMany(TestCase):
    @parametrize("size", list(range(1, 41)))
    def test_softmax_sums_to_one(self, size):
        x = torch.randn(size)
        self.assertEqual(torch.softmax(x, dim=0).sum(), torch.tensor(1.0))


instantiate_parametrized_tests(TestMany)

if __name__ == "__main__":
    run_tests()
