// juheid from node-postgres (pg, pinned in package.json / package-lock.json).
//
// Connects with the libpq environment (PGHOST, PGPORT, PGDATABASE) as
// shop_app, an ordinary role, to a database set up by
// examples/clients/schema.sql.  Prints only masked ID numbers, result
// fields and SQLSTATEs.
'use strict';
const { Pool } = require('pg');

const RETRY_LATER = new Set(['JH010']); // nothing was sent, nothing billed
const RECONCILE = new Set(['JH011', 'JH013']); // sent: may have been (JH013: was) billed

const mask = (idcard) => idcard.slice(0, 4) + '*'.repeat(idcard.length - 8) + idcard.slice(-4);
const present = (value) => (value ? 'present' : 'absent');

// the composite's fields as columns: res, orderid, error_code, reason
async function verify(client, name, idcard) {
  const { rows } = await client.query('SELECT * FROM juhe_verify($1, $2)', [name, idcard]);
  return rows[0];
}

// true: the account exists; false: refused; null: nothing was sent, try again later
async function signup(pool, email, name, idcard) {
  const client = await pool.connect();
  let row;
  try {
    ({ rows: [row] } = await client.query(
      'INSERT INTO users (email, realname, idcard) VALUES ($1, $2, $3)' +
        ' RETURNING (verification).res, verified_orderid, verified_at',
      [email, name, idcard]));
  } catch (e) {
    const state = e.code;
    if (state === 'JH001') {
      console.log(`${mask(idcard)}: ${state} identity does not match: ask the user to check the name`);
    } else if (['JH002', 'JH003', 'JH004'].includes(state)) {
      console.log(`${mask(idcard)}: ${state} not verified: ${e.message}`);
    } else if (RETRY_LATER.has(state)) {
      console.log(`${mask(idcard)}: ${state} nothing was sent: retry later`);
      return null;
    } else if (RECONCILE.has(state)) {
      console.log(`${mask(idcard)}: ${state} may have been billed: look it up before verifying again (not retried)`);
    } else if (state === 'JH012') {
      console.log(`${mask(idcard)}: ${state} unusable answer: not retried (${e.message})`);
    } else {
      throw e;
    }
    return false;
  } finally {
    client.release(); // no argument: the connection is fine, keep it
  }
  console.log(`${mask(idcard)}: account created, res=${row.res}, orderid ${present(row.verified_orderid)}, ` +
    `verified_at ${row.verified_at ? 'set' : 'missing'}`);
  return true;
}

async function pids(pool) {
  const clients = [await pool.connect(), await pool.connect()];
  const pids = new Set();
  for (const c of clients) {
    pids.add((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    c.release();
  }
  return pids;
}

const FAILING = ['110101200001012091', '110101200001012024']; // JH011, JH012

async function main() {
  // idleTimeoutMillis 0: idle connections stay (the default closes them after 10 s)
  const pool = new Pool({ user: 'shop_app', max: 2, idleTimeoutMillis: 0 });
  const offline = new Pool({ user: 'shop_app_offline', max: 1 });
  try {
    console.log('== typed result of juhe_verify');
    const client = await pool.connect();
    try {
      for (const [name, idcard] of [['张三', '11010519491231002X'], // a match
        ['李五', '440304198808081238'], // a mismatch
        ['王五', '110101200001010010']]) { // no record (210301)
        const r = await verify(client, name, idcard);
        console.log(`${mask(idcard)}: res=${r.res ?? 'NULL'} error_code=${r.error_code} ` +
          `reason=${r.reason} orderid ${present(r.orderid)}`);
      }
    } finally {
      client.release();
    }

    console.log('== signup with the trigger');
    await signup(pool, 'a@example.com', '张三', '11010519491231002X');
    await signup(pool, 'b@example.com', '李五', '440304198808081238');

    console.log('== provider failures');
    // shop_app_offline: the same application while the provider is unreachable
    if (await signup(offline, 'c@example.com', '李四', '440304198808081238') === null) {
      console.log('retrying once the provider is reachable');
      await signup(pool, 'c@example.com', '李四', '440304198808081238');
    }
    await signup(pool, 'd@example.com', '孙七', '110101200001012163'); // billed, then the connection drops
    await signup(pool, 'e@example.com', '周八', '110101200001012024'); // HTTP 502
    console.log('accounts:', (await pool.query('SELECT count(*)::int AS n FROM users')).rows[0].n);

    console.log('== the pool keeps its connections');
    // pool.connect() + client.release(): a failed query leaves the connection in the pool
    const before = await pids(pool);
    let failures = 0;
    for (let i = 0; i < 10; i++) { // 20 failing calls, 10 on each connection
      const clients = [await pool.connect(), await pool.connect()];
      for (const [k, c] of clients.entries()) {
        try {
          await verify(c, '测试', FAILING[k]);
        } catch (e) {
          failures += ['JH011', 'JH012'].includes(e.code);
        } finally {
          c.release();
        }
      }
    }
    const after = await pids(pool);
    const same = before.size === 2 && [...after].every((p) => before.has(p));
    console.log(same ? `same 2 connections after ${failures} failures`
      : `connections changed after ${failures} failures`);

    // pool.query() releases the client with the error, which destroys the
    // connection: every failure costs a new connection to the database
    let opened = 0;
    const served = new Set(); // backend pids that ran the calls
    pool.on('connect', () => { opened++; });
    pool.on('acquire', (c) => { served.add(c.processID); });
    failures = 0;
    for (let i = 0; i < 20; i++) {
      try {
        await pool.query('SELECT * FROM juhe_verify($1, $2)', ['测试', FAILING[i % 2]]);
      } catch (e) {
        failures += ['JH011', 'JH012'].includes(e.code);
      }
    }
    console.log(`pool.query(): ${failures} failures ran on ${served.size} backends, ${opened} connections opened for them`);
  } finally {
    await pool.end();
    await offline.end();
  }
}

main().catch((e) => {
  console.error(e.code ? `unexpected SQLSTATE ${e.code}` : e);
  process.exitCode = 1;
});
