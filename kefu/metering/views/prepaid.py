"""IC-card prepaid gas pages: the counter that sells gas to a card (the tier split and the price are
shown before the clerk confirms), one card with its purchases, write-backs and findings, and the
reconciliation report of a unit with its Excel download.

The confirm button carries the price shown and a key made when it was shown: a second click, or a
reload, returns the first sale instead of selling twice, and a price that changed meanwhile is shown
again instead of charged.
"""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods

from kefu.core.api import parse_id
from kefu.core.errors import ApplicationError, Conflict
from kefu.core.web import add_service_errors, client_ip
from kefu.org.choices import Capability
from kefu.org.forms import BootstrapForm, UnitChoiceField
from kefu.org.models import OrgUnit
from kefu.org.scope import require

from .. import prepaid, prepaid_report
from ..models import MeterWriteBack, PrepaidCard
from ..prepaid_choices import FINDING_COLOURS, CardState, Finding, PurchaseMode, TamperFlag, ValveState

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_ROWS = 50
REPORT_ROWS = 200
WRITE_BACK_FIELDS = ("sequence", "total_used", "total_bought", "remaining", "valve", "tamper_flags")
CARD_COLOURS: dict[str, str] = {CardState.ACTIVE: "success", CardState.LOST: "danger",
                                CardState.REPLACED: "secondary"}


def _findings(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"code": f["code"], "label": str(Finding(f["code"]).label) if f["code"] in Finding.values else f["code"],
             "text": prepaid.finding_text(f), "colour": FINDING_COLOURS.get(f["code"], "secondary")} for f in items]


# The counter ------------------------------------------------------------------------------------

class SaleForm(BootstrapForm):
    card = forms.CharField(widget=forms.HiddenInput, max_length=40)
    mode = forms.ChoiceField(label=_lazy("Buy"), choices=PurchaseMode.choices, initial=PurchaseMode.VOLUME,
                             widget=forms.RadioSelect)
    quantity = forms.CharField(label=_lazy("m³ or yuan"), max_length=20,
                               widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    sequence = forms.IntegerField(label=_lazy("Last purchase the meter loaded"), required=False, min_value=0,
                                  max_value=prepaid.MAX_SEQUENCE)
    total_used = forms.CharField(label=_lazy("Total used (m³)"), required=False, max_length=20)
    total_bought = forms.CharField(label=_lazy("Total bought (m³)"), required=False, max_length=20)
    remaining = forms.CharField(label=_lazy("Remaining (m³)"), required=False, max_length=20)
    valve = forms.ChoiceField(label=_lazy("Valve"), required=False, choices=[("", "—"), *ValveState.choices])
    tamper_flags = forms.MultipleChoiceField(label=_lazy("Tamper flags"), required=False, choices=TamperFlag.choices,
                                             widget=forms.CheckboxSelectMultiple)
    key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    expect_amount = forms.DecimalField(widget=forms.HiddenInput, required=False, max_digits=12, decimal_places=2)

    def write_back(self) -> dict[str, Any] | None:
        """The status read from the card, or None when the card brought none back."""
        d = self.cleaned_data
        given = [d.get(name) for name in WRITE_BACK_FIELDS]
        if all(value in (None, "", []) for value in given):
            return None
        raw = {name: d.get(name) for name in WRITE_BACK_FIELDS}
        raw["sequence"] = "" if raw["sequence"] is None else raw["sequence"]
        return raw


def _field(key: str) -> str | None:
    """Service error keys to form fields: "write_back.valve" → "valve"."""
    return key.removeprefix("write_back.")


def _counter_context(request: HttpRequest, card: PrepaidCard | None) -> dict[str, Any]:
    if card is None:
        return {}
    today = timezone.localdate()
    try:
        position: dict[str, Any] | None = prepaid.cycle_position(card, today)
    except ApplicationError:
        position = None
    latest = MeterWriteBack.objects.filter(card=card).order_by("-read_at", "-id").first()
    return {
        "card": card, "position": position, "latest": latest,
        "latest_findings": _findings(latest.findings) if latest else [],
        "last_purchase": prepaid_report.card_purchases(card).first(),
        "card_colour": CARD_COLOURS.get(card.state, "secondary"),
    }


def _render_counter(request: HttpRequest, *, card: PrepaidCard | None, form: SaleForm | None, lookup: str = "",
                    lookup_error: str = "", quote: prepaid.Quote | None = None,
                    preview: list[dict[str, str]] | None = None, hidden: list[tuple[str, str]] | None = None,
                    status: int = 200) -> HttpResponse:
    context = {"form": form, "lookup": lookup, "lookup_error": lookup_error, "quote": quote,
               "preview_findings": preview or [], "hidden": hidden or [], **_counter_context(request, card)}
    return render(request, "metering/prepaid_counter.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def prepaid_counter(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.CARD_SELL)
    if request.method == "GET":
        number = request.GET.get("card", "").strip()[:40]
        card = prepaid_report.card_by_number(request.user, number) if number else None
        if number and card is None:
            return _render_counter(request, card=None, form=None, lookup=number, status=404,
                                   lookup_error=_("No card numbered %(number)s in your area.") % {"number": number})
        form = SaleForm(initial={"card": card.number, "mode": PurchaseMode.VOLUME}) if card else None
        return _render_counter(request, card=card, form=form, lookup=number)
    form = SaleForm(request.POST)
    card = prepaid_report.card_by_number(request.user, request.POST.get("card", "")[:40])
    if card is None:
        raise Http404
    if not form.is_valid():
        return _render_counter(request, card=card, form=form, lookup=card.number, status=400)
    d = form.cleaned_data
    if request.POST.get("action") == "confirm" and d.get("key"):
        return _confirm(request, card, form)
    return _preview(request, card, form)


def _preview(request: HttpRequest, card: PrepaidCard, form: SaleForm, *, status: int = 200) -> HttpResponse:
    """Price the sale and check the status read from the card; the confirm form carries both."""
    d = form.cleaned_data
    now = timezone.now()
    try:
        quote = prepaid.purchase_quote(card=card, mode=d["mode"], quantity=d["quantity"],
                                       on=timezone.localdate(now))
        raw = form.write_back()
        found = prepaid.write_back_preview(card, raw, now=now) if raw is not None else []
    except ApplicationError as error:
        add_service_errors(form, error, field_map=_field)
        return _render_counter(request, card=card, form=form, lookup=card.number, status=error.status_code)
    # The confirm form repeats what was priced, with the price shown and a key for this sale.
    posted = request.POST
    hidden = [(name, value) for name in form.fields if name not in ("key", "expect_amount")
              for value in posted.getlist(name)]
    hidden += [("key", uuid.uuid4().hex), ("expect_amount", str(quote.amount))]
    return _render_counter(request, card=card, form=form, lookup=card.number, quote=quote,
                           preview=_findings(found), hidden=hidden, status=status)


def _confirm(request: HttpRequest, card: PrepaidCard, form: SaleForm) -> HttpResponse:
    d = form.cleaned_data
    expect: Decimal | None = d.get("expect_amount")
    try:
        sale = prepaid.card_purchase(actor=request.user, card=card, mode=d["mode"], quantity=d["quantity"],
                                     key=d["key"], write_back=form.write_back(), expect_amount=expect)
    except Conflict as error:
        # Priced differently now (another sale meanwhile): show the new price to confirm again.
        messages.warning(request, str(error.message))
        return _preview(request, card, form, status=409)
    except ApplicationError as error:
        add_service_errors(form, error, field_map=_field)
        return _render_counter(request, card=card, form=form, lookup=card.number, status=error.status_code)
    p = sale.purchase
    values = {"volume": p.volume, "amount": p.amount, "card": card.number, "seq": p.sequence}
    if sale.created:
        messages.success(request, _("Sold %(volume)s m³ for %(amount)s yuan to card %(card)s (purchase #%(seq)d). "
                                    "Write it to the card.") % values)
    else:
        messages.info(request, _("Purchase #%(seq)d on card %(card)s was already made; nothing was sold again.")
                      % values)
    if sale.write_back is not None and sale.write_back.findings:
        messages.warning(request, " ".join(f["text"] for f in _findings(sale.write_back.findings)))
    url = reverse("metering:prepaid-card", args=[card.pk])
    return redirect(f"{url}?{urlencode({'purchase': p.pk})}")


# One card ---------------------------------------------------------------------------------------

@login_required
@require_GET
def prepaid_card(request: HttpRequest, pk: int) -> HttpResponse:
    card = prepaid_report.card_get(request.user, parse_id(pk))
    if card is None:
        raise Http404
    prepaid_report.require_card_view(request.user)
    row = prepaid_report.card_reconciliation(card)
    purchases = list(prepaid_report.card_purchases(card)[:PAGE_ROWS])
    write_backs = list(prepaid_report.card_write_backs(card)[:PAGE_ROWS])
    context = {
        "card": card, "card_colour": CARD_COLOURS.get(card.state, "secondary"), "row": row,
        "row_findings": _findings(row.findings), "purchases": purchases,
        "write_backs": [(wb, _findings(wb.findings)) for wb in write_backs],
        "events": list(prepaid_report.card_events(card)[:PAGE_ROWS]),
        "highlight": parse_id(request.GET.get("purchase", "")),
        "replaced_by": PrepaidCard.objects.filter(replaces=card).first(),
    }
    return render(request, "metering/prepaid_card.html", context)


# The reconciliation -----------------------------------------------------------------------------

class UnitForm(forms.Form):
    unit = UnitChoiceField(label=_lazy("Unit"), queryset=OrgUnit.objects.none(), required=False,
                           widget=forms.Select(attrs={"class": "form-select"}))

    def __init__(self, data: Any, *, units: Any) -> None:
        super().__init__(data)
        field = self.fields["unit"]
        assert isinstance(field, UnitChoiceField)
        field.queryset = units
        field.base = min((u.depth for u in units), default=0)


@login_required
@require_GET
def prepaid_reconciliation(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(user, Capability.READING_REVIEW)
    units = OrgUnit.objects.for_user(user).filter(is_active=True).order_by("path")
    asked = request.GET.get("unit", "").strip()
    asked_id = parse_id(asked)
    if asked and (asked_id is None or not units.filter(pk=asked_id).exists()):
        raise Http404  # a unit outside the user's area is not there for them
    own = getattr(user, "unit", None)
    unit = units.filter(pk=asked_id).first() if asked_id else (own if own is not None else units.first())
    if unit is None:
        raise Http404
    if request.GET.get("format") == "xlsx":
        out = io.BytesIO()
        prepaid_report.reconciliation_export(actor=user, unit=unit, out=out, ip=client_ip(request))
        response = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
        name = f"prepaid-reconciliation-{unit.code}-{timezone.localdate():%Y%m%d}.xlsx"
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name) or ""
        return response
    report = prepaid_report.reconciliation(user, unit=unit, limit=REPORT_ROWS)
    context = {
        "form": UnitForm({"unit": unit.pk}, units=units), "report": report, "unit": unit,
        "rows": [(r, _findings(r.findings)) for r in report.rows],
        "counts": [(code, Finding(code).label, report.counts.get(code, 0), FINDING_COLOURS.get(code, "secondary"))
                   for code in Finding.values],
        "export_url": f"{reverse('metering:prepaid-reconciliation')}?{urlencode({'unit': unit.pk, 'format': 'xlsx'})}",
    }
    return render(request, "metering/prepaid_reconciliation.html", context)
