"""``kefu cti_simulate ring|answer|end``: play the telephone system by hand.

Sends one event through ``desk.services.cti_receive`` as the telephone system's integration account
(the demo's ``cti`` user), exactly as ``POST /api/v1/cti/events/`` would, so an agent signed in at
the extension sees the call pop on /desk/. Prints the call id first, for the next step::

    kefu cti_simulate ring --extension 8001 --caller 13800000000
    kefu cti_simulate answer --extension 8001 --call-id SIM-…
    kefu cti_simulate end --extension 8001 --call-id SIM-…
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kefu.core.errors import ApplicationError, InvalidInput
from kefu.desk.choices import CallState, CtiKind, EndReason
from kefu.desk.models import Call
from kefu.desk.services import CtiInput, cti_receive
from kefu.org.choices import Role
from kefu.org.models import Staff

ACTIONS = {"ring": CtiKind.RINGING, "answer": CtiKind.ANSWERED, "end": CtiKind.ENDED, "ivr": CtiKind.IVR}


class Command(BaseCommand):
    help = "Send a telephone event (ring, answer, end) for an extension, as the telephone system would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=list(ACTIONS), help="ring, answer or end (ivr: an IVR choice)")
        parser.add_argument("--extension", default="", help="the agent's extension, e.g. 8001")
        parser.add_argument("--caller", default="", help="the caller's number as the exchange shows it")
        parser.add_argument("--called", default="95598", help="the hotline number dialled (default 95598)")
        parser.add_argument("--call-id", default="",
                            help="the call; default: a new id for ring, the live call at the extension otherwise")
        parser.add_argument("--account", default="", help="account number keyed in at the IVR")
        parser.add_argument("--reason", default="", choices=["", *EndReason.values],
                            help="why the call ended (end only)")
        parser.add_argument("--ivr-choice", default="", help="the IVR menu choice (ivr only)")
        parser.add_argument("--as", dest="username", default="",
                            help="the integration account to send as (default: the first telephony account)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["username"])
        kind = ACTIONS[options["action"]]
        call_id = options["call_id"] or self._call_id(kind, options["extension"])
        event = CtiInput(
            event=kind, call_id=call_id, at=timezone.now(), caller=options["caller"], called=options["called"],
            extension=options["extension"], reason=options["reason"], ivr_choice=options["ivr_choice"],
            account_number=options["account"],
        )
        try:
            outcome = cti_receive(actor=actor, event=event)
        except InvalidInput as exc:
            raise CommandError("; ".join(f"{name}: {' '.join(str(m) for m in msgs)}"
                                         for name, msgs in exc.errors.items())) from exc
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        call = outcome.call
        agent = call.agent.username if call.agent else "nobody signed in"
        line = f"{call.call_id}  {call.get_state_display()}  extension {call.extension or '-'} ({agent})"
        if kind == CtiKind.RINGING:
            found = len(call.candidates or [])
            line += f", caller {call.caller or 'withheld'}: {found} matching customer{'s' if found != 1 else ''}"
        if outcome.duplicate:
            line += " (repeated event: nothing changed)"
        self.stdout.write(line)

    def _actor(self, username: str) -> Staff:
        qs = Staff.objects.select_related("unit").filter(is_active=True)
        actor = (qs.filter(username=username).first() if username
                 else qs.filter(roles__role=Role.TELEPHONY).order_by("id").first())
        if actor is None:
            raise CommandError(f"No telephony account {username!r}." if username else
                               "No telephony account: run `kefu demo` first, or pass --as USERNAME.")
        return actor

    @staticmethod
    def _call_id(kind: str, extension: str) -> str:
        if kind in (CtiKind.RINGING, CtiKind.IVR):
            return f"SIM-{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
        live = (Call.objects.filter(extension=extension, state__in=[CallState.RINGING, CallState.TALKING])
                .order_by("-started_at").values_list("call_id", flat=True).first() if extension else None)
        if live is None:
            raise CommandError(f"No call is ringing or talking at extension {extension or '(none given)'}: "
                               "pass --call-id.")
        return str(live)
