"""Batching and shuffling, plus two tests that show what the runner does with trouble.

`test_worker_timeout_flaky` fails the first time it runs in a process and passes when
rerun, as a flaky test does: with pytest-rerunfailures (pytest mode) the runner reruns
it and the case ends as a flaky pass. `test_zz_injected_failure` fails only when
DEMO_INJECT_FAILURE=1, to see a failing case end to end:
`DEMO_INJECT_FAILURE=1 cargo xtask test` then `cargo xtask report`.
"""

import os
import random
import sys

from demo_testing import TestCase, run_tests

_calls = {"flaky": 0}
# Only where a failing test is rerun (pytest with --reruns) can it be flaky.
_RERUNS = any(a.startswith("--reruns=") and a != "--reruns=0" for a in sys.argv)


def batches(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


class TestDataLoader(TestCase):
    def test_batches_cover_everything_once(self):
        items = list(range(23))
        got = batches(items, 5)
        self.assertEqual([len(b) for b in got], [5, 5, 5, 5, 3])
        self.assertEqual(sum(got, []), items)

    def test_shuffle_is_a_permutation(self):
        items = list(range(100))
        shuffled = items[:]
        random.Random(7).shuffle(shuffled)
        self.assertNotEqual(shuffled, items)
        self.assertEqual(sorted(shuffled), items)

    def test_worker_timeout_flaky(self):
        _calls["flaky"] += 1
        if _RERUNS and _calls["flaky"] == 1:
            self.fail("worker did not answer in time (fails once, then passes)")

    def test_zz_injected_failure(self):
        self.assertNotEqual(os.environ.get("DEMO_INJECT_FAILURE"), "1", "failure injected on request")


if __name__ == "__main__":
    run_tests()
