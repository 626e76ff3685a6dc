"""Export a reading plan for the handheld device (CSV or Excel), in the layout reading_import reads."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kefu.core.errors import ApplicationError
from kefu.grid.management.commands._actor import command_actor
from kefu.metering.exports import plan_export
from kefu.metering.models import ReadingPlan


class Command(BaseCommand):
    help = "Write a reading plan's route (walking order, meters, previous readings, expected range) to a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--plan", type=int, required=True, help="reading plan id")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--out", required=True, help="file to write")
        parser.add_argument("--actor", help="export as this staff member (their roles and scope)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(options.get("actor"))
        plan = ReadingPlan.objects.select_related("route__unit").filter(pk=options["plan"]).first()
        if plan is None:
            raise CommandError(_("No reading plan %(id)s.") % {"id": options["plan"]})
        try:
            with open(options["out"], "wb") as out:
                count = plan_export(actor=actor, plan=plan, out=out, fmt=options["format"])
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        except OSError as exc:
            raise CommandError(_("Cannot write %(name)s: %(reason)s") % {"name": options["out"],
                                                                          "reason": exc.strerror}) from exc
        self.stdout.write(_("%(count)d rows written to %(name)s.") % {"count": count, "name": options["out"]})
