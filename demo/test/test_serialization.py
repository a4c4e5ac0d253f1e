"""Saving and loading keep values, types and shared references."""

import io
import json
import pickle
import unittest

from demo_testing import TestCase, run_tests


class TestSerialization(TestCase):
    def test_pickle_round_trip_keeps_sharing(self):
        shared = [1, 2]
        obj = {"a": shared, "b": shared}
        loaded = pickle.loads(pickle.dumps(obj))
        self.assertEqual(loaded, obj)
        self.assertIs(loaded["a"], loaded["b"])

    def test_json_stream(self):
        buf = io.StringIO()
        json.dump({"weights": [0.5, -1.25]}, buf)
        buf.seek(0)
        self.assertEqual(json.load(buf)["weights"], [0.5, -1.25])

    @unittest.skip("no legacy zip format in the demo")
    def test_legacy_zip_format(self):
        self.fail("skipped tests do not run")


if __name__ == "__main__":
    run_tests()
