"""Factories for knowledge-base tests: article content, articles in any workflow state, and the editors
who write and approve them (built on the ``world`` personas)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kefu.knowledge import services as svc
from kefu.knowledge.models import Article, ArticleEvent
from kefu.org.models import OrgUnit, Staff
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    # Only for the annotations: at run time another conftest module may own the name "conftest".
    from conftest import World


def article_data(**overrides: Any) -> dict[str, Any]:
    """Valid content for ``article_create`` / ``article_update``; override any field."""
    data: dict[str, Any] = {
        "title": "防汛期间配电房巡视要求",
        "summary": "汛期前后对小区配电房进行巡视，发现积水及时处理。",
        "body": "汛期来临前，供电所组织人员对辖区配电房进行巡视。\n\n发现配电房积水、门窗损坏的，登记后安排整改。",
        "category": "procedure-repair",
        "utility": "power",
        "tags": "防汛, 配电房",
        "source": "测试文档",
    }
    data.update(overrides)
    return data


def make_article(actor: Staff, *, unit: OrgUnit | None = None, approver: Staff | None = None,
                 **overrides: Any) -> Article:
    """A draft written by ``actor``; with ``approver``, submitted and approved as revision 1."""
    article = svc.article_create(actor=actor, data=article_data(**overrides), unit=unit)
    if approver is not None:
        svc.article_submit(actor=actor, article_id=article.pk)
        article = svc.article_approve(actor=approver, article_id=article.pk)
    return Article.objects.get(pk=article.pk)


def fresh(article: Article) -> Article:
    return Article.objects.select_related("published").get(pk=article.pk)


def event_actions(article: Article) -> list[str]:
    return list(ArticleEvent.objects.filter(article=article).order_by("at", "id").values_list("action", flat=True))


@dataclass
class Editors:
    """Who writes and who approves. ``director`` is world.supervisor (director at city A)."""

    leader_a1: Staff  # shift leader at county A1: writes, may not approve
    leader_b1: Staff  # shift leader at B1 (the other city): writes for B1 only
    director: Staff  # director at city A: writes and approves for A1 and A2
    head: Staff  # director at the province: looks after the company-wide (seeded) articles


def make_editors(world: World) -> Editors:
    return Editors(
        leader_a1=make_staff("kb_leader_a1", unit=world.county_a1, roles=["shift_leader"]),
        leader_b1=make_staff("kb_leader_b1", unit=world.county_b1, roles=["shift_leader"]),
        director=world.supervisor,
        head=make_staff("kb_head", unit=world.province, roles=["director"]),
    )
