import unittest

import torch
import torch_openreg  # noqa: F401


class TestOpenReg(unittest.TestCase):
    def test_op_of_the_extension(self):
        x = torch.tensor([1.0, 2.5])
        self.assertEqual(torch.ops.openreg.twice(x).tolist(), [2.0, 5.0])

    def test_device_is_renamed(self):
        self.assertEqual(torch.device("openreg:0").type, "openreg")


if __name__ == "__main__":
    unittest.main()
