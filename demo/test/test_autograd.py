"""Analytic derivatives against central finite differences."""

import math

from demo_testing import TestCase, run_tests


def numeric_grad(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


class TestAutograd(TestCase):
    def test_polynomial(self):
        for x in (-2.0, 0.5, 3.0):
            self.assertAlmostEqual(numeric_grad(lambda v: v**3 - 2 * v, x), 3 * x * x - 2, places=5)

    def test_exp_sin(self):
        f = lambda v: math.exp(math.sin(v))  # noqa: E731
        for x in (0.0, 1.0, 2.5):
            self.assertAlmostEqual(numeric_grad(f, x), math.cos(x) * f(x), places=5)

    def test_chain_rule_of_log(self):
        self.assertAlmostEqual(numeric_grad(lambda v: math.log(v * v + 1), 2.0), 4 / 5, places=6)


if __name__ == "__main__":
    run_tests()
