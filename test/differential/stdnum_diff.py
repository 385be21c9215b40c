#!/usr/bin/python3
"""stdnum_diff.py: differential test of juheid's ID check against python-stdnum.

Generates IDs deterministically (fixed seed), runs them through juheid's C
check (test/differential/idcheck.c, built by test/unit/run_stdnum.sh) and
through stdnum.cn.ric.validate, and compares the verdicts.  Every
disagreement gets a cause (a region code, a date rule, a normalisation
rule); the set of causes must equal the committed fixture
test/differential/expected_disagreements.tsv, so a new disagreement fails
and so does a fixture entry that no longer occurs.

    /usr/bin/python3 test/differential/stdnum_diff.py --driver PATH
    /usr/bin/python3 test/differential/stdnum_diff.py --driver PATH --write-fixture

--write-fixture rewrites the fixture from the run: explanations already in
it are kept, new region codes get one derived from the two tables, other
new causes get "TODO" (which fails until a person explains them).  Review
the diff before committing it.

Last line: "stdnum_diff: N passed, N failed".  Needs python3-stdnum (Debian).
"""

import argparse
import csv
import datetime
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "test", "differential", "expected_disagreements.tsv")
TIMELINE = os.path.join(ROOT, "data", "gbt2260-timeline.tsv")
IDCARD_H = os.path.join(ROOT, "src", "idcard.h")

# "today" of the run.  stdnum has no notion of today (it only checks that
# the birth date is a calendar date); juheid gets this fixed date so that
# the run is the same on any day.
TODAY = datetime.date(2024, 12, 31)
SEED = 20260209
COUNT = 130000          # IDs in all, the per-code ones included
MIN_COUNT = 100000
MIN_AGREEMENT = 90.0    # per cent; 91.4 with this mix (see README.md)
MIX_RANGE = (20.0, 80.0)  # per cent of IDs each side accepts

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK_CHARS = "10X98765432"

# one-line explanations of the causes that are not a region code
EXPLAIN = {
    ("date_future", "stdnum"):
        "birth date after today (%s in this test): juheid rejects it, stdnum only checks "
        "that the date exists in the calendar" % TODAY.isoformat(),
    ("date_before_1800", "stdnum"):
        "birth year 0001-1799: juheid accepts birth dates from 1800-01-01 on, stdnum any "
        "calendar date (datetime.date, so year 0000 is rejected by both)",
    ("length15", "juheid"):
        "15-digit legacy ID: juheid upgrades it to 18 digits (19YY, computed check digit), "
        "stdnum.cn.ric accepts 18 digits only",
    ("fullwidth_x", "juheid"):
        "full-width check character U+FF38/U+FF58: juheid folds it to X like the full-width "
        "digits; stdnum maps full-width digits but not the letter",
    ("trim_zero_width", "juheid"):
        "leading U+FEFF or trailing U+200B: juheid trims them with the white space, stdnum's "
        "strip() does not (they are not white space to Python)",
}


def fail(msg):
    sys.exit("stdnum_diff.py: " + msg)


# ---- deterministic random numbers (random() is stable across Python versions) ----

class Rng:
    def __init__(self, seed):
        import random
        self.r = random.Random(seed)

    def below(self, n):
        return min(int(self.r.random() * n), n - 1)

    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return seq[self.below(len(seq))]


# ---- the two tables ----

def load_timeline():
    rows = {}
    with open(TIMELINE, encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            rows.setdefault(rec["code"], []).append(rec)
    return rows


def load_stdnum_table(stdnum_cn):
    path = os.path.join(os.path.dirname(stdnum_cn.__file__), "loc.dat")
    table = {}
    prop = re.compile(r'(\w+)="([^"]*)"')
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line[:1].isdigit():
                code, _, rest = line.partition(" ")
                table[code] = dict(prop.findall(rest))
    return path, table


def status_names():
    """JUHE_IDCARD_* names of enum juhe_idcard_status, in value order."""
    with open(IDCARD_H, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"typedef enum juhe_idcard_status\s*\{(.*?)\}", text, re.S)
    if not m:
        fail("enum juhe_idcard_status not found in src/idcard.h")
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    names = [n.strip().split("=")[0].strip() for n in body.split(",") if n.strip()]
    return [n[len("JUHE_IDCARD_"):] for n in names]


# ---- generation ----

def leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def mdays(y, m):
    return [31, 29 if leap(y) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]


def check_char(first17):
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def date_between(rng, lo, hi):
    d = datetime.date.fromordinal(lo.toordinal() + rng.below(hi.toordinal() - lo.toordinal() + 1))
    return "%04d%02d%02d" % (d.year, d.month, d.day)


def any_day(rng, y):
    m = 1 + rng.below(12)
    return "%04d%02d%02d" % (y, m, 1 + rng.below(mdays(y, m)))


def birth_date(rng):
    """YYYYMMDD of an 18-digit ID: mostly real past dates, some of each hard case."""
    r = rng.r.random()
    if r < 0.90:
        return date_between(rng, datetime.date(1900, 1, 1), datetime.date(2020, 12, 31))
    if r < 0.92:
        return date_between(rng, datetime.date(1800, 1, 1), datetime.date(1899, 12, 31))
    if r < 0.93:                          # before 1800, year 0000 included
        return any_day(rng, rng.below(1800))
    if r < 0.94:                          # after today: soon, or far
        if rng.chance(0.5):
            return date_between(rng, TODAY + datetime.timedelta(days=1),
                                TODAY + datetime.timedelta(days=400))
        return any_day(rng, TODAY.year + 1 + rng.below(9999 - TODAY.year))
    if r < 0.98:                          # not a date
        y = 1900 + rng.below(125)
        k = rng.below(6)
        if k == 0:
            return "%04d00%02d" % (y, 1 + rng.below(28))
        if k == 1:
            return "%04d%02d%02d" % (y, 13 + rng.below(87), 1 + rng.below(28))
        if k == 2:
            return "%04d%02d00" % (y, 1 + rng.below(12))
        if k == 3:
            return "%04d%02d%02d" % (y, 1 + rng.below(12), 32 + rng.below(68))
        if k == 4:                        # day 29-31 past the end of the month
            m = rng.pick([2, 4, 6, 9, 11])
            return "%04d%02d%02d" % (y, m, mdays(y, m) + 1 + rng.below(31 - mdays(y, m)))
        return "%04d0229" % rng.pick([1800, 1900, 1999, 2001, 2019, 2100, 2023])
    # edges
    return rng.pick(["18000101", "17991231", "18991231", "19000101", "19000229",
                     "19040229", "20000229", "19600229", "20200229", "16000229",
                     "00010101", "00000101", "99991231",
                     TODAY.strftime("%Y%m%d"),
                     (TODAY + datetime.timedelta(days=1)).strftime("%Y%m%d")])


def id18(region, date, seq, rng=None, wrong=False):
    first17 = region + date + seq
    c = check_char(first17)
    if wrong:
        c = rng.pick([x for x in CHECK_CHARS if x != c])
    return first17 + c


def variant(rng, ident):
    """Normalisation and format cases around a well-formed 18-character ID."""
    k = rng.below(10)
    if k == 0:
        return rng.pick([" ", "\t", "  "]) + ident + rng.pick(["", " ", "\t"])
    if k == 1:
        return rng.pick(["\u3000", "\u00a0"]) + ident + rng.pick(["", "\u3000", "\u00a0"])
    if k == 2:
        return rng.pick(["\ufeff" + ident, ident + "\u200b"])
    if k in (3, 4):                       # full-width digits, full-width or ASCII X
        s = "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in ident)
        if s.endswith("X"):
            s = s[:-1] + rng.pick(["X", "\uff38", "\uff58"])
        return s
    if k == 5:                            # 17 or 19 characters
        return ident[:-1] if rng.chance(0.5) else ident + str(rng.below(10))
    if k == 6:                            # X before the end
        i = rng.below(17)
        return ident[:i] + "X" + ident[i + 1:]
    if k == 7:                            # separator inside
        i = 1 + rng.below(17)
        return ident[:i] + rng.pick(["-", " ", "/"]) + ident[i:]
    if k == 8:
        i = rng.below(18)
        return ident[:i] + rng.pick(["A", "O", "I"]) + ident[i + 1:]
    return rng.pick(["", " ", "X", "123"])


def generate(rng, jcodes, scodes, count):
    both = sorted(set(jcodes) & set(scodes))
    jlist = sorted(jcodes)
    slist = sorted(scodes)
    ids = []
    # every code either side knows, once, in an otherwise valid ID: each
    # code-level disagreement occurs in every run
    for code in sorted(set(jcodes) | set(scodes) | {"710000"}):
        ids.append(id18(code, date_between(rng, datetime.date(1950, 1, 1),
                                           datetime.date(2004, 12, 31)),
                        "%03d" % rng.below(1000)))
    # one of each other known cause
    ids += [id18("110105", "20990101", "123"),
            id18("110105", "17990101", "123"),
            "110105491231002",
            "１１０１０５１９４９１２３１００２\uff38",
            "\ufeff11010519491231002X"]
    # random codes, mostly unknown to both; a fixed pool keeps stdnum's
    # (slow, memoised) table lookups few
    others = ["%06d" % rng.below(1000000) for _ in range(1000)]
    while len(ids) < count:
        r = rng.r.random()
        if r < 0.80:
            region = rng.pick(both)
        elif r < 0.86:
            region = rng.pick(jlist)
        elif r < 0.92:
            region = rng.pick(slist)
        elif r < 0.98:
            region = rng.pick(others)
        elif rng.chance(0.5):
            region = rng.pick(["710000", "810000", "820000", "830000"])
        else:
            region = "%d%04d" % (rng.pick([71, 81, 82, 83]), rng.below(10000))
        seq = "%03d" % rng.below(1000)
        r = rng.r.random()
        if r < 0.01:                      # 15-digit legacy form
            yy = rng.below(100)
            if rng.chance(0.85):
                md = any_day(rng, 1900 + yy)[4:]
            else:
                md = "%02d%02d" % (rng.below(14), 28 + rng.below(5))
            ids.append(region + "%02d" % yy + md + seq)
            continue
        ident = id18(region, birth_date(rng), seq, rng, wrong=rng.chance(0.2))
        if ident.endswith("X") and rng.chance(0.5):
            ident = ident[:-1] + "x"
        if r < 0.05:
            ident = variant(rng, ident)
        ids.append(ident)
    return ids


# ---- running both sides ----

def run_driver(driver, ids, names):
    data = "".join(i + "\n" for i in ids).encode("utf-8")
    p = subprocess.run([driver, TODAY.isoformat()], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        fail("%s exited with %d: %s" % (driver, p.returncode,
                                        p.stderr.decode("utf-8", "replace")[-2000:]))
    lines = p.stdout.decode("ascii").splitlines()
    if len(lines) != len(ids):
        fail("driver printed %d lines for %d IDs" % (len(lines), len(ids)))
    out = []
    for line in lines:
        a, b = line.split()
        out.append((names[int(a)], names[int(b)]))
    return out


def run_stdnum(ric, numdb, exceptions, ids):
    # stdnum looks the region up in its table with a linear scan (about
    # 0.5 ms); memoise that pure lookup, everything else runs as shipped
    db = numdb.get("cn/loc")
    cache = {}
    info = db.info

    def cached_info(number):
        if number not in cache:
            cache[number] = info(number)
        return cache[number]
    db.info = cached_info
    out = []
    for i in ids:
        try:
            ric.validate(i)
            out.append(None)
        except exceptions.ValidationError as e:
            out.append(type(e).__name__)
    return out


def cause_of(ric, ident, jstatus, sexc):
    """(cause, side that accepts) of a disagreement."""
    compact = ric.compact(ident)
    if jstatus == "OK":
        if len(compact) == 15:
            return "length15", "juheid"
        if "\uff38" in compact:
            return "fullwidth_x", "juheid"
        if compact[:1] == "\ufeff" or compact[-1:] == "\u200b":
            return "trim_zero_width", "juheid"
        if sexc == "InvalidComponent":
            try:
                ric.get_birth_date(compact)
                return "region:" + compact[:6], "juheid"
            except Exception:
                pass
        return "other:juheid=OK,stdnum=%s" % sexc, "juheid"
    if jstatus == "FUTURE_DATE":
        return "date_future", "stdnum"
    if jstatus == "BAD_DATE" and int(compact[6:10]) < 1800:
        return "date_before_1800", "stdnum"
    if jstatus == "UNKNOWN_REGION":
        return "region:" + compact[:6], "stdnum"
    return "other:juheid=%s,stdnum=OK" % jstatus, "stdnum"


# ---- fixture ----

def read_fixture(path):
    entries = {}
    meta = {}
    with open(path, encoding="utf-8") as f:
        header = None
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                m = re.match(r"#\s*(stdnum|today|seed|count):\s*(\S+)", line)
                if m:
                    meta[m.group(1)] = m.group(2)
                continue
            fields = line.split("\t")
            if header is None:
                header = fields
                if header != ["cause", "accepted_by", "explanation"]:
                    fail("%s: unexpected header %r" % (path, header))
                continue
            if len(fields) != 3 or fields[1] not in ("juheid", "stdnum"):
                fail("%s:%d: expected cause, juheid|stdnum, explanation" % (path, lineno))
            key = (fields[0], fields[1])
            if key in entries:
                fail("%s:%d: duplicate entry %s" % (path, lineno, fields[0]))
            entries[key] = fields[2]
    return entries, meta


def period(rec):
    s, e = rec["start_year"], rec["end_year"]
    if not s and not e:
        return "open period"
    if not s:
        return "until " + e
    if not e:
        return "since " + s
    return "%s-%s" % (s, e) if s != e else s


def region_explanation(code, side, jrows, stable):
    if side == "stdnum":
        p = stable[code]
        return ("%s %s %s: in stdnum's table, not in data/gbt2260-timeline.tsv"
                % (p.get("province", ""), p.get("prefecture", ""), p.get("county", "")))
    if code == "710000":
        return ("台湾省 (Taiwan): accepted by juheid as always in use (src/idcard.c, not in the "
                "table); stdnum's table has no 71xxxx code")
    rows = jrows[code]
    desc = "; ".join("%s %s" % (r["name"], period(r)) for r in rows)
    desc += " (%s)" % ", ".join(sorted({r["source"] for r in rows}))
    if code in ("810000", "820000", "830000"):
        why = ("prefix of the residence permits of %s residents, accepted by juheid; stdnum's "
               "table has no 81/82/83 code"
               % {"81": "Hong Kong", "82": "Macau", "83": "Taiwan"}[code[:2]])
    elif code.endswith("0000"):
        why = "province-level code; stdnum's table has county-level codes only"
    elif code.endswith("00"):
        why = "prefecture-level code; stdnum's table has county-level codes only"
    else:
        ends = [int(r["end_year"]) if r["end_year"] else 9999 for r in rows]
        starts = [int(r["start_year"]) if r["start_year"] else 0 for r in rows]
        if max(ends) <= 2002:
            why = ("last listed %d, before the NBS list of December 2002 with which stdnum's "
                   "table begins" % max(ends))
        elif min(starts) >= 2014:
            why = ("first listed %d; stdnum's table ends with the NBS list of October 2014"
                   % min(starts))
        elif all(e <= 2002 or s >= 2014 for s, e in zip(starts, ends)):
            why = ("not listed 2003-2013, the years of the NBS lists (December 2002 to "
                   "October 2014) that stdnum's table is made of")
        else:
            why = ("juheid's period covers part of 2003-2013, but the NBS lists of "
                   "December 2002 to October 2014 that stdnum's table is made of do not "
                   "carry it")
    return desc + ": " + why


def cause_sort_key(key):
    cause, side = key
    if cause.startswith("region:"):
        return (1, cause, side)
    return (0, cause, side)


def write_fixture(path, observed, old, jrows, stable, version, count):
    lines = [
        "# test/differential/expected_disagreements.tsv -- every cause of disagreement between",
        "# juheid's ID check (juhe_idcard_valid, not strict) and python-stdnum's stdnum.cn.ric,",
        "# found by test/differential/stdnum_diff.py (run: bash test/unit/run_stdnum.sh).",
        "# cause: region:CODE (the 6-digit region code is known to one side only) or a rule;",
        "# accepted_by: the side that accepts the IDs.  The run fails on a disagreement not",
        "# listed here and on an entry here that no longer occurs.  Regenerate with --write-fixture",
        "# (explanations already here are kept) and review the diff.",
        "# NBS = National Bureau of Statistics lists; stdnum's loc.dat holds exactly the",
        "# county-level codes of the NBS lists of December 2002 to October 2014 (no years).",
        "# stdnum: %s" % version,
        "# today: %s" % TODAY.isoformat(),
        "# seed: %d" % SEED,
        "# count: %d" % count,
        "cause\taccepted_by\texplanation",
    ]
    for key in sorted(observed, key=cause_sort_key):
        cause, side = key
        if key in old:
            text = old[key]
        elif key in EXPLAIN:
            text = EXPLAIN[key]
        elif cause.startswith("region:"):
            text = region_explanation(cause[7:], side, jrows, stable)
        else:
            text = "TODO: explain this disagreement"
        lines.append("%s\t%s\t%s" % (cause, side, text))
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


# ---- main ----

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--driver", required=True, help="the built test/differential/idcheck.c")
    ap.add_argument("--fixture", default=FIXTURE)
    ap.add_argument("--count", type=int, default=COUNT)
    ap.add_argument("--write-fixture", action="store_true")
    ap.add_argument("--examples", type=int, default=3,
                    help="example IDs shown per unexpected cause")
    args = ap.parse_args()

    try:
        import stdnum
        import stdnum.cn
        from stdnum import exceptions, numdb
        from stdnum.cn import ric
    except ImportError as e:
        fail("python-stdnum is missing (%s): apt-get install python3-stdnum" % e)
    version = getattr(stdnum, "__version__", "unknown")

    names = status_names()
    if names[0] != "OK":
        fail("src/idcard.h: first status is %s, expected OK" % names[0])
    jrows = load_timeline()
    locpath, stable = load_stdnum_table(stdnum.cn)
    rng = Rng(SEED)
    ids = generate(rng, jrows.keys(), stable.keys(), args.count)
    jres = run_driver(args.driver, ids, names)
    sres = run_stdnum(ric, numdb, exceptions, ids)

    total = len(ids)
    agree = 0
    j_ok = s_ok = strict_ok = 0
    observed = {}
    for ident, (jst, jstrict), sexc in zip(ids, jres, sres):
        ja = jst == "OK"
        sa = sexc is None
        j_ok += ja
        s_ok += sa
        strict_ok += jstrict == "OK"
        if ja == sa:
            agree += 1
            continue
        key = cause_of(ric, ident, jst, sexc)
        ent = observed.setdefault(key, [0, []])
        ent[0] += 1
        if len(ent[1]) < args.examples:
            ent[1].append(ident)

    print("stdnum %s (%s), today %s, seed %d" % (version, locpath, TODAY.isoformat(), SEED))
    print("%d IDs: juheid accepts %d (%.2f %%; strict %d), stdnum accepts %d (%.2f %%)"
          % (total, j_ok, 100.0 * j_ok / total, strict_ok, s_ok, 100.0 * s_ok / total))
    print("agree on %d (%.3f %%), disagree on %d in %d causes"
          % (agree, 100.0 * agree / total, total - agree, len(observed)))
    groups = {}
    for (cause, side), (n, _) in observed.items():
        g = ("region codes", side) if cause.startswith("region:") else (cause, side)
        c = groups.setdefault(g, [0, 0])
        c[0] += 1
        c[1] += n
    for (g, side), (ncauses, n) in sorted(groups.items()):
        extra = " (%d codes)" % ncauses if g == "region codes" else ""
        print("  only %-6s accepts: %-18s %6d IDs%s" % (side, g, n, extra))

    if args.write_fixture:
        old = {}
        if os.path.exists(args.fixture):
            old, _ = read_fixture(args.fixture)
        write_fixture(args.fixture, observed, old, jrows, stable, version, args.count)
        print("wrote %s (%d entries)" % (args.fixture, len(observed)))

    if not os.path.exists(args.fixture):
        fail("%s is missing (make it with --write-fixture)" % args.fixture)
    expected, meta = read_fixture(args.fixture)
    if meta.get("stdnum") and meta["stdnum"] != version:
        print("note: the fixture was made with stdnum %s, this is %s" % (meta["stdnum"], version))

    passed = failed = 0

    def check(ok, text):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
        return ok

    # 1. enough IDs
    if check(total >= MIN_COUNT, "count"):
        print("ok - %d IDs compared (at least %d)" % (total, MIN_COUNT))
    else:
        print("FAILED - only %d IDs compared (at least %d)" % (total, MIN_COUNT))
    # 2. a mix both ways, so that agreement means something
    jp, sp = 100.0 * j_ok / total, 100.0 * s_ok / total
    lo, hi = MIX_RANGE
    if check(lo <= jp <= hi and lo <= sp <= hi, "mix"):
        print("ok - mix: juheid accepts %.1f %%, stdnum %.1f %% (each within %g-%g %%)"
              % (jp, sp, lo, hi))
    else:
        print("FAILED - mix: juheid accepts %.1f %%, stdnum %.1f %% (each must be within %g-%g %%)"
              % (jp, sp, lo, hi))
    # 3. agreement
    ap_ = 100.0 * agree / total
    if check(ap_ >= MIN_AGREEMENT, "agreement"):
        print("ok - agreement %.3f %% (%d of %d; at least %g %%)" % (ap_, agree, total, MIN_AGREEMENT))
    else:
        print("FAILED - agreement %.3f %% (%d of %d; at least %g %%)"
              % (ap_, agree, total, MIN_AGREEMENT))
    # 4. no disagreement outside the fixture
    unexplained = sorted((k for k in observed if k not in expected), key=cause_sort_key)
    if check(not unexplained, "unexplained"):
        print("ok - no unexplained disagreement")
    else:
        print("FAILED - %d unexplained disagreement causes (not in %s):"
              % (len(unexplained), os.path.relpath(args.fixture, ROOT)))
        for key in unexplained:
            n, ex = observed[key]
            print("  %s\taccepted by %s\t%d IDs, e.g. %s"
                  % (key[0], key[1], n, ", ".join(repr(e) for e in ex)))
    # 5. each fixture entry occurs, and is explained: one check per rule
    # cause, one for all the region-code entries together (each failing
    # entry is still listed)
    region_bad = 0
    for key in sorted(expected, key=cause_sort_key):
        text = expected[key]
        is_region = key[0].startswith("region:")
        if key not in observed:
            problem = "fixture entry no longer occurs: %s accepted by %s (%s)" % (key[0], key[1], text)
        elif not text.strip() or text.startswith("TODO"):
            problem = "fixture entry without an explanation: %s" % key[0]
        else:
            problem = None
        if problem:
            print("FAILED - " + problem)
            if is_region:
                region_bad += 1
            else:
                check(False, key)
        elif not is_region:
            check(True, key)
            print("ok - %s (only %s accepts): %d IDs" % (key[0], key[1], observed[key][0]))
    nregion = sum(1 for k in expected if k[0].startswith("region:"))
    nregion_seen = sum(1 for k in expected if k[0].startswith("region:") and k in observed)
    if check(region_bad == 0, "regions"):
        print("ok - region codes: all %d fixture entries occur and are explained" % nregion)
    else:
        print("FAILED - region codes: %d of the fixture's %d entries do not hold (%d occur)"
              % (region_bad, nregion, nregion_seen))
    print("stdnum_diff: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
