#!/usr/bin/env python3
"""lint_refs.py: keeps the repository self-contained.

Refuses, in every tracked text file:
  1. a path into a folder outside the repository: the design folder that
     sits beside our own checkouts (named by OUTSIDE below);
  2. in a .md file, a relative Markdown link whose target does not exist;
  3. anywhere (Markdown, code comments, scripts), a cited `docs/...` or
     `tests/...` path that does not exist in the tree.

Run from the repository root (tests/lint.sh does). Prints one line per
problem as file:line: what, and exits 1 if there is any.
"""
import os
import re
import subprocess
import sys

# Spelled in two pieces so this file does not name what it refuses.
OUTSIDE = re.compile(r"(?<![\w-])" + "shar" + r"ed/")
MD_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CITED = re.compile(r"(?<![\w./<{$-])((?:docs|tests)/[A-Za-z0-9_./-]*)")
# A cited path followed by one of these is a pattern, not a file.
PATTERN_NEXT = set("%*<{$[(")
SKIP_PREFIXES = ("tests/fuzz/corpus/", "build/")
SKIP_SUFFIXES = (".json", ".png", ".jpg", ".ico", ".woff", ".woff2", ".lock")


def tracked_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], check=True, capture_output=True).stdout
        return [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        found = []
        for root, dirs, files in os.walk("."):
            dirs[:] = [d for d in dirs if d not in (".git", "build", "node_modules")]
            found += [os.path.relpath(os.path.join(root, f)) for f in files]
        return found


def git_ignored(path):
    """True when git ignores the path (made by a build or a setup step)."""
    try:
        return any(subprocess.run(["git", "check-ignore", "-q", p]).returncode == 0
                   for p in (path, path.rstrip("/") + "/"))
    except OSError:
        return False


def checked(path):
    return not path.startswith(SKIP_PREFIXES) and not path.endswith(SKIP_SUFFIXES)


def read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (UnicodeDecodeError, OSError):
        return None


def link_problems(path, lineno, line):
    for target in MD_LINK.findall(line):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        rel = target.split("#", 1)[0]
        if rel and not os.path.exists(os.path.normpath(os.path.join(os.path.dirname(path), rel))):
            yield f"{path}:{lineno}: link to missing file '{target}'"


def cited_problems(path, lineno, line):
    for m in CITED.finditer(line):
        cited = m.group(1).rstrip(".")
        after = line[m.end():m.end() + 1]
        if after in PATTERN_NEXT or cited.endswith("/test_") or "//" in cited:
            continue
        if not os.path.exists(cited) and not git_ignored(cited):
            yield f"{path}:{lineno}: cites missing path '{cited}'"


def main():
    me = os.path.relpath(__file__)
    problems = []
    for path in tracked_files():
        if not checked(path) or not os.path.isfile(path):
            continue
        text = read_text(path)
        if text is None:
            continue
        for lineno, line in enumerate(text.split("\n"), 1):
            if path != me and OUTSIDE.search(line):
                problems.append(f"{path}:{lineno}: names a folder outside the repository")
            if path.endswith(".md"):
                problems += link_problems(path, lineno, line)
            problems += cited_problems(path, lineno, line)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
