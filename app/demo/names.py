"""Swedish names, Skåne towns and streets for the demo patients; plain data."""
from __future__ import annotations

# First names by birth cohort, so a patient born 1932 is a Gunnel and one born 2009 an Elsa.
FEMALE_FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "old": (
        "Margareta", "Birgitta", "Karin", "Kerstin", "Ingrid", "Elisabeth", "Gunnel", "Britt", "Marianne",
        "Ulla", "Barbro", "Gunilla", "Inger", "Maj-Britt", "Gerd", "Astrid", "Elsa", "Signe", "Greta",
        "Ingegerd", "Siv", "Ruth", "Dagny", "Anna-Lisa", "Gun", "Svea", "Märta", "Solveig", "Yvonne",
        "Berit",
    ),
    "middle": (
        "Anna", "Eva", "Maria", "Lena", "Annika", "Susanne", "Helena", "Carina", "Camilla", "Åsa",
        "Monica", "Anette", "Pia", "Malin", "Jenny", "Ulrika", "Cecilia", "Katarina", "Sofia", "Linda",
        "Therese", "Charlotte", "Agneta", "Marie", "Ann-Sofie", "Lotta", "Jessica", "Sara", "Hanna", "Johanna",
    ),
    "young": (
        "Elsa", "Alice", "Maja", "Ebba", "Wilma", "Ella", "Alma", "Olivia", "Saga", "Selma", "Vera",
        "Stella", "Agnes", "Freja", "Astrid", "Lilly", "Nora", "Klara", "Signe", "Ines", "Tyra", "Elin",
        "Emma", "Julia", "Moa", "Ida", "Amanda", "Nellie", "Hedda", "Leah",
    ),
}

MALE_FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "old": (
        "Karl", "Lars", "Gunnar", "Sven", "Bengt", "Göran", "Rolf", "Kjell", "Bertil", "Stig", "Ingvar",
        "Lennart", "Åke", "Hans", "Olle", "Arne", "Nils", "Erik", "Gösta", "Sture", "Tage", "Folke",
        "Harry", "Evert", "Ivar", "Sixten", "Einar", "Rune", "Sune", "Bo",
    ),
    "middle": (
        "Anders", "Per", "Mikael", "Johan", "Peter", "Thomas", "Magnus", "Jonas", "Fredrik", "Daniel",
        "Stefan", "Mats", "Henrik", "Patrik", "Jörgen", "Ulf", "Martin", "Andreas", "Niklas", "Tobias",
        "Håkan", "Christer", "Marcus", "Mattias", "Joakim", "Björn", "Robert", "Kristoffer", "David", "Jesper",
    ),
    "young": (
        "William", "Hugo", "Liam", "Noah", "Lucas", "Oscar", "Elias", "Alexander", "Adam", "Leo", "Nils",
        "Arvid", "Vincent", "Theo", "Ludvig", "Olle", "Melvin", "Axel", "Valter", "Isak", "Edvin", "Malte",
        "Viktor", "Filip", "Emil", "Sixten", "Alfred", "Loke", "Gustav", "Albin",
    ),
}

LAST_NAMES: tuple[str, ...] = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson",
    "Gustafsson", "Pettersson", "Jönsson", "Jansson", "Hansson", "Bengtsson", "Jakobsson", "Magnusson",
    "Lindberg", "Lindström", "Lindqvist", "Olofsson", "Lindgren", "Axelsson", "Berg", "Bergström",
    "Lundberg", "Lundgren", "Lind", "Lundqvist", "Mattsson", "Berglund", "Fredriksson", "Sandberg",
    "Henriksson", "Forsberg", "Sjöberg", "Wallin", "Engström", "Danielsson", "Håkansson", "Eklund",
    "Lundin", "Gunnarsson", "Holm", "Björk", "Bergman", "Samuelsson", "Fransson", "Wikström", "Isaksson",
    "Ekström", "Holmberg", "Nyström", "Arvidsson", "Söderberg", "Nyberg", "Blomqvist", "Claesson",
    "Nordström", "Mårtensson", "Lundström", "Ali", "Viklund", "Björklund", "Eliasson", "Pålsson",
    "Berggren", "Sandström", "Lund", "Nordin", "Ström", "Åberg", "Hermansson", "Ekberg", "Holmgren",
    "Falk", "Dahlberg", "Hellström", "Hedlund", "Sundberg", "Sjögren", "Ek", "Blom", "Abrahamsson",
    "Martinsson", "Öberg", "Andreasson", "Strömberg", "Månsson", "Åkesson", "Hansen", "Nguyen",
    "Mohammed", "Hassan", "Yilmaz", "Novak", "Kowalski", "Ibrahim", "Rosén", "Ljungberg",
)

# (city, postal-code prefixes, relative weight ≈ population): Skåne towns only.
TOWNS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("Malmö", ("211", "212", "214", "215", "216", "217", "218"), 30),
    ("Lund", ("222", "223", "224", "225", "226", "227"), 12),
    ("Helsingborg", ("252", "253", "254", "256"), 12),
    ("Kristianstad", ("291", "296"), 7),
    ("Landskrona", ("261",), 4),
    ("Trelleborg", ("231",), 4),
    ("Ängelholm", ("262",), 4),
    ("Hässleholm", ("281",), 4),
    ("Ystad", ("271",), 3),
    ("Eslöv", ("241",), 3),
    ("Staffanstorp", ("245",), 2),
    ("Kävlinge", ("244",), 2),
    ("Höganäs", ("263",), 2),
    ("Vellinge", ("235",), 2),
    ("Svedala", ("233",), 2),
    ("Lomma", ("234",), 2),
    ("Höör", ("243",), 1),
    ("Hörby", ("242",), 1),
    ("Sjöbo", ("275",), 1),
    ("Simrishamn", ("272",), 1),
    ("Tomelilla", ("273",), 1),
    ("Skurup", ("274",), 1),
    ("Klippan", ("264",), 1),
    ("Båstad", ("269",), 1),
    ("Arlöv", ("232",), 1),
    ("Södra Sandby", ("247",), 1),
)

STREET_NAMES: tuple[str, ...] = (
    "Storgatan", "Kyrkogatan", "Skolgatan", "Järnvägsgatan", "Östergatan", "Västergatan", "Södergatan",
    "Norregatan", "Drottninggatan", "Kungsgatan", "Trädgårdsgatan", "Bokvägen", "Ekvägen", "Björkvägen",
    "Lindvägen", "Lönnvägen", "Rönnvägen", "Almvägen", "Kastanjevägen", "Hasselvägen", "Syrénvägen",
    "Tulpanvägen", "Rosenvägen", "Liljevägen", "Prästgårdsvägen", "Mejerigatan", "Bryggaregatan",
    "Stationsvägen", "Parkgatan", "Ringvägen", "Villavägen", "Ängsvägen", "Åkervägen", "Backavägen",
    "Fäladsgatan", "Möllevångsgatan", "Sankt Laurentiigatan", "Klostergatan", "Bredgatan", "Smedjegatan",
    "Sockerbruksgatan", "Hamngatan", "Strandvägen", "Fiskaregatan", "Sjöbergsgatan", "Tornavägen",
    "Vallgatan", "Gamla Lundavägen", "Malmövägen", "Landsvägen", "Ljungvägen", "Hagagatan", "Nygatan",
    "Lilla Torg", "Stortorget", "Magistratsvägen", "Vildandsvägen", "Tåsjövägen", "Kämnärsvägen",
)

# Vård- och omsorgsboenden: delivery address of patients in special housing.
CARE_HOMES: tuple[str, ...] = (
    "Solgårdens vård- och omsorgsboende", "Ekbackens äldreboende", "Linnégårdens vårdboende",
    "Rosengårdens omsorgsboende", "Lindhaga vård- och omsorgsboende", "Vårdhemmet Åsgården",
    "Hemgårdens äldreboende", "Kastanjegårdens vårdboende", "Omsorgsboendet Tornet", "Ljunghusens vårdboende",
)

# Relations of a contact person to an adult patient, by the patient's sex where it matters.
ADULT_RELATIONS: tuple[str, ...] = ("Dotter", "Son", "Dotter", "Son", "Syster", "Bror", "Barnbarn", "God man", "Granne")
PARTNER_RELATION = {"female": ("Make", "Sambo"), "male": ("Maka", "Sambo")}
CHILD_RELATIONS: tuple[str, ...] = ("Mamma", "Pappa", "Vårdnadshavare")

# PTS reserves these numbers for fiction, so a demo call can never reach a real person.
FICTIONAL_MOBILE_PREFIX = "070-174 06"
FICTIONAL_MOBILE_RANGE = range(5, 100)
FICTIONAL_LANDLINE_PREFIX = "040-628 04"
FICTIONAL_LANDLINE_RANGE = range(0, 100)
