#!/bin/sh
# Shows that the in-guest tests can fail: applies kernel/patches plus one
# mutation (a patch here that removes a safety check) and runs the tests
# that must catch it; exits 0 only if they FAILED.
#   kernel/selftest/mutations/run.sh no-generation-check 'file/races'
set -eu
name=$1 tests=$2
repo=$(cd "$(dirname "$0")/../../.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$repo"/kernel/patches/*.patch "$dir"/
cp "$repo/kernel/selftest/mutations/$name.patch" "$dir/9999-mutation-$name.patch"
set +e
"$repo/bin/bpfstor" --repo "$repo" test --patches "$dir" --run "$tests" --timeout 10m
rc=$?
set -e
case $rc in
1) echo "mutation $name: caught by $tests (as it must be)"; exit 0 ;;
0) echo "mutation $name: NOT caught by $tests: the tests cannot see this check go" >&2; exit 1 ;;
*) echo "mutation $name: bpfstor test exited $rc (build or run problem)" >&2; exit "$rc" ;;
esac
