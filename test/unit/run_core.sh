#!/bin/bash
# test/unit/run_core.sh -- C unit tests of the crypto and answer-parsing
# code (src/crypto.c, src/response.c) under AddressSanitizer/UBSan, then the
# answer-parser fuzzer for a bounded time (FUZZ_SECONDS, default 30).
# Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/unit/lib.sh
DEPS="$(pkg-config --cflags --libs json-c libcrypto)"

unit test_core "src/crypto.c src/response.c $DEPS" mock/keys
fuzz fuzz_response "src/response.c $DEPS" 4096
summary
