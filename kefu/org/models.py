"""Org units (a tree of any depth) and staff users with roles."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import RegionClass, UnitUtility
from kefu.core.models import TimeStampedModel
from kefu.org.choices import Role, UnitLevel

# Materialised path: each unit's path is its parent's path plus its own id in fixed width, so
# "this unit and everything below" is one indexed prefix match (docs/decisions/0002).
PATH_STEP = 6


class OrgUnitQuerySet(models.QuerySet["OrgUnit"]):
    def subtree(self, unit: OrgUnit) -> OrgUnitQuerySet:
        return self.filter(path__startswith=unit.path)

    def for_user(self, user: object) -> OrgUnitQuerySet:
        """Units the user may see: their own unit and all units below it."""
        if getattr(user, "is_superuser", False):
            return self.all()
        unit = getattr(user, "unit", None)
        if not getattr(user, "is_authenticated", False) or unit is None:
            return self.none()
        return self.filter(path__startswith=unit.path)


class OrgUnit(TimeStampedModel):
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=32, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    path = models.CharField(_("tree path"), max_length=255, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    level = models.CharField(_("level"), max_length=16, choices=UnitLevel.choices, default=UnitLevel.STATION)
    utility = models.CharField(_("utility kind"), max_length=8, choices=UnitUtility.choices, default=UnitUtility.POWER)
    region_class = models.CharField(
        _("region class"), max_length=8, choices=RegionClass.choices, default=RegionClass.URBAN
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        ordering = ["path"]
        indexes = [models.Index(fields=["path"], name="org_unit_path_like", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    def is_within(self, other: OrgUnit) -> bool:
        return self.path.startswith(other.path)


class Staff(AbstractUser):
    """A staff user. Belongs to one unit; may hold several roles."""

    unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="staff", verbose_name=_("unit")
    )
    full_name = models.CharField(_("full name"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    extension = models.CharField(_("phone extension"), max_length=16, blank=True, db_index=True)
    failed_logins = models.PositiveSmallIntegerField(_("failed logins in a row"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def role_codes(self) -> frozenset[str]:
        cached = getattr(self, "_role_codes", None)
        if cached is None:
            cached = frozenset(self.roles.values_list("role", flat=True)) if self.pk else frozenset()
            self._role_codes = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_codes.intersection(roles))

    def display_name(self) -> str:
        return self.full_name or self.username


class StaffRole(models.Model):
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints = [models.UniqueConstraint(fields=["staff", "role"], name="org_staffrole_unique")]
        indexes = [models.Index(fields=["role", "staff"], name="org_staffrole_role_idx")]

    def __str__(self) -> str:
        return f"{self.staff_id}:{self.role}"


def staff_with_role_q(*roles: str) -> Q:
    return Q(roles__role__in=roles)
