"""The words of the demo's appeals: summaries, addresses, reasons and notes from Chinese phrase tables,
with a few tricky strings (markup, ampersands, quotes) because citizen text is untrusted."""

from __future__ import annotations

from data_access.demo.draws import Rng
from data_access.demo.places import Places

WHO = ("市民", "来电人", "居民", "网友", "张女士", "李先生", "王女士", "刘先生", "陈女士", "赵先生")
SINCE = ("已持续一周", "已有三四天", "多次反映未果", "从今天早上开始", "已经半个多月", "昨晚开始", "两天了")
ASK = ("希望尽快处理", "要求相关部门核实处理", "请尽快派人查看", "希望给予答复", "请督促解决", "希望彻底解决")
ROADS = ("建设路", "光明街", "和平里大街", "育新路", "安定路", "朝阳北路", "东四环中路", "学院路", "西山大道")
#: Appended to a few summaries: what the screens and exports must show as text, never run.
TRICKY = (
    '（原话："<b>再不管我就去上访</b>"）',
    "，A&B两座楼都这样",
    "，温度<10℃，孩子冻得>_<",
    "，物业说'不归我们管' & 让找街道",
    '<script>alert("12345")</script>',
    '，楼号写的是"3#"',
)
RETURN_REASONS = ("非本单位职权范围", "地址不在本辖区", "应由产权单位处理", "派单分类有误")
EXTEND_REASONS = ("需协调多部门联合处置", "涉及施工审批，需延长办理时限", "等待维修物资到位", "需等待供暖季结束后施工")
NOTES = (
    "已联系来电人，现场处置完毕",
    "已督促物业整改到位",
    "已向来电人解释相关政策",
    "已安排专人维修",
    "已协调相关部门联合处置",
    "已约谈相关责任单位",
)
REOPEN_REASONS = ("回访不满意，重新办理", "来电人反映问题未解决", "督办要求重新处置")


def address(r: Rng, p: Places, ci: int) -> str:
    """A street address near community ci: a building and entrance, 'near', or a crossing of two roads."""
    u = r.random()
    if u < 0.6:
        return f"{p.place[ci]}{p.name[ci]}{r.randint(1, 30)}号楼{r.randint(1, 6)}单元"
    if u < 0.85:
        return f"{p.place[ci]}{p.name[ci]}附近"
    a, b = r.sample(ROADS, 2)
    return f"{p.place[ci]}{a}与{b}交叉口"


def summary(r: Rng, where: str, kind: str, problem: str) -> str:
    """What the caller said, in one or two sentences, about `problem` at community `where`."""
    who = r.pick(WHO)
    if kind == "praise":
        text = f"{who}来电表扬社区工作人员，此前反映的“{problem}”问题已及时解决。"
    elif kind == "consult" or problem.startswith("咨询"):
        text = f"{who}{problem}。" if problem.startswith("咨询") else f"{who}咨询：{where}{problem}，该找哪里解决。"
    elif r.random() < 0.5:
        text = f"{who}反映：{where}{r.randint(1, 30)}号楼{problem}，{r.pick(SINCE)}，{r.pick(ASK)}。"
    else:
        text = f"来电人称{where}附近{problem}，{r.pick(ASK)}。"
    if r.random() < 0.03:  # citizen text is untrusted: markup, ampersands and quotes do occur
        text = text[:-1] + r.pick(TRICKY) + "。"
    return text
