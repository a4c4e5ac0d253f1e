# The extension package run_test.py's cpp_extensions_aot and autoload handlers
# install: one C++ op, and a device-backend package torch autoloads.
import os

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension

setup(
    name="torch_test_cpp_extension",
    packages=["torch_test_cpp_extension", "autoload_extension"],
    ext_modules=[CppExtension("torch_test_cpp_extension.cpp", ["extension.cpp"])],
    cmdclass={
        "build_ext": BuildExtension.with_options(
            use_ninja=os.getenv("USE_NINJA") == "1"
        )
    },
    entry_points={"torch.backends": ["device_backend = autoload_extension:_autoload"]},
)
