"""Who may take which action on which order: one function used by services (to refuse) and by the
order page and API (to offer only what is allowed)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kefu.org import scope
from kefu.org.choices import Capability
from kefu.workorders.choices import (
    ACTION_CAPABILITY,
    HANDLING_ACTIONS,
    TRANSITIONS,
    Action,
    Status,
)
from kefu.workorders.models import WorkOrder

# A note writes to the order's timeline: it takes a role that works on orders, not one that only looks.
NOTE_CAPABILITIES = (
    Capability.ORDER_INTAKE, Capability.ORDER_DISPATCH, Capability.ORDER_HANDLE, Capability.ORDER_REPLY,
    Capability.ORDER_SUPERVISE,
)


def action_capability(action: str, order: WorkOrder) -> str:
    # Answering on the call: an agent records the result of an order never dispatched.
    if action == Action.HANDLE and order.status == Status.ACCEPTED:
        return Capability.ORDER_REPLY
    return ACTION_CAPABILITY[action]


def refusal(user: Any, order: WorkOrder, action: str) -> tuple[str, str] | None:
    """Why ``user`` may not take ``action`` now: (kind, message), kind "role" or "state"; None if allowed."""
    if action not in TRANSITIONS:
        return "state", _("Unknown action: %(action)s") % {"action": action}
    capability = action_capability(action, order)
    if not scope.has_capability(user, capability):
        return "role", _("Your role does not allow this action: %(action)s") % {"action": Capability(capability).label}
    if action == Action.NOTE and not any(scope.has_capability(user, c) for c in NOTE_CAPABILITIES):
        return "role", _("Your role does not allow this action: %(action)s") % {"action": Action(action).label}
    sources, _target = TRANSITIONS[action]
    if order.status not in sources:
        return "state", _("“%(action)s” is not possible while the order is “%(status)s”.") % {
            "action": Action(action).label, "status": Status(order.status).label,
        }
    if action in HANDLING_ACTIONS or (action == Action.HANDLE and order.status != Status.ACCEPTED):
        handling = order.handling_unit
        if handling is None or not scope.unit_in_scope(user, handling):
            return "role", _("Only the handling unit may do this.")
    if action == Action.ARRIVE and not order.order_type.field_work:
        return "state", _("This type of order has no visit on site.")
    if action == Action.HANDLE and order.status == Status.ACCEPTED and order.order_type.field_work:
        return "state", _("A field order must be dispatched to a unit before its result is recorded.")
    if action == Action.REOPEN and order.satisfaction != "unsatisfied":
        return "state", _("Only an order whose callback was unsatisfied can be reopened.")
    if action == Action.ARCHIVE and order.status == Status.REPLIED and order.order_type.callback_required:
        return "state", _("This type of order must be called back before it is archived.")
    return None


def allowed_actions(user: Any, order: WorkOrder) -> list[str]:
    return [a for a in Action if refusal(user, order, a) is None]
