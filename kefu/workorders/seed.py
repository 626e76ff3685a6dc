"""Default type catalogue, time limits and warning levels (guide §3, policy-defaults.yaml).

Seeded by a data migration and by ``kefu demo``; both are idempotent (types by code, policies by
type + clock + basis + qualifiers + start date), and rows an administrator edited are left alone.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal
from typing import Any

# code, parent, Chinese name, English name, utility ("" = both), field work, callback required, sort
TYPES: list[tuple[str, str, str, str, str, bool, bool, int]] = [
    ("repair", "", "故障报修", "Fault repair", "power", True, True, 10),
    ("enquiry", "", "业务咨询", "Enquiry", "", False, False, 20),
    ("service", "", "服务申请", "Service request", "power", False, True, 30),
    ("service_reconnect", "service", "欠费复电登记", "Reconnection after payment", "power", True, True, 31),
    ("service_appliance", "service", "电器损坏", "Appliance damage", "power", True, True, 32),
    ("service_meter", "service", "电能表异常", "Meter anomaly", "power", True, True, 33),
    ("service_reading", "service", "抄表数据异常", "Reading anomaly", "power", False, True, 34),
    ("service_meter_test", "service", "计量校验", "Meter accuracy test", "power", True, True, 35),
    ("service_other", "service", "其他服务申请", "Other service request", "power", False, True, 36),
    ("complaint", "", "投诉", "Complaint", "", False, True, 40),
    ("complaint_service", "complaint", "服务投诉", "Complaint: service", "", False, True, 41),
    ("complaint_business", "complaint", "营业投诉", "Complaint: business", "", False, True, 42),
    ("complaint_outage", "complaint", "停送电投诉", "Complaint: outages", "power", False, True, 43),
    ("complaint_quality", "complaint", "供电质量投诉", "Complaint: supply quality", "power", False, True, 44),
    ("complaint_construction", "complaint", "电网建设投诉", "Complaint: grid construction", "power", False, True, 45),
    ("report", "", "举报", "Report of wrongdoing", "", False, True, 50),
    ("opinion", "", "意见", "Opinion", "", False, True, 60),
    ("suggestion", "", "建议", "Suggestion", "", False, True, 70),
    ("praise", "", "表扬", "Praise", "", False, False, 80),
    ("business", "", "营业申请", "Business application", "power", False, True, 90),
    ("business_new", "business", "新装", "New connection", "power", True, True, 91),
    ("business_capacity", "business", "增容/减容", "Capacity change", "power", True, True, 92),
    ("business_transfer", "business", "过户", "Transfer of ownership", "power", False, True, 93),
    ("business_usage", "business", "改类", "Change of usage", "power", False, True, 94),
    ("business_suspend", "business", "暂停", "Suspension", "power", True, True, 95),
    ("business_close", "business", "销户", "Account closing", "power", True, True, 96),
    ("info", "", "信息发布", "Information publishing", "", False, False, 100),
    ("gas_leak", "", "燃气泄漏抢险", "Gas leak emergency", "gas", True, True, 110),
    ("gas_repair", "", "燃气报修", "Gas repair", "gas", True, True, 120),
    ("gas_ignition", "", "点火通气", "Ignition / gas on", "gas", True, True, 130),
    ("gas_install", "", "燃气报装", "Gas installation application", "gas", True, True, 140),
    ("gas_suspend", "", "燃气报停", "Gas suspension", "gas", True, True, 150),
    ("gas_close", "", "燃气销户", "Gas account closing", "gas", True, True, 160),
    ("gas_transfer", "", "燃气过户", "Gas transfer of ownership", "gas", False, True, 170),
    ("gas_meter", "", "燃气表故障", "Gas meter fault", "gas", True, True, 180),
    # Noted by meter readers on their rounds (guide §2.3): internal orders, no customer callback.
    ("meter_round", "", "抄表现场发现", "Found on the meter round", "", True, False, 190),
    ("meter_round_gas_hazard", "meter_round", "燃气安全隐患", "Gas safety hazard at the meter", "gas", True,
     False, 191),
    ("meter_round_power_hazard", "meter_round", "表箱接线安全隐患", "Meter box or wiring hazard", "power", True,
     False, 192),
    ("meter_round_gas_theft", "meter_round", "窃气嫌疑", "Suspected gas theft", "gas", True, False, 193),
    ("meter_round_power_theft", "meter_round", "窃电嫌疑", "Suspected electricity theft", "power", True, False, 194),
]

# The types a meter reader's notes become (kefu.metering.fieldwork), seeded by migration 0004.
METER_ROUND_TYPES = frozenset(code for code, *_rest in TYPES if code.startswith("meter_round"))

SGCC_2023 = "国家电网 供电服务十项承诺 (2023) 第3条"
SGCC_2023_7 = "国家电网 供电服务十项承诺 (2023) 第7条"
JIANGSU_2021 = "国网江苏 公开规则 (2021)"
NO_FIGURE = "无公开数据, 合理默认值 (no public figure; sensible default)"

# type, clock, basis, qualifiers, amount, unit, starts_on, effective_from, source, weak
POLICIES: list[dict[str, Any]] = [
    *[
        {"type": "repair", "clock": "arrival", "utility": "power", "region_class": region, "amount": minutes,
         "unit": "minutes", "from": date(2023, 1, 1), "source": SGCC_2023}
        for region, minutes in (("urban", 45), ("rural", 90), ("remote", 120))
    ],
    *[
        {"type": "repair", "clock": "restoration", "utility": "power", "region_class": region, "amount": hours,
         "unit": "hours", "starts_on": "arrived", "from": date(2023, 1, 1),
         "source": SGCC_2023 + ("; 偏远地区同农村 (remote: rural figure)" if region == "remote" else "")}
        for region, hours in (("urban", 3), ("rural", 4), ("remote", 4))
    ],
    {"type": "complaint", "clock": "first_contact", "amount": 24, "unit": "hours", "from": date(2021, 1, 1),
     "source": JIANGSU_2021},
    {"type": "complaint", "clock": "reply", "amount": 4, "unit": "working_days", "from": date(2021, 1, 1),
     "source": JIANGSU_2021},
    {"type": "complaint", "clock": "reply", "channel": "12398", "amount": 10, "unit": "working_days",
     "from": date(2021, 1, 1), "source": JIANGSU_2021 + " (12398)"},
    {"type": "complaint", "clock": "reply", "channel": "12345", "amount": 7, "unit": "calendar_days",
     "from": date(2021, 1, 1), "source": JIANGSU_2021 + " (12345)"},
    {"type": "complaint", "clock": "callback", "amount": 2, "unit": "working_days", "from": date(2021, 1, 1),
     "source": NO_FIGURE, "weak": True},
    {"type": "report", "clock": "first_contact", "amount": 24, "unit": "hours", "from": date(2021, 1, 1),
     "source": JIANGSU_2021},
    {"type": "report", "clock": "reply", "amount": 9, "unit": "working_days", "from": date(2021, 1, 1),
     "source": JIANGSU_2021},
    {"type": "service_reconnect", "clock": "restoration", "utility": "power", "amount": 24, "unit": "hours",
     "from": date(2011, 1, 1), "source": "国家电网 十项承诺 (2011); 南方电网 12 小时"},
    {"type": "service_appliance", "clock": "arrival", "amount": 24, "unit": "hours", "from": date(2023, 1, 1),
     "source": "考试题库 (2023) exam bank", "weak": True},
    {"type": "service_meter", "clock": "reply", "basis": "internal", "amount": 4, "unit": "working_days",
     "from": date(2023, 1, 1), "source": "考试题库 (2023) exam bank", "weak": True},
    {"type": "service_meter", "clock": "reply", "amount": 5, "unit": "working_days", "from": date(2023, 1, 1),
     "source": SGCC_2023_7},
    {"type": "service_reading", "clock": "reply", "amount": 6, "unit": "working_days", "from": date(2023, 1, 1),
     "source": "考试题库 (2023) exam bank; 公开承诺 5 个工作日", "weak": True},
    {"type": "service_meter_test", "clock": "reply", "amount": 5, "unit": "working_days", "from": date(2023, 1, 1),
     "source": SGCC_2023_7},
    {"type": "service_other", "clock": "reply", "amount": 5, "unit": "working_days", "from": date(2023, 1, 1),
     "source": "考试题库 (2023) exam bank", "weak": True},
    *[
        {"type": code, "clock": "reply", "amount": 5, "unit": "working_days", "from": date(2023, 1, 1),
         "source": NO_FIGURE, "weak": True}
        for code in ("enquiry", "opinion", "suggestion")
    ],
    {"type": "gas_leak", "clock": "arrival", "utility": "gas", "amount": 60, "unit": "minutes",
     "from": date(2023, 1, 1), "source": "燃气企业服务承诺 (operator commitment)", "weak": True},
    # A hazard seen on the round is looked at the next day; every round order is answered in 5 working days.
    *[
        {"type": code, "clock": "arrival", "amount": 24, "unit": "hours", "from": date(2023, 1, 1),
         "source": NO_FIGURE, "weak": True}
        for code in ("meter_round_gas_hazard", "meter_round_power_hazard")
    ],
    {"type": "meter_round", "clock": "reply", "amount": 5, "unit": "working_days", "from": date(2023, 1, 1),
     "source": NO_FIGURE, "weak": True},
]

WARNING_LEVELS: list[tuple[Decimal, str, bool]] = [
    (Decimal("0.50"), "一级预警", False),
    (Decimal("0.80"), "二级预警", True),
    (Decimal("1.00"), "超时", True),
]


def catalogue_seed(*, type_model: Any, policy_model: Any, level_model: Any,
                   only: Collection[str] | None = None) -> dict[str, int]:
    """Insert missing types, policies and warning levels. Takes model classes so a migration can pass
    its historical models. ``only``: just these type codes and their policies (a later migration adds
    its new types without bringing back defaults an administrator removed)."""
    added = {"types": 0, "policies": 0, "levels": 0}
    by_code = {t.code: t for t in type_model.objects.all()}
    for code, parent, name, name_en, utility, field_work, callback, sort in TYPES:
        if code in by_code or (only is not None and code not in only):
            continue
        by_code[code] = type_model.objects.create(
            code=code, parent=by_code.get(parent) if parent else None, name=name, name_en=name_en,
            utility=utility, field_work=field_work, callback_required=callback, sort=sort,
        )
        added["types"] += 1
    for row in POLICIES:
        if only is not None and row["type"] not in only:
            continue
        key = {
            "order_type": by_code[row["type"]], "clock": row["clock"], "basis": row.get("basis", "public"),
            "utility": row.get("utility", ""), "region_class": row.get("region_class", ""),
            "importance": row.get("importance", ""), "channel": row.get("channel", ""),
            "effective_from": row["from"],
        }
        if policy_model.objects.filter(**key).exists():
            continue
        policy_model.objects.create(
            **key, amount=row["amount"], unit=row["unit"],
            starts_on=row.get("starts_on", "replied" if row["clock"] == "callback" else "accepted"),
            source=row["source"], weak_source=row.get("weak", False),
        )
        added["policies"] += 1
    for fraction, name, notify in WARNING_LEVELS if only is None else ():
        _obj, created = level_model.objects.get_or_create(
            fraction=fraction, defaults={"name": name, "notify_shift_leader": notify}
        )
        added["levels"] += int(created)
    return added
