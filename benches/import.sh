#!/usr/bin/env bash
# Import benchmark (issue 14): N synthetic Magento customers (mixed hash schemes: MD5, SHA-256,
# argon2 v3, a chain) through `storekey import` into a fresh redb file, then rows/s and peak RSS.
#   bash benches/import.sh [ROWS]      (default 1000000; builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$rows" "$dir/customers.csv" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
hashes = [
    "67a1e09bb1f83f5007dc119c14d663aa:salt:0",
    "13601bda4ea78e55a07b98866d2be6be0744e3866f13c00c811cab608a28f322:salt:1",
    "ab5ebf8d273b085b6a60336198e0a5a2090fdc3e0606a678315c7274ab06e046:5PiKJRn28bBKoFMopMaaKuV47aJ6GzVg:3_32_2_67108864",
    "13601bda4ea78e55a07b98866d2be6be0744e3866f13c00c811cab608a28f322:salt:0:1",
]
with open(path, "w") as f:
    f.write("email,_website,_store,confirmation,created_at,created_in,disable_auto_group_change,dob,firstname,gender,group_id,lastname,middlename,password_hash,prefix,rp_token,rp_token_created_at,store_id,suffix,taxvat,website_id,password\n")
    for i in range(rows):
        f.write(f"customer{i}@example.com,base,default,,2024-09-01 12:49:00,Default Store View,0,1980-01-01,First{i},Female,1,Last{i},,{hashes[i % 4]},,,,1,,,1,\n")
PY
echo "rows: $rows, file: $(du -h "$dir/customers.csv" | cut -f1)"
export STOREKEY_STORAGE_PATH="$dir/bench.redb" STOREKEY_MAIL_OUTBOX_DIR="$dir/outbox"
/usr/bin/time -f "elapsed %e s, peak RSS %M KiB" target/release/storekey import "$dir/customers.csv" \
    --batch 5000 --report "$dir/report.json"
python3 - "$dir/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print({k: r[k] for k in ("rows_read", "created", "skipped", "invalid", "hashes") if k in r})
PY
