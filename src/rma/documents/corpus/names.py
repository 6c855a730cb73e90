"""Invented clients and addresses, and the organisations that write to them.

Clients, streets, references and figures are invented. Organisations are a mix of
invented names and real UK lenders, collectors, councils and suppliers as advisers see
them on clients' papers; every letter and figure attributed to them here is invented.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

FEMALE_NAMES = (
    "Aisha",
    "Chloe",
    "Priya",
    "Leanne",
    "Shannon",
    "Bethany",
    "Nadia",
    "Siobhan",
    "Kelly",
    "Amira",
    "Marta",
    "Paige",
)
MALE_NAMES = (
    "Daniel",
    "Tomasz",
    "Gareth",
    "Mohammed",
    "Kwame",
    "Ryan",
    "Craig",
    "Imran",
    "Darren",
    "Jordan",
    "Lewis",
    "Samuel",
)
SURNAMES = (
    "Whitfield",
    "Okafor",
    "Brennan",
    "Kowalski",
    "Patel",
    "Hughes",
    "Ashworth",
    "Rahman",
    "Doyle",
    "Mensah",
    "Pearce",
    "Gallagher",
    "Hussain",
    "Thornton",
    "Nowak",
    "Ellison",
    "Mistry",
    "Fletcher",
    "Begum",
    "Lloyd",
    "Quigley",
    "Adeyemi",
    "Marsh",
    "Kaur",
)
STREETS = (
    "Albion Street",
    "Cromwell Road",
    "Beech Grove",
    "Station Approach",
    "Hawthorn Close",
    "Victoria Terrace",
    "Mill Lane",
    "Chapel Walk",
    "Larch Avenue",
    "Foundry Court",
    "Brook Street",
    "Orchard Rise",
    "Canal Side",
    "Sefton Drive",
)


@dataclass(frozen=True)
class Town:
    name: str
    postcode_area: str
    council: str
    magistrates: str


TOWNS = (
    Town(
        "Stockport", "SK", "Stockport Metropolitan Borough Council", "Stockport Magistrates' Court"
    ),
    Town("Wakefield", "WF", "Wakefield Council", "Wakefield Magistrates' Court"),
    Town("Swindon", "SN", "Swindon Borough Council", "Swindon Magistrates' Court"),
    Town("Gateshead", "NE", "Gateshead Council", "Gateshead Magistrates' Court"),
    Town("Luton", "LU", "Luton Borough Council", "Luton and South Bedfordshire Magistrates' Court"),
    Town("Plymouth", "PL", "Plymouth City Council", "Plymouth Magistrates' Court"),
    Town("Oldham", "OL", "Oldham Council", "Tameside Magistrates' Court"),
    Town("Derby", "DE", "Derby City Council", "Southern Derbyshire Magistrates' Court"),
    Town("Hastings", "TN", "Hastings Borough Council", "Hastings Magistrates' Court"),
    Town("Wrexham", "LL", "Wrexham County Borough Council", "Wrexham Magistrates' Court"),
)


@dataclass(frozen=True)
class Client:
    title: str
    first: str
    surname: str
    address: tuple[str, ...]
    town: Town

    @property
    def full_name(self) -> str:
        return f"{self.title} {self.first} {self.surname}"

    @property
    def formal(self) -> str:
        return f"{self.title} {self.first[0]} {self.surname}"


def postcode(rng: random.Random, area: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return (
        f"{area}{rng.randint(1, 19)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
    )


def client(rng: random.Random) -> Client:
    if rng.random() < 0.5:
        first, title = rng.choice(FEMALE_NAMES), rng.choice(("Ms", "Mrs", "Miss", "Ms"))
    else:
        first, title = rng.choice(MALE_NAMES), "Mr"
    if rng.random() < 0.08:
        title = "Mx"
    town = rng.choice(TOWNS)
    street = f"{rng.randint(2, 148)} {rng.choice(STREETS)}"
    if rng.random() < 0.3:
        street = f"Flat {rng.randint(1, 24)}, {street}"
    return Client(
        title,
        first,
        rng.choice(SURNAMES),
        (street, town.name, postcode(rng, town.postcode_area)),
        town,
    )


@dataclass(frozen=True)
class Organisation:
    """A sender: its name as on its letterhead, as a bank statement shows it, and where it is."""

    name: str
    statement_name: str
    address: tuple[str, ...]
    phone: str
    registration: str = ""


def _org(name: str, short: str, street: str, town: str, phone: str, reg: str = "") -> Organisation:
    return Organisation(name, short, (street, town), phone, reg)


LENDERS = (
    _org(
        "Vanquis Bank Ltd",
        "VANQUIS BANK",
        "No. 1 Godwin Street",
        "Bradford BD1 2SU",
        "0330 099 1111",
        "Registered in England No. 2558509.",
    ),
    _org(
        "Harbour Credit Cards Ltd",
        "HARBOUR CARDS",
        "PO Box 4410",
        "Leeds LS1 9ZZ",
        "0345 600 2211",
        "Registered in England No. 07112233.",
    ),
    _org(
        "Pennine Loans Ltd",
        "PENNINE LOANS",
        "Bridge House, 2 Quay Street",
        "Halifax HX1 1QS",
        "0161 555 0142",
        "Registered in England No. 05561234.",
    ),
    _org(
        "Northgate Bank plc",
        "NORTHGATE BANK",
        "Collections, PO Box 77",
        "Sheffield S1 4RR",
        "0800 915 4400",
        "Registered in England No. 00981234.",
    ),
    _org(
        "Brightwater Finance Ltd",
        "BRIGHTWATER FIN",
        "12 Exchange Square",
        "Nottingham NG1 2BZ",
        "0333 014 7788",
        "Registered in England No. 09887766.",
    ),
    _org(
        "Sterling Catalogue Shopping Ltd",
        "STERLING CATALOGUE",
        "Sterling House",
        "Preston PR1 8XL",
        "0344 811 2020",
        "Registered in England No. 04412345.",
    ),
    _org(
        "NewDay Ltd",
        "NEWDAY AQUA",
        "7 Handyside Street",
        "London N1C 4DA",
        "0333 220 2691",
        "Registered in England No. 07297722.",
    ),
    _org(
        "Capital One (Europe) plc",
        "CAPITAL ONE",
        "PO Box 5281",
        "Nottingham NG2 3HX",
        "0344 481 0800",
        "Registered in England No. 03879319.",
    ),
)
COLLECTORS = (
    _org(
        "Lowell Financial Ltd",
        "LOWELL FINANCIAL",
        "PO Box 9090",
        "Leeds LS99 2AP",
        "0333 556 5550",
        "Registered in England No. 04558936.",
    ),
    _org(
        "Redwood Recoveries Ltd",
        "REDWOOD RECOVERIES",
        "3 Mill Lane",
        "Bolton BL1 1AA",
        "01204 555 019",
        "Registered in England No. 08123456.",
    ),
    _org(
        "Castlegate Credit Services Ltd",
        "CASTLEGATE CREDIT",
        "Castlegate House",
        "Stockton-on-Tees TS18 1BH",
        "01642 555 300",
        "Registered in England No. 06677889.",
    ),
    _org(
        "Intrum UK Ltd",
        "INTRUM UK",
        "The Omnibus Building, Lesbourne Road",
        "Reigate RH2 7JP",
        "0330 094 9996",
        "Registered in England No. 02278522.",
    ),
)
PURCHASERS = (
    "Lowell Portfolio I Ltd",
    "Cabot Financial (UK) Ltd",
    "Meridian Debt Purchase Ltd",
)
ENFORCEMENT_FIRMS = (
    _org(
        "Marches Enforcement Ltd",
        "MARCHES ENF",
        "Unit 4, Riverside Park",
        "Shrewsbury SY1 3BQ",
        "01743 555 810",
        "Registered in England No. 07345678.",
    ),
    _org(
        "Kestrel Enforcement Agents",
        "KESTREL ENF",
        "2 Falcon Court",
        "Warrington WA1 1XX",
        "01925 555 272",
        "Registered in England No. 08765432.",
    ),
    _org(
        "Ashdown Enforcement Services Ltd",
        "ASHDOWN ENF",
        "Ashdown House, 9 Crown Street",
        "Ipswich IP1 3LD",
        "01473 555 640",
        "Registered in England No. 05432198.",
    ),
)
ENERGY = (
    _org(
        "British Gas",
        "BRITISH GAS",
        "PO Box 227",
        "Rotherham S98 1PD",
        "0333 202 9802",
        "British Gas Trading Ltd. Registered in England No. 03078711.",
    ),
    _org(
        "Octopus Energy",
        "OCTOPUS ENERGY",
        "UK House, 5th Floor, 164-182 Oxford Street",
        "London W1D 1NN",
        "0808 164 1088",
        "Octopus Energy Ltd. Registered in England No. 09263424.",
    ),
    _org(
        "E.ON Next",
        "EON NEXT",
        "Westwood Way, Westwood Business Park",
        "Coventry CV4 8LG",
        "0808 501 5200",
        "E.ON Next Energy Ltd. Registered in England No. 03407430.",
    ),
    _org(
        "Meadowlight Energy Ltd",
        "MEADOWLIGHT ENERGY",
        "Meadow House, 40 Market Street",
        "Kendal LA9 4QS",
        "0300 555 0188",
        "Registered in England No. 11223344.",
    ),
)
WATER = (
    _org(
        "United Utilities",
        "UNITED UTILITIES",
        "Haweswater House, Lingley Mere",
        "Warrington WA5 3LP",
        "0345 672 3723",
        "United Utilities Water Ltd. Registered in England No. 02366678.",
    ),
    _org(
        "Severn Trent Water",
        "SEVERN TRENT",
        "PO Box 5344",
        "Coventry CV3 9FT",
        "0345 750 0500",
        "Severn Trent Water Ltd. Registered in England No. 02366686.",
    ),
    _org(
        "Thames Water",
        "THAMES WATER",
        "PO Box 436",
        "Swindon SN38 1TU",
        "0800 316 9800",
        "Thames Water Utilities Ltd. Registered in England No. 02366661.",
    ),
)
BANKS = (
    _org("Northgate Bank plc", "NORTHGATE BANK", "PO Box 77", "Sheffield S1 4RR", "0800 915 4400"),
    _org("Lloyds Bank", "LLOYDS BANK", "25 Gresham Street", "London EC2V 7HN", "0345 300 0000"),
    _org("Barclays", "BARCLAYS", "1 Churchill Place", "London E14 5HP", "0345 734 5345"),
    _org(
        "Nationwide Building Society",
        "NATIONWIDE",
        "Nationwide House, Pipers Way",
        "Swindon SN38 1NW",
        "0800 302 010",
    ),
    _org(
        "Tyne & Wear Mutual Bank",
        "TYNE WEAR MUTUAL",
        "Quayside Chambers",
        "Newcastle NE1 3DX",
        "0191 555 0900",
    ),
)
LANDLORDS = (
    _org(
        "Riverside Homes Housing Association",
        "RIVERSIDE HOMES",
        "Estate Office, Wharf Road",
        "Manchester M15 4AT",
        "0161 555 0300",
    ),
    _org(
        "Greenfold Housing Trust", "GREENFOLD HSG", "1 Fold Yard", "Leeds LS12 3EE", "0113 555 7711"
    ),
)
COURT_CENTRES = ("County Court Business Centre", "Civil National Business Centre")


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def reference(rng: random.Random, shape: str) -> str:
    """A reference in ``shape``: ``9`` a digit, ``A`` a capital letter, anything else as is."""
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I or O, as most issuers avoid them
    return "".join(
        rng.choice(string.digits) if c == "9" else rng.choice(letters) if c == "A" else c
        for c in shape
    )
