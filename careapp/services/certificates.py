"""Issuing certificates (assessment conclusion, benefit certificate, decision notice): each gets
a row with a unique number, a secret check code printed beside it, and an audit trail; and the
public verification of a number with its check code.

A document is numbered once: opening or reprinting it again with the same content gives the
same number (the row is looked up by its document and content digest; a partial unique index
keeps one current row per document, so two simultaneous openings cannot number it twice). New
content (e.g. a later decision changes the appeal deadline) or an administrator's explicit
re-issue gives a new number, and the earlier one verifies as superseded by it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask_babel import force_locale, gettext, lazy_gettext
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from assessments.grading import get_instrument
from assessments.procedure import appeal_deadline
from careapp.core.check_codes import (
    UNMATCHABLE,
    check_code_matches,
    format_check_code,
    normalise_check_code,
)
from careapp.core.clock import city_today, to_city
from careapp.core.errors import (
    CareappError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
)
from careapp.core.identity import mask_name
from careapp.models.assessment import Application, Assessment, CareSetting
from careapp.models.audit import AuditEvent
from careapp.models.certificate import Certificate, CertificateKind, PrintBatch, PrintBatchStatus
from careapp.models.eligibility import EligibilityDecision, Entitlement, EntitlementStatus
from careapp.models.people import Person, Sex
from careapp.models.settlement import SettlementStatement
from careapp.models.users import Role
from careapp.reports.notices import (
    BenefitCertificateData,
    DecisionNoticeData,
    RateText,
    RuleLine,
)
from careapp.reports.pdf import AssessmentConclusionData, ItemRow
from careapp.reports.seal import SealError, load_signer
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.policy import policy_version_name
from careapp.services.procedure import ProcedureRules
from scheduling.months import add_months

ASSESSMENT_CONCLUSION_PREFIX = "PG"  # 评估 (pinggu)
BENEFIT_PREFIX = "DY"  # 待遇 (daiyu)
DECISION_NOTICE_PREFIX = "JD"  # 决定 (jueding)
SETTLEMENT_STATEMENT_PREFIX = "JS"  # 结算 (jiesuan)
PREFIXES = {
    CertificateKind.ASSESSMENT_CONCLUSION: ASSESSMENT_CONCLUSION_PREFIX,
    CertificateKind.BENEFIT: BENEFIT_PREFIX,
    CertificateKind.DECISION_NOTICE: DECISION_NOTICE_PREFIX,
    CertificateKind.SETTLEMENT_STATEMENT: SETTLEMENT_STATEMENT_PREFIX,
}
NUMBER_PATTERN = re.compile(r"(PG|DY|JD|JS)-\d{4}-\d{6,12}")
DEFAULT_RULES = ProcedureRules()
SEX_ZH = {Sex.MALE: "男", Sex.FEMALE: "女"}


def certificate_number(prefix: str, year: int, certificate_id: int) -> str:
    """`PG-2026-000123`: the row id makes it unique, the year makes it readable."""
    return f"{prefix}-{year}-{certificate_id:06d}"


class SealUnavailableError(CareappError):
    """No usable signing key: a document is never issued without its seal."""

    status_code = 503


@dataclass(frozen=True)
class Wording:
    """The Chinese wording of stored codes, as the eligibility pages word them (supplied by
    the caller: the presenters live with the blueprints)."""

    rule: Callable[[str], str]
    reason: Callable[[Mapping[str, Any]], str]
    category: Callable[[str | None], str]
    care_setting: Callable[[CareSetting], str]


def certificate_signer(config: Mapping[str, Any]) -> Any:
    """The seal's signer from the configured key and certificate, or a clear refusal."""
    try:
        return load_signer(config.get("SIGNING_KEY_PATH"), config.get("SIGNING_CERT_PATH"))
    except SealError as error:
        raise SealUnavailableError(
            gettext(
                "Certificates cannot be issued: the electronic seal's key is not set up "
                "(run `careapp create-signing-key` and set CAREAPP_SIGNING_KEY_PATH and "
                "CAREAPP_SIGNING_CERT_PATH)."
            )
        ) from error


class PublicAddressMissingError(CareappError):
    """PUBLIC_BASE_URL is unset: a document never prints an address taken from a request."""

    status_code = 503


def public_base_url(config: Mapping[str, Any]) -> str:
    """The configured public address of /verify (PUBLIC_BASE_URL), printed and encoded in the
    QR codes. Never the requesting Host: a forged header must not reach a sealed document."""
    url = str(config.get("PUBLIC_BASE_URL") or "").strip()
    if not url:
        raise PublicAddressMissingError(
            gettext(
                "Certificates cannot be issued: the public verification address is not set "
                "(CAREAPP_PUBLIC_BASE_URL)."
            )
        )
    return url


def verify_url(base_url: str, number: str, check_code: str) -> str:
    """The public verification address printed (and encoded in the QR code) on a document: its
    number and its check code, so that scanning the code verifies it at once."""
    return f"{base_url.rstrip('/')}/verify/{number}?code={format_check_code(check_code)}"


# A document printed under a certificate's number.
D = TypeVar("D", AssessmentConclusionData, BenefitCertificateData, DecisionNoticeData)
# What a document prints that is not its content: a reprint may differ in these only.
_NOT_CONTENT = frozenset({"certificate_number", "check_code", "issued_on", "verify_url"})


def content_digest(data: object) -> str:
    """SHA-256 of a document's printed content (a dataclass), its number, check code, date and
    address aside."""
    fields = dataclasses.asdict(data)  # type: ignore[call-overload]  # every document is a dataclass
    content = {key: value for key, value in fields.items() if key not in _NOT_CONTENT}
    text = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_certificate(
    session: Session, actor: Actor, kind: CertificateKind, now: dt.datetime
) -> Certificate:
    """A numbered Certificate row of `kind` (flushed, audited) for a document issued elsewhere
    (a provider's settlement statement); the caller checked the actor's role."""
    return _new_certificate(session, actor, kind, now)


def _new_certificate(
    session: Session,
    actor: Actor,
    kind: CertificateKind,
    now: dt.datetime,
    *,
    assessment_id: int | None = None,
    entitlement_id: int | None = None,
    decision_id: int | None = None,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    print_batch_id: int | None = None,
    content_digest: str | None = None,
) -> Certificate:
    """A numbered Certificate row (flushed) and its audit event."""
    user_id = actor.user_id
    if user_id is None:  # pragma: no cover - every caller checked the role first
        raise PermissionDeniedError(gettext("You do not have permission to do this."))
    certificate = Certificate(
        # A unique placeholder until the row id is known; then the final number.
        number=f"PENDING-{secrets.token_hex(12)}",
        kind=kind,
        assessment_id=assessment_id,
        entitlement_id=entitlement_id,
        decision_id=decision_id,
        valid_from=valid_from,
        valid_until=valid_until,
        print_batch_id=print_batch_id,
        issued_at=now,
        issued_by_id=user_id,
        content_digest=content_digest,
    )
    session.add(certificate)
    session.flush()
    certificate.number = certificate_number(PREFIXES[kind], to_city(now).year, certificate.id)
    session.flush()
    detail: dict[str, Any] = {"number": certificate.number, "kind": kind.value}
    for key, value in (
        ("assessment_id", assessment_id),
        ("entitlement_id", entitlement_id),
        ("decision_id", decision_id),
        ("print_batch_id", print_batch_id),
    ):
        if value is not None:
            detail[key] = value
    record_event(session, actor, "create", "certificate", certificate.id, now=now, detail=detail)
    return certificate


@dataclass(frozen=True)
class DocumentOf:
    """Which document a certificate numbers: its kind and subject (an assessment for the
    conclusion, a decision for the notice and the benefit certificate)."""

    kind: CertificateKind
    assessment_id: int | None = None
    decision_id: int | None = None
    entitlement_id: int | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


def _current_certificate(session: Session, document: DocumentOf) -> Certificate | None:
    """The document's current (not superseded) certificate, if it was ever numbered."""
    query = select(Certificate).where(
        Certificate.kind == document.kind, Certificate.superseded_at.is_(None)
    )
    if document.kind is CertificateKind.ASSESSMENT_CONCLUSION:
        query = query.where(Certificate.assessment_id == document.assessment_id)
    else:
        query = query.where(Certificate.decision_id == document.decision_id)
    return session.scalar(query)


def _hand_out(session: Session, certificate: Certificate, print_batch_id: int | None) -> None:
    """A reprint hands the certificate out again: one numbered in a batch that never finished
    is now genuine through this print (alone, or in this batch once it completes)."""
    if certificate.print_batch_id is None or certificate.print_batch_id == print_batch_id:
        return
    status = session.scalar(
        select(PrintBatch.status).where(PrintBatch.id == certificate.print_batch_id)
    )
    if status is not PrintBatchStatus.DONE:
        certificate.print_batch_id = print_batch_id


def _supersede_and_number(
    session: Session,
    actor: Actor,
    document: DocumentOf,
    current: Certificate | None,
    now: dt.datetime,
    *,
    digest: str,
    print_batch_id: int | None,
    reissue_reason: str | None,
) -> Certificate:
    """A new certificate of the document; the current one (if any) superseded by it."""
    if current is not None:
        current.superseded_at = now  # first: one current row per document, even mid-flush
        current.supersede_reason = reissue_reason
        session.flush()
    certificate = _new_certificate(
        session,
        actor,
        document.kind,
        now,
        assessment_id=document.assessment_id,
        entitlement_id=document.entitlement_id,
        decision_id=document.decision_id,
        valid_from=document.valid_from,
        valid_until=document.valid_until,
        print_batch_id=print_batch_id,
        content_digest=digest,
    )
    if current is not None:
        current.superseded_by_id = certificate.id
        session.flush()
        record_event(
            session,
            actor,
            "certificate.supersede",
            "certificate",
            current.id,
            now=now,
            detail={
                "number": current.number,
                "superseded_by": certificate.number,
                "cause": "reissue" if reissue_reason is not None else "content_changed",
                "reason": reissue_reason or "",
            },
        )
    return certificate


def _numbered(
    session: Session,
    actor: Actor,
    document: DocumentOf,
    data: D,
    now: dt.datetime,
    *,
    base_url: str,
    print_batch_id: int | None = None,
    reissue_reason: str | None = None,
) -> tuple[Certificate, D]:
    """The document's certificate and its content under that number.

    The same content as the current certificate reprints under its number and issue date; new
    content, or a re-issue (`reissue_reason`), gets a new number and supersedes the current one.
    """
    digest = content_digest(data)
    current = _current_certificate(session, document)
    if reissue_reason is not None and current is None:
        raise ConflictError(
            gettext("This document has not been issued yet, so there is nothing to re-issue.")
        )
    if current is not None and current.content_digest == digest and reissue_reason is None:
        return _reprinted(session, actor, current, data, now, base_url, print_batch_id)
    try:
        with session.begin_nested():
            certificate = _supersede_and_number(
                session,
                actor,
                document,
                current,
                now,
                digest=digest,
                print_batch_id=print_batch_id,
                reissue_reason=reissue_reason,
            )
    except IntegrityError:
        # A simultaneous opening numbered it first: the same content takes its number.
        racer = _current_certificate(session, document)
        if racer is None or racer.content_digest != digest or reissue_reason is not None:
            raise ConflictError(
                gettext(
                    "This document was being numbered by another print at the same moment. "
                    "Please try again."
                )
            ) from None
        return _reprinted(session, actor, racer, data, now, base_url, print_batch_id)
    return certificate, _under_number(data, certificate, base_url)


def _reprinted(
    session: Session,
    actor: Actor,
    certificate: Certificate,
    data: D,
    now: dt.datetime,
    base_url: str,
    print_batch_id: int | None,
) -> tuple[Certificate, D]:
    _hand_out(session, certificate, print_batch_id)
    record_event(
        session,
        actor,
        "certificate.reprint",
        "certificate",
        certificate.id,
        now=now,
        detail={"number": certificate.number},
    )
    return certificate, _under_number(data, certificate, base_url)


def _under_number(data: D, certificate: Certificate, base_url: str) -> D:
    """The content as printed under the certificate: its number and check code (the same on
    every reprint), issue date and address."""
    return dataclasses.replace(
        data,
        certificate_number=certificate.number,
        check_code=format_check_code(certificate.check_code),
        issued_on=city_today(certificate.issued_at),
        verify_url=verify_url(base_url, certificate.number, certificate.check_code),
    )


def issue_assessment_conclusion(
    session: Session,
    actor: Actor,
    assessment_id: int,
    now: dt.datetime,
    *,
    rules: ProcedureRules = DEFAULT_RULES,
    base_url: str = "",
    reissue_reason: str | None = None,
) -> tuple[Certificate, AssessmentConclusionData]:
    """Issue an assessment conclusion (评估结论书): a numbered Certificate row and its content.

    The appeal deadline is the procedure's (`appeal_deadline` of the eligibility decision taken
    on this assessment, with the procedure's appeal window); before the decision, the period
    has not started and no date is printed. The person's ID number is never decrypted: only
    the stored masked form is printed. Reprinting the same content gives the same number.
    """
    actor.require(
        Role.ADMIN,
        message=lazy_gettext("Only an administrator can issue an assessment conclusion."),
    )
    assessment = session.scalar(
        select(Assessment)
        .where(Assessment.id == assessment_id)
        .options(
            joinedload(Assessment.application)
            .joinedload(Application.person)
            .joinedload(Person.district),
            joinedload(Assessment.assessor_1),
            joinedload(Assessment.assessor_2),
        )
    )
    if assessment is None:
        raise NotFoundError(gettext("This assessment does not exist."))

    items, grade_zh, instrument_zh = _instrument_labels(assessment)
    decision = session.scalar(
        select(EligibilityDecision)
        .where(EligibilityDecision.assessment_id == assessment.id)
        .options(joinedload(EligibilityDecision.policy_version))
    )
    if decision is not None:  # the window of the version the decision used, as the procedure
        rules = rules.with_policy(decision.policy_version)
    person = assessment.application.person
    data = AssessmentConclusionData(
        certificate_number="",
        issued_on=city_today(now),
        person_name=person.name,
        id_number_masked=person.id_number_masked,
        sex_zh=SEX_ZH[person.sex],
        birth_year=person.born_on.year,
        district_zh=person.district.name_zh,
        instrument_zh=instrument_zh,
        items=items,
        total=assessment.total,
        grade_zh=grade_zh,
        assessed_on=assessment.assessed_on,
        assessor_1_name=assessment.assessor_1.display_name,
        assessor_2_name=assessment.assessor_2.display_name,
        family_member_present=assessment.family_member_present,
        appeal_days=rules.appeal_days,
        appeal_deadline=(
            appeal_deadline(decision.decided_on, rules.appeal_days)
            if decision is not None
            else None
        ),
        verify_url="",
        check_code="",
    )
    document = DocumentOf(CertificateKind.ASSESSMENT_CONCLUSION, assessment_id=assessment.id)
    certificate, data = _numbered(
        session, actor, document, data, now, base_url=base_url, reissue_reason=reissue_reason
    )
    record_event(session, actor, "read", "assessment", assessment.id, now=now)
    return certificate, data


# --- decisions: the notice and the benefit certificate -------------------------------------


def load_decisions(session: Session, decision_ids: list[int]) -> list[EligibilityDecision]:
    """Decisions with everything their documents print, in a bounded number of queries."""
    if not decision_ids:
        return []
    decisions = session.scalars(
        select(EligibilityDecision)
        .where(EligibilityDecision.id.in_(decision_ids))
        .options(
            selectinload(EligibilityDecision.application)
            .selectinload(Application.person)
            .selectinload(Person.district),
            selectinload(EligibilityDecision.assessment),
            selectinload(EligibilityDecision.policy_version),
            selectinload(EligibilityDecision.decided_by),
        )
    ).all()
    order = {decision_id: index for index, decision_id in enumerate(decision_ids)}
    return sorted(decisions, key=lambda decision: order[decision.id])


def entitlements_of(session: Session, decision_ids: list[int]) -> dict[int, Entitlement]:
    if not decision_ids:
        return {}
    rows = session.scalars(select(Entitlement).where(Entitlement.decision_id.in_(decision_ids)))
    return {entitlement.decision_id: entitlement for entitlement in rows}


def _decision(session: Session, decision_id: int) -> tuple[EligibilityDecision, Entitlement | None]:
    found = load_decisions(session, [decision_id])
    if not found:
        raise NotFoundError(gettext("Not found."))
    return found[0], entitlements_of(session, [decision_id]).get(decision_id)


def benefit_validity(
    decision: EligibilityDecision, entitlement: Entitlement, rules: ProcedureRules
) -> tuple[dt.date, dt.date, str]:
    """Valid from the entitlement's start until the next scheduled re-assessment, or until
    the entitlement's end when it ended earlier; with the reason of the end date in Chinese."""
    interval = rules.with_policy(decision.policy_version).reassessment_interval_months
    reassessment_on = add_months(decision.assessment.assessed_on, interval)
    if entitlement.ends_on is not None and entitlement.ends_on < reassessment_on:
        return entitlement.starts_on, entitlement.ends_on, "待遇终止"
    return entitlement.starts_on, reassessment_on, "下次定期复评"


def issue_benefit_certificate(
    session: Session,
    actor: Actor,
    decision_id: int,
    now: dt.datetime,
    *,
    rules: ProcedureRules,
    base_url: str,
    wording: Wording,
    print_batch_id: int | None = None,
    loaded: tuple[EligibilityDecision, Entitlement | None] | None = None,
    reissue_reason: str | None = None,
) -> tuple[Certificate, BenefitCertificateData]:
    """Issue the benefit certificate (待遇资格证明) of the entitlement a decision opened."""
    actor.require(
        Role.ADMIN, message=lazy_gettext("Only an administrator can issue a benefit certificate.")
    )
    decision, entitlement = loaded or _decision(session, decision_id)
    if entitlement is None:
        raise ConflictError(
            gettext("This decision opened no entitlement, so there is no benefit certificate.")
        )
    if entitlement.status is not EntitlementStatus.ACTIVE:
        raise ConflictError(
            gettext("This entitlement has ended; a benefit certificate can no longer be issued.")
        )
    valid_from, valid_until, until_reason = benefit_validity(decision, entitlement, rules)
    person = decision.application.person
    policy = decision.policy_version
    with force_locale("zh"):
        category_zh = wording.category(entitlement.category.value)
        care_setting_zh = wording.care_setting(entitlement.care_setting)
        policy_name_zh = policy_version_name(policy.name)
    data = BenefitCertificateData(
        certificate_number="",
        issued_on=city_today(now),
        person_name=person.name,
        id_number_masked=person.id_number_masked,
        sex_zh=SEX_ZH[person.sex],
        birth_year=person.born_on.year,
        district_zh=person.district.name_zh,
        category_zh=category_zh,
        care_setting_zh=care_setting_zh,
        rate=RateText(entitlement.daily_rate_fen, entitlement.monthly_budget_fen),
        valid_from=valid_from,
        valid_until=valid_until,
        valid_until_reason_zh=until_reason,
        policy_name=policy_name_zh,
        policy_effective_on=policy.effective_on,
        decided_on=decision.decided_on,
        verify_url="",
        check_code="",
    )
    document = DocumentOf(
        CertificateKind.BENEFIT,
        decision_id=decision.id,
        entitlement_id=entitlement.id,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    certificate, data = _numbered(
        session,
        actor,
        document,
        data,
        now,
        base_url=base_url,
        print_batch_id=print_batch_id,
        reissue_reason=reissue_reason,
    )
    record_event(session, actor, "read", "entitlement", entitlement.id, now=now)
    return certificate, data


def issue_decision_notice(
    session: Session,
    actor: Actor,
    decision_id: int,
    now: dt.datetime,
    *,
    rules: ProcedureRules,
    base_url: str,
    wording: Wording,
    print_batch_id: int | None = None,
    loaded: tuple[EligibilityDecision, Entitlement | None] | None = None,
    reissue_reason: str | None = None,
) -> tuple[Certificate, DecisionNoticeData]:
    """Issue the eligibility decision notice (决定通知书): every rule, passed or failed, and why."""
    actor.require(
        Role.ADMIN, message=lazy_gettext("Only an administrator can issue a decision notice.")
    )
    decision, entitlement = loaded or _decision(session, decision_id)
    person = decision.application.person
    # The window of the version the decision used, as the appeal procedure reads it.
    appeal_days = rules.with_policy(decision.policy_version).appeal_days
    with force_locale("zh"):
        lines = tuple(
            RuleLine(
                label_zh=wording.rule(str(reason.get("rule", ""))),
                passed=bool(reason.get("passed")),
                reason_zh=wording.reason(reason),
            )
            for reason in decision.reasons
        )
        category_zh = wording.category(decision.category.value if decision.category else None)
        care_setting_zh = wording.care_setting(decision.care_setting)
        policy_name_zh = policy_version_name(decision.policy_version.name)
    data = DecisionNoticeData(
        certificate_number="",
        issued_on=city_today(now),
        person_name=person.name,
        id_number_masked=person.id_number_masked,
        district_zh=person.district.name_zh,
        application_id=decision.application_id,
        decided_on=decision.decided_on,
        decided_by_name=decision.decided_by.display_name,
        is_eligible=decision.is_eligible,
        rules=lines,
        category_zh=category_zh,
        care_setting_zh=care_setting_zh,
        rate=RateText(
            decision.daily_rate_fen,
            entitlement.monthly_budget_fen if entitlement is not None else None,
        ),
        starts_on=entitlement.starts_on if entitlement is not None else None,
        policy_name=policy_name_zh,
        appeal_days=appeal_days,
        appeal_deadline=appeal_deadline(decision.decided_on, appeal_days),
        verify_url="",
        check_code="",
    )
    certificate, data = _numbered(
        session,
        actor,
        DocumentOf(CertificateKind.DECISION_NOTICE, decision_id=decision.id),
        data,
        now,
        base_url=base_url,
        print_batch_id=print_batch_id,
        reissue_reason=reissue_reason,
    )
    record_event(session, actor, "read", "eligibility_decision", decision.id, now=now)
    return certificate, data


REISSUABLE = (
    CertificateKind.ASSESSMENT_CONCLUSION,
    CertificateKind.DECISION_NOTICE,
    CertificateKind.BENEFIT,
)


def current_certificate_of(
    session: Session, actor: Actor, kind: CertificateKind, subject_id: int
) -> Certificate | None:
    """The current certificate of a document an administrator may re-issue: the conclusion of
    assessment `subject_id`, or the notice or benefit certificate of decision `subject_id`."""
    actor.require(
        Role.ADMIN, message=lazy_gettext("Only an administrator can re-issue a document.")
    )
    if kind not in REISSUABLE:
        raise NotFoundError(gettext("Not found."))
    if kind is CertificateKind.ASSESSMENT_CONCLUSION:
        return _current_certificate(session, DocumentOf(kind, assessment_id=subject_id))
    return _current_certificate(session, DocumentOf(kind, decision_id=subject_id))


# --- public verification -------------------------------------------------------------------


class VerificationResult(enum.Enum):
    VALID = "valid"  # genuine and still valid
    NOT_VALID = "not_valid"  # genuine, but no longer (or not) valid
    # No certificate has this number AND this check code: an unknown number, a missing or
    # wrong code, a certificate of a batch never completed. One answer for all of them.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verification:
    """What the public verification page may show: masked data only."""

    result: VerificationResult
    number: str
    kind: CertificateKind | None = None
    issued_on: dt.date | None = None
    masked_name: str | None = None
    masked_id: str | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    # Why it is not valid: "entitlement_ended", "expired", "superseded" (by a later round of
    # the case), "replaced" (by a later certificate of this document: `replaced_by`, since
    # `ended_on`).
    reason: str | None = None
    ended_on: dt.date | None = None
    replaced_by: str | None = None


def normalise_number(raw: str) -> str | None:
    """The number as printed (upper case, no spaces), or None if it cannot be one."""
    number = "".join(raw.split()).upper()[:40]
    return number if NUMBER_PATTERN.fullmatch(number) else None


def verify_certificate(
    session: Session,
    actor: Actor,
    raw_number: str,
    now: dt.datetime,
    max_per_minute: int,
    *,
    raw_code: str | None,
) -> Verification:
    """Look a number and its check code up for the public page. Each look-up is audited
    without personal data; more than `max_per_minute` from one address within a minute are
    refused (failed look-ups count like the others).

    The number alone reveals nothing: an unknown number, a known number with no code or a
    wrong code, and a certificate that was never handed out all give the same UNKNOWN answer,
    after the same statements (the stored code of an unknown number is one that never
    matches), so neither the answer nor its timing tells whether the number exists.
    """
    if actor.address is not None:
        recent = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "certificate.verify",
                AuditEvent.address == actor.address,
                AuditEvent.at > now - dt.timedelta(minutes=1),
            )
        )
        if (recent or 0) >= max_per_minute:
            raise ThrottledError(
                gettext("Too many look-ups from this address. Please wait a minute.")
            )
    number = normalise_number(raw_number)
    found = (
        session.execute(
            select(Certificate.id, Certificate.check_code).where(Certificate.number == number)
        ).one_or_none()
        if number is not None
        else None
    )
    matches = check_code_matches(
        found.check_code if found is not None else UNMATCHABLE, normalise_check_code(raw_code)
    )
    certificate = session.get(Certificate, found.id) if found is not None and matches else None
    if certificate is not None and certificate.print_batch_id is not None:
        batch_status = session.scalar(
            select(PrintBatch.status).where(PrintBatch.id == certificate.print_batch_id)
        )
        if batch_status is not PrintBatchStatus.DONE:
            certificate = None  # its batch never produced the PDF: it was never handed out
    verification = (
        _verification(session, certificate, city_today(now))
        if certificate is not None
        else Verification(VerificationResult.UNKNOWN, number or "")
    )
    record_event(
        session,
        actor,
        "certificate.verify",
        "certificate",
        certificate.id if certificate is not None else None,
        now=now,
        detail={"result": verification.result.value},
    )
    return verification


def _verification(session: Session, certificate: Certificate, today: dt.date) -> Verification:
    if certificate.kind is CertificateKind.SETTLEMENT_STATEMENT:
        # A provider's statement: issued once and never changed, so genuine means valid; it
        # names the provider (a company, not a person) and no ID number.
        provider_name = session.scalar(
            select(SettlementStatement.provider_name).where(
                SettlementStatement.certificate_id == certificate.id
            )
        )
        return Verification(
            result=VerificationResult.VALID,
            number=certificate.number,
            kind=certificate.kind,
            issued_on=city_today(certificate.issued_at),
            masked_name=provider_name,
        )
    person, reason, ended_on = _subject_and_standing(session, certificate, today)
    replaced_by = None
    if certificate.superseded_at is not None:  # whatever else holds: this number is replaced
        reason, ended_on = "replaced", city_today(certificate.superseded_at)
        replaced_by = session.scalar(
            select(Certificate.number).where(Certificate.id == certificate.superseded_by_id)
        )
    return Verification(
        result=VerificationResult.VALID if reason is None else VerificationResult.NOT_VALID,
        number=certificate.number,
        kind=certificate.kind,
        issued_on=city_today(certificate.issued_at),
        masked_name=mask_name(person.name),
        masked_id=person.id_number_masked,
        valid_from=certificate.valid_from,
        valid_until=certificate.valid_until,
        reason=reason,
        ended_on=ended_on,
        replaced_by=replaced_by,
    )


def _later_round_decided(session: Session, application_id: int) -> bool:
    """A later round (appeal or re-assessment) of this case has been decided."""
    return bool(
        session.scalar(
            select(
                exists()
                .where(Application.previous_id == application_id)
                .where(EligibilityDecision.application_id == Application.id)
            )
        )
    )


def _subject_and_standing(
    session: Session, certificate: Certificate, today: dt.date
) -> tuple[Person, str | None, dt.date | None]:
    """The person a certificate is about, and why it is not valid (None: it is)."""
    if certificate.kind is CertificateKind.BENEFIT:
        entitlement = session.get(
            Entitlement, certificate.entitlement_id, options=[joinedload(Entitlement.person)]
        )
        if entitlement is None:  # pragma: no cover - the foreign key keeps it
            raise NotFoundError(gettext("Not found."))
        if entitlement.status is not EntitlementStatus.ACTIVE:
            return entitlement.person, "entitlement_ended", entitlement.ends_on
        if certificate.valid_until is not None and today > certificate.valid_until:
            return entitlement.person, "expired", certificate.valid_until
        return entitlement.person, None, None
    if certificate.kind is CertificateKind.DECISION_NOTICE:
        decision = session.get(
            EligibilityDecision,
            certificate.decision_id,
            options=[joinedload(EligibilityDecision.application).joinedload(Application.person)],
        )
        if decision is None:  # pragma: no cover - the foreign key keeps it
            raise NotFoundError(gettext("Not found."))
        superseded = _later_round_decided(session, decision.application_id)
        return decision.application.person, "superseded" if superseded else None, None
    assessment = session.get(
        Assessment,
        certificate.assessment_id,
        options=[joinedload(Assessment.application).joinedload(Application.person)],
    )
    if assessment is None:  # pragma: no cover - the foreign key keeps it
        raise NotFoundError(gettext("Not found."))
    newer_version = session.scalar(
        select(
            exists().where(
                Assessment.application_id == assessment.application_id,
                Assessment.version > assessment.version,
            )
        )
    )
    superseded = bool(newer_version) or _later_round_decided(session, assessment.application_id)
    return assessment.application.person, "superseded" if superseded else None, None


def _instrument_labels(assessment: Assessment) -> tuple[tuple[ItemRow, ...], str, str]:
    """The item rows, the grade label and the instrument name, all in Chinese."""
    mismatch = ConflictError(
        gettext("This assessment does not match its instrument; it cannot be certified.")
    )
    try:
        instrument = get_instrument(assessment.instrument)
    except LookupError:
        raise mismatch from None
    rows = []
    for item in instrument.items:
        points = assessment.answers.get(item.code)
        option = next((o for o in item.options if o.points == points), None)
        if option is None:
            raise mismatch
        rows.append(
            ItemRow(label_zh=item.label_zh, answer_zh=option.label_zh, points=option.points)
        )
    band = instrument.band(assessment.grade)  # the grade's wording, for any instrument
    if band is None:
        raise mismatch
    return tuple(rows), band.label_zh, instrument.name_zh
