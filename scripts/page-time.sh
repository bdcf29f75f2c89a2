#!/usr/bin/env bash
# Server time of a page: logs in as USER (demo password) on a running
# `kehu serve` at BASE and prints the status and time to first byte of N
# GETs of PATH.
#
#   scripts/page-time.sh http://127.0.0.1:8080 wu.1 /analytics 4
set -eu
base=$1; user=$2; path=$3; n=${4:-5}
jar=$(mktemp)
curl -s -o /dev/null -c "$jar" -b "$jar" -d "username=$user&password=kehu-demo-2026" "$base/login"
for i in $(seq 1 "$n"); do
  curl -s -o /dev/null -b "$jar" -w "%{http_code} %{time_starttransfer}\n" "$base$path"
done
rm -f "$jar"
