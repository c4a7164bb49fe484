"""The data model: one module per aggregate. Importing this package registers every table."""

from careapp.models.assessment import (
    Applicant,
    Application,
    ApplicationStatus,
    Assessment,
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
    "ApplicationStatus",
    "Assessment",
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
    "Person",
    "PolicyRate",
    "PolicyVersion",
    "Provider",
    "ProviderKind",
    "ProviderStatus",
    "Qualification",
    "RatingChannel",
    "Role",
    "SatisfactionRating",
    "ServiceItem",
    "Sex",
    "User",
    "Visit",
    "VisitStatus",
]
