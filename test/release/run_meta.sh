#!/bin/bash
# test/release/run_meta.sh -- META.json against the PGXN meta spec 1.0.0
# (https://pgxn.org/meta/spec.txt): the required keys and their shapes,
# and agreement with juheid.control and the install scripts.  Ends with
# "N passed, N failed".
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 - <<'PY'
import json, re, os, glob
passed = failed = 0
def check(ok, what):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what)
    if ok: passed += 1
    else: failed += 1
try:
    meta = json.load(open("META.json", encoding="utf-8"))
    check(True, "META.json is JSON")
except Exception as e:
    check(False, "META.json is JSON: %s" % e)
    print("%d passed, %d failed" % (passed, failed)); raise SystemExit(1)
semver = re.compile(r"^\d+\.\d+\.\d+$")
for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    check(key in meta, "required key %s" % key)
check(isinstance(meta.get("name"), str) and re.match(r"^[A-Za-z0-9_-]+$", meta.get("name", "")) is not None, "name is a plain name")
check(isinstance(meta.get("abstract"), str) and 0 < len(meta["abstract"]) < 200, "abstract is one short line")
check(semver.match(str(meta.get("version", ""))) is not None, "version is semantic (x.y.z)")
m = meta.get("maintainer")
check(isinstance(m, str) or (isinstance(m, list) and m and all(isinstance(x, str) for x in m)), "maintainer is a string or a list of strings")
check(meta.get("license") in ("postgresql", "bsd", "mit", "apache_2_0", "gpl_3", "lgpl_3_0", "artistic_2", "restricted", "open_source", "unknown") or isinstance(meta.get("license"), dict), "license is a known key")
check(meta.get("meta-spec", {}).get("version") == "1.0.0", "meta-spec version 1.0.0")
ctl = open("juheid.control").read()
defv = re.search(r"default_version\s*=\s*'([^']+)'", ctl).group(1)
check(meta.get("version", "").startswith(defv + ".") or meta.get("version") == defv, "version %s matches default_version %s" % (meta.get("version"), defv))
prov = meta.get("provides", {})
check("juheid" in prov, "provides juheid")
for ext, p in prov.items():
    check(isinstance(p, dict) and "file" in p and "version" in p, "%s: file and version" % ext)
    check(os.path.exists(p.get("file", "")), "%s: file %s exists" % (ext, p.get("file")))
    check(semver.match(str(p.get("version", ""))) is not None, "%s: version is semantic" % ext)
pre = meta.get("prereqs", {})
for phase in pre:
    check(phase in ("configure", "build", "runtime", "test", "develop"), "prereq phase %s is known" % phase)
    for rel in pre[phase]:
        check(rel in ("requires", "recommends", "suggests", "conflicts"), "prereq relation %s/%s is known" % (phase, rel))
check(pre.get("runtime", {}).get("requires", {}).get("PostgreSQL") == "15.0.0", "runtime requires PostgreSQL 15")
for lib in ("libcurl", "OpenSSL", "json-c"):
    check(lib in pre.get("build", {}).get("requires", {}), "build requires %s" % lib)
res = meta.get("resources", {})
check(all(k in ("homepage", "bugtracker", "repository") for k in res), "resources keys are known")
check(meta.get("release_status", "stable") in ("stable", "testing", "unstable"), "release_status is known")
scripts = sorted(glob.glob("juheid--*.sql"))
check(any(re.match(r"juheid--%s\.sql$|juheid--[\d.]+--%s\.sql$" % (re.escape(defv), re.escape(defv)), s) for s in scripts), "an install or upgrade script reaches %s" % defv)
# the versions the test matrix covers, named alike everywhere
tested = meta.get("x_tested_postgresql")
pgv = [l.strip() for l in open("debian/pgversions") if l.strip() and not l.startswith("#")]
check(tested == pgv, "x_tested_postgresql %s = debian/pgversions %s" % (tested, pgv))
rt = open("test/run-tests.sh").read()
dm = re.search(r"PG_VERSIONS=\$\{PG_VERSIONS:-([^}]*)\}", rt)
check(dm is not None and dm.group(1).split() == tested, "x_tested_postgresql = the test command's default PG_VERSIONS")
check(all(int(v) >= int(pre["runtime"]["requires"]["PostgreSQL"].split(".")[0]) for v in tested), "tested versions are not older than the required one")
ch = open("debian/changelog").readline()
cv = re.match(r"juheid \(([^)]+)\)", ch)
check(cv is not None and cv.group(1).split("-")[0] == meta.get("version"), "debian/changelog version %s = META.json version" % (cv.group(1) if cv else None))
print("%d passed, %d failed" % (passed, failed))
raise SystemExit(1 if failed else 0)
PY
