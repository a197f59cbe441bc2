"""Backup schedules: the longest interval, in minutes, between two runs of a cron
schedule (and Go durations, which Velero uses for `@every` and for `ttl`), and the
derived facts the disaster-recovery policies read from Velero `Schedule`, backup
`CronJob` and CloudNativePG `ScheduledBackup` objects.

DR-K8S-002 compares that interval with the tier's RPO: a backup that runs every six
hours cannot meet a 30-minute recovery point, whatever its retention.

Semantics follow the cron library that Kubernetes CronJobs, Velero Schedules and
CloudNativePG ScheduledBackups all use (robfig/cron v3, see
https://pkg.go.dev/github.com/robfig/cron/v3 and
https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax):

- five fields `minute hour day-of-month month day-of-week`, or six with a leading
  seconds field (CloudNativePG: https://cloudnative-pg.io/documentation/current/backup/#scheduled-backups);
- lists (`1,15`), ranges (`1-5`), steps (`*/15`, `10-50/20`, `5/10` = `5-max/10`),
  names (`JAN`, `MON`), `?` as `*`, day-of-week 7 as Sunday;
- day-of-month and day-of-week: when both are restricted a day matches either (OR);
  when one is `*` (or `?`) only the other counts;
- macros `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`
  and `@every <duration>`; a `CRON_TZ=`/`TZ=` prefix is ignored (a time zone does not
  change the interval, daylight-saving jumps aside).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import re
from typing import Any

from scanner.model import Resource

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {name: i for i, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_WEEKDAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
# (low, high, names) per field, seconds first.
_Bounds = tuple[int, int, dict[str, int]]
_SECOND: _Bounds = (0, 59, {})
_MINUTE: _Bounds = (0, 59, {})
_HOUR: _Bounds = (0, 23, {})
_DOM: _Bounds = (1, 31, {})
_MONTH: _Bounds = (1, 12, _MONTHS)
_DOW: _Bounds = (0, 7, _WEEKDAYS)  # 7 is Sunday too, folded to 0 below
# Nine years from a leap year: every schedule (Feb 29 included) repeats at least twice.
_WINDOW_START = dt.date(2024, 1, 1)
_WINDOW_DAYS = (dt.date(2033, 1, 1) - _WINDOW_START).days
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")


class CronError(ValueError):
    """The expression is not a valid schedule (or never fires)."""


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string (`720h0m0s`, `1h30m`, `90m`, `1.5h`)."""
    value = text.strip()
    sign = -1.0 if value.startswith("-") else 1.0
    value = value.lstrip("+-")
    if value == "0":
        return 0.0
    total, pos = 0.0, 0
    for m in _GO_PART.finditer(value):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    if not value or pos != len(value):
        raise CronError(f"'{text.strip()}' is not a Go duration (like 1h30m)")
    return sign * total


def _parse_field(text: str, bounds: _Bounds, label: str) -> tuple[set[int], bool]:
    """(allowed values, whether the field is unrestricted, i.e. `*` or `?`)."""
    low, high, names = bounds

    def number(token: str) -> int:
        upper = token.upper()
        if upper in names:
            return names[upper]
        if not token.isdigit():
            raise CronError(f"{label} field: '{token}' is not a number")
        value = int(token)
        if not low <= value <= high:
            raise CronError(f"{label} field: {value} is outside {low}-{high}")
        return value

    values: set[int] = set()
    star = True
    for part in text.split(","):
        range_text, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{label} field: bad step '{step_text}'")
            step = int(step_text)
        if range_text in ("*", "?"):
            start, end = low, high
        else:
            first, dash, last = range_text.partition("-")
            start = number(first)
            # "N/step" means "N-max/step"; a plain "N" is one value.
            end = number(last) if dash else (high if step_text else start)
            if end < start:
                raise CronError(f"{label} field: range '{range_text}' runs backwards")
        # Only a whole-range `*` (step 1) leaves the field unrestricted (robfig's star bit).
        star = star and range_text in ("*", "?") and step == 1
        values.update(range(start, end + 1, step))
    if not values:
        raise CronError(f"{label} field '{text}' is empty")
    return values, star


def _strip(expression: str) -> str:
    text = expression.strip()
    if text.startswith(("CRON_TZ=", "TZ=")):
        text = text.split(None, 1)[1] if " " in text else ""
    return text.strip()


@functools.lru_cache(maxsize=4096)  # pure; fleets share a handful of schedules
def max_interval_seconds(expression: str, seconds_field: bool | None = None) -> float:
    """The longest gap between two consecutive runs, in seconds.

    `seconds_field`: True for six-field expressions with seconds first (CloudNativePG),
    False for the five-field form, None to decide by the number of fields.
    """
    text = _strip(expression)
    if text.startswith("@every"):
        every = parse_go_duration(text[len("@every"):])
        if every <= 0:
            raise CronError(f"'{expression}': @every needs a positive duration")
        return every
    macro = _MACROS.get(text.lower())
    if macro is not None:
        fields = ["0", *macro.split()]  # a macro fires at second 0 in either form
    elif text.startswith("@"):
        raise CronError(f"'{expression}': unknown macro {text.split()[0]}")
    else:
        fields = text.split()
        if seconds_field is None:
            seconds_field = len(fields) == 6
        want = 6 if seconds_field else 5
        if len(fields) != want:
            raise CronError(f"'{expression}' has {len(fields)} fields; expected {want}")
        if not seconds_field:
            fields = ["0", *fields]
    seconds, _ = _parse_field(fields[0], _SECOND, "second")
    minutes, _ = _parse_field(fields[1], _MINUTE, "minute")
    hours, _ = _parse_field(fields[2], _HOUR, "hour")
    doms, dom_star = _parse_field(fields[3], _DOM, "day-of-month")
    months, _ = _parse_field(fields[4], _MONTH, "month")
    dows, dow_star = _parse_field(fields[5], _DOW, "day-of-week")
    dows = {0 if d == 7 else d for d in dows}

    times = sorted(h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds)
    gap = max((b - a for a, b in itertools.pairwise(times)), default=0)

    def day_matches(day: dt.date) -> bool:
        if day.month not in months:
            return False
        dom_ok = day.day in doms
        dow_ok = (day.isoweekday() % 7) in dows  # isoweekday: Monday 1 .. Sunday 7
        if dom_star or dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok

    days = [i for i in range(_WINDOW_DAYS) if day_matches(_WINDOW_START + dt.timedelta(days=i))]
    if len(days) < 2:
        raise CronError(f"'{expression}' never fires (or fires less than once in four years)")
    longest_day_gap = max(b - a for a, b in itertools.pairwise(days))
    return float(max(gap, longest_day_gap * 86400 + times[0] - times[-1]))


def max_interval_minutes(expression: str, seconds_field: bool | None = None) -> int:
    """The longest gap between two consecutive runs, in whole minutes (rounded up)."""
    return math.ceil(max_interval_seconds(expression, seconds_field) / 60)


# A CronJob is taken for a backup job when its name says so or its containers run a
# backup tool: PostgreSQL dumps, Barman, Velero, restic or Kopia.
_BACKUP_WORDS = ("backup", "pg_dump", "pg_basebackup", "barman", "velero", "restic", "kopia")
VELERO_DEFAULT_TTL_HOURS = 720.0  # Velero's server default (--default-backup-ttl 720h)


def is_velero_schedule(body: dict[str, Any]) -> bool:
    return body.get("kind") == "Schedule" and str(body.get("apiVersion", "")).startswith("velero.io/")


def is_cnpg(body: dict[str, Any], kind: str) -> bool:
    return body.get("kind") == kind and str(body.get("apiVersion", "")).startswith("postgresql.cnpg.io/")


def is_backup_cronjob(body: dict[str, Any]) -> bool:
    """Whether a CronJob is a backup job (by its name, images, commands and arguments)."""
    if body.get("kind") != "CronJob":
        return False
    meta = body.get("metadata")
    words = [str(meta.get("name", ""))] if isinstance(meta, dict) else []
    spec = _dig(body, ("spec", "jobTemplate", "spec", "template", "spec"))
    for list_name in ("initContainers", "containers"):
        containers = spec.get(list_name) if isinstance(spec, dict) else None
        for container in containers if isinstance(containers, list) else []:
            if not isinstance(container, dict):
                continue
            words.append(str(container.get("image", "")))
            for key in ("command", "args"):
                value = container.get(key)
                if isinstance(value, list):
                    words.extend(str(v) for v in value)
    text = " ".join(words).lower()
    return any(word in text for word in _BACKUP_WORDS)


def _dig(body: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        body = body.get(step) if isinstance(body, dict) else None
    return body


def schedule_facts(resource: Resource) -> dict[str, Any]:
    """Deriver (see scanner/engine/derived.py) for CronJob, Velero Schedule and
    CloudNativePG ScheduledBackup: `schedule` {expression, maxIntervalMinutes, error},
    `backupJob` (CronJob), `velero` {ttlHours, ttlExplicit} (Velero Schedule)."""
    body = resource.body
    facts: dict[str, Any] = {}
    if resource.type == "CronJob":
        facts["backupJob"] = is_backup_cronjob(body)
    elif not (is_velero_schedule(body) or is_cnpg(body, "ScheduledBackup")):
        return facts
    expression = _dig(body, ("spec", "schedule"))
    schedule: dict[str, Any] = {"expression": expression, "maxIntervalMinutes": None, "error": None}
    if isinstance(expression, str):
        try:
            # CloudNativePG schedules have six fields, seconds first.
            seconds = True if resource.type == "ScheduledBackup" else None
            schedule["maxIntervalMinutes"] = max_interval_minutes(expression, seconds)
        except CronError as exc:
            schedule["error"] = str(exc)
    else:
        schedule["error"] = "spec.schedule is missing or not a string"
    # The gap as a message shows it: the figure with the expression it came from, or why
    # there is no figure.
    if schedule["error"] is None:
        schedule["gap"] = f"{schedule['maxIntervalMinutes']} minutes (spec.schedule '{expression}')"
    elif isinstance(expression, str):
        schedule["gap"] = f"unknown: spec.schedule '{expression}' is not a valid cron expression ({schedule['error']})"
    else:
        schedule["gap"] = f"unknown: {schedule['error']}"
    facts["schedule"] = schedule
    if is_velero_schedule(body):
        ttl = _dig(body, ("spec", "template", "ttl"))
        hours: float | None = VELERO_DEFAULT_TTL_HOURS
        if ttl is not None:
            try:
                hours = parse_go_duration(str(ttl)) / 3600
            except CronError:
                hours = None
        if hours is not None and hours.is_integer():
            hours = int(hours)  # "720", not "720.0", in messages
        facts["velero"] = {"ttlHours": hours, "ttlExplicit": ttl is not None}
    return facts
