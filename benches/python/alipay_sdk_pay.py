#!/usr/bin/env python3
"""N `alipay.trade.pay` calls (scene bar_code, an instantly paying sandbox code) with python-alipay-sdk against a
running stand-alone sandbox (`tilldesk sandbox`), timed one by one. The SDK signs (RSA2, pycryptodomex), sends one
HTTP GET, verifies the answer's signature and stores nothing.

    pip install python-alipay-sdk
    python3 benches/python/alipay_sdk_pay.py --sandbox http://127.0.0.1:PORT --data SANDBOX_DIR --count 300

Prints one line: `python-alipay-sdk: n=… p50=… ms p99=… ms max=… ms`, and with --json the samples (ms) as JSON.
"""

import argparse
import json
import os
import sys
import time
import uuid

from alipay import AliPay, AliPayConfig


def percentile(sorted_samples, p):
    return sorted_samples[round((len(sorted_samples) - 1) * p)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox", required=True, help="the sandbox's base URL (its first output line)")
    ap.add_argument("--data", required=True, help="the sandbox's data folder (holds sandbox.json)")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--acquirer", default="ALIPAY")
    ap.add_argument("--auth-code", default="2800000000000000", help="an instantly paying sandbox code")
    ap.add_argument("--json", action="store_true", help="print the samples as JSON after the summary")
    args = ap.parse_args()

    with open(os.path.join(args.data, "sandbox.json"), encoding="utf-8") as f:
        accounts = json.load(f)
    acquirer = next(a for a in accounts["acquirers"] if a["acquirer_id"] == args.acquirer)
    account = acquirer["account"]["alipay"]
    client = AliPay(
        appid=account["app_id"],
        app_notify_url=None,
        app_private_key_string=account["app_private_key_pkcs1_pem"],
        alipay_public_key_string=account["alipay_public_key_pem"],
        sign_type="RSA2",
        debug=False,
        config=AliPayConfig(timeout=15),
    )
    # The same per-acquirer gateway the till's route uses.
    client._gateway = args.sandbox.rstrip("/") + "/acquirers/" + args.acquirer + "/gateway.do"

    def pay():
        out_trade_no = "PY" + uuid.uuid4().hex[:24].upper()
        started = time.perf_counter()
        result = client.api_alipay_trade_pay(
            out_trade_no, "bar_code", args.auth_code, "bench", total_amount="12.34"
        )
        elapsed = time.perf_counter() - started
        if result.get("code") != "10000":
            sys.exit(f"not paid: {result}")
        return elapsed * 1000.0

    for _ in range(args.warmup):
        pay()
    samples = [pay() for _ in range(args.count)]
    s = sorted(samples)
    print(
        f"python-alipay-sdk: n={len(s)} p50={percentile(s, 0.5):.2f} ms p99={percentile(s, 0.99):.2f} ms "
        f"max={s[-1]:.2f} ms",
        flush=True,
    )
    if args.json:
        print(json.dumps(samples))


if __name__ == "__main__":
    main()
