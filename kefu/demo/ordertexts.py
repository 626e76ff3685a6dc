"""What demo work orders are about: the hotline's type mix, channels, stage delays and the words
customers, handlers and agents write. Plain data; ``kefu.demo.orders`` makes the choices."""

from __future__ import annotations

from kefu.core.choices import RegionClass, UtilityKind

# Type code -> share of the utility's orders (rough 95598 / 96777 figures: repairs and enquiries
# make up three quarters of the calls; complaints and business applications are a few per cent).
TYPE_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {
    UtilityKind.POWER: (
        ("repair", 40.0), ("enquiry", 30.0), ("service_reconnect", 3.0), ("service_appliance", 0.7),
        ("service_meter", 1.5), ("service_reading", 1.5), ("service_meter_test", 0.3), ("service_other", 1.0),
        ("complaint_service", 0.8), ("complaint_business", 0.8), ("complaint_outage", 0.6),
        ("complaint_quality", 0.5), ("complaint_construction", 0.3), ("report", 0.4), ("opinion", 1.5),
        ("suggestion", 1.0), ("praise", 1.5), ("business_new", 1.5), ("business_capacity", 0.5),
        ("business_transfer", 1.0), ("business_usage", 0.5), ("business_suspend", 0.5), ("business_close", 1.0),
    ),
    UtilityKind.GAS: (
        ("gas_repair", 28.0), ("enquiry", 30.0), ("gas_leak", 3.0), ("gas_ignition", 8.0), ("gas_install", 4.0),
        ("gas_suspend", 2.0), ("gas_close", 2.0), ("gas_transfer", 3.0), ("gas_meter", 8.0),
        ("complaint_service", 1.5), ("complaint_business", 1.5), ("report", 0.4), ("opinion", 1.5),
        ("suggestion", 1.0), ("praise", 1.5),
    ),
}

# How an order of each type moves: "desk" is answered by the agent on the call, "field" needs a
# visit soon, "office" is worked by the unit without a visit, "project" is a visit days later.
GROUP: dict[str, str] = {
    "enquiry": "desk", "praise": "desk", "opinion": "desk", "suggestion": "desk",
    "repair": "field", "gas_repair": "field", "gas_leak": "field", "gas_meter": "field",
    "service_reconnect": "field", "service_appliance": "field", "service_meter": "field",
    "service_meter_test": "field", "gas_ignition": "field",
    "complaint_service": "office", "complaint_business": "office", "complaint_outage": "office",
    "complaint_quality": "office", "complaint_construction": "office", "report": "office",
    "service_reading": "office", "service_other": "office", "business_transfer": "office",
    "business_usage": "office", "gas_transfer": "office",
    "business_new": "project", "business_capacity": "project", "business_suspend": "project",
    "business_close": "project", "gas_install": "project", "gas_suspend": "project", "gas_close": "project",
}
# Where the order goes when dispatched: the county's repair team, the station, or the county itself.
HANDLER_LEVEL: dict[str, tuple[tuple[str, float], ...]] = {
    "repair": (("team", 70.0), ("station", 30.0)),
    "gas_repair": (("team", 80.0), ("station", 20.0)),
    "gas_leak": (("team", 100.0),),
    "desk": (("station", 70.0), ("county", 30.0)),
    "field": (("station", 100.0),),
    "office": (("station", 50.0), ("county", 50.0)),
    "complaint": (("county", 100.0),),
    "project": (("station", 50.0), ("county", 50.0)),
}
# Mean days an order of the group usually stays open (the chance to be open decays with age), and
# the share of orders of any type that get stuck for months (waiting for a callback, a part, a permit).
OPEN_DAYS: dict[str, float] = {"desk": 0.6, "field": 2.0, "office": 12.0, "project": 24.0}
STUCK_SHARE = 0.06
STUCK_DAYS = 180
# Enquiries and the like answered on the call; the rest are dispatched.
ON_CALL_SHARE = 0.85

CHANNEL_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("phone", 68.0), ("ivr", 2.0), ("website", 2.5), ("app", 11.0), ("wechat", 7.0), ("sms", 0.8),
    ("email", 0.2), ("fax", 0.1), ("counter", 4.0), ("12345", 4.0), ("12398", 0.4),
)
# Complaints and reports arrive more often through the government and regulator hotlines.
COMPLAINT_CHANNEL_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("phone", 60.0), ("app", 6.0), ("wechat", 4.0), ("counter", 3.0), ("12345", 22.0), ("12398", 5.0),
)
NO_ACCOUNT_SHARE = 0.12  # callers who are not (or cannot name) a customer

# Stage delays in minutes (low, high), drawn log-uniformly: the wait after the previous stage.
DELAYS: dict[str, dict[str, tuple[float, float]]] = {
    "desk": {"handle": (2, 10), "reply": (0.2, 2), "callback": (1440, 4320), "archive": (1, 240),
             "dispatch": (2, 30), "acknowledge": (10, 240), "contact": (30, 600)},
    "field": {"dispatch": (1, 8), "acknowledge": (2, 15), "contact": (3, 20), "arrive": (15, 70),
              "handle": (20, 240), "reply": (10, 180), "callback": (60, 2880), "archive": (1, 120)},
    "office": {"dispatch": (5, 120), "acknowledge": (10, 300), "contact": (60, 1400), "handle": (1440, 7200),
               "reply": (60, 2880), "callback": (1440, 4320), "archive": (10, 600)},
    "project": {"dispatch": (10, 240), "acknowledge": (30, 600), "contact": (60, 1440), "arrive": (1440, 7200),
                "handle": (1440, 10080), "reply": (60, 1440), "callback": (1440, 4320), "archive": (10, 600)},
}
# Arrival on site of field work, by region class (the promise is 45 / 90 / 120 minutes).
ARRIVAL_DELAYS: dict[str, tuple[float, float]] = {
    RegionClass.URBAN: (12, 50), RegionClass.RURAL: (25, 100), RegionClass.REMOTE: (35, 130),
}
GAS_LEAK_ARRIVAL = (10, 65)

SATISFACTION_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("satisfied", 90.0), ("basic", 5.5), ("unsatisfied", 1.5), ("unreachable", 3.0),
)
CANCEL_REASON_WEIGHTS: tuple[tuple[str, float], ...] = (("duplicate", 60.0), ("mistaken", 15.0), ("withdrawn", 25.0))

# What the caller said, per type (one line is picked; the address or account is on the order).
CONTENT: dict[str, tuple[str, ...]] = {
    "repair": ("家中突然停电，邻居家也没电，请尽快派人处理。", "家里跳闸后合不上，总开关一合就跳。",
               "小区整栋楼停电，电梯停运，有老人被困楼上。", "路边电线杆上的线断落在地上，有火花，很危险。",
               "家中电压不稳，灯一直闪，电器无法正常使用。", "电表箱冒烟并有焦糊味，已经不敢靠近。",
               "店里只有一半插座有电，怀疑缺相。", "村里变压器响声很大，随后全村停电。",
               "空调一开就停电，电表显示正常。", "楼道表箱进水，我家停电了。"),
    "enquiry": ("咨询电费余额和本月电费。", "咨询阶梯电价怎么计算。", "咨询明天是否有计划停电。",
                "咨询峰谷电价办理条件。", "咨询如何在网上国网绑定户号。", "咨询电费发票怎么开具。",
                "咨询燃气费账单为什么比上月高。", "咨询停电后多久能恢复供电。", "咨询过户需要带哪些材料。",
                "咨询居民光伏并网怎么申请。", "咨询自动扣费怎么办理。"),
    "praise": ("抢修师傅冒雨来修，半小时就恢复了供电，特此表扬。", "客服代表耐心解答，非常满意。"),
    "opinion": ("停电通知太晚，希望提前三天通知。", "营业厅排队时间太长。"),
    "suggestion": ("建议在网上国网增加电费分析功能。", "建议小区增设充电桩。"),
    "service_reconnect": ("已经交清欠费，请尽快恢复供电。", "缴费后仍未复电，家里有老人。"),
    "service_appliance": ("昨晚停电后来电，冰箱和电视烧坏了，要求鉴定赔偿。",),
    "service_meter": ("电表走得特别快，家里没人时也在走。", "电表屏幕不显示了。", "电表一直报警闪红灯。"),
    "service_reading": ("本月电量比平时高出三倍，怀疑抄表有误。", "电费账单上的读数和电表不一致。"),
    "service_meter_test": ("申请电能表校验，怀疑计量不准。",),
    "service_other": ("申请更换电表箱锁。", "要求移动表箱位置。"),
    "complaint_service": ("抢修人员态度恶劣，不解释停电原因。", "客服电话等了很久没人接。",
                          "工作人员上门不出示证件。"),
    "complaint_business": ("申请增容两周了一直没人联系。", "营业厅多收了费用不给说明。"),
    "complaint_outage": ("一周内停电三次，没有任何通知。", "计划停电超过公告时间还没送电。"),
    "complaint_quality": ("电压长期偏低，空调无法启动。", "晚上电压低，灯很暗。"),
    "complaint_construction": ("施工后路面没有恢复，影响出行。", "新立电杆挡住了出入口。"),
    "report": ("举报有人私拉电线窃电。", "举报抄表员收取好处费。"),
    "business_new": ("新建住宅申请新装用电。", "商铺申请新装三相电。"),
    "business_capacity": ("工厂申请增容到 400 千伏安。", "申请减容，暂停一台变压器。"),
    "business_transfer": ("房屋买卖后申请过户。",),
    "business_usage": ("商铺改为居住，申请改类。",),
    "business_suspend": ("厂房停产，申请暂停用电三个月。",),
    "business_close": ("房屋拆迁，申请销户。",),
    "gas_repair": ("燃气灶打不着火，表有气。", "热水器点不着，怀疑气压不足。", "户内阀门拧不动。"),
    "gas_leak": ("厨房有很浓的燃气味，已开窗关阀。", "楼道里闻到燃气味。", "小区路边燃气管道有漏气声。"),
    "gas_ignition": ("新房已装表，申请点火通气。", "空房恢复使用，申请通气。"),
    "gas_install": ("老房子申请安装管道燃气。", "餐馆申请安装商业燃气。"),
    "gas_suspend": ("长期出差，申请燃气报停。",),
    "gas_close": ("房屋出售，申请燃气销户。",),
    "gas_transfer": ("买了二手房，申请燃气过户。",),
    "gas_meter": ("燃气表不走字。", "燃气表电池没电，显示关阀。", "IC 卡插卡没有反应。"),
}
RESULT: dict[str, tuple[str, ...]] = {
    "desk": ("已向客户解答，客户表示清楚。", "已告知客户办理渠道和所需材料。", "已查询并告知客户。"),
    "field": ("现场检查为户内开关故障，已更换，恢复供电。", "低压线路接头烧断，已处理，恢复正常。",
              "表前开关老化，已更换。", "现场处理完毕，设备运行正常。", "已更换故障表计，读数已拍照留存。"),
    "office": ("已联系客户核实情况并说明原因，客户认可处理意见。", "经核查情况属实，已整改并向客户致歉。",
               "经核查抄表无误，已向客户解释用电构成。"),
    "project": ("已完成现场勘查和装表接电。", "已办结，资料归档。", "已现场确认并完成业务变更。"),
}
REPLY: dict[str, tuple[str, ...]] = {
    "desk": ("已答复客户。",),
    "field": ("已回复客户：故障已处理，供电恢复。", "已告知客户处理结果。"),
    "office": ("已向客户答复核查结果。", "已书面答复客户。"),
    "project": ("已告知客户业务办结。",),
}
RETURN_REASONS = ("户号与地址不符，请核实后重新派发。", "不属于本单位管辖范围。", "客户信息不全，无法联系。")
SUSPEND_REASONS = ("等待备品备件到货。", "客户要求改约上门时间。", "需办理道路开挖许可。")
URGE_REASONS = ("客户再次来电催办。", "客户反映等待时间过长，要求尽快处理。")
SUPERVISE_REASONS = ("重复来电，值班长督办。", "涉及重要客户，要求限时办结。", "媒体关注，督办处理。")
NO_ACCOUNT_NAMES = ("王先生", "李女士", "张师傅", "刘先生", "陈女士", "路人", "周先生", "物业工作人员")
