"""Ranks started as processes each reduce a slice; the parent checks the total."""

import multiprocessing

from demo_testing import TestCase, run_tests

WORLD_SIZE = 3


def worker(rank, queue):
    chunk = range(rank * 100, (rank + 1) * 100)
    queue.put((rank, sum(chunk)))


class TestLauncher(TestCase):
    def test_all_ranks_report(self):
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=worker, args=(r, queue)) for r in range(WORLD_SIZE)]
        for p in procs:
            p.start()
        results = dict(queue.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        self.assertEqual(sorted(results), list(range(WORLD_SIZE)))
        self.assertEqual(sum(results.values()), sum(range(WORLD_SIZE * 100)))
        self.assertTrue(all(p.exitcode == 0 for p in procs))


if __name__ == "__main__":
    run_tests()
