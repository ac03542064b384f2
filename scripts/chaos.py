#!/usr/bin/env python3
"""Chaos run for the money path (issue 17): sales and refunds through the real `tilldesk` binary against a
stand-alone sandbox, with random `kill -9` of pay, refund, recover and sync, a second process started at random,
and random faults. Then it settles everything (recover + sync) and checks, against the sandbox's ledger:
0 lost, 0 double-charged, 0 stuck, 0 sales reversed while paid, every refund done exactly once, local == ledger.

    cargo build --release
    python3 scripts/chaos.py --bin target/release/tilldesk --sales 200 --refunds 50 --seed 17

Prints one JSON summary line at the end; exits 1 when a check fails.
"""

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

PIN = "246810"


def http(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


class Rig:
    def __init__(self, binary, root):
        self.bin = binary
        self.root = root
        self.till = os.path.join(root, "till")
        self.sandbox_dir = os.path.join(root, "sandbox")
        self.sandbox = subprocess.Popen(
            [binary, "sandbox", "--listen", "127.0.0.1:0", "--data", self.sandbox_dir],
            stdout=subprocess.PIPE, text=True)
        self.url = self.sandbox.stdout.readline().strip().replace("listening on ", "")
        self.env = dict(os.environ, TILLDESK_PIN=PIN, TILLDESK_NEW_PIN=PIN, TILLDESK_LOCK_WAIT_SECS="120")
        self.env.pop("TILLDESK_CRASH_AT", None)
        self.run(["operators", "add", "Boss", "--role", "owner"], sandbox=False)
        db = sqlite3.connect(os.path.join(self.till, "tilldesk.sqlite3"))
        for k, v in (("checkout.poll_interval_secs", "1"), ("checkout.poll_window_secs", "4")):
            db.execute("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, '2026-01-01') "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (k, v))
        db.commit()
        db.close()

    def args(self, args, sandbox=True):
        a = [self.bin, "--data-dir", self.till] + args
        if sandbox:
            a += ["--sandbox-url", self.url, "--sandbox-data", self.sandbox_dir]
        return a

    def run(self, args, sandbox=True, timeout=300):
        return subprocess.run(self.args(args, sandbox), env=self.env, capture_output=True, text=True, timeout=timeout)

    def spawn(self, args):
        return subprocess.Popen(self.args(args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def fault(self, rule):
        http("POST", self.url + "/admin/faults", rule)

    def clear_faults(self):
        http("DELETE", self.url + "/admin/faults")

    def ledger(self):
        return http("GET", self.url + "/admin/ledger")

    def db(self):
        return sqlite3.connect(os.path.join(self.till, "tilldesk.sqlite3"), timeout=60)


def code(rng):
    wallet = rng.choice(["alipay", "wechat"])
    behaviour = rng.choices(["0000", "01%02d" % rng.randint(1, 3), "0200", "0300", "0500"], [6, 3, 1, 1, 1])[0]
    middle = "".join(rng.choice("0123456789") for _ in range(6))
    if wallet == "alipay":
        return "28" + middle + "0000" + behaviour
    return "13" + middle + "000000" + behaviour


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/tilldesk")
    ap.add_argument("--sales", type=int, default=200)
    ap.add_argument("--refunds", type=int, default=50)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--kill-share", type=float, default=0.5)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    root = tempfile.mkdtemp(prefix="tilldesk-chaos-")
    rig = Rig(os.path.abspath(a.bin), root)
    stats = {"sales": 0, "refunds": 0, "kills": 0, "second_processes": 0, "faults": 0}
    started = time.time()
    seconds = []

    def maybe_second():
        if rng.random() < 0.2:
            stats["second_processes"] += 1
            return rig.spawn(rng.choice([["recover"], ["sync", "--once"], ["pay", "--amount", "0.01",
                                                                          "--auth-code", "2800000000000000"]]))
        return None

    def run_with_chaos(args):
        if rng.random() < 0.15:
            stats["faults"] += 1
            target = rng.choice(["alipay.trade.query", "alipay.trade.refund", "alipay.trade.pay", "/pay/orderquery",
                                 "/secapi/pay/refund", "alipay.trade.cancel", "/secapi/pay/reverse"])
            kind = rng.choice(["system_error", "drop_after_commit", "http_500", "latency"])
            rule = {"target": target, "kind": kind, "count": 1}
            if kind == "latency":
                rule["latency_ms"] = 1500
            rig.fault(rule)
        p = rig.spawn(args)
        other = maybe_second()
        if rng.random() < a.kill_share:
            time.sleep(rng.uniform(0.0, 3.0))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                stats["kills"] += 1
        p.communicate(timeout=600)
        if other is not None:
            if rng.random() < 0.3 and other.poll() is None:
                other.send_signal(signal.SIGKILL)
                stats["kills"] += 1
            other.communicate(timeout=600)
        # Now and then the background work dies too.
        if rng.random() < 0.1:
            s = rig.spawn(rng.choice([["recover"], ["sync", "--once"]]))
            time.sleep(rng.uniform(0.0, 1.0))
            if s.poll() is None:
                s.send_signal(signal.SIGKILL)
                stats["kills"] += 1
            s.communicate(timeout=600)

    for i in range(a.sales):
        t0 = time.time()
        amount = "%d.%02d" % (rng.randint(1, 300), rng.randint(0, 99))
        run_with_chaos(["pay", "--amount", amount, "--auth-code", code(rng)])
        seconds.append(time.time() - t0)
        stats["sales"] += 1
    for i in range(a.refunds):
        db = rig.db()
        rows = db.execute("SELECT out_trade_no, total_amount - refunded_amount FROM orders "
                          "WHERE status IN ('PAID', 'PARTIALLY_REFUNDED') AND total_amount - refunded_amount > 1"
                          ).fetchall()
        db.close()
        if not rows:
            break
        out, left = rng.choice(rows)
        fen = rng.randint(1, left // 2 if left > 2 else 1)
        run_with_chaos(["refund", out, "--amount", "%d.%02d" % divmod(fen, 100), "--reason", "chaos",
                        "--operator", "Boss"])
        stats["refunds"] += 1

    # Settle: no faults, then recover and sync until nothing is open.
    rig.clear_faults()
    for _ in range(6):
        rig.run(["recover"])
        rig.run(["sync", "--once"])
        db = rig.db()
        open_orders = db.execute("SELECT COUNT(*) FROM orders WHERE status IN ('PAYING','UNKNOWN','CANCELLING') "
                                 "OR (status = 'NEEDS_ATTENTION' AND COALESCE(attention,'') <> 'mismatch')"
                                 ).fetchone()[0]
        open_refunds = db.execute("SELECT COUNT(*) FROM refunds WHERE status IN ('SUBMITTED','PROCESSING')"
                                  ).fetchone()[0]
        db.close()
        if open_orders == 0 and open_refunds == 0:
            break
        # Outbox entries back off; make them due.
        db = rig.db()
        db.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00.000000Z' WHERE state = 'pending'")
        db.commit()
        db.close()
        # PROCESSING WeChat refunds and password waits settle on the sandbox's clock.
        cfg = http("GET", rig.url + "/admin/config")
        cfg["clock_offset_secs"] = cfg.get("clock_offset_secs", 0) + 120
        http("POST", rig.url + "/admin/config", cfg)

    ledger = rig.ledger()
    trades = {}
    for t in ledger["trades"]:
        trades.setdefault(t["out_trade_no"], []).append(t)
    db = rig.db()
    orders = db.execute("SELECT id, out_trade_no, status, total_amount, refunded_amount, COALESCE(attention,'') "
                        "FROM orders").fetchall()
    refunds = db.execute("SELECT out_request_no, status, refund_amount FROM refunds").fetchall()
    paid_events = {r[0] for r in db.execute("SELECT DISTINCT order_id FROM order_events WHERE kind = 'paid'")}
    db.close()
    problems = []
    lost = double = stuck = reversed_paid = mismatch = 0
    for oid, out, status, total, refunded, attention in orders:
        ts = trades.get(out, [])
        if len(ts) > 1:
            double += 1
            problems.append(f"{out}: {len(ts)} trades at the acquirer")
        t = ts[0] if ts else None
        if status in ("PAYING", "UNKNOWN", "CANCELLING") or (status == "NEEDS_ATTENTION" and attention != "mismatch"):
            stuck += 1
            problems.append(f"{out}: stuck {status}")
            continue
        if attention == "mismatch":
            mismatch += 1
            problems.append(f"{out}: mismatch")
            continue
        paid_here = status in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED")
        paid_there = t is not None and t["status"] == "PAID"
        if paid_there and not paid_here:
            lost += 1
            problems.append(f"{out}: paid at the acquirer, {status} here")
        if paid_here and not paid_there:
            problems.append(f"{out}: {status} here, {t['status'] if t else 'absent'} at the acquirer")
        if paid_here and t is not None and t["refunded_amount"] != refunded:
            problems.append(f"{out}: refunded {refunded} here, {t['refunded_amount']} at the acquirer")
        if oid in paid_events and t is not None and t["status"] == "REVERSED":
            reversed_paid += 1
            problems.append(f"{out}: a paid sale was reversed")
    acq_refunds = {}
    for r in ledger["refunds"]:
        acq_refunds.setdefault(r["out_request_no"], []).append(r)
    refunds_once = 0
    for out_request_no, status, amount in refunds:
        n = len(acq_refunds.get(out_request_no, []))
        if status == "SUCCESS" and n == 1:
            refunds_once += 1
        elif status in ("SUBMITTED", "PROCESSING"):
            problems.append(f"{out_request_no}: refund stuck {status}")
        elif status == "SUCCESS" and n != 1:
            problems.append(f"{out_request_no}: SUCCESS here, {n} refunds at the acquirer")
        elif status == "FAILED" and n != 0:
            problems.append(f"{out_request_no}: FAILED here, {n} at the acquirer")
    seconds.sort()
    summary = {
        **stats,
        "orders": len(orders), "local_refunds": len(refunds), "refunds_done_once": refunds_once,
        "lost": lost, "double_charged": double, "stuck": stuck, "reversed_while_paid": reversed_paid,
        "mismatches": mismatch, "problems": problems[:20], "problem_count": len(problems),
        "sale_p50_s": round(seconds[len(seconds) // 2], 2) if seconds else None,
        "sale_max_s": round(seconds[-1], 2) if seconds else None,
        "minutes": round((time.time() - started) / 60, 1), "data": root,
    }
    print(json.dumps(summary, ensure_ascii=False))
    rig.sandbox.kill()
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
