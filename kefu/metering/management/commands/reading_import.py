"""Import a handheld's results file for a reading plan: every row checked, all or nothing (or --partial)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kefu.grid.management.commands._actor import command_actor, file_refusals
from kefu.metering.imports import read_table, reading_import
from kefu.metering.models import ReadingPlan


class Command(BaseCommand):
    help = "Import readings from a .csv (UTF-8 or GBK) or .xlsx results file; nothing is saved if any row is bad."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=".csv or .xlsx results file")
        parser.add_argument("--plan", type=int, required=True, help="reading plan id")
        parser.add_argument("--partial", action="store_true", help="apply the good rows, report the bad ones")
        parser.add_argument("--actor", help="import as this staff member (their roles and scope)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(options.get("actor"))
        plan = ReadingPlan.objects.select_related("route__unit").filter(pk=options["plan"]).first()
        if plan is None:
            raise CommandError(_("No reading plan %(id)s.") % {"id": options["plan"]})
        name = options["file"]
        with file_refusals(name):
            rows = read_table(name)
            report = reading_import(actor=actor, plan=plan, rows=rows, name=Path(name).name,
                                    partial=options["partial"])
        for line in report.lines():
            self.stdout.write(line)
        if report.errors and not options["partial"]:
            raise CommandError(_("%(count)d errors; nothing was imported.") % {"count": len(report.errors)})
