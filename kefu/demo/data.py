"""Word lists for demo data: names, company names, addresses, phone prefixes.

Compact lists and weighted picks instead of Faker: a million customers must take minutes, and the
lists keep the data believable for a Zhejiang power company and a Hangzhou gas group.
"""

from __future__ import annotations

# Common surnames with rough weights (per mille of the population, rounded; 王李张刘陈 dominate).
SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 72), ("李", 72), ("张", 68), ("刘", 53), ("陈", 45), ("杨", 31), ("黄", 22), ("赵", 20),
    ("吴", 20), ("周", 19), ("徐", 17), ("孙", 15), ("马", 15), ("朱", 14), ("胡", 13), ("郭", 12),
    ("何", 12), ("高", 11), ("林", 11), ("罗", 10), ("郑", 10), ("梁", 9), ("谢", 8), ("宋", 8),
    ("唐", 8), ("许", 7), ("韩", 7), ("冯", 7), ("邓", 7), ("曹", 6), ("彭", 6), ("曾", 6),
    ("肖", 6), ("田", 6), ("董", 5), ("袁", 5), ("潘", 5), ("于", 5), ("蒋", 5), ("蔡", 5),
    ("余", 5), ("杜", 4), ("叶", 4), ("程", 4), ("苏", 4), ("魏", 4), ("吕", 4), ("丁", 4),
    ("任", 4), ("沈", 4), ("姚", 4), ("卢", 4), ("姜", 3), ("崔", 3), ("钟", 3), ("谭", 3),
    ("陆", 3), ("汪", 3), ("范", 3), ("金", 3), ("石", 3), ("廖", 3), ("贾", 3), ("夏", 3),
    ("韦", 3), ("方", 3), ("白", 2), ("邹", 2), ("孟", 2), ("熊", 2), ("秦", 2), ("邱", 2),
    ("江", 2), ("尹", 2), ("薛", 2), ("段", 2), ("雷", 2), ("侯", 2), ("史", 2), ("陶", 2),
    ("贺", 2), ("顾", 2), ("毛", 2), ("郝", 2), ("龚", 2), ("邵", 2), ("钱", 2), ("严", 2),
    ("戴", 2), ("孔", 1), ("汤", 1), ("俞", 2), ("应", 1), ("楼", 1), ("裘", 1), ("童", 1),
    ("章", 2), ("鲍", 1), ("屠", 1), ("欧阳", 1), ("诸葛", 1), ("司马", 1),
)

MALE_GIVEN = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳建国峰东海亮成志兵文锋晨博睿泽"
    "轩然航佑鸣豪毅诚德荣福祥康永庆春光卫忠新民立江彬杭嘉逸"
)
FEMALE_GIVEN = (
    "芳娜敏静秀英丽艳娟霞燕玲桂兰萍红梅琳婷雪慧颖倩洁佳怡欣悦晶蕾薇琪璐瑶雯思涵梦诗雨萱可馨"
    "若曦月婉璐彤露莉琴凤云珍美丹"
)
# Given names of one character are common among people born before about 1990.
SINGLE_GIVEN_SHARE = 0.3

# Company names: 字号 (trade name), 行业 (trade) and legal form.
TRADE_NAMES = (
    "鑫达", "恒昌", "华盛", "永泰", "宏远", "金鹏", "瑞丰", "天成", "嘉禾", "博远", "正泰", "新亚",
    "海天", "中恒", "万润", "信达", "开元", "东方", "汇通", "联创", "盛世", "明辉", "宝龙", "康利",
    "富春", "钱江", "之江", "西子", "甬江", "三和", "九州", "同力", "顺发", "立信", "兴业", "凯越",
)
INDUSTRIES = (
    "机械制造", "电子科技", "纺织", "食品", "建材", "化工", "塑料制品", "五金", "服装", "印染",
    "包装材料", "汽车配件", "家具", "医疗器械", "新材料", "光电科技", "精密铸造", "模具",
)
SHOP_TRADES = (
    "餐饮管理", "酒店管理", "物业管理", "商贸", "超市", "健身服务", "文化传媒", "洗涤服务", "烘焙",
)
LEGAL_FORMS = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司")
GAS_SHOPS = ("餐厅", "面馆", "酒家", "大酒店", "小吃店", "食堂", "火锅店", "茶餐厅", "烘焙坊")
INSTITUTIONS = (
    "{district}人民医院", "{district}中医院", "{district}第{cn}小学", "{district}第{cn}中学",
    "{district}{street}社区卫生服务中心", "{district}{street}中心小学", "{city}第{cn}自来水厂",
    "{district}实验幼儿园", "{district}图书馆", "{city}公交集团{street}停保场",
)
KEY_IMPORTANT = (
    "{city}第{cn}人民医院", "{city}市自来水集团{street}水厂", "{city}地铁集团{street}主变电所",
    "{district}人民政府", "{city}广播电视台", "{city}{street}污水处理厂", "{city}急救中心",
)
KEY_LARGE = ("浙江{trade}集团有限公司", "{city}{trade}钢铁有限公司", "{city}{trade}化纤有限公司",
             "{city}{trade}数据中心")
KEY_FOCUS = ("{city}{trade}商业综合体", "{city}{trade}国际会展中心", "{city}{trade}体育馆")

CHINESE_DIGITS = "一二三四五六七八九"

# Residential compounds (社区 in cities) and villages (村 in the countryside).
COMMUNITY_WORDS = (
    "文鼎", "翠苑", "嘉绿", "古荡", "益乐", "德加", "竹苑", "文新", "府苑", "星洲", "金色",
    "春江", "桂花", "云栖", "绿城", "阳光", "锦绣", "景湖", "东园", "西溪", "枫华", "玉泉",
    "丰潭", "紫荆", "和睦", "湖畔", "学院", "蓝湾", "南苑", "北园",
)
VILLAGE_WORDS = (
    "上塘", "下宅", "大坞", "中埠", "新桥", "石门", "后山", "前岭", "黄泥", "杨家", "周家",
    "李家", "塘头", "溪口", "南坞", "白沙", "青山", "金塘", "湖田", "岭脚",
)
ROAD_WORDS = (
    "文一西", "文二", "天目山", "古墩", "紫金港", "学院", "教工", "莫干山", "钱江", "解放",
    "江南", "滨江", "中山", "人民", "环城东", "环城西", "府前", "工业", "兴业", "科技",
)

# Mobile prefixes the phone validator accepts as mainland mobiles (checked in the tests).
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "180", "181", "182", "183",
    "185", "186", "187", "188", "189", "191", "198", "199",
)
# First digit of 8-digit landline numbers in Hangzhou (0571) and Ningbo (0574).
LANDLINE_FIRST = "5678"

# Birthplace codes (first six digits of a resident ID) of people who moved here from elsewhere.
OTHER_REGION_CODES = (
    "341102", "362502", "413026", "420117", "430521", "510722", "522121", "320382", "370883",
    "350583", "330881", "330382", "331002", "330782",
)

# Reasons written on status events, per target status.
STATUS_REASONS: dict[str, str] = {
    "suspended": "客户申请暂停用能",
    "closed": "客户申请销户",
    "awaiting_ignition": "表具安装完成，待点火",
    "gas_on": "入户点火通气",
    "vacant": "房屋空置，申请空房",
    "sealed": "欠费封停",
    "removed": "客户申请拆表",
}
