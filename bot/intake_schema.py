"""The shape of an incoming lead, validated the same way for the API, forms and CSV import."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.domain.leads import (
    IDEMPOTENCY_PREFIX,
    SOURCE_MAX_LENGTH,
    SOURCE_PATTERN,
    Contact,
    NewLead,
    Qualification,
    Temperature,
)
from bot.domain.partners import NUMERIC_POSTCODE_COUNTRIES, is_digits, normalize_postcode
from bot.postcodes import country_problem, postcode_problem

Text = Annotated[str, Field(max_length=200)]
# what the leads table holds (VARCHAR(16)); checked on the postcode as stored, upper-cased and
# without spaces: some letters grow when upper-cased ('ﬃ' is 'FFI', 'ß' is 'SS')
POSTCODE_LENGTH = (2, 16)
SPECIALTY_LENGTH = 40


def _plain(v: Any) -> Any:
    """Refuse control characters in text: C0 but tab and line breaks, DEL and C1 (U+007F to
    U+009F), which no person types and which PostgreSQL (NUL) or a chat may choke on."""
    if isinstance(v, str) and any(
        (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F for c in v
    ):
        raise ValueError("contains control characters")
    return v


def _specialty(v: str) -> str:
    # stored lower-cased, which can also grow a letter ('İ' is 'i̇'): the limit is on that
    if len(v.lower()) > SPECIALTY_LENGTH:
        raise ValueError(f"is longer than {SPECIALTY_LENGTH} characters in lower case")
    return v


Specialty = Annotated[
    str,
    BeforeValidator(_plain),  # in each item: the model's check sees only the list
    Field(min_length=1, max_length=SPECIALTY_LENGTH),
    AfterValidator(_specialty),
]


class _Incoming(BaseModel):
    """Strict, trimmed, and no control characters (PostgreSQL refuses NUL in text)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, v: Any) -> Any:
        return _plain(v)


class ContactIn(_Incoming):
    name: Text | None = None
    email: EmailStr | None = None
    phone: Annotated[str, Field(max_length=40, pattern=r"^[+0-9 ()/.-]{3,40}$")] | None = None
    company: Text | None = None
    street: Text | None = None


class LeadIn(_Incoming):
    """A lead as a form, CRM or CSV file sends it."""

    source: Annotated[
        str, Field(min_length=1, max_length=SOURCE_MAX_LENGTH, pattern=SOURCE_PATTERN)
    ] = "api"
    external_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
    postcode: Annotated[str, Field(min_length=2, max_length=16)]
    city: Annotated[str, Field(max_length=100)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = Field(None, validate_default=True)
    specialties: list[Specialty] = Field([], max_length=20)
    need: Annotated[str, Field(max_length=2000)] | None = None
    temperature: Temperature | None = None
    qualification: Qualification | None = None
    estimated_value: Annotated[float, Field(ge=0, le=1e12)] | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] | None = None
    consent: bool | None = Field(
        None, description="the person agreed to be contacted by a partner; false: no partner "
        "is shown the contact (the managers still see it)"
    )  # fmt: skip
    contact: ContactIn = ContactIn()

    @field_validator("external_id")
    @classmethod
    def _not_reserved(cls, v: str | None) -> str | None:
        if v is not None and v.startswith(IDEMPOTENCY_PREFIX):
            raise ValueError(
                f"must not start with '{IDEMPOTENCY_PREFIX}': Leadbot keeps those for leads sent"
                " with an Idempotency-Key"
            )
        return v

    @field_validator("country")
    @classmethod
    def _known_country(cls, v: str) -> str:
        problem = country_problem(v)
        if problem is not None:
            raise ValueError(problem)
        return v.upper()

    @field_validator("postcode")
    @classmethod
    def _postcode_format(cls, v: str, info: ValidationInfo) -> str:
        country = info.data.get("country")
        code = normalize_postcode(v)
        shortest, longest = POSTCODE_LENGTH
        if len(code) < shortest:
            raise ValueError(f"'{v}' is too short for a postcode")
        if len(code) > longest:
            shown = code if len(code) <= 24 else code[:24] + "…"
            raise ValueError(
                f"'{v}' is too long: as a postcode it reads '{shown}', {len(code)} characters"
                f" (at most {longest})"
            )
        numeric = country in NUMERIC_POSTCODE_COUNTRIES
        if not (is_digits(code) if numeric else re.fullmatch(r"[A-Z0-9]+", code)):
            raise ValueError(
                f"'{v}' does not look like a {country or ''} postcode".replace("  ", " ")
            )
        problem = postcode_problem(country, v) if country else None  # the country's own format
        if problem is not None:
            raise ValueError(problem)
        return v

    @field_validator("lon")
    @classmethod
    def _with_lat(cls, v: float | None, info: ValidationInfo) -> float | None:
        if "lat" in info.data and (info.data["lat"] is None) != (v is None):
            raise ValueError("lat and lon must be given together")
        return v

    def to_new_lead(self) -> NewLead:
        c = self.contact
        return NewLead(
            source=self.source,
            external_id=self.external_id,
            country=self.country,
            postcode=self.postcode,
            city=self.city,
            lat=self.lat,
            lon=self.lon,
            specialties=tuple(s.strip().lower() for s in self.specialties),
            need=self.need,
            temperature=self.temperature,
            qualification=self.qualification,
            estimated_value=self.estimated_value,
            language=self.language,
            contact=Contact(
                c.name,
                str(c.email) if c.email else None,
                c.phone,
                c.company,
                c.street,
                consent=self.consent,
            ),
        )


# what a visitor may post under the lead's own names, unmapped: what a person can honestly
# say about themselves and what they need
OPEN_FIELDS = {
    *("country", "postcode", "city", "need", "specialties", "language", "consent"),
    *(f"contact.{name}" for name in ContactIn.model_fields),
}
# what a form's `fields` may map to besides: the site's own judgement (value, temperature...);
# never the source or the external id, which could hijack a CRM's lead
MAPPABLE_FIELDS = OPEN_FIELDS | (set(LeadIn.model_fields) - {"contact", "source", "external_id"})


def field_errors(exc: ValidationError) -> list[str]:
    """'field: reason' for every problem, with nested paths like contact.email."""
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "lead"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "is not a known field"
        out.append(f"{path}: {msg}")
    return out
