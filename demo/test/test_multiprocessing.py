"""Work split over worker processes gives the serial answer (in RUN_PARALLEL_BLOCKLIST)."""

import multiprocessing

from demo_testing import TestCase, run_tests


def square(x):
    return x * x


class TestMultiprocessing(TestCase):
    def test_pool_map(self):
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            self.assertEqual(pool.map(square, range(20)), [x * x for x in range(20)])

    def test_queue_round_trip(self):
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(target=q.put, args=({"rank": 1, "value": [1, 2, 3]},))
        p.start()
        self.assertEqual(q.get(timeout=30), {"rank": 1, "value": [1, 2, 3]})
        p.join(timeout=30)
        self.assertEqual(p.exitcode, 0)


if __name__ == "__main__":
    run_tests()
