"""Every string the screens show, Chinese (default) and English; pick with ?lang=en."""

from __future__ import annotations

LANGS = ("zh", "en")

_STRINGS: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "title": ("12345 接诉即办指挥中心", "12345 Hotline Command Center"),
    "city_view": ("全市", "Whole city"),
    "updated": ("数据", "Data"),
    "ago_s": ("{n} 秒前", "{n} s ago"),
    "ago_m": ("{n} 分钟前", "{n} min ago"),
    "ago_h": ("{n} 小时前", "{n} h ago"),
    "no_data": ("暂无数据", "no data yet"),
    "lang_switch": ("English", "中文"),
    "tour_on": ("轮播", "Tour"),
    # Banner
    "feed_stale": (
        "数据接入已中断：{since}无新事件，以下数字不是最新",
        "Feed stopped: no event since {since}; figures below are not current",
    ),
    "feed_never": ("尚未收到任何事件，以下数字不是最新", "No event received yet; figures below are not current"),
    "redis_down": (
        "Redis 无法连接：无法接收新事件，以下数字不是最新",
        "Redis unreachable: new events cannot arrive; figures below are not current",
    ),
    "store_down": ("数据库无法访问：显示的是 {at} 的数字", "Store unreachable: showing figures from {at}"),
    "store_down_never": ("数据库无法访问", "Store unreachable"),
    "server_down": ("与服务器的连接已中断", "Connection to the server lost"),
    # Lights panel
    "lights": ("红黄绿灯预警", "Traffic-light alerts"),
    "open": ("在办", "Open"),
    "green": ("绿灯", "Green"),
    "yellow": ("黄灯", "Yellow"),
    "red": ("红灯", "Red"),
    "turning_red": ("{h} 小时内转红", "Red within {h} h"),
    "today": ("今日受理", "Today"),
    "red_uncovered": ("红灯无人", "Red, unstaffed"),
    "red_list": ("超期工单", "Overdue appeals"),
    "soon_list": ("即将超期", "Turning red soon"),
    "col_unit": ("承办单位", "Unit"),
    "col_place": ("地点", "Place"),
    "col_cat": ("类别", "Category"),
    "col_late": ("超期", "Late"),
    "col_left": ("剩余", "Left"),
    "no_member": ("网格无人", "unstaffed"),
    "none": ("无", "none"),
    "unassigned": ("未派单", "not dispatched"),
    # Members panel
    "members": ("网格员状态", "Grid members"),
    "online": ("在岗", "On duty"),
    "busy": ("忙碌", "Busy"),
    "offline": ("离线", "Offline"),
    "sos": ("求助", "SOS"),
    "coverage": ("网格在岗覆盖率", "Grids covered now"),
    "coverage_low": ("覆盖率最低街乡镇", "Lowest coverage"),
    "sos_alert": ("紧急求助！", "SOS!"),
    # Map and hotspots
    "map": ("热点地图", "Hotspot map"),
    "hotspots": ("热点社区（24 小时）", "Hotspots (24 h)"),
    "hotspot_row": ("{n} 件 · 常态 {e}", "{n} · usually {e}"),
    "no_hotspot": ("暂无异常热点", "No hotspot"),
    "community_open": ("{name}：在办 {n} 件", "{name}: {n} open"),
    "close": ("关闭", "Close"),
    "timeline": ("办理过程", "Timeline"),
    "summary": ("诉求内容", "Citizen's words"),
    # Rankings
    "rankings": ("街乡镇排名", "Street rankings"),
    "rank_month": ("{month} 月度", "{month}"),
    "col_rank": ("名次", "#"),
    "col_name": ("单位", "Unit"),
    "col_score": ("综合", "Score"),
    "col_resp": ("响应", "Resp."),
    "col_resol": ("解决", "Resol."),
    "col_sat": ("满意", "Satis."),
    "col_change": ("环比", "MoM"),
    "small_sample": ("样本不足", "too few"),
    "rank_provisional": ("暂定排名，{until}定稿", "Provisional until {until}"),
    "rank_stale": ("排名滞后：{since}以来的事件尚未计入", "Behind: events since {since} not yet counted"),
    "advanced": ("先进类", "Advanced"),
    "improving": ("进步类", "Improving"),
    "rectification": ("整改类", "Rectification"),
    "governance": ("治理类", "Governance"),
    "volume_top": ("诉求量前十", "Top 10 by volume"),
    "early_warning": ("预警", "warning"),
    "best": ("前列", "Best"),
    "worst": ("末位", "Worst"),
    # Durations
    "dur_d": ("{d} 天 {h} 时", "{d} d {h} h"),
    "dur_h": ("{h} 时 {m} 分", "{h} h {m} min"),
    "dur_m": ("{m} 分", "{m} min"),
    # Events (timeline)
    "ev_created": ("受理", "accepted by hotline"),
    "ev_dispatched": ("派单", "dispatched"),
    "ev_accepted": ("签收", "signed for"),
    "ev_extended": ("延期", "extended"),
    "ev_returned": ("退单", "returned"),
    "ev_resolved": ("办结", "resolved"),
    "ev_reviewed": ("回访", "called back"),
    "ev_reopened": ("重办", "reopened"),
    "ev_closed": ("结案", "closed"),
    "district": ("区", "District"),
    "street": ("街乡镇", "Street"),
    # Sign-in
    "sign_in": ("登录", "Sign in"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "sign_in_failed": ("用户名或密码错误，或账号已停用", "Wrong user name or password, or the account is disabled"),
    "sign_in_locked": (
        "密码错误次数过多，登录已暂时锁定，请 {minutes} 分钟后再试",
        "Too many wrong passwords: sign-in is locked, try again in {minutes} minutes",
    ),
    "sign_out": ("退出", "Sign out"),
    "signed_in_as": ("当前用户", "Signed in as"),
    # Drill-down
    "drill_not_available": ("该页面不存在或不在您的权限范围内", "This page does not exist or is outside your area"),
    "drill_bad_filter": ("筛选条件无效：{msg}", "Invalid filter: {msg}"),
    "drill_filters": ("筛选", "Filters"),
    "drill_window": ("时间", "Time"),
    "drill_win_all": ("全部", "All time"),
    "drill_win_24h": ("24 小时", "24 h"),
    "drill_win_7d": ("7 天", "7 days"),
    "drill_win_30d": ("30 天", "30 days"),
    "drill_win_90d": ("90 天", "90 days"),
    "drill_win_365d": ("一年", "1 year"),
    "drill_cat1": ("一级类别", "Category"),
    "drill_cat2": ("二级类别", "Subcategory"),
    "drill_cat3": ("三级类别", "Item"),
    "drill_channel": ("渠道", "Channel"),
    "drill_kind": ("类型", "Kind"),
    "drill_priority": ("紧急程度", "Priority"),
    "drill_light": ("灯色", "Light"),
    "drill_fig": ("地图指标", "Map figure"),
    "drill_any": ("全部", "any"),
    "drill_fig_open": ("在办", "Open"),
    "drill_fig_red": ("红灯", "Red"),
    "drill_fig_volume": ("诉求量", "Volume"),
    "drill_fig_red_share": ("红灯占比", "Red share"),
    "drill_fig_response": ("响应率", "Response rate"),
    "drill_fig_resolution": ("解决率", "Resolution rate"),
    "drill_fig_satisfaction": ("满意率", "Satisfaction rate"),
    "drill_total": ("诉求总数", "Appeals"),
    "drill_sub_district": ("各区排名", "Districts"),
    "drill_sub_street": ("各街乡镇排名", "Streets"),
    "drill_sub_community": ("各社区排名", "Communities"),
    "drill_sub_grid": ("各网格排名", "Grids"),
    "drill_trend": ("近 {n} 天趋势", "Last {n} days"),
    "drill_created": ("受理", "Received"),
    "drill_resolved": ("已办结", "Resolved"),
    "drill_top_cats": ("高频类别", "Top categories"),
    "drill_count": ("件数", "Count"),
    "drill_appeals": ("诉求列表（共 {n} 件，最新在前）", "Appeals ({n}, newest first)"),
    "drill_members_list": ("网格员", "Members"),
    "drill_member_role": ("职务", "Role"),
    "drill_grid": ("网格", "Grid"),
    "drill_state": ("状态", "State"),
    "drill_seen": ("最近心跳", "Last heartbeat"),
    "drill_export": ("导出", "Export"),
    "drill_id": ("编号", "ID"),
    "drill_created_at": ("受理时间", "Received"),
    "drill_due": ("办理时限", "Due"),
    "drill_light_closed": ("已结", "closed"),
    "drill_status": ("状态", "Status"),
    "drill_address": ("地址", "Address"),
    "drill_unit": ("承办单位", "Unit"),
    "drill_member": ("网格员", "Member"),
    "drill_review": ("回访结果", "Call-back answers"),
    "drill_responded": ("联系", "Contacted"),
    "drill_resolved_q": ("解决", "Solved"),
    "drill_satisfaction": ("满意度", "Satisfaction"),
    "drill_not_reviewed": ("尚未回访", "Not called back yet"),
    "drill_yes": ("是", "yes"),
    "drill_no": ("否", "no"),
    "drill_sat_satisfied": ("满意", "satisfied"),
    "drill_sat_basically_satisfied": ("基本满意", "basically satisfied"),
    "drill_sat_dissatisfied": ("不满意", "dissatisfied"),
    "drill_when": ("时间", "When"),
    "drill_event": ("环节", "Step"),
    "drill_detail": ("说明", "Details"),
    "drill_city_page": ("全市", "City"),
    "drill_no_sub": ("网格为最小单元", "A grid has no sub-areas"),
    "drill_rank_note": ("按所选指标排序", "sorted by the map figure"),
    "drill_pri_emergency": ("特急", "emergency"),
    "drill_pri_urgent": ("紧急", "urgent"),
    "drill_pri_normal": ("一般", "normal"),
    "drill_pri_routine": ("常规", "routine"),
    "drill_kind_consult": ("咨询", "consult"),
    "drill_kind_request": ("求助", "request"),
    "drill_kind_complaint": ("投诉", "complaint"),
    "drill_kind_report": ("举报", "report"),
    "drill_kind_suggestion": ("建议", "suggestion"),
    "drill_kind_praise": ("表扬", "praise"),
    "drill_wall": ("大屏", "Wall"),
    "drill_map": ("地图", "Map"),
    "drill_appeal": ("工单信息", "Appeal"),
    # Fast, live, fitting drill-down pages (issue 18): statuses and channels in the page's language, the grids
    "st_created": ("已受理", "received"),
    "st_dispatched": ("已派单", "dispatched"),
    "st_accepted": ("已签收", "accepted"),
    "st_returned": ("已退单", "returned"),
    "st_reopened": ("已重启", "reopened"),
    "st_resolved": ("已办结", "resolved"),
    "st_closed": ("已结案", "closed"),
    "ch_phone": ("电话", "phone"),
    "ch_wechat": ("微信", "WeChat"),
    "ch_app": ("客户端", "app"),
    "ch_web": ("网站", "web"),
    "ch_grid_patrol": ("网格巡查", "grid patrol"),
    "ch_visit": ("来访", "visit"),
    "ch_referral": ("转办", "referral"),
    "role_grid_instructor": ("网格指导员", "grid instructor"),
    "role_chief_grid_leader": ("总网格长", "chief grid leader"),
    "role_grid_leader": ("网格长", "grid leader"),
    "role_full_time_member": ("专职网格员", "full-time member"),
    "role_grid_member": ("网格员", "grid member"),
    "grid_loading": ("正在加载…", "Loading…"),
    "grid_no_rows": ("没有符合条件的记录", "No matching rows"),
    "grid_refused": ("无法读取：{why}", "Cannot read: {why}"),
    "grid_bad_sort": ("不支持按该列排序", "this column cannot be sorted"),
    "grid_bad_filter": ("不支持该筛选", "this filter is not supported"),
    "drill_updated": ("更新于 {at}", "Updated {at}"),
}


def lang_of(value: str | None, default: str = "zh") -> str:
    """A supported language code (anything else: the default)."""
    return value if value in LANGS else default


def t(lang: str, key: str, **fmt: object) -> str:
    """The string `key` in `lang`, formatted; a missing key fails loudly."""
    zh, en = _STRINGS[key]
    text = en if lang == "en" else zh
    return text.format(**fmt) if fmt else text


def word(lang: str, group: str, value: str | None) -> str:
    """A code value (status `st`, channel `ch`, kind `drill_kind`, priority `drill_pri`) in the page's language;
    a value the texts lack (another intake's channel) is shown as received."""
    if value is None:
        return "—"
    key = f"{group}_{value}"
    return t(lang, key) if key in _STRINGS else value


def duration(lang: str, seconds: float) -> str:
    """A span of time in few words: '3 天 2 时', '5 h 10 min', '12 min'."""
    s = max(0, int(seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if d:
        return t(lang, "dur_d", d=d, h=h)
    if h:
        return t(lang, "dur_h", h=h, m=m)
    return t(lang, "dur_m", m=m)


def ago(lang: str, seconds: float) -> str:
    """How long ago, roughly."""
    s = max(0, int(seconds))
    if s < 120:
        return t(lang, "ago_s", n=s)
    if s < 7200:
        return t(lang, "ago_m", n=s // 60)
    return t(lang, "ago_h", n=s // 3600)


def keys() -> list[str]:
    """All string keys (for tests: every key has both languages)."""
    return list(_STRINGS)
