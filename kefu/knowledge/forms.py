"""Forms of the knowledge pages: the search box with its filters, the article editor and the workflow
steps. They check shapes only; the services own the rules and their messages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UnitUtility
from kefu.core.web import BootstrapFormMixin
from kefu.org.models import OrgUnit

from .choices import ArticleStatus
from .models import Article
from .selectors import category_tree

MAX_VERSION = 2**31 - 1
# Deep paging through a ranked result list is never useful; it only makes the database work.
MAX_OFFSET = 1000
# The search text is checked by the selector (it names the limit); this only stops absurd requests.
MAX_QUERY_INPUT = 20_000


def category_choices(blank: Any) -> list[tuple[str, str]]:
    """The category tree as select options, children indented under their parents."""
    return [("", str(blank))] + [(str(c.pk), "\u3000" * depth + c.label) for c, depth in category_tree()]


class SearchForm(BootstrapFormMixin, forms.Form):
    q = forms.CharField(label=_("Search the knowledge base"), required=False, max_length=MAX_QUERY_INPUT,
                        strip=True)
    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int, empty_value=None)
    utility = forms.ChoiceField(label=_("Utility"), required=False,
                                choices=[("", _("Power and gas")), (UnitUtility.POWER, _("Power")),
                                         (UnitUtility.GAS, _("Gas"))])
    offset = forms.IntegerField(required=False, min_value=0, max_value=MAX_OFFSET, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(_("All categories"))  # type: ignore[attr-defined]


class ManageFilterForm(BootstrapFormMixin, forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses")), *ArticleStatus.choices])
    q = forms.CharField(label=_("Title contains"), required=False, max_length=100)
    after = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return "\u3000" * obj.depth + str(obj.name)


class ArticleForm(BootstrapFormMixin, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(label=_("Summary"), max_length=500, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("One or two sentences agents read in the search results."))
    body = forms.CharField(label=_("Body"), max_length=100_000, widget=forms.Textarea(attrs={"rows": 12}),
                           help_text=_("Separate paragraphs with an empty line."))
    category = forms.TypedChoiceField(label=_("Category"), coerce=int)
    utility = forms.ChoiceField(label=_("Utility"), choices=UnitUtility.choices, initial=UnitUtility.BOTH)
    region = RegionChoiceField(label=_("Applicable region"), queryset=OrgUnit.objects.none(), required=False,
                               empty_label=_("Everywhere"),
                               help_text=_("Empty: applies everywhere. Otherwise this unit and the units below it."))
    tags = forms.CharField(label=_("Tags"), max_length=300, required=False,
                           help_text=_("Separate tags with commas, e.g. 电价, 阶梯."))
    valid_from = forms.DateField(label=_("Valid from"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    valid_to = forms.DateField(label=_("Valid to"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    source = forms.CharField(label=_("Source"), max_length=300, required=False,
                             help_text=_("The regulation or document this article rests on."))
    version = forms.IntegerField(required=False, min_value=1, max_value=MAX_VERSION, widget=forms.HiddenInput)

    CONTENT = ("title", "summary", "body", "category", "utility", "region", "tags", "valid_from", "valid_to",
               "source")

    def __init__(self, *args: Any, regions: QuerySet[OrgUnit], article: Article | None = None,
                 **kwargs: Any) -> None:
        if article is not None:
            kwargs.setdefault("initial", {
                **{name: getattr(article, name) for name in self.CONTENT},
                "category": article.category_id, "region": article.region_id,
                "tags": ", ".join(article.tag_list), "version": article.version,
            })
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(_("Choose a category"))  # type: ignore[attr-defined]
        region = self.fields["region"]
        assert isinstance(region, forms.ModelChoiceField)
        region.queryset = regions

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.CONTENT}


class ActionForm(BootstrapFormMixin, forms.Form):
    """One workflow step. Reject and retire carry a reason (the service says when one is missing); every
    step carries the version the page showed."""

    version = forms.IntegerField(min_value=1, max_value=MAX_VERSION, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=2000, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, action: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
