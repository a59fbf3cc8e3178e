"""Benchmark: API latency on loopback, p50 / p95 / p99 per endpoint, against ``GET /health``
(the framework's floor) measured in the same run.

Run (from the repo root):

    .venv/bin/python benchmarks/api.py --customers 20000 --requests 300 --concurrency 4

The simulated workspace is generated once into ``benchmarks/out/api_<customers>`` and
reused. The server (uvicorn, one process) runs in a thread of this process on a free
loopback port; the client is a bounded loop of httpx requests from ``concurrency``
threads. The first request of each endpoint (which fills the per-data-version cache) is
timed separately as "cold". Results go to ``benchmarks/out/api.md``.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
ENDPOINTS = ["/health", "/api/customers?limit=100", "/api/customers/{cid}",
             "/api/metrics/churn?period=month", "/api/at-risk?limit=50",
             "/api/customers?q=C00001&limit=20"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--requests", type=int, default=300, help="per endpoint")
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()

    from churnguard.api import create_app
    from churnguard.api.accounts import add_user, create_api_key
    from churnguard.simulate.load import simulate_into

    ws = OUT / f"api_{args.customers}"
    if not (ws / "churnguard.toml").exists():
        print(f"simulating {args.customers:,} customers into {ws} ...")
        simulate_into(ws, customers=args.customers, months=args.months, seed=11)
    db = OUT / f"api_{args.customers}_app.db"
    db.unlink(missing_ok=True)
    app = create_app(ws, database_url=f"sqlite:///{db}")
    with app.state.cg.db.session() as s:
        add_user(s, "bench", "benchmark-password", role="analyst")
        key = create_api_key(s, "bench")[1]

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}"}
    rows = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        cid = client.get("/api/customers?limit=1").json()["data"][0]["customer_id"]
        for ep in ENDPOINTS:
            path = ep.format(cid=cid)
            t0 = time.perf_counter()
            client.get(path).raise_for_status()
            cold = time.perf_counter() - t0

            def one(_i: int, path: str = path) -> float:
                t = time.perf_counter()
                r = client.get(path)
                r.raise_for_status()
                return time.perf_counter() - t

            with ThreadPoolExecutor(args.concurrency) as pool:
                started = time.perf_counter()
                times = list(pool.map(one, range(args.requests)))
                wall = time.perf_counter() - started
            rows.append((ep, cold, statistics.median(times), percentile(times, 95),
                         percentile(times, 99), args.requests / wall))
    server.should_exit = True
    thread.join(timeout=10)
    app.state.cg.close()

    floor = rows[0][2]
    lines = [f"# API latency ({args.customers:,} customers, {args.requests} requests per "
             f"endpoint, {args.concurrency} client threads, loopback)", "",
             "| endpoint | cold ms | p50 ms | p95 ms | p99 ms | req/s | p50 / health p50 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for ep, cold, p50, p95, p99, rps in rows:
        lines.append(f"| `{ep}` | {cold * 1e3:.0f} | {p50 * 1e3:.1f} | {p95 * 1e3:.1f} | "
                     f"{p99 * 1e3:.1f} | {rps:.0f} | {p50 / floor:.1f}x |")
    text = "\n".join(lines) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "api.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
