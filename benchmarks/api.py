"""Benchmark: the API under load on loopback — customer 360, single-customer score and the
at-risk list — at a fixed request rate (p50 / p95 / p99, errors) and at full speed
(throughput), against two baselines measured in the same run:

* ``GET /health``: the framework's floor (routing, auth-free, no warehouse);
* ``duckdb lookup``: the same customer's serving row read by a plain DuckDB query in this
  process (no HTTP, no auth, no JSON): what the data access alone costs.

Run (from the repo root), on a scored workspace (``churnguard train`` + ``score``):

    .venv/bin/python benchmarks/api.py --workspace /work/bench/api_1m --rate 100 --seconds 20

Without ``--workspace`` a workspace of ``--customers`` is simulated into
``benchmarks/out/api_<customers>`` (and trained and scored) first. The serving tables are
(re)built first when stale (``churnguard app-refresh``; its time is reported). The server
is ``churnguard serve`` in its own process (``--workers``, default one), so the load generator
does not share its interpreter. The paced phase sends ``--rate`` requests per second
from a thread pool on a fixed schedule; latency is measured from the scheduled send
time, so a stalled server cannot hide queueing (no coordinated omission). Customers are
drawn at random from the workspace for every request. Results go to
``benchmarks/out/api.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
PASSWORD = "benchmark-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
            f"load average {load:.1f} at start")


def prepare(args: argparse.Namespace) -> Path:
    """The workspace: given, or simulated + trained + scored once."""
    cg = [sys.executable, "-m", "churnguard.cli"]
    if args.workspace:
        ws = Path(args.workspace)
    else:
        ws = OUT / f"api_{args.customers}"
        if not (ws / "churnguard.toml").exists():
            from churnguard.simulate.load import simulate_into

            print(f"simulating {args.customers:,} customers into {ws} ...")
            simulate_into(ws, customers=args.customers, months=args.months, seed=11)
        if not (ws / "models" / "ACTIVE").exists():
            subprocess.run([*cg, "train", str(ws), "--origins", "0"], check=True)
            subprocess.run([*cg, "score", str(ws), "--limit", "0"], check=True)
    t0 = time.perf_counter()
    subprocess.run([*cg, "app-refresh", str(ws), "--no-aggregates"], check=True)
    print(f"app-refresh: {time.perf_counter() - t0:.1f} s")
    return ws


def serve(ws: Path, db: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CHURNGUARD_PASSWORD": PASSWORD}
    cg = [sys.executable, "-m", "churnguard.cli"]
    subprocess.run([*cg, "users", "add", str(ws), "bench", "--role", "analyst"], check=True,
                   env={**env, "CHURNGUARD_DATABASE_URL": f"sqlite:///{db}"},
                   capture_output=True)
    proc = subprocess.Popen(
        [*cg, "serve", str(ws), "--port", str(port), "--no-refresh",
         "--database-url", f"sqlite:///{db}", "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start in 120 s")


def api_key(ws: Path, db: Path) -> str:
    env = {**os.environ, "CHURNGUARD_DATABASE_URL": f"sqlite:///{db}"}
    out = subprocess.run([sys.executable, "-m", "churnguard.cli", "apikey", "create", str(ws),
                          "--user", "bench"], check=True, capture_output=True, env=env)
    return out.stdout.decode().strip().splitlines()[-1]


def paced(base: str, headers: dict[str, str], paths: list[str], rate: float, seconds: float,
          threads: int) -> dict[str, float]:
    """``rate`` requests per second for ``seconds``, latency from the scheduled time.

    Request ``i`` is due at ``start + i / rate`` and sent by thread ``i % threads``; every
    thread opens its connection before the clock starts.
    """
    n = int(rate * seconds)
    times = [0.0] * n
    errors: list[str] = []
    clients = [httpx.Client(base_url=base, headers=headers, timeout=30) for _ in range(threads)]
    for c in clients:
        c.get("/health")
    start = time.perf_counter() + 0.5

    def worker(k: int) -> None:
        client = clients[k]
        for i in range(k, n, threads):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                r = client.get(paths[i % len(paths)])
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
            times[i] = time.perf_counter() - due

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - start
    for c in clients:
        c.close()
    if errors:
        print(f"  {len(errors)} errors, first: {errors[0]}")
    return {"n": n, "rps": n / wall, "p50": statistics.median(times),
            "p95": percentile(times, 95), "p99": percentile(times, 99), "max": max(times),
            "errors": len(errors)}


def flat_out(base: str, headers: dict[str, str], paths: list[str], requests: int,
             concurrency: int) -> float:
    """Throughput (requests/s) with ``concurrency`` clients sending back to back."""
    local = threading.local()

    def one(i: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base, headers=headers, timeout=60)
        client.get(paths[i % len(paths)]).raise_for_status()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    return requests / (time.perf_counter() - t0)


def duckdb_baseline(ws: Path, ids: list[str], n: int) -> dict[str, float]:
    """The serving row of random customers by a plain read-only DuckDB query."""
    import duckdb

    con = duckdb.connect(str(ws / "warehouse.duckdb"), read_only=True)
    try:
        times = []
        for i in range(n):
            t = time.perf_counter()
            con.execute("SELECT * FROM app_customers WHERE customer_id = ?",
                        [ids[i % len(ids)]]).fetchall()
            times.append(time.perf_counter() - t)
    finally:
        con.close()
    return {"n": n, "rps": n / sum(times), "p50": statistics.median(times),
            "p95": percentile(times, 95), "p99": percentile(times, 99), "max": max(times),
            "errors": 0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", help="a scored workspace (else one is simulated)")
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--rate", type=float, default=100.0, help="paced requests per second")
    ap.add_argument("--seconds", type=float, default=20.0, help="paced phase length")
    ap.add_argument("--threads", type=int, default=16, help="client threads (paced)")
    ap.add_argument("--flat-requests", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=4, help="clients (full speed)")
    ap.add_argument("--workers", type=int, default=1, help="server processes (serve --workers)")
    args = ap.parse_args()

    ws = prepare(args)
    import duckdb

    con = duckdb.connect(str(ws / "warehouse.duckdb"), read_only=True)
    n_customers = con.execute("SELECT count(*) FROM app_customers").fetchone()[0]
    ids = [r[0] for r in con.execute(
        "SELECT customer_id FROM app_customers USING SAMPLE 2000 ROWS (reservoir, 7)"
    ).fetchall()]
    scored = con.execute("SELECT count(*) FROM app_customers WHERE churn_probability IS NOT "
                         "NULL").fetchone()[0]
    con.close()
    random.Random(3).shuffle(ids)

    base_line = duckdb_baseline(ws, ids, 2000)
    db = OUT / "api_bench_app.db"
    OUT.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    port = free_port()
    proc = serve(ws, db, port, args.workers)
    try:
        headers = {"Authorization": f"Bearer {api_key(ws, db)}"}
        base = f"http://127.0.0.1:{port}"
        offsets = [0, 50, 100, 150, 200, 1000]
        phases = {
            "GET /health (floor)": ["/health"],
            "GET /api/customers/{id} (360)": [f"/api/customers/{c}" for c in ids],
            "GET /api/scores/{id}": [f"/api/scores/{c}?lang=zh" for c in ids],
            "GET /api/at-risk?limit=50&offset=k": [f"/api/at-risk?limit=50&offset={o}"
                                                  for o in offsets],
            "GET /api/at-risk?risk_band=high&limit=50": ["/api/at-risk?risk_band=high&limit=50"],
        }
        with httpx.Client(base_url=base, headers=headers, timeout=600) as c:  # warm up
            for paths in phases.values():
                t0 = time.perf_counter()
                c.get(paths[0]).raise_for_status()
                print(f"first {paths[0]}: {(time.perf_counter() - t0) * 1e3:.0f} ms")
        rows = []
        for name, paths in phases.items():
            res = paced(base, headers, paths, args.rate, args.seconds, args.threads)
            res["flat"] = flat_out(base, headers, paths, args.flat_requests, args.concurrency)
            rows.append((name, res))
            print(name, {k: round(v, 4) for k, v in res.items()})
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    floor = rows[0][1]["p50"]
    lines = [
        f"### API under load: {n_customers:,} customers ({scored:,} scored)", "",
        f"Machine: {machine()}.", "",
        f"Command: `.venv/bin/python benchmarks/api.py --workspace {ws} --rate {args.rate:g} "
        f"--seconds {args.seconds:g} --threads {args.threads} --flat-requests "
        f"{args.flat_requests} --concurrency {args.concurrency} --workers {args.workers}`", "",
        f"Paced phase: {args.rate:g} requests/s for {args.seconds:g} s per endpoint (random "
        f"customers), latency from the scheduled send time; full speed: "
        f"{args.flat_requests} requests from {args.concurrency} clients.", "",
        "| endpoint | requests | errors | p50 ms | p95 ms | p99 ms | max ms | achieved req/s "
        "| full-speed req/s | p50 / health p50 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows:
        lines.append(f"| `{name}` | {r['n']:.0f} | {r['errors']:.0f} | {r['p50'] * 1e3:.1f} | "
                     f"{r['p95'] * 1e3:.1f} | {r['p99'] * 1e3:.1f} | {r['max'] * 1e3:.0f} | "
                     f"{r['rps']:.0f} | {r['flat']:.0f} | {r['p50'] / floor:.1f}x |")
    b = base_line
    lines.append(f"| baseline: DuckDB lookup of the same row, in process | {b['n']:.0f} | 0 | "
                 f"{b['p50'] * 1e3:.2f} | {b['p95'] * 1e3:.2f} | {b['p99'] * 1e3:.2f} | "
                 f"{b['max'] * 1e3:.0f} | – | {b['rps']:.0f} | {b['p50'] / floor:.2f}x |")
    text = "\n".join(lines) + "\n"
    (OUT / "api.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
