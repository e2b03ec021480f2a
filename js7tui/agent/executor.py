"""Running jobs as subprocesses: only scripts of verified signed items, output captured.

A start names a task id chosen by the Controller (so a repeated start after a restart is
answered with the task that exists, never run twice), the workflow version and the job. The
workflow and its job resources are read from the journal and verified again with the Agent's
current trust anchors before the script runs: a file edited on disk or a key taken out of
``trusted-x509-keys/`` stops it. Each job runs in its own process group (so a cancel or a
timeout ends the whole script), with a minimal environment built from the order's arguments,
the job's defaults and its job resources.

Output is kept in memory for live reads and written as it arrives to ``STATE/output/`` (one
file per task and stream, 0600), up to ``max_output`` bytes per stream and then a truncation
mark: an Agent killed with ``kill -9`` finds there, at its restart, what its running jobs had
printed, and reports it with their end. Once a task ended its output is in the journal and the
files are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from js7tui.clock import Clock, from_iso, to_iso
from js7tui.encipherment.envelope import DecryptionRefused, looks_encrypted
from js7tui.encipherment.keyring import Keyring
from js7tui.encipherment.masking import Masker
from js7tui.engine.config import JobsConfig, ensure_private_dir
from js7tui.engine.items import signed_from_row, verify_item
from js7tui.engine.problems import Problem
from js7tui.engine.shapes import (
    Context,
    Expression,
    Job,
    JobResource,
    ShapeError,
    Workflow,
    check_name,
    evaluate_all,
    order_arguments,
    order_variables,
    output_slice,
)
from js7tui.signing import SignatureRefused, TrustedKeys
from js7tui.store import Store

log = logging.getLogger("js7tui.agent")
INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "USER", "LOGNAME", "TMPDIR")


STREAMS = ("stdout", "stderr")


def truncation_mark(limit: int) -> bytes:
    return f"\n[js7tui: output truncated after {limit} bytes]\n".encode()


class Capture:
    """One stream of a task: in memory and appended to its file as produced, at most ``limit``
    bytes, then the truncation mark once and nothing more."""

    def __init__(self, path: Path | None, limit: int, masker: Masker | None = None) -> None:
        self.masker = masker if masker else None
        self.data = bytearray()
        self.limit = limit
        self.truncated = False
        self.path = path
        self._fd = (os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                    if path is not None else None)

    def add(self, chunk: bytes) -> None:
        """Decrypted values are masked before the bytes go to memory or the file."""
        if self.masker is not None:
            chunk = self.masker.feed(chunk)
        self._append(chunk)

    def _append(self, chunk: bytes) -> None:
        if self.truncated or not chunk:
            return
        piece = chunk[: self.limit - len(self.data)]
        if len(piece) < len(chunk):
            self.truncated = True
            piece += truncation_mark(self.limit)
        self.data.extend(piece)
        if self._fd is not None:
            try:
                os.write(self._fd, piece)
            except OSError as exc:  # a full disk: the journal still gets it at the end
                log.error("cannot write job output to %s: %s", self.path, exc)
                self._close_fd()

    def close(self) -> None:
        if self.masker is not None:
            self._append(self.masker.flush())
        self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class Running:
    process: asyncio.subprocess.Process
    job: Job
    workflow_path: str = ""
    kill_requested: bool = False
    timed_out: bool = False
    killer: asyncio.Task[None] | None = None
    captures: dict[str, Capture] = field(default_factory=dict)

    @property
    def output(self) -> dict[str, bytearray]:
        return {stream: capture.data for stream, capture in self.captures.items()}


def _process_belongs_to(pid: int, task_id: str) -> bool:
    """Whether ``pid`` still runs our task (its environment names it): never signal a process
    that merely reuses the number."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"JS7_TASK_ID={task_id}".encode() in environ.split(b"\0")


class Executor:
    def __init__(self, journal: Store, jobs: JobsConfig, trusted: TrustedKeys, clock: Clock,
                 agent_name: str, state_dir: Path, notify: Callable[[], None],
                 keyring: Keyring | None = None) -> None:
        self.journal = journal
        self.keyring = keyring
        self.jobs = jobs
        self.trusted = trusted
        self.clock = clock
        self.agent_name = agent_name
        self.scripts = state_dir / "scripts"
        self.outputs = state_dir / "output"
        self.notify = notify
        self.running: dict[str, Running] = {}
        self._watchers: set[asyncio.Task[None]] = set()

    # -- recovery -------------------------------------------------------------------------
    def recover(self) -> None:
        """Tasks left running by a previous process: end them as failed (their outcome is
        unknown) and stop a job process that outlived the Agent."""
        rows = self.journal.conn.execute(
            "SELECT task_id, pid FROM tasks WHERE state IN ('starting', 'running')").fetchall()
        for row in rows:
            if row["pid"] and _process_belongs_to(row["pid"], row["task_id"]):
                with contextlib.suppress(OSError):
                    os.killpg(row["pid"], signal.SIGKILL)
            self._finish(row["task_id"], "failed", None,
                         "the Agent restarted while this task ran; its outcome is unknown",
                         self._saved_output(row["task_id"]))
            self._forget_files(row["task_id"])
        if rows:
            log.warning("ended %d task(s) left running by the previous Agent process", len(rows))

    def _output_path(self, task_id: str, stream: str) -> Path:
        return self.outputs / f"{task_id.replace('/', '_')}.{stream}"

    def _saved_output(self, task_id: str) -> dict[str, bytes]:
        """What a task had printed before the Agent died (its output files)."""
        saved = {}
        for stream in STREAMS:
            with contextlib.suppress(OSError):
                saved[stream] = self._output_path(task_id, stream).read_bytes()
        return saved

    def _forget_files(self, task_id: str) -> None:
        """A task ended: its script and output files go (the journal has the output)."""
        for path in (self.scripts / f"{task_id.replace('/', '_')}.sh",
                     *(self._output_path(task_id, s) for s in STREAMS)):
            with contextlib.suppress(OSError):
                path.unlink()

    # -- starting -------------------------------------------------------------------------
    def _task(self, task_id: str) -> Mapping[str, Any] | None:
        return self.journal.conn.execute("SELECT * FROM tasks WHERE task_id = ?",
                                         (task_id,)).fetchone()

    def _verified(self, item_type: str, path: str, version_id: str | None) -> Any:
        query = "SELECT * FROM items WHERE item_type = ? AND path = ?"
        params: tuple[str, ...] = (item_type, path)
        if version_id is not None:
            query, params = query + " AND version_id = ?", (*params, version_id)
        row = self.journal.conn.execute(query, params).fetchone()
        if row is None:
            version = f" version {version_id}" if version_id else ""
            raise Problem(409, "UnknownItem",
                          f"{item_type} '{path}'{version} is not attached to this Agent")
        self.trusted.refresh()  # keys and CRLs as they are now, before each job start
        # The signer's validity as of the attachment (checked then), so an item keeps running
        # after its certificate expires; revocation is checked against the CRLs of now,
        # whatever its date, so a revoked signer's item stops (README: signing certificates
        # that expire).
        try:
            return verify_item(signed_from_row(row), self.trusted,
                               from_iso(row["attached"])).item
        except SignatureRefused as exc:
            log.error("refused to run %s '%s': %s", item_type, path, exc)
            raise Problem(409, exc.code, f"{item_type} '{path}' fails verification on this "
                          f"Agent now: {exc}") from None

    def _reveal(self, expressions: Mapping[str, Expression], where: str,
                secrets: list[str]) -> dict[str, Expression]:
        """Encrypted values decrypted for this start only (issue 21): each with the binding of
        the variable it sits in, so a value moved elsewhere is refused; the clear text goes
        to ``secrets`` (masked in the output) and into the expression, nowhere else."""
        out = dict(expressions)
        for name, expression in expressions.items():
            text = expression.encrypted_value
            if text is not None:
                value = self._decrypt(text, f"{where}:{name}")
                secrets.append(value)
                out[name] = Expression("'<encrypted value>'", ("lit", value))
        return out

    def _decrypt(self, text: str, bound_to: str) -> str:
        try:
            if self.keyring is None:
                raise DecryptionRefused("this Agent has no encipherment keys")
            return self.keyring.decrypt(text, bound_to)
        except DecryptionRefused as exc:
            log.error("refused to decrypt the value of %s: %s", bound_to, exc)
            raise Problem(409, "DecryptionFailed", f"the encrypted value of {bound_to} cannot "
                          f"be decrypted on Agent '{self.agent_name}': {exc}") from None

    def _environment(self, task_id: str, request: Mapping[str, Any], workflow: Workflow,
                     job: Job, arguments: dict[str, str], secrets: list[str] | None = None
                     ) -> dict[str, str]:
        secrets = [] if secrets is None else secrets
        for name, value in list(arguments.items()):
            if looks_encrypted(value):
                arguments[name] = self._decrypt(value, f"order:{workflow.path}:{name}")
                secrets.append(arguments[name])
        position = int(request["position"])
        builtins = order_variables(str(request["orderId"]), workflow, str(request["versionId"]),
                                   position, self.clock.now())
        context = Context(os.environ, self.clock.now())
        scope = {**arguments, **builtins}
        where = f"workflow:{workflow.path}:{job.name}"
        # JS7's order: the order's arguments, then the job's defaults, then the instruction's
        # (an encrypted default is a job argument: bound to the job's ``arg`` place)
        for name, expression in (
                *self._reveal(job.default_arguments, f"{where}:arg", secrets).items(),
                *self._reveal(workflow.step_defaults(position), f"{where}:arg",
                              secrets).items()):
            if name not in scope:
                scope[name] = expression.evaluate(scope, context)
        env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
        env.update({
            "JS7_TASK_ID": task_id, "JS7_ORDER_ID": str(request["orderId"]),
            "JS7_WORKFLOW_NAME": workflow.path, "JS7_WORKFLOW_VERSION": str(request["versionId"]),
            "JS7_WORKFLOW_POSITION": str(request["position"]), "JS7_JOB_NAME": job.name,
            "JS7_AGENT_NAME": self.agent_name})
        # The first job resource named wins (JS7: left has precedence; the job's own before
        # the workflow's), the job's env over all of them.
        for path in reversed(job.job_resources):
            resource = self._verified("JobResource", path, None)
            assert isinstance(resource, JobResource)
            own = self._reveal(resource.variables, f"jobresource:{path}", secrets)
            variables = {**scope, **evaluate_all(own, scope, context)}
            env.update(evaluate_all(self._reveal(resource.env, f"jobresource:{path}:env",
                                                 secrets), variables, context))
        env.update(evaluate_all(self._reveal(job.env, f"{where}:env", secrets), scope, context))
        return env

    def _script_argv(self, task_id: str, script: str) -> list[str]:
        ensure_private_dir(self.scripts)
        path = self.scripts / f"{task_id.replace('/', '_')}.sh"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(script)
        return [str(path)] if script.startswith("#!") else [self.jobs.shell, str(path)]

    async def start(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Start the task (idempotent per task id); returns its state."""
        task_id = request.get("taskId")
        if not isinstance(task_id, str) or not task_id or len(task_id) > 400:
            raise Problem(400, "InvalidRequest", "taskId is missing")
        existing = self._task(task_id)
        if existing is not None:
            return self.describe(existing)
        try:
            path = check_name("workflow", request.get("workflowPath"))
            version_id, position = request.get("versionId"), request.get("position")
            arguments = order_arguments(request.get("arguments"))
            if not isinstance(version_id, str) or not isinstance(position, int):
                raise ShapeError("versionId and position are required")
        except ShapeError as exc:
            raise Problem(400, "InvalidRequest", str(exc)) from None
        workflow = self._verified("Workflow", path, version_id)
        assert isinstance(workflow, Workflow)
        if not 0 <= position < len(workflow.steps) or (
                workflow.steps[position] != request.get("jobName")):
            raise Problem(400, "InvalidRequest", f"workflow '{path}' has no job "
                          f"{request.get('jobName')!r} at position {position}")
        job = workflow.jobs[workflow.steps[position]]
        if job.agent != self.agent_name:
            raise Problem(400, "WrongAgent", f"job '{job.name}' runs on Agent '{job.agent}', "
                          f"not on '{self.agent_name}'")
        busy = sum(1 for r in self.running.values()
                   if r.workflow_path == path and r.job.name == job.name)
        if busy >= job.parallelism:
            raise Problem(409, "ParallelismReached", f"job '{job.name}' runs {busy} time(s) "
                          f"already, its parallelism is {job.parallelism}")
        secrets: list[str] = []
        try:
            env = self._environment(task_id, request, workflow, job, arguments, secrets)
        except ShapeError as exc:
            raise Problem(400, "InvalidArguments", f"job '{job.name}': {exc}") from None
        workdir = self.jobs.work_dir / (job.working_directory or "")
        now = to_iso(self.clock.now())
        with self.journal.transaction() as conn:
            conn.execute(
                "INSERT INTO tasks (task_id, order_id, workflow_path, version_id, job_name,"
                " position, state, created) VALUES (?, ?, ?, ?, ?, ?, 'starting', ?)",
                (task_id, str(request.get("orderId", "")), path, version_id, job.name, position,
                 now))
        try:
            if not self.jobs.work_dir.exists():  # made here: private, like the state dir
                ensure_private_dir(self.jobs.work_dir)
            workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
            process = await asyncio.create_subprocess_exec(
                *self._script_argv(task_id, job.script), cwd=workdir, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            self._finish(task_id, "failed", None, f"the job could not be started: {exc}", {})
            return self.describe(self._task(task_id))  # type: ignore[arg-type]
        started = to_iso(self.clock.now())
        with self.journal.transaction() as conn:
            conn.execute("UPDATE tasks SET state = 'running', pid = ?, started = ? "
                         "WHERE task_id = ?", (process.pid, started, task_id))
            conn.execute("INSERT INTO events (task_id, type) VALUES (?, 'TaskStarted')",
                         (task_id,))
        ensure_private_dir(self.outputs)
        running = Running(process, job, workflow_path=path, captures={
            stream: Capture(self._output_path(task_id, stream), self.jobs.max_output,
                            Masker(secrets))
            for stream in STREAMS})
        self.running[task_id] = running
        watcher = asyncio.create_task(self._watch(task_id, running))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        self.notify()
        log.info("started task %s (order %s, %s/%s) pid %d", task_id, request.get("orderId"),
                 path, job.name, process.pid)
        return self.describe(self._task(task_id))  # type: ignore[arg-type]

    # -- running --------------------------------------------------------------------------
    async def _read(self, stream: asyncio.StreamReader | None, capture: Capture) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            capture.add(chunk)

    async def _watch(self, task_id: str, running: Running) -> None:
        process = running.process
        readers = asyncio.gather(self._read(process.stdout, running.captures["stdout"]),
                                 self._read(process.stderr, running.captures["stderr"]))
        try:
            await asyncio.wait_for(process.wait(), running.job.timeout)
        except TimeoutError:
            running.timed_out = True
            self._signal(task_id, running)
            await process.wait()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(readers, 5)
        if running.killer:
            running.killer.cancel()
        code = process.returncode
        if running.kill_requested:
            state, message = "killed", "cancelled: the process was terminated"
        elif running.timed_out:
            state, message = "failed", f"timed out after {running.job.timeout:g} s"
        elif code is not None and code < 0:
            state, message = "failed", f"killed by signal {signal.Signals(-code).name}"
        elif code is not None and running.job.succeeded(code) and (
                running.job.fail_on_stderr and running.captures["stderr"].data):
            state, message = "failed", (f"return code {code}, but the job wrote to stderr "
                                        "(failOnErrWritten)")
        elif code is not None and running.job.succeeded(code):
            state, message = "succeeded", ""
        else:
            state, message = "failed", f"return code {code}"
        self.running.pop(task_id, None)
        for capture in running.captures.values():
            capture.close()
        self._finish(task_id, state, code, message, running.output)
        self._forget_files(task_id)

    def _signal(self, task_id: str, running: Running) -> None:
        """SIGTERM to the job's process group now, SIGKILL after the grace period."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(running.process.pid, signal.SIGTERM)

        async def kill_later() -> None:
            await asyncio.sleep(running.job.grace if running.job.grace is not None
                                else self.jobs.kill_grace)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(running.process.pid, signal.SIGKILL)

        if running.killer is None:
            running.killer = asyncio.create_task(kill_later())

    def kill(self, task_id: str) -> dict[str, Any]:
        row = self._task(task_id)
        if row is None:
            raise Problem(404, "UnknownTask", f"no task '{task_id}' on this Agent")
        running = self.running.get(task_id)
        if running is not None and not running.kill_requested:
            running.kill_requested = True
            with self.journal.transaction() as conn:
                conn.execute("UPDATE tasks SET kill_requested = 1 WHERE task_id = ?",
                             (task_id,))
            log.info("killing task %s (pid %d)", task_id, running.process.pid)
            self._signal(task_id, running)
        return self.describe(row)

    def output(self, task_id: str, stdout: int, stderr: int) -> dict[str, Any]:
        """A task's output from byte offsets on: as captured so far while it runs (follow
        mode), as recorded once it ended."""
        row = self._task(task_id)
        if row is None:
            raise Problem(404, "UnknownTask", f"no task '{task_id}' on this Agent")
        running = self.running.get(task_id)
        answer: dict[str, Any] = {"taskId": task_id, "state": row["state"]}
        for stream, offset in (("stdout", stdout), ("stderr", stderr)):
            data = bytes(running.output[stream]) if running is not None else \
                (row[stream] or "").encode("utf-8")
            answer[stream], answer[f"{stream}Offset"] = output_slice(data, offset)
        return answer

    def _finish(self, task_id: str, state: str, code: int | None, message: str,
                output: Mapping[str, bytes]) -> None:
        with self.journal.transaction() as conn:
            conn.execute(
                "UPDATE tasks SET state = ?, return_code = ?, message = ?, stdout = ?,"
                " stderr = ?, ended = ? WHERE task_id = ?",
                (state, code, message,
                 bytes(output.get("stdout", b"")).decode("utf-8", "replace"),
                 bytes(output.get("stderr", b"")).decode("utf-8", "replace"),
                 to_iso(self.clock.now()), task_id))
            conn.execute("INSERT INTO events (task_id, type) VALUES (?, 'TaskFinished')",
                         (task_id,))
        self.notify()

    async def stop(self) -> None:
        """Agent shutdown: terminate running jobs and record them as killed."""
        for task_id, running in list(self.running.items()):
            running.kill_requested = True
            self._signal(task_id, running)
        if self._watchers:
            await asyncio.wait(self._watchers, timeout=self.jobs.kill_grace + 5)

    @staticmethod
    def describe(row: Mapping[str, Any]) -> dict[str, Any]:
        return {"taskId": row["task_id"], "orderId": row["order_id"], "state": row["state"],
                "pid": row["pid"], "returnCode": row["return_code"], "message": row["message"],
                "started": row["started"], "ended": row["ended"]}
