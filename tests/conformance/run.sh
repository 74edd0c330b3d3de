#!/usr/bin/env bash
# Conformance with real clients: builds storekey, serves it on an ephemeral port from a temp dir
# with Multipass on, creates a storefront token through the admin REST API, then runs the Node
# tests against it: storefront.test.mjs (multipassify + @shopify/storefront-api-client),
# venia.test.mjs (PWA Studio Venia's documents and Apollo link chain), alokai.test.mjs (Alokai's
# middleware + SDK). Exits non-zero on any failure, and when any test is skipped or todo.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

echo "== conformance: cargo build"
cargo build --quiet --bin storekey

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
admin_key="$(random_hex 24)"
multipass_secret="$(random_hex 16)"

echo "== conformance: start storekey"
# Run from the temp dir so the repository's config.toml is not picked up; keep argon2 cheap.
(
    cd "$work"
    exec env \
        STOREKEY_ADMIN_KEY="$admin_key" \
        STOREKEY_MULTIPASS_SECRET="$multipass_secret" \
        STOREKEY_PASSWORD_ARGON2_MEMORY_KIB=256 \
        STOREKEY_PASSWORD_ARGON2_ITERATIONS=1 \
        STOREKEY_STORAGE_PATH="$work/storekey.redb" \
        STOREKEY_MAIL_OUTBOX_DIR="$work/outbox" \
        "$root/target/debug/storekey" serve --listen 127.0.0.1:0
) >"$work/stdout" 2>"$work/stderr" &
server_pid=$!

url=""
for _ in $(seq 1 300); do
    line="$(head -n 1 "$work/stdout" 2>/dev/null || true)"
    if [[ "$line" == "storekey listening on http://"* ]]; then
        url="${line#storekey listening on }"
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [[ -z "$url" ]]; then
    echo "storekey did not start; its stderr:" >&2
    cat "$work/stderr" >&2
    exit 1
fi
echo "storekey is at $url"

echo "== conformance: create a storefront token"
storefront_token="$(
    STOREKEY_URL="$url" ADMIN_KEY="$admin_key" node --input-type=module -e '
        const res = await fetch(`${process.env.STOREKEY_URL}/rest/V1/storefront-tokens`, {
            method: "POST",
            headers: {
                Authorization: `Bearer ${process.env.ADMIN_KEY}`,
                "Content-Type": "application/json",
            },
            body: JSON.stringify({
                title: "conformance",
                scopes: ["unauthenticated_write_customers", "unauthenticated_read_customer_tags"],
            }),
        });
        const body = await res.json();
        if (res.status !== 200 || typeof body.access_token !== "string") {
            console.error(`POST /rest/V1/storefront-tokens answered ${res.status}: ${JSON.stringify(body)}`);
            process.exit(1);
        }
        console.log(body.access_token);
    '
)"

echo "== conformance: npm ci"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

echo "== conformance: node --test"
status=0
(
    cd "$here"
    STOREKEY_URL="$url" STOREFRONT_TOKEN="$storefront_token" MULTIPASS_SECRET="$multipass_secret" \
        OUTBOX_DIR="$work/outbox" \
        node --test \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$work/tap" \
        storefront.test.mjs venia.test.mjs alokai.test.mjs
) || status=$?
# A skipped or todo test passes silently: insist that every test ran.
for kind in skipped todo; do
    n="$(sed -n "s/^# $kind \([0-9]*\)\$/\1/p" "$work/tap" | tail -n 1)"
    if [[ "$n" != "0" ]]; then
        echo "conformance: ${n:-unknown number of} test(s) reported as $kind" >&2
        status=1
    fi
done

if [[ $status -ne 0 ]]; then
    echo "conformance failed; storekey's stderr:" >&2
    cat "$work/stderr" >&2
fi
exit "$status"
