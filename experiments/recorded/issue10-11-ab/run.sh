#!/bin/bash
# A/B of issues 10/11, back to back on one machine, host /proc/stat sampled
# every 2 s. Usage: run.sh BEFORE_TREE AFTER_TREE OUTDIR
#   BEFORE_TREE: git worktree add BEFORE 894896d && make -C BEFORE build
#   AFTER_TREE:  this repository at the commit that added this directory
set -u
before=$(realpath "$1") after=$(realpath "$2") out=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
mkdir -p "$out"
( while true; do echo "$(date +%s) $(head -1 /proc/stat)"; sleep 2; done ) > "$out/host-proc-stat.log" &
S=$!
(cd "$before" && bin/bpfstor run --force "$here/before.toml") > "$out/before.log" 2>&1
echo "before rc=$?" >> "$out/done"
(cd "$after" && bin/bpfstor run --force "$here/after.toml") > "$out/after.log" 2>&1
echo "after rc=$?" >> "$out/done"
kill $S
