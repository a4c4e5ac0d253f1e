"""Matrix helpers checked against algebraic identities."""

import os

from demo_testing import TestCase, run_tests


def matmul(a, b):
    return [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]


def transpose(a):
    return [list(col) for col in zip(*a)]


class TestTensorOps(TestCase):
    A = [[1, 2], [3, 4], [5, 6]]
    B = [[7, 8, 9], [10, 11, 12]]

    def test_matmul_shape_and_values(self):
        self.assertEqual(matmul(self.A, self.B), [[27, 30, 33], [61, 68, 75], [95, 106, 117]])

    def test_transpose_of_product(self):
        self.assertEqual(transpose(matmul(self.A, self.B)), matmul(transpose(self.B), transpose(self.A)))

    def test_inplace_aliasing(self):
        # Stands in for a test torch.compile gets wrong: it fails in compiled mode and
        # is listed in test/dynamo_expected_failures and inductor_expected_failures.
        a = [[1, 2], [3, 4]]
        alias = a[0]
        alias[0] = 10
        compiled = "1" in (os.environ.get("PYTORCH_TEST_WITH_DYNAMO"), os.environ.get("PYTORCH_TEST_WITH_INDUCTOR"))
        self.assertEqual(a[0][0], 1 if compiled else 10)

    def test_identity(self):
        eye = [[1, 0], [0, 1]]
        self.assertEqual(matmul(self.A, eye), self.A)


if __name__ == "__main__":
    run_tests()
