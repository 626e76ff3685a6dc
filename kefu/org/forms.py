"""Forms for the org pages. They check shape (lengths, choices, matching passwords); the business
rules (unique codes, scope, tree moves) stay in the services, whose errors are copied back onto
the fields with ``add_service_errors``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import RegionClass, UnitUtility
from kefu.core.web import BootstrapFormMixin
from kefu.org.choices import Role, UnitLevel
from kefu.org.models import OrgUnit, Staff
from kefu.org.selectors import orgunit_qs
from kefu.org.tables import base_depth


class UnitChoiceField(forms.ModelChoiceField):
    """A unit picker drawn as an indented tree (the queryset is ordered by path)."""

    def __init__(self, *args: Any, base: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = base

    def label_from_instance(self, obj: OrgUnit) -> str:
        # Non-breaking spaces: browsers collapse ordinary ones inside <option>.
        pad = "\u00a0\u00a0\u00a0" * max(obj.depth - self.base, 0)
        return f"{pad}{obj.name} ({obj.code})"


class BootstrapForm(BootstrapFormMixin, forms.Form):
    """A plain form with Bootstrap classes and red outlines on fields with errors."""


# ---- filters -------------------------------------------------------------------------------


class UnitFilterForm(BootstrapForm):
    q = forms.CharField(label=_("Name or code"), required=False, max_length=100)
    utility = forms.ChoiceField(
        label=_("Utility kind"), required=False, choices=[("", _("All utilities")), *UnitUtility.choices]
    )


class StaffFilterForm(BootstrapForm):
    q = forms.CharField(label=_("User name or full name"), required=False, max_length=150)
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices])
    unit = UnitChoiceField(label=_("Unit (with sub-units)"), required=False, queryset=OrgUnit.objects.none(),
                           empty_label=_("All visible units"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field: UnitChoiceField = self.fields["unit"]  # type: ignore[assignment]
        unit_field.queryset = orgunit_qs(user)
        unit_field.base = base_depth(user)


# ---- org units -----------------------------------------------------------------------------


class OrgUnitForm(BootstrapForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    code = forms.CharField(label=_("Code"), max_length=32,
                           help_text=_("Unique across the whole organisation, e.g. the company's own unit code."))
    parent = UnitChoiceField(label=_("Parent unit"), required=False, queryset=OrgUnit.objects.none(),
                             empty_label=_("(top level)"))
    level = forms.ChoiceField(label=_("Level"), choices=UnitLevel.choices, initial=UnitLevel.STATION)
    utility = forms.ChoiceField(label=_("Utility kind"), choices=UnitUtility.choices, initial=UnitUtility.POWER)
    region_class = forms.ChoiceField(
        label=_("Region class"), choices=RegionClass.choices, initial=RegionClass.URBAN,
        help_text=_("Decides the on-site time limits: urban 45 min, rural 90 min, remote 120 min."),
    )
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, user: Any, unit: OrgUnit | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        superuser = bool(getattr(user, "is_superuser", False))
        parent: UnitChoiceField = self.fields["parent"]  # type: ignore[assignment]
        parent.queryset = orgunit_qs(user)
        parent.base = base_depth(user)
        # Only a system administrator may have a unit with no parent; everyone else picks one.
        parent.required = not superuser
        if unit is None:
            del self.fields["is_active"]  # a new unit is always active
        elif not superuser and (unit.parent_id is None or not parent.queryset.filter(pk=unit.parent_id).exists()):
            # The top of the user's own tree: its parent is outside their scope (and must not even be
            # named here), so the field goes away and the unit stays where it is.
            del self.fields["parent"]

    @property
    def parent_locked(self) -> bool:
        return "parent" not in self.fields


# ---- staff ---------------------------------------------------------------------------------


class _StaffFieldsForm(BootstrapForm):
    full_name = forms.CharField(label=_("Full name"), max_length=60)
    unit = UnitChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), empty_label=_("Choose a unit"))
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=Role.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one role.")},
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    extension = forms.CharField(label=_("Phone extension"), max_length=16, required=False,
                                help_text=_("Used to pop the caller's screen on this agent's desk."))
    email = forms.EmailField(label=_("Email"), required=False, max_length=254)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit: UnitChoiceField = self.fields["unit"]  # type: ignore[assignment]
        unit.queryset = orgunit_qs(user)
        unit.base = base_depth(user)
        self.user = user


class StaffCreateForm(_StaffFieldsForm):
    username = forms.CharField(
        label=_("User name"), max_length=150, validators=[UnicodeUsernameValidator()],
        help_text=_("Letters, digits and @ . + - _ only; used to log in."),
    )
    password1 = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput,
        help_text=lazy(lambda: " ".join(password_validators_help_texts()), str)(),
    )
    password2 = forms.CharField(label=_("Password again"), strip=False, widget=forms.PasswordInput)

    field_order = ["username", "full_name", "unit", "roles", "phone", "extension", "email", "password1", "password2"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class StaffEditForm(_StaffFieldsForm):
    is_active = forms.BooleanField(
        label=_("Active"), required=False,
        help_text=_("Untick to deactivate: the person can no longer log in; history is kept."),
    )

    def __init__(self, *args: Any, staff: Staff, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.staff = staff

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Guard against locking oneself out: an administrator editing their own record.
        if self.staff.pk == getattr(self.user, "pk", None):
            if "is_active" in data and not data["is_active"]:
                self.add_error("is_active", _("You cannot deactivate your own account."))
            if Role.ADMIN in self.staff.role_codes and "roles" in data and Role.ADMIN not in data["roles"]:
                self.add_error("roles", _("You cannot remove your own administrator role."))
        return data


class StaffPasswordForm(BootstrapForm):
    """An administrator sets a new password for someone who forgot theirs (also lifts a lock-out)."""

    new_password = forms.CharField(label=_("New password"), max_length=128, strip=False,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    new_password2 = forms.CharField(label=_("New password again"), max_length=128, strip=False,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password2") and data["new_password"] != data["new_password2"]:
            self.add_error("new_password2", _("The two passwords differ."))
        return data
