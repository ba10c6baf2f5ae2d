#!/usr/bin/python3
"""holdmem.py LEAVE_MIB: touch and hold all available memory but LEAVE_MIB.

Part of `make bench` (test/bench/bench.sh).  On a virtual machine whose host
backs guest memory lazily and takes back memory the guest leaves free, the
first write into a page the guest has not used recently costs a host page
fault: buffered file writes then run at a tenth of their normal speed
(measured here with dd: ~430 MB/s into fresh pages, ~5 GB/s into reused
ones), and a benchmark row measures how much fresh memory it happened to
get rather than the broker.  A long-running server reuses its page cache;
holding the rest of memory bounds the page cache so that, after a warm-up
write, every row runs on reused pages like a server in steady state.

Prints "holding N MiB" once everything is touched, then sleeps until SIGTERM.
"""
import signal
import sys
import time


def available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    leave = int(sys.argv[1]) << 20
    chunk = 64 << 20
    held = []
    total = 0
    while available() - chunk > leave:
        block = bytearray(chunk)
        block[::4096] = b"\x01" * (chunk // 4096)
        held.append(block)
        total += chunk
    print("holding %d MiB" % (total >> 20), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
