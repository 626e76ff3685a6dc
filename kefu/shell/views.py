"""Sign-in, sign-out, password change and the home page (cards chosen by the user's roles)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from kefu.customers.selectors import accounts_managed_by
from kefu.org.choices import MANAGER_ROLES, Capability, Role
from kefu.org.models import Staff
from kefu.org.scope import capabilities
from kefu.shell.forms import LoginForm, PasswordChangeForm
from kefu.workorders.tables import home_links

# What each role will get in later releases: shown on the home page so nobody looks for it today.
LATER: dict[str, object] = {
    Role.AGENT: gettext_lazy("outage notices and callers inside a known outage"),
    Role.DIRECTOR: gettext_lazy("reports, KPIs and staff evaluation"),
    Role.CREW: gettext_lazy("repair tasks, arrival and restoration"),
    Role.MANAGER_FULL: gettext_lazy("visit plans and service reviews for your customers"),
    Role.MANAGER_PART: gettext_lazy("visit plans and service reviews for your customers"),
    Role.READER: gettext_lazy("reading routes and plans"),
    Role.COLLECTOR: gettext_lazy("arrears lists, notices and shut-offs"),
    Role.INSPECTOR: gettext_lazy("household safety inspections and hazards"),
    Role.CLERK: gettext_lazy("counter business, payments and daily closing"),
    Role.ANALYST: gettext_lazy("reading trends and reports"),
}
PORTFOLIO_SHOWN = 10
DESK_ROLES = frozenset({Role.AGENT, Role.SHIFT_LEADER, Role.CLERK})
COVERAGE_ROLES = frozenset({Role.DIRECTOR, Role.SHIFT_LEADER, Role.ADMIN, Role.MANAGER_FULL, Role.MANAGER_PART})


@dataclass(frozen=True)
class LaterItem:
    role: object
    what: object


def _safe_next(request: HttpRequest, target: str | None) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return str(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request, next_url))
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and form.user is not None:
        login(request, form.user)
        return redirect(_safe_next(request, next_url))
    status = 400 if request.method == "POST" else 200
    return render(request, "registration/login.html", {"form": form, "next": next_url}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponseRedirect:
    logout(request)
    messages.info(request, _("You have logged out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


@sensitive_post_parameters("old_password", "new_password", "new_password2")
@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(cast(Staff, request.user), data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and form.save():
        update_session_auth_hash(request, form.user)  # stay signed in with the new password
        messages.success(request, _("Your password has been changed."))
        return redirect("home")
    status = 400 if request.method == "POST" else 200
    return render(request, "registration/password_change.html", {"form": form}, status=status)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    caps = capabilities(user)
    roles: frozenset[str] = getattr(user, "role_codes", frozenset())
    is_admin = Capability.ORG_ADMIN in caps
    context = {
        "role_labels": [Role(r).label for r in sorted(roles) if r in Role.values],
        "can_search": Capability.CUSTOMER_VIEW in caps,
        "search_first": bool(roles & DESK_ROLES),
        "can_create": Capability.CUSTOMER_EDIT in caps,
        "is_admin": is_admin,
        "show_coverage": bool(roles & COVERAGE_ROLES) or user.is_superuser,
        "later": [LaterItem(role=Role(r).label, what=LATER[r]) for r in sorted(roles) if r in LATER],
        "no_roles": not roles and not user.is_superuser,
        # Work queues by role: agents their own orders and those to dispatch, handling units their
        # unit's, shift leaders also warnings, supervised orders and handovers to confirm.
        "order_links": home_links(user),
    }
    if roles & MANAGER_ROLES:
        portfolio = accounts_managed_by(user=user, manager=cast(Staff, user))
        context["portfolio"] = list(portfolio[:PORTFOLIO_SHOWN])
        context["portfolio_count"] = portfolio.count()
    return render(request, "shell/home.html", context)
