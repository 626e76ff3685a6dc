"""Customer pages: search, card, personal-data reveal, registration, edits and manager coverage.

Every object comes through the scoped selectors (out of scope → 404) and every action checks its
capability (→ 403 via the middleware). Service errors are shown on the form, never as a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from kefu.core.errors import ApplicationError, Conflict, PermissionDeniedError
from kefu.core.models import AuditLog
from kefu.core.services import audit_record
from kefu.core.validators import mask_id_number, mask_phone
from kefu.core.web import add_service_errors, client_ip, is_htmx, vary_on_htmx
from kefu.customers.choices import AccountStatus
from kefu.customers.forms import (
    AccountEditForm,
    AccountManagerForm,
    AccountStatusForm,
    ContactEditForm,
    ContactForm,
    CustomerEditForm,
    CustomerRegisterForm,
    PremiseForm,
    SearchForm,
)
from kefu.customers.models import Account, Contact
from kefu.customers.selectors import (
    account_qs,
    contact_qs,
    customer_card,
    customer_get,
    customer_search,
    manager_candidates,
    manager_coverage,
    premise_qs,
)
from kefu.customers.services import (
    account_allowed_statuses,
    account_assign_manager,
    account_change_status,
    account_update,
    contact_add,
    contact_remove,
    contact_update,
    customer_register,
    customer_update,
    premise_update,
)
from kefu.customers.tables import (
    MATCH_LABELS,
    contact_rows,
    coverage_lines,
    history_rows,
    search_rows,
    status_colour,
)
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import require
from kefu.org.selectors import orgunit_get
from kefu.org.tables import base_depth, parse_id

PAGE_SIZE = 20
FORM_METHODS = require_http_methods(["GET", "POST"])


def _form_status(form: Any, error: ApplicationError | None = None) -> int:
    """400 for bad input, 409 for a conflict or a refused transition, 200 for a fresh form."""
    if error is not None:
        return error.status_code
    return 400 if form.is_bound and form.errors else 200


def _show_error(form: Any, exc: ApplicationError, to_field: Any = None) -> ApplicationError:
    add_service_errors(form, exc, field_map=to_field)  # a permission refusal re-raises: 403 page
    return exc


def _data(request: HttpRequest) -> Any:
    # Bind on any POST, even an empty one, so that missing fields are reported.
    return request.POST if request.method == "POST" else None


def _account(request: HttpRequest, pk: int) -> Account:
    qs = account_qs(request.user).select_related("customer", "unit", "manager", "premise")
    return get_object_or_404(qs, pk=pk)


@login_required
@require_http_methods(["GET"])
def search(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.CUSTOMER_VIEW)
    form = SearchForm(request.GET)
    context: dict[str, Any] = {"form": form, "query": "", "rows": None}
    if form.is_valid():
        query = form.cleaned_data["q"] or ""
        after = form.cleaned_data["after"]
        result = customer_search(user=request.user, query=query, limit=PAGE_SIZE, after_id=after)
        context.update(query=query, after=after, result=result, rows=search_rows(result, user=request.user),
                       match_label=MATCH_LABELS.get(result.kind, ""))
        if result.has_more and result.customers:
            context["next_url"] = "?" + urlencode({"q": query, "after": result.customers[-1].pk})
        if after:
            context["first_url"] = "?" + urlencode({"q": query})
    template = "customers/_results.html" if is_htmx(request) else "customers/search.html"
    return vary_on_htmx(render(request, template, context, status=200 if form.is_valid() else 400))


def _card_context(request: HttpRequest, pk: int, *, revealed: bool = False) -> dict[str, Any]:
    card = customer_card(user=request.user, pk=pk)
    return {
        "card": card,
        "customer": card.customer,
        "accounts": [(a, status_colour(a.status)) for a in card.accounts],
        "contacts": contact_rows(card.contacts, revealed=revealed),
        "revealed": revealed,
        "masked_id": mask_id_number(card.customer.id_number),
        "history": history_rows(card.changes),
    }


@login_required
@require_http_methods(["GET"])
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "customers/detail.html", _card_context(request, pk))


@never_cache
@login_required
@require_POST
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Full ID and phone numbers, for roles that may see them; every reveal is audited."""
    customer = customer_get(user=request.user, pk=pk)
    try:
        require(request.user, Capability.PERSONAL_DATA)
    except PermissionDeniedError as exc:
        if not is_htmx(request):
            raise
        # Answer in place: the masked block again, with the refusal on it.
        context = _card_context(request, customer.pk) | {"reveal_error": exc.message}
        return vary_on_htmx(render(request, "customers/_personal.html", context, status=403))
    context = _card_context(request, customer.pk, revealed=True)
    audit_record(
        actor=request.user, action=AuditLog.Action.VIEW_PERSONAL, instance=customer, ip=client_ip(request),
        detail={"fields": ["id_number", "contact.phone"], "contacts": [c.pk for c, _p in context["contacts"]]},
    )
    template = "customers/_personal.html" if is_htmx(request) else "customers/detail.html"
    return vary_on_htmx(render(request, template, context))


@login_required
@FORM_METHODS
def create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.CUSTOMER_EDIT)
    units = OrgUnit.objects.for_user(request.user).filter(is_active=True)
    form = CustomerRegisterForm(_data(request), units=units)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            account = customer_register(actor=request.user, **form.service_input())
        except ApplicationError as exc:
            error = _show_error(form, exc, CustomerRegisterForm.field_for)
        else:
            messages.success(request, _("Customer registered. Account number: %(number)s") % {"number": account.number})
            return redirect("customers:detail", pk=account.customer_id)
    return render(request, "customers/create.html", {"form": form}, status=_form_status(form, error))


@login_required
@FORM_METHODS
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = customer_get(user=request.user, pk=pk)
    require(request.user, Capability.CUSTOMER_EDIT)
    form = CustomerEditForm(_data(request), customer=customer, units=OrgUnit.objects.for_user(request.user))
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            customer_update(customer=customer, actor=request.user, version=form.cleaned_data["version"],
                            **form.changes())
        except ApplicationError as exc:
            error = _show_error(form, exc)
        else:
            messages.success(request, _("Customer details saved."))
            return redirect("customers:detail", pk=customer.pk)
    context = {"form": form, "customer": customer, "conflict": isinstance(error, Conflict)}
    return render(request, "customers/edit.html", context, status=_form_status(form, error))


@login_required
@FORM_METHODS
def account_status(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    require(request.user, Capability.ACCOUNT_STATUS)
    allowed = account_allowed_statuses(account)
    form = AccountStatusForm(_data(request), account=account, allowed=allowed)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["current"] != account.status:
                # The page was loaded before someone else moved the account.
                raise Conflict(_("Account %(number)s was changed by someone else meanwhile. "
                                 "Reload and try again.") % {"number": account.number})
            account_change_status(account=account, to_status=form.cleaned_data["to_status"], actor=request.user,
                                  reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            error = _show_error(form, exc)
        else:
            messages.success(request, _("Account %(number)s is now “%(status)s”.") % {
                "number": account.number, "status": AccountStatus(account.status).label})
            return redirect("customers:detail", pk=account.customer_id)
    context = {"form": form, "account": account, "allowed": allowed, "conflict": isinstance(error, Conflict),
               "colour": status_colour(account.status)}
    return render(request, "customers/account_status.html", context, status=_form_status(form, error))


@login_required
@FORM_METHODS
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    require(request.user, Capability.CUSTOMER_EDIT)
    form = AccountEditForm(_data(request), account=account)
    error = None
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if getattr(account, k) != v}
        try:
            if changes:
                account_update(account=account, actor=request.user, **changes)
        except ApplicationError as exc:
            error = _show_error(form, exc)
        else:
            messages.success(request, _("Account %(number)s saved.") % {"number": account.number})
            return redirect("customers:detail", pk=account.customer_id)
    return render(request, "customers/account_edit.html", {"form": form, "account": account},
                  status=_form_status(form, error))


@login_required
@FORM_METHODS
def account_manager(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    require(request.user, Capability.ACCOUNT_MANAGER)
    form = AccountManagerForm(_data(request), candidates=manager_candidates(user=request.user, account=account),
                              initial={"manager": account.manager_id})
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            account_assign_manager(account=account, manager=form.cleaned_data["manager"], actor=request.user,
                                   reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            error = _show_error(form, exc)
        else:
            manager = form.cleaned_data["manager"]
            if manager is None:
                text = _("Account %(number)s has no customer manager now.") % {"number": account.number}
            else:
                text = _("%(name)s is now the customer manager of account %(number)s.") % {
                    "name": manager.display_name(), "number": account.number}
            messages.success(request, text)
            return redirect("customers:detail", pk=account.customer_id)
    return render(request, "customers/account_manager.html", {"form": form, "account": account},
                  status=_form_status(form, error))


@login_required
@FORM_METHODS
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = customer_get(user=request.user, pk=pk)
    require(request.user, Capability.CUSTOMER_EDIT)
    form = ContactForm(_data(request))
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            contact_add(customer=customer, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            error = _show_error(form, exc, ContactForm.field_for)
        else:
            messages.success(request, _("Contact added."))
            return redirect(reverse("customers:detail", args=[customer.pk]) + "#contacts")
    return render(request, "customers/contact_form.html", {"form": form, "customer": customer},
                  status=_form_status(form, error))


@login_required
@FORM_METHODS
def premise_edit(request: HttpRequest, pk: int) -> HttpResponse:
    premise = premise_qs(request.user).filter(pk=pk).first()
    if premise is None:
        raise Http404
    require(request.user, Capability.CUSTOMER_EDIT)
    fields = list(PremiseForm.base_fields)
    form = PremiseForm(_data(request), initial={f: getattr(premise, f) for f in fields})
    error = None
    back = parse_id(request.GET.get("customer"))  # the card to return to; junk is ignored
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if getattr(premise, k) != v}
        try:
            if changes:
                premise = premise_update(premise=premise, actor=request.user, **changes)
        except ApplicationError as exc:
            error = _show_error(form, exc)
        else:
            messages.success(request, _("Address saved: %(address)s") % {"address": premise.address})
            customer_id = back or premise.accounts.values_list("customer_id", flat=True).first()
            return redirect("customers:detail", pk=customer_id) if customer_id else redirect("customers:search")
    return render(request, "customers/premise_form.html", {"form": form, "premise": premise, "back": back},
                  status=_form_status(form, error))


def _contact(request: HttpRequest, pk: int) -> Contact:
    contact = contact_qs(request.user).select_related("customer").filter(pk=pk).first()
    if contact is None:
        raise Http404
    require(request.user, Capability.CUSTOMER_EDIT)
    return contact


@login_required
@FORM_METHODS
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    initial = {"name": contact.name, "relation": contact.relation, "is_primary": contact.is_primary,
               "note": contact.note}
    form = ContactEditForm(_data(request), initial=initial)
    error = None
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k != "phone" and getattr(contact, k) != v}
        if form.cleaned_data["phone"]:
            changes["phone"] = form.cleaned_data["phone"]
        try:
            if changes:
                contact_update(contact=contact, actor=request.user, **changes)
        except ApplicationError as exc:
            error = _show_error(form, exc, ContactForm.field_for)
        else:
            messages.success(request, _("Contact saved."))
            return redirect(reverse("customers:detail", args=[contact.customer_id]) + "#contacts")
    context = {"form": form, "contact": contact, "customer": contact.customer,
               "masked_phone": mask_phone(contact.phone)}
    return render(request, "customers/contact_form.html", context, status=_form_status(form, error))


@login_required
@require_POST
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    contact_remove(contact=contact, actor=request.user)
    messages.success(request, _("Contact %(name)s removed.") % {"name": contact.name})
    return redirect(reverse("customers:detail", args=[contact.customer_id]) + "#contacts")


@login_required
@require_http_methods(["GET"])
def coverage(request: HttpRequest) -> HttpResponse:
    """Share of accounts with a customer manager, unit by unit; ``?unit=<id>`` narrows it to that unit
    and its children (the card on the org unit page loads it that way, as an htmx fragment)."""
    require(request.user, Capability.ORG_VIEW)
    unit: OrgUnit | None = None
    raw = request.GET.get("unit")
    if raw:
        pk = parse_id(raw)
        if pk is None:
            raise Http404
        unit = orgunit_get(user=request.user, pk=pk)  # out of scope → 404
    # manager_coverage works over the user's whole visible tree; units are few, so no paging here.
    rows = manager_coverage(user=request.user, parent=unit)
    lines = coverage_lines(rows, base=unit.depth if unit is not None else base_depth(request.user))
    template = "customers/_coverage_table.html" if is_htmx(request) else "customers/coverage.html"
    return vary_on_htmx(render(request, template, {"lines": lines, "unit": unit}))
