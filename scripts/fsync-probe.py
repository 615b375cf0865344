#!/usr/bin/env python3
"""How long a log write-out's fsync waits while another file is written on the same file system.

The prober does what the embedded broker does for each write-out of its log: create a small new
file, write it, fsync it and fsync its directory, every 5 ms. Meanwhile a writer writes 6 MiB and
fdatasyncs every 50 ms (a stage's commit), in one of these ways:

  append     into new blocks at the end of its file (a state file that is growing)
  fallocate  into space reserved beforehand with posix_fallocate (unwritten extents)
  direct     into space zero-filled with O_DIRECT just before each write
  grow       into space zero-filled when the file grows, doubling, a MiB and a sync at a time
             (what a redb file would do if its growth were written rather than left a hole)
  overwrite  over blocks written beforehand (a state file that has reached its size)

Usage: scripts/fsync-probe.py [--ring] MODE PROBE_DIR [WRITER_DIR] [SECONDS]
WRITER_DIR on another file system shows what a file system of its own changes. With --ring the
prober writes each 4 KiB over a 64 MiB file written beforehand and fdatasyncs it, as a log kept
in one reused file would, instead of creating a file. The prober measures only while the writer
writes (at most SECONDS, and no longer than the writer's 600 MiB last). Prints how long it
measured and its latency percentiles in milliseconds. Both directories are left with nothing in
them.
"""

import mmap
import os
import sys
import threading
import time

CHUNK = 6 << 20
SPAN = 600 << 20
GROWTH_START = 8 << 20
STEP = 1 << 20
RING = 64 << 20


def grow(fd, start, end):
    """Writes zeros over [start, end), syncing after each STEP."""
    zeros = bytes(STEP)
    for at in range(start, end, STEP):
        os.pwrite(fd, zeros, at)
        os.fdatasync(fd)


def writer(mode, directory, ready, stop, finished):
    path = os.path.join(directory, "writer.dat")
    fd = None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        data = os.urandom(CHUNK)
        zeros = mmap.mmap(-1, CHUNK)  # page-aligned, as O_DIRECT needs
        if mode == "fallocate":
            os.posix_fallocate(fd, 0, SPAN)
        if mode == "overwrite":
            for offset in range(0, SPAN, CHUNK):
                os.pwrite(fd, data, offset)
            os.fsync(fd)
        written = GROWTH_START
        if mode == "grow":
            grow(fd, 0, written)
        ready.set()
        offset = 0
        while not stop.is_set() and offset < SPAN:
            if mode == "grow" and offset + CHUNK > written:
                grow(fd, written, 2 * written)
                written *= 2
            if mode == "direct":
                direct = os.open(path, os.O_WRONLY | os.O_DIRECT)
                os.pwrite(direct, zeros, offset)
                os.fdatasync(direct)
                os.close(direct)
            os.pwrite(fd, data, offset)
            os.fdatasync(fd)
            offset += CHUNK
            time.sleep(0.05)
    finally:
        # Also when it failed: the prober must not wait for it, nor measure without it.
        ready.set()
        finished.set()
        if fd is not None:
            os.close(fd)
            os.unlink(path)


def main():
    args = sys.argv[1:]
    ring_prober = "--ring" in args
    args = [a for a in args if a != "--ring"]
    if len(args) < 2:
        sys.exit(__doc__)
    mode, probe_dir = args[0], args[1]
    writer_dir = args[2] if len(args) > 2 else probe_dir
    seconds = float(args[3]) if len(args) > 3 else 12.0
    if mode not in ("append", "fallocate", "direct", "grow", "overwrite"):
        sys.exit(f"unknown mode {mode!r}")
    ready, stop, finished = threading.Event(), threading.Event(), threading.Event()
    thread = threading.Thread(target=writer, args=(mode, writer_dir, ready, stop, finished))
    thread.start()
    ready.wait()
    if finished.is_set():
        thread.join()
        sys.exit("the writer stopped before the probe began")
    directory = os.open(probe_dir, os.O_RDONLY)
    ring_path = os.path.join(probe_dir, "ring.dat")
    ring = None
    if ring_prober:
        ring = os.open(ring_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        os.pwrite(ring, bytes(RING), 0)
        os.fsync(ring)
        os.fsync(directory)
    latencies = []
    began = time.time()
    n = 0
    # Only while the writer writes: a probe after it has stopped would measure an idle disk.
    while time.time() < began + seconds and not finished.is_set():
        started = time.perf_counter()
        if ring is not None:
            os.pwrite(ring, b"x" * 4096, (n * 4096) % RING)
            os.fdatasync(ring)
        else:
            path = os.path.join(probe_dir, f"probe-{n}.sst")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT)
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            os.close(fd)
            os.fsync(directory)
        latencies.append((time.perf_counter() - started) * 1000)
        if ring is None:
            os.unlink(path)
        n += 1
        time.sleep(0.005)
    measured = time.time() - began
    stop.set()
    thread.join()
    if ring is not None:
        os.close(ring)
        os.unlink(ring_path)
    latencies.sort()

    def at(q):
        return latencies[max(0, int(len(latencies) * q) - 1)]

    prober = "ring" if ring_prober else "new files"
    print(
        f"{mode:9s} {prober:9s} {measured:4.1f} s n={len(latencies)} p50 {at(0.5):.2f} p90 {at(0.9):.2f} "
        f"p99 {at(0.99):.2f} max {latencies[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
