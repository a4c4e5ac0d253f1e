"""1-D convolution: identity kernel, linearity, and output length."""

from demo_testing import TestCase, run_tests


def conv1d(xs, kernel):
    k = len(kernel)
    return [sum(xs[i + j] * kernel[j] for j in range(k)) for i in range(len(xs) - k + 1)]


class TestConvolutionNN(TestCase):
    def test_identity_kernel(self):
        self.assertEqual(conv1d([3, 1, 4, 1, 5], [1]), [3, 1, 4, 1, 5])

    def test_linearity(self):
        a, b, k = [1, 2, 3, 4], [4, 0, -1, 2], [1, -2]
        summed = conv1d([x + y for x, y in zip(a, b)], k)
        self.assertEqual(summed, [x + y for x, y in zip(conv1d(a, k), conv1d(b, k))])

    def test_output_length(self):
        self.assertEqual(len(conv1d(list(range(10)), [1, 1, 1])), 8)


if __name__ == "__main__":
    run_tests()
