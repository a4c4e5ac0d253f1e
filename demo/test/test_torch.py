"""Matrix helpers checked against algebraic identities."""

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

    def test_identity(self):
        eye = [[1, 0], [0, 1]]
        self.assertEqual(matmul(self.A, eye), self.A)


if __name__ == "__main__":
    run_tests()
