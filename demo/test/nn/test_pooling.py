"""1-D pooling over windows."""

from demo_testing import TestCase, run_tests


def pool(xs, k, reduce):
    return [reduce(xs[i : i + k]) for i in range(0, len(xs) - k + 1, k)]


class TestPoolingNN(TestCase):
    XS = [1, 5, 2, 8, 3, 3, 9, 0]

    def test_max_pool(self):
        self.assertEqual(pool(self.XS, 2, max), [5, 8, 3, 9])

    def test_avg_pool(self):
        self.assertEqual(pool(self.XS, 4, lambda w: sum(w) / len(w)), [4.0, 3.75])

    def test_window_larger_than_input(self):
        self.assertEqual(pool(self.XS, 9, max), [])


if __name__ == "__main__":
    run_tests()
