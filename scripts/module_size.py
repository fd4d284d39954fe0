"""Fail when a Python module outside migrations and demo data is over 500 lines (`make lint`)."""

import sys
from pathlib import Path

LIMIT = 500
ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".venv", "node_modules", "vendor", "migrations", "__pycache__"}


def modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIPPED_DIRS or part.startswith(".") for part in parts[:-1]):
            continue
        if path.name != "demo.py":  # demo data
            yield path


def main() -> int:
    over = []
    for path in modules():
        with path.open(encoding="utf-8") as handle:
            lines = sum(1 for _ in handle)
        if lines > LIMIT:
            over.append(f"{path.relative_to(ROOT)}: {lines} lines (at most {LIMIT}; split it by job)")
    print("\n".join(over) if over else f"every module is at most {LIMIT} lines")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
