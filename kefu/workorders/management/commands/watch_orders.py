"""Raise time-limit warnings and overdue marks; with --loop keeps watching. Safe as several copies."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kefu.workorders.watcher import workorder_watch


class Command(BaseCommand):
    help = "Raise work-order time-limit warnings and mark overdue orders (safe to run as several copies)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running, polling every --interval seconds")
        parser.add_argument("--interval", type=float, default=15.0)
        parser.add_argument("--batch", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            report = workorder_watch(batch=options["batch"])
            if report.orders or not options["loop"]:
                self.stdout.write(
                    f"orders={report.orders} warnings={report.warnings} overdue={report.overdue} "
                    f"lost_claims={report.lost_claims}"
                )
            if not options["loop"]:
                return
            if report.orders < options["batch"]:
                time.sleep(options["interval"])
