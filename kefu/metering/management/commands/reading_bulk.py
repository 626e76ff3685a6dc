"""Import a large CSV of readings (head-end export, many routes at once) set-based: all or nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kefu.grid.management.commands._actor import command_actor, file_refusals
from kefu.metering.bulk import csv_records, reading_bulk_import
from kefu.metering.choices import Source


class Command(BaseCommand):
    help = "Import readings from a .csv file (UTF-8 or GBK) of any size; nothing is saved if any row is bad."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=".csv file: meter number, register, reading, date, source")
        parser.add_argument("--month", help="the month the readings are for (YYYY-MM); default: each row's own")
        parser.add_argument("--source", default=Source.REMOTE, choices=Source.values,
                            help="source of rows that do not say (default: remote)")
        parser.add_argument("--partial", action="store_true", help="apply the good rows, report the bad ones")
        parser.add_argument("--actor", help="import as this staff member (their roles and scope)")
        parser.add_argument("--chunk", type=int, default=200_000, help="rows per set-based step")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(options.get("actor"))
        month = None
        if options.get("month"):
            try:
                month = date.fromisoformat(options["month"] + "-01")
            except ValueError as exc:
                raise CommandError(_("Give the month as YYYY-MM.")) from exc
        name = options["file"]
        with file_refusals(name):
            report = reading_bulk_import(actor=actor, records=csv_records(name), name=Path(name).name, period=month,
                                         source=options["source"], partial=options["partial"],
                                         chunk=options["chunk"])
        for line in report.lines():
            self.stdout.write(line)
        if report.by_rule:
            self.stdout.write(", ".join(f"{rule}: {count}" for rule, count in sorted(report.by_rule.items())))
        if report.errors and not options["partial"]:
            raise CommandError(_("%(count)d errors; nothing was imported.") % {"count": len(report.errors)})
