"""Every label the pages show, in Chinese and English (the language is the `kuaike_lang` cookie;
the switch in the header sets it and relabels the page in place)."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
COOKIE = "kuaike_lang"

LABELS: dict[str, tuple[str, str]] = {
    # navigation and shared words
    "brand": ("客快物流", "kuaike logistics"),
    "nav_live": ("实时大屏", "Live"),
    "nav_kpi": ("指标报表", "KPI reports"),
    "nav_track": ("快递追踪", "Tracking"),
    "nav_sql": ("SQL 查询", "SQL console"),
    "nav_pipeline": ("数据管道", "Pipeline"),
    "switch_lang": ("English", "中文"),
    "error": ("出错了", "Something went wrong"),
    "back_home": ("返回实时大屏", "Back to the live screen"),
    "none": ("暂无", "none"),
    "download_csv": ("下载 CSV", "Download CSV"),
    "rows": ("行", "rows"),
    # the live screen
    "live_title": ("今日运营实时大屏", "Today's operations, live"),
    "orders": ("今日订单", "Orders today"),
    "collected": ("已揽收", "Collected"),
    "in_transit": ("运输中", "In transit"),
    "delivered": ("派送中", "Out for delivery"),
    "signed": ("已签收", "Signed"),
    "exceptions": ("今日异常", "Exceptions today"),
    "exceptions_by_kind": ("今日异常类型", "Exceptions today by kind"),
    "cancelled": ("取消", "Cancelled"),
    "delayed": ("晚到", "Late legs"),
    "lost": ("丢失", "Lost"),
    "rejected": ("拒收", "Rejected"),
    "vehicles_on_the_road": ("在途车辆", "Vehicles on the road"),
    "funnel": ("订单状态漏斗", "Status funnel"),
    "ordered": ("下单", "Ordered"),
    "map_title": ("各省今日订单", "Orders today by province"),
    "orders_per_minute": ("每分钟订单(近 3 小时)", "Orders per minute (last 3 hours)"),
    "busiest_hubs": ("最繁忙转运中心(在途包裹)", "Busiest hubs (parcels on the way)"),
    "orders_by_company": ("各分公司今日订单", "Orders today by company"),
    "orders_by_channel": ("下单渠道", "Order channels"),
    "figures_age": ("数据时间", "Figures"),
    "seconds_old": ("秒前", "s old"),
    "refresh_every": ("刷新间隔(秒)", "refreshed every (s)"),
    # KPI reports
    "kpi_title": ("指标报表", "KPI reports"),
    "from": ("开始日期", "From"),
    "to": ("结束日期", "To"),
    "show": ("查询", "Show"),
    "metric": ("指标", "Metric"),
    "trend": ("趋势(按天合计,比率取平均)", "Trend per day (sums; rates averaged)"),
    "breakdown": ("分布(区间合计,前 15)", "Breakdown over the range (top 15)"),
    "breakdown_latest": ("最近一天的各项指标", "The latest day's figures"),
    "count_by": ("按类别计数", "Rows by category"),
    "not_built": ("报表尚未生成", "Not built yet"),
    "tbl_express_bill_summary": ("快递单", "Express bills"),
    "tbl_waybill_summary": ("运单", "Waybills"),
    "tbl_courier_summary": ("快递员", "Couriers"),
    "tbl_customer_summary": ("客户", "Customers"),
    "tbl_customer_tag": ("客户标签", "Customer tags"),
    "tbl_dot_transport_tool_summary": ("网点车辆", "Vehicles at outlets"),
    "tbl_warehouse_transport_tool_summary": ("仓库车辆", "Vehicles at hubs"),
    "tbl_exception_summary": ("异常", "Exceptions"),
    "tbl_hub_backlog": ("转运中心积压", "Hub backlog"),
    "tbl_revenue_summary": ("收入", "Revenue"),
    "tbl_transit_area_summary": ("区域准点率与时效", "On-time and transit time by area"),
    "tbl_transit_route_summary": ("线路准点率与时效", "On-time and transit time by route"),
    "tbl_warehouse_summary": ("仓库发车", "Hub departures"),
    # tracking
    "track_title": ("快递追踪", "Parcel tracking"),
    "track_hint": (
        "快递单号/运单号、手机号(或后 4 位)、姓名或地址",
        "Express-bill or waybill number, phone (or its last 4 digits), name or address",
    ),
    "track_go": ("查询", "Track"),
    "hits": ("查到的包裹", "Parcels found"),
    "no_hits": ("没有找到包裹", "No parcel found"),
    "journey": ("物流轨迹", "Journey"),
    "route_map": ("运输路线", "Route"),
    "stuck": (
        "滞留包裹(超过该环节常规时长)",
        "Stuck parcels (longer than the step normally takes)",
    ),
    "parcel": ("单号", "Parcel"),
    "parcel_status": ("状态", "Status"),
    "sender": ("寄件人", "Sender"),
    "receiver": ("收件人", "Receiver"),
    "now_at": ("当前位置", "Now at"),
    "eta": ("预计签收", "ETA"),
    "since": ("停留自", "Since"),
    "expected_by": ("应完成于", "Expected by"),
    "overdue_minutes": ("超时(分钟)", "Overdue (min)"),
    # SQL console
    "sql_title": ("只读 SQL 查询", "Read-only SQL console"),
    "run": ("执行", "Run"),
    "examples": ("示例查询", "Example queries"),
    "refused": ("已拒绝", "Refused"),
    "elapsed_ms": ("耗时(毫秒)", "elapsed ms"),
    "sql_hint": (
        "一条 SELECT 语句;Ctrl+Enter 执行",
        "One SELECT statement; Ctrl+Enter runs it",
    ),
    # pipeline
    "pipeline_title": ("数据管道状态", "Pipeline status"),
    "sources": ("数据源", "Sources"),
    "source": ("数据源", "Source"),
    "phase": ("状态", "Phase"),
    "position": ("位点", "Position"),
    "lag": ("延迟", "Lag"),
    "retained_wal": ("保留的 WAL", "Retained WAL"),
    "changes_per_s": ("变更/秒", "Changes/s"),
    "dead_letters": ("死信", "Dead letters"),
    "last_error": ("最近错误", "Last error"),
    "stopped_sources": ("因错误停止的数据源", "Sources stopped by an error"),
    "schema_changes": ("表结构变更", "Schema changes"),
    "table": ("表", "Table"),
    "change": ("变更", "Change"),
    "detail": ("详情", "Detail"),
    "applied_at": ("应用时间", "Applied at"),
    "builds": ("数仓构建与稽核", "Warehouse builds and audits"),
    "build": ("构建", "Build"),
    "mode": ("方式", "Mode"),
    "status": ("结果", "Status"),
    "started_at": ("开始时间", "Started"),
    "duration_ms": ("耗时(毫秒)", "ms"),
    "failed_runs": ("失败的模型/稽核", "Failed models/audits"),
    "changes_chart": ("每秒变更(本页打开以来)", "Changes per second (since this page opened)"),
}
"""key → (Chinese, English)."""


def lang_of(cookie: str | None) -> Lang:
    """The page language from the cookie; Chinese unless English was chosen."""
    return "en" if cookie == "en" else "zh"


def translator(lang: Lang) -> dict[str, str]:
    """key → label in `lang`."""
    index = LANGS.index(lang)
    return {key: pair[index] for key, pair in LABELS.items()}
