#!/bin/bash
# Self-test of the Juhe mock (mock/mock_juhe.py).
# Builds every encrypted request with the openssl CLI and sends it with curl,
# so it depends neither on our C code nor on the mock's own Python crypto.
# Usage: mock/mock_selftest.sh        (any cwd, root or normal user)
# Prints "N passed, N failed"; exits 1 if anything failed.

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MOCK="$HERE/mock_juhe.py"
KEYS="$HERE/keys"
PY=/usr/bin/python3
APIKEY=testkey0123456789abcdef0123456789
OPENID=JHtestOpenId0001

PASS=0
FAIL=0
MOCK_PID=
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mock_selftest.XXXXXX") || exit 2

cleanup() {
    if [ -n "$MOCK_PID" ] && kill -0 "$MOCK_PID" 2>/dev/null; then
        kill "$MOCK_PID" 2>/dev/null
        wait "$MOCK_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()   { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && echo "       got: $(printf %s "$2" | head -c 300)"; }
# check NAME HAYSTACK NEEDLE...: every needle must occur (fixed string)
check() {
    local name=$1 hay=$2; shift 2
    local n
    for n in "$@"; do
        if ! printf %s "$hay" | grep -qF -- "$n"; then bad "$name (missing $n)" "$hay"; return; fi
    done
    ok "$name"
}
check_not() {
    local name=$1 hay=$2 n=$3
    if printf %s "$hay" | grep -qF -- "$n"; then bad "$name (unexpected $n)" "$hay"; else ok "$name"; fi
}
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (expected '$3')" "$2"; fi; }

# curl without any user config or proxy
C() { curl -q -s --noproxy '*' --max-time 30 "$@"; }

# ---- crypto helpers (openssl CLI only) ------------------------------------
K16=$(printf %s "$OPENID" | openssl dgst -md5 -r | cut -c1-16)
K16HEX=$(printf %s "$K16" | od -An -tx1 | tr -d ' \n')
aes_ecb() { printf %s "$1" | openssl enc -aes-128-ecb -K "$K16HEX" -nosalt | base64 -w0; }
# aes_cbc PLAINTEXT AESKEY16
aes_cbc() {
    local kh; kh=$(printf %s "$2" | od -An -tx1 | tr -d ' \n')
    printf %s "$1" | openssl enc -aes-128-cbc -K "$kh" -iv "$K16HEX" -nosalt | base64 -w0
}
# rsa_enc AESKEY16 [pubkey-file [keyform]]
rsa_enc() {
    printf %s "$1" | openssl pkeyutl -encrypt -pubin -inkey "${2:-$KEYS/test_rsa_public.pem}" \
        -keyform "${3:-PEM}" -pkeyopt rsa_padding_mode:pkcs1 | base64 -w0
}
fresh_aeskey() { openssl rand -hex 8; }     # 16 ASCII characters

NAME_ZS='张三'
NAME_LS='李四'
NAME_AB=$(printf '阿卜杜热合曼\xc2\xb7买买提')     # U+00B7 middle dot
NAME_WJ=$(printf '王\xf0\xa0\xae\xb7')           # U+20BB7
ID_ZS=11010519491231002X
ID_AB=650102198506152016
ID_WJ=110101199003074477
ID_LS=440304198808081238

# ---- keys and cert ---------------------------------------------------------
echo "# keys"
eq "k16 known answer" "$K16" d19967177d38848e
der_sha() { openssl dgst -sha256 -r | cut -d' ' -f1; }
S_PRIV=$(openssl pkey -in "$KEYS/test_rsa_private.pem" -pubout -outform DER 2>/dev/null | der_sha)
S_PEM=$(openssl pkey -pubin -in "$KEYS/test_rsa_public.pem" -outform DER 2>/dev/null | der_sha)
S_B64=$(base64 -d "$KEYS/test_rsa_public.b64" | der_sha)
S_P1=$(openssl rsa -RSAPublicKey_in -in "$KEYS/test_rsa_public_pkcs1.pem" -pubout -outform DER 2>/dev/null | der_sha)
eq "public PEM matches private key" "$S_PEM" "$S_PRIV"
eq "public b64 (DER SPKI) matches private key" "$S_B64" "$S_PRIV"
eq "public PKCS#1 PEM matches private key" "$S_P1" "$S_PRIV"
eq "public b64 is one line" "$(wc -l < "$KEYS/test_rsa_public.b64" | tr -d ' ')$(tr -d 'A-Za-z0-9+/=' < "$KEYS/test_rsa_public.b64" | wc -c | tr -d ' ')" "00"
BITS=$(openssl pkey -in "$KEYS/test_rsa_private.pem" -noout -text 2>/dev/null | head -1)
check "private key is 2048-bit" "$BITS" "2048 bit"

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
    -keyout "$TMP/tls.key" -out "$TMP/tls.crt" >/dev/null 2>&1 || { bad "make self-signed cert"; }

# ---- start the mock --------------------------------------------------------
"$PY" "$MOCK" --port 0 --port-file "$TMP/port" --pid-file "$TMP/pid" \
    --slow-seconds 1 --tls-cert "$TMP/tls.crt" --tls-key "$TMP/tls.key" \
    --tls-port 0 --tls-port-file "$TMP/tlsport" --quiet 2>"$TMP/mock.log" &
MOCK_PID=$!
for _ in $(seq 100); do
    [ -s "$TMP/port" ] && break
    kill -0 "$MOCK_PID" 2>/dev/null || break
    sleep 0.1
done
if [ ! -s "$TMP/port" ]; then
    echo "mock did not start:"; cat "$TMP/mock.log"
    MOCK_PID=
    echo "0 passed, 1 failed"; exit 1
fi
PORT=$(cat "$TMP/port"); TLSPORT=$(cat "$TMP/tlsport" 2>/dev/null)
eq "pid file holds the mock's pid" "$(cat "$TMP/pid")" "$MOCK_PID"
B="http://127.0.0.1:$PORT"
echo "# mock on $B (tls $TLSPORT)"

plain() {   # plain ID NAME [extra curl args]
    local id=$1 name=$2; shift 2
    C --data-urlencode "key=$APIKEY" --data-urlencode "idcard=$id" \
      --data-urlencode "realname=$name" "$@" "$B/idcard/query"
}
aes() {     # aes ENC_ID ENC_NAME [key]
    C --data-urlencode "key=${3:-$APIKEY}" --data-urlencode "idcard=$1" \
      --data-urlencode "realname=$2" "$B/idcard/queryEncry"
}
rsa() {     # rsa ID NAME [pubkey [keyform]]
    local k; k=$(fresh_aeskey)
    C --data-urlencode "key=$APIKEY" --data-urlencode "aesKey=$(rsa_enc "$k" "${3:-}" "${4:-}")" \
      --data-urlencode "idcard=$(aes_cbc "$1" "$k")" \
      --data-urlencode "realname=$(aes_cbc "$2" "$k")" "$B/idcard/queryEncryV2"
}
stats() { C "$B/_stats"; }
snum() { printf %s "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
# jsget EXPR: the Python expression EXPR of the JSON d on stdin, printed as
# UTF-8; prints nothing if stdin is not valid UTF-8 JSON
jsget() {
    "$PY" -c 'import json, sys
d = json.loads(sys.stdin.buffer.read().decode("utf-8"))
sys.stdout.buffer.write(str(eval(sys.argv[1])).encode("utf-8"))' "$1" 2>/dev/null
}

# ---- known answers of the openssl helpers ----------------------------------
echo "# known answers"
eq "AES-ECB(张三)" "$(aes_ecb "$NAME_ZS")" "IVgJKzi9aDBj8lAKC80bIQ=="
eq "AES-ECB(id)" "$(aes_ecb "$ID_ZS")" "2gaQWPN0v/Swy5GsIuBrBhb976hZhbkrAI+tHcPW9co="
eq "AES-ECB(minority name)" "$(aes_ecb "$NAME_AB")" "H4iWkIbLFHli5pe1tB6RGOmDP3/68LBDho6G/odD2Ek="
eq "AES-CBC(张三)" "$(aes_cbc "$NAME_ZS" 0123456789abcdef)" "Im1uQRICpb5Z6yeWtlWd+Q=="
eq "AES-CBC(id)" "$(aes_cbc "$ID_AB" 0123456789abcdef)" "MEiLbxpU7TK2S4ZiVQasK8avSKEnSRCMV4z4ARJk34U="

# ---- plain -----------------------------------------------------------------
echo "# plain /idcard/query"
R=$(plain "$ID_ZS" "$NAME_ZS" --data-urlencode orderid=1)
check "plain match + orderid" "$R" '"error_code":0' '"res":1' '"orderid":"J' '"idcard":"110105********002X"' '"realname":"张*"'
check_not "plain answer masks the ID" "$R" "$ID_ZS"
R=$(plain "$ID_ZS" "$NAME_LS")
check "plain mismatch" "$R" '"error_code":0' '"res":2'
check_not "no orderid without orderid=1" "$R" '"orderid"'
check "plain Ext-B name" "$(plain "$ID_WJ" "$NAME_WJ")" '"res":1'
check "plain middle-dot name" "$(plain "$ID_AB" "$NAME_AB")" '"res":1'
check "plain middle-dot variant mismatches" "$(plain "$ID_AB" "$(printf '阿卜杜热合曼\xe2\x80\xa2买买提')")" '"res":2'
check "plain 李四" "$(plain "$ID_LS" "$NAME_LS")" '"res":1'
check "lowercase x is not normalised" "$(plain 11010519491231002x "$NAME_ZS")" '"error_code":210301'
check "unknown id 210301" "$(plain 110101199001010015 "$NAME_ZS")" '"error_code":210301' '"result":null' '查询无此记录'
check "missing realname 210304" "$(C --data-urlencode "key=$APIKEY" --data-urlencode "idcard=$ID_ZS" "$B/idcard/query")" '"error_code":210304' '参数异常'
check "non-UTF-8 name 210304" "$(C -d "key=$APIKEY&idcard=$ID_ZS&realname=%D5%C5%C8%FD" "$B/idcard/query")" '"error_code":210304'
check "wrong key 10001" "$(C --data-urlencode "key=nope" --data-urlencode "idcard=$ID_ZS" --data-urlencode "realname=$NAME_ZS" "$B/idcard/query")" '"error_code":10001' '错误的请求KEY' '"result":null'
check "missing key 10001" "$(C --data-urlencode "idcard=$ID_ZS" "$B/idcard/query")" '"error_code":10001'
H=$(C -o /dev/null -D - --data-urlencode "key=$APIKEY" "$B/idcard/query")
check "JSON content type" "$H" "Content-Type: application/json"

# ---- AES -------------------------------------------------------------------
echo "# AES /idcard/queryEncry"
R=$(aes "2gaQWPN0v/Swy5GsIuBrBhb976hZhbkrAI+tHcPW9co=" "IVgJKzi9aDBj8lAKC80bIQ==")
check "AES match (spec known answers)" "$R" '"error_code":0' '"res":1' '"orderid":"J'
check_not "AES answer has no idcard" "$R" '"idcard"'
check "AES mismatch" "$(aes "$(aes_ecb "$ID_ZS")" "$(aes_ecb "$NAME_LS")")" '"res":2'
check "AES middle-dot" "$(aes "$(aes_ecb "$ID_AB")" "H4iWkIbLFHli5pe1tB6RGOmDP3/68LBDho6G/odD2Ek=")" '"res":1'
check "AES Ext-B name" "$(aes "$(aes_ecb "$ID_WJ")" "$(aes_ecb "$NAME_WJ")")" '"res":1'
check "AES wrong key 10001" "$(aes "$(aes_ecb "$ID_ZS")" "$(aes_ecb "$NAME_ZS")" wrongkey)" '"error_code":10001'
R=$(C --data-raw "key=$APIKEY&idcard=2gaQWPN0v/Swy5GsIuBrBhb976hZhbkrAI+tHcPW9co=&realname=IVgJKzi9aDBj8lAKC80bIQ%3D%3D" "$B/idcard/queryEncry")
check "raw unencoded + fails 210304" "$R" '"error_code":210304'
check "stats: last decrypt_ok false" "$(stats)" '"decrypt_ok":false'
check "AES with key of another openid 210304" "$(C --data-urlencode "key=$APIKEY" --data-urlencode "idcard=$(aes_cbc "$ID_ZS" 0123456789abcdef)" --data-urlencode "realname=$(aes_ecb "$NAME_ZS")" "$B/idcard/queryEncry")" '"error_code":210304'
check "AES plaintext instead of ciphertext 210304" "$(aes "$ID_ZS" "$NAME_ZS")" '"error_code":210304'

# ---- RSA -------------------------------------------------------------------
echo "# RSA /idcard/queryEncryV2"
R=$(rsa "$ID_ZS" "$NAME_ZS")
check "RSA match" "$R" '"error_code":0' '"res":1' '"orderid":"J'
check "stats: last decrypt_ok true" "$(stats)" '"decrypt_ok":true' '"fields":["aesKey","idcard","key","realname"]'
check "RSA mismatch" "$(rsa "$ID_AB" "$NAME_ZS")" '"res":2'
check "RSA Ext-B" "$(rsa "$ID_WJ" "$NAME_WJ")" '"res":1'
base64 -d "$KEYS/test_rsa_public.b64" > "$TMP/pub.der"
check "RSA via console b64 key" "$(rsa "$ID_AB" "$NAME_AB" "$TMP/pub.der" DER)" '"res":1'
check "RSA via PKCS#1 PEM key" "$(rsa "$ID_LS" "$NAME_LS" "$KEYS/test_rsa_public_pkcs1.pem")" '"res":1'
AK=$(rsa_enc 0123456789abcdef)
check "RSA spec CBC known answers (mismatch pair)" "$(C --data-urlencode "key=$APIKEY" --data-urlencode "aesKey=$AK" --data-urlencode "idcard=MEiLbxpU7TK2S4ZiVQasK8avSKEnSRCMV4z4ARJk34U=" --data-urlencode "realname=Im1uQRICpb5Z6yeWtlWd+Q==" "$B/idcard/queryEncryV2")" '"error_code":0' '"res":2'
check "RSA garbage aesKey 210304" "$(C --data-urlencode "key=$APIKEY" --data-urlencode "aesKey=$(printf 'x%.0s' $(seq 256) | base64 -w0)" --data-urlencode "idcard=MEiLbxpU7TK2S4ZiVQasK8avSKEnSRCMV4z4ARJk34U=" --data-urlencode "realname=Im1uQRICpb5Z6yeWtlWd+Q==" "$B/idcard/queryEncryV2")" '"error_code":210304'
check "RSA 15-char aes key 210304" "$(C --data-urlencode "key=$APIKEY" --data-urlencode "aesKey=$(rsa_enc 0123456789abcde)" --data-urlencode "idcard=x" --data-urlencode "realname=y" "$B/idcard/queryEncryV2")" '"error_code":210304'
check "RSA missing aesKey 210304" "$(C --data-urlencode "key=$APIKEY" --data-urlencode "idcard=MEiLbxpU7TK2S4ZiVQasK8avSKEnSRCMV4z4ARJk34U=" --data-urlencode "realname=Im1uQRICpb5Z6yeWtlWd+Q==" "$B/idcard/queryEncryV2")" '"error_code":210304'

# ---- magic IDs -------------------------------------------------------------
echo "# magic IDs"
check "210302" "$(plain 110101200001010029 x)" '"error_code":210302' '第三方服务器异常'
check "210305 always" "$(plain 110101200001010053 x)" '"error_code":210305'
check "210305 always (again)" "$(plain 110101200001010053 x)" '"error_code":210305'
check "210307" "$(plain 11010120000101007X x)" '"error_code":210307' 'sign错误'
check "10012 (first 17 chars matched)" "$(plain 110101200001011120 x)" '"error_code":10012'
check "10021" "$(aes "$(aes_ecb 110101200001011216)" "$(aes_ecb x)")" '"error_code":10021' '接口停用'
check "retry-once: first 210305" "$(plain 110101200001010109 x)" '"error_code":210305'
check "retry-once: then res 1" "$(plain 110101200001010109 x)" '"error_code":0' '"res":1'
check "retry-once is per path" "$(rsa 110101200001010109 x)" '"error_code":210305'
check "strings res/error_code" "$(plain 110101200001012059 x)" '"res":"1"' '"error_code":"0"'
check "string res 2" "$(plain 110101200001012067 x)" '"res":"2"' '"error_code":0'
check "res 3" "$(plain 110101200001012075 x)" '"res":3'
check "string error_code 210301" "$(plain 110101200001012112 x)" '"error_code":"210301"' '查询无此记录'
R=$(plain 110101200001012024 x -w '\n%{http_code}')
check "HTTP 502 html" "$R" '<h1>502 Bad Gateway</h1>' $'\n502'
eq "truncated JSON" "$(plain 110101200001012032 x)" '{"reason":"成功","result":{"res":1,"ord'
eq "not json" "$(plain 110101200001012083 x)" 'not json at all'
R=$(plain 110101200001012104 x -D - -w '\n%{http_code}')
check "302 redirect" "$R" 'Location: http://127.0.0.1:1/stolen' $'\n302' '{}'
plain 110101200001012091 x >/dev/null; RC=$?
eq "dropped connection: curl exit 52 (empty reply)" "$RC" 52
R=$(plain 110101200001012040 x -o "$TMP/huge.json" -w '%{size_download}')
if [ "${R:-0}" -gt 8000000 ] && "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["error_code"]!=0)' "$TMP/huge.json"; then
    ok "8 MiB valid JSON ($R bytes)"; else bad "8 MiB valid JSON" "$R"; fi
T0=$(date +%s%N)
R=$(plain 110101200001012016 x)
T1=$(( ($(date +%s%N) - T0) / 1000000 ))
check "slow answer res 1" "$R" '"res":1'
if [ "$T1" -ge 900 ]; then ok "slow took ${T1} ms (--slow-seconds 1)"; else bad "slow took only ${T1} ms"; fi
C --max-time 0.3 -o /dev/null --data-urlencode "key=$APIKEY" --data-urlencode "idcard=110101200001012016" --data-urlencode "realname=x" "$B/idcard/query"
eq "client timeout on slow (curl exit 28)" "$?" 28

# the magic IDs for retry and billing tests
R=$(plain 110101200001012139 x -D - -w '\n%{http_code}')
check "HTTP 503 with Retry-After" "$R" 'Retry-After: 1' $'\n503' '"reason":"busy"'
check "HTTP 429" "$(plain 110101200001012147 x -w '\n%{http_code}')" $'\n429'
R=$(plain 11010120000101218X x -w '\n%{http_code}')
check "503 once: first a 503" "$R" $'\n503'
check "503 once: then res 1" "$(plain 11010120000101218X x)" '"res":1'
R=$(plain 110101200001012155 x | od -An -tx1 | tr -d ' \n')
check "invalid UTF-8 in orderid and reason" "$R" '4aff' 'e68890fffe'
C -X POST "$B/_reset" >/dev/null
plain 110101200001012163 x >/dev/null; RC=$?
eq "bill then drop: curl exit 52" "$RC" 52
eq "bill then drop: billed on receipt" "$(snum "$(stats)" billed)" 1
C --max-time 0.3 -o /dev/null --data-urlencode "key=$APIKEY" --data-urlencode "idcard=110101200001012171" --data-urlencode "realname=x" "$B/idcard/query"
eq "bill then slow: client timeout (curl exit 28)" "$?" 28
eq "bill then slow: billed on receipt" "$(snum "$(stats)" billed)" 2

# ---- long and non-ASCII order ids ------------------------------------------
echo "# long and non-ASCII order ids"
C -X POST "$B/_reset" >/dev/null
OID='d["result"]["orderid"]'
R=$(plain 110101200001012198 x)
check "long order id: billed res 1, masked as usual" "$R" '"error_code":0' '"res":1' '"reason":"成功"' \
    '"realname":"x*"' '"idcard":"110101********2198"'
L1=$(printf %s "$R" | jsget "$OID")
L2=$(plain 110101200001012198 x --data-urlencode orderid=1 | jsget "$OID")
eq "long order id: 300 characters" "${#L1}" 300
if [[ $L1 =~ ^J[0-9]+-L+$ ]] && [ "${#L2}" -eq 300 ] && [ "$L1" != "$L2" ]; then
    ok "long order id: J + digits + - + L..., unique per answer"; else bad "long order id: J + digits + - + L..., unique" "$L1 $L2"; fi
N=$(plain "$ID_ZS" "$NAME_ZS" --data-urlencode orderid=1 | jsget "$OID")
if [[ $L2 =~ ^J([0-9]+)- ]] && [ "$N" = "J$((BASH_REMATCH[1] + 1))" ]; then
    ok "long order id: the normal counter (next order id is +1)"; else bad "long order id: the normal counter" "${L2:0:20} $N"; fi
R=$(aes "$(aes_ecb 110101200001012198)" "$(aes_ecb x)")
eq "long order id (AES): result has only orderid and res" "$(printf %s "$R" | jsget '",".join(d["result"])')" "orderid,res"
L3=$(printf %s "$R" | jsget "$OID")
if [ "${#L3}" -eq 300 ] && [[ $L3 =~ ^J[0-9]+-L+$ ]] && [ "$L3" != "$L1" ]; then
    ok "long order id (AES): 300 characters, unique"; else bad "long order id (AES): 300 characters, unique" "$L3"; fi
R=$(plain 110101200001012200 x)
check "non-ASCII order id: billed res 1, raw UTF-8 in the JSON" "$R" '"error_code":0' '"res":1' \
    '"idcard":"110101********2200"' '"orderid":"聚合订单-测试-1'
check_not "non-ASCII order id: not \\u-escaped" "$R" '\u'
U1=$(printf %s "$R" | jsget "$OID")
U2=$(aes "$(aes_ecb 110101200001012200)" "$(aes_ecb x)" | jsget "$OID")
U3=$(rsa 110101200001012200 x | jsget "$OID")
if [[ $U1 =~ ^聚合订单-测试-[0-9]{13}$ ]] && [[ $U2 =~ ^聚合订单-测试-[0-9]{13}$ ]] &&
    [[ $U3 =~ ^聚合订单-测试-[0-9]{13}$ ]] && [ "$U1" != "$U2" ] && [ "$U2" != "$U3" ]; then
    ok "non-ASCII order id: valid UTF-8 JSON, prefix + digits, unique (plain, AES, RSA)"
else
    bad "non-ASCII order id: valid UTF-8 JSON, prefix + digits, unique" "$U1 $U2 $U3"
fi
R=$(aes "$(aes_ecb 110101200001012200)" "$(aes_ecb x)")
eq "non-ASCII order id (AES): result has only orderid and res" "$(printf %s "$R" | jsget '",".join(d["result"])')" "orderid,res"
eq "long and non-ASCII order ids are billed (8 answers)" "$(snum "$(stats)" billed)" 8

# ---- stats, keep-alive, reset ----------------------------------------------
echo "# stats"
eq "reset answers ok" "$(C -X POST "$B/_reset")" '{"ok":true}'
S=$(stats); S=$(stats)
eq "after reset: requests 0 (admin not counted)" "$(snum "$S" requests)" 0
eq "after reset: connections 0 (admin-only connections)" "$(snum "$S" connections)" 0
eq "after reset: billed 0" "$(snum "$S" billed)" 0
check "stats shape" "$S" '"get_requests":0' '"by_path":{' '"last":null'
check "GET /_reset refused" "$(C -w '%{http_code}' "$B/_reset")" '405'
check "retry-once memory cleared by reset" "$(plain 110101200001010109 x)" '"error_code":210305'
R=$(C -w '\nNC=%{num_connects}\n' --data-urlencode "key=$APIKEY" --data-urlencode "idcard=$ID_ZS" \
    --data-urlencode "realname=$NAME_ZS" "$B/idcard/query" "$B/idcard/query")
eq "keep-alive: curl opened one connection for two URLs" "$(printf %s "$R" | sed -n 's/^NC=//p' | paste -sd' ')" "1 0"
S=$(stats)
eq "requests = 3" "$(snum "$S" requests)" 3
eq "connections = 2 (keep-alive reused)" "$(snum "$S" connections)" 2
eq "billed = 2" "$(snum "$S" billed)" 2
check "by_path" "$S" '"/idcard/query":3' '"/idcard/queryEncry":0' '"/idcard/queryEncryV2":0'
C --data-urlencode "key=$APIKEY" --data-urlencode "idcard=$ID_ZS" --data-urlencode "realname=$NAME_ZS" "$B/idcard/query" -: "$B/_stats" >/dev/null
S=$(stats)
eq "API then admin on one connection: connections +1" "$(snum "$S" connections)" 3
C "$B/_stats" -: --data-urlencode "key=$APIKEY" --data-urlencode "idcard=$ID_ZS" --data-urlencode "realname=$NAME_ZS" "$B/idcard/query" >/dev/null
S=$(stats)
eq "admin then API on one connection: connections +1" "$(snum "$S" connections)" 4
R=$(C -G --data-urlencode "key=$APIKEY" --data-urlencode "idcard=$ID_ZS" --data-urlencode "realname=$NAME_ZS" "$B/idcard/query")
check "GET is answered" "$R" '"res":1'
S=$(stats)
eq "get_requests = 1" "$(snum "$S" get_requests)" 1
check "last: GET with query string, no personal data" "$S" '"method":"GET"' '"query_string":true' '"fields":["idcard","key","realname"]'
check_not "stats hold no ID" "$S" "$ID_ZS"
check_not "stats hold no name" "$S" "$NAME_ZS"
C -d "key=$APIKEY&idcard=$ID_ZS&realname=x&orderid=1" "$B/idcard/query" >/dev/null
check "last: POST form, orderid recorded" "$(stats)" '"method":"POST"' '"query_string":false' '"orderid":"1"' '"content_type":"application/x-www-form-urlencoded"'
O1=$(plain "$ID_ZS" x --data-urlencode orderid=1 | sed -n 's/.*"orderid":"\([^"]*\)".*/\1/p')
O2=$(aes "$(aes_ecb "$ID_ZS")" "$(aes_ecb x)" | sed -n 's/.*"orderid":"\([^"]*\)".*/\1/p')
if [ -n "$O1" ] && [ -n "$O2" ] && [ "$O1" != "$O2" ]; then ok "order ids unique ($O1 $O2)"; else bad "order ids unique" "$O1 $O2"; fi
check "unknown path 404" "$(C -w '%{http_code}' "$B/nope")" '404'

# arrival times and concurrency of the API requests
C -X POST "$B/_reset" >/dev/null
S=$(stats)
eq "after reset: arrivals empty" "$(printf %s "$S" | jsget 'd["arrivals"]')" "[]"
eq "after reset: max_concurrent 0" "$(snum "$S" max_concurrent)" 0
T0=$(date +%s.%N)
plain "$ID_ZS" "$NAME_ZS" >/dev/null
aes "$(aes_ecb "$ID_ZS")" "$(aes_ecb "$NAME_ZS")" >/dev/null
C "$B/nope" >/dev/null
T1=$(date +%s.%N)
S=$(stats)
eq "arrivals: one per API request (3, 404 included)" "$(printf %s "$S" | jsget 'len(d["arrivals"]), d["requests"]')" "(3, 3)"
eq "arrivals: floats, in order, within the requests' time" "$(printf %s "$S" | jsget \
    "all(isinstance(t, float) for t in d['arrivals']) and d['arrivals'] == sorted(d['arrivals']) and $T0 <= d['arrivals'][0] and d['arrivals'][-1] <= $T1")" True
eq "one request at a time: max_concurrent 1" "$(snum "$S" max_concurrent)" 1
C -X POST "$B/_reset" >/dev/null
plain 110101200001012016 x >"$TMP/slow1" & S1=$!
plain 110101200001012016 x >"$TMP/slow2" & S2=$!
wait "$S1" "$S2"
eq "two overlapping slow requests: both res 1" "$(cat "$TMP/slow1" "$TMP/slow2" | grep -o '"res":1' | wc -l | tr -d ' ')" 2
S=$(stats)
MC=$(snum "$S" max_concurrent)
if [ "${MC:-0}" -ge 2 ]; then ok "two overlapping slow requests: max_concurrent $MC"; else bad "two overlapping slow requests: max_concurrent >= 2" "$S"; fi
eq "slow requests: arrivals taken on arrival (2, < 0.5 s apart)" "$(printf %s "$S" | jsget \
    'len(d["arrivals"]) == 2 and d["arrivals"][1] - d["arrivals"][0] < 0.5')" True
sleep 0.2     # the handlers count a request until just after its answer is sent
C -X POST "$B/_reset" >/dev/null
plain "$ID_ZS" "$NAME_ZS" >/dev/null
S=$(stats)
eq "reset, then one request: max_concurrent 1" "$(snum "$S" max_concurrent)" 1
eq "reset, then one request: one arrival" "$(printf %s "$S" | jsget 'len(d["arrivals"])')" 1
C -X POST "$B/_reset" >/dev/null
C "$B/nope[1-1001]" >/dev/null
eq "arrivals: only the last 1000 (1001 requests)" "$(stats | jsget 'len(d["arrivals"]), d["requests"]')" "(1000, 1001)"
check_not "stats hold no ID after these" "$(stats)" "$ID_ZS"

# ---- TLS -------------------------------------------------------------------
echo "# TLS"
if [ -n "$TLSPORT" ]; then
    R=$(C -k --data-urlencode "key=$APIKEY" --data-urlencode "idcard=$ID_ZS" --data-urlencode "realname=$NAME_ZS" "https://127.0.0.1:$TLSPORT/idcard/query")
    check "https with -k works" "$R" '"res":1'
    C -o /dev/null --data-urlencode "key=$APIKEY" "https://127.0.0.1:$TLSPORT/idcard/query"; RC=$?
    if [ "$RC" -ne 0 ]; then ok "https without -k rejected (curl exit $RC)"; else bad "https without -k rejected" "$RC"; fi
    check "http still answers after TLS failure" "$(plain "$ID_ZS" "$NAME_ZS")" '"res":1'
else
    bad "tls port file written"
fi

# ---- log masking, clean shutdown -------------------------------------------
echo "# shutdown"
kill -TERM "$MOCK_PID"
for _ in $(seq 50); do kill -0 "$MOCK_PID" 2>/dev/null || break; sleep 0.1; done
wait "$MOCK_PID"; RC=$?
MOCK_PID=
eq "exits 0 on SIGTERM" "$RC" 0
"$PY" "$MOCK" --port 0 --port-file "$TMP/port2" 2>"$TMP/mock2.log" &
P2=$!; MOCK_PID=$P2
for _ in $(seq 100); do [ -s "$TMP/port2" ] && break; sleep 0.1; done
B="http://127.0.0.1:$(cat "$TMP/port2")"
plain "$ID_ZS" "$NAME_ZS" >/dev/null
C -G --data-urlencode "key=$APIKEY" --data-urlencode "idcard=$ID_AB" --data-urlencode "realname=$NAME_AB" "$B/idcard/query" >/dev/null
aes "$(aes_ecb "$ID_WJ")" "$(aes_ecb "$NAME_WJ")" >/dev/null
kill -TERM "$P2"; wait "$P2"; MOCK_PID=
L=$(cat "$TMP/mock2.log")
check "log shows masked values" "$L" '110105********002X' '张*' '650102********2016'
for s in "$ID_ZS" "$ID_AB" "$ID_WJ" "$NAME_ZS" "$NAME_AB" "$NAME_WJ" "$(printf %s "$NAME_AB" | od -An -tx1 | tr -d ' \n')"; do
    check_not "log never holds the full value" "$L" "$s"
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
