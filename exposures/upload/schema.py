"""The canonical exposure columns a client upload is mapped onto, in one place.

Each kind (``assets``, ``routes``) is a tuple of :class:`ColumnSpec`: the canonical name, its type,
whether it is required, its default, its range or allowed set, the header variants recognised for
it, and the documentation and example shown in templates and in error messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.errors import ExposureError
from exposures.upload_bounds import default_criticality

Kind = Literal["assets", "routes"]
KINDS: tuple[Kind, ...] = ("assets", "routes")
ColumnType = Literal["str", "id", "float", "int", "enum", "mitigations"]

ASSET_TYPES: tuple[str, ...] = (
    "office",
    "plant",
    "warehouse",
    "data_centre",
    "terminal",
    "refinery",
    "oilfield",
    "retail_store",
    "telecom_site",
    "airport_hub",
    "flight_corridor",
)
COMMODITIES: tuple[str, ...] = (
    "crude_oil",
    "lng",
    "refined_products",
    "containers",
    "dry_bulk",
    "vehicles",
    "chemicals",
    "general_cargo",
)
MITIGATIONS: tuple[str, ...] = (
    "backup_site",
    "continuity_plan",
    "cyber_certification",
    "insurance",
)

# Spellings clients use for the allowed values (already lower-cased, spaces/hyphens -> "_").
VALUE_SYNONYMS: dict[str, str] = {
    "data_center": "data_centre",
    "datacenter": "data_centre",
    "datacentre": "data_centre",
    "dc": "data_centre",
    "factory": "plant",
    "production": "plant",
    "depot": "warehouse",
    "storage": "warehouse",
    "manufacturing": "plant",
    "manufacturing_plant": "plant",
    "store": "retail_store",
    "shop": "retail_store",
    "retail": "retail_store",
    "telecom": "telecom_site",
    "airport": "airport_hub",
    "hub": "airport_hub",
    "air_corridor": "flight_corridor",
    "overflight": "flight_corridor",
    "overflight_corridor": "flight_corridor",
    "oil_field": "oilfield",
    "port_terminal": "terminal",
    "crude": "crude_oil",
    "oil": "crude_oil",
    "liquefied_natural_gas": "lng",
    "refined": "refined_products",
    "products": "refined_products",
    "container": "containers",
    "drybulk": "dry_bulk",
    "bulk": "dry_bulk",
    "cars": "vehicles",
    "vehicle": "vehicles",
    "chemical": "chemicals",
    "general": "general_cargo",
    "backup": "backup_site",
    "continuity": "continuity_plan",
    "bcp": "continuity_plan",
    "business_continuity_plan": "continuity_plan",
    "cyber": "cyber_certification",
    "iso27001": "cyber_certification",
    "insured": "insurance",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column."""

    name: str
    type: ColumnType
    required: bool
    doc: str
    example: str
    accepted: str
    aliases: tuple[str, ...] = ()
    default: float | int | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] = ()
    unique: bool = False


def _criticality(default: int | None, required: bool) -> ColumnSpec:
    return ColumnSpec(
        "criticality",
        "int",
        required,
        "How critical the item is to the client, 1 (minor) to 5 (vital)"
        + (f"; {default} when empty." if default is not None else "."),
        "4",
        "a whole number from 1 to 5",
        (
            "criticality",
            "tier",
            "critical",
            "priority",
            "importance",
            "crit",
            "criticalitytier",
            "criticalityscore",
            "criticalityrating",
        ),
        default=default,
        minimum=1,
        maximum=5,
    )


_SERVICE = ColumnSpec(
    "service_id",
    "id",
    False,
    "The important business service the item supports (free text id).",
    "payments",
    "a short id, e.g. payments",
    ("serviceid", "service", "businessservice", "importantbusinessservice", "ibs", "servicecode"),
)

ASSET_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "asset_id",
        "id",
        True,
        "Your identifier for the site; unique within the file.",
        "LON-01",
        "a non-empty id, unique in the file",
        (
            "assetid",
            "id",
            "siteid",
            "sitecode",
            "assetcode",
            "assetref",
            "siteref",
            "locationid",
            "facilityid",
            "ref",
            "reference",
        ),
        unique=True,
    ),
    ColumnSpec(
        "name",
        "str",
        True,
        "The site's name as you want it shown.",
        "London head office",
        "non-empty text",
        ("name", "sitename", "assetname", "facilityname", "locationname", "site", "facility"),
    ),
    ColumnSpec(
        "asset_type",
        "enum",
        True,
        "What the site is: " + ", ".join(ASSET_TYPES) + ".",
        "office",
        "one of " + ", ".join(ASSET_TYPES),
        (
            "assettype",
            "type",
            "sitetype",
            "typesite",
            "typeofsite",
            "facilitytype",
            "typefacility",
            "category",
            "kind",
            "usage",
        ),
        allowed=ASSET_TYPES,
    ),
    ColumnSpec(
        "lat",
        "float",
        False,
        "Latitude in decimal degrees (WGS84), -90 to 90. Give lat and lon, or a country.",
        "51.5072",
        "a number from -90 to 90 (decimal degrees)",
        ("lat", "latitude", "y", "latdeg", "latitudedeg", "ycoord", "ycoordinate"),
        minimum=-90.0,
        maximum=90.0,
    ),
    ColumnSpec(
        "lon",
        "float",
        False,
        "Longitude in decimal degrees (WGS84), -180 to 180.",
        "-0.1276",
        "a number from -180 to 180 (decimal degrees)",
        ("lon", "lng", "long", "longitude", "x", "londeg", "longitudedeg", "xcoord", "xcoordinate"),
        minimum=-180.0,
        maximum=180.0,
    ),
    ColumnSpec(
        "city",
        "str",
        False,
        "City or town; used with the country to place the site when there are no coordinates.",
        "London",
        "text",
        ("city", "town", "municipality", "locality"),
    ),
    ColumnSpec(
        "country",
        "str",
        False,
        "Country name or ISO code (GBR, GB, United Kingdom). Needed when lat/lon are empty.",
        "GBR",
        "a country name or ISO 3166 code",
        (
            "country",
            "countrycode",
            "iso3",
            "iso",
            "iso2",
            "countryname",
            "countryiso",
            "countryiso3",
            "nation",
        ),
    ),
    ColumnSpec(
        "value_usd",
        "float",
        True,
        "Replacement value of the site in US dollars, 0 or more.",
        "25000000",
        "a number of US dollars, 0 or more",
        (
            "valueusd",
            "value",
            "replacementvalue",
            "assetvalue",
            "insuredvalue",
            "usdvalue",
            "valueinusd",
            "tiv",
            "totalinsuredvalue",
        ),
        minimum=0.0,
    ),
    _criticality(None, True),
    ColumnSpec(
        "headcount",
        "int",
        False,
        "People who work at the site, 0 or more; 0 when empty.",
        "350",
        "a whole number, 0 or more",
        (
            "headcount",
            "staff",
            "employees",
            "people",
            "fte",
            "staffcount",
            "employeecount",
            "numberofemployees",
            "personnel",
        ),
        default=0,
        minimum=0,
    ),
    _SERVICE,
    ColumnSpec(
        "mitigations",
        "mitigations",
        False,
        "Measures in place, separated by ; or , : " + ", ".join(MITIGATIONS) + ".",
        "backup_site; insurance",
        "empty, or a list separated by ; of " + ", ".join(MITIGATIONS),
        ("mitigations", "mitigation", "controls", "resiliencemeasures", "measures"),
        allowed=MITIGATIONS,
    ),
)

ROUTE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "route_id",
        "id",
        True,
        "Your identifier for the route; unique within the file.",
        "RT-001",
        "a non-empty id, unique in the file",
        ("routeid", "id", "laneid", "lane", "routecode", "ref", "reference"),
        unique=True,
    ),
    ColumnSpec(
        "name",
        "str",
        True,
        "The route's name as you want it shown.",
        "Ras Tanura to Rotterdam crude",
        "non-empty text",
        ("name", "routename", "lanename"),
    ),
    ColumnSpec(
        "origin",
        "str",
        True,
        'Port of loading: UN/LOCODE (SARTA), port name (Ras Tanura) or "lat, lon".',
        "SARTA",
        'a UN/LOCODE, a port name or "lat, lon"',
        (
            "origin",
            "from",
            "originport",
            "pol",
            "portofloading",
            "loadport",
            "loadingport",
            "departureport",
            "departure",
            "fromport",
            "portfrom",
            "originport",
            "loading",
            "pol",
            "origin",
        ),
    ),
    ColumnSpec(
        "destination",
        "str",
        True,
        'Port of discharge: UN/LOCODE (NLRTM), port name (Rotterdam) or "lat, lon".',
        "NLRTM",
        'a UN/LOCODE, a port name or "lat, lon"',
        (
            "destination",
            "to",
            "destinationport",
            "pod",
            "portofdischarge",
            "dischargeport",
            "dest",
            "arrivalport",
            "arrival",
            "toport",
            "portto",
            "discharge",
            "destinationport",
        ),
    ),
    ColumnSpec(
        "commodity",
        "enum",
        True,
        "What the route carries: " + ", ".join(COMMODITIES) + ".",
        "crude_oil",
        "one of " + ", ".join(COMMODITIES),
        ("commodity", "cargo", "cargotype", "product", "goods"),
        allowed=COMMODITIES,
    ),
    ColumnSpec(
        "annual_value_usd",
        "float",
        True,
        "Value of the goods moved along the route each year, in US dollars, 0 or more.",
        "1200000000",
        "a number of US dollars, 0 or more",
        (
            "annualvalueusd",
            "annualvalue",
            "value",
            "valueusd",
            "cargovalue",
            "annualcargovalue",
            "yearlyvalue",
            "tradevalue",
        ),
        minimum=0.0,
    ),
    ColumnSpec(
        "shipments_per_year",
        "int",
        False,
        "Shipments (voyages) per year, 0 or more.",
        "24",
        "a whole number, 0 or more",
        (
            "shipmentsperyear",
            "shipments",
            "voyages",
            "voyagesperyear",
            "sailings",
            "sailingsperyear",
            "frequency",
        ),
        minimum=0,
    ),
    _SERVICE,
    _criticality(default_criticality(), False),
)

_COLUMNS: dict[str, tuple[ColumnSpec, ...]] = {"assets": ASSET_COLUMNS, "routes": ROUTE_COLUMNS}

ROW_COLUMN = "source_row"
"""Name of the column in the canonical frame that holds the row number in the user's file."""


def columns(kind: str) -> tuple[ColumnSpec, ...]:
    """The canonical columns of ``kind`` (``assets`` or ``routes``)."""
    try:
        return _COLUMNS[kind]
    except KeyError:
        raise ExposureError(f"unknown upload kind {kind!r}; accepted: {', '.join(KINDS)}") from None


def column(kind: str, name: str) -> ColumnSpec:
    """One canonical column of ``kind`` by name."""
    for spec in columns(kind):
        if spec.name == name:
            return spec
    raise ExposureError(f"{kind} has no column {name!r}")


def id_column(kind: str) -> str:
    """The unique id column of ``kind``."""
    return "asset_id" if kind == "assets" else "route_id"
