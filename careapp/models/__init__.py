"""The data model: one module per aggregate. Importing this package registers every table."""

from careapp.models.assessment import (
    Applicant,
    Application,
    ApplicationKind,
    ApplicationStatus,
    Assessment,
    AssessmentConfirmation,
    AssessmentDraft,
    CareSetting,
)
from careapp.models.audit import AuditEvent
from careapp.models.certificate import Certificate, CertificateKind
from careapp.models.eligibility import (
    BenefitCategory,
    EligibilityDecision,
    Entitlement,
    EntitlementStatus,
    PolicyRate,
    PolicyVersion,
)
from careapp.models.people import (
    District,
    DistrictKind,
    HouseholdType,
    InsuranceScheme,
    InsuranceStatus,
    Person,
    Sex,
)
from careapp.models.procedure import (
    ApplicationReview,
    AssessorProviderTie,
    Objection,
    ObjectionSource,
    ObjectionStatus,
    ReassessmentReminder,
    ReminderStatus,
)
from careapp.models.providers import (
    Caregiver,
    Provider,
    ProviderKind,
    ProviderStatus,
    Qualification,
    ServiceItem,
)
from careapp.models.rating import RatingChannel, SatisfactionRating
from careapp.models.users import LoginAttempt, Role, User
from careapp.models.visit import (
    CarePlan,
    CarePlanItem,
    DispatchRun,
    DispatchRunStatus,
    Visit,
    VisitStatus,
)

__all__ = [
    "Applicant",
    "Application",
    "ApplicationKind",
    "ApplicationReview",
    "ApplicationStatus",
    "Assessment",
    "AssessmentConfirmation",
    "AssessmentDraft",
    "AssessorProviderTie",
    "AuditEvent",
    "BenefitCategory",
    "CarePlan",
    "CarePlanItem",
    "CareSetting",
    "Caregiver",
    "Certificate",
    "CertificateKind",
    "DispatchRun",
    "DispatchRunStatus",
    "District",
    "DistrictKind",
    "EligibilityDecision",
    "Entitlement",
    "EntitlementStatus",
    "HouseholdType",
    "InsuranceScheme",
    "InsuranceStatus",
    "LoginAttempt",
    "Objection",
    "ObjectionSource",
    "ObjectionStatus",
    "Person",
    "PolicyRate",
    "PolicyVersion",
    "Provider",
    "ProviderKind",
    "ProviderStatus",
    "Qualification",
    "RatingChannel",
    "ReassessmentReminder",
    "ReminderStatus",
    "Role",
    "SatisfactionRating",
    "ServiceItem",
    "Sex",
    "User",
    "Visit",
    "VisitStatus",
]
