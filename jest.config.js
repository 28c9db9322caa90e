// ESM-only packages must be transformed by ts-jest; jest names any missing one in a
// "Must use import to load ES Module" error.
const esm = ['execa', '@sindresorhus/merge-streams', 'figures', 'is-unicode-supported', 'get-stream',
  '@sec-ant/readable-stream', 'is-stream', 'human-signals', 'is-plain-obj', 'npm-run-path', 'path-key',
  'unicorn-magic', 'pretty-ms', 'parse-ms', 'strip-final-newline', 'yoctocolors',
  'd3', 'd3-[a-z-]+', 'internmap', 'delaunator', 'robust-predicates'];
module.exports = {
  testEnvironment: 'node',
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.(t|j|mj)sx?$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  transformIgnorePatterns: [`/node_modules/(?!(${esm.join('|')})/)`],
  moduleNameMapper: { '^unicorn-magic$': '<rootDir>/node_modules/unicorn-magic/node.js' },
  testTimeout: 60000,
  setupFiles: ['<rootDir>/test/helpers/drivers.ts'],
  globalSetup: '<rootDir>/test/helpers/netns-guard-setup.js',
  globalTeardown: '<rootDir>/test/helpers/netns-guard-teardown.js',
};
