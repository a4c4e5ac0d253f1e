"""Sorting and top-k selection agree with a brute-force reference."""

import heapq
import random

from demo_testing import TestCase, run_tests


class TestSortAndSelect(TestCase):
    def setUp(self):
        self.data = random.Random(1234).sample(range(1000), 50)

    def test_sort_is_ordered_permutation(self):
        out = sorted(self.data)
        self.assertTrue(all(a <= b for a, b in zip(out, out[1:])))
        self.assertEqual(set(out), set(self.data))

    def test_topk(self):
        self.assertEqual(heapq.nlargest(5, self.data), sorted(self.data, reverse=True)[:5])

    def test_kthvalue(self):
        self.assertEqual(heapq.nsmallest(10, self.data)[-1], sorted(self.data)[9])


if __name__ == "__main__":
    run_tests()
