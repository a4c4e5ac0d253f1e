"""Run once per backend and init method, as PyTorch's distributed handler runs its
test_distributed_spawn: ranks join the group with BACKEND, WORLD_SIZE and INIT_METHOD
from the environment and all-reduce (the `test` backend: one gloo rank)."""

import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.testing._internal.common_utils import TestCase, run_tests


def _rank(rank, world_size, init_method, backend):
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size)
    t = torch.tensor([1.0])
    dist.all_reduce(t)
    assert t.item() == world_size, (t.item(), world_size)
    dist.destroy_process_group()


class TestDistBackendWithSpawn(TestCase):
    def test_allreduce_over_init_method(self):
        backend = os.environ["BACKEND"]
        world_size = int(os.environ["WORLD_SIZE"])
        init_method = os.environ["INIT_METHOD"]
        self.assertTrue(os.path.isdir(os.path.join(os.environ["TEMP_DIR"], "barrier")))
        mp.spawn(_rank, args=(world_size, init_method, "gloo" if backend == "test" else backend), nprocs=world_size)


if __name__ == "__main__":
    run_tests()
