#!/usr/bin/python3
"""Reads the NUnit result XML of .ci/run's test runs and decides whether CI passes.

For every run: the failed tests, the tests that skipped although they may not, and the run's counts.
Then a line explaining the skipped count and, last, one line "N passed, N failed, N skipped" (sums
over the runs). Exit status 1 when a test failed, when a test skipped that may not skip here, when a
run holds no test, or when a --require'd test did not pass in every run.

May skip: tests in category Gpu, and only when this machine has no CUDA device (--no-cuda-device;
.ci/run decides that from the driver, not from the tests). In a run on the emulated CUDA device
(--emulator-run) only the cuDNN and NCCL cases of category Gpu may skip: the emulator has neither. Nothing else:
a missing Python, data set or fixture must fail, never skip, or CI would go green while a cross-check
stops running.

--left-out CATEGORY: the --run runs left that category out on purpose (filter TestCategory!=CATEGORY) because the
--emulator-run runs cover it: category Gpu on a machine without a CUDA device (only with --no-cuda-device), category
Emulator (the emulated device's own tests, which cannot run on a real GPU) on a machine with one. Then every --run
must hold no test of it, and the emulator runs together must pass at least one, or CI fails (a filter may not make
tests vanish).

Usage: test_report.py [--no-cuda-device] [--left-out CATEGORY] [--require TEST]... --run LABEL RESULT.xml [--run ...]
                      [--emulator-run LABEL RESULT.xml]...
  --require TEST  TEST (a method name or full name) must pass in every --run; its output is printed per run
"""
import argparse
import sys
import xml.etree.ElementTree as ET

ALLOWED_SKIP_CATEGORY = "Gpu"


def cases(node, inherited=()):
    """(test-case element, categories including those of the enclosing fixtures) for every test case."""
    own = tuple(p.get("value") for p in node.findall("properties/property") if p.get("name") == "Category")
    categories = inherited + own
    if node.tag == "test-case":
        yield node, categories
    for child in node:
        if child.tag in ("test-suite", "test-case"):
            yield from cases(child, categories)


def first_line(text):
    text = (text or "").strip()
    return text.splitlines()[0] if text else ""


EMULATOR_SKIP_REASONS = ("cuDNN absent", "NCCL absent")


def may_skip(categories, reason, no_cuda_device, emulated):
    if ALLOWED_SKIP_CATEGORY not in categories:
        return False
    return any(r in reason for r in EMULATOR_SKIP_REASONS) if emulated else no_cuda_device


def check_run(label, path, no_cuda_device, required, emulated=False, left_out=None):
    """Prints the run's problems and counts; returns (passed, failed, skipped, allowed skips, problems, tests of the
    category `left_out` passed)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"{label}: no readable test results ({e})")
        return 0, 0, 0, 0, 1, 0
    passed, failed, skipped, not_allowed, results, left_out_passed, left_out_present = 0, [], 0, [], {}, 0, []
    for case, categories in cases(root):
        name = case.get("fullname") or case.get("name")
        result = case.get("result")
        results[name] = (result, (case.findtext("output") or "").strip())
        if left_out in categories:
            left_out_present.append(name)
            left_out_passed += result == "Passed"
        if result == "Passed":
            passed += 1
        elif result == "Skipped":
            skipped += 1
            if not may_skip(categories, case.findtext("reason/message") or "", no_cuda_device, emulated):
                where = f"category {', '.join(categories)}" if categories else "no category"
                not_allowed.append(f"{name} ({where}): {first_line(case.findtext('reason/message'))}")
        else:  # Failed, and Inconclusive/Warning, which a green run must not hide either
            failed.append(f"{name}: {result}: {first_line(case.findtext('failure/message'))}")
    problems = len(failed) + len(not_allowed)
    if left_out_present and not emulated:
        print(f"{label}: {len(left_out_present)} tests of category {left_out} ran although the run was to leave them out "
              f"(e.g. {left_out_present[0]})")
        problems += 1
    for f in failed:
        print(f"{label}: FAILED {f}")
    for s in not_allowed:
        print(f"{label}: SKIPPED BUT MAY NOT SKIP HERE: {s}")
    for test in required:
        found = [(n, r) for n, r in results.items() if n == test or n.split("(")[0].endswith("." + test)]
        if not found or any(r[0] != "Passed" for _, r in found):
            print(f"{label}: REQUIRED TEST DID NOT PASS: {test} ({', '.join(r[0] for _, r in found) or 'not run'})")
            problems += 1
        for _, (_, output) in found:
            for line in output.splitlines():
                print(f"{label}: {test}: {line}")
    if passed + len(failed) + skipped == 0:
        print(f"{label}: no test ran")
        problems += 1
    print(f"{label}: {passed} passed, {len(failed)} failed, {skipped} skipped")
    return passed, len(failed), skipped, skipped - len(not_allowed), problems, left_out_passed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-cuda-device", action="store_true", help="no CUDA device here: category Gpu may skip")
    ap.add_argument("--require", action="append", default=[], metavar="TEST")
    ap.add_argument("--run", action="append", nargs=2, required=True, metavar=("LABEL", "XML"))
    ap.add_argument("--emulator-run", action="append", nargs=2, default=[], metavar=("LABEL", "XML"),
                    help="a run of category Gpu on the emulated device: only cuDNN and NCCL cases may skip")
    ap.add_argument("--left-out", metavar="CATEGORY",
                    help="the --run runs left this category out (Gpu without a CUDA device, Emulator with one); "
                         "the emulator runs must pass tests of it")
    args = ap.parse_args()
    if args.left_out == ALLOWED_SKIP_CATEGORY and not args.no_cuda_device:
        ap.error(f"--left-out {ALLOWED_SKIP_CATEGORY} needs --no-cuda-device: where a CUDA device is, the GPU tests must run on it")
    if args.left_out and not args.emulator_run:
        ap.error("--left-out needs the --emulator-run runs that cover the category")

    totals, per_run, emulated_left_out_passed = [0, 0, 0, 0, 0], [], 0
    runs = [(label, path, False) for label, path in args.run] + [(label, path, True) for label, path in args.emulator_run]
    for label, path, emulated in runs:
        counts = check_run(label, path, args.no_cuda_device, [] if emulated else args.require, emulated, args.left_out)
        per_run.append(f"{label} {counts[0]}/{counts[1]}/{counts[2]}")
        for i, v in enumerate(counts[:5]):
            totals[i] += v
        if emulated:
            emulated_left_out_passed += counts[5]
    if args.left_out and emulated_left_out_passed == 0:
        print(f"category {args.left_out} was left out of the --run runs, but no emulator run passed a test of it")
        totals[4] += 1
    passed, failed, skipped, allowed, problems = totals
    if skipped == 0:
        why = "0 skipped"
    elif allowed == skipped:
        why = (f"{skipped} skipped: all in category {ALLOWED_SKIP_CATEGORY} (no CUDA device; on the emulated "
               f"device only the cuDNN and NCCL cases)")
    else:
        why = (f"{skipped} skipped: {allowed} in category {ALLOWED_SKIP_CATEGORY} (no CUDA device, or cuDNN or NCCL on the "
               f"emulated device), {skipped - allowed} that may not skip (named above)")
    if args.left_out:
        why += (f"; category {args.left_out} left out of the default run"
                f"{' (no CUDA device)' if args.left_out == ALLOWED_SKIP_CATEGORY else ''}, "
                f"{emulated_left_out_passed} of its tests passed on the emulated device")
    if len(per_run) > 1:
        why += f"; sums over {len(per_run)} runs (passed/failed/skipped: {', '.join(per_run)})"
    print(why)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
