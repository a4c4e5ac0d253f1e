"""Iterative solvers, deliberately slow: the demo's file that takes a few seconds."""

import time

from demo_testing import TestCase, run_tests


def jacobi(a, b, iterations):
    x = [0.0] * len(b)
    for _ in range(iterations):
        x = [(b[i] - sum(a[i][j] * x[j] for j in range(len(b)) if j != i)) / a[i][i] for i in range(len(b))]
    return x


class TestLinalg(TestCase):
    A = [[10.0, -1.0, 2.0], [-1.0, 11.0, -1.0], [2.0, -1.0, 10.0]]
    B = [6.0, 25.0, -11.0]

    def _solve_slowly(self, seconds):
        deadline = time.monotonic() + seconds
        x = jacobi(self.A, self.B, 50)
        while time.monotonic() < deadline:
            x = jacobi(self.A, self.B, 50)
        return x

    def test_jacobi_converges(self):
        x = self._solve_slowly(1.0)
        for row, b in zip(self.A, self.B):
            self.assertAlmostEqual(sum(r * v for r, v in zip(row, x)), b, places=9)

    def test_solution_is_stable(self):
        self.assertEqual([round(v, 9) for v in self._solve_slowly(1.0)], [round(v, 9) for v in jacobi(self.A, self.B, 200)])

    def test_diagonal_dominance(self):
        self._solve_slowly(0.5)
        for i, row in enumerate(self.A):
            self.assertGreater(abs(row[i]), sum(abs(v) for j, v in enumerate(row) if j != i))


if __name__ == "__main__":
    run_tests()
