"""IC-card prepaid gas API: cards (list, issue, one card, lost, replaced), a price quote, a purchase
(Idempotency-Key), the meter status the card brings back, and the reconciliation of a unit.

Thin views with their own serializers. A card is looked up in the user's units first (elsewhere: 404),
then the role is checked (403), then the body (400); the services check the card's state (409) and
the numbers. A purchase or write-back sent again with the same Idempotency-Key returns the first one
(200, header ``Idempotent-Replayed: true``) and never sells twice.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from kefu.core.api import NewestFirst, StrictInput, error_responses, parse_id, validated
from kefu.core.errors import InvalidInput
from kefu.customers.api.serializers import StaffRefOutput
from kefu.customers.models import Account
from kefu.org.api.serializers import UnitRefOutput
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import require

from .. import prepaid, prepaid_report, selectors
from ..models import CardPurchase, MeterWriteBack, PrepaidCard
from ..prepaid_choices import CardState, Finding, Household, PurchaseMode, TamperFlag, ValveState

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RECENT = 20
REPORT_LIMIT = 500

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER, str, location=OpenApiParameter.HEADER, required=False,
    description="A key unique per sale (at most 64 characters), e.g. the till's receipt number. A retry with the "
                "same key returns the first result (200) instead of selling again.",
)
REPLAYED_PARAMETER = OpenApiParameter(
    REPLAYED_HEADER, str, location=OpenApiParameter.HEADER, response=[200], enum=["true"],
    description="Present when the Idempotency-Key was seen before and the first result is returned.",
)


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _volume(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


# ---------------------------------------------------------------- inputs


class CardListQuery(StrictInput):
    q = serializers.CharField(required=False, max_length=40, help_text="Card number, account number or meter number.")
    state = serializers.ChoiceField(choices=CardState.choices, required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)


class CardIssueInput(StrictInput):
    meter = serializers.CharField(max_length=32, help_text="The IC-card meter's number (installed).")
    number = serializers.CharField(max_length=40, help_text="The card number printed on the card.")
    account = serializers.CharField(required=False, max_length=20,
                                    help_text="Account number; needed only when the service point has several.")
    household = serializers.ChoiceField(choices=Household.choices, required=False,
                                        help_text="Default: heating for g_heating accounts, else standard.")
    household_note = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                           help_text="Evidence for a low-income household (certificate).")
    opening_bought = serializers.CharField(required=False, max_length=20,
                                           help_text="The meter's total bought (m³) when the card is issued.")


class QuoteInput(StrictInput):
    mode = serializers.ChoiceField(choices=PurchaseMode.choices)
    quantity = serializers.CharField(max_length=40, help_text="m³ (mode volume) or yuan (mode amount), "
                                                              "at most two decimals.")


class WriteBackInput(StrictInput):
    sequence = serializers.IntegerField(min_value=0, max_value=prepaid.MAX_SEQUENCE,
                                        help_text="The last purchase number the meter loaded (0 if none).")
    total_used = serializers.CharField(max_length=20, help_text="m³")
    total_bought = serializers.CharField(max_length=20, help_text="m³")
    remaining = serializers.CharField(max_length=20, help_text="m³")
    valve = serializers.ChoiceField(choices=ValveState.choices)
    tamper_flags = serializers.ListField(child=serializers.ChoiceField(choices=TamperFlag.choices), required=False,
                                         max_length=len(TamperFlag.values))
    read_at = serializers.DateTimeField(required=False, help_text="When the card was read; default now.")


class PurchaseInput(QuoteInput):
    write_back = WriteBackInput(required=False, help_text="The meter status read from the card before this sale.")
    expect_amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False,
                                             help_text="The amount shown to the customer; a different price is 409.")


class LostInput(StrictInput):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ReplaceInput(StrictInput):
    number = serializers.CharField(max_length=40, help_text="The new card's number.")


class ReconciliationQuery(StrictInput):
    unit = serializers.IntegerField(required=False, min_value=1, help_text="Default: your own unit.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=REPORT_LIMIT)


# ---------------------------------------------------------------- outputs


class CardOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField(help_text="One of: " + ", ".join(CardState.values))
    state_label = serializers.SerializerMethodField()
    meter = serializers.CharField(source="meter.serial")
    account = serializers.CharField(source="account.number")
    unit = UnitRefOutput()
    household = serializers.CharField(help_text="One of: " + ", ".join(Household.values))
    household_label = serializers.SerializerMethodField()
    issued_on = serializers.DateField()
    last_sequence = serializers.IntegerField(help_text="The last purchase number sold on this card.")
    opening_sequence = serializers.IntegerField()
    opening_bought = _volume()

    def get_state_label(self, card: PrepaidCard) -> str:
        return _label(CardState, card.state)

    def get_household_label(self, card: PrepaidCard) -> str:
        return _label(Household, card.household)


class TierOutput(serializers.Serializer):
    tier = serializers.IntegerField()
    volume = serializers.CharField(help_text="m³")
    price = serializers.CharField(help_text="yuan/m³")
    amount = serializers.CharField(help_text="yuan")


class QuoteOutput(serializers.Serializer):
    tariff = serializers.CharField(source="tariff.code")
    household = serializers.CharField()
    mode = serializers.CharField()
    requested = _volume()
    volume = _volume()
    amount = _volume()
    change = _volume(help_text="Amount mode: what the amount asked for did not buy (stays with the customer).")
    cycle_start = serializers.DateField()
    cycle_before = _volume(help_text="m³ the household bought earlier in this cycle.")
    cycle_after = _volume()
    tiers = serializers.SerializerMethodField()

    def get_tiers(self, quote: prepaid.Quote) -> list[dict[str, Any]]:
        return [line.as_json() for line in quote.lines]


class FindingOutput(serializers.Serializer):
    code = serializers.CharField(help_text="One of: " + ", ".join(Finding.values))
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    text = serializers.CharField()


def _findings(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"code": f["code"], "label": _label(Finding, f["code"]), "text": prepaid.finding_text(f)} for f in items]


class WriteBackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    purchase = serializers.IntegerField(source="purchase_id", allow_null=True)
    sequence = serializers.IntegerField(help_text="The last purchase the meter loaded.")
    last_sold = serializers.IntegerField(help_text="The last purchase sold on the card when it was read.")
    total_used = _volume()
    total_bought = _volume()
    remaining = _volume()
    expected_bought = _volume(help_text="Opening total + the purchases the meter loaded.")
    valve = serializers.CharField()
    tamper_flags = serializers.ListField(child=serializers.CharField())
    findings = serializers.SerializerMethodField()
    read_at = serializers.DateTimeField()

    @extend_schema_field(FindingOutput(many=True))
    def get_findings(self, wb: MeterWriteBack) -> list[dict[str, str]]:
        return _findings(wb.findings)


class PurchaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    card = serializers.CharField(source="card.number")
    sequence = serializers.IntegerField()
    mode = serializers.CharField()
    requested = _volume()
    volume = _volume()
    amount = _volume()
    household = serializers.CharField()
    tariff = serializers.CharField(source="tariff.code")
    cycle_start = serializers.DateField()
    cycle_before = _volume()
    tiers = TierOutput(many=True)
    cashier = StaffRefOutput(allow_null=True)
    at = serializers.DateTimeField()


class SaleOutput(serializers.Serializer):
    purchase = PurchaseOutput()
    write_back = WriteBackOutput(allow_null=True)


class RowOutput(serializers.Serializer):
    card_id = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField()
    account = serializers.CharField()
    meter = serializers.CharField()
    unit = serializers.CharField()
    last_sold = serializers.IntegerField()
    sold = serializers.IntegerField()
    last_loaded = serializers.IntegerField(allow_null=True)
    awaiting = serializers.IntegerField(help_text="Purchases sold since the meter last reported.")
    read_at = serializers.DateTimeField(allow_null=True)
    total_bought = _volume(allow_null=True)
    expected_bought = _volume(allow_null=True)
    total_used = _volume(allow_null=True)
    remaining = _volume(allow_null=True)
    valve = serializers.CharField()
    findings = serializers.SerializerMethodField()

    @extend_schema_field(FindingOutput(many=True))
    def get_findings(self, row: prepaid_report.CardRow) -> list[dict[str, str]]:
        return _findings(row.findings)


class CardDetailOutput(CardOutput):
    purchases = serializers.SerializerMethodField()
    write_backs = serializers.SerializerMethodField()
    reconciliation = serializers.SerializerMethodField()

    @extend_schema_field(PurchaseOutput(many=True))
    def get_purchases(self, card: PrepaidCard) -> Any:
        return PurchaseOutput(self.context["purchases"], many=True).data

    @extend_schema_field(WriteBackOutput(many=True))
    def get_write_backs(self, card: PrepaidCard) -> Any:
        return WriteBackOutput(self.context["write_backs"], many=True).data

    @extend_schema_field(RowOutput)
    def get_reconciliation(self, card: PrepaidCard) -> Any:
        return RowOutput(self.context["row"]).data


class ReconciliationOutput(serializers.Serializer):
    unit = UnitRefOutput()
    cards = serializers.IntegerField(help_text="Cards checked.")
    flagged = serializers.IntegerField(help_text="Cards with at least one finding.")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Cards per finding code.")
    truncated = serializers.BooleanField(help_text="More cards have findings than the rows listed.")
    rows = RowOutput(many=True)


# ---------------------------------------------------------------- helpers


def _key(request: Request) -> str | None:
    return prepaid.parse_key(request.headers.get(IDEMPOTENCY_HEADER, ""), IDEMPOTENCY_HEADER)


def _card(request: Request, pk: str) -> PrepaidCard:
    """The card in the user's units (else 404), then the role to look at cards (else 403)."""
    card = prepaid_report.card_get(request.user, parse_id(pk))
    if card is None:
        raise Http404
    prepaid_report.require_card_view(request.user)
    return card


def _fresh_purchase(pk: int) -> CardPurchase:
    return CardPurchase.objects.select_related("card", "tariff", "cashier").get(pk=pk)


def _replayed(response: Response, created: bool) -> Response:
    if not created:
        response[REPLAYED_HEADER] = "true"
    return response


# ---------------------------------------------------------------- cards


ISSUE_EXAMPLE = OpenApiExample("Issue a card to an installed IC-card meter", request_only=True,
                               value={"meter": "M00012345", "number": "IC20260001"})


class CardListView(GenericAPIView):
    parser_classes = [JSONParser]
    pagination_class = NewestFirst
    filter_backends: list[Any] = []
    serializer_class = CardOutput

    @extend_schema(
        summary="Prepaid cards of your area, newest first",
        description="Narrow by card, account or meter number (exact) and state. Needs `card.sell` or "
                    "`reading.review`.",
        parameters=[CardListQuery], responses={200: CardOutput(many=True), **error_responses(400, 403)},
    )
    def get(self, request: Request) -> Response:
        prepaid_report.require_card_view(request.user)
        query = validated(CardListQuery, request.query_params.dict())
        qs = prepaid_report.card_list(request.user, q=query.get("q", ""), state=query.get("state", ""))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(CardOutput(page, many=True).data)

    @extend_schema(
        summary="Issue a card to an installed IC-card meter",
        description="One card per meter: a meter that has one answers 409 (replace that card instead). The account "
                    "is the one at the meter's service point. Needs `card.sell`.",
        request=CardIssueInput, examples=[ISSUE_EXAMPLE],
        responses={201: CardOutput, **error_responses(400, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        require(request.user, Capability.CARD_SELL)
        data = validated(CardIssueInput, request.data)
        serial = data["meter"].strip()
        meter = selectors.meter_qs(request.user).filter(serial=serial).first()
        if meter is None:
            raise InvalidInput({"meter": [_("Unknown meter number %(serial)s, or outside your area.") % {
                "serial": serial[:32]}]})
        account = None
        if data.get("account"):
            account = Account.objects.filter(number=data["account"].strip()).first()
            if account is None:
                raise InvalidInput({"account": [_("No such account at this meter.")]})
        card = prepaid.card_issue(actor=request.user, meter=meter, number=data["number"], account=account,
                                  household=data.get("household"), household_note=data.get("household_note", ""),
                                  opening_bought=data.get("opening_bought", "0"))
        fresh = prepaid_report.card_get(request.user, card.pk)
        return Response(CardOutput(fresh).data, status=status.HTTP_201_CREATED)


class CardDetailView(GenericAPIView):
    serializer_class = CardDetailOutput

    @extend_schema(
        summary="One card: its latest purchases and write-backs, and whether it reconciles",
        responses={200: CardDetailOutput, **error_responses(403, 404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        card = _card(request, pk)
        context = {
            "purchases": prepaid_report.card_purchases(card)[:RECENT],
            "write_backs": prepaid_report.card_write_backs(card)[:RECENT],
            "row": prepaid_report.card_reconciliation(card),
        }
        return Response(CardDetailOutput(card, context=context).data)


class CardQuoteView(GenericAPIView):
    parser_classes = [JSONParser]
    serializer_class = QuoteOutput

    @extend_schema(
        summary="Price a purchase before making it (tier split of the cycle)",
        description="Writes nothing. Needs `card.sell`.",
        request=QuoteInput, responses={200: QuoteOutput, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: str) -> Response:
        card = _card(request, pk)
        require(request.user, Capability.CARD_SELL)
        data = validated(QuoteInput, request.data)
        quote = prepaid.purchase_quote(card=card, mode=data["mode"], quantity=data["quantity"],
                                       on=timezone.localdate())
        return Response(QuoteOutput(quote).data)


PURCHASE_EXAMPLES = [
    OpenApiExample("25 m³, with the status the card brought back", request_only=True, value={
        "mode": "volume", "quantity": "25",
        "write_back": {"sequence": 3, "total_used": "412.30", "total_bought": "430.00", "remaining": "17.70",
                       "valve": "open", "tamper_flags": []}}),
    OpenApiExample("100 yuan", request_only=True, value={"mode": "amount", "quantity": "100.00"}),
]


class CardPurchaseView(GenericAPIView):
    parser_classes = [JSONParser]
    serializer_class = SaleOutput

    @extend_schema(
        summary="Sell gas to the card",
        description="The next purchase number (gap-free per card), priced by the tiers of the household's cycle; a "
                    "purchase across a tier limit is split. By amount: the most 0.01 m³ the amount pays for. The "
                    "status the card brought back (`write_back`) is checked and stored with the sale: one naming a "
                    "purchase never sold is refused (400 `write_back.sequence`). A lost or replaced card, a meter "
                    "not installed, a sealed account: 409. Needs `card.sell`.",
        request=PurchaseInput, examples=PURCHASE_EXAMPLES, parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_PARAMETER],
        responses={201: SaleOutput,
                   200: OpenApiResponse(SaleOutput, description="The key was seen before: the first sale."),
                   **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: str) -> Response:
        card = _card(request, pk)
        require(request.user, Capability.CARD_SELL)
        key = _key(request)
        data = validated(PurchaseInput, request.data)
        wb = data.get("write_back")
        sale = prepaid.card_purchase(actor=request.user, card=card, mode=data["mode"], quantity=data["quantity"],
                                     key=key, write_back=dict(wb) if wb is not None else None,
                                     expect_amount=data.get("expect_amount"))
        body = SaleOutput({"purchase": _fresh_purchase(sale.purchase.pk), "write_back": sale.write_back}).data
        code = status.HTTP_201_CREATED if sale.created else status.HTTP_200_OK
        return _replayed(Response(body, status=code), sale.created)


class CardWriteBackView(GenericAPIView):
    parser_classes = [JSONParser]
    serializer_class = WriteBackOutput

    @extend_schema(
        summary="Store the meter status read from the card, without a sale",
        description="Checked like the one that comes with a purchase; the findings come back with it. The same key "
                    "(or the same status read at the same moment) again returns the first row. Needs `card.sell`.",
        request=WriteBackInput, parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_PARAMETER],
        responses={201: WriteBackOutput, 200: OpenApiResponse(WriteBackOutput, description="Seen before."),
                   **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: str) -> Response:
        card = _card(request, pk)
        require(request.user, Capability.CARD_SELL)
        key = _key(request)
        data = validated(WriteBackInput, request.data)
        result = prepaid.card_write_back(actor=request.user, card=card, status=data, key=key)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return _replayed(Response(WriteBackOutput(result.write_back).data, status=code), result.created)


class CardLostView(GenericAPIView):
    parser_classes = [JSONParser]
    serializer_class = CardOutput

    @extend_schema(
        summary="Report the card lost: nothing more is sold to it",
        request=LostInput, responses={200: CardOutput, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: str) -> Response:
        card = _card(request, pk)
        require(request.user, Capability.CARD_SELL)
        data = validated(LostInput, request.data)
        prepaid.card_report_lost(actor=request.user, card=card, reason=data.get("reason", ""))
        return Response(CardOutput(prepaid_report.card_get(request.user, card.pk)).data)


class CardReplaceView(GenericAPIView):
    parser_classes = [JSONParser]
    serializer_class = CardOutput

    @extend_schema(
        summary="Replace the card (lost or damaged) with a new one for the same meter",
        description="The new card's purchase numbers carry on after the old card's last sale.",
        request=ReplaceInput, responses={201: CardOutput, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: str) -> Response:
        card = _card(request, pk)
        require(request.user, Capability.CARD_SELL)
        data = validated(ReplaceInput, request.data)
        new = prepaid.card_replace(actor=request.user, card=card, number=data["number"])
        return Response(CardOutput(prepaid_report.card_get(request.user, new.pk)).data,
                        status=status.HTTP_201_CREATED)


class ReconciliationView(GenericAPIView):
    serializer_class = ReconciliationOutput

    @extend_schema(
        summary="Cards of a unit whose purchases and meter reports do not reconcile",
        description="Per card: missing purchase numbers, purchases the meter never loaded, total bought on the "
                    "meter ≠ the purchases, purchase number or total used going backwards, remaining ≠ bought − "
                    "used, valve closed with credit left, tamper flags. `counts` covers every card; `rows` at most "
                    "`limit` (default 500). Needs `reading.review`.",
        parameters=[ReconciliationQuery], responses={200: ReconciliationOutput, **error_responses(400, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        require(request.user, Capability.READING_REVIEW)
        query = validated(ReconciliationQuery, request.query_params.dict())
        unit = OrgUnit.objects.for_user(request.user).filter(pk=query["unit"]).first() if "unit" in query \
            else getattr(request.user, "unit", None)
        if unit is None:
            raise Http404
        report = prepaid_report.reconciliation(request.user, unit=unit, limit=query.get("limit", REPORT_LIMIT))
        return Response(ReconciliationOutput(report).data)
