#!/bin/sh
# What `npm test` needs beyond `npm ci` (run by the pretest script; issue #17 §5: the README's
# two commands must be enough on a fresh machine). The viewer's browser test
# (test/viewer.e2e.test.ts) drives Debian's chromium through playwright-core (Playwright's own
# browser download does not work on a closed network). When it is missing, install it with
# apt-get if we can (root, or sudo without a password); otherwise stop with one line saying
# what to run. ARMPRIOR_CHROMIUM names another Chromium binary (then nothing is installed).
# ARMPRIOR_DEBIAN_CHROMIUM moves Debian's path, for this script's own test only.
set -eu

debian_chromium="${ARMPRIOR_DEBIAN_CHROMIUM:-/usr/bin/chromium}"
chromium="${ARMPRIOR_CHROMIUM:-$debian_chromium}"
[ -x "$chromium" ] && exit 0

if [ -n "${ARMPRIOR_CHROMIUM:-}" ]; then
  echo "npm test: ARMPRIOR_CHROMIUM=$chromium is not an executable file" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test: the viewer's browser test needs Chromium at $debian_chromium: install it, or set ARMPRIOR_CHROMIUM to a Chromium binary" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo -n"
else
  echo "npm test: the viewer's browser test needs Debian's chromium: run 'sudo apt-get install -y chromium', then npm test again" >&2
  exit 1
fi

echo "npm test: installing Debian's chromium for the viewer's browser test (apt-get install chromium)" >&2
if ! { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2; then
  echo "npm test: 'apt-get install chromium' failed (above); install chromium, then npm test again" >&2
  exit 1
fi
if [ ! -x "$chromium" ]; then
  echo "npm test: apt-get installed chromium but $chromium is still missing" >&2
  exit 1
fi
