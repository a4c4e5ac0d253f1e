"""The demo's stand-in for torch.testing._internal.common_utils.

It speaks the part of common_utils' command line that PyTorch's runner relies on
(--use-pytest, --save-xml, --subprocess, --import-slow-tests,
--import-disabled-tests, --rerun-disabled-tests, --pytest-single-test), skips the
tests those lists name as common_utils does, and writes reports where
common_utils writes them: <save-xml>/<dotted file>/, with python-unittest turned
into python-pytest in pytest mode. Everything else is left to pytest and
test/conftest.py, as in PyTorch.
"""

import argparse
import os
import secrets
import subprocess
import sys
import unittest

def _compiled_family():
    if os.environ.get("PYTORCH_TEST_WITH_INDUCTOR") == "1":
        return "inductor"
    if os.environ.get("PYTORCH_TEST_WITH_DYNAMO") == "1":
        return "dynamo"
    return None


def _listed(folder, key):
    test_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    test_dir = os.path.join(os.path.dirname(test_dir), "test")
    return os.path.exists(os.path.join(test_dir, folder, key))


def serialTest(condition=True):
    """Marks a test to run alone on the machine (pytest marker `serial`), as
    common_utils.serialTest does; without pytest the test is left as it is."""
    if type(condition) is not bool:
        raise AssertionError(f"expected condition to be bool, got {type(condition)}")

    def decorator(fn):
        try:
            import pytest
        except ImportError:
            return fn
        return pytest.mark.serial(fn) if condition else fn

    return decorator


# The lists --import-slow-tests and --import-disabled-tests name, loaded by run_tests.
_SLOW = {}
_DISABLED = {}
_RERUN_DISABLED = False


def _on(name):
    return os.environ.get(name) == "1"


def _platform_holds(name):
    """common_utils' platform names; None for a name it does not know."""
    dynamo = any(_on(f"PYTORCH_TEST_WITH_{x}") for x in ("DYNAMO", "INDUCTOR", "AOT_EAGER"))
    known = {
        "linux": sys.platform.startswith("linux"),
        "mac": sys.platform == "darwin",
        "macos": sys.platform == "darwin",
        "win": sys.platform == "win32",
        "windows": sys.platform == "win32",
        "rocm": _on("PYTORCH_TEST_WITH_ROCM"),
        "xpu": False,
        "asan": _on("PYTORCH_TEST_WITH_ASAN"),
        "dynamo": dynamo,
        "dynamo_wrapped": dynamo,
        "inductor": _on("PYTORCH_TEST_WITH_INDUCTOR"),
        "slow": _on("PYTORCH_TEST_WITH_SLOW"),
    }
    return known.get(name)


def _names(key, cls, method):
    """Whether a list key `method (module.Class)` names this test; a key's class
    also covers the classes named after it (TestFoo covers TestFooCPU)."""
    parts = key.split()
    if len(parts) < 2:
        return False
    return parts[0] == method and cls.startswith(parts[1].strip("()").split(".")[-1])


def _check_lists(test):
    cls, method = type(test).__name__, test._testMethodName
    if any(_names(k, cls, method) for k in _SLOW) and not _on("PYTORCH_TEST_WITH_SLOW"):
        raise unittest.SkipTest("test is slow; run with PYTORCH_TEST_WITH_SLOW to enable test")
    disabled = None
    for key, (url, platforms) in _DISABLED.items():
        if not _names(key, cls, method):
            continue
        known = [p for p in platforms if _platform_holds(p) is not None]
        if not known or any(_platform_holds(p) for p in known):
            disabled = (url, known)
            break
    if disabled and not _RERUN_DISABLED:
        url, known = disabled
        where = "all platform(s)" if not known else "platform(s) " + ", ".join(known)
        raise unittest.SkipTest(
            f"Test is disabled because an issue exists disabling it: {url} for {where}. "
            "If you're seeing this on your local machine and would like to enable this "
            "test, please make sure CI is not set and you are not using the flag "
            "--import-disabled-tests."
        )
    if not disabled and _RERUN_DISABLED:
        raise unittest.SkipTest(
            "Test is enabled but --rerun-disabled-tests verification mode is set, so only "
            "disabled tests are run"
        )


def _load_lists(args):
    global _SLOW, _DISABLED, _RERUN_DISABLED
    import json

    for path, into in ((args.import_slow_tests, "slow"), (args.import_disabled_tests, "disabled")):
        if not path:
            continue
        if not os.path.exists(path):
            print(f"demo_testing: {into} test file provided but not found: {path}", flush=True)
            continue
        with open(path) as f:
            loaded = json.load(f)
        if into == "slow":
            _SLOW = loaded
        else:
            _DISABLED = loaded
    _RERUN_DISABLED = args.rerun_disabled_tests


class TestCase(unittest.TestCase):
    """Under PYTORCH_TEST_WITH_DYNAMO/INDUCTOR, applies test/<family>_expected_failures
    and <family>_skips as common_utils does: a listed expected failure that raises is
    skipped and one that passes fails ("Unexpected success"); a listed skip is skipped
    either way, saying so when it passed."""

    def _callTestMethod(self, method):
        _check_lists(self)
        family = _compiled_family()
        key = f"{type(self).__name__}.{self._testMethodName}"
        if family and _listed(f"{family}_expected_failures", key):
            try:
                method()
            except Exception as e:  # noqa: BLE001 - any failure is the expected one
                raise unittest.SkipTest(f"expected failure under {family}: {e}")
            raise AssertionError(
                f"Unexpected success, please remove `test/{family}_expected_failures/{key}`"
            )
        if family and _listed(f"{family}_skips", key):
            try:
                method()
            except Exception as e:  # noqa: BLE001
                raise unittest.SkipTest(f"skipped under {family}: {e}")
            raise unittest.SkipTest(
                f"This test passed, maybe we can remove `test/{family}_skips/{key}`"
            )
        return super()._callTestMethod(method)


_DEFAULT_REPORTS = "test-reports/" + os.environ.get(
    "TEST_REPORT_SOURCE_OVERRIDE", "python-unittest"
)


def _parse(argv):
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--subprocess", action="store_true")
    parser.add_argument("--use-pytest", action="store_true")
    parser.add_argument(
        "--save-xml",
        nargs="?",
        const=_DEFAULT_REPORTS,
        default=_DEFAULT_REPORTS if os.environ.get("CI") else None,
    )
    parser.add_argument("--import-slow-tests", nargs="?", const="slow_tests.json")
    parser.add_argument(
        "--import-disabled-tests", nargs="?", const=".pytorch-disabled-tests.json"
    )
    parser.add_argument("--rerun-disabled-tests", action="store_true")
    parser.add_argument("--pytest-single-test")
    return parser.parse_known_args(argv)


def _dotted(path):
    rel = os.path.relpath(os.path.abspath(path), os.getcwd())
    return rel[: -len(".py")].replace(os.sep, ".") if rel.endswith(".py") else rel


def _case_ids(module):
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    stack, ids = [suite], []
    while stack:
        item = stack.pop()
        if isinstance(item, unittest.TestSuite):
            stack.extend(reversed(list(item)))
        else:
            _, cls, name = item.id().rsplit(".", 2)
            ids.append((cls, name))
    return ids


def _run_each_in_subprocess(args, rest):
    """--subprocess: every test in a fresh interpreter, as common_utils does."""
    main_file = sys.argv[0]
    failed = []
    for cls, name in _case_ids(sys.modules["__main__"]):
        cmd = [sys.executable, "-bb", main_file]
        if args.use_pytest:
            cmd += ["--use-pytest", f"--pytest-single-test={main_file}::{cls}::{name}"]
        else:
            cmd.append(f"{cls}.{name}")
        if args.save_xml:
            cmd.append(f"--save-xml={args.save_xml}")
        for flag, value in (("--import-slow-tests", args.import_slow_tests),
                            ("--import-disabled-tests", args.import_disabled_tests)):
            if value:
                cmd.append(f"{flag}={value}")
        if args.rerun_disabled_tests:
            cmd.append("--rerun-disabled-tests")
        cmd += [a for a in rest if not a.startswith(("--sc=", "--scs=", "--rs="))]
        rc = subprocess.call(cmd, timeout=15 * 60)
        if rc != 0:
            print(f"Test exited with non-zero exitcode {rc}. Command to reproduce: "
                  + " ".join(cmd), flush=True)
            failed.append(f"{cls}.{name}")
    if failed:
        raise AssertionError(f"{len(failed)} unit test(s) failed: {failed}")


def run_tests():
    args, rest = _parse(sys.argv[1:])
    _load_lists(args)
    main_file = sys.argv[0]
    if args.subprocess:
        _run_each_in_subprocess(args, rest)
        return
    if args.use_pytest:
        import pytest

        target = args.pytest_single_test or main_file
        pytest_args = [target, "--use-main-module"] + rest
        if args.save_xml:
            dotted = _dotted(main_file)
            folder = os.path.join(
                args.save_xml.replace("python-unittest", "python-pytest"), dotted
            )
            os.makedirs(folder, exist_ok=True)
            xml = os.path.join(folder, f"{dotted}-{secrets.token_hex(8)}.xml")
            pytest_args.append(f"--junit-xml-reruns={xml}")
        rc = int(pytest.main(pytest_args))
        sys.exit(0 if rc == 5 else rc)
    argv = [main_file] + rest
    if args.save_xml:
        try:
            import xmlrunner
        except ImportError:
            print("demo_testing: xmlrunner is not installed; no XML report", flush=True)
        else:
            folder = os.path.join(args.save_xml, _dotted(main_file))
            unittest.main(module="__main__", argv=argv,
                          testRunner=xmlrunner.XMLTestRunner(output=folder, verbosity=2))
            return
    unittest.main(module="__main__", argv=argv, verbosity=2)
