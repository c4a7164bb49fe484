"""Database roles on PostgreSQL: the owner migrates, the app role only reads and writes rows.

Production runs two login roles (docs/operations.md, "Database roles"). The owner owns the
database, every table and trigger, and runs the migrations. The app role, which the web app, the
scheduler and the workers connect as, owns nothing and holds row privileges only: it cannot
TRUNCATE, ALTER or DROP a table, disable or drop a trigger, or create anything, so the
append-only audit log's triggers bind it (a trigger can be switched off only by its table's
owner or a superuser).

`grant_app_role` sets exactly these privileges and then checks them. `careapp init-db` runs it
after every migration, in the migration's transaction, rather than relying on ALTER DEFAULT
PRIVILEGES: what a table grants depends on the table (the audit log is append-only), which a
default cannot express (a new append-only table would start with UPDATE and DELETE); defaults
apply only to objects created by the role that set them; and a table created by a migration
run some other way fails closed (the app is refused it, visibly, until the grant step runs)
instead of open.

No function needs EXECUTE: a trigger's function runs without a privilege check, and the
exclusion constraint against double-booking is checked by its index.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from careapp.models.audit import AuditEvent

# Rows are added and read, never changed or removed (their triggers refuse it too).
APPEND_ONLY_TABLES = frozenset({AuditEvent.__tablename__})
# Read, never written by the app: Alembic's record of the schema's revision.
READ_ONLY_TABLES = frozenset({"alembic_version"})
ROW_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
# Every table privilege PostgreSQL has, for the check.
TABLE_PRIVILEGES = (*ROW_PRIVILEGES, "TRUNCATE", "REFERENCES", "TRIGGER")
# Privileges that can also be granted per column (REVOKE on the table leaves those).
COLUMN_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "REFERENCES")


class DatabaseRoleError(RuntimeError):
    """The app role is missing, unsafe (owns or could become an owner) or not granted right."""


def table_privileges(table: str) -> tuple[str, ...]:
    """What the app role may do to the rows of `table`."""
    if table in APPEND_ONLY_TABLES:
        return ("SELECT", "INSERT")
    if table in READ_ONLY_TABLES:
        return ("SELECT",)
    return ROW_PRIVILEGES


def grant_app_role(connection: Connection, role: str) -> list[str]:
    """As the owner, in the caller's transaction: give `role` exactly the privileges the app
    needs on this database and its current schema, take every other away, and check the result.
    Idempotent. Returns the tables granted; raises DatabaseRoleError when the role is unsafe."""
    if connection.dialect.name != "postgresql":
        raise DatabaseRoleError("database roles exist only on PostgreSQL")
    if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}):
        _grant(connection, role)
    problems = app_role_problems(connection, role)
    if problems:
        raise DatabaseRoleError(
            f"the app role {role!r} is not safe to run the app as:\n- " + "\n- ".join(problems)
        )
    return _relations(connection, "r")


def _grant(connection: Connection, role: str) -> None:
    quote = connection.dialect.identifier_preparer.quote
    grantee = quote(role)
    database = quote(str(connection.scalar(text("SELECT current_database()"))))
    schema = quote(str(connection.scalar(text("SELECT current_schema()"))))
    statements = [
        # Connect, nothing else: no schemas, no temporary tables (for anyone but the owner).
        f"REVOKE ALL ON DATABASE {database} FROM {grantee}",
        f"REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {database} TO {grantee}",
        # Use the schema's objects, create none (PostgreSQL 15 no longer grants CREATE to
        # PUBLIC on schema public; older servers do, and only their superuser may revoke it).
        f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC",
        f"REVOKE ALL ON SCHEMA {schema} FROM {grantee}",
        f"GRANT USAGE ON SCHEMA {schema} TO {grantee}",
    ]
    for table in _relations(connection, "r"):
        name = f"{schema}.{quote(table)}"
        statements.append(f"REVOKE ALL ON TABLE {name} FROM PUBLIC, {grantee}")
        privileges = ", ".join(table_privileges(table))
        statements.append(f"GRANT {privileges} ON TABLE {name} TO {grantee}")
    for sequence in _relations(connection, "S"):
        name = f"{schema}.{quote(sequence)}"
        statements.append(f"REVOKE ALL ON SEQUENCE {name} FROM PUBLIC, {grantee}")
        # nextval() for the ids of new rows; never setval().
        statements.append(f"GRANT USAGE, SELECT ON SEQUENCE {name} TO {grantee}")
    for statement in statements:
        connection.exec_driver_sql(statement)


def app_role_problems(connection: Connection, role: str) -> list[str]:
    """Why `role` is not a safe app role for this database (empty when it is): it must exist,
    not be the role migrating, a superuser or able to make roles, own nothing here, belong to
    no owner, create nothing, and hold exactly `table_privileges` on every table."""
    found = connection.execute(
        text(
            "SELECT oid, rolsuper, rolcreaterole, rolbypassrls, rolreplication"
            " FROM pg_roles WHERE rolname = :role"
        ),
        {"role": role},
    ).one_or_none()
    if found is None:
        return [f"no role named {role!r} (create it first, docs/operations.md)"]
    problems = [
        f"it is {attribute}"
        for attribute, held in (
            ("a superuser", found.rolsuper),
            ("allowed to create roles (CREATEROLE)", found.rolcreaterole),
            ("allowed to bypass row security (BYPASSRLS)", found.rolbypassrls),
            ("a replication role", found.rolreplication),
        )
        if held
    ]
    params = {"role": role, "oid": found.oid}
    if connection.scalar(text("SELECT current_user = :role"), params):
        problems.append("it is the role running the migrations (the owner)")
    problems += [f"it owns {name}" for name in connection.scalars(text(_OWNED_SQL), params)]
    problems += [
        f"it is a member of the owner role {owner!r}"
        for owner in connection.scalars(text(_OWNER_MEMBERSHIP_SQL), params)
    ]
    problems += [str(held) for held in connection.scalars(text(_CREATE_SQL), params)]
    for table in _relations(connection, "r"):
        problems += _table_problems(connection, role, table)
    for sequence in _relations(connection, "S"):
        if connection.scalar(
            text("SELECT has_sequence_privilege(:role, :sequence, 'UPDATE')"),
            {"role": role, "sequence": _qualified(connection, sequence)},
        ):
            problems.append(f"it may set the sequence {sequence} (UPDATE)")
    return problems


def _table_problems(connection: Connection, role: str, table: str) -> list[str]:
    expected = table_privileges(table)
    params = {"role": role, "table": _qualified(connection, table)}
    held = {
        privilege
        for privilege in TABLE_PRIVILEGES
        if connection.scalar(
            text("SELECT has_table_privilege(:role, :table, :privilege)"),
            {**params, "privilege": privilege},
        )
    }
    held |= {
        f"{privilege} (on a column)"
        for privilege in COLUMN_PRIVILEGES
        if privilege not in expected
        and privilege not in held
        and connection.scalar(
            text("SELECT has_any_column_privilege(:role, :table, :privilege)"),
            {**params, "privilege": privilege},
        )
    }
    extra = sorted(held - set(expected))
    missing = [privilege for privilege in expected if privilege not in held]
    problems = []
    if extra:
        problems.append(f"on {table} it holds {', '.join(extra)}")
    if missing:
        problems.append(f"on {table} it lacks {', '.join(missing)}")
    return problems


def _relations(connection: Connection, kind: str) -> list[str]:
    """The tables ("r") or sequences ("S") of the current schema."""
    return list(
        connection.scalars(
            text(
                "SELECT relname FROM pg_class JOIN pg_namespace ON pg_namespace.oid = relnamespace"
                " WHERE nspname = current_schema() AND relkind = :kind ORDER BY relname"
            ),
            {"kind": kind},
        )
    )


def _qualified(connection: Connection, name: str) -> str:
    quote = connection.dialect.identifier_preparer.quote
    schema = str(connection.scalar(text("SELECT current_schema()")))
    return f"{quote(schema)}.{quote(name)}"


# Everything in this database the role owns (what DROP OWNED would drop), and the database.
_OWNED_SQL = """
SELECT pg_describe_object(classid, objid, objsubid) FROM pg_shdepend
WHERE refclassid = 'pg_authid'::regclass AND refobjid = CAST(:oid AS oid) AND deptype = 'o'
  AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
UNION
SELECT 'database ' || datname FROM pg_database
WHERE datname = current_database() AND datdba = CAST(:oid AS oid)
"""

# The owners of the database, the schema and its objects; a member could act as one.
_OWNER_MEMBERSHIP_SQL = """
WITH here AS (SELECT oid FROM pg_namespace WHERE nspname = current_schema()),
owners AS (
    SELECT datdba AS owner FROM pg_database WHERE datname = current_database()
    UNION SELECT nspowner FROM pg_namespace WHERE oid IN (SELECT oid FROM here)
    UNION SELECT relowner FROM pg_class WHERE relnamespace IN (SELECT oid FROM here)
    UNION SELECT proowner FROM pg_proc WHERE pronamespace IN (SELECT oid FROM here)
    UNION SELECT oid FROM pg_roles WHERE rolname = current_user
)
SELECT rolname FROM owners JOIN pg_roles ON pg_roles.oid = owners.owner
WHERE owners.owner <> CAST(:oid AS oid) AND rolname <> 'pg_database_owner'
  AND pg_has_role(CAST(:oid AS oid), owners.owner, 'MEMBER')
ORDER BY rolname
"""

# Creating anything: schemas or temporary tables in the database, objects in the schema.
_CREATE_SQL = """
SELECT 'it may create schemas in the database (CREATE)'
WHERE has_database_privilege(CAST(:oid AS oid), current_database(), 'CREATE')
UNION ALL
SELECT 'it may create temporary tables (TEMPORARY)'
WHERE has_database_privilege(CAST(:oid AS oid), current_database(), 'TEMPORARY')
UNION ALL
SELECT 'it may create objects in the schema (CREATE; as a superuser:'
       ' REVOKE CREATE ON SCHEMA ' || current_schema() || ' FROM PUBLIC)'
WHERE has_schema_privilege(CAST(:oid AS oid), current_schema(), 'CREATE')
"""
