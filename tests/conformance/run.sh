#!/usr/bin/env bash
# Conformance with real clients: builds storekey, serves it on an ephemeral port from a temp dir
# with Multipass on, creates a storefront token through the admin REST API, then runs the Node
# tests against it: storefront.test.mjs (multipassify + @shopify/storefront-api-client),
# venia.test.mjs (PWA Studio Venia's documents and Apollo link chain), alokai.test.mjs (Alokai's
# middleware + SDK); then a second server with Shopify's link forms for hydrogen/ (Hydrogen's
# storefront client sending its starter template's account documents). Exits non-zero on any
# failure, and when any test is skipped or todo.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

echo "== conformance: cargo build"
cargo build --quiet --bin storekey

work="$(mktemp -d)"
server_pids=()
cleanup() {
    for pid in "${server_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
admin_key="$(random_hex 24)"
multipass_secret="$(random_hex 16)"

# start_storekey NAME [VAR=VALUE…]: serves storekey from $work/NAME (its own store and outbox)
# with Multipass on and argon2 cheap, plus the given environment; sets $url and adds the pid to
# $server_pids. Run from the temp dir so the repository's config.toml is not picked up. The
# registration limit is off: the clients' suites register more accounts from 127.0.0.1 in a
# minute than one shopper would in an hour.
start_storekey() {
    local name="$1"
    shift
    local dir="$work/$name"
    mkdir -p "$dir"
    (
        cd "$dir"
        exec env \
            STOREKEY_ADMIN_KEY="$admin_key" \
            STOREKEY_MULTIPASS_SECRET="$multipass_secret" \
            STOREKEY_PASSWORD_ARGON2_MEMORY_KIB=256 \
            STOREKEY_PASSWORD_ARGON2_ITERATIONS=1 \
            STOREKEY_STORAGE_PATH="$dir/storekey.redb" \
            STOREKEY_MAIL_OUTBOX_DIR="$dir/outbox" \
            STOREKEY_THROTTLE_CREATE_ACCOUNT_PER_IP_PER_HOUR=0 \
            "$@" \
            "$root/target/debug/storekey" serve --listen 127.0.0.1:0
    ) >"$dir/stdout" 2>"$dir/stderr" &
    local pid=$!
    server_pids+=("$pid")
    url=""
    for _ in $(seq 1 300); do
        local line
        line="$(head -n 1 "$dir/stdout" 2>/dev/null || true)"
        if [[ "$line" == "storekey listening on http://"* ]]; then
            url="${line#storekey listening on }"
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    if [[ -z "$url" ]]; then
        echo "storekey ($name) did not start; its stderr:" >&2
        cat "$dir/stderr" >&2
        exit 1
    fi
    echo "storekey ($name) is at $url"
}

# create_storefront_token: a public storefront token for the server at $url.
create_storefront_token() {
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
}

echo "== conformance: start storekey"
start_storekey clients

echo "== conformance: create a storefront token"
storefront_token="$(create_storefront_token)"

echo "== conformance: npm ci"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

# check_tap FILE: a skipped or todo test passes silently: insist that every test ran.
check_tap() {
    for kind in skipped todo; do
        n="$(sed -n "s/^# $kind \([0-9]*\)\$/\1/p" "$1" | tail -n 1)"
        if [[ "$n" != "0" ]]; then
            echo "conformance: ${n:-unknown number of} test(s) in $1 reported as $kind" >&2
            status=1
        fi
    done
}

echo "== conformance: node --test"
status=0
(
    cd "$here"
    STOREKEY_URL="$url" STOREFRONT_TOKEN="$storefront_token" MULTIPASS_SECRET="$multipass_secret" \
        OUTBOX_DIR="$work/clients/outbox" \
        node --test \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$work/clients.tap" \
        storefront.test.mjs venia.test.mjs alokai.test.mjs
) || status=$?
check_tap "$work/clients.tap"
if [[ $status -ne 0 ]]; then
    echo "conformance failed; storekey's stderr:" >&2
    cat "$work/clients/stderr" >&2
    exit "$status"
fi

# Hydrogen: its own storefront (Shopify's link forms), its own node_modules (React 18), and the
# starter template's account routes, unpacked from the pinned @shopify/cli-hydrogen tarball.
echo "== conformance: Hydrogen (starter documents from @shopify/cli-hydrogen 6.1.0)"
hydrogen_cli="@shopify/cli-hydrogen@6.1.0"
hydrogen_integrity="sha512-3agYmQpPQQzOFlJkJHd0YfCm8+UpSwlC8bc5soHPC2oPmRX1y3Gda4JT5KcOaNExXPRpq1rC3MSqXtIcON+ZBg=="
packed="$(cd "$work" && npm pack --silent "$hydrogen_cli")"
actual="$(node -e 'const c=require("crypto"),f=require("fs");console.log("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$work/$packed")"
if [[ "$actual" != "$hydrogen_integrity" ]]; then
    echo "conformance: $hydrogen_cli integrity $actual, expected $hydrogen_integrity" >&2
    exit 1
fi
mkdir -p "$work/hydrogen-cli"
tar xzf "$work/$packed" -C "$work/hydrogen-cli" package/dist/generator-templates/starter/app/routes
start_storekey hydrogen STOREKEY_RESET_URL_TEMPLATE="http://localhost:3000/account/reset/{id}/{token}"
storefront_token="$(create_storefront_token)"
(cd "$here/hydrogen" && npm ci --no-audit --no-fund --loglevel=error)
(
    cd "$here/hydrogen"
    STOREKEY_URL="$url" STOREFRONT_TOKEN="$storefront_token" ADMIN_KEY="$admin_key" \
        OUTBOX_DIR="$work/hydrogen/outbox" \
        HYDROGEN_ROUTES="$work/hydrogen-cli/package/dist/generator-templates/starter/app/routes" \
        node --test \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$work/hydrogen.tap" \
        hydrogen.test.mjs
) || status=$?
check_tap "$work/hydrogen.tap"
if [[ $status -ne 0 ]]; then
    echo "Hydrogen conformance failed; storekey's stderr:" >&2
    cat "$work/hydrogen/stderr" >&2
fi
exit "$status"
