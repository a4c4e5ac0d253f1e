"""Binary operations over a grid of inputs: one generated test per (op, input)."""

import operator

from demo_testing import TestCase, run_tests

OPS = {
    "add": (operator.add, lambda a, b: b + a),
    "mul": (operator.mul, lambda a, b: b * a),
    "max": (max, lambda a, b: a if a >= b else b),
    "min": (min, lambda a, b: a if a <= b else b),
}
INPUTS = [(0, 0), (1, -1), (3, 7), (-4, -9), (12, 5)]


class TestCommonOps(TestCase):
    pass


def _make(op, reference, a, b):
    def test(self):
        self.assertEqual(op(a, b), reference(a, b))

    return test


for _name, (_op, _ref) in OPS.items():
    for _i, (_a, _b) in enumerate(INPUTS):
        setattr(TestCommonOps, f"test_{_name}_{_i}", _make(_op, _ref, _a, _b))


if __name__ == "__main__":
    run_tests()
