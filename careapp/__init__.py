"""careapp: the web app, data model, services and jobs of long-term care insurance."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session

from careapp.config import Config, apply_plain_http, check_config, metrics_multiprocess_dir

BLUEPRINTS = (
    "auth",
    "main",
    "registry",
    "applications",
    "assessments",
    "eligibility",
    "careplans",
    "dispatch",
    "rosters",
    "visits",
    "ratings",
    "certificates",
    "policy",
    "ledger",
    "devices",
    "claims",
    "providers",
    "settlement",
    "work_orders",
    "users",
    "monitoring",
)


def create_app(config: type[Config] | None = None) -> Flask:
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(root / "instance"),
    )
    app.config.from_object(config or Config)
    app.config.from_prefixed_env("CAREAPP")
    if not app.config.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite+pysqlite:///{app.instance_path}/careapp.sqlite"
    app.config["METRICS_MULTIPROC_DIR"] = (
        app.config.get("METRICS_MULTIPROC_DIR") or metrics_multiprocess_dir()
    )
    check_config(app.config)
    apply_plain_http(app.config)
    if app.config.get("SIGNING_KEY_EPHEMERAL") and not app.config.get("SIGNING_KEY_PATH"):
        _ephemeral_signing_key(app)

    from careapp import db
    from careapp.config import ConfigError
    from careapp.security import DataKeyError, DataProtector
    from careapp.web import register_web, trust_proxies
    from careapp.web.extensions import babel, csrf, login_manager
    from careapp.web.logs import configure_app_logging

    configure_app_logging(app)  # first: Flask then adds no handler of its own to app.logger
    db.init_app(app)
    try:
        app.extensions["careapp.protector"] = DataProtector(
            app.config["DATA_KEY"], app.config.get("INDEX_KEY")
        )
    except DataKeyError as error:
        raise ConfigError(str(error)) from None
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(root / "translations"),
    )
    register_web(app)
    trust_proxies(app)

    import importlib

    for name in BLUEPRINTS:
        module = importlib.import_module(f"careapp.blueprints.{name}.views")
        app.register_blueprint(module.bp)

    from careapp.cli import register_cli

    register_cli(app)
    return app


def _ephemeral_signing_key(app: Flask) -> None:
    """Tests: a throwaway seal key and certificate in a temporary folder (never in production,
    where issuing without a configured key is refused)."""
    import tempfile

    from careapp.reports.seal import create_signing_key

    files = create_signing_key(Path(tempfile.mkdtemp(prefix="careapp-seal-")))
    app.config["SIGNING_KEY_PATH"] = str(files.key_path)
    app.config["SIGNING_CERT_PATH"] = str(files.cert_path)


def _select_locale() -> str:
    from flask import current_app, has_request_context

    if not has_request_context():  # a job, the CLI or a service test: no session, no args
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return str(chosen)
    if request.args.get("lang") in languages:
        return str(request.args["lang"])
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])
