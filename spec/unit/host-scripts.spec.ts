// The host scripts start daemons that must outlive them. A daemon (or a shell waiting for one) that
// keeps the scripts' stdout open makes any reader of that output wait forever: `.ci/run` once did,
// after every spec had passed. These specs run the real scripts with a stand-in daemon (`sleep`).
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

interface Finished {
  stdout: string;
  code: number | null;
}

/** Runs a command with piped output; resolves when its stdout reaches end-of-file and it exited. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, withinMs: number): Promise<Finished> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let ended = false;
    let code: number | null | undefined;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no end-of-file on stdout within ${withinMs} ms (exit ${String(code)}); output so far:\n${stdout}${stderr}`));
    }, withinMs);
    const settle = (): void => {
      if (ended && code !== undefined) {
        clearTimeout(timer);
        resolvePromise({ stdout, code });
      }
    };
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdout.on("end", () => {
      ended = true;
      settle();
    });
    child.on("exit", (exitCode) => {
      code = exitCode;
      settle();
    });
    child.on("error", reject);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Field 6 of /proc/<pid>/stat: the session id. */
async function sessionOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
}

describe("host scripts", function () {
  let dir: string;
  const started: number[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "lxdkit-host-scripts-"));
  });

  afterEach(async () => {
    for (const pid of started.splice(0)) {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
    await rm(dir, { recursive: true, force: true });
  });

  describe("start_detached (lib-host.sh)", () => {
    it("leaves the daemon running in its own session with its stdio on /dev/null and the log, and the caller's pipe closes", async () => {
      const log = join(dir, "daemon.log");
      const script = `. scripts/lib-host.sh; pid=$(start_detached "$LOG" sh -c 'echo daemon-says-hi; exec sleep 60'); echo "pid=$pid"`;
      const { stdout, code } = await run("bash", ["-c", script], { LOG: log }, 10_000);
      expect(code).to.equal(0);
      const pid = Number(/^pid=(\d+)$/m.exec(stdout)?.[1]);
      started.push(pid);
      expect(pid, stdout).to.be.greaterThan(1);
      expect(alive(pid), "the daemon outlives the script").to.equal(true);
      // The subshell behind $! becomes the daemon when it reaches `exec setsid`, on its own time:
      // wait for its own session (bounded) instead of racing it (a loaded host lost that race).
      let session = await sessionOf(pid);
      for (const until = Date.now() + 5_000; session !== pid && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) session = await sessionOf(pid);
      expect(session).to.equal(pid);
      expect(await readlink(`/proc/${pid}/fd/0`)).to.equal("/dev/null");
      expect(await readlink(`/proc/${pid}/fd/1`)).to.equal(log);
      expect(await readlink(`/proc/${pid}/cwd`)).to.equal("/");
      // The daemon writes its line on its own time: wait for it (bounded) instead of racing it.
      let text = "";
      for (const until = Date.now() + 5_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
        text = await readFile(log, "utf8");
        if (text !== "") break;
      }
      expect(text).to.equal("daemon-says-hi\n");
      expect(stdout).not.to.include("daemon-says-hi");
    });
  });

  describe(".ci/run", () => {
    async function fakeTestCommand(body: string): Promise<string> {
      const path = join(dir, "fake-test.sh");
      // Starts a stand-in daemon that inherits stdout, as a careless set-up step would.
      await writeFile(path, `#!/usr/bin/env bash\nsleep 60 &\necho "$!" > "${dir}/leaked.pid"\n${body}\n`, { mode: 0o755 });
      return path;
    }

    async function runCi(body: string): Promise<Finished> {
      const command = await fakeTestCommand(body);
      try {
        return await run("bash", [".ci/run"], { LXDKIT_CI_TEST_COMMAND: command, LXDKIT_CI_LOG: join(dir, "ci.log") }, 15_000);
      } finally {
        const leaked = Number(await readFile(join(dir, "leaked.pid"), "utf8").catch(() => "0"));
        if (leaked > 0) started.push(leaked);
      }
    }

    it("ends when the test command ends, even if a process it started still holds its output", async () => {
      const { stdout, code } = await runCi(`echo "  7 passing (1s)"\nexit 0`);
      expect(stdout).to.include("7 passing (1s)");
      expect(stdout.trimEnd().split("\n").at(-1)).to.equal("7 passed, 0 failed");
      expect(code).to.equal(0);
      expect(alive(started[0] ?? 0), "the stand-in daemon was still running").to.equal(true);
    });

    it("counts failing and pending specs as failed and exits non-zero", async () => {
      const { stdout, code } = await runCi(`printf '  5 passing (1s)\\n  2 pending\\n  1 failing\\n'\nexit 1`);
      expect(stdout.trimEnd().split("\n").at(-1)).to.equal("5 passed, 3 failed");
      expect(code).to.not.equal(0);
    });

    it("adds up the totals of both mocha runs (single daemons, then the test cluster)", async () => {
      const { stdout, code } = await runCi(`printf '  700 passing (4m)\\n  2 failing\\n\\n  1) a spec:\\n     AssertionError: no\\n'\nprintf '  40 passing (2m)\\n  1 pending\\n'\nexit 1`);
      expect(stdout.trimEnd().split("\n").at(-1)).to.equal("740 passed, 3 failed");
      expect(code).to.not.equal(0);
    });

    it("counts only mocha's summary lines, not a total quoted deeper in a failure's details", async () => {
      const { stdout } = await runCi(`printf '  5 passing (1s)\\n  1 failing\\n\\n  1) x:\\n      AssertionError: output was\\n      7 passing (1s)\\n'\nexit 1`);
      expect(stdout.trimEnd().split("\n").at(-1)).to.equal("5 passed, 1 failed");
    });

    it("reports one failure when the command fails before mocha prints its totals", async () => {
      const { stdout, code } = await runCi(`echo "npm ci failed" >&2\nexit 1`);
      expect(stdout).to.include("npm ci failed");
      expect(stdout.trimEnd().split("\n").at(-1)).to.equal("0 passed, 1 failed");
      expect(code).to.not.equal(0);
    });
  });
});
