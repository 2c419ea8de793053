#!/usr/bin/env python3
"""find_leaks.py: the I1 search of the end-to-end tests.

    find_leaks.py search [--control FILE]... IDS PATH...
    find_leaks.py self-test IDS
    find_leaks.py digest ID        (64 hex: SHA-256 of the normalized form)

IDS is a file of identifiers, one per line, written as the input wrote them
(an email, or a phone with '+'). For each, every form that must never leave
the input (docs/spec/invariants.md, I1) becomes a needle:

  email  the spelling as written (trimmed), lowercased, and normalized
         (docs/spec/identifiers.md: lowercase, dots dropped for gmail)
  phone  the spelling as written (with and without its '+'), E.164
         (+digits), the digits without '+', and for +86 the national number
         (digit runs matched whole)
  both   SHA-256 of the normalized form (and of the lowercased spelling):
         64 hex (matched in any case, so lowercase and uppercase), its first
         16 hex, standard and URL-safe base64, and the 32 raw bytes

Each PATH is a file or a directory (searched recursively). Text needles are
matched case-insensitively, the raw digest byte for byte.

search exits 0 when nothing is found (a summary of what was searched goes
to stdout) and 1 on a leak, naming every hit (file, offset, kind,
identifier). It exits 2 when the search could not be meaningful: no
identifiers, a PATH that is missing, a directory with no file, or --control
FILEs (the inputs the identifiers were taken from) that do not contain each
identifier's spelling, which would mean the needles were derived wrongly.
A search that proves nothing never passes.

self-test plants each needle of the first identifier, the first email and
the first phone in a file of noise and checks that search finds it, and that search refuses an empty identifier
list and a missing PATH: the search itself is shown to bite.
"""
import base64
import hashlib
import os
import re
import sys

WS = " \t\n\v\f\r"


def die(msg):
    print(f"find_leaks: {msg}", file=sys.stderr)
    sys.exit(2)


def norm_email(raw):
    e = raw.strip(WS).lower()
    local, _, dom = e.rpartition("@")
    if not local or "." not in dom:
        die(f"not an email: {raw!r}")
    if dom in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
    return local + "@" + dom


def norm_phone(raw):
    p = raw.strip(WS)
    if not p.startswith("+"):
        die(f"a phone must be written with '+': {raw!r}")
    digits = re.sub(r"[ \-().]", "", p[1:])
    if not re.fullmatch(r"[1-9][0-9]{7,14}", digits):
        die(f"not a phone: {raw!r}")
    return "+" + digits


def digest_needles(label, text):
    d = hashlib.sha256(text.encode()).digest()
    h = d.hex()
    return [
        (f"{label} sha256 hex", "ci", h.encode()),
        (f"{label} sha256 hex prefix", "ci", h[:16].encode()),
        (f"{label} sha256 base64", "cs", base64.b64encode(d)[:43]),
        (f"{label} sha256 base64url", "cs", base64.urlsafe_b64encode(d)[:43]),
        (f"{label} sha256 bytes", "cs", d),
    ]


def needles_for(raw):
    written = raw.strip(WS)
    out = [("as written", "ci", written.encode())]
    if "@" in written:
        n = norm_email(written)
        out += [("lowercased", "ci", written.lower().encode()), ("normalized", "ci", n.encode())]
        out += digest_needles("normalized", n)
        if written.lower() != n:
            out += digest_needles("lowercased", written.lower())
    else:
        n = norm_phone(written)
        out += [("as written without '+'", "ci", written[1:].strip(WS).encode()),
                ("E.164", "ci", n.encode()), ("E.164 digits", "digits", n[1:].encode())]
        if n.startswith("+86") and len(n) == 14:
            out.append(("national number", "digits", n[3:].encode()))
        out += digest_needles("E.164", n)
    seen, uniq = set(), []
    for kind, mode, b in out:
        if (mode, b.lower() if mode != "cs" else b) not in seen:
            seen.add((mode, b.lower() if mode != "cs" else b))
            uniq.append((kind, mode, b))
    return uniq


def files_under(path):
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        die(f"'{path}' does not exist: it was meant to be searched")
    found = [os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs]
    found = [f for f in found if os.path.isfile(f)]
    if not found:
        die(f"'{path}' holds no file to search")
    return sorted(found)


def read_ids(path):
    try:
        ids = [l.strip(WS) for l in open(path, encoding="utf-8").read().split("\n") if l.strip(WS)]
    except OSError as e:
        die(f"cannot read the identifiers: {e}")
    if not ids:
        die(f"no identifiers in '{path}': the search would prove nothing")
    return ids


def find(data, low, mode, b):
    if mode == "cs":
        return data.find(b)
    if mode == "ci":
        return low.find(b.lower())
    m = re.search(rb"(?<![0-9])" + re.escape(b) + rb"(?![0-9])", data)
    return m.start() if m else -1


def search(argv):
    controls = []
    while argv[:1] == ["--control"]:
        if len(argv) < 2:
            die("--control needs a FILE")
        controls.append(argv[1])
        argv = argv[2:]
    if len(argv) < 2:
        die("usage: find_leaks.py search [--control FILE]... IDS PATH...")
    ids = read_ids(argv[0])
    needles = [(i, kind, mode, b) for i, raw in enumerate(ids) for kind, mode, b in needles_for(raw)]
    if controls:
        try:
            text = b"\n".join(open(c, "rb").read() for c in controls).lower()
        except OSError as e:
            die(f"cannot read a control file: {e}")
        missing = [raw for raw in ids if raw.lower().encode() not in text]
        if missing:
            die(f"{len(missing)} identifier(s) are in no control file, e.g. {missing[0]!r}")
    files = list(dict.fromkeys(os.path.realpath(f) for p in argv[1:] for f in files_under(p)))
    hits, total = [], 0
    for f in files:
        data = open(f, "rb").read()
        total += len(data)
        low = data.lower()
        for i, kind, mode, b in needles:
            at = find(data, low, mode, b)
            if at >= 0:
                hits.append(f"LEAK: {f} at byte {at}: {kind} of identifier {i + 1} ({ids[i]!r})")
    if hits:
        print("\n".join(hits))
        return 1
    print(f"find_leaks: {len(ids)} identifiers, {len(needles)} needles, {len(files)} files, "
          f"{total} bytes: nothing found")
    return 0


def self_test(argv):
    import contextlib, io, tempfile
    if len(argv) != 1:
        die("usage: find_leaks.py self-test IDS")
    ids = read_ids(argv[0])
    tried = [ids[0]] + [i for i in ids if "@" not in i][:1] + [i for i in ids if "@" in i][:1]
    with tempfile.TemporaryDirectory() as d:
        idf = os.path.join(d, "ids")
        f = os.path.join(d, "planted")
        for one in dict.fromkeys(tried):
            open(idf, "w").write(one + "\n")
            for kind, mode, b in needles_for(one):
                planted = b.upper() if mode == "ci" else b
                open(f, "wb").write(os.urandom(256).replace(b"\0", b"x") + b" " + planted + b" \x00")
                with contextlib.redirect_stdout(io.StringIO()):
                    rc = search([idf, f])
                if rc != 1:
                    die(f"self-test: a planted {kind} of {one!r} was not found")
        for args in ([os.path.join(d, "empty"), d], [idf, os.path.join(d, "missing")]):
            open(os.path.join(d, "empty"), "w").close()
            try:
                with contextlib.redirect_stderr(io.StringIO()):
                    search(args)
            except SystemExit as e:
                if e.code == 2:
                    continue
            die(f"self-test: search did not refuse {args}")
    print(f"find_leaks: self-test: every needle of {', '.join(map(repr, dict.fromkeys(tried)))} "
          "is found when planted")
    return 0


def main(argv):
    if argv[:1] == ["search"]:
        return search(argv[1:])
    if argv[:1] == ["self-test"]:
        return self_test(argv[1:])
    if argv[:1] == ["digest"] and len(argv) == 2:
        raw = argv[1].strip(WS)
        n = norm_email(raw) if "@" in raw else norm_phone(raw)
        print(hashlib.sha256(n.encode()).hexdigest())
        return 0
    die("usage: find_leaks.py search|self-test|digest ... (see the file's first lines)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
