"""Every enum's label in the user's language, once: one table per enum, read by the pages, the
forms' choices, the printed documents' wording and the jobs (which may not import a blueprint).

Tables of enums stored as model columns are keyed by member; `LABELS` joins them for `label` and
`choices`. Codes that templates look up by their stored value (visit statuses, flags, alert kinds,
…) are keyed by value.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from flask_babel import LazyString, pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from careapp.core.liveness import Abandonment
from careapp.eligibility.ledger import Payee
from careapp.eligibility.rules import BenefitCategory
from careapp.eligibility.settlement import Outcome
from careapp.models.assessment import Applicant, ApplicationKind, ApplicationStatus, CareSetting
from careapp.models.certificate import CertificateKind, PrintBatchStatus
from careapp.models.claims import ClaimFlagStatus
from careapp.models.devices import DeviceProvision
from careapp.models.eligibility import EntitlementEventKind
from careapp.models.people import HouseholdType, InsuranceScheme, InsuranceStatus, Sex
from careapp.models.procedure import ObjectionSource, ObjectionStatus
from careapp.models.providers import Qualification
from careapp.models.quality import ComplaintChannel, ComplaintStatus
from careapp.models.users import Role
from careapp.models.visit import DispatchRunStatus
from careapp.models.work_orders import OfferBasis, OfferStatus, WorkOrderReason, WorkOrderStatus
from careapp.services.devices import LoanFilter
from careapp.services.dispatch import NO_HOME_LOCATION
from scheduling.claims import ClaimFlagKind
from scheduling.types import (
    DAILY_LIMIT_REACHED,
    NO_CAREGIVER_WORKING,
    NO_QUALIFIED_CAREGIVER,
    NO_TIME_IN_WINDOW,
)
from scheduling.visits import VisitStatus

# People (the registry).
HOUSEHOLD_TYPE_LABELS: Mapping[HouseholdType, LazyString] = {
    HouseholdType.URBAN: _l("Urban household"),
    HouseholdType.RURAL: _l("Rural household"),
    HouseholdType.OTHER_CITY: _l("Household of another city"),
}
INSURANCE_SCHEME_LABELS: Mapping[InsuranceScheme, LazyString] = {
    InsuranceScheme.EMPLOYEE: _l("Employees' medical insurance"),
    InsuranceScheme.RESIDENT: _l("Urban and rural residents' medical insurance"),
}
INSURANCE_STATUS_LABELS: Mapping[InsuranceStatus, LazyString] = {
    InsuranceStatus.ACTIVE: _l("Active"),
    InsuranceStatus.SUSPENDED: _l("Suspended"),
    InsuranceStatus.ENDED: _l("Ended"),
}
SEX_LABELS: Mapping[Sex, LazyString] = {Sex.MALE: _l("Male"), Sex.FEMALE: _l("Female")}

# Applications and their procedure.
APPLICANT_LABELS: Mapping[Applicant, LazyString] = {
    Applicant.SELF: _l("The insured person"),
    Applicant.FAMILY: _l("Family member"),
    Applicant.INSTITUTION: _l("Caring institution"),
}
APPLICATION_STATUS_LABELS: Mapping[ApplicationStatus, LazyString] = {
    ApplicationStatus.SUBMITTED: _l("Submitted"),
    ApplicationStatus.ASSESSING: _l("Assessing"),
    ApplicationStatus.ASSESSED: _l("Assessed"),
    ApplicationStatus.PUBLICITY: _l("Publicity"),
    ApplicationStatus.DECIDED: _l("Decided"),
    ApplicationStatus.WITHDRAWN: _l("Withdrawn"),
}
APPLICATION_STATUS_BADGES: Mapping[ApplicationStatus, str] = {
    ApplicationStatus.SUBMITTED: "badge",
    ApplicationStatus.ASSESSING: "badge badge-warn",
    ApplicationStatus.ASSESSED: "badge badge-warn",
    ApplicationStatus.PUBLICITY: "badge badge-warn",
    ApplicationStatus.DECIDED: "badge badge-good",
    ApplicationStatus.WITHDRAWN: "badge badge-bad",
}
APPLICATION_KIND_LABELS: Mapping[ApplicationKind, LazyString] = {
    ApplicationKind.INITIAL: _l("First application"),
    ApplicationKind.APPEAL: _l("Appeal"),
    ApplicationKind.REASSESSMENT: _l("Re-assessment"),
}
OBJECTION_SOURCE_LABELS: Mapping[ObjectionSource, LazyString] = {
    ObjectionSource.APPLICANT: _l("The applicant or family"),
    ObjectionSource.PUBLIC: _l("A member of the public"),
}
OBJECTION_STATUS_LABELS: Mapping[ObjectionStatus, LazyString] = {
    ObjectionStatus.OPEN: _l("Open"),
    ObjectionStatus.DISMISSED: _l("Dismissed"),
    ObjectionStatus.UPHELD: _l("Upheld"),
}

# Eligibility, entitlements and the ledger.
CARE_SETTING_LABELS: Mapping[CareSetting, LazyString] = {
    CareSetting.MEDICAL_CARE_INSTITUTION: _l("Medical nursing institution"),
    CareSetting.ELDERLY_CARE_INSTITUTION: _l("Elderly-care institution"),
    CareSetting.HOME_SERVICE: _l("At home, with door-to-door service"),
    CareSetting.HOME_CASH: _l("At home, cash subsidy"),
}
CATEGORY_LABELS: Mapping[BenefitCategory, LazyString] = {
    BenefitCategory.SEVERE: _l("Severe disability"),
    BenefitCategory.MODERATE: _l("Moderate disability"),
}
# A grade that a policy maps to no category.
NO_BENEFIT_LABEL = _l("No benefit")
PAYEE_LABELS: Mapping[Payee, LazyString] = {
    Payee.INSTITUTION: _l("Institution"),
    Payee.BENEFICIARY: _l("Beneficiary (cash)"),
    Payee.PER_VISIT: _l("Home-care company, per visit"),
}
END_REASON_LABELS: Mapping[str, LazyString] = {
    "death": _l("Death"),
    "insurance_ended": _l("Insurance ended"),
    "moved_away": _l("Moved out of the city"),
    "below_threshold": _l("Re-assessed below the threshold"),
    "reassessed": _l("Replaced by a later decision"),
    "reassessment_overdue": _l("Re-assessment overdue"),
}

ENTITLEMENT_EVENT_KIND_LABELS: Mapping[EntitlementEventKind, LazyString] = {
    EntitlementEventKind.START: _l("Start"),
    EntitlementEventKind.MOVE: _l("Change of care setting"),
    EntitlementEventKind.HOSPITAL_STAY: _l("Acute hospital stay"),
    EntitlementEventKind.END: _l("End"),
}

# Assistive devices.
DEVICE_PROVISION_LABELS: Mapping[DeviceProvision, LazyString] = {
    DeviceProvision.LOAN: _l("Loan"),
    DeviceProvision.PURCHASE_SUBSIDY: _l("Purchase subsidy"),
}
LOAN_FILTER_LABELS: Mapping[LoanFilter, LazyString] = {
    LoanFilter.OPEN: _l("On loan"),
    LoanFilter.OVERDUE: _l("Overdue"),
    LoanFilter.RETURNED: _l("Returned"),
    LoanFilter.PURCHASE: _l("Purchase subsidies"),
}

# What settlement made of a visit (Outcome values), and a statement's bed-days line.
SETTLEMENT_OUTCOME_LABELS: Mapping[str, LazyString] = {
    Outcome.PAID: _l("Paid"),
    Outcome.HELD_FLAG: _l("Held: claim flag under review"),
    Outcome.REJECTED_FLAG: _l("Refused: claim flag upheld"),
    Outcome.IN_HOSPITAL: _l("In hospital that day"),
    Outcome.NOT_BENEFIT_DAY: _l("Not a benefit day"),
    Outcome.OVER_BUDGET: _l("Over the monthly budget"),
    Outcome.NO_BUDGET: _l("No monthly budget"),
    Outcome.VOLUNTEER: _l("Volunteer visit: not settled"),
    Outcome.NOT_HOME_CARE: _l("Not a home-care company"),
    Outcome.NOT_COMPLETED: _l("Not completed"),
    "bed_days": _l("Bed-days"),
}

# Certificates and print batches.
CERTIFICATE_KIND_LABELS: Mapping[str, LazyString] = {
    CertificateKind.ASSESSMENT_CONCLUSION.value: _l("Assessment conclusion"),
    CertificateKind.BENEFIT.value: _l("Benefit certificate"),
    CertificateKind.DECISION_NOTICE.value: _l("Eligibility decision notice"),
    CertificateKind.SETTLEMENT_STATEMENT.value: _l("Settlement statement"),
}
PRINT_BATCH_STATUS_LABELS: Mapping[str, LazyString] = {
    PrintBatchStatus.QUEUED.value: _l("Waiting"),
    PrintBatchStatus.RUNNING.value: _l("Printing"),
    PrintBatchStatus.DONE.value: _l("Done"),
    PrintBatchStatus.FAILED.value: _l("Failed"),
}
# Why a job in progress is taken to be abandoned (careapp.core.liveness).
ABANDONMENT_LABELS: Mapping[str, LazyString] = {
    Abandonment.HEARTBEAT_STALE.value: _l("no sign of life for too long"),
    Abandonment.RUNNER_GONE.value: _l("the process printing it has stopped"),
}

# Visits, as the caregiver's, the manager's and the reviewer's pages and exports name them.
VISIT_STATUS_LABELS: Mapping[str, LazyString] = {
    VisitStatus.UNASSIGNED.value: _l("Unassigned"),
    VisitStatus.ASSIGNED.value: _l("Assigned"),
    VisitStatus.CONFIRMED.value: _l("Confirmed"),
    VisitStatus.CHECKED_IN.value: _l("In progress"),
    VisitStatus.COMPLETED.value: _l("Completed"),
    VisitStatus.MISSED.value: _l("Missed"),
    VisitStatus.CANCELLED.value: _l("Cancelled"),
}
# Badge colours of the statuses (classes of static/css/app.css).
VISIT_STATUS_BADGES: Mapping[str, str] = {
    VisitStatus.CHECKED_IN.value: "badge-warn",
    VisitStatus.COMPLETED.value: "badge-good",
    VisitStatus.MISSED.value: "badge-bad",
    VisitStatus.CANCELLED.value: "badge-bad",
}
CHECK_IN_FLAG_LABELS: Mapping[str, LazyString] = {
    "far_from_home": _l("Far from the home"),
    "outside_window": _l("Outside the time window"),
    "no_location": _l("No location"),
}

# Why dispatch left a visit without a caregiver (scheduling's codes, and the service's own).
UNASSIGNED_REASON_LABELS: Mapping[str, LazyString] = {
    NO_QUALIFIED_CAREGIVER: _l("No caregiver of the provider holds the qualification."),
    NO_CAREGIVER_WORKING: _l("No qualified caregiver works during the time window."),
    DAILY_LIMIT_REACHED: _l("Every qualified caregiver has reached the daily limit."),
    NO_TIME_IN_WINDOW: _l("No qualified caregiver is free in the time window."),
    NO_HOME_LOCATION: _l("The home has no map location."),
}

DISPATCH_RUN_STATUS_LABELS: Mapping[DispatchRunStatus, LazyString] = {
    DispatchRunStatus.RUNNING: _l("Running"),
    DispatchRunStatus.COMPLETED: _l("Completed"),
    DispatchRunStatus.FAILED: _l("Failed"),
}
# What a caregiver must hold to give a service item.
QUALIFICATION_LABELS: Mapping[Qualification, LazyString] = {
    Qualification.DAILY_CARE: _l("daily-life care"),
    Qualification.NURSING: _l("nursing"),
    Qualification.REHABILITATION: _l("rehabilitation"),
}

# Claim flags.
CLAIM_FLAG_KIND_LABELS: Mapping[str, LazyString] = {
    ClaimFlagKind.OVERLAPPING_VISITS.value: _l("Two homes at once"),
    ClaimFlagKind.IMPOSSIBLE_TRAVEL.value: _l("Impossible travel"),
    ClaimFlagKind.DURING_HOSPITAL_STAY.value: _l("During a hospital stay"),
    ClaimFlagKind.FAR_FROM_HOME.value: _l("Far from the home"),
    ClaimFlagKind.MANUAL_ENTRY.value: _l("Entered by hand"),
    ClaimFlagKind.SHORT_VISIT.value: _l("Visit too short"),
}
CLAIM_FLAG_STATUS_LABELS: Mapping[str, LazyString] = {
    ClaimFlagStatus.OPEN.value: _l("Awaiting review"),
    ClaimFlagStatus.CLEARED.value: _l("Cleared"),
    ClaimFlagStatus.UPHELD.value: _l("Refused (flag upheld)"),
}
CLAIM_FLAG_STATUS_MEANINGS: Mapping[str, LazyString] = {
    ClaimFlagStatus.OPEN.value: _l("The visit is not paid until an administrator reviews it."),
    ClaimFlagStatus.CLEARED.value: _l("Accepted: the visit can be paid."),
    ClaimFlagStatus.UPHELD.value: _l("Refused: the visit is never paid."),
}
CLAIM_FLAG_STATUS_BADGES: Mapping[str, str] = {
    ClaimFlagStatus.OPEN.value: "badge-warn",
    ClaimFlagStatus.CLEARED.value: "badge-good",
    ClaimFlagStatus.UPHELD.value: "badge-bad",
}

# Where a claim flag measured a journey from.
CLAIM_FLAG_PLACE_LABELS: Mapping[str, LazyString] = {
    "check_in": _l("its check-in position"),
    "check_out": _l("its check-out position"),
    "home": _l("the home"),
}

# Complaints about a provider.
COMPLAINT_CHANNEL_LABELS: Mapping[ComplaintChannel, LazyString] = {
    ComplaintChannel.PHONE: _l("By phone"),
    ComplaintChannel.IN_PERSON: _l("In person"),
    ComplaintChannel.LETTER: _l("By letter"),
    ComplaintChannel.ONLINE: _l("Online"),
}
COMPLAINT_STATUS_LABELS: Mapping[ComplaintStatus, LazyString] = {
    ComplaintStatus.OPEN: _l("Not yet resolved"),
    ComplaintStatus.UPHELD: _l("Upheld"),
    ComplaintStatus.DISMISSED: _l("Dismissed"),
}

# Work orders and their offers.
WORK_ORDER_REASON_LABELS: Mapping[WorkOrderReason, LazyString] = {
    WorkOrderReason.NEW_CLIENT: _l("New client"),
    WorkOrderReason.MOVE: _l("Move to another provider"),
    WorkOrderReason.PROVIDER_EXIT: _l("Provider exit"),
}
WORK_ORDER_STATUS_LABELS: Mapping[WorkOrderStatus, LazyString] = {
    WorkOrderStatus.OPEN: _l("open"),
    WorkOrderStatus.ACCEPTED: _l("accepted"),
    WorkOrderStatus.ESCALATED: _l("escalated: nobody left"),
    WorkOrderStatus.CANCELLED: _l("cancelled"),
}
OFFER_STATUS_LABELS: Mapping[OfferStatus, LazyString] = {
    OfferStatus.PENDING: _l("awaiting an answer"),
    OfferStatus.ACCEPTED: _l("accepted"),
    OfferStatus.REFUSED: _l("refused"),
    OfferStatus.EXPIRED: _l("no answer in time"),
    OfferStatus.WITHDRAWN: _l("withdrawn"),
}
OFFER_BASIS_LABELS: Mapping[OfferBasis, LazyString] = {
    OfferBasis.FAMILY_CHOICE: _l("the family's choice"),
    OfferBasis.ROTATION: _l("rotation"),
    OfferBasis.ADMINISTRATOR: _l("assigned by an administrator"),
}

ROLE_LABELS: Mapping[Role, LazyString] = {
    Role.ADMIN: _l("administrator"),
    Role.ASSESSOR: _l("assessor"),
    Role.PROVIDER_MANAGER: _l("provider manager"),
    Role.CAREGIVER: _l("caregiver"),
}

_MEMBER_TABLES: tuple[Mapping[Any, LazyString], ...] = (  # Any: keys of many enum types
    HOUSEHOLD_TYPE_LABELS,
    INSURANCE_SCHEME_LABELS,
    INSURANCE_STATUS_LABELS,
    SEX_LABELS,
    APPLICANT_LABELS,
    APPLICATION_STATUS_LABELS,
    APPLICATION_KIND_LABELS,
    OBJECTION_SOURCE_LABELS,
    OBJECTION_STATUS_LABELS,
    CARE_SETTING_LABELS,
    CATEGORY_LABELS,
    PAYEE_LABELS,
    ENTITLEMENT_EVENT_KIND_LABELS,
    DEVICE_PROVISION_LABELS,
    LOAN_FILTER_LABELS,
    DISPATCH_RUN_STATUS_LABELS,
    QUALIFICATION_LABELS,
    COMPLAINT_CHANNEL_LABELS,
    COMPLAINT_STATUS_LABELS,
    WORK_ORDER_REASON_LABELS,
    WORK_ORDER_STATUS_LABELS,
    OFFER_STATUS_LABELS,
    OFFER_BASIS_LABELS,
    ROLE_LABELS,
)
LABELS: Mapping[enum.Enum, LazyString] = {
    member: text for table in _MEMBER_TABLES for member, text in table.items()
}


def label(member: enum.Enum) -> str:
    """The label of an enum member in the user's language (its value if none is defined)."""
    found = LABELS.get(member)
    return str(found) if found is not None else str(member.value)


def choices(enum_cls: type[enum.Enum]) -> list[SelectChoice]:
    """Select choices (value, translated label) for every member of `enum_cls`."""
    return [SelectChoice(str(member.value), LABELS[member]) for member in enum_cls]


def application_status_badge(status: ApplicationStatus) -> str:
    """The badge classes of an application's status."""
    return APPLICATION_STATUS_BADGES[status]


def visit_status_label(status: VisitStatus) -> str:
    """A visit status's label, for the exports that services write (CSV, day sheet)."""
    return str(VISIT_STATUS_LABELS[status.value])


def unassigned_reason_label(code: str | None) -> str:
    """Why a visit is unassigned, in the user's language (None: no dispatch run planned it)."""
    if code is None:
        return _("Not dispatched yet.")
    found = UNASSIGNED_REASON_LABELS.get(code)
    return str(found) if found is not None else code


def check_in_flag_label(flag: str) -> str:
    """A check-in flag's label (the flag itself if none is defined)."""
    found = CHECK_IN_FLAG_LABELS.get(flag)
    return str(found) if found is not None else flag


def category_label(value: str | None) -> str:
    """A stored benefit category's label, "none" when there is none."""
    if value is None:
        return _("none")
    return str(CATEGORY_LABELS[BenefitCategory(value)])


# Providers: statuses, kinds, quality problems and alerts, by stored value.
def provider_status_label(value: str) -> str:
    return {
        "active": pgettext("provider status", "Active"),
        "warned": _("Warned"),
        "suspended": _("Suspended"),
        "exited": _("Exited"),
    }.get(value, value)


def provider_kind_label(value: str) -> str:
    return {
        "home_care": _("Home care"),
        "elderly_care_institution": _("Elderly-care institution"),
        "medical_care_institution": _("Medical-care institution"),
        "volunteer": _("Volunteer organisation"),
    }.get(value, value)


def quality_problem_label(value: str) -> str:
    return {
        "low_satisfaction": _("Satisfaction below the threshold"),
        "too_many_missed": _("Too many missed visits"),
        "too_many_complaints": _("Too many complaints"),
        "too_few_phone_verified": _("Too few visits verified on the phone"),
    }.get(value, value)


def alert_kind_label(value: str) -> str:
    return {
        "missed_visit": _("Missed visit"),
        "quality_warning": _("Quality warning"),
        "quality_suspension": _("Suspension"),
        "quality_exit": _("Exit"),
        "work_order_offer": _("Work order offer"),
    }.get(value, value)
