"""Row-major and column-major strides. The demo's overlay puts this file on
CI_SERIAL_LIST: a checkout's own run-alone rule, on top of the suite's."""

from demo_testing import TestCase, run_tests


def strides(shape, order):
    dims = range(len(shape)) if order == "F" else reversed(range(len(shape)))
    out, step = [0] * len(shape), 1
    for d in dims:
        out[d] = step
        step *= shape[d]
    return out


class TestMemoryFormat(TestCase):
    def test_contiguous_strides(self):
        self.assertEqual(strides([2, 3, 4], "C"), [12, 4, 1])

    def test_fortran_strides(self):
        self.assertEqual(strides([2, 3, 4], "F"), [1, 2, 6])


if __name__ == "__main__":
    run_tests()
