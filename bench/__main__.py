"""`make bench`: every benchmark, one after another, on this machine."""

from __future__ import annotations

import subprocess
import sys

BENCHES = ("bench.render_bench", "bench.send_bench", "bench.load_bench")

if __name__ == "__main__":
    failed = 0
    for module in BENCHES:
        print(f"\n=== {module} ===", flush=True)
        failed |= subprocess.call([sys.executable, "-m", module]) != 0
    sys.exit(1 if failed else 0)
