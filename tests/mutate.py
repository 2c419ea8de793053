#!/usr/bin/env python3
"""mutate.py: shows that the tests bite (`make mutate`).

Reads the declarative mutant list tests/mutants.ini. Each mutant names a
file, a literal that occurs exactly once in it, its replacement, the
guarantee that the replacement breaks and the rule or invariant id. For
each mutant the runner, in a scratch copy of the tree (build/mutate/tree):

  1. applies the replacement (a literal found 0 or 2+ times: "no longer
     applies"; a mutant that does not compile: "does not build");
  2. builds and runs the tests the mutant names first (`tests:`), which
     usually kill it within seconds;
  3. if they pass, runs the whole `make unit e2e` (stopping at the first
     failure) and then the browser tests the mutant names (`browser:`);
  4. reports killed (and by what) or survived, and restores the file.

A mutant marked `equivalent:` (with the reason) is listed, never run.
The run fails (exit 1) unless every mutant that is not equivalent is
killed. The unmutated tree must pass the same tests first (the baseline),
or a kill would mean nothing.

Usage: tests/mutate.py [--only ID[,ID...]] [--list] [--check] [--no-baseline]
(--check, run by `make lint`: every literal occurs once and every named
test exists, in the working tree; nothing is built.)
"""
import argparse
import configparser
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, "tests", "mutants.ini")
SCRATCH = os.path.join(ROOT, "build", "mutate", "tree")
BUILD = "build/release"
TIMEOUT = 900
REQUIRED = ("file", "from", "to", "breaks", "rule")


class Mutant:
    def __init__(self, mid, sec):
        self.id = mid
        for key in REQUIRED:
            if not sec.get(key, "").strip():
                sys.exit(f"mutate: mutant '{mid}': '{key}' is missing")
        self.file = sec["file"].strip()
        self.old = sec["from"].strip()
        self.new = sec["to"].strip()
        self.breaks = " ".join(sec["breaks"].split())
        self.rule = sec["rule"].strip()
        self.tests = sec.get("tests", "").split()
        self.browser = sec.get("browser", "").split()
        self.equivalent = " ".join(sec.get("equivalent", "").split())
        if self.old == self.new:
            sys.exit(f"mutate: mutant '{mid}': 'from' and 'to' are the same")
        # A literal over several lines matches whatever indentation they have.
        lines = self.old.split("\n")
        self.pattern = re.compile(r"[ \t]*\n[ \t]*".join(re.escape(x.strip()) for x in lines))

    def count(self, text):
        return len(self.pattern.findall(text))

    def apply(self, text):
        return self.pattern.sub(lambda _: self.new, text, count=1)


def load(path):
    cp = configparser.ConfigParser(interpolation=None, delimiters=(":",), comment_prefixes=("#",),
                                   inline_comment_prefixes=None, strict=True)
    cp.optionxform = str
    with open(path, encoding="utf-8") as f:
        cp.read_file(f)
    return [Mutant(s, cp[s]) for s in cp.sections()]


def run(cmd, cwd, env=None, timeout=TIMEOUT):
    """Runs cmd; returns (ok, output tail). A timeout counts as a failure."""
    full = dict(os.environ, **(env or {}))
    try:
        p = subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True,
                           timeout=timeout, shell=isinstance(cmd, str))
        out = (p.stdout + p.stderr).strip().splitlines()
        return p.returncode == 0, out
    except subprocess.TimeoutExpired:
        return False, [f"timed out after {timeout} s"]


def sync_tree():
    """Copies the working tree's files (tracked and new, not ignored) into SCRATCH.
    Unchanged files keep their mtime, so make rebuilds only what changed."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src, dst = os.path.join(ROOT, rel), os.path.join(SCRATCH, rel)
        if not os.path.isfile(src):
            continue
        if os.path.exists(dst):
            with open(src, "rb") as a, open(dst, "rb") as b:
                if a.read() == b.read():
                    continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
        os.utime(dst)  # newer than any object built from an older copy


def make(targets, env=None, jobs=2):
    """Builds in parallel; runs the suites one after the other (jobs=1), so
    the first failure reported is the first that happened."""
    return run(["make", "--no-print-directory", f"-j{jobs}", f"BUILD={BUILD}"] + targets, SCRATCH, env)


def unit_test(spec):
    """unit:<folder>/<test>: builds and runs one unit-test binary."""
    binary = f"{BUILD}/tests/unit/{spec}"
    ok, out = make([binary])
    if not ok:
        return None, out
    return run([os.path.join(SCRATCH, binary)], SCRATCH,
               {"VECTORS_DIR": os.path.join(SCRATCH, "tests", "vectors")})


def e2e_test(spec):
    """e2e:<script>: builds the program and runs one e2e script in a fresh directory."""
    ok, out = make([f"{BUILD}/cleanroom"])
    if not ok:
        return None, out
    with tempfile.TemporaryDirectory() as tmp:
        return run(["bash", os.path.join(SCRATCH, "tests", "e2e", spec)], tmp,
                   {"CLEANROOM": os.path.join(SCRATCH, BUILD, "cleanroom"), "TMPDIR": tmp})


def browser_test(spec):
    """A file of tests/browser, run by make test-browser's harness (which
    also needs the phone metadata, example numbers and normalization filter:
    make browser-deps; the harness finds them under BUILD)."""
    ok, out = make(["browser-deps"])
    if not ok:
        return None, out
    return run(["node", "--test", "--test-concurrency=1", spec], os.path.join(SCRATCH, "tests", "browser"),
               {"CLEANROOM": os.path.join(SCRATCH, BUILD, "cleanroom"),
                "VECTORS_DIR": os.path.join(SCRATCH, "tests", "vectors"),
                "BROWSER_ARTIFACTS": os.path.join(SCRATCH, "build", "browser-artifacts")})


def named_test(spec):
    kind, _, what = spec.partition(":")
    if kind == "unit":
        return unit_test(what)
    if kind == "e2e":
        return e2e_test(what)
    sys.exit(f"mutate: unknown test kind in '{spec}' (unit:<folder>/<test> or e2e:<script>)")


def all_test_binaries():
    """What `make unit e2e` builds: every unit-test binary and the program."""
    units = []
    for folder in sorted(os.listdir(os.path.join(SCRATCH, "tests", "unit"))):
        d = os.path.join(SCRATCH, "tests", "unit", folder)
        if os.path.isdir(d):
            units += [f"{BUILD}/tests/unit/{folder}/{f[:-2]}" for f in sorted(os.listdir(d))
                      if f.startswith("test_") and f.endswith(".c")]
    return units + [f"{BUILD}/cleanroom"]


def failing_line(out):
    for line in out:
        if line.startswith(("FAIL ", "[  FAILED  ] test", "failing:", "not ok", "  ERROR") ) or ": error:" in line:
            return line.strip()
    return out[-1].strip() if out else "?"


def try_mutant(m):
    """Applies m in SCRATCH; returns (verdict, detail)."""
    path = os.path.join(SCRATCH, m.file)
    if not os.path.isfile(path):
        return "no longer applies", f"{m.file} does not exist"
    with open(path, encoding="utf-8") as f:
        original = f.read()
    n = m.count(original)
    if n != 1:
        return "no longer applies", f"the literal occurs {n} times in {m.file}"
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(m.apply(original))
        for spec in m.tests:
            ok, out = named_test(spec)
            if ok is None:
                return "does not build", failing_line(out)
            if not ok:
                return "killed", f"{spec}: {failing_line(out)}"
        ok, out = make(all_test_binaries())
        if not ok:
            return "does not build", failing_line(out)
        ok, out = make(["unit", "e2e"], {"STOP_ON_FAIL": "1"}, jobs=1)
        if not ok:
            return "killed", f"make unit e2e: {failing_line(out)}"
        for spec in m.browser:
            ok, out = browser_test(spec)
            if ok is None:
                return "does not build", failing_line(out)
            if not ok:
                return "killed", f"browser:{spec}: {failing_line(out)}"
        return "survived", "make unit e2e" + (" and the browser tests" if m.browser else "") + " passed"
    finally:
        with open(path, "w", encoding="utf-8") as f:
            f.write(original)
        os.utime(path)  # rebuild the unmutated object next time


COMPLIANCE = os.path.join(ROOT, "docs", "compliance.md")


def compliance_problems(known):
    """Every row of a compliance table with a 'mutants' column names at
    least one mutant, and only mutants the list has."""
    problems, column = [], None
    with open(COMPLIANCE, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.startswith("|"):
                column = None
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if "mutants" in cells:
                column = cells.index("mutants")
                continue
            if column is None or set(line.strip()) <= set("|-"):
                continue
            named = re.findall(r"`([a-z0-9-]+)`", cells[column]) if column < len(cells) else []
            if not named:
                problems.append(f"docs/compliance.md:{lineno}: the row names no mutant")
            problems += [f"docs/compliance.md:{lineno}: no mutant '{n}' in tests/mutants.ini"
                         for n in named if n not in known]
    return problems


def check(mutants):
    """Problems with the list against the working tree (no build)."""
    problems, ids = [], set()
    for m in mutants:
        path = os.path.join(ROOT, m.file)
        if not os.path.isfile(path):
            problems.append(f"{m.id}: {m.file} does not exist")
            continue
        with open(path, encoding="utf-8") as f:
            n = m.count(f.read())
        if n != 1:
            problems.append(f"{m.id}: the literal occurs {n} times in {m.file}")
        for spec in m.tests:
            kind, _, what = spec.partition(":")
            rel = {"unit": f"tests/unit/{what}.c", "e2e": f"tests/e2e/{what}"}.get(kind)
            if rel is None or not os.path.isfile(os.path.join(ROOT, rel)):
                problems.append(f"{m.id}: no such test '{spec}'")
        for spec in m.browser:
            if not os.path.isfile(os.path.join(ROOT, "tests", "browser", spec)):
                problems.append(f"{m.id}: no such browser test '{spec}'")
    return problems + compliance_problems({m.id for m in mutants})


def baseline(result, message):
    """Stops the run when the unmutated tree fails a step: a kill would mean nothing."""
    ok, out = result
    if not ok:
        print("\n".join(out[-30:]))
        sys.exit(f"mutate: {message}")


def main():
    ap = argparse.ArgumentParser(description="runs the mutants of tests/mutants.ini")
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    ap.add_argument("--check", action="store_true", help="check the list against the tree and exit")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    args = ap.parse_args()

    mutants = load(LIST)
    if args.check:
        problems = check(mutants)
        for p in problems:
            print(f"mutants.ini: {p}")
        return 1 if problems else 0
    if args.only:
        want = set(args.only.split(","))
        unknown = want - {m.id for m in mutants}
        if unknown:
            sys.exit(f"mutate: no such mutant: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m.id in want]
    if args.list:
        for m in mutants:
            print(f"{m.id:44} {m.rule:10} {m.file}: {m.breaks}")
        return 0

    start = time.monotonic()
    os.makedirs(SCRATCH, exist_ok=True)
    # One run at a time: two runs in one scratch tree would undo each other's mutants.
    lock = open(os.path.join(ROOT, "build", "mutate", "lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit("mutate: another make mutate is running on this tree; wait for it")
    sync_tree()
    if not args.no_baseline:
        print("mutate: baseline: make unit e2e on the unmutated tree", flush=True)
        baseline(make(all_test_binaries()), "the unmutated tree does not build")
        baseline(make(["unit", "e2e"], jobs=1), "the unmutated tree fails its tests; fix that first")
        for spec in sorted({s for m in mutants for s in m.tests}):
            baseline(named_test(spec), f"{spec} fails on the unmutated tree")
        if any(m.browser for m in mutants):
            baseline(run(["tests/browser/setup.sh"], SCRATCH), "browser set-up failed")
            for spec in sorted({s for m in mutants for s in m.browser}):
                baseline(browser_test(spec), f"browser test {spec} fails on the unmutated tree")

    counts = {}
    report = []
    for i, m in enumerate(mutants, 1):
        t0 = time.monotonic()
        if m.equivalent:
            verdict, detail = "equivalent", m.equivalent
        else:
            verdict, detail = try_mutant(m)
        counts[verdict] = counts.get(verdict, 0) + 1
        line = (f"[{i}/{len(mutants)}] {verdict:17} {m.id} ({m.rule}, {time.monotonic() - t0:.0f} s): "
                f"{detail}")
        print(line, flush=True)
        report.append(line)
    # Leave the scratch build unmutated for the next run.
    make([f"{BUILD}/cleanroom"])

    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    minutes = (time.monotonic() - start) / 60
    print(f"mutate: {len(mutants)} mutants: {summary}; {minutes:.1f} min")
    with open(os.path.join(ROOT, "build", "mutate", "report.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(report + [f"{len(mutants)} mutants: {summary}; {minutes:.1f} min"]) + "\n")
    bad = sum(n for v, n in counts.items() if v not in ("killed", "equivalent"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
