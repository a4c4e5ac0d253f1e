"""A hand-written linear layer: forward values and a gradient step that lowers the loss."""

from demo_testing import TestCase, run_tests


def linear(w, b, x):
    return [sum(wi * xi for wi, xi in zip(row, x)) + bi for row, bi in zip(w, b)]


def mse(pred, target):
    return sum((p - t) ** 2 for p, t in zip(pred, target)) / len(pred)


class TestLinear(TestCase):
    def test_forward(self):
        self.assertEqual(linear([[1, 2], [3, 4]], [0.5, -1], [1, 1]), [3.5, 6])

    def test_gradient_step_reduces_loss(self):
        w, b, x, y = [[0.1, -0.2]], [0.0], [1.0, 2.0], [1.0]
        before = mse(linear(w, b, x), y)
        err = linear(w, b, x)[0] - y[0]
        w = [[wi - 0.05 * 2 * err * xi for wi, xi in zip(w[0], x)]]
        b = [b[0] - 0.05 * 2 * err]
        self.assertLess(mse(linear(w, b, x), y), before)


if __name__ == "__main__":
    run_tests()
