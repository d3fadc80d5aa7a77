#!/usr/bin/env bash
# The whole test suite: fetch the sample videos (idempotent), then build and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/fetch-sample-videos.sh
swift build --build-tests
swift test --skip-build "$@"
