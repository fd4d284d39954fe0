"""The normalised text contact search reads: names, e-mail, phone digits and company name in one column.

One column with one trigram index (PostgreSQL) answers every contact search, where an OR over five
indexed columns made the index hand back tens of thousands of rows to recheck. The text is lower-cased,
each word follows a space (so " olga" is a word prefix and " olga " a whole word), and the company name
comes last, after a "|", so a company rename rewrites only that part (`company_part_set`).
"""

import re

from django.db.models import F, Value
from django.db.models.functions import Concat, Left, StrIndex

SEPARATOR = "|"
_DIGITS = re.compile(r"\D")


def normalise(text: str) -> str:
    """Lower-cased words separated by single spaces; the separator cannot occur inside."""
    return " ".join(str(text or "").lower().replace(SEPARATOR, " ").split())


def company_part(company_name: str) -> str:
    return f" {normalise(company_name)} " if normalise(company_name) else " "


def search_text_for(*, first_name: str, last_name: str, email: str, phone, company_name: str) -> str:
    """` olga kowalski olga.k@x.example 13105550150 | linen trading `: what every contact search reads."""
    digits = _DIGITS.sub("", str(phone or ""))
    own = normalise(" ".join((first_name or "", last_name or "", email or "", digits)))
    return f" {own} {SEPARATOR}{company_part(company_name)}"


def company_part_set(company_name: str) -> Concat:
    """An UPDATE expression: the contact's own part kept, the company part replaced (one statement)."""
    return Concat(
        Left(F("search_text"), StrIndex(F("search_text"), Value(SEPARATOR))),
        Value(company_part(company_name)),
    )
