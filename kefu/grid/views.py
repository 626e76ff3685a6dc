"""Topology pages: the tree, one node (path, children, what hangs below it), node edits, import, export.

Nodes come through the scoped selectors (out of scope → 404); writes go through the services, whose
errors are shown on the form (bad parent, cycle, stale version), never as a 500.
"""

from __future__ import annotations

import importlib
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kefu.core.choices import UtilityKind
from kefu.core.errors import ApplicationError, Conflict, InvalidInput
from kefu.core.web import add_service_errors, is_htmx, vary_on_htmx
from kefu.customers.choices import Importance
from kefu.customers.selectors import account_qs
from kefu.grid.forms import ExportForm, ImportForm, NodeForm, NodeSearchForm
from kefu.grid.models import Attachment, GridNode
from kefu.grid.selectors import accounts_under, ancestors, children_of, node_get, node_qs, service_points_under
from kefu.grid.services import node_create, node_update
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import require

FORM_METHODS = require_http_methods(["GET", "POST"])
SEARCH_LIMIT = 50
ACCOUNTS_PER_PAGE = 25
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def with_counts(qs: QuerySet[GridNode], user: Any) -> QuerySet[GridNode]:
    """Add the number of service points attached anywhere in each node's subtree, and whether it has
    visible children. One correlated subquery per shown node, so only use it on a page's worth."""
    attached = (Attachment.objects.filter(node__path__startswith=OuterRef("path")).order_by()
                .annotate(n=Func(F("service_point_id"), function="COUNT")).values("n"))
    return qs.select_related("unit").annotate(
        attached=Subquery(attached, output_field=IntegerField()),
        has_children=Exists(node_qs(user).filter(parent=OuterRef("pk"))),
    )


def top_nodes(user: Any) -> QuerySet[GridNode]:
    """The highest nodes the user sees: real roots, and nodes whose parent belongs to another unit."""
    visible = node_qs(user)
    return visible.exclude(parent__in=visible.values("pk"))


def _data(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _status(form: Any, error: ApplicationError | None = None) -> int:
    if error is not None:
        return error.status_code
    return 400 if form.is_bound and form.errors else 200


@login_required
@require_GET
def tree(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.GRID_VIEW)
    form = NodeSearchForm(request.GET or None)
    query, utility = "", ""
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        utility = form.cleaned_data["utility"]
    context: dict[str, Any] = {"form": form, "query": query}
    if query:
        found = node_qs(request.user).filter(Q(code__icontains=query) | Q(name__icontains=query))
        if utility:
            found = found.filter(utility=utility)
        rows = list(with_counts(found, request.user).order_by("code")[:SEARCH_LIMIT + 1])
        context.update(results=rows[:SEARCH_LIMIT], more=len(rows) > SEARCH_LIMIT)
    else:
        roots = with_counts(top_nodes(request.user), request.user).order_by("utility", "code")
        groups = []
        for value, label in UtilityKind.choices:
            if utility and value != utility:
                continue
            nodes = [n for n in roots if n.utility == value]
            if nodes:
                groups.append({"utility": value, "label": label, "nodes": nodes})
        context["groups"] = groups
    status = 200 if form.is_valid() or not form.is_bound else 400
    return render(request, "grid/tree.html", context, status=status)


@login_required
@require_GET
def children(request: HttpRequest, pk: int) -> HttpResponse:
    """The children of one node as tree rows (the htmx partial behind the expand buttons)."""
    node = node_get(request.user, pk)
    rows = with_counts(children_of(request.user, node), request.user).order_by("code")
    return vary_on_htmx(render(request, "grid/_children.html", {"node": node, "nodes": rows}))


@login_required
@require_GET
def node(request: HttpRequest, pk: int) -> HttpResponse:
    current = node_get(request.user, pk)
    visible = set(node_qs(request.user).filter(pk__in=current.ancestor_ids()).values_list("pk", flat=True))
    path = [(n, n.pk in visible) for n in ancestors(current)]
    accounts = account_qs(request.user).filter(pk__in=accounts_under(current).values("pk"))
    listed = accounts.select_related("customer", "premise").order_by("number")
    page = Paginator(listed, ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "node": current,
        "path": path,
        "children": with_counts(children_of(request.user, current), request.user).order_by("code"),
        "service_points": service_points_under(current).count(),
        "accounts_total": page.paginator.count,
        "important": accounts.exclude(importance=Importance.NORMAL).count(),
        "page": page,
        "events": current.events.select_related("actor").order_by("-at", "-id")[:50],
    }
    template = "grid/_accounts.html" if is_htmx(request) else "grid/node.html"
    return vary_on_htmx(render(request, template, context))


def _node_form(request: HttpRequest, node: GridNode | None) -> NodeForm:
    units = OrgUnit.objects.for_user(request.user).filter(is_active=True)
    return NodeForm(_data(request), units=units, nodes=node_qs(request.user), node=node)


def _save(request: HttpRequest, form: NodeForm,
          node: GridNode | None) -> tuple[GridNode | None, ApplicationError | None]:
    data = form.cleaned_data
    try:
        if node is None:
            saved = node_create(actor=request.user, data=form.service_data(), parent=data["parent_code"],
                                unit=data["unit"])
        else:
            version = data.get("version")
            if version is None:
                raise InvalidInput({"version": [_("The form is missing the node's version. Reload the page.")]})
            saved = node_update(actor=request.user, node_id=node.pk,
                                data={**form.service_data(), "unit": data["unit"]},
                                parent=data["parent_code"], seen_version=version)
    except ApplicationError as exc:
        add_service_errors(form, exc, field_map={"parent": "parent_code"})
        return None, exc
    return saved, None


@login_required
@FORM_METHODS
def node_create_page(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.GRID_EDIT)
    form = _node_form(request, None)
    error = None
    if request.method == "POST" and form.is_valid():
        saved, error = _save(request, form, None)
        if saved is not None:
            messages.success(request, _("Node %(code)s created.") % {"code": saved.code})
            return redirect("grid:node", pk=saved.pk)
    return render(request, "grid/node_form.html", {"form": form, "node": None}, status=_status(form, error))


@login_required
@FORM_METHODS
def node_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    current = node_get(request.user, pk)
    require(request.user, Capability.GRID_EDIT)
    form = _node_form(request, current)
    error = None
    if request.method == "POST" and form.is_valid():
        saved, error = _save(request, form, current)
        if saved is not None:
            messages.success(request, _("Node %(code)s saved.") % {"code": saved.code})
            return redirect("grid:node", pk=saved.pk)
    context = {"form": form, "node": current, "conflict": isinstance(error, Conflict)}
    return render(request, "grid/node_form.html", context, status=_status(form, error))



def _optional(name: str, *needed: str) -> Any:
    """The grid's import or export module if it is there with the functions the page calls, else None."""
    try:
        module = importlib.import_module(f"kefu.grid.{name}")
    except ImportError:
        return None
    return module if all(hasattr(module, attr) for attr in needed) else None


def _report_rows(report: Any) -> list[dict[str, Any]]:
    """Row errors of an import report as plain dicts (row, field, reason), whatever their shape."""
    rows = []
    for error in getattr(report, "errors", None) or []:
        if isinstance(error, dict):
            rows.append({"row": error.get("row"), "field": error.get("field"),
                         "reason": error.get("reason") or error.get("message")})
        else:
            rows.append({"row": getattr(error, "row", ""), "field": getattr(error, "field", ""),
                         "reason": getattr(error, "reason", "") or getattr(error, "message", "")})
    return rows


@login_required
@FORM_METHODS
def import_page(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.GRID_EDIT)
    imports = _optional("imports", "read_table", "topology_import", "attachments_import")
    form = ImportForm(_data(request), request.FILES or None)
    context: dict[str, Any] = {"form": form, "available": imports is not None}
    status = 200
    if request.method == "POST" and imports is not None:
        if not form.is_valid():
            status = 400
        else:
            upload = form.cleaned_data["file"]
            what = form.cleaned_data["what"]
            run = imports.topology_import if what == "nodes" else imports.attachments_import
            dry_run = form.cleaned_data["dry_run"]
            try:
                columns = "topology" if what == "nodes" else "attachments"
                table = imports.read_table(upload, upload.name, columns=columns)
                report = run(actor=request.user, rows=table, dry_run=dry_run)
            except ApplicationError as exc:
                add_service_errors(form, exc)
                return render(request, "grid/import.html", context, status=exc.status_code)
            errors = _report_rows(report)
            context.update(report=report, row_errors=errors, dry_run=dry_run, what=what)
            status = 400 if errors else 200
    return render(request, "grid/import.html", context, status=status)


@login_required
@require_GET
def export_page(request: HttpRequest) -> HttpResponse:
    """Without parameters: the choice of what and how. With format=…: the file itself."""
    require(request.user, Capability.GRID_VIEW)
    exports = _optional("exports", "export")
    form = ExportForm(request.GET or None, nodes=node_qs(request.user))
    context: dict[str, Any] = {"form": form, "available": exports is not None}
    if not form.is_bound or exports is None:
        return render(request, "grid/export.html", context)
    if not form.is_valid():
        return render(request, "grid/export.html", context, status=400)
    data = form.cleaned_data
    return export_response(exports, request.user, what=data["what"], fmt=data["format"], root=data["root"])



def export_response(exports: Any, user: Any, *, what: str, fmt: str, root: GridNode | None) -> HttpResponse:
    """The file, limited to the nodes the user sees (and to ``root``'s subtree)."""
    out = io.BytesIO()
    exports.export(user, out, fmt=fmt, attachments=what == "attachments", root=root)
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else XLSX_TYPE
    response = HttpResponse(out.getvalue(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="grid-{what}.{fmt}"'
    return response
