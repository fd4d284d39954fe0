"""CPU used by the processes a benchmark started and the servers it talks to, found by process id, never by name.

Gunicorn and the Celery worker are followed as the process trees under the pids the benchmark started;
PostgreSQL counts the backends connected to the benchmark's own (scratch) database; Redis reports its own
CPU (`INFO cpu`). Other programs on a busy machine (another gunicorn, other databases' backends) are not
counted. Backends that exit between two samples are lost; the stack keeps its connections (CONN_MAX_AGE).
"""

import os
from pathlib import Path

import psycopg
import redis

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / TICKS


class StackCpu:
    def __init__(self, *, database_url: str, redis_url: str):
        self.roots: dict[str, int] = {}
        self.database_url = database_url
        self.redis = redis.Redis.from_url(redis_url)

    def add(self, group: str, pid: int) -> None:
        self.roots[group] = pid

    def _trees(self) -> dict[str, set[int]]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
        trees = {}
        for group, root in self.roots.items():
            seen, todo = set(), [root]
            while todo:
                pid = todo.pop()
                if pid not in seen:
                    seen.add(pid)
                    todo += children.get(pid, [])
            trees[group] = seen
        return trees

    def _backends(self) -> set[int]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        return {row[0] for row in rows}

    def seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) used so far: per started tree, PostgreSQL, Redis and this client."""
        groups = {**self._trees(), "postgres": self._backends()}
        totals = {group: sum(_cpu(f) for pid in pids if (f := _stat(pid))) for group, pids in groups.items()}
        info = self.redis.info("cpu")
        totals["redis"] = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        totals["client"] = _cpu(_stat(os.getpid()) or ["0"] * 13)
        return totals


def cpu_report(
    before: dict[str, float], after: dict[str, float], seconds: float, unit: str, count: int
) -> str:
    used = {group: after[group] - before[group] for group in before}
    parts = ", ".join(f"{group} {value / seconds:.2f}" for group, value in used.items())
    total = sum(used.values())
    return (
        f"  cores busy: {parts} (total {total / seconds:.2f}); CPU per {unit}: {1000 * total / count:.2f} ms"
    )


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} cores"
