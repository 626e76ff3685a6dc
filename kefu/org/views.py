"""Org unit and staff pages: thin views over the org selectors and services.

Reads go through the scoped selectors (an id outside the user's tree is a 404), writes through the
services (one transaction each, so a refused save leaves nothing behind). Business errors come
back onto the form fields; permission errors become the 403 page via the middleware.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kefu.core.errors import ApplicationError
from kefu.core.web import add_service_errors, is_htmx, vary_on_htmx
from kefu.org import tables
from kefu.org.choices import Capability, Role
from kefu.org.forms import (
    OrgUnitForm,
    StaffCreateForm,
    StaffEditForm,
    StaffFilterForm,
    StaffPasswordForm,
    UnitFilterForm,
)
from kefu.org.models import OrgUnit, Staff
from kefu.org.scope import has_capability, require
from kefu.org.selectors import orgunit_ancestors, orgunit_get, orgunit_list, orgunit_qs, staff_get, staff_list
from kefu.org.services import orgunit_create, orgunit_update, staff_create, staff_set_password, staff_update


def _htmx_target(request: HttpRequest) -> str:
    """The element id an htmx request will swap, or "" when the whole page is wanted."""
    return request.headers.get("HX-Target", "") if is_htmx(request) else ""


# ---- org units -----------------------------------------------------------------------------


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ORG_VIEW)
    form = UnitFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        qs: QuerySet[OrgUnit] = OrgUnit.objects.none()
    else:
        data = form.cleaned_data if form.is_bound else {}
        qs = orgunit_list(user=request.user, query=data.get("q", ""), utility=data.get("utility", ""))
    page = tables.keyset_page(
        qs, key="path", after=tables.parse_path_cursor(request.GET.get("after")), size=tables.UNIT_PAGE_SIZE
    )
    context = {
        "form": form,
        "page": page,
        "rows": tables.unit_rows(page.rows, base=tables.base_depth(request.user)),
        "can_admin": has_capability(request.user, Capability.ORG_ADMIN),
    }
    if _htmx_target(request) == "unit-table":
        return vary_on_htmx(render(request, "org/_unit_table.html", context))
    return vary_on_htmx(render(request, "org/unit_list.html", context))


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.ORG_VIEW)
    unit = orgunit_get(user=request.user, pk=pk)
    staff_page = tables.keyset_page(
        staff_list(user=request.user).filter(unit=unit),  # this unit's own staff; sub-units have their pages
        key="id",
        after=tables.parse_id(request.GET.get("staff_after")),
        size=tables.STAFF_PAGE_SIZE,
    )
    can_admin = has_capability(request.user, Capability.ORG_ADMIN)
    context: dict[str, Any] = {"unit": unit, "staff_page": staff_page, "can_admin": can_admin}
    if _htmx_target(request) == "unit-staff":
        return vary_on_htmx(render(request, "org/_unit_staff_table.html", context))
    children = orgunit_list(user=request.user).filter(parent=unit)
    context.update(
        ancestors=orgunit_ancestors(user=request.user, unit=unit),
        children=tables.unit_rows(children, base=unit.depth + 1),
        staff_subtree_url=reverse("org:staff-list") + "?" + urlencode({"unit": unit.pk}),
    )
    return vary_on_htmx(render(request, "org/unit_detail.html", context))


def _parent_initial(request: HttpRequest) -> OrgUnit | None:
    """``?parent=<id>`` from the "add sub-unit" button; an unknown id just leaves it blank."""
    pk = tables.parse_id(request.GET.get("parent"))
    return orgunit_qs(request.user).filter(pk=pk).first() if pk else None


@login_required
@require_http_methods(["GET", "POST"])
def unit_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ORG_ADMIN)
    if request.method == "POST":
        form = OrgUnitForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                unit = orgunit_create(
                    name=data["name"], code=data["code"], parent=data["parent"], actor=request.user,
                    level=data["level"], utility=data["utility"], region_class=data["region_class"],
                    phone=data["phone"],
                )
            except ApplicationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Org unit %(name)s created.") % {"name": unit.name})
                return redirect("org:unit-detail", pk=unit.pk)
    else:
        parent = _parent_initial(request)
        initial: dict[str, Any] = {"parent": parent}
        if parent is not None:
            # A new sub-unit usually serves the same utility and region as its parent.
            initial.update(utility=parent.utility, region_class=parent.region_class)
        form = OrgUnitForm(user=request.user, initial=initial)
    return render(request, "org/unit_form.html", {"form": form, "unit": None})


def _unit_changes(unit: OrgUnit, form: OrgUnitForm) -> dict[str, Any]:
    """Only the fields that really changed: an unchanged parent must not trigger a subtree move."""
    data = form.cleaned_data
    changes: dict[str, Any] = {}
    for name in ("name", "code", "level", "utility", "region_class", "phone", "is_active"):
        if data[name] != getattr(unit, name):
            changes[name] = data[name]
    if not form.parent_locked:
        new_parent = data["parent"]
        if (new_parent.pk if new_parent else None) != unit.parent_id:
            changes["parent"] = new_parent
    return changes


@login_required
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.ORG_ADMIN)
    unit = orgunit_get(user=request.user, pk=pk)
    if request.method == "POST":
        form = OrgUnitForm(request.POST, user=request.user, unit=unit)
        if form.is_valid():
            changes = _unit_changes(unit, form)
            try:
                if changes:
                    unit = orgunit_update(unit=unit, actor=request.user, **changes)
            except ApplicationError as exc:
                add_service_errors(form, exc, field_map={"unit": "parent"})
            else:
                if changes:
                    messages.success(request, _("Org unit %(name)s saved.") % {"name": unit.name})
                else:
                    messages.info(request, _("Nothing was changed."))
                return redirect("org:unit-detail", pk=unit.pk)
    else:
        form = OrgUnitForm(
            user=request.user,
            unit=unit,
            initial={
                "name": unit.name, "code": unit.code, "parent": unit.parent, "level": unit.level,
                "utility": unit.utility, "region_class": unit.region_class, "phone": unit.phone,
                "is_active": unit.is_active,
            },
        )
    return render(request, "org/unit_form.html", {"form": form, "unit": unit})


# ---- staff ---------------------------------------------------------------------------------


@login_required
def staff_list_view(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ORG_VIEW)
    form = StaffFilterForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        qs: QuerySet[Staff] = Staff.objects.none()
    else:
        data = form.cleaned_data if form.is_bound else {}
        qs = staff_list(
            user=request.user, query=data.get("q", ""), role=data.get("role", ""), unit=data.get("unit")
        )
    page = tables.keyset_page(
        qs, key="id", after=tables.parse_id(request.GET.get("after")), size=tables.STAFF_PAGE_SIZE
    )
    context = {"form": form, "page": page, "can_admin": has_capability(request.user, Capability.ORG_ADMIN)}
    if _htmx_target(request) == "staff-table":
        return vary_on_htmx(render(request, "org/_staff_table.html", context))
    return vary_on_htmx(render(request, "org/staff_list.html", context))


def _staff_list_for(staff: Staff) -> str:
    """After a save, land on the list narrowed to this person, so the change is visible at once."""
    return reverse("org:staff-list") + "?" + urlencode({"q": staff.username})


@login_required
@require_http_methods(["GET", "POST"])
def staff_create_view(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ORG_ADMIN)
    if request.method == "POST":
        form = StaffCreateForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                staff = staff_create(
                    username=data["username"], password=data["password1"], unit=data["unit"],
                    roles=data["roles"], actor=request.user, full_name=data["full_name"],
                    phone=data["phone"], extension=data["extension"], email=data["email"],
                )
            except ApplicationError as exc:
                add_service_errors(form, exc, field_map={"password": "password1"})
            else:
                messages.success(request, _("Staff member %(name)s created.") % {"name": staff.display_name()})
                return redirect(_staff_list_for(staff))
    else:
        parent = _parent_initial(request)  # "add staff" from a unit page pre-selects that unit
        form = StaffCreateForm(user=request.user, initial={"unit": parent, "roles": [Role.AGENT]})
    return render(request, "org/staff_form.html", {"form": form, "staff": None})


@login_required
@require_http_methods(["GET", "POST"])
def staff_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.ORG_ADMIN)
    staff = staff_get(user=request.user, pk=pk)
    if request.method == "POST":
        form = StaffEditForm(request.POST, user=request.user, staff=staff)
        if form.is_valid():
            data = form.cleaned_data
            changes = {
                name: data[name]
                for name in ("full_name", "unit", "phone", "extension", "email", "is_active")
                if data[name] != getattr(staff, name)
            }
            roles_changed = set(data["roles"]) != set(staff.role_codes)
            try:
                if changes or roles_changed:
                    staff = staff_update(
                        staff=staff, actor=request.user, roles=data["roles"] if roles_changed else None, **changes
                    )
            except ApplicationError as exc:
                add_service_errors(form, exc, field_map={"staff": "unit"})
            else:
                if changes or roles_changed:
                    messages.success(request, _("Staff member %(name)s saved.") % {"name": staff.display_name()})
                else:
                    messages.info(request, _("Nothing was changed."))
                return redirect(_staff_list_for(staff))
    else:
        form = StaffEditForm(
            user=request.user,
            staff=staff,
            initial={
                "full_name": staff.full_name, "unit": staff.unit, "roles": sorted(staff.role_codes),
                "phone": staff.phone, "extension": staff.extension, "email": staff.email,
                "is_active": staff.is_active,
            },
        )
    return render(request, "org/staff_form.html", {"form": form, "staff": staff})


@login_required
@require_http_methods(["GET", "POST"])
def staff_password_view(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.ORG_ADMIN)
    staff = staff_get(user=request.user, pk=pk)
    form = StaffPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff_set_password(staff=staff, new_password=form.cleaned_data["new_password"], actor=request.user)
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("New password set for %(name)s; any lock-out is lifted.")
                             % {"name": staff.display_name()})
            return redirect("org:staff-edit", pk=staff.pk)
    return render(request, "org/staff_password.html", {"form": form, "staff": staff})
