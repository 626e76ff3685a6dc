"""The demo org tree (power company and gas group) and its staff, built through the org services.

Scope follows the staff member's own unit and everything below it, so the hotline staff (agents,
shift leaders, director, analyst) sit at the provincial company / gas group unit: they must find
every customer of the province. The customer-service center units exist for routing later on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate

from django.utils.translation import gettext as _

from kefu.core.choices import RegionClass, UnitUtility, UtilityKind
from kefu.demo.data import (
    COMMUNITY_WORDS,
    FEMALE_GIVEN,
    MALE_GIVEN,
    MOBILE_PREFIXES,
    ROAD_WORDS,
    SINGLE_GIVEN_SHARE,
    SURNAMES,
    VILLAGE_WORDS,
)
from kefu.demo.dice import Dice
from kefu.org.choices import Role, UnitLevel
from kefu.org.models import OrgUnit, Staff, StaffRole
from kefu.org.services import orgunit_create, staff_create

DEMO_PASSWORD = "kefu-demo-2026"  # noqa: S105 - published on purpose: the demo prints it
ADMIN_USERNAME = "admin"
POWER_ROOT_CODE = "ZJDL"
GAS_ROOT_CODE = "HZRQ"
ROOT_CODES = (POWER_ROOT_CODE, GAS_ROOT_CODE)
PROVINCE = "浙江省"

# Username stem per role: "agent1", "leader2", ...; gas staff get a "gas_" prefix.
USERNAME_STEM: dict[str, str] = {
    Role.AGENT: "agent", Role.SHIFT_LEADER: "leader", Role.DIRECTOR: "director", Role.HANDLER: "handler",
    Role.CREW: "crew", Role.MANAGER_FULL: "manager", Role.MANAGER_PART: "areamgr", Role.READER: "reader",
    Role.COLLECTOR: "collector", Role.INSPECTOR: "inspector", Role.CLERK: "clerk", Role.ANALYST: "analyst",
    Role.ADMIN: "orgadmin",
}
STATION_HANDLER_STEM = "station_handler"  # handlers at a station; "handler" ones sit at city and county

# Relative number of customers per station by region class: towns are denser than mountains.
REGION_WEIGHT: dict[str, float] = {RegionClass.URBAN: 3.0, RegionClass.RURAL: 1.5, RegionClass.REMOTE: 0.6}


@dataclass(frozen=True)
class StationSpec:
    name: str
    code: str
    region: str
    streets: tuple[str, ...]


@dataclass(frozen=True)
class CountySpec:
    name: str
    code: str
    district: str
    division: str  # administrative division code: the first six digits of local ID numbers
    team: str
    stations: tuple[StationSpec, ...]


@dataclass(frozen=True)
class CitySpec:
    name: str
    code: str
    city: str
    area_code: str
    counties: tuple[CountySpec, ...]


@dataclass(frozen=True)
class TreeSpec:
    name: str
    code: str
    utility: str
    center: str
    center_phone: str
    cities: tuple[CitySpec, ...]


U, R, X = RegionClass.URBAN, RegionClass.RURAL, RegionClass.REMOTE

POWER_TREE = TreeSpec("国网浙江省电力有限公司", POWER_ROOT_CODE, UnitUtility.POWER,
                      "国网浙江省电力有限公司95598供电服务中心", "95598", (
    CitySpec("国网杭州供电公司", "ZJDL-HZ", "杭州市", "0571", (
        CountySpec("国网杭州市西湖区供电公司", "ZJDL-HZ-XH", "西湖区", "330106", "西湖供电抢修班", (
            StationSpec("文新供电所", "ZJDL-HZ-XH-WX", U, ("文新街道", "翠苑街道")),
            StationSpec("转塘供电所", "ZJDL-HZ-XH-ZT", U, ("转塘街道", "留下街道")),
            StationSpec("双浦供电所", "ZJDL-HZ-XH-SP", R, ("双浦镇",)),
        )),
        CountySpec("国网杭州市富阳区供电公司", "ZJDL-HZ-FY", "富阳区", "330111", "富阳供电抢修班", (
            StationSpec("富春供电所", "ZJDL-HZ-FY-FC", U, ("富春街道", "东洲街道")),
            StationSpec("新登供电所", "ZJDL-HZ-FY-XD", R, ("新登镇",)),
            StationSpec("洞桥供电所", "ZJDL-HZ-FY-DQ", X, ("洞桥镇",)),
        )),
        CountySpec("国网淳安县供电公司", "ZJDL-HZ-CA", "淳安县", "330127", "淳安供电抢修班", (
            StationSpec("千岛湖供电所", "ZJDL-HZ-CA-QDH", U, ("千岛湖镇",)),
            StationSpec("威坪供电所", "ZJDL-HZ-CA-WP", R, ("威坪镇",)),
            StationSpec("枫树岭供电所", "ZJDL-HZ-CA-FSL", X, ("枫树岭镇",)),
        )),
    )),
    CitySpec("国网宁波供电公司", "ZJDL-NB", "宁波市", "0574", (
        CountySpec("国网宁波市鄞州区供电公司", "ZJDL-NB-YZ", "鄞州区", "330212", "鄞州供电抢修班", (
            StationSpec("首南供电所", "ZJDL-NB-YZ-SN", U, ("首南街道", "钟公庙街道")),
            StationSpec("姜山供电所", "ZJDL-NB-YZ-JS", R, ("姜山镇",)),
        )),
        CountySpec("国网宁海县供电公司", "ZJDL-NB-NH", "宁海县", "330226", "宁海供电抢修班", (
            StationSpec("跃龙供电所", "ZJDL-NB-NH-YL", U, ("跃龙街道", "桃源街道")),
            StationSpec("长街供电所", "ZJDL-NB-NH-CJ", R, ("长街镇",)),
            StationSpec("胡陈供电所", "ZJDL-NB-NH-HC", X, ("胡陈乡",)),
        )),
    )),
))

GAS_TREE = TreeSpec("杭州市燃气集团有限公司", GAS_ROOT_CODE, UnitUtility.GAS, "杭州燃气客户服务中心", "96777", (
    CitySpec("杭州天然气有限公司", "HZRQ-TRQ", "杭州市", "0571", (
        CountySpec("城西分公司", "HZRQ-TRQ-CX", "西湖区", "330106", "城西燃气抢修队", (
            StationSpec("西溪服务中心", "HZRQ-TRQ-CX-XX", U, ("文新街道", "蒋村街道")),
            StationSpec("古荡服务中心", "HZRQ-TRQ-CX-GD", U, ("古荡街道", "翠苑街道")),
        )),
        CountySpec("城东分公司", "HZRQ-TRQ-CD", "上城区", "330102", "城东燃气抢修队", (
            StationSpec("九堡服务中心", "HZRQ-TRQ-CD-JB", U, ("九堡街道",)),
            StationSpec("笕桥服务中心", "HZRQ-TRQ-CD-JQ", U, ("笕桥街道", "丁兰街道")),
        )),
        CountySpec("萧山分公司", "HZRQ-TRQ-XS", "萧山区", "330109", "萧山燃气抢修队", (
            StationSpec("北干服务中心", "HZRQ-TRQ-XS-BG", U, ("北干街道", "城厢街道")),
            StationSpec("瓜沥服务中心", "HZRQ-TRQ-XS-GL", R, ("瓜沥镇",)),
        )),
    )),
))


@dataclass
class Station:
    """A leaf unit that holds customers, with everything the generator needs to know about it."""

    unit_id: int
    utility: str
    region_class: str
    city: str
    city_short: str
    district: str
    division: str
    area_code: str
    weight: float
    communities: list[tuple[str, str]]  # (street, community or village)
    roads: list[str]
    part_managers: list[int] = field(default_factory=list)
    full_managers: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class StaffPlan:
    username: str
    role: str
    unit_code: str
    extension: str = ""


@dataclass
class DemoOrg:
    stations: list[Station]
    staff: list[StaffPlan]
    password_hash: str


_SURNAME_LIST = [s for s, _ in SURNAMES]
_SURNAME_CUM = list(accumulate(w for _, w in SURNAMES))


def surname_pick(rng: Dice) -> str:
    return rng.weighted(_SURNAME_LIST, _SURNAME_CUM)


def person_name(rng: Dice, *, male: bool, surname: str | None = None) -> str:
    surname = surname or surname_pick(rng)
    chars = MALE_GIVEN if male else FEMALE_GIVEN
    if rng.random() < SINGLE_GIVEN_SHARE:
        return surname + rng.pick(chars)
    return surname + rng.pick(chars) + rng.pick(chars)


def _staff_plan(tree: TreeSpec) -> list[StaffPlan]:
    """Who works where. Order matters: the first of each role is the printed demo login."""
    prefix = "" if tree.utility == UnitUtility.POWER else "gas_"
    gas = tree.utility == UnitUtility.GAS
    counters: dict[str, int] = {}
    plan: list[StaffPlan] = []

    def add(role: str, unit_code: str, count: int = 1, extension_base: int = 0) -> None:
        for _i in range(count):
            n = counters[role] = counters.get(role, 0) + 1
            ext = str(extension_base + n) if extension_base else ""
            plan.append(StaffPlan(f"{prefix}{USERNAME_STEM[role]}{n}", role, unit_code, ext))

    add(Role.AGENT, tree.code, 4 if gas else 8, extension_base=9000 if gas else 8000)
    add(Role.SHIFT_LEADER, tree.code, 1 if gas else 2, extension_base=9100 if gas else 8100)
    add(Role.DIRECTOR, tree.code)
    add(Role.ANALYST, tree.code)
    add(Role.ADMIN, tree.code)
    for city in tree.cities:
        add(Role.HANDLER, city.code)
        for county in city.counties:
            add(Role.HANDLER, county.code)
            add(Role.MANAGER_FULL, county.code)
            add(Role.CLERK, county.code)
            add(Role.CREW, f"{county.code}-QX", 3)
            for station in county.stations:
                add(Role.MANAGER_PART, station.code, 1 if gas else 2)
                add(Role.READER, station.code)
                add(Role.COLLECTOR, station.code)
                if gas:
                    add(Role.INSPECTOR, station.code, 2)
    return plan


def _station_handlers(tree: TreeSpec) -> list[StaffPlan]:
    """One handler per station: the person who takes the orders dispatched to the station."""
    prefix = "" if tree.utility == UnitUtility.POWER else "gas_"
    codes = [s.code for c in tree.cities for co in c.counties for s in co.stations]
    return [StaffPlan(f"{prefix}{STATION_HANDLER_STEM}{n}", Role.HANDLER, code) for n, code in enumerate(codes, 1)]


def staff_plan() -> list[StaffPlan]:
    # Station handlers come last so that adding them left every earlier name and number as it was.
    return (_staff_plan(POWER_TREE) + _staff_plan(GAS_TREE)
            + _station_handlers(POWER_TREE) + _station_handlers(GAS_TREE))


def _mobile(rng: Dice) -> str:
    return f"{rng.pick(MOBILE_PREFIXES)}{rng.below(10**8):08d}"


def _communities(rng: Dice, spec: StationSpec) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for street in spec.streets:
        if spec.region == RegionClass.URBAN:
            out += [(street, f"{w}社区") for w in rng.rng.sample(COMMUNITY_WORDS, 8)]
        else:
            out += [(street, f"{w}村") for w in rng.rng.sample(VILLAGE_WORDS, 10)]
    return out


def org_build(*, seed: int) -> DemoOrg:
    """Create the two trees and their staff. Call inside one transaction."""
    rng = Dice(f"org:{seed}")
    stations: list[Station] = []
    units: dict[str, OrgUnit] = {}
    for tree in (POWER_TREE, GAS_TREE):
        utility = UtilityKind.POWER if tree.utility == UnitUtility.POWER else UtilityKind.GAS
        root = orgunit_create(name=tree.name, code=tree.code, parent=None, actor=None, level=UnitLevel.GROUP,
                              utility=tree.utility)
        units[tree.code] = root
        orgunit_create(name=tree.center, code=f"{tree.code}-KF", parent=root, actor=None, level=UnitLevel.CENTER,
                       utility=tree.utility, phone=tree.center_phone)
        for city in tree.cities:
            city_unit = orgunit_create(name=city.name, code=city.code, parent=root, actor=None,
                                       level=UnitLevel.CITY, utility=tree.utility)
            units[city.code] = city_unit
            for county in city.counties:
                county_unit = orgunit_create(name=county.name, code=county.code, parent=city_unit, actor=None,
                                             level=UnitLevel.COUNTY, utility=tree.utility)
                units[county.code] = county_unit
                team = orgunit_create(name=county.team, code=f"{county.code}-QX", parent=county_unit, actor=None,
                                      level=UnitLevel.TEAM, utility=tree.utility)
                units[team.code] = team
                for spec in county.stations:
                    unit = orgunit_create(
                        name=spec.name, code=spec.code, parent=county_unit, actor=None, level=UnitLevel.STATION,
                        utility=tree.utility, region_class=spec.region,
                        phone=f"{city.area_code}-{rng.pick('5678')}{rng.below(10**7):07d}",
                    )
                    units[spec.code] = unit
                    stations.append(Station(
                        unit_id=unit.pk, utility=utility, region_class=spec.region, city=city.city,
                        city_short=city.city.removesuffix("市"), district=county.district,
                        division=county.division, area_code=city.area_code, weight=REGION_WEIGHT[spec.region],
                        communities=_communities(rng, spec), roads=rng.rng.sample(ROAD_WORDS, 4),
                    ))
    plan = staff_plan()
    password_hash = _staff_build(rng, plan, units)
    by_unit = {s.unit_id: s for s in stations}
    station_county = {units[st.code].pk: units[co.code].pk for tree in (POWER_TREE, GAS_TREE)
                      for c in tree.cities for co in c.counties for st in co.stations}
    for staff_id, role, unit_id in Staff.objects.filter(unit__in=units.values(), roles__role__in=[
            Role.MANAGER_FULL, Role.MANAGER_PART]).values_list("id", "roles__role", "unit_id").order_by("id"):
        if role == Role.MANAGER_PART and unit_id in by_unit:
            by_unit[unit_id].part_managers.append(staff_id)
        elif role == Role.MANAGER_FULL:
            for station_id, county_id in station_county.items():
                if county_id == unit_id:
                    by_unit[station_id].full_managers.append(staff_id)
    return DemoOrg(stations=stations, staff=plan, password_hash=password_hash)


def _staff_build(rng: Dice, plan: list[StaffPlan], units: dict[str, OrgUnit]) -> str:
    """The first staff member goes through staff_create; the others share its password hash.

    Argon2 costs 0.1–0.5 s per hash, and every demo user has the same password anyway. Returns the hash.
    """
    first, *others = plan
    staff = staff_create(username=first.username, password=DEMO_PASSWORD, unit=units[first.unit_code],
                         roles=[first.role], actor=None, full_name=person_name(rng, male=True),
                         phone=_mobile(rng), extension=first.extension, validate=False)
    _staff_bulk(rng, others, units, staff.password)
    return staff.password


def _staff_bulk(rng: Dice, plan: list[StaffPlan], units: dict[str, OrgUnit], password_hash: str) -> None:
    bulk = [Staff(username=p.username, password=password_hash, unit=units[p.unit_code],
                  full_name=person_name(rng, male=rng.random() < 0.55), phone=_mobile(rng), extension=p.extension)
            for p in plan]
    Staff.objects.bulk_create(bulk)
    ids = dict(Staff.objects.filter(username__in=[p.username for p in plan]).values_list("username", "id"))
    StaffRole.objects.bulk_create([StaffRole(staff_id=ids[p.username], role=p.role) for p in plan])


def staff_ensure(*, seed: int) -> list[str]:
    """Add the planned staff that a demo loaded by an earlier version lacks (the station handlers),
    with the password hash the other demo staff share. Returns the usernames added."""
    plan = staff_plan()
    have = set(Staff.objects.filter(username__in=[p.username for p in plan]).values_list("username", flat=True))
    missing = [p for p in plan if p.username not in have]
    password_hash = (Staff.objects.filter(username__in=have, unit__isnull=False).exclude(password="")
                     .order_by("id").values_list("password", flat=True).first())
    if not missing or password_hash is None:
        return []
    units = {u.code: u for u in OrgUnit.objects.filter(code__in={p.unit_code for p in missing})}
    missing = [p for p in missing if p.unit_code in units]
    _staff_bulk(Dice(f"staff:{seed}:{len(have)}"), missing, units, password_hash)
    return [p.username for p in missing]


def admin_ensure(*, password_hash: str) -> bool:
    """The ``admin`` superuser at the power company root. False when an admin existed already."""
    if Staff.objects.filter(username=ADMIN_USERNAME).exists():
        return False
    root = OrgUnit.objects.get(code=POWER_ROOT_CODE)
    admin = Staff.objects.create(username=ADMIN_USERNAME, password=password_hash, unit=root, full_name="系统管理员",
                                 is_superuser=True, is_staff=True)
    StaffRole.objects.create(staff=admin, role=Role.ADMIN)
    return True


def demo_unit_ids() -> list[int]:
    roots = OrgUnit.objects.filter(code__in=ROOT_CODES)
    ids: list[int] = []
    for root in roots:
        ids += list(OrgUnit.objects.subtree(root).values_list("id", flat=True))
    return ids


def login_rows() -> list[tuple[str, str, str]]:
    """(username, role label, unit name) for the printed logins: admin, then the first of each role."""
    wanted = [ADMIN_USERNAME]
    seen: set[str] = set()
    for p in staff_plan():
        key = p.username.rstrip("0123456789")  # the stem: "agent", "gas_agent", "station_handler", ...
        if key not in seen:
            seen.add(key)
            wanted.append(p.username)
    found = {s.username: s for s in Staff.objects.filter(username__in=wanted).select_related("unit")}
    rows: list[tuple[str, str, str]] = []
    for name in wanted:
        s = found.get(name)
        if s is None:
            continue
        roles = [str(Role(r).label) for r in sorted(s.role_codes)]
        if s.is_superuser:
            roles = [str(_("Superuser"))]
        rows.append((name, " / ".join(roles), s.unit.name if s.unit else ""))
    return rows
