"""Search over contacts and companies for lists, pickers and global search: one rule, ranked results.

A query is split into terms; every term must match (AND). A term of three characters or more matches
anywhere ("contains"), a shorter one only at the start of a word (a two-letter "contains" matches half
the table anyway). A query that looks like a phone number (digits with spaces, dashes, dots, brackets or
a leading +) matches the stored E.164 number: a whole number (7 digits or more) its end, a shorter
fragment anywhere, so "+1 310-555-0150", "310-555-0150" and "3105550150" find the same contact.

Contacts are searched through one normalised column, `Contact.search_text` (names, e-mail, phone digits,
company name; contacts/search_text.py) with ONE trigram index on PostgreSQL (migration contacts 0006):
`search_text LIKE '%term%'`, on SQLite a scan of the same column; whole phone numbers read a B-tree on
the reversed phone (contacts 0007). Companies keep their per-column
trigram indexes (contacts 0004). Ranked searches order exact matches first, then prefix matches, then
the rest.
"""

import re

from django.db import connection, transaction
from django.db.models import Case, CharField, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Concat, Lower, Reverse
from django.db.models.lookups import StartsWith

from .models import Company, Contact
from .search_text import normalise

MIN_CONTAINS = 3
PICKER_LIMIT = 20
_PHONE = re.compile(r"^\+?[\d\s().\-/]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MIN_PHONE_DIGITS = 5


def any_of(model, *querysets) -> Q:
    """Rows of `model` found by any of the querysets: `pk IN (a UNION ALL b ...)`.

    "Name contains x OR company name contains x" written as one OR over a join can use no index; as a
    union each branch uses its own (trigram on the name, the company_id index for the company's
    contacts) and PostgreSQL joins the ids once (a hash semi-join), however many match.
    """
    first, *rest = [qs.order_by().values("pk") for qs in querysets]
    return Q(pk__in=first.union(*rest, all=True)) if rest else Q(pk__in=first)


def terms(query: str) -> list[str]:
    return [term for term in (query or "").split() if term]


def phone_digits(query: str) -> str:
    """The digits to look for when the whole query is a phone number, else "".

    Leading zeros go: a national trunk prefix (020 ...) or an international one (0049 ...) is not part
    of the stored E.164 number.
    """
    query = (query or "").strip()
    if not _PHONE.match(query):
        return ""
    digits = re.sub(r"\D", "", query).lstrip("0")
    return digits if len(digits) >= _MIN_PHONE_DIGITS else ""


def text_q(term: str, fields: tuple[str, ...]) -> Q:
    """One term against text fields: contains for 3+ characters, starts-with for shorter terms."""
    lookup = "icontains" if len(term) >= MIN_CONTAINS else "istartswith"
    q = Q()
    for name in fields:
        q |= Q(**{f"{name}__{lookup}": term})
    return q


COMPANY_TEXT_FIELDS = ("name", "domain")


def contact_term_q(term: str, *, path: str = "") -> Q:
    """One term against a contact's search text: contains for 3+ characters, else a word's start.

    `path` leads to the contact from another model, e.g. "contact__" from deals and tickets.
    """
    text = normalise(term)
    if not text:
        return Q()
    return Q(**{f"{path}search_text__contains": text if len(text) >= MIN_CONTAINS else f" {text}"})


# A typed number of this many digits or more is a whole number (national, or with the country code): it
# ends the stored E.164 number, a prefix of the reversed number (B-tree index contact_phone_reversed on
# PostgreSQL, migration contacts 0007). Every number of a region shares its first trigrams ("131", "310"),
# which made the trigram index intersect lists of a million rows.
WHOLE_NUMBER_DIGITS = 7


def contact_phone_q(digits: str) -> Q:
    """Contacts whose phone holds the digits: the end of the number for a whole one, else anywhere.

    Seven digits or more are first looked up as the end of the number (one indexed query); only when no
    number ends so (a number still being typed, "310-555-01") are they looked for anywhere.
    """
    if len(digits) >= WHOLE_NUMBER_DIGITS:
        whole = Q(StartsWith(Reverse("phone"), Value(digits[::-1], output_field=CharField())))
        if Contact.objects.filter(whole).exists():
            return whole
    # The digits in the search text find the rows (trigram index); the phone itself confirms them.
    return Q(search_text__contains=digits, phone__contains=digits)


def contact_search_q(query: str) -> Q:
    """Contacts matching the query: name, e-mail, company name (each term), or the phone number."""
    digits = phone_digits(query)
    if digits:
        return contact_phone_q(digits)
    q = Q()
    for term in terms(query):
        if _EMAIL.match(term):
            # A whole e-mail address: its unique lower(email) index, not a trigram scan (every address
            # shares the trigrams of "gmail.com").
            q &= Q(
                pk__in=Contact.objects.exclude(email="")
                .annotate(e=Lower("email"))
                .filter(e=term.lower())
                .values("pk")
            )
        else:
            q &= contact_term_q(term)
    return q


def contact_search_filter(qs: QuerySet[Contact], query: str) -> QuerySet[Contact]:
    return qs.filter(contact_search_q(query))


def company_search_filter(qs: QuerySet[Company], query: str, *, fields=COMPANY_TEXT_FIELDS) -> QuerySet:
    digits = phone_digits(query)
    if digits:
        return qs.filter(phone__contains=digits)
    for term in terms(query):
        qs = qs.filter(text_q(term, fields))
    return qs


def _rank(*, exact: Q, prefix: Q) -> Case:
    return Case(
        When(exact, then=Value(0)), When(prefix, then=Value(1)), default=Value(2), output_field=IntegerField()
    )


def contact_rank(query: str) -> Case:
    """0 for an exact e-mail, name or phone match, 1 when a field starts with the query, 2 otherwise."""
    query = query.strip()
    digits = phone_digits(query)
    if digits:
        return _rank(exact=Q(phone__endswith=digits), prefix=Q(phone__startswith=f"+{digits}"))
    return _rank(
        exact=Q(email__iexact=query)
        | Q(search_name__iexact=query)
        | Q(first_name__iexact=query)
        | Q(last_name__iexact=query),
        prefix=Q(search_name__istartswith=query)
        | Q(last_name__istartswith=query)
        | Q(email__istartswith=query),
    )


# A type-ahead shows 20 rows: it ranks at most this many candidates per branch, so a very common term
# (every "Olga") costs the same as a rare one. The list page, which counts every match, does not cap.
CANDIDATES = 200


def _candidates(*branches: QuerySet) -> list[int]:
    """Up to CANDIDATES ids from each branch.

    On PostgreSQL a "LIMIT n" without ORDER BY tempts the planner into a sequential scan that stops at n
    rows: fine for a common term, a scan of the whole table for a rare one. Forbidding it for these
    reads keeps them on the trigram indexes (a bitmap scan stops fetching rows at the limit).
    """
    ids: list[int] = []
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
        for branch in branches:
            ids.extend(branch.order_by().values_list("pk", flat=True)[:CANDIDATES])
    return list(dict.fromkeys(ids))


def contact_search(*, query: str, limit: int = PICKER_LIMIT) -> list[Contact]:
    """The best `limit` contacts for a type-ahead or global search, ranked, with their company.

    Candidates come in tiers, each at most CANDIDATES rows from the trigram index: the first term as a
    whole word, as a word's start, then anywhere; the other terms must match too. Ranking the few
    hundred candidates costs the same for "olga" (one contact in 60) as for a rare name.
    """
    qs = Contact.objects.select_related("company").annotate(
        search_name=Concat("first_name", Value(" "), "last_name")
    )
    query = query.strip()
    if not query:
        return list(qs.order_by("last_name", "first_name", "id")[:limit])
    digits = phone_digits(query)
    if digits:
        branches = [Contact.objects.filter(contact_phone_q(digits))]
    else:
        first, *rest = [normalise(term) for term in terms(query)]
        others = Q()
        for term in rest:
            others &= contact_term_q(term)
        tiers = [f" {first} ", f" {first}"] + ([first] if len(first) >= MIN_CONTAINS else [])
        branches = [Contact.objects.filter(others, search_text__contains=tier) for tier in tiers]
        if "@" in query:
            # The exact e-mail, through the unique index on lower(email) (a partial index: email <> '').
            exact = Contact.objects.exclude(email="").annotate(email_lower=Lower("email"))
            branches.insert(0, exact.filter(email_lower=query.lower()))
    qs = qs.filter(pk__in=_candidates(*branches))
    ranked = qs.annotate(rank=contact_rank(query)).order_by("rank", "last_name", "first_name", "id")
    return list(ranked[:limit])


def company_rank(query: str) -> Case:
    query = query.strip()
    digits = phone_digits(query)
    if digits:
        return _rank(exact=Q(phone__endswith=digits), prefix=Q(phone__startswith=f"+{digits}"))
    return _rank(
        exact=Q(name__iexact=query) | Q(domain__iexact=query),
        prefix=Q(name__istartswith=query) | Q(domain__istartswith=query),
    )


def company_search(*, query: str, limit: int = PICKER_LIMIT) -> list[Company]:
    query = query.strip()
    if not query:
        return list(Company.objects.order_by("name", "id")[:limit])
    digits = phone_digits(query)
    first = terms(query)[0]
    branch = (
        Company.objects.filter(phone__contains=digits)
        if digits
        else Company.objects.filter(text_q(first, COMPANY_TEXT_FIELDS))
    )
    qs = company_search_filter(
        Company.objects.filter(pk__in=_candidates(Company.objects.filter(domain__iexact=query), branch)),
        query,
    )
    return list(qs.annotate(rank=company_rank(query)).order_by("rank", "name", "id")[:limit])


def rank_of(obj) -> int:
    return getattr(obj, "rank", 2)
