"""Who sees what, for every URL of the product (architecture rule 4).

Each named route is listed in ROUTES with the object it is about (if any). For every persona the
suite checks the answer: objects of county A1 are visible to A1's agent, the city-A supervisor
and the province admin, and are 404 to the peer county and to the outsider; lists show only what
is in scope. A route missing from ROUTES fails ``test_every_route_is_covered``, so a new endpoint
cannot skip this suite.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from kefu.desk.tests.factories import make_center, miss
from kefu.grid.services import node_create
from kefu.knowledge.tests.factories import make_article
from kefu.metering.models import ReadingException
from kefu.metering.tests.factories import install, make_meter, read
from kefu.org.tests.factories import make_staff
from kefu.outages.models import FaultProposal
from kefu.outages.services import outage_create
from kefu.outages.tests.factories import make_grid
from kefu.workorders.handover import handover_create
from kefu.workorders.models import WarningLevel
from kefu.workorders.services import workorder_intake

if TYPE_CHECKING:
    from conftest import World

# Routes that are not about scoped data: Django's admin (superusers only), the language switch.
IGNORED_NAMESPACES = {"admin"}
IGNORED_NAMES = {"set_language"}


def walk(patterns: list[Any], namespace: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            if ns in IGNORED_NAMESPACES:
                continue
            yield from walk(entry.url_patterns, f"{namespace}{ns}:" if ns else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name


@dataclass
class Route:
    """How to call one route and what each persona should get back.

    ``obj`` picks the A1 object the route is about (None for lists and pages without an object).
    ``kind``: "page" (session, anonymous redirected to login), "api" (token; anonymous 401/403).
    ``method``: GET for reads; POST/PATCH/DELETE routes are called with an empty body, so an
    allowed persona gets a validation answer (200/400/409) and never a 404, a hidden one a 404.
    ``lists``: for list routes, the customer names that must (A1) and must not (A2, B1) appear.
    """

    kind: str
    obj: Callable[[World], dict[str, Any]] | None = None
    method: str = "get"
    lists: bool = False
    public: bool = False
    capability_roles: set[str] = field(default_factory=set)
    body: Callable[[World], dict[str, Any]] | None = None


def cust(w: World) -> dict[str, Any]:
    return {"pk": w.account_a1.customer_id}


def acct(w: World) -> dict[str, Any]:
    return {"pk": w.account_a1.pk}


def prem(w: World) -> dict[str, Any]:
    return {"pk": w.account_a1.premise_id}


def contact(w: World) -> dict[str, Any]:
    return {"pk": w.account_a1.customer.contacts.get().pk}


def unit(w: World) -> dict[str, Any]:
    return {"pk": w.county_a1.pk}


def staff(w: World) -> dict[str, Any]:
    return {"pk": w.agent_a1.pk}


def order(w: World) -> dict[str, Any]:
    return {"pk": w.order_a1.pk}


# Roles holding each work-order capability (kefu.org.choices.ROLE_CAPABILITIES).
ORDER_DISPATCHERS = {"agent", "shift_leader", "director", "admin"}
ORDER_HANDLERS = {"handler", "crew", "manager_full", "manager_part", "inspector", "admin"}
ORDER_REPLIERS = {"agent", "shift_leader", "clerk", "admin"}
ORDER_INTAKERS = {"agent", "shift_leader", "manager_full", "clerk", "admin"}
ORDER_SUPERVISORS = {"shift_leader", "director", "admin"}


# Roles that write and confirm shift handovers (Capability.HANDOVER).
HANDOVER_WRITERS = {"shift_leader", "director", "admin"}


def order_note(w: World) -> dict[str, Any]:
    return {"pk": w.order_a1.pk, "action": "note"}


def handover(w: World) -> dict[str, Any]:
    """A pending shift handover of county A1, written by A1's shift leader."""
    leader = make_staff(unit=w.county_a1, roles=["shift_leader"])
    now = timezone.now()
    written = handover_create(actor=leader, shift_start=now - timedelta(hours=8), shift_end=now, summary="", notes={})
    return {"pk": written.pk}


def order_type(w: World) -> dict[str, Any]:
    return {"pk": w.order_a1.order_type_id}


def sla_policy(w: World) -> dict[str, Any]:
    return {"pk": w.order_a1.clocks.filter(policy__isnull=False).values_list("policy_id", flat=True)[0]}


def warning_level(w: World) -> dict[str, Any]:
    return {"pk": WarningLevel.objects.order_by("fraction").values_list("pk", flat=True)[0]}


def desk_call(w: World) -> dict[str, Any]:
    """A call that rang at county A1's extension 8001 (agent_a1) and waits for a callback."""
    return {"pk": miss(make_center(w)).pk}


def kb_published(w: World) -> dict[str, Any]:
    """An article for county A1, written by A1's shift leader and approved by the city-A director."""
    leader = make_staff("kb_writer_a1", unit=w.county_a1, roles=["shift_leader"])
    return {"pk": make_article(leader, region=w.county_a1.pk, approver=w.supervisor).pk}


def kb_draft(w: World) -> dict[str, Any]:
    leader = make_staff("kb_writer_a1", unit=w.county_a1, roles=["shift_leader"])
    return {"pk": make_article(leader).pk}


def kb_draft_action(w: World) -> dict[str, Any]:
    return {**kb_draft(w), "action": "submit"}


def grid_node(w: World) -> dict[str, Any]:
    """A transformer area of county A1 under a feeder of A1 under a substation of city A."""
    builder = make_staff("grid_builder", unit=w.province, roles=["director"])
    sub = node_create(actor=builder, data={"code": "SUB1", "name": "变电站", "kind": "substation",
                                          "utility": "power"}, unit=w.city_a)
    feeder = node_create(actor=builder, data={"code": "F1", "name": "10kV 文三线", "kind": "feeder",
                                             "utility": "power"}, parent=sub, unit=w.county_a1)
    ta = node_create(actor=builder, data={"code": "T1", "name": "文三1号台区", "kind": "ta", "utility": "power"},
                     parent=feeder, unit=w.county_a1)
    return {"pk": ta.pk}


def grid_sp(w: World) -> dict[str, Any]:
    return {"pk": w.account_a1.service_point_id}


GRID_EDITORS = {"director", "admin"}
# Outages: who drafts and changes them, who reviews and publishes (kefu.org.choices).
OUTAGE_EDITORS = {"shift_leader", "director", "handler", "admin"}
OUTAGE_PUBLISHERS = {"shift_leader", "director", "admin"}


def outage(w: World) -> dict[str, Any]:
    """A draft planned outage on feeder F1 of county A1 (five accounts under it)."""
    make_grid(w)
    start = timezone.now() + timedelta(days=10)
    draft = outage_create(actor=w.supervisor, data={
        "utility": "power", "outage_class": "planned", "area": "文三路", "reason": "线路检修",
        "planned_start": start, "planned_end": start + timedelta(hours=6), "nodes": ["F1"]})
    return {"pk": draft.pk}


def outage_review(w: World) -> dict[str, Any]:
    return {**outage(w), "action": "review"}


def fault_proposal(w: World) -> dict[str, Any]:
    """An open fault proposal from three repair calls under transformer area TA1 of county A1."""
    grid = make_grid(w)
    for account in grid.accounts["TA1"]:
        workorder_intake(actor=w.agent_a1, order_type="repair", channel="phone", account=account, content="没电了")
    return {"pk": FaultProposal.objects.get().pk}


# Metering: who enters readings, who decides reading exceptions (kefu.org.choices).
READING_ENTERERS = {"reader", "analyst", "manager_full", "admin"}
READING_REVIEWERS = {"analyst", "admin"}


def meter_a1(w: World) -> dict[str, Any]:
    """A meter on account_a1 of county A1, installed by A1's customer manager, read in January (100) and
    February (50: below the previous, so an open exception)."""
    reader = make_staff("reader_a1", unit=w.county_a1, roles=["reader"])
    meter = make_meter(unit=w.county_a1, serial="A1-METER-1")
    install(actor=w.manager_a1, meter=meter, to=w.account_a1, on=date(2025, 12, 1))
    read(actor=reader, meter=meter, month="2026-01", value="100")
    read(actor=reader, meter=meter, month="2026-02", value="50")
    return {"pk": meter.pk}


def card_a1(w: World) -> dict[str, Any]:
    """An IC-card gas meter of county A1 with its card."""
    from kefu.metering.tests.test_prepaid import prepaid_household

    _account, card = prepaid_household(w)
    return {"pk": card.pk}


CARD_SELLERS = {"clerk", "collector", "admin"}


def route_a1(w: World) -> dict[str, Any]:
    """A reading route of county A1 through account_a1's service point."""
    from kefu.metering.models import Route as ReadingRoute
    from kefu.metering.plans import route_join

    route = ReadingRoute.objects.create(code="A1-R1", name="A1 route", utility="power", unit=w.county_a1)
    analyst = make_staff("route_analyst_a1", unit=w.county_a1, roles=["analyst"])
    assert w.account_a1.service_point is not None
    route_join(actor=analyst, route=route, service_point=w.account_a1.service_point, on=date(2026, 1, 1))
    return {"pk": route.pk}


def plan_a1(w: World) -> dict[str, Any]:
    """This month's reading plan of that route."""
    from django.utils import timezone

    from kefu.metering.models import Route as ReadingRoute
    from kefu.metering.plans import plan_create
    from kefu.org.models import Staff

    route = ReadingRoute.objects.get(pk=route_a1(w)["pk"])
    analyst = Staff.objects.get(username="route_analyst_a1")
    plan = plan_create(actor=analyst, route=route, period=timezone.localdate().replace(day=1))
    return {"pk": plan.pk}


def reading_exception(w: World) -> dict[str, Any]:
    meter_a1(w)
    return {"pk": ReadingException.objects.get(meter__serial="A1-METER-1").pk}


# Roles with the desk (Capability.DESK), the knowledge editors and publishers, and the telephone system.
DESK_ROLES = {"agent", "shift_leader", "admin"}
KB_EDITORS = {"shift_leader", "director", "analyst", "admin"}
KB_PUBLISHERS = {"director", "admin"}
TELEPHONY = {"telephony", "admin"}


def calendar_day(w: World) -> dict[str, Any]:
    return {"day": "2026-10-01"}


def api_ids(w: World, model: str) -> tuple[int, int, int]:
    """(A1, A2, B1) ids of one kind of record, for checking API lists."""
    a = (w.account_a1, w.account_a2, w.account_b1)
    pick: dict[str, Callable[[Any], int]] = {
        "customer": lambda x: x.customer_id,
        "account": lambda x: x.pk,
        "premise": lambda x: x.premise_id,
    }
    if model == "unit":
        return (w.county_a1.pk, w.county_a2.pk, w.county_b1.pk)
    if model == "staff":
        return (w.agent_a1.pk, w.agent_a2.pk, w.outsider.pk)
    if model == "order":
        return (w.order_a1.pk, w.order_a2.pk, w.order_b1.pk)
    return tuple(pick[model](x) for x in a)  # type: ignore[return-value]


@dataclass
class Listing:
    """A list route: ``query`` narrows it (a search needs one), ``markers`` say what to look for.

    For pages, markers are texts for A1, A2 and B1; for the API, the kind of record for api_ids.
    """

    query: dict[str, str] = field(default_factory=dict)
    markers: tuple[str, str, str] | None = None
    api_model: str = ""


CUSTOMER_NAMES = ("王小明", "李大华", "赵燃气")
UNIT_NAMES = ("县A1供电公司", "县A2供电公司", "B1服务中心")
STAFF_NAMES = ("agent_a1", "agent_a2", "agent_b1")

ROUTES: dict[str, Route] = {
    # Pages open to every signed-in user.
    "home": Route("page", public=True),
    "login": Route("page", public=True),
    "logout": Route("page", public=True, method="post"),
    "password-change": Route("page", public=True),
    # Org pages.
    "org:unit-list": Route("page", lists=True),
    "org:unit-create": Route("page", capability_roles={"admin"}),
    "org:unit-detail": Route("page", obj=unit),
    "org:unit-edit": Route("page", obj=unit, capability_roles={"admin"}),
    "org:staff-list": Route("page", lists=True),
    "org:staff-create": Route("page", capability_roles={"admin"}),
    "org:staff-edit": Route("page", obj=staff, capability_roles={"admin"}),
    "org:staff-password": Route("page", obj=staff, capability_roles={"admin"}),
    # Customer pages.
    "customers:search": Route("page", lists=True),
    "customers:create": Route("page"),
    "customers:detail": Route("page", obj=cust),
    "customers:reveal": Route("page", obj=cust, method="post"),
    "customers:edit": Route("page", obj=cust),
    "customers:contact-add": Route("page", obj=cust),
    "customers:account-edit": Route("page", obj=acct),
    "customers:premise-edit": Route("page", obj=prem),
    "customers:contact-edit": Route("page", obj=contact),
    "customers:contact-remove": Route("page", obj=contact, method="post"),
    "customers:account-status": Route("page", obj=acct, capability_roles={"admin"}),
    "customers:account-manager": Route("page", obj=acct, capability_roles={"admin", "director"}),
    "customers:coverage": Route("page", lists=True),
    # Work-order pages. Action forms are posted empty (400: the version is missing), so only scope and
    # role decide the answer; policy pages are for administrators.
    "workorders:index": Route("page"),
    "workorders:queue-mine": Route("page", lists=True),
    "workorders:queue-unit": Route("page", lists=True),
    "workorders:queue-dispatch": Route("page", lists=True),
    "workorders:queue-warnings": Route("page", lists=True),
    "workorders:queue-supervised": Route("page", lists=True),
    "workorders:queue-all": Route("page", lists=True),
    "workorders:create": Route("page"),
    "workorders:duplicates": Route("page", lists=True),
    "workorders:detail": Route("page", obj=order),
    "workorders:reveal": Route("page", obj=order, method="post"),
    "workorders:link-repeat": Route("page", obj=order, method="post", capability_roles=ORDER_INTAKERS),
    "workorders:act": Route("page", obj=order_note, method="post"),
    "workorders:handover-list": Route("page", lists=True),
    "workorders:handover-create": Route("page", capability_roles=HANDOVER_WRITERS),
    "workorders:handover-detail": Route("page", obj=handover),
    "workorders:handover-confirm": Route("page", obj=handover, method="post", capability_roles=HANDOVER_WRITERS),
    "workorders:type-list": Route("page", capability_roles={"admin"}),
    "workorders:type-create": Route("page", capability_roles={"admin"}),
    "workorders:type-edit": Route("page", obj=order_type, capability_roles={"admin"}),
    "workorders:sla-list": Route("page", capability_roles={"admin"}),
    "workorders:sla-create": Route("page", capability_roles={"admin"}),
    "workorders:sla-edit": Route("page", obj=sla_policy, capability_roles={"admin"}),
    "workorders:calendar": Route("page", capability_roles={"admin"}),
    "workorders:calendar-day": Route("page", obj=calendar_day, capability_roles={"admin"}),
    "workorders:calendar-delete": Route("page", obj=calendar_day, method="post", capability_roles={"admin"}),
    "workorders:level-list": Route("page", capability_roles={"admin"}),
    "workorders:level-edit": Route("page", obj=warning_level, capability_roles={"admin"}),
    "workorders:level-delete": Route("page", obj=warning_level, method="post", capability_roles={"admin"}),
    # The agent desk. Actions on a call are posted empty: 400 (form) or 409 (state) when in scope.
    "desk:screen": Route("page", capability_roles=DESK_ROLES),
    "desk:poll": Route("page", capability_roles=DESK_ROLES),
    "desk:sign-in": Route("page", method="post", capability_roles=DESK_ROLES),
    "desk:sign-out": Route("page", method="post", capability_roles=DESK_ROLES),
    "desk:suggest": Route("page", capability_roles=DESK_ROLES),
    "desk:types": Route("page", capability_roles=DESK_ROLES),
    "desk:find-customer": Route("page", capability_roles=DESK_ROLES),
    "desk:answer": Route("page", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "desk:identify": Route("page", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "desk:create-order": Route("page", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "desk:link-order": Route("page", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "desk:urge-order": Route("page", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "desk:result": Route("page", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "desk:calls": Route("page", capability_roles=DESK_ROLES),
    "desk:call-detail": Route("page", obj=desk_call, capability_roles=DESK_ROLES),
    "desk:callbacks": Route("page", capability_roles=DESK_ROLES),
    "desk:callback-claim": Route("page", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "desk:callback-record": Route("page", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "desk:callback-release": Route("page", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "desk:extensions": Route("page", capability_roles=DESK_ROLES),
    # The knowledge base: reading is open to every role; regional articles follow the org tree.
    "knowledge:search": Route("page"),
    "knowledge:article": Route("page", obj=kb_published),
    "knowledge:manage": Route("page", capability_roles=KB_EDITORS),
    "knowledge:create": Route("page", capability_roles=KB_EDITORS),
    "knowledge:edit": Route("page", obj=kb_draft, capability_roles=KB_EDITORS),
    "knowledge:action": Route("page", obj=kb_draft_action, method="post", capability_roles=KB_EDITORS),
    # Network topology.
    "grid:tree": Route("page"),
    "grid:node": Route("page", obj=grid_node),
    "grid:children": Route("page", obj=grid_node),
    "grid:node-create": Route("page", capability_roles=GRID_EDITORS),
    "grid:node-edit": Route("page", obj=grid_node, capability_roles=GRID_EDITORS),
    "grid:import": Route("page", capability_roles=GRID_EDITORS),
    "grid:export": Route("page"),
    # API.
    "outages:list": Route("page"),
    "outages:create": Route("page", capability_roles=OUTAGE_EDITORS),
    "outages:node-search": Route("page"),
    "outages:detail": Route("page", obj=outage),
    "outages:edit": Route("page", obj=outage, capability_roles=OUTAGE_EDITORS),
    "outages:affected": Route("page", obj=outage),
    "outages:action": Route("page", obj=outage_review, method="post", capability_roles=OUTAGE_PUBLISHERS),
    "outages:proposals": Route("page", capability_roles=ORDER_DISPATCHERS),
    "outages:proposal-confirm": Route("page", obj=fault_proposal, method="post", capability_roles=ORDER_DISPATCHERS),
    "outages:proposal-dismiss": Route("page", obj=fault_proposal, method="post", capability_roles=ORDER_DISPATCHERS),
    "outages:reliability": Route("page"),
    "outages:reliability-export": Route("page"),
    "outages:templates": Route("page"),
    # Metering pages. The resolve form posted empty is refused (400) when the analyst may decide.
    "metering:exceptions": Route("page", capability_roles=READING_REVIEWERS),
    "metering:exception-resolve": Route("page", obj=reading_exception, method="post",
                                        capability_roles=READING_REVIEWERS),
    "metering:reading-entry": Route("page", capability_roles=READING_ENTERERS),
    "metering:meter": Route("page", obj=meter_a1),
    "metering:kpis": Route("page", capability_roles=READING_ENTERERS),
    "metering:routes": Route("page", capability_roles=READING_ENTERERS),
    "metering:plan-create": Route("page", obj=route_a1, method="post", capability_roles=READING_REVIEWERS),
    "metering:plan": Route("page", obj=plan_a1, capability_roles=READING_ENTERERS),
    "metering:plan-export": Route("page", obj=plan_a1, capability_roles=READING_ENTERERS),
    "metering:plan-import": Route("page", obj=plan_a1, method="post", capability_roles=READING_ENTERERS),
    "metering:plan-sheet": Route("page", obj=plan_a1, method="post", capability_roles=READING_ENTERERS),
    "metering:prepaid-counter": Route("page", capability_roles=CARD_SELLERS),
    "metering:prepaid-card": Route("page", obj=card_a1, capability_roles=CARD_SELLERS | READING_REVIEWERS),
    "metering:prepaid-reconciliation": Route("page", capability_roles=READING_REVIEWERS),
    "api-schema": Route("api", public=True),
    "api-docs": Route("api", public=True),
    "api-token": Route("api", public=True, method="post"),
    "api-orgunit-list": Route("api", lists=True),
    "api-orgunit-detail": Route("api", obj=unit),
    "api-staff-list": Route("api", lists=True),
    "api-staff-detail": Route("api", obj=staff),
    "api-customer-list": Route("api", lists=True),
    "api-customer-lookup": Route("api", lists=True),
    "api-customer-detail": Route("api", obj=cust),
    "api-account-list": Route("api", lists=True),
    "api-account-detail": Route("api", obj=acct),
    "api-account-assign-manager": Route("api", obj=acct, method="post", capability_roles={"admin", "director"},
                                        body=lambda w: {"manager": w.manager_a1.pk}),
    "api-account-change-status": Route("api", obj=acct, method="post", capability_roles={"admin"},
                                       body=lambda w: {"to_status": "suspended", "reason": "test"}),
    "api-premise-list": Route("api", lists=True),
    "api-premise-detail": Route("api", obj=prem),
    "api-contact-list": Route("api", method="post"),
    "api-contact-detail": Route("api", obj=contact),
    # Work-order API. Actions on order_a1 (accepted, not yet dispatched) with an empty body: a role
    # without the capability gets 403, the others 400 (body) or 409 (state).
    "api-workorder-list": Route("api", lists=True),
    "api-workorder-detail": Route("api", obj=order),
    "api-workorder-events": Route("api", obj=order),
    "api-workorder-repeat": Route("api", method="post", capability_roles=ORDER_INTAKERS),
    "api-workorder-repeat-call": Route("api", obj=order, method="post", capability_roles=ORDER_INTAKERS),
    "api-workorder-duplicates": Route("api", lists=True),
    "api-workorder-dispatch": Route("api", obj=order, method="post", capability_roles=ORDER_DISPATCHERS),
    "api-workorder-acknowledge": Route("api", obj=order, method="post", capability_roles=ORDER_HANDLERS),
    "api-workorder-return": Route("api", obj=order, method="post", capability_roles=ORDER_HANDLERS),
    "api-workorder-transfer": Route("api", obj=order, method="post", capability_roles=ORDER_DISPATCHERS),
    "api-workorder-contact": Route("api", obj=order, method="post", capability_roles=ORDER_HANDLERS),
    "api-workorder-arrive": Route("api", obj=order, method="post", capability_roles=ORDER_HANDLERS),
    # Recording the result of an order never dispatched is the agent's (answered on the call).
    "api-workorder-handle": Route("api", obj=order, method="post", capability_roles=ORDER_REPLIERS),
    "api-workorder-suspend": Route("api", obj=order, method="post", capability_roles=ORDER_HANDLERS),
    "api-workorder-resume": Route("api", obj=order, method="post", capability_roles=ORDER_HANDLERS),
    "api-workorder-reply": Route("api", obj=order, method="post", capability_roles=ORDER_REPLIERS),
    "api-workorder-callback": Route("api", obj=order, method="post", capability_roles=ORDER_REPLIERS),
    "api-workorder-reopen": Route("api", obj=order, method="post", capability_roles=ORDER_REPLIERS),
    "api-workorder-archive": Route("api", obj=order, method="post", capability_roles=ORDER_REPLIERS),
    "api-workorder-cancel": Route("api", obj=order, method="post", capability_roles=ORDER_DISPATCHERS),
    "api-workorder-urge": Route("api", obj=order, method="post", capability_roles=ORDER_INTAKERS),
    "api-workorder-supervise": Route("api", obj=order, method="post", capability_roles=ORDER_SUPERVISORS),
    "api-workorder-merge": Route("api", obj=order, method="post", capability_roles=ORDER_DISPATCHERS),
    "api-workorder-note": Route("api", obj=order, method="post"),
    "api-workordertype-list": Route("api", lists=True),
    "api-slapolicy-list": Route("api", lists=True),
    "api-handover-list": Route("api", lists=True),
    # Telephone system and desk API.
    "api-cti-events": Route("api", method="post", capability_roles=TELEPHONY),
    "api-ivr-lookup": Route("api", capability_roles=TELEPHONY),
    "api-desk-call-list": Route("api", capability_roles=DESK_ROLES),
    "api-desk-call-detail": Route("api", obj=desk_call, capability_roles=DESK_ROLES),
    "api-desk-callback-list": Route("api", capability_roles=DESK_ROLES),
    "api-desk-callback-claim": Route("api", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "api-desk-callback-record": Route("api", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    "api-desk-callback-release": Route("api", obj=desk_call, method="post", capability_roles=DESK_ROLES),
    # Topology API.
    "api-grid-node-list": Route("api"),
    "api-grid-node-detail": Route("api", obj=grid_node),
    "api-grid-node-accounts": Route("api", obj=grid_node),
    "api-grid-service-point-path": Route("api", obj=grid_sp),
    "api-outage-list": Route("api"),
    "api-outage-detail": Route("api", obj=outage),
    "api-outage-affected": Route("api", obj=outage),
    "api-outage-review": Route("api", obj=outage, method="post", capability_roles=OUTAGE_PUBLISHERS),
    "api-outage-return": Route("api", obj=outage, method="post", capability_roles=OUTAGE_PUBLISHERS),
    "api-outage-publish": Route("api", obj=outage, method="post", capability_roles=OUTAGE_PUBLISHERS),
    "api-outage-extend": Route("api", obj=outage, method="post", capability_roles=OUTAGE_EDITORS),
    "api-outage-change": Route("api", obj=outage, method="post", capability_roles=OUTAGE_EDITORS),
    "api-outage-cancel": Route("api", obj=outage, method="post", capability_roles=OUTAGE_EDITORS),
    "api-outage-restore": Route("api", obj=outage, method="post", capability_roles=OUTAGE_EDITORS),
    "api-outage-public": Route("api", public=True),
    "api-outage-proposal-list": Route("api"),
    "api-outage-proposal-confirm": Route("api", obj=fault_proposal, method="post",
                                         capability_roles=ORDER_DISPATCHERS),
    "api-outage-proposal-dismiss": Route("api", obj=fault_proposal, method="post",
                                         capability_roles=ORDER_DISPATCHERS),
    "api-outage-reliability": Route("api"),
    "api-metering-reading-list": Route("api"),
    "api-metering-reading-batch": Route("api", method="post", capability_roles=READING_ENTERERS),
    "api-metering-exception-list": Route("api", capability_roles=READING_REVIEWERS),
    "api-metering-exception-resolve": Route("api", obj=reading_exception, method="post",
                                            capability_roles=READING_REVIEWERS),
    "api-metering-meter-detail": Route("api", obj=meter_a1),
    "api-metering-route-list": Route("api", capability_roles=READING_ENTERERS),
    "api-metering-plan-list": Route("api", capability_roles=READING_ENTERERS),
    "api-metering-plan-detail": Route("api", obj=plan_a1, capability_roles=READING_ENTERERS),
    "api-metering-plan-sheets": Route("api", obj=plan_a1, capability_roles=READING_ENTERERS),
    "api-metering-card-list": Route("api", capability_roles=CARD_SELLERS | READING_REVIEWERS),
    "api-metering-card-detail": Route("api", obj=card_a1, capability_roles=CARD_SELLERS | READING_REVIEWERS),
    "api-metering-card-quote": Route("api", obj=card_a1, method="post", capability_roles=CARD_SELLERS),
    "api-metering-card-purchase": Route("api", obj=card_a1, method="post", capability_roles=CARD_SELLERS),
    "api-metering-card-write-back": Route("api", obj=card_a1, method="post", capability_roles=CARD_SELLERS),
    "api-metering-card-lost": Route("api", obj=card_a1, method="post", capability_roles=CARD_SELLERS),
    "api-metering-card-replace": Route("api", obj=card_a1, method="post", capability_roles=CARD_SELLERS),
    "api-metering-prepaid-reconciliation": Route("api", capability_roles=READING_REVIEWERS),
    # Knowledge API.
    "api-knowledge-search": Route("api"),
    "api-knowledge-article": Route("api", obj=kb_published),
    "api-knowledge-draft-list": Route("api", capability_roles=KB_EDITORS),
    "api-knowledge-draft-detail": Route("api", obj=kb_draft, capability_roles=KB_EDITORS),
    "api-knowledge-draft-submit": Route("api", obj=kb_draft, method="post", capability_roles=KB_EDITORS),
    "api-knowledge-draft-approve": Route("api", obj=kb_draft, method="post", capability_roles=KB_PUBLISHERS),
    "api-knowledge-draft-reject": Route("api", obj=kb_draft, method="post", capability_roles=KB_PUBLISHERS),
    "api-knowledge-draft-retire": Route("api", obj=kb_draft, method="post", capability_roles=KB_PUBLISHERS),
}

LISTINGS: dict[str, Listing] = {
    "org:unit-list": Listing(markers=UNIT_NAMES),
    "org:staff-list": Listing(markers=STAFF_NAMES),
    "customers:search": Listing(query={"q": "1380000"}, markers=CUSTOMER_NAMES),
    "customers:coverage": Listing(markers=UNIT_NAMES),
    "workorders:queue-dispatch": Listing(markers=CUSTOMER_NAMES),
    "workorders:queue-all": Listing(markers=CUSTOMER_NAMES),
    "api-orgunit-list": Listing(api_model="unit"),
    "api-staff-list": Listing(api_model="staff"),
    "api-customer-list": Listing(api_model="customer"),
    "api-customer-lookup": Listing(query={"phone": "PHONE"}, api_model="customer"),
    "api-account-list": Listing(api_model="account"),
    "api-premise-list": Listing(api_model="premise"),
    "api-workorder-list": Listing(api_model="order"),
}

# Who may see county A1's records: A1 itself, the city-A supervisor, the province admin.
SEES_A1 = ("agent_a1", "supervisor", "admin")
BLIND_TO_A1 = ("agent_a2", "outsider")
PERSONAS = SEES_A1 + BLIND_TO_A1


def all_route_names() -> list[str]:
    return sorted(set(walk(get_resolver().url_patterns)))


def test_every_route_is_covered() -> None:
    missing = [name for name in all_route_names() if name not in ROUTES and name not in IGNORED_NAMES]
    assert not missing, f"add these routes to tests/test_scoping.py ROUTES: {missing}"
    unknown = [name for name in ROUTES if name not in all_route_names()]
    assert not unknown, f"ROUTES lists routes that no longer exist: {unknown}"


def client_for(world: World, persona: str | None, kind: str) -> Client:
    client = Client()
    if persona is None:
        return client
    user = getattr(world, persona)
    if kind == "api":
        token, _ = Token.objects.get_or_create(user=user)
        return Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.force_login(user)
    return client


def call(client: Client, route: Route, url: str, query: dict[str, str] | None = None, world: World | None = None
         ) -> Any:
    if route.method == "get":
        return client.get(url, query or {})
    body = route.body(world) if route.body and world else {}
    if route.kind == "api":
        return client.generic(route.method.upper(), url, json.dumps(body), content_type="application/json")
    return getattr(client, route.method)(url, body)


def route_url(world: World, name: str, route: Route) -> str:
    return reverse(name, kwargs=route.obj(world) if route.obj else None)


@pytest.mark.parametrize("name", sorted(n for n, r in ROUTES.items() if not r.public))
def test_anonymous_is_turned_away(world: World, name: str) -> None:
    route = ROUTES[name]
    response = call(Client(), route, route_url(world, name, route))
    if route.kind == "api":
        assert response.status_code in (401, 403)
    else:
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", sorted(n for n, r in ROUTES.items() if r.obj))
def test_object_routes_follow_the_org_tree(world: World, name: str, persona: str) -> None:
    route = ROUTES[name]
    response = call(client_for(world, persona, route.kind), route, route_url(world, name, route), world=world)
    status = response.status_code
    assert status != 500
    roles = getattr(world, persona).role_codes
    if persona in BLIND_TO_A1:
        # Out of scope: never revealed. A role that may not use the route at all may get 403 first.
        assert status in (403, 404), f"{persona} reached {name}: {status}"
        if status == 403:
            assert not route.capability_roles or not roles & route.capability_roles
    elif route.capability_roles and not roles & route.capability_roles:
        assert status == 403, f"{persona} lacks the role for {name} but got {status}"
    else:
        assert status in (200, 201, 302, 400, 409), f"{persona} should reach {name}: {status}"


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_lists_show_only_what_is_in_scope(world: World, name: str) -> None:
    route, listing = ROUTES[name], LISTINGS[name]
    url = reverse(name)
    expected = {
        "agent_a1": (True, False, False),
        "agent_a2": (False, True, False),
        "supervisor": (True, True, False),
        "outsider": (False, False, True),
        "admin": (True, True, True),
    }
    phones = {"agent_a1": "13800001111", "agent_a2": "13800002222", "supervisor": "13800001111",
              "outsider": "13800003333", "admin": "13800003333"}
    for persona, wanted in expected.items():
        query = {k: (phones[persona] if v == "PHONE" else v) for k, v in listing.query.items()}
        response = call(client_for(world, persona, route.kind), route, url, query)
        assert response.status_code == 200, (persona, response.status_code)
        if listing.api_model:
            data = response.json()
            rows = data["results"] if isinstance(data, dict) and "results" in data else data
            seen = {row["id"] for row in rows}
            ids = api_ids(world, listing.api_model)
            if name == "api-customer-lookup":
                # A lookup answers one phone: the persona's own in-scope customer, or nothing else.
                assert seen <= {i for i, ok in zip(ids, wanted, strict=True) if ok}, (persona, seen)
                continue
            got = tuple(i in seen for i in ids)
        else:
            html = response.content.decode()
            assert listing.markers is not None
            got = tuple(marker in html for marker in listing.markers)
            if name == "customers:search":
                # One phone query per persona: only the in-scope hits may appear.
                assert not any(g and not w for g, w in zip(got, wanted, strict=True)), (persona, got)
                continue
        assert got == wanted, f"{name} for {persona}: saw {got}, expected {wanted}"


def test_out_of_scope_lookup_by_phone_finds_nothing(world: World) -> None:
    client = client_for(world, "agent_a2", "api")
    response = client.get(reverse("api-customer-lookup"), {"phone": "13800001111"})
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        data = response.json()
        rows = data["results"] if isinstance(data, dict) and "results" in data else data
        assert rows == []
