"""Editors' pages: the list of working copies, the article editor and the review steps.

Every article comes through ``article_qs`` (out of scope → 404) and every step checks its capability
first (→ 403). The editor posts the version it showed, so a page loaded before someone else saved
gets "someone else changed it" instead of overwriting their work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kefu.core.api import parse_id
from kefu.core.errors import ApplicationError, Conflict, InvalidInput, PermissionDeniedError
from kefu.core.web import add_service_errors
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import has_capability, require

from .. import services
from ..choices import ArticleAction, ArticleStatus
from ..forms import ActionForm, ArticleForm, ManageFilterForm
from ..models import Article
from ..selectors import article_history, article_qs
from .common import STEP_CAPABILITY, allowed_steps

PAGE_SIZE = 30
A = ArticleAction

Step = Callable[[Any, Article, dict[str, Any]], Article]
STEPS: dict[str, Step] = {
    A.SUBMIT: lambda u, a, d: services.article_submit(actor=u, article_id=a.pk, seen_version=d["version"]),
    A.APPROVE: lambda u, a, d: services.article_approve(actor=u, article_id=a.pk, seen_version=d["version"]),
    A.REJECT: lambda u, a, d: services.article_reject(actor=u, article_id=a.pk, reason=d["reason"],
                                                      seen_version=d["version"]),
    A.RETIRE: lambda u, a, d: services.article_retire(actor=u, article_id=a.pk, reason=d["reason"],
                                                      seen_version=d["version"]),
}
# Button texts say what the click does (the action labels describe the event afterwards).
STEP_BUTTON: dict[str, Any] = {
    A.SUBMIT: gettext_lazy("Submit for review"), A.APPROVE: gettext_lazy("Approve and publish"),
    A.REJECT: gettext_lazy("Send back to draft"), A.RETIRE: gettext_lazy("Retire"),
}
STEP_STYLE: dict[str, str] = {A.SUBMIT: "primary", A.APPROVE: "success", A.REJECT: "outline-warning",
                              A.RETIRE: "outline-danger"}
STATUS_COLOUR: dict[str, str] = {ArticleStatus.DRAFT: "secondary", ArticleStatus.REVIEW: "warning",
                                 ArticleStatus.PUBLISHED: "success", ArticleStatus.RETIRED: "dark"}


@dataclass(frozen=True)
class StepButton:
    action: str
    label: str
    style: str
    needs_reason: bool


def _article_or_404(request: HttpRequest, pk: int) -> Article:
    if parse_id(pk) is None:  # a URL id too big for the id column
        raise Http404
    article = article_qs(request.user).select_related("category", "region", "unit", "published").filter(
        pk=pk).first()
    if article is None:
        raise Http404
    return article


def _regions(user: Any) -> Any:
    return OrgUnit.objects.for_user(user).filter(is_active=True)


def _status(form: Any, error: ApplicationError | None) -> int:
    if error is not None:
        return error.status_code
    return 400 if form.is_bound and form.errors else 200


@login_required
@require_http_methods(["GET"])
def manage(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(user, Capability.KNOWLEDGE_EDIT)
    form = ManageFilterForm(request.GET)
    qs = article_qs(user).select_related("category", "unit", "published", "updated_by")
    status_filter = ""
    query = ""
    after = None
    if form.is_valid():
        status_filter = form.cleaned_data["status"]
        query = form.cleaned_data["q"].strip()
        after = form.cleaned_data["after"]
        if status_filter:
            qs = qs.filter(status=status_filter)
        if query:
            qs = qs.filter(title__icontains=query)
        if after:
            qs = qs.filter(id__lt=after)
    rows = list(qs.order_by("-id")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    context: dict[str, Any] = {
        "form": form,
        "rows": [(a, STATUS_COLOUR.get(a.status, "secondary")) for a in rows],
        "status_filter": status_filter,
        "can_publish": has_capability(user, Capability.KNOWLEDGE_PUBLISH),
        "statuses": ArticleStatus.choices,
        "is_first": after is None,
    }
    if more and rows:
        context["next_url"] = "?" + urlencode({"status": status_filter, "q": query, "after": str(rows[-1].pk)})
    return render(request, "knowledge/manage.html", context, status=200 if form.is_valid() else 400)


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.KNOWLEDGE_EDIT)
    form = ArticleForm(request.POST if request.method == "POST" else None, regions=_regions(request.user))
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            article = services.article_create(actor=request.user, data=form.service_data())
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)  # a permission refusal re-raises: 403
        else:
            messages.success(request, _("Draft %(number)s saved. Submit it for review when it is ready.")
                             % {"number": article.number})
            return redirect("knowledge:edit", pk=article.pk)
    return render(request, "knowledge/form.html", {"form": form, "article": None}, status=_status(form, error))


def _edit_page(request: HttpRequest, article: Article, form: ArticleForm, *, status: int = 200,
               conflict: bool = False, step_error: str = "", step_form: ActionForm | None = None) -> HttpResponse:
    user = request.user
    buttons = [StepButton(a, str(STEP_BUTTON[a]), STEP_STYLE[a], a in (A.REJECT, A.RETIRE))
               for a in allowed_steps(user, article)]
    context = {
        "article": article,
        "form": form,
        "status_colour": STATUS_COLOUR.get(article.status, "secondary"),
        "in_review": article.status == ArticleStatus.REVIEW,
        "buttons": buttons,
        "revisions": article_history(article),
        "events": list(article.events.select_related("actor").order_by("-at", "-id")),
        "conflict": conflict,
        "step_error": step_error,
        "step_form": step_form,
    }
    return render(request, "knowledge/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.KNOWLEDGE_EDIT)
    article = _article_or_404(request, pk)
    form = ArticleForm(request.POST if request.method == "POST" else None, regions=_regions(request.user),
                       article=article)
    form.fields["version"].required = True
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            services.article_update(actor=request.user, article_id=article.pk, data=form.service_data(),
                                    seen_version=form.cleaned_data["version"])
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Article %(number)s saved.") % {"number": article.number})
            return redirect("knowledge:edit", pk=article.pk)
    return _edit_page(request, article, form, status=_status(form, error), conflict=isinstance(error, Conflict))


@login_required
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Run one review step: submit, approve, reject (with a reason) or retire."""
    if action not in STEPS:
        raise Http404
    require(request.user, Capability.KNOWLEDGE_EDIT)
    article = _article_or_404(request, pk)
    require(request.user, STEP_CAPABILITY[action])
    step_form = ActionForm(request.POST, action=action)
    error: ApplicationError | None = None
    if step_form.is_valid():
        try:
            updated = STEPS[action](request.user, article, step_form.cleaned_data)
        except PermissionDeniedError:
            raise  # 403 / 404 pages from the middleware
        except ApplicationError as exc:
            error = exc
        else:
            messages.success(request, _("%(action)s: article %(number)s is now “%(status)s”.") % {
                "action": A(action).label, "number": updated.number, "status": ArticleStatus(updated.status).label})
            return redirect("knowledge:edit", pk=article.pk)
    if error is None:
        # Only the hidden version can be wrong here: the page was not the editor's.
        error = InvalidInput({"version": [_("The page was incomplete. Reload it and try again.")]})
    if isinstance(error, InvalidInput):
        message = " ".join(str(m) for msgs in error.errors.values() for m in msgs)
    else:
        message = str(error.message)
    article = _article_or_404(request, pk)
    form = ArticleForm(regions=_regions(request.user), article=article)
    return _edit_page(request, article, form, status=error.status_code, conflict=isinstance(error, Conflict),
                      step_error=message, step_form=step_form)
