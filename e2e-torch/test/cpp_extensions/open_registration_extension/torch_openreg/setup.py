# A stand-in for PyTorch's torch_openreg backend: one op on the PrivateUse1 key's
# renamed device.
from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension

setup(
    name="torch_openreg",
    packages=["torch_openreg"],
    ext_modules=[CppExtension("torch_openreg._C", ["csrc/openreg.cpp"])],
    cmdclass={"build_ext": BuildExtension},
)
