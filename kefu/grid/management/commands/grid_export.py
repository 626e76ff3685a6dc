"""Export the topology (or attachments) in the layout grid_import reads."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kefu.grid.exports import export
from kefu.grid.models import GridNode

from ._actor import command_actor


class Command(BaseCommand):
    help = "Export topology nodes (or attachments) to a .csv or .xlsx file that grid_import reads back."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="file to write")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--attachments", action="store_true", help="export attachments instead of nodes")
        parser.add_argument("--root", help="only the subtree of the node with this code")
        parser.add_argument("--user", help="export what this staff member sees")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(options.get("user"))
        root = None
        if options.get("root"):
            root = GridNode.objects.filter(code=options["root"]).first()
            if root is None:
                raise CommandError(_("Unknown topology node %(code)s.") % {"code": options["root"]})
        with open(options["out"], "wb") as out:
            count = export(actor, out, fmt=options["format"], attachments=options["attachments"], root=root)
        self.stdout.write(_("%(count)d rows written to %(name)s.") % {"count": count, "name": options["out"]})
