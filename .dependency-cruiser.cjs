/**
 * The layering rule (issue #18), checked by test/layers.test.ts and `npm run layers`.
 *
 * Layers, bottom to top. A module may import modules of its own folder and of lower layers, never
 * of a higher layer nor of another folder on its own level (siblings stay independent, so each
 * level can be read without the others). The order is derived from the imports in the code.
 * Test code (`*.test.ts`, `test-helpers.ts`, `test/`) may import any layer: it is not part of the
 * build, and an end-to-end test exercises the layers above the code it tests.
 */
const LAYERS = [
  // Errors, paths, RNG, config files: used by everything, imports nothing of ours.
  [['core', '^src/core/']],
  // config/robots/<name>.yaml: read by the simulated arm and by the bridge to a body alike.
  [['robot-config', '^src/robot-config/']],
  // The MuJoCo world: arm, scenes, tasks, the env.
  [['sim', '^sim/']],
  // What a prior controller is (observation layout, helper API): described by the prompts, run by controllers.
  [['contract', '^src/contract/']],
  // One episode type, the episode runner and its sinks' formats (Parquet datasets, scene replays).
  [['episodes', '^src/episodes/']],
  // What the priors, the robots and the learners build on; independent of each other.
  [
    ['prompts', '^src/prompts/'],
    ['bridge', '^src/bridge/'],
    ['rl', '^src/rl/(?!train/|experiment/)'],
    // The env served to other languages (the Python Gymnasium package) over a line protocol.
    ['env-server', '^src/env-server/'],
  ],
  // The controller store, the sandbox and the generate/feedback rounds, which drive the prompts.
  [['controllers', '^src/controllers/']],
  // Orchestration: the real-time control loop and run session; training runs.
  [
    ['control', '^src/control/'],
    ['rl/train', '^src/rl/train/'],
  ],
  // Experiments over training runs; the viewer over runs, priors and replays.
  [
    ['rl/experiment', '^src/rl/experiment/'],
    ['viewer', '^src/viewer/'],
  ],
  // Experiments on a job queue (BullMQ on Redis): workers train the runs of queued experiments.
  [['queue', '^src/queue/']],
  // Benchmarks that print numbers; `armprior bench` runs them, so they sit below the CLI.
  [['bench', '^bench/']],
  // One file per command, and the one place errors become exit codes.
  [['cli', '^src/cli/']],
];

/** Test code: exempt from the layering (not from the cycle rule), and never imported by the build. */
const TEST_CODE = '(^test/|[.]test[.]ts$|/test-helpers[.]ts$)';

const levels = LAYERS.map((level, rank) => level.map(([name, path]) => ({ name, path, rank })));
const layers = levels.flat();
const any = (paths) => `(${paths.join('|')})`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: the modules on it cannot be understood, tested or moved apart.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-code-in-build',
      severity: 'error',
      comment: 'Production code imports test code, which pulls test support into the build.',
      from: { path: '^(src|sim|bench)/', pathNot: TEST_CODE },
      to: { path: TEST_CODE },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve: the layering cannot be checked through it.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-unlayered-module',
      severity: 'error',
      comment: 'A module in no layer: add its folder to LAYERS in .dependency-cruiser.cjs.',
      from: { path: '^(src|sim|bench)/', pathNot: [TEST_CODE, ...layers.map((l) => l.path)] },
      to: {},
    },
    ...layers
      .map((layer) => ({ layer, above: layers.filter((l) => l.rank >= layer.rank && l !== layer) }))
      .filter(({ above }) => above.length > 0)
      .map(({ layer, above }) => ({
        name: `no-upward-from-${layer.name.replace('/', '-')}`,
        severity: 'error',
        comment: `${layer.name} imports a higher layer or a sibling on its level (see LAYERS in .dependency-cruiser.cjs).`,
        from: { path: layer.path, pathNot: TEST_CODE },
        to: { path: any(above.map((l) => l.path)) },
      })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    // Type-only imports count: a type from a higher layer is an upward dependency too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve packages through their `exports` maps, as Node does (`pure-rand/distribution/…`).
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
