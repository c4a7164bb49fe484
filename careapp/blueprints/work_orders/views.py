"""Work orders: the administrator's list, detail and actions; a provider manager's offers."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.work_orders.forms import (
    ProviderChoiceForm,
    RefuseForm,
    WorkOrderForm,
)
from careapp.core.clock import utcnow
from careapp.core.errors import CareappError
from careapp.models.users import Role
from careapp.models.work_orders import WorkOrderReason
from careapp.services import work_orders as service
from careapp.web import labels
from careapp.web.access import current_actor, role_required
from careapp.web.forms import ConfirmForm
from scheduling.work_orders import Ineligibility

bp = Blueprint("work_orders", __name__)


@bp.context_processor
def _labels() -> dict[str, object]:
    return {
        "reason_labels": labels.WORK_ORDER_REASON_LABELS,
        "order_status_labels": labels.WORK_ORDER_STATUS_LABELS,
        "offer_status_labels": labels.OFFER_STATUS_LABELS,
        "basis_labels": labels.OFFER_BASIS_LABELS,
    }


def _rules() -> service.WorkOrderRules:
    return service.WorkOrderRules.from_config(current_app.config)


@bp.route("/work-orders", methods=["GET"])
@role_required(Role.ADMIN)
def work_order_list() -> ResponseReturnValue:
    now = utcnow()
    orders = service.list_work_orders(db.session(), current_actor(), now)
    return render_template(
        "work_orders/work_order_list.html",
        orders=orders,
        now=now,
        is_overdue=service.is_overdue,
        pending_offer=service.pending_offer,
    )


@bp.route("/entitlements/<int:entitlement_id>/work-orders/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def work_order_new(entitlement_id: int) -> ResponseReturnValue:
    session = db.session()
    options = service.new_work_order_options(session, current_actor(), entitlement_id)
    if options.live_order_id is not None:
        return redirect(url_for("work_orders.work_order_detail", order_id=options.live_order_id))
    form = WorkOrderForm()
    form.set_providers(options.providers)
    status = 200
    if form.validate_on_submit():
        try:
            order = service.open_work_order(
                session,
                current_actor(),
                entitlement_id,
                _rules(),
                utcnow(),
                reason=WorkOrderReason(form.reason.data),
                family_choice_provider_id=form.family_choice_provider_id.data,
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The work order is open and the first offer has been made."), "success")
            return redirect(url_for("work_orders.work_order_detail", order_id=order.id))
    elif form.is_submitted():
        status = 400
    return render_template("work_orders/work_order_new.html", form=form, options=options), status


def _detail(
    order_id: int,
    choice_form: ProviderChoiceForm | None = None,
    assign_form: ProviderChoiceForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = db.session()
    actor = current_actor()
    order = service.get_work_order(session, actor, order_id)
    options = service.provider_options(session, actor, order, _rules())
    eligible = [o.provider for o in options if o.problem is None]
    held = service.pending_offer(order)
    assignable = [
        o.provider
        for o in options
        if o.problem in (None, Ineligibility.FULL) or (held and held.provider_id == o.provider.id)
    ]
    choice_form = choice_form or ProviderChoiceForm(prefix="choice", formdata=None)
    choice_form.set_providers(eligible)
    assign_form = assign_form or ProviderChoiceForm(prefix="assign", formdata=None)
    assign_form.set_providers(assignable)
    page = render_template(
        "work_orders/work_order_detail.html",
        order=order,
        options=options,
        choice_form=choice_form,
        assign_form=assign_form,
        cancel_form=ConfirmForm(prefix="cancel", formdata=None),
        problem_message=service.ineligibility_message,
        is_live=order.status in service.LIVE_STATUSES,
        is_overdue=service.is_overdue(order, utcnow()),
    )
    return page, status


@bp.route("/work-orders/<int:order_id>", methods=["GET"])
@role_required(Role.ADMIN)
def work_order_detail(order_id: int) -> ResponseReturnValue:
    return _detail(order_id)


@bp.route("/work-orders/<int:order_id>/family-choice", methods=["POST"])
@role_required(Role.ADMIN)
def work_order_family_choice(order_id: int) -> ResponseReturnValue:
    form = ProviderChoiceForm(prefix="choice")
    form.provider_id.choices = None  # validated by the service
    form.provider_id.validate_choice = False
    if not form.validate_on_submit():
        return _detail(order_id, choice_form=form, status=400)
    try:
        service.record_family_choice(
            db.session(), current_actor(), order_id, form.provider_id.data, _rules(), utcnow()
        )
    except CareappError as error:
        db.session().rollback()
        form.show_error(error)
        return _detail(order_id, choice_form=form, status=error.status_code)
    db.session().commit()
    flash(_("The family's choice has been recorded and offered."), "success")
    return redirect(url_for("work_orders.work_order_detail", order_id=order_id))


@bp.route("/work-orders/<int:order_id>/assign", methods=["POST"])
@role_required(Role.ADMIN)
def work_order_assign(order_id: int) -> ResponseReturnValue:
    form = ProviderChoiceForm(prefix="assign")
    form.provider_id.choices = None
    form.provider_id.validate_choice = False
    if not form.validate_on_submit():
        return _detail(order_id, assign_form=form, status=400)
    try:
        service.assign_provider(
            db.session(), current_actor(), order_id, form.provider_id.data, _rules(), utcnow()
        )
    except CareappError as error:
        db.session().rollback()
        form.show_error(error)
        return _detail(order_id, assign_form=form, status=error.status_code)
    db.session().commit()
    flash(_("The provider has been assigned."), "success")
    return redirect(url_for("work_orders.work_order_detail", order_id=order_id))


@bp.route("/work-orders/<int:order_id>/cancel", methods=["POST"])
@role_required(Role.ADMIN)
def work_order_cancel(order_id: int) -> ResponseReturnValue:
    form = ConfirmForm(prefix="cancel")
    if form.validate_on_submit():
        try:
            service.cancel_work_order(db.session(), current_actor(), order_id, utcnow())
        except CareappError as error:
            db.session().rollback()
            flash(error.message, "error")
            return _detail(order_id, status=error.status_code)
        db.session().commit()
        flash(_("The work order has been cancelled."), "success")
    return redirect(url_for("work_orders.work_order_detail", order_id=order_id))


# --- provider managers --------------------------------------------------------------------


def _offers_page(
    refuse_form: RefuseForm | None = None,
    refusing: int | None = None,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    offers = service.provider_offers(db.session(), current_actor())
    return render_template(
        "work_orders/offer_list.html",
        offers=offers,
        refuse_form=refuse_form or RefuseForm(formdata=None),
        accept_form=ConfirmForm(formdata=None),
        refusing=refusing,
        error=error,
        now=utcnow(),
    ), status


@bp.route("/my-offers", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def offer_list() -> ResponseReturnValue:
    return _offers_page()


@bp.route("/my-offers/<int:offer_id>/accept", methods=["POST"])
@role_required(Role.PROVIDER_MANAGER)
def offer_accept(offer_id: int) -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _offers_page(error=_("The form has expired; please try again."), status=400)
    try:
        service.answer_offer(
            db.session(),
            current_actor(),
            offer_id,
            accept=True,
            refusal_reason=None,
            rules=_rules(),
            now=utcnow(),
        )
    except CareappError as error:
        db.session().rollback()
        return _offers_page(error=error.message, status=error.status_code)
    db.session().commit()
    flash(_("You have accepted the client."), "success")
    return redirect(url_for("work_orders.offer_list"))


@bp.route("/my-offers/<int:offer_id>/refuse", methods=["POST"])
@role_required(Role.PROVIDER_MANAGER)
def offer_refuse(offer_id: int) -> ResponseReturnValue:
    form = RefuseForm()
    if not form.validate_on_submit():
        return _offers_page(refuse_form=form, refusing=offer_id, status=400)
    try:
        service.answer_offer(
            db.session(),
            current_actor(),
            offer_id,
            accept=False,
            refusal_reason=form.refusal_reason.data,
            rules=_rules(),
            now=utcnow(),
        )
    except CareappError as error:
        db.session().rollback()
        form.show_error(error)
        message = None if error.field else error.message  # e.g. answered already
        return _offers_page(
            refuse_form=form, refusing=offer_id, error=message, status=error.status_code
        )
    db.session().commit()
    flash(_("You have refused the offer; it goes to the next provider."), "success")
    return redirect(url_for("work_orders.offer_list"))
