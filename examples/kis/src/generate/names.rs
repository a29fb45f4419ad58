//! The names, places and codes patients, cases and physicians are drawn from: German names with
//! umlauts and ß and their spellings without them, streets, towns, wards, diagnoses and
//! specialties.

pub(super) const FAMILY: &[&str] = &[
    "Müller",
    "Mueller",
    "Muller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schäfer",
    "Schaefer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Schröder",
    "Neumann",
    "Krüger",
    "Köhler",
    "König",
    "Möller",
    "Weiß",
    "Weiss",
    "Groß",
    "Jäger",
    "Böhm",
    "Krämer",
    "Günther",
    "Kühn",
    "Hoffmann",
    "Zimmermann",
    "Lehmann",
    "Öztürk",
    "Ölschläger",
    "Straßburger",
    "Meier",
    "Maier",
];
pub(super) const GIVEN_M: &[&str] = &[
    "Jürgen", "Jörg", "Björn", "Sören", "Günter", "Hans", "Peter", "Klaus", "Michael", "Thomas",
    "Andreas", "Stefan", "Uwe", "Lukas", "Jonas", "Émile", "André",
];
pub(super) const GIVEN_W: &[&str] = &[
    "Anna", "Maria", "Ursula", "Monika", "Petra", "Sabine", "Jutta", "Käthe", "Bärbel", "Doris",
    "Gisela", "Renate", "Marie", "Sophie", "Zoë", "Chloé", "Renée", "Özlem",
];
pub(super) const TITLES: &[&str] = &["Dr.", "Prof. Dr.", "Dr. med.", "Dipl.-Ing."];
pub(super) const STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Schloßallee",
    "Gartenweg",
    "Am Mühlbach",
    "Lindenstraße",
    "Kirchplatz",
    "Goethestraße",
    "Schillerstraße",
    "Königsallee",
];
pub(super) const CITIES: &[(&str, &str)] = &[
    ("10115", "Berlin"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("20095", "Hamburg"),
    ("60311", "Frankfurt am Main"),
    ("40213", "Düsseldorf"),
    ("04109", "Leipzig"),
    ("90403", "Nürnberg"),
    ("97070", "Würzburg"),
    ("79098", "Freiburg im Breisgau"),
    ("48143", "Münster"),
    ("66111", "Saarbrücken"),
    ("01067", "Dresden"),
    ("30159", "Hannover"),
];
pub(super) const STATIONS: &[&str] = &[
    "KARD1", "CHIR2", "INT", "NOTA", "GYN", "PAED", "NEURO", "ONKO",
];
pub(super) const ICD: &[&str] = &[
    "I10.90", "E11.90", "J18.9", "I21.4", "N17.9", "K35.8", "S72.00", "C34.1", "F32.1", "U07.1",
    "I50.13", "J44.19", "E78.0", "Z95.1",
];
pub(super) const SPECIALTIES: &[&str] = &[
    "Innere Medizin",
    "Allgemeinchirurgie",
    "Kardiologie",
    "Anästhesiologie",
    "Neurologie",
    "Gynäkologie und Geburtshilfe",
    "Kinder- und Jugendmedizin",
    "Labormedizin",
];
