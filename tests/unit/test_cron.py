"""Cron expressions -> the longest interval between runs, Go durations, and the
schedule facts derived for Velero Schedules, CronJobs and CloudNativePG ScheduledBackups."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.engine.cron import (
    CronError,
    is_backup_cronjob,
    max_interval_minutes,
    parse_go_duration,
    schedule_facts,
)
from scanner.model import Origin, Platform, Resource


@pytest.mark.parametrize(("expression", "minutes"), [
    ("*/15 * * * *", 15),
    ("0,30 * * * *", 30),
    ("5/20 * * * *", 20),  # "N/step" is "N-59/step": 5, 25, 45, then 05 of the next hour
    ("10-50/20 * * * *", 20),  # 10, 30, 50, then 10 of the next hour
    ("0-10 * * * *", 50),  # 10 past to the next hour
    ("0 */6 * * *", 360),
    ("0 2 * * *", 1440),
    ("0 9-17 * * 1-5", 3840),  # Friday 17:00 to Monday 09:00
    ("0 8-18 * * MON-FRI", 3720),
    ("30 1 * * SUN,WED", 5760),  # Wednesday to Sunday
    ("0 0 * * 7", 10080),  # 7 is Sunday
    ("0 0 1,15 * 1", 10080),  # day-of-month OR day-of-week: the 1st, the 15th or any Monday
    ("0 0 */2 * 1", 2880),  # a stepped day-of-month is restricted, so OR applies too
    ("0 0 1 * *", 44640),  # 31-day months
    ("0 0 1 JAN,JUL *", 264960),  # 1 July to 1 January: 184 days
    ("0 0 29 2 *", 2103840),  # leap days, four years apart
    ("@hourly", 60),
    ("@daily", 1440),
    ("@midnight", 1440),
    ("@weekly", 10080),
    ("@monthly", 44640),
    ("@yearly", 527040),  # 366 days across a leap year
    ("@annually", 527040),
    ("@every 1h30m", 90),
    ("@every 45s", 1),  # rounded up to whole minutes
    ("CRON_TZ=Europe/Paris 0 3 * * *", 1440),
    ("TZ=UTC */10 * * * *", 10),
    ("? * * * *", 1),
])
def test_five_field_expressions_and_macros(expression: str, minutes: int) -> None:
    assert max_interval_minutes(expression) == minutes


@pytest.mark.parametrize(("expression", "minutes"), [
    ("0 */5 * * * *", 5),
    ("0 0 0 * * *", 1440),
    ("*/30 * * * * *", 1),  # every 30 seconds, rounded up
    ("0 0 */6 * * *", 360),
    ("@daily", 1440),
])
def test_six_field_expressions_with_seconds(expression: str, minutes: int) -> None:
    assert max_interval_minutes(expression, seconds_field=True) == minutes


def test_six_fields_are_detected_when_not_told() -> None:
    assert max_interval_minutes("0 */5 * * * *") == 5


@pytest.mark.parametrize(("expression", "seconds_field", "message"), [
    ("* * *", None, "'* * *' has 3 fields; expected 5"),
    ("*/5 * * * *", True, "'*/5 * * * *' has 5 fields; expected 6"),
    ("61 * * * *", None, "minute field: 61 is outside 0-59"),
    ("0 24 * * *", None, "hour field: 24 is outside 0-23"),
    ("0 0 0 * *", None, "day-of-month field: 0 is outside 1-31"),
    ("0 0 * 13 *", None, "month field: 13 is outside 1-12"),
    ("0 0 * * FUN", None, "day-of-week field: 'FUN' is not a number"),
    ("*/0 * * * *", None, "minute field: bad step '0'"),
    ("30-10 * * * *", None, "minute field: range '30-10' runs backwards"),
    ("0 0 30 2 *", None, "'0 0 30 2 *' never fires (or fires less than once in four years)"),
    ("@fortnightly", None, "'@fortnightly': unknown macro @fortnightly"),
    ("@every 0s", None, "'@every 0s': @every needs a positive duration"),
    ("@every soon", None, "'soon' is not a Go duration (like 1h30m)"),
])
def test_invalid_expressions_say_why(expression: str, seconds_field: bool | None, message: str) -> None:
    with pytest.raises(CronError) as raised:
        max_interval_minutes(expression, seconds_field)
    assert str(raised.value) == message


@pytest.mark.parametrize(("text", "seconds"), [
    ("720h0m0s", 2592000.0), ("1h30m", 5400.0), ("90m", 5400.0), ("1.5h", 5400.0),
    ("500ms", 0.5), ("0", 0.0), ("-1h", -3600.0),
])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "10", "1d", "1h 30m"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(CronError):
        parse_go_duration(text)


def k8s(body: dict[str, Any]) -> Resource:
    return Resource(Platform.KUBERNETES, body["kind"], body["metadata"]["name"], body, Origin("x.yaml"))


def cronjob(name: str, container: dict[str, Any], schedule: str | None = "0 * * * *") -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [container]}}}}}}


@pytest.mark.parametrize(("body", "expected"), [
    (cronjob("nightly-backup", {"name": "x", "image": "alpine:3"}), True),
    (cronjob("dump", {"name": "x", "image": "postgres:16", "command": ["sh", "-c", "pg_dump odoo"]}), True),
    (cronjob("sync", {"name": "x", "image": "restic/restic:0.17"}), True),
    (cronjob("base", {"name": "x", "image": "postgres:16", "args": ["pg_basebackup", "-D", "/b"]}), True),
    (cronjob("mail", {"name": "x", "image": "odoo:17", "args": ["--process-mail"]}), False),
])
def test_backup_cronjobs_are_recognized(body: dict[str, Any], expected: bool) -> None:
    assert is_backup_cronjob(body) is expected


def test_facts_of_a_velero_schedule() -> None:
    body = {"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "erp"},
            "spec": {"schedule": "*/15 * * * *", "template": {"ttl": "840h0m0s"}}}
    assert schedule_facts(k8s(body)) == {
        "schedule": {"expression": "*/15 * * * *", "maxIntervalMinutes": 15, "error": None,
                     "gap": "15 minutes (spec.schedule '*/15 * * * *')"},
        "velero": {"ttlHours": 840, "ttlExplicit": True},
    }


def test_a_velero_schedule_without_ttl_gets_the_server_default() -> None:
    body = {"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "erp"},
            "spec": {"schedule": "@every 90m", "template": {}}}
    assert schedule_facts(k8s(body)) == {
        "schedule": {"expression": "@every 90m", "maxIntervalMinutes": 90, "error": None,
                     "gap": "90 minutes (spec.schedule '@every 90m')"},
        "velero": {"ttlHours": 720, "ttlExplicit": False},
    }


def test_an_unparseable_ttl_is_unknown() -> None:
    body = {"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "erp"},
            "spec": {"schedule": "0 1 * * *", "template": {"ttl": "30 days"}}}
    assert schedule_facts(k8s(body))["velero"] == {"ttlHours": None, "ttlExplicit": True}


def test_cnpg_schedules_have_a_seconds_field() -> None:
    body = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup", "metadata": {"name": "db"},
            "spec": {"schedule": "0 0 */6 * * *", "cluster": {"name": "db"}}}
    assert schedule_facts(k8s(body)) == {
        "schedule": {"expression": "0 0 */6 * * *", "maxIntervalMinutes": 360, "error": None,
                     "gap": "360 minutes (spec.schedule '0 0 */6 * * *')"}}


def test_a_bad_expression_is_reported_not_raised() -> None:
    facts = schedule_facts(k8s(cronjob("db-backup", {"name": "x", "image": "alpine"}, schedule="61 * * * *")))
    assert facts == {"backupJob": True, "schedule": {"expression": "61 * * * *", "maxIntervalMinutes": None,
                                                     "error": "minute field: 61 is outside 0-59",
                                                     "gap": "unknown: spec.schedule '61 * * * *' is not a valid "
                                                            "cron expression (minute field: 61 is outside 0-59)"}}


def test_other_schedule_kinds_have_no_facts() -> None:
    body = {"apiVersion": "example.com/v1", "kind": "Schedule", "metadata": {"name": "shifts"},
            "spec": {"schedule": "0 6 * * 1"}}
    assert schedule_facts(k8s(body)) == {}


def test_a_schedule_that_is_not_a_string_has_no_gap() -> None:
    facts = schedule_facts(k8s(cronjob("db-backup", {"name": "x", "image": "alpine"}, schedule=None)))
    assert facts["schedule"]["gap"] == "unknown: spec.schedule is missing or not a string"
