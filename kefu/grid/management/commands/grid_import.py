"""Import a topology (or, with --attachments, an attachment) file: every row is checked, all or nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kefu.grid.imports import attachments_import, read_table, topology_import

from ._actor import command_actor, file_refusals


class Command(BaseCommand):
    help = "Import topology nodes (or attachments) from a .csv or .xlsx file; nothing is saved if any row is bad."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=".csv (UTF-8 or GBK) or .xlsx file")
        parser.add_argument("--attachments", action="store_true", help="the file holds attachments of service points")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report, save nothing")
        parser.add_argument("--user", help="act as this staff member (their roles and scope)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(options.get("user"))
        kind = "attachments" if options["attachments"] else "topology"
        with file_refusals(options["file"]):
            rows = read_table(options["file"], columns=kind)
            run = attachments_import if options["attachments"] else topology_import
            report = run(actor=actor, rows=rows, dry_run=options["dry_run"])
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(_("%(count)d errors; nothing was imported.") % {"count": len(report.errors)})
