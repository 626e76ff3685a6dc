"""Factories for desk tests: the hotline center with the telephone system's integration account,
extensions with agents signed in, and calls fed through the same service the telephone system uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kefu.desk.models import Call, Extension
from kefu.desk.services import CtiInput, CtiOutcome, cti_receive, extension_sign_in
from kefu.org.models import OrgUnit, Staff
from kefu.org.tests.factories import make_staff, make_unit

CTI_URL = "/api/v1/cti/events/"
IVR_URL = "/api/v1/ivr/lookup/"

_seq = itertools.count(1)


@dataclass
class Center:
    """The hotline center below the province: the telephone system's account lives here, so calls
    that never reach an extension (hung up in the queue) belong to the center."""

    unit: OrgUnit
    telephony: Staff  # role telephony: call events and IVR queries, nothing else
    token: str
    agent: Staff  # an agent of the center, signed in at extension 8101
    leader: Staff  # the center's shift leader (no extension)
    ext_a1: Extension  # 8001 at county A1, world.agent_a1 signed in


def make_extension(number: str, *, unit: OrgUnit, agent: Staff | None = None) -> Extension:
    ext = Extension.objects.create(number=number, unit=unit)
    if agent is not None:
        ext = extension_sign_in(actor=agent, number=number)
    return ext


def make_center(world: Any) -> Center:
    unit = make_unit("95598客服中心", code="HC", parent=world.province, level="center")
    telephony = make_staff("pbx", unit=unit, roles=["telephony"])
    token = Token.objects.create(user=telephony)
    agent = make_staff("agent_hc", unit=unit, roles=["agent"])
    leader = make_staff("leader_hc", unit=unit, roles=["shift_leader"])
    make_extension("8101", unit=unit, agent=agent)
    ext_a1 = make_extension("8001", unit=world.county_a1, agent=world.agent_a1)
    return Center(unit=unit, telephony=telephony, token=token.key, agent=agent, leader=leader, ext_a1=ext_a1)


def token_client(key: str) -> APIClient:
    """A client that signs in as integrations do: with the token header, no session."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def agent_token(user: Staff) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def new_call_id() -> str:
    return f"pbx-{next(_seq):06d}"


def cti(center: Center, event: str, call_id: str, *, at: datetime | None = None, **fields: Any) -> CtiOutcome:
    """One telephone event through the service, as the telephone system's account."""
    return cti_receive(actor=center.telephony, event=CtiInput(event=event, call_id=call_id, at=at, **fields))


def call_of(call_id: str) -> Call:
    return Call.objects.get(call_id=call_id)


def talk(center: Center, *, caller: str = "13800138000", extension: str = "8001", start: datetime | None = None,
         seconds: int = 95, call_id: str | None = None) -> Call:
    """A whole answered call: ringing, answered, ended."""
    call_id = call_id or new_call_id()
    start = start or timezone.now() - timedelta(minutes=5)
    cti(center, "ringing", call_id, at=start, caller=caller, called="95598", extension=extension)
    cti(center, "answered", call_id, at=start + timedelta(seconds=6), extension=extension)
    cti(center, "ended", call_id, at=start + timedelta(seconds=6 + seconds), duration=seconds,
        recording=f"rec/{call_id}.wav")
    return call_of(call_id)


def miss(center: Center, *, caller: str = "13800138000", extension: str = "8001", start: datetime | None = None,
         call_id: str | None = None) -> Call:
    """A call that rang at an extension and was not answered: it waits for a callback."""
    call_id = call_id or new_call_id()
    start = start or timezone.now() - timedelta(minutes=5)
    cti(center, "ringing", call_id, at=start, caller=caller, extension=extension)
    cti(center, "ended", call_id, at=start + timedelta(seconds=30), reason="no_answer")
    return call_of(call_id)


def abandon(center: Center, *, caller: str = "13800138000", start: datetime | None = None,
            call_id: str | None = None) -> Call:
    """A caller who hung up in the queue before any extension rang."""
    call_id = call_id or new_call_id()
    start = start or timezone.now() - timedelta(minutes=5)
    cti(center, "ivr", call_id, at=start, caller=caller, ivr_choice="1")
    cti(center, "ended", call_id, at=start + timedelta(seconds=40), reason="abandoned")
    return call_of(call_id)
