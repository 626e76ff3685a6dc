"""Send queued notifications; with --loop keeps polling. Safe to run as several copies."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kefu.core.notify import outbox_send_due


class Command(BaseCommand):
    help = "Send queued SMS and e-mail notifications (safe to run as several copies)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running, polling every --interval seconds")
        parser.add_argument("--interval", type=float, default=5.0)
        parser.add_argument("--batch", type=int, default=100)

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            sent, failed = outbox_send_due(batch=options["batch"])
            if sent or failed or not options["loop"]:
                self.stdout.write(f"sent={sent} failed={failed}")
            if not options["loop"]:
                return
            if sent < options["batch"]:
                time.sleep(options["interval"])
