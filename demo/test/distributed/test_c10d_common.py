"""A file-backed key-value store as ranks use it; run with --subprocess (a CUSTOM_HANDLERS file)."""

import json
import os
import tempfile

from demo_testing import TestCase, run_tests


class FileStore:
    def __init__(self, path):
        self.path = path

    def set(self, key, value):
        data = self._read()
        data[key] = value
        with open(self.path, "w") as f:
            json.dump(data, f)

    def get(self, key):
        return self._read()[key]

    def add(self, key, amount):
        value = self._read().get(key, 0) + amount
        self.set(key, value)
        return value

    def _read(self):
        if not os.path.exists(self.path):
            return {}
        with open(self.path) as f:
            return json.load(f)


class TestFileStore(TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.store = FileStore(os.path.join(self.dir.name, "store"))

    def tearDown(self):
        self.dir.cleanup()

    def test_set_get(self):
        self.store.set("master", "127.0.0.1:29500")
        self.assertEqual(self.store.get("master"), "127.0.0.1:29500")

    def test_add_counts_arrivals(self):
        self.assertEqual([self.store.add("arrived", 1) for _ in range(3)], [1, 2, 3])


if __name__ == "__main__":
    run_tests()
