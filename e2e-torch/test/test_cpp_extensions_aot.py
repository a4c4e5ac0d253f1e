"""Run by the cpp_extensions_aot handlers as test_cpp_extensions_aot_ninja and
_no_ninja, after test/cpp_extensions is built and installed."""

import os

import torch
from torch.testing._internal.common_utils import TestCase, run_tests

import torch_test_cpp_extension.cpp  # noqa: F401  (registers e2e_ext ops)


class TestCppExtensionAOT(TestCase):
    def test_extension_op(self):
        x = torch.arange(3.0)
        self.assertEqual(torch.ops.e2e_ext.add_one(x), torch.tensor([1.0, 2.0, 3.0]))

    def test_installed_outside_the_environment(self):
        # From the case's own install folder, never the interpreter's site-packages.
        where = torch_test_cpp_extension.cpp.__file__
        self.assertIn(os.sep + "install" + os.sep, where)

    def test_no_python_abi_suffix_sets_the_correct_library_name(self):
        # Looked for where run_test.py builds it, relative to test/.
        root = os.path.join("cpp_extensions", "no_python_abi_suffix_test", "build")
        libs = [f for _, _, fs in os.walk(root) for f in fs if f.endswith(".so")]
        self.assertEqual(libs, ["no_python_abi_suffix_test.so"])

    def test_variant_is_set(self):
        self.assertIn(os.environ.get("USE_NINJA"), ("0", "1"))


if __name__ == "__main__":
    run_tests()
