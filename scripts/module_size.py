"""Fail when a Python module outside migrations and demo data is over 500 lines (`make lint`)."""

import subprocess
import sys
from pathlib import PurePosixPath

LIMIT = 500


def exempt(path: PurePosixPath) -> bool:
    return "migrations" in path.parts or path.name == "demo.py"


def main() -> int:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    over = []
    for name in files:
        path = PurePosixPath(name)
        if exempt(path):
            continue
        try:
            with open(name, encoding="utf-8") as handle:
                lines = sum(1 for _ in handle)
        except FileNotFoundError:  # deleted in the work tree, not yet in the index
            continue
        if lines > LIMIT:
            over.append((lines, name))
    for lines, name in sorted(over, reverse=True):
        print(f"{name}: {lines} lines (the limit is {LIMIT}; split it by job)")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
