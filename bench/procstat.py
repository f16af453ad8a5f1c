"""What the benchmarks read about a process, and how they rank samples;
shared by bench/whole.py and bench/team.py."""

import math
import os

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User and system CPU of `pid` so far (its threads, living or gone); 0 when it is gone."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_mb(pid):
    """Resident size of `pid` now, in MB; 0 when it is gone."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentile(xs, p):
    """Nearest rank: with 40 samples p99 is the slowest, with 120 the second slowest."""
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]
