"""Bulk reading import: a month of readings from the head-end system of smart meters, or every handheld
of a company at once — a million rows in seconds, with the same rules as one reading on a page.

The file is parsed and checked row by row in Python (cheap checks only: numbers, dates, sources),
then loaded into a temporary table (``COPY`` on PostgreSQL) and everything else is set-based:
unknown meters, duplicates in the file and meters outside the user's area are found with a join; the
history the rules need (previous billable reading, the average of the last months, the same month
last year, zero and estimated runs) is aggregated with window functions per chunk of rows; the
readings and their exceptions are written with ``INSERT … SELECT``. Rows for a month that already
has a reading keep their usual meaning: the same value is a no-op, another value or a re-read goes
through ``services.reading_record`` one by one (there are few of those).

The rules are the ones of ``validation.check``, written a second time as SQL conditions; the test
suite runs both over the same random histories and requires the same findings (decision 0013).

All or nothing: any bad row and nothing is applied, unless ``partial`` (the bad rows are still
reported). One transaction; a re-import of the same file changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import ApplicationError, InvalidInput
from kefu.core.tabular import column_message, csv_text
from kefu.customers.models import Premise, ServicePoint
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import require

from . import services, validation
from .choices import BILLABLE, MeterState, ReadingState, Resolution, Rule, Source
from .imports import _REGISTERS, _SOURCES, READING_COLUMNS, RowError, _date, _header_name, error_lines, outcome_lines
from .models import ImportBatch, Meter, MeterEvent, PlanItem, Reading, ReadingException, ReadingPlan

REQUIRED = ("meter", "reading", "read_on")
_VALUE = re.compile(r"\d{1,12}(?:\.\d{1,2})?")
STAGE, CAND, CALC = "kefu_bulk_stage", "kefu_bulk_cand", "kefu_bulk_calc"


@dataclass
class BulkReport:
    partial: bool = False
    rows: int = 0
    applied: int = 0  # readings created
    unchanged: int = 0  # the same value was already there
    one_by_one: int = 0  # rows for a month already read, through the single-reading path
    exceptions: int = 0  # exceptions raised for the data analyst
    by_rule: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # time per stage, for the benchmark
    batch: ImportBatch | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, row: int, field_name: str, message: str) -> None:
        self.errors.append(RowError(row, field_name, message))

    def lines(self, limit: int = 200) -> list[str]:
        return error_lines(self.errors, limit) + outcome_lines(
            self.errors, partial=self.partial, rows=self.rows, applied=self.applied + self.one_by_one,
            unchanged=self.unchanged, exceptions=self.exceptions)


# --------------------------------------------------------------------------- parsing


def csv_records(file: str | Path | bytes | IO[bytes]) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {column: text}) for each non-empty row of a CSV file in UTF-8 or GBK, Chinese or
    English headers. Wrong or missing columns raise ``InvalidInput`` naming them."""
    data = Path(file).read_bytes() if isinstance(file, (str, Path)) else file if isinstance(file, bytes) \
        else file.read()
    reader = csv.reader(io.StringIO(csv_text(data), newline=""))
    number = 0
    header: list[str | None] | None = None
    for number, cells in enumerate(reader, start=1):  # noqa: B007 - the number is used after the loop
        if any(c.strip() for c in cells):
            texts = [c.replace("\ufeff", "").strip() for c in cells]
            header = [_header_name(c) if c else None for c in texts]
            unknown = [c for c, name in zip(texts, header, strict=True) if c and name is None]
            present = [h for h in header if h]
            missing = [c for c in REQUIRED if c not in present]
            doubled = sorted({h for h in present if present.count(h) > 1})
            if unknown or missing or doubled:
                raise InvalidInput({"file": [column_message(READING_COLUMNS, REQUIRED, unknown, missing, doubled)]})
            break
    if header is None:
        raise InvalidInput({"file": [_("The file is empty.")]})
    names = [(i, name) for i, name in enumerate(header) if name]
    for n, cells in enumerate(reader, start=number + 1):
        if not cells or not any(cells):
            continue
        yield n, {name: cells[i].strip() if i < len(cells) else "" for i, name in names}


class _Staged(NamedTuple):  # a tuple: a million of them are made
    n: int
    serial: str
    register: int
    value: str
    read_on: dt.date
    period: dt.date
    year_ago: dt.date
    source: str
    multiplier: str | None


def _parse(n: int, row: dict[str, str], today: dt.date, period: dt.date | None, default_source: str,
           report: BulkReport) -> _Staged | None:
    """The cheap per-row checks; the meter itself is checked set-based afterwards."""
    bad = False
    serial = row.get("meter", "")
    if not serial:
        report.add(n, "meter", _("The meter number is missing."))
        bad = True
    elif len(serial) > 32:
        report.add(n, "meter", _("Unknown meter number %(serial)s.") % {"serial": serial[:40]})
        bad = True
    text = row.get("reading", "").replace(",", "")
    if not _VALUE.fullmatch(text):
        bad = True
        if not text:
            report.add(n, "reading", _("The reading is missing."))
        else:
            try:
                services.parse_value(text, "reading")
            except InvalidInput as exc:
                report.add(n, "reading", str(exc.errors["reading"][0]))
            else:  # e.g. "007.5": a number, just not in the plain form
                text = str(Decimal(text))
                bad = False
    day_text = row.get("read_on", "")
    try:
        read_on: dt.date | None = dt.date.fromisoformat(day_text[:10])
    except ValueError:
        read_on = _date(day_text)
    if not day_text:
        report.add(n, "read_on", _("The reading date is missing."))
    elif read_on is None:
        report.add(n, "read_on", _("Give the date as YYYY-MM-DD."))
    elif read_on > today:
        report.add(n, "read_on", _("A reading cannot be dated in the future."))
        read_on = None
    elif period is not None and read_on < period:
        report.add(n, "read_on", _("The reading is dated before the plan's month %(month)s.") % {
            "month": f"{period:%Y-%m}"})
        read_on = None
    source_text = row.get("source", "")
    source = (_SOURCES.get(source_text.lower()) or _SOURCES.get(source_text) or
              (source_text if source_text in Source.values else None)) if source_text else default_source
    if source is None:
        report.add(n, "source", _("The source must be actual, estimated or customer (实抄, 估抄, 自报)."))
    register_text = row.get("register", "")
    register = 0
    if register_text:
        found = _REGISTERS.get(register_text.lower())
        register = found if found is not None else int(register_text) if register_text.isdigit() else -1
        if not 0 <= register <= 4:
            report.add(n, "register", _("Meter %(serial)s has no register %(register)s.") % {
                "serial": serial, "register": register_text})
            bad = True
    multiplier = row.get("multiplier") or None
    if multiplier is not None:
        try:
            if not Decimal(multiplier.replace(",", "")) > 0:
                raise ArithmeticError
            multiplier = str(Decimal(multiplier.replace(",", "")))
        except (ArithmeticError, ValueError):
            report.add(n, "multiplier", _("The multiplier must be a positive number."))
            bad = True
    if bad or read_on is None or source is None:
        return None
    month, year_ago = _months(period or read_on.replace(day=1))
    return _Staged(n, serial, register, text, read_on, month, year_ago, source, multiplier)


@functools.cache
def _months(month: dt.date) -> tuple[dt.date, dt.date]:
    return month, month.replace(year=month.year - 1)


# --------------------------------------------------------------------------- SQL helpers


def _t(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _text(expr: str) -> str:
    return f"CAST({expr} AS TEXT)"


def _sql_format(template: str, exprs: dict[str, str]) -> tuple[str, list[Any]]:
    """A translated ``%(name)s`` message as an SQL concatenation of its literal parts and expressions."""
    parts: list[str] = []
    params: list[Any] = []
    for i, piece in enumerate(re.split(r"%\((\w+)\)[sd]", template)):
        if i % 2:
            parts.append(_text(exprs[piece]))
        elif piece:
            parts.append("%s")
            params.append(piece.replace("%%", "%"))
    return " || ".join(parts) or "''", params


def _json(pairs: dict[str, str]) -> str:
    inner = ", ".join(f"'{k}', {_text(v)}" for k, v in pairs.items())
    return f"jsonb_build_object({inner})" if _pg() else f"json_object({inner})"


def _load_stage(cursor: Any, rows: list[_Staged]) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
    cursor.execute(
        f"CREATE TEMP TABLE {STAGE} (n integer PRIMARY KEY, serial varchar(32) NOT NULL, register smallint NOT NULL, "
        "value numeric(14, 2) NOT NULL, read_on date NOT NULL, period date NOT NULL, year_ago date NOT NULL, "
        "source varchar(10) NOT NULL, multiplier numeric(10, 2))")
    cols = "n, serial, register, value, read_on, period, year_ago, source, multiplier"
    if _pg():
        with cursor.cursor.copy(f"COPY {STAGE} ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r.n, r.serial, r.register, r.value, r.read_on, r.period, r.year_ago, r.source,
                                r.multiplier))
    else:
        cursor.executemany(f"INSERT INTO {STAGE} ({cols}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                           [(r.n, r.serial, r.register, r.value, r.read_on.isoformat(), r.period.isoformat(),
                             r.year_ago.isoformat(), r.source, r.multiplier) for r in rows])
    cursor.execute(f"ANALYZE {STAGE}")


def _candidates(cursor: Any, actor: Any) -> None:
    """Each staged row with its meter, service point, unit, plan and any reading already there."""
    scope, params = "TRUE", []
    if not getattr(actor, "is_superuser", False):
        unit = getattr(actor, "unit", None)
        scope, params = "u.path LIKE %s", [(unit.path if unit is not None else "\x00") + "%"]
    cursor.execute(f"DROP TABLE IF EXISTS {CAND}")
    cursor.execute(
        f"CREATE TEMP TABLE {CAND} AS SELECT s.*, m.id AS meter_id, m.state AS meter_state, m.registers, "
        "m.multiplier AS meter_multiplier, m.digits, m.service_point_id AS sp_id, p.unit_id, "
        f"CASE WHEN {scope} THEN 1 ELSE 0 END AS in_scope, r.id AS existing_id, r.value AS existing_value, "
        "r.state AS existing_state, pi.plan_id, COALESCE(d.first_n, s.n) AS first_n "
        f"FROM {STAGE} s LEFT JOIN {_t(Meter)} m ON m.serial = s.serial "
        f"LEFT JOIN {_t(ServicePoint)} sp ON sp.id = m.service_point_id "
        f"LEFT JOIN {_t(Premise)} p ON p.id = sp.premise_id LEFT JOIN {_t(OrgUnit)} u ON u.id = p.unit_id "
        f"LEFT JOIN {_t(Reading)} r ON r.meter_id = m.id AND r.period = s.period AND r.register = s.register "
        f"LEFT JOIN (SELECT i.meter_id, pl.period, MIN(i.plan_id) AS plan_id FROM {_t(PlanItem)} i "
        f" JOIN {_t(ReadingPlan)} pl ON pl.id = i.plan_id WHERE pl.period IN (SELECT DISTINCT period FROM {STAGE}) "
        " GROUP BY i.meter_id, pl.period) pi "
        " ON pi.meter_id = m.id AND pi.period = s.period "
        # Rows of a meter, register and month that the file holds more than once: the first one is kept.
        f"LEFT JOIN (SELECT serial, register, period, MIN(n) AS first_n FROM {STAGE} "
        " GROUP BY serial, register, period HAVING COUNT(*) > 1) d "
        " ON d.serial = s.serial AND d.register = s.register AND d.period = s.period",
        params)
    cursor.execute(f"ANALYZE {CAND}")


def _set_errors(cursor: Any, report: BulkReport) -> set[int]:
    cursor.execute(
        f"SELECT n, serial, register, meter_id, meter_state, registers, in_scope, first_n FROM {CAND} "
        "WHERE meter_id IS NULL OR in_scope = 0 OR meter_state <> %s OR sp_id IS NULL OR register >= registers "
        "OR n > first_n", [MeterState.INSTALLED])
    bad: set[int] = set()
    for n, serial, register, meter_id, state, registers, in_scope, first_n in cursor.fetchall():
        bad.add(n)
        if meter_id is None or not in_scope:  # another area's meter looks unknown, as everywhere
            report.add(n, "meter", _("Unknown meter number %(serial)s.") % {"serial": serial})
        elif n > first_n:
            report.add(n, "meter", _("Meter %(serial)s appears twice in the file (first in row %(row)d).") % {
                "serial": serial, "row": first_n})
        elif state != MeterState.INSTALLED:
            report.add(n, "meter", _("Meter %(serial)s is not installed anywhere.") % {"serial": serial})
        elif register >= max(registers, 1):
            report.add(n, "register", _("Meter %(serial)s has no register %(register)s.") % {
                "serial": serial, "register": register})
    return bad


# The rules of ``validation.check`` as SQL over the CALC columns (used, avg_used, last_year, zeros,
# estimates); thresholds are bound as parameters.
def _rule_sql(t: validation.Thresholds) -> dict[str, tuple[str, list[Any]]]:
    rules: dict[str, tuple[str, list[Any]]] = {
        Rule.MULTIPLIER_CHANGE: ("multiplier IS NOT NULL AND multiplier <> meter_multiplier", []),
        Rule.BELOW_PREVIOUS: ("used < 0", []),
        Rule.HIGH_AVERAGE: ("used >= 0 AND avg_used > 0 AND used > avg_used * %s", [t.high_average_factor]),
        Rule.HIGH_LAST_YEAR: ("used >= 0 AND last_year > 0 AND used > last_year * %s", [t.high_last_year_factor]),
        Rule.ZERO: ("used = 0 AND zeros = %s", [t.zero_months - 1]),
        Rule.CONSECUTIVE_ESTIMATES: ("(used IS NULL OR used >= 0) AND source = %s AND estimates = %s",
                                    [Source.ESTIMATED, t.estimate_months - 1]),
    }
    return {rule: sql for rule, sql in rules.items() if rule in t.enabled}


def _calc(cursor: Any, t: validation.Thresholds, period: Any, low: int, high: int) -> None:
    """CALC for the candidates of one month and row range: history aggregated with window functions,
    the previous reading (falling back to older readings and to the installation), consumption."""
    billable = ", ".join(["%s"] * len(BILLABLE))
    flag = f"CASE WHEN r.state IN ({billable}) THEN 1 ELSE 0 END"
    used_flag = f"CASE WHEN r.state IN ({billable}) AND r.consumption IS NOT NULL THEN 1 ELSE 0 END"
    rollover = "CAST(substr('10000000000000000', 1, p.digits + 1) AS NUMERIC)"
    # The last billable reading of the year before, else an older one, else the installation's.
    prev = (f"COALESCE(h.prev, (SELECT r.value FROM {_t(Reading)} r WHERE r.meter_id = c.meter_id "
            f"AND r.register = c.register AND r.period < c.year_ago AND r.state IN ({billable}) "
            f"ORDER BY r.period DESC LIMIT 1), (SELECT e.initial_reading FROM {_t(MeterEvent)} e "
            "WHERE e.meter_id = c.meter_id ORDER BY e.installed_on DESC, e.id DESC LIMIT 1))")
    diff = "(p.value - p.prev)"
    cursor.execute(f"DROP TABLE IF EXISTS {CALC}")
    cursor.execute(
        f"CREATE TEMP TABLE {CALC} AS SELECT p.*, "
        f"ROUND(CASE WHEN {diff} < 0 AND p.prev >= {rollover} * 0.9 AND p.value < {rollover} * 0.1 "
        f"THEN {diff} + {rollover} ELSE {diff} END * p.meter_multiplier, 2) AS used FROM ("
        f"SELECT c.*, {prev} AS prev, "
        "h.avg_used, h.last_year, COALESCE(h.zeros, 0) AS zeros, COALESCE(h.estimates, 0) AS estimates FROM "
        f"(SELECT * FROM {CAND} WHERE period = %s AND n BETWEEN %s AND %s AND existing_id IS NULL) c LEFT JOIN ("
        "  SELECT x.n, MAX(CASE WHEN x.billable = 1 AND x.rb = 1 THEN x.value END) AS prev,"
        "  AVG(CASE WHEN x.with_used = 1 AND x.ru <= %s THEN x.consumption END) AS avg_used,"
        "  MAX(CASE WHEN x.billable = 1 AND x.period = x.year_ago THEN x.consumption END) AS last_year,"
        "  SUM(CASE WHEN x.with_used = 1 AND x.ru < %s AND x.consumption = 0 THEN 1 ELSE 0 END) AS zeros,"
        "  SUM(CASE WHEN x.rs < %s AND x.source = %s THEN 1 ELSE 0 END) AS estimates"
        # One sort: the ranks among billable rows and among rows with a consumption are running counts.
        "  FROM (SELECT y.*, SUM(y.billable) OVER w AS rb, SUM(y.with_used) OVER w AS ru, ROW_NUMBER() OVER w AS rs"
        "   FROM (SELECT c2.n, c2.meter_id, c2.register, c2.year_ago, r.period, r.value, r.consumption, r.source,"
        f"    {flag} AS billable, {used_flag} AS with_used"
        f"    FROM {CAND} c2 LEFT JOIN {_t(Reading)} r ON r.meter_id = c2.meter_id AND r.register = c2.register"
        "     AND r.period < c2.period AND r.period >= c2.year_ago"
        "    WHERE c2.period = %s AND c2.n BETWEEN %s AND %s AND c2.existing_id IS NULL) y"
        "   WINDOW w AS (PARTITION BY y.n ORDER BY y.period DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        "  ) x GROUP BY x.n) h ON h.n = c.n) p",
        [*BILLABLE, period, low, high, t.high_average_months,
         t.zero_months, t.estimate_months, Source.ESTIMATED, *BILLABLE, *BILLABLE,
         period, low, high])


def _write(cursor: Any, t: validation.Thresholds, rules: dict[str, tuple[str, list[Any]]], *, batch: ImportBatch,
           reader_id: int | None, now: dt.datetime, report: BulkReport) -> None:
    any_rule = " OR ".join(f"({sql})" for sql, _p in rules.values()) or "FALSE"
    any_params = [p for _s, ps in rules.values() for p in ps]
    cursor.execute(
        f"INSERT INTO {_t(Reading)} (meter_id, service_point_id, period, register, value, previous, consumption, "
        "read_on, source, state, reader_id, plan_id, batch_id, unit_id, created_at) "
        "SELECT meter_id, sp_id, period, register, value, prev, used, read_on, source, "
        f"CASE WHEN {any_rule} THEN %s ELSE %s END, %s, plan_id, %s, unit_id, %s FROM {CALC}",
        [*any_params, ReadingState.EXCEPTION, ReadingState.VALID, reader_id, batch.pk, now])
    report.applied += cursor.rowcount
    details = _details(t)
    for rule, (sql, params) in rules.items():
        (detail, data), text_params = details[rule]
        cursor.execute(
            f"INSERT INTO {_t(ReadingException)} (reading_id, meter_id, period, rule, detail, data, resolution, "
            "note, unit_id, raised_at) "
            f"SELECT (SELECT r.id FROM {_t(Reading)} r WHERE r.meter_id = c.meter_id AND r.period = c.period "
            f"AND r.register = c.register), c.meter_id, c.period, %s, substr({detail}, 1, 300), {data}, %s, '', "
            f"c.unit_id, %s FROM {CALC} c WHERE {sql} ON CONFLICT (meter_id, period, rule) DO NOTHING",
            [rule, *text_params, Resolution.OPEN, now, *params])
        if cursor.rowcount:
            report.by_rule[rule] = report.by_rule.get(rule, 0) + cursor.rowcount
            report.exceptions += cursor.rowcount


def _details(t: validation.Thresholds) -> dict[str, tuple[tuple[str, str], list[Any]]]:
    """Each rule's message (in the active language, as ``validation.check`` words it) and data."""
    def rule(template: str, exprs: dict[str, str], data: dict[str, str]) -> tuple[tuple[str, str], list[Any]]:
        sql, params = _sql_format(template, exprs)
        return (sql, _json(data)), params

    return {
        Rule.MULTIPLIER_CHANGE: rule(_("Multiplier %(given)s on the sheet, %(expected)s on file."),
                                    {"given": "c.multiplier", "expected": "c.meter_multiplier"},
                                    {"given": "c.multiplier", "expected": "c.meter_multiplier"}),
        Rule.BELOW_PREVIOUS: rule(_("Reading %(value)s is below the previous %(previous)s."),
                                 {"value": "c.value", "previous": "c.prev"},
                                 {"value": "c.value", "previous": "c.prev"}),
        Rule.HIGH_AVERAGE: rule(_("Consumption %(used)s is more than %(factor)s× the average %(avg)s."),
                               {"used": "c.used", "factor": f"'{t.high_average_factor}'",
                                "avg": "ROUND(c.avg_used, 2)"},
                               {"used": "c.used", "average": "ROUND(c.avg_used, 2)"}),
        Rule.HIGH_LAST_YEAR: rule(_("Consumption %(used)s is more than %(factor)s× last year's %(last)s."),
                                 {"used": "c.used", "factor": f"'{t.high_last_year_factor}'", "last": "c.last_year"},
                                 {"used": "c.used", "last_year": "c.last_year"}),
        Rule.ZERO: rule(_("No consumption for %(n)d months.") % {"n": t.zero_months}, {},
                        {"months": f"'{t.zero_months}'"}),
        Rule.CONSECUTIVE_ESTIMATES: rule(_("%(n)d estimated readings in a row.") % {"n": t.estimate_months}, {},
                                         {"months": f"'{t.estimate_months}'"}),
    }


# --------------------------------------------------------------------------- the import


def reading_bulk_import(*, actor: Any, records: Iterable[tuple[int, dict[str, str]]], name: str = "",
                        period: dt.date | None = None, source: str = Source.REMOTE, partial: bool = False,
                        chunk: int = 200_000, now: dt.datetime | None = None) -> BulkReport:
    """Check every record, then store the readings and raise their exceptions set-based. ``period``
    fixes the month (otherwise each reading's own month); ``source`` is the default for rows that
    do not say. Returns the report; ``report.batch`` is the ImportBatch when anything was applied."""
    require(actor, Capability.READING_ENTER)
    now = now or timezone.now()
    report = BulkReport(partial=partial)
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        report.seconds[stage] = report.seconds.get(stage, 0.0) + time.perf_counter() - clock
        clock = time.perf_counter()

    today = timezone.localdate(now)
    staged: list[_Staged] = []
    for n, row in records:
        report.rows += 1
        parsed = _parse(n, row, today, period, source, report)
        if parsed is not None:
            staged.append(parsed)
    lap("parse")
    reader_id = actor.pk if getattr(actor, "pk", None) else None
    with transaction.atomic(), connection.cursor() as cursor:
        if _pg():  # the window sorts and hash joins of a chunk fit in memory instead of spilling to disk
            cursor.execute("SET LOCAL work_mem = '512MB'")
        _load_stage(cursor, staged)
        del staged
        lap("load")
        _candidates(cursor, actor)
        bad = _set_errors(cursor, report)
        lap("check")
        if report.errors and not partial:
            _drop(cursor)
            transaction.set_rollback(True)
            return report
        if bad:
            cursor.execute(f"DELETE FROM {CAND} WHERE n IN (SELECT n FROM {CAND} WHERE meter_id IS NULL OR "
                           "in_scope = 0 OR meter_state <> %s OR sp_id IS NULL OR register >= registers "
                           "OR n > first_n)", [MeterState.INSTALLED])
        cursor.execute(f"SELECT COUNT(*) FROM {CAND} WHERE existing_id IS NOT NULL AND existing_value = value "
                       "AND existing_state <> %s", [ReadingState.SUPERSEDED])
        report.unchanged = cursor.fetchone()[0]
        batch = ImportBatch.objects.create(name=(name or _("reading file"))[:200], rows=report.rows,
                                           actor=actor if reader_id else None)
        thresholds = validation.Thresholds.load()
        rules = _rule_sql(thresholds)
        cursor.execute(f"SELECT period, MIN(n), MAX(n), COUNT(*) FROM {CAND} WHERE existing_id IS NULL "
                       "GROUP BY period ORDER BY period")
        # Month by month (an earlier month in the file is history for a later one), in row ranges.
        for month, low, high, count in cursor.fetchall():
            step = max(1, (high - low + 1) * chunk // max(count, 1))
            for start in range(low, high + 1, step):
                _calc(cursor, thresholds, month, start, start + step - 1)
                lap("history")
                _write(cursor, thresholds, rules, batch=batch, reader_id=reader_id, now=now, report=report)
                lap("write")
        _one_by_one(cursor, actor, batch, now, report)
        lap("one_by_one")
        _drop(cursor)
        batch.applied = report.applied + report.one_by_one
        batch.exceptions = report.exceptions
        batch.save(update_fields=["applied", "exceptions"])
    report.batch = batch
    return report


def _one_by_one(cursor: Any, actor: Any, batch: ImportBatch, now: dt.datetime, report: BulkReport) -> None:
    """Rows for a month already read with another value, or sent back for a re-read: the single
    reading path decides (a duplicate exception, or the re-read taking the old reading's place)."""
    cursor.execute(f"SELECT n, meter_id, register, value, read_on, period, source, existing_state FROM {CAND} "
                   "WHERE existing_id IS NOT NULL AND (existing_value <> value OR existing_state = %s) ORDER BY n",
                   [ReadingState.SUPERSEDED])
    rows = cursor.fetchall()
    meters = Meter.objects.in_bulk([r[1] for r in rows])
    for n, meter_id, register, value, read_on, month, source, existing_state in rows:
        try:
            with transaction.atomic():
                recorded = services.reading_record(
                    actor=actor, meter=meters[meter_id], value=Decimal(str(value)).quantize(Decimal("0.01")),
                    read_on=_as_date(read_on), source=source, register=register, period=_as_date(month),
                    batch=batch, now=now)
        except ApplicationError as exc:
            report.add(n, "reading", str(exc.message))
            continue
        report.one_by_one += existing_state == ReadingState.SUPERSEDED  # the re-read took the old one's place
        for exc_row in recorded.exceptions:
            report.by_rule[exc_row.rule] = report.by_rule.get(exc_row.rule, 0) + 1
            report.exceptions += 1


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _drop(cursor: Any) -> None:
    for table in (CALC, CAND, STAGE):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
