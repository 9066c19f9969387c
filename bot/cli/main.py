"""The `trunkguard` command: the group every command hangs from, errors as one line, logging.

It only parses and dispatches: the commands live in `analysis`, `service`, `administration`
and `demo`, which load what they use when they run, so that `--help` stays quick.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType
from typing import Any

import click

from bot import logs
from bot.cli import administration, analysis, demo, merge, report, resolve, service

logger = logging.getLogger(__name__)
INTERRUPTED = 130  # what a shell reports for a command stopped by SIGINT (128 + 2)


def translated(error: Exception) -> click.ClickException | None:
    """Return the one line an error shows as, or None to let it through (TRUNKGUARD_DEBUG)."""
    import pygit2

    from analyzers.errors import AnalysisError, WorkerError
    from bot.errors import TrunkguardError
    from bot.markup import visible

    if isinstance(error, TrunkguardError | AnalysisError):
        if isinstance(error, TrunkguardError):  # several problems: a line each, newlines shown
            return click.ClickException("\n".join(visible(line) for line in error.lines()))
        return click.ClickException(visible(str(error)))
    if isinstance(error, pygit2.GitError):
        return click.ClickException(visible(f"git error: {error}"))
    if os.environ.get("TRUNKGUARD_DEBUG"):
        return None
    logger.debug("unexpected error", exc_info=True)
    # An error from a worker process reads as it would have in this one.
    kind, message = (
        (error.type_name, error.message)
        if isinstance(error, WorkerError)
        else (type(error).__name__, str(error))
    )
    return click.ClickException(
        f"internal error: {kind}: {visible(message)} "
        "(a bug: please report it; TRUNKGUARD_DEBUG=1 shows the traceback)"
    )


class ErrorTranslatingGroup(click.Group):
    """Turns errors into one line on stderr and exit status 1; TRUNKGUARD_DEBUG=1 shows more."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("trunkguard: interrupted", err=True)
            _stop_workers()
            parallel = sys.modules.get("analyzers.parallel")  # not loaded: no workers
            if parallel is not None and parallel.pools_started():
                # concurrent.futures' at-exit hook wakes each pool's manager through a pipe
                # the interrupt may have left closed ("Exception ignored ... Bad file
                # descriptor" on stderr, now and then): what is written is flushed, and the
                # process ends here.
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(INTERRUPTED)
            raise click.exceptions.Exit(INTERRUPTED) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:
            shown = translated(error)
            if shown is None:
                raise
            raise shown from error


@click.group(cls=ErrorTranslatingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trunkguard")
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS, case_sensitive=False),
    envvar=logs.FORMAT_VARIABLE,
    default="text",
    show_default=True,
    help="Log lines as text, or as one JSON object each for log collectors "
    f"(env {logs.FORMAT_VARIABLE}).",
)
def cli(log_format: str) -> None:
    """trunkguard keeps teams on short-lived branches.

    It measures how old every branch is and how far it has drifted from trunk.

    \b
    Examples:
      trunkguard scan .
      trunkguard scan https://example.com/org/app.git --json
      trunkguard demo
    """
    logs.adjust(log_format)


for command in (
    *analysis.COMMANDS,
    report.report,
    *service.COMMANDS,
    *administration.COMMANDS,
    *resolve.COMMANDS,
    *merge.COMMANDS,
    demo.demo,
):
    cli.add_command(command)


def _stop_workers() -> None:
    """Stop the worker processes still running: one forked as the interrupt came may have
    missed it (Python clears a signal a child receives before its fork is done), and would
    wait for work forever while this process waits for it to end."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.terminate()


def _interrupt_handler(parent: int) -> Any:
    """Return a SIGINT handler: KeyboardInterrupt in this process; in a process forked from it
    (a worker of analyzers.parallel, which the terminal interrupts too), a quiet exit, since
    the parent says it once rather than each worker with a traceback."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != parent:
            os._exit(INTERRUPTED)
        raise KeyboardInterrupt

    return handle


def main() -> None:
    """Run the CLI with logging to stderr; Ctrl-C ends it with one line and status 130."""
    logs.configure()
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt_handler(os.getpid()))
    cli(prog_name="trunkguard")
