#!/usr/bin/env bash
# Where a process's resident memory lies, in MiB, by mapping: its own executable (code and data of the image), each
# shared library, the GC heap and other anonymous memory, and the rest. For docs/performance.md's table of what
# pocketcoder adds over the bare app: run it on both, started the same way, at the same moment of their lives.
#   bench/rss-by-mapping.sh PID
# Columns: resident, and of it dirty (written, so only swap can take it away; clean pages of a file the kernel can drop and
# read back). The anonymous mapping right after a native executable is its .bss and .hydrated sections: Native AOT writes
# the type data (MethodTables) it keeps compressed in the file into .hydrated at start, so all of it is dirty.
set -euo pipefail
pid=$1
awk '
  /^[0-9a-f]+-[0-9a-f]+ / {
    path = (NF >= 6) ? $6 : "[anonymous]"
    if (path ~ /\.so/) { n = split(path, parts, "/"); name = parts[n] }
    else if (path ~ /^\//) { n = split(path, parts, "/"); name = parts[n] " (executable)"; executable = parts[n] }
    else if (path == "[anonymous]" && previous ~ /^\// && previous !~ /\.so/) name = executable " (.bss, .hydrated)"
    else name = path
    previous = path
    next
  }
  /^Rss:/ { rss[name] += $2 }
  /^Private_Dirty:/ { dirty[name] += $2 }
  END {
    for (name in rss) if (rss[name] >= 256) printf "%8.1f MiB %8.1f dirty  %s\n", rss[name] / 1024, dirty[name] / 1024, name
    total = 0; totalDirty = 0; for (name in rss) { total += rss[name]; totalDirty += dirty[name] }
    printf "%8.1f MiB %8.1f dirty  total\n", total / 1024, totalDirty / 1024
  }' "/proc/$pid/smaps" | sort -rn
