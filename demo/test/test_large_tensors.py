"""Buffers too big to share the machine with: the big one is @serialTest, so PyTorch's
runner (and the harness) runs it alone, and the small ones with everything else."""

from demo_testing import TestCase, run_tests, serialTest

MIB = 1 << 20


class TestLargeTensors(TestCase):
    @serialTest()
    def test_fill_a_large_buffer(self):
        buf = bytearray(64 * MIB)
        buf[::MIB] = b"\x01" * 64
        self.assertEqual(sum(buf[::MIB]), 64)
        self.assertEqual(len(buf), 64 * MIB)

    def test_small_buffer_round_trip(self):
        data = bytes(range(256)) * 4
        self.assertEqual(bytearray(data), data)

    def test_views_share_memory(self):
        buf = bytearray(16)
        view = memoryview(buf)[4:8]
        view[0] = 7
        self.assertEqual(buf[4], 7)


if __name__ == "__main__":
    run_tests()
