"""Roles and what each may do. Scope (which units) comes from the org tree; this says which actions."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENT = "agent", _("Customer-service agent")
    SHIFT_LEADER = "shift_leader", _("Shift leader")
    DIRECTOR = "director", _("Center director")
    HANDLER = "handler", _("Handling-unit staff")
    CREW = "crew", _("Repair crew member")
    MANAGER_FULL = "manager_full", _("Customer manager (full-time)")
    MANAGER_PART = "manager_part", _("Customer manager (part-time)")
    READER = "reader", _("Meter reader")
    COLLECTOR = "collector", _("Collector")
    INSPECTOR = "inspector", _("Safety inspector")
    CLERK = "clerk", _("Counter clerk")
    ANALYST = "analyst", _("Data analyst")
    TELEPHONY = "telephony", _("Telephone system (integration account)")
    ADMIN = "admin", _("Administrator")


class UnitLevel(models.TextChoices):
    """Informational: the tree may be any depth, the level only names what a unit is."""

    GROUP = "group", _("Group / provincial company")
    CITY = "city", _("City company")
    COUNTY = "county", _("County company / branch")
    STATION = "station", _("Service station / center")
    CENTER = "center", _("Customer-service center")
    TEAM = "team", _("Team / crew")


class Capability(models.TextChoices):
    CUSTOMER_VIEW = "customer.view", _("View customers")
    CUSTOMER_EDIT = "customer.edit", _("Create and edit customers")
    ACCOUNT_STATUS = "account.status", _("Change account status")
    ACCOUNT_MANAGER = "account.manager", _("Assign customer managers")
    PERSONAL_DATA = "personal.view", _("See full phone and ID numbers")
    ORG_VIEW = "org.view", _("View org units and staff")
    ORG_ADMIN = "org.admin", _("Administer org units and staff")
    ORDER_VIEW = "order.view", _("View work orders")
    ORDER_INTAKE = "order.intake", _("Accept requests and urge work orders")
    ORDER_DISPATCH = "order.dispatch", _("Dispatch, transfer, merge and cancel work orders")
    ORDER_HANDLE = "order.handle", _("Handle work orders at the handling unit")
    ORDER_REPLY = "order.reply", _("Reply, call back and archive work orders")
    ORDER_SUPERVISE = "order.supervise", _("Supervise work orders")
    HANDOVER = "handover", _("Write and confirm shift handovers")
    POLICY_ADMIN = "policy.admin", _("Edit order types, time limits and the business calendar")
    KNOWLEDGE_VIEW = "knowledge.view", _("Read published knowledge articles")
    KNOWLEDGE_EDIT = "knowledge.edit", _("Write knowledge articles and submit them for review")
    KNOWLEDGE_PUBLISH = "knowledge.publish", _("Review, publish and retire knowledge articles")
    DESK = "desk", _("Take calls at the agent desk and work the callback queue")
    CALL_EVENTS = "call.events", _("Send telephone call events and IVR queries")
    GRID_VIEW = "grid.view", _("View the network topology")
    GRID_EDIT = "grid.edit", _("Edit and import the network topology")
    OUTAGE_VIEW = "outage.view", _("View outages and reliability figures")
    OUTAGE_EDIT = "outage.edit", _("Draft outages, change their times and record restoration")
    OUTAGE_PUBLISH = "outage.publish", _("Review and publish outages")
    OUTAGE_OVERRIDE = "outage.override", _("Publish an outage that breaks a notice rule, with a reason")
    METER_EDIT = "meter.edit", _("Install, replace and remove meters")
    READING_ENTER = "reading.enter", _("Enter meter readings")
    READING_REVIEW = "reading.review", _("Review reading exceptions and correct readings")
    CARD_SELL = "card.sell", _("Issue IC cards and sell prepaid gas at the counter")


_ALL = frozenset(Capability)
_READ = frozenset({Capability.CUSTOMER_VIEW, Capability.ORG_VIEW, Capability.ORDER_VIEW, Capability.KNOWLEDGE_VIEW,
                   Capability.GRID_VIEW, Capability.OUTAGE_VIEW})
_CENTER = frozenset({Capability.ORDER_INTAKE, Capability.ORDER_DISPATCH, Capability.ORDER_REPLY})
_FIELD = frozenset({Capability.ORDER_HANDLE})

# What each role may do inside its scope. A user holds the union of their roles.
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.AGENT: _READ | _CENTER | {Capability.CUSTOMER_EDIT, Capability.PERSONAL_DATA, Capability.DESK},
    Role.SHIFT_LEADER: _READ | _CENTER | {Capability.CUSTOMER_EDIT, Capability.PERSONAL_DATA, Capability.DESK,
                                          Capability.ORDER_SUPERVISE, Capability.HANDOVER,
                                          Capability.KNOWLEDGE_EDIT, Capability.OUTAGE_EDIT,
                                          Capability.OUTAGE_PUBLISH},
    Role.DIRECTOR: _READ | {Capability.PERSONAL_DATA, Capability.ACCOUNT_MANAGER, Capability.ORDER_DISPATCH,
                            Capability.ORDER_SUPERVISE, Capability.HANDOVER, Capability.KNOWLEDGE_EDIT,
                            Capability.KNOWLEDGE_PUBLISH, Capability.GRID_EDIT, Capability.OUTAGE_EDIT,
                            Capability.OUTAGE_PUBLISH, Capability.OUTAGE_OVERRIDE},
    # The handling unit (county dispatch, station) reports the outages it carries out.
    Role.HANDLER: _READ | _FIELD | {Capability.PERSONAL_DATA, Capability.OUTAGE_EDIT},
    Role.CREW: _READ | _FIELD,
    Role.MANAGER_FULL: _READ | _FIELD | {Capability.CUSTOMER_EDIT, Capability.PERSONAL_DATA,
                                         Capability.ACCOUNT_STATUS, Capability.ORDER_INTAKE, Capability.METER_EDIT,
                                         Capability.READING_ENTER},
    Role.MANAGER_PART: _READ | _FIELD | {Capability.CUSTOMER_EDIT, Capability.ACCOUNT_STATUS},
    Role.READER: _READ | {Capability.READING_ENTER},
    Role.COLLECTOR: _READ | {Capability.ACCOUNT_STATUS, Capability.CARD_SELL},
    Role.INSPECTOR: _READ | _FIELD,
    Role.CLERK: _READ | {Capability.CUSTOMER_EDIT, Capability.PERSONAL_DATA, Capability.ACCOUNT_STATUS,
                         Capability.ORDER_INTAKE, Capability.ORDER_REPLY, Capability.CARD_SELL},
    Role.ANALYST: _READ | {Capability.KNOWLEDGE_EDIT, Capability.READING_ENTER, Capability.READING_REVIEW},
    # The telephone system's account: call events and IVR answers, nothing else. Its unit is the
    # hotline center's, so IVR answers cover the customers that center serves.
    Role.TELEPHONY: frozenset({Capability.CALL_EVENTS}),
    Role.ADMIN: _ALL,
}

MANAGER_ROLES = frozenset({Role.MANAGER_FULL, Role.MANAGER_PART})
