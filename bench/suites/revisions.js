'use strict';
// What history costs: 100 notes of 10 KB, each edited 100 times through PATCH /api/v1/notes/:id at 1 connection,
// on a server that keeps every version (the build as it is) and on one whose history is switched off (the same build;
// its note_revisions table is replaced by a view that discards what is written to it). Rounds alternate between the
// two servers: each round edits every note once on one, then on the other. Prints the edit latency (p50, p99), the
// server's CPU per edit, and the bytes the history takes on disk.
//   REVISIONS_NOTES (100), REVISIONS_EDITS edits per note (100), REVISIONS_KB note size (10); BENCH_ENGINE sqlite |
//   postgres | both (both)
const { readFileSync, statSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const { tempDir, testing, startServer, msUntilOk, stop, account } = require('../support');

const NOTES = Number(process.env.REVISIONS_NOTES ?? 100);
const EDITS = Number(process.env.REVISIONS_EDITS ?? 100);
const KB = Number(process.env.REVISIONS_KB ?? 10);
const LINE = 'The deploy checklist: drain the node, wait for readiness, roll the next one, watch the error rate.';

/** A note body of about KB kilobytes: numbered lines of ordinary prose. */
const bodyOf = (i) => Array.from({ length: Math.ceil((KB * 1024) / (LINE.length + 8)) }, (_, n) => `${n} ${LINE} ${i}`).join('\n');

function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/** Replaces the history table by a view that takes inserts and keeps nothing: the same build, without history. */
async function switchOffHistory(engine, env) {
  const view =
    'CREATE VIEW note_revisions AS SELECT id AS note_id, version, title, body, tag_names, visibility, editable_by_team, updated_by AS author_id, updated_at AS saved_at FROM notes WHERE 1 = 0';
  if (engine === 'sqlite') {
    const Database = require('better-sqlite3');
    const db = new Database(env.DATABASE_PATH);
    db.exec(`DROP TABLE note_revisions; ${view}; CREATE TRIGGER note_revisions_discard INSTEAD OF INSERT ON note_revisions BEGIN SELECT 1; END;`);
    db.close();
  } else {
    const { Client } = require('pg');
    const client = new Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    await client.query(`DROP TABLE note_revisions; ${view}; CREATE RULE note_revisions_discard AS ON INSERT TO note_revisions DO INSTEAD NOTHING;`);
    await client.end();
  }
}

/** Bytes the database takes, and those of the history table alone where the engine can tell. */
async function sizes(engine, env) {
  if (engine === 'sqlite') {
    const Database = require('better-sqlite3');
    const db = new Database(env.DATABASE_PATH);
    db.pragma('wal_checkpoint(TRUNCATE)');
    let history = null;
    try {
      history = db.prepare("SELECT sum(pgsize) AS bytes FROM dbstat WHERE name = 'note_revisions' OR name LIKE 'sqlite_autoindex_note_revisions%'").get().bytes;
    } catch {
      // dbstat is not compiled in
    }
    db.close();
    const wal = `${env.DATABASE_PATH}-wal`;
    return { total: statSync(env.DATABASE_PATH).size + (existsSync(wal) ? statSync(wal).size : 0), history };
  }
  const { Client } = require('pg');
  const client = new Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  const [row] = (
    await client.query(
      "SELECT pg_database_size(current_database()) AS total, (SELECT pg_total_relation_size(c.oid) FROM pg_class c WHERE c.relname = 'note_revisions' AND c.relkind = 'r') AS history",
    )
  ).rows;
  await client.end();
  return { total: Number(row.total), history: row.history === null ? null : Number(row.history) };
}

async function engineRun(engine, cluster) {
  const servers = [];
  for (const label of ['history', 'none']) {
    const env =
      engine === 'postgres'
        ? { DATABASE_URL: await cluster.createDatabase(`bench_revisions_${label}`) }
        : { DATABASE_PATH: join(tempDir(), `${label}.sqlite`) };
    // Start once to migrate, then (for "none") switch the history off before the measured server starts.
    let server = await startServer({ ...env, PUBLIC_URL: 'http://127.0.0.1' });
    await msUntilOk(server, '/health/ready');
    const acct = await account(server.url);
    await stop(server);
    if (label === 'none') await switchOffHistory(engine, env);
    server = await startServer({ ...env, PUBLIC_URL: 'http://127.0.0.1' });
    await msUntilOk(server, '/health/ready');
    const headers = { authorization: `Bearer ${acct.token}`, 'content-type': 'application/json' };
    const ids = [];
    for (let i = 0; i < NOTES; i++) {
      const res = await fetch(`${server.url}/api/v1/notes`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ title: `Runbook ${i}`, body: bodyOf(i), tags: ['ops'] }),
      });
      if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
      ids.push((await res.json()).id);
    }
    servers.push({ label, env, server, headers, ids, latencies: [], cpu: 0 });
  }
  try {
    for (let round = 1; round <= EDITS; round++) {
      for (const s of round % 2 ? servers : [...servers].reverse()) {
        const cpu = cpuMs(s.server.child.pid);
        for (let i = 0; i < NOTES; i++) {
          const lines = bodyOf(i).split('\n');
          lines[round % lines.length] = `${round} edited in round ${round}: ${LINE}`;
          const started = process.hrtime.bigint();
          const res = await fetch(`${s.server.url}/api/v1/notes/${s.ids[i]}`, {
            method: 'PATCH',
            headers: s.headers,
            body: JSON.stringify({ body: lines.join('\n') }),
          });
          await res.arrayBuffer();
          s.latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          if (res.status !== 200) throw new Error(`${s.label}: edit answered ${res.status}`);
        }
        s.cpu += cpuMs(s.server.child.pid) - cpu;
      }
    }
    const rows = [];
    for (const s of servers) rows.push({ ...s, size: await sizes(engine, s.env) });
    const [history, none] = rows;
    const mib = (b) => (b === null ? '—' : `${(b / 2 ** 20).toFixed(1)} MiB`);
    console.log(`\n${engine}: ${NOTES} notes of ${KB} KB, ${EDITS} edits each, 1 connection, rounds alternating\n`);
    console.log('| history | edit p50 | edit p99 | server CPU per edit | database on disk | history table |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const r of rows) {
      console.log(
        `| ${r.label === 'history' ? 'kept (NOTE_REVISIONS_KEEP 100)' : 'none'} | ${percentile(r.latencies, 50).toFixed(2)} ms | ${percentile(r.latencies, 99).toFixed(2)} ms | ${((1000 * r.cpu) / r.latencies.length).toFixed(0)} µs | ${mib(r.size.total)} | ${mib(r.size.history)} |`,
      );
    }
    console.log(
      `\nedit with history / without: p50 ${(percentile(history.latencies, 50) / percentile(none.latencies, 50)).toFixed(2)}×, CPU ${(history.cpu / none.cpu).toFixed(2)}× (goal: within 1.25×); history on disk ${mib(history.size.total - none.size.total)} more`,
    );
  } finally {
    for (const s of servers) await stop(s.server);
  }
}

exports.run = async () => {
  const which = process.env.BENCH_ENGINE ?? 'both';
  if (which !== 'postgres') await engineRun('sqlite');
  if (which !== 'sqlite') {
    const cluster = await testing.startPostgres();
    try {
      await engineRun('postgres', cluster);
    } finally {
      await cluster.destroy();
    }
  }
};
