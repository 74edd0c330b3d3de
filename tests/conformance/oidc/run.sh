#!/usr/bin/env bash
# openid-client (npm, the OpenID-certified relying-party library) against storekey's OpenID
# Connect provider: serves storekey from a temp dir with the provider on, a zero refresh grace
# (a reuse ends the family at once), 3-second codes and keys that sign as soon as they are
# published, then runs oidc.test.mjs. Fails when any test fails, is skipped or did not run.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"

echo "== oidc conformance: cargo build"
cargo build --quiet --bin storekey

work="$(mktemp -d)"
pid=""
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

admin_key="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
(
    cd "$work"
    exec env \
        STOREKEY_ADMIN_KEY="$admin_key" \
        STOREKEY_PASSWORD_ARGON2_MEMORY_KIB=256 \
        STOREKEY_PASSWORD_ARGON2_ITERATIONS=1 \
        STOREKEY_STORAGE_PATH="$work/storekey.redb" \
        STOREKEY_MAIL_OUTBOX_DIR="$work/outbox" \
        STOREKEY_OIDC_KEY_FILE="$work/oidc.kek" \
        STOREKEY_OIDC_REFRESH_GRACE_SECONDS=0 \
        STOREKEY_OIDC_CODE_SECONDS=3 \
        STOREKEY_OIDC_KEY_PUBLISH_MINUTES=0 \
        STOREKEY_THROTTLE_CREATE_ACCOUNT_PER_IP_PER_HOUR=0 \
        STOREKEY_THROTTLE_LOGIN_PER_IP_PER_MINUTE=0 \
        "$root/target/debug/storekey" serve --listen 127.0.0.1:0
) >"$work/stdout" 2>"$work/stderr" &
pid=$!
url=""
for _ in $(seq 1 300); do
    line="$(head -n 1 "$work/stdout" 2>/dev/null || true)"
    if [[ "$line" == "storekey listening on http://"* ]]; then
        url="${line#storekey listening on }"
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z "$url" ]]; then
    echo "storekey did not start; its stderr:" >&2
    cat "$work/stderr" >&2
    exit 1
fi
echo "storekey is at $url"

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

status=0
(
    cd "$here"
    STOREKEY_URL="$url" ADMIN_KEY="$admin_key" node --test \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$work/oidc.tap" \
        oidc.test.mjs
) || status=$?
for kind in skipped todo; do
    n="$(sed -n "s/^# $kind \([0-9]*\)\$/\1/p" "$work/oidc.tap" | tail -n 1)"
    if [[ "$n" != "0" ]]; then
        echo "oidc conformance: ${n:-unknown number of} test(s) reported as $kind" >&2
        status=1
    fi
done
passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$work/oidc.tap" | tail -n 1)"
if [[ "${passed:-0}" == "0" ]]; then
    echo "oidc conformance: no test passed" >&2
    status=1
fi
if [[ $status -ne 0 ]]; then
    echo "oidc conformance failed; storekey's stderr:" >&2
    tail -n 50 "$work/stderr" >&2
fi
exit "$status"
