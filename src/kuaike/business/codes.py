"""The carrier's data dictionary (`tbl_codes`): every coded value the business systems use.

Types and codes are the reference system's (`CodeTypeMapping`); the warehouse joins on them to name
order channels, terminals, customer types, vehicle types and states.
"""

from __future__ import annotations

from typing import NamedTuple


class CodeType(NamedTuple):
    type: int
    name: str
    code_type: str
    codes: dict[int, str]


DICTIONARY: tuple[CodeType, ...] = (
    CodeType(1, "注册渠道", "reg_channel", {0: "自助注册", 1: "官网", 2: "APP", 3: "微信小程序"}),
    CodeType(
        2, "揽件状态", "collect_state", {1: "已派工", 2: "揽件中", 3: "取件完成", 4: "已取消"}
    ),
    CodeType(
        3,
        "派件状态",
        "deliver_state",
        {1: "已派工", 2: "派件中", 3: "已签收", 4: "拒收", 5: "取消"},
    ),
    CodeType(4, "快递员状态", "courier_state", {1: "正常", 2: "休假", 3: "离职"}),
    CodeType(5, "地址类型", "address_type", {0: "收件", 1: "寄件"}),
    CodeType(6, "网点状态", "dot_state", {1: "营业", 2: "关闭"}),
    CodeType(7, "员工状态", "emp_state", {1: "在职", 2: "离职"}),
    CodeType(8, "是否保价", "insured", {0: "保价", 1: "不保价"}),
    CodeType(
        9,
        "运输工具类型",
        "transport_tool_type",
        {
            1: "大货车",
            2: "中型货车",
            3: "小型货车",
            4: "大型面包车",
            5: "中型面包车",
            6: "小型面包车",
            7: "摩托车",
            8: "电动三轮车",
        },
    ),
    CodeType(
        10, "运输工具状态", "transport_tool_state", {1: "正常", 2: "维修", 3: "保养", 4: "损坏"}
    ),
    CodeType(11, "仓库类型", "warehouse_type", {1: "大型", 2: "中型", 3: "小型", 4: "网点仓库"}),
    CodeType(12, "是否租赁", "lease", {1: "自有", 2: "租赁"}),
    CodeType(13, "货架状态", "rack_state", {1: "空置", 2: "使用中", 3: "不可用", 4: "调拨中"}),
    CodeType(14, "回执单状态", "receipt_state", {1: "已提交", 2: "异常", 3: "成功", 4: "取消"}),
    CodeType(15, "出入库类型", "warehouse_io_type", {1: "入库", 2: "出库"}),
    CodeType(16, "客户类型", "customer_type", {1: "普通客户", 2: "企业客户"}),
    CodeType(
        17,
        "下单终端类型",
        "order_terminal_type",
        {1: "IOS", 2: "Android", 3: "Windows", 4: "MacOS"},
    ),
    CodeType(
        18,
        "下单渠道类型",
        "order_channel",
        {0: "未知", 1: "微信小程序", 2: "APP", 3: "PC端商城", 4: "PC端电话"},
    ),
)


def code_rows() -> list[tuple[str, int, str, str, str, int]]:
    """Rows of `tbl_codes` as (name, type, code, code_desc, code_type, state)."""
    return [
        (t.name, t.type, str(code), desc, t.code_type, 1)
        for t in DICTIONARY
        for code, desc in t.codes.items()
    ]
