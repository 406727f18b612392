"""Run the service benchmarks one after the other and print their figures (add `--quick` for small sizes).

Usage (from the repository root): .venv/bin/python -m bench.run_all [--quick] [--only throughput,memory,...]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time

from bench._harness import REPO

FULL: dict[str, list[str]] = {
    "throughput": ["--size-mib", "256"],
    "memory": ["--small-mib", "100", "--large-mib", "1024"],
    "signing": ["--runs", "15"],
    "metadata_rps": ["--requests", "3000", "--seconds", "15"],
}
QUICK: dict[str, list[str]] = {
    "throughput": ["--size-mib", "32"],
    "memory": ["--small-mib", "16", "--large-mib", "160"],
    "signing": ["--runs", "5", "--total", "16"],
    "metadata_rps": ["--requests", "600", "--seconds", "5"],
}


def run_one(name: str, options: list[str], timeout: float) -> int:
    """Run `bench.<name>` with `options`, output straight through; its exit status.

    Over `timeout` it gets SIGINT, so that its finally blocks stop the services it started, then SIGKILL.
    """
    print(f"## {name} {' '.join(options)}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", f"bench.{name}", *options], cwd=REPO)
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        status = 124
    print(f"## {name}: exit {status} after {time.monotonic() - started:.0f} s", flush=True)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few runs (a smoke test)")
    parser.add_argument("--only", default=",".join(FULL), help="comma-separated subset of " + ", ".join(FULL))
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds allowed per script")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in plan]
    if unknown:
        parser.error(f"unknown benchmarks: {unknown}")
    failures = sum(run_one(name, plan[name], args.timeout) != 0 for name in names)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
