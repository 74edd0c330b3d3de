#!/usr/bin/env bash
# Real-browser tests: builds storekey, creates an admin user and customers offline, serves it on
# an ephemeral port from a temp dir, creates a storefront token and two OpenID Connect clients
# (first-party and third-party) through the admin REST API, then runs explorer.test.mjs,
# console.test.mjs and account.test.mjs (the hosted /account/ pages) in Debian's chromium through
# puppeteer-core against it; passkeys.test.mjs starts its own storekey on http://localhost (the
# WebAuthn relying party; a virtual authenticator) and drives openid-client. Screenshots go to target/browser/. Exits non-zero on any failure,
# and when any test is skipped or todo or fewer ran than expected.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
    echo "browser tests: $chromium not found (apt-get install -y chromium)" >&2
    exit 1
fi
"$chromium" --version 2>/dev/null || true

echo "== browser: cargo build"
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

admin_key="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"

customer_email="ann.lee@example.com"
customer_password="Ann-Lee-2026!"
echo "== browser: an admin user and a customer, offline (storekey admin add, customer add)"
offline() {
    (
        cd "$work"
        env \
            STOREKEY_PASSWORD_ARGON2_MEMORY_KIB=256 \
            STOREKEY_PASSWORD_ARGON2_ITERATIONS=1 \
            STOREKEY_STORAGE_PATH="$work/storekey.redb" \
            STOREKEY_MAIL_OUTBOX_DIR="$work/outbox" \
            "$root/target/debug/storekey" "$@"
    )
}
setup_path="$(offline admin add --name support | sed -n 's|^http://[^/]*\(/admin/setup?code=[0-9a-f]*\)$|\1|p')"
if [[ -z "$setup_path" ]]; then
    echo "storekey admin add printed no setup link" >&2
    exit 1
fi
offline customer add --email "$customer_email" --password "$customer_password" \
    --firstname Ann --lastname Lee --confirmed --allow-remote-assistance >/dev/null
# The hosted pages' customers: one signs in (password, code, sessions), one resets her password.
account_email="cy.park@example.com"
account_password="Cy-Park-2026!"
reset_email="dee.moss@example.com"
offline customer add --email "$account_email" --password "$account_password" \
    --firstname Cy --lastname Park --confirmed >/dev/null
offline customer add --email "$reset_email" --password "Dee-Moss-2026!" \
    --firstname Dee --lastname Moss --confirmed >/dev/null

echo "== browser: start storekey"
# Run from the temp dir so the repository's config.toml is not picked up; keep argon2 cheap;
# no registration limit (the tests register accounts from 127.0.0.1 one after another). The
# OpenID Connect provider is on (its default); its key-encryption key lives in the temp dir.
(
    cd "$work"
    exec env \
        STOREKEY_ADMIN_KEY="$admin_key" \
        STOREKEY_PASSWORD_ARGON2_MEMORY_KIB=256 \
        STOREKEY_PASSWORD_ARGON2_ITERATIONS=1 \
        STOREKEY_STORAGE_PATH="$work/storekey.redb" \
        STOREKEY_MAIL_OUTBOX_DIR="$work/outbox" \
        STOREKEY_OIDC_ENABLED=true \
        STOREKEY_OIDC_KEY_FILE="$work/oidc.kek" \
        STOREKEY_THROTTLE_CREATE_ACCOUNT_PER_IP_PER_HOUR=0 \
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

echo "== browser: create a storefront token"
storefront_token="$(
    STOREKEY_URL="$url" ADMIN_KEY="$admin_key" node --input-type=module -e '
        const res = await fetch(`${process.env.STOREKEY_URL}/rest/V1/storefront-tokens`, {
            method: "POST",
            headers: {
                Authorization: `Bearer ${process.env.ADMIN_KEY}`,
                "Content-Type": "application/json",
            },
            body: JSON.stringify({ title: "browser tests", scopes: ["unauthenticated_read_customers"] }),
        });
        const body = await res.json();
        if (res.status !== 200 || typeof body.access_token !== "string") {
            console.error(`POST /rest/V1/storefront-tokens answered ${res.status}: ${JSON.stringify(body)}`);
            process.exit(1);
        }
        console.log(body.access_token);
    '
)"

# The relying party: a port on 127.0.0.1 nobody listens on now; account.test.mjs serves its
# callback and signed-out pages there (another origin than storekey's, as a real app is).
rp_port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
rp_origin="http://127.0.0.1:$rp_port"
echo "== browser: two OpenID Connect clients (first-party, third-party) at $rp_origin"
oidc_client() {
    STOREKEY_URL="$url" ADMIN_KEY="$admin_key" RP_ORIGIN="$rp_origin" node --input-type=module -e '
        const [name, firstParty] = process.argv.slice(1);
        const rp = process.env.RP_ORIGIN;
        const res = await fetch(`${process.env.STOREKEY_URL}/rest/V1/oidc/clients`, {
            method: "POST",
            headers: {
                Authorization: `Bearer ${process.env.ADMIN_KEY}`,
                "Content-Type": "application/json",
            },
            body: JSON.stringify({
                name,
                redirect_uris: [`${rp}/callback`],
                post_logout_redirect_uris: [`${rp}/signed-out`],
                first_party: firstParty === "true",
            }),
        });
        const body = await res.json();
        if (res.status !== 200 || typeof body.client_id !== "string") {
            console.error(`POST /rest/V1/oidc/clients answered ${res.status}: ${JSON.stringify(body)}`);
            process.exit(1);
        }
        console.log(`${body.client_id} ${body.client_secret}`);
    ' "$@"
}
read -r client_id client_secret < <(oidc_client "Example Shop" true)
read -r third_party_client_id _ < <(oidc_client "Gift Card Wallet" false)
if [[ -z "$client_id" || -z "$client_secret" || -z "$third_party_client_id" ]]; then
    echo "browser: the OpenID Connect clients were not created" >&2
    exit 1
fi

echo "== browser: npm ci"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

echo "== browser: node --test"
shots="$root/target/browser"
rm -rf "$shots"
status=0
(
    cd "$here"
    STOREKEY_URL="$url" STOREFRONT_TOKEN="$storefront_token" SCREENSHOT_DIR="$shots" \
        ADMIN_SETUP_PATH="$setup_path" CUSTOMER_EMAIL="$customer_email" \
        CUSTOMER_PASSWORD="$customer_password" \
        ACCOUNT_EMAIL="$account_email" ACCOUNT_PASSWORD="$account_password" \
        RESET_EMAIL="$reset_email" OUTBOX_DIR="$work/outbox" RP_ORIGIN="$rp_origin" \
        CLIENT_ID="$client_id" CLIENT_SECRET="$client_secret" THIRD_PARTY_CLIENT_ID="$third_party_client_id" \
        CHROMIUM="$chromium" STOREKEY_BIN="$root/target/debug/storekey" \
        node --test --test-concurrency=1 \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$work/tap" \
        explorer.test.mjs console.test.mjs account.test.mjs passkeys.test.mjs
) || status=$?
# A skipped or todo test passes silently, and so does a file with no test: insist they all ran.
for kind in skipped todo; do
    n="$(sed -n "s/^# $kind \([0-9]*\)\$/\1/p" "$work/tap" | tail -n 1)"
    if [[ "$n" != "0" ]]; then
        echo "browser: ${n:-unknown number of} test(s) reported as $kind" >&2
        status=1
    fi
done
passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$work/tap" | tail -n 1)"
if [[ "${passed:-0}" -lt 15 ]]; then
    echo "browser: ${passed:-no} test(s) passed, expected 15" >&2
    status=1
fi
for shot in explorer-commerce.png explorer-commerce-docs.png explorer-storefront.png \
    console-setup.png console-customer.png console-code.png console-log.png \
    account-sign-in.png account-sign-in-phone.png account-sign-in-refused.png account-page.png \
    account-signed-out.png account-code-email.png account-code.png account-register.png \
    account-forgot.png account-reset.png account-consent.png \
    account-passkeys.png account-sign-in-passkey.png account-sign-in-passkey-refused.png \
    console-passkeys.png console-sign-in-passkey.png; do
    if [[ $status -eq 0 && ! -s "$shots/$shot" ]]; then
        echo "browser: screenshot $shot missing" >&2
        status=1
    fi
done

if [[ $status -ne 0 ]]; then
    echo "browser tests failed; storekey's stderr:" >&2
    cat "$work/stderr" >&2
else
    echo "browser: screenshots in $shots"
fi
exit "$status"
