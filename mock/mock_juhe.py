#!/usr/bin/python3
"""Mock of the Juhe ID-card verification API (身份证实名认证), for tests only.

Serves /idcard/query, /idcard/queryEncry and /idcard/queryEncryV2 on 127.0.0.1,
plus the admin endpoints GET /_stats and POST /_reset.  See --help, the man
page juheid-mock(1) and mock/MOCK.md.  Installed (package juheid-mock) as
/usr/share/juheid-mock/mock_juhe.py with keys/ next to it and the symlink
/usr/bin/juheid-mock; in the checkout, mock/mock_juhe.py and mock/keys/.

Runs in the foreground; exits cleanly on SIGTERM or SIGINT.  Uses only the
standard library and Debian's python3-cryptography.  Never logs full names or
ID numbers.
"""

import argparse
import base64
import binascii
import collections
import hashlib
import json
import os
import select
import signal
import socket
import socketserver
import ssl
import sys
import textwrap
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

VERSION = "1.2.0"      # the juheid release this mock belongs to

# the script's own directory, symlinks resolved: keys/ lies next to the script
# both in the checkout (mock/) and installed (/usr/share/juheid-mock/, run
# through the /usr/bin/juheid-mock symlink)
HERE = os.path.dirname(os.path.realpath(__file__))

PATH_PLAIN = "/idcard/query"
PATH_AES = "/idcard/queryEncry"
PATH_RSA = "/idcard/queryEncryV2"
API_PATHS = (PATH_PLAIN, PATH_AES, PATH_RSA)

MAX_BODY = 1024 * 1024          # larger request bodies get 413
IDLE_TIMEOUT = 60               # seconds a keep-alive connection may idle
ARRIVALS_KEPT = 1000            # /_stats: arrival times of the last N API requests
LONG_ORDERID = 300              # length of the long_orderid magic ID's order id

REASONS = {
    0: "成功",
    10001: "错误的请求KEY",
    10012: "请求超过次数限制",
    10014: "系统内部异常",
    10021: "接口停用",
    210301: "查询无此记录",
    210302: "第三方服务器异常",
    210303: "服务器维护",
    210304: "参数异常",
    210305: "服务商网络异常，请重试",
    210306: "数据源异常",
    210307: "sign错误",
}

# idcard -> the registered name (exact UTF-8 comparison)
PEOPLE = {
    "11010519491231002X": "张三",
    "650102198506152016": "阿卜杜热合曼\u00b7买买提",
    "110101199003074477": "王\U00020bb7",
    "440304198808081238": "李四",
}

# Magic IDs: matched on the first 17 characters of an 18-character ID.
# seq -> (kind, error code, what it answers for --help; None: the error's reason)
MAGIC_PREFIX = "11010120000101"
MAGIC = {
    "001": ("error", 210301, None),
    "002": ("error", 210302, None),
    "003": ("error", 210303, None),
    "004": ("error", 210304, None),
    "005": ("error", 210305, None),
    "006": ("error", 210306, None),
    "007": ("error", 210307, None),
    "010": ("retry_once", None,
            "error_code 210305 the first time this (path, ID) is seen since "
            "start or /_reset, then res 1"),
    "112": ("error", 10012, None),
    "114": ("error", 10014, None),
    "121": ("error", 10021, None),
    "201": ("slow", None,
            "sleeps --slow-seconds, then res 1 (gives up silently if the "
            "client disconnects)"),
    "202": ("http502", None,
            "HTTP 502, text/html, <html><body><h1>502 Bad Gateway</h1></body></html>"),
    "203": ("truncated", None,
            'HTTP 200, application/json, truncated {"reason":"成功","result":{"res":1,"ord'),
    "204": ("huge", None,
            'HTTP 200, valid JSON of about 8 MiB (error_code 0, res 1, '
            'reason "成功xxxx...")'),
    "205": ("string_numbers", None,
            'success with "res":"1" and "error_code":"0" (strings)'),
    "206": ("string_res2", None, 'success with "res":"2" (a string)'),
    "207": ("res3", None, 'success with "res":3'),
    "208": ("not_json", None, "HTTP 200, text/plain, body: not json at all"),
    "209": ("drop", None,
            "connection closed with no response (curl: exit 52)"),
    "210": ("redirect", None,
            "HTTP 302, Location: http://127.0.0.1:1/stolen, body {}"),
    "211": ("string_error_code", None,
            '"error_code":"210301" (a string), reason 查询无此记录'),
    "213": ("http503", None,
            'HTTP 503, Retry-After: 1, '
            'body {"reason":"busy","result":null,"error_code":503}'),
    "214": ("http429", None,
            'HTTP 429, Retry-After: 1, '
            'body {"reason":"busy","result":null,"error_code":429}'),
    "215": ("bad_utf8", None,
            "billed res 1 whose order id (J\\xff\\xfe + digits) and reason "
            "(成\\xff\\xfe) are not valid UTF-8"),
    "216": ("bill_then_drop", None,
            "bills on receipt (billed + 1), then closes the connection "
            "without an answer"),
    "217": ("bill_then_slow", None,
            "bills on receipt, then sleeps --slow-seconds before answering "
            "res 1 (not billed twice); gives up if the client disconnects"),
    "218": ("http503_once", None,
            "HTTP 503 without Retry-After the first time this (path, ID) is "
            "seen since start or /_reset, then res 1"),
    "219": ("long_orderid", None,
            'billed res 1 (also without orderid=1) whose order id is %d ASCII '
            'characters: J + digits + "-" + L...' % LONG_ORDERID),
    "220": ("unicode_orderid", None,
            "billed res 1 (also without orderid=1) whose order id is "
            "聚合订单-测试- + digits (UTF-8, not ASCII)"),
}


def mask_id(s):
    if s is None:
        return "-"
    if len(s) < 10:
        return "*" * len(s)
    return s[:6] + "********" + s[-4:]


def mask_name(s):
    if s is None:
        return "-"
    if not s:
        return ""
    return s[0] + "*"


def safe_str(s):
    """Make a possibly surrogate-escaped string printable (no personal data)."""
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


class ParamError(Exception):
    pass


class State:
    """Counters shared by the HTTP and HTTPS servers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.order_counter = 0      # never reset, so order ids stay unique
        self.in_flight = 0          # API requests being processed now
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = 0
            self.connections = 0
            self.billed = 0
            self.get_requests = 0
            self.by_path = {p: 0 for p in API_PATHS}
            self.seen = set()
            self.last = None
            self.arrivals = collections.deque(maxlen=ARRIVALS_KEPT)
            # requests still running at the reset are running since it
            self.max_concurrent = self.in_flight

    def next_orderid(self):
        with self.lock:
            self.order_counter += 1
            return "J%d" % (1030000000000 + self.order_counter)

    def snapshot(self):
        with self.lock:
            return {
                "requests": self.requests,
                "connections": self.connections,
                "billed": self.billed,
                "get_requests": self.get_requests,
                "by_path": dict(self.by_path),
                "max_concurrent": self.max_concurrent,
                "arrivals": [round(t, 6) for t in self.arrivals],
                "last": dict(self.last) if self.last is not None else None,
            }


class Config:
    key = None
    openid = None
    k16 = None
    private_key = None
    slow_seconds = 5.0
    quiet = False


CONFIG = Config()
STATE = State()


def log(msg):
    if not CONFIG.quiet:
        sys.stderr.write("mock_juhe: %s\n" % msg)
        sys.stderr.flush()


def b64decode_strict(s):
    if s is None or s == "":
        raise ParamError("missing")
    try:
        return base64.b64decode(s.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise ParamError("base64")


def unpad_utf8(data):
    try:
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(data) + unpadder.finalize()
        return plain.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise ParamError("padding/utf8")


def aes_ecb_decrypt(b64, key):
    ct = b64decode_strict(b64)
    if len(ct) == 0 or len(ct) % 16:
        raise ParamError("length")
    d = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    return unpad_utf8(d.update(ct) + d.finalize())


def aes_cbc_decrypt(b64, key, iv):
    ct = b64decode_strict(b64)
    if len(ct) == 0 or len(ct) % 16:
        raise ParamError("length")
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return unpad_utf8(d.update(ct) + d.finalize())


def rsa_decrypt_key(b64):
    ct = b64decode_strict(b64)
    try:
        k = CONFIG.private_key.decrypt(ct, asym_padding.PKCS1v15())
    except ValueError:
        raise ParamError("rsa")
    if len(k) != 16:
        raise ParamError("aes key length")
    return k


def plain_value(v):
    """A plain form value must be valid UTF-8 (parse_qs used surrogateescape)."""
    if v is None or v == "":
        raise ParamError("missing")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise ParamError("utf8")
    return v


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-juhe/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    # ---- connection plumbing -------------------------------------------
    def setup(self):
        self._counted = False
        # headers and body go out in two writes: without TCP_NODELAY, Nagle
        # plus the client's delayed ACK adds ~40 ms to every reused connection
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()     # in this thread, not the accept loop
        super().setup()

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, socket.timeout, ssl.SSLError, OSError):
            self.close_connection = True

    def log_message(self, fmt, *args):
        pass    # the default would print the request line (query strings!)

    def log_error(self, fmt, *args):
        code = args[0] if args and isinstance(args[0], int) else "?"
        log("http error %s from %s" % (code, self.client_address[0]))

    # ---- output helpers ------------------------------------------------
    def send_raw(self, status, body, ctype="application/json;charset=utf-8",
                 extra_headers=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra_headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, obj, status=200):
        self.send_raw(status, json.dumps(obj, ensure_ascii=False,
                                         separators=(",", ":")))

    # ---- request reading -----------------------------------------------
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ConnectionError("eof in chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
        except ValueError:
            return None
        if n < 0 or n > MAX_BODY:
            return None
        return self.rfile.read(n) if n else b""

    # ---- dispatch ------------------------------------------------------
    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def dispatch(self, method):
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        query = split.query
        body = self.read_body() if method == "POST" else b""
        if body is None:
            self.close_connection = True
            self.send_json({"reason": "request too large", "result": None,
                            "error_code": 210304}, status=413)
            return
        if path == "/_stats":
            if method != "GET":
                self.send_json({"error": "use GET"}, status=405)
            else:
                self.send_json(STATE.snapshot())
            return
        if path == "/_reset":
            if method != "POST":
                self.send_json({"error": "use POST"}, status=405)
            else:
                STATE.reset()
                log("reset")
                self.send_json({"ok": True})
            return
        self.api(method, path, query, body)

    def api(self, method, path, query, body):
        ctype = self.headers.get("Content-Type")
        # parse_qs like the real service: "+" is a space, %XX is decoded as
        # UTF-8; invalid UTF-8 survives as surrogates and is rejected later.
        fields = {}
        for src in (query, body.decode("utf-8", "surrogateescape")):
            parsed = urllib.parse.parse_qs(src, keep_blank_values=True,
                                           errors="surrogateescape")
            for k, v in parsed.items():
                fields[k] = v[0]
        last = {
            "method": method,
            "path": path,
            "content_type": ctype,
            "query_string": bool(query),
            "fields": sorted(safe_str(k) for k in fields),
            "orderid": safe_str(fields["orderid"]) if "orderid" in fields else None,
            "decrypt_ok": None,
            "http_status": None,
            "error_code": None,
        }
        with STATE.lock:
            STATE.requests += 1
            STATE.arrivals.append(time.time())
            STATE.in_flight += 1
            STATE.max_concurrent = max(STATE.max_concurrent, STATE.in_flight)
            STATE.by_path[path] = STATE.by_path.get(path, 0) + 1
            if method == "GET":
                STATE.get_requests += 1
            if not self._counted:
                self._counted = True
                STATE.connections += 1
            STATE.last = last
        try:
            self.answer(method, path, fields, last)
        finally:
            # answered, or the handler gave up (client gone, exception)
            with STATE.lock:
                STATE.in_flight -= 1

    def answer(self, method, path, fields, last):
        if path not in API_PATHS:
            last["http_status"] = 404
            self.send_json({"reason": "not found", "result": None,
                            "error_code": 404}, status=404)
            log("%s %s -> 404" % (method, safe_str(path)))
            return

        if fields.get("key") != CONFIG.key:
            return self.answer_error(last, 10001, None, None)

        idcard = realname = None
        try:
            if path == PATH_PLAIN:
                idcard = plain_value(fields.get("idcard"))
                realname = plain_value(fields.get("realname"))
            else:
                last["decrypt_ok"] = False
                if path == PATH_AES:
                    idcard = aes_ecb_decrypt(fields.get("idcard"), CONFIG.k16)
                    realname = aes_ecb_decrypt(fields.get("realname"), CONFIG.k16)
                else:
                    k = rsa_decrypt_key(fields.get("aesKey"))
                    idcard = aes_cbc_decrypt(fields.get("idcard"), k, CONFIG.k16)
                    realname = aes_cbc_decrypt(fields.get("realname"), k, CONFIG.k16)
                last["decrypt_ok"] = True
        except ParamError as e:
            log("%s %s param error (%s)" % (method, path, e))
            return self.answer_error(last, 210304, None, None, quiet=True)

        want_orderid = path != PATH_PLAIN or fields.get("orderid") == "1"
        self.lookup(last, path, idcard, realname, want_orderid)

    # ---- answers -------------------------------------------------------
    def answer_error(self, last, code, idcard, realname, code_as_string=False,
                     quiet=False):
        last["http_status"] = 200
        last["error_code"] = code
        self.send_json({"reason": REASONS[code], "result": None,
                        "error_code": str(code) if code_as_string else code})
        if not quiet:
            log("%s %s id=%s name=%s -> error %d" % (
                self.command, last["path"], mask_id(idcard),
                mask_name(realname), code))

    def answer_ok(self, last, path, idcard, realname, res, want_orderid,
                  strings=False, reason=None, billed=True, orderid=None):
        """A success; orderid: this one, even without want_orderid."""
        result = {}
        if path == PATH_PLAIN:
            result["realname"] = mask_name(realname)
            result["idcard"] = mask_id(idcard)
        if orderid is not None:
            result["orderid"] = orderid
        elif want_orderid:
            result["orderid"] = STATE.next_orderid()
        result["res"] = str(res) if strings else res
        obj = {"reason": reason if reason is not None else REASONS[0],
               "result": result,
               "error_code": "0" if strings is True else 0}
        last["http_status"] = 200
        last["error_code"] = 0
        self.send_json(obj)
        if billed:
            with STATE.lock:
                STATE.billed += 1
        log("%s %s id=%s name=%s -> res %s" % (
            self.command, path, mask_id(idcard), mask_name(realname), res))

    def send_special(self, last, status, body, ctype, extra=(), note=""):
        last["http_status"] = status
        self.send_raw(status, body, ctype, extra)
        log("%s %s -> %s" % (self.command, last["path"], note or status))

    def lookup(self, last, path, idcard, realname, want_orderid):
        if len(idcard) == 18 and idcard.startswith(MAGIC_PREFIX) \
                and idcard[14:17] in MAGIC:
            return self.magic(last, path, idcard, realname, want_orderid,
                              *MAGIC[idcard[14:17]][:2])
        if idcard in PEOPLE:
            res = 1 if PEOPLE[idcard] == realname else 2
            return self.answer_ok(last, path, idcard, realname, res, want_orderid)
        return self.answer_error(last, 210301, idcard, realname)

    def magic(self, last, path, idcard, realname, want_orderid, kind, code):
        ok = lambda **kw: self.answer_ok(last, path, idcard, realname,
                                         want_orderid=want_orderid, **kw)
        if kind == "error":
            return self.answer_error(last, code, idcard, realname)
        if kind == "string_error_code":
            return self.answer_error(last, 210301, idcard, realname,
                                     code_as_string=True)
        if kind == "retry_once":
            key = (path, idcard)
            with STATE.lock:
                first = key not in STATE.seen
                STATE.seen.add(key)
            if first:
                return self.answer_error(last, 210305, idcard, realname)
            return ok(res=1)
        if kind == "slow":
            if not self.sleep_unless_disconnected(CONFIG.slow_seconds):
                self.close_connection = True
                last["http_status"] = None
                log("%s %s slow: client went away" % (self.command, path))
                return
            return ok(res=1)
        if kind == "string_numbers":
            return ok(res=1, strings=True)
        if kind == "string_res2":
            return ok(res=2, strings="res")
        if kind == "res3":
            return ok(res=3)
        if kind == "huge":
            return ok(res=1, reason=REASONS[0] + "x" * (8 * 1024 * 1024))
        if kind == "long_orderid":
            oid = STATE.next_orderid() + "-"
            return ok(res=1, orderid=oid + "L" * (LONG_ORDERID - len(oid)))
        if kind == "unicode_orderid":
            return ok(res=1, orderid="聚合订单-测试-" + STATE.next_orderid()[1:])
        if kind == "http502":
            return self.send_special(
                last, 502, "<html><body><h1>502 Bad Gateway</h1></body></html>",
                "text/html")
        if kind == "truncated":
            return self.send_special(
                last, 200, '{"reason":"成功","result":{"res":1,"ord',
                "application/json", note="truncated json")
        if kind == "not_json":
            return self.send_special(last, 200, "not json at all",
                                     "text/plain;charset=utf-8",
                                     note="not json")
        if kind == "redirect":
            return self.send_special(
                last, 302, "{}", "application/json",
                extra=(("Location", "http://127.0.0.1:1/stolen"),))
        busy = lambda status, extra=(): self.send_special(
            last, status, '{"reason":"busy","result":null,"error_code":%d}' % status,
            "application/json", extra=extra)
        if kind in ("http503", "http429"):
            return busy(503 if kind == "http503" else 429, (("Retry-After", "1"),))
        if kind == "http503_once":
            key = (path, idcard)
            with STATE.lock:
                first = key not in STATE.seen
                STATE.seen.add(key)
            if first:
                return busy(503)
            return ok(res=1)
        if kind == "bad_utf8":
            # a billed answer whose order id and reason are not valid UTF-8
            oid = STATE.next_orderid()
            body = (b'{"reason":"\xe6\x88\x90\xff\xfe","result":{"orderid":"J\xff\xfe'
                    + oid[1:].encode("ascii") + b'","res":1},"error_code":0}')
            last["http_status"] = 200
            last["error_code"] = 0
            with STATE.lock:
                STATE.billed += 1
            self.send_raw(200, body)
            log("%s %s -> billed, invalid utf-8" % (self.command, path))
            return
        if kind in ("bill_then_drop", "bill_then_slow"):
            # a service that bills on receipt, then fails to answer
            with STATE.lock:
                STATE.billed += 1
            last["error_code"] = 0
            if kind == "bill_then_slow" and \
                    self.sleep_unless_disconnected(CONFIG.slow_seconds):
                return ok(res=1, billed=False)
            self.close_connection = True
            last["http_status"] = None
            try:
                self.request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            log("%s %s -> billed, no answer" % (self.command, path))
            return
        if kind == "drop":
            self.close_connection = True
            last["http_status"] = None
            try:
                self.wfile.flush()
                self.request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            log("%s %s -> connection dropped" % (self.command, path))
            return
        raise AssertionError(kind)

    def sleep_unless_disconnected(self, seconds):
        """Sleep; return False early if the client closes the connection."""
        deadline = time.monotonic() + seconds
        sock = self.connection
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            try:
                if isinstance(sock, ssl.SSLSocket):
                    time.sleep(min(left, 0.1))
                    continue
                r, _, _ = select.select([sock], [], [], min(left, 0.1))
                if r:
                    peek = sock.recv(1, socket.MSG_PEEK)
                    if not peek:
                        return False
                    time.sleep(min(left, 0.1))    # pipelined data; keep going
            except OSError:
                return False


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a client opening more
    # connections at once would see SYNs dropped and a 1 s retransmit
    request_queue_size = 128

    def server_bind(self):
        # skip HTTPServer.server_bind's getfqdn() (a DNS lookup)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        log("connection error from %s: %s" % (client_address[0],
                                              type(exc).__name__))


def write_file_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def open_blackhole():
    """A listening socket that never accepts, its queue filled by our own
    connections: the kernel then drops further SYNs, so a client's connect
    hangs (on loopback, to test connect timeouts and cancel while
    connecting).  Returns the sockets to keep open; [0] is the listener."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    socks = [listener]
    for _ in range(3):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(c)
    time.sleep(0.2)
    return socks


DEFAULT_KEY = "testkey0123456789abcdef0123456789"
DEFAULT_OPENID = "JHtestOpenId0001"

DESCRIPTION = """\
A mock of the Juhe ID-card real-name verification API (身份证实名认证,
op.juhe.cn) for tests of code that calls juheid.  It listens on 127.0.0.1
only and is never the real service: nothing leaves the machine, nothing is
billed.  It answers plain, AES and RSA mode requests (it decrypts them with
python3-cryptography), with the public test API key, openid and RSA key as
defaults, from a fixed table of fictional people and of magic IDs that
produce every answer and failure of the real service.  Runs in the
foreground until SIGTERM or SIGINT."""


def check_digit(id17):
    """GB 11643 check character of the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(id17))
    return "10X98765432"[total % 11]


def magic_ids():
    """(full 18-character ID, description) for every magic ID, in order."""
    out = []
    for seq, (kind, code, doc) in MAGIC.items():
        if doc is None:
            doc = "error_code %d (%s)" % (code, REASONS[code])
        id17 = MAGIC_PREFIX + seq
        out.append((id17 + check_digit(id17), doc))
    return out


def people_lines():
    out = []
    for idcard, name in PEOPLE.items():
        odd = ["U+%04X" % ord(c) for c in name if not 0x4E00 <= ord(c) <= 0x9FFF]
        out.append("  %s  %s%s" % (idcard, name,
                                   " (with %s)" % ", ".join(odd) if odd else ""))
    return out


def epilog():
    k16 = hashlib.md5(DEFAULT_OPENID.encode("utf-8")).hexdigest()[:16]
    lines = [
        "endpoints (GET with a query string or POST form; fields of both are merged):",
        "  /idcard/query         key, idcard, realname, orderid (1: the result has one)",
        "  /idcard/queryEncry    key; idcard, realname = Base64(AES-128-ECB/PKCS7, k16)",
        "  /idcard/queryEncryV2  key; aesKey = Base64(RSA PKCS#1 v1.5(16 ASCII chars));",
        "                        idcard, realname = Base64(AES-128-CBC/PKCS7,",
        "                        key = those 16 chars, IV = k16)",
        "  k16 = the first 16 hex digits of MD5(openid); %s by default." % k16,
        "  A wrong or missing key: error_code 10001; a missing field or one that does",
        "  not decode or decrypt: 210304; any other path: HTTP 404.",
        "",
        "admin endpoints (no key; not counted in requests):",
        "  GET  /_stats  counters as JSON: requests, connections, billed,",
        "                get_requests, by_path, max_concurrent, arrivals (of the",
        "                last %d API requests), last (field names only)" % ARRIVALS_KEPT,
        "  POST /_reset  zeroes the counters, arrivals, last and the first-time",
        '                memory; answers {"ok":true}',
        "",
        "people (fictional; the exact UTF-8 name: res 1, any other name: res 2):",
    ] + people_lines() + [
        "  Any other ID that is not a magic ID: error_code 210301 (%s)."
        % REASONS[210301],
        "",
        "magic IDs (the first 17 characters are matched; the check character and",
        "the name are ignored):",
    ] + [textwrap.fill(doc, 79, initial_indent="  %s  " % idcard,
                       subsequent_indent=" " * 22, break_on_hyphens=False,
                       break_long_words=False)
         for idcard, doc in magic_ids()] + [
        "",
        "billed (in /_stats) counts every complete answer with error_code 0 or",
        '"0", and each request to an ID that "bills on receipt" when it arrives.',
        "",
        "The log goes to stderr with IDs and names masked (110105********002X, 张*).",
        "Exit status: 0 after SIGTERM or SIGINT; 2 for bad options or an unreadable",
        "--private-key; 1 if it cannot start otherwise (port in use, bad TLS files).",
        "More: man juheid-mock.",
    ]
    return "\n".join(lines)


def build_parser():
    ap = argparse.ArgumentParser(
        description=DESCRIPTION, epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version",
                    version="%(prog)s " + VERSION)
    ap.add_argument("--port", type=int, default=0, metavar="N",
                    help="HTTP port on 127.0.0.1; 0 = any free port "
                    "(default %(default)s)")
    ap.add_argument("--port-file", metavar="FILE",
                    help="write the HTTP port there, atomically and last: it "
                    "means ready (default: none)")
    ap.add_argument("--pid-file", metavar="FILE",
                    help="write the process ID there (default: none)")
    ap.add_argument("--key", default=DEFAULT_KEY, metavar="KEY",
                    help="the API key accepted (default %(default)s)")
    ap.add_argument("--openid", default=DEFAULT_OPENID, metavar="OPENID",
                    help="the openid; its MD5 gives the AES key k16 "
                    "(default %(default)s)")
    ap.add_argument("--private-key",
                    default=os.path.join(HERE, "keys", "test_rsa_private.pem"),
                    metavar="PEM",
                    help="RSA private key that decrypts aesKey in RSA mode "
                    "(default %(default)s)")
    ap.add_argument("--slow-seconds", type=float, default=5.0, metavar="S",
                    help="how long the slow magic IDs wait (default %(default)s)")
    ap.add_argument("--tls-cert", metavar="PEM",
                    help="with --tls-key: also serve HTTPS with this "
                    "certificate, same counters (default: no HTTPS)")
    ap.add_argument("--tls-key", metavar="PEM",
                    help="private key of --tls-cert (default: none)")
    ap.add_argument("--tls-port", type=int, default=0, metavar="N",
                    help="HTTPS port on 127.0.0.1; 0 = any free port "
                    "(default %(default)s)")
    ap.add_argument("--tls-port-file", metavar="FILE",
                    help="write the HTTPS port there, before --port-file "
                    "(default: none)")
    ap.add_argument("--blackhole-port-file", metavar="FILE",
                    help="also open a port on 127.0.0.1 whose connects never "
                    "complete, for connect-timeout tests; write it there, "
                    "before --port-file (default: none)")
    ap.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT,
                    metavar="S",
                    help="seconds a keep-alive connection may idle "
                    "(default %(default)s)")
    ap.add_argument("--quiet", action="store_true",
                    help="no log on stderr (default: log, masked)")
    return ap


def main(argv=None):
    try:
        if sys.stdout is not None and \
                sys.stdout.encoding.lower().replace("-", "") != "utf8":
            sys.stdout.reconfigure(encoding="utf-8")    # --help, --version
    except (AttributeError, ValueError, OSError):
        pass
    ap = build_parser()
    args = ap.parse_args(argv)

    CONFIG.key = args.key
    CONFIG.openid = args.openid
    CONFIG.k16 = hashlib.md5(args.openid.encode("utf-8")).hexdigest()[:16].encode("ascii")
    CONFIG.slow_seconds = args.slow_seconds
    CONFIG.quiet = args.quiet
    Handler.timeout = args.idle_timeout
    try:
        with open(args.private_key, "rb") as f:
            CONFIG.private_key = serialization.load_pem_private_key(f.read(), None)
    except (OSError, ValueError) as e:
        sys.stderr.write("mock_juhe: cannot load private key %s: %s\n"
                         % (args.private_key, e))
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        sys.stderr.write("mock_juhe: --tls-cert and --tls-key go together\n")
        return 2

    servers = [Server(("127.0.0.1", args.port), Handler)]
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        tls = Server(("127.0.0.1", args.tls_port), Handler)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True,
                                     do_handshake_on_connect=False)
        servers.append(tls)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = []
    for s in servers:
        t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                             daemon=True)
        t.start()
        threads.append(t)

    blackhole = []
    if args.blackhole_port_file:
        blackhole = open_blackhole()
        write_file_atomic(args.blackhole_port_file,
                          "%d\n" % blackhole[0].getsockname()[1])

    if args.pid_file:
        write_file_atomic(args.pid_file, "%d\n" % os.getpid())
    if len(servers) > 1 and args.tls_port_file:
        write_file_atomic(args.tls_port_file, "%d\n" % servers[1].server_port)
    if args.port_file:
        write_file_atomic(args.port_file, "%d\n" % servers[0].server_port)
    log("listening on http://127.0.0.1:%d%s" % (
        servers[0].server_port,
        " and https://127.0.0.1:%d" % servers[1].server_port
        if len(servers) > 1 else ""))

    while not stop.wait(1.0):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()
    for b in blackhole:
        b.close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
