#!/usr/bin/env bash
# The whole test suite: fetch the sample videos (idempotent), then build and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/fetch-sample-videos.sh
swift build --build-tests
# fp32 is the reference every numeric test checks against; the bf16 tests (AVX512-BF16 CPUs)
# choose bf16 themselves.
RSTORE_PRECISION=fp32 swift test --skip-build "$@"
