#!/usr/bin/env bash
# Downloads a day's WeChat Pay bill (对账单) from a running TillDesk sandbox, for trying reconciliation before
# `tilldesk bills fetch` is wired to the channel clients. Needs curl, jq and md5sum.
#   scripts/sandbox-wechat-bill.sh http://127.0.0.1:8700 2026-11-24 wechat_20261124.txt
# Like the real gateway, the sandbox serves only days before its own today (China time); for today's trades, move
# its clock a day ahead first:  curl -X POST URL/admin/config -H 'Content-Type: application/json' -d '{"clock_offset_secs":86400}'
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: $0 SANDBOX_URL YYYY-MM-DD OUT_FILE" >&2; exit 2; }
url=${1%/}
day=${2//-/}
out=$3
IFS=$'\t' read -r appid mch_id api_key < <(curl -fsS "$url/admin/accounts" | jq -r '.merchants[0].wechatpay | [.appid, .mch_id, .api_key] | @tsv')
nonce=$(date +%s%N)
# WeChat Pay API v2 MD5 signature: the sorted non-empty fields, then &key=API_KEY, upper-case hex.
fields="appid=$appid&bill_date=$day&bill_type=ALL&mch_id=$mch_id&nonce_str=$nonce"
sign=$(printf '%s&key=%s' "$fields" "$api_key" | md5sum | cut -c1-32 | tr 'a-f' 'A-F')
body="<xml><appid>$appid</appid><bill_date>$day</bill_date><bill_type>ALL</bill_type><mch_id>$mch_id</mch_id><nonce_str>$nonce</nonce_str><sign>$sign</sign></xml>"
curl -fsS -X POST -H 'Content-Type: text/xml' --data-binary "$body" "$url/pay/downloadbill" -o "$out"
if grep -q '<return_code>' "$out"; then
    echo "the sandbox refused: $(cat "$out")" >&2
    exit 1
fi
echo "wrote $out ($(wc -l <"$out") lines)"
