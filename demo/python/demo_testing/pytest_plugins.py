"""pytest plugins speaking the flags PyTorch's runner passes, for the checkouts written
here (a conftest star-imports this module).

- --use-main-module: collect tests from the running script instead of importing it again.
- --shard-id/--num-shards: keep a test when sha256(nodeid) as a little-endian integer,
  modulo the shard count, equals shard-id - 1; --print-items lists the kept node ids.
- --sc/--scs/--rs KEY (stepcurrent): the cache keeps the node id of the last test that
  started; --sc resumes at it, --scs resumes after it, --rs runs only it.
- --junit-xml-reruns PATH: JUnit XML with a <rerun> element per failed attempt that
  pytest-rerunfailures retried, classname and file as PyTorch's reports have them.
  A test that runs several times in one session (pytest-flakefinder's copies, which
  share a node id) gets one <testcase> per run.

With DEMO_TIMELINE=PATH set, every pytest session appends one JSON line to PATH when it
ends: its case token (TORCH_HARNESS_CASE_TOKEN), pid, when the process started and when
the session ended (wall clock), its `-m` expression and the tests it started. Tests of the harness read it to see which cases ran at the same time,
from the test processes themselves rather than from the harness's own account.
"""

import hashlib
import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_pycollect_makemodule",
    "pytest_unconfigure",
]


def pytest_addoption(parser):
    group = parser.getgroup("pytorch runner")
    group.addoption("--use-main-module", action="store_true")
    group.addoption("--sc", action="store", default=None, help="stepcurrent: resume at the last test")
    group.addoption("--scs", action="store", default=None, help="stepcurrent: resume after the last test")
    group.addoption("--rs", action="store", default=None, help="stepcurrent: run only the last test")
    group.addoption("--shard-id", type=int, default=1)
    group.addoption("--num-shards", type=int, default=1)
    group.addoption("--print-items", action="store_true")
    group.addoption("--junit-xml-reruns", action="store", default=None)
    for key in ("junit_logging_reruns", "junit_suite_name_reruns", "junit_family_reruns"):
        parser.addini(key, "accepted for PyTorch's pytest.ini", default="")


class _MainModule(pytest.Module):
    def _getobj(self):
        return sys.modules["__main__"]


def pytest_pycollect_makemodule(module_path, parent):
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if (
        parent.config.getoption("use_main_module")
        and main
        and Path(main).resolve() == Path(module_path).resolve()
    ):
        return _MainModule.from_parent(parent, path=Path(module_path))
    return None


def _process_started():
    """This process's start in wall-clock seconds: its age from /proc (Linux) taken off
    the time now, so starts and ends are on one clock; else now."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.time()


def pytest_configure(config):
    if os.environ.get("DEMO_TIMELINE"):
        config._demo_timeline = _Timeline(os.environ["DEMO_TIMELINE"])
        config.pluginmanager.register(config._demo_timeline, "demo_timeline")
    config.pluginmanager.register(_Shard(config), "demo_shard")
    if any(config.getoption(o) for o in ("sc", "scs", "rs")):
        config.pluginmanager.register(_StepCurrent(config), "demo_stepcurrent")
    path = config.getoption("junit_xml_reruns")
    if path:
        config.pluginmanager.register(_JUnitReruns(path), "demo_junit_reruns")


def pytest_unconfigure(config):
    timeline = getattr(config, "_demo_timeline", None)
    if timeline is not None:
        timeline.write(config)


class _Timeline:
    """DEMO_TIMELINE: when this process ran, and which tests it started."""

    def __init__(self, path):
        self.path = path
        self.started = _process_started()
        self.tests = []

    def pytest_runtest_logstart(self, nodeid, location):
        self.tests.append(nodeid)

    def write(self, config):
        line = json.dumps({
            "token": os.environ.get("TORCH_HARNESS_CASE_TOKEN", ""),
            "pid": os.getpid(),
            "start": self.started,
            "end": time.time(),
            "markexpr": config.getoption("markexpr", "") or "",
            "tests": self.tests,
        })
        # One short append per session: lines from concurrent processes do not interleave.
        with open(self.path, "a") as f:
            f.write(line + "\n")


class _Shard:
    def __init__(self, config):
        self.shard_id = config.getoption("shard_id")
        self.num_shards = config.getoption("num_shards")
        self.print_items = config.getoption("print_items")
        self.kept = []
        if not 1 <= self.shard_id <= self.num_shards:
            raise pytest.UsageError(
                f"--shard-id must be between 1 and --num-shards ({self.num_shards}), got {self.shard_id}"
            )

    @staticmethod
    def shard_of(nodeid, num_shards):
        digest = hashlib.sha256(nodeid.encode("utf-8")).digest()
        return int.from_bytes(digest, "little") % num_shards

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config, items):
        keep, drop = [], []
        for item in items:
            mine = self.shard_of(item.nodeid, self.num_shards) == self.shard_id - 1
            (keep if mine else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep
        self.kept = [i.nodeid for i in keep]

    def pytest_report_collectionfinish(self, config, items):
        line = f"Running {len(self.kept)} items in this shard"
        if self.print_items:
            line += ": " + ", ".join(self.kept)
        return [line]


class _StepCurrent:
    def __init__(self, config):
        self.cache = config.cache
        if config.getoption("rs"):
            self.mode, key = "rs", config.getoption("rs")
        elif config.getoption("scs"):
            self.mode, key = "scs", config.getoption("scs")
        else:
            self.mode, key = "sc", config.getoption("sc")
        self.lastrun_key = f"cache/stepcurrent/{key}/lastrun"
        self.failing_key = f"cache/stepcurrent/{key}/made_failing_xml"
        self.initial = self.cache.get(self.lastrun_key, None)
        self.cache.set(self.failing_key, False)
        self.report = ""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        ids = [item.nodeid for item in items]
        if self.initial is None:
            self.report = "Cannot find last run test, not skipping"
            return
        if self.initial not in ids:
            self.report = "previously run test not found, not skipping."
            return
        at = ids.index(self.initial)
        if self.mode == "sc":
            keep = items[at:]
        elif self.mode == "scs":
            keep = items[at + 1 :]
        else:
            keep = items[at : at + 1]
        drop = [i for i in items if i not in keep]
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep
        self.report = f"skipping {len(drop)} already run items."

    def pytest_report_collectionfinish(self, config, items):
        return [f"stepcurrent: {self.report}"] if self.report else []

    def pytest_runtest_protocol(self, item, nextitem):
        self.cache.set(self.lastrun_key, item.nodeid)

    def pytest_sessionfinish(self, session, exitstatus):
        if exitstatus == 0:
            self.cache.set(self.lastrun_key, self.initial)
        else:
            self.cache.set(self.failing_key, True)


class _JUnitReruns:
    """One <testcase> per test; failed attempts that were rerun become <rerun> children."""

    def __init__(self, path):
        self.path = path
        # (node id, run) -> case; run counts the times the node id started.
        self.cases = {}
        self.runs = {}
        self.rerunning = {}
        self.started = time.time()

    def _case(self, nodeid):
        key = (nodeid, self.runs.get(nodeid, 0))
        return self.cases.setdefault(
            key, {"time": 0.0, "result": None, "reruns": [], "out": []}
        )

    def pytest_runtest_logstart(self, nodeid, location):
        # A start after a rerun report is the same test's next attempt
        # (pytest-rerunfailures); any other start of a node id already seen is another
        # run of it (a flakefinder copy).
        if nodeid in self.runs and not self.rerunning.get(nodeid):
            self.runs[nodeid] += 1
        self.runs.setdefault(nodeid, 0)
        self.rerunning[nodeid] = False

    @staticmethod
    def _message(report):
        crash = getattr(report.longrepr, "reprcrash", None)
        if crash is not None:
            return crash.message
        if isinstance(report.longrepr, tuple):
            return str(report.longrepr[2])
        return str(report.longrepr).splitlines()[-1] if report.longrepr else ""

    def pytest_runtest_logreport(self, report):
        case = self._case(report.nodeid)
        case["time"] += report.duration
        if report.capstdout or report.capstderr:
            case["out"].append(report.capstdout + report.capstderr)
        if report.outcome == "rerun":
            self.rerunning[report.nodeid] = True
            case["reruns"].append((self._message(report), report.longreprtext))
            case["result"] = None
        elif report.failed and case["result"] is None:
            kind = "failure" if report.when == "call" else "error"
            case["result"] = (kind, self._message(report), report.longreprtext)
        elif report.skipped and case["result"] is None:
            if hasattr(report, "wasxfail"):
                case["result"] = ("skipped", f"expected failure: {report.wasxfail}", "")
            else:
                case["result"] = ("skipped", self._message(report), "")

    def pytest_runtest_logfinish(self, nodeid, location):
        # Written after every test, so a process that dies mid-file leaves its
        # results so far.
        self.write()

    def pytest_sessionfinish(self, session):
        self.write()

    def write(self):
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite = ET.Element("testsuite", name="pytest")
        for (nodeid, _), case in self.cases.items():
            path, _, rest = nodeid.partition("::")
            classname, _, name = rest.rpartition("::")
            if path.startswith("test/"):
                path = path[len("test/") :]
            element = ET.SubElement(
                suite,
                "testcase",
                classname=classname.split("::")[-1],
                name=name,
                file=path,
                time=f"{case['time']:.3f}",
            )
            counts["tests"] += 1
            if case["result"] is not None:
                kind, message, text = case["result"]
                counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[kind]] += 1
                child = ET.SubElement(element, kind, message=message)
                child.text = text
            for message, text in case["reruns"]:
                rerun = ET.SubElement(element, "rerun", message=message)
                rerun.text = text
            if case["out"]:
                ET.SubElement(element, "system-out").text = "".join(case["out"])
        for key, value in counts.items():
            suite.set(key, str(value))
        suite.set("time", f"{time.time() - self.started:.3f}")
        root = ET.Element("testsuites")
        root.append(suite)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        tmp = self.path + ".tmp"
        ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
        os.replace(tmp, self.path)
