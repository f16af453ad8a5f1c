#!/usr/bin/env python3
"""Whole-program benchmark: the real slate binary in a pseudo-terminal.

Measures issue 8's budgets 1 (idle at a gate: bytes/s and CPU), 2 (first
frame), 3 (a log flood against the same command redirected to a file) and 5
(resident memory during the flood). Each figure is the median of --runs runs,
next to its baseline measured in the same run. See docs/PERFORMANCE.md.

    cargo build --release && python3 bench/whole.py [--runs 3] [--idle 60]

Budgets 4 (keypress latency under flood) and 6 (bytes per log byte while
watching a rollout) are not measured here yet.
"""

import argparse
import fcntl
import glob
import json
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import tempfile
import termios
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")
END_OF_FRAME = b"\x1b[?2026l"  # the end of a synchronized update


class Slate:
    """slate in a pty of its own; the test reads everything it writes."""

    def __init__(self, binary, args, home, cols, rows, env=None):
        self.home = home
        self.started = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            e = dict(os.environ, SLATE_HOME=home, TERM="xterm-256color")
            e.update(env or {})
            os.execve(binary, [binary] + args, e)
        self.pid, self.fd = pid, fd
        self.out = bytearray()
        self.stamps = []  # (time, total bytes so far)

    def pump(self, seconds):
        """Reads what slate writes for `seconds`."""
        until = time.monotonic() + seconds
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if r:
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except OSError:
                    return
                self.out += chunk
                self.stamps.append((time.monotonic(), len(self.out)))

    def journal(self):
        files = glob.glob(os.path.join(self.home, "runs", "*", "journal.ndjson"))
        return open(files[0]).read() if files else ""

    def wait_journal(self, needle, limit):
        until = time.monotonic() + limit
        while needle not in self.journal():
            if time.monotonic() > until:
                raise SystemExit(f"gave up waiting for {needle} in the journal")
            self.pump(0.05)

    def host_pid(self):
        for line in self.journal().splitlines():
            rec = json.loads(line)
            if rec["event"]["type"] == "run_started":
                return rec["event"]["pid"]
        return None

    def quit(self):
        try:
            os.write(self.fd, b"q")
            self.pump(0.3)
            os.write(self.fd, b"a")  # abort if it asks (an unfinished run)
            self.pump(0.5)
        except OSError:
            pass
        for pid in (self.pid, self.host_pid()):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)


def cpu_seconds(pid):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError):
        return 0.0


def rss_mb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def idle(binary, seconds, cols, rows):
    home = tempfile.mkdtemp(prefix="slate-bench-idle-")
    s = Slate(binary, ["run", os.path.join(ROOT, "assets/bench/gate.toml")], home, cols, rows)
    try:
        s.wait_journal('"gate_waiting"', 30)
        s.pump(2)  # settle: the gate's toast and first counters
        host = s.host_pid()
        before = (len(s.out), cpu_seconds(s.pid), cpu_seconds(host), time.monotonic())
        s.pump(seconds)
        after = (len(s.out), cpu_seconds(s.pid), cpu_seconds(host), time.monotonic())
        span = after[3] - before[3]
        return {
            "bytes_per_s": (after[0] - before[0]) / span,
            "cockpit_cpu_pct": 100 * (after[1] - before[1]) / span,
            "host_cpu_pct": 100 * (after[2] - before[2]) / span,
        }
    finally:
        s.quit()
        shutil.rmtree(home, ignore_errors=True)


def first_frame(binary, cols, rows):
    home = tempfile.mkdtemp(prefix="slate-bench-frame-")
    s = Slate(binary, ["run", os.path.join(ROOT, "assets/bench/gate.toml")], home, cols, rows)
    try:
        until = time.monotonic() + 20
        while time.monotonic() < until:
            s.pump(0.01)
            at = s.out.find(b"bench-idle")
            if at >= 0 and s.out.find(END_OF_FRAME, at) >= 0:
                for t, n in s.stamps:
                    if n >= s.out.find(END_OF_FRAME, at) + len(END_OF_FRAME):
                        return 1000 * (t - s.started)
        raise SystemExit("no complete frame within 20 s")
    finally:
        s.quit()
        shutil.rmtree(home, ignore_errors=True)


def flood(binary, lines, cols, rows):
    home = tempfile.mkdtemp(prefix="slate-bench-flood-")
    env = {"FLOOD_LINES": str(lines)}
    s = Slate(binary, ["run", os.path.join(ROOT, "assets/bench/flood.toml")], home, cols, rows, env)
    peak = 0.0
    try:
        until = time.monotonic() + 600
        while '"run_finished"' not in s.journal():
            if time.monotonic() > until:
                raise SystemExit("the flood did not finish within 10 minutes")
            s.pump(0.1)
            peak = max(peak, rss_mb(s.pid) + rss_mb(s.host_pid() or 0))
        took = time.monotonic() - s.started
        journaled = s.journal().count('"type":"output"')
        return took, peak, journaled
    finally:
        s.quit()
        shutil.rmtree(home, ignore_errors=True)


def redirect_floor(lines):
    cmd = open(os.path.join(ROOT, "assets/bench/flood.toml")).read().split("'''")[1].strip()
    with tempfile.NamedTemporaryFile() as f:
        t = time.monotonic()
        subprocess.run(["sh", "-c", cmd + f" > {f.name}"], env=dict(os.environ, FLOOD_LINES=str(lines)), check=True)
        return time.monotonic() - t


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(ROOT, "target/release/slate"))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--idle", type=float, default=60, help="seconds measured at the gate")
    p.add_argument("--lines", type=int, default=2_000_000)
    p.add_argument("--size", default="200x50")
    a = p.parse_args()
    cols, rows = map(int, a.size.split("x"))
    med = statistics.median

    frames = [first_frame(a.bin, cols, rows) for _ in range(a.runs)]
    print(f"2. first frame: median {med(frames):.1f} ms (runs: {', '.join(f'{x:.1f}' for x in frames)}); budget 25 ms")

    idles = [idle(a.bin, a.idle, cols, rows) for _ in range(a.runs)]
    print(
        f"1. idle at a gate, {a.idle:.0f} s at {a.size}: median {med(i['bytes_per_s'] for i in idles):.1f} B/s written, "
        f"cockpit {med(i['cockpit_cpu_pct'] for i in idles):.2f} % CPU, engine host {med(i['host_cpu_pct'] for i in idles):.2f} % CPU "
        f"(baseline: 0); budget 10 B/s and 0.2 %"
    )

    floods = [flood(a.bin, a.lines, cols, rows) for _ in range(a.runs)]
    floors = [redirect_floor(a.lines) for _ in range(a.runs)]
    took, floor = med(f[0] for f in floods), med(floors)
    print(
        f"3. flood of {a.lines:,} lines: median {took:.2f} s under slate vs {floor:.2f} s redirected to a file "
        f"= {took / floor:.2f}x (budget 2x); journaled {min(f[2] for f in floods):,} of {a.lines:,} lines"
    )
    print(f"5. resident memory during the flood (cockpit + engine host): peak median {med(f[1] for f in floods):.0f} MB; budget 64 MB")


if __name__ == "__main__":
    main()
