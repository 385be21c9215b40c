#!/usr/bin/python3
"""juheid from psycopg2 with its pool (Debian python3-psycopg2).

Connects with the libpq environment (PGHOST, PGPORT, PGDATABASE) as shop_app,
an ordinary role, to a database set up by examples/clients/schema.sql.
Prints only masked ID numbers, result fields and SQLSTATEs.
"""
from contextlib import contextmanager

import psycopg2
from psycopg2.extras import register_composite
from psycopg2.pool import ThreadedConnectionPool

RETRY_LATER = {"JH010"}         # nothing was sent, nothing billed
RECONCILE = {"JH011", "JH013"}  # sent: may have been (JH013: was) billed


@contextmanager
def connection(pool):
    conn = pool.getconn()
    try:
        with conn:              # commits, or rolls back on an exception; stays open
            yield conn
    finally:
        pool.putconn(conn)


def mask(idcard):
    return idcard[:4] + "*" * (len(idcard) - 8) + idcard[-4:]


def present(value):
    return "present" if value else "absent"


def verify(conn, name, idcard):
    # psycopg2 quotes the parameters into the statement on the client side;
    # still never format names or IDs into the SQL yourself
    with conn.cursor() as cur:
        cur.execute("SELECT juhe_verify(%s, %s)", (name, idcard))
        return cur.fetchone()[0]        # a juhe_result(res, orderid, error_code, reason)


def signup(pool, email, name, idcard):
    """True: the account exists; False: refused; None: nothing was sent, try again later."""
    try:
        with connection(pool) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO users (email, realname, idcard) VALUES (%s, %s, %s)"
                        " RETURNING verification, verified_orderid, verified_at",
                        (email, name, idcard))
            v, orderid, verified_at = cur.fetchone()
    except psycopg2.Error as e:
        state = e.pgcode
        if state == "JH001":
            print(f"{mask(idcard)}: {state} identity does not match: ask the user to check the name")
        elif state in ("JH002", "JH003", "JH004"):
            print(f"{mask(idcard)}: {state} not verified: {e.diag.message_primary}")
        elif state in RETRY_LATER:
            print(f"{mask(idcard)}: {state} nothing was sent: retry later")
            return None
        elif state in RECONCILE:
            print(f"{mask(idcard)}: {state} may have been billed: look it up before verifying again (not retried)")
        elif state == "JH012":
            print(f"{mask(idcard)}: {state} unusable answer: not retried ({e.diag.message_primary})")
        else:
            raise
        return False
    print(f"{mask(idcard)}: account created, res={v.res}, orderid {present(orderid)}, "
          f"verified_at {'set' if verified_at else 'missing'}")
    return True


def pids(pool):
    with connection(pool) as a, connection(pool) as b:
        return {backend_pid(c) for c in (a, b)}


def backend_pid(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def main():
    pool = ThreadedConnectionPool(2, 2, user="shop_app")
    offline = ThreadedConnectionPool(1, 1, user="shop_app_offline")
    try:
        with connection(pool) as conn:
            # juhe_result values become named tuples, for every connection
            register_composite("juhe_result", conn, globally=True)

        print("== typed result of juhe_verify")
        with connection(pool) as conn:
            for name, idcard in [("张三", "11010519491231002X"),   # a match
                                 ("李五", "440304198808081238"),   # a mismatch
                                 ("王五", "110101200001010010")]:  # no record (210301)
                r = verify(conn, name, idcard)
                res = "NULL" if r.res is None else r.res
                print(f"{mask(idcard)}: res={res} error_code={r.error_code} "
                      f"reason={r.reason} orderid {present(r.orderid)}")

        print("== signup with the trigger")
        signup(pool, "a@example.com", "张三", "11010519491231002X")
        signup(pool, "b@example.com", "李五", "440304198808081238")

        print("== provider failures")
        # shop_app_offline: the same application while the provider is unreachable
        if signup(offline, "c@example.com", "李四", "440304198808081238") is None:
            print("retrying once the provider is reachable")
            signup(pool, "c@example.com", "李四", "440304198808081238")
        signup(pool, "d@example.com", "孙七", "110101200001012163")  # billed, then the connection drops
        signup(pool, "e@example.com", "周八", "110101200001012024")  # HTTP 502
        with connection(pool) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM users")
            print("accounts:", cur.fetchone()[0])

        print("== the pool keeps its connections")
        before, failures = pids(pool), 0
        for _ in range(10):                 # 20 failing calls, 10 on each connection
            with connection(pool) as a, connection(pool) as b:
                for conn, idcard in ((a, "110101200001012091"), (b, "110101200001012024")):
                    try:
                        verify(conn, "测试", idcard)     # JH011, JH012
                    except psycopg2.Error as e:
                        failures += e.pgcode in ("JH011", "JH012")
                        conn.rollback()
        after = pids(pool)
        if before == after and len(after) == 2:
            print(f"same 2 connections after {failures} failures")
        else:
            print(f"connections changed after {failures} failures")
    finally:
        pool.closeall()
        offline.closeall()


if __name__ == "__main__":
    main()
