"""A content-addressed code cache: same source, same entry; new source, new entry."""

import hashlib
import os
import tempfile

from demo_testing import TestCase, run_tests


class CodeCache:
    def __init__(self, root):
        self.root = root

    def path(self, source):
        return os.path.join(self.root, hashlib.sha256(source.encode()).hexdigest()[:16] + ".py")

    def load(self, source):
        path = self.path(source)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(source)
        namespace = {}
        with open(path) as f:
            exec(f.read(), namespace)
        return namespace["kernel"]


class TestCodeCache(TestCase):
    def test_hit_reuses_the_entry(self):
        with tempfile.TemporaryDirectory() as root:
            cache = CodeCache(root)
            src = "def kernel(x):\n    return x + 1\n"
            self.assertEqual(cache.load(src)(1), 2)
            self.assertEqual(cache.load(src)(41), 42)
            self.assertEqual(len(os.listdir(root)), 1)

    def test_new_source_gets_a_new_entry(self):
        with tempfile.TemporaryDirectory() as root:
            cache = CodeCache(root)
            cache.load("def kernel(x):\n    return x\n")
            cache.load("def kernel(x):\n    return -x\n")
            self.assertEqual(len(os.listdir(root)), 2)


if __name__ == "__main__":
    run_tests()
