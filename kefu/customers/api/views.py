"""Customer API: thin views. Querysets come from the scoped selectors, writes from the services."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kefu.core.api import ApiViewMixin, error_responses
from kefu.core.errors import InvalidInput
from kefu.core.models import AuditLog
from kefu.core.services import audit_record
from kefu.core.validators import try_parse_phone
from kefu.customers.api import serializers as s
from kefu.customers.filters import AccountFilter, CustomerFilter, PremiseFilter
from kefu.customers.models import Account, Contact, Customer, Premise
from kefu.customers.selectors import (
    account_qs,
    contact_qs,
    customer_lookup_account,
    customer_lookup_phone,
    customer_qs,
    manager_candidates,
    premise_qs,
)
from kefu.customers.services import (
    ContactInput,
    account_assign_manager,
    account_change_status,
    account_open,
    account_update,
    contact_add,
    contact_remove,
    contact_update,
    customer_register,
    customer_update,
    premise_create,
    premise_update,
)
from kefu.org.choices import Capability
from kefu.org.scope import has_capability


def _input(serializer_class: type[serializers.Serializer], request: Request, **context: Any) -> dict[str, Any]:
    """Validate request data with an input serializer; a bad shape is a 400 naming the field."""
    serializer = serializer_class(data=request.data, context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "personal": has_capability(request.user, Capability.PERSONAL_DATA)}


def _client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def account_detail_qs(user: Any) -> QuerySet[Account]:
    return account_qs(user).select_related("customer", "premise", "unit", "manager", "service_point")


def customer_lookup_qs(user: Any) -> QuerySet[Customer]:
    """Customers with their visible accounts (premise, unit, manager) in two queries."""
    accounts = account_qs(user).select_related("premise", "unit", "manager").order_by("utility", "number")
    return customer_qs(user).select_related("unit").prefetch_related(
        Prefetch("accounts", queryset=accounts, to_attr="visible_accounts")
    )


def customer_detail_qs(user: Any) -> QuerySet[Customer]:
    """Customers with their visible accounts and contacts in three queries, whatever the count."""
    accounts = account_qs(user).select_related("premise", "unit", "manager").order_by("utility", "number")
    return customer_qs(user).select_related("unit").prefetch_related(
        Prefetch("accounts", queryset=accounts, to_attr="visible_accounts"), "contacts"
    )


@extend_schema_view(
    list=extend_schema(summary="List and search customers", responses={200: s.CustomerListOutput,
                                                                       **error_responses(400)}),
    retrieve=extend_schema(summary="One customer with accounts and contacts",
                           responses={200: s.CustomerDetailOutput, **error_responses(404)}),
    create=extend_schema(summary="Register a customer with premise, first account and contacts",
                         request=s.CustomerCreateInput,
                         responses={201: s.CustomerDetailOutput, **error_responses(400, 403)}),
    partial_update=extend_schema(summary="Change a customer (send the version you read)",
                                 request=s.CustomerUpdateInput,
                                 responses={200: s.CustomerDetailOutput, **error_responses(400, 403, 404, 409)}),
)
class CustomerViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.CustomerListOutput
    filterset_class = CustomerFilter

    def get_queryset(self) -> QuerySet[Customer]:
        if self.action == "list":
            return customer_qs(self.request.user).select_related("unit")
        return customer_detail_qs(self.request.user)

    def _detail(self, customer: Customer, *, code: int = status.HTTP_200_OK) -> Response:
        request = self.request
        if not hasattr(customer, "visible_accounts"):  # fresh from a service: load accounts and contacts
            customer = customer_detail_qs(request.user).get(pk=customer.pk)
        context = _context(request)
        if context["personal"]:
            # Rule 8: every view of full personal data leaves an audit row.
            audit_record(actor=request.user, action=AuditLog.Action.VIEW_PERSONAL, instance=customer,
                         ip=_client_ip(request), detail={"via": "api"})
        return Response(s.CustomerDetailOutput(customer, context=context).data, status=code)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.CustomerListOutput(page, many=True, context=_context(request)).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._detail(self.get_object())

    def create(self, request: Request) -> Response:
        data = _input(s.CustomerCreateInput, request)
        account = customer_register(
            actor=request.user, unit=data["unit"], customer=dict(data["customer"]), premise=dict(data["premise"]),
            account=dict(data["account"]), contacts=[ContactInput(**c) for c in data["contacts"]],
        )
        return self._detail(account.customer, code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        customer = self.get_object()
        data = _input(s.CustomerUpdateInput, request)
        version = data.pop("version")
        return self._detail(customer_update(customer=customer, actor=request.user, version=version, **data))

    @extend_schema(
        summary="Find customers by caller phone or account number (exact, indexed)",
        parameters=[
            OpenApiParameter("phone", str, description="Phone number in any common spelling."),
            OpenApiParameter("account", str, description="Account number."),
        ],
        filters=False,
        responses={200: inline_serializer("CustomerLookupResult", {"results": s.CustomerLookupOutput(many=True)}),
                   **error_responses(400)},
    )
    @action(detail=False, methods=["get"], url_path="lookup", pagination_class=None)
    def lookup(self, request: Request) -> Response:
        phone = request.query_params.get("phone", "").strip()[:40]
        number = re.sub(r"[\s\-]", "", request.query_params.get("account", ""))[:20]
        if bool(phone) == bool(number):
            raise InvalidInput({"phone": [_("Give either a phone number or an account number.")]})
        if number and not (number.isascii() and number.isdigit()):
            raise InvalidInput({"account": [_("Account number must be digits only.")]})
        if phone:
            if try_parse_phone(phone) is None:
                raise InvalidInput({"phone": [_("Phone number is not a valid mainland China number.")]})
            rows = customer_lookup_phone(user=request.user, phone=phone, queryset=customer_lookup_qs(request.user))
        else:
            found = customer_lookup_account(user=request.user, number=number,
                                            queryset=customer_lookup_qs(request.user))
            rows = [found] if found else []
        return Response({"results": s.customer_lookup_rows(rows)})


@extend_schema_view(
    list=extend_schema(summary="List accounts", responses={200: s.AccountOutput, **error_responses(400)}),
    retrieve=extend_schema(summary="One account", responses={200: s.AccountOutput, **error_responses(404)}),
    create=extend_schema(summary="Open an account for an existing customer and premise",
                         request=s.AccountCreateInput, responses={201: s.AccountOutput,
                                                                  **error_responses(400, 403)}),
    partial_update=extend_schema(summary="Change an account's customer class or importance grade",
                                 request=s.AccountUpdateInput,
                                 responses={200: s.AccountOutput, **error_responses(400, 403, 404)}),
)
class AccountViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.AccountOutput
    filterset_class = AccountFilter

    def get_queryset(self) -> QuerySet[Account]:
        return account_detail_qs(self.request.user)

    def _out(self, account: Account, *, code: int = status.HTTP_200_OK) -> Response:
        account = account_detail_qs(self.request.user).get(pk=account.pk)
        return Response(s.AccountOutput(account, context=_context(self.request)).data, status=code)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.AccountOutput(page, many=True, context=_context(request)).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._out(self.get_object())

    def create(self, request: Request) -> Response:
        data = _input(s.AccountCreateInput, request)
        account = account_open(actor=request.user, **data)
        return self._out(account, code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        account = self.get_object()
        data = _input(s.AccountUpdateInput, request)
        return self._out(account_update(account=account, actor=request.user, **data))

    @extend_schema(summary="Move the account to another status", request=s.AccountStatusInput,
                   responses={200: s.AccountOutput, **error_responses(400, 403, 404, 409)})
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: Request, pk: str) -> Response:
        account = self.get_object()
        data = _input(s.AccountStatusInput, request)
        return self._out(account_change_status(account=account, actor=request.user, **data))

    @extend_schema(summary="Assign or remove the customer manager", request=s.AccountManagerInput,
                   responses={200: s.AccountOutput, **error_responses(400, 403, 404)})
    @action(detail=True, methods=["post"], url_path="manager")
    def assign_manager(self, request: Request, pk: str) -> Response:
        account = self.get_object()
        data = _input(s.AccountManagerInput, request,
                      manager_candidates=manager_candidates(user=request.user, account=account))
        return self._out(account_assign_manager(account=account, actor=request.user, **data))


@extend_schema_view(
    list=extend_schema(summary="List premises", responses={200: s.PremiseOutput, **error_responses(400)}),
    retrieve=extend_schema(summary="One premise", responses={200: s.PremiseOutput, **error_responses(404)}),
    create=extend_schema(summary="Add a premise", request=s.PremiseCreateInput,
                         responses={201: s.PremiseOutput, **error_responses(400, 403)}),
    partial_update=extend_schema(summary="Change a premise", request=s.PremiseUpdateInput,
                                 responses={200: s.PremiseOutput, **error_responses(400, 403, 404)}),
)
class PremiseViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.PremiseOutput
    filterset_class = PremiseFilter

    def get_queryset(self) -> QuerySet[Premise]:
        return premise_qs(self.request.user).select_related("unit")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.PremiseOutput(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.PremiseOutput(self.get_object()).data)

    def create(self, request: Request) -> Response:
        data = _input(s.PremiseCreateInput, request)
        premise = premise_create(actor=request.user, **data)
        return Response(s.PremiseOutput(premise).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        premise = self.get_object()
        data = _input(s.PremiseUpdateInput, request)
        return Response(s.PremiseOutput(premise_update(premise=premise, actor=request.user, **data)).data)


@extend_schema_view(
    retrieve=extend_schema(summary="One contact", responses={200: s.ContactOutput, **error_responses(404)}),
    create=extend_schema(summary="Add a contact to a customer", request=s.ContactCreateInput,
                         responses={201: s.ContactOutput, **error_responses(400, 403)}),
    partial_update=extend_schema(summary="Change a contact", request=s.ContactUpdateInput,
                                 responses={200: s.ContactOutput, **error_responses(400, 403, 404)}),
    destroy=extend_schema(summary="Remove a contact", responses={204: None, **error_responses(403, 404)}),
)
class ContactViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.ContactOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Contact]:
        return contact_qs(self.request.user).select_related("customer")

    def _out(self, contact: Contact, *, code: int = status.HTTP_200_OK) -> Response:
        context = _context(self.request)
        if context["personal"] and self.action == "retrieve":
            audit_record(actor=self.request.user, action=AuditLog.Action.VIEW_PERSONAL, instance=contact,
                         ip=_client_ip(self.request), detail={"via": "api"})
        return Response(s.ContactOutput(contact, context=context).data, status=code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._out(self.get_object())

    def create(self, request: Request) -> Response:
        data = _input(s.ContactCreateInput, request)
        return self._out(contact_add(actor=request.user, **data), code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        contact = self.get_object()
        data = _input(s.ContactUpdateInput, request)
        return self._out(contact_update(contact=contact, actor=request.user, **data))

    def destroy(self, request: Request, pk: str) -> Response:
        contact_remove(contact=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
