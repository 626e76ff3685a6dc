"""Raise missing readings for plans whose window has closed and close them. Run once a day (cron or a
systemd timer); safe as several copies and to run again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kefu.metering.plans import missing_raise


class Command(BaseCommand):
    help = ("For reading plans whose window closed before the day (today by default): put every planned meter "
            "without a reading into the exceptions queue (rule: missing) and close the plan.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", help="YYYY-MM-DD: plans whose window closed before this day (default today)")

    def handle(self, *args: Any, **options: Any) -> None:
        day = None
        if options.get("day"):
            try:
                day = dt.date.fromisoformat(options["day"])
            except ValueError as exc:
                raise CommandError(_("Give the day as YYYY-MM-DD.")) from exc
        report = missing_raise(day=day)
        self.stdout.write(_("Day %(day)s: %(plans)d plans closed, %(raised)d missing readings raised, %(settled)d "
                            "settled by late readings.") % {"day": report.day.isoformat(), "plans": report.plans,
                                                             "raised": report.raised, "settled": report.settled})
        if not report.enabled:
            self.stdout.write(_("The missing-reading rule is switched off: no exception was raised."))
