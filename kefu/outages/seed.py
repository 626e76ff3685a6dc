"""Default notice rules, grouping thresholds and SMS templates (guide §4, policy-defaults.yaml
``outage_notice``). Loaded by a data migration and by test reseeding; idempotent."""

from __future__ import annotations

from typing import Any

SGCC_2023_2 = "国家电网 供电服务十项承诺 (2023) 第2条; 供电监管办法"
SEED_001 = "95598 客户服务系统 (seed 001): 停电信息报送"
WEIHAI_GAS = "威海市 城镇燃气供气规则 (部分企业 48 小时)"
KEFU_DEFAULT = "无公开数据, 合理默认值 (no public figure; sensible default)"

# kind, class, audience, lead minutes, reminder minutes, source, weak source
NOTICE_RULES: list[tuple[str, str, str, int, int, str, bool]] = [
    ("notice", "planned", "all", 7 * 24 * 60, 0, SGCC_2023_2, False),
    ("notice", "temporary", "important", 24 * 60, 30, SGCC_2023_2, False),
    ("notice", "orderly", "all", 24 * 60, 0, SEED_001, False),
    # Fault outages are published as soon as they are known; the others 30 minutes ahead (seed 001).
    ("notice", "capacity", "all", 30, 0, SEED_001, False),
    ("notice", "arrears", "all", 30, 0, SEED_001, False),
    ("notice", "theft", "all", 30, 0, SEED_001, False),
    ("notice", "violation", "all", 30, 0, SEED_001, False),
    ("notice", "gas_planned", "all", 24 * 60, 0, WEIHAI_GAS, True),
    ("notice", "gas_pressure", "all", 24 * 60, 0, WEIHAI_GAS, True),
    ("change", "", "all", 60, 0, SEED_001 + ": 提前停电或延迟送电提前 1 小时报送并说明原因", False),
]

# utility, window minutes, calls under one area, areas under one feeder, expected restoration hours
GROUPING: list[tuple[str, int, int, int, int]] = [
    ("power", 30, 3, 2, 4),
    ("gas", 30, 3, 2, 4),
]

TEMPLATES: dict[str, tuple[str, str]] = {
    "published": (
        "【停电通知】尊敬的客户：因{reason}，{area}将于{start}至{end}停电，给您带来不便敬请谅解。"
        "如有疑问请致电{hotline}。",
        "[Outage notice] Because of {reason}, {area} will be without supply from {start} to {end}. "
        "Questions: {hotline}.",
    ),
    "reminder": (
        "【停电提醒】{area}将于{start}停电，预计{end}恢复，请提前做好准备。",
        "[Reminder] {area}: supply stops at {start}, expected back at {end}.",
    ),
    "changed": (
        "【停电变更】{area}停电时间调整为{start}至{end}，原因：{change_reason}。",
        "[Outage changed] {area}: now from {start} to {end}. Reason: {change_reason}.",
    ),
    "cancelled": (
        "【停电取消】原定{start}起{area}的停电已取消，给您带来不便敬请谅解。",
        "[Outage cancelled] The outage of {area} announced from {start} is cancelled.",
    ),
    "restored": (
        "【恢复供电】{area}已于{restored_at}恢复供电，感谢您的理解。如仍未来电请致电{hotline}。",
        "[Supply restored] {area} was restored at {restored_at}. Still no supply? Call {hotline}.",
    ),
}


def outage_policy_seed(*, rule_model: Any, grouping_model: Any, template_model: Any) -> dict[str, int]:
    created = {"rules": 0, "grouping": 0, "templates": 0}
    for kind, outage_class, audience, lead, reminder, source, weak in NOTICE_RULES:
        _obj, new = rule_model.objects.get_or_create(
            kind=kind, outage_class=outage_class, audience=audience,
            defaults={"lead_minutes": lead, "reminder_minutes": reminder, "source": source, "weak_source": weak},
        )
        created["rules"] += int(new)
    for utility, window, area_calls, feeder_areas, hours in GROUPING:
        _obj, new = grouping_model.objects.get_or_create(
            utility=utility, defaults={"window_minutes": window, "area_calls": area_calls,
                                       "feeder_areas": feeder_areas, "expected_hours": hours,
                                       "source": KEFU_DEFAULT},
        )
        created["grouping"] += int(new)
    for kind, (text, text_en) in TEMPLATES.items():
        _obj, new = template_model.objects.get_or_create(kind=kind, defaults={"text": text, "text_en": text_en})
        created["templates"] += int(new)
    return created
