"""The ``popcase`` command: serve, migrate, demo data, users, tokens, the access log and
notifications."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from alembic.config import Config
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from app.audit.keys import SigningKey
    from app.audit.service import ChainReport
    from app.auth.context import Actor
    from app.settings import Settings

cli = typer.Typer(help="popcase: a case manager for problem-oriented policing.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
user_cli = typer.Typer(help="User accounts.", no_args_is_help=True)
token_cli = typer.Typer(help="API tokens.", no_args_is_help=True)
audit_cli = typer.Typer(help="The access log.", no_args_is_help=True)
import_cli = typer.Typer(help="Import data.", no_args_is_help=True)
export_cli = typer.Typer(help="Export case files for evaluators.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(user_cli, name="user")
cli.add_typer(token_cli, name="token")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(import_cli, name="import")
cli.add_typer(export_cli, name="export")

# Never hard-wrapped at the terminal's width (80 columns when there is none): a message that
# names a file must keep its path whole, and scripts read these lines.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def get_settings() -> Settings:
    # Imported where used, as every heavy module here: `popcase --help` and a small import
    # start in a fraction of a second (see bench/startup.py).
    from app.settings import get_settings as settings

    return settings()


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    from app.resources import resource_dir

    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return config


@contextmanager
def _session(*, logging_: bool = True) -> Iterator[Any]:
    """A session on the configured database; its engine (and every pooled connection) is
    closed after, so a command leaves no connection behind. ``logging_`` False: a command
    that writes nothing to the access log (so needs no checkpoint hooks)."""
    from app.db import make_engine, make_session_factory

    engine = make_engine(get_settings().database_url)
    try:
        factory = _factory(engine) if logging_ else make_session_factory(engine)
        with factory() as db:
            yield db
    finally:
        engine.dispose()


def _factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for a command; with checkpoints on, its access-log entries count towards
    the checkpoint every N entries as a server's do."""
    from app.audit.autocheckpoint import install
    from app.audit.keys import KeyProblem
    from app.db import make_session_factory

    factory = make_session_factory(engine)
    try:
        install(factory, get_settings())
    except KeyProblem as exc:
        _fail(f"{exc} (POPCASE_AUDIT_KEY_FILE or POPCASE_AUDIT_KEY)", 2)
    return factory


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]Error:[/red] {message}")
    raise typer.Exit(code)


@cli.callback()
def _configure() -> None:
    """Every command logs JSON lines on standard error (stdout stays the command's output)."""
    from app.observability.logs import configure_logging

    configure_logging()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development)")] = False,
    import_worker: Annotated[bool | None, typer.Option(
        "--import-worker/--no-import-worker",
        help="Run an import worker in each server process (default: on for SQLite, off for "
             "PostgreSQL, where `popcase worker` processes run the imports)")] = None,
) -> None:
    """Serve the pages and the API. State lives in the database, so any number of workers
    (or machines behind a load balancer) can share one PostgreSQL database."""
    import os

    import uvicorn

    if import_worker is not None:  # read by each server process's settings
        os.environ["POPCASE_IMPORT_WORKER_IN_SERVER"] = "on" if import_worker else "off"

    err.print(f"popcase on http://{host}:{port}  (database: {_safe_url()})")
    with _metrics_folder(workers):
        # log_config None: uvicorn's lines go through our JSON logging; its access line (which
        # would carry query strings) is off, popcase's request line replaces it.
        uvicorn.run("app.main:create_app", factory=True, host=host, port=port,
                    workers=workers, reload=reload, proxy_headers=True,
                    forwarded_allow_ips=get_settings().forwarded_allow_ips, log_level="info",
                    log_config=None, access_log=False)


@contextmanager
def _metrics_folder(workers: int) -> Iterator[None]:
    """Several workers share their metrics through files in PROMETHEUS_MULTIPROC_DIR: a fresh
    folder, removed afterwards, unless the operator set one (then they empty it between
    starts, as prometheus-client asks)."""
    import os
    import shutil
    import tempfile

    if workers < 2 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    folder = tempfile.mkdtemp(prefix="popcase-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        shutil.rmtree(folder, ignore_errors=True)


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().database_url).render_as_string(hide_password=True)


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Create or migrate the database schema (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(), revision)
    err.print(f"Database at {revision}: {_safe_url()}")


@db_cli.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write (never overwritten); "
                                              "its manifest goes beside it")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON "
                                                         "object")] = False,
) -> None:
    """Back up the database while popcase runs: SQLite through its online backup API,
    PostgreSQL through pg_dump (custom format). The copy is checked, and its row counts are
    written to FILE.manifest.json for the restore to compare."""
    from app.backup.manifest import BackupProblem
    from app.backup.service import backup, log_backup
    from app.settings import attachments_folder

    try:
        report = backup(get_settings().database_url, file)
    except BackupProblem as exc:
        _fail(str(exc))
    with _session() as db:
        log_backup(db, _cli_actor(), report)
    attachments = attachments_folder(get_settings())
    m = report.manifest
    if as_json:
        typer.echo(json.dumps({**report.to_json(), "attachments_dir": str(attachments)}))
    else:
        typer.echo(f"Backed up {_safe_url()} to {file}: {m.bytes:,} bytes, {len(m.tables)} "
                   f"tables, {m.rows:,} rows, revision {m.revision}, access log to entry "
                   f"{m.audit_seq}; the copy is verified. Manifest: {report.manifest_file}")
    err.print(f"Not in this backup: the attachments folder ({attachments}) and the audit "
              "signing key. Back them up too (README: Operations, Backup and restore).")


@db_cli.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A file written by `popcase db backup`")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON "
                                                         "object")] = False,
) -> None:
    """Restore a backup into the configured database, which must be empty; then compare the
    row counts with the backup's manifest and check the access log's chain."""
    from app.backup.manifest import BackupProblem
    from app.backup.service import log_restore, restore

    try:
        report = restore(get_settings().database_url, file)
    except BackupProblem as exc:
        _fail(str(exc))
    # Not checkpointed at once: the checkpoint file configured may still be the old log's
    # (README: start a new one for the restored log).
    with _session(logging_=False) as db:
        log_restore(db, _cli_actor(), report)
    if as_json:
        typer.echo(json.dumps(report.to_json()))
    else:
        backup = report.expected.tables if report.expected else {}
        width = max(map(len, report.restored.tables), default=0)
        typer.echo(f"{'table':<{width}}  {'backup':>10}  {'restored':>10}")
        for name, rows in report.restored.tables.items():
            typer.echo(f"{name:<{width}}  {backup.get(name, '?'):>10}  {rows:>10}")
        compared = {"manifest": "row counts match the backup's manifest",
                    "file": "no manifest beside the file: row counts match the file's own"
                    }.get(report.counted_from,
                          "no manifest beside the file: row counts not compared")
        typer.echo(f"Restored {file} into {_safe_url()}: {len(report.restored.tables)} tables, "
                   f"{report.restored.rows:,} rows; {compared}; the access log is intact "
                   f"({report.audit_entries} entries).")
    if report.upgrade_needed:
        err.print(f"The backup is at revision {report.restored.revision}, older than this "
                  "popcase: run `popcase db upgrade` before serving.")
    err.print("Put back the attachments folder and the audit signing key from the same time.")


@cli.command()
def demo() -> None:
    """Load demo users and cases (running it again adds nothing) and print the demo sign-ins."""
    from app.db import utcnow
    from app.demo import DEMO_PASSWORD, load_demo
    from app.notifications.produce import produce

    with _session() as db:
        report = load_demo(db)
    with _session() as db:
        # What the demo people would be told today, so their lists and header counts are alive.
        notified = produce(db, now=utcnow()).total
    console = out
    console.print(f"Demo data: {report.users_added} users and {report.cases_added} cases added "
                  f"({report.users_present} users and {report.cases_present} cases already "
                  f"present); {report.files_imported} data files imported "
                  f"({report.crimes_added:,} crimes); "
                  f"{report.operations_added} operations added; {notified} notifications.")
    console.print(f"\nDemo sign-ins (password for every one: [bold]{DEMO_PASSWORD}[/bold]):")
    from app.reference.service import scope_name

    with _session() as db:
        for user in report.users:
            scope = scope_name(db, user) or "every force"
            console.print(f"  {user.username:<14} {user.role.value:<11} {scope:<22} "
                          f"{user.display_name}")


@user_cli.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Username: lower-case letters, digits, . _ -")],
    role: Annotated[str, typer.Option(help="officer, supervisor, analyst, evaluator or admin")],
    borough: Annotated[str | None, typer.Option(
        help="Home local policing area's ONS code, e.g. E09000033 or W06000002 (its force "
             "becomes the user's); omit for every area of the force")] = None,
    force: Annotated[str | None, typer.Option(
        help="The force whose areas the user works in (police.uk id, e.g. north-wales); omit "
             "with --borough for every force")] = None,
    display_name: Annotated[str, typer.Option(help="Name shown in the app")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="Read the password from standard input")
                              ] = False,
) -> None:
    """Create a user. Without --password-stdin the account can only use API tokens."""
    from app.auth.roles import Role
    from app.auth.service import NewUser, create_user
    from app.errors import ValidationFailed

    try:
        role_value = Role(role.strip().lower())
    except ValueError:
        _fail(f"unknown role {role!r}: use one of {', '.join(r.value for r in Role)}.", 2)
        return
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    with _session() as db:
        try:
            user = create_user(db, _cli_actor(), NewUser(
                username=name, role=role_value, display_name=display_name,
                borough_code=borough.strip().upper() if borough else None, password=password,
                force_id=force.strip().lower() if force else None))
        except ValidationFailed as exc:
            _fail("; ".join(f"{e.field}: {e.message}" for e in exc.errors), 2)
            return
        from app.reference.service import scope_name

        scope = scope_name(db, user) or "every force"
        err.print(f"Created {user.username} ({user.role.value}, {scope}).")


@token_cli.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="The username the token acts as")],
    label: Annotated[str, typer.Option(help="What the token is for")] = "created on the "
                                                                        "command line",
) -> None:
    """Print a new API token for a user, and nothing else, on standard output."""
    from app.auth.service import create_token, get_user
    from app.errors import NotFound, ValidationFailed

    with _session() as db:
        try:
            user = get_user(db, name)
            _token, secret = create_token(db, _cli_actor(), user, label)
        except (NotFound, ValidationFailed) as exc:
            _fail(str(exc), 2)
            return
    typer.echo(secret)


@audit_cli.command("verify")
def audit_verify(
    checkpoints: Annotated[Path | None, typer.Option(
        "--checkpoints", help="A file of signed checkpoints: the log must hold each one's "
                              "entry with its hash")] = None,
    public_key: Annotated[list[Path] | None, typer.Option(
        "--public-key", help="The public key (PEM) the checkpoints are signed with; repeat it "
                             "for older keys. Default: POPCASE_AUDIT_PUBLIC_KEY_FILE, else the "
                             "signing key's")] = None,
) -> None:
    """Check the access log's hash chain; exit non-zero naming the first broken entry. With
    --checkpoints, also fail when the log is shorter than, or differs from, any checkpoint,
    or when a checkpoint's signature does not verify."""
    from app.audit.service import verify_chain

    keys = _verify_keys(public_key or []) if checkpoints is not None else []
    with _session(logging_=False) as db:
        report = verify_chain(db)
        if not report.intact:
            typer.echo(f"BROKEN at entry {report.broken_seq}: {report.problem} "
                       f"({report.checked} entries before it are intact).")
            raise typer.Exit(1)
        if checkpoints is None:
            err.print(f"The access log is intact: {report.checked} entries checked.")
            return
        _verify_checkpoints(db, report, checkpoints, keys)


def _verify_keys(paths: list[Path]) -> list[Ed25519PublicKey]:
    from app.audit.keys import KeyProblem, load_public, signing_key

    settings = get_settings()
    try:
        if not paths and settings.audit_public_key_file:
            paths = [Path(settings.audit_public_key_file)]
        if paths:
            return [load_public(path) for path in paths]
        key = signing_key(settings)
    except KeyProblem as exc:
        _fail(str(exc), 2)
    if key is None:
        _fail("no public key to check the checkpoints with: pass --public-key FILE or set "
              "POPCASE_AUDIT_PUBLIC_KEY_FILE.", 2)
    return [key.public]


def _verify_checkpoints(db: Session, chain: ChainReport, path: Path,
                        keys: list[Ed25519PublicKey]) -> None:
    from app.audit.checkpoint_verify import CheckpointFileError, compare, signed_checkpoints
    from app.audit.checkpoints import read

    if not path.is_file():
        _fail(f"{path} is not a file.", 2)
    try:
        found = signed_checkpoints(read(path), keys)
    except CheckpointFileError as exc:
        typer.echo(f"CHECKPOINT REFUSED in {path}: {exc}.")
        raise typer.Exit(1) from None
    if not found:
        typer.echo(f"CHECKPOINT REFUSED in {path}: the file holds no checkpoint.")
        raise typer.Exit(1)
    result = compare(db, chain, found)
    if not result.ok:
        typer.echo(f"TRUNCATED OR REWRITTEN: {result.problem}.")
        raise typer.Exit(1)
    assert result.newest is not None  # there is at least one
    newest = result.newest.checkpoint
    err.print(f"The access log is intact: {chain.checked} entries checked, and it holds all "
              f"{result.checked} checkpoints of {path} (the newest: entry {newest.seq}, made "
              f"{newest.at}; {chain.checked - newest.seq} entries since).")


@audit_cli.command("checkpoint")
def audit_checkpoint(
    file: Annotated[Path | None, typer.Option(
        "--file", help="Also append it to this file (default: POPCASE_AUDIT_CHECKPOINT_FILE "
                       "when that is a file)")] = None,
) -> None:
    """Print a signed checkpoint of the access log (its newest entry's position and hash) on
    standard output, for an external witness, and append it to the checkpoint file."""
    from app.audit.checkpoints import NothingToCheckpoint, Witness, checkpoint_now
    from app.observability.logs import job_line

    key = _signing_key()
    with _session(logging_=False) as db:
        try:
            checkpoint = checkpoint_now(db, key)
        except NothingToCheckpoint as exc:
            _fail(str(exc), 1)
    destination = str(file) if file else get_settings().audit_checkpoint_file.strip()
    witness = Witness.parse(destination) if destination else None
    if witness is not None and witness.path is not None:
        witness.write(checkpoint)
        err.print(f"Checkpoint of entry {checkpoint.seq} appended to {witness.path}.")
    typer.echo(checkpoint.to_line())
    job_line("checkpoint", status="done", seq=checkpoint.seq, trigger="command")


def _signing_key() -> SigningKey:
    from app.audit.keys import KeyProblem, signing_key

    try:
        key = signing_key(get_settings())
    except KeyProblem as exc:
        _fail(str(exc), 2)
    if key is None:
        _fail("no signing key: set POPCASE_AUDIT_KEY_FILE (make one with `popcase audit "
              "keygen --out FILE`) or POPCASE_AUDIT_KEY.", 2)
    return key


@audit_cli.command("keygen")
def audit_keygen(
    out: Annotated[Path, typer.Option("--out", help="The private key file to create (the "
                                                    "public key goes beside it as .pub)")],
) -> None:
    """Make an Ed25519 key pair for signing checkpoints. Keep the private key off the database
    server and out of its backups; give the public key to whoever verifies."""
    from app.audit.keys import KeyProblem, generate

    try:
        key, public_path = generate(out)
    except KeyProblem as exc:
        _fail(str(exc), 2)
    err.print(f"Private key: {out} (readable by its owner only; set POPCASE_AUDIT_KEY_FILE to "
              f"it)\nPublic key:  {public_path}\nKey id:      {key.id}")
    typer.echo(key.id)


@cli.command()
def notify(as_json: Annotated[bool, typer.Option("--json", help="Print the counts as one JSON "
                                                                "object")] = False) -> None:
    """Produce the notifications now due, then send the e-mail people opted into (at once, and
    the daily digest from POPCASE_DIGEST_HOUR). Safe to run from cron every few minutes, and in
    several places at once: nothing is produced or sent twice. Exits 1 when the SMTP server
    could not be reached while mail was waiting."""
    from app.db import make_engine
    from app.notifications.runner import run_once

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        report = run_once(_factory(engine), settings)
    finally:
        engine.dispose()
    mail = report.mail
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        typer.echo(f"{report.produced.total} notifications produced")
        if mail.enabled:
            typer.echo(f"{mail.emails_sent} e-mails sent, {mail.digests_sent} daily digests "
                       f"sent, {mail.failures} failed")
        else:
            typer.echo("E-mail is off (POPCASE_SMTP_HOST is not set)")
    if mail.unreachable:
        err.print(f"[red]Error:[/red] the SMTP server {settings.smtp_host}:{settings.smtp_port} "
                  "could not be reached; the waiting mail will be sent by a later run.")
        raise typer.Exit(1)


@import_cli.command("police-uk")
def import_police_uk(
    files: Annotated[list[Path], typer.Argument(help="CSV files, folders or zip archives from "
                                                     "data.police.uk", exists=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON "
                                                         "object")] = False,
    force: Annotated[str | None, typer.Option(
        help="The force that published the files (police.uk id), for files whose name does "
             "not say it (police.uk names them YYYY-MM-force-kind.csv)")] = None,
    queue: Annotated[bool, typer.Option(
        "--queue", help="Copy the files to the jobs folder and queue them for `popcase worker` "
                        "instead of importing them now; prints the job ids")] = False,
) -> None:
    """Import street-level crime, outcomes and stop-and-search files. Importing a file again
    adds nothing; rows without a location are kept and counted; bad rows are reported with
    their line number; a file with a wrong header is refused whole. Each file's rows belong to
    the force that published it."""
    from app.crime.importer import SourceError, expand, import_sources
    from app.db import make_engine

    try:
        sources = expand(files)
    except SourceError as exc:
        _fail(str(exc), 2)
        return
    if not sources:
        _fail("No CSV files found.", 2)
    if queue:
        _queue_imports(files, force.strip().lower() if force else None, as_json)
        return
    engine = make_engine(get_settings().database_url)
    _for_importing(engine)
    try:
        with _import_progress(sources) as progress:
            reports = import_sources(_factory(engine), _cli_actor(), sources,
                                     progress, force_id=force.strip().lower() if force else None)
    finally:
        engine.dispose()
    totals = {key: sum(getattr(r, key) for r in reports) for key in
              ("rows_read", "added", "already_present", "without_location", "rejected")}
    failed = [r for r in reports if r.status != "done"]
    if as_json:
        typer.echo(json.dumps({**totals, "files": len(reports), "failed": len(failed),
                               "reports": [asdict(r) for r in reports]}))
    else:
        _print_import_reports(reports, totals)
    if failed:
        raise typer.Exit(1)


def _queue_imports(files: list[Path], force: str | None, as_json: bool) -> None:
    """One job per file or archive (a folder's files each), each copied to the jobs folder."""
    from app.crime.jobs import queue_file, save_file

    settings = get_settings()
    found = [f for path in files for f in
             (sorted(p for p in path.rglob("*") if p.is_file()
                     and p.suffix.lower() in (".csv", ".zip")) if path.is_dir() else [path])]
    ids = []
    with _session() as db:
        for path in found:
            with path.open("rb") as stream:
                saved = save_file(settings, path.name, stream)
            ids.append(queue_file(db, _cli_actor(), saved, force_id=force).id)
    if as_json:
        typer.echo(json.dumps({"queued": ids}))
    else:
        typer.echo(f"{len(ids)} import job{'s' if len(ids) != 1 else ''} queued: "
                   f"{', '.join(map(str, ids))}")


@cli.command()
def worker(once: Annotated[bool, typer.Option(
        "--once", help="Run the jobs waiting now, then exit (for cron or a one-off)")] = False,
) -> None:
    """Import queued files (uploads, `import police-uk --queue`). Run as many as you like, on
    any machine that reads the jobs folder: each job is claimed by one worker, whose lease
    (POPCASE_IMPORT_LEASE_SECONDS) another worker takes over if it dies. Stops on SIGTERM or
    Ctrl-C after the file it is importing."""
    import logging
    import signal
    import threading

    from app.crime.jobs import work, worker_name
    from app.db import make_engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    _for_importing(engine)
    factory, name = _factory(engine), worker_name()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    err.print(f"popcase worker {name} (database: {_safe_url()})")
    try:
        while not stop.is_set():
            try:
                ran = work(factory, settings, stop.is_set, name)
            except Exception:  # the database restarting: look again after a pause
                logging.getLogger("popcase.jobs").exception("the worker failed; retrying")
                ran = 0
            if once:
                err.print(f"{ran} import job{'s' if ran != 1 else ''} run")
                break
            stop.wait(settings.import_poll_seconds)
    finally:
        engine.dispose()


def _for_importing(engine: Engine) -> None:
    """The import command's own SQLite connections (a server's are left as they are) read the
    file through SQLite's page cache instead of mapping it: writing a million rows touches
    most of the file's index pages, and mapped pages would count in the command's memory
    (411 MB at a million rows, 193 MB unmapped), for no faster import."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _importing(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA mmap_size = 0")


@import_cli.command("boundaries")
def import_boundaries(
    file: Annotated[Path, typer.Argument(help="A GeoJSON FeatureCollection of polygons in WGS84")],
    kind: Annotated[str, typer.Option(help="local-authority, ward, lsoa, force or other")],
    force: Annotated[str | None, typer.Option(
        help="The force (police.uk id, e.g. north-wales): local authorities become its local "
             "policing areas, wards become theirs")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON "
                                                         "object")] = False,
) -> None:
    """Import area boundaries. Codes and names are read from ONS-style properties (LAD20CD and
    LAD20NM, WD22CD and WD22NM, upper or lower case, or GSS_CODE and NAME), Welsh names from
    ...NMW; invalid polygons are repaired. Importing a file again updates its areas."""
    from app.crime.boundaries import import_boundaries as load
    from app.crime.models import AreaKind
    from app.errors import ValidationFailed

    area_kind = AreaKind.from_option(kind)
    if area_kind is None:
        _fail(f"unknown kind {kind!r}: use local-authority, ward, lsoa, force or other.", 2)
        return
    if not file.is_file():
        _fail(f"{file} is not a file.", 2)
    with _session() as db:
        try:
            report = load(db, _cli_actor(), file.name, file.read_bytes(), area_kind,
                          force_id=force)
        except ValidationFailed as exc:
            _fail("; ".join(e.message for e in exc.errors), 2)
            return
    if as_json:
        typer.echo(json.dumps(asdict(report)))
    else:
        _print_boundary_report(report)
    if report.status != "done":
        raise typer.Exit(1)


@import_cli.command("harm-weights")
def import_harm_weights(
    file: Annotated[Path, typer.Argument(help="A CSV file: category,weight (see below)")],
    force: Annotated[str, typer.Option(help="The force whose table it is (police.uk id)")],
    name: Annotated[str, typer.Option(help="The index, e.g. 'Cambridge Crime Harm Index'")],
    version: Annotated[str, typer.Option(help="Its version or year, as its source names it")],
    source: Annotated[str, typer.Option(help="Where the weights come from: a citation or "
                                             "address, and how offences were averaged into "
                                             "police.uk categories")],
    note: Annotated[str, typer.Option(help="Anything else an evaluator should know")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as one JSON "
                                                         "object")] = False,
) -> None:
    """Load a force's harm-weight table: one row per police.uk crime category, its slug or its
    "Crime type" label, and a weight of 0 or more (header: category,weight; lines starting
    with # are comments). Every category needs a weight: none is ever assumed. The new table
    is the one in use from now on; older ones are kept."""
    from app.errors import DomainError, ValidationFailed
    from app.harm import service

    if not file.is_file():
        _fail(f"{file} is not a file.", 2)
    with _session() as db:
        try:
            table = service.load_csv(db, _cli_actor(), force.strip().lower(), name=name,
                                     version=version, source=source, note=note,
                                     content=file.read_bytes())
        except ValidationFailed as exc:
            _fail(f"{file.name} was not loaded:\n" + "\n".join(e.message for e in exc.errors), 2)
            return
        except DomainError as exc:
            _fail(str(exc), 2)
            return
        read = service.table_read(db, table)
    if as_json:
        typer.echo(read.model_dump_json())
    else:
        out.print(f"{read.name} ({read.version}) loaded for {read.force}: "
                        f"{len(read.weights)} categories weighted; in use from now on.")


def _print_boundary_report(report: Any) -> None:
    console = out
    if report.status != "done":
        console.print(f"{report.source}: refused. {report.message}")
        return
    console.print(f"{report.source}: {report.added} areas added, {report.updated} updated, "
                  f"{report.rejected} rejected.")
    from app.reference.models import bilingual

    for area in report.local_areas:
        console.print(f"  {area['code']}  {bilingual(area['name'], area['name_welsh'])}: "
                      "local policing area of "
                      f"{report.force_name}, case references {area['ref_prefix']}-YYYY-NNNN")
    if report.wards_linked:
        console.print(f"  {report.wards_linked} wards of its local policing areas.")
    if report.unlinked:
        console.print(f"  {report.unlinked} areas lie in no local policing area of a force set "
                      "up here.")
    for problem in report.problems[:20]:
        console.print(f"  {problem['message']}")


@contextmanager
def _import_progress(sources: list[Any]) -> Iterator[Callable[[Any], None]]:
    """A progress bar per file on standard error (standard output stays for the report)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    bars = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TextColumn("{task.fields[rows]:>9,} rows"), TimeRemainingColumn(),
                    console=err, transient=False)
    tasks: dict[str, Any] = {}

    def update(batch: Any) -> None:
        task = tasks.get(batch.source)
        if task is None:
            task = tasks[batch.source] = bars.add_task(batch.source[-48:],
                                                       total=batch.bytes_total, rows=0)
        bars.update(task, completed=batch.bytes_done, rows=batch.rows_read)

    with bars:
        yield update


def _print_import_reports(reports: list[Any], totals: dict[str, int]) -> None:
    from rich.table import Table

    table = Table("file", "kind", "rows", "added", "already there", "no location", "rejected",
                  "status")
    for r in reports:
        table.add_row(r.source, r.kind or "?", f"{r.rows_read:,}", f"{r.added:,}",
                      f"{r.already_present:,}", f"{r.without_location:,}", f"{r.rejected:,}",
                      r.status if not r.message else f"{r.status}: {r.message}")
    console = out
    console.print(table)
    console.print(f"{len(reports)} files, {totals['rows_read']:,} rows read, "
                  f"{totals['added']:,} added, {totals['already_present']:,} already present, "
                  f"{totals['without_location']:,} without location, "
                  f"{totals['rejected']:,} rejected.")
    for r in reports:
        for problem in r.problems[:20]:
            console.print(f"  {r.source} line {problem['line']}: {problem['message']}")
        if r.rejected > 20:
            console.print(f"  {r.source}: {r.rejected - 20} more rejected rows "
                          "(see the import's page for the first 200)")


OUT = Annotated[Path, typer.Option("--out", help="The zip file to write")]
REDACT = Annotated[bool, typer.Option("--redact", help="Replace officers' and members of the "
                                                      "public's names and personal details "
                                                      "with placeholders")]
REASON = Annotated[str, typer.Option(help="Why the file is disclosed, and to whom (access "
                                          "log)")]


@export_cli.command("case")
def export_case(ref: Annotated[str, typer.Argument(help="The case reference, e.g. "
                                                        "WM-2026-0001")],
                out: OUT, redact: REDACT = False,
                photos: Annotated[bool, typer.Option(
                    "--photos", help="With --redact: carry the photos too (they are not "
                                     "redacted, so a redacted file leaves them out unless "
                                     "asked)")] = False,
                reason: REASON = "Exported on the command line") -> None:
    """Write a case's case file (manifest, case.json, CSVs, report.html, attachments) as a
    zip."""
    from app.errors import DomainError
    from app.exports.service import export_case as export

    with _session() as db:
        try:
            result = export(db, _cli_actor(), ref, reason=reason, redacted=redact,
                            photos=photos)
        except DomainError as exc:
            _fail(exc.message, 2)
            return
    out.write_bytes(result.content)
    err.print(f"Wrote {out} ({len(result.content):,} bytes).")


@export_cli.command("operation")
def export_operation(name: Annotated[str, typer.Argument(help="The operation's name (or "
                                                              "id)")],
                     out: OUT, redact: REDACT = False,
                     reason: REASON = "Exported on the command line") -> None:
    """Write an operation's bundle: every case file, and its evaluation as CSV and JSON."""
    from app.errors import DomainError
    from app.exports.service import export_operation as export
    from app.exports.service import find_operation

    with _session() as db:
        try:
            result = export(db, _cli_actor(), find_operation(db, name), reason=reason,
                            redacted=redact)
        except DomainError as exc:
            _fail(exc.message, 2)
            return
    out.write_bytes(result.content)
    err.print(f"Wrote {out} ({len(result.content):,} bytes).")


@import_cli.command("case-file")
def import_case_file(file: Annotated[Path, typer.Argument(help="A case file (.zip)")]) -> None:
    """Import a case file from another popcase, after verifying its checksums and schema; a
    file that fails either is refused whole, with the reason."""
    from app.exports.files import CaseFileError
    from app.exports.importer import import_case_file as load

    if not file.is_file():
        _fail(f"{file} is not a file.", 2)
    with _session() as db:
        try:
            result = load(db, _cli_actor(), file.read_bytes())
        except CaseFileError as exc:
            _fail(f"{file} was refused: {exc}", 1)
            return
    moved = "" if result.ref == result.original_ref else \
        f" (its reference {result.original_ref} was taken here)"
    err.print(f"Imported {result.ref}{moved}; {result.people_added} people without an account "
              "here got an inactive one.")
    typer.echo(result.ref)


def _cli_actor() -> Actor:
    from app.auth.context import Actor

    return Actor.cli()


def main() -> None:
    cli()
