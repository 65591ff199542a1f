// Mutation testing of the modules where a one-character bug does the most harm (docs/testing.md).
// `npm run mutate` runs them all; one module at a time (what the scores in docs/testing.md come from):
//   npm run mutate -- --mutate lib/deadline.ts
//   npm run mutate -- --mutate lib/lxd/routes/route.ts,lib/lxd/routes/collection.ts,lib/lxd/routes/match.ts
// Each mutant runs only the unit specs that cover it (perTest), on one core (the unit suite is
// timing-sensitive, and a second process would slow the specs of others on a small machine).

const LXD = (...names) => names.map((n) => `spec/unit/lxd/${n}.spec.ts`);

/**
 * The unit specs that exercise each module (none reaches a daemon: spec/unit/no-daemon.spec.ts).
 * exec.spec.ts is left out: exec.ts is not mutated here, and its websocket-ordering specs need the
 * machine to themselves.
 */
const SPECS = {
  'lib/lxd/path.ts': [...LXD('path', 'transport', 'projects', 'toolbox-requests')],
  'lib/lxd/errors.ts': [...LXD('errors', 'transport', 'operation', 'operation-member', 'cluster', 'events', 'projects', 'socket', 'stream', 'path'), 'spec/unit/fixtures/errors.spec.ts', 'spec/unit/cli/exit-codes.spec.ts'],
  'lib/lxd/operation.ts': LXD('operation', 'operation-wait', 'operation-progress', 'operation-member', 'operation-details', 'reliability', 'cluster', 'events'),
  'lib/lxd/events.ts': LXD('events', 'events-stream', 'events-subscription', 'operation', 'operation-wait', 'reliability'),
  'lib/lxd/transport.ts': LXD('transport', 'transport-edges', 'transport-tls', 'transport-details', 'socket', 'stream', 'reliability', 'projects', 'path', 'file-chunks', 'toolbox-requests', 'cluster'),
  'lib/deadline.ts': ['spec/unit/deadline.spec.ts', 'spec/unit/deadline-listeners.spec.ts', ...LXD('transport', 'stream', 'operation')],
  'lib/lxdprofile/': ['spec/unit/lxdprofile/*.spec.ts'],
  'lib/container/namespace.ts': ['spec/unit/container/namespace.spec.ts'],
  'lib/testing/normalise.ts': ['spec/unit/testing/normalise.spec.ts', 'spec/unit/secrets.spec.ts', 'spec/unit/testing/recorder.spec.ts'],
  'lib/cli/exit-codes.ts': ['spec/unit/cli/exit-codes.spec.ts'],
  'lib/cli/exit-code-numbers.ts': ['spec/unit/cli/exit-codes.spec.ts'],
  'lib/lxd/routes/': LXD('routes', 'routes-match', 'routes-derive', 'network-extras', 'projects', 'storage', 'certificates-warnings', 'cluster'),
};

/** The value of `--mutate` (or `-m`) on Stryker's command line, if any. */
function mutateArgument() {
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--mutate' || argv[i] === '-m') return argv[i + 1];
    if (argv[i].startsWith('--mutate=')) return argv[i].slice('--mutate='.length);
  }
  return undefined;
}

/** The specs for the modules named by `--mutate` (all of them without it). */
function specsFor(mutate) {
  const wanted = mutate === undefined ? Object.keys(SPECS) : Object.keys(SPECS).filter((m) => mutate.split(',').some((p) => p.startsWith(m) || m.startsWith(p.replace(/\*.*$/, ''))));
  return [...new Set((wanted.length ? wanted : Object.keys(SPECS)).flatMap((m) => SPECS[m]))];
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'mocha',
  checkers: ['typescript'],
  // The checker type-checks the mutated modules and what they import, not the whole project: a mutant
  // seldom breaks the types of a file that imports it, and checking those would take most of the run.
  tsconfigFile: 'tsconfig.stryker.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    'lib/lxd/path.ts',
    'lib/lxd/errors.ts',
    'lib/lxd/operation.ts',
    'lib/lxd/events.ts',
    'lib/lxd/transport.ts',
    'lib/deadline.ts',
    'lib/lxdprofile/**/*.ts',
    'lib/container/namespace.ts',
    'lib/testing/normalise.ts',
    'lib/cli/exit-codes.ts',
    'lib/cli/exit-code-numbers.ts',
    // the route table's derivation; table.ts itself is data (its rows are held against both servers'
    // specs and docs/api.md by spec/unit/lxd/routes.spec.ts)
    'lib/lxd/routes/route.ts',
    'lib/lxd/routes/collection.ts',
    'lib/lxd/routes/match.ts',
  ],
  mochaOptions: {
    config: '.mocharc.json',
    spec: specsFor(mutateArgument()),
  },
  // Mocha runs in Stryker's own worker process: it needs tsx to load the TypeScript specs.
  testRunnerNodeArgs: ['--import=tsx/esm'],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 10000,
  timeoutFactor: 2,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 85, break: null },
};
