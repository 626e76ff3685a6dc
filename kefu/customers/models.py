"""Customer registry: customers, premises, service points, accounts (户), contacts, account events."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import RegionClass, UtilityKind
from kefu.core.models import TimeStampedModel
from kefu.customers.choices import (
    AccountEventKind,
    AccountStatus,
    ContactRelation,
    CustomerClass,
    CustomerKind,
    IdType,
    Importance,
    PhoneKind,
)
from kefu.org.models import OrgUnit


class Customer(TimeStampedModel):
    kind = models.CharField(_("customer kind"), max_length=16, choices=CustomerKind.choices)
    name = models.CharField(_("name"), max_length=100)
    id_type = models.CharField(_("ID type"), max_length=16, choices=IdType.choices)
    id_number = models.CharField(_("ID number"), max_length=32)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="customers", verbose_name=_("unit"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["name"], name="cust_name_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["id_number"], name="cust_idnum_idx"),
            models.Index(fields=["unit", "id"], name="cust_unit_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Premise(TimeStampedModel):
    """The place supplied, with the Chinese address broken into its parts."""

    province = models.CharField(_("province"), max_length=20)
    city = models.CharField(_("city"), max_length=20)
    district = models.CharField(_("district / county"), max_length=20)
    street = models.CharField(_("street / town"), max_length=40, blank=True)
    community = models.CharField(_("community / village"), max_length=40, blank=True)
    building = models.CharField(_("building"), max_length=20, blank=True)
    entrance = models.CharField(_("unit (entrance)"), max_length=20, blank=True)
    room = models.CharField(_("room"), max_length=20, blank=True)
    detail = models.CharField(_("address detail"), max_length=100, blank=True)
    address = models.CharField(_("full address"), max_length=300, editable=False)
    region_class = models.CharField(
        _("region class"), max_length=8, choices=RegionClass.choices, default=RegionClass.URBAN
    )
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="premises", verbose_name=_("unit"))

    class Meta:
        verbose_name = _("premise")
        verbose_name_plural = _("premises")
        indexes = [models.Index(fields=["unit", "id"], name="premise_unit_idx")]

    def __str__(self) -> str:
        return self.address

    def compose_address(self) -> str:
        parts = [self.province, self.city, self.district, self.street, self.community]
        tail = "".join(
            f"{v}{suffix}" if v and not v.endswith(suffix) else v
            for v, suffix in ((self.building, "栋"), (self.entrance, "单元"), (self.room, "室"))
        )
        return "".join(p for p in parts if p) + tail + self.detail


class ServicePoint(TimeStampedModel):
    """Where a meter is installed; later attached to a topology node."""

    premise = models.ForeignKey(Premise, on_delete=models.CASCADE, related_name="service_points")
    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices)
    code = models.CharField(_("service point code"), max_length=32, unique=True)
    description = models.CharField(_("description"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("service point")
        verbose_name_plural = _("service points")

    def __str__(self) -> str:
        return self.code


class Account(TimeStampedModel):
    """One supply contract (户) of one customer at one premise for one utility."""

    number = models.CharField(_("account number"), max_length=20, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts")
    premise = models.ForeignKey(Premise, on_delete=models.PROTECT, related_name="accounts")
    service_point = models.ForeignKey(
        ServicePoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices)
    customer_class = models.CharField(_("customer class"), max_length=24, choices=CustomerClass.choices)
    importance = models.CharField(
        _("importance grade"), max_length=16, choices=Importance.choices, default=Importance.NORMAL
    )
    status = models.CharField(_("status"), max_length=20, choices=AccountStatus.choices)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("unit"))
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="managed_accounts", verbose_name=_("customer manager"),
    )
    opened_on = models.DateField(_("opened on"))
    version = models.PositiveIntegerField(default=1, editable=False)
    # Owed and overdue, kept by billing; the desk and the card show an arrears flag from it.
    arrears_amount = models.DecimalField(_("arrears"), max_digits=12, decimal_places=2, default=Decimal("0"),
                                         db_default=Decimal("0"))
    arrears_since = models.DateField(_("in arrears since"), null=True, blank=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [
            models.Index(fields=["customer"], name="acct_customer_idx"),
            models.Index(fields=["unit", "manager"], name="acct_unit_mgr_idx"),
            models.Index(fields=["manager"], name="acct_manager_idx"),
            # Scoped keyset lists filtered by status (collectors, suspended accounts, ...).
            models.Index(fields=["unit", "status", "id"], name="acct_unit_status_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class Contact(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("contact name"), max_length=60)
    relation = models.CharField(_("relation"), max_length=16, choices=ContactRelation.choices,
                                default=ContactRelation.SELF)
    # E.164 ("+8613812345678"): the phone lookup is an indexed exact match on this column.
    phone = models.CharField(_("phone"), max_length=20, db_index=True)
    phone_kind = models.CharField(_("phone kind"), max_length=10, choices=PhoneKind.choices)
    extension = models.CharField(_("extension"), max_length=10, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.name


class AccountEvent(models.Model):
    """Every change of an account, with actor and time (status history, manager changes)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=16, choices=AccountEventKind.choices)
    from_status = models.CharField(_("from status"), max_length=20, choices=AccountStatus.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=20, choices=AccountStatus.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("account event")
        verbose_name_plural = _("account events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["account", "at"], name="acctevent_account_idx")]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.kind}"
