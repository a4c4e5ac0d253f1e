"""Ranks as processes that rendezvous the way the configured init method says.

Run once per backend and init method (a CUSTOM_HANDLERS "distributed" file): the
harness sets BACKEND, WORLD_SIZE, INIT_METHOD, TEMP_DIR, MASTER_ADDR and MASTER_PORT.
With init_env the ranks meet over TCP at MASTER_ADDR:MASTER_PORT; with init_file,
through files under TEMP_DIR. Every rank must see the same WORLD_SIZE and BACKEND.
"""

import json
import multiprocessing
import os
import socket
import time

from demo_testing import TestCase, run_tests

TIMEOUT = 60


def _config():
    return {
        "world_size": int(os.environ["WORLD_SIZE"]),
        "backend": os.environ["BACKEND"],
        "init_method": os.environ["INIT_METHOD"],
    }


def _recv_json(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return json.loads(data)


def _rank_env(rank, results):
    """Rank 0 listens on MASTER_PORT; the others report to it and get the verdict."""
    me = dict(_config(), rank=rank)
    addr = (os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))
    if rank == 0:
        with socket.create_server(addr) as server:
            server.settimeout(TIMEOUT)
            peers, seen = [], [me]
            for _ in range(me["world_size"] - 1):
                conn, _ = server.accept()
                seen.append(_recv_json(conn))
                peers.append(conn)
            agreed = len({(s["world_size"], s["backend"]) for s in seen}) == 1
            ranks = sorted(s["rank"] for s in seen)
            for conn in peers:
                conn.sendall(json.dumps({"agreed": agreed, "ranks": ranks}).encode() + b"\n")
                conn.close()
            results.put((rank, agreed, ranks))
    else:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                conn = socket.create_connection(addr, timeout=TIMEOUT)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with conn:
            conn.sendall(json.dumps(me).encode() + b"\n")
            reply = _recv_json(conn)
        results.put((rank, reply["agreed"], reply["ranks"]))


def _rank_file(rank, results):
    """Every rank writes its view under TEMP_DIR and waits for all the others'."""
    me = dict(_config(), rank=rank)
    folder = os.path.join(os.environ["TEMP_DIR"], "test_dir")
    path = os.path.join(folder, f"rank-{rank}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(me, f)
    os.replace(path + ".tmp", path)
    deadline = time.monotonic() + TIMEOUT
    while len([n for n in os.listdir(folder) if n.endswith(".json")]) < me["world_size"]:
        if time.monotonic() > deadline:
            raise TimeoutError("not every rank arrived")
        time.sleep(0.05)
    seen = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            with open(os.path.join(folder, name)) as f:
                seen.append(json.load(f))
    agreed = len({(s["world_size"], s["backend"]) for s in seen}) == 1
    results.put((rank, agreed, sorted(s["rank"] for s in seen)))


class TestDistBackend(TestCase):
    def test_every_rank_agrees(self):
        cfg = _config()
        target = _rank_env if cfg["init_method"].startswith("env://") else _rank_file
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        procs = [ctx.Process(target=target, args=(r, results)) for r in range(cfg["world_size"])]
        for p in procs:
            p.start()
        got = sorted(results.get(timeout=TIMEOUT) for _ in procs)
        for p in procs:
            p.join(timeout=TIMEOUT)
        everyone = list(range(cfg["world_size"]))
        self.assertEqual([r for r, _, _ in got], everyone)
        for rank, agreed, ranks in got:
            self.assertTrue(agreed, f"rank {rank} saw a different WORLD_SIZE or BACKEND")
            self.assertEqual(ranks, everyone)
        self.assertTrue(all(p.exitcode == 0 for p in procs))


if __name__ == "__main__":
    run_tests()
