"""Wiring shared by every page: the user loader, error pages, locale and security headers."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request, session
from flask_babel import get_locale, lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from careapp import db
from careapp.core.errors import CareappError
from careapp.core.money import format_yuan
from careapp.services.i18n import localized
from careapp.web.display import format_day, format_weekdays, weekday_name
from careapp.web.extensions import login_manager
from careapp.web.health import init_health
from careapp.web.labels import (
    application_status_badge,
    category_label,
    check_in_flag_label,
    label,
    unassigned_reason_label,
    visit_status_label,
)
from careapp.web.logs import keep_tokens_out_of_logs
from careapp.web.monitoring import init_monitoring
from careapp.web.params import BoundedIntConverter
from careapp.web.presenters import month_label
from careapp.web.sessions import load_session_user
from careapp.web.wording import check_in_place

# Responses that hold no personal data and may be kept by the browser's cache: the static files
# and the service worker's script (which asks for revalidation itself). Every other response
# (pages, CSV, PDF, JSON, calendar feeds, errors; logged in or not) is `no-store`.
CACHEABLE_ENDPOINTS = frozenset({"static", "assessments.service_worker"})


def register_web(app: Flask) -> None:
    # Before any route: every `<int:…>` is bounded, so a huge id is a 404, not an overflow.
    app.url_map.converters["int"] = BoundedIntConverter
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "strong"

    login_manager.user_loader(load_session_user)

    @app.before_request
    def load_user_afresh() -> None:
        """Each request loads (and checks) its user: never one left in `g` by an app context
        that outlives a request (the test client's requests share one)."""
        g.pop("_login_user", None)

    app.add_template_filter(format_day, "day")
    app.add_template_filter(weekday_name, "weekday")
    app.add_template_filter(format_weekdays, "weekdays")
    app.add_template_filter(localized, "localized")
    app.add_template_filter(format_yuan, "yuan")
    # Labels and wording every blueprint's templates may use.
    for helper in (
        label,
        visit_status_label,
        unassigned_reason_label,
        check_in_flag_label,
        check_in_place,
        application_status_badge,
        category_label,
        month_label,
    ):
        app.add_template_global(helper)

    @app.context_processor
    def inject_locale() -> dict[str, Any]:
        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"]}

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Response | str, int]:
        return _error_response(400, lazy_gettext("The form expired. Please go back and try again."))

    @app.errorhandler(CareappError)
    def domain_error(error: CareappError) -> tuple[Response | str, int]:
        db.session().rollback()
        return _error_response(error.status_code, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int] | HTTPException:
        if error.code is None or error.code < 400:
            return error
        return _error_response(error.code, _http_message(error.code))

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            response.headers["Cache-Control"] = "no-store"
        if app.config["HSTS_MAX_AGE"]:
            response.headers.setdefault(
                "Strict-Transport-Security",
                f"max-age={int(app.config['HSTS_MAX_AGE'])}; includeSubDomains",
            )
        return response

    keep_tokens_out_of_logs(app)
    init_monitoring(app)
    init_health(app)

    @app.route("/lang/<code>", methods=["POST"])
    def set_language(code: str) -> Any:
        from flask import abort, redirect, url_for

        if code not in app.config["LANGUAGES"]:
            abort(404)
        session["lang"] = code
        referrer = request.referrer or ""
        same_site = referrer.startswith(request.host_url)
        return redirect(referrer if same_site else url_for("main.index"))


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address and scheme from their
    X-Forwarded-For and X-Forwarded-Proto (the last N entries only: what a client writes itself
    in front of them is ignored). Host and prefix stay the request's own."""
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0
        )


def _http_message(code: int) -> str:
    messages = {
        400: lazy_gettext("The request could not be understood."),
        401: lazy_gettext("Please log in."),
        403: lazy_gettext("You do not have permission to do this."),
        404: lazy_gettext("Not found."),
        405: lazy_gettext("This action is not allowed here."),
        409: lazy_gettext("This conflicts with the current state."),
        429: lazy_gettext("Too many attempts. Please wait and try again."),
    }
    return str(messages.get(code, lazy_gettext("Something went wrong.")))


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _error_response(code: int, message: Any) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(error=str(message), status=code), code
    return render_template("errors.html", code=code, message=str(message)), code
