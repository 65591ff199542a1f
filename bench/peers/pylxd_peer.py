"""pylxd (Debian's python3-pylxd) side of the lxdkit benchmark.

Usage: pylxd_peer.py TASK JSON_ARGS   (prints one JSON line)

Tasks use pylxd's public API the way its users do (Client(), client.containers.get/all,
client.operations.wait_for_operation, client.images.create). pylxd 2.2.10 predates LXD projects,
so every request gets ``?project=<name>`` through the requests session pylxd creates per API node;
that adds no request and no measurable work.
"""
import concurrent.futures
import json
import resource
import sys
import time

import pylxd
import pylxd.client


def use_project(project):
    if not project:
        return
    original = pylxd.client._APINode.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.session.params = {"project": project}

    pylxd.client._APINode.__init__ = init


def cpu_ms():
    return time.process_time() * 1000


def task_get(args):
    client = pylxd.Client()
    name = args["name"]
    for _ in range(args.get("warmup", 10)):
        client.containers.get(name)
    count = args["count"]
    conc = args["concurrency"]
    wall0, cpu0 = time.perf_counter(), cpu_ms()
    if conc <= 1:
        for _ in range(count):
            client.containers.get(name)
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=conc) as pool:
            list(pool.map(lambda _: client.containers.get(name), range(count)))
    return {"wallMs": (time.perf_counter() - wall0) * 1000, "cpuMs": cpu_ms() - cpu0}


def task_list(args):
    client = pylxd.Client()
    client.containers.all()
    walls, cpus, counts = [], [], []
    for _ in range(args["iterations"]):
        wall0, cpu0 = time.perf_counter(), cpu_ms()
        names = [c.name for c in client.containers.all() if c.name.startswith(args["prefix"])]
        walls.append((time.perf_counter() - wall0) * 1000)
        cpus.append(cpu_ms() - cpu0)
        counts.append(len(names))
    return {"wallMs": walls, "cpuMs": cpus, "found": counts}


def task_list_status(args):
    """Names and status of the model's containers, as a pylxd user gets them: all() gives names only,
    and reading .status fetches each container."""
    client = pylxd.Client()
    walls, cpus, counts = [], [], []
    for i in range(args["iterations"] + 1):
        wall0, cpu0 = time.perf_counter(), cpu_ms()
        got = [(c.name, c.status) for c in client.containers.all() if c.name.startswith(args["prefix"])]
        if i == 0:
            continue
        walls.append((time.perf_counter() - wall0) * 1000)
        cpus.append(cpu_ms() - cpu0)
        counts.append(len([s for _, s in got if s]))
    return {"wallMs": walls, "cpuMs": cpus, "found": counts}


def task_exec(args):
    client = pylxd.Client()
    container = client.containers.get(args["name"])
    for _ in range(args.get("warmup", 2)):
        try:
            container.execute(["true"])
        except BrokenPipeError:
            pass  # see below
    walls, cpus = [], []
    # pylxd 2.2 closes its websockets through ws4py, which writes a close frame to a socket LXD may
    # already have closed: BrokenPipeError after the command ran. Such a call is not timed and is
    # made again (a few times in all, then the error stands); how many there were is reported.
    teardown_errors = 0
    while len(walls) < args["count"]:
        wall0, cpu0 = time.perf_counter(), cpu_ms()
        try:
            result = container.execute(["true"])
        except BrokenPipeError:
            teardown_errors += 1
            if teardown_errors > 3:
                raise
            continue
        walls.append((time.perf_counter() - wall0) * 1000)
        cpus.append(cpu_ms() - cpu0)
        if result.exit_code != 0:
            raise RuntimeError("true exited with %d" % result.exit_code)
    return {"wallMs": walls, "cpuMs": cpus, "teardownErrors": teardown_errors}


def task_push(args):
    client = pylxd.Client()
    container = client.containers.get(args["name"])
    wall0 = time.perf_counter()
    with open(args["file"], "rb") as f:
        data = f.read()
    container.files.put(args["path"], data)
    del data
    return {"wallMs": (time.perf_counter() - wall0) * 1000, "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def task_pull(args):
    client = pylxd.Client()
    container = client.containers.get(args["name"])
    wall0 = time.perf_counter()
    data = container.files.get(args["path"])
    with open(args["file"], "wb") as f:
        f.write(data)
    size = len(data)
    del data
    return {"wallMs": (time.perf_counter() - wall0) * 1000, "size": size, "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def task_wait(args):
    client = pylxd.Client()
    name = args["name"]
    ops = []
    for i in range(args["count"]):
        action = "stop" if i % 2 == 0 else "start"
        # what Container.stop(force=True, wait=True) / start(wait=True) do, keeping the operation id
        resp = client.api.containers[name].state.put(json={"action": action, "timeout": 30, "force": True})
        op = client.operations.wait_for_operation(resp.json()["operation"])
        resolved = time.time() * 1000
        if op.status_code != 200:
            raise RuntimeError("operation failed: %s" % op.err)
        ops.append({"id": op.id, "resolvedAtMs": resolved})
    return {"ops": ops}


def task_import(args):
    client = pylxd.Client()
    wall0 = time.perf_counter()
    with open(args["file"], "rb") as f:
        data = f.read()
    image = client.images.create(data, wait=True)
    del data
    wall = (time.perf_counter() - wall0) * 1000
    return {
        "wallMs": wall,
        "fingerprint": image.fingerprint,
        "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def task_baseline(_args):
    pylxd.Client()
    return {"maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


TASKS = {
    "get": task_get,
    "list": task_list,
    "list-status": task_list_status,
    "wait": task_wait,
    "import": task_import,
    "baseline": task_baseline,
    "exec": task_exec,
    "push": task_push,
    "pull": task_pull,
}


def main():
    task = sys.argv[1]
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    use_project(args.get("project"))
    print(json.dumps(TASKS[task](args)))


if __name__ == "__main__":
    main()
