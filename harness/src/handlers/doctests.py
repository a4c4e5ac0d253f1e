"""torch-harness: run_test.py's `doctests` handler as a process of its own.

xdoctest over the installed torch package, with the options and TORCH_DOCTEST_*
feature switches PyTorch's runner uses (research 5.13). Writes a JUnit report of the
doctests it ran, so the case's record names any that failed. Exit status 1 when a
doctest failed, as run_test.py returns.
"""

import argparse
import os
import sys
import xml.etree.ElementTree as ET


def features(torch):
    """The doctest features run_test.py switches on: every one is off except ONNX,
    on when onnx, onnxruntime and onnxscript import, and MPS when it is available."""
    enabled = dict.fromkeys(
        ["CUDA", "CUDA1", "LAPACK", "QENGINE", "AUTOGRAD_PROFILER", "CPP_EXT", "MONITOR"],
        False,
    )
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        enabled["ONNX"] = False
    else:
        enabled["ONNX"] = True
    mps = getattr(torch, "mps", None)
    enabled["MPS"] = bool(mps is not None and mps.is_available())
    return enabled


def outcome(example, failed):
    if example in failed:
        return "failed"
    parts = getattr(example, "_parts", None) or []
    skipped = getattr(example, "_skipped_parts", None) or []
    if parts and len(skipped) == len(parts):
        return "skipped"
    return "passed"


def write_junit(path, summary):
    failed = summary.get("failed", []) or []
    times = summary.get("times", {}) or {}
    suite = ET.Element("testsuite", name="doctests")
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for example, seconds in times.items():
        result = outcome(example, failed)
        counts[result] += 1
        case = ET.SubElement(
            suite,
            "testcase",
            classname=str(getattr(example, "modname", "")),
            name=str(getattr(example, "unique_callname", example)),
            file=str(getattr(example, "modpath", "")),
            line=str(getattr(example, "lineno", "")),
            time="%.3f" % seconds,
        )
        if result == "failed":
            exc = getattr(example, "exc_info", None)
            message = repr(exc[1]) if exc else "doctest failed"
            ET.SubElement(case, "failure", message=message).text = message
        elif result == "skipped":
            ET.SubElement(case, "skipped", message="every part of the doctest is skipped")
    suite.set("tests", str(sum(counts.values())))
    suite.set("failures", str(counts["failed"]))
    suite.set("skipped", str(counts["skipped"]))
    suite.set("errors", "0")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--command", default="all")
    parser.add_argument("--junit-xml", required=True)
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args()

    import torch
    import xdoctest.runner

    enabled = features(torch)
    for name, on in enabled.items():
        if on:
            os.environ["TORCH_DOCTEST_" + name] = "1"
    shown = " ".join(
        "TORCH_DOCTEST_%s=%s" % (k, os.environ.get("TORCH_DOCTEST_" + k, "unset"))
        for k in enabled
    )
    print("torch-harness doctests: command=%s %s" % (args.command, shown), flush=True)

    exclude = ["torch._vendor.*"]
    if not enabled["ONNX"]:
        exclude.append("torch.onnx.*")
    config = {
        # run_test.py joins these with a literal backslash-n, which xdoctest expands.
        "global_exec": r"\n".join(
            ["from torch import nn", "import torch.nn.functional as F", "import torch"]
        ),
        "analysis": "static",
        "style": "google",
        "options": "+IGNORE_WHITESPACE",
    }
    summary = xdoctest.runner.doctest_module(
        os.fspath(os.path.dirname(torch.__file__)),
        config=config,
        verbose=max(1, args.verbose),
        command=args.command,
        argv=[],
        exclude=exclude,
    )
    if summary.get("action") == "run_examples":
        write_junit(args.junit_xml, summary)
    return 1 if summary.get("n_failed", 0) else 0


if __name__ == "__main__":
    sys.exit(main())
