const jestJupyterLab = require('@jupyterlab/testutils/lib/jest-config');

// ES-module-only packages that babel must transform (the testing preset's list plus
// @jupyterlab/, which the sidebar's @jupyterlab/ui-components pulls in).
const esModules = [
  '@codemirror',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyter/ydoc',
  '@jupyterlab/',
  '@marijn',
  '@microsoft',
  'color',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  collectCoverageFrom: [
    'src/**/*.{ts,tsx}',
    '!src/**/*.d.ts',
    '!src/**/.ipynb_checkpoints/*'
  ],
  coverageReporters: ['lcov', 'text'],
  // labextension/package.json shares ./package.json's name, and .venv holds Lab's own
  // package.json files: both would collide in jest's module map
  modulePathIgnorePatterns: [
    '<rootDir>/labextension',
    '<rootDir>/lib',
    '<rootDir>/.venv'
  ],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
