"""Vocabulary for the benchmark fill: channels, suppliers, carriers, people, places and products.

Names and places are per country so a customer in Brno is called *Tomáš Dvořák*, not *Hans Rossi*.
Every postcode generator yields postcodes that pass `models.orders.validation` for its country.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    kind: str
    currency: str
    share: float
    needs_acceptance: bool
    auto_accept: bool
    #: Builds the channel's own order id from a per-channel sequence number.
    order_id: Callable[[int], str]
    #: Internal status -> the status the channel itself reports.
    statuses: dict[str, str]


_MARKETPLACE_STATUSES = {
    "pending_review": "WAITING_ACCEPTANCE",
    "awaiting_acceptance": "WAITING_ACCEPTANCE",
    "awaiting_fulfillment": "SHIPPING",
    "processing": "SHIPPING",
    "partially_shipped": "SHIPPING",
    "shipped": "SHIPPED",
    "delivered": "RECEIVED",
    "returned": "CLOSED",
    "rejected": "REFUSED",
    "cancelled": "CANCELED",
}
_BACKMARKET_STATUSES = {
    "pending_review": "1",
    "awaiting_acceptance": "1",
    "awaiting_fulfillment": "3",
    "processing": "3",
    "partially_shipped": "3",
    "shipped": "9",
    "delivered": "9",
    "returned": "9",
    "rejected": "4",
    "cancelled": "4",
}
_MALL_STATUSES = {
    "pending_review": "open",
    "awaiting_acceptance": "open",
    "awaiting_fulfillment": "open",
    "processing": "open",
    "partially_shipped": "shipping",
    "shipped": "shipped",
    "delivered": "delivered",
    "returned": "returned",
    "rejected": "cancelled",
    "cancelled": "cancelled",
}
_SHOP_STATUSES = {
    "pending_review": "unfulfilled",
    "awaiting_acceptance": "unfulfilled",
    "awaiting_fulfillment": "unfulfilled",
    "processing": "unfulfilled",
    "partially_shipped": "partial",
    "shipped": "fulfilled",
    "delivered": "fulfilled",
    "returned": "fulfilled",
    "rejected": "cancelled",
    "cancelled": "cancelled",
}

CHANNELS = [
    ChannelSpec(
        "Mirakl Marketplace FR", "mirakl", "EUR", 0.30, True, False, lambda n: f"MKP{n:09d}-A", _MARKETPLACE_STATUSES
    ),
    ChannelSpec(
        "Back Market", "backmarket", "EUR", 0.20, True, False, lambda n: f"BM{40_000_000 + n}", _BACKMARKET_STATUSES
    ),
    ChannelSpec("MALL.cz", "mall", "CZK", 0.15, True, True, lambda n: f"{5_100_000_000 + n * 7}", _MALL_STATUSES),
    ChannelSpec(
        "Kaufland.de", "kaufland", "EUR", 0.13, True, False, lambda n: f"KL-{n:07d}-{n % 97:02d}", _MARKETPLACE_STATUSES
    ),
    ChannelSpec(
        "Maison Lumière web shop", "shopify", "EUR", 0.22, False, False, lambda n: f"#{1000 + n}", _SHOP_STATUSES
    ),
]

#: (name, kind, prepaid, wallet balance in cents, SKU prefix)
SUPPLIERS = [
    ("BigBuy", "bigbuy", True, 182_350, "BB"),
    ("ShipBob", "shipbob", False, None, "SB"),
    ("Cubyn", "cubyn", False, None, "CY"),
]

#: (name, code, tracking URL, tracking number pattern, tracking number factory)
CARRIERS: list[tuple[str, str, str, str, Callable[[random.Random], str]]] = [
    (
        "Colissimo",
        "COLISSIMO",
        "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}",
        r"[0-9A-Z]{11,15}",
        lambda r: f"6A{r.randrange(10**10, 10**11)}",
    ),
    (
        "DHL",
        "DHL",
        "https://www.dhl.com/track?tracking-id={tracking}",
        r"\d{10,11}",
        lambda r: f"{r.randrange(10**9, 10**10)}",
    ),
    (
        "UPS",
        "UPS",
        "https://www.ups.com/track?tracknum={tracking}",
        r"1Z[0-9A-Z]{16}",
        lambda r: "1Z" + "".join(r.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=16)),
    ),
    ("GLS", "GLS", "https://gls-group.com/track/{tracking}", "", lambda r: f"GLS{r.randrange(10**8, 10**9)}"),
    (
        "DPD",
        "DPD",
        "https://tracking.dpd.de/status/en_US/parcel/{tracking}",
        "",
        lambda r: f"0{r.randrange(10**12, 10**13)}",
    ),
    (
        "Zásilkovna",
        "PACKETA",
        "https://tracking.packeta.com/{tracking}",
        "",
        lambda r: f"Z{r.randrange(10**9, 10**10)}",
    ),
]


def _digits(n: int) -> Callable[[random.Random], str]:
    return lambda r: f"{r.randrange(10 ** (n - 1), 10**n)}"


def _cz_postcode(r: random.Random) -> str:
    return f"{r.randrange(100, 800)} {r.randrange(0, 100):02d}"


def _nl_postcode(r: random.Random) -> str:
    return f"{r.randrange(1000, 10000)} {''.join(r.choices('ABCDEFGHJKLMNPRSTVWXZ', k=2))}"


def _pl_postcode(r: random.Random) -> str:
    return f"{r.randrange(0, 100):02d}-{r.randrange(0, 1000):03d}"


def _pt_postcode(r: random.Random) -> str:
    return f"{r.randrange(1000, 10000)}-{r.randrange(0, 1000):03d}"


@dataclass(frozen=True)
class CountrySpec:
    code: str
    share: float
    phone_prefix: str
    postcode: Callable[[random.Random], str]
    cities: list[str]
    streets: list[str]
    #: Street line from a street name and a house number.
    street_format: str
    first_names: list[str]
    last_names: list[str]
    email_domains: list[str]


COUNTRIES = [
    CountrySpec(
        "FR", 0.30, "+33 6", _digits(5),
        ["Paris", "Lyon", "Marseille", "Toulouse", "Bordeaux", "Nantes", "Lille", "Strasbourg", "Montpellier",
         "Rennes", "Besançon", "Nîmes", "Orléans", "Saint-Étienne", "Angers", "Caen", "Dijon", "Grenoble"],
        ["rue de la Paix", "avenue des Champs-Élysées", "rue Mouffetard", "boulevard Haussmann", "quai des Chartrons",
         "place Bellecour", "rue de la République", "chemin des Écoliers", "allée des Tilleuls", "rue Émile Zola",
         "impasse du Moulin", "rue Pasteur", "avenue Jean Jaurès", "rue Victor Hugo", "place du Général-de-Gaulle"],
        "{n} {s}",
        ["Zoë", "Amélie", "Inès", "François", "Chloé", "Anaïs", "Renée", "Émile", "Héloïse", "Maëlle", "Noé",
         "Léa", "Jérôme", "Hélène", "Gaëlle", "Théo", "Cécile", "Benoît", "Léon", "Clément", "Mathéo", "Loïc",
         "Camille", "Manon", "Hugo", "Lucas", "Élodie", "Raphaël", "Joël", "Océane"],
        ["Lefèvre", "Dubois", "Moreau", "Petit", "Lambert", "Martin", "Bernard", "Durand", "Leroy", "Fournier",
         "Girard", "Bonnet", "Mercier", "Rousseau", "Faure", "Chevalier", "Gauthier", "Garnier", "Lemaître",
         "Bézier", "Thévenin", "Benoît", "Gérard", "Hébert", "Ménard", "Chérel", "Boucher", "Dupré"],
        ["orange.fr", "free.fr", "gmail.com", "laposte.net", "sfr.fr", "outlook.fr"],
    ),
    CountrySpec(
        "DE", 0.24, "+49 151", _digits(5),
        ["Berlin", "München", "Hamburg", "Köln", "Düsseldorf", "Frankfurt am Main", "Stuttgart", "Leipzig",
         "Nürnberg", "Dresden", "Lübeck", "Göttingen", "Würzburg", "Mönchengladbach", "Saarbrücken", "Freiburg"],
        ["Friedrichstraße", "Königsallee", "Marienplatz", "Hauptstraße", "Schloßstraße", "Bahnhofstraße",
         "Goethestraße", "Lindenstraße", "Mühlenweg", "Gartenstraße", "Am Stadtpark", "Rosenstraße", "Kirchgasse"],
        "{s} {n}",
        ["Jürgen", "Björn", "Lukas", "Jörg", "Günther", "Sönke", "Käthe", "Jürgen", "Anna", "Lena", "Maximilian",
         "Felix", "Leonie", "Jonas", "Lea", "Tobias", "Sören", "Mia", "Hannah", "Paul", "Uwe", "Bärbel", "Dörte",
         "Ralf", "Götz", "Ilse", "Klaus"],
        ["Müller", "Schröder", "Jäger", "Krämer", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
         "Becker", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schütz", "Böhm", "Günther", "Groß",
         "Hoffmann", "Köhler", "Lößner", "Weiß", "Zimmermann", "Braun", "Krüger", "Hahn", "Schulz"],
        ["web.de", "gmx.de", "t-online.de", "gmail.com", "posteo.de"],
    ),
    CountrySpec(
        "ES", 0.10, "+34 6", _digits(5),
        ["Madrid", "Barcelona", "València", "Sevilla", "Málaga", "Zaragoza", "Córdoba", "A Coruña", "Cádiz", "León"],
        ["Calle de Alcalá", "Passeig de Gràcia", "Gran Vía", "Calle Mayor", "Avenida de la Constitución",
         "Calle del Príncipe", "Plaza de España", "Calle Sánchez Barcáiztegui", "Rambla de Catalunya"],
        "{s} {n}",
        ["Núria", "Mateo", "Lucía", "Sofía", "Andrés", "Álvaro", "José", "María", "Martín", "Inés", "Raúl",
         "Begoña", "Ramón", "Ángela", "Jesús", "Pilar", "Íñigo", "Joaquín", "Rocío"],
        ["García", "Fernández", "Martínez", "Núñez", "López", "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez",
         "Ruiz", "Hernández", "Díaz", "Álvarez", "Muñoz", "Romero", "Gutiérrez", "Ibáñez", "Peña", "Castaño"],
        ["gmail.com", "hotmail.es", "telefonica.net", "yahoo.es"],
    ),
    CountrySpec(
        "IT", 0.09, "+39 3", _digits(5),
        ["Roma", "Milano", "Napoli", "Torino", "Bologna", "Firenze", "Genova", "Forlì", "Cantù", "Venezia"],
        ["Via del Corso", "Corso Buenos Aires", "Via Roma", "Piazza Navona", "Via Garibaldi", "Via Nazionale",
         "Corso Vittorio Emanuele II", "Via della Libertà", "Viale dei Giardini"],
        "{s} {n}",
        ["Giulia", "Niccolò", "Francesca", "Lorenzo", "Chiara", "Alessandro", "Martina", "Matteo", "Aurora",
         "Giosuè", "Mattia", "Ludovica", "Elia", "Beatrice"],
        ["Rossi", "Bianchi", "Russo", "Ferrari", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco",
         "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Fabbrì", "D'Angelo", "Lombardi", "Mazzà"],
        ["libero.it", "gmail.com", "virgilio.it", "tiscali.it"],
    ),
    CountrySpec(
        "CZ", 0.08, "+420 6", _cz_postcode,
        ["Praha", "Brno", "Ostrava", "Plzeň", "Liberec", "Olomouc", "České Budějovice", "Hradec Králové",
         "Ústí nad Labem", "Pardubice", "Zlín", "Jihlava"],
        ["Václavské náměstí", "Masarykova", "Národní", "Husova", "Palackého", "Nádražní", "Komenského",
         "Žižkova", "Smetanova", "Dlouhá", "Křižíkova"],
        "{s} {n}",
        ["Tomáš", "Jiří", "Karel", "Ondřej", "Petr", "Jan", "Lucie", "Tereza", "Kateřina", "Veronika", "Jakub",
         "Michal", "Eliška", "Anežka", "Vojtěch", "Šimon", "Zdeněk", "Radek", "Bára"],
        ["Dvořák", "Novák", "Svoboda", "Novotný", "Černý", "Procházka", "Kučera", "Veselý", "Horák", "Němec",
         "Hořejší", "Šimková", "Marešová", "Pokorný", "Růžička", "Beneš", "Fiala", "Sedláček", "Doležal", "Zeman"],
        ["seznam.cz", "email.cz", "centrum.cz", "gmail.com"],
    ),
    CountrySpec(
        "PL", 0.07, "+48 5", _pl_postcode,
        ["Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Szczecin", "Białystok", "Toruń", "Rzeszów"],
        ["ul. Nowy Świat", "ul. Marszałkowska", "ul. Floriańska", "ul. Piotrkowska", "ul. Długa", "al. Jerozolimskie",
         "ul. Świętojańska", "ul. Mickiewicza", "ul. Słowackiego"],
        "{s} {n}",
        ["Łukasz", "Agnieszka", "Małgorzata", "Paweł", "Michał", "Katarzyna", "Wojciech", "Zofia", "Józef",
         "Żaneta", "Grzegorz", "Bartłomiej", "Magdalena", "Jędrzej"],
        ["Nowak", "Kowalski", "Łęcka", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
         "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Król"],
        ["wp.pl", "onet.pl", "interia.pl", "gmail.com", "o2.pl"],
    ),
    CountrySpec(
        "NL", 0.05, "+31 6", _nl_postcode,
        ["Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Haarlem"],
        ["Prinsengracht", "Keizersgracht", "Damrak", "Coolsingel", "Oudegracht", "Stationsplein", "Kerkstraat"],
        "{s} {n}",
        ["Daan", "Sanne", "Anouk", "Jeroen", "Bram", "Fleur", "Sem", "Noor", "Maarten", "Eline", "Thijs"],
        ["van der Berg", "de Jong", "Jansen", "de Vries", "van Dijk", "Bakker", "Visser", "Smit", "Meijer",
         "de Boer", "Mulder", "van Leeuwen", "Brouwer"],
        ["ziggo.nl", "kpnmail.nl", "gmail.com", "hotmail.nl"],
    ),
    CountrySpec(
        "PT", 0.03, "+351 9", _pt_postcode,
        ["Lisboa", "Porto", "Braga", "Coimbra", "Évora", "Setúbal", "Funchal"],
        ["Rua Augusta", "Avenida da Liberdade", "Rua de Santa Catarina", "Praça do Comércio", "Rua das Flores"],
        "{s}, {n}",
        ["João", "Inês", "Gonçalo", "Conceição", "Tomás", "Beatriz", "Simão", "Leonor", "Sebastião"],
        ["Silva", "Gonçalves", "Conceição", "Araújo", "Simões", "Magalhães", "Patrício", "Gonçalves", "Brandão"],
        ["sapo.pt", "gmail.com", "clix.pt"],
    ),
    CountrySpec(
        "AT", 0.02, "+43 664", _digits(4),
        ["Wien", "Graz", "Linz", "Salzburg", "Innsbruck", "Klagenfurt", "Sankt Pölten"],
        ["Mariahilfer Straße", "Kärntner Straße", "Getreidegasse", "Herrengasse", "Landstraßer Hauptstraße"],
        "{s} {n}",
        ["Florian", "Lisa", "Jürgen", "Theresa", "Maximilian", "Valentina", "Moritz", "Anna-Lena"],
        ["Gruber", "Huber", "Wagner", "Pichler", "Steiner", "Moser", "Mayer", "Hofer", "Leitner", "Bauer"],
        ["gmx.at", "aon.at", "gmail.com"],
    ),
    CountrySpec(
        "BE", 0.02, "+32 4", _digits(4),
        ["Bruxelles", "Antwerpen", "Gent", "Liège", "Namur", "Brugge", "Leuven"],
        ["Rue Neuve", "Meir", "Avenue Louise", "Veldstraat", "Place Saint-Lambert", "Grote Markt"],
        "{s} {n}",
        ["Maëlle", "Thibault", "Wout", "Elodie", "Jef", "Anaïs", "Lotte", "Gilles"],
        ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Dubois", "Lejeune"],
        ["skynet.be", "telenet.be", "proximus.be", "gmail.com"],
    ),
]  # fmt: skip

PRODUCT_NOUNS = [
    ("Water bottle", ["500 ml", "750 ml", "1 l"]),
    ("Cutting board", ["bamboo", "walnut", "set of 3"]),
    ("Wireless earbuds", ["black", "white", "sport"]),
    ("Bath towel", ["50×100, grey", "70×140, grey", "70×140, sand", "100×150, navy"]),
    ("Yoga mat", ["4 mm", "6 mm", "cork"]),
    ("Desk lamp", ["LED, USB-C", "brass", "clamp-on"]),
    ("Coffee mug", ["“Bonjour”", "enamel", "350 ml"]),
    ("Rain jacket", ["size 104", "size 116", "size 128", "women's M", "men's L"]),
    ("Skillet", ["cast iron 24 cm", "cast iron 26 cm", "non-stick 28 cm"]),
    ("Scented candle", ["fig & cedar", "lavender", "ambre doré"]),
    ("Phone case", ["iPhone 15", "Galaxy S24", "Pixel 8"]),
    ("Running socks", ["39–42", "43–46", "3-pack"]),
    ("Backpack", ["20 l", "28 l, waterproof", "laptop 15″"]),
    ("Kitchen scale", ["digital", "5 kg"]),
    ("Bed linen set", ["140×200, percale", "200×200, linen"]),
    ("Garden hose", ["15 m", "25 m", "spiral"]),
    ("Café crème beans", ["1 kg", "500 g"]),
    ("Children's wellies", ["size 24", "size 28", "size 32"]),
    ("Reading glasses", ["+1.5", "+2.0", "+2.5"]),
    ("USB-C charger", ["30 W", "65 W", "100 W"]),
]
ADJECTIVES = ["", "Premium ", "Eco ", "Classic ", "Compact ", "Nordic ", "Vintage ", "Pro "]

SHIPPING_RATES = [("Free shipping", 0), ("Standard", 490), ("Standard", 590), ("Express", 990)]
SUPPLIER_METHODS = {"Free shipping": "Economy", "Standard": "Standard", "Express": "UPS Express Saver"}
COMPANIES = [
    "Atelier Dupré SARL",
    "Müller & Söhne GmbH",
    "Ferretería Núñez S.L.",
    "Studio Čížek s.r.o.",
    "Bäckerei Groß",
]
REJECTION_REASONS = ["Out of stock", "Price error", "Cannot ship to this address", "Discontinued product"]
CANCEL_REASONS = ["customer asked to cancel", "payment not received", "duplicate order"]
