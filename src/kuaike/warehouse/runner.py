"""The model runner: build every model in dependency order, in ONE transaction, audited.

1. Read what changed in the replica since each model's last build (`_kuaike.model_state`).
2. Rebuild each model in dependency order: in full, the touched days only, or its snapshot.
3. Audit every rebuilt model, then the cross-theme totals.
4. Commit the tables, the model states, the runs and the build together — or roll everything
   back (the previous tables stay) and record the failed build and its runs.
Readers on other cursors keep seeing the previous tables until the commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kuaike.config import WarehouseSettings
from kuaike.errors import AuditError, WarehouseError
from kuaike.types import DuckConnection
from kuaike.warehouse import audits, changes, incremental, lookups, plausibility, state
from kuaike.warehouse.catalog import Model, build_order, downstream, load_models
from kuaike.warehouse.engines.duckdb import (
    model_errors,
    scalar,
    set_reference_date,
    setting,
    tables,
    views,
)
from kuaike.warehouse.lookups import stored_name
from kuaike.warehouse.summary import Action, BuildSummary, ModelRun, record

log = logging.getLogger("kuaike.warehouse")

# Models group by small keys (a day and a dot, a route or a vehicle): up to 2^20 groups
# are counted in an array indexed by the keys instead of a hash table (DuckDB's default stops at
# 2^12). It saves about a sixth of the DWS models' time at 10 M bills; the arrays, 2^20 entries
# per thread, stay small.
PERFECT_HASH_BITS = 20

# Builds do not compress text with FSST: analysing each column for it cost more than it saved
# space is worth here (at 10 M bills the waybill detail built in 9.2-9.8 s instead of
# 10.5-11 s); text is still compressed by dictionary where its values repeat.
NO_FSST = "fsst,dict_fsst"

# Tables are written without keeping the order their rows were computed in (no model's rows
# have an order; readers sort): each thread writes its own row groups instead of handing them
# back in order. At 1 M bills, on a quiet machine, the full build took 26.2 CPU-seconds instead
# of 29.2 (15.4 s instead of 16.8 s).
KEEP_ORDER = False

TOUCHED = "_wh_touched"  # temp table: (model, key) of the entities or facts to rebuild
FACTS = "_wh_facts"  # temp table: the replica rows of the facts a detail table rebuilds


def _touched_keys(model: str) -> str:
    """SELECT the keys noted in TOUCHED for `model`."""
    return f"SELECT key FROM {TOUCHED} WHERE model = '{model}'"


# The reason of a model rebuilt in full because a model it reads was (see _plan).
UPSTREAM = "a model it reads was rebuilt in full"


@dataclass
class _Plan:
    action: Action
    days: set[dt.date] | None  # None: every day
    reason: str | None = None  # why a model is rebuilt in full


class Builder:
    """One build over an open store connection (see the module docstring)."""

    def __init__(
        self,
        con: Any,
        *,
        full: bool = False,
        days: set[dt.date] | None = None,
        reference_date: dt.date | None = None,
        models: dict[str, Model] | None = None,
        progress: Callable[[str], None] | None = None,
        settings: WarehouseSettings | None = None,
    ) -> None:
        self.con = con
        self.settings = settings or WarehouseSettings()  # the plausibility thresholds
        self.full = full
        self.backfill = days or set()
        self.reference_date = reference_date or dt.date.today()
        self.models = models if models is not None else load_models()
        self.rebuilt: dict[str, set[dt.date] | None] = {}
        self._changes: dict[tuple[str, int], changes.TableChange] = {}
        self.existing: set[str] = set()
        self.progress = progress
        self._current = ""
        self.waiting: dict[str, str] = {}  # model -> the missing replica table it waits for
        self._splits: dict[str, lookups.Split] = {}
        # the models stored narrow -> the tables holding their rows (see lookups)
        self._reads = {
            name: stored_name(model)
            for name, model in self.models.items()
            if lookups.is_narrow(model)
        }

    @property
    def mode(self) -> str:
        return "full" if self.full else "backfill" if self.backfill else "incremental"

    def run(self) -> BuildSummary:
        """Build; raise AuditError/WarehouseError (after recording) when the build fails."""
        state.ensure(self.con)
        self._check_replica()
        set_reference_date(self.con, self.reference_date)
        started = time.perf_counter()
        summary = BuildSummary(state.next_build_id(self.con), self.mode, self.reference_date, 0)
        self.con.execute("BEGIN TRANSACTION")
        try:
            summary.batch = state.last_batch(self.con)
            with (
                setting(self.con, "perfect_ht_threshold", PERFECT_HASH_BITS),
                setting(self.con, "disabled_compression_methods", NO_FSST),
                setting(self.con, "preserve_insertion_order", KEEP_ORDER),
            ):
                failure = self._build_all(summary)
            summary.mode, summary.reason = self._what_was_done(summary)
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        summary.duration_ms = (time.perf_counter() - started) * 1000
        if failure is None:
            self._commit(summary)
            return summary
        self.con.execute("ROLLBACK")
        summary.status, summary.error = "failed", str(failure)
        for run in summary.runs:
            if run.status == "ok":
                run.status = "rolled_back"
        record(self.con, summary)
        raise failure

    def _what_was_done(self, summary: BuildSummary) -> tuple[str, str | None]:
        """The build's mode and why: `full` when every model that ran was rebuilt in full (a
        first build, --full, a change every model's SQL shares), with the reasons of the models
        rebuilt in full (their own, not the ones that followed a model they read)."""
        ran = [run for run in summary.runs if run.status != "waiting"]
        whole = [run for run in ran if run.action == "full"]
        causes = {run.model: run.reason for run in whole if run.reason != UPSTREAM}
        distinct = set(causes.values())
        if len(distinct) == 1 and len(causes) == len(whole):
            reason = distinct.pop()
        else:
            reason = "; ".join(f"{model}: {why}" for model, why in causes.items()) or None
            followers = len(whole) - len(causes)
            if reason and followers:
                reason += f" (and {followers} models reading them)"
        every = bool(whole) and all(run.action in ("full", "snapshot") for run in ran)
        return ("full" if every else self.mode), reason

    def _check_replica(self) -> None:
        """Models reading a table the replica does not have yet wait (with their dependants)."""
        needed = sorted({d for m in self.models.values() for d in m.depends_on if d[:4] == "ods."})
        existing = tables(self.con)
        missing = [name for name in needed if name not in existing]
        if missing and len(missing) == len(needed):
            raise WarehouseError(
                f"the replica has no {missing[0]} (and {len(missing) - 1} more missing tables);"
                " capture the business databases first (kuaike capture)"
            )
        for name, model in self.models.items():
            absent = sorted(model.depends_on & set(missing))
            if absent:
                for waiting in downstream(self.models, {name}):
                    self.waiting.setdefault(waiting, absent[0])

    def _build_all(self, summary: BuildSummary) -> WarehouseError | None:
        states = state.model_states(self.con)
        self.existing = tables(self.con) | views(self.con)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {TOUCHED} (model VARCHAR, key BIGINT)")
        for name in build_order(self.models):
            model = self.models[name]
            if self.progress is not None:
                self.progress(name)
            self._current = name
            run = ModelRun(name, "skipped")
            summary.runs.append(run)
            if name in self.waiting:
                run.status, run.error = "waiting", f"the replica has no {self.waiting[name]} yet"
                self.rebuilt[name] = set()
                continue
            begun = time.perf_counter()
            try:
                with model_errors(name):
                    plan = self._plan(model, states.get(name))
                    self._execute(model, plan, run)
                    scope = self._audit_scope(plan)
                    problems = audits.audit(self.con, model, plan.days, scope, self._reads)
            except WarehouseError as exc:
                run.status, run.error = "failed", str(exc)
                return exc
            run.duration_ms = (time.perf_counter() - begun) * 1000
            if problems:
                run.status, run.error = "failed", "; ".join(problems)
                return AuditError(f"audit failed for {name}: {run.error}", model=name)
        return self._cross_audit(summary)

    def _cross_audit(self, summary: BuildSummary) -> WarehouseError | None:
        touched: set[dt.date] | None = set()
        for name, days in self.rebuilt.items():
            if self.models[name].kind != "by_day":
                continue
            touched = None if days is None or touched is None else touched | days
        with model_errors():
            failures = audits.cross_audit(self.con, touched)
            sane = plausibility.check(self.con, touched, self.reference_date, self.settings)
        for model, problems in sane.items():
            failures.setdefault(model, []).extend(problems)
        for run in summary.runs:
            if run.model in failures:
                run.status, run.error = "failed", "; ".join(failures[run.model])
                return AuditError(f"audit failed for {run.model}: {run.error}", model=run.model)
        return None

    def _audit_scope(self, plan: _Plan) -> str | None:
        """For a by_key rebuild: the rows to audit (the rebuilt entities)."""
        if plan.action != "keys":
            return None
        return f"id IN ({_touched_keys(self._current)})"

    def _change(self, table: str, since: int) -> changes.TableChange:
        if (table, since) not in self._changes:
            self._changes[table, since] = changes.table_change(self.con, table, since)
        return self._changes[table, since]

    def _fresh(self, model: Model, last: state.ModelState | None) -> str | None:
        """Why `model` must be rebuilt from scratch, or None."""
        if self.full:
            return "--full"
        if last is None:
            return "first build"
        if last.fingerprint != model.fingerprint:
            return "its SQL changed"
        if model.name not in self.existing or stored_name(model) not in self.existing:
            return "its table is missing"
        if "reference_date" in model.sql and last.reference_date != self.reference_date:
            return "the reference date changed"
        return None

    def _plan(self, model: Model, last: state.ModelState | None) -> _Plan:
        fresh = self._fresh(model, last)
        if model.kind == "snapshot":
            if last is not None and last.fingerprint != model.fingerprint:
                # the columns may have changed: earlier pictures cannot be kept
                self.con.execute(f"DROP TABLE IF EXISTS {model.name}")
                self.existing.discard(model.name)
            return _Plan("snapshot", None)
        upstream = [self.rebuilt[d] for d in model.depends_on if d in self.rebuilt]
        if fresh or any(days is None for days in upstream):
            return _Plan("full", None, fresh or UPSTREAM)
        assert last is not None
        ods = {d: self._change(d, last.built_batch) for d in model.depends_on if d[:4] == "ods."}
        if model.kind == "full":
            if any(upstream) or any(change.any for change in ods.values()):
                return _Plan("full", None, "a table it reads changed")
            return _Plan("skipped", set())
        if model.kind == "by_key":
            return self._plan_keys(model, last.built_batch, ods)
        if any(change.truncated for change in ods.values()):
            return _Plan("full", None, "a table it reads was truncated")
        if model.layer == "dwd" and not self.backfill and not any(upstream):
            return self._plan_facts(model, last.built_batch, ods)
        days = set(self.backfill)
        if model.layer == "dwd":
            days |= changes.touched_days(self.con, model, last.built_batch, ods)
        for upstream_days in upstream:
            days |= upstream_days or set()
        return _Plan("days", days) if days else _Plan("skipped", set())

    def _plan_keys(self, model: Model, since: int, ods: dict[str, changes.TableChange]) -> _Plan:
        sources = dict(model.key_from)
        entity = incremental.aliases(model.tree)[incremental.fact_alias(model.tree)]
        others = [name for name, change in ods.items() if name != entity and change.any]
        upstream = [d for d in model.depends_on if d in self.rebuilt and d not in sources]
        if others or ods[entity].truncated or any(self.rebuilt[d] != set() for d in upstream):
            return _Plan("full", None, "a table other than its entities' changed")
        if ods[entity].any:
            ids = changes.changed_ids_sql(entity, since)
            self.con.execute(f"INSERT INTO {TOUCHED} SELECT ?, id FROM ({ids})", [model.name])
        touched = scalar(self.con, f"SELECT count(*) FROM {TOUCHED} WHERE model = ?", [model.name])
        return _Plan("keys", set()) if touched else _Plan("skipped", set())

    def _plan_facts(self, model: Model, since: int, ods: dict[str, changes.TableChange]) -> _Plan:
        """A DWD by_day model rebuilds only the facts the changes touch, not their whole days:
        one day of changes touches a few rows on each of many days (late arrivals, edits of
        older bills), and rewriting those days would cost many times the changed rows."""
        for select in changes.touched_sql(model, since, ods, "key"):
            self.con.execute(f"INSERT INTO {TOUCHED} SELECT ?, key FROM ({select})", [model.name])
        touched = scalar(self.con, f"SELECT count(*) FROM {TOUCHED} WHERE model = ?", [model.name])
        return _Plan("keys", set()) if touched else _Plan("skipped", set())

    def _days(self, model: Model, where: str) -> set[dt.date]:
        """The days of the rows of `model` matching `where`."""
        rows = self.con.execute(f"SELECT DISTINCT day FROM {stored_name(model)} WHERE {where}")
        return {row[0] for row in rows.fetchall() if row[0] is not None}

    def _note_keys(self, model: Model, where: str) -> None:
        """Remember the entities named by rows of `model` (before and after a rebuild)."""
        for consumer in self.models.values():
            for source, column in consumer.key_from:
                if source == model.name:
                    self.con.execute(
                        f"INSERT INTO {TOUCHED} SELECT DISTINCT ?, {column}"
                        f" FROM {stored_name(model)}"
                        f" WHERE ({where}) AND {column} IS NOT NULL",
                        [consumer.name],
                    )

    def _execute(self, model: Model, plan: _Plan, run: ModelRun) -> None:
        run.action, run.reason = plan.action, plan.reason
        self.rebuilt[model.name] = plan.days
        if plan.action == "skipped":
            run.status = "skipped"
            return
        sql = self._model_sql(model, plan)
        stored = stored_name(model)
        if plan.action == "full":
            self.con.execute(f"CREATE OR REPLACE TABLE {stored} AS {sql}")
            run.rows = int(scalar(self.con, f"SELECT count(*) FROM {stored}"))
            run.days = -1
        elif plan.action == "snapshot":
            self._replace(model, sql, f"day = DATE '{self.reference_date.isoformat()}'", run)
            run.days = 1
        elif plan.action == "keys":
            keys = _touched_keys(model.name)
            where = f"{model.key[0]} IN ({keys})"
            if model.kind != "by_day":
                self._replace(model, sql, where, run)
                return
            # the days the rebuilt facts were on and are on now: the days DWS rebuilds
            assert plan.days is not None
            plan.days |= self._days(model, where)
            self._replace(model, sql, where, run)
            plan.days |= self._days(model, where)
            run.days = len(plan.days)
        else:
            assert plan.days is not None
            listed = ", ".join(f"DATE '{day.isoformat()}'" for day in sorted(plan.days))
            self._replace(model, sql, f"day IN ({listed})", run)
            run.days = len(plan.days)
        if lookups.is_narrow(model):
            self._create_view(model)
        log.debug("built %s: %s, %d rows", model.name, plan.action, run.rows)

    def _create_view(self, model: Model) -> None:
        """The wide rows of a narrow model (see lookups), replacing a table of that name (a
        store built before detail tables were stored narrow)."""
        if model.name in tables(self.con):
            self.con.execute(f"DROP TABLE {model.name}")
        self.con.execute(f"CREATE OR REPLACE VIEW {model.name} AS {self._split(model).view}")
        self.existing.add(model.name)

    def _replace(self, model: Model, sql: str, where: str, run: ModelRun) -> None:
        stored = stored_name(model)
        if stored not in self.existing:
            self.con.execute(f"CREATE TABLE {stored} AS {sql}")
            self.existing.add(stored)
        else:
            self._note_keys(model, where)
            self.con.execute(f"DELETE FROM {stored} WHERE {where}")
            self.con.execute(f"INSERT INTO {stored} BY NAME {sql}")
            self._note_keys(model, where)
        run.rows = int(scalar(self.con, f"SELECT count(*) FROM {stored} WHERE {where}"))

    def _split(self, model: Model) -> lookups.Split:
        """How a narrow model is stored and read (computed once per build)."""
        if model.name not in self._splits:
            keep = {
                column
                for m in self.models.values()
                for source, column in m.key_from
                if source == model.name
            }
            self._splits[model.name] = lookups.split(self.con, model, keep, self._fact_tables)
        return self._splits[model.name]

    @functools.cached_property
    def _fact_tables(self) -> set[str]:
        """The fact tables of the narrow models (see lookups.split)."""
        trees = [m.tree for m in self.models.values() if lookups.is_narrow(m)]
        return {incremental.aliases(tree)[incremental.fact_alias(tree)] for tree in trees}

    def _narrow_sources(self, model: Model) -> dict[str, lookups.Split]:
        """The splits of the narrow models `model` reads."""
        return {
            name: self._split(self.models[name])
            for name in model.depends_on
            if name in self.models and lookups.is_narrow(self.models[name])
        }

    def _model_sql(self, model: Model, plan: _Plan) -> str:
        if lookups.is_narrow(model):
            return self._narrow_sql(model, plan)
        tree = model.tree
        days = plan.days if plan.action in ("days", "keys") else None
        if model.kind == "by_key" and days is not None:
            keys = _touched_keys(model.name)
            tree = incremental.restrict_keys(tree, dict(model.key_from), keys)
        elif model.kind == "by_day" and days is not None:
            tree = incremental.restrict_sources(tree, days)
        return lookups.read_stored(tree, self._narrow_sources(model), model.tree).sql("duckdb")

    def _narrow_sql(self, model: Model, plan: _Plan) -> str:
        """The SELECT of a narrow detail table's stored rows (facts, days or all), lineage added.
        Rebuilding facts, it first copies their replica rows to the temp table FACTS."""
        tree = self._split(model).stored
        if plan.action == "keys":
            fact_table = incremental.aliases(tree)[incremental.fact_alias(tree)]
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {FACTS} AS SELECT * FROM {fact_table}"
                f" WHERE id IN ({_touched_keys(model.name)})"
            )
            tree = incremental.restrict_facts(incremental.with_lineage(tree), FACTS)
            return incremental.correlate_picks(tree).sql("duckdb")
        days = plan.days if plan.action == "days" else None
        tree = incremental.with_lineage(incremental.restrict_days(tree, days))
        if days is not None:
            tree = incremental.correlate_picks(tree)
        return tree.sql("duckdb")

    def _commit(self, summary: BuildSummary) -> None:
        for run in summary.runs:
            if run.status in ("ok", "skipped"):
                model = self.models[run.model]
                state.save_model_state(
                    self.con, run.model, model.fingerprint, summary.batch, self.reference_date
                )
        record(self.con, summary)
        self.con.execute("COMMIT")


def build(
    con: DuckConnection,
    *,
    full: bool = False,
    days: set[dt.date] | None = None,
    reference_date: dt.date | None = None,
    models: dict[str, Model] | None = None,
    progress: Callable[[str], None] | None = None,
    settings: WarehouseSettings | None = None,
) -> BuildSummary:
    """Run one build on `con`; see `Builder` for what each option does."""
    builder = Builder(
        con,
        full=full,
        days=days,
        reference_date=reference_date,
        models=models,
        progress=progress,
        settings=settings,
    )
    return builder.run()
