"""Customer kinds, classes and account statuses with their transition tables."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UtilityKind


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANISATION = "organisation", _("Organisation")


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident identity card")
    USCC = "uscc", _("Unified social credit code")
    PASSPORT = "passport", _("Passport / other document")


class CustomerClass(models.TextChoices):
    # Power (seed 000): key, dedicated-transformer and public-transformer customers.
    POWER_KEY_IMPORTANT = "p_key_important", _("Key customer · important")
    POWER_KEY_LARGE = "p_key_large", _("Key customer · large")
    POWER_KEY_FOCUS = "p_key_focus", _("Key customer · key-focus")
    POWER_DEDICATED_INDUSTRIAL = "p_ded_industrial", _("Dedicated transformer · industrial-commercial")
    POWER_DEDICATED_INSTITUTION = "p_ded_institution", _("Dedicated transformer · enterprise-institution")
    POWER_PUBLIC_NONRESIDENTIAL = "p_pub_nonresidential", _("Public transformer · non-residential")
    POWER_PUBLIC_RESIDENTIAL = "p_pub_residential", _("Public transformer · residential")
    # Gas (seed 002).
    GAS_RESIDENTIAL = "g_residential", _("Gas · residential")
    GAS_COMMERCIAL = "g_commercial", _("Gas · commercial")
    GAS_INDUSTRIAL = "g_industrial", _("Gas · industrial")
    GAS_HEATING = "g_heating", _("Gas · heating")


class CustomerCategory(models.TextChoices):
    KEY = "key", _("Key customers")
    DEDICATED = "dedicated", _("Dedicated-transformer customers")
    PUBLIC = "public", _("Public-transformer customers")
    GAS = "gas", _("Gas customers")


CLASS_UTILITY: dict[str, str] = {
    c.value: (UtilityKind.POWER if c.value.startswith("p_") else UtilityKind.GAS) for c in CustomerClass
}
CLASS_CATEGORY: dict[str, str] = {
    c.value: (
        CustomerCategory.KEY if c.value.startswith("p_key")
        else CustomerCategory.DEDICATED if c.value.startswith("p_ded")
        else CustomerCategory.PUBLIC if c.value.startswith("p_pub")
        else CustomerCategory.GAS
    )
    for c in CustomerClass
}
RESIDENTIAL_CLASSES = frozenset({CustomerClass.POWER_PUBLIC_RESIDENTIAL, CustomerClass.GAS_RESIDENTIAL})


class Importance(models.TextChoices):
    """Importance grade (power: GB/Z 29328 grades of important customers; gas: operator's own)."""

    NORMAL = "normal", _("Normal")
    TEMPORARY = "temporary", _("Temporary important")
    GRADE2 = "grade2", _("Grade 2 important")
    GRADE1 = "grade1", _("Grade 1 important")
    SPECIAL = "special", _("Special grade important")


class AccountStatus(models.TextChoices):
    # Power
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", _("Closed")
    # Gas (seed 002)
    REGISTERED = "registered", _("Registered")
    AWAITING_IGNITION = "awaiting_ignition", _("Awaiting ignition")
    GAS_ON = "gas_on", _("Gas on")
    VACANT = "vacant", _("Vacant")
    SEALED = "sealed", _("Sealed")
    REMOVED = "removed", _("Meter removed")


S = AccountStatus
INITIAL_STATUS: dict[str, str] = {UtilityKind.POWER: S.ACTIVE, UtilityKind.GAS: S.REGISTERED}

# Allowed moves per utility. Anything not listed is refused with a clear message.
STATUS_TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    UtilityKind.POWER: {
        S.ACTIVE: frozenset({S.SUSPENDED, S.CLOSED}),
        S.SUSPENDED: frozenset({S.ACTIVE, S.CLOSED}),
        S.CLOSED: frozenset(),
    },
    UtilityKind.GAS: {
        S.REGISTERED: frozenset({S.AWAITING_IGNITION, S.CLOSED}),
        S.AWAITING_IGNITION: frozenset({S.GAS_ON, S.REGISTERED, S.CLOSED}),
        S.GAS_ON: frozenset({S.VACANT, S.SUSPENDED, S.SEALED, S.REMOVED}),
        S.VACANT: frozenset({S.GAS_ON, S.SUSPENDED, S.SEALED, S.REMOVED}),
        S.SUSPENDED: frozenset({S.GAS_ON, S.SEALED, S.REMOVED}),
        S.SEALED: frozenset({S.GAS_ON, S.REMOVED}),
        # Removal keeps the account (seed 002): it may be re-installed, or closed for good.
        S.REMOVED: frozenset({S.AWAITING_IGNITION, S.CLOSED}),
        S.CLOSED: frozenset(),
    },
}

STATUS_COLOURS: dict[str, str] = {
    S.ACTIVE: "success", S.GAS_ON: "success", S.REGISTERED: "secondary", S.AWAITING_IGNITION: "info",
    S.SUSPENDED: "warning", S.VACANT: "warning", S.SEALED: "danger", S.REMOVED: "dark", S.CLOSED: "dark",
}


class ContactRelation(models.TextChoices):
    SELF = "self", _("Customer in person")
    FAMILY = "family", _("Family member")
    AGENT = "agent", _("Authorised agent")
    PROPERTY = "property", _("Property manager")
    ELECTRICIAN = "electrician", _("Electrician / technician")
    FINANCE = "finance", _("Finance contact")


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    LANDLINE = "landline", _("Landline")


class AccountEventKind(models.TextChoices):
    OPENED = "opened", _("Account opened")
    STATUS = "status", _("Status changed")
    MANAGER = "manager", _("Customer manager assigned")
    UPDATED = "updated", _("Details changed")
