"""With E2E_HANG=1, two gloo ranks wait in a barrier one of them never reaches, so
the harness's timeout has to end them; otherwise skipped."""

import os
import time

import torch.distributed as dist
import torch.multiprocessing as mp
from torch.testing._internal.common_utils import TestCase, run_tests


def _rank(rank, path):
    store = dist.FileStore(path, 2)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=2)
    if rank == 0:
        dist.barrier()
    time.sleep(600)


class TestHang(TestCase):
    def test_ranks_hang(self):
        if os.environ.get("E2E_HANG") != "1":
            self.skipTest("set E2E_HANG=1 to hang")
        mp.spawn(_rank, args=(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"hang-{os.getpid()}"),), nprocs=2)


if __name__ == "__main__":
    run_tests()
