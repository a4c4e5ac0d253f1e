#include <Python.h>

static PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "no_python_abi_suffix_test", nullptr, -1, nullptr};

PyMODINIT_FUNC PyInit_no_python_abi_suffix_test(void) {
  return PyModule_Create(&module);
}
