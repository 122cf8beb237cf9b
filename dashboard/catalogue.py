"""The three-level category catalogue of 12345 appeals used by the demo feed: pure data.

Each leaf carries a relative weight, the citizen's problem in a few words (summaries are
built from it), and who usually handles it: the street where it happened, or a department
or company found among the city's units by name keywords. Each top-level class carries a
default priority mix and a month-by-month seasonal factor.
"""

from __future__ import annotations

from typing import NamedTuple

#: Priority shares in the order of `dashboard.settings.PRIORITIES` (emergency, urgent, normal, routine).
DEFAULT_MIX = (0.01, 0.10, 0.70, 0.19)
_UTILITY_MIX = (0.03, 0.22, 0.62, 0.13)
_GAS_MIX = (0.08, 0.25, 0.57, 0.10)
_SOFT_MIX = (0.002, 0.05, 0.70, 0.248)

#: Month factors, January first.
FLAT = (1.0,) * 12
HEATING = (2.6, 2.0, 1.3, 0.25, 0.08, 0.05, 0.05, 0.05, 0.1, 0.6, 2.6, 3.2)  # season 15 Nov – 15 Mar
SUMMER = (0.7, 0.7, 0.8, 0.9, 1.1, 1.4, 1.6, 1.5, 1.1, 0.9, 0.8, 0.8)
WINTER = (1.4, 1.3, 1.1, 0.9, 0.8, 0.8, 0.8, 0.8, 0.9, 1.0, 1.2, 1.4)
SCHOOL = (0.8, 1.0, 1.1, 1.0, 1.0, 1.3, 0.8, 1.3, 1.5, 1.0, 0.9, 0.8)
FARMING = (0.6, 0.6, 1.0, 1.3, 1.3, 1.2, 1.1, 1.1, 1.2, 1.1, 0.8, 0.6)


class Leaf(NamedTuple):
    """A third-level category: weight, the problem in words, handler kind and unit-name keywords."""

    weight: float
    problem: str
    kind: str = "street"  # street | department | company
    hints: tuple[str, ...] = ()  # keywords of the department/company name (also the fallback after a return)


class TopClass(NamedTuple):
    """A top-level class: priority mix, seasonal factors and the department a street may return it to."""

    mix: tuple[float, float, float, float]
    season: tuple[float, ...]
    hints: tuple[str, ...]


_CG = ("城市管理委", "城管执法")
_ZJ = ("住房城乡建设", "住建")
_JT = ("交通委", "交通")
_JG = ("公安交通管理", "交管")
_SJ = ("市场监管", "市场监督")
_RS = ("人力资源社会保障", "人力社保")
_YB = ("医保",)
_RL = ("热力",)
_ZLS = ("自来水",)
_PS = ("排水",)
_DL = ("电力", "供电")
_RQ = ("燃气",)
_ST = ("生态环境", "环保")
_GA = ("公安局",)
_JW = ("教委", "教育")
_WJ = ("卫生健康", "卫健")
_NY = ("农业农村",)

CLASSES: dict[str, TopClass] = {
    "城市管理": TopClass(DEFAULT_MIX, FLAT, _CG),
    "住房": TopClass(DEFAULT_MIX, FLAT, _ZJ),
    "交通管理": TopClass(DEFAULT_MIX, FLAT, _JT),
    "市场监管": TopClass(_SOFT_MIX, FLAT, _SJ),
    "劳动和社会保障": TopClass(_SOFT_MIX, (1.4, 1.5, 1.0, 0.9, 0.9, 1.0, 1.0, 1.0, 0.9, 0.9, 1.0, 1.5), _RS),
    "供暖": TopClass(_UTILITY_MIX, HEATING, _RL),
    "供水": TopClass(_UTILITY_MIX, SUMMER, _ZLS),
    "供电": TopClass(_UTILITY_MIX, SUMMER, _DL),
    "燃气": TopClass(_GAS_MIX, WINTER, _RQ),
    "环境保护": TopClass(DEFAULT_MIX, SUMMER, _ST),
    "社会秩序": TopClass((0.03, 0.14, 0.66, 0.17), FLAT, _GA),
    "教育": TopClass(_SOFT_MIX, SCHOOL, _JW),
    "卫生健康": TopClass(DEFAULT_MIX, WINTER, _WJ),
    "农村管理": TopClass(_SOFT_MIX, FARMING, _NY),
}

CATALOGUE: dict[str, dict[str, dict[str, Leaf]]] = {
    "城市管理": {
        "市容环境": {
            "垃圾清运": Leaf(18, "垃圾堆放多日无人清运，异味很大"),
            "占道经营": Leaf(12, "有商贩长期占道经营，影响通行"),
            "违规广告": Leaf(4, "墙面和电线杆上小广告贴得到处都是"),
            "道路保洁": Leaf(6, "路面脏乱，长时间无人清扫"),
        },
        "违法建设": {
            "私搭乱建": Leaf(10, "有人在楼下私搭乱建，占用公共空间"),
            "违规装修": Leaf(6, "邻居装修拆改承重墙"),
        },
        "噪声扰民": {
            "施工噪声": Leaf(12, "工地夜间施工噪声扰民，无法休息"),
            "商业噪声": Leaf(6, "底商音响声音太大，扰民严重"),
            "广场舞噪声": Leaf(4, "广场舞音响声音过大"),
        },
        "市政设施": {
            "路灯不亮": Leaf(2.4, "路灯不亮，夜间出行不安全", "department", _CG),
            "井盖缺失": Leaf(1.2, "井盖破损缺失，存在安全隐患", "department", _CG),
            "道路破损": Leaf(2.4, "道路坑洼破损，车辆行人通行困难", "department", _CG),
        },
    },
    "住房": {
        "物业管理": {
            "物业服务": Leaf(18, "物业服务不到位，多次反映无人处理"),
            "电梯故障": Leaf(8, "电梯经常故障停运，老人上下楼困难"),
            "停车管理": Leaf(8, "小区停车收费不合理，车位乱停乱放"),
            "公共维修": Leaf(6, "楼道漏水、单元门损坏一直不修"),
        },
        "房屋安全": {
            "房屋漏雨": Leaf(5, "顶层房屋漏雨，墙皮脱落"),
            "老旧小区改造": Leaf(2.4, "老旧小区改造施工进度慢，影响出行", "department", _ZJ),
        },
        "房屋租赁": {
            "押金纠纷": Leaf(2.4, "中介拒不退还租房押金", "department", _ZJ),
            "群租房": Leaf(4, "楼内有群租房，人员混杂存在隐患"),
        },
        "房屋买卖": {
            "网签备案": Leaf(1.2, "新房网签备案迟迟办不下来", "department", _ZJ),
            "产权证办理": Leaf(1.6, "购房多年仍未办理不动产权证", "department", _ZJ),
        },
    },
    "交通管理": {
        "违章停车": {
            "占用消防通道": Leaf(8, "车辆长期占用消防通道"),
            "路边乱停车": Leaf(10, "路边乱停车，堵塞道路"),
        },
        "公共交通": {
            "公交服务": Leaf(2.4, "公交车长时间不来，司机服务态度差", "company", ("公交",)),
            "地铁服务": Leaf(1.6, "地铁站出入口拥挤，安检排队时间长", "company", ("地铁",)),
        },
        "道路交通": {
            "信号灯故障": Leaf(1.6, "路口信号灯故障，交通混乱", "department", _JG),
            "交通拥堵": Leaf(2, "早晚高峰路口拥堵严重，希望优化", "department", _JG),
            "共享单车乱停": Leaf(2.4, "共享单车堆放在人行道上", "department", _JT),
        },
        "出租网约车": {
            "拒载绕路": Leaf(1.6, "出租车拒载、绕路多收费", "department", _JT),
            "网约车服务": Leaf(1.2, "网约车司机未按导航行驶，多收费用", "department", _JT),
        },
    },
    "市场监管": {
        "食品安全": {
            "过期食品": Leaf(2.4, "超市销售过期食品", "department", _SJ),
            "餐饮卫生": Leaf(2.4, "饭店后厨卫生条件差", "department", _SJ),
        },
        "消费纠纷": {
            "预付卡退费": Leaf(4, "健身房、培训机构关门，预付卡无法退费", "department", _SJ),
            "商品质量": Leaf(2.4, "购买的商品有质量问题，商家拒绝退换", "department", _SJ),
            "虚假宣传": Leaf(1.6, "商家虚假宣传、价格欺诈", "department", _SJ),
        },
        "价格监管": {
            "乱收费": Leaf(1.6, "停车场、商户明码标价不实，乱收费", "department", _SJ),
            "哄抬价格": Leaf(0.8, "商户哄抬物价", "department", _SJ),
        },
    },
    "劳动和社会保障": {
        "劳动关系": {
            "拖欠工资": Leaf(4.8, "公司拖欠工资数月不发", "department", _RS),
            "劳动合同": Leaf(2, "单位不签劳动合同、违法解除合同", "department", _RS),
        },
        "社会保险": {
            "社保缴纳": Leaf(2.4, "单位未依法缴纳社会保险", "department", _RS),
            "养老金": Leaf(1.6, "咨询养老金领取和调整政策", "department", _RS),
            "医保报销": Leaf(2, "医保报销手续繁琐、报销比例有疑问", "department", _YB),
        },
        "就业服务": {
            "失业登记": Leaf(1.2, "咨询失业登记和失业金申领", "department", _RS),
            "职业培训": Leaf(0.8, "咨询职业技能培训补贴", "department", _RS),
        },
    },
    "供暖": {
        "供热质量": {
            "室温不达标": Leaf(3.8, "家中暖气不热，室温不达标", "company", _RL),
            "暖气不热": Leaf(2.9, "暖气片上热下凉，整栋楼都不热", "company", _RL),
        },
        "供热设施": {
            "暖气漏水": Leaf(1.4, "暖气管道漏水，淹了楼下", "company", _RL),
            "管线维修": Leaf(1, "供热管线抢修后一直没有恢复", "company", _RL),
        },
        "供热收费": {
            "采暖费": Leaf(1, "对采暖费收费标准有异议", "company", _RL),
            "停供申请": Leaf(0.5, "咨询申请停止供暖的手续", "company", _RL),
        },
    },
    "供水": {
        "供水服务": {
            "停水": Leaf(3.2, "突然停水，没有提前通知", "company", _ZLS),
            "水压低": Leaf(2, "高层水压低，用水困难", "company", _ZLS),
            "水质问题": Leaf(1.6, "自来水发黄有异味", "company", _ZLS),
        },
        "排水设施": {
            "下水道堵塞": Leaf(2.4, "下水道堵塞返水", "company", _PS),
            "雨后积水": Leaf(1.6, "雨后路面积水严重", "company", _PS),
        },
    },
    "供电": {
        "供电服务": {
            "停电": Leaf(3.2, "家中突然停电，不知何时恢复", "company", _DL),
            "电压不稳": Leaf(1.2, "电压不稳，电器经常跳闸", "company", _DL),
        },
        "电力设施": {
            "线路老化": Leaf(1.6, "楼道电线老化，存在火灾隐患", "company", _DL),
            "充电桩安装": Leaf(1.6, "小区充电桩报装迟迟不能安装", "company", _DL),
        },
    },
    "燃气": {
        "燃气安全": {
            "燃气泄漏": Leaf(1.6, "闻到楼道里有燃气味", "company", _RQ),
            "燃气设施老化": Leaf(1.2, "燃气管道锈蚀老化", "company", _RQ),
        },
        "燃气服务": {
            "燃气缴费": Leaf(1.6, "燃气卡充值后无法使用", "company", _RQ),
            "燃气报装": Leaf(0.8, "燃气开户报装进度慢", "company", _RQ),
        },
    },
    "环境保护": {
        "大气污染": {
            "露天烧烤": Leaf(6, "露天烧烤油烟扰民"),
            "工地扬尘": Leaf(2.4, "工地扬尘大，未覆盖苫盖", "department", _ST),
            "餐饮油烟": Leaf(6, "饭店油烟直排，影响居民生活"),
        },
        "水污染": {
            "河道污染": Leaf(1.2, "河道水体发黑发臭", "department", _ST),
            "污水排放": Leaf(1.2, "有企业偷排污水", "department", _ST),
        },
        "园林绿化": {
            "树木修剪": Leaf(5, "树枝遮挡窗户和路灯，需要修剪"),
            "绿地破坏": Leaf(1.2, "绿地被毁坏后种菜", "department", ("园林绿化",)),
        },
    },
    "社会秩序": {
        "治安管理": {
            "打架斗殴": Leaf(0.8, "有人在街上打架斗殴", "department", _GA),
            "可疑人员": Leaf(2, "楼道里有可疑人员徘徊"),
        },
        "邻里纠纷": {
            "楼上噪音": Leaf(6, "楼上邻居夜间噪音扰民"),
            "饲养宠物": Leaf(5, "邻居养狗不拴绳，狗粪无人清理"),
            "公共空间占用": Leaf(4, "邻居在楼道堆放杂物"),
        },
        "安全隐患": {
            "电动车充电": Leaf(6, "居民私拉电线给电动车充电"),
            "消防设施": Leaf(3, "小区消防栓没水、灭火器过期"),
        },
    },
    "教育": {
        "入学入园": {
            "入学政策": Leaf(2, "咨询小学入学政策和学区划分", "department", _JW),
            "幼儿园学位": Leaf(1.2, "附近幼儿园学位不足", "department", _JW),
        },
        "校外培训": {
            "违规培训": Leaf(1.2, "有培训机构违规开展学科培训", "department", _JW),
            "培训退费": Leaf(1.6, "培训机构拒不退费", "department", _JW),
        },
        "校园管理": {
            "学校收费": Leaf(0.8, "学校乱收费", "department", _JW),
            "校园周边": Leaf(2, "学校门口上下学时段交通混乱"),
        },
    },
    "卫生健康": {
        "医疗服务": {
            "就医排队": Leaf(2, "医院挂号难、排队时间长", "department", _WJ),
            "医疗纠纷": Leaf(1.2, "对医院的治疗结果有异议", "department", _WJ),
            "医生态度": Leaf(1.2, "医护人员服务态度差", "department", _WJ),
        },
        "公共卫生": {
            "病媒消杀": Leaf(3, "小区老鼠蟑螂多，希望消杀"),
            "疫苗接种": Leaf(1.2, "咨询疫苗接种地点和时间", "department", _WJ),
        },
        "药品管理": {
            "药品价格": Leaf(0.8, "药店药品价格偏高", "department", ("药监",)),
            "药品短缺": Leaf(0.8, "社区医院常用药缺货", "department", _WJ),
        },
    },
    "农村管理": {
        "村务管理": {
            "村务公开": Leaf(3, "村委会村务财务不公开"),
            "宅基地": Leaf(3, "宅基地纠纷多年未解决"),
        },
        "农村环境": {
            "农村垃圾": Leaf(3, "村里垃圾堆积无人清运"),
            "农村道路": Leaf(2, "村内道路坑洼不平"),
        },
        "农业生产": {
            "土地流转": Leaf(0.8, "土地流转费用未按时支付", "department", _NY),
            "农业补贴": Leaf(0.8, "咨询耕地地力保护补贴发放", "department", _NY),
        },
    },
}


def leaves() -> list[tuple[str, str, str]]:
    """Every (top, second, third) category path, in catalogue order."""
    return [
        (top, sec, third) for top, seconds in CATALOGUE.items() for sec, thirds in seconds.items() for third in thirds
    ]


def leaf(path: tuple[str, str, str]) -> Leaf:
    """The Leaf of a (top, second, third) path."""
    return CATALOGUE[path[0]][path[1]][path[2]]


def seasonal_weight(path: tuple[str, str, str], month: int) -> float:
    """A leaf's relative weight in a month (1–12): its weight times its class's seasonal factor."""
    return leaf(path).weight * CLASSES[path[0]].season[month - 1]
