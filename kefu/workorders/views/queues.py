"""Work queues: my orders, my unit's orders, to dispatch, warnings and overdue, supervised, all.

One view function per queue over the same template. The filter form is the shared WorkOrderFilter;
htmx swaps only the table while the user filters. Pages are keyset pages, newest first, so the 500th
page costs what the first does; counts on the tabs are capped so that a big queue stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from kefu.core.web import vary_on_htmx
from kefu.org.choices import Capability
from kefu.org.scope import capabilities, require
from kefu.org.tables import parse_id
from kefu.workorders.filters import WorkOrderFilter
from kefu.workorders.selectors import Queue, queue_qs, workorder_page
from kefu.workorders.tables import capped_count, queue_rows
from kefu.workorders.views.common import htmx_target

PAGE_SIZE = 50
TABLE_ID = "order-table"


@dataclass(frozen=True)
class QueueTab:
    queue: str
    url_name: str
    label: Any
    icon: str
    counted: bool  # only queues that stay small get a count on their tab
    capability: str
    hint: Any


TABS: tuple[QueueTab, ...] = (
    QueueTab(Queue.MINE, "workorders:queue-mine", _("My orders"), "person-check", True, Capability.ORDER_VIEW,
             _("Open orders you accepted (first responsibility) or are handling.")),
    QueueTab(Queue.UNIT, "workorders:queue-unit", _("My unit's orders"), "building", False, Capability.ORDER_VIEW,
             _("Open orders whose handling unit is your unit or a unit below it.")),
    QueueTab(Queue.TO_DISPATCH, "workorders:queue-dispatch", _("To dispatch"), "send", True,
             Capability.ORDER_DISPATCH, _("Accepted or returned orders waiting for a handling unit.")),
    QueueTab(Queue.WARNINGS, "workorders:queue-warnings", _("Warnings and overdue"), "alarm", True,
             Capability.ORDER_VIEW, _("Open orders past a warning level of a time limit, or overdue.")),
    QueueTab(Queue.SUPERVISED, "workorders:queue-supervised", _("Supervised"), "eye", True,
             Capability.ORDER_VIEW, _("Open orders under supervision, with their supervision deadline.")),
    QueueTab(Queue.ALL, "workorders:queue-all", _("All orders"), "search", False, Capability.ORDER_VIEW,
             _("Every order in your area, open or closed: search by number, type, status, unit or date.")),
)
TAB_BY_QUEUE = {tab.queue: tab for tab in TABS}


def visible_tabs(user: Any) -> list[QueueTab]:
    caps = capabilities(user)
    return [tab for tab in TABS if tab.capability in caps]


def queue_counts(user: Any, tabs: list[QueueTab]) -> dict[str, str]:
    """Capped counts for the small queues, one cheap query each."""
    return {tab.queue: capped_count(queue_qs(user, tab.queue)) for tab in tabs if tab.counted}


def _style(form: forms.BaseForm) -> None:
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.SelectMultiple):
            widget.attrs.update({"class": "form-select form-select-sm", "size": "3"})
        elif isinstance(widget, forms.Select):
            widget.attrs["class"] = "form-select form-select-sm"
        else:
            widget.attrs["class"] = "form-control form-control-sm"
        if name in ("accepted_from", "accepted_to"):
            widget.input_type = "date"
        if name == "number":
            widget.attrs.update(inputmode="numeric", autocomplete="off")


def _queue(request: HttpRequest, queue: str) -> HttpResponse:
    require(request.user, Capability.ORDER_VIEW)
    tab = TAB_BY_QUEUE[queue]
    require(request.user, tab.capability)
    base = queue_qs(request.user, queue)
    filterset = WorkOrderFilter(request.GET, queryset=base, request=request)
    valid = filterset.is_valid()
    qs = filterset.qs if valid else base.none()
    after = parse_id(request.GET.get("after"))
    orders, next_cursor = workorder_page(qs, after_id=after, limit=PAGE_SIZE)
    _style(filterset.form)
    context: dict[str, Any] = {
        "tab": tab, "form": filterset.form, "rows": queue_rows(orders), "next_cursor": next_cursor,
        "is_first": after is None, "table_id": TABLE_ID,
    }
    status = 200 if valid else 400
    if htmx_target(request) == TABLE_ID:
        return vary_on_htmx(render(request, "workorders/_queue_table.html", context, status=status))
    tabs = visible_tabs(request.user)
    counts = queue_counts(request.user, tabs)
    context["tabs"] = [(t, counts.get(t.queue)) for t in tabs]
    return vary_on_htmx(render(request, "workorders/queue.html", context, status=status))


@login_required
@require_http_methods(["GET"])
def index(request: HttpRequest) -> HttpResponse:
    """The queue a person starts from: handling-unit staff their unit's, everyone else their own."""
    require(request.user, Capability.ORDER_VIEW)
    caps = capabilities(request.user)
    if Capability.ORDER_HANDLE in caps and Capability.ORDER_INTAKE not in caps:
        return redirect("workorders:queue-unit")
    return redirect("workorders:queue-mine")


@login_required
@require_http_methods(["GET"])
def mine(request: HttpRequest) -> HttpResponse:
    return _queue(request, Queue.MINE)


@login_required
@require_http_methods(["GET"])
def unit(request: HttpRequest) -> HttpResponse:
    return _queue(request, Queue.UNIT)


@login_required
@require_http_methods(["GET"])
def to_dispatch(request: HttpRequest) -> HttpResponse:
    return _queue(request, Queue.TO_DISPATCH)


@login_required
@require_http_methods(["GET"])
def warnings(request: HttpRequest) -> HttpResponse:
    return _queue(request, Queue.WARNINGS)


@login_required
@require_http_methods(["GET"])
def supervised(request: HttpRequest) -> HttpResponse:
    return _queue(request, Queue.SUPERVISED)


@login_required
@require_http_methods(["GET"])
def all_orders(request: HttpRequest) -> HttpResponse:
    return _queue(request, Queue.ALL)
