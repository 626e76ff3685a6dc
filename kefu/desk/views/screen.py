"""The agent desk screen: the page an agent works on all shift.

The call panel polls ``poll/`` every second with the stamp of what it shows; while the desk's call
stays the same the answer is an empty 204 and htmx leaves the panel alone. Every action posts and
gets the panel (or the order column) back as a fragment, with the error message in it when a
business rule refuses. The new-order column is replaced only when the call or the identified
customer changes, so the agent's typing is not thrown away by the poll.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pypinyin import Style, lazy_pinyin

from kefu.core.errors import ApplicationError, PermissionDeniedError
from kefu.core.web import add_service_errors, is_htmx, vary_on_htmx
from kefu.customers.models import Account
from kefu.customers.selectors import account_qs, customer_search
from kefu.knowledge.selectors import suggestions
from kefu.org.choices import Capability
from kefu.org.scope import require
from kefu.org.tables import parse_id
from kefu.workorders.models import OrderType
from kefu.workorders.selectors import intake_duplicates, ordertype_choices
from kefu.workorders.tables import queue_rows

from ..choices import CallResult, CallState, OrderRelation
from ..forms import DeskOrderForm, ExtensionForm, FindForm, IdentifyForm, LinkForm, ResultForm, UrgeForm
from ..models import Call
from ..selectors import call_get, desk_call, desk_card, desk_stamp, extension_of
from ..services import (
    call_answer,
    call_create_order,
    call_identify,
    call_link_order,
    call_record_result,
    call_urge_order,
)
from ..services import extension_sign_in as sign_in_service
from ..services import extension_sign_out as sign_out_service

View = Callable[..., HttpResponse]
SUGGESTIONS = 5
FIND_LIMIT = 8
# What the result select proposes after the call, from what the agent did with it (first wins).
RESULT_GUESS = [(OrderRelation.CREATED, CallResult.ORDER_CREATED), (OrderRelation.LINKED, CallResult.ORDER_LINKED),
                (OrderRelation.URGED, CallResult.URGED)]


def desk_view(view: View) -> View:
    """Signed in and allowed the desk. An htmx request after the session ran out goes to the login
    page as a whole (not the login form inside the call panel)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if is_htmx(request):
                response = HttpResponse(status=200)
                response["HX-Redirect"] = reverse("login")
                return response
            return redirect_to_login(request.get_full_path())
        require(request.user, Capability.DESK)
        if "pk" in kwargs:
            call_get(request.user, kwargs["pk"])  # a call out of scope is 404 before any input is judged
        return view(request, *args, **kwargs)

    return wrapper


def _business_error(exc: ApplicationError) -> None:
    # A refusal of the whole desk is the 403 page; everything else is a message in the fragment.
    if type(exc) is PermissionDeniedError:
        raise exc


# ---- context -----------------------------------------------------------------------------------


def _form_key(call: Call | None) -> str:
    """Changes when the order column must be redrawn: another call, or another customer or account."""
    return f"{call.pk}.{call.customer_id or 0}.{call.account_id or 0}" if call is not None else "none"


def _accounts(user: Any, call: Call | None) -> list[Account]:
    if call is None or call.customer_id is None:
        return []
    return list(account_qs(user).filter(customer_id=call.customer_id).select_related("premise")
                .order_by("utility", "number"))


def _order_context(user: Any, call: Call | None, form: DeskOrderForm | None = None,
                    created: Any = None) -> dict[str, Any]:
    accounts = _accounts(user, call)
    if form is None:
        chosen = next((a for a in accounts if a.pk == (call.account_id if call else None)), None)
        chosen = chosen or (accounts[0] if accounts else None)
        unit = getattr(user, "unit", None)
        initial: dict[str, Any] = {"utility": unit.utility if unit is not None and unit.utility in ("power", "gas")
                                   else ""}
        if chosen is not None:
            initial.update(account=chosen.pk, address=chosen.premise.address)
        form = DeskOrderForm(accounts=accounts, initial=initial)
    selected = str(form["account"].value() or "")
    utility = next((a.utility for a in accounts if str(a.pk) == selected), "") or str(form["utility"].value() or "")
    type_id = parse_id(str(form["order_type"].value() or ""))
    kind = OrderType.objects.filter(pk=type_id).first() if type_id else None
    return {
        "call": call, "order_form": form, "form_key": _form_key(call), "accounts": accounts,
        "selected_account": selected, "type_utility": utility, "created": created,
        "type_label": kind.label if kind is not None else "",
    }


def _result_form(call: Call, card: Any) -> ResultForm:
    relations = {link.relation for link in card.linked_orders}
    guess = next((result for relation, result in RESULT_GUESS if relation in relations), "")
    return ResultForm(initial={"result": call.result or guess, "note": call.result_note, "version": call.version})


def _panel_context(request: HttpRequest, *, notice: str = "", error: str = "",
                   result_form: ResultForm | None = None) -> dict[str, Any]:
    user = request.user
    call = desk_call(user)
    card = desk_card(user, call) if call is not None else None
    context: dict[str, Any] = {
        "call": call, "card": card, "stamp": desk_stamp(user), "notice": notice, "error": error,
        "live": call is not None and call.state in (CallState.RINGING, CallState.TALKING),
        "ringing": call is not None and call.state == CallState.RINGING,
        "wrap_up": call is not None and call.state not in (CallState.RINGING, CallState.TALKING),
        "extension": extension_of(user),
    }
    if call is not None and card is not None and call.state != CallState.RINGING:
        context["result_form"] = result_form or _result_form(call, card)
    return context


def _panel_response(request: HttpRequest, *, status: int = 200, **kwargs: Any) -> HttpResponse:
    """The call panel, and the order column out of band when the call or its customer changed.

    A plain form post (no JavaScript, or a click before htmx took the new panel in) goes back to
    the desk with the message, instead of leaving the agent on a bare fragment."""
    if not is_htmx(request):
        if kwargs.get("error"):
            messages.error(request, kwargs["error"])
        elif kwargs.get("notice"):
            messages.success(request, kwargs["notice"])
        return redirect("desk:screen")
    context = _panel_context(request, **kwargs)
    shown = (request.POST if request.method == "POST" else request.GET).get("form_key", "")
    if shown != _form_key(context["call"]):
        context["order_oob"] = True
        context.update(_order_context(request.user, context["call"]))
    response = render(request, "desk/_panel_response.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _error_text(exc: ApplicationError) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        return " ".join(str(m) for messages_ in errors.values() for m in messages_)
    return str(exc.message)


def _form_error_text(form: Any) -> str:
    return " ".join(str(m) for errors in form.errors.values() for m in errors)


# ---- the page and the poll ---------------------------------------------------------------------


def _screen(request: HttpRequest, ext_form: ExtensionForm | None = None, status: int = 200,
            order_form: DeskOrderForm | None = None) -> HttpResponse:
    context = _panel_context(request)
    context.update(_order_context(request.user, context["call"], order_form))
    context["ext_form"] = ext_form or ExtensionForm()
    return render(request, "desk/screen.html", context, status=status)


@desk_view
@require_GET
def desk_screen(request: HttpRequest) -> HttpResponse:
    return _screen(request)


@desk_view
@require_GET
def desk_poll(request: HttpRequest) -> HttpResponse:
    """204 while the desk's call is what the panel shows; the fresh panel when it changed."""
    if request.GET.get("stamp", "") == desk_stamp(request.user):
        response = HttpResponse(status=204)
        response["Cache-Control"] = "no-store"
        return response
    return _panel_response(request)


# ---- extension -----------------------------------------------------------------------------------


def _extension_response(request: HttpRequest, form: ExtensionForm, status: int = 200) -> HttpResponse:
    if is_htmx(request):
        # The call panel's waiting line names the extension: it comes along out of band.
        context = _panel_context(request)
        context["ext_form"] = form
        return render(request, "desk/_extension_response.html", context, status=status)
    if status != 200:
        return _screen(request, form, status)
    return redirect("desk:screen")


@desk_view
@require_POST
def extension_sign_in(request: HttpRequest) -> HttpResponse:
    form = ExtensionForm(request.POST)
    if not form.is_valid():
        return _extension_response(request, form, 400)
    try:
        ext = sign_in_service(actor=request.user, number=form.cleaned_data["number"])
    except ApplicationError as exc:
        _business_error(exc)
        add_service_errors(form, exc, field_map={"extension": "number"})
        return _extension_response(request, form, exc.status_code)
    if not is_htmx(request):
        messages.success(request, _("Signed in at extension %(number)s.") % {"number": ext.number})
    return _extension_response(request, ExtensionForm())


@desk_view
@require_POST
def extension_sign_out(request: HttpRequest) -> HttpResponse:
    sign_out_service(actor=request.user)
    return _extension_response(request, ExtensionForm())


# ---- the call ----------------------------------------------------------------------------------


@desk_view
@require_POST
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        call_answer(actor=request.user, call_pk=pk)
    except ApplicationError as exc:
        _business_error(exc)
        return _panel_response(request, error=_error_text(exc), status=exc.status_code)
    return _panel_response(request)


def _panel_action(request: HttpRequest, form: Any, act: Callable[[dict[str, Any]], str]) -> HttpResponse:
    """Validate the small form of a call-panel action, run it, and answer with the panel and a notice
    (or the refusal as a message)."""
    if not form.is_valid():
        return _panel_response(request, error=_form_error_text(form), status=400)
    try:
        notice = act(form.cleaned_data)
    except ApplicationError as exc:
        _business_error(exc)
        return _panel_response(request, error=_error_text(exc), status=exc.status_code)
    return _panel_response(request, notice=notice)


@desk_view
@require_POST
def identify(request: HttpRequest, pk: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        call = call_identify(actor=request.user, call_pk=pk, customer_id=data["customer"],
                             account_id=data["account"])
        return _("Caller identified: %(name)s.") % {"name": call.customer.name if call.customer else ""}

    return _panel_action(request, IdentifyForm(request.POST), act)


@desk_view
@require_GET
def find_customer(request: HttpRequest) -> HttpResponse:
    """The quick search of the unknown-caller path: customers to identify the call with."""
    form = FindForm(request.GET)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    call_pk = parse_id(request.GET.get("call", ""))
    found = customer_search(user=request.user, query=query, limit=FIND_LIMIT) if query else None
    customers = found.customers if found is not None else []
    by_customer: dict[int, list[Account]] = {}
    if customers:
        for account in (account_qs(request.user).filter(customer__in=customers).select_related("premise")
                        .order_by("utility", "number")):
            by_customer.setdefault(account.customer_id, []).append(account)
    rows = [(c, by_customer.get(c.pk, [])) for c in customers]
    context = {"rows": rows, "query": query, "call_pk": call_pk, "too_long": not form.is_valid()}
    return vary_on_htmx(render(request, "desk/_find_results.html", context))


@desk_view
@require_POST
def link_order(request: HttpRequest, pk: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        order = call_link_order(actor=request.user, call_pk=pk, order_id=data["order"], note=data["note"])
        return _("The call is linked to order %(number)s (%(n)d repeat calls).") % {
            "number": order.number, "n": order.repeat_count}

    return _panel_action(request, LinkForm(request.POST), act)


@desk_view
@require_POST
def urge_order(request: HttpRequest, pk: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        order = call_urge_order(actor=request.user, call_pk=pk, order_id=data["order"], reason=data["reason"])
        return _("Order %(number)s urged (%(n)d times).") % {"number": order.number, "n": order.urge_count}

    return _panel_action(request, UrgeForm(request.POST), act)


@desk_view
@require_POST
def record_result(request: HttpRequest, pk: int) -> HttpResponse:
    form = ResultForm(request.POST)
    if not form.is_valid():
        return _panel_response(request, error=_form_error_text(form), result_form=form, status=400)
    try:
        call = call_record_result(actor=request.user, call_pk=pk, result=form.cleaned_data["result"],
                                  note=form.cleaned_data["note"], seen_version=form.cleaned_data["version"])
    except ApplicationError as exc:
        _business_error(exc)
        add_service_errors(form, exc)
        return _panel_response(request, error=_error_text(exc), result_form=form, status=exc.status_code)
    return _panel_response(request, notice=_("Result recorded for the call from %(caller)s: %(result)s.") % {
        "caller": call.caller or _("a withheld number"), "result": call.get_result_display()})


# ---- the new order -----------------------------------------------------------------------------


def _order_duplicates(request: HttpRequest, call: Call) -> HttpResponse:
    """Open orders that may be the same matter, for the type and account the form holds now."""
    user = request.user
    account_id = parse_id(request.GET.get("account", ""))
    account = account_qs(user).filter(pk=account_id).first() if account_id else None
    type_id = parse_id(request.GET.get("order_type", ""))
    order_type = OrderType.objects.select_related("parent").filter(pk=type_id).first() if type_id else None
    customer_id = account.customer_id if account is not None else call.customer_id
    found = intake_duplicates(user=user, customer_id=customer_id, phone=call.caller_e164,
                              premise_id=account.premise_id if account is not None else None, order_type=order_type)
    context = {"call": call, "duplicates": queue_rows(found),
               "searched": bool(customer_id or call.caller_e164), "order_type": order_type}
    return vary_on_htmx(render(request, "desk/_duplicates.html", context))


@desk_view
@require_http_methods(["GET", "POST"])
def create_order(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the duplicates panel beside the form. POST: a new order from the call, linked to it."""
    call = call_get(request.user, pk)
    if request.method == "GET":
        return _order_duplicates(request, call)
    form = DeskOrderForm(request.POST, accounts=_accounts(request.user, call))
    status = 400
    if form.is_valid():
        try:
            result = call_create_order(actor=request.user, call_pk=call.pk, **form.service_input())
        except ApplicationError as exc:
            _business_error(exc)
            add_service_errors(form, exc, field_map=lambda key: key if key in form.fields else None)
            status = exc.status_code
        else:
            if not is_htmx(request):
                messages.success(request, _("Order %(number)s accepted.") % {"number": result.order.number})
                return redirect("desk:screen")
            call.refresh_from_db()
            context = _order_context(request.user, call, created=result)
            return render(request, "desk/_order.html", context)
    if not is_htmx(request):
        return _screen(request, status=status, order_form=form)
    return render(request, "desk/_order.html", _order_context(request.user, call, form), status=status)


# ---- suggestions and order types ---------------------------------------------------------------


@desk_view
@require_http_methods(["GET", "POST"])
def suggest(request: HttpRequest) -> HttpResponse:
    """Knowledge articles for what the agent is typing, best five first."""
    data = request.POST if request.method == "POST" else request.GET
    text = (data.get("content") or data.get("q") or "")[:20_000]
    account_id = parse_id(data.get("account", ""))
    account = account_qs(request.user).select_related("unit").filter(pk=account_id).first() if account_id else None
    wanted = account.utility if account is not None else data.get("utility", "")
    utility = wanted if wanted in ("power", "gas") else None
    region = account.unit if account is not None else getattr(request.user, "unit", None)
    page = suggestions(user=request.user, text=text, utility=utility, region=region, limit=SUGGESTIONS) \
        if text.strip() else None
    context = {"items": page.items if page is not None else [], "searched": page is not None}
    return vary_on_htmx(render(request, "desk/_suggestions.html", context))


@lru_cache(maxsize=4096)
def spell(name: str) -> tuple[str, str]:
    """Full pinyin and initials of a Chinese name: 故障报修 → ("guzhangbaoxiu", "gzbx")."""
    syllables = [s.lower() for s in lazy_pinyin(name, style=Style.NORMAL, errors="ignore") if s.isalnum()]
    return "".join(syllables), "".join(s[0] for s in syllables)


def _normalise(query: str) -> str:
    return "".join(query.lower().split()).replace("'", "")


def type_entry(kind: OrderType) -> dict[str, Any]:
    full, initials = spell(kind.name)
    parent = kind.parent
    p_full, p_initials = spell(parent.name) if parent is not None else ("", "")
    return {
        "id": kind.pk, "code": kind.code, "name": kind.name, "name_en": kind.name_en, "label": kind.label,
        "parent": parent.label if parent is not None else "", "parent_name": parent.name if parent is not None
        else "", "utility": kind.utility, "py": full, "initials": initials, "parent_py": p_full,
        "parent_initials": p_initials,
    }


def type_rank(entry: dict[str, Any], query: str) -> int | None:
    """0: the name, its pinyin or initials start with the query; 1: they contain it; 2: the parent
    type matches; None: no match. desk.js ranks the same way."""
    if not query:
        return 0
    own = (entry["name"].lower(), entry["py"], entry["initials"])
    if any(text.startswith(query) for text in own):
        return 0
    if any(query in text for text in (*own, entry["name_en"].lower(), entry["code"])):
        return 1
    parent = (entry["parent_name"].lower(), entry["parent_py"], entry["parent_initials"])
    if any(text and query in text for text in parent):
        return 2
    return None


@desk_view
@require_GET
def order_types(request: HttpRequest) -> JsonResponse:
    """The leaf order types with their pinyin, for the type picker; ``q`` filters and ranks them."""
    utility = request.GET.get("utility", "")
    query = _normalise(request.GET.get("q", ""))[:40]
    types = ordertype_choices(utility=utility if utility in ("power", "gas") else None)
    ranked = []
    for position, kind in enumerate(types):
        entry = type_entry(kind)
        rank = type_rank(entry, query)
        if rank is not None:
            ranked.append((rank, position, entry))
    ranked.sort(key=lambda item: item[:2])
    return JsonResponse({"query": query, "types": [entry for _rank, _pos, entry in ranked]})
