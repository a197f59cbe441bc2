"""Benchmark of the live Azure source against the loopback server (not a test).

20 subscriptions x 500 resources, 50 ms added to every answer. Reports wall time,
requests made and requests per resource, against the ideal: each request's latency
divided by the concurrency for the parallel ARM reads, plus the Resource Graph pages
(which follow one another). The server runs in its own process, so that its work does
not compete with the scanner's for one interpreter.

    .venv/bin/python -m tests.live.bench_live_azure [--subscriptions 20] [--per-subscription 500]
        [--latency 0.05] [--concurrency 8 32]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from scanner.scan import ScanOptions, load_all_policies
from scanner.sources.live_azure import AzureLiveOptions, read_azure
from tests.live.arm_server import TOKEN, ArmServer, ArmState, Faults, make_ca_and_cert
from tests.live.azure_world import Estate, synthetic_estate


def serve(estate: Estate, latency: float, cert: Path, key: Path, port: Any, counts: Any, stop: Any) -> None:
    """Child process: serve until `stop` is set, then report (POSTs, GETs) in `counts`."""
    import threading

    state = ArmState(estate, Faults(latency=latency), page_size=1000)
    server = ArmServer(state, cert, key)
    port.value = server.server_address[1]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    stop.wait()
    posts = sum(1 for s in state.seen if s.method == "POST")
    counts[0], counts[1] = posts, len(state.seen) - posts
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--per-subscription", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    args = parser.parse_args()
    policies, errors = load_all_policies(ScanOptions())
    estate = synthetic_estate(args.subscriptions, args.per_subscription)
    total = args.subscriptions * args.per_subscription
    print(f"{len(policies)} policies ({len(errors)} load errors); {args.subscriptions} subscriptions x "
          f"{args.per_subscription} resources = {total}; {args.latency * 1000:.0f} ms per answer")
    print("| concurrency | wall s | requests | graph pages | requests/resource | ideal s | wall/ideal |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        ca, cert, key = make_ca_and_cert(Path(tmp))
        context = multiprocessing.get_context("fork")
        for concurrency in args.concurrency:
            port, counts, stop = context.Value("i", 0), context.Array("i", 2), context.Event()
            child = context.Process(target=serve, args=(estate, args.latency, cert, key, port, counts, stop))
            child.start()
            while not port.value:
                time.sleep(0.01)
            os.environ["TIERSCAN_BENCH_TOKEN"] = TOKEN
            options = AzureLiveOptions(subscriptions=sorted(estate.resources), token_env="TIERSCAN_BENCH_TOKEN",
                                       arm_endpoint=f"https://127.0.0.1:{port.value}", ca_bundle=str(ca),
                                       max_concurrency=concurrency)
            started = time.monotonic()
            read = read_azure(options, policies)
            wall = time.monotonic() - started
            stop.set()
            child.join()
            posts, gets = counts[0], counts[1]
            requests = posts + gets
            ideal = posts * args.latency + gets * args.latency / concurrency
            assert not read.errors, read.errors[:3]
            print(f"| {concurrency} | {wall:.1f} | {requests} | {posts} | {requests / total:.2f} "
                  f"| {ideal:.1f} | {wall / ideal:.2f} |", flush=True)


if __name__ == "__main__":
    main()
