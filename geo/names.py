"""Plausible Chinese names for the demo city: places, people, departments and companies."""

from __future__ import annotations

import numpy as np

_HEAD = list(
    "安和永长新东西南北朝德广宣建光华龙金宝明天清景春兴文双青云花翠枣柳杨松桃石马高古白黄红"
    "大上前后中万太福丰泰康宁隆盛茂祥瑞泉月星海"
)
_TAIL = list("华平安定门桥园里苑庄营店屯坊河湖山台口寺城林泉湾坡峪沟岭峰坨场甸塘窑")

SURNAMES = list(
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
)
_GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏建国文辉力斌宇浩凯"
    "子涵梓轩欣怡雨晨思远佳琪博文俊峰晓东春梅志海燕丹淑珍宏亮立新永健"
)

DEPARTMENTS = (
    "市城市管理委",
    "市住房城乡建设委",
    "市交通委",
    "市水务局",
    "市生态环境局",
    "市市场监管局",
    "市公安局公安交通管理局",
    "市规划自然资源委",
    "市发展改革委",
    "市教委",
    "市科委、中关村管委会",
    "市经济和信息化局",
    "市民族宗教委",
    "市公安局",
    "市民政局",
    "市司法局",
    "市财政局",
    "市人力资源社会保障局",
    "市农业农村局",
    "市商务局",
    "市文化和旅游局",
    "市卫生健康委",
    "市退役军人局",
    "市应急局",
    "市国资委",
    "市审计局",
    "市政务服务和数据管理局",
    "市体育局",
    "市统计局",
    "市园林绿化局",
    "市医保局",
    "市国防动员办",
    "市广电局",
    "市文物局",
    "市药监局",
    "市知识产权局",
    "市城管执法局",
    "市消防救援总队",
    "国家税务总局北京市税务局",
    "市信访办",
    "市金融监管局",
    "市粮食和储备局",
    "市监狱管理局",
    "市疾控局",
    "市中医局",
    "市档案局",
    "北京住房公积金管理中心",
    "市重大项目办",
    "市投资促进服务中心",
    "市残联",
    "市妇联",
    "团市委",
    "市总工会",
    "市红十字会",
    "市侨联",
    "市科协",
    "市气象局",
    "市地震局",
    "市通信管理局",
    "市邮政管理局",
    "北京海关",
    "市烟草专卖局",
    "市委网信办",
    "市委社会工委",
    "北京经济技术开发区管委会",
)

COMPANIES = (
    "北京市自来水集团",
    "北京燃气集团",
    "国网北京市电力公司",
    "北京热力集团",
    "北京公交集团",
    "北京地铁运营公司",
    "京港地铁",
    "北京城市排水集团",
    "北京环卫集团",
    "首都机场集团",
    "北京大兴国际机场",
    "中国移动北京公司",
    "中国联通北京分公司",
    "中国电信北京分公司",
    "歌华有线",
    "中国邮政集团北京市分公司",
    "中国铁路北京局集团",
    "首发集团",
    "北京市政路桥集团",
    "北京城建集团",
    "北京建工集团",
    "北京住总集团",
    "北京京能集团",
    "首钢集团",
    "首创生态环保集团",
    "北控集团",
    "北京市公联公路联络线公司",
    "北京速通科技公司",
    "北京保障房中心",
    "北京京投公司",
    "首旅集团",
    "北京一轻控股",
    "北京新发地农产品批发市场",
    "中国石化北京石油分公司",
    "中国石油北京销售分公司",
    "北京城市副中心投资建设集团",
    "北京银行",
    "北京农商银行",
    "工商银行北京分行",
    "建设银行北京分行",
    "首农食品集团",
    "北京二商集团",
    "美团北京公司",
    "哈啰出行北京公司",
    "滴滴出行北京公司",
    "顺丰速运北京公司",
    "京东物流北京公司",
    "北辰实业集团",
    "北京祥龙出租客运公司",
)


def place_names(rng: np.random.Generator, n: int, taken: set[str] | None = None) -> list[str]:
    """n distinct two-character place stems (not in `taken`), drawn at random."""
    taken = set() if taken is None else set(taken)
    pool = [h + t for h in _HEAD for t in _TAIL if h != t and h + t not in taken]
    if n > len(pool):
        raise ValueError(f"cannot draw {n} distinct names from {len(pool)}")
    picks = rng.choice(len(pool), size=n, replace=False)
    return [pool[i] for i in picks]


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """n Chinese personal names (surname + one or two given characters); repeats are possible, as in life."""
    s = rng.integers(0, len(SURNAMES), n)
    g1 = rng.integers(0, len(_GIVEN), n)
    g2 = rng.integers(0, len(_GIVEN), n)
    two = rng.random(n) < 0.7
    return [SURNAMES[a] + _GIVEN[b] + (_GIVEN[c] if t else "") for a, b, c, t in zip(s, g1, g2, two)]
