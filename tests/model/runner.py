"""Runs a scenario: the real connector through the SDK's local runner in process, against the model's world.

Each round applies its operations, then syncs: first the syncs its kills end (each must die of the simulated
crash, nothing else), then one that must succeed. After every sync that succeeds the judge compares the tables
with the truth and the rows sent with the rows that changed. Failures of known open bugs (known_bugs.py) are
recorded apart and do not fail the run; any other failure stops it at the end of its round.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# An S3-compatible endpoint that moto in process answers; it must be set before moto is imported (as in conftest.py).
S3_COMPATIBLE_ENDPOINT = "http://s3-compatible.test:9000"
os.environ.setdefault("MOTO_S3_CUSTOM_ENDPOINTS", S3_COMPATIBLE_ENDPOINT)

from tests.model.judge import SYNC_FAILED, Failure, Judge, Observation, SyncRecord  # noqa: E402
from tests.model.known_bugs import KNOWN_BUGS, KnownBug, classify  # noqa: E402
from tests.model.ops import Kill, Round, Scenario, Setting  # noqa: E402
from tests.model.oracle import AnswerCache, Scope, object_truth, split_list, version_truth  # noqa: E402
from tests.model.world import BUCKETS, World, WorldSpec  # noqa: E402

ACCESS_KEY_ID = "AKIAMODELTEST0000001"
SECRET = "model-secret/ThatMustNeverLeak+0"
RECONCILE_HOURS = 6


@dataclass
class Verdict:
    scenario: Scenario
    failures: list[Failure] = field(default_factory=list)
    known: list[tuple[str, Failure]] = field(default_factory=list)
    syncs: int = 0
    stats: Counter[str] = field(default_factory=Counter)  # what the run exercised: kinds of sync, operations

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def describe(self, limit: int = 12) -> str:
        lines = [f.describe() for f in self.failures[:limit]]
        if len(self.failures) > limit:
            lines.append(f"... and {len(self.failures) - limit} more")
        return "\n".join(lines)


def configuration(settings: dict[str, str], world: World, concurrency: str | None = None) -> dict[str, str]:
    """The connector's configuration for the model's settings. A world without AWS's listing RestoreStatus is an
    S3-compatible store (moto behind `endpoint_url`): on AWS itself the listing always reports restores."""
    config = {"bucket": ",".join(BUCKETS[int(i)] for i in settings.get("bucket", "0").split(",")),
              "aws_access_key_id": ACCESS_KEY_ID, "aws_secret_access_key": SECRET, "aws_region": "us-east-1",
              "max_concurrency": concurrency or settings.get("max_concurrency") or "1"}
    if not world.spec.listing_restore:
        config["endpoint_url"] = S3_COMPATIBLE_ENDPOINT
    for name in ("prefix", "include_patterns", "exclude_patterns", "range_size", "object_details", "sync_versions",
                 "restore_status_source", "reconcile_every_hours"):
        if settings.get(name):
            config[name] = settings[name]
    if settings.get("event_mode"):
        config["sqs_queue_url"] = world.queue_url
    return config


def scope_of(config: dict[str, str]) -> Scope:
    return Scope(tuple(split_list(config["bucket"])), tuple(split_list(config.get("prefix", ""))),
                 tuple(split_list(config.get("include_patterns", ""))),
                 tuple(split_list(config.get("exclude_patterns", ""))))


class Recorder:
    """Wraps the connector's SDK sink: records what each sync sends and logs, and can crash at a checkpoint."""

    def __init__(self) -> None:
        self.record = SyncRecord()
        self.crash_at_checkpoint: int | None = None

    def patches(self) -> list[Any]:
        import connector
        from tests.support.faults import SimulatedCrash
        sink = connector.SdkSink
        recorder = self
        originals = {name: getattr(sink, name) for name in ("upsert", "delete", "truncate", "checkpoint", "info",
                                                            "warning")}

        def upsert(self: Any, table: str, row: dict[str, Any]) -> None:
            recorder.record.upserts.append((table, dict(row)))
            originals["upsert"](self, table, row)

        def delete(self: Any, table: str, keys: dict[str, Any]) -> None:
            recorder.record.deletes.append((table, dict(keys)))
            originals["delete"](self, table, keys)

        def truncate(self: Any, table: str) -> None:
            recorder.record.truncates.append(table)
            originals["truncate"](self, table)

        def checkpoint(self: Any, state: dict[str, Any]) -> None:
            recorder.record.checkpoints += 1
            if recorder.crash_at_checkpoint == recorder.record.checkpoints:
                raise SimulatedCrash(f"simulated crash at checkpoint #{recorder.record.checkpoints}")
            originals["checkpoint"](self, state)

        def info(self: Any, message: str) -> None:
            recorder.record.infos.append(message)

        def warning(self: Any, message: str) -> None:
            recorder.record.warnings.append(message)
            originals["warning"](self, message)

        return [mock.patch.object(sink, name, fn) for name, fn in
                (("upsert", upsert), ("delete", delete), ("truncate", truncate), ("checkpoint", checkpoint),
                 ("info", info), ("warning", warning))]


@contextlib.contextmanager
def model_environment(spec: WorldSpec, seed: int) -> Iterator[tuple[World, Any, Recorder, Path]]:
    """moto in process with the test's S3 workarounds, the connector's pages and checkpoints made small, and a
    recording sink; yields (world, harness, recorder, project directory)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    env = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    for name in env:
        del os.environ[name]
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                      AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    from moto import mock_aws
    from moto.moto_api import state_manager
    from moto.moto_api._internal import mock_random

    from s3_metadata import checkpointing, event_mode
    from s3_metadata.aws import gateway
    from tests.model.aws_answers import AwsAnswers
    from tests.support.faults import FaultInjector
    from tests.support.harness import Harness
    recorder = Recorder()
    try:
        with contextlib.ExitStack() as stack, mock_aws():
            mock_random.seed(seed)
            state_manager.set_transition(model_name="s3::keyrestore",
                                         transition={"progression": "manual", "times": 10**9})
            stack.callback(state_manager.unset_transition, "s3::keyrestore")  # moto keeps it for later tests
            responder = AwsAnswers(spec.archived_tags)
            responder.install()
            stack.callback(responder.uninstall)
            faults = FaultInjector()
            faults.install()  # before the responder, so crashes and counts see ListObjectVersions too
            stack.callback(faults.uninstall)
            for target, name, value in ((gateway, "LIST_PAGE_SIZE", spec.page_size),
                                        (checkpointing, "CHECKPOINT_EVERY", spec.checkpoint_every),
                                        (event_mode, "OPENING_WAIT_SECONDS", 0),
                                        (event_mode, "DRAINING_WAIT_SECONDS", 0)):
                stack.enter_context(mock.patch.object(target, name, value))
            stack.enter_context(mock.patch("moto.s3.models.S3_UPLOAD_PART_MIN_SIZE", 5))
            for patch in recorder.patches():
                stack.enter_context(patch)
            # In memory where the machine has it: DuckDB's fsyncs cost more than the sync itself on a busy disk.
            shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
            project = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="s3-model-", dir=shm)))
            world = World(spec, faults)
            world.create()
            yield world, Harness(project / "project", None, faults), recorder, project  # type: ignore[arg-type]
    finally:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update(env)


class Runner:
    """One scenario in one model environment; `play` runs rounds given, or generated on the way."""

    def __init__(self, world: World, harness: Any, recorder: Recorder, known: tuple[KnownBug, ...] = KNOWN_BUGS):
        self.world = world
        self.harness = harness
        self.recorder = recorder
        self.known = known
        self.settings: dict[str, str] = {}
        self.judge = Judge()
        self.clients: dict[str, Any] = {}
        self.answers = AnswerCache()
        # The tables as the last checked sync left them: the next sync starts from them (a killed sync does not).
        self._last_tables: tuple[dict[Any, Any], dict[Any, Any]] | None = None
        self._killed = False  # a sync was killed since the last one checked

    def play(self, verdict: Verdict, rounds: Iterator[Round] | list[Round], stop: bool = True) -> Verdict:
        """Run the rounds; with `stop`, end after the first round that failed."""
        played: list[Round] = []
        for index, round_ in enumerate(rounds):
            played.append(round_)
            verdict.scenario = replace(verdict.scenario, rounds=tuple(played))
            self.round(index, round_, verdict)
            if verdict.failed and stop:
                break
        return verdict

    # -- one round
    def round(self, index: int, round_: Round, verdict: Verdict) -> None:
        before = dict(self.settings)
        for op in round_.ops:
            verdict.stats[f"op {type(op).__name__}"] += 1
            if isinstance(op, Setting):
                if op.value:
                    self.settings[op.name] = op.value
                else:
                    self.settings.pop(op.name, None)
            else:
                op.apply(self.world)
        if not self._valid(self.settings):
            # The connector refuses it before any request (a pattern that cannot match under the prefix, ...), and a
            # user would fix it: the round's setting changes are undone. Refusals have tests of their own.
            self.settings = before
            verdict.stats["configuration refused"] += 1
        state: Any = {} if round_.fresh_state else None
        if round_.reconcile:
            state = self._reconciliation_due(state)
        concurrency = "1" if round_.kills else None
        for kill in round_.kills:
            outcome = self._sync(index, verdict, state, kill, concurrency)
            state = None
            if outcome == "failed":
                return
        self._sync(index, verdict, state, None, concurrency)

    def _valid(self, settings: dict[str, str]) -> bool:
        from s3_metadata.configuration import ConfigurationError, parse_configuration
        try:
            parse_configuration(configuration(settings, self.world))
        except ConfigurationError:
            return False
        return True

    def _reconciliation_due(self, state: Any) -> Any:
        saved = dict(self.harness.saved_state()) if state is None else dict(state)
        if saved.get("last_reconcile"):
            last = datetime.fromisoformat(saved["last_reconcile"])
            saved["last_reconcile"] = (last - timedelta(hours=RECONCILE_HOURS, seconds=1)).isoformat()
        return saved

    def _sync(self, index: int, verdict: Verdict, state: Any, kill: Kill | None, concurrency: str | None) -> str:
        """One sync; 'ok' (checked), 'killed' or 'failed'."""
        from tests.support.faults import SimulatedCrash
        from tests.support.harness import SAVED
        config = configuration(self.settings, self.world, concurrency)
        self.world.make_messages_visible()
        faults = self.world.faults
        faults.clear()
        self.recorder.record = SyncRecord()
        self.recorder.crash_at_checkpoint = None
        if kill is not None:
            if kill.operation == "checkpoint":
                self.recorder.crash_at_checkpoint = kill.number
            else:
                faults.crash_at(kill.operation, kill.number)
        state_before = self.harness.saved_state() if state is None else state
        table_before, versions_before = self._last_tables or self._tables()
        self._last_tables = None
        result = self.harness.sync(config, state=SAVED if state is None else state)
        faults.clear()
        verdict.syncs += 1
        self._count(verdict, config, result.ok)
        if not result.ok:
            if kill is not None and isinstance(result.error, SimulatedCrash):
                verdict.stats[f"killed at {kill.operation}"] += 1
                self._killed = True
                return "killed"
            self._fail(verdict, Failure(SYNC_FAILED, index, detail=f"{type(result.error).__name__}: "
                                                                     f"{str(result.error)[:600]}"))
            return "failed"
        if not self.recorder.record.event_sync:
            self.world.trim_queue()
        seen = self._observe(index, config, state_before, table_before, versions_before)
        for failure in self.judge.check(seen):
            self._add_facts(failure, seen)
            self._fail(verdict, failure)
        return "ok"

    def _count(self, verdict: Verdict, config: dict[str, str], ok: bool) -> None:
        record, stats = self.recorder.record, verdict.stats
        stats["sync ok" if ok else "sync died"] += 1
        if record.event_sync:
            stats["event-mode sync"] += 1
        if record.truncates:
            stats[f"truncate {'+'.join(sorted(set(record.truncates)))}"] += 1
        for name in ("object_details", "sync_versions", "include_patterns", "exclude_patterns", "prefix"):
            if config.get(name):
                stats[f"sync with {name}"] += 1
        if len(config["bucket"].split(",")) > 1:
            stats["sync of two buckets"] += 1
        stats["rows upserted"] += len(record.upserts)
        stats["rows deleted"] += len(record.deletes)
        if any("resuming" in line for line in record.infos):
            stats["resumed pass"] += 1

    def _fail(self, verdict: Verdict, failure: Failure) -> None:
        bug = classify(failure, self.known)
        if bug is None:
            verdict.failures.append(failure)
        else:
            verdict.known.append((bug, failure))

    # -- what the check needs
    def _client(self, bucket: str) -> Any:
        import boto3
        region = self.world.spec.regions[BUCKETS.index(bucket)]
        if region not in self.clients:
            self.clients[region] = boto3.client("s3", region_name=region)
        return self.clients[region]

    def _tables(self) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[tuple[str, str, str], dict[str, Any]]]:
        """Every row of s3_objects and of s3_object_versions, deleted ones included, read in one connection."""
        import duckdb

        from tests.support.harness import SCHEMA, TABLE, VERSIONS_TABLE, _utc
        path = self.harness.project / "files" / "warehouse.db"
        tables: list[dict[Any, dict[str, Any]]] = [{}, {}]
        if not path.exists():
            return tables[0], tables[1]
        with duckdb.connect(str(path), read_only=True) as con:
            present = {name for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [SCHEMA]).fetchall()}
            for index, (table, key) in enumerate(((TABLE, ("bucket", "key")),
                                                  (VERSIONS_TABLE, ("bucket", "key", "version_id")))):
                if table not in present:
                    continue
                cursor = con.execute(f"SELECT * FROM {SCHEMA}.{table}")
                names = [d[0] for d in cursor.description]
                for values in cursor.fetchall():
                    row = {name: _utc(value) for name, value in zip(names, values)}
                    tables[index][tuple(row[k] for k in key)] = row
        return tables[0], tables[1]

    def _observe(self, index: int, config: dict[str, str], state_before: dict[str, Any],
                 table_before: dict[tuple[str, str], dict[str, Any]],
                 versions_before: dict[tuple[str, str, str], dict[str, Any]]) -> Observation:
        from s3_metadata.configuration import parse_configuration
        scope = scope_of(config)
        details = tuple(split_list(config.get("object_details", "")))
        versions_synced = config.get("sync_versions") == "true"
        truth = {b: object_truth(self._client(b), b, scope, details, self.answers) for b in scope.buckets}
        version_rows = {b: version_truth(self._client(b), b, scope) for b in scope.buckets
                        if versions_synced and self.world.versioned(b)}
        streams: dict[str, list[str]] = {}
        for bucket, prefix in parse_configuration(config).streams():
            streams.setdefault(bucket, []).append(prefix)
        table_after, versions_after = self._last_tables = self._tables()
        after_kill, self._killed = self._killed, False
        return Observation(index, scope, details, {b: self.world.versioned(b) for b in BUCKETS}, versions_synced,
                           truth, version_rows, table_before, table_after, versions_before, versions_after,
                           state_before, self.harness.saved_state(), streams, self.recorder.record,
                           {(b, k) for b in BUCKETS for k in self.world.keys(b)}, after_kill,
                           with_versions={(b, k) for b in BUCKETS for k in self.world.keys_with_versions(b)})

    def _add_facts(self, failure: Failure, seen: Observation) -> None:
        if not failure.bucket or not failure.key:
            return
        failure.facts["versions_left"] = len(self.world.versions(failure.bucket, failure.key))
        failure.facts["objects"] = seen.objects


def run_scenario(scenario: Scenario, known: tuple[KnownBug, ...] = KNOWN_BUGS, stop: bool = True) -> Verdict:
    """Replay a recorded scenario (a regression test, or a candidate while shrinking); without `stop`, every round
    runs whatever fails on the way."""
    verdict = Verdict(scenario)
    with model_environment(scenario.spec, scenario.seed) as (world, harness, recorder, _):
        Runner(world, harness, recorder, known).play(verdict, list(scenario.rounds), stop)
    return verdict


def run_seed(seed: int, rounds: int, known: tuple[KnownBug, ...] = KNOWN_BUGS,
             progress: Callable[[int, Verdict], None] | None = None) -> Verdict:
    """Generate and run `rounds` rounds from `seed`; stops at the first round with an unknown failure."""
    import random

    from tests.model.generator import Generator, random_spec
    spec = random_spec(random.Random(seed))
    generator = Generator(seed, spec)
    verdict = Verdict(Scenario(seed, spec))
    with model_environment(spec, seed) as (world, harness, recorder, _):
        runner = Runner(world, harness, recorder, known)

        def generated() -> Iterator[Round]:
            yield generator.first_round()
            for number in range(1, rounds):
                if progress is not None:
                    progress(number, verdict)
                yield generator.next_round(world, runner.settings)
        runner.play(verdict, generated())
    return verdict

