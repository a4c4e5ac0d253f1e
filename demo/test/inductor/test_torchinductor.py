"""A toy compiler: generated Python code matches eager evaluation."""

from demo_testing import TestCase, run_tests


def compile_expr(expr):
    """expr is a nested tuple (op, lhs, rhs) over the variables 'x' and 'y'."""

    def emit(e):
        if isinstance(e, tuple):
            op, lhs, rhs = e
            return f"({emit(lhs)} {op} {emit(rhs)})"
        return str(e)

    namespace = {}
    exec(f"def kernel(x, y):\n    return {emit(expr)}\n", namespace)
    return namespace["kernel"]


def eager(expr, x, y):
    if isinstance(expr, tuple):
        op, lhs, rhs = expr
        a, b = eager(lhs, x, y), eager(rhs, x, y)
        return {"+": a + b, "*": a * b, "-": a - b}[op]
    return {"x": x, "y": y}.get(expr, expr)


class TestInductor(TestCase):
    EXPR = ("+", ("*", "x", "y"), ("-", "x", 3))

    def test_compiled_matches_eager(self):
        kernel = compile_expr(self.EXPR)
        for x, y in [(0, 0), (2, 5), (-3, 4)]:
            self.assertEqual(kernel(x, y), eager(self.EXPR, x, y))

    def test_constant_folding_free_expression(self):
        self.assertEqual(compile_expr(("*", 6, 7))(0, 0), 42)


if __name__ == "__main__":
    run_tests()
