"""Certificates printed by administrators as sealed PDFs; the public verification page; batch
printing of a week's decisions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.certificates.forms import (
    PrintBatchForm,
    ReissueForm,
    RestartBatchForm,
    VerifyForm,
)
from careapp.core.check_codes import format_check_code, normalise_check_code
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import CareappError, NotFoundError
from careapp.jobs.print_batches import abandoned_after
from careapp.models.certificate import Certificate, CertificateKind, PrintBatch, PrintBatchStatus
from careapp.models.users import Role
from careapp.reports.notices import render_benefit_certificate, render_decision_notice
from careapp.reports.pdf import render_assessment_conclusion
from careapp.reports.seal import seal_pdf
from careapp.services import print_batches
from careapp.services.certificates import (
    REISSUABLE,
    Verification,
    certificate_signer,
    current_certificate_of,
    issue_assessment_conclusion,
    issue_benefit_certificate,
    issue_decision_notice,
    public_base_url,
    verify_certificate,
)
from careapp.services.procedure import ProcedureRules
from careapp.web.access import current_actor, role_required
from careapp.web.labels import (
    ABANDONMENT_LABELS,
    CERTIFICATE_KIND_LABELS,
    PRINT_BATCH_STATUS_LABELS,
)
from careapp.web.wording import WORDING

bp = Blueprint("certificates", __name__)


def _base_url() -> str:
    """Where printed QR codes point: PUBLIC_BASE_URL, never this request's Host header."""
    return public_base_url(current_app.config)


def _rules() -> ProcedureRules:
    return ProcedureRules.from_config(current_app.config)


def _pdf(body: bytes, number: str) -> Response:
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{number}.pdf"'
    return response


def _sealed(kind: CertificateKind, subject_id: int, reissue_reason: str | None = None) -> Response:
    """Issue (or reprint under its number) the document and return it sealed; committed only
    once the PDF is sealed, so no number is spent on a document that was never produced."""
    session = db.session()
    signer = certificate_signer(current_app.config)  # no key: refused before any number
    actor, now, rules, base_url = current_actor(), utcnow(), _rules(), _base_url()
    certificate: Certificate
    if kind is CertificateKind.ASSESSMENT_CONCLUSION:
        certificate, conclusion = issue_assessment_conclusion(
            session, actor, subject_id, now, rules=rules, base_url=base_url,
            reissue_reason=reissue_reason,
        )  # fmt: skip
        pdf = render_assessment_conclusion(conclusion)
    elif kind is CertificateKind.DECISION_NOTICE:
        certificate, notice = issue_decision_notice(
            session, actor, subject_id, now, rules=rules, base_url=base_url, wording=WORDING,
            reissue_reason=reissue_reason,
        )  # fmt: skip
        pdf = render_decision_notice(notice)
    else:
        certificate, benefit = issue_benefit_certificate(
            session, actor, subject_id, now, rules=rules, base_url=base_url, wording=WORDING,
            reissue_reason=reissue_reason,
        )  # fmt: skip
        pdf = render_benefit_certificate(benefit)
    body = seal_pdf(pdf, signer, office_name=str(current_app.config["SEAL_OFFICE_NAME"]))
    session.commit()
    return _pdf(body, certificate.number)


@bp.route("/assessments/<int:assessment_id>/conclusion.pdf", methods=["GET"])
@role_required(Role.ADMIN)
def assessment_conclusion_pdf(assessment_id: int) -> ResponseReturnValue:
    """The numbered, sealed assessment conclusion (评估结论书), inline; the same number on
    every opening while its content is unchanged."""
    return _sealed(CertificateKind.ASSESSMENT_CONCLUSION, assessment_id)


@bp.route("/decisions/<int:decision_id>/notice.pdf", methods=["POST"])
@role_required(Role.ADMIN)
def decision_notice_pdf(decision_id: int) -> ResponseReturnValue:
    """The numbered, sealed eligibility decision notice (决定通知书)."""
    return _sealed(CertificateKind.DECISION_NOTICE, decision_id)


@bp.route("/decisions/<int:decision_id>/benefit-certificate.pdf", methods=["POST"])
@role_required(Role.ADMIN)
def benefit_certificate_pdf(decision_id: int) -> ResponseReturnValue:
    """The numbered, sealed benefit certificate (待遇资格证明) of the decision's entitlement."""
    return _sealed(CertificateKind.BENEFIT, decision_id)


@bp.route("/certificates/<string:kind>/<int:subject_id>/reissue", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def reissue(kind: str, subject_id: int) -> ResponseReturnValue:
    """Re-issue a document under a new number, with a reason and a confirmation; the earlier
    number then verifies as superseded by the new one."""
    try:
        document_kind = CertificateKind(kind)
    except ValueError:
        abort(404)
    if document_kind not in REISSUABLE:
        abort(404)
    current = current_certificate_of(db.session(), current_actor(), document_kind, subject_id)
    form = ReissueForm()
    status = 200
    if current is not None and form.validate_on_submit():
        try:
            return _sealed(document_kind, subject_id, reissue_reason=form.reason.data.strip())
        except CareappError as error:
            db.session().rollback()
            form.show_error(error)
            status = error.status_code
    elif form.is_submitted():
        status = 400 if current is not None else 409
    return render_template(
        "certificates/reissue.html",
        form=form,
        current=current,
        kind_label=CERTIFICATE_KIND_LABELS[document_kind.value],
    ), status


# --- the public verification page (no login) ------------------------------------------------


@bp.route("/verify", methods=["GET"])
def verify_form() -> ResponseReturnValue:
    """A form to type a certificate's number and check code; it leads to
    /verify/<number>?code=<code>, the address the QR code holds."""
    form = VerifyForm(request.args)
    if request.args and form.validate():
        number = "".join((form.number.data or "").split()).upper()
        typed = (form.code.data or "").strip()
        normalised = normalise_check_code(typed)
        code = format_check_code(normalised) if normalised else typed
        return redirect(url_for("certificates.verify_number", number=number, code=code))
    return _verify_page(form, None, 400 if request.args else 200)


@bp.route("/verify/<string:number>", methods=["GET"])
def verify_number(number: str) -> ResponseReturnValue:
    """Whether a certificate is genuine and still valid, with masked data only; only the number
    with its check code (`?code=`) finds it. Without a code (a typed address, or the QR code
    of a document printed before check codes) nothing is looked up: the page asks for it, the
    same page for every number."""
    form = VerifyForm(data={"number": number, "code": request.args.get("code", "")[:40]})
    if not (form.code.data or "").strip():
        return _verify_page(form, None, 200, ask_for_code=True)
    session = db.session()
    verification = verify_certificate(
        session,
        current_actor(),
        number,
        utcnow(),
        int(current_app.config["VERIFY_MAX_PER_MINUTE"]),
        raw_code=form.code.data,
    )
    session.commit()
    return _verify_page(form, verification, 200)


def _verify_page(
    form: VerifyForm,
    verification: Verification | None,
    status: int,
    *,
    ask_for_code: bool = False,
) -> Response:
    response = Response(
        render_template(
            "certificates/verify.html",
            form=form,
            verification=verification,
            ask_for_code=ask_for_code,
            kind_labels=CERTIFICATE_KIND_LABELS,
        ),
        status,
    )
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"  # its address may hold a check code
    return response


# --- batch printing ---------------------------------------------------------------------------


@bp.route("/certificates/batches", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def batch_new() -> ResponseReturnValue:
    """Choose a week and start printing its decisions in the background."""
    session = db.session()
    form = PrintBatchForm()
    status = 200
    if form.validate_on_submit():
        actor = current_actor()
        try:
            signer = certificate_signer(current_app.config)
            batch = print_batches.request_print_batch(
                session,
                actor,
                form.week.data,
                utcnow(),
                abandoned_after=abandoned_after(current_app),
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            _launcher()(batch.id, actor, signer, _base_url())
            return redirect(url_for("certificates.batch_detail", batch_id=batch.id))
    elif form.is_submitted():
        status = 400
    if not form.week.data and not form.is_submitted():
        form.week.data = print_batches.week_of(city_today(utcnow()))[0]
    batches = print_batches.recent_print_batches(session, current_actor())
    now, limit = utcnow(), abandoned_after(current_app)
    return render_template(
        "certificates/batch_new.html",
        form=form,
        batches=batches,
        abandoned={b.id: print_batches.batch_abandonment(b, now, limit) for b in batches},
        status_labels=PRINT_BATCH_STATUS_LABELS,
    ), status


def _launcher() -> Any:  # Any: (batch_id, actor, signer, base_url) -> None
    """What starts a batch's run: a thread of this process (tests may put their own)."""
    return current_app.extensions.get("careapp.print_batch_launcher", _launch)


def _launch(batch_id: int, actor: object, signer: object, base_url: str) -> None:
    from careapp.jobs.print_batches import start_print_batch

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the real app behind the proxy
    start_print_batch(app, batch_id, actor, signer, base_url)  # type: ignore[arg-type]  # an Actor


@bp.route("/certificates/batches/<int:batch_id>", methods=["GET"])
@role_required(Role.ADMIN)
def batch_detail(batch_id: int) -> ResponseReturnValue:
    return _batch_page(batch_id, RestartBatchForm(), 200)


def _batch_page(batch_id: int, form: RestartBatchForm, status: int) -> ResponseReturnValue:
    batch = print_batches.get_print_batch(db.session(), current_actor(), batch_id)
    return render_template(
        "certificates/batch_detail.html",
        batch=batch,
        state=_state(batch),
        restart_form=form,
        week=dt.timedelta(days=6),
    ), status


@bp.route("/certificates/batches/<int:batch_id>/restart", methods=["POST"])
@role_required(Role.ADMIN)
def batch_restart(batch_id: int) -> ResponseReturnValue:
    """Restart an abandoned batch at once (audited; of two restarts at once, one runs)."""
    session, actor, form = db.session(), current_actor(), RestartBatchForm()
    if not form.validate_on_submit():
        return _batch_page(batch_id, form, 400)
    try:
        signer = certificate_signer(current_app.config)
        batch = print_batches.restart_print_batch(
            session, actor, batch_id, utcnow(), abandoned_after=abandoned_after(current_app)
        )
    except NotFoundError:
        raise
    except CareappError as error:
        session.rollback()
        form.show_error(error)
        return _batch_page(batch_id, form, error.status_code)
    session.commit()
    _launcher()(batch.id, actor, signer, _base_url())
    flash(_("The batch is restarted."), "success")
    return redirect(url_for("certificates.batch_detail", batch_id=batch.id))


@bp.route("/certificates/batches/<int:batch_id>/status.json", methods=["GET"])
@role_required(Role.ADMIN)
def batch_status(batch_id: int) -> ResponseReturnValue:
    """The progress of a batch, polled by its page."""
    session = db.session()
    session.expire_all()  # the builder commits from another session: read its latest values
    batch = print_batches.get_print_batch(session, current_actor(), batch_id)
    response = jsonify(_state(batch))
    return response


@bp.route("/certificates/batches/<int:batch_id>/download", methods=["GET"])
@role_required(Role.ADMIN)
def batch_download(batch_id: int) -> ResponseReturnValue:
    batch = print_batches.get_print_batch(db.session(), current_actor(), batch_id)
    if batch.status is not PrintBatchStatus.DONE or not batch.file_path:
        abort(404)
    path = Path(batch.file_path)
    if not path.is_file():
        abort(404)
    name = f"decisions-{batch.week_starts_on.isoformat()}.pdf"
    response = send_file(path, mimetype="application/pdf", as_attachment=True, download_name=name)
    return response


def _state(batch: PrintBatch) -> dict[str, object]:
    percent = 100 if batch.total == 0 else min(100, batch.done * 100 // batch.total)
    if batch.status is not PrintBatchStatus.DONE and percent == 100:
        percent = 99  # sealing and saving the file still to come
    abandoned = print_batches.batch_abandonment(batch, utcnow(), abandoned_after(current_app))
    return {
        "id": batch.id,
        "status": "abandoned" if abandoned is not None else batch.status.value,
        "total": batch.total,
        "done": batch.done,
        "percent": percent,
        "error": batch.error,
        "download_url": (
            url_for("certificates.batch_download", batch_id=batch.id)
            if batch.status is PrintBatchStatus.DONE
            else None
        ),
        "message": (
            _(
                "Abandoned (%(reason)s) after %(done)d of %(total)d decisions. It no longer "
                "holds its week: restart it to print the week again; documents already "
                "numbered keep their numbers.",
                reason=ABANDONMENT_LABELS[abandoned.value],
                done=batch.done,
                total=batch.total,
            )
            if abandoned is not None
            else _status_message(batch)
        ),
    }


def _status_message(batch: PrintBatch) -> str:
    if batch.status is PrintBatchStatus.DONE:
        return _("Done: %(total)d decisions printed.", total=batch.total)
    if batch.status is PrintBatchStatus.FAILED:
        return _("The batch failed: %(error)s", error=batch.error or "")
    if batch.status is PrintBatchStatus.QUEUED:
        return _("Waiting to start…")
    return _("%(done)d of %(total)d decisions printed…", done=batch.done, total=batch.total)
