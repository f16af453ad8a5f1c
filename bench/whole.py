#!/usr/bin/env python3
"""Whole-program benchmark: the real slate binary in a pseudo-terminal.

Measures issue 8's budgets 1 to 6 (its 7th is measured under `benches/`) and
issue 22's state events as 8. Each figure is the median of --runs runs (or,
for keypresses, percentiles over every press of every run), next to its
baseline measured in the same run. See docs/PERFORMANCE.md.

    cargo build --release && python3 bench/whole.py [--runs 3] [--idle 60] [--only 3,4]

  1. idle at a gate (assets/bench/gate.toml): bytes/s written and CPU of the
     cockpit and the engine host, over --idle seconds. Baseline: 0. The
     gate's clock shows seconds for its first ten minutes (budget 20 B/s),
     then minutes (budget 10 B/s): with --minutes-clock a second set of runs
     waits until the gate has waited ten minutes and measures again (adds
     about ten minutes).
  2. the first complete frame of `slate run`, from the fork, at --size and
     at 80x24; beside it (issue 22), the time until the screen is settled
     (unchanged for 100 ms) for slate and for the peers Debian packages
     (btop, htop; skipped when not installed), interleaved run by run.
  3. a flood of --lines lines (assets/bench/flood.toml) under slate at --size,
     against the same command redirected to a file, and printed straight
     into a terminal (a detached tmux at --size; skipped without tmux).
  4. keypress latency during a flood of --key-lines lines: `?` opens help,
     timed from the write of the key to the read of the pty chunk holding the
     overlay's title; `?` closes it, timed to the chunk that overwrites the
     title's cells; the next open follows 100-150 ms later. A press not
     answered within 2 s is a failure, counted in the percentiles.
  5. peak resident memory of the cockpit and of the engine host, each,
     during the floods of budget 3, and again during budget 4's flood of
     four times as many lines (flat, or it grows with what stages print).
  6. watching a steady rollout at 120x40 (assets/bench/trickle.toml): bytes
     written per byte of log text while the stage trickles, and bytes/s while
     the analysis samples its metrics. Baseline: `tail -f` writes the log
     text itself, 1x. The bench serves the plan's /metrics on loopback.

  8. state events journaled a second by `slate run --headless` of a plan of
     --steps stages of `true` (three state records each: the step's start,
     its process's start, its end), read from the journal's own timestamps
     from the first step's start to the last step's end; every record is
     fsynced before the engine acts on it (group commit). Baselines in the
     same run: the same number of `/bin/sh -c true` run from this script
     with their output piped (the floor for a step that starts a process,
     with no journal at all), and one write+fdatasync per record of the
     same size in the bench's own directory (one fsync per record).

Budgets 1 and 6 count bytes paced by clocks (counter ticks, the stage's
sleeps), not by CPU speed, so their runs all go side by side; the timed
budgets (2, 3, 4, 5) run one session at a time. With the defaults the whole
script takes about two and a half minutes on 2 cores, and prints its wall time.

--load N runs N busy loops beside everything timed (issue 22 measures at
N = 2 on two cores, a load average of about 2, as well as quiet). --smoke
runs every measure once on tiny sizes, for CI: the figures mean nothing.
"""

import argparse
import atexit
import calendar
import fcntl
import glob
import json
import math
import os
import pty
import random
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procstat import cpu_seconds, percentile, rss_mb  # noqa: E402
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
END_OF_FRAME = b"\x1b[?2026l"  # the end of a synchronized update
# The start of the help overlay's title (src/cockpit/ui/modal.rs). ratatui
# skips cells that did not change, so a marker could be split by cursor moves
# where the cell underneath already held the same character in the same
# style. The title is bold in the title colour over the log and header, which
# never match it: on the real binary it arrives whole, once per press.
HELP_TITLE = b"Keys (? or Esc to close"
NO_RESPONSE = 2.0  # seconds after which a keypress counts as unanswered
LATE = 10.0  # how long an unanswered press is still watched for, to say how late it was
TRICKLE_SIZE = (120, 40)  # budget 6 is stated for an SSH session at 120x40
TRICKLE_LINES = 600  # at ~20 lines/s: a 30 s stage


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
        self.closed = False
        self.out = bytearray()
        self.stamps = []  # (time, total bytes so far)
        self._journal = None
        self._host = None

    def pump(self, seconds):
        """Reads what slate writes for `seconds`."""
        pump_all([self], seconds)

    def read_at(self, offset):
        """When the chunk holding byte `offset - 1` of the output was read."""
        for t, n in self.stamps:
            if n >= offset:
                return t
        return None

    def wait_output(self, needle, after, limit):
        """When `needle` was first read past byte `after`, or None after `limit` s."""
        until = time.monotonic() + limit
        while True:
            at = self.out.find(needle, after)
            if at >= 0:
                return self.read_at(at + len(needle))
            if time.monotonic() >= until:
                return None
            self.pump(0.01)

    def wait_overwritten(self, after, row, col, width, limit):
        """When a character was first written past byte `after` into `width`
        cells from (row, col), or None after `limit` s."""
        until = time.monotonic() + limit
        while True:
            for at, r, c in cells(self.out, after):
                if r == row and col <= c < col + width:
                    return self.read_at(at + 1)
            if time.monotonic() >= until:
                return None
            self.pump(0.01)

    def drawn_at(self, offset):
        """The (row, col) where the character at byte `offset` was drawn."""
        frame = self.out.rfind(b"\x1b[?2026h", 0, offset)  # each frame starts with a cursor move
        for at, r, c in cells(self.out, max(frame, 0)):
            if at == offset:
                return r, c
        return None

    def journal_path(self):
        if self._journal is None:
            files = glob.glob(os.path.join(self.home, "runs", "*", "journal.ndjson"))
            self._journal = files[0] if files else None
        return self._journal

    def journal(self):
        """The whole journal. A flood's is hundreds of MB: not while timing one."""
        path = self.journal_path()
        return open(path).read() if path else ""

    def journal_head(self, size=1 << 16):
        path = self.journal_path()
        if not path:
            return ""
        with open(path, "rb") as f:
            return f.read(size).decode(errors="replace")

    def journal_tail(self, size=1 << 13):
        """The journal's end, where `run_finished` lands: cheap at any size.
        (Reading a flood's whole journal every 0.1 s took most of a core from
        the run being timed, and up to a second and a half to notice its end.)"""
        path = self.journal_path()
        if not path:
            return ""
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - size))
            return f.read().decode(errors="replace")

    def host_pid(self):
        """The engine host's pid, from `run_started`: the journal's first record."""
        if self._host is None:
            first = self.journal_head().split("\n", 1)
            if len(first) == 2:  # a whole first line
                rec = json.loads(first[0])
                if rec["event"]["type"] == "run_started":
                    self._host = rec["event"]["pid"]
        return self._host

    def quit(self):
        quit_all([self])


def pump_all(sessions, seconds):
    """Reads what every session writes for `seconds`, stamping each chunk as it comes."""
    until = time.monotonic() + seconds
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        live = {s.fd: s for s in sessions if not s.closed}
        if not live:
            time.sleep(left)
            return
        r, _, _ = select.select(list(live), [], [], min(left, 0.05))
        for fd in r:
            s = live[fd]
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:  # EIO: slate has exited and the pty is gone
                chunk = b""
            if not chunk:
                s.closed = True
                continue
            s.out += chunk
            s.stamps.append((time.monotonic(), len(s.out)))


def quit_all(sessions):
    """Quits every session at once (each quit waits on the cockpit for most of a second)."""

    def send(key):
        for s in sessions:
            if not s.closed:
                try:
                    os.write(s.fd, key)
                except OSError:
                    s.closed = True

    send(b"q")
    pump_all(sessions, 0.3)
    send(b"a")  # abort if it asks (an unfinished run)
    pump_all(sessions, 0.5)
    for s in sessions:
        # The host runs the release: killing only the cockpit would leave it going.
        for pid in (s.pid, s.host_pid()):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            os.waitpid(s.pid, 0)
        except ChildProcessError:
            pass
        try:
            os.close(s.fd)
        except OSError:
            pass
        s.closed = True




def records(text):
    """A journal's records as (monotonic time, event): the pty chunks are
    stamped with time.monotonic(), the journal with the wall clock."""
    offset = time.time() - time.monotonic()
    out = []
    for line in text.splitlines():
        rec = json.loads(line)
        ts = rec["ts"]  # 2026-11-23T00:38:13.849998289Z
        wall = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
        if ts[19] == ".":
            wall += float("0" + ts[19:].rstrip("Z"))
        out.append((wall - offset, rec["event"]))
    return out


def written_between(s, start, end):
    """Bytes the session wrote in chunks read within (start, end]."""
    before = after = 0
    for t, n in s.stamps:
        if t <= start:
            before = n
        if t <= end:
            after = n
    return after - before



def latency_summary(xs):
    """Percentiles with the failures in them: an unanswered press is slower than any other."""
    if not xs:
        return "not measured"
    ms = lambda x: "never" if x == math.inf else f"{1000 * x:.1f} ms"  # noqa: E731
    slow = sorted(x for x in xs if x > NO_RESPONSE)
    return (
        f"p50 {ms(percentile(xs, 50))}, p99 {ms(percentile(xs, 99))}, max {ms(max(xs))} over {len(xs)} presses; "
        f"{len(slow)} with no response within {NO_RESPONSE:.0f} s" + (f" ({', '.join(ms(x) for x in slow)})" if slow else "")
    )


CSI = re.compile(rb"\x1b\[([0-?]*)[ -/]*([@-~])")  # parameters, intermediates, final byte


def cells(out, start):
    """(offset, row, col) of each character written from byte `start` on.

    Enough of a terminal for ratatui's output, which places every run of
    changed cells with a cursor move: characters before the first move are
    skipped (where they land is unknown), and a sequence cut off at the end
    stops the walk until more is read."""
    row = col = None
    i, n = start, len(out)
    while i < n:
        b = out[i]
        if b == 0x1B:
            if i + 1 >= n:
                return
            if out[i + 1] != ord("["):  # not a CSI: two bytes, no effect on cells
                i += 2
                continue
            m = CSI.match(out, i)
            if not m:
                return
            if m.group(2) == b"H":
                r, _, c = m.group(1).partition(b";")
                row, col = int(r or 1), int(c or 1)
            i = m.end()
            continue
        size = 1 if b < 0xC0 else 2 if b < 0xE0 else 3 if b < 0xF0 else 4
        if i + size > n:
            return
        if row is not None and b >= 0x20:
            yield i, row, col
            wide = unicodedata.east_asian_width(out[i : i + size].decode(errors="replace")) in "WF"
            col += 2 if wide else 1
        i += size


def flood_command():
    return open(os.path.join(ROOT, "assets/bench/flood.toml")).read().split("'''")[1].strip()


# ---------------------------------------------------------------------------
# Budget 2
# ---------------------------------------------------------------------------


def first_frame(binary, cols, rows):
    home = tempfile.mkdtemp(prefix="slate-bench-frame-")
    s = Slate(binary, ["run", os.path.join(ROOT, "assets/bench/gate.toml")], home, cols, rows)
    try:
        until = time.monotonic() + 20
        while time.monotonic() < until:
            s.pump(0.01)
            at = s.out.find(b"bench-idle")
            end = s.out.find(END_OF_FRAME, at) if at >= 0 else -1
            if end >= 0:
                return 1000 * (s.read_at(end + len(END_OF_FRAME)) - s.started)
        raise SystemExit("no complete frame within 20 s")
    finally:
        s.quit()
        shutil.rmtree(home, ignore_errors=True)


# How long a screen must stay unchanged for its first frame to count as
# drawn: every program measured (slate, btop, htop) writes its next update
# a second or more later, and its first frame's pieces within a few ms.
SETTLE = 0.1

# The terminal programs Debian packages that the first frame is measured
# beside (issue 22): each draws a full screen of its own at start.
PEERS = ("btop", "htop")


# How much a program must have written for something of its screen to be
# drawn: more than entering the alternate screen and clearing it. btop
# draws its boxes first (about 15 KB), then fills them in; slate draws its
# plan's outline, then the run.
PAINTED = 1024


def settled_frame(argv, cols, rows, env=None, prepare=None):
    """(ms from the fork to the first PAINTED bytes, ms from the fork to the
    last byte of the first burst of output, the screen then unchanged for
    SETTLE s); any program, so peers are timed the same way as slate. None
    if it wrote nothing within 20 s."""
    home = tempfile.mkdtemp(prefix="slate-bench-settle-")
    if prepare:
        prepare(home)
    s = Slate(argv[0], argv[1:], home, cols, rows, dict(env or {}, HOME=home))
    try:
        until = time.monotonic() + 20
        while time.monotonic() < until:
            s.pump(0.01)
            if s.stamps and time.monotonic() - s.stamps[-1][0] >= SETTLE:
                painted = next((t for t, n in s.stamps if n >= PAINTED), s.stamps[-1][0])
                return 1000 * (painted - s.started), 1000 * (s.stamps[-1][0] - s.started)
        return None
    finally:
        s.quit()
        shutil.rmtree(home, ignore_errors=True)


def kept_store(binary):
    """Gives a fresh state directory the store a user's already has (the
    bench's own start each time in an empty one, which makes its store:
    a few ms of migrations and fsyncs a user pays once)."""

    def prepare(home):
        subprocess.run([binary, "status"], env=dict(os.environ, SLATE_HOME=home),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    return prepare


def first_frames(binary, sizes, runs):
    """Budget 2 beside the peers, interleaved run by run so that each
    figure and its baseline see the same machine. Per size: slate's first
    complete frame (its synchronized update holding the release's name),
    and for slate and each installed peer (first PAINTED bytes, screen
    settled)."""
    peers = [p for p in PEERS if shutil.which(p)]
    plan = os.path.join(ROOT, "assets/bench/gate.toml")
    out = {}
    for cols, rows in sizes:
        got = {"slate": [], "slate settled": [], "slate kept": [], **{p: [] for p in peers}}
        for i in range(runs):
            order = ["slate", "slate settled", "slate kept", *peers]
            random.Random(i).shuffle(order)
            for who in order:
                if who == "slate":
                    got[who].append(first_frame(binary, cols, rows))
                elif who == "slate settled":
                    got[who].append(settled_frame([binary, "run", plan], cols, rows))
                elif who == "slate kept":
                    got[who].append(settled_frame([binary, "run", plan], cols, rows, prepare=kept_store(binary)))
                else:
                    got[who].append(settled_frame([shutil.which(who)], cols, rows))
        out[(cols, rows)] = {k: [x for x in v if x is not None] for k, v in got.items()}
    return out


class Load:
    """`n` busy loops at normal priority, started by the bench itself, so
    "under load" means the same thing on every machine (two on a two-core
    machine: a load average of about 2)."""

    def __init__(self, n):
        self.procs = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)
        ]
        if self.procs:
            time.sleep(1.0)  # let them take their cores before anything is timed

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()


# ---------------------------------------------------------------------------
# Budgets 1 and 6: probes that run side by side, polled by `side_by_side`
# ---------------------------------------------------------------------------


# When a waiting gate's clock stops showing seconds (crate::duration::SECONDS_FOR_MS).
MINUTES_AFTER = 600 + 2


class IdleProbe:
    """Budget 1: a run waiting at a manual gate, measured for `seconds`."""

    def __init__(self, binary, seconds, cols, rows, settle=2):
        self.home = tempfile.mkdtemp(prefix="slate-bench-idle-")
        self.s = Slate(binary, ["run", os.path.join(ROOT, "assets/bench/gate.toml")], self.home, cols, rows)
        self.seconds = seconds
        # Seconds after the gate began waiting before measuring: 2 to let the
        # toast and first counters settle; past 600 the clock shows minutes.
        self.settle = settle
        self.minutes = settle >= MINUTES_AFTER
        self.waiting = self.before = self.result = None

    def snapshot(self):
        s = self.s
        return (len(s.out), cpu_seconds(s.pid), cpu_seconds(s.host_pid()), time.monotonic())

    def poll(self, now):
        if self.result:
            return True
        if self.waiting is None:
            if '"gate_waiting"' in self.s.journal():
                self.waiting = now
        elif self.before is None:
            if now - self.waiting >= self.settle:
                self.before = self.snapshot()
        elif now - self.before[3] >= self.seconds:
            before, after = self.before, self.snapshot()
            span = after[3] - before[3]
            self.result = {
                "bytes_per_s": (after[0] - before[0]) / span,
                "cockpit_cpu_pct": 100 * (after[1] - before[1]) / span,
                "host_cpu_pct": 100 * (after[2] - before[2]) / span,
                "minutes": self.minutes,
            }
        return self.result is not None


class TrickleProbe:
    """Budget 6: a stage trickling log lines, then an analysis, at 120x40."""

    def __init__(self, binary, port, lines):
        self.home = tempfile.mkdtemp(prefix="slate-bench-trickle-")
        # A plan's URLs take no environment variables: the port goes into a copy.
        text, n = re.subn(
            r"metrics_port = \d+",
            f"metrics_port = {port}",
            open(os.path.join(ROOT, "assets/bench/trickle.toml")).read(),
        )
        assert n == 1, "assets/bench/trickle.toml should set metrics_port once"
        plan = os.path.join(self.home, "trickle.toml")
        open(plan, "w").write(text)
        cols, rows = TRICKLE_SIZE
        self.s = Slate(binary, ["run", plan], self.home, cols, rows, {"TRICKLE_LINES": str(lines)})
        self.result = None

    def poll(self, now):
        # Measured as soon as the run ends: its home goes when every probe is done.
        if self.result is None and '"run_finished"' in self.s.journal_tail():
            self.result = self.measure()
        return self.result is not None

    def measure(self):
        recs = records(self.s.journal())
        outputs = [(t, e) for t, e in recs if e["type"] == "output"]
        if not outputs:
            raise SystemExit("the trickle stage printed nothing")
        stage = (outputs[0][1]["env"], outputs[0][1]["step"])
        start = outputs[0][0]
        end = next(t for t, e in recs if e["type"] == "step_finished" and (e["env"], e["step"]) == stage)
        lines = [e["line"] for _, e in outputs if (e["env"], e["step"]) == stage]
        # What `tail -f` would write: each line and its newline.
        log_bytes = sum(len(line.encode()) + 1 for line in lines)
        written = written_between(self.s, start, end)
        a_start = next(t for t, e in recs if e["type"] == "analysis_started")
        a_end, verdict = next((t, e["verdict"]) for t, e in recs if e["type"] == "analysis_finished")
        sampled = [(t, e["metric"]) for t, e in recs if e["type"] == "metric_sampled"]
        samples = len(sampled)
        # Steady: once every metric has its first sample, the panel's layout
        # is settled and each second costs only what moved (issue 22's goal).
        metrics = len({m for _, m in sampled})
        steady_from = sampled[metrics - 1][0] if samples > metrics else a_start
        return {
            "ratio": written / log_bytes,
            "cockpit_bps": written / (end - start),
            "log_bps": log_bytes / (end - start),
            "lines": len(lines),
            "lines_per_s": len(lines) / (end - start),
            "line_bytes": log_bytes / len(lines),
            "window": end - start,
            "analysis_bps": written_between(self.s, a_start, a_end) / (a_end - a_start),
            "analysis_window": a_end - a_start,
            "analysis_steady_bps": written_between(self.s, steady_from, a_end) / max(a_end - steady_from, 1e-9),
            "samples": samples,
            "verdict": verdict,
        }


def side_by_side(probes, limit):
    """Pumps every probe's session until each probe says it is done."""
    sessions = [p.s for p in probes]
    try:
        until = time.monotonic() + limit
        while True:
            pump_all(sessions, 0.05)
            now = time.monotonic()
            if all([p.poll(now) for p in probes]):  # a list: poll every probe each round
                return
            if now > until:
                raise SystemExit(f"the idle and trickle runs did not finish within {limit:.0f} s")
    finally:
        close_probes(probes)


def close_probes(probes):
    quit_all([p.s for p in probes])
    for p in probes:
        shutil.rmtree(p.home, ignore_errors=True)


# The trickle plan's /metrics: two gauges that drift, as a real service's do, so
# every sample changes what the cockpit draws. It exits when the bench's pipe
# to it closes, however the bench ends.
METRICS_SERVER = r"""
import http.server, math, os, sys, threading, time

class Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        t = time.time()
        body = (
            "# TYPE bench_error_ratio gauge\n"
            f"bench_error_ratio {0.01 + 0.005 * math.sin(t / 7):.5f}\n"
            "# TYPE bench_p99_latency_ms gauge\n"
            f"bench_p99_latency_ms {120 + 30 * math.sin(t / 5):.2f}\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
print(server.server_address[1], flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
server.serve_forever()
"""


def quiet(binary, want_idle, want_trickle, runs, seconds, cols, rows, minutes_clock=False):
    """Budgets 1 and 6, all their runs side by side."""
    server = None
    probes = []
    try:
        if want_trickle:
            server = subprocess.Popen(
                [sys.executable, "-c", METRICS_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            port = int(server.stdout.readline())
        try:
            if want_idle:
                probes += [IdleProbe(binary, seconds, cols, rows) for _ in range(runs)]
                if minutes_clock:
                    probes += [IdleProbe(binary, seconds, cols, rows, MINUTES_AFTER) for _ in range(runs)]
            if want_trickle:
                probes += [TrickleProbe(binary, port, TRICKLE_LINES) for _ in range(runs)]
        except BaseException:  # the runs started so far must not outlive the bench
            close_probes(probes)
            raise
        # The trickle takes ~45 s; idle waits for its gate, settles, then measures.
        side_by_side(probes, limit=seconds + 180 + (MINUTES_AFTER if minutes_clock else 0))
        idles = [p.result for p in probes if isinstance(p, IdleProbe)]
        trickles = [p.result for p in probes if isinstance(p, TrickleProbe)]
        return idles, trickles
    finally:
        if server:
            server.kill()
            server.wait()


# ---------------------------------------------------------------------------
# Budgets 3, 4 and 5: floods, one at a time
# ---------------------------------------------------------------------------


def flood(binary, lines, cols, rows):
    home = tempfile.mkdtemp(prefix="slate-bench-flood-")
    env = {"FLOOD_LINES": str(lines)}
    s = Slate(binary, ["run", os.path.join(ROOT, "assets/bench/flood.toml")], home, cols, rows, env)
    peak = Peak()
    try:
        until = time.monotonic() + 600
        while '"run_finished"' not in s.journal_tail():
            if time.monotonic() > until:
                raise SystemExit("the flood did not finish within 10 minutes")
            s.pump(0.1)
            peak.sample(s)
        # When the run ended, by its own record's timestamp: noticing it
        # here takes up to a pump (0.1 s, a tenth of the redirect).
        tail = s.journal_tail()
        last = tail[tail.rfind("\n", 0, tail.rfind('"run_finished"')) + 1 :]
        took = records(last.split("\n", 1)[0])[0][0] - s.started
        journaled = s.journal().count('"type":"output"')
        return took, peak, journaled
    finally:
        s.quit()
        shutil.rmtree(home, ignore_errors=True)


def redirect_floor(lines):
    with tempfile.NamedTemporaryFile() as f:
        t = time.monotonic()
        subprocess.run(
            ["sh", "-c", flood_command() + f" > {f.name}"], env=dict(os.environ, FLOOD_LINES=str(lines)), check=True
        )
        return time.monotonic() - t


def terminal_floor(lines, cols, rows):
    """The flood printed into a terminal: a detached tmux at cols x rows.

    The pane's script waits on a channel before it starts, so the timing
    leaves out the tmux server's start-up. Returns None without tmux."""
    if not shutil.which("tmux"):
        return None
    sock = f"slate-bench-{os.getpid()}"  # a private server, never the user's
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    tmp = tempfile.mkdtemp(prefix="slate-bench-tmux-")
    script = os.path.join(tmp, "flood.sh")
    with open(script, "w") as f:
        f.write(
            f"tmux -L {sock} wait-for go\n"
            f"export FLOOD_LINES={lines}\n"
            f"{flood_command()}\n"
            f"tmux -L {sock} wait-for -S done\n"
        )
    socket = None
    try:
        subprocess.run(tmux + ["new-session", "-d", "-x", str(cols), "-y", str(rows), f"sh {script}"], check=True)
        socket = subprocess.run(
            tmux + ["display-message", "-p", "#{socket_path}"], check=True, capture_output=True, text=True
        ).stdout.strip()
        t = time.monotonic()
        subprocess.run(tmux + ["wait-for", "-S", "go"], check=True)
        subprocess.run(tmux + ["wait-for", "done"], check=True, timeout=600)
        return time.monotonic() - t
    finally:
        subprocess.run(tmux + ["kill-server"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if socket:  # tmux leaves its socket file behind when the server exits
            try:
                os.unlink(socket)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


class Peak:
    """Peak resident memory of the cockpit and of the engine host, each."""

    def __init__(self):
        self.cockpit = self.host = 0.0

    def sample(self, s):
        self.cockpit = max(self.cockpit, rss_mb(s.pid))
        self.host = max(self.host, rss_mb(s.host_pid() or 0))


def keypresses(binary, lines, cols, rows, presses, rng, peak):
    """Budget 4: `?` opens help and `?` closes it, during a flood. Returns
    the latencies of the opens and of the closes: past NO_RESPONSE when the
    screen changed late, math.inf when it never did."""
    home = tempfile.mkdtemp(prefix="slate-bench-keys-")
    env = {"FLOOD_LINES": str(lines)}
    s = Slate(binary, ["run", os.path.join(ROOT, "assets/bench/flood.toml")], home, cols, rows, env)
    opens, closes = [], []

    def press(wait):
        """Writes `?`. Returns how long until `wait(after, limit)` saw the
        screen change (a failure past NO_RESPONSE; waiting on tells late from
        never), and `after`: the output's length when the key was written."""
        after, t = len(s.out), time.monotonic()
        os.write(s.fd, b"?")
        seen = wait(after, NO_RESPONSE)
        if seen is None:
            seen = wait(after, LATE)
        return (math.inf if seen is None else seen - t), after

    try:
        until = time.monotonic() + 30
        while '"type":"output"' not in s.journal_head():
            if time.monotonic() > until:
                raise SystemExit("the flood printed nothing within 30 s")
            s.pump(0.02)
        while len(opens) < presses and '"run_finished"' not in s.journal_tail():
            peak.sample(s)
            took, after = press(lambda after, limit: s.wait_output(HELP_TITLE, after, limit))
            opens.append(took)
            if took == math.inf:
                break  # whether help is open is unknown: the presses after would mean nothing
            # The close shows as the title's cells being overwritten. Waiting
            # for it matters: a cockpit that reads the close and the next open
            # together draws help open in both frames, writes no title, and
            # the open would count as never shown.
            row, col = s.drawn_at(s.out.find(HELP_TITLE, after))
            took, _ = press(lambda after, limit: s.wait_overwritten(after, row, col, len(HELP_TITLE), limit))
            closes.append(took)
            if took == math.inf:
                break
            s.pump(rng.uniform(0.10, 0.15))  # random: presses must not lock to the 30 fps frame clock
        return opens, closes
    finally:
        s.quit()
        shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------------------


def state_events(binary, steps):
    """Budget 8: (records, seconds, bytes a record) journaled by a run of `steps` steps of `true`."""
    home = tempfile.mkdtemp(prefix="slate-bench-states-")
    try:
        plan = os.path.join(home, "plan.toml")
        with open(plan, "w") as f:
            f.write('[release]\nname = "states"\nversion = "2"\nprevious_version = "1"\nowner = "bench"\n')
            f.write('[[environments]]\nname = "dev"\n')
            for i in range(steps):
                f.write(f'[[stages]]\nname = "s{i}"\nkind = "custom"\ncommand = "true"\n')
        subprocess.run(
            [os.path.abspath(binary), "run", "--headless", plan],
            env=dict(os.environ, SLATE_HOME=os.path.join(home, "state")),
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        (journal,) = glob.glob(os.path.join(home, "state", "runs", "*", "journal.ndjson"))
        with open(journal) as f:
            recs = records(f.read())
        kinds = [e["type"] for _, e in recs]
        first = kinds.index("step_started")
        last = len(kinds) - 1 - kinds[::-1].index("step_finished")
        return last - first + 1, recs[last][0] - recs[first][0], os.path.getsize(journal) / len(recs)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def process_floor(steps):
    """Seconds for `steps` runs of `/bin/sh -c true` with piped output, from here."""
    t = time.monotonic()
    for _ in range(steps):
        subprocess.run(["/bin/sh", "-c", "true"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return time.monotonic() - t


def fsync_floor(records, size):
    """Seconds to append `records` lines of `size` bytes, each followed by fdatasync."""
    home = tempfile.mkdtemp(prefix="slate-bench-fsync-")
    try:
        fd = os.open(os.path.join(home, "j"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        line = b"x" * (max(int(size), 2) - 1) + b"\n"
        t = time.monotonic()
        for _ in range(records):
            os.write(fd, line)
            os.fdatasync(fd)
        took = time.monotonic() - t
        os.close(fd)
        return took
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main():
    wall = time.monotonic()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(ROOT, "target/release/slate"))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--idle", type=float, default=60, help="seconds measured at the gate")
    p.add_argument(
        "--minutes-clock",
        action="store_true",
        help="also measure budget 1 after the gate has waited ten minutes (its clock in minutes)",
    )
    p.add_argument("--lines", type=int, default=2_000_000, help="lines of the flood of budgets 3 and 5")
    p.add_argument(
        "--key-lines", type=int, default=8_000_000, help="lines of the flood keys are pressed in (budgets 4 and 5)"
    )
    p.add_argument("--presses", type=int, default=40, help="most keypresses per run (budget 4)")
    p.add_argument("--size", default="200x50", help="terminal of budgets 1 to 5 (budget 6 is at 120x40)")
    p.add_argument("--steps", type=int, default=1_000, help="stages of `true` in budget 8's plan")
    p.add_argument("--only", default="1,2,3,4,5,6,8", help="comma list of budgets to measure")
    p.add_argument(
        "--load", type=int, default=0, help="busy loops the bench runs beside everything it times (issue 22: 2)"
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="CI: every measure once, on tiny sizes, with one busy loop; the figures mean nothing",
    )
    a = p.parse_args()
    if a.smoke:
        a.runs, a.idle, a.lines, a.key_lines, a.presses, a.load = 1, 2, 2_000, 20_000, 3, max(a.load, 1)
        a.steps = 20
    cols, rows = map(int, a.size.split("x"))
    try:
        only = {int(b) for b in a.only.split(",") if b.strip()}
    except ValueError:
        p.error("--only takes budget numbers, e.g. --only 3,4")
    if not only or not only <= {1, 2, 3, 4, 5, 6, 8}:
        p.error("--only takes budget numbers 1 to 6 and 8")
    med = statistics.median

    load = Load(a.load)
    atexit.register(load.stop)
    if a.load:
        print(f"under load: {a.load} busy loops started by the bench; load average {os.getloadavg()[0]:.1f}", flush=True)

    if 2 in only:
        sizes = [(cols, rows)] + ([(80, 24)] if (cols, rows) != (80, 24) else [])
        for (w, h), got in first_frames(a.bin, sizes, a.runs).items():
            slate_ms = got.pop("slate")
            print(
                f"2. first frame at {w}x{h}: median {med(slate_ms):.1f} ms (runs: {', '.join(f'{x:.1f}' for x in slate_ms)}); budget 25 ms",
                flush=True,
            )
            kept = got.pop("slate kept")
            timed = {k: v for k, v in got.items() if v}
            for i, what in ((0, f"first {PAINTED} bytes"), (1, f"screen settled ({SETTLE * 1000:.0f} ms unchanged)")):
                each = {k.replace(" settled", ""): med([x[i] for x in v]) for k, v in timed.items()}
                ours = each.pop("slate", None)
                line = f"   {what}: slate {ours:.1f} ms" if ours is not None else f"   {what}: slate -"
                for k, v in each.items():
                    line += f", {k} {v:.1f} ms"
                if each and ours is not None:
                    best = min(each, key=each.get)
                    line += f"; slate / best peer ({best}) = {ours / each[best]:.2f}x (goal <= 1)"
                elif not each:
                    line += "; no peer installed (apt-get install btop htop)"
                print(line, flush=True)
            if kept:
                print(
                    f"   a state directory that has its store already: first {PAINTED} bytes {med([x[0] for x in kept]):.1f} ms, "
                    f"settled {med([x[1] for x in kept]):.1f} ms",
                    flush=True,
                )

    if only & {1, 6}:
        idles, trickles = quiet(a.bin, 1 in only, 6 in only, a.runs, a.idle, cols, rows, a.minutes_clock)
        for minutes, budget in ((False, 20), (True, 10)):
            these = [i for i in idles if i["minutes"] == minutes]
            if not these:
                continue
            clock = "after ten minutes (clock in minutes)" if minutes else "first ten minutes (clock in seconds)"
            print(
                f"1. idle at a gate, {clock}, {a.idle:.0f} s at {a.size}: median {med(i['bytes_per_s'] for i in these):.1f} B/s written, "
                f"cockpit {med(i['cockpit_cpu_pct'] for i in these):.2f} % CPU, engine host {med(i['host_cpu_pct'] for i in these):.2f} % CPU "
                f"(baseline: 0); budget {budget} B/s and 0.2 %",
                flush=True,
            )
        if trickles:
            m = lambda k: med(t[k] for t in trickles)  # noqa: E731
            verdicts = sorted({t["verdict"] for t in trickles})
            each = ", ".join(f"{t['ratio']:.2f}" for t in trickles)
            print(
                f"6. watching a trickle at {TRICKLE_SIZE[0]}x{TRICKLE_SIZE[1]}: {m('lines'):.0f} lines of {m('line_bytes'):.0f} B "
                f"at {m('lines_per_s'):.1f} lines/s over {m('window'):.1f} s: median {m('ratio'):.2f}x the log bytes written "
                f"(runs: {each}), {m('cockpit_bps'):.0f} B/s "
                f"vs tail -f 1x = {m('log_bps'):.0f} B/s; budget 3x\n"
                f"   during the analysis ({m('samples'):.0f} samples of 2 metrics at 1/s over {m('analysis_window'):.1f} s, "
                f"verdict {'/'.join(verdicts)}): median {m('analysis_bps'):.0f} B/s written (tail -f: 0); "
                f"from every metric's first sample on (the panel laid out): {m('analysis_steady_bps'):.0f} B/s; "
                f"budget 400 B/s (issue 22)",
                flush=True,
            )

    if only & {3, 5}:
        floods = [flood(a.bin, a.lines, cols, rows) for _ in range(a.runs)]
        took = med(f[0] for f in floods)
        if 3 in only:
            floor = med(redirect_floor(a.lines) for _ in range(a.runs))
            terms = [terminal_floor(a.lines, cols, rows) for _ in range(a.runs)]
            if None in terms:
                baselines = f"{floor:.2f} s redirected to a file (terminal baseline skipped: no tmux)"
                ratios = f"slate/redirect = {took / floor:.2f}x (budget <= 2x)"
            else:
                term = med(terms)
                baselines = f"{floor:.2f} s redirected to a file, {term:.2f} s printed into tmux at {a.size}"
                ratios = (
                    f"slate/redirect = {took / floor:.2f}x (budget <= 2x), "
                    f"terminal/slate = {term / took:.2f}x (budget >= 2x)"
                )
            each = ", ".join(f"{f[0]:.2f}" for f in floods)
            print(
                f"3. flood of {a.lines:,} lines: median {took:.2f} s under slate (runs: {each}) vs {baselines}: "
                f"{ratios}; journaled {min(f[2] for f in floods):,} of {a.lines:,} lines",
                flush=True,
            )
        if 5 in only:
            print(
                f"5. resident memory during the flood of {a.lines:,} lines: peak median cockpit "
                f"{med(f[1].cockpit for f in floods):.0f} MB, engine host {med(f[1].host for f in floods):.0f} MB; "
                f"budget 64 MB (and flat in the number of lines: see 4's flood)",
                flush=True,
            )

    if 4 in only:
        rng = random.Random(4)  # the same press gaps every time the script runs
        opens, closes, peaks = [], [], []
        for _ in range(a.runs):
            peaks.append(Peak())
            o, c = keypresses(a.bin, a.key_lines, cols, rows, a.presses, rng, peaks[-1])
            opens += o
            closes += c
        if opens:
            print(
                f"4. keypress during a flood of {a.key_lines:,} lines at {a.size}, {a.runs} runs: "
                f"`?` opening help {latency_summary(opens)}; budget p99 50 ms\n"
                f"   `?` closing it {latency_summary(closes)}\n"
                f"   resident memory meanwhile: peak median cockpit {med(p.cockpit for p in peaks):.0f} MB, "
                f"engine host {med(p.host for p in peaks):.0f} MB",
                flush=True,
            )
        else:
            print(f"4. keypress: no press made: the flood of {a.key_lines:,} lines ended before the first", flush=True)

    if 8 in only:
        rates, procs, fsyncs = [], [], []
        for _ in range(a.runs):  # interleaved, run by run
            n, took, size = state_events(a.bin, a.steps)
            rates.append(n / took)
            procs.append(3 * a.steps / process_floor(a.steps))
            fsyncs.append(n / fsync_floor(n, size))
        print(
            f"8. state events of {a.steps:,} steps of `true`, {a.runs} runs: median {med(rates):,.0f} a second "
            f"(runs: {', '.join(f'{x:,.0f}' for x in rates)}); goal 5,000\n"
            f"   baselines: three records per `sh -c true` started from the bench, no journal: "
            f"{med(procs):,.0f} a second (slate/that = {med(rates) / med(procs):.2f}x); "
            f"one write+fdatasync per record: {med(fsyncs):,.0f} a second (slate/that = {med(rates) / med(fsyncs):.2f}x)",
            flush=True,
        )

    if a.load:
        print(f"load average at the end: {os.getloadavg()[0]:.1f}", flush=True)
    print(f"total wall time {time.monotonic() - wall:.0f} s")


if __name__ == "__main__":
    main()
