"""Bulk seeding for the CRM benches: contacts, companies and deals straight into PostgreSQL with SQL.

Rows are made by INSERT ... SELECT over generate_series (hundreds of thousands a minute) and marked with
a "bench-" lead source / domain so the benches can top a table up to a size and find their rows again.
PostgreSQL only; the benches say so and exit on another database.
"""

from django.db import connection

FIRST = [
    "Ada", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam", "Maya",
    "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Yara", "Zoe", "Amir", "Bea",
    "Carlos", "Dana", "Emil", "Fiona", "Gabriel", "Hana", "Ivan", "Julia", "Kenji", "Lena", "Marco", "Nina",
    "Oscar", "Paula", "Rafael", "Sofia", "Tomas", "Una", "Victor", "Wanda", "Xavier", "Yusuf", "Zara", "Aiko",
    "Bruno", "Clara", "Dmitri", "Esther", "Felix", "Greta", "Hassan", "Ingrid",
]  # fmt: skip
# Surnames from syllables (8,000 of them, as diverse as a real customer base), plus every 50th contact one
# of ten common real surnames (0.2 % each): searching one of those is the costly case.
SYL_A = [
    "Ab", "Al", "An", "Ar", "Ba", "Be", "Bo", "Ca", "Ch", "Da", "De", "Do", "El", "Fa", "Fe", "Ga", "Gr", "Ha",
    "He", "Ho", "Ja", "Ka", "Ki", "Ko", "La", "Le", "Lo", "Ma", "Me", "Mo", "Na", "Ne", "No", "Pa", "Pe", "Ra",
    "Re", "Ro", "Sa", "Se",
]  # fmt: skip
SYL_B = ["ber", "cal", "dor", "fen", "gar", "hol", "kin", "lan", "mer", "nor", "pel", "quin", "ros", "sel", "tor",
         "van", "wen", "xel", "yor", "zan"]  # fmt: skip
SYL_C = ["", "son", "sen", "ski", "ez", "ini", "ova", "berg", "ley", "ton"]
COMMON = ["Garcia", "Smith", "Müller", "Nguyen", "Kowalski", "Rossi", "Silva", "Okafor", "Tanaka", "Cohen"]
WORDS = [
    "Nord",
    "Atelier",
    "Linen",
    "Summit",
    "Beacon",
    "Velvet",
    "Orbital",
    "Maison",
    "Thread",
    "Crescent",
    "Loom",
    "Silk",
    "Denim",
    "Saffron",
    "Juniper",
    "Sterling",
    "Modish",
    "Evergreen",
    "Relay",
    "Vertex",
]
KINDS = [
    "Trading",
    "Retail",
    "Fashion",
    "Textiles",
    "Supplies",
    "Group",
    "Studio",
    "Partners",
    "Goods",
    "Works",
]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("This bench needs PostgreSQL: set DATABASE_URL=postgres://... (migrated).")


def count(table: str, where: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}")  # noqa: S608 - constant SQL
        return cursor.fetchone()[0]


def companies_top_up(total: int) -> int:
    have = count("contacts_company", "domain LIKE 'bench-%'")
    if have < total:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO contacts_company (name, domain, industry, size, phone, address, created_at, updated_at)
                SELECT ({_array(WORDS)})[1 + ((i::bigint * 7) %% {len(WORDS)})::int] || ' ' ||
                       ({_array(KINDS)})[1 + ((i::bigint * 13) %% {len(KINDS)})::int] || ' ' || i,
                       'bench-' || i || '.example', 'Retail', '', '+1' || (2000000000::bigint + i * 37), '', now(), now()
                FROM generate_series(%s, %s) AS i
                """,  # noqa: S608 - constant SQL
                [have + 1, total],
            )
    return total


def contacts_drop() -> None:
    """Remove the bench contacts (e.g. after the name scheme changed)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM contacts_contact WHERE lead_source = 'bench'")


def contacts_top_up(total: int) -> int:
    """At least `total` bench contacts, spread over the bench companies (one in ten without a company)."""
    have = count("contacts_contact", "lead_source = 'bench'")
    if have >= total:
        return have
    with connection.cursor() as cursor:
        # Bench companies by rank: their ids need not be contiguous.
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bench_company_rank AS SELECT row_number() OVER (ORDER BY id) AS n, id"
            " FROM contacts_company WHERE domain LIKE 'bench-%'"
        )
        cursor.execute("SELECT count(*) FROM bench_company_rank")
        companies = cursor.fetchone()[0]
        cursor.execute(
            f"""
            INSERT INTO contacts_contact (first_name, last_name, email, phone, job_title, company_id, owner_id,
                                          lifecycle_stage, lead_source, created_at, updated_at, search_text)
            SELECT first_name, last_name, email, phone, '', company_id, NULL, 'lead', 'bench', now(), now(),
                   -- contacts/search_text.py's rule (these names are ASCII words, so SQL lower() is Python's)
                   ' ' || lower(first_name) || ' ' || lower(last_name) || ' ' || email || ' ' || substr(phone, 2)
                   || ' |' || coalesce(' ' || lower(company_name), '') || ' '
            FROM (
                SELECT ({_array(FIRST)})[1 + ((i::bigint * 7919) %% {len(FIRST)})::int] AS first_name,
                       CASE WHEN i %% 50 = 0 THEN ({_array(COMMON)})[1 + ((i / 50) %% {len(COMMON)})::int]
                            ELSE ({_array(SYL_A)})[1 + ((i::bigint * 104729) %% {len(SYL_A)})::int]
                              || ({_array(SYL_B)})[1 + ((i::bigint * 7907) %% {len(SYL_B)})::int]
                              || ({_array(SYL_C)})[1 + ((i::bigint * 6007) %% {len(SYL_C)})::int] END AS last_name,
                       lower(({_array(FIRST)})[1 + ((i::bigint * 7919) %% {len(FIRST)})::int]) || '.' || i
                           || '@mail-' || (i %% 97) || '.example' AS email,
                       '+1' || (3100000000::bigint + i) AS phone,
                       company.id AS company_id, company.name AS company_name
                FROM generate_series(%s, %s) AS i
                LEFT JOIN bench_company_rank AS rank ON rank.n = 1 + (i::bigint * 31) %% %s AND i %% 10 <> 0
                LEFT JOIN contacts_company AS company ON company.id = rank.id
            ) AS seeded
            """,  # noqa: S608 - constant SQL
            [have + 1, total, companies],
        )
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("ANALYZE contacts_company")
    return total
