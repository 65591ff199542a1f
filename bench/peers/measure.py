"""Runs a command and reports its wall time, CPU time and peak RSS.

Usage: measure.py CMD [ARGS...]
The command's stdout is passed through; its stderr too, followed by one JSON line on stderr:
{"wallMs", "cpuMs", "maxRssKiB", "code"}.
"""
import json
import resource
import subprocess
import sys
import time


def main() -> None:
    start = time.perf_counter()
    proc = subprocess.run(sys.argv[1:], stdout=sys.stdout, stderr=sys.stderr)
    wall = (time.perf_counter() - start) * 1000
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stderr.flush()
    print(json.dumps({
        "wallMs": wall,
        "cpuMs": (usage.ru_utime + usage.ru_stime) * 1000,
        "maxRssKiB": usage.ru_maxrss,
        "code": proc.returncode,
    }), file=sys.stderr)


if __name__ == "__main__":
    main()
