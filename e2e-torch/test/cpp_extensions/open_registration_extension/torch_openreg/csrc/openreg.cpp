#include <Python.h>

#include <ATen/core/Tensor.h>
#include <ATen/ops/mul.h>
#include <torch/library.h>

namespace {
at::Tensor twice(const at::Tensor& x) {
  return at::mul(x, 2);
}
}  // namespace

TORCH_LIBRARY(openreg, m) {
  m.def("twice(Tensor x) -> Tensor", twice);
}

static PyModuleDef module = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};

PyMODINIT_FUNC PyInit__C(void) {
  return PyModule_Create(&module);
}
