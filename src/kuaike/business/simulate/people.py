"""Realistic Chinese people and places: names, mobile numbers, street addresses, areas.

Areas are China's real administrative divisions, bundled in `kuaike/business/data/areas.csv`
(from the PyPI package `cpca`, see the README there). Everything else is drawn from a
`random.Random`, so a seed gives the same people every time.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

# The most common surnames, roughly by frequency (the first ones weigh more when drawn).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏飞建华建国志强晨曦浩然子涵雨桐"
    "欣怡梓涵一诺宇轩思远文博佳怡俊杰家豪雪梅海燕国庆春梅婷婷丹丹晓东晓燕建军德华光明金凤玉梅永强"
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


MOBILE_PREFIXES = _words(
    "134 135 136 137 138 139 147 150 151 152 157 158 159 178 182 183 184 187 188 198 "
    "130 131 132 145 155 156 166 175 176 185 186 133 149 153 173 177 180 181 189 191 199"
)
STREETS = _words("人民 解放 中山 建设 和平 胜利 文化 新华 朝阳 光明 长江 黄河 滨江 东风 迎宾")
STREETS += _words("学府 工业 科技 幸福 团结")
STREET_KINDS = ("路", "街", "大道")
ESTATES = _words(
    "阳光花园 锦绣华庭 翠湖苑 金色家园 御景湾 丽都新村 万科城 碧桂园 保利花园 龙湖天街"
)


@dataclass(frozen=True)
class Area:
    """One administrative division: level 1 province, 2 city, 3 district or county."""

    id: int
    pid: int
    name: str
    level: int
    lng: float
    lat: float


@cache
def areas() -> dict[int, Area]:
    """Every bundled area by code."""
    text = files("kuaike.business").joinpath("data", "areas.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return {
        int(r["id"]): Area(
            int(r["id"]),
            int(r["pid"]),
            r["name"],
            int(r["level"]),
            float(r["lng"]),
            float(r["lat"]),
        )
        for r in rows
    }


def display_name(area: Area) -> str:
    """A name people would write: the province's name for a municipality's 市辖区."""
    if area.name in ("市辖区", "县") and area.pid:
        return areas()[area.pid].name
    return area.name


def lineage(area: Area) -> list[Area]:
    """The area and its ancestors, province first."""
    chain = [area]
    while chain[0].pid:
        chain.insert(0, areas()[chain[0].pid])
    return chain


def short_name(name: str) -> str:
    """The name without its administrative suffix (广东省 → 广东)."""
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def km_between(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, h)))


def person_name(rng: random.Random) -> str:
    """A Chinese full name: a common surname and a one- or two-character given name."""
    surname = SURNAMES[min(int(rng.expovariate(1 / 25)), len(SURNAMES) - 1)]
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return surname + given


def mobile(rng: random.Random) -> str:
    """An 11-digit mainland mobile number."""
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


def street_address(rng: random.Random, district: Area) -> str:
    """A street address in `district`, e.g. 海淀区学府路118号翠湖苑3栋502室."""
    street = rng.choice(STREETS) + rng.choice(STREET_KINDS)
    number = rng.randrange(1, 999)
    if rng.random() < 0.6:
        estate = rng.choice(ESTATES)
        flat = f"{rng.randrange(1, 30)}栋{rng.randrange(1, 33)}0{rng.randrange(1, 5)}室"
        return f"{display_name(district)}{street}{number}号{estate}{flat}"
    return f"{display_name(district)}{street}{number}号"


def gis(area: Area, rng: random.Random, spread: float = 0.05, sep: str = "-") -> str:
    """A point near the area's centre as `lng-lat` (the reference's format)."""
    lng = area.lng + rng.uniform(-spread, spread)
    lat = area.lat + rng.uniform(-spread, spread)
    return f"{lng:.6f}{sep}{lat:.6f}"
