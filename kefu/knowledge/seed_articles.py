"""Starting articles for the knowledge base (placeholder set; replaced by the full seed)."""

from __future__ import annotations

from typing import Any

ARTICLES: list[dict[str, Any]] = [
    {
        "number": "KBS001",
        "category": "tariff-power",
        "utility": "power",
        "title": "居民阶梯电价怎么计算",
        "summary": "居民生活用电实行年度阶梯电价，按年累计用电量分三档计价。",
        "tags": ["电价", "阶梯", "居民"],
        "source": "浙江省发展改革委居民阶梯电价政策",
        "body": "居民阶梯电价按年度累计用电量分档：第一档2760千瓦时以内，第二档2761至4800千瓦时，第三档4800千瓦时以上。峰谷分时电价可与阶梯电价同时执行。",
    },
    {
        "number": "KBS002",
        "category": "procedure-repair",
        "utility": "power",
        "title": "停电故障报修的到达现场时限",
        "summary": "城区45分钟、农村90分钟、特殊边远地区120分钟到达现场。",
        "tags": ["停电", "报修", "抢修"],
        "source": "国家电网公司供电服务十项承诺",
        "body": "客户报修停电故障后，抢修人员到达现场的时限：城区范围45分钟，农村地区90分钟，特殊边远地区120分钟。",
    },
]
