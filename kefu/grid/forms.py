"""Forms of the topology pages. They check shapes only; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import RegionClass, UtilityKind
from kefu.core.web import BootstrapFormMixin
from kefu.grid.choices import NodeKind
from kefu.grid.models import GridNode
from kefu.org.models import OrgUnit


class NodeSearchForm(BootstrapFormMixin, forms.Form):
    q = forms.CharField(label=_("Code or name"), required=False, max_length=100)
    utility = forms.ChoiceField(label=_("Utility kind"), required=False,
                                choices=[("", _("All")), *UtilityKind.choices])


class NodeForm(BootstrapFormMixin, forms.Form):
    """A node's own values and its parent, named by code (a clerk knows codes, not ids)."""

    code = forms.CharField(label=_("Node code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=100)
    utility = forms.ChoiceField(label=_("Utility kind"), choices=UtilityKind.choices)
    kind = forms.ChoiceField(label=_("Kind"), choices=NodeKind.choices)
    parent_code = forms.CharField(label=_("Parent node code"), max_length=40, required=False,
                                  help_text=_("Leave empty for a top node (substation or gas station)."))
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    region_class = forms.ChoiceField(label=_("Region class"), choices=RegionClass.choices)
    dedicated = forms.BooleanField(label=_("Dedicated transformer"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], nodes: QuerySet[GridNode],
                 node: GridNode | None = None, **kwargs: Any) -> None:
        if node is not None and not args and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": node.code, "name": node.name, "utility": node.utility, "kind": node.kind,
                "parent_code": node.parent.code if node.parent else "", "unit": node.unit_id,
                "region_class": node.region_class, "dedicated": node.dedicated, "version": node.version,
            }
        super().__init__(*args, **kwargs)
        self.node = node
        self.nodes = nodes
        unit_field = self.fields["unit"]
        assert isinstance(unit_field, forms.ModelChoiceField)
        unit_field.queryset = units
        if node is not None:
            # A node never changes network: the service ignores it, so the page does not offer it.
            self.fields["utility"].disabled = True
            self.fields["utility"].required = False

    def clean_parent_code(self) -> GridNode | None:
        code = (self.cleaned_data.get("parent_code") or "").strip()
        if not code:
            return None
        parent = self.nodes.filter(code=code).first()
        if parent is None:
            raise forms.ValidationError(_("No node with code %(code)s in your scope.") % {"code": code})
        return parent

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        out = {key: data[key] for key in ("code", "name", "kind", "region_class", "dedicated")}
        out["utility"] = self.node.utility if self.node is not None else data["utility"]
        return out


class ImportForm(BootstrapFormMixin, forms.Form):
    WHAT = [("nodes", _("Nodes")), ("attachments", _("Attachments of service points"))]

    what = forms.ChoiceField(label=_("What the file holds"), choices=WHAT)
    file = forms.FileField(label=_("File (CSV or XLSX)"))
    dry_run = forms.BooleanField(label=_("Check only (apply nothing)"), required=False, initial=True)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return upload


class ExportForm(BootstrapFormMixin, forms.Form):
    what = forms.ChoiceField(label=_("What to export"), choices=ImportForm.WHAT, initial="nodes")
    format = forms.ChoiceField(label=_("File format"), choices=[("csv", "CSV"), ("xlsx", "XLSX")], initial="csv")
    root = forms.CharField(label=_("Only below node (code)"), max_length=40, required=False)

    def __init__(self, *args: Any, nodes: QuerySet[GridNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nodes = nodes

    def clean_root(self) -> GridNode | None:
        code = (self.cleaned_data.get("root") or "").strip()
        if not code:
            return None
        node = self.nodes.filter(code=code).first()
        if node is None:
            raise forms.ValidationError(_("No node with code %(code)s in your scope.") % {"code": code})
        return node
