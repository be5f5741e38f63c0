#!/bin/sh
# What `npm test` needs beyond `npm ci` (run by the pretest script; issue #17 §5: the README's
# two commands must be enough on a fresh machine), from Debian's packages:
# - chromium, for the viewer's browser test (test/viewer.e2e.test.ts drives it through
#   playwright-core; Playwright's own browser download does not work on a closed network);
# - redis-server, for the job queue's tests (test/queue.e2e.test.ts starts its own on loopback).
# What is missing is installed with apt-get if we can (root, or sudo without a password);
# otherwise the script stops with one line saying what to run. ARMPRIOR_CHROMIUM names another
# Chromium binary (then it is not installed). ARMPRIOR_DEBIAN_CHROMIUM and ARMPRIOR_DEBIAN_REDIS
# move Debian's paths, for this script's own test only.
set -eu

debian_chromium="${ARMPRIOR_DEBIAN_CHROMIUM:-/usr/bin/chromium}"
chromium="${ARMPRIOR_CHROMIUM:-$debian_chromium}"
debian_redis="${ARMPRIOR_DEBIAN_REDIS:-/usr/bin/redis-server}"

packages=""
who=""
if [ ! -x "$chromium" ]; then
  if [ -n "${ARMPRIOR_CHROMIUM:-}" ]; then
    echo "npm test: ARMPRIOR_CHROMIUM=$chromium is not an executable file" >&2
    exit 1
  fi
  packages="chromium"
  who="the viewer's browser test"
fi
if [ ! -x "$debian_redis" ]; then
  packages="${packages:+$packages }redis-server"
  who="${who:+$who and }the queue's tests"
fi
[ -z "$packages" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  if [ ! -x "$chromium" ]; then
    echo "npm test: the viewer's browser test needs Chromium at $debian_chromium: install it, or set ARMPRIOR_CHROMIUM to a Chromium binary" >&2
  else
    echo "npm test: the queue's tests need redis-server at $debian_redis: install it (Debian's package redis-server)" >&2
  fi
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo -n"
else
  case "$who" in *" and "*) needs="need" ;; *) needs="needs" ;; esac
  echo "npm test: $who $needs Debian's $packages: run 'sudo apt-get install -y $packages', then npm test again" >&2
  exit 1
fi

echo "npm test: installing Debian's $packages for $who (apt-get install $packages)" >&2
# $packages is a space-separated list of package names: split on purpose.
# shellcheck disable=SC2086
if ! { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages; } >&2; then
  echo "npm test: 'apt-get install $packages' failed (above); install $packages, then npm test again" >&2
  exit 1
fi
for binary in "$chromium" "$debian_redis"; do
  if [ ! -x "$binary" ]; then
    echo "npm test: apt-get installed $packages but $binary is still missing" >&2
    exit 1
  fi
done
